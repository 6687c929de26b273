// Analytic costs of the misc kernels (compiler/cost/misc.ts) equal the instrumented module's
// counts (multiplies, bytes read, bytes written) per layer, for every layer whose kernels
// are all misc kernels. Small models hold one node per case (several independent cases
// share a module, so kernels run both specialized to one call's literals and shared by
// calls with different ones), in float, int8 (calibrated on a few random feeds) and, where
// the op has one, a Q format (Q4.4 on int8 storage, Q8.8 on int16):
// - Add and Mul with equal shapes, per-channel [C,1,1] and scalar constants (either side),
//   a trailing-axis operand, two-sided broadcasting over several walk levels, odd sizes and
//   a fused Relu; a lone int8 Add (its multipliers specialized);
// - the activations (Tanh on inputs where its expm1f takes the path the formula counts),
//   int8 tables, Q8.8 clamp and hard sigmoid; LeakyRelu alone and with two alphas;
// - BatchNormalization (3-D and 4-D), Concat (row blocks and whole rows; int8 requantizing
//   and copying), Gather (rows, runs, single elements), GlobalAveragePool (plane sizes off
//   the 4-sum unroll), Pad (pads, crops, a pad value, nothing surviving), Slice (steps 2
//   and -1), Softmax (last axis and a middle one), Transpose;
// - MaxPool and AveragePool: pads, asymmetric pads, strides, dilations, ceil_mode,
//   count_include_pad 0/1 (int8 with a non-zero zero point), 1-D and 2-D;
// - the shipped examples' other layers: digits-cnn (MaxPool; float, int8), sunspots-lstm
//   (Transpose, Gather; float, int8, Q4.4), ecg-tcn (Add; full window, and streamed:
//   StreamShift, float and int8) and ecg-tcn under SOI k = 2 (TimeUpsample: streamed and
//   full-window, hold in float, extrapolate in int8, and predict).
// The last test checks that every kernel with a formula ran somewhere above.
import { describe, expect, it } from "vitest";
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { MISC } from "../../compiler/cost/misc.js";
import { writeModel, type ModelSpec, type NodeSpec } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";

const MINE = new Set(Object.keys(MISC));
const seen = new Set<string>();

type Init = NonNullable<ModelSpec["initializers"]>[number];
const f32 = (name: string, shape: number[], seed: number, lo = -1, hi = 1): Init => ({ name, shape, data: uniform(rng(seed), shape.reduce((a, b) => a * b, 1), lo, hi) });
const i64 = (name: string, data: number[]): Init => ({ name, shape: [data.length], data, dtype: 7 });

/** Calibration feeds: uniform in [lo, hi]. */
const calib = (spec: ModelSpec, lo = -1, hi = 1, n = 6) => {
  const r = rng(7);
  return Array.from({ length: n }, () => Object.fromEntries(spec.inputs.map((i) => [i.name, { dtype: "float32" as const, shape: i.shape as number[], data: uniform(r, (i.shape as number[]).reduce((a, b) => a * b, 1), lo, hi) }])));
};

/**
 * Compiles, profiles and compares the layers run by misc kernels only; `want`: kernels that
 * must be among them. `inputs`: the profile's feeds (default: uniform in [-1, 1]).
 */
async function check(model: string | ModelSpec, opts: CompileOptions, want: string[], inputs?: Float32Array[]) {
  const file = typeof model === "string" ? model : writeModel(model);
  const c = await compileModel(file, opts);
  const checks = (await analyticVsDynamic(c, inputs ? { inputs } : {})).filter((k) => k.kernels !== "" && k.kernels.split("+").every((n) => MINE.has(n)));
  expect(mismatches(checks)).toEqual([]);
  const ran = new Set(checks.flatMap((k) => k.kernels.split("+")));
  for (const k of want) expect(ran.has(k), `${k} among ${[...ran].join(", ")}`).toBe(true);
  ran.forEach((k) => seen.add(k));
  return checks;
}

const int8 = (spec: ModelSpec, lo = -1, hi = 1): CompileOptions => ({ quantize: "int8", calibrate: calib(spec, lo, hi) });

/** Add or Mul cases side by side: every broadcasting shape the row plan distinguishes. */
function binary(op: string): ModelSpec {
  const nodes: NodeSpec[] = [
    { op, inputs: ["a", "b"], outputs: ["y1"] }, // equal shapes: one row
    { op, inputs: ["a", "c"], outputs: ["y2"] }, // per-channel constant: a scalar per row
    { op, inputs: ["k", "a"], outputs: ["y3"] }, // scalar constant first: one row, A fixed
    { op, inputs: ["a", "d"], outputs: ["y4"] }, // trailing axis: 24 rows of 5
    { op, inputs: ["e", "f"], outputs: ["y5"] }, // both sides broadcast: 24 rows over 3 walk levels
    { op, inputs: ["g", "h"], outputs: ["y6.c"] }, // odd sizes, then a fused Relu
    { op: "Relu", inputs: ["y6.c"], outputs: ["y6"] },
  ];
  return {
    inputs: [
      { name: "a", shape: [2, 3, 4, 5] }, { name: "b", shape: [2, 3, 4, 5] }, { name: "d", shape: [5] },
      { name: "e", shape: [2, 1, 4, 1] }, { name: "f", shape: [1, 3, 1, 5] }, { name: "g", shape: [7, 1] }, { name: "h", shape: [1, 3] },
    ],
    outputs: ["y1", "y2", "y3", "y4", "y5", "y6"],
    initializers: [f32("c", [3, 1, 1], 1), f32("k", [1], 2, 0.5, 0.9)],
    nodes,
  };
}

describe("Add and Mul", () => {
  it("float Add", () => check(binary("Add"), {}, ["add_f32"]));
  it("float Mul", () => check(binary("Mul"), {}, ["mul_f32"]));
  it("int8 Add", () => check(binary("Add"), int8(binary("Add")), ["add_s8"]));
  it("int8 Mul", () => check(binary("Mul"), int8(binary("Mul")), ["mul_s8"]));
  const lone: ModelSpec = { inputs: [{ name: "a", shape: [1, 4, 3, 3] }], outputs: ["y"], initializers: [f32("c", [4, 1, 1], 3, -3, 3)], nodes: [{ op: "Add", inputs: ["c", "a"], outputs: ["y"] }] };
  it("int8 Add alone (multipliers specialized)", () => check(lone, int8(lone), ["add_s8"]));
  for (const fixed of ["Q4.4", "Q8.8"]) it(`${fixed} Add`, () => check(binary("Add"), { fixed }, [fixed === "Q4.4" ? "add_q8" : "add_q16"]));
});

function activations(withTanh: boolean): ModelSpec {
  return {
    inputs: [{ name: "x", shape: [3, 7] }], outputs: ["r", "cl", "lr", "sg", "hs", ...(withTanh ? ["th"] : [])],
    initializers: [{ name: "lo", shape: [], data: [-0.5] }, { name: "hi", shape: [], data: [0.7] }],
    nodes: [
      { op: "Relu", inputs: ["x"], outputs: ["r"] },
      { op: "Clip", inputs: ["x", "lo", "hi"], outputs: ["cl"] },
      { op: "LeakyRelu", inputs: ["x"], outputs: ["lr"], attrs: { alpha: 0.1 } },
      { op: "Sigmoid", inputs: ["x"], outputs: ["sg"] },
      { op: "HardSigmoid", inputs: ["x"], outputs: ["hs"], attrs: { alpha: 1 / 6, beta: 0.5 } },
      ...(withTanh ? [{ op: "Tanh", inputs: ["x"], outputs: ["th"] }] : []),
    ],
  };
}

describe("activations", () => {
  it("float", () => check(activations(false), {}, ["relu_f32", "clip_f32", "leaky_relu_f32", "sigmoid_f32", "hard_sigmoid_f32"]));
  // inputs with 0.6 <= |x| < 4.6: the tanhf path whose multiplies the formula counts
  const r = rng(5);
  const tanhIn = Float32Array.from({ length: 21 }, () => (r() < 0.5 ? -1 : 1) * (0.6 + 4 * r()));
  it("float Tanh", () => check({ inputs: [{ name: "x", shape: [3, 7] }], outputs: ["y"], nodes: [{ op: "Tanh", inputs: ["x"], outputs: ["y"] }] }, {}, ["tanh_f32"], [tanhIn]));
  const leaky: ModelSpec = {
    inputs: [{ name: "x", shape: [9] }], outputs: ["a", "b"],
    nodes: [{ op: "LeakyRelu", inputs: ["x"], outputs: ["a"], attrs: { alpha: 0.1 } }, { op: "LeakyRelu", inputs: ["x"], outputs: ["b"], attrs: { alpha: 0.3 } }],
  };
  it("float LeakyRelu, two alphas", () => check(leaky, {}, ["leaky_relu_f32"]));
  it("int8 (tables)", () => check(activations(true), int8(activations(true)), ["lut_s8"]));
  it("Q8.8 clamp and hard sigmoid", () => {
    const spec = activations(false);
    spec.nodes = spec.nodes.filter((n) => ["Relu", "Clip", "HardSigmoid"].includes(n.op));
    spec.outputs = ["r", "cl", "hs"];
    return check(spec, { fixed: "Q8.8" }, ["clamp_q16", "hsig_q16"]);
  });
});

describe("batch normalization, concat, gather, global average pool", () => {
  const bn: ModelSpec = {
    inputs: [{ name: "x", shape: [2, 3, 5] }, { name: "z", shape: [1, 4, 3, 3] }], outputs: ["y", "w"],
    initializers: [
      f32("s3", [3], 1, 0.5, 1.5), f32("b3", [3], 2), f32("m3", [3], 3, -0.2, 0.2), f32("v3", [3], 4, 0.5, 2),
      f32("s4", [4], 5, 0.5, 1.5), f32("b4", [4], 6), f32("m4", [4], 7, -0.2, 0.2), f32("v4", [4], 8, 0.5, 2),
    ],
    nodes: [
      { op: "BatchNormalization", inputs: ["x", "s3", "b3", "m3", "v3"], outputs: ["y"] },
      { op: "BatchNormalization", inputs: ["z", "s4", "b4", "m4", "v4"], outputs: ["w"] },
    ],
  };
  it("float BatchNormalization", () => check(bn, {}, ["batchnorm_f32"]));
  it("int8 BatchNormalization", () => check(bn, int8(bn), ["batchnorm_s8"]));

  const cat: ModelSpec = {
    inputs: [{ name: "p", shape: [2, 3, 4] }, { name: "q", shape: [2, 5, 4] }, { name: "r", shape: [3, 4] }, { name: "t", shape: [2, 4] }],
    outputs: ["pq", "rt2"],
    initializers: [f32("three", [1], 1, 3, 3)],
    nodes: [
      { op: "Concat", inputs: ["p", "q"], outputs: ["pq"], attrs: { axis: 1 } }, // blocks of rows, outer 2
      { op: "Mul", inputs: ["t", "three"], outputs: ["t3"] }, // another scale: int8 requantizes it
      { op: "Concat", inputs: ["r", "t3"], outputs: ["rt"], attrs: { axis: 0 } }, // whole rows: one copy each
      { op: "Concat", inputs: ["rt", "rt"], outputs: ["rt2"], attrs: { axis: 1 } },
    ],
  };
  it("float Concat", () => check(cat, {}, ["concat_copy"]));
  it("int8 Concat", () => check(cat, int8(cat), ["concat_copy", "concat_s8"]));

  const gather: ModelSpec = {
    inputs: [{ name: "x", shape: [5, 4] }, { name: "u", shape: [2, 6, 4] }, { name: "v", shape: [3, 6] }], outputs: ["g1", "g2", "g3", "g4"],
    initializers: [i64("i1", [4, 0, 2]), i64("i2", [1, 2, 3, 3, 0]), i64("i3", [5, 0, 3]), { name: "i4", shape: [], data: [-1], dtype: 7 }],
    nodes: [
      { op: "Gather", inputs: ["x", "i1"], outputs: ["g1"], attrs: { axis: 0 } }, // rows, three runs
      { op: "Gather", inputs: ["u", "i2"], outputs: ["g2"], attrs: { axis: 1 } }, // runs in two outer blocks
      { op: "Gather", inputs: ["v", "i3"], outputs: ["g3"], attrs: { axis: 1 } }, // single elements
      { op: "Gather", inputs: ["u", "i4"], outputs: ["g4"], attrs: { axis: 1 } }, // scalar index: one run
    ],
  };
  it("float Gather", () => check(gather, {}, ["gather_rows", "gather_f32"]));
  it("int8 Gather", () => check(gather, int8(gather), ["gather_rows", "gather_s8"]));

  const gap: ModelSpec = {
    inputs: [{ name: "x", shape: [2, 3, 5, 5] }, { name: "z", shape: [1, 4, 7] }], outputs: ["y", "w"],
    nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }, { op: "GlobalAveragePool", inputs: ["z"], outputs: ["w"] }],
  };
  it("float GlobalAveragePool", () => check(gap, {}, ["gap_f32"]));
  const gap16: ModelSpec = { inputs: [{ name: "x", shape: [1, 3, 4, 4] }], outputs: ["y"], nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }] };
  it("float GlobalAveragePool alone, 16 elements (the division a multiply)", () => check(gap16, {}, ["gap_f32"]));
  it("int8 GlobalAveragePool", () => check(gap, int8(gap), ["gap_s8"]));
});

describe("pad, slice, softmax, transpose", () => {
  const pad: ModelSpec = {
    inputs: [{ name: "x", shape: [1, 2, 3, 4] }, { name: "s", shape: [1, 3] }], outputs: ["p1", "p2", "p3"],
    initializers: [
      i64("pads1", [0, 0, 1, 2, 0, 0, 2, 1]), i64("pads2", [0, 0, -1, 1, 0, 0, 1, -2]), i64("pads3", [0, -3, 0, 5]),
      { name: "v", shape: [], data: [0.25] },
    ],
    nodes: [
      { op: "Pad", inputs: ["x", "pads1"], outputs: ["p1"] }, // zeros around
      { op: "Pad", inputs: ["x", "pads2", "v"], outputs: ["p2"] }, // crops and pads, value 0.25
      { op: "Pad", inputs: ["s", "pads3"], outputs: ["p3"] }, // nothing of the input survives
    ],
  };
  it("float Pad", () => check(pad, {}, ["pad_f32"]));
  it("int8 Pad", () => check(pad, int8(pad), ["pad_s8"]));

  const slice: ModelSpec = {
    inputs: [{ name: "x", shape: [4, 6] }, { name: "z", shape: [3, 4, 5] }], outputs: ["s1", "s2", "s3"],
    initializers: [
      i64("st", [1]), i64("en", [6]), i64("ax", [1]), i64("two", [2]),
      i64("st2", [3]), i64("en2", [-5]), i64("ax0", [0]), i64("m1", [-1]),
      i64("st3", [1, 1]), i64("en3", [3, 5]), i64("ax3", [1, 2]),
    ],
    nodes: [
      { op: "Slice", inputs: ["x", "st", "en", "ax", "two"], outputs: ["s1"] }, // step 2 on the last axis
      { op: "Slice", inputs: ["x", "st2", "en2", "ax0", "m1"], outputs: ["s2"] }, // reversed rows
      { op: "Slice", inputs: ["z", "st3", "en3", "ax3"], outputs: ["s3"] }, // a box: rows copied
    ],
  };
  it("float Slice", () => check(slice, {}, ["slice"]));
  it("int8 Slice", () => check(slice, int8(slice), ["slice"]));

  const softmax: ModelSpec = {
    inputs: [{ name: "x", shape: [3, 7] }, { name: "z", shape: [2, 5, 3] }], outputs: ["y", "w"],
    nodes: [{ op: "Softmax", inputs: ["x"], outputs: ["y"], attrs: { axis: -1 } }, { op: "Softmax", inputs: ["z"], outputs: ["w"], attrs: { axis: 1 } }],
  };
  it("float Softmax", () => check(softmax, {}, ["softmax_f32"]));
  it("int8 Softmax", () => check(softmax, int8(softmax), ["softmax_s8"]));

  const tr: ModelSpec = {
    inputs: [{ name: "x", shape: [2, 3, 4] }, { name: "z", shape: [3, 5] }, { name: "w", shape: [2, 3, 4, 5] }], outputs: ["t1", "t2", "t3"],
    nodes: [
      { op: "Transpose", inputs: ["x"], outputs: ["t1"], attrs: { perm: [2, 0, 1] } },
      { op: "Transpose", inputs: ["z"], outputs: ["t2"], attrs: { perm: [1, 0] } },
      { op: "Transpose", inputs: ["w"], outputs: ["t3"], attrs: { perm: [0, 2, 1, 3] } }, // rows of 5 stay contiguous
    ],
  };
  it("float Transpose", () => check(tr, {}, ["transpose"]));
  it("int8 Transpose", () => check(tr, int8(tr), ["transpose"]));
});

/** Q-format data movement (after the examples in test/passes/quantize-fixed.test.ts). */
function moves(): ModelSpec {
  return {
    inputs: [{ name: "x", shape: [3, 6] }], outputs: ["y", "rows", "srt"],
    initializers: [i64("idx", [5, 0, 3]), i64("ridx", [2, 0]), i64("st", [0]), i64("en", [6]), i64("ax", [1]), i64("two", [2]), i64("st2", [5]), i64("en2", [-7]), i64("m1", [-1])],
    nodes: [
      { op: "Gather", inputs: ["x", "idx"], outputs: ["g"], attrs: { axis: 1 } },
      { op: "Gather", inputs: ["x", "ridx"], outputs: ["rows"], attrs: { axis: 0 } },
      { op: "Slice", inputs: ["x", "st", "en", "ax", "two"], outputs: ["s2"] },
      { op: "Slice", inputs: ["x", "st2", "en2", "ax", "m1"], outputs: ["sr"] },
      { op: "Transpose", inputs: ["sr"], outputs: ["srt"], attrs: { perm: [1, 0] } },
      { op: "Concat", inputs: ["g", "s2"], outputs: ["gs"], attrs: { axis: 1 } },
      { op: "Concat", inputs: ["gs", "sr"], outputs: ["y"], attrs: { axis: 0 } },
    ],
  };
}

describe("Q-format data movement", () => {
  it("Q4.4", () => check(moves(), { fixed: "Q4.4" }, ["gather_s8", "gather_rows", "slice", "transpose", "concat_copy"]));
  it("Q8.8", () => check(moves(), { fixed: "Q8.8" }, ["gather_s16", "gather_rows", "slice", "transpose", "concat_copy"]));
});

describe("pooling", () => {
  const pools: ModelSpec = {
    inputs: [{ name: "x", shape: [1, 2, 8, 8] }, { name: "z", shape: [1, 2, 9, 8] }, { name: "u", shape: [1, 3, 20] }],
    outputs: ["m1", "m2", "m3", "a1", "a2", "a3", "a4"],
    nodes: [
      { op: "MaxPool", inputs: ["x"], outputs: ["m1"], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
      { op: "MaxPool", inputs: ["z"], outputs: ["m2"], attrs: { kernel_shape: [3, 2], dilations: [2, 1], strides: [1, 2], pads: [2, 1, 1, 0] } },
      { op: "MaxPool", inputs: ["u"], outputs: ["m3"], attrs: { kernel_shape: [3], dilations: [2], strides: [2], pads: [2, 2], ceil_mode: 1 } },
      { op: "AveragePool", inputs: ["x"], outputs: ["a1"], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: 1 } },
      { op: "AveragePool", inputs: ["x"], outputs: ["a2"], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
      { op: "AveragePool", inputs: ["z"], outputs: ["a3"], attrs: { kernel_shape: [3, 2], strides: [2, 1], pads: [0, 1, 2, 0], count_include_pad: 1 } },
      { op: "AveragePool", inputs: ["u"], outputs: ["a4"], attrs: { kernel_shape: [3], strides: [2], pads: [1, 2], ceil_mode: 1, count_include_pad: 1 } },
    ],
  };
  it("float MaxPool and AveragePool", () => check(pools, {}, ["maxpool_f32", "avgpool_f32"]));
  // inputs calibrated on [0.2, 2]: a zero point far from 0, so counted padding weighs in
  it("int8 MaxPool and AveragePool", () => check(pools, int8(pools, 0.2, 2), ["maxpool_s8", "avgpool_s8"]));
  const lone: ModelSpec = { inputs: [{ name: "x", shape: [1, 2, 7, 6] }], outputs: ["y"], nodes: [{ op: "AveragePool", inputs: ["x"], outputs: ["y"], attrs: { kernel_shape: [3, 3], strides: [2, 2], auto_pad: "SAME_UPPER", count_include_pad: 1 } }] };
  it("int8 AveragePool alone (zero point specialized)", () => check(lone, int8(lone, 0.2, 2), ["avgpool_s8"]));
});

describe("examples", () => {
  const ex = (name: string, file = "model.onnx") => `examples/${name}/${file}`;
  const q = (name: string) => ({ quantize: "int8" as const, calibrate: `examples/${name}/calib.npy` });
  it("digits-cnn float", () => check(ex("digits-cnn"), {}, ["maxpool_f32"]));
  it("digits-cnn int8", () => check(ex("digits-cnn"), q("digits-cnn"), ["maxpool_s8"]));
  it("sunspots-lstm float", () => check(ex("sunspots-lstm"), {}, ["transpose", "gather_rows"]));
  it("sunspots-lstm int8", () => check(ex("sunspots-lstm"), q("sunspots-lstm"), ["transpose", "gather_rows"]));
  it("sunspots-lstm Q4.4", () => check(ex("sunspots-lstm"), { fixed: "Q4.4" }, ["transpose", "gather_rows"]));
  it("ecg-tcn float", () => check(ex("ecg-tcn"), {}, ["add_f32"]));
  it("ecg-tcn streamed, float", () => check(ex("ecg-tcn"), { stream: true }, ["stream_shift", "add_f32"]));
  it("ecg-tcn streamed, int8", () => check(ex("ecg-tcn"), { stream: true, ...q("ecg-tcn") }, ["stream_shift", "add_s8"]));
  it("ecg-tcn SOI hold, streamed, float", () => check(ex("ecg-tcn"), { stream: true, soi: { k: 2, mode: "hold" } }, ["upsample_step_f32"]));
  it("ecg-tcn SOI extrapolate, streamed, int8", () => check(ex("ecg-tcn"), { stream: true, soi: { k: 2, mode: "extrapolate" }, ...q("ecg-tcn") }, ["upsample_step_s8"]));
  it("ecg-tcn SOI extrapolate, streamed, float", () => check(ex("ecg-tcn"), { stream: true, soi: { k: 2, mode: "extrapolate" } }, ["upsample_step_f32"]));
  it("ecg-tcn SOI hold, full window, float", () => check(ex("ecg-tcn"), { soi: { k: 2, mode: "hold" } }, ["upsample_time_f32"]));
  it("ecg-tcn SOI extrapolate, full window, float", () => check(ex("ecg-tcn"), { soi: { k: 2, mode: "extrapolate" } }, ["upsample_time_f32"]));
  it("ecg-tcn SOI extrapolate, full window, int8", () => check(ex("ecg-tcn"), { soi: { k: 2, mode: "extrapolate" }, ...q("ecg-tcn") }, ["upsample_time_s8"]));
  it("ecg-tcn SOI predict, full window, int8", () => check(ex("ecg-tcn"), { soi: { k: 2, mode: "predict" }, ...q("ecg-tcn") }, ["upsample_time_s8"]));
});


it("every misc kernel ran above", () => {
  expect([...MINE].filter((k) => !seen.has(k))).toEqual([]);
});
