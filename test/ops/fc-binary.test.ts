// Binary layers (--binary, passes/binary.ts, ops/fc-binary.ts) and their XNOR-popcount
// kernel (runtime-as/kernels/fc-binary.ts): the float semantics on a layer worked by hand
// (α = mean|w| per row, β = the calibrated mean |input|); the int8 result within one output
// step of the float reference; the wasm bit-exact with the integer interpreter over shapes
// with K < 32, K % 32 != 0, K a multiple of 32, every N % 4, batches of rows, with and
// without bias, a fused Relu, inputs far outside the calibrated range; analytic costs equal
// the counted ones; instruction and multiply counts against the dense int8 kernel
// (printed); and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower } from "../../compiler/pipeline.js";
import { applyBinary } from "../../compiler/passes/binary.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { samplesFromNpy } from "../../compiler/io.js";
import { readNpy } from "../../compiler/util/npy.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";
import { bitExact, calib, fc } from "../helpers/fc.js";


describe("binary layers (XNOR-popcount)", () => {
  it("the float semantics on a layer worked by hand, and the int8 result within one output step of it", async () => {
    const file = writeModel({
      inputs: [{ name: "x", shape: [1, 4] }], outputs: ["y"],
      initializers: [{ name: "W", shape: [1, 4], data: Float32Array.of(0.5, -0.1, 0, -0.4) }, { name: "b", shape: [1], data: Float32Array.of(0.1) }],
      nodes: [{ op: "Gemm", inputs: ["x", "W", "b"], outputs: ["y"], attrs: { transB: 1 } }],
    });
    const x1 = makeValue("float32", [1, 4], [1, -2, 0.5, -0.5]), x2 = makeValue("float32", [1, 4], [0, 0, -1, 1]);
    const c = await compileModel(file, { quantize: "int8", calibrate: [{ x: x1 }, { x: x2 }], binary: ["all"] });
    const node = c.floatGraph.nodes[0];
    // alpha = (0.5 + 0.1 + 0 + 0.4) / 4 = 0.25; sgn(0) = +1; beta = (1 + 2 + 0.5 + 0.5 + 0 + 0 + 1 + 1) / 8 = 0.75
    expect(Array.from(tensor(c.floatGraph, node.inputs[1]).data!)).toEqual([0.25, -0.25, 0.25, -0.25]);
    expect(node.attrs.beta).toBe(0.75);
    // x1: signs + - + - against + - + -: 4 agreements, 0.75 * 0.25 * 4 + 0.1 = 0.85;
    // x2: signs + + - + (0 counts as +): 1 agreement, 3 disagreements, 0.75 * 0.25 * (1 - 3) + 0.1 = -0.275
    const ref = (x: Value) => interpret(c.floatGraph, { x }).y.data[0];
    expect(ref(x1)).toBeCloseTo(0.85, 6); // float32 output: 6 digits
    expect(ref(x2)).toBeCloseTo(-0.275, 6);
    expect(Array.from(tensor(c.graph, c.graph.nodes[0].inputs[1]).data!)).toEqual([1, -1, 1, -1]);
    // int8: for inputs whose quantized sign is the real sign (|x| >= s_a), the result is the
    // reference clamped to the output's range, up to the output's rounding (half a step
    // s_y), the bias's (half of beta alpha / 2^8) and the Q31 multiplier's (~1e-9 relative)
    const io = c.manifest.inputs[0], out = c.manifest.outputs[0];
    const [lo, hi] = [out.scale! * (-128 - out.zeroPoint!), out.scale! * (127 - out.zeroPoint!)];
    const r = rng(3);
    for (let t = 0; t < 20; t++) {
      const x = makeValue("float32", [1, 4], Array.from({ length: 4 }, () => (r() < 0.5 ? -1 : 1) * (0.05 + 2 * r())));
      const q: Value = { dtype: "int8", shape: [1, 4], data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
      const y = interpret(c.graph, { x: q }).y.data[0];
      const deq = out.scale! * (y - out.zeroPoint!);
      const want = Math.min(hi, Math.max(lo, ref(x)));
      expect(Math.abs(deq - want)).toBeLessThanOrEqual(out.scale! / 2 + (0.75 * 0.25) / 512 + 1e-6);
    }
  });

  let seed = 50;
  for (const [M, K, N] of [[1, 30, 32], [1, 7, 5], [3, 33, 6], [2, 64, 7], [1, 100, 3], [4, 17, 4], [1, 31, 1], [2, 32, 9]])
    for (const relu of [false, true])
      it(`bit-exact: ${M}x${K} -> ${N}${relu ? " + Relu" : ""}`, async () => {
        const s = ++seed;
        const c = await compileModel(writeModel(fc(M, K, N, s, { relu, bias: s % 3 !== 0 })), { quantize: "int8", calibrate: calib([M, K], s), binary: ["all"], selftest: true });
        const node = c.graph.nodes.find((n) => n.op === "Gemm")!;
        expect(node.q!.binary).toBe(true);
        expect(new Set(Array.from(tensor(c.graph, node.inputs[1]).data!))).toEqual(new Set([-1, 1]));
        expect(c.source).toContain("fc_binary_s8(");
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await bitExact(c, [M, K], s + 100);
        expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      });

  it("against the dense int8 kernel: 8x fewer weight bytes, no multiply per weight, instructions printed", async () => {
    const N = 64, K = 256;
    const spec = fc(1, K, N, 60);
    const cal = calib([1, K], 60);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const bin = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, binary: ["all"] });
    expect(dense.source).toContain("fc_s8(");
    expect(bin.source).toContain("fc_binary_s8(");
    await bitExact(bin, [1, K], 61);
    const [pd, pb] = [await profileModule(dense.wasm, dense.source, dense.manifest), await profileModule(bin.wasm, bin.source, bin.manifest)];
    const [id, ib] = [instructions(pd.layers[0]), instructions(pb.layers[0])];
    const [md, mb] = [pd.layers[0].mul32 + pd.layers[0].mul64, pb.layers[0].mul32 + pb.layers[0].mul64];
    console.log(`binary 1x${K} -> ${N}: dense fc_s8 ${id} instructions, ${md} multiplies; fc_binary_s8 ${ib} (${(id / ib).toFixed(1)}x fewer), ${mb} multiplies; weight bytes ${N * K} vs ${N * K / 8}`);
    expect(mb).toBe(N); // the requantization only
    expect(ib).toBeLessThan(id / 4); // 32 weights per popcount
    // constants: the int8 weights (N K bytes) become N K / 8 bytes of sign bits; bias, multipliers and shifts as dense
    expect(dense.manifest.memory.constantBytes - bin.manifest.memory.constantBytes).toBe(N * K - (N * K) / 8);
    expect(mismatches(await analyticVsDynamic(bin))).toEqual([]);
  });

  it("examples/cancer-mlp with --pow2 and --binary on different layers: bit-exact on the test set, exact costs", async () => {
    const E = "examples/cancer-mlp";
    const c = await compileModel(`${E}/model.onnx`, { quantize: "int8", calibrate: `${E}/calib.npy`, pow2: ["/net/net.0/Gemm", "/net/net.6/Gemm"], binary: ["/net/net.3/Gemm"], selftest: true });
    expect(c.manifest.layers.map((l) => l.kernels[0].kernel)).toEqual(["fc_pow2_s8", "fc_binary_s8", "fc_pow2_s8"]);
    const m = await instantiate(c.wasm, c.manifest);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    const io = c.manifest.inputs[0];
    const xs = samplesFromNpy(c.floatGraph, readNpy(`${E}/x_test.npy`), "x_test.npy", "input");
    for (const x of xs.slice(0, 40)) {
      const v = x[io.name];
      const q: Value = { dtype: "int8", shape: v.shape, data: Int8Array.from(v.data, (t) => quantizeValue(t, io.scale!, io.zeroPoint!)) };
      expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { [io.name]: q })[c.graph.outputs[0]].data));
    }
    expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
  });

  it("refusals name the problem", async () => {
    const file = writeModel(fc(1, 8, 4, 3));
    const cal = calib([1, 8], 3);
    await expect(compileModel(file, { binary: ["all"] })).rejects.toThrow(/--binary needs --quantize int8 and --calibrate/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, binary: ["nope"] })).rejects.toThrow(/--binary nope: no layer 'nope' in .*fully connected layers: 'Gemm_0'/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, binary: ["all"], pow2: ["all"] })).rejects.toThrow(/already has pow2 weights; choose one weight format per layer/);
    const w = uniform(rng(4), 4 * 8, -0.5, 0.5);
    w.fill(0, 8, 16);
    await expect(compileModel(writeModel(fc(1, 8, 4, 4, { weights: w })), { quantize: "int8", calibrate: cal, binary: ["all"] })).rejects.toThrow(/row 1 of the weights is all 0/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", binary: ["/features/features.0/Conv"] })).rejects.toThrow(/is not a fully connected Gemm/);
    // K >= 2^22: the int32 accumulator holds the dot product times 2^8 (the shape is changed in
    // the graph only: the check comes before the weights are read)
    const g = importAndLower(file);
    tensor(g, g.nodes[0].inputs[1]).shape = [4, 2 ** 22];
    expect(() => applyBinary(g, ["all"], cal)).toThrow(/has K = 4194304 inputs; binary layers take fewer than 2\^22/);
  });
});
