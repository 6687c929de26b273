/**
 * Transpose: permutes the axes (perm attribute; by default the axes are reversed). The
 * device copy is a strided gather: output element order, each output axis reading the
 * input with that axis's input stride. The row plan of ops/binary.ts drops unit axes and
 * merges axes that stay adjacent and in order, so e.g. NCHW -> NHWC of a [1,C,H,W] tensor is
 * a 2-D transpose, and a permutation that only moves unit axes is a single memory copy.
 * The reference works on any dtype (it also folds constants).
 *
 * int8: the output keeps the input's quantization (sameQuant) and bytes are moved unchanged;
 * Q formats likewise, with int16 elements from 9 bits.
 */
import { bad } from "../util/errors.js";
import { allocData, dtypeBytes, numel, strides, tensor, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { attrInts, requireFloat, where } from "./util.js";
import { planArgs, rowPlan } from "./binary.js";

function permOf(node: Node, rank: number, ctx: string): number[] {
  const perm = attrInts(node, "perm", Array.from({ length: rank }, (_, i) => rank - 1 - i));
  const ok = perm.length === rank && perm.every((p) => Number.isInteger(p) && p >= 0 && p < rank) && new Set(perm).size === rank;
  if (!ok) bad(`${ctx}: perm [${perm.join(", ")}] is not a permutation of the ${rank} axes`);
  return perm;
}

function transpose(node: Node, x: Value): Value {
  const perm = permOf(node, x.shape.length, `Transpose '${node.name}'`);
  const shape = perm.map((p) => x.shape[p]);
  const xs = strides(x.shape);
  const st = perm.map((p) => xs[p]);
  const out = allocData(x.dtype, numel(shape));
  const idx = shape.map(() => 0);
  let off = 0;
  for (let k = 0; k < out.length; k++) {
    out[k] = x.data[off];
    for (let d = shape.length - 1; d >= 0; d--) {
      off += st[d];
      if (++idx[d] < shape[d]) break;
      off -= st[d] * shape[d];
      idx[d] = 0;
    }
  }
  return { dtype: x.dtype, shape, data: out };
}

/** Row plan of the gather: output dims, input strides (A) and output strides (B). */
function gatherPlan(xshape: number[], perm: number[], ctx: string): number[] {
  const xs = strides(xshape), yshape = perm.map((p) => xshape[p]);
  return rowPlan(yshape, perm.map((p) => xs[p]), strides(yshape), ctx);
}

export const Transpose: OpDef = {
  op: "Transpose",
  doc: "axis permutation (default: reversed), rank up to 6 after merging adjacent axes",
  infer(node, g) {
    requireFloat(g, node);
    const x = tensor(g, node.inputs[0]);
    const perm = permOf(node, x.shape.length, where(g, node));
    gatherPlan(x.shape, perm, where(g, node)); // refuses > 6 dims now, not at emit
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }];
  },
  ref: (node, [x]) => [transpose(node, x)],
  int: (node, [x]) => [transpose(node, x)],
  quantize(node, _g, qc) {
    qc.sameQuant(node.outputs[0], node.inputs[0]);
  },
  emit(node, e) {
    const x = tensor(e.g, node.inputs[0]);
    const plan = gatherPlan(x.shape, permOf(node, x.shape.length, where(e.g, node)), where(e.g, node));
    e.call("transpose", "transpose", [e.addr(node.inputs[0]), e.addr(node.outputs[0]), ...planArgs(e, "perm", plan), dtypeBytes(x.dtype)]);
  },
  macs: () => 0,
};
