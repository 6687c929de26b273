/**
 * Small helpers shared by the operator files: typed attribute access, broadcasting,
 * AssemblyScript literals and the activation clamp that fusion attaches to a node.
 * Nothing here knows a particular operator.
 */
import { bad } from "../util/errors.js";
import { qFromReal, roundHalfAway, type QFmt } from "../ir/fixedpoint.js";
import { allocData, makeValue, numel, strides, tensor, type DType, type Graph, type Node, type Tensor, type Value } from "../ir/graph.js";

export function attrInt(node: Node, name: string, def: number): number {
  const v = node.attrs[name];
  return v === undefined ? def : Number(v);
}
export function attrFloat(node: Node, name: string, def: number): number {
  const v = node.attrs[name];
  return v === undefined ? def : Number(v);
}
export function attrInts(node: Node, name: string, def: number[]): number[] {
  const v = node.attrs[name];
  return v === undefined ? def : (v as number[]).map(Number);
}
export function attrStr(node: Node, name: string, def: string): string {
  const v = node.attrs[name];
  return v === undefined ? def : String(v);
}

export function inT(g: Graph, node: Node, i: number): Tensor {
  return tensor(g, node.inputs[i]);
}
export function outT(g: Graph, node: Node, i = 0): Tensor {
  return tensor(g, node.outputs[i]);
}

export function where(g: Graph, node: Node): string {
  return `${g.source}: node '${node.name}' (${node.op})`;
}

/** Normalizes a possibly negative axis against a rank, with a clear error when out of range. */
export function normAxis(axis: number, rank: number, ctx: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) bad(`${ctx}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function broadcastShape(a: number[], b: number[], ctx: string): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) bad(`${ctx}: shapes ${a.join("x")} and ${b.join("x")} do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` read as if broadcast to `out` (0 on broadcast axes), left-padded to out's rank. */
export function bcastStrides(shape: number[], out: number[]): number[] {
  const s = strides(shape);
  const pad = out.length - shape.length;
  return out.map((_, i) => (i < pad || shape[i - pad] === 1 ? 0 : s[i - pad]));
}

/** Elementwise binary op with numpy broadcasting on any numeric dtype. */
export function broadcastBinary(a: Value, b: Value, outDtype: DType, f: (x: number, y: number) => number, ctx: string): Value {
  const shape = broadcastShape(a.shape, b.shape, ctx);
  const n = numel(shape);
  const out = allocData(outDtype, n);
  const sa = bcastStrides(a.shape, shape), sb = bcastStrides(b.shape, shape);
  const idx = new Array<number>(shape.length).fill(0);
  let ia = 0, ib = 0;
  for (let k = 0; k < n; k++) {
    out[k] = f(a.data[ia], b.data[ib]);
    for (let d = shape.length - 1; d >= 0; d--) {
      idx[d]++; ia += sa[d]; ib += sb[d];
      if (idx[d] < shape[d]) break;
      ia -= sa[d] * shape[d]; ib -= sb[d] * shape[d]; idx[d] = 0;
    }
  }
  return { dtype: outDtype, shape, data: out };
}

export function mapValue(v: Value, f: (x: number) => number, dtype: DType = v.dtype): Value {
  const out = makeValue(dtype, v.shape);
  for (let i = 0; i < v.data.length; i++) out.data[i] = f(v.data[i]);
  return out;
}

/** An AssemblyScript f32 expression that denotes exactly the float32 value x. */
export function f32(x: number): string {
  const v = Math.fround(x);
  if (Number.isNaN(v)) return "<f32>NaN";
  if (v === Infinity) return "<f32>Infinity";
  if (v === -Infinity) return "<f32>-Infinity";
  if (Object.is(v, -0)) return "<f32>-0.0";
  return `<f32>${String(v)}`;
}

/** Fused activation bounds (float) that fuse-activation attaches; the identity when absent. */
export function actBounds(node: Node): { min: number; max: number } {
  return { min: node.attrs.actMin ?? -Infinity, max: node.attrs.actMax ?? Infinity };
}

export function clampF(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Rounds to float32 after every arithmetic step, matching an f32 kernel's single operations. */
export const fr = Math.fround;

/** Quantized clamp bounds for a fused activation given the output quantization. */
export function actQBounds(node: Node, scale: number, zp: number): { qmin: number; qmax: number } {
  const { min, max } = actBounds(node);
  const qmin = min === -Infinity ? -128 : Math.max(-128, Math.min(127, roundHalfAway(min / scale) + zp));
  const qmax = max === Infinity ? 127 : Math.max(-128, Math.min(127, roundHalfAway(max / scale) + zp));
  return { qmin, qmax };
}

/**
 * Clamp bounds for a fused activation in a Q format: each bound converted like a constant,
 * sat(trunc(bound 2^f)) (an absent bound is the format's end).
 */
export function actFixedBounds(node: Node, fmt: QFmt): { qmin: number; qmax: number } {
  const { min, max } = actBounds(node);
  return { qmin: qFromReal(min, fmt), qmax: qFromReal(max, fmt) };
}

export function requireRank(g: Graph, node: Node, i: number, ranks: number[]): number[] {
  const s = inT(g, node, i).shape;
  if (!ranks.includes(s.length)) bad(`${where(g, node)}: input ${i} has shape ${s.join("x") || "scalar"}, expected rank ${ranks.join(" or ")}`);
  return s;
}

export function requireFloat(g: Graph, node: Node): void {
  for (const name of node.inputs) {
    if (!name) continue;
    const t = tensor(g, name);
    if (t.dtype !== "float32" && !t.data) bad(`${where(g, node)}: input '${name}' is ${t.dtype}; this op runs on float32 tensors only`);
  }
}
