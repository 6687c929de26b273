/**
 * Ops that only change how a tensor's elements are indexed, never the elements or their
 * order: Reshape, Flatten, Squeeze, Unsqueeze, Identity and Dropout (inference). On device
 * they cost nothing: the output is a view of the input buffer (`alias`), so no kernel runs
 * and memory planning gives both names one slot. In int8 the output keeps the input's
 * quantization.
 */
import { bad } from "../util/errors.js";
import { constData, numel, type Graph, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { attrInt, inT, normAxis, where } from "./util.js";

function view(v: Value, shape: number[]): Value {
  return { dtype: v.dtype, shape, data: v.data };
}

function readInts(g: Graph, node: Node, i: number, what: string): number[] | undefined {
  const name = node.inputs[i];
  if (!name) return undefined;
  return Array.from(constData(g, node, i, what), Number);
}

function viewOp(op: string, doc: string, outShape: (node: Node, inShape: number[]) => number[], normalize?: (node: Node, g: Graph) => void): OpDef {
  return {
    op, doc, alias: true, normalize,
    infer: (node, g) => [{ dtype: inT(g, node, 0).dtype, shape: outShape(node, inT(g, node, 0).shape) }],
    ref: (node, ins) => [view(ins[0], outShape(node, ins[0].shape))],
    int: (node, ins) => [view(ins[0], outShape(node, ins[0].shape))],
    quantize: (node, _g, qc) => qc.sameQuant(node.outputs[0], node.inputs[0]),
    macs: () => 0,
  };
}

export const Reshape = viewOp("Reshape", "reshape to a constant target shape (0 copies a dim, -1 is inferred)",
  (node, s) => {
    const target = node.attrs.shape as number[];
    const allowzero = attrInt(node, "allowzero", 0);
    const out = target.map((d, i) => (d === 0 && !allowzero ? s[i] : d));
    const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const neg = out.filter((d) => d === -1).length;
    if (neg > 1) bad(`Reshape: target shape ${target.join("x")} has more than one -1`);
    if (neg === 1) out[out.indexOf(-1)] = known === 0 ? 0 : numel(s) / known;
    if (numel(out) !== numel(s) || !out.every(Number.isInteger)) bad(`Reshape: cannot reshape ${s.join("x")} to ${target.join("x")}`);
    return out;
  },
  (node, g) => {
    if (node.attrs.shape === undefined) node.attrs.shape = readInts(g, node, 1, "shape");
    node.inputs = [node.inputs[0]];
  });

export const Flatten = viewOp("Flatten", "flatten to 2-D around an axis",
  (node, s) => {
    const axis = attrInt(node, "axis", 1);
    const a = axis < 0 ? axis + s.length : axis;
    if (a < 0 || a > s.length) bad(`Flatten: axis ${axis} out of range for rank ${s.length}`);
    return [numel(s.slice(0, a)), numel(s.slice(a))];
  });

export const Squeeze = viewOp("Squeeze", "remove size-1 axes (all, or the listed ones)",
  (node, s) => {
    const axes = node.attrs.axes as number[] | undefined;
    if (!axes) return s.filter((d) => d !== 1);
    const norm = axes.map((a) => normAxis(a, s.length, "Squeeze"));
    for (const a of norm) if (s[a] !== 1) bad(`Squeeze: axis ${a} of ${s.join("x")} is not 1`);
    return s.filter((_, i) => !norm.includes(i));
  },
  (node, g) => {
    if (node.attrs.axes === undefined && node.inputs[1]) node.attrs.axes = readInts(g, node, 1, "axes");
    node.inputs = [node.inputs[0]];
  });

export const Unsqueeze = viewOp("Unsqueeze", "insert size-1 axes",
  (node, s) => {
    const axes = node.attrs.axes as number[];
    const r = s.length + axes.length;
    const norm = axes.map((a) => normAxis(a, r, "Unsqueeze")).sort((a, b) => a - b);
    const out = [...s];
    for (const a of norm) out.splice(a, 0, 1);
    return out;
  },
  (node, g) => {
    if (node.attrs.axes === undefined) node.attrs.axes = readInts(g, node, 1, "axes");
    if (!node.attrs.axes) bad(`${where(g, node)}: axes are required`);
    node.inputs = [node.inputs[0]];
  });

export const Identity = viewOp("Identity", "pass through", (_node, s) => s);

export const Dropout = viewOp("Dropout", "inference mode: pass through", (_node, s) => s,
  (node, g) => {
    const training = node.inputs[2] ? readInts(g, node, 2, "training_mode")?.[0] : 0;
    if (training) bad(`${where(g, node)}: training_mode is set; picojoule compiles inference only`);
    // The mask output (training only) is dropped; a consumer of it fails as an unknown tensor.
    node.outputs = [node.outputs[0]];
    node.inputs = [node.inputs[0]];
    node.attrs = {};
  });

