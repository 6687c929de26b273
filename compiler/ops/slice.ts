/**
 * Slice: a strided box of the input, per listed axis start, end and step (any non-zero
 * step, negative ones walking backwards). Opset 10+ gives starts, ends, axes and steps as
 * inputs, which must be constants and are read into attributes at import; opsets 1 to 9 give
 * attributes starts, ends, axes (step 1). Bounds follow the ONNX spec: a negative start or
 * end counts from the end of the axis, then starts are clamped to [0, d] (step > 0) or
 * [0, d - 1] (step < 0) and ends to [0, d] or [-1, d - 1], so INT64_MAX / INT64_MIN mean
 * "to the end" / "to the beginning". PyTorch exports crops and `out[:, -1:, :]` this way, and
 * F.pad reverses its pads with a step -1 Slice, which the importer folds with `ref` on int64
 * data.
 *
 * On the device it is a strided copy (runtime-as/broadcast.ts): the box's dims with input
 * strides step * stride (negative for negative steps) and output strides, unit dims dropped
 * and evenly spaced dims merged, starting at the first selected element; rows that are
 * contiguous on both sides are memory copies.
 *
 * int8: the output keeps the input's quantization (sameQuant) and bytes move unchanged; Q
 * formats likewise, with int16 elements from 9 bits.
 */
import { bad } from "../util/errors.js";
import { allocData, constData, dtypeBytes, numel, strides, tensor, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { attrInts, normAxis, requireFloat, where } from "./util.js";
import { planArgs, rowPlan } from "./binary.js";

interface SliceParams { starts: number[]; ends: number[]; axes: number[]; steps: number[] }
interface SliceBox { begin: number[]; step: number[]; count: number[] }

const ints = (v: ArrayLike<number> | undefined): number[] | undefined => (v ? Array.from(v, Number) : undefined);

/** Checks lengths, integrality, axes (normalized, distinct) and steps (non-zero). */
function checkParams(p: { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] }, rank: number, ctx: string): SliceParams {
  const k = p.starts.length;
  const axes = (p.axes ?? p.starts.map((_, i) => i)).map((a) => normAxis(a, rank, ctx));
  const steps = p.steps ?? p.starts.map(() => 1);
  if (p.ends.length !== k || axes.length !== k || steps.length !== k) {
    bad(`${ctx}: starts, ends, axes and steps have lengths ${k}, ${p.ends.length}, ${axes.length}, ${steps.length}; they must agree`);
  }
  if (new Set(axes).size !== k) bad(`${ctx}: axes [${axes.join(", ")}] repeat an axis`);
  if (![...p.starts, ...p.ends, ...steps].every(Number.isInteger)) bad(`${ctx}: starts, ends and steps must be integers`);
  if (steps.includes(0)) bad(`${ctx}: steps [${steps.join(", ")}] contain 0`);
  return { starts: p.starts, ends: p.ends, axes, steps };
}

/** The selected box: first index, step and count per axis (ONNX clamping). */
function sliceBox(shape: number[], p: SliceParams): SliceBox {
  const begin = shape.map(() => 0), step = shape.map(() => 1), count = [...shape];
  p.axes.forEach((a, i) => {
    const d = shape[a], s = p.steps[i];
    let b = p.starts[i], e = p.ends[i];
    if (b < 0) b += d;
    if (e < 0) e += d;
    if (s > 0) {
      b = Math.min(Math.max(b, 0), d); e = Math.min(Math.max(e, 0), d);
      count[a] = Math.max(0, Math.ceil((e - b) / s));
    } else {
      b = Math.min(Math.max(b, 0), d - 1); e = Math.min(Math.max(e, -1), d - 1);
      count[a] = Math.max(0, Math.ceil((b - e) / -s));
    }
    begin[a] = b; step[a] = s;
  });
  return { begin, step, count };
}

/** Parameters of a normalized node (attributes), or of a raw one called with its inputs. */
function paramsOf(node: Node, ins: Value[], rank: number): SliceParams {
  const ctx = `Slice '${node.name}'`;
  if (ins.length > 1 && ins[1]) {
    return checkParams({ starts: ints(ins[1].data)!, ends: ints(ins[2]?.data) ?? [], axes: ints(ins[3]?.data), steps: ints(ins[4]?.data) }, rank, ctx);
  }
  return checkParams({ starts: attrInts(node, "starts", []), ends: attrInts(node, "ends", []), axes: node.attrs.axes, steps: node.attrs.steps }, rank, ctx);
}

function slice(node: Node, ins: Value[]): Value[] {
  const x = ins[0];
  const r = x.shape.length;
  const { begin, step, count } = sliceBox(x.shape, paramsOf(node, ins, r));
  const xs = strides(x.shape);
  const out = allocData(x.dtype, numel(count));
  const idx = count.map(() => 0);
  for (let k = 0; k < out.length; k++) {
    let off = 0;
    for (let d = 0; d < r; d++) off += (begin[d] + idx[d] * step[d]) * xs[d];
    out[k] = x.data[off];
    for (let d = r - 1; d >= 0; d--) { if (++idx[d] < count[d]) break; idx[d] = 0; }
  }
  return [{ dtype: x.dtype, shape: count, data: out }];
}

/** The device copy: row plan (input strides * steps, output strides) and the first element's offset. */
function copyPlan(shape: number[], box: SliceBox, ctx: string): { plan: number[]; xoff: number } {
  const xs = strides(shape);
  return {
    plan: rowPlan(box.count, xs.map((s, d) => s * box.step[d]), strides(box.count), ctx),
    xoff: box.begin.reduce((a, b, d) => a + b * xs[d], 0),
  };
}

export const Slice: OpDef = {
  op: "Slice",
  doc: "strided slice with constant starts/ends/axes/steps (any non-zero step, opset 1 to 18 forms)",
  normalize(node, g) {
    const ctx = where(g, node);
    const rank = tensor(g, node.inputs[0]).shape.length;
    let p: SliceParams;
    if (node.inputs.length > 1) {
      // opset 10+: constant inputs
      const opt = (i: number, what: string) => (node.inputs[i] ? ints(constData(g, node, i, what)) : undefined);
      if (!node.inputs[2]) bad(`${ctx}: the ends input is missing`);
      p = checkParams({ starts: opt(1, "starts")!, ends: opt(2, "ends")!, axes: opt(3, "axes"), steps: opt(4, "steps") }, rank, ctx);
    } else {
      if (node.attrs.starts === undefined || node.attrs.ends === undefined) {
        bad(`${ctx}: the starts and ends ${g.opset >= 10 ? "inputs" : "attributes"} are missing`);
      }
      p = checkParams({ starts: attrInts(node, "starts", []), ends: attrInts(node, "ends", []), axes: node.attrs.axes, steps: node.attrs.steps }, rank, ctx);
    }
    node.attrs = { ...p };
    node.inputs = [node.inputs[0]];
  },
  infer(node, g) {
    requireFloat(g, node);
    const x = tensor(g, node.inputs[0]);
    const ctx = where(g, node);
    const box = sliceBox(x.shape, paramsOf(node, [], x.shape.length));
    if (numel(box.count) === 0) bad(`${ctx}: the slice of ${x.shape.join("x")} is empty (shape ${box.count.join("x")})`);
    copyPlan(x.shape, box, ctx); // refuses > 6 dims now, not at emit
    return [{ dtype: x.dtype, shape: box.count }];
  },
  ref: slice,
  int: slice,
  quantize(node, _g, qc) {
    qc.sameQuant(node.outputs[0], node.inputs[0]);
  },
  emit(node, e) {
    const x = tensor(e.g, node.inputs[0]);
    const es = dtypeBytes(x.dtype); // float32 4, int8 1, Q-format int16 2
    const { plan, xoff } = copyPlan(x.shape, sliceBox(x.shape, paramsOf(node, [], x.shape.length)), where(e.g, node));
    const xa = e.addr(node.inputs[0]);
    e.call("slice", "slice", [xoff ? `${xa} + ${xoff * es}` : xa, e.addr(node.outputs[0]), ...planArgs(e, "slice", plan), es]);
  },
  macs: () => 0,
};
