// Analytic costs of the convolution kernels (compiler/cost/conv.ts) equal the instrumented
// module's counts (multiplies, bytes read, bytes written) per layer, in float and int8: every
// kernel kind the compiler picks (compiler/ops/conv.ts kernelKind: blk, dw, pw, generic) over
// 1-D and 2-D geometry, strides 1 and 2, dilations 1 and 2, pads 0, 1, asymmetric and wider
// than the kernel, channel counts that are not multiples of four, groups, depthwise
// multipliers, batches of two, with and without bias, a fused Relu; and the conv layers of
// the shipped examples digits-cnn and ecg-tcn, ecg-tcn also streamed (counts per step on
// average). In the examples only layers whose kernels are all conv_* are checked.
import { describe, expect, it } from "vitest";
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches, type LayerCheck } from "../helpers/cost.js";

interface Case {
  name: string; x: number[]; w: number[]; attrs?: Record<string, number[] | number | string>;
  bias?: boolean; relu?: boolean; runtimeW?: boolean; floatOnly?: boolean;
}

const CASES: Case[] = [
  // blk: four output channels per pass (int8: two positions per pass)
  { name: "blk 3x3 pad 1, 3 -> 6 channels", x: [1, 3, 8, 8], w: [6, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: "blk stride 2, dilation 2 x 1, asymmetric pads", x: [1, 2, 9, 7], w: [3, 2, 3, 2], attrs: { strides: [2, 2], dilations: [2, 1], pads: [0, 1, 2, 0] }, bias: true },
  { name: "blk dilation 2 along W, stride 2 along W, no bias", x: [1, 3, 7, 9], w: [5, 3, 2, 3], attrs: { strides: [1, 2], dilations: [1, 2], pads: [1, 2, 0, 1] } },
  { name: "blk groups 2, 3 channels per group", x: [1, 4, 6, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { name: "blk SAME_UPPER stride 2, no bias", x: [1, 2, 5, 6], w: [3, 2, 2, 3], attrs: { auto_pad: "SAME_UPPER", strides: [2, 2] } },
  { name: "blk kernel wider than the input, big pads", x: [1, 2, 3, 3], w: [2, 2, 5, 5], attrs: { pads: [3, 3, 2, 4] }, bias: true },
  { name: "blk 1x1 stride 2", x: [1, 4, 6, 5], w: [5, 4, 1, 1], attrs: { strides: [2, 2] }, bias: true },
  { name: "blk batch 2, fused Relu", x: [2, 3, 5, 5], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, relu: true },
  { name: "blk 1-D dilated causal", x: [1, 3, 20], w: [5, 3, 3], attrs: { dilations: [2], pads: [4, 0] }, bias: true },
  { name: "blk 1-D kernel 5 stride 2", x: [1, 5, 19], w: [9, 5, 5], attrs: { strides: [2], pads: [2, 1] }, bias: true },
  // dw: one input channel per output channel
  { name: "dw 3x3 stride 2 pad 1", x: [1, 5, 7, 7], w: [5, 1, 3, 3], attrs: { group: 5, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
  { name: "dw 3x3 pad 2 (columns with one and two taps), batch 2", x: [2, 2, 6, 6], w: [2, 1, 3, 3], attrs: { group: 2, pads: [2, 2, 2, 2] }, bias: true },
  { name: "dw 3x3 no padding, no bias, fused Relu", x: [1, 3, 6, 6], w: [3, 1, 3, 3], attrs: { group: 3 }, relu: true },
  { name: "dw 3x3 pads wider than the kernel", x: [1, 2, 4, 4], w: [2, 1, 3, 3], attrs: { group: 2, pads: [3, 3, 3, 3] }, bias: true },
  { name: "dw 3x3 dilation 2", x: [1, 4, 9, 9], w: [4, 1, 3, 3], attrs: { group: 4, dilations: [2, 2], pads: [2, 1, 2, 3] }, bias: true },
  { name: "dw 2x3 asymmetric pads", x: [1, 3, 6, 7], w: [3, 1, 2, 3], attrs: { group: 3, pads: [1, 1, 0, 1] }, bias: true },
  { name: "dw 4x4 stride 2", x: [1, 2, 9, 8], w: [2, 1, 4, 4], attrs: { group: 2, strides: [2, 2], pads: [1, 2, 1, 0] }, bias: true },
  { name: "dw single input channel, 4 outputs", x: [1, 1, 8, 8], w: [4, 1, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: "dw multiplier 3", x: [1, 2, 6, 6], w: [6, 1, 3, 3], attrs: { group: 2, pads: [1, 0, 1, 1] } },
  { name: "dw 1-D kernel 3 pad 1", x: [1, 6, 16], w: [6, 1, 3], attrs: { group: 6, pads: [1, 1] }, bias: true },
  { name: "dw 1-D kernel 5 stride 3", x: [1, 4, 17], w: [4, 1, 5], attrs: { group: 4, strides: [3], pads: [2, 2] }, bias: true },
  { name: "dw 1-D kernel 3 dilation 2 stride 2", x: [1, 3, 15], w: [3, 1, 3], attrs: { group: 3, strides: [2], dilations: [2], pads: [4, 1] }, bias: true },
  // pw: 1x1, stride 1, no padding
  { name: "pw 5 -> 6 channels, 12 positions", x: [1, 5, 4, 3], w: [6, 5, 1, 1], bias: true },
  { name: "pw 4 -> 3 channels, 15 positions, no bias", x: [1, 4, 3, 5], w: [3, 4, 1, 1] },
  { name: "pw groups 2, batch 2", x: [2, 6, 2, 3], w: [4, 3, 1, 1], attrs: { group: 2 }, bias: true },
  { name: "pw 1-D, 9 positions, fused Relu", x: [1, 7, 9], w: [9, 7, 1], bias: true, relu: true },
  // generic: weights computed at run time, or kernels wider than 255 taps
  { name: "generic run-time weights", x: [1, 3, 6, 7], w: [4, 3, 3, 3], attrs: { strides: [2, 1], dilations: [1, 2], pads: [1, 0, 2, 1] }, bias: true, runtimeW: true, floatOnly: true },
  { name: "generic run-time weights, groups 2, batch 2, no bias", x: [2, 4, 5, 5], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, runtimeW: true, floatOnly: true },
  { name: "generic 1-D kernel 256", x: [1, 2, 300], w: [3, 2, 256], attrs: { strides: [2], pads: [3, 2] }, bias: true },
  { name: "generic 2-D kernel 256 x 2, dilation 2 along W", x: [1, 2, 258, 5], w: [5, 2, 256, 2], attrs: { dilations: [1, 2], pads: [1, 1, 0, 1] } },
];

function spec(c: Case, seed: number): ModelSpec {
  const r = rng(seed);
  const wn = c.w.reduce((a, b) => a * b, 1);
  const out = c.relu ? "t" : "y";
  return {
    inputs: [{ name: "x", shape: c.x }, ...(c.runtimeW ? [{ name: "w", shape: c.w }] : [])],
    outputs: ["y"],
    initializers: [
      ...(c.runtimeW ? [] : [{ name: "w", shape: c.w, data: uniform(r, wn, -0.5, 0.5) }]),
      ...(c.bias ? [{ name: "b", shape: [c.w[0]], data: uniform(r, c.w[0], -0.2, 0.2) }] : []),
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "w", ...(c.bias ? ["b"] : [])], outputs: [out], attrs: c.attrs ?? {} },
      ...(c.relu ? [{ op: "Relu", inputs: ["t"], outputs: ["y"] }] : []),
    ],
  };
}

const calib = (spec: ModelSpec, n = 6) => {
  const r = rng(7);
  return Array.from({ length: n }, () => Object.fromEntries(spec.inputs.map((i) => [i.name, { dtype: "float32" as const, shape: i.shape as number[], data: uniform(r, (i.shape as number[]).reduce((a, b) => a * b, 1)) }])));
};

/** The layers run by conv kernels only. */
const convLayers = (checks: LayerCheck[]) => checks.filter((k) => k.kernels !== "" && k.kernels.split("+").every((n) => n.startsWith("conv_")));

async function check(file: string, opts: CompileOptions, kernels?: string[]) {
  const c = await compileModel(file, opts);
  const checks = convLayers(await analyticVsDynamic(c));
  expect(checks.length).toBeGreaterThan(0);
  if (kernels) expect([...new Set(checks.map((k) => k.kernels))].sort()).toEqual(kernels);
  expect(mismatches(checks)).toEqual([]);
  expect(checks.every((k) => k.dynamic.muls > 0)).toBe(true);
  return checks;
}

describe("conv kernels", () => {
  CASES.forEach((c, i) => {
    const kind = c.name.split(" ")[0]; // the case's kernel kind
    for (const quantize of c.floatOnly ? [undefined] : [undefined, "int8"] as const) {
      const s = spec(c, 10 + i);
      const kernel = `conv_${kind === "generic" ? "" : kind + "_"}${quantize ? "s8" : "f32"}`;
      it(`${quantize ?? "float"}: ${c.name}`, () => check(writeModel(s), { quantize, ...(quantize ? { calibrate: calib(s) } : {}) }, [kernel]));
    }
  });
});

describe("conv layers of the examples", () => {
  for (const ex of ["digits-cnn", "ecg-tcn"])
    for (const quantize of [undefined, "int8"] as const)
      for (const stream of ex === "ecg-tcn" ? [false, true] : [false])
        it(`${ex} ${quantize ?? "float"}${stream ? " streamed" : ""}`, () =>
          check(`examples/${ex}/model.onnx`, { quantize, stream, ...(quantize ? { calibrate: `examples/${ex}/calib.npy` } : {}) }));
});
