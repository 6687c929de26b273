// Sub-byte weights (--weights int4|int2, passes/subbyte.ts) and their packed int8 kernels
// (runtime-as/kernels/fc-subbyte.ts): the int4 and int2 rules on rows worked by hand; the
// int8 weights of each layer on the format's grid with per-row scales; the wasm bit-exact
// with the integer interpreter over shapes with odd K, K not a multiple of the packing,
// M > 1, every N % 4 and a fused Relu; the packed bytes against N ceil(K / 2) and
// N ceil(K / 4); analytic costs equal the counted ones; instructions and bytes against the
// dense kernel (printed); the one-scale int4-tensor / int2-tensor forms; and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { applySubbyte, int2Row, int4Row, parseWeights } from "../../compiler/passes/subbyte.js";
import { tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";
import { interpSelftest, wasmValidate } from "../helpers/wabt.js";

function fc(M: number, K: number, N: number, seed: number, opts: { relu?: boolean; weights?: Float32Array; bias?: boolean } = {}): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [M, K] }], outputs: ["y"],
    initializers: [
      { name: "W", shape: [N, K], data: opts.weights ?? uniform(r, N * K, -0.5, 0.5) },
      ...(opts.bias !== false ? [{ name: "b", shape: [N], data: uniform(r, N, -0.3, 0.3) }] : []),
    ],
    nodes: [
      { op: "Gemm", inputs: ["x", "W", ...(opts.bias !== false ? ["b"] : [])], outputs: [opts.relu ? "h" : "y"], attrs: { transB: 1 } },
      ...(opts.relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

const calib = (shape: number[], seed: number) => {
  const r = rng(seed);
  return Array.from({ length: 16 }, () => ({ x: randValue(r, shape) }));
};

async function bitExact(c: Compiled, shape: number[], seed: number): Promise<void> {
  const m = await instantiate(c.wasm, c.manifest);
  const r = rng(seed);
  const io = c.manifest.inputs[0];
  for (const range of [1, 1, 4]) {
    const x = randValue(r, shape, -range, range);
    const q: Value = { dtype: "int8", shape, data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
  }
}

function constLength(c: Compiled, hint: string): number {
  const m = new RegExp(`// ${hint}: \\w+ x(\\d+)`).exec(c.source);
  expect(m, `no constant '${hint}' in model.ts`).not.toBeNull();
  return Number(m![1]);
}

describe("sub-byte weights (int4, int2)", () => {
  it("int4 on a row worked by hand: s = max|w| / 7, round half away", () => {
    // s = 0.7 / 7 = 0.1: 0.7 -> 7, -0.35 -> -3.5 -> -4, 0.04 -> 0, 0.25 -> 2.5 -> 3
    const { s, q } = int4Row([0.7, -0.35, 0.04, 0.25]);
    expect(s).toBeCloseTo(0.1, 12); // float64 division: within rounding
    expect(q).toEqual([7, -4, 0, 3]);
  });

  it("int2 on a row worked by hand: levels -3, -1, 1, 3 with the least-squares scale", () => {
    // start s = 0.9 / 3 = 0.3: |w| >= 0.6 -> 3, else 1: q = 3, -1, 1, -3;
    // s = (3 * 0.9 + 0.1 + 0.2 + 3 * 0.6) / (9 + 1 + 1 + 9) = 4.8 / 20 = 0.24: threshold 2s = 0.48, same q, fixed point
    const { s, q } = int2Row([0.9, -0.1, 0.2, -0.6]);
    expect(q).toEqual([3, -1, 1, -3]);
    expect(s).toBeCloseTo(0.24, 12); // float64 sums: within rounding
    const g = importAndLower(writeModel(fc(1, 4, 1, 1, { weights: Float32Array.of(0.9, -0.1, 0.2, -0.6), bias: false })));
    applySubbyte(g, { "*": "int2" });
    expect(Array.from(tensor(g, g.nodes[0].inputs[1]).data!).map((v) => +v.toFixed(6))).toEqual([0.72, -0.24, 0.24, -0.72]);
  });

  let seed = 40;
  for (const fmt of ["int4", "int2"] as const)
    for (const [M, K, N, relu] of [[1, 30, 32, 1], [1, 17, 5, 0], [3, 13, 6, 1], [2, 64, 7, 0], [1, 9, 4, 1], [2, 42, 3, 0]] as const)
      it(`${fmt} bit-exact: ${M}x${K} -> ${N}${relu ? " + Relu" : ""}`, async () => {
        const s = ++seed;
        const c = await compileModel(writeModel(fc(M, K, N, s, { relu: !!relu, bias: s % 3 !== 0 })), { quantize: "int8", calibrate: calib([M, K], s), weights: { "*": fmt }, selftest: true });
        const node = c.graph.nodes.find((n) => n.op === "Gemm")!;
        const wt = tensor(c.graph, node.inputs[1]);
        expect(wt.quant!.scale.length).toBe(N); // per row
        const grid = fmt === "int4" ? Array.from({ length: 15 }, (_, i) => i - 7) : [-3, -1, 1, 3];
        expect(Array.from(wt.data!).every((v) => grid.includes(v))).toBe(true);
        expect(c.source).toContain(`fc_${fmt}_s8(`);
        expect(constLength(c, `${fmt}_weights`)).toBe(N * Math.ceil(K / (fmt === "int4" ? 2 : 4)));
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await bitExact(c, [M, K], s + 100);
        expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      });

  for (const [fmt, bits, levels] of [["int4-tensor", 4, 15], ["int2-tensor", 2, 4]] as const)
    it(`${fmt}: one scale for the layer, run as a shared layer (one requantization), bit-exact`, async () => {
      const [M, K, N] = [2, 23, 6];
      const c = await compileModel(writeModel(fc(M, K, N, bits, { relu: true })), { quantize: "int8", calibrate: calib([M, K], bits), weights: { "*": fmt } });
      const wt = tensor(c.graph, c.graph.nodes[0].inputs[1]);
      expect(wt.quant!.scale.length).toBe(1);
      expect(new Set(Array.from(wt.data!)).size).toBeLessThanOrEqual(levels);
      expect(c.source).toContain(`fc_shared${bits}_s8(`);
      expect(constLength(c, "shared_index")).toBe(N * Math.ceil(K / (bits === 4 ? 2 : 4)));
      expect(c.source).not.toMatch(/\/\/ mult: /);
      await bitExact(c, [M, K], 7);
      expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
    });

  it("int4 keeps pruned zeros; a layer at +-7 everywhere (extreme codes) is exact", async () => {
    const c = await compileModel(writeModel(fc(2, 37, 9, 3)), { quantize: "int8", calibrate: calib([2, 37], 3), prune: { "*": 0.5 }, weights: { "*": "int4" } });
    const w = tensor(c.graph, c.graph.nodes[0].inputs[1]).data!;
    expect(Array.from(w).filter((v) => v === 0).length).toBeGreaterThanOrEqual(Math.round(0.5 * 37 * 9));
    await bitExact(c, [2, 37], 4);
    const ext = Float32Array.from({ length: 5 * 11 }, (_, i) => (i % 3 ? 0.4 : -0.4));
    const e = await compileModel(writeModel(fc(1, 11, 5, 5, { weights: ext })), { quantize: "int8", calibrate: calib([1, 11], 5), weights: { "*": "int4" } });
    expect(new Set(Array.from(tensor(e.graph, e.graph.nodes[0].inputs[1]).data!))).toEqual(new Set([-7, 7]));
    await bitExact(e, [1, 11], 6);
  });

  it("one layer by name, the other left int8 (cancer-mlp)", async () => {
    const c = await compileModel("examples/cancer-mlp/model.onnx", { quantize: "int8", calibrate: "examples/cancer-mlp/calib.npy", weights: { "/net/net.0/Gemm": "int2" } });
    expect((c.source.match(/fc_int2_s8\(/g) ?? []).length).toBe(1);
    expect(c.source).toContain("fc_s8(");
    const st = await compileModel("examples/cancer-mlp/model.onnx", { quantize: "int8", calibrate: "examples/cancer-mlp/calib.npy", weights: { "/net/net.0/Gemm": "int2", "*": "int4" }, selftest: true });
    expect(st.source).toContain("fc_int4_s8(");
    // a layer named for --share, the rest by "--weights int4"
    const mix = await compileModel("examples/cancer-mlp/model.onnx", { quantize: "int8", calibrate: "examples/cancer-mlp/calib.npy", share: { "/net/net.0/Gemm": 2 }, weights: { "*": "int4" } });
    expect((mix.source.match(/fc_shared2_s8\(/g) ?? []).length).toBe(1);
    expect((mix.source.match(/fc_int4_s8\(/g) ?? []).length).toBe(2);
    expect(interpSelftest(st.wasm)).toBe(0); // wasm-interp (wabt) as well as V8
    expect(wasmValidate(st.wasm).ok).toBe(true);
  });

  it("instructions and weight bytes against the dense kernel (printed), 1x256 -> 64", async () => {
    const spec = fc(1, 256, 64, 9), cal = calib([1, 256], 9);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const pd = await profileModule(dense.wasm, dense.source, dense.manifest);
    for (const fmt of ["int4", "int2"] as const) {
      const sb = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, weights: { "*": fmt } });
      await bitExact(sb, [1, 256], 10);
      const ps = await profileModule(sb.wasm, sb.source, sb.manifest);
      const [id, is] = [instructions(pd.layers[0]), instructions(ps.layers[0])];
      console.log(`${fmt} 1x256 -> 64: ${is} instructions (${(is / (256 * 64)).toFixed(2)} per weight) vs dense ${id} (${(id / (256 * 64)).toFixed(2)}); weights ${constLength(sb, `${fmt}_weights`)} B vs ${256 * 64} B; constants ${sb.manifest.memory.constantBytes} B vs ${dense.manifest.memory.constantBytes} B`);
      expect(constLength(sb, `${fmt}_weights`)).toBe(fmt === "int4" ? 8192 : 4096);
    }
  });

  it("refusals name the problem", async () => {
    expect(() => parseWeights(["int3"])).toThrow(/--weights int3: expected int4 or int2 .*or int4-tensor/);
    expect(() => parseWeights(["fc=int8"])).toThrow(/--weights fc=int8: expected int4 or int2/);
    const file = writeModel(fc(1, 8, 4, 3));
    const cal = calib([1, 8], 3);
    await expect(compileModel(file, { weights: { "*": "int4" } })).rejects.toThrow(/--share and --weights need --quantize int8/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, weights: { nope: "int4" } })).rejects.toThrow(/--weights nope=int4: no layer 'nope' in .*fully connected layers: 'Gemm_0'/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, share: { Gemm_0: 2 }, weights: { Gemm_0: "int4" } })).rejects.toThrow(/is also --share/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, share: { Gemm_0: 2 }, weights: { "*": "int4" } })).rejects.toThrow(/--weights int4: every fully connected layer .* is already compressed/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, prune: { "*": 0.5 }, weights: { "*": "int2" } })).rejects.toThrow(/int2's levels \{-3, -1, 1, 3\} have no zero/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", weights: { "/features/features.9/MaxPool": "int4" } })).rejects.toThrow(/is not a fully connected Gemm/);
  });
});
