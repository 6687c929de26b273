// Concat: 1-D to 4-D, axes 0, 1, last and negative, 2 to 4 inputs, constant inputs, and
// int64 shape pieces folded at import; float against the reference and onnxruntime, int8
// bit-exact against the integer interpreter with inputs of different calibrated ranges
// (requantized) and of the output's own range (copied), including saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { compileAndRun } from "../helpers/run.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { Concat } from "../../compiler/ops/concat.js";

/** Inputs: run-time (uniform in +-range, or [0, range] when positive) or constant. */
interface Part { shape: number[]; range?: number; positive?: boolean; constant?: boolean }
interface Case { name: string; axis: number; parts: Part[] }

const CASES: Case[] = [
  { name: "3 inputs, different ranges, axis 1", axis: 1, parts: [{ shape: [1, 2, 4, 4] }, { shape: [1, 3, 4, 4], range: 4 }, { shape: [1, 1, 4, 4], range: 0.5, positive: true }] },
  { name: "3 inputs, different ranges, axis -1", axis: -1, parts: [{ shape: [2, 3, 5], range: 2 }, { shape: [2, 3, 1], range: 0.25 }, { shape: [2, 3, 4], range: 6, positive: true }] },
  { name: "1-D axis 0", axis: 0, parts: [{ shape: [5] }, { shape: [3], range: 3 }] },
  { name: "2-D axis 0 (one block per input)", axis: 0, parts: [{ shape: [2, 6] }, { shape: [3, 6], range: 2 }] },
  { name: "4-D axis -2 with a constant input", axis: -2, parts: [{ shape: [1, 2, 3, 4] }, { shape: [1, 2, 2, 4], constant: true }, { shape: [1, 2, 1, 4], range: 2 }] },
  { name: "3-D axis 1, constant first, 4 inputs", axis: 1, parts: [{ shape: [2, 1, 3], constant: true }, { shape: [2, 2, 3] }, { shape: [2, 3, 3], range: 0.1 }, { shape: [2, 1, 3], range: 5 }] },
];

function spec(c: Case, seed: number): ModelSpec {
  const r = rng(seed);
  const names = c.parts.map((p, i) => (p.constant ? `C${i}` : `x${i}`));
  return {
    inputs: c.parts.flatMap((p, i) => (p.constant ? [] : [{ name: names[i], shape: p.shape }])),
    initializers: c.parts.flatMap((p, i) => (p.constant ? [{ name: names[i], shape: p.shape, data: uniform(r, p.shape.reduce((a, b) => a * b, 1), -1, 3) }] : [])),
    outputs: ["y"],
    nodes: [{ op: "Concat", inputs: names, outputs: ["y"], attrs: { axis: c.axis } }],
  };
}

function feed(c: Case, r: () => number, scale = 1): Record<string, Value> {
  const f: Record<string, Value> = {};
  c.parts.forEach((p, i) => {
    const hi = scale * (p.range ?? 1);
    if (!p.constant) f[`x${i}`] = randValue(r, p.shape, p.positive ? 0 : -hi, hi);
  });
  return f;
}

describe("Concat", () => {
  CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(500 + i);
      await checkFloat(spec(c, i), [feed(c, r), feed(c, r, 3)]);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(600 + i);
      const calib = Array.from({ length: 8 }, () => feed(c, r));
      const res = await checkInt8(spec(c, i), calib, [feed(c, r, 0.9)]);
      // one input step of requantization error, plus output rounding
      expect(res.worstSteps).toBeLessThan(2);
      await checkInt8(spec(c, i), calib, [feed(c, r, 5)]);
    });
  });

  it("int8 copies inputs that share the output's parameters and requantizes the others", async () => {
    // the widest input's range is the output's range, so it shares the output's parameters
    const c: Case = { name: "copy", axis: 1, parts: [{ shape: [1, 3, 4] }, { shape: [1, 2, 4], range: 4 }, { shape: [1, 1, 4], range: 0.5 }] };
    const r = rng(7);
    const calib = Array.from({ length: 8 }, () => feed(c, r));
    calib[0].x1.data[0] = -4;
    calib[0].x1.data[1] = 4;
    const compiled = await compileModel(writeModel(spec(c, 7)), { quantize: "int8", calibrate: calib });
    expect(compiled.graph.nodes[0].q!.copy).toEqual([0, 1, 0]);
    expect(compiled.source).toMatch(/concat_copy\(/);
    expect(compiled.source.match(/concat_s8\(/g)).toHaveLength(2);
    await checkInt8(spec(c, 7), calib, [feed(c, r), feed(c, r, 4)]);
  });

  it("folds int64 shape pieces at import (Shape -> Slice -> Concat -> Reshape)", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [2, 3, 4] }],
      outputs: ["y"],
      initializers: [
        { name: "st", shape: [1], data: [0], dtype: 7 }, { name: "en", shape: [1], data: [1], dtype: 7 },
        { name: "minus1", shape: [1], data: [-1], dtype: 7 },
      ],
      nodes: [
        { op: "Shape", inputs: ["x"], outputs: ["s"] },
        { op: "Slice", inputs: ["s", "st", "en"], outputs: ["n"] },
        { op: "Concat", inputs: ["n", "minus1"], outputs: ["shape"], attrs: { axis: 0 } },
        { op: "Reshape", inputs: ["x", "shape"], outputs: ["y"] },
      ],
    };
    const c = await checkFloat(s, [{ x: randValue(rng(8), [2, 3, 4]) }]);
    expect(c.graph.nodes.map((n) => n.op)).toEqual(["Reshape"]);
    expect(c.graph.tensors.get("y")!.shape).toEqual([2, 12]);
  });

  it("opset 3 without an axis concatenates along axis 1", async () => {
    // onnxruntime has no opset 3 kernels: the expected values are built here
    const s: ModelSpec = { opset: 3, inputs: [{ name: "a", shape: [2, 1] }, { name: "b", shape: [2, 2] }], outputs: ["y"], nodes: [{ op: "Concat", inputs: ["a", "b"], outputs: ["y"] }] };
    const a = makeValue("float32", [2, 1], [1, 2]), b = makeValue("float32", [2, 2], [3, 4, 5, 6]);
    const { outputs } = await compileAndRun(writeModel(s), [[a, b]]);
    expect(outputs[0][0].shape).toEqual([2, 3]);
    expect(Array.from(outputs[0][0].data)).toEqual([1, 3, 4, 2, 5, 6]);
  });

  it("reference concatenates int64 values on any axis", () => {
    const a = makeValue("int64", [2, 1], [1, 2 ** 40]), b = makeValue("int64", [2, 2], [3, 4, 5, 6]);
    const [y] = Concat.ref({ name: "n", op: "Concat", inputs: [], outputs: [], attrs: { axis: -1 } }, [a, b]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.data)).toEqual([1, 3, 4, 2 ** 40, 5, 6]);
  });

  it("refuses inputs that differ outside the axis, naming the node", async () => {
    const s: ModelSpec = { inputs: [{ name: "a", shape: [1, 2, 3] }, { name: "b", shape: [1, 2, 4] }], outputs: ["y"], nodes: [{ op: "Concat", name: "cat", inputs: ["a", "b"], outputs: ["y"], attrs: { axis: 1 } }] };
    await expect(compileModel(writeModel(s))).rejects.toThrow(/'cat'.*1x2x3, 1x2x4 differ outside axis 1/);
  });
});
