/**
 * Helpers for streaming tests: run a compiled streaming module's step() over frames the way
 * a host does (write the frame at input_ptr(0), call step(), read the outputs it reports as
 * written), and lay a full-window [1, C, T] value out column by column to compare.
 */
import { quantizeInput, type Compiled } from "../../compiler/pipeline.js";
import { tensor, type Graph, type Value } from "../../compiler/ir/graph.js";

/** A float value for graph input `name`, quantized with the input's parameters when the graph is int8. */
export function modelInput(g: Graph, v: Value, name = g.inputs[0]): Value {
  const q = tensor(g, name).quant;
  return q ? quantizeInput(v, q.scale[0], q.zeroPoint[0]) : v;
}

/** Runs the module's step() over the frames; returns each output's fired columns concatenated along time. */
export async function streamWasm(c: Compiled, frames: Value[]): Promise<{ outs: number[][]; firedSteps: number[][] }> {
  const { instance } = await WebAssembly.instantiate(c.wasm);
  const ex = instance.exports as Record<string, any>;
  const mem = () => ex.memory.buffer as ArrayBuffer;
  const outs = c.manifest.outputs.map(() => [] as number[]);
  const firedSteps = c.manifest.outputs.map(() => [] as number[]);
  ex.reset();
  frames.forEach((f, t) => {
    const bytes = f.dtype === "float32" ? new Uint8Array(new Float32Array(f.data).buffer) : new Uint8Array(new Int8Array(f.data).buffer);
    new Uint8Array(mem(), ex.input_ptr(0), bytes.length).set(bytes);
    const fired = ex.step();
    c.manifest.outputs.forEach((o, i) => {
      if (!(fired & (1 << i))) return;
      firedSteps[i].push(t);
      const n = o.shape.reduce((a: number, b: number) => a * b, 1);
      const arr = o.dtype === "float32" ? new Float32Array(mem(), ex.output_ptr(i), n) : new Int8Array(mem(), ex.output_ptr(i), n);
      outs[i].push(...Array.from(arr));
    });
  });
  return { outs, firedSteps };
}

/** Columns of a [1, C, T] value, in time order, flattened (to compare with per-step outputs). */
export function columns(v: Value): number[] {
  const [, C, T] = v.shape;
  const out: number[] = [];
  for (let t = 0; t < T; t++) for (let ch = 0; ch < C; ch++) out.push(v.data[ch * T + t]);
  return out;
}

