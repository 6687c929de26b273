/**
 * The sparse int8 convolution (runtime-as/kernels/conv-sparse.ts): its layout, when it is
 * used, and its emitter. An int8 Conv with group 1 and constant weights whose zeros are many
 * (pruned with --prune <layer>=s, or arriving so) runs tap by tap over an int32 plane in the
 * low scratch. The layout keeps three bytes per non-zero tap that has any valid output
 * position (a tap that only ever meets padding contributes nothing and is dropped), a u16
 * byte length per output channel (at most 21845 taps), the c HW offset of each input
 * channel (int32) and one 32-byte geometry row per kernel offset (kh, kw). It is
 * chosen only where it stores fewer bytes than the dense weights and its estimated wasm
 * instructions (SPARSE below) are fewer than the dense kernel's. Tap by tap costs about 13
 * instructions per multiply-accumulate against 4.6 for conv_blk_s8, plus 41 per row and 122
 * per tap, so it pays from about 85% zeros on small planes. Needs C <= 256 and KH KW <= 256
 * (one byte each).
 */
import type { EmitCtx } from "./types.js";
import type { Node } from "../ir/graph.js";

/** The geometry the layout needs (ops/conv.ts ConvGeom). */
export interface SparseConvGeom { N: number; C: number; H: number; W: number; M: number; KH: number; KW: number; OH: number; OW: number; sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; G: number }

// measured on the instrumented kernels (3x3 convs, 16 and 32 channels, 4x4 to 16x16 planes,
// 80% and 90% zeros; least squares over five layers, within 0.4%): the sparse kernel per
// multiply-accumulate, per row of a tap's rectangle, per tap and per output (the plane's
// fill and requantization); conv_blk_s8 per MAC of the dense layer, requantization included
const SPARSE = { mac: 12.8, row: 41, tap: 122, out: 101 }, DENSE_PER_MAC = 4.6;

/** Per kernel offset kk = kh KW + kw: the kernel's geometry row, and the MACs of one tap there. */
function geometry(g: SparseConvGeom): { rows: number[][]; macs: number[] } {
  const rows: number[][] = [], macs: number[] = [];
  const range = (out: number, size: number, s: number, p: number, k: number) => {
    let a = 0;
    while (a < out && a * s - p + k < 0) a++;
    let b = a;
    while (b < out && b * s - p + k < size) b++;
    return [a, b];
  };
  for (let kh = 0; kh < g.KH; kh++)
    for (let kw = 0; kw < g.KW; kw++) {
      const [oa, ob] = range(g.OH, g.H, g.sh, g.pt, kh * g.dh), [wa, wb] = range(g.OW, g.W, g.sw, g.pl, kw * g.dw);
      const nr = ob - oa, nc = wb - wa;
      if (nr <= 0 || nc <= 0) { rows.push([0, 0, 0, 0, 0, 0, 0, 0]); macs.push(0); continue; }
      const xoff = (oa * g.sh - g.pt + kh * g.dh) * g.W + (wa * g.sw - g.pl + kw * g.dw);
      const span = nc * g.sw;
      rows.push([xoff, (oa * g.OW + wa) * 4, nr, span, g.sh * g.W - span, (g.OW - nc) * 4, 0, 0]);
      macs.push(nr * nc);
    }
  return { rows, macs };
}

export interface SparseConvLayout { bytes: number[]; counts: number[]; geo: number[]; taps: number; macs: number; rows: number }

/** The layout of int8 weights [M, C, KH, KW]; taps and macs per batch entry. */
export function sparseConvLayout(w: ArrayLike<number>, g: SparseConvGeom): SparseConvLayout {
  const KK = g.KH * g.KW;
  const { rows, macs: perTap } = geometry(g);
  const bytes: number[] = [], counts: number[] = [];
  let taps = 0, macs = 0, nrows = 0;
  for (let m = 0; m < g.M; m++) {
    let n = 0;
    for (let c = 0; c < g.C; c++)
      for (let kk = 0; kk < KK; kk++) {
        const v = w[(m * g.C + c) * KK + kk];
        if (v === 0 || perTap[kk] === 0) continue;
        bytes.push(v & 255, kk, c);
        n++;
        macs += perTap[kk];
        nrows += rows[kk][2];
      }
    counts.push(n);
    taps += n;
  }
  return { bytes, counts, geo: rows.flat(), taps, macs, rows: nrows };
}

/** Whether the sparse kernel runs this int8 layer: fewer bytes and fewer estimated instructions than dense. */
export function convSparseWorth(w: ArrayLike<number>, g: SparseConvGeom): boolean {
  const KK = g.KH * g.KW;
  if (g.G !== 1 || g.C > 256 || KK > 256 || 3 * g.C * KK > 65535) return false;
  let zeros = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  if (2 * zeros < w.length) return false; // at least half zeros, before building the layout
  const lay = sparseConvLayout(w, g);
  const bytes = lay.bytes.length + 2 * lay.counts.length + 4 * g.C + 4 * lay.geo.length;
  const denseMacs = g.M * g.OH * g.OW * g.C * KK; // an upper bound of conv_blk_s8's MACs (padding taps skipped there too)
  const est = SPARSE.mac * lay.macs + SPARSE.row * lay.rows + SPARSE.tap * lay.taps + SPARSE.out * g.M * g.OH * g.OW;
  return bytes < w.length && est < DENSE_PER_MAC * denseMacs;
}

/** Emits conv_sparse_s8; `b` is the int32 bias (the kernel subtracts the zero point per MAC). */
export function emitConvSparse(node: Node, e: EmitCtx, g: SparseConvGeom, w: ArrayLike<number>): void {
  const q = node.q!;
  const lay = sparseConvLayout(w, g);
  e.scratch(4 * g.OH * g.OW);
  e.call("conv-sparse", "conv_sparse_s8", [
    e.addr(node.inputs[0]), e.data("sparse_taps", "uint8", lay.bytes.length ? lay.bytes : [0]), e.data("sparse_tap_bytes", "int16", lay.counts.map((n) => 3 * n)),
    e.data("sparse_channel_offsets", "int32", Array.from({ length: g.C }, (_, c) => c * g.H * g.W)), e.data("sparse_geometry", "int32", lay.geo), e.addr(node.inputs[2]), e.addr(node.outputs[0]),
    g.N, g.C, g.H * g.W, g.M, g.OH * g.OW, g.sw, q.zx, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
    // for the cost formula (compiler/cost/conv.ts); the kernel ignores them
    g.N * lay.taps, g.N * lay.macs,
  ]);
}
