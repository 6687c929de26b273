/**
 * GlobalAveragePool: the mean over all spatial positions of each (n, c) plane, for any
 * input of rank >= 3 ([N,C,L], [N,C,H,W], ...); the output keeps the rank with spatial dims
 * of 1. int8 keeps the input's quantization (the mean of affine values is the affine map of
 * the mean); the integer semantics is the int32 sum of the plane's int8 values divided by
 * the plane size, rounding half away from zero (roundDiv, shared with AveragePool).
 */
import { bad } from "../util/errors.js";
import { makeValue, numel } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { inT, requireFloat, where } from "./util.js";
import { checkSumRange, roundDiv } from "./pool-geometry.js";

const outShape = (xs: number[]) => [xs[0], xs[1], ...xs.slice(2).map(() => 1)];

/** Calls f(plane index, sum of the plane) for each of the N*C planes of S elements. */
function planeSums(x: { shape: number[]; data: ArrayLike<number> }, f: (p: number, sum: number, S: number) => void): void {
  const S = numel(x.shape.slice(2)), P = x.shape[0] * x.shape[1];
  for (let p = 0; p < P; p++) {
    let s = 0;
    for (let i = p * S; i < (p + 1) * S; i++) s += x.data[i];
    f(p, s, S);
  }
}

export const GlobalAveragePool: OpDef = {
  op: "GlobalAveragePool",
  doc: "mean over all spatial dims per channel, any rank >= 3",
  normalize(node, g) {
    requireFloat(g, node);
    const xs = inT(g, node, 0).shape;
    if (xs.length < 3) bad(`${where(g, node)}: input has shape ${xs.join("x") || "scalar"}; GlobalAveragePool needs rank >= 3 (N, C, spatial...)`);
  },
  infer(node, g) {
    const x = inT(g, node, 0);
    return [{ dtype: x.dtype, shape: outShape(x.shape) }];
  },
  ref(_node, [x]) {
    const y = makeValue(x.dtype === "float64" ? "float64" : "float32", outShape(x.shape));
    planeSums(x, (p, s, S) => { y.data[p] = s / S; });
    return [y];
  },
  int(_node, [x]) {
    const y = makeValue("int8", outShape(x.shape));
    planeSums(x, (p, s, S) => { y.data[p] = roundDiv(s, S); });
    return [y];
  },
  quantize(node, g, qc) {
    checkSumRange(g, node, numel(inT(g, node, 0).shape.slice(2)));
    qc.sameQuant(node.outputs[0], node.inputs[0]);
    node.q = {};
  },
  emit(node, e) {
    const xs = inT(e.g, node, 0).shape;
    e.call("global-average-pool", node.q ? "gap_s8" : "gap_f32", [e.addr(node.inputs[0]), e.addr(node.outputs[0]), xs[0] * xs[1], numel(xs.slice(2))]);
  },
  macs(node, g) {
    return numel(inT(g, node, 0).shape);
  },
};
