/**
 * Binary fully connected layers (passes/binary.ts, --binary; XNOR-Net): float reference,
 * int8 quantization, integer semantics and emission. The pass set W[n,k] = α_n sgn(w) and
 * attrs { binary, beta: β }, with sgn(x) = 1 for x >= 0, else -1.
 *
 * Float (binaryRef, the Gemm's ref when attrs.binary):
 *   y[m,n] = clamp(β sum_k sgn(a[m,k]) W[n,k] + b[n], actMin, actMax)
 *
 * int8 (quantizeFcBinary, fcBinaryInt): the input keeps its int8 parameters (s_a, z_a) and
 * only its sign is used: abit[m,k] = 1 when a[m,k] >= z_a (real value >= 0), else 0. The
 * weights are stored as int8 ±1 with per-row scale α_n (wbit = 1 for +1). With B = 8
 * (BINARY_BIAS_BITS: the accumulator counts in units of β α_n / 2^B, so the bias keeps 8
 * bits below the dot product's unit instead of being rounded to a multiple of β α_n), exactly,
 *   acc = bq[n] + (2 popcount(xnor(abits[m], wbits[n])) - K) 2^B   (over the K bits; int32, wrapping)
 *   y   = clamp(mbqm(acc, mult[n], shift[n]) + z_y, qmin, qmax),     mult/shift = Q31(β α_n / (2^B s_y))
 *   bq[n] = clamp(roundHalfAway(b[n] 2^B / (β α_n)), int32)           (0 without bias)
 * with z_y, s_y, qmin, qmax chosen as for any fully connected layer (the calibrated output,
 * a fused Relu/Clip). β is the one input magnitude of the layer (its calibrated mean |a|).
 * K < 2^22 (passes/binary.ts refuses more), so |dot| 2^B < 2^30.
 *
 * Kernel fc_binary_s8 (runtime-as/kernels/fc-binary.ts): per row of A it packs the abits
 * into ceil(K/32) u32 words in the low scratch (EmitCtx.scratch, bit b of word i is column
 * 32 i + b, the last word's unused bits 0); wbits are packed the same way per row (the
 * unused bits 0 too). Since xnor = ~xor, 2 popcount(xnor over K bits) - K = K - 2 popcount(xor),
 * and xor of two zero padding bits is 0, so no tail mask is needed: the kernel computes
 * acc = (bq[n] + K 2^B) - 2^(B+1) sum_i popcnt(x_i ^ w_i), the first term folded at compile time.
 * Measured on the instrumented kernel (five shapes): about 21 instructions per input (the
 * packing, once per row of A), 22 per 32-column word and 118 per output, against 6.9 per MAC
 * for fc_s8; a layer marked --binary always runs it.
 *
 * A layer whose input is never negative (after a Relu) sees every abit 1 and so computes a
 * constant per row: binarize layers with signed inputs (XNOR-Net puts a BatchNorm before the
 * sign); examples/cancer-mlp shows it (its first layer binarizes well, the later ones do not).
 */
import { bad, internal } from "../util/errors.js";
import { makeValue, tensor, type Data, type Graph, type Node, type Value } from "../ir/graph.js";
import { clamp, mbqm, quantizeMultiplier } from "../ir/fixedpoint.js";
import type { EmitCtx, QuantCtx } from "./types.js";
import { actBounds, actQBounds, clampF, where } from "./util.js";
import { quantizeBias } from "./conv.js";

interface Dims { M: number; N: number; K: number }

/** B: fraction bits of the accumulator below the dot product's unit β α_n (see the header). */
export const BINARY_BIAS_BITS = 8;

/** The float reference of a binary layer (see the header). */
export function binaryRef(node: Node, a: Value, w: Value, b: Value | undefined, d: Dims): Value {
  const { M, N, K } = d;
  const beta: number = node.attrs.beta;
  const y = makeValue(a.dtype, [M, N]);
  const { min, max } = actBounds(node);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (a.data[m * K + k] >= 0 ? 1 : -1) * w.data[n * K + k];
      y.data[m * N + n] = clampF(beta * s + (b ? b.data[n] : 0), min, max);
    }
  return y;
}

/** The integer semantics (see the header); w holds the int8 ±1 weights. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fcBinaryInt(a: Data, w: Data, bq: Data, d: Dims, q: Record<string, any>, shape: number[]): Value {
  const { M, N, K } = d;
  const y = makeValue("int8", shape);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let same = 0; // popcount(xnor(abits, wbits)) over the K columns
      for (let k = 0; k < K; k++) if ((a[m * K + k] >= q.za) === (w[n * K + k] > 0)) same++;
      const acc = (bq[n] + (2 * same - K) * 2 ** BINARY_BIAS_BITS) | 0;
      y.data[m * N + n] = clamp((mbqm(acc, q.mult[n], q.shift[n]) + q.zy) | 0, q.qmin, q.qmax);
    }
  return y;
}

/** int8 parameters of a binary layer: weights ±1 at scale α_n, bias at β α_n / 2^B, multipliers β α_n / (2^B s_y). */
export function quantizeFcBinary(node: Node, g: Graph, qc: QuantCtx): void {
  const [an, wn, bn] = node.inputs;
  const yn = node.outputs[0];
  qc.actQuant(yn);
  const A = tensor(g, an).quant, Y = tensor(g, yn).quant;
  if (!A || A.scale.length !== 1 || !Y || Y.scale.length !== 1) bad(`${where(g, node)}: a binary layer needs per-tensor int8 input and output parameters`);
  const t = tensor(g, wn);
  if (t.quant) bad(`${where(g, node)}: weight '${wn}' is already quantized by another layer; a binary layer needs its own`);
  const [N, K] = t.shape;
  const d = t.data!;
  const alpha: number[] = [];
  const q = new Int8Array(N * K);
  for (let n = 0; n < N; n++) {
    const al = Math.abs(d[n * K]);
    for (let k = 0; k < K; k++) {
      if (Math.abs(d[n * K + k]) !== al || al === 0) internal(`${where(g, node)}: row ${n} of a binary layer is not ±α`);
      q[n * K + k] = d[n * K + k] > 0 ? 1 : -1;
    }
    alpha.push(al);
  }
  t.data = q;
  t.dtype = "int8";
  t.quant = { scale: alpha, zeroPoint: alpha.map(() => 0), axis: 0 };
  const unit = node.attrs.beta / 2 ** BINARY_BIAS_BITS;
  node.inputs[2] = quantizeBias(g, node, bn || undefined, unit, alpha, N);
  const mults = alpha.map((al) => quantizeMultiplier((unit * al) / Y.scale[0]));
  node.q = {
    binary: true, za: A.zeroPoint[0], zy: Y.zeroPoint[0],
    mult: mults.map((m) => m.mult), shift: mults.map((m) => m.shift),
    ...actQBounds(node, Y.scale[0], Y.zeroPoint[0]),
  };
}

/** Sign bits of int8 ±1 weights [N, K]: ceil(K/32) u32 words per row, bit b of word i = column 32 i + b. */
export function binaryPack(w: ArrayLike<number>, N: number, K: number): number[] {
  const W = (K + 31) >> 5;
  const out = new Array<number>(N * W).fill(0);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) if (w[n * K + k] > 0) out[n * W + (k >> 5)] |= 1 << (k & 31);
  return out.map((v) => v | 0);
}

/** Emits fc_binary_s8 for a binary layer; its packed input bits take 4 ceil(K/32) bytes of low scratch. */
export function emitFcBinary(node: Node, e: EmitCtx, d: Dims): void {
  const q = node.q!;
  const w = tensor(e.g, node.inputs[1]).data!, b = tensor(e.g, node.inputs[2]).data!;
  const folded = Int32Array.from({ length: d.N }, (_, n) => (b[n] + d.K * 2 ** BINARY_BIAS_BITS) | 0);
  e.scratch(4 * ((d.K + 31) >> 5));
  e.call("fc-binary", "fc_binary_s8", [
    e.addr(node.inputs[0]), e.data("binary_weights", "int32", binaryPack(w, d.N, d.K)), e.data("bias_folded", "int32", folded),
    e.addr(node.outputs[0]), d.M, d.N, d.K, q.za, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
  ]);
}
