// MatMul: constant B (2-D, 1-D; 2-D and 3-D x as PyTorch's Linear exports), a constant A,
// run-time operands with batch broadcasting and 1-D operands, fused Relu; float against
// the reference and onnxruntime, int8 bit-exact for the fully connected (constant B) and
// the run-time x run-time forms, including inputs far outside the calibrated range.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import type { ModelSpec } from "../helpers/build-onnx.js";
import type { Value } from "../../compiler/ir/graph.js";

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** x (run time) times constant B. */
function constB(x: number[], b: number[], seed: number, relu = false): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: x }],
    outputs: ["y"],
    initializers: [{ name: "B", shape: b, data: uniform(r, numel(b), -0.5, 0.5) }],
    nodes: [
      { op: "MatMul", inputs: ["x", "B"], outputs: [relu ? "t" : "y"] },
      ...(relu ? [{ op: "Relu", inputs: ["t"], outputs: ["y"] }] : []),
    ],
  };
}

/** Both operands at run time. */
function twoInputs(a: number[], b: number[], relu = false): ModelSpec {
  return {
    inputs: [{ name: "a", shape: a }, { name: "b", shape: b }],
    outputs: ["y"],
    nodes: [
      { op: "MatMul", inputs: ["a", "b"], outputs: [relu ? "t" : "y"] },
      ...(relu ? [{ op: "Relu", inputs: ["t"], outputs: ["y"] }] : []),
    ],
  };
}

const CONST_B: Array<{ name: string; x: number[]; b: number[] }> = [
  { name: "2-D [3,7] x [7,6]", x: [3, 7], b: [7, 6] },
  { name: "Linear on 3-D [1,T,F] x [F,H]", x: [1, 5, 12], b: [12, 9] },
  { name: "4-D x [2,2,3,8] x [8,4]", x: [2, 2, 3, 8], b: [8, 4] },
  { name: "1-D B [2,5] x [5]", x: [2, 5], b: [5] },
  { name: "1-D x [6] x [6,3]", x: [6], b: [6, 3] },
  { name: "one column [4,16] x [16,1]", x: [4, 16], b: [16, 1] },
];

const RUNTIME: Array<{ name: string; a: number[]; b: number[] }> = [
  { name: "2-D [4,5] x [5,6]", a: [4, 5], b: [5, 6] },
  { name: "batched [2,3,4] x [2,4,5]", a: [2, 3, 4], b: [2, 4, 5] },
  { name: "broadcast [2,3,4,5] x [3,5,6]", a: [2, 3, 4, 5], b: [3, 5, 6] },
  { name: "broadcast [1,4,5] x [3,5,2]", a: [1, 4, 5], b: [3, 5, 2] },
  { name: "broadcast [3,1,2,6] x [1,2,6,7]", a: [3, 1, 2, 6], b: [1, 2, 6, 7] },
  { name: "3-D x 2-D [2,3,4] x [4,5]", a: [2, 3, 4], b: [4, 5] },
  { name: "1-D x batched [5] x [2,5,3]", a: [5], b: [2, 5, 3] },
  { name: "batched x 1-D [2,3,5] x [5]", a: [2, 3, 5], b: [5] },
  { name: "1-D x 1-D [7] x [7]", a: [7], b: [7] },
];

describe("MatMul float", () => {
  CONST_B.forEach((c, i) => {
    it(`constant B: ${c.name}`, async () => {
      const r = rng(100 + i);
      await checkFloat(constB(c.x, c.b, i), [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -3, 3) }]);
    });
  });
  RUNTIME.forEach((c, i) => {
    it(`run time: ${c.name}`, async () => {
      const r = rng(200 + i);
      const feed = () => ({ a: randValue(r, c.a, -2, 2), b: randValue(r, c.b) });
      await checkFloat(twoInputs(c.a, c.b), [feed(), feed()]);
    });
  });

  it("constant A times run-time B", async () => {
    const r = rng(300);
    const spec: ModelSpec = {
      inputs: [{ name: "x", shape: [2, 6, 3] }],
      outputs: ["y"],
      initializers: [{ name: "A", shape: [4, 6], data: uniform(r, 24) }],
      nodes: [{ op: "MatMul", inputs: ["A", "x"], outputs: ["y"] }],
    };
    await checkFloat(spec, [{ x: randValue(r, [2, 6, 3]) }]);
  });

  it("fused Relu, constant B and run time", async () => {
    const r = rng(301);
    const c1 = await checkFloat(constB([3, 9], [9, 5], 31, true), [{ x: randValue(r, [3, 9]) }]);
    expect(c1.graph.nodes.map((n) => n.op)).toEqual(["MatMul"]);
    expect(c1.graph.nodes[0].attrs.actMin).toBe(0);
    const c2 = await checkFloat(twoInputs([2, 3, 4], [2, 4, 6], true), [{ a: randValue(r, [2, 3, 4]), b: randValue(r, [2, 4, 6]) }]);
    expect(c2.graph.nodes.map((n) => n.op)).toEqual(["MatMul"]);
  });
});

describe("MatMul int8, constant B (per-column weights)", () => {
  CONST_B.forEach((c, i) => {
    it(c.name, async () => {
      const r = rng(400 + i);
      const spec = constB(c.x, c.b, 40 + i);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, c.x) }));
      const res = await checkInt8(spec, calib, [{ x: randValue(r, c.x) }]);
      // output rounding (1/2 step) plus input and weight rounding summed over K products
      expect(res.worstSteps).toBeLessThan(3);
      await checkInt8(spec, calib, [{ x: randValue(r, c.x, -6, 6) }, { x: randValue(r, c.x, -50, 50) }]);
    });
  });

  it("fused Relu", async () => {
    const r = rng(450);
    const spec = constB([1, 4, 10], [10, 7], 45, true);
    const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, [1, 4, 10]) }));
    const res = await checkInt8(spec, calib, [{ x: randValue(r, [1, 4, 10]) }]);
    expect(res.worstSteps).toBeLessThan(3);
    await checkInt8(spec, calib, [{ x: randValue(r, [1, 4, 10], -9, 9) }]);
  });
});

describe("MatMul int8, both operands at run time (per-tensor)", () => {
  RUNTIME.forEach((c, i) => {
    it(c.name, async () => {
      const r = rng(500 + i);
      const feed = (lo = -1, hi = 1): Record<string, Value> => ({ a: randValue(r, c.a, 2 * lo, 2 * hi), b: randValue(r, c.b, lo, hi) });
      const calib = Array.from({ length: 32 }, () => feed());
      // Sanity bound on a calibration sample: small outputs (a few elements per sample) have
      // calibrated ranges that a fresh sample may leave, and saturation would then dominate.
      // Both operands carry rounding error (s/2 each) into K products: a few output steps.
      const res = await checkInt8(twoInputs(c.a, c.b), calib, [calib[0]]);
      expect(res.worstSteps).toBeLessThan(4);
      await checkInt8(twoInputs(c.a, c.b), calib, [feed(-5, 5), feed(-40, 40)]);
    });
  });

  it("fused Relu", async () => {
    const r = rng(550);
    const feed = (s = 1): Record<string, Value> => ({ a: randValue(r, [2, 3, 8], -s, s), b: randValue(r, [8, 5], -s, s) });
    const calib = Array.from({ length: 8 }, () => feed());
    const res = await checkInt8(twoInputs([2, 3, 8], [8, 5], true), calib, [feed()]);
    expect(res.worstSteps).toBeLessThan(4);
    await checkInt8(twoInputs([2, 3, 8], [8, 5], true), calib, [feed(7)]);
  });

  it("constant A is quantized per tensor like an activation", async () => {
    const r = rng(560);
    const spec: ModelSpec = {
      inputs: [{ name: "x", shape: [5, 3] }],
      outputs: ["y"],
      initializers: [{ name: "A", shape: [4, 5], data: uniform(r, 20) }],
      nodes: [{ op: "MatMul", inputs: ["A", "x"], outputs: ["y"] }],
    };
    const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, [5, 3]) }));
    const res = await checkInt8(spec, calib, [{ x: randValue(r, [5, 3]) }]);
    expect(res.worstSteps).toBeLessThan(4);
    await checkInt8(spec, calib, [{ x: randValue(r, [5, 3], -10, 10) }]);
  });
});
