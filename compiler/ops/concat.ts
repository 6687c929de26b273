/**
 * Concat: joins any number of tensors along one axis (negative allowed); inputs may be
 * constants. Seen as [outer, axis * inner] matrices, each input contributes a block of
 * columns to every output row, so the device runs one copy call per input: `outer` rows of
 * that input's row length, placed at its column offset. On any dtype (int64 included) the
 * reference folds exporters' shape arithmetic (Concat of shape pieces).
 *
 * int8: the output gets its own parameters from its calibrated range (actQuant; constant
 * inputs are quantized per tensor the same way). An input whose (scale, zero point) equals
 * the output's is copied byte for byte; any other is requantized element by element:
 *   y = clamp(mbqm(q - z_i, m_i) + z_y, -128, 127),   m_i = s_i / s_y  (may exceed 1)
 * In a Q format (--fixed) every tensor shares the grid, so every input is copied, in the
 * format's storage (int8 or int16 elements).
 */
import { bad } from "../util/errors.js";
import { allocData, dtypeBytes, numel, tensor, type Data, type Node, type Value } from "../ir/graph.js";
import { clamp, mbqm, quantizeMultiplier } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { attrInt, normAxis, requireFloat, where } from "./util.js";
import { tensorQuant } from "./binary.js";

function concatShape(shapes: number[][], axisAttr: number, ctx: string): { axis: number; shape: number[] } {
  if (shapes.length === 0) bad(`${ctx}: no inputs`);
  const r = shapes[0].length;
  if (r === 0) bad(`${ctx}: cannot concatenate scalars`);
  const axis = normAxis(axisAttr, r, ctx);
  const shape = [...shapes[0]];
  shape[axis] = 0;
  for (const s of shapes) {
    if (s.length !== r || s.some((d, i) => i !== axis && d !== shapes[0][i])) {
      bad(`${ctx}: input shapes ${shapes.map((x) => x.join("x")).join(", ")} differ outside axis ${axisAttr}`);
    }
    shape[axis] += s[axis];
  }
  return { axis, shape };
}

/** Row layout: outer rows; per input its row length and column offset (elements). */
function layout(shapes: number[][], axis: number, shape: number[]) {
  const inner = numel(shape.slice(axis + 1));
  const rows = shapes.map((s) => s[axis] * inner);
  const offs = rows.map((_, i) => rows.slice(0, i).reduce((a, b) => a + b, 0));
  return { outer: numel(shape.slice(0, axis)), rowOut: shape[axis] * inner, rows, offs };
}

/** Concatenation of `ins` into `dtype`, element i of input k mapped by f(k, value). */
function concatWith(node: Node, ins: Value[], dtype: Value["dtype"], f: (k: number, v: number) => number): Value {
  const live = ins.filter((v) => v);
  const { axis, shape } = concatShape(live.map((v) => v.shape), attrInt(node, "axis", 0), `Concat '${node.name}'`);
  const { outer, rowOut, rows, offs } = layout(live.map((v) => v.shape), axis, shape);
  const out: Data = allocData(dtype, numel(shape));
  live.forEach((v, k) => {
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < rows[k]; j++) out[o * rowOut + offs[k] + j] = f(k, v.data[o * rows[k] + j]);
    }
  });
  return { dtype, shape, data: out };
}

export const Concat: OpDef = {
  op: "Concat",
  doc: "concatenation along any axis; int8 requantizes inputs whose parameters differ",
  normalize(node, g) {
    // opsets 1 to 3 default the axis to 1; later ones require it
    if (node.attrs.axis === undefined && g.opset < 4) node.attrs.axis = 1;
    if (node.attrs.axis === undefined) bad(`${where(g, node)}: the axis attribute is required`);
    node.inputs = node.inputs.filter((x) => x !== "");
  },
  infer(node, g) {
    requireFloat(g, node);
    const ts = node.inputs.map((n) => tensor(g, n));
    const dt = ts[0].dtype;
    if (ts.some((t) => t.dtype !== dt)) bad(`${where(g, node)}: inputs have dtypes ${ts.map((t) => t.dtype).join(", ")}; they must agree`);
    return [{ dtype: dt, shape: concatShape(ts.map((t) => t.shape), attrInt(node, "axis", 0), where(g, node)).shape }];
  },
  ref: (node, ins) => [concatWith(node, ins, ins[0].dtype, (_k, v) => v)],
  int(node, ins) {
    const q = node.q!;
    const dtype = q.fixed ? ins[0].dtype : "int8"; // Q formats: int8 or int16 storage, all copies
    return [concatWith(node, ins, dtype, (k, v) => (q.copy[k]
      ? v
      : clamp((mbqm(v - q.zi[k], q.mult[k], q.shift[k]) + q.zy) | 0, -128, 127)))];
  },
  quantize(node, g, qc) {
    const yn = node.outputs[0];
    qc.actQuant(yn);
    const Y = tensorQuant(g, node, yn);
    const copy: number[] = [], zi: number[] = [], mult: number[] = [], shift: number[] = [];
    for (const x of node.inputs) {
      qc.actQuant(x);
      const X = tensorQuant(g, node, x);
      const same = X.s === Y.s && X.z === Y.z;
      const m = same ? { mult: 0, shift: 0 } : quantizeMultiplier(X.s / Y.s);
      copy.push(same ? 1 : 0); zi.push(X.z); mult.push(m.mult); shift.push(m.shift);
    }
    node.q = { zy: Y.z, copy, zi, mult, shift };
  },
  emit(node, e) {
    const shapes = node.inputs.map((n) => tensor(e.g, n).shape);
    const yt = tensor(e.g, node.outputs[0]);
    const { outer, rowOut, rows, offs } = layout(shapes, normAxis(attrInt(node, "axis", 0), yt.shape.length, node.name), yt.shape);
    const q = node.q;
    const es = dtypeBytes(yt.dtype); // float32 4, int8 1, Q-format int16 2
    node.inputs.forEach((x, k) => {
      if (rows[k] === 0) return;
      const y = offs[k] ? `${e.addr(node.outputs[0])} + ${offs[k] * es}` : e.addr(node.outputs[0]);
      // an input that fills whole output rows is one contiguous block: a single copy
      if (!q || q.copy[k]) e.call("concat", "concat_copy", rows[k] === rowOut ? [e.addr(x), y, 1, outer * rowOut * es, outer * rowOut * es] : [e.addr(x), y, outer, rows[k] * es, rowOut * es]);
      else e.call("concat", "concat_s8", [e.addr(x), y, outer, rows[k], rowOut, q.zi[k], q.zy, q.mult[k], q.shift[k]]);
    });
  },
  macs: () => 0,
};
