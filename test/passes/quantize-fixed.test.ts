// Q-format mode (--fixed Qm.f, the ElasticAI FPGA arithmetic): the integer helpers on values
// worked out by hand from the definitions in compiler/ops/INT8.md (truncation toward zero,
// saturation, hard sigmoid / hard tanh) in 8-bit and 16-bit formats; a fully connected layer
// checked by hand end to end (wasm and interpreter) in Q4.4 and in Q8.8 (int16 storage),
// including a sum of 16-bit products beyond int32; a chain of every supported non-recurrent
// op (Gemm with a fused Relu, MatMul by a constant, Add, Clip, HardSigmoid, Relu, Reshape,
// Concat, Transpose) and a model of the data movement kernels (Gather of single elements,
// strided Slices, Concat, Transpose) bit-exact between wasm and the integer interpreter in
// 6- to 8-bit (int8) and 9- to 16-bit (int16) formats on seeded inputs up to saturation,
// with the selftest passing; Q8.8 against Q4.4 against float on one model, within a
// derived error bound; the runner's float conversion for int16; and the refusals of
// formats, sizes, option mixes and ops.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runFloat, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor, type Value } from "../../compiler/ir/graph.js";
import { qCut, qFmt, qFromReal, qHardSigmoid, qHardTanh, qMul, qStorage, truncDiv } from "../../compiler/ir/fixedpoint.js";
import { checkQSum } from "../../compiler/ops/gemm.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";

const Q44 = qFmt(4, 4), Q26 = qFmt(2, 6), Q17 = qFmt(1, 7), Q24 = qFmt(2, 4);
const Q88 = qFmt(8, 8), Q115 = qFmt(1, 15), Q97 = qFmt(9, 7);

describe("Q-format integer helpers, on hand-computed values", () => {
  it("formats: ranges of Q4.4, Q2.6, Q2.4", () => {
    expect([Q44.lo, Q44.hi]).toEqual([-128, 127]);
    expect([Q26.lo, Q26.hi]).toEqual([-128, 127]);
    expect([Q24.lo, Q24.hi]).toEqual([-32, 31]); // 6 bits
  });
  it("formats: ranges and storage of Q8.8, Q1.15, Q9.7, Q6.7", () => {
    expect([Q88.lo, Q88.hi]).toEqual([-32768, 32767]);
    expect([Q115.lo, Q115.hi]).toEqual([-32768, 32767]);
    expect([qFmt(6, 7).lo, qFmt(6, 7).hi]).toEqual([-4096, 4095]); // 13 bits
    expect([Q44, Q24, Q17].map(qStorage)).toEqual(["int8", "int8", "int8"]);
    expect([Q88, Q115, Q97, qFmt(6, 7), qFmt(5, 4)].map(qStorage)).toEqual(["int16", "int16", "int16", "int16", "int16"]);
  });
  it("truncDiv rounds toward zero", () => {
    expect(truncDiv(7, 2)).toBe(3); // 3.5
    expect(truncDiv(-7, 2)).toBe(-3); // -3.5: toward zero, not -4
    expect(truncDiv(-8, 16) === 0).toBe(true); // -0.5 (truncDiv may give -0)
    expect(truncDiv(-32, 16)).toBe(-2);
  });
  it("constants: sat(trunc(x 2^f))", () => {
    expect(qFromReal(0.99, Q44)).toBe(15); // 15.84
    expect(qFromReal(-0.99, Q44)).toBe(-15); // -15.84, toward zero
    expect(qFromReal(0.0625, Q44)).toBe(1); // exactly one step
    expect(qFromReal(100, Q44)).toBe(127); // 1600 saturates
    expect(qFromReal(-100, Q44)).toBe(-128);
    expect(qFromReal(1.5, Q24)).toBe(24); // 6-bit Q2.4: 24 fits in [-32, 31]
    expect(qFromReal(2.5, Q24)).toBe(31); // 40 saturates at 31
    expect(qFromReal(-Infinity, Q24)).toBe(-32);
    expect(qFromReal(0.99, Q88)).toBe(253); // 253.44
    expect(qFromReal(-0.3, Q88)).toBe(-76); // -76.8, toward zero
    expect(qFromReal(127.999, Q88)).toBe(32767); // 32767.74
    expect(qFromReal(128, Q88)).toBe(32767); // 32768 saturates
    expect(qFromReal(-128, Q88)).toBe(-32768); // exactly lo
    expect(qFromReal(-1, Q115)).toBe(-32768);
    expect(qFromReal(1, Q115)).toBe(32767); // 1 does not fit in Q1.15
  });
  it("qCut: one truncating division by 2^f, then saturation", () => {
    expect(qCut(40, Q44)).toBe(2); // 2.5
    expect(qCut(-8, Q44)).toBe(0); // -0.5, and +0
    expect(qCut(-40, Q44)).toBe(-2); // -2.5
    expect(qCut(5000, Q44)).toBe(127); // 312.5
    expect(qCut(-5000, Q24)).toBe(-32); // -312.5 in 6 bits
    expect(qCut(-23872, Q88)).toBe(-93); // -93.25
    expect(qCut(3 * 2 ** 30, Q88)).toBe(32767); // beyond int32: 12582912 saturates
    expect(qCut(-(2 ** 31) * 5, Q115)).toBe(-32768);
  });
  it("qMul: sat(truncdiv(a b, 2^f))", () => {
    expect(qMul(5, 7, Q44)).toBe(2); // 35 / 16 = 2.19
    expect(qMul(-5, 7, Q44)).toBe(-2); // -2.19: toward zero (floor would be -3)
    expect(qMul(-128, -128, Q44)).toBe(127); // 16384 / 16 = 1024 saturates
    expect(qMul(64, 64, Q26)).toBe(64); // 1.0 * 1.0 in Q2.6
    expect(qMul(153, 234, Q88)).toBe(139); // 35802 / 256 = 139.85
    expect(qMul(-133, 256, Q88)).toBe(-133);
    expect(qMul(-32768, -32768, Q88)).toBe(32767); // 2^30 / 2^8 = 2^22 saturates
    expect(qMul(-32768, -32768, Q115)).toBe(32767); // (-1) * (-1) = 1 does not fit
    expect(qMul(-32768, 16384, Q115)).toBe(-16384); // -1 * 0.5
  });
  it("hard sigmoid: 0 at or below -3, 1 at or above 3, truncdiv(x + 3, 6) between", () => {
    // Q4.4: 3 is 48, 1 is 16
    expect(qHardSigmoid(-48, Q44)).toBe(0);
    expect(qHardSigmoid(-128, Q44)).toBe(0);
    expect(qHardSigmoid(48, Q44)).toBe(16);
    expect(qHardSigmoid(127, Q44)).toBe(16);
    expect(qHardSigmoid(0, Q44)).toBe(8); // 48 / 6
    expect(qHardSigmoid(-1, Q44)).toBe(7); // 47 / 6 = 7.83
    expect(qHardSigmoid(10, Q44)).toBe(9); // 58 / 6 = 9.67
    expect(qHardSigmoid(-47, Q44)).toBe(0); // 1 / 6
    expect(qHardSigmoid(47, Q44)).toBe(15); // 95 / 6 = 15.83
    // Q2.6: 3 is 192, beyond the range [-2, 2): the ramp covers every value
    expect(qHardSigmoid(127, Q26)).toBe(53); // 319 / 6 = 53.17
    expect(qHardSigmoid(-128, Q26)).toBe(10); // 64 / 6 = 10.67
    expect(qHardSigmoid(0, Q26)).toBe(32); // 0.5
    // Q1.7: 3 is 384
    expect(qHardSigmoid(127, Q17)).toBe(85); // 511 / 6 = 85.17
    // Q8.8: 3 is 768, 1 is 256
    expect(qHardSigmoid(0, Q88)).toBe(128);
    expect(qHardSigmoid(-1, Q88)).toBe(127); // 767 / 6 = 127.83
    expect(qHardSigmoid(767, Q88)).toBe(255); // 1535 / 6 = 255.83
    expect(qHardSigmoid(768, Q88)).toBe(256);
    expect(qHardSigmoid(-768, Q88)).toBe(0);
    expect(qHardSigmoid(-32768, Q88)).toBe(0);
    // Q1.15: 3 is 98304, outside the range; 0.5 is 16384
    expect(qHardSigmoid(32767, Q115)).toBe(21845); // 131071 / 6 = 21845.17
    expect(qHardSigmoid(-32768, Q115)).toBe(10922); // 65536 / 6 = 10922.67
  });
  it("hard tanh: clamp to [-1, 1], 1 saturated to the format's maximum", () => {
    expect(qHardTanh(100, Q26)).toBe(64);
    expect(qHardTanh(-100, Q26)).toBe(-64);
    expect(qHardTanh(20, Q26)).toBe(20);
    expect(qHardTanh(127, Q17)).toBe(127); // 1 = 128 does not fit in Q1.7
    expect(qHardTanh(-128, Q17)).toBe(-128); // -1 does
    expect(qHardTanh(-17, Q44)).toBe(-16);
    expect(qHardTanh(300, Q88)).toBe(256);
    expect(qHardTanh(-32768, Q88)).toBe(-256);
    expect(qHardTanh(32767, Q115)).toBe(32767);
  });
  it("sum bounds: int32 up to 8 bits, exact float64 (i64 in the kernels) from 9", () => {
    const at = (terms: number, F: { m: number; f: number }) => () => checkQSum(terms, F, `K = ${terms}`, "m.onnx: node 'fc' (Gemm)");
    // 8 bits: |a w| <= 2^14, so K 2^14 < 2^31 allows K < 2^17
    expect(at(2 ** 17 - 1, Q44)).not.toThrow();
    expect(at(2 ** 17, Q44)).toThrow(/node 'fc' \(Gemm\): K = 131072 is too large for int32 sums of 8-bit products in Q4\.4/);
    // 16 bits: |a w| <= 2^30, K 2^30 < 2^53 allows K < 2^23
    expect(at(2 ** 23 - 1, Q88)).not.toThrow();
    expect(at(2 ** 23, Q88)).toThrow(/K = 8388608 is too large for exact int64 \(float64 in the reference\) sums of 16-bit products in Q8\.8/);
    // 12 bits: |a w| <= 2^22, K < 2^31
    expect(at(2 ** 31 - 1, qFmt(6, 6))).not.toThrow();
    expect(at(2 ** 31, qFmt(6, 6))).toThrow(/12-bit products/);
  });
});

/** The format of "Qm.f". */
const fmtOf = (fixed: string) => qFmt(...(fixed.slice(1).split(".").map(Number) as [number, number]));

/** Float feeds on the grid: sat(trunc(x 2^f)) in the format's storage. */
function qFeeds(names: string[], feed: Record<string, Value>, fixed: string): Record<string, Value> {
  const F = fmtOf(fixed);
  return Object.fromEntries(names.map((n) => [n, makeValue(qStorage(F), feed[n].shape, Array.from(feed[n].data, (x) => qFromReal(x, F)))]));
}

async function compileRun(model: string, fixed: string, feed: Record<string, Value>) {
  const c = await compileModel(model, { fixed, selftest: true });
  const m = await instantiate(c.wasm, c.manifest);
  const F = fmtOf(fixed);
  const qfeed = qFeeds(c.graph.inputs, feed, fixed);
  const got = runRaw(m, c.graph.inputs.map((n) => qfeed[n]));
  const ref = interpret(c.graph, qfeed);
  return { c, m, F, got, ref, selftest: (m.instance.exports.selftest as () => number)() };
}

describe("Q-format fully connected layer, by hand", () => {
  it("Gemm + fused Relu in Q4.4: [11, 52, 0, 127]", async () => {
    // x = [1, -0.5] -> [16, -8]; rows of W (on the grid: w * 16) and biases trunc(b * 16):
    //   [0.75, 0.25] -> [12, 4],    b 0.1 -> 1:    acc 192 - 32 = 160 -> 10, + 1 = 11
    //   [2, -3] -> [32, -48],       b -0.3 -> -4:  acc 512 + 384 = 896 -> 56, - 4 = 52
    //   [-1, 0.5] -> [-16, 8],      b -0.05 -> 0:  acc -256 - 64 = -320 -> -20, Relu -> 0
    //   [7.9, -7.9] -> [126, -126], b 0:           acc 2016 + 1008 = 3024 -> 189 -> sat 127
    const model = writeModel({
      inputs: [{ name: "x", shape: [1, 2] }], outputs: ["y"],
      initializers: [
        { name: "W", shape: [4, 2], data: [0.75, 0.25, 2, -3, -1, 0.5, 7.9, -7.9] },
        { name: "b", shape: [4], data: [0.1, -0.3, -0.05, 0] },
      ],
      nodes: [
        { op: "Gemm", inputs: ["x", "W", "b"], outputs: ["t"], attrs: { transB: 1 } },
        { op: "Relu", inputs: ["t"], outputs: ["y"] },
      ],
    });
    const r = await compileRun(model, "Q4.4", { x: makeValue("float32", [1, 2], [1, -0.5]) });
    expect(r.selftest).toBe(0);
    expect(r.c.graph.nodes.map((n) => n.op)).toEqual(["Gemm"]); // the Relu is fused
    expect(Array.from(r.got[0].data)).toEqual([11, 52, 0, 127]);
    expect(Array.from(r.ref.y.data)).toEqual([11, 52, 0, 127]);
    expect(r.c.manifest.mode).toBe("Q4.4");
    expect(r.c.manifest.outputs[0]).toMatchObject({ dtype: "int8", scale: 1 / 16, zeroPoint: 0 });
    expect(r.c.header).toMatch(/\(Q4\.4\)/);
    expect(r.c.header).not.toMatch(/IS_INT16/);
  });

  // the same layer in Q8.8 (int16 storage), and row 4 scaled so that it saturates
  const byHand = (w4: number[]) => writeModel({
    inputs: [{ name: "x", shape: [1, 2] }], outputs: ["y"],
    initializers: [
      { name: "W", shape: [4, 2], data: [0.75, 0.25, 2, -3, -1, 0.5, ...w4] },
      { name: "b", shape: [4], data: [0.1, -0.3, -0.05, 0] },
    ],
    nodes: [
      { op: "Gemm", inputs: ["x", "W", "b"], outputs: ["t"], attrs: { transB: 1 } },
      { op: "Relu", inputs: ["t"], outputs: ["y"] },
    ],
  });
  it("Gemm + fused Relu in Q8.8: [185, 820, 0, 32767], int16 end to end", async () => {
    // x = [1, -0.5] -> [256, -128]; rows of W (w * 256) and biases trunc(b * 256):
    //   [0.75, 0.25] -> [192, 64],   b 0.1 -> 25 (25.6):    acc 49152 - 8192 = 40960 -> 160, + 25 = 185
    //   [2, -3] -> [512, -768],      b -0.3 -> -76 (-76.8): acc 131072 + 98304 = 229376 -> 896, - 76 = 820
    //   [-1, 0.5] -> [-256, 128],    b -0.05 -> -12:        acc -65536 - 16384 = -81920 -> -320 - 12, Relu -> 0
    //   [100, -100] -> [25600, -25600], b 0:                acc 6553600 + 3276800 = 9830400 -> 38400 -> sat 32767
    const r = await compileRun(byHand([100, -100]), "Q8.8", { x: makeValue("float32", [1, 2], [1, -0.5]) });
    expect(r.selftest).toBe(0);
    expect(r.got[0].dtype).toBe("int16");
    expect(Array.from(r.got[0].data)).toEqual([185, 820, 0, 32767]);
    expect(Array.from(r.ref.y.data)).toEqual([185, 820, 0, 32767]);
    expect(r.c.manifest.mode).toBe("Q8.8");
    expect(r.c.manifest.inputs[0]).toMatchObject({ dtype: "int16", scale: 1 / 256, zeroPoint: 0, bytes: 4 });
    expect(r.c.manifest.outputs[0]).toMatchObject({ dtype: "int16", scale: 1 / 256, zeroPoint: 0, bytes: 8 });
    expect(r.c.manifest.totals.paramBytes).toBe(2 * (8 + 4)); // W and b in int16
    expect(r.c.header).toMatch(/\(Q8\.8\)/);
    expect(r.c.header).toMatch(/#define PJ_OUTPUT0_IS_INT8 0\n#define PJ_OUTPUT0_IS_INT16 1/);
    expect(r.c.source).toMatch(/fc_q16\(/);
    expect(r.c.source).not.toMatch(/fc_q8/);
    expect(r.c.source).toMatch(/count_diff_i16\(/);
  });
  it("Q8.8: a sum of 16-bit products beyond int32 saturates (i64 sums), it does not wrap", async () => {
    // x = [-128, -128] -> [-32768, -32768]; row 4 [-128, -128] -> [-32768, -32768]: acc = 2 * 2^30 = 2^31,
    // one past INT32_MAX (wrapping would give -2^31 -> -2^23 -> sat -32768 -> Relu 0); the exact
    // sum cuts to 2^23 and saturates to 32767. The other rows:
    //   [192, 64]:   acc -8388608 -> -32768, + 25 = -32743, Relu -> 0
    //   [512, -768]: acc 8388608 -> 32768 -> sat 32767, - 76 = 32691 (the cut saturates before the bias)
    //   [-256, 128]: acc 4194304 -> 16384, - 12 = 16372
    const r = await compileRun(byHand([-128, -128]), "Q8.8", { x: makeValue("float32", [1, 2], [-128, -128]) });
    expect(r.selftest).toBe(0);
    expect(Array.from(r.ref.y.data)).toEqual([0, 32691, 16372, 32767]);
    expect(Array.from(r.got[0].data)).toEqual([0, 32691, 16372, 32767]);
  });
});

/**
 * x [2, 6] -> Gemm(6->8) + Relu -> MatMul(8x8) -> Add(const [8]) -> Clip(-1, 1) -> HardSigmoid(1/6, 1/2)
 * and, beside it, Transpose / Reshape / Concat of the MatMul output with the Add output, a
 * standalone Relu on a graph output.
 */
function chain(seed: number, wscale: number): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [2, 6] }], outputs: ["hs", "cat"],
    initializers: [
      { name: "W1", shape: [8, 6], data: uniform(r, 48, -wscale, wscale) },
      { name: "b1", shape: [8], data: uniform(r, 8, -0.5, 0.5) },
      { name: "W2", shape: [8, 8], data: uniform(r, 64, -wscale, wscale) },
      { name: "c", shape: [8], data: uniform(r, 8, -1, 1) },
      { name: "shape", shape: [2], data: [4, 4], dtype: 7 },
    ],
    nodes: [
      { op: "Gemm", inputs: ["x", "W1", "b1"], outputs: ["g"], attrs: { transB: 1 } },
      { op: "Relu", inputs: ["g"], outputs: ["gr"] },
      { op: "MatMul", inputs: ["gr", "W2"], outputs: ["mm"] },
      { op: "Add", inputs: ["c", "mm"], outputs: ["s"] },
      { op: "Clip", inputs: ["s"], outputs: ["ht"], attrs: { min: -1, max: 1 } },
      { op: "HardSigmoid", inputs: ["ht"], outputs: ["hs"], attrs: { alpha: 1 / 6, beta: 0.5 } },
      { op: "Transpose", inputs: ["mm"], outputs: ["mt"], attrs: { perm: [1, 0] } },
      { op: "Reshape", inputs: ["mt", "shape"], outputs: ["mr"] },
      { op: "Relu", inputs: ["s"], outputs: ["sr"] },
      { op: "Reshape", inputs: ["sr", "shape"], outputs: ["sq"] },
      { op: "Concat", inputs: ["mr", "sq"], outputs: ["cat"], attrs: { axis: 1 } },
    ],
    opset: 6, // Clip bounds as attributes
  };
}

/** Runs raw Q feeds on a compiled module and through the integer interpreter. */
function runBoth(c: Awaited<ReturnType<typeof compileModel>>, m: Awaited<ReturnType<typeof instantiate>>, fixed: string, feed: Record<string, Value>) {
  const qfeed = qFeeds(c.graph.inputs, feed, fixed);
  return { got: runRaw(m, c.graph.inputs.map((n) => qfeed[n])), ref: interpret(c.graph, qfeed) };
}

/** Every output of the wasm equals the interpreter's, in the format's storage and range. */
function expectSame(c: Awaited<ReturnType<typeof compileModel>>, r: ReturnType<typeof runBoth>, fixed: string, what: string) {
  const F = fmtOf(fixed);
  c.graph.outputs.forEach((n, i) => {
    expect(r.got[i].dtype, n).toBe(qStorage(F));
    expect(r.ref[n].dtype, n).toBe(qStorage(F));
    expect(Array.from(r.got[i].data), `wasm vs interpreter, ${n}, ${what}`).toEqual(Array.from(r.ref[n].data));
    for (const v of r.got[i].data) expect(v >= F.lo && v <= F.hi).toBe(true); // every value is on the format's range
  });
}

/** Input ranges: inside the format, around its rails, and far beyond (every input saturates). */
const ranges = (F: { m: number }) => [[-1, 1], [-8, 8], [-(2 ** F.m), 2 ** F.m], [-(2 ** (F.m + 3)), 2 ** (F.m + 3)]];

const CHAIN_FORMATS: Array<[string, number]> = [
  ["Q4.4", 1], ["Q4.4", 4], ["Q2.6", 0.6], ["Q2.4", 1], ["Q1.7", 0.5], // int8 storage
  ["Q8.8", 1], ["Q8.8", 40], ["Q6.10", 1], ["Q9.7", 4], ["Q1.15", 0.5], ["Q4.12", 2], ["Q6.7", 1], ["Q5.4", 3], // int16
];

describe("Q-format chain of ops: wasm bit-exact with the integer interpreter", () => {
  for (const [fixed, wscale] of CHAIN_FORMATS) {
    it(`${fixed}, weights in [-${wscale}, ${wscale}]`, async () => {
      const model = writeModel(chain(7, wscale));
      const c = await compileModel(model, { fixed, selftest: true });
      const m = await instantiate(c.wasm, c.manifest);
      const F = fmtOf(fixed);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      for (const [lo, hi] of ranges(F)) {
        const r = runBoth(c, m, fixed, { x: randValue(rng(11), [2, 6], lo, hi) });
        expectSame(c, r, fixed, `inputs in [${lo}, ${hi}]`);
        // hard sigmoid of a hard tanh: within [hs(-1), hs(1)] = [truncdiv(-1 + 3, 6), truncdiv(1 + 3, 6)]
        // on the grid, 1 being min(2^f, hi)
        const hsLo = Math.trunc(2 ** (F.f + 1) / 6), hsHi = Math.trunc((Math.min(2 ** F.f, F.hi) + 3 * 2 ** F.f) / 6);
        for (const v of r.got[0].data) expect(v >= hsLo && v <= hsHi).toBe(true);
      }
      for (const n of c.graph.nodes) expect(n.q?.fixed).toEqual({ m: F.m, f: F.f });
      for (const t of c.graph.tensors.values()) {
        if (t.dtype === "int64") continue;
        expect(t.quant, t.name).toEqual({ scale: [2 ** -F.f], zeroPoint: [0], axis: -1 });
        expect(t.dtype, t.name).toBe(qStorage(F));
      }
      // the kernels of the storage: int16 has its own, int8 exactly the ones it had
      const q16 = ["fc_q16", "add_q16", "clamp_q16", "hsig_q16"], q8 = ["fc_q8", "add_q8", "lut_s8"];
      for (const k of qStorage(F) === "int16" ? q16 : q8) expect(c.source).toMatch(new RegExp(`${k}\\(`));
      for (const k of qStorage(F) === "int16" ? q8 : q16) expect(c.source).not.toMatch(new RegExp(k));
    });
  }

  for (const fixed of ["Q4.4", "Q8.8"]) {
    it(`Concat of Q tensors copies elements (no requantization), ${fixed}`, async () => {
      const c = await compileModel(writeModel(chain(7, 1)), { fixed });
      const cat = c.graph.nodes.find((n) => n.op === "Concat")!;
      expect(cat.q!.copy).toEqual([1, 1]);
      expect(c.source).toMatch(/concat_copy/);
      expect(c.source).not.toMatch(/concat_s8/);
      expect(tensor(c.graph, "cat").dtype).toBe(qStorage(fmtOf(fixed)));
      // two [4, 4] blocks side by side: rows of 4 elements into rows of 8
      const es = fixed === "Q4.4" ? 1 : 2;
      expect(c.source).toMatch(new RegExp(`concat_copy\\([^)]*, 4, ${4 * es}, ${8 * es}\\)`));
    });
  }
});

/**
 * The data movement kernels on their own: Gather of single elements (gather_s8 / gather_s16),
 * Gather of rows, a step-2 and a step -1 Slice (strided copies), Transpose (a strided
 * gather), Concat and views. Their outputs are input values moved, so besides the wasm
 * matching the interpreter, the Q result equals the float model run on the grid values.
 */
function moves(): ModelSpec {
  const i64 = (name: string, data: number[]) => ({ name, shape: [data.length], data, dtype: 7 });
  return {
    inputs: [{ name: "x", shape: [3, 6] }], outputs: ["y", "rows"],
    initializers: [
      { name: "idx", shape: [3], data: [5, 0, 3], dtype: 7 }, { name: "ridx", shape: [2], data: [2, 0], dtype: 7 },
      i64("st", [0]), i64("en", [6]), i64("ax", [1]), i64("two", [2]),
      i64("st2", [5]), i64("en2", [-7]), i64("m1", [-1]), i64("sh", [4, 3, 3]),
    ],
    nodes: [
      { op: "Gather", inputs: ["x", "idx"], outputs: ["g"], attrs: { axis: 1 } }, // [3, 3], single elements
      { op: "Gather", inputs: ["x", "ridx"], outputs: ["rows"], attrs: { axis: 0 } }, // [2, 6], rows
      { op: "Slice", inputs: ["x", "st", "en", "ax", "two"], outputs: ["s2"] }, // [3, 3], step 2
      { op: "Slice", inputs: ["x", "st2", "en2", "ax", "m1"], outputs: ["sr"] }, // [3, 6], reversed
      { op: "Transpose", inputs: ["sr"], outputs: ["srt"], attrs: { perm: [1, 0] } }, // [6, 3]
      { op: "Concat", inputs: ["g", "s2", "srt"], outputs: ["cat"], attrs: { axis: 0 } }, // [12, 3]
      { op: "Reshape", inputs: ["cat", "sh"], outputs: ["r3"] }, // [4, 3, 3]
      { op: "Transpose", inputs: ["r3"], outputs: ["y"], attrs: { perm: [2, 0, 1] } }, // [3, 4, 3]
    ],
  };
}

describe("Q-format data movement: element sizes 1 and 2", () => {
  for (const fixed of ["Q4.4", "Q2.6", "Q8.8", "Q9.7", "Q1.15"]) {
    it(fixed, async () => {
      const c = await compileModel(writeModel(moves()), { fixed, selftest: true });
      const m = await instantiate(c.wasm, c.manifest);
      const F = fmtOf(fixed);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      expect(c.source).toMatch(qStorage(F) === "int8" ? /gather_s8\(/ : /gather_s16\(/);
      const es = qStorage(F) === "int8" ? 1 : 2;
      expect(c.source).toMatch(new RegExp(`transpose\\([^)]*, ${es}\\);`));
      expect(c.source).toMatch(new RegExp(`slice\\([^)]*, ${es}\\);`));
      for (const [lo, hi] of ranges(F)) {
        const feed = { x: randValue(rng(3), [3, 6], lo, hi) };
        const r = runBoth(c, m, fixed, feed);
        expectSame(c, r, fixed, `inputs in [${lo}, ${hi}]`);
        // the float model on the grid values: the same values, moved
        const onGrid = makeValue("float32", [3, 6], Array.from(feed.x.data, (v) => qFromReal(v, F) * 2 ** -F.f));
        const fl = interpret(c.floatGraph, { x: onGrid });
        c.graph.outputs.forEach((n, i) => expect(Array.from(r.got[i].data, (q) => q * 2 ** -F.f), n).toEqual(Array.from(fl[n].data)));
      }
    });
  }
});

/**
 * Q8.8 against Q4.4 against float, on the chain with weights in [-a, a], a = 0.3, and inputs
 * in [-1, 1], where no value leaves Q4.4's range [-8, 8) (|g| <= 6a + 0.5 = 2.3,
 * |mm| <= 8a * 2.3 = 5.52, |s| <= 6.52), so the only errors are the grid's. With
 * e = 2^-f, truncation toward zero moves a converted constant or input by less than e and
 * never increases its magnitude; each cut and the hard sigmoid's division by 6 lose less
 * than e; Relu and Clip are 1-Lipschitz, the hard sigmoid 1/6-Lipschitz. Then
 *   Gemm:   e_g  <= K1 (|x| e + a e) + e (cut) + e (bias)                   K1 = 6, |x| <= 1
 *   MatMul: e_mm <= K2 ((G + e_g) e + a e_g) + e (cut)                       K2 = 8, G = 2.3
 *   Add:    e_s  <= e_mm + e (constant c);   hs: e_hs <= e_s / 6 + e
 * and every output (hs, and cat holding mm and Relu(s)) is within e_s of the float model.
 * Q8.8's e is 1/16 of Q4.4's, and since truncation errors have one sign they do not cancel:
 * Q8.8 must be within its bound and many times closer than Q4.4.
 */
describe("Q8.8 is much closer to float than Q4.4 (same model, derived bound)", () => {
  const a = 0.3, K1 = 6, K2 = 8, G = K1 * a + 0.5;
  const bound = (f: number) => {
    const e = 2 ** -f;
    const eg = K1 * (e + a * e) + 2 * e;
    const emm = K2 * ((G + eg) * e + a * eg) + e;
    return emm + e + 1e-5; // + float32 rounding of the float model
  };
  const worst = async (fixed: string) => {
    const c = await compileModel(writeModel(chain(7, a)), { fixed });
    const m = await instantiate(c.wasm, c.manifest);
    const F = fmtOf(fixed);
    let w = 0;
    for (let s = 0; s < 20; s++) {
      const feed = { x: randValue(rng(100 + s), [2, 6], -1, 1) };
      const r = runBoth(c, m, fixed, feed);
      const fl = interpret(c.floatGraph, feed);
      c.graph.outputs.forEach((n, i) => {
        expect(Array.from(r.got[i].data)).toEqual(Array.from(r.ref[n].data));
        for (let k = 0; k < r.got[i].data.length; k++) w = Math.max(w, Math.abs(r.got[i].data[k] * 2 ** -F.f - fl[n].data[k]));
      });
    }
    return w;
  };
  it("worst |Q - float| over 20 seeded inputs", async () => {
    const w44 = await worst("Q4.4"), w88 = await worst("Q8.8");
    console.log(`chain, weights in [-${a}, ${a}]: worst |Q - float| Q4.4 ${w44.toFixed(4)} (bound ${bound(4).toFixed(4)}), Q8.8 ${w88.toFixed(5)} (bound ${bound(8).toFixed(5)})`);
    expect(w44).toBeLessThanOrEqual(bound(4));
    expect(w88).toBeLessThanOrEqual(bound(8));
    expect(w88 * 8).toBeLessThan(w44);
  });
});

/** The runner's float path with int16: sat(trunc(x 2^f)) in, q 2^-f out (Clip(-1000, 1000) is the identity on Q8.8). */
describe("runner: float inputs and outputs of a Q8.8 module", () => {
  it("converts like constants and dequantizes", async () => {
    const model = writeModel({
      inputs: [{ name: "x", shape: [1, 6] }], outputs: ["y"],
      nodes: [{ op: "Clip", inputs: ["x"], outputs: ["y"], attrs: { min: -1000, max: 1000 } }], opset: 6,
    });
    const c = await compileModel(model, { fixed: "Q8.8" });
    const m = await instantiate(c.wasm, c.manifest);
    const [y] = runFloat(m, [Float32Array.from([0.9999, -0.0059, 1.5, 200, -200, -128])]);
    // 255.97 -> 255; -1.51 -> -1 (toward zero); 384 exactly; 51200 -> 32767; -51200 -> -32768; -32768
    expect(Array.from(y)).toEqual([255, -1, 384, 32767, -32768, -32768].map((q) => q / 256));
    expect(c.source).toMatch(/clamp_q16\(/);
  });
});

describe("Q-format refusals", () => {
  const gemm = (extra?: { op: string; attrs?: Record<string, number> }) => writeModel({
    inputs: [{ name: "x", shape: [1, 3] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [2, 3], data: [0.1, 0.2, 0.3, -0.1, -0.2, -0.3] }],
    nodes: [
      { op: "Gemm", inputs: ["x", "W"], outputs: [extra ? "t" : "y"], attrs: { transB: 1 }, name: "fc" },
      ...(extra ? [{ op: extra.op, inputs: ["t"], outputs: ["y"], name: "act", attrs: extra.attrs }] : []),
    ],
  });
  const refuse = (model: string, opts: Parameters<typeof compileModel>[1], re: RegExp) => expect(compileModel(model, opts)).rejects.toThrow(re);
  it("9- to 16-bit formats are accepted (int16 storage); 17 bits and more are not", async () => {
    for (const fixed of ["Q8.8", "Q1.15", "Q5.4", "Q16.0"]) expect((await compileModel(gemm(), { fixed })).manifest.inputs[0].dtype).toBe("int16");
    await refuse(gemm(), { fixed: "Q9.8" }, /--fixed Q9\.8: 17 bits; Q formats have at most 16 bits/);
    await refuse(gemm(), { fixed: "Q1.16" }, /--fixed Q1\.16: 17 bits; Q formats have at most 16 bits/);
  });
  it("bad syntax", async () => {
    await refuse(gemm(), { fixed: "Q4" }, /--fixed Q4: expected Qm\.f/);
    await refuse(gemm(), { fixed: "4.4" }, /--fixed 4\.4: expected Qm\.f/);
  });
  it("more than 16 bits, no sign bit, too few bits", async () => {
    await refuse(gemm(), { fixed: "Q12.8" }, /--fixed Q12\.8: 20 bits; Q formats have at most 16 bits/);
    await refuse(gemm(), { fixed: "Q0.8" }, /--fixed Q0\.8: m counts the sign bit/);
    await refuse(gemm(), { fixed: "Q1.0" }, /--fixed Q1\.0: 1 bit; a Q format needs at least 2 bits/);
  });
  it("with --quantize int8 or --calibrate", async () => {
    await refuse(gemm(), { fixed: "Q4.4", quantize: "int8" }, /--fixed Q4\.4 and --quantize int8 exclude each other/);
    await refuse(gemm(), { fixed: "Q4.4", calibrate: [{ x: randValue(rng(1), [1, 3]) }] }, /--fixed Q4\.4: --calibrate is not used/);
  });
  it("Sigmoid (and other ops without a Q form), naming node and op and listing what Q mode runs", () =>
    refuse(gemm({ op: "Sigmoid" }), { fixed: "Q4.4" }, /node 'act' \(Sigmoid\): Sigmoid has no Q4\.4 form; --fixed supports Gemm .*LSTM .*Reshape/));
  it("HardSigmoid with ONNX's default alpha 0.2", () =>
    refuse(gemm({ op: "HardSigmoid" }), { fixed: "Q4.4" }, /node 'act' \(HardSigmoid\): HardSigmoid alpha 0\.2.* has no Q4\.4 form/));
  it("MatMul of two run-time operands", () => {
    const model = writeModel({
      inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [3, 2] }], outputs: ["y"],
      nodes: [{ op: "MatMul", inputs: ["a", "b"], outputs: ["y"], name: "mm" }],
    });
    return refuse(model, { fixed: "Q4.4" }, /node 'mm' \(MatMul\): only a MatMul by a constant matrix .* has a Q4\.4 form; B 'b' is computed at run time/);
  });
});
