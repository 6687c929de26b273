// TimeUpsample (SOI's way back to every step, compiler/ops/time-upsample.ts), alone: a
// one-layer model whose whole output is the deep path (--soi-split on its only Conv), so
// the graph is Slice(every k-th) -> Conv -> [Transpose] -> TimeUpsample. The expected
// values are built here from the op's definition and the ORIGINAL model's columns (the
// deep Conv on the decimated input computes exactly the original's columns 0, k, 2k, ...):
// hold y[t] = d[k*floor(t/k)], predict y[t] = d[k*floor((t-1)/k)] (0 at t = 0),
// extrapolate y[t] = d_j + f32(ph/k) * (d_j - d_{j-1}) in float32 (no slope for j = 0).
// The whole-window kernel and the streaming kernel are checked against the interpreter:
// bit for bit in int8, within FLOAT_TOL in float. T is not a multiple of k, and one case
// puts time on axis 1 ([1, T, C] after a Transpose).
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, numel, tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { framesOf } from "../../compiler/stream/selftest.js";
import type { UpsampleMode } from "../../compiler/ops/time-upsample.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng } from "../helpers/random.js";
import { worstRatio } from "../helpers/run.js";
import { FLOAT_TOL } from "../helpers/op-check.js";
import { streamWasm } from "../helpers/stream.js";

const C = 3, T = 11;

function model(seed: number, transpose: boolean): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [1, 2, T] }], outputs: ["y"], opset: 13,
    initializers: [{ name: "W", shape: [C, 2, 1], data: randValue(r, [C, 2, 1]).data }, { name: "B", shape: [C], data: randValue(r, [C], -0.3, 0.3).data }],
    nodes: [
      { name: "conv", op: "Conv", inputs: ["x", "W", "B"], outputs: [transpose ? "d" : "y"], attrs: { kernel_shape: [1] } },
      ...(transpose ? [{ name: "tr", op: "Transpose", inputs: ["d"], outputs: ["y"], attrs: { perm: [0, 2, 1] } }] : []),
    ],
  };
}

/** Element (t, c) of a value laid out [1, C, T] or [1, T, C]. */
const at = (v: ArrayLike<number>, t: number, c: number, tLast: boolean) => v[tLast ? c * T + t : t * C + c];

function expected(orig: ArrayLike<number>, mode: UpsampleMode, k: number, tLast: boolean): Float32Array {
  const y = new Float32Array(C * T);
  for (let t = 0; t < T; t++)
    for (let c = 0; c < C; c++) {
      const j = Math.floor(t / k), ph = t - j * k, d = (s: number) => at(orig, s, c, tLast);
      let v: number;
      if (mode === "hold") v = d(j * k);
      else if (mode === "predict") v = t === 0 ? 0 : d(k * Math.floor((t - 1) / k));
      else v = ph === 0 || j === 0 ? d(j * k) : Math.fround(d(j * k) + Math.fround(Math.fround(ph / k) * Math.fround(d(j * k) - d((j - 1) * k))));
      y[tLast ? c * T + t : t * C + c] = v;
    }
  return y;
}

async function runFull(wasm: Uint8Array, x: Value, n: number): Promise<number[]> {
  const ex = (await WebAssembly.instantiate(wasm)).instance.exports as Record<string, any>;
  const bytes = x.dtype === "int8" ? new Uint8Array(new Int8Array(x.data).buffer) : new Uint8Array(new Float32Array(x.data).buffer);
  new Uint8Array(ex.memory.buffer, ex.input_ptr(0), bytes.length).set(bytes);
  ex.run();
  return Array.from(x.dtype === "int8" ? new Int8Array(ex.memory.buffer, ex.output_ptr(0), n) : new Float32Array(ex.memory.buffer, ex.output_ptr(0), n));
}

describe("TimeUpsample", () => {
  let seed = 70;
  for (const transpose of [false, true])
    for (const mode of ["hold", "extrapolate", "predict"] as const)
      for (const k of [2, 3]) {
        it(`${mode}, k = ${k}, time on axis ${transpose ? 1 : 2}: the definition in float; kernels match the interpreter (float, int8)`, async () => {
          const s = ++seed;
          const file = writeModel(model(s, transpose));
          const r = rng(s);
          const x = randValue(r, [1, 2, T], -1, 1);
          const soi = { k, mode, split: "conv" };
          const orig = await compileModel(file);
          const full = await compileModel(file, { soi });
          expect(full.graph.nodes.map((n) => n.op)).toEqual(["Slice", "Conv", ...(transpose ? ["Transpose"] : []), "TimeUpsample"]);
          const want = interpret(full.graph, { x })[full.graph.outputs[0]];
          expect(Array.from(want.data)).toEqual(Array.from(expected(interpret(orig.graph, { x })[orig.graph.outputs[0]].data, mode, k, !transpose)));
          expect(worstRatio(Float32Array.from(await runFull(full.wasm, x, C * T)), want.data, FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);

          const calib = [0, 1].map(() => ({ x: randValue(r, [1, 2, T], -1, 1) }));
          const q8 = await compileModel(file, { soi, quantize: "int8", calibrate: calib });
          const qin = tensor(q8.graph, "x").quant!;
          const xq = makeValue("int8", x.shape, Array.from(x.data, (v) => quantizeValue(v, qin.scale[0], qin.zeroPoint[0])));
          const wq = interpret(q8.graph, { x: xq })[q8.graph.outputs[0]];
          expect(await runFull(q8.wasm, xq, C * T)).toEqual(Array.from(wq.data));

          // streaming: one column per step, equal to the full window's columns
          for (const [c, xin, ref] of [[await compileModel(file, { soi, stream: true }), x, want], [await compileModel(file, { soi, stream: true, quantize: "int8", calibrate: calib }), xq, wq]] as const) {
            const got = await streamWasm(c, framesOf(xin, 2));
            const cols: number[] = [];
            for (let t = 0; t < T; t++) for (let ch = 0; ch < C; ch++) cols.push(at(ref.data, t, ch, !transpose));
            if (xin.dtype === "int8") expect(got.outs[0]).toEqual(cols);
            else expect(worstRatio(Float32Array.from(got.outs[0]), Float32Array.from(cols), FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);
            expect(got.outs[0].length).toBe(numel(ref.shape));
          }
        });
      }
});
