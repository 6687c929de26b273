/**
 * Packed int8 fully connected layers: shared weights (--share, passes/share.ts) and sub-byte
 * weights (--weights int4|int2, passes/subbyte.ts). Two hooks for ops/gemm.ts:
 * packedWeightQuant, the weight step of quantizeFc (per tensor for a shared layer, so that
 * its codebook holds int8 values common to all rows; the pass's own grid and per-row scales
 * for a sub-byte layer), and emitFcPacked, the kernel call of emitFcS8. The integer
 * semantics stay fcInt's on the int8 weights (ops/INT8.md, "Packed weights"); only the
 * storage changes. Packing (packIndices): row by row, each row starting on a byte, lowest
 * bits first; 4 bits two per byte, 2 bits four per byte, 3 bits eight per three bytes (row
 * stride 3 ceil(K / 8)). Bytes of one layer's weights: N packedRowBytes(K, bits). A packed
 * layer always runs its packed kernel (fcKernelFor's dense / sparse / ternary choice is
 * skipped: the point of the option is the bytes), also when --prune left it sparse.
 */
import { internal } from "../util/errors.js";
import { tensor, type Graph, type Node } from "../ir/graph.js";
import { clamp, roundHalfAway } from "../ir/fixedpoint.js";
import type { EmitCtx, QuantCtx } from "./types.js";
import { where } from "./util.js";

interface Dims { M: number; N: number; K: number }

/** Bytes of one packed row of K indices of `bits` bits. */
export function packedRowBytes(K: number, bits: number): number {
  if (bits === 4) return Math.ceil(K / 2);
  if (bits === 2) return Math.ceil(K / 4);
  if (bits === 3) return 3 * Math.ceil(K / 8);
  return internal(`no packing of ${bits}-bit indices`);
}

/** Packs N rows of K indices (each < 2^bits) as the kernels read them (see the file comment). */
export function packIndices(idx: ArrayLike<number>, N: number, K: number, bits: number): Uint8Array {
  const stride = packedRowBytes(K, bits);
  const out = new Uint8Array(N * stride);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const v = idx[n * K + k];
      if (v < 0 || v >= 2 ** bits || !Number.isInteger(v)) internal(`index ${v} does not fit ${bits} bits`);
      const bit = n * stride * 8 + (bits === 3 ? 24 * Math.floor(k / 8) + 3 * (k % 8) : bits * k);
      // a 3-bit index may straddle two bytes: write it bit by bit
      for (let b = 0; b < bits; b++) if ((v >> b) & 1) out[(bit + b) >> 3] |= 1 << ((bit + b) & 7);
    }
  return out;
}

/**
 * The weight step of quantizeFc for packed layers; false for any other layer. Shared: per
 * tensor symmetric int8 (one scale, so equal centroids give equal int8 values in every row).
 * Sub-byte: the pass's per-row scales and grid values, recovered exactly from s q.
 */
export function packedWeightQuant(node: Node, g: Graph, qc: QuantCtx): boolean {
  const wn = node.inputs[1];
  if (node.attrs.share) { qc.weightQuant(wn, -1); return true; }
  if (!node.attrs.subbyte) return false;
  const t = tensor(g, wn);
  if (t.quant || !t.data || t.dtype !== "float32") internal(`${where(g, node)}: sub-byte weight '${wn}' is already quantized`);
  const scales: number[] = node.attrs.subbyteScale;
  const [N, K] = t.shape;
  const lim = node.attrs.subbyte === "int4" ? 7 : 3;
  const q = new Int8Array(N * K);
  for (let i = 0; i < q.length; i++) q[i] = clamp(roundHalfAway(t.data[i] / scales[Math.floor(i / K)]), -lim, lim);
  t.data = q;
  t.dtype = "int8";
  t.quant = { scale: [...scales], zeroPoint: scales.map(() => 0), axis: 0 };
  return true;
}

/** The int8 codebook (sorted) and each weight's index into it. */
export function codebookOf(w: ArrayLike<number>): { codebook: number[]; idx: Uint8Array } {
  const codebook = [...new Set(Array.from(w))].sort((x, y) => x - y);
  const at = new Map(codebook.map((v, i) => [v, i]));
  return { codebook, idx: Uint8Array.from(w, (v) => at.get(v)!) };
}

/** Emits the packed kernel of a --share or --weights layer; false for any other layer. */
export function emitFcPacked(node: Node, e: EmitCtx, d: Dims, w: ArrayLike<number>, folded: Int32Array): boolean {
  const q = node.q!;
  const ctx = where(e.g, node);
  const head = [e.addr(node.inputs[0])];
  if (node.attrs.share) {
    const bits: number = node.attrs.share;
    const { codebook, idx } = codebookOf(w);
    if (codebook.length > 2 ** bits) internal(`${ctx}: ${codebook.length} distinct int8 weights for a ${bits}-bit codebook`);
    if (q.mult.some((m: number, i: number) => m !== q.mult[0] || q.shift[i] !== q.shift[0])) internal(`${ctx}: shared layer with per-row requantization`);
    e.call("fc-shared", `fc_shared${bits}_s8`, [
      ...head, e.data("shared_index", "uint8", packIndices(idx, d.N, d.K, bits)), e.data("codebook", "int8", codebook),
      e.data("bias_folded", "int32", folded), e.addr(node.outputs[0]),
      d.M, d.N, d.K, q.zy, q.mult[0], q.shift[0], q.qmin, q.qmax, codebook.length,
    ]);
    e.scratch(codebook.length); // the kernel's copy of the codebook at address 0
    return true;
  }
  if (!node.attrs.subbyte) return false;
  const int4 = node.attrs.subbyte === "int4";
  const codes = Uint8Array.from(w, (v) => {
    const c = int4 ? v + 8 : (v + 3) / 2;
    if (!Number.isInteger(c) || c < (int4 ? 1 : 0) || c > (int4 ? 15 : 3)) internal(`${ctx}: weight ${v} is not on the ${node.attrs.subbyte} grid`);
    return c;
  });
  e.call("fc-subbyte", int4 ? "fc_int4_s8" : "fc_int2_s8", [
    ...head, e.data(`${node.attrs.subbyte}_weights`, "uint8", packIndices(codes, d.N, d.K, int4 ? 4 : 2)),
    e.data("bias_folded", "int32", folded), e.addr(node.outputs[0]),
    d.M, d.N, d.K, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
  ]);
  return true;
}
