/**
 * Softmax along one axis. Before opset 13 the input is coerced to 2-D at `axis` (default 1)
 * and softmax runs over the whole second dimension; from opset 13 it runs over the single
 * axis `axis` (default -1). normalize turns both into one description, node.attrs =
 * { outer, n, inner }: `outer` independent blocks of n * inner elements, each holding
 * `inner` slices of n elements at stride `inner`.
 * Float: subtract the slice maximum, exp, divide by the sum (float64 in the reference, f32
 * in the kernel).
 * int8: the output quantization is fixed (scale 1/256, zero point -128), never calibrated.
 * With the input scale s_in, quantize builds an int32 table T[d] = round(exp(-d * s_in) * 2^20)
 * for d = 0..255. For each slice, with d_i = max_q - q_i (always 0..255):
 *   sum = Σ T[d_i]   (int64 in the kernel; exact below 2^53 in JS)
 *   y_i = clamp(floor((T[d_i] * 256 + floor(sum / 2)) / sum) - 128, -128, 127)
 * i.e. round(256 * T[d_i] / sum) - 128 with halves rounded up, in exact integer arithmetic.
 */
import { makeValue, numel, tensor } from "../ir/graph.js";
import { clamp, floorDiv, roundHalfAway } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { attrInt, inT, normAxis, requireFloat, where } from "./util.js";

export const SOFTMAX_Q = { scale: 1 / 256, zeroPoint: -128 };
export const SOFTMAX_ONE = 2 ** 20;

export const Softmax: OpDef = {
  op: "Softmax",
  doc: "softmax along an axis (opset < 13: over the input coerced to 2-D at axis)",
  normalize(node, g) {
    const s = inT(g, node, 0).shape;
    const ctx = `${where(g, node)}: input ${s.join("x") || "scalar"}`;
    let outer: number, n: number, inner: number;
    if (g.opset < 13) {
      const axis = normAxis(attrInt(node, "axis", 1), s.length, ctx);
      [outer, n, inner] = [numel(s.slice(0, axis)), numel(s.slice(axis)), 1];
      node.attrs = { axis, outer, n, inner };
    } else {
      const axis = normAxis(attrInt(node, "axis", -1), s.length, ctx);
      [outer, n, inner] = [numel(s.slice(0, axis)), s[axis], numel(s.slice(axis + 1))];
      node.attrs = { axis, outer, n, inner };
    }
  },
  infer(node, g) {
    requireFloat(g, node);
    const x = inT(g, node, 0);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
  ref(node, [x]) {
    const { outer, n, inner } = node.attrs as { outer: number; n: number; inner: number };
    const y = makeValue(x.dtype, x.shape);
    const e = new Float64Array(n);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let max = -Infinity;
        for (let k = 0; k < n; k++) max = Math.max(max, x.data[base + k * inner]);
        let sum = 0;
        for (let k = 0; k < n; k++) sum += (e[k] = Math.exp(x.data[base + k * inner] - max));
        for (let k = 0; k < n; k++) y.data[base + k * inner] = e[k] / sum;
      }
    return [y];
  },
  int(node, [x]) {
    const { outer, n, inner } = node.attrs as { outer: number; n: number; inner: number };
    const T = node.q!.table as number[];
    const y = makeValue("int8", x.shape);
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) {
        const base = o * n * inner + i;
        let max = -128;
        for (let k = 0; k < n; k++) max = Math.max(max, x.data[base + k * inner]);
        let sum = 0;
        for (let k = 0; k < n; k++) sum += T[max - x.data[base + k * inner]];
        const half = floorDiv(sum, 2);
        for (let k = 0; k < n; k++) {
          const t = T[max - x.data[base + k * inner]];
          y.data[base + k * inner] = clamp(floorDiv(t * 256 + half, sum) - 128, -128, 127);
        }
      }
    return [y];
  },
  quantize(node, g, qc) {
    const sIn = tensor(g, node.inputs[0]).quant!.scale[0];
    qc.fixedQuant(node.outputs[0], SOFTMAX_Q.scale, SOFTMAX_Q.zeroPoint);
    node.q = { table: Array.from({ length: 256 }, (_, d) => roundHalfAway(Math.exp(-d * sIn) * SOFTMAX_ONE)) };
  },
  emit(node, e) {
    const { outer, n, inner } = node.attrs as { outer: number; n: number; inner: number };
    const io = [e.addr(node.inputs[0]), e.addr(node.outputs[0]), outer, n, inner, n * inner];
    if (node.q) e.call("softmax", "softmax_s8", [...io, e.data("softmax_exp", "int32", node.q.table as number[])]);
    else e.call("softmax", "softmax_f32", io);
  },
  macs: () => 0,
};
