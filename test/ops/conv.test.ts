// Conv: 1-D and 2-D, strides, dilations, asymmetric pads, auto_pad, groups and depthwise;
// float against the reference and onnxruntime, int8 bit-exact against the integer interpreter.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import type { ModelSpec } from "../helpers/build-onnx.js";
import { kernelKind } from "../../compiler/ops/conv.js";

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
  // pointwise (1x1) convolutions take the pw kernel, four output channels per pass with the
  // last block padded; 6 and 3 output channels exercise both; kernels larger than the input
  // exercise empty tap ranges
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

// The kernels the compiler picks (compiler/ops/conv.ts kernelKind): blk (four output channels
// per pass, weights repacked and padded to blocks of four within a group; int8 packs two
// positions in one i64), dw (one input channel per output channel; unrolled runs for kernels
// three taps wide), pw (1x1) and the general one. Each case names the kernel it must reach
// (checked on the generated source) and the paths and remainders it exercises.
interface PathCase extends Case { kernel: "blk" | "dw" | "pw" | "generic" }

const KERNEL_PATHS: PathCase[] = [
  // blk
  { kernel: "blk", name: "6 channels (a block and a padded block), odd rows pair vertically", x: [1, 3, 7, 6], w: [6, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "blk", name: "5 channels, stride 2, asymmetric pads", x: [1, 4, 9, 8], w: [5, 4, 3, 3], attrs: { strides: [2, 2], pads: [1, 0, 2, 1] }, bias: true },
  { kernel: "blk", name: "groups 2, four channels per group", x: [1, 6, 6, 5], w: [8, 3, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "blk", name: "groups 3, two channels per group (padded blocks)", x: [1, 6, 5, 5], w: [6, 2, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "blk", name: "groups 4, one channel per group", x: [1, 8, 5, 4], w: [4, 2, 3, 3], attrs: { group: 4, pads: [1, 1, 1, 1] } },
  { kernel: "blk", name: "a single output channel", x: [1, 5, 6, 6], w: [1, 5, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "blk", name: "dilation 2 on both axes (taps one at a time)", x: [1, 3, 9, 9], w: [4, 3, 3, 3], attrs: { dilations: [2, 2], pads: [2, 2, 2, 2] }, bias: true },
  { kernel: "blk", name: "kernel 2x4 (runs of 3 + 1), asymmetric pads", x: [1, 2, 5, 9], w: [4, 2, 2, 4], attrs: { pads: [0, 1, 1, 2] }, bias: true },
  { kernel: "blk", name: "1-D k7 (runs of 3 + 3 + 1), 7 channels", x: [1, 3, 19], w: [7, 3, 7], attrs: { pads: [3, 3] }, bias: true },
  { kernel: "blk", name: "1-D k5 stride 3 (runs of 3 + 2)", x: [1, 4, 20], w: [5, 4, 5], attrs: { strides: [3], pads: [2, 1] }, bias: true },
  { kernel: "blk", name: "tiny map: every position on the border", x: [1, 3, 2, 2], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "blk", name: "big pads: rows and columns without taps", x: [1, 2, 3, 3], w: [3, 2, 3, 3], attrs: { pads: [4, 3, 2, 4] }, bias: true },
  { kernel: "blk", name: "batch 2", x: [2, 3, 5, 4], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "blk", name: "1x1 over one position", x: [1, 4, 1, 1], w: [3, 4, 1, 1], attrs: {}, bias: true },
  { kernel: "blk", name: "1x1 with stride 2", x: [1, 4, 5, 5], w: [6, 4, 1, 1], attrs: { strides: [2, 2] }, bias: true },
  // pw
  { kernel: "pw", name: "6 channels, odd position count", x: [1, 5, 5, 3], w: [6, 5, 1, 1], attrs: {}, bias: true },
  { kernel: "pw", name: "groups 2, three channels per group", x: [1, 8, 3, 3], w: [6, 4, 1, 1], attrs: { group: 2 }, bias: true },
  { kernel: "pw", name: "1-D, 9 channels, two positions", x: [1, 6, 2], w: [9, 6, 1], attrs: {} },
  // dw
  { kernel: "dw", name: "3x3 stride 1 pad 1 (row runs, column runs, corners)", x: [1, 3, 7, 6], w: [3, 1, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "dw", name: "3x3 stride 2 asymmetric pads", x: [1, 4, 9, 8], w: [4, 1, 3, 3], attrs: { group: 4, strides: [2, 2], pads: [1, 0, 0, 1] }, bias: true },
  { kernel: "dw", name: "3x3 stride 2 pad 1 on an even map", x: [1, 2, 8, 8], w: [2, 1, 3, 3], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "dw", name: "channel multiplier 2, dilation 2 along H", x: [1, 3, 8, 7], w: [6, 1, 3, 3], attrs: { group: 3, dilations: [2, 1], pads: [2, 1, 2, 1] }, bias: true },
  { kernel: "dw", name: "dilation 2 along W (taps walked)", x: [1, 2, 7, 9], w: [2, 1, 3, 3], attrs: { group: 2, dilations: [1, 2], pads: [1, 2, 1, 2] }, bias: true },
  { kernel: "dw", name: "single-channel input, 8 output channels", x: [1, 1, 6, 6], w: [8, 1, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "dw", name: "2x3 kernel", x: [1, 2, 5, 6], w: [2, 1, 2, 3], attrs: { group: 2, pads: [1, 1, 0, 1] }, bias: true },
  { kernel: "dw", name: "1-D k3 stride 2", x: [1, 3, 15], w: [3, 1, 3], attrs: { group: 3, strides: [2], pads: [1, 1] }, bias: true },
  { kernel: "dw", name: "5x5 pad 2 (taps walked in runs of 3 + 2)", x: [1, 2, 6, 7], w: [2, 1, 5, 5], attrs: { group: 2, pads: [2, 2, 2, 2] }, bias: true },
  { kernel: "dw", name: "tiny map: no position has all taps inside", x: [1, 2, 2, 2], w: [2, 1, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, bias: true },
  { kernel: "dw", name: "big pads: rows and columns without taps", x: [1, 2, 3, 4], w: [2, 1, 3, 3], attrs: { group: 2, pads: [3, 4, 3, 2] }, bias: true },
  { kernel: "dw", name: "3x3 with no row fully inside", x: [1, 2, 2, 7], w: [2, 1, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] } },
];

describe("Conv kernels: every path and remainder", () => {
  KERNEL_PATHS.forEach((c, i) => {
    it(`float, ${c.kernel}: ${c.name}`, async () => {
      const r = rng(500 + i);
      const compiled = await checkFloat(spec(c, 80 + i), [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -3, 3) }]);
      expect(compiled.source).toContain(`conv_${c.kernel}_f32(`);
    });
    it(`int8 bit-exact, ${c.kernel}: ${c.name}`, async () => {
      const r = rng(600 + i);
      const calib = Array.from({ length: 6 }, () => ({ x: randValue(r, c.x) }));
      // on a calibration input no output saturates, so int8 stays near the float result
      const res = await checkInt8(spec(c, 80 + i), calib, [calib[0]]);
      expect(res.worstSteps).toBeLessThan(3);
      // a fresh input, and inputs far outside the calibrated range (int8 inputs saturate at -128 / 127)
      await checkInt8(spec(c, 80 + i), calib, [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -6, 6) }, { x: randValue(r, c.x, -50, 50) }]);
    });
  });

  it("float with weights computed at run time takes the general kernel", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [1, 3, 5, 4] }, { name: "W", shape: [5, 3, 3, 3] }],
      outputs: ["y"],
      nodes: [{ op: "Conv", inputs: ["x", "W"], outputs: ["y"], attrs: { pads: [1, 0, 1, 2] } }],
    };
    const r = rng(77);
    const compiled = await checkFloat(s, [{ x: randValue(r, [1, 3, 5, 4]), W: randValue(r, [5, 3, 3, 3]) }]);
    expect(compiled.source).toContain("conv_f32(");
  });

  it("int8 packs two positions per i64 only while the sums stay exact (fewer than 2^16 / 2^17 taps)", () => {
    const gm = (C: number, KH: number, KW: number, p: number) => ({ N: 1, C, H: 8, W: 8, M: 4, KH, KW, OH: 8, OW: 8, sh: 1, sw: 1, dh: 1, dw: 1, pt: p, pl: p, G: 1 });
    // blk subtracts the zero point: |(x - zx) * w| < 2^15
    expect(kernelKind(gm(2 ** 12 - 1, 4, 4, 1), true, true)).toBe("blk"); // 2^16 - 16 taps
    expect(kernelKind(gm(2 ** 12, 4, 4, 1), true, true)).toBe("generic"); // 2^16 taps
    expect(kernelKind(gm(2 ** 12, 4, 4, 1), true, false)).toBe("blk"); // float has no such limit
    // pw multiplies raw inputs: |x * w| <= 2^14
    expect(kernelKind(gm(2 ** 17 - 1, 1, 1, 0), true, true)).toBe("pw");
    expect(kernelKind(gm(2 ** 17, 1, 1, 0), true, true)).toBe("generic");
    expect(kernelKind(gm(8, 3, 3, 1), false, false)).toBe("generic"); // weights computed at run time
  });
});

describe("Conv int8 requantization extremes", () => {
  // Calibration inputs whose two channels are equal cancel in every output (weights w and -w),
  // so the output range is the bias alone: a tiny output scale and a real multiplier above 1
  // (a left shift before the Q31 multiply). Test inputs with unequal channels saturate.
  function cancelling(x: number[], w: number[], attrs: Case["attrs"]): ModelSpec {
    const r = rng(31);
    const [M, cg, ...k] = w;
    const per = k.reduce((a, b) => a * b, 1);
    const wd = new Float32Array(M * cg * per);
    for (let m = 0; m < M; m++)
      for (let t = 0; t < per; t++) {
        const v = (r() < 0.5 ? -1 : 1) * (2 + 2 * r());
        wd[(m * cg) * per + t] = v;
        wd[(m * cg + 1) * per + t] = -v;
      }
    return {
      inputs: [{ name: "x", shape: x }],
      outputs: ["y"],
      initializers: [{ name: "W", shape: w, data: wd }, { name: "B", shape: [M], data: uniform(r, M, 0.01, 0.05) }],
      nodes: [{ op: "Conv", inputs: ["x", "W", "B"], outputs: ["y"], attrs }],
    };
  }
  function twin(r: () => number, shape: number[], lo: number, hi: number) {
    const v = randValue(r, shape, lo, hi);
    const half = v.data.length / 2; // channel 1 := channel 0 (batch 1, two channels)
    for (let i = 0; i < half; i++) v.data[half + i] = v.data[i];
    return v;
  }
  const CANCEL: Array<{ name: string; x: number[]; w: number[]; attrs: Case["attrs"] }> = [
    { name: "blk 3x3", x: [1, 2, 5, 5], w: [5, 2, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { name: "pw", x: [1, 2, 4, 3], w: [6, 2, 1, 1], attrs: {} },
  ];
  CANCEL.forEach((c) => {
    it(`multiplier above 1, ${c.name}`, async () => {
      const r = rng(41);
      const calib = Array.from({ length: 4 }, () => ({ x: twin(r, c.x, -8, 8) }));
      await checkInt8(cancelling(c.x, c.w, c.attrs), calib, [{ x: twin(r, c.x, -8, 8) }, { x: randValue(r, c.x, -8, 8) }, { x: randValue(r, c.x, -0.2, 0.2) }]);
    });
  });

  // Tiny inputs and weights under a large bias: a multiplier near 2^-29 (a long right shift)
  const TINY: Case[] = [
    { name: "blk", x: [1, 3, 4, 4], w: [5, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
    { name: "dw", x: [1, 3, 4, 4], w: [3, 1, 3, 3], attrs: { group: 3, pads: [1, 1, 1, 1] } },
    { name: "pw", x: [1, 3, 3, 3], w: [5, 3, 1, 1], attrs: {} },
  ];
  TINY.forEach((c) => {
    it(`multiplier near 2^-29, ${c.name}`, async () => {
      const r = rng(43);
      const wn = c.w.reduce((a, b) => a * b, 1);
      const s: ModelSpec = {
        inputs: [{ name: "x", shape: c.x }],
        outputs: ["y"],
        initializers: [{ name: "W", shape: c.w, data: uniform(r, wn, -1e-3, 1e-3) }, { name: "B", shape: [c.w[0]], data: uniform(r, c.w[0], -5, 5) }],
        nodes: [{ op: "Conv", inputs: ["x", "W", "B"], outputs: ["y"], attrs: c.attrs }],
      };
      const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, c.x, -1e-3, 1e-3) }));
      await checkInt8(s, calib, [{ x: randValue(r, c.x, -1e-3, 1e-3) }, { x: randValue(r, c.x, -1, 1) }]);
    });
  });
});
