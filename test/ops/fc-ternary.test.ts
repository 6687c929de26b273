// Ternary weights (--ternary, passes/ternary.ts) and their additions-only int8 kernel
// (runtime-as/kernels/fc-ternary.ts, chosen where its estimated instructions are fewest):
// the TWN rule on a row worked by hand; int8 weights of each ternary layer in {-127, 0, 127};
// the wasm bit-exact with the integer interpreter over
// shapes with every N % 4, batches of rows, with and without bias, a fused Relu, inputs far
// outside the calibrated range, all-zero rows; the same int8 weights run by the dense
// kernel give the same bytes while the ternary kernel executes fewer instructions (counted,
// not timed); analytic costs equal the counted ones; and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate } from "../../compiler/runner.js";
import { importAndLower } from "../../compiler/pipeline.js";
import { applyTernary } from "../../compiler/passes/ternary.js";
import { tensor } from "../../compiler/ir/graph.js";
import { writeModel } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";
import { bitExact, calib, fc } from "../helpers/fc.js";


describe("ternary weights (TWN)", () => {
  it("the rule on a row worked by hand: threshold 0.7 mean|w|, one magnitude for the kept", () => {
    const file = writeModel(fc(1, 4, 1, 1, { weights: Float32Array.of(0.9, -0.1, 0.5, -0.7), bias: false }));
    const g = importAndLower(file);
    applyTernary(g, ["all"]);
    // mean |w| = 0.55, threshold 0.385: 0.9, 0.5 and -0.7 stay, with alpha = (0.9 + 0.5 + 0.7) / 3 = 0.7
    const w = tensor(g, g.nodes[0].inputs[1]).data!;
    expect(Array.from(w).map((v) => +v.toFixed(6))).toEqual([0.7, 0, 0.7, -0.7]);
  });

  let seed = 10;
  // K of 100 and more: below that the dense kernel is estimated cheaper and runs instead (ops/gemm.ts fcKernelFor)
  for (const [M, K, N] of [[1, 128, 32], [1, 130, 5], [3, 192, 6], [2, 256, 7], [1, 255, 1]])
    for (const relu of [false, true])
      it(`bit-exact: ${M}x${K} -> ${N}${relu ? " + Relu" : ""}`, async () => {
        const s = ++seed;
        const c = await compileModel(writeModel(fc(M, K, N, s, { relu, bias: s % 3 !== 0 })), { quantize: "int8", calibrate: calib([M, K], s), ternary: ["all"], selftest: true });
        const node = c.graph.nodes.find((n) => n.op === "Gemm")!;
        expect(node.attrs.ternary).toBe(true);
        expect(new Set(Array.from(tensor(c.graph, node.inputs[1]).data!))).toEqual(new Set([-127, 0, 127]));
        expect(c.source).toContain("fc_ternary_s8(");
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await bitExact(c, [M, K], s + 100);
        expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      });

  it("a row with every weight dropped (all equal magnitude rows keep all; a zero row keeps none)", async () => {
    const w = uniform(rng(5), 4 * 200, -0.5, 0.5);
    w.fill(0, 200, 400); // row 1: nothing to keep
    const c = await compileModel(writeModel(fc(1, 200, 4, 6, { weights: w })), { quantize: "int8", calibrate: calib([1, 200], 6), ternary: ["all"] });
    expect(c.source).toContain("fc_ternary_s8(");
    await bitExact(c, [1, 200], 7);
  });

  it("a small ternary layer runs on the dense kernel, estimated cheaper there, with the same results", async () => {
    const c = await compileModel(writeModel(fc(1, 16, 4, 8)), { quantize: "int8", calibrate: calib([1, 16], 8), ternary: ["all"] });
    expect(c.source).toContain("fc_s8(");
    await bitExact(c, [1, 16], 9);
  });

  it("the same int8 weights through the dense kernel: the same bytes, more instructions", async () => {
    // weights already ternary (alpha t), so --ternary changes the kernel only
    const r = rng(9);
    const N = 64, K = 256;
    const w = Float32Array.from({ length: N * K }, () => { const u = r(); return u < 0.3 ? -0.2 : u < 0.6 ? 0.2 : 0; }); // 40% zeros: too dense for the sparse kernel
    const spec = fc(1, K, N, 9, { weights: w });
    const cal = calib([1, K], 9);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const tern = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, ternary: ["all"] });
    expect(dense.source).toContain("fc_s8(");
    expect(tern.source).toContain("fc_ternary_s8(");
    expect(await bitExact(tern, [1, K], 11)).toEqual(await bitExact(dense, [1, K], 11));
    const [pd, pt] = [await profileModule(dense.wasm, dense.source, dense.manifest), await profileModule(tern.wasm, tern.source, tern.manifest)];
    const ratio = instructions(pd.layers[0]) / instructions(pt.layers[0]);
    console.log(`ternary 1x${K} -> ${N}, 40% of the weights zero: dense ${instructions(pd.layers[0])} instructions, ternary ${instructions(pt.layers[0])} (${ratio.toFixed(2)}x fewer); multiplies ${pd.layers[0].mul32 + pd.layers[0].mul64} vs ${pt.layers[0].mul32 + pt.layers[0].mul64}`);
    expect(ratio).toBeGreaterThan(1.1); // about 9.5 instructions per kept weight against 6.9 per dense MAC
    expect(pt.layers[0].mul32 + pt.layers[0].mul64).toBe(2 * N); // m times the difference, and the requantization
  });

  it("refusals name the problem", async () => {
    const file = writeModel(fc(1, 8, 4, 3));
    await expect(compileModel(file, { ternary: ["all"] })).rejects.toThrow(/--ternary needs --quantize int8/);
    await expect(compileModel(file, { quantize: "int8", calibrate: calib([1, 8], 3), ternary: ["nope"] })).rejects.toThrow(/--ternary nope: no layer 'nope' in .*fully connected layers: 'Gemm_0'/);
    const wide = writeModel(fc(1, 300, 4, 4));
    await expect(compileModel(wide, { quantize: "int8", calibrate: calib([1, 300], 4), ternary: ["all"] })).rejects.toThrow(/has K = 300 inputs; the ternary kernel indexes columns with one byte/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", ternary: ["/features/features.0/Conv"] })).rejects.toThrow(/is not a fully connected Gemm/);
  });
});
