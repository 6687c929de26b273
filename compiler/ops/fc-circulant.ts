/**
 * Emitters of block-circulant fully connected layers (passes/circulant.ts marks them with
 * attrs.circulant = k): the weights go into the module as one k-vector per block, block row
 * by block row, v[bi][bj][d] = W[bi k + d][bj k] (the block's first column, which defines a
 * circulant block), after checking that W really is block-circulant (another method that
 * changed single weights afterwards, such as pruning, would break the structure: refused).
 * int8 reuses fc_s8's folded bias and requantization; float passes the bias and the fused
 * activation's bounds. The kernels are direct (runtime-as/kernels/fc-circulant.ts) and do
 * the dense layer's N K multiplies. An FFT form would need per block about 2k real
 * multiplies (the pointwise complex products of k/2 + 1 bins) plus the transforms of the
 * K/k input blocks and N/k output blocks (about 2 k log2 k each), far fewer on a layer of
 * many blocks from k = 4 up; it has no exact int8 form (the product of rounded transforms
 * is not the integer interpreter's sum), so it would serve float layers only. It is not
 * implemented: the direct kernel is the one the cost model can offer today.
 */
import { bad } from "../util/errors.js";
import { tensor, type Node } from "../ir/graph.js";
import type { EmitCtx } from "./types.js";
import { actBounds, f32, where } from "./util.js";

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
  e.call("fc-circulant", "fc_circulant_f32", [
    e.addr(node.inputs[0]), e.data("circulant_vectors", "float32", vectors(node, e, d, w)), bn ? e.addr(bn) : "0", e.addr(node.outputs[0]),
    d.M, d.N, d.K, node.attrs.circulant, f32(min), f32(max),
  ]);
}
