/**
 * Pad, constant mode: the output is filled with the constant and the input is copied into
 * it at the begin pads. Negative pads crop (ONNX allows them), so the copied region is the
 * box of input elements that survive cropping. Opset 11+ gives pads, constant_value and
 * (opset 18) axes as inputs, which must be constants and are read into attributes at import;
 * older opsets give attributes `pads` (opset 1: `paddings`) and `value`. reflect, edge and
 * wrap are refused.
 * PyTorch's F.pad arrives here after its pads computation has been constant-folded, often
 * with all-zero pads, which the device runs as one memory copy.
 *
 * int8: the output keeps the input's quantization (sameQuant) and the pad value is the
 * constant quantized with those parameters: clamp(round_half_away(value / s) + z, -128, 127).
 */
import { bad } from "../util/errors.js";
import { allocData, constData, numel, strides, tensor, type Graph, type Node, type Value } from "../ir/graph.js";
import { quantizeValue } from "../passes/quantize.js";
import type { OpDef } from "./types.js";
import { attrFloat, attrInts, attrStr, f32, normAxis, requireFloat, where } from "./util.js";
import { planArgs, rowPlan } from "./binary.js";

function readPads(node: Node, g: Graph, rank: number): { pads: number[]; value: number } {
  const ctx = where(g, node);
  if (node.inputs.length === 1) {
    // opset < 11 attributes (opset 1 calls pads `paddings`), or an already normalized node
    if (node.attrs.pads === undefined && node.attrs.paddings !== undefined) node.attrs.pads = node.attrs.paddings;
    if (node.attrs.pads === undefined) bad(`${ctx}: the pads ${g.opset >= 11 ? "input" : "attribute"} is missing`);
    return { pads: attrInts(node, "pads", []), value: attrFloat(node, "value", 0) };
  }
  const raw = Array.from(constData(g, node, 1, "pads"), Number);
  const value = node.inputs[2] ? Number(constData(g, node, 2, "constant_value")[0] ?? 0) : 0;
  if (!node.inputs[3]) return { pads: raw, value };
  const axes = Array.from(constData(g, node, 3, "axes"), (a) => normAxis(Number(a), rank, ctx));
  if (raw.length !== 2 * axes.length) bad(`${ctx}: ${raw.length} pads for ${axes.length} axes; expected ${2 * axes.length}`);
  const pads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => { pads[a] = raw[i]; pads[rank + a] = raw[axes.length + i]; });
  return { pads, value };
}

function outShape(shape: number[], pads: number[], ctx: string): number[] {
  const r = shape.length;
  const out = shape.map((d, i) => d + pads[i] + pads[r + i]);
  if (out.some((d) => d < 0)) bad(`${ctx}: pads [${pads.join(", ")}] crop ${shape.join("x")} below zero size`);
  return out;
}

/** x padded with `value` (any dtype); negative pads crop. */
function pad(node: Node, x: Value, value: number): Value {
  const pads = node.attrs.pads as number[];
  const r = x.shape.length;
  const shape = outShape(x.shape, pads, `Pad '${node.name}'`);
  const out = allocData(x.dtype, numel(shape));
  out.fill(value);
  const ys = strides(shape);
  const idx = x.shape.map(() => 0);
  for (let k = 0; k < x.data.length; k++) {
    let o = 0, inside = true;
    for (let d = 0; d < r; d++) {
      const j = idx[d] + pads[d];
      if (j < 0 || j >= shape[d]) { inside = false; break; }
      o += j * ys[d];
    }
    if (inside) out[o] = x.data[k];
    for (let d = r - 1; d >= 0; d--) { if (++idx[d] < x.shape[d]) break; idx[d] = 0; }
  }
  return { dtype: x.dtype, shape, data: out };
}

/**
 * The device's view of a pad: the box of input elements that survive cropping as a row plan
 * (input strides A, output strides B; undefined when nothing survives), its start offsets in
 * elements, and how many output elements to fill first (0 when the box covers the output).
 */
function padPlan(xshape: number[], pads: number[], ctx: string) {
  const r = xshape.length;
  const yshape = outShape(xshape, pads, ctx);
  const count = xshape.map((d, i) => d + Math.min(0, pads[i]) + Math.min(0, pads[r + i]));
  const xs = strides(xshape), ys = strides(yshape);
  return {
    plan: count.some((c) => c <= 0) ? undefined : rowPlan(count, xs, ys, ctx),
    xoff: xshape.reduce((a, _d, i) => a + Math.max(0, -pads[i]) * xs[i], 0),
    yoff: yshape.reduce((a, _d, i) => a + Math.max(0, pads[i]) * ys[i], 0),
    fill: pads.some((p) => p > 0) ? numel(yshape) : 0,
  };
}

export const Pad: OpDef = {
  op: "Pad",
  doc: "constant padding (opset 7 to 18 forms), negative pads crop",
  normalize(node, g) {
    const ctx = where(g, node);
    const mode = attrStr(node, "mode", "constant");
    if (mode !== "constant") bad(`${ctx}: mode '${mode}' is not supported; picojoule pads with a constant only`);
    const rank = tensor(g, node.inputs[0]).shape.length;
    const { pads, value } = readPads(node, g, rank);
    if (pads.length !== 2 * rank || !pads.every(Number.isInteger)) bad(`${ctx}: pads [${pads.join(", ")}] do not match input rank ${rank} (expected ${2 * rank} integers)`);
    node.attrs = { mode, pads, value };
    node.inputs = [node.inputs[0]];
  },
  infer(node, g) {
    requireFloat(g, node);
    const x = tensor(g, node.inputs[0]);
    const shape = outShape(x.shape, node.attrs.pads, where(g, node));
    if (numel(shape) === 0) bad(`${where(g, node)}: pads [${node.attrs.pads.join(", ")}] leave ${x.shape.join("x")} empty`);
    padPlan(x.shape, node.attrs.pads, where(g, node)); // refuses > 6 dims now, not at emit
    return [{ dtype: x.dtype, shape }];
  },
  ref: (node, [x]) => [pad(node, x, attrFloat(node, "value", 0))],
  int: (node, [x]) => [pad(node, x, node.q!.value)],
  quantize(node, g, qc) {
    qc.sameQuant(node.outputs[0], node.inputs[0]);
    const q = tensor(g, node.inputs[0]).quant!;
    node.q = { value: quantizeValue(attrFloat(node, "value", 0), q.scale[0], q.zeroPoint[0]) };
  },
  emit(node, e) {
    const x = tensor(e.g, node.inputs[0]);
    const es = node.q ? 1 : 4;
    const p = padPlan(x.shape, node.attrs.pads, where(e.g, node));
    const plan = planArgs(e, "pad", p.plan);
    const io = [e.addr(node.inputs[0]), e.addr(node.outputs[0]), p.fill];
    if (node.q) e.call("pad", "pad_s8", [...io, node.q.value, ...plan, p.xoff, p.yoff]);
    else e.call("pad", "pad_f32", [...io, f32(attrFloat(node, "value", 0)), ...plan, p.xoff * es, p.yoff * es]);
  },
  macs: () => 0,
};
