// GRU, float: wasm vs the float64 reference vs onnxruntime (checkFloat) for
// linear_before_reset 0 (the ONNX default, two passes per step in the kernel) and 1 (what
// PyTorch exports), several sizes, with and without bias and initial h, clip small enough to
// bite, non-default activations, Y only / Y_h only, reverse and bidirectional, constant
// sequence_lens shorter than the sequence, weights at run time, and layout 1 (checked against
// the layout-0 model on transposed data: onnxruntime has no CPU kernel for it). int8 (int16
// state), for both linear_before_reset forms: wasm bit-exact against the integer interpreter
// over the same kinds of cases, large weights, initial h at run time, plus a bound on the
// deviation from the float model. Plus refusals, float and int8.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng } from "../helpers/random.js";
import { writeModel } from "../helpers/build-onnx.js";
import { build as buildRec, transpose, write, type Case } from "../helpers/recurrent-model.js";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { importOnnxFile } from "../../compiler/onnx/import.js";
import { worstRatio } from "../helpers/run.js";

const OP = "GRU";
const build = (c: Case, seed: number) => buildRec(OP, c, seed);

let seed = 100;
const run = (c: Case) => { const b = build(c, ++seed); return checkFloat(write(b.spec), b.feeds); };

describe("GRU float vs reference vs onnxruntime", () => {
  for (const lbr of [0, 1]) {
    const a = { linear_before_reset: lbr };
    describe(`linear_before_reset ${lbr}`, () => {
      it("I 1, H 20, T 12, no bias", () => run({ T: 12, B: 1, I: 1, H: 20, attrs: a }));
      it("bias and initial h, batch 3", () => run({ T: 4, B: 3, I: 5, H: 7, bias: true, h0: true, attrs: a }));
      it("a single step, H 1", () => run({ T: 1, B: 2, I: 3, H: 1, bias: true, attrs: a }));
      it("clip 0.3", () => run({ T: 6, B: 2, I: 4, H: 5, bias: true, h0: true, attrs: { ...a, clip: 0.3 } }));
      it("activations HardSigmoid(alpha, beta) / Softsign", () =>
        run({ T: 5, B: 2, I: 3, H: 6, bias: true, attrs: { ...a, activations: ["HardSigmoid", "Softsign"], activation_alpha: { floats: [0.3] }, activation_beta: { floats: [0.45] } } }));
      it("activations Sigmoid / Relu", () => run({ T: 5, B: 1, I: 3, H: 4, bias: true, attrs: { ...a, activations: ["Sigmoid", "Relu"] } }));
      it("only Y_h requested", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [false, true], attrs: a }));
      it("only Y requested", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [true, false], attrs: a }));
      it("reverse", () => run({ T: 6, B: 2, I: 3, H: 4, bias: true, h0: true, direction: "reverse", attrs: a }));
      it("bidirectional, per-direction activations", () =>
        run({ T: 5, B: 2, I: 3, H: 4, bias: true, h0: true, direction: "bidirectional", attrs: { ...a, activations: ["Sigmoid", "Tanh", "HardSigmoid", "Softsign"] } }));
      it("sequence_lens, bidirectional", () => run({ T: 4, B: 3, I: 2, H: 3, bias: true, h0: true, direction: "bidirectional", lens: [1, 4, 3], attrs: a }));
      it("weights, bias and initial h at run time", () => run({ T: 4, B: 2, I: 3, H: 5, bias: true, h0: true, runtime: true, attrs: a }));
    });
  }
  it("MACs: 3H(I+H) + 3H per step and batch entry and direction, over the sequence lengths", async () => {
    const c = await run({ T: 3, B: 2, I: 4, H: 5, lens: [3, 1] });
    expect(c.manifest.layers[0].macs).toBe((3 + 1) * (3 * 5 * 9 + 3 * 5));
  });
});

/**
 * int8: wasm bit-exact against the integer interpreter (checkInt8, which also runs the
 * selftest), on calibration and test feeds drawn from the same ranges, including inputs
 * beyond the calibrated range (saturation) and weights with large magnitudes (gate
 * pre-activations past the Q3.12 range). run8 returns the worst deviation from the float
 * model on in-range inputs, in output quantization steps. It comes from the int8 input's
 * and weights' rounding (the Q3.12 pre-activations, Q0.15 tables and int16 state add far
 * less), carried along by the recurrence, which the z gate damps: measured 0.4 to 2.05
 * (the most with clip 0.5), so 3 is the bound for moderate weights. With 8x larger weights
 * the recurrence amplifies rounding (about 200 steps after 10 steps; 2 after one step), so
 * that case checks bit-exactness only.
 */
const BOUND8 = 3;
const run8 = async (c: Case, wscale = 1): Promise<number> => {
  const b = build(c, ++seed);
  if (wscale !== 1) for (const t of b.spec.initializers!) if (t.name === "W" || t.name === "R") t.data = Array.from(t.data, (v) => v * wscale);
  const calib = [b.feeds[0], b.feeds[1]];
  const r = rng(seed);
  const test = [b.feeds[0], { ...b.feeds[0], X: randValue(r, b.feeds[0].X.shape, -6, 6) }];
  const { worstSteps } = await checkInt8(write(b.spec), calib, [b.feeds[0]]);
  await checkInt8(write(b.spec), calib, test);
  return worstSteps;
};

describe("GRU int8 (int16 state) bit-exact vs the integer interpreter", () => {
  for (const lbr of [1, 0]) {
    const a = { linear_before_reset: lbr };
    describe(`linear_before_reset ${lbr}`, () => {
      it("forecasting shape: I 1, H 20, T 12, bias", async () => expect(await run8({ T: 12, B: 1, I: 1, H: 20, bias: true, attrs: a })).toBeLessThanOrEqual(BOUND8));
      it("batch 3, constant initial h", async () => expect(await run8({ T: 5, B: 3, I: 4, H: 6, bias: true, h0: true, attrs: a })).toBeLessThanOrEqual(BOUND8));
      it("clip 0.5", async () => expect(await run8({ T: 6, B: 2, I: 3, H: 5, bias: true, h0: true, attrs: { ...a, clip: 0.5 } })).toBeLessThanOrEqual(BOUND8));
      it("large weights saturate the gates", () => run8({ T: 10, B: 2, I: 3, H: 8, bias: true, attrs: a }, 8));
      it("only Y_h, only Y", async () => {
        await run8({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [false, true], attrs: a });
        await run8({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [true, false], attrs: a });
      });
      it("reverse and bidirectional with sequence_lens", async () => {
        await run8({ T: 6, B: 2, I: 3, H: 4, bias: true, h0: true, direction: "reverse", attrs: a });
        await run8({ T: 4, B: 3, I: 2, H: 3, bias: true, h0: true, direction: "bidirectional", lens: [1, 4, 3], attrs: a });
      });
      it("layout 1 (batch first)", async () => expect(await run8({ T: 4, B: 3, I: 2, H: 5, bias: true, h0: true, layout: 1, attrs: a })).toBeLessThanOrEqual(BOUND8));
      it("initial h at run time (an int8 tensor requantized to int16)", async () => {
        const b = build({ T: 4, B: 2, I: 3, H: 5, bias: true, attrs: a }, ++seed);
        b.spec.inputs.push({ name: "h0", shape: [1, 2, 5] });
        b.spec.nodes[0].inputs = ["X", "W", "R", "B", "", "h0"];
        const r = rng(seed);
        const feeds = [0, 1, 2].map(() => ({ X: randValue(r, [4, 2, 3], -1, 1), h0: randValue(r, [1, 2, 5], -0.9, 0.9) }));
        expect((await checkInt8(write(b.spec), feeds, feeds)).worstSteps).toBeLessThanOrEqual(BOUND8);
      });
    });
  }
});

describe("GRU layout 1 (batch first)", () => {
  for (const [label, c] of [
    ["forward, linear_before_reset 0, initial h", { T: 4, B: 3, I: 2, H: 5, bias: true, h0: true }],
    ["bidirectional, linear_before_reset 1, sequence_lens", { T: 4, B: 2, I: 3, H: 3, bias: true, h0: true, direction: "bidirectional", lens: [2, 4], attrs: { linear_before_reset: 1 } }],
  ] as Array<[string, Case]>) {
    it(label, async () => {
      const s = ++seed;
      const b1 = build({ ...c, layout: 1 }, s), b0 = build(c, s);
      // the same weights and state in layout 0: initial h transposed [B,D,H] -> [D,B,H]
      for (const t of b0.spec.initializers!) {
        const t1 = b1.spec.initializers!.find((u) => u.name === t.name)!;
        t.data = t.name === "h0" ? transpose(t1.data, t1.shape, [1, 0, 2]) : t1.data;
      }
      const c1 = await compileModel(writeModel(b1.spec), { selftest: true });
      const m = await instantiate(c1.wasm, c1.manifest);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      const x1 = randValue(rng(s), [c.B, c.T, c.I]);
      const got = runRaw(m, [x1]);
      const ref1 = interpret(c1.graph, { X: x1 });
      const ref0 = interpret(importOnnxFile(writeModel(b0.spec)), { X: makeValue("float32", [c.T, c.B, c.I], transpose(x1.data, x1.shape, [1, 0, 2])) });
      c1.graph.outputs.forEach((name, i) => {
        expect(worstRatio(got[i].data, ref1[name].data, 1e-5, 1e-4), `wasm vs reference, ${name}`).toBeLessThanOrEqual(1);
        // Y [B,T,D,H] vs [T,D,B,H]; Y_h [B,D,H] vs [D,B,H]
        const want = name === "Y" ? transpose(ref0.Y.data, ref0.Y.shape, [2, 0, 1, 3]) : transpose(ref0[name].data, ref0[name].shape, [1, 0, 2]);
        expect(Array.from(ref1[name].data), `layout 1 vs layout 0, ${name}`).toEqual(Array.from(want));
      });
    });
  }
});


describe("GRU refusals", () => {
  const bad = (c: Case, re: RegExp) => expect(compileModel(write(build(c, ++seed).spec))).rejects.toThrow(re);
  it("unknown activation", () => bad({ T: 2, B: 1, I: 2, H: 3, attrs: { activations: ["Sigmoid", "Swish"] } }, /GRU.*activation 'Swish' is not supported/));
  it("W with the wrong number of gate rows", async () => {
    const spec = build({ T: 2, B: 1, I: 2, H: 3 }, ++seed).spec;
    spec.initializers![0] = { name: "W", shape: [1, 12, 2], data: new Float32Array(24) };
    await expect(compileModel(writeModel(spec))).rejects.toThrow(/GRU.*W \(input 1\) has shape 1x12x2, expected 1x9x2/);
  });
  it("an unknown direction", () => bad({ T: 2, B: 1, I: 2, H: 3, direction: "sideways" }, /direction 'sideways' is not forward, reverse or bidirectional/));
  const bad8 = async (c: Case, re: RegExp) => {
    const b = build(c, ++seed);
    await expect(compileModel(write(b.spec), { quantize: "int8", calibrate: b.feeds })).rejects.toThrow(re);
  };
  it("int8: non-default activations", () =>
    bad8({ T: 2, B: 1, I: 2, H: 3, attrs: { activations: ["HardSigmoid", "Tanh"] } }, /GRU\): activations HardSigmoid, Tanh have no int8 form \(only Sigmoid, Tanh\)/));
  it("int8: weights at run time", () => bad8({ T: 2, B: 1, I: 2, H: 3, runtime: true }, /W \('W'\) is computed at run time; the int8 GRU needs constant weights/));
});
