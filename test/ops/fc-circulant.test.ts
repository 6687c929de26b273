// Block-circulant fully connected layers (--circulant, passes/circulant.ts, ops/fc-circulant.ts,
// runtime-as/kernels/fc-circulant.ts): the projection on a block worked by hand (the mean of
// each wrapped diagonal) and its optimality (a circulant block is left as it is, and the
// residual is orthogonal to every circulant); the int8 kernel bit-exact with the integer
// interpreter and the float kernel within f32 rounding of the float reference, over block
// sizes, batches and a fused Relu; the module stores N K / k weights; exact costs; refusals.
// The FFT form of the float layers (kernels/fc-circulant-fft.ts): a spectrum worked by hand,
// the kernel within f32 rounding of the reference, exact costs, the choice by estimate
// checked against measured instructions, and its refusals.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { parseCirculant, parseCirculantKernel, projectCirculant } from "../../compiler/passes/circulant.js";
import { circulantSpectra, fftTables } from "../../compiler/ops/fc-circulant.js";
import { circulantInstructions } from "../../compiler/cost/fc-circulant.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";
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
      const f = await compileModel(writeModel(fc(M, K, N, s, relu)), { circulant: { "*": k }, circulantKernel: "direct", selftest: true });
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

describe("the FFT form of float block-circulant layers", () => {
  it("a spectrum and the tables worked by hand", () => {
    // DFT of [1, 2, 3, 4]: X0 = 10, X1 = 1 - 2i - 3 + 4i = -2 + 2i, X2 = 1 - 2 + 3 - 4 = -2; stored / 4
    expect(Array.from(circulantSpectra([1, 2, 3, 4], 4)).map((v) => +v.toFixed(6))).toEqual([2.5, -0.5, -0.5, 0.5]);
    // a delta vector (an identity block) has a flat spectrum
    expect(Array.from(circulantSpectra([1, 0, 0, 0, 0, 0, 0, 0], 8)).map((v) => +v.toFixed(6))).toEqual([0.125, 0.125, 0.125, 0, 0.125, 0, 0.125, 0]);
    const { tw, rev } = fftTables(8);
    expect(rev).toEqual([0, 4, 2, 6, 1, 5, 3, 7]);
    expect(tw.map((v) => +v.toFixed(6) + 0)).toEqual([1, 0, 0.707107, -0.707107, 0, -1, -0.707107, -0.707107]);
  });

  let seed = 90;
  for (const [M, K, N, k, relu] of [[1, 16, 8, 2, false], [2, 64, 32, 8, true], [1, 128, 64, 16, false], [3, 32, 32, 32, true]] as Array<[number, number, number, number, boolean]>)
    it(`within f32 rounding of the reference and of the direct kernel, exact costs: ${M}x${K} -> ${N}, k = ${k}${relu ? ", Relu" : ""}`, async () => {
      const s = ++seed, r = rng(s);
      const file = writeModel(fc(M, K, N, s, relu));
      const f = await compileModel(file, { circulant: { "*": k }, selftest: true });
      expect(f.source).toContain("fc_circulant_fft_f32(");
      // one packed spectrum of k floats per block, and the low scratch for K / k + 1 complex blocks
      const spec = f.source.match(/C_circulant_spectra: usize = memory.data<f32>\(\[([^\]]*)\]\)/)![1].split(",").length;
      expect(spec).toBe((N * K) / k);
      expect(f.manifest.memory.scratchBytes).toBe(8 * (K + k));
      const fm = await instantiate(f.wasm, f.manifest);
      expect((fm.instance.exports.selftest as () => number)()).toBe(0); // FLOAT_SELFTEST_TOL
      const d = await compileModel(file, { circulant: { "*": k }, circulantKernel: "direct" });
      const dm = await instantiate(d.wasm, d.manifest);
      for (const range of [1, 4]) {
        const x = randValue(r, [M, K], -range, range);
        const got = runRaw(fm, [x])[0].data, want = interpret(f.graph, { x }).y.data, direct = runRaw(dm, [x])[0].data;
        // |x| <= range and |w| < 0.5: each output is a sum of K terms below range / 2; both kernels
        // round in f32, the FFT about log2 k + log2 (K / k) times per term, the direct K times
        for (let i = 0; i < want.length; i++) {
          expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * range * (1 + K));
          expect(Math.abs(got[i] - direct[i])).toBeLessThan(2e-5 * range * (1 + K));
        }
      }
      expect(mismatches(await analyticVsDynamic(f))).toEqual([]);
    });

  it("the kernel chosen by estimate is the one that measures fewer instructions; the estimate is within 5%", async () => {
    for (const [K, N, k] of [[16, 8, 2], [96, 48, 2], [128, 64, 16], [64, 64, 64]]) {
      const file = writeModel(fc(1, K, N, K + k));
      const counts: Record<string, number> = {};
      for (const kern of ["direct", "fft"] as const) {
        const c = await compileModel(file, { circulant: { "*": k }, circulantKernel: kern });
        counts[kern] = instructions((await profileModule(c.wasm, c.source, c.manifest)).layers[0]);
      }
      const est = circulantInstructions(N, K, k);
      const auto = await compileModel(file, { circulant: { "*": k } });
      const chosen = auto.source.includes("fc_circulant_fft_f32(") ? "fft" : "direct";
      console.log(`${K} -> ${N}, k = ${k}: direct ${counts.direct}, fft ${counts.fft} instructions (${(counts.direct / counts.fft).toFixed(2)}x); estimates ${est.direct}, ${est.fft}; chosen ${chosen}`);
      expect(counts[chosen]).toBe(Math.min(counts.direct, counts.fft));
      for (const kern of ["direct", "fft"] as const) expect(Math.abs(est[kern] / counts[kern] - 1)).toBeLessThan(0.05);
    }
  });

  it("a block size that is no power of two runs the direct kernel; refusals", async () => {
    const auto = await compileModel(writeModel(fc(1, 24, 12, 7)), { circulant: { "*": 6 } });
    expect(auto.source).toContain("fc_circulant_f32(");
    await expect(compileModel(writeModel(fc(1, 24, 12, 7)), { circulant: { "*": 6 }, circulantKernel: "fft" })).rejects.toThrow(/--circulant-kernel fft: .*Gemm.* has block size 6; the FFT kernel needs a power of two from 2 to 256/);
    const r = rng(8);
    const calibrate = Array.from({ length: 8 }, () => ({ x: randValue(r, [1, 16]) }));
    await expect(compileModel(writeModel(fc(1, 16, 8, 5)), { quantize: "int8", calibrate, circulant: { "*": 4 }, circulantKernel: "fft" })).rejects.toThrow(/--circulant-kernel fft: the FFT kernel is float only .* compile without --quantize int8/);
    await expect(compileModel(writeModel(fc(1, 16, 8, 5)), { fixed: "Q8.8", circulant: { "*": 4 }, circulantKernel: "fft" })).rejects.toThrow(/compile without --fixed Q8.8/);
    expect(() => parseCirculantKernel("fast")).toThrow(/--circulant-kernel fast: choose auto, direct or fft/);
    // int8 keeps its direct kernel by default (no exact FFT form)
    const q = await compileModel(writeModel(fc(1, 16, 8, 5)), { quantize: "int8", calibrate, circulant: { "*": 4 } });
    expect(q.source).toContain("fc_circulant_s8(");
  });
});
