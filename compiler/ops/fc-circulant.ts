/**
 * Emitters of block-circulant fully connected layers (passes/circulant.ts marks them with
 * attrs.circulant = k): the weights go into the module as one k-vector per block, block row
 * by block row, v[bi][bj][d] = W[bi k + d][bj k] (the block's first column, which defines a
 * circulant block), after checking that W really is block-circulant (another method that
 * changed single weights afterwards, such as pruning, would break the structure: refused).
 * int8 reuses fc_s8's folded bias and requantization; float passes the bias and the fused
 * activation's bounds. The int8 and direct float kernels (runtime-as/kernels/fc-circulant.ts)
 * do the dense layer's N K multiplies. A float layer with k a power of two (2 to 256) may
 * instead run the FFT kernel (kernels/fc-circulant-fft.ts): each block stores the spectrum
 * of its vector (k floats, packed, divided by k), and a row of A costs K/k forward and N/k
 * inverse k-point transforms plus (k/2 + 1) complex products per block. `circulantKernelFor`
 * picks the form with fewer estimated instructions (cost/fc-circulant.ts
 * circulantInstructions), unless --circulant-kernel forces one. There is no FFT form in
 * int8: the product of rounded transforms is not the integer interpreter's sum.
 */
import { bad } from "../util/errors.js";
import { tensor, type Node } from "../ir/graph.js";
import type { EmitCtx } from "./types.js";
import { actBounds, f32, where } from "./util.js";
import { circulantInstructions } from "../cost/fc-circulant.js";

interface Dims { M: number; N: number; K: number }

/** The block vectors of a block-circulant [N, K] matrix, or undefined when it is not one. */
export function circulantVectors(w: ArrayLike<number>, N: number, K: number, k: number): number[] | undefined {
  const v: number[] = [];
  for (let bi = 0; bi < N; bi += k)
    for (let bj = 0; bj < K; bj += k) {
      for (let d = 0; d < k; d++) v.push(w[(bi + d) * K + bj]);
      for (let r = 0; r < k; r++)
        for (let c = 0; c < k; c++) if (w[(bi + r) * K + bj + c] !== v[v.length - k + ((r - c + k) % k)]) return undefined;
    }
  return v;
}

function vectors(node: Node, e: EmitCtx, d: Dims, w: ArrayLike<number>): number[] {
  const k: number = node.attrs.circulant;
  const other = ["ternary", "pow2", "binary", "share", "subbyte"].find((f) => node.attrs[f]);
  if (other) bad(`${where(e.g, node)}: --circulant ${k} and ${other} weights on one layer; choose one weight format per layer`);
  const v = circulantVectors(w, d.N, d.K, k);
  if (!v) bad(`${where(e.g, node)}: --circulant ${k} weights are no longer block-circulant (a later method changed single weights: combine --circulant with pruning or weight sharing on different layers)`);
  return v!;
}

/** int8: `folded` is fc_s8's bias[n] - za sum_k w[n, k]. */
export function emitFcCirculantS8(node: Node, e: EmitCtx, d: Dims, w: ArrayLike<number>, folded: Int32Array): void {
  const q = node.q!;
  e.call("fc-circulant", "fc_circulant_s8", [
    e.addr(node.inputs[0]), e.data("circulant_vectors", "int8", vectors(node, e, d, w)), e.data("bias_folded", "int32", folded), e.addr(node.outputs[0]),
    d.M, d.N, d.K, node.attrs.circulant, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
  ]);
}

export function emitFcCirculantF32(node: Node, e: EmitCtx, d: Dims): void {
  const { min, max } = actBounds(node);
  const w = tensor(e.g, node.inputs[1]).data!;
  const bn = node.inputs[2];
  const v = vectors(node, e, d, w);
  if (circulantKernelFor(node, d) === "fft") return emitFcCirculantFft(node, e, d, v, bn);
  e.call("fc-circulant", "fc_circulant_f32", [
    e.addr(node.inputs[0]), e.data("circulant_vectors", "float32", v), bn ? e.addr(bn) : "0", e.addr(node.outputs[0]),
    d.M, d.N, d.K, node.attrs.circulant, f32(min), f32(max),
  ]);
}

/** Whether the FFT kernel can run blocks of size k (radix 2, a u8 bit-reversal table). */
export const fftBlockOk = (k: number): boolean => k >= 2 && k <= 256 && (k & (k - 1)) === 0;

/**
 * The float kernel of a circulant layer: the forced one (node.attrs.circulantKernel, from
 * --circulant-kernel), else the FFT one where it can run and is estimated cheaper.
 */
export function circulantKernelFor(node: Node, d: Dims): "direct" | "fft" {
  const k: number = node.attrs.circulant;
  const forced: string | undefined = node.attrs.circulantKernel;
  if (forced === "direct") return "direct";
  if (forced === "fft") return "fft"; // block size checked by passes/circulant.ts
  if (!fftBlockOk(k)) return "direct";
  const est = circulantInstructions(d.N, d.K, k);
  return est.fft < est.direct ? "fft" : "direct";
}

/** The FFT kernel's constants: per block its vector's spectrum / k, packed [DC, Nyquist, re 1, im 1, ...]. */
export function circulantSpectra(v: ArrayLike<number>, k: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let o = 0; o < v.length; o += k) {
    const at = (bin: number): [number, number] => {
      let re = 0, im = 0;
      for (let t = 0; t < k; t++) {
        const a = (-2 * Math.PI * ((bin * t) % k)) / k;
        re += v[o + t] * Math.cos(a); im += v[o + t] * Math.sin(a);
      }
      return [re / k, im / k];
    };
    out[o] = at(0)[0];
    out[o + 1] = at(k / 2)[0];
    for (let bin = 1; bin < k / 2; bin++) [out[o + 2 * bin], out[o + 2 * bin + 1]] = at(bin);
  }
  return out;
}

/** k/2 twiddle pairs (cos t, -sin t), t = 2 pi j / k, and the k-entry bit-reversal permutation. */
export function fftTables(k: number): { tw: number[]; rev: number[] } {
  const tw: number[] = [];
  for (let j = 0; j < k / 2; j++) tw.push(Math.cos((2 * Math.PI * j) / k), -Math.sin((2 * Math.PI * j) / k));
  const bits = Math.log2(k), rev: number[] = [];
  for (let i = 0; i < k; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
    rev.push(r);
  }
  return { tw, rev };
}

function emitFcCirculantFft(node: Node, e: EmitCtx, d: Dims, v: number[], bn: string | undefined): void {
  const k: number = node.attrs.circulant;
  const { min, max } = actBounds(node);
  const { tw, rev } = fftTables(k);
  e.scratch(8 * (d.K + k)); // the K/k input spectra and one output block's, 2k floats each
  e.call("fc-circulant-fft", "fc_circulant_fft_f32", [
    e.addr(node.inputs[0]), e.data("circulant_spectra", "float32", circulantSpectra(v, k)), bn ? e.addr(bn) : "0", e.addr(node.outputs[0]),
    d.M, d.N, d.K, k, e.data("fft_twiddles", "float32", tw), e.data("fft_bitrev", "uint8", rev), f32(min), f32(max),
  ]);
}
