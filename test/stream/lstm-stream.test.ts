// Streaming a recurrent model end to end: the sunspots forecaster (Transpose -> LSTM ->
// Squeeze -> Transpose -> Gather(-1) -> Gemm, as PyTorch exports it) compiled with --stream
// consumes one year per step; after the 24 steps of the exported window from a reset its
// output must equal the full-window model's output: bit for bit in int8 (against the integer
// interpreter of the full model compiled for that window length), within the float
// tolerance of op-check in float (f32 kernels vs the f64 reference, FLOAT_TOL).
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runStream, runStreamRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { readNpy } from "../../compiler/util/npy.js";
import { worstRatio } from "../helpers/run.js";
import { FLOAT_TOL } from "../helpers/op-check.js";

const DIR = "examples/sunspots-lstm";
const T = 24;

describe("streaming LSTM (sunspots-lstm)", () => {
  const series = readNpy(`${DIR}/series.npy`).data as Float32Array;
  const seq = series.slice(100, 100 + T);
  const frames = Array.from(seq, (v) => Float32Array.of(v));

  it("float: one output per step; after the window's 24 steps it equals the full model's", async () => {
    const st = await compileModel(`${DIR}/model.onnx`, { stream: true, selftest: true });
    const m = await instantiate(st.wasm, st.manifest);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    const r = runStream(m, frames);
    expect(r.steps[0]).toEqual(frames.map((_, t) => t));
    const full = await compileModel(`${DIR}/model.onnx`);
    const want = interpret(full.graph, { input: makeValue("float32", [1, T, 1], seq) })[full.graph.outputs[0]];
    expect(worstRatio(r.outputs[0][T - 1], want.data as Float32Array, FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);
  });

  it("int8: bit-exact with the full-window integer interpreter at the window's end", async () => {
    const calib = `${DIR}/calib.npy`;
    const full = await compileModel(`${DIR}/model.onnx`, { quantize: "int8", calibrate: calib });
    const st = await compileModel(`${DIR}/model.onnx`, { quantize: "int8", calibrate: calib, stream: true, selftest: true });
    const m = await instantiate(st.wasm, st.manifest);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    const q = tensor(full.graph, "input").quant!;
    const qseq = Array.from(seq, (v) => quantizeValue(v, q.scale[0], q.zeroPoint[0]));
    const r = runStreamRaw(m, qseq.map((v) => makeValue("int8", [1, 1, 1], [v])));
    const want = interpret(full.graph, { input: makeValue("int8", [1, T, 1], qseq) })[full.graph.outputs[0]];
    expect(Array.from(r.outputs[0][T - 1].data)).toEqual(Array.from(want.data));
  });
});
