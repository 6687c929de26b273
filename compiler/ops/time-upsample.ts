/**
 * TimeUpsample (internal, inserted by the SOI pass, passes/soi.ts; never imported from ONNX):
 * brings the output of SOI's deep path, which has one column every `factor` (k) steps, back
 * to the full rate along the time axis `axis`, `length` columns long. With d[j] the deep
 * column computed at step j*k and y[t] the output column:
 * - hold:        y[t] = d[floor(t / k)]                 (partially predictive SOI, reuse)
 * - extrapolate: y[t] = d[j] + (t - j*k) / k * (d[j] - d[j-1]), j = floor(t / k), with
 *                d[-1] = d[0] (no slope before the second deep column)
 * - predict:     y[t] = d[floor((t - 1) / k)], y[0] = 0 (fully predictive SOI: the deep
 *                column computed at step j*k is used from step j*k + 1 on, so the deep path
 *                can run after the output of its own step is out)
 * All three only look at deep columns computed at or before step t: they are causal.
 *
 * Streaming (node.attrs.stream, set by stream/step-graph.ts): the input is a latch of the
 * newest deep columns (a StreamShift window, W = 2 for extrapolate: [previous, newest], else
 * 1), and the node runs every step of its output stream; its phase t mod k counts its own
 * executions since a reset (the emitted code derives it from the module's step counter).
 * In predict mode the deep path and its latch push run after the step's outputs (they are
 * deferred, see step-graph.ts), so the newest latched column is the previous deep step's.
 *
 * int8: the output keeps the input's quantization. Extrapolation works on the codes (the
 * zero point cancels): y = clamp(a + rdiv(ph * (a - b), k), -128, 127) with rdiv rounding
 * half away from zero; float computes a + f32(ph / k) * (a - b) in float32.
 */
import { bad, internal } from "../util/errors.js";
import { allocData, makeValue, numel, tensor, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { f32, where } from "./util.js";

export type UpsampleMode = "hold" | "extrapolate" | "predict";
const MODES: Record<UpsampleMode, number> = { hold: 0, extrapolate: 1, predict: 2 };

/**
 * The latch width a streaming TimeUpsample needs (columns of the deep stream it keeps):
 * extrapolate keeps two; hold and predict the newest, which for predict is the previous
 * deep step's column, since the stream compiler runs its deep path after the outputs.
 */
export function latchColumns(mode: UpsampleMode): number {
  return mode === "extrapolate" ? 2 : 1;
}

/** Integer division rounding half away from zero (k > 0). */
export function rdiv(n: number, k: number): number {
  const q = Math.floor((2 * Math.abs(n) + k) / (2 * k));
  return n < 0 ? -q : q;
}

/** One output element from the newest deep value a, the one before it b, the phase and the mode. */
function combine(mode: UpsampleMode, a: number, b: number, ph: number, k: number, first: boolean, int: boolean): number {
  if (mode === "hold") return a;
  if (mode === "predict") return ph === 0 ? b : a;
  if (ph === 0 || first) return a;
  if (int) return Math.max(-128, Math.min(127, a + rdiv(ph * (a - b), k)));
  return Math.fround(a + Math.fround(Math.fround(ph / k) * Math.fround(a - b)));
}

function full(node: Node, x: Value, int: boolean, zero: number): Value {
  const { axis, factor: k, length: L, mode } = node.attrs as { axis: number; factor: number; length: number; mode: UpsampleMode };
  const J = x.shape[axis];
  const outer = numel(x.shape.slice(0, axis)), inner = numel(x.shape.slice(axis + 1));
  const shape = [...x.shape];
  shape[axis] = L;
  const y = makeValue(x.dtype, shape);
  for (let o = 0; o < outer; o++)
    for (let t = 0; t < L; t++)
      for (let i = 0; i < inner; i++) {
        const at = (j: number) => x.data[(o * J + j) * inner + i];
        let v: number;
        if (mode === "predict") v = t === 0 ? zero : at(Math.floor((t - 1) / k));
        else {
          const j = Math.floor(t / k);
          v = combine(mode, at(j), j > 0 ? at(j - 1) : at(j), t - j * k, k, j === 0, int);
        }
        y.data[(o * L + t) * inner + i] = v;
      }
  return y;
}

/** Executions since the last reset of each streaming node (its phase is this count mod k). */
const executions = new WeakMap<Node, number>();

function step(node: Node, win: Value, int: boolean): Value {
  const { factor: k, mode } = node.attrs as { factor: number; mode: UpsampleMode };
  const n = executions.get(node) ?? 0;
  executions.set(node, n + 1);
  const W = win.shape[win.shape.length - 1];
  const rows = win.data.length / W;
  const out = allocData(win.dtype, rows);
  for (let r = 0; r < rows; r++) {
    const a = win.data[r * W + W - 1], b = W > 1 ? win.data[r * W + W - 2] : a;
    out[r] = combine(mode, a, b, n % k, k, n < k, int);
  }
  return { dtype: win.dtype, shape: node.attrs.colShape, data: out };
}

const zeroOf = (node: Node): number => (node.q ? node.q.zero : 0);

export const TimeUpsample: OpDef = {
  op: "TimeUpsample",
  doc: "(internal) SOI: a deep stream with one column every k steps back to every step (hold, extrapolate, predict)",
  infer(node, g) {
    const x = tensor(g, node.inputs[0]);
    if (node.attrs.stream) return [{ dtype: x.dtype, shape: node.attrs.colShape }];
    const { axis, factor: k, length: L } = node.attrs;
    if (x.shape[axis] !== Math.ceil(L / k)) internal(`TimeUpsample '${node.name}': ${x.shape[axis]} columns cannot make ${L} at factor ${k}`);
    const shape = [...x.shape];
    shape[axis] = L;
    return [{ dtype: x.dtype, shape }];
  },
  ref: (node, [x]) => [node.attrs.stream ? step(node, x, false) : full(node, x, false, 0)],
  int: (node, [x]) => [node.attrs.stream ? step(node, x, true) : full(node, x, true, zeroOf(node))],
  resetStream: (node) => { executions.delete(node); },
  quantize(node, g, qc) {
    qc.sameQuant(node.outputs[0], node.inputs[0]);
    node.q = { zero: tensor(g, node.inputs[0]).quant!.zeroPoint[0] };
  },
  emit(node, e) {
    const x = tensor(e.g, node.inputs[0]);
    const { factor: k, mode } = node.attrs as { factor: number; mode: UpsampleMode };
    const sfx = node.q ? "s8" : "f32";
    if (x.dtype !== (node.q ? "int8" : "float32")) bad(`${where(e.g, node)}: ${x.dtype} input is not supported`);
    const zero = node.q ? node.q.zero : f32(0);
    if (node.attrs.stream) {
      const W = x.shape[x.shape.length - 1];
      const P: number = node.attrs.period;
      const n = P === 1 ? "step_t" : `(step_t / ${P})`;
      e.call("time-upsample", `upsample_step_${sfx}`, [e.addr(node.inputs[0]), e.addr(node.outputs[0]), numel(x.shape) / W, W, k, MODES[mode], n]);
    } else {
      const { axis, length: L } = node.attrs;
      const outer = numel(x.shape.slice(0, axis)), inner = numel(x.shape.slice(axis + 1));
      e.call("time-upsample", `upsample_time_${sfx}`, [e.addr(node.inputs[0]), e.addr(node.outputs[0]), outer, x.shape[axis] * inner, L, inner, k, MODES[mode], zero]);
    }
  },
  macs: (node, g) => (node.attrs.mode === "extrapolate" ? numel(tensor(g, node.outputs[0]).shape) : 0),
};
