// Conv: 1-D and 2-D, strides, dilations, asymmetric pads, auto_pad, groups and depthwise;
// float against the reference and onnxruntime, int8 bit-exact against the integer interpreter.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import type { ModelSpec } from "../helpers/build-onnx.js";

interface Case { name: string; x: number[]; w: number[]; attrs: Record<string, number[] | number | string>; bias?: boolean }

const CASES: Case[] = [
  { name: "2-D 3x3 pad 1", x: [1, 3, 8, 8], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { name: "2-D stride 2 dilation 2 asymmetric pads", x: [1, 2, 9, 7], w: [3, 2, 3, 2], attrs: { strides: [2, 2], dilations: [2, 1], pads: [0, 1, 2, 0] }, bias: true },
  { name: "2-D groups 2", x: [1, 4, 6, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { name: "2-D depthwise", x: [1, 5, 7, 7], w: [5, 1, 3, 3], attrs: { group: 5, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
  { name: "2-D SAME_UPPER no bias", x: [1, 2, 5, 6], w: [3, 2, 2, 3], attrs: { auto_pad: "SAME_UPPER", strides: [2, 2] } },
  { name: "1-D dilated causal-style", x: [1, 3, 20], w: [4, 3, 3], attrs: { dilations: [2], pads: [4, 0] }, bias: true },
  { name: "1-D stride 3 depthwise", x: [1, 4, 17], w: [4, 1, 5], attrs: { strides: [3], group: 4, pads: [2, 2] }, bias: true },
];

function spec(c: Case, seed: number): ModelSpec {
  const r = rng(seed);
  const wn = c.w.reduce((a, b) => a * b, 1);
  return {
    inputs: [{ name: "x", shape: c.x }],
    outputs: ["y"],
    initializers: [
      { name: "W", shape: c.w, data: uniform(r, wn, -0.5, 0.5) },
      ...(c.bias ? [{ name: "B", shape: [c.w[0]], data: uniform(r, c.w[0], -0.2, 0.2) }] : []),
    ],
    nodes: [{ op: "Conv", inputs: ["x", "W", ...(c.bias ? ["B"] : [])], outputs: ["y"], attrs: c.attrs }],
  };
}

describe("Conv", () => {
  CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(100 + i);
      await checkFloat(spec(c, i), [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -3, 3) }]);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(200 + i);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, c.x) }));
      // in range, and far out of range so inputs saturate at -128/127
      const feeds = [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -5, 5) }];
      const res = await checkInt8(spec(c, i), calib, [feeds[0]]);
      expect(res.worstSteps).toBeLessThan(3);
      await checkInt8(spec(c, i), calib, feeds);
    });
  });

  it("int8 with a fused ReLU clamps in the quantized domain", async () => {
    const c = CASES[0];
    const s = spec(c, 7);
    s.nodes[0].outputs = ["t"];
    s.nodes.push({ op: "Relu", inputs: ["t"], outputs: ["y"] });
    const r = rng(9);
    const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, c.x) }));
    const res = await checkInt8(s, calib, [{ x: randValue(r, c.x) }]);
    expect(res.worstSteps).toBeLessThan(3);
  });
});

describe("Conv kernel paths", () => {
  // pointwise (1x1) convolutions take a 4-channel path with a remainder loop; 6 and 3 output
  // channels exercise both; kernels larger than the input exercise empty tap ranges
  const PATHS: Case[] = [
    { name: "pointwise 6 channels", x: [1, 5, 4, 3], w: [6, 5, 1, 1], attrs: {}, bias: true },
    { name: "pointwise 3 channels no bias", x: [1, 4, 2, 5], w: [3, 4, 1, 1], attrs: {} },
    { name: "kernel wider than input with big pads", x: [1, 2, 3, 3], w: [2, 2, 5, 5], attrs: { pads: [3, 3, 2, 4] }, bias: true },
  ];
  PATHS.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(300 + i);
      await checkFloat(spec(c, 50 + i), [{ x: randValue(r, c.x) }]);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(400 + i);
      const calib = Array.from({ length: 6 }, () => ({ x: randValue(r, c.x) }));
      await checkInt8(spec(c, 50 + i), calib, [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -6, 6) }]);
    });
  });
});
