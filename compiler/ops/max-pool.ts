/**
 * MaxPool: 1-D and 2-D max pooling (NCL / NCHW) with kernel_shape, strides, asymmetric
 * pads, auto_pad, dilations and ceil_mode (window geometry in pool-geometry.ts). Padding
 * never wins: a window's maximum is over the input elements it covers, as onnxruntime does.
 * The optional Indices output is refused (storage_order only concerns Indices, so it is
 * accepted otherwise). int8 keeps the input's quantization, and max commutes with the
 * monotone quantization map, so the integer semantics is the max of the int8 values.
 */
import { bad } from "../util/errors.js";
import { makeValue, numel, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { attrInt, inT, outT, where } from "./util.js";
import { normalizePool, poolGeom, poolInfer, poolShape, sweepWindows } from "./pool-geometry.js";

function maxPool(node: Node, x: Value): Value {
  const gm = poolGeom(node, x.shape);
  const y = makeValue(x.dtype, poolShape(node, x.shape));
  sweepWindows(gm, (o, idx) => {
    let m = -Infinity;
    for (const i of idx) m = Math.max(m, x.data[i]);
    y.data[o] = m;
  });
  return y;
}

export const MaxPool: OpDef = {
  op: "MaxPool",
  doc: "1-D/2-D max pooling; strides, pads, auto_pad, dilations, ceil_mode",
  normalize(node, g) {
    if (node.outputs.length > 1 && node.outputs[1] !== "") {
      bad(`${where(g, node)}: the Indices output (argmax positions) is not supported; only the pooled values can be computed`);
    }
    const so = attrInt(node, "storage_order", 0);
    if (so !== 0 && so !== 1) bad(`${where(g, node)}: storage_order ${so} must be 0 or 1`);
    node.outputs = [node.outputs[0]];
    normalizePool(node, g, {});
  },
  infer: poolInfer,
  ref: (node, [x]) => [maxPool(node, x)],
  int: (node, [x]) => [maxPool(node, x)],
  quantize(node, _g, qc) {
    qc.sameQuant(node.outputs[0], node.inputs[0]);
    node.q = {};
  },
  emit(node, e) {
    const gm = poolGeom(node, inT(e.g, node, 0).shape);
    const S = node.q ? 1 : 4;
    e.call("pool", node.q ? "maxpool_s8" : "maxpool_f32", [
      e.addr(node.inputs[0]), e.addr(node.outputs[0]),
      gm.NC, gm.H, gm.W, gm.KH, gm.KW, gm.OH, gm.OW, gm.sh, gm.sw, gm.dh, gm.dw, gm.pt, gm.pl,
      gm.H * gm.W, gm.sh * gm.W, gm.dh * gm.W, gm.pt * gm.W, // the kernel's address steps, precomputed
    ], { units: gm.NC, bumps: [[0, gm.H * gm.W * S], [1, gm.OH * gm.OW * S]], count: [2, 1, gm.NC], outPerUnit: gm.OH * gm.OW * S }); // planes split the call (--intermittent tiles)
  },
  macs(node, g) {
    const ks = node.attrs.kernel_shape as number[];
    return numel(outT(g, node).shape) * numel(ks);
  },
};
