// Q-format mode (--fixed Qm.f, the ElasticAI FPGA arithmetic): the integer helpers on values
// worked out by hand from the definitions in compiler/ops/INT8.md (truncation toward zero,
// saturation, hard sigmoid / hard tanh); a fully connected layer checked by hand end to end
// (wasm and interpreter); a chain of every supported non-recurrent op (Gemm with a fused
// Relu, MatMul by a constant, Add, Clip, HardSigmoid, Relu, Reshape, Concat, Transpose)
// bit-exact between wasm and the integer interpreter in 8-bit and 6-bit formats, with the
// selftest passing; and the refusals of formats, option mixes and ops.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor, type Value } from "../../compiler/ir/graph.js";
import { qCut, qFmt, qFromReal, qHardSigmoid, qHardTanh, qMul, truncDiv } from "../../compiler/ir/fixedpoint.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";

const Q44 = qFmt(4, 4), Q26 = qFmt(2, 6), Q17 = qFmt(1, 7), Q24 = qFmt(2, 4);

describe("Q-format integer helpers, on hand-computed values", () => {
  it("formats: ranges of Q4.4, Q2.6, Q2.4", () => {
    expect([Q44.lo, Q44.hi]).toEqual([-128, 127]);
    expect([Q26.lo, Q26.hi]).toEqual([-128, 127]);
    expect([Q24.lo, Q24.hi]).toEqual([-32, 31]); // 6 bits
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
  });
  it("qCut: one truncating division by 2^f, then saturation", () => {
    expect(qCut(40, Q44)).toBe(2); // 2.5
    expect(qCut(-8, Q44)).toBe(0); // -0.5, and +0
    expect(qCut(-40, Q44)).toBe(-2); // -2.5
    expect(qCut(5000, Q44)).toBe(127); // 312.5
    expect(qCut(-5000, Q24)).toBe(-32); // -312.5 in 6 bits
  });
  it("qMul: sat(truncdiv(a b, 2^f))", () => {
    expect(qMul(5, 7, Q44)).toBe(2); // 35 / 16 = 2.19
    expect(qMul(-5, 7, Q44)).toBe(-2); // -2.19: toward zero (floor would be -3)
    expect(qMul(-128, -128, Q44)).toBe(127); // 16384 / 16 = 1024 saturates
    expect(qMul(64, 64, Q26)).toBe(64); // 1.0 * 1.0 in Q2.6
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
  });
  it("hard tanh: clamp to [-1, 1], 1 saturated to the format's maximum", () => {
    expect(qHardTanh(100, Q26)).toBe(64);
    expect(qHardTanh(-100, Q26)).toBe(-64);
    expect(qHardTanh(20, Q26)).toBe(20);
    expect(qHardTanh(127, Q17)).toBe(127); // 1 = 128 does not fit in Q1.7
    expect(qHardTanh(-128, Q17)).toBe(-128); // -1 does
    expect(qHardTanh(-17, Q44)).toBe(-16);
  });
});

async function compileRun(model: string, fixed: string, feed: Record<string, Value>) {
  const c = await compileModel(model, { fixed, selftest: true });
  const m = await instantiate(c.wasm, c.manifest);
  const F = qFmt(...(fixed.slice(1).split(".").map(Number) as [number, number]));
  const qfeed = Object.fromEntries(c.graph.inputs.map((n) => [n, makeValue("int8", feed[n].shape, Array.from(feed[n].data, (x) => qFromReal(x, F)))]));
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

describe("Q-format chain of ops: wasm bit-exact with the integer interpreter", () => {
  for (const [fixed, wscale] of [["Q4.4", 1], ["Q4.4", 4], ["Q2.6", 0.6], ["Q2.4", 1], ["Q1.7", 0.5]] as Array<[string, number]>) {
    it(`${fixed}, weights in [-${wscale}, ${wscale}]`, async () => {
      const spec = chain(7, wscale);
      const model = writeModel(spec);
      for (const [lo, hi] of [[-1, 1], [-8, 8]]) {
        const feed = { x: randValue(rng(11), [2, 6], lo, hi) };
        const r = await compileRun(model, fixed, feed);
        expect(r.selftest).toBe(0);
        r.c.graph.outputs.forEach((n, i) => {
          expect(Array.from(r.got[i].data), `wasm vs interpreter, ${n}`).toEqual(Array.from(r.ref[n].data));
          // every value is on the format's range
          for (const v of r.got[i].data) expect(v >= r.F.lo && v <= r.F.hi).toBe(true);
        });
        // hard sigmoid of a hard tanh: within [hs(-1), hs(1)] = [truncdiv(-1 + 3, 6), truncdiv(1 + 3, 6)]
        // on the grid, 1 being min(2^f, hi)
        const hsLo = Math.trunc(2 ** (r.F.f + 1) / 6), hsHi = Math.trunc((Math.min(2 ** r.F.f, r.F.hi) + 3 * 2 ** r.F.f) / 6);
        for (const v of r.got[0].data) expect(v >= hsLo && v <= hsHi).toBe(true);
        for (const n of r.c.graph.nodes) expect(n.q?.fixed).toEqual({ m: r.F.m, f: r.F.f });
        for (const t of r.c.graph.tensors.values()) {
          if (t.dtype !== "int64") expect(t.quant, t.name).toEqual({ scale: [2 ** -r.F.f], zeroPoint: [0], axis: -1 });
        }
      }
    });
  }

  it("Concat of Q tensors copies bytes (no requantization)", async () => {
    const c = await compileModel(writeModel(chain(7, 1)), { fixed: "Q4.4" });
    const cat = c.graph.nodes.find((n) => n.op === "Concat")!;
    expect(cat.q!.copy).toEqual([1, 1]);
    expect(c.source).toMatch(/concat_copy/);
    expect(c.source).not.toMatch(/concat_s8/);
    expect(tensor(c.graph, "cat").dtype).toBe("int8");
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
  it("16-bit formats: int16 storage is not implemented yet", () =>
    refuse(gemm(), { fixed: "Q8.8" }, /--fixed Q8\.8: 16-bit formats need int16 storage, which is not implemented yet/));
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
