// Mul: numpy broadcasting in every direction (constant first or second, [C,1,1] per-channel
// scales, scalars, 1-D against 4-D, both operands broadcast, 6-D), gating by another input,
// int64 constant folding; float against the reference and onnxruntime, int8 bit-exact
// against the integer interpreter including saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { Mul } from "../../compiler/ops/mul.js";

interface Operand { shape: number[]; constant?: boolean; range?: number }
interface Case { name: string; a: Operand; b: Operand }

const CASES: Case[] = [
  { name: "equal 3-D shapes (gating)", a: { shape: [2, 4, 5] }, b: { shape: [2, 4, 5], range: 2 } },
  { name: "per-channel [C,1,1] scale second", a: { shape: [1, 4, 5, 6] }, b: { shape: [4, 1, 1], constant: true } },
  { name: "per-channel [C,1,1] scale first", a: { shape: [3, 1, 1], constant: true }, b: { shape: [2, 3, 4, 2] } },
  { name: "last-axis constant first on 3-D", a: { shape: [7], constant: true }, b: { shape: [2, 2, 7] } },
  { name: "scalar constant second", a: { shape: [2, 5] }, b: { shape: [], constant: true } },
  { name: "[1] constant first on 1-D", a: { shape: [1], constant: true }, b: { shape: [9] } },
  { name: "both broadcast [4,1] * [1,3]", a: { shape: [4, 1], range: 3 }, b: { shape: [1, 3] } },
  { name: "1-D run-time input against 4-D", a: { shape: [2, 3, 2, 5] }, b: { shape: [5], range: 0.25 } },
  { name: "4-D against run-time [C,1,1]", a: { shape: [3, 1, 1], range: 2 }, b: { shape: [1, 3, 2, 4] } },
  { name: "6-D alternating broadcast", a: { shape: [1, 2, 1, 3, 1, 2] }, b: { shape: [2, 1, 2, 1, 2, 1] } },
];

function spec(c: Case, seed: number): ModelSpec {
  const r = rng(seed);
  const inputs: ModelSpec["inputs"] = [];
  const initializers: NonNullable<ModelSpec["initializers"]> = [];
  for (const k of ["a", "b"] as const) {
    const o = c[k];
    if (o.constant) initializers.push({ name: k.toUpperCase(), shape: o.shape, data: uniform(r, o.shape.reduce((p, d) => p * d, 1), -2, 2) });
    else inputs.push({ name: k, shape: o.shape });
  }
  const names = (["a", "b"] as const).map((k) => (c[k].constant ? k.toUpperCase() : k));
  return { inputs, outputs: ["y"], initializers, nodes: [{ op: "Mul", inputs: names, outputs: ["y"] }] };
}

function feed(c: Case, r: () => number, scale = 1): Record<string, Value> {
  const f: Record<string, Value> = {};
  for (const k of ["a", "b"] as const) {
    const o = c[k];
    if (!o.constant) f[k] = randValue(r, o.shape, -scale * (o.range ?? 1), scale * (o.range ?? 1));
  }
  return f;
}

describe("Mul", () => {
  CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(300 + i);
      await checkFloat(spec(c, i), [feed(c, r), feed(c, r, 4)]);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(400 + i);
      const calib = Array.from({ length: 8 }, () => feed(c, r));
      // inside the calibrated range: within a couple of output steps of the float result
      const res = await checkInt8(spec(c, i), calib, [feed(c, r, 0.5)]);
      expect(res.worstSteps).toBeLessThan(3);
      // far outside: operands and products saturate
      await checkInt8(spec(c, i), calib, [feed(c, r, 8)]);
    });
  });

  it("int8 with a multiplier above 1 (positive shift)", async () => {
    // calibrated so that a large a always meets a small b: s_a s_b / s_y = (4/255)^2 / (0.04/255) > 1
    const c: Case = { name: "anti", a: { shape: [2] }, b: { shape: [2] } };
    const calib = [{ a: makeValue("float32", [2], [4, 0.01]), b: makeValue("float32", [2], [0.01, 4]) }];
    const compiled = await compileModel(writeModel(spec(c, 5)), { quantize: "int8", calibrate: calib });
    expect(compiled.graph.nodes[0].q!.sh).toBeGreaterThan(0);
    const r = rng(6);
    await checkInt8(spec(c, 5), calib, [calib[0], feed(c, r, 0.1), feed(c, r, 4)]);
  });

  it("folds int64 shape arithmetic exactly", () => {
    const a = makeValue("int64", [3], [2, -3, 4]);
    const b = makeValue("int64", [], [2 ** 30]);
    const [y] = Mul.ref({ name: "n", op: "Mul", inputs: [], outputs: [], attrs: {} }, [b, a]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([3]);
    expect(Array.from(y.data)).toEqual([2 ** 31, -3 * 2 ** 30, 2 ** 32]);
  });
});
