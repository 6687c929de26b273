/**
 * int8 form of a power-of-two fully connected layer (passes/pow2.ts, --pow2): quantization
 * and emission; the integer semantics are fcInt's (ops/gemm.ts), unchanged. The pass left
 * each row's float weights at 0 or ±α_n 2^-e (e in 0..6, α_n = max|w_n|); pow2WeightQuant
 * gives the row the scale α_n / 64, so its int8 weights are exactly 0 or ±2^j, j = 6 - e.
 *
 * Kernel choice: a layer marked --pow2 always runs fc_pow2_s8 (runtime-as/kernels/fc-pow2.ts).
 * Its weights take half the bytes of the dense kernel's (one 4-bit code per weight) and it
 * multiplies nothing per weight; on wasm, where a multiply is one instruction, it executes
 * more instructions than fc_s8 (measured on the instrumented kernels over five shapes: about
 * 22.4 per weight and 100 per output row, against 6.9 per MAC; test/ops/fc-pow2.test.ts
 * prints both on 1x256 -> 64), so an instruction estimate would
 * never choose it: the user's mark is the rule, for the halved weight bytes and for targets
 * whose multiplies are dear.
 *
 * Codes (two per byte, weight 2i in the low nibble of byte i of its row, a row taking
 * ceil(K/2) bytes, an odd K's last high nibble 0): 0 for a zero weight, 7 - j for +2^j and
 * 8 | (7 - j) for -2^j. The kernel reads a' = a + 128 (0..255) and its complement 255 - a'
 * (in two 32-bit words at different bit positions) and shifts one of them right by c - 1,
 * so a positive weight adds a' 2^j, a negative one (255 - a') 2^j and a zero one nothing
 * (runtime-as/kernels/fc-pow2.ts has the details), and
 *   acc = bias[n] - (z_a + 128) sum_k w[n,k] - 255 sum_{w<0} |w[n,k]| + (those terms)
 *       = bias[n] + sum_k (a - z_a) w[n,k]            (wrapping int32, as fcInt)
 * The first line's constant is folded per row at compile time (pow2Folded).
 */
import { bad, internal } from "../util/errors.js";
import { tensor, type Graph, type Node } from "../ir/graph.js";
import { clamp, roundHalfAway } from "../ir/fixedpoint.js";
import type { EmitCtx } from "./types.js";
import { where } from "./util.js";

/** The 4-bit code of an int8 weight 0 or ±2^j (j in 0..6), or undefined for any other value. */
export function pow2Code(v: number): number | undefined {
  if (v === 0) return 0;
  const j = Math.log2(Math.abs(v));
  if (!Number.isInteger(j) || j < 0 || j > 6) return undefined;
  return (v < 0 ? 8 : 0) | (7 - j);
}

/** Per-row int8 quantization at scale max|w_n| / 64 (instead of / 127): the weights become 0 or ±2^j. */
export function pow2WeightQuant(g: Graph, node: Node): void {
  // --share / --weights run after --pow2 and do not know it: refused here, before either quantizes
  const other = ["share", "subbyte"].find((f) => node.attrs[f]);
  if (other) bad(`--pow2: ${where(g, node)} also has ${other} weights; choose one weight format per layer`);
  const t = tensor(g, node.inputs[1]);
  if (t.quant) return; // already quantized (a second visit)
  const [N, K] = t.shape;
  const d = t.data!;
  const q = new Int8Array(N * K), scale: number[] = [];
  for (let n = 0; n < N; n++) {
    let m = 0;
    for (let k = 0; k < K; k++) m = Math.max(m, Math.abs(d[n * K + k]));
    const s = m > 0 ? m / 64 : 1;
    scale.push(s);
    for (let k = 0; k < K; k++) {
      const v = clamp(roundHalfAway(d[n * K + k] / s), -127, 127);
      if (pow2Code(v) === undefined) internal(`${where(g, node)}: weight [${n}, ${k}] = ${d[n * K + k]} is not 0 or ±2^-e of its row's largest`);
      q[n * K + k] = v;
    }
  }
  t.data = q;
  t.dtype = "int8";
  t.quant = { scale, zeroPoint: scale.map(() => 0), axis: 0 };
}

/** The packed codes of int8 weights [N, K]: ceil(K/2) bytes per row. */
export function pow2Pack(w: ArrayLike<number>, N: number, K: number): number[] {
  const rowB = (K + 1) >> 1;
  const out = new Array<number>(N * rowB).fill(0);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const c = pow2Code(w[n * K + k]);
      if (c === undefined) internal(`pow2Pack: int8 weight ${w[n * K + k]} is not 0 or ±2^j`);
      out[n * rowB + (k >> 1)] |= c! << ((k & 1) * 4);
    }
  return out;
}

/** bias[n] - (za + 128) sum_k w[n,k] - 255 sum_{w<0} |w[n,k]| in wrapping int32 (see the header). */
export function pow2Folded(w: ArrayLike<number>, bias: ArrayLike<number>, za: number, N: number, K: number): Int32Array {
  const out = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0, neg = 0;
    for (let k = 0; k < K; k++) {
      const v = w[n * K + k];
      s += v;
      if (v < 0) neg -= v;
    }
    out[n] = (bias[n] - Math.imul(za + 128, s) - Math.imul(255, neg)) | 0;
  }
  return out;
}

/** Emits fc_pow2_s8 for a --pow2 layer (inputs [A, W int8 [N, K], bias int32]). */
export function emitFcPow2(node: Node, e: EmitCtx, d: { M: number; N: number; K: number }): void {
  const q = node.q!;
  const w = tensor(e.g, node.inputs[1]).data!, b = tensor(e.g, node.inputs[2]).data!;
  e.call("fc-pow2", "fc_pow2_s8", [
    e.addr(node.inputs[0]), e.data("pow2_codes", "uint8", pow2Pack(w, d.N, d.K)), e.data("bias_folded", "int32", pow2Folded(w, b, q.za, d.N, d.K)),
    e.addr(node.outputs[0]), d.M, d.N, d.K, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
  ]);
}
