/**
 * The self-test of a streaming module: a golden sequence (the calibration sample, else a
 * fixed pseudo-random pattern) is cut into frames along the time axis and run through the
 * streaming reference (interp.ts); the module's selftest() resets, feeds the frames one
 * step at a time, counts the output elements that differ from the reference on the steps
 * where each output is written, and resets again.
 */
import { makeValue, tensor, type Graph, type Value } from "../ir/graph.js";
import { quantizeValue } from "../passes/quantize.js";
import { qFromReal, type QFmt } from "../ir/fixedpoint.js";
import { StepRunner } from "./interp.js";
import type { SelfTest } from "../emit/assemblyscript.js";
import type { StepGraph } from "./step-graph.js";

export interface StreamSelfTest {
  frames: Value[];
  /** Per step, per output: the reference value when the output fires, else null. */
  expected: Array<Array<Value | null>>;
  atol: number;
  rtol: number;
}

/** Splits a full-window value into frames along `axis`. */
export function framesOf(v: Value, axis: number): Value[] {
  const shape = v.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1), inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const T = shape[axis];
  const fs = [...shape];
  fs[axis] = 1;
  return Array.from({ length: T }, (_, t) => {
    const f = makeValue(v.dtype, fs);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) f.data[o * inner + i] = v.data[(o * T + t) * inner + i];
    return f;
  });
}

export function streamSelfTest(g: Graph, sg: StepGraph, sample: Record<string, Value> | undefined, fmt?: QFmt): SelfTest {
  const name = g.inputs[0];
  const t = tensor(g, name);
  const n = t.shape.reduce((a, b) => a * b, 1);
  let x: Value;
  const src = sample?.[name]?.data ?? Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * Math.cos(i * 0.3));
  if (t.dtype === "int8") {
    const q = t.quant!;
    x = makeValue("int8", t.shape, Array.from(src, (v) => (fmt ? qFromReal(v, fmt) : quantizeValue(v, q.scale[0], q.zeroPoint[0]))));
  } else x = makeValue("float32", t.shape, src);
  const frames = framesOf(x, sg.inputAxis);
  const runner = new StepRunner(sg);
  const expected = frames.map((f) => {
    const r = runner.step(f);
    return r.outputs.map((o, i) => (r.fired[i] ? { ...o, data: o.data.slice() } : null));
  });
  return { stream: { frames, expected, atol: 1e-5, rtol: 1e-4 }, inputs: [], outputs: [], atol: 1e-5, rtol: 1e-4 };
}
