// Power-of-two weights (--pow2, passes/pow2.ts) and their shift kernel
// (runtime-as/kernels/fc-pow2.ts, always used for a marked layer): the log-domain rounding
// on a row worked by hand; the int8 weights of each layer 0 or ±2^j (j in 0..6); the wasm
// bit-exact with the integer interpreter over shapes with every N % 4, odd and even K,
// K = 1, batches of rows, with and without bias, a fused Relu, inputs far outside the
// calibrated range; analytic costs equal the counted ones; weight bytes halve; instruction
// and multiply counts against the dense int8 kernel (printed); and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower } from "../../compiler/pipeline.js";
import { instantiate } from "../../compiler/runner.js";
import { applyPow2 } from "../../compiler/passes/pow2.js";
import { tensor } from "../../compiler/ir/graph.js";
import { writeModel } from "../helpers/build-onnx.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";
import { bitExact, calib, fc } from "../helpers/fc.js";


const isPow2Int8 = (v: number) => v === 0 || [1, 2, 4, 8, 16, 32, 64].includes(Math.abs(v));

describe("power-of-two weights", () => {
  it("the rule on a row worked by hand: nearest power of two of the row's largest in the log domain", async () => {
    const row = Float32Array.of(0.8, -0.41, 0.2, 0.0123, -0.1, 0.05, 0.29, 0.006, 0.0075, 0.009);
    const file = writeModel(fc(1, row.length, 1, 1, { weights: row, bias: false }));
    const g = importAndLower(file);
    applyPow2(g, ["all"]);
    // alpha = 0.8; e = round(log2(0.8 / |w|)): 0.41 -> 0.96 -> 1; 0.0123 -> 6.02 -> 6; 0.29 -> 1.46 -> 1
    // (0.4, though 0.2 is nearer on a linear scale); 0.006 -> 7.06 and 0.0075 -> 6.74 are
    // dropped (beyond e = 6); 0.009 -> 6.47 -> 6
    const w = tensor(g, g.nodes[0].inputs[1]).data!;
    const want = [0.8, -0.4, 0.2, 0.0125, -0.1, 0.05, 0.4, 0, 0, 0.0125];
    // float32 storage: each kept value is fround(0.8) 2^-e, within 1e-7 of the decimal
    Array.from(w).forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-7));
    const c = await compileModel(file, { quantize: "int8", calibrate: calib([1, row.length], 1), pow2: ["all"] });
    // scale alpha / 64: 64 2^-e
    expect(Array.from(tensor(c.graph, c.graph.nodes[0].inputs[1]).data!)).toEqual([64, -32, 16, 1, -8, 4, 32, 0, 0, 1]);
  });

  let seed = 20;
  for (const [M, K, N] of [[1, 30, 32], [1, 7, 5], [3, 33, 6], [2, 64, 7], [1, 1, 3], [4, 17, 4], [1, 31, 1]])
    for (const relu of [false, true])
      it(`bit-exact: ${M}x${K} -> ${N}${relu ? " + Relu" : ""}`, async () => {
        const s = ++seed;
        const c = await compileModel(writeModel(fc(M, K, N, s, { relu, bias: s % 3 !== 0 })), { quantize: "int8", calibrate: calib([M, K], s), pow2: ["all"], selftest: true });
        const node = c.graph.nodes.find((n) => n.op === "Gemm")!;
        expect(node.attrs.pow2).toBe(true);
        expect(Array.from(tensor(c.graph, node.inputs[1]).data!).every(isPow2Int8)).toBe(true);
        expect(c.source).toContain("fc_pow2_s8(");
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await bitExact(c, [M, K], s + 100);
        expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      });

  it("every code: each exponent with both signs and zero in one row", async () => {
    const row = [0.64, -0.64, 0.32, -0.32, 0.16, -0.16, 0.08, -0.08, 0.04, -0.04, 0.02, -0.02, 0.01, -0.01, 0, 0.001];
    const w = Float32Array.from({ length: 3 * 16 }, (_, i) => row[(i * 7) % 16] * (i < 16 ? 1 : -1)); // rows permuted, one negated
    w.set(row, 32);
    const c = await compileModel(writeModel(fc(2, 16, 3, 30, { weights: w })), { quantize: "int8", calibrate: calib([2, 16], 30), pow2: ["all"] });
    expect(new Set(Array.from(tensor(c.graph, c.graph.nodes[0].inputs[1]).data!))).toEqual(new Set([0, 1, -1, 2, -2, 4, -4, 8, -8, 16, -16, 32, -32, 64, -64]));
    await bitExact(c, [2, 16], 31);
  });

  it("against the dense int8 kernel: half the weight bytes, no multiply per weight, instructions printed", async () => {
    const N = 64, K = 256;
    const spec = fc(1, K, N, 40);
    const cal = calib([1, K], 40);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const p2 = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, pow2: ["all"] });
    expect(dense.source).toContain("fc_s8(");
    expect(p2.source).toContain("fc_pow2_s8(");
    await bitExact(p2, [1, K], 41);
    const [pd, pp] = [await profileModule(dense.wasm, dense.source, dense.manifest), await profileModule(p2.wasm, p2.source, p2.manifest)];
    const [id, ip] = [instructions(pd.layers[0]), instructions(pp.layers[0])];
    const [md, mp] = [pd.layers[0].mul32 + pd.layers[0].mul64, pp.layers[0].mul32 + pp.layers[0].mul64];
    console.log(`pow2 1x${K} -> ${N}: dense fc_s8 ${id} instructions (${(id / (N * K)).toFixed(2)} per weight), ${md} multiplies; fc_pow2_s8 ${ip} (${(ip / (N * K)).toFixed(2)} per weight), ${mp} multiplies; weight bytes ${N * K} vs ${N * K / 2}`);
    expect(mp).toBe(N); // the requantization only
    expect(md).toBe(N * K + N);
    expect(mismatches(await analyticVsDynamic(p2))).toEqual([]);
    // constants: the int8 weights (N K bytes) become N K / 2 bytes of codes; bias, multipliers and shifts as dense
    expect(dense.manifest.memory.constantBytes - p2.manifest.memory.constantBytes).toBe((N * K) / 2);
  });

  it("refusals name the problem", async () => {
    const file = writeModel(fc(1, 8, 4, 3));
    await expect(compileModel(file, { pow2: ["all"] })).rejects.toThrow(/--pow2 needs --quantize int8/);
    await expect(compileModel(file, { quantize: "int8", calibrate: calib([1, 8], 3), pow2: ["nope"] })).rejects.toThrow(/--pow2 nope: no layer 'nope' in .*fully connected layers: 'Gemm_0'/);
    await expect(compileModel(file, { quantize: "int8", calibrate: calib([1, 8], 3), pow2: ["all"], ternary: ["all"] })).rejects.toThrow(/already has ternary weights; choose one weight format per layer/);
    await expect(compileModel(file, { quantize: "int8", calibrate: calib([1, 8], 3), pow2: ["all"], share: { "*": 2 } })).rejects.toThrow(/--pow2: .* also has share weights; choose one weight format per layer/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", pow2: ["/features/features.0/Conv"] })).rejects.toThrow(/is not a fully connected Gemm/);
  });
});
