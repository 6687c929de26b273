// Analytic costs of the recurrent kernels (compiler/cost/recurrent.ts) against the
// instrumented module's counts (multiplies, bytes read, bytes written), per layer: one-layer
// LSTM, GRU (linear_before_reset 0 and 1) and RNN models in float, int8 (calibrated) and the
// Q formats (Q4.4, Q8.8 for LSTM), with and without bias and initial states, layout 0 and 1,
// batch > 1, Y only / Y_h only, reverse and bidirectional; the shipped sunspots forecaster
// in float, int8 and Q4.4; streaming (the sunspots forecaster and one-layer models, one step
// per call, stream_mode 1 then 2). Every kernel must match exactly: the float cells' sigmoid
// and tanh are the fixed-cost forms of runtime-as/mathf.ts (one expf on its main path per
// call, whatever the argument, checked on a probe module over arguments from 0 to infinity
// and NaN). A first block also checks the path tables of the library functions the rarer
// activations call (expfCost, expm1fMuls) against the probe. With sequence_lens shorter than
// the sequence the formulas assume T steps per entry: checked to be an upper bound.
import { describe, expect, it } from "vitest";
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { compileAssemblyScript } from "../../compiler/emit/asc.js";
import { makeValue } from "../../compiler/ir/graph.js";
import { readNpy } from "../../compiler/util/npy.js";
import { EXPF, EXPM1F, LOG1PF, TANHF, expfCost, expm1fMuls } from "../../compiler/cost/recurrent.js";
import { counterName, instrument } from "../../targets/profile/instrument.js";
import { build, write, type Case, type RecOp } from "../helpers/recurrent-model.js";
import { analyticVsDynamic, mismatches, type LayerCheck } from "../helpers/cost.js";
import { rng, uniform } from "../helpers/random.js";

const MINE = /^(lstm_f32|lstm_s8|lstm_q8|lstm_q16|gru_f32|gru_s8|rnn_f32|rnn_s8)$/;
const mine = (checks: LayerCheck[]) => checks.filter((c) => c.kernels.split("+").some((k) => MINE.test(k)));

/** Checks the layers with recurrent kernels: analytic == dynamic exactly. */
function expectExact(checks: LayerCheck[]) {
  const ours = mine(checks);
  expect(ours.length).toBeGreaterThan(0);
  expect(mismatches(ours)).toEqual([]);
  return ours;
}

const feedsOf = (spec: { inputs: Array<{ name: string; shape: number[] }> }, seed: number, n = 1) => {
  const r = rng(seed);
  return Array.from({ length: n }, () => Object.fromEntries(spec.inputs.map((i) => [i.name, makeValue("float32", i.shape, uniform(r, i.shape.reduce((a, b) => a * b, 1)))])));
};

let seed = 300;
/** `stateInputs`: initial_h / initial_c as graph inputs (int8: requantized by the kernel). */
async function check(op: RecOp, c: Case, opts: CompileOptions = {}, stateInputs = false) {
  const { spec } = build(op, c, ++seed);
  if (stateInputs) {
    const st = spec.initializers!.filter((i) => i.name === "h0" || i.name === "c0");
    spec.initializers = spec.initializers!.filter((i) => !st.includes(i));
    spec.inputs.push(...st.map((i) => ({ name: i.name, shape: i.shape })));
  }
  const [feed] = feedsOf(spec, seed + 1000);
  const comp = await compileModel(write(spec), { ...opts, ...(opts.quantize ? { calibrate: feedsOf(spec, seed + 2000, 8) } : {}) });
  const checks = await analyticVsDynamic(comp, { inputs: spec.inputs.map((i) => feed[i.name].data as Float32Array) });
  return expectExact(checks);
}

describe("AssemblyScript f32 math: multiplies and loads by argument range", () => {
  it("mathf's tanhf and sigmoidf cost one main-path expf for every argument; expf, expm1f follow their path tables", async () => {
    const src = [
      'import { sigmoidf, tanhf } from "./runtime-as/mathf";',
      "export function t(x: f32): f32 { return tanhf(x); }",
      "export function s(x: f32): f32 { return sigmoidf(x); }",
      "export function e(x: f32): f32 { return Mathf.exp(x); }",
      "export function m(x: f32): f32 { return Mathf.expm1(x); }",
      "export function l(x: f32): f32 { return Mathf.log1p(x); }",
    ].join("\n");
    const built = await compileAssemblyScript(src, { memoryBase: 1024 });
    const { instance } = await WebAssembly.instantiate((await instrument(built.wasm)).wasm, {});
    const ex = instance.exports as Record<string, unknown>;
    const g = (k: string) => (ex[counterName(k as never)] as WebAssembly.Global).value as number;
    const probe = (f: string, x: number) => {
      const [m0, b0] = [g("mul32") + g("mul64") + g("fmul"), g("loadBytes")];
      (ex[f] as (x: number) => number)(x);
      return { muls: g("mul32") + g("mul64") + g("fmul") - m0, loadBytes: g("loadBytes") - b0 };
    };
    const xs = [0, -0, 1e-40, 1e-30, 2 ** -27, 1e-7, 1e-3, 0.05, 0.1, 0.17, 0.18, 0.2, 0.26, 0.3, 0.5, 0.55, 0.56, 0.9, 1, 1.04, 1.1, 2, 3.7, 8, 9.99, 10, 10.5, 40, 88, 88.5, 88.8, 100, 105, Infinity, NaN];
    const all = [...xs, ...xs.map((x) => -x)];
    for (const x of all) {
      if (!Number.isNaN(x)) {
        expect([x, probe("t", x)]).toEqual([x, TANHF]); // fixed cost, whatever x (NaN takes expf's NaN exit)
        expect([x, probe("s", x)]).toEqual([x, EXPF]);
      }
      expect([x, probe("e", x)]).toEqual([x, expfCost(x)]);
      expect([x, probe("m", x).muls]).toEqual([x, expm1fMuls(x)]);
    }
    expect(Math.max(...all.map(expm1fMuls))).toBe(EXPM1F);
    expect(probe("l", 0.5).muls).toBe(LOG1PF);
  });
});

describe("float recurrent kernels", () => {
  it("LSTM", () => check("LSTM", { T: 5, B: 1, I: 3, H: 4, bias: true }));
  it("LSTM, batch 3, initial h and c, peepholes", () => check("LSTM", { T: 4, B: 3, I: 5, H: 7, bias: true, h0: true, c0: true, peep: true }));
  it("LSTM, no bias, layout 1, batch 2", () => check("LSTM", { T: 4, B: 2, I: 3, H: 5, layout: 1, h0: true }));
  it("LSTM, Y only, input_forget", () => check("LSTM", { T: 5, B: 2, I: 3, H: 4, bias: true, outs: [true, false, false], attrs: { input_forget: 1 } }));
  it("LSTM, Y_h only, reverse", () => check("LSTM", { T: 5, B: 2, I: 3, H: 4, bias: true, c0: true, outs: [false, true, false], direction: "reverse" }));
  it("LSTM, bidirectional, Y_c only", () => check("LSTM", { T: 3, B: 2, I: 2, H: 3, bias: true, direction: "bidirectional", outs: [false, false, true] }));
  it("LSTM, HardSigmoid / Relu / Softsign, clip (no library calls)", () =>
    check("LSTM", { T: 4, B: 2, I: 3, H: 5, bias: true, attrs: { clip: 0.5, activations: ["HardSigmoid", "Relu", "Softsign"], activation_alpha: { floats: [0.3] }, activation_beta: { floats: [0.4] } } }));
  for (const lbr of [0, 1]) {
    it(`GRU lbr ${lbr}`, () => check("GRU", { T: 5, B: 1, I: 3, H: 4, bias: true, attrs: { linear_before_reset: lbr } }));
    it(`GRU lbr ${lbr}, batch 3, initial h, layout 1, no bias`, () => check("GRU", { T: 3, B: 3, I: 4, H: 5, h0: true, layout: 1, attrs: { linear_before_reset: lbr } }));
    it(`GRU lbr ${lbr}, Y_h only, bidirectional`, () => check("GRU", { T: 4, B: 2, I: 3, H: 3, bias: true, outs: [false, true], direction: "bidirectional", attrs: { linear_before_reset: lbr } }));
  }
  it("GRU, Y only", () => check("GRU", { T: 4, B: 2, I: 3, H: 4, bias: true, outs: [true, false] }));
  it("RNN", () => check("RNN", { T: 6, B: 2, I: 3, H: 5, bias: true, h0: true }));
  it("RNN, layout 1, Y_h only, no bias", () => check("RNN", { T: 4, B: 3, I: 2, H: 4, layout: 1, outs: [false, true] }));
  it("RNN, Sigmoid, reverse", () => check("RNN", { T: 4, B: 1, I: 3, H: 4, bias: true, direction: "reverse", attrs: { activations: ["Sigmoid"] } }));
});

describe("int8 recurrent kernels", () => {
  const q = { quantize: "int8" } as const;
  it("LSTM", () => check("LSTM", { T: 5, B: 1, I: 3, H: 4, bias: true }, q));
  it("LSTM, batch 3, initial h and c", () => check("LSTM", { T: 4, B: 3, I: 5, H: 7, bias: true, h0: true, c0: true }, q));
  it("LSTM, layout 1, Y only, input_forget", () => check("LSTM", { T: 4, B: 2, I: 3, H: 5, layout: 1, outs: [true, false, false], attrs: { input_forget: 1 } }, q));
  it("LSTM, Y_h only, bidirectional", () => check("LSTM", { T: 3, B: 2, I: 3, H: 4, bias: true, outs: [false, true, false], direction: "bidirectional" }, q));
  it("LSTM, initial states at run time", () => check("LSTM", { T: 3, B: 2, I: 3, H: 4, bias: true, h0: true, c0: true }, q, true));
  it("GRU, initial h at run time", () => check("GRU", { T: 3, B: 2, I: 3, H: 4, bias: true, h0: true }, q, true));
  for (const lbr of [0, 1]) {
    it(`GRU lbr ${lbr}`, () => check("GRU", { T: 5, B: 1, I: 3, H: 4, bias: true, attrs: { linear_before_reset: lbr } }, q));
    it(`GRU lbr ${lbr}, batch 3, initial h, layout 1, Y_h only`, () => check("GRU", { T: 3, B: 3, I: 4, H: 5, h0: true, layout: 1, outs: [false, true], attrs: { linear_before_reset: lbr } }, q));
  }
  it("GRU, Y only, reverse", () => check("GRU", { T: 4, B: 2, I: 3, H: 4, bias: true, outs: [true, false], direction: "reverse" }, q));
  it("RNN", () => check("RNN", { T: 6, B: 2, I: 3, H: 5, bias: true, h0: true }, q));
  it("RNN, layout 1, Y_h only, bidirectional", () => check("RNN", { T: 4, B: 3, I: 2, H: 4, layout: 1, outs: [false, true], direction: "bidirectional" }, q));
});

describe("sequence_lens shorter than the sequence: the formulas assume T steps, an upper bound", () => {
  for (const op of ["LSTM", "GRU", "RNN"] as const) {
    it(`int8 ${op}`, async () => {
      const { spec } = build(op, { T: 5, B: 3, I: 2, H: 4, bias: true, lens: [5, 2, 1] }, ++seed);
      const c = await compileModel(write(spec), { quantize: "int8", calibrate: feedsOf(spec, seed + 2000, 8) });
      const [k] = mine(await analyticVsDynamic(c));
      for (const m of ["muls", "loadBytes", "storeBytes"] as const) expect(k.analytic![m]).toBeGreaterThan(k.dynamic[m]);
    });
  }
});

describe("Q-format LSTM", () => {
  for (const fixed of ["Q4.4", "Q8.8"]) {
    it(`${fixed}`, () => check("LSTM", { T: 5, B: 1, I: 3, H: 4, bias: true }, { fixed }));
    it(`${fixed}, batch 2, layout 1, initial h and c, no bias`, () => check("LSTM", { T: 3, B: 2, I: 4, H: 3, layout: 1, h0: true, c0: true }, { fixed }));
    it(`${fixed}, Y only`, () => check("LSTM", { T: 4, B: 2, I: 2, H: 5, bias: true, outs: [true, false, false] }, { fixed }));
    it(`${fixed}, Y_h only`, () => check("LSTM", { T: 4, B: 1, I: 2, H: 5, bias: true, outs: [false, true, false] }, { fixed }));
  }
});

describe("sunspots-lstm", () => {
  const DIR = "examples/sunspots-lstm";
  const T = 24;
  const series = readNpy(`${DIR}/series.npy`).data as Float32Array;
  const seq = series.slice(100, 100 + T);
  const calib = `${DIR}/calib.npy`;
  const whole = async (opts: CompileOptions) => {
    const c = await compileModel(`${DIR}/model.onnx`, opts);
    return expectExact(await analyticVsDynamic(c, { inputs: [seq] }));
  };
  it("float", () => whole({}));
  it("int8", () => whole({ quantize: "int8", calibrate: calib }));
  it("Q4.4", () => whole({ fixed: "Q4.4" }));

  // streaming: one year per step from a reset
  const frames = Array.from(seq, (v) => Float32Array.of(v));
  const streamed = async (opts: CompileOptions) => {
    const st = await compileModel(`${DIR}/model.onnx`, { ...opts, stream: true });
    expect(st.manifest.stream).toBeTruthy();
    return expectExact(await analyticVsDynamic(st, { inputs: frames }));
  };
  it("float, streaming", () => streamed({}));
  it("int8, streaming", () => streamed({ quantize: "int8", calibrate: calib }));
});

describe("streaming one-layer models (int8, one step per call)", () => {
  for (const [op, c] of [
    ["LSTM", { T: 6, B: 2, I: 3, H: 4, bias: true, h0: true, c0: true }],
    ["GRU", { T: 6, B: 1, I: 3, H: 4, bias: true }],
    ["GRU", { T: 6, B: 2, I: 3, H: 4, bias: true, attrs: { linear_before_reset: 1 } }],
    ["RNN", { T: 6, B: 2, I: 2, H: 3, bias: true, outs: [false, true] }],
  ] as Array<[RecOp, Case]>) {
    it(`${op} ${JSON.stringify(c.attrs ?? {})} B ${c.B}`, async () => {
      const { spec } = build(op, c, ++seed);
      const file = write(spec);
      const calibrate = feedsOf(spec, seed + 2000, 8);
      const st = await compileModel(file, { quantize: "int8", calibrate, stream: true });
      expect(st.manifest.stream).toBeTruthy();
      const r = rng(seed);
      const frames = Array.from({ length: 7 }, () => Float32Array.from(uniform(r, c.B * c.I)));
      expectExact(await analyticVsDynamic(st, { inputs: frames }));
    });
  }
});
