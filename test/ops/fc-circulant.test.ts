// Block-circulant fully connected layers (--circulant, passes/circulant.ts, ops/fc-circulant.ts,
// runtime-as/kernels/fc-circulant.ts): the projection on a block worked by hand (the mean of
// each wrapped diagonal) and its optimality (a circulant block is left as it is, and the
// residual is orthogonal to every circulant); the int8 kernel bit-exact with the integer
// interpreter and the float kernel within f32 rounding of the float reference, over block
// sizes, batches and a fused Relu; the module stores N K / k weights; exact costs; refusals.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { parseCirculant, projectCirculant } from "../../compiler/passes/circulant.js";
import { type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";

function fc(M: number, K: number, N: number, seed: number, relu = false): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [M, K] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [N, K], data: uniform(r, N * K, -0.5, 0.5) }, { name: "b", shape: [N], data: uniform(r, N, -0.3, 0.3) }],
    nodes: [
      { op: "Gemm", inputs: ["x", "W", "b"], outputs: [relu ? "h" : "y"], attrs: { transB: 1 } },
      ...(relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

describe("block-circulant fully connected layers", () => {
  it("the projection of a 3x3 block worked by hand: each wrapped diagonal becomes its mean", () => {
    // diagonals d = (r - c) mod 3: d0 = {w00, w11, w22}, d1 = {w10, w21, w02}, d2 = {w20, w01, w12}
    const w = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const p = Array.from(projectCirculant(w, 3, 3, 3)).map((v) => +v.toFixed(5));
    const d0 = (1 + 5 + 9) / 3, d1 = (4 + 8 + 3) / 3, d2 = (7 + 2 + 6) / 3;
    expect(p).toEqual([d0, d2, d1, d1, d0, d2, d2, d1, d0].map((v) => +v.toFixed(5)));
  });

  it("a circulant matrix is its own projection, and the residual is orthogonal to circulants", () => {
    const k = 4, r = rng(3);
    const v = uniform(r, k, -1, 1);
    const c = Array.from({ length: k * k }, (_, i) => v[(Math.floor(i / k) - (i % k) + k) % k]);
    expect(Array.from(projectCirculant(c, k, k, k))).toEqual(c.map((x) => Math.fround(x)));
    const w = uniform(r, 8 * 12, -1, 1);
    const p = projectCirculant(w, 8, 12, k);
    const other = projectCirculant(uniform(r, 8 * 12, -1, 1), 8, 12, k);
    let dot = 0;
    for (let i = 0; i < w.length; i++) dot += (w[i] - p[i]) * other[i];
    expect(Math.abs(dot)).toBeLessThan(1e-5); // f32 storage of p: rounding only
  });

  let seed = 60;
  for (const [M, K, N, k, relu] of [[1, 32, 16, 4, false], [3, 24, 12, 6, true], [1, 64, 32, 8, true], [2, 10, 4, 2, false]] as Array<[number, number, number, number, boolean]>)
    it(`int8 bit-exact and float within rounding: ${M}x${K} -> ${N}, k = ${k}${relu ? ", Relu" : ""}`, async () => {
      const s = ++seed, r = rng(s);
      const calibrate = Array.from({ length: 16 }, () => ({ x: randValue(r, [M, K]) }));
      const c = await compileModel(writeModel(fc(M, K, N, s, relu)), { quantize: "int8", calibrate, circulant: { "*": k }, selftest: true });
      expect(c.source).toContain("fc_circulant_s8(");
      // the module stores one k-vector per block
      expect(c.source).toMatch(new RegExp(`C_circulant_vectors: usize = memory.data<i8>\\(\\[[^\\]]*\\]\\)`));
      const vec = c.source.match(/C_circulant_vectors: usize = memory.data<i8>\(\[([^\]]*)\]\)/)![1].split(",").length;
      expect(vec).toBe((N * K) / k);
      const m = await instantiate(c.wasm, c.manifest);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      const io = c.manifest.inputs[0];
      for (const range of [1, 3]) {
        const x = randValue(r, [M, K], -range, range);
        const q: Value = { dtype: "int8", shape: [M, K], data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
        expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
      }
      expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      const f = await compileModel(writeModel(fc(M, K, N, s, relu)), { circulant: { "*": k }, selftest: true });
      expect(f.source).toContain("fc_circulant_f32(");
      const fm = await instantiate(f.wasm, f.manifest);
      // the selftest's float tolerance (FLOAT_SELFTEST_TOL: f32 sums in the kernel, f64 in the reference)
      expect((fm.instance.exports.selftest as () => number)()).toBe(0);
      const x = randValue(r, [M, K]);
      const got = runRaw(fm, [x])[0].data, want = interpret(f.graph, { x }).y.data;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * (1 + K)); // K f32 roundings of terms below 1
      expect(mismatches(await analyticVsDynamic(f))).toEqual([]);
    });

  it("refusals", async () => {
    expect(() => parseCirculant(["1"])).toThrow(/--circulant 1: the block size must be a whole number >= 2/);
    expect(parseCirculant(["4", "fc=8"])).toEqual({ "*": 4, fc: 8 });
    await expect(compileModel(writeModel(fc(1, 10, 4, 3)), { circulant: { Gemm_0: 4 } })).rejects.toThrow(/--circulant Gemm_0=4: .*W is 4x10; the block size 4 must divide both/);
    await expect(compileModel(writeModel(fc(1, 8, 4, 3)), { circulant: { nope: 4 } })).rejects.toThrow(/no layer 'nope'/);
    const r = rng(5);
    const calibrate = Array.from({ length: 8 }, () => ({ x: randValue(r, [1, 16]) }));
    await expect(compileModel(writeModel(fc(1, 16, 8, 5)), { quantize: "int8", calibrate, circulant: { "*": 4 }, share: { "*": 4 } })).rejects.toThrow(/--circulant 4 and share weights on one layer; choose one weight format per layer/);
    // 8 x 16 with k = 4: every value appears 4 times; 30% is 38 of 128 weights, which splits a group of ties
    await expect(compileModel(writeModel(fc(1, 16, 8, 5)), { quantize: "int8", calibrate, circulant: { "*": 4 }, prune: { "*": 0.3 } })).rejects.toThrow(/no longer block-circulant/);
  });
});
