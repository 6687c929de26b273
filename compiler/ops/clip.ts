/**
 * Clip: y = min(max(x, min), max), elementwise. Opset 11 moved the bounds from attributes to
 * optional inputs; normalize reads either form into node.attrs = { min, max } (plain numbers,
 * -Infinity / Infinity when absent) and drops the bound inputs, so everything downstream sees
 * one form: passes/fuse-activation.ts reads exactly these attrs to fuse a Clip (ReLU6 above
 * all) into the Conv, Gemm, MatMul or Add before it. Bounds computed at run time are refused.
 * When min > max every output is max (the ONNX and numpy definition), which is why the
 * kernel applies max then min rather than a clamp. The int8 form is the shared activation
 * lookup table (see unary.ts). In a Q format (--fixed) the bounds go to the grid like
 * constants, sat(trunc(bound 2^f)), and y = min(max(q, lo'), hi') (a table for int8
 * storage, clamp_q16 for int16); Clip(-1, 1) is ElasticAI's hard tanh.
 */
import { bad, needConstant } from "../util/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { activation } from "./unary.js";
import { f32, where } from "./util.js";
import { qFromReal } from "../ir/fixedpoint.js";

function bound(g: Graph, node: Node, i: number, what: string, def: number): number {
  const name = node.inputs[i];
  if (!name) return def;
  const t = g.tensors.get(name)!;
  if (!t.data) needConstant(name, `${where(g, node)}: ${what} (input ${i}) '${name}' is computed at run time; picojoule needs Clip bounds as constants`);
  if (t.data!.length !== 1) bad(`${where(g, node)}: ${what} (input ${i}) has shape ${t.shape.join("x")}; it must be a scalar`);
  return Number(t.data![0]);
}

function attrBound(g: Graph, node: Node, name: string, def: number): number {
  const v = node.attrs[name];
  if (v === undefined) return def;
  if (typeof v !== "number") bad(`${where(g, node)}: attribute ${name} must be a float`);
  return v as number;
}

export const Clip = activation({
  op: "Clip",
  doc: "min(max(x, min), max); bounds from constant inputs (opset >= 11) or attributes",
  normalize(node, g) {
    let min: number, max: number;
    if (g.opset >= 11) {
      // idempotent: a node normalized already has no bound inputs and numeric attrs
      min = bound(g, node, 1, "min", typeof node.attrs.min === "number" ? node.attrs.min : -Infinity);
      max = bound(g, node, 2, "max", typeof node.attrs.max === "number" ? node.attrs.max : Infinity);
    } else {
      min = attrBound(g, node, "min", -Infinity);
      max = attrBound(g, node, "max", Infinity);
    }
    if (Number.isNaN(min) || Number.isNaN(max)) bad(`${where(g, node)}: Clip bounds min ${min}, max ${max} must not be NaN`);
    node.attrs = { min, max };
    node.inputs = [node.inputs[0]];
  },
  fn: (node) => {
    const lo: number = node.attrs.min, hi: number = node.attrs.max;
    return (x) => {
      const v = x < lo ? lo : x;
      return v > hi ? hi : v;
    };
  },
  kernel: (node) => ({ fn: "clip_f32", args: [f32(node.attrs.min), f32(node.attrs.max)] }),
  fixed: (node, _g, fmt) => ({ kind: "clamp", lo: qFromReal(node.attrs.min, fmt), hi: qFromReal(node.attrs.max, fmt) }),
});
