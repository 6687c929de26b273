/**
 * int8 convolutions with packed weights: --weights int4 | int4-tensor | int2 | int2-tensor
 * (passes/subbyte.ts) and --share (passes/share.ts) on a Conv. Two hooks for ops/conv.ts:
 * convPackedQuant, the weight step of Conv.quantize (sub-byte: the pass's per-output-channel
 * scales and grid values, q in [-7, 7] or {-3, -1, 1, 3}, recovered exactly from s q, the
 * -tensor forms one scale for every channel; shared: one per-tensor int8 scale, so equal
 * centroids are equal int8 values; scales always kept per channel, as Conv requantizes), and
 * emitConvPacked, Conv.emit for such a layer. The integer semantics stay Conv's int() on the
 * int8 weights (ops/INT8.md, "Packed weights"); only the storage changes.
 * The kernels (runtime-as/kernels/conv-packed.ts) unpack one tile of weights at a time into
 * the low scratch and run the int8 kernel of the layer's kind on it: blk and pw a block of
 * four output channels in conv.ts's block layout (4 KH cg KW weights, padded channels), dw
 * the whole [M][KH][KW] array. int4: a tile of L weights in groups of eight, four bytes each
 * (byte j: weight j in the low nibble, weight j + 4 in the high one, c = q + 8; padding q = 0),
 * 4 ceil(L / 8) bytes. int2 and shared: bits-wide indices into a codebook ({-3, -1, 1, 3}, or
 * the layer's sorted int8 values), a tile packed as fc-packed.ts packs a row (packIndices,
 * packedRowBytes(L, bits) bytes); padded slots hold index 0 (computed, never stored). The
 * scratch is the largest unpacked tile. The general kernel (2^16 taps or more per output,
 * kernels wider than 255) and grouped convolutions have no packed form: refused.
 */
import { bad, internal } from "../util/errors.js";
import { tensor, type Graph, type Node } from "../ir/graph.js";
import { clamp, roundHalfAway } from "../ir/fixedpoint.js";
import type { EmitCtx, QuantCtx } from "./types.js";
import { axisTaps, foldZeroPoint, fullRange, geomOf, kernelKind, tapTables, type ConvGeom } from "./conv.js";
import { where } from "./util.js";
import { codebookOf, packIndices, packedRowBytes } from "./fc-packed.js";
import { quantizeWeights } from "../passes/quantize-weights.js";

/** Tiles (count, weights per tile) of a packed convolution's kind. */
export function convTiles(gm: ConvGeom, kind: "dw" | "pw" | "blk"): { tiles: number; len: number } {
  const cg = gm.C / gm.G, mg = gm.M / gm.G;
  if (kind === "dw") return { tiles: 1, len: gm.M * gm.KH * gm.KW };
  return { tiles: gm.G * Math.ceil(mg / 4), len: 4 * cg * gm.KH * gm.KW };
}

/**
 * Bytes of a packed convolution's weights: tiles 4 ceil(len / 8) for int4 (bits 0), tiles
 * packedRowBytes(len, bits) for codebook indices (2: ceil(len / 4), 3: 3 ceil(len / 8), 4:
 * ceil(len / 2)).
 */
export function convPackedBytes(gm: ConvGeom, kind: "dw" | "pw" | "blk", bits = 0): number {
  const { tiles, len } = convTiles(gm, kind);
  return tiles * (bits ? packedRowBytes(len, bits) : 4 * Math.ceil(len / 8));
}

/** Groups per tile the kernel unpacks (int4: eight weights; indices: a byte, or three for 3 bits). */
function groupsOf(len: number, bits: number): number {
  return bits === 0 || bits === 3 ? Math.ceil(len / 8) : bits === 2 ? Math.ceil(len / 4) : Math.ceil(len / 2);
}

/** Bytes of one unpacked tile (the scratch), as the kernel writes it: 8, 4 or 2 per group. */
function unpackedBytes(len: number, bits: number): number {
  return groupsOf(len, bits) * (bits === 0 || bits === 3 ? 8 : bits === 2 ? 4 : 2);
}

/** Packs tiles of int8 weights q in [-7, 7] as the kernels unpack them (see the file comment). */
export function packInt4Tiles(w: ArrayLike<number>, tiles: number, len: number, ctx: string): Uint8Array {
  const groups = Math.ceil(len / 8);
  const out = new Uint8Array(tiles * groups * 4);
  for (let t = 0; t < tiles; t++)
    for (let i = 0; i < len; i++) {
      const q = w[t * len + i];
      if (!Number.isInteger(q) || q < -7 || q > 7) internal(`${ctx}: weight ${q} is not on the int4 grid`);
      const g = Math.floor(i / 8), j = i % 8;
      const at = (t * groups + g) * 4 + (j & 3);
      out[at] |= (q + 8) << (j < 4 ? 0 : 4);
    }
  // padding weights (q = 0): code 8
  for (let t = 0; t < tiles; t++)
    for (let i = len; i < groups * 8; i++) {
      const j = i % 8;
      out[(t * groups + Math.floor(i / 8)) * 4 + (j & 3)] |= 8 << (j < 4 ? 0 : 4);
    }
  return out;
}

/** The weight step of Conv.quantize for a packed layer; false for any other layer. */
export function convPackedQuant(node: Node, g: Graph, qc: QuantCtx): boolean {
  if (!node.attrs.subbyte && !node.attrs.share) return false;
  const wn = node.inputs[1];
  const t = tensor(g, wn);
  if (t.quant || !t.data || t.dtype !== "float32") internal(`${where(g, node)}: packed weight '${wn}' is already quantized`);
  if (node.attrs.share) {
    // per tensor (one scale, so equal centroids are equal int8 values in every channel),
    // kept per channel for Conv's per-channel requantization
    quantizeWeights(t, -1);
    const s = t.quant!.scale[0], M = t.shape[0];
    t.quant = { scale: new Array(M).fill(s), zeroPoint: new Array(M).fill(0), axis: 0 };
    return true;
  }
  const scales: number[] = node.attrs.subbyteScale;
  const M = t.shape[0], K = t.data.length / M;
  if (scales.length !== M) internal(`${where(g, node)}: ${scales.length} sub-byte scales for ${M} output channels`);
  const q = new Int8Array(t.data.length);
  const lim = String(node.attrs.subbyte).startsWith("int2") ? 3 : 7;
  for (let i = 0; i < q.length; i++) q[i] = clamp(roundHalfAway(t.data[i] / scales[Math.floor(i / K)]), -lim, lim);
  t.data = q;
  t.dtype = "int8";
  t.quant = { scale: [...scales], zeroPoint: scales.map(() => 0), axis: 0 };
  void qc;
  return true;
}

/** Why a convolution can take packed int4 weights, or the reason it cannot (undefined: it can). */
export function convPackedRefusal(gm: ConvGeom): string | undefined {
  const cg = gm.C / gm.G;
  if (gm.G !== 1 && cg !== 1) return `a grouped convolution (group ${gm.G}, ${cg} input channels per group); packed weights cover group 1 and depthwise`;
  if (kernelKind(gm, true, true) === "generic") return `runs the general kernel (kernel wider than 255, input wider than 65536 or ${cg * gm.KH * gm.KW} taps per output, 2^16 or more), which has no packed form`;
  return undefined;
}

/** Conv.emit for a --weights int4 layer (node.attrs.subbyte), given its geometry. */
export function emitConvPacked(node: Node, e: EmitCtx, gm: ConvGeom): void {
  const ctx = where(e.g, node);
  const q = node.q;
  if (!q) internal(`${ctx}: packed weights on a float convolution`);
  const w = tensor(e.g, node.inputs[1]), bn = node.inputs[2] ? tensor(e.g, node.inputs[2]) : undefined;
  if (!w.data || (bn && !bn.data)) internal(`${ctx}: packed weights that are not constant`);
  const refusal = convPackedRefusal(gm);
  if (refusal) bad(`${node.attrs.share ? `--share ${node.attrs.share}` : `--weights ${node.attrs.subbyte}`}: ${ctx} ${refusal}`);
  const kind = kernelKind(gm, true, true) as "dw" | "pw" | "blk";
  const { N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G } = gm;
  const cg = C / G, mg = M / G;
  const wd = w.data!, bd = bn?.data;
  const xa = e.addr(node.inputs[0]), ya = e.addr(node.outputs[0]);
  const out8 = (mult: ArrayLike<number>, shift: ArrayLike<number>) => [q!.zy, e.data("mult", "int32", mult), e.data("shift", "int32", shift), q!.qmin, q!.qmax];
  const rowSteps = [sh * W, dh * W, pt * W];
  const rows = axisTaps(OH, H, KH, sh, dh, pt), cols = axisTaps(OW, W, KW, sw, dw, pl);
  const { tiles, len } = convTiles(gm, kind);
  // int4 (bits 0), or bits-wide indices into a codebook: int2's {-3, -1, 1, 3} or the layer's
  // shared int8 values (--share)
  const int2 = String(node.attrs.subbyte ?? "").startsWith("int2");
  const bits: number = node.attrs.share ?? (int2 ? 2 : 0);
  const codebook = node.attrs.share ? codebookOf(wd).codebook : int2 ? [-3, -1, 1, 3] : [];
  if (bits && codebook.length > 2 ** bits) internal(`${ctx}: ${codebook.length} distinct int8 weights for a ${bits}-bit codebook`);
  const at = new Map(codebook.map((v, i) => [v, i]));
  const ng = groupsOf(len, bits);
  e.scratch(unpackedBytes(len, bits)); // the unpacked tile at address 0
  // the tiles' weights in kernel order, NaN for a padded channel's slot
  const tw = new Float64Array(tiles * len).fill(NaN);
  const pack = () => {
    if (!bits) return e.data("int4_weights", "uint8", packInt4Tiles(Array.from(tw, (v) => (Number.isNaN(v) ? 0 : v)), tiles, len, ctx));
    const idx = Array.from(tw, (v) => {
      if (Number.isNaN(v)) return 0; // padded channels are computed, never stored
      const k = at.get(v);
      if (k === undefined) internal(`${ctx}: weight ${v} is not in the codebook`);
      return k!;
    });
    return e.data(`int${bits}_index`, "uint8", packIndices(idx, tiles, len, bits));
  };
  const tail = (...more: Array<string | number>) => (bits ? [...more, ng, e.data("codebook", "int8", codebook), bits] : [...more, ng]);
  const fn = (k: string) => `conv_${k}_${bits ? "idx" : "int4"}_s8`;
  if (kind === "dw") {
    const tabs = tapTables(e, rows, cols, sw, dw, pl);
    const [ohA, ohB] = fullRange(rows, KH), [owA, owB] = fullRange(cols, KW);
    const geo = [N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB,
      H * W, KH * KW, ...rowSteps, owA * sw - pl, (ohA * sh - pt) * W, ohA * OW, (ohB - ohA) * OW];
    tw.set(wd);
    const wsym = pack();
    const ba = bn ? e.addr(node.inputs[2]) : "0";
    const bi = ohB > ohA && owB > owA ? e.data("bias_zx", "int32", foldZeroPoint(wd, bd!, q!.zx, M, (m) => m)) : "0";
    e.call("conv-packed", fn("dw"), [xa, wsym, ba, bi, ya, ...tabs, ...geo, q!.zx, ...out8(q!.mult, q!.shift), ...tail()]);
    return;
  }
  // blocks of four output channels, padded (group 1 here, so slot mp is channel mp or none)
  const Mp = tiles * 4;
  const chan = (mp: number) => (mp < M ? mp : -1);
  for (let m = 0; m < M; m++)
    for (let c = 0; c < cg; c++)
      for (let kh = 0; kh < KH; kh++)
        for (let kw = 0; kw < KW; kw++)
          tw[((((m >> 2) * KH + kh) * cg + c) * KW + kw) * 4 + (m & 3)] = wd[((m * cg + c) * KH + kh) * KW + kw];
  const pad = (v: ArrayLike<number>) => Array.from({ length: Mp }, (_, mp) => (chan(mp) < 0 ? 0 : v[mp]));
  const wsym = pack();
  if (kind === "pw") {
    const bz = e.data("bias_zx", "int32", foldZeroPoint(wd, bd!, q!.zx, Mp, chan));
    e.call("conv-packed", fn("pw"), [xa, wsym, bz, ya, N, C, H * W, M, G, cg * H * W, ...out8(pad(q!.mult), pad(q!.shift)), ...tail(C * H * W, M * H * W)]);
    return;
  }
  const tabs = tapTables(e, rows, cols, sw, dw, pl);
  const geo = [N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, H * W, OH * OW, cg * H * W, ...rowSteps, cg * KW * 4, KH * cg * KW * 4];
  const bias = bd ? e.data("bias_blocked", "int32", pad(bd)) : "0";
  e.call("conv-packed", fn("blk"), [xa, wsym, bias, ya, ...tabs, ...geo, q!.zx, ...out8(pad(q!.mult), pad(q!.shift)), ...tail(C * H * W, M * OH * OW)]);
}

/** A convolution with constant weights and bias: one that --weights may name (passes/subbyte.ts). */
export function isConvLayer(g: Graph, n: Node): boolean {
  return n.op === "Conv" && !!tensor(g, n.inputs[1]).data && (!n.inputs[2] || !!tensor(g, n.inputs[2]).data);
}

/**
 * passes/subbyte.ts and share.ts: whether convolution `node` can take packed weights (a
 * kernel with a packed form: group 1 or depthwise, not the general kernel). A layer named on
 * its own that cannot is refused with the reason (`what`: the option as given); "*" (every
 * layer) leaves it out (false).
 */
export function convPackable(g: Graph, node: Node, what: string, named: boolean): boolean {
  const x = tensor(g, node.inputs[0]), w = tensor(g, node.inputs[1]);
  const why = convPackedRefusal(geomOf(node, x, w));
  if (!why) return true;
  if (named) bad(`${what}: ${where(g, node)} ${why}`);
  return false;
}
