// LSTM, float: wasm vs the float64 reference vs onnxruntime (checkFloat) over sizes from the
// forecasting shape (I 1, H 20) to batches of several sequences, with and without bias,
// initial h / c, peepholes, clip (small enough to bite), input_forget, non-default
// activations with alpha/beta, every subset of outputs (Y only, Y_h only, Y_c only), reverse
// and bidirectional, constant sequence_lens shorter than the sequence, weights and states
// fed at run time, and layout 1 (batch first; onnxruntime has no CPU kernel for it, so the
// reference is checked against the layout-0 model on transposed data). Plus the refusals.
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

const OP = "LSTM";
const build = (c: Case, seed: number) => buildRec(OP, c, seed);

let seed = 100;
const run = (c: Case) => { const b = build(c, ++seed); return checkFloat(write(b.spec), b.feeds); };

describe("LSTM float vs reference vs onnxruntime", () => {
  it("forecasting shape: I 1, H 20, T 12, no bias", () => run({ T: 12, B: 1, I: 1, H: 20 }));
  it("bias, initial h and c, peepholes, batch 3", () => run({ T: 4, B: 3, I: 5, H: 7, bias: true, h0: true, c0: true, peep: true }));
  it("a single step, H 1", () => run({ T: 1, B: 2, I: 3, H: 1, bias: true }));
  it("clip 0.3 on every gate input", () => run({ T: 6, B: 2, I: 4, H: 5, bias: true, peep: true, attrs: { clip: 0.3 } }));
  it("input_forget = 1 couples f to 1 - i", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, c0: true, attrs: { input_forget: 1 } }));
  it("activations HardSigmoid(alpha, beta) / Relu / Softsign", () =>
    run({ T: 5, B: 2, I: 3, H: 6, bias: true, attrs: { activations: ["HardSigmoid", "Relu", "Softsign"], activation_alpha: { floats: [0.3] }, activation_beta: { floats: [0.4] } } }));
  it("activations LeakyRelu (default alpha) / Tanh / Elu(0.7), case-insensitive names", () =>
    run({ T: 4, B: 1, I: 2, H: 5, bias: true, attrs: { activations: ["leakyrelu", "Tanh", "ELU"], activation_alpha: { floats: [0.05, 0.7] } } }));
  it("activations Sigmoid / Softplus / Affine(0.5, 0.1)", () =>
    run({ T: 4, B: 1, I: 2, H: 5, attrs: { activations: ["Sigmoid", "Softplus", "Affine"], activation_alpha: { floats: [0.5] }, activation_beta: { floats: [0.1] } } }));
  it("activations ScaledTanh(1.5, 0.8) / ThresholdedRelu(0.1) / Tanh", () =>
    run({ T: 4, B: 1, I: 2, H: 5, bias: true, attrs: { activations: ["ScaledTanh", "ThresholdedRelu", "Tanh"], activation_alpha: { floats: [1.5, 0.1] }, activation_beta: { floats: [0.8] } } }));
  it("only Y_h requested", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [false, true, false] }));
  it("only Y requested", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [true, false, false] }));
  it("only Y_c requested", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, c0: true, outs: [false, false, true] }));
  it("reverse", () => run({ T: 6, B: 2, I: 3, H: 4, bias: true, h0: true, direction: "reverse" }));
  it("bidirectional with peepholes and initial states", () => run({ T: 5, B: 2, I: 3, H: 4, bias: true, h0: true, c0: true, peep: true, direction: "bidirectional" }));
  it("bidirectional, per-direction activations, only Y_h", () =>
    run({ T: 4, B: 1, I: 3, H: 3, direction: "bidirectional", outs: [false, true, false], attrs: { activations: ["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "Tanh", "Relu"] } }));
  it("sequence_lens shorter than the sequence (forward)", () => run({ T: 5, B: 3, I: 2, H: 4, bias: true, h0: true, c0: true, lens: [5, 2, 1] }));
  it("sequence_lens, bidirectional", () => run({ T: 4, B: 3, I: 2, H: 3, bias: true, direction: "bidirectional", lens: [1, 4, 3] }));
  it("sequence_lens all equal to the sequence length (dropped)", async () => {
    const c = await run({ T: 3, B: 2, I: 2, H: 3, lens: [3, 3] });
    expect(c.graph.nodes[0].attrs.seqLens).toBeUndefined();
  });
  it("weights, bias, peepholes and initial states at run time", () => run({ T: 4, B: 2, I: 3, H: 5, bias: true, h0: true, c0: true, peep: true, runtime: true }));
  it("MACs: 4H(I+H) + 3H (+3H with peepholes) per step and batch entry and direction", async () => {
    const c = await run({ T: 3, B: 2, I: 4, H: 5, peep: true, direction: "bidirectional" });
    expect(c.manifest.layers[0].macs).toBe(2 * 3 * 2 * (4 * 5 * 9 + 6 * 5));
  });
});

/**
 * int8: wasm bit-exact against the integer interpreter (checkInt8, which also runs the
 * selftest), on calibration and test feeds drawn from the same ranges, including inputs
 * beyond the calibrated range (saturation) and weights with large magnitudes (gate
 * pre-activations past the Q3.12 range). run8 returns the worst deviation from the float
 * model on in-range inputs, in output quantization steps: int8 inputs and weights and int16
 * state keep it near one step (measured 0.3 to 1.5), so 2 is the bound for moderate
 * weights; with 8x larger weights the recurrence amplifies rounding (about 34 steps), so that
 * case checks bit-exactness only.
 */
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

describe("LSTM int8 (int16 state) bit-exact vs the integer interpreter", () => {
  it("forecasting shape: I 1, H 20, T 12, bias", async () => expect(await run8({ T: 12, B: 1, I: 1, H: 20, bias: true })).toBeLessThanOrEqual(2));
  it("batch 3, initial h and c constant", async () => expect(await run8({ T: 5, B: 3, I: 4, H: 6, bias: true, h0: true, c0: true })).toBeLessThanOrEqual(2));
  it("clip 0.5 and input_forget", async () => expect(await run8({ T: 6, B: 2, I: 3, H: 5, bias: true, c0: true, attrs: { clip: 0.5, input_forget: 1 } })).toBeLessThanOrEqual(2));
  it("large weights saturate the gates and grow the cell", () => run8({ T: 10, B: 2, I: 3, H: 8, bias: true }, 8));
  it("only Y_h, only Y_c", async () => {
    await run8({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: [false, true, false] });
    await run8({ T: 5, B: 2, I: 3, H: 4, bias: true, c0: true, outs: [false, false, true] });
  });
  it("reverse and bidirectional with sequence_lens", async () => {
    await run8({ T: 6, B: 2, I: 3, H: 4, bias: true, h0: true, direction: "reverse" });
    await run8({ T: 4, B: 3, I: 2, H: 3, bias: true, h0: true, c0: true, direction: "bidirectional", lens: [1, 4, 3] });
  });
  it("layout 1 (batch first)", async () => expect(await run8({ T: 4, B: 3, I: 2, H: 5, bias: true, h0: true, c0: true, layout: 1 })).toBeLessThanOrEqual(2));
  it("initial states at run time (int8 tensors requantized to int16)", async () => {
    const b = build({ T: 4, B: 2, I: 3, H: 5, bias: true }, ++seed);
    b.spec.inputs.push({ name: "h0", shape: [1, 2, 5] }, { name: "c0", shape: [1, 2, 5] });
    b.spec.nodes[0].inputs = ["X", "W", "R", "B", "", "h0", "c0"];
    const r = rng(seed);
    const feeds = [0, 1, 2].map(() => ({ X: randValue(r, [4, 2, 3], -1, 1), h0: randValue(r, [1, 2, 5], -0.9, 0.9), c0: randValue(r, [1, 2, 5], -2, 2) }));
    await checkInt8(write(b.spec), feeds, feeds);
  });
});

describe("LSTM layout 1 (batch first)", () => {
  for (const [label, c] of [
    ["forward, all outputs, initial states", { T: 4, B: 3, I: 2, H: 5, bias: true, h0: true, c0: true, peep: true }],
    ["bidirectional, sequence_lens", { T: 4, B: 2, I: 3, H: 3, bias: true, h0: true, direction: "bidirectional", lens: [2, 4] }],
  ] as Array<[string, Case]>) {
    it(label, async () => {
      const s = ++seed;
      const b1 = build({ ...c, layout: 1 }, s), b0 = build(c, s);
      // the same weights and states in layout 0: initial states transposed [B,D,H] -> [D,B,H]
      for (const t of b0.spec.initializers!) {
        const t1 = b1.spec.initializers!.find((u) => u.name === t.name)!;
        t.data = t.name === "h0" || t.name === "c0" ? transpose(t1.data, t1.shape, [1, 0, 2]) : t1.data;
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
        // Y [B,T,D,H] vs [T,D,B,H]; Y_h, Y_c [B,D,H] vs [D,B,H]
        const want = name === "Y" ? transpose(ref0.Y.data, ref0.Y.shape, [2, 0, 1, 3]) : transpose(ref0[name].data, ref0[name].shape, [1, 0, 2]);
        expect(Array.from(ref1[name].data), `layout 1 vs layout 0, ${name}`).toEqual(Array.from(want));
      });
    });
  }
});


describe("LSTM refusals", () => {
  const bad = (c: Case, re: RegExp) => expect(compileModel(write(build(c, ++seed).spec))).rejects.toThrow(re);
  it("unknown activation", () => bad({ T: 2, B: 1, I: 2, H: 3, attrs: { activations: ["Sigmoid", "Gelu", "Tanh"] } }, /LSTM.*activation 'Gelu' is not supported/));
  it("Affine without its alpha", () => bad({ T: 2, B: 1, I: 2, H: 3, attrs: { activations: ["Sigmoid", "Affine", "Tanh"] } }, /Affine needs an explicit alpha/));
  it("wrong number of activations", () => bad({ T: 2, B: 1, I: 2, H: 3, direction: "bidirectional", attrs: { activations: ["Sigmoid", "Tanh", "Tanh"] } }, /3 activations given; LSTM bidirectional needs 6/));
  it("hidden_size that disagrees with R", () => bad({ T: 2, B: 1, I: 2, H: 3, attrs: { hidden_size: 4 } }, /hidden_size 4 does not match R of shape 1x12x3/));
  it("sequence_lens beyond the sequence", () => bad({ T: 2, B: 2, I: 2, H: 3, lens: [2, 3] }, /sequence_lens value 3 is outside \[1, 2\]/));
  it("sequence_lens computed at run time", async () => {
    const spec = build({ T: 2, B: 1, I: 2, H: 3 }, ++seed).spec;
    spec.inputs.push({ name: "lens", shape: [1], dtype: 6 });
    spec.nodes[0].inputs = ["X", "W", "R", "", "lens"];
    await expect(compileModel(writeModel(spec))).rejects.toThrow(/sequence_lens \(input 4\) 'lens' is computed at run time/);
  });
  const bad8 = async (c: Case, re: RegExp) => {
    const b = build(c, ++seed);
    await expect(compileModel(write(b.spec), { quantize: "int8", calibrate: b.feeds })).rejects.toThrow(re);
  };
  it("int8: peepholes", () => bad8({ T: 2, B: 1, I: 2, H: 3, peep: true }, /LSTM\): peepholes \(input P\) have no int8 form; compile with --quantize none/));
  it("int8: non-default activations", () =>
    bad8({ T: 2, B: 1, I: 2, H: 3, attrs: { activations: ["HardSigmoid", "Tanh", "Tanh"] } }, /activations HardSigmoid, Tanh, Tanh have no int8 form \(only Sigmoid, Tanh, Tanh\)/));
  it("int8: hidden size above 516", () => bad8({ T: 1, B: 1, I: 1, H: 517 }, /hidden size 517 is above 516/));
  it("int8: weights at run time", () => bad8({ T: 2, B: 1, I: 2, H: 3, runtime: true }, /W \('W'\) is computed at run time; the int8 LSTM needs constant weights/));
  it("int8: a constant initial_h outside [-1, 1]", async () => {
    const b = build({ T: 2, B: 1, I: 2, H: 3, h0: true }, ++seed);
    (b.spec.initializers!.find((t) => t.name === "h0")!.data as Float32Array)[1] = 1.5;
    await expect(compileModel(write(b.spec), { quantize: "int8", calibrate: b.feeds })).rejects.toThrow(/initial_h value 1.5 is outside \[-1, 1\]/);
  });
  it("a non-positive clip", () => bad({ T: 2, B: 1, I: 2, H: 3, attrs: { clip: -1 } }, /clip -1 must be positive/));
});
