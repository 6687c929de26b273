// The six elementwise activations: Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid.
// Float: wasm vs the float64 reference vs onnxruntime within FLOAT_TOL (checkFloat), and then
// wasm vs reference element by element at a much tighter bound:
//   Relu, Clip, LeakyRelu: exact (max/min are exact; alpha * x of two float32 is exact in
//     float64, so rounding it once to float32 is what f32 multiplication does);
//   Sigmoid, Tanh: at most 4 float32 ulp (Mathf.exp / Mathf.tanh are within about 1 ulp,
//     sigmoid adds two more roundings), or 1e-30 absolute for outputs that underflow;
//   HardSigmoid: at most 2^-23 absolute (the kernel rounds alpha * x and the sum in f32, the
//     reference rounds once; both roundings are at most half an ulp of a value below 2).
// int8: bit-exact wasm vs integer interpreter (checkInt8) on inputs inside and far outside
// the calibrated range, a bound on the error in output steps for inputs inside it, and the
// full 256-entry table checked against this file's own evaluation of the definition
// table[q + 128] = clamp(roundHalfAway(f(s_in * (q - z_in)) / s_out) + z_out, -128, 127).
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type AttrV, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor, type Value } from "../../compiler/ir/graph.js";

type Attrs = Record<string, AttrV>;

function unary(op: string, shape: number[], attrs: Attrs = {}, opset = 13): ModelSpec {
  return { inputs: [{ name: "x", shape }], outputs: ["y"], nodes: [{ op, inputs: ["x"], outputs: ["y"], attrs }], opset };
}

const f32bits = new Float32Array(1), i32bits = new Int32Array(f32bits.buffer);
/** Position of a float32 on the number line of float32 values (monotonic, -0 == +0). */
function ordinal(x: number): number {
  f32bits[0] = x;
  const i = i32bits[0];
  return i < 0 ? -(i & 0x7fffffff) : i;
}

/** Largest elementwise difference between wasm and the reference: in ulps and absolute. */
async function wasmVsRef(c: Compiled, feeds: Array<Record<string, Value>>): Promise<{ ulps: number; abs: number; absIfUlps: (u: number) => number }> {
  const m = await instantiate(c.wasm, c.manifest);
  let ulps = 0, abs = 0;
  const pairs: Array<[number, number]> = [];
  for (const feed of feeds) {
    const got = runRaw(m, [feed.x])[0].data;
    const want = interpret(c.graph, feed)[c.graph.outputs[0]].data;
    for (let i = 0; i < got.length; i++) {
      ulps = Math.max(ulps, Math.abs(ordinal(got[i]) - ordinal(want[i])));
      abs = Math.max(abs, Math.abs(got[i] - want[i]));
      pairs.push([got[i], want[i]]);
    }
  }
  // worst absolute difference among elements more than u ulps apart
  const absIfUlps = (u: number) => pairs.reduce((w, [a, b]) => (Math.abs(ordinal(a) - ordinal(b)) > u ? Math.max(w, Math.abs(a - b)) : w), 0);
  return { ulps, abs, absIfUlps };
}

function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

/**
 * Compiles to int8, feeds every int8 value -128..127 (so most lie far outside the calibrated
 * range) and compares the wasm output with this test's own evaluation of the table definition.
 */
async function checkTable(spec: ModelSpec, calib: Array<Record<string, Value>>, f: (x: number) => number): Promise<void> {
  const s = { ...spec, inputs: [{ name: "x", shape: [2, 128] }] };
  const c = await compileModel(writeModel(s), { quantize: "int8", calibrate: calib.map((v) => ({ x: makeValue("float32", [2, 128], tile(v.x.data, 256)) })) });
  const m = await instantiate(c.wasm, c.manifest);
  const xq = tensor(c.graph, "x").quant!, yq = tensor(c.graph, "y").quant!;
  const qs = makeValue("int8", [2, 128], Array.from({ length: 256 }, (_, i) => i - 128));
  const got = runRaw(m, [qs])[0].data;
  for (let i = 0; i < 256; i++) {
    const y = f(xq.scale[0] * (qs.data[i] - xq.zeroPoint[0]));
    const want = Math.min(127, Math.max(-128, roundHalfAway(y / yq.scale[0]) + yq.zeroPoint[0]));
    expect(got[i], `q = ${qs.data[i]}`).toBe(want);
  }
}

/** A calibration sample spanning [lo, hi] exactly, so in-range test inputs never saturate. */
function span(shape: number[], lo: number, hi: number): Value {
  const n = shape.reduce((a, b) => a * b, 1);
  return makeValue("float32", shape, Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / Math.max(1, n - 1)));
}

function tile(src: ArrayLike<number>, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => src[i % src.length]);
}

interface Case { name: string; shape: number[]; attrs?: Attrs; opset?: number }

/**
 * The float and int8 checks shared by the activations. `lo`..`hi` is the calibration and
 * in-range test interval, `far` the half-width of the saturating test inputs, `ulps` / `abs`
 * the wasm-vs-reference bound stated at the top of this file.
 */
function suite(op: string, cases: Case[], f: (c: Case) => (x: number) => number, opts: { lo: number; hi: number; far: number; ulps: number; abs: number }) {
  cases.forEach((c, i) => {
    const spec = unary(op, c.shape, c.attrs, c.opset);
    it(`float: ${c.name}`, async () => {
      const r = rng(1000 + i);
      const feeds = [{ x: randValue(r, c.shape, opts.lo, opts.hi) }, { x: randValue(r, c.shape, -opts.far, opts.far) }];
      const comp = await checkFloat(spec, feeds);
      const d = await wasmVsRef(comp, feeds);
      if (opts.ulps === 0 && opts.abs === 0) expect(d.ulps, "wasm == reference exactly").toBe(0);
      else if (opts.abs > 0) expect(d.abs).toBeLessThanOrEqual(opts.abs);
      else expect(d.absIfUlps(opts.ulps), `elements more than ${opts.ulps} ulp apart`).toBeLessThanOrEqual(1e-30);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(2000 + i);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, c.shape, opts.lo, opts.hi) }));
      calib.push({ x: span(c.shape, opts.lo, opts.hi) });
      const res = await checkInt8(spec, calib, [{ x: randValue(r, c.shape, opts.lo, opts.hi) }]);
      expect(res.worstSteps).toBeLessThanOrEqual(stepBound(f(c), opts.lo, opts.hi));
      await checkInt8(spec, calib, [{ x: randValue(r, c.shape, -opts.far, opts.far) }]);
    });
  });
  it("int8 table equals the definition for all 256 inputs", async () => {
    const c = cases[cases.length - 1];
    const r = rng(3000);
    const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, [256], opts.lo, opts.hi) }));
    await checkTable(unary(op, [2, 128], c.attrs, c.opset), calib, f(c));
  });
}

/**
 * Largest int8 error, in output steps, for inputs inside the calibrated range [lo, hi]: half an
 * output step of rounding plus half an input step through the steepest slope of f. The ranges
 * are widened to contain 0 as actQuant does; every f here takes its extremes at lo, hi or 0.
 */
function stepBound(f: (x: number) => number, lo: number, hi: number): number {
  let slope = 0;
  const N = 20000, h = (hi - lo) / N;
  for (let k = 0; k < N; k++) slope = Math.max(slope, Math.abs(f(lo + (k + 1) * h) - f(lo + k * h)) / h);
  const sIn = (Math.max(hi, 0) - Math.min(lo, 0)) / 255;
  const ys = [f(lo), f(hi), 0];
  const sOut = (Math.max(...ys) - Math.min(...ys)) / 255 || 1;
  return 0.5 + 0.5 * slope * 1.001 * (sIn / sOut) + 1e-9;
}

describe("Relu", () => {
  suite("Relu", [
    { name: "[1,10]", shape: [1, 10] },
    { name: "[2,3,4,5]", shape: [2, 3, 4, 5] },
    { name: "[7] opset 11", shape: [7], opset: 11 },
  ], () => (x) => Math.max(0, x), { lo: -1, hi: 1, far: 6, ulps: 0, abs: 0 });
});

describe("LeakyRelu", () => {
  suite("LeakyRelu", [
    { name: "default alpha 0.01, [1,10]", shape: [1, 10] },
    { name: "alpha 0.1, [2,3,4,5]", shape: [2, 3, 4, 5], attrs: { alpha: { float: 0.1 } } },
    { name: "alpha 2, [3,7]", shape: [3, 7], attrs: { alpha: { float: 2 } } },
    { name: "alpha -0.3, [1,4,1,9]", shape: [1, 4, 1, 9], attrs: { alpha: { float: -0.3 } } },
  ], (c) => {
    const alpha = Math.fround(c.attrs?.alpha ? (c.attrs.alpha as { float: number }).float : 0.01);
    return (x) => (x < 0 ? alpha * x : x);
  }, { lo: -1, hi: 1, far: 6, ulps: 0, abs: 0 });
});

describe("Sigmoid", () => {
  suite("Sigmoid", [
    { name: "[1,10]", shape: [1, 10] },
    { name: "[2,3,4,5]", shape: [2, 3, 4, 5] },
    { name: "[33]", shape: [33] },
  ], () => (x) => 1 / (1 + Math.exp(-x)), { lo: -4, hi: 4, far: 20, ulps: 4, abs: 0 });
});

describe("Tanh", () => {
  suite("Tanh", [
    { name: "[1,10]", shape: [1, 10] },
    { name: "[2,3,4,5]", shape: [2, 3, 4, 5] },
    { name: "[33]", shape: [33] },
  ], () => Math.tanh, { lo: -3, hi: 3, far: 12, ulps: 4, abs: 0 });
});

describe("HardSigmoid", () => {
  suite("HardSigmoid", [
    { name: "defaults (alpha 0.2, beta 0.5), [1,10]", shape: [1, 10] },
    { name: "PyTorch alpha 1/6 beta 0.5, [2,3,4,5]", shape: [2, 3, 4, 5], attrs: { alpha: { float: 1 / 6 }, beta: { float: 0.5 } } },
    { name: "alpha 0.7 beta 0.1, [3,7]", shape: [3, 7], attrs: { alpha: { float: 0.7 }, beta: { float: 0.1 } } },
  ], (c) => {
    const alpha = Math.fround(c.attrs?.alpha ? (c.attrs.alpha as { float: number }).float : 0.2);
    const beta = Math.fround(c.attrs?.beta ? (c.attrs.beta as { float: number }).float : 0.5);
    return (x) => Math.max(0, Math.min(1, alpha * x + beta));
  }, { lo: -4, hi: 4, far: 12, ulps: 0, abs: 2 ** -23 });
});

describe("Clip", () => {
  const S = [2, 3, 5];
  const scalar = (name: string, v: number) => ({ name, shape: [], data: [v] });
  /** Opset 13 form: bounds as optional inputs ("" marks an absent one). */
  function clipInputs(min: number | undefined, max: number | undefined, shape = S): ModelSpec {
    const inputs = ["x", min === undefined ? "" : "lo", max === undefined ? "" : "hi"];
    while (inputs[inputs.length - 1] === "") inputs.pop();
    return {
      inputs: [{ name: "x", shape }], outputs: ["y"], opset: 13,
      initializers: [...(min === undefined ? [] : [scalar("lo", min)]), ...(max === undefined ? [] : [scalar("hi", max)])],
      nodes: [{ op: "Clip", inputs, outputs: ["y"] }],
    };
  }
  /** Opset 7/10 form: bounds as attributes. */
  function clipAttrs(opset: number, min: number | undefined, max: number | undefined, shape = S): ModelSpec {
    const attrs: Attrs = {};
    if (min !== undefined) attrs.min = { float: min };
    if (max !== undefined) attrs.max = { float: max };
    return unary("Clip", shape, attrs, opset);
  }
  const clipF = (min = -Infinity, max = Infinity) => (x: number) => Math.min(Math.max(x, Math.fround(min)), Math.fround(max));

  const CASES: Array<{ name: string; spec: ModelSpec; f: (x: number) => number }> = [
    { name: "opset 13 min and max", spec: clipInputs(-0.4, 0.3), f: clipF(-0.4, 0.3) },
    { name: "opset 13 min only", spec: clipInputs(-0.25, undefined), f: clipF(-0.25) },
    { name: "opset 13 max only", spec: clipInputs(undefined, 0.6, [1, 17]), f: clipF(undefined, 0.6) },
    { name: "opset 13 neither", spec: clipInputs(undefined, undefined, [4, 4]), f: clipF() },
    { name: "opset 13 ReLU6 (0, 6)", spec: clipInputs(0, 6), f: clipF(0, 6) },
    { name: "opset 13 min > max gives max everywhere", spec: clipInputs(0.5, -0.5), f: clipF(0.5, -0.5) },
    { name: "opset 11 min and max", spec: { ...clipInputs(-0.7, 0.2), opset: 11 }, f: clipF(-0.7, 0.2) },
    { name: "opset 10 attributes min and max", spec: clipAttrs(10, -0.5, 0.75), f: clipF(-0.5, 0.75) },
    { name: "opset 10 attribute max only", spec: clipAttrs(10, undefined, 0.1), f: clipF(undefined, 0.1) },
    { name: "opset 7 attribute min only", spec: clipAttrs(7, -0.2, undefined, [3, 8]), f: clipF(-0.2) },
    { name: "opset 7 no attributes", spec: clipAttrs(7, undefined, undefined), f: clipF() },
  ];
  CASES.forEach((c, i) => {
    const shape = c.spec.inputs[0].shape as number[];
    it(`float: ${c.name}`, async () => {
      const r = rng(4000 + i);
      const feeds = [{ x: randValue(r, shape) }, { x: randValue(r, shape, -8, 8) }];
      const comp = await checkFloat(c.spec, feeds);
      expect((await wasmVsRef(comp, feeds)).ulps, "wasm == reference exactly").toBe(0);
      // independent of the reference: the definition evaluated here
      const out = runRaw(await instantiate(comp.wasm, comp.manifest), [feeds[1].x])[0].data;
      expect(Array.from(out)).toEqual(Array.from(feeds[1].x.data, (v) => Math.fround(c.f(v))));
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(5000 + i);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, shape) }));
      calib.push({ x: span(shape, -1, 1) });
      const res = await checkInt8(c.spec, calib, [{ x: randValue(r, shape) }]);
      expect(res.worstSteps).toBeLessThanOrEqual(stepBound(c.f, -1, 1));
      await checkInt8(c.spec, calib, [{ x: randValue(r, shape, -8, 8) }]);
    });
  });

  it("int8 table equals the definition for all 256 inputs (opset 13 and opset 10 forms)", async () => {
    const r = rng(6000);
    const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, [256], -1.5, 1.5) }));
    const s13 = clipInputs(-0.4, 0.9, [2, 128]);
    await checkTable(s13, calib, clipF(-0.4, 0.9));
    await checkTable(clipAttrs(10, -1, 0.25, [2, 128]), calib, clipF(-1, 0.25));
  });

  it("refuses bounds computed at run time", async () => {
    const spec: ModelSpec = {
      inputs: [{ name: "x", shape: S }, { name: "lo", shape: [] }], outputs: ["y"], opset: 13,
      nodes: [{ op: "Clip", inputs: ["x", "lo"], outputs: ["y"] }],
    };
    await expect(compileModel(writeModel(spec))).rejects.toThrow(/Clip.*min \(input 1\) 'lo' is computed at run time/);
  });

  it("refuses a non-scalar bound", async () => {
    const spec = clipInputs(0, 1);
    spec.initializers = [{ name: "lo", shape: [2], data: [0, 0] }, scalar("hi", 1)];
    await expect(compileModel(writeModel(spec))).rejects.toThrow(/min \(input 1\) has shape 2; it must be a scalar/);
  });

  describe("Conv -> Clip(0, 6) (ReLU6) is fused into the Conv", () => {
    const X = [1, 3, 8, 8], W = [4, 3, 3, 3];
    function convClip(form: "inputs" | "attrs"): ModelSpec {
      const r = rng(77);
      return {
        inputs: [{ name: "x", shape: X }], outputs: ["y"], opset: form === "inputs" ? 13 : 10,
        initializers: [
          { name: "W", shape: W, data: uniform(r, 108, -1, 1) },
          { name: "B", shape: [4], data: uniform(r, 4, -1, 1) },
          ...(form === "inputs" ? [scalar("lo", 0), scalar("hi", 6)] : []),
        ],
        nodes: [
          { op: "Conv", inputs: ["x", "W", "B"], outputs: ["t"], attrs: { pads: [1, 1, 1, 1] } },
          form === "inputs"
            ? { op: "Clip", inputs: ["t", "lo", "hi"], outputs: ["y"] }
            : { op: "Clip", inputs: ["t"], outputs: ["y"], attrs: { min: { float: 0 }, max: { float: 6 } } },
        ],
      };
    }
    for (const form of ["inputs", "attrs"] as const) {
      it(`float, bounds as ${form}`, async () => {
        const r = rng(78);
        const x = randValue(r, X, -3, 3);
        const c = await checkFloat(convClip(form), [{ x }]);
        expect(c.graph.nodes.map((n) => n.op)).toEqual(["Conv"]);
        expect(c.graph.nodes[0].attrs).toMatchObject({ actMin: 0, actMax: 6 });
        // the data reaches both bounds, so the fused clamp is exercised
        const y = interpret(c.graph, { x }).y.data;
        expect(Math.min(...y)).toBe(0);
        expect(Math.max(...y)).toBe(6);
      });
      it(`int8, bounds as ${form}`, async () => {
        const r = rng(79);
        const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, X, -3, 3) }));
        calib.push({ x: span(X, -3, 3) });
        const c = await compileModel(writeModel(convClip(form)), { quantize: "int8", calibrate: calib });
        expect(c.graph.nodes.map((n) => n.op)).toEqual(["Conv"]);
        const res = await checkInt8(convClip(form), calib, [{ x: randValue(r, X, -3, 3) }]);
        // 27-tap accumulation of input rounding errors plus output rounding
        expect(res.worstSteps).toBeLessThan(4);
        await checkInt8(convClip(form), calib, [{ x: randValue(r, X, -12, 12) }]);
      });
    }
  });
});
