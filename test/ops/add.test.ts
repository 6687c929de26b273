// Add: numpy broadcasting in every direction (constant first or second, [C,1,1] per-channel
// constants, scalars, 1-D against 4-D, both operands broadcast, 6-D), fused Relu/Clip, the
// row plan the kernels walk, int64 constant folding; float against the reference and
// onnxruntime, int8 bit-exact against the integer interpreter including saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { compileAndRun } from "../helpers/run.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { Add } from "../../compiler/ops/add.js";
import { rowPlan } from "../../compiler/ops/binary.js";
import { bcastStrides } from "../../compiler/ops/util.js";

/** An operand: a run-time input (scaled by `range`) or a constant initializer. */
interface Operand { shape: number[]; constant?: boolean; range?: number }
interface BinCase { name: string; a: Operand; b: Operand }

const BIN_CASES: BinCase[] = [
  { name: "equal 4-D shapes", a: { shape: [2, 3, 4, 5] }, b: { shape: [2, 3, 4, 5], range: 3 } },
  { name: "per-channel [C,1,1] constant second", a: { shape: [1, 4, 5, 6] }, b: { shape: [4, 1, 1], constant: true } },
  { name: "per-channel [C,1,1] constant first", a: { shape: [4, 1, 1], constant: true }, b: { shape: [2, 4, 3, 3] } },
  { name: "Linear bias on 3-D, constant first", a: { shape: [8], constant: true }, b: { shape: [2, 3, 8] } },
  { name: "scalar constant second", a: { shape: [5] }, b: { shape: [], constant: true } },
  { name: "[1] constant first on 2-D", a: { shape: [1], constant: true }, b: { shape: [2, 3] } },
  { name: "both broadcast [3,1] + [1,4]", a: { shape: [3, 1] }, b: { shape: [1, 4], range: 2 } },
  { name: "1-D run-time input against 4-D", a: { shape: [6], range: 4 }, b: { shape: [2, 3, 4, 6] } },
  { name: "4-D against smaller run-time [C,1,1]", a: { shape: [1, 3, 4, 5] }, b: { shape: [3, 1, 1], range: 0.5 } },
  { name: "middle axes broadcast [2,1,4] + [1,3,1]", a: { shape: [2, 1, 4] }, b: { shape: [1, 3, 1] } },
  { name: "6-D alternating broadcast", a: { shape: [2, 1, 3, 1, 2, 2] }, b: { shape: [1, 2, 1, 2, 1, 2], range: 2 } },
];

function binSpec(op: string, c: BinCase, seed: number, extra: ModelSpec["nodes"] = []): ModelSpec {
  const r = rng(seed);
  const inputs: ModelSpec["inputs"] = [];
  const initializers: NonNullable<ModelSpec["initializers"]> = [];
  (["a", "b"] as const).forEach((k) => {
    const o = c[k];
    if (o.constant) initializers.push({ name: k.toUpperCase(), shape: o.shape, data: uniform(r, o.shape.reduce((p, d) => p * d, 1), -1.5, 1.5) });
    else inputs.push({ name: k, shape: o.shape });
  });
  const names = (["a", "b"] as const).map((k) => (c[k].constant ? k.toUpperCase() : k));
  const y = extra.length ? "t" : "y";
  return { inputs, outputs: ["y"], initializers, nodes: [{ op, inputs: names, outputs: [y] }, ...extra] };
}

/** One feed per run-time operand, uniform in +-scale * range. */
function binFeed(c: BinCase, r: () => number, scale = 1): Record<string, Value> {
  const feed: Record<string, Value> = {};
  for (const k of ["a", "b"] as const) {
    const o = c[k];
    if (!o.constant) feed[k] = randValue(r, o.shape, -scale * (o.range ?? 1), scale * (o.range ?? 1));
  }
  return feed;
}

describe("Add", () => {
  BIN_CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(100 + i);
      await checkFloat(binSpec("Add", c, i), [binFeed(c, r), binFeed(c, r, 3)]);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(200 + i);
      const calib = Array.from({ length: 8 }, () => binFeed(c, r));
      // well inside the calibrated output range: within a couple of steps of the float result
      const res = await checkInt8(binSpec("Add", c, i), calib, [binFeed(c, r, 0.5)]);
      expect(res.worstSteps).toBeLessThan(3);
      // far outside the calibrated range: operands and output saturate
      await checkInt8(binSpec("Add", c, i), calib, [binFeed(c, r, 6)]);
    });
  });

  it("fuses a following Relu (no Relu node left) and clamps in float and int8", async () => {
    const c = BIN_CASES[1];
    const spec = binSpec("Add", c, 11, [{ op: "Relu", inputs: ["t"], outputs: ["y"] }]);
    const r = rng(12);
    const compiled = await checkFloat(spec, [binFeed(c, r, 2)]);
    expect(compiled.graph.nodes.map((n) => n.op)).toEqual(["Add"]);
    expect(compiled.graph.nodes[0].attrs.actMin).toBe(0);
    expect(compiled.source).toMatch(/add_f32\(.*<f32>0, <f32>Infinity\)/);
    const calib = Array.from({ length: 8 }, () => binFeed(c, r));
    const res = await checkInt8(spec, calib, [binFeed(c, r, 0.5)]);
    expect(res.worstSteps).toBeLessThan(3);
    await checkInt8(spec, calib, [binFeed(c, r, 6)]);
  });

  it("fuses a following Clip into bounds on both sides", async () => {
    // operand steps (2/255) are not much coarser than the clamped output's (1.25/255)
    const c: BinCase = { name: "clip", a: { shape: [2, 3, 4] }, b: { shape: [3, 4] } };
    const spec = binSpec("Add", c, 13, [{ op: "Clip", inputs: ["t", "lo", "hi"], outputs: ["y"] }]);
    spec.initializers!.push({ name: "lo", shape: [], data: [-0.5] }, { name: "hi", shape: [], data: [0.75] });
    const r = rng(14);
    const compiled = await checkFloat(spec, [binFeed(c, r, 2)]);
    expect(compiled.graph.nodes.map((n) => n.op)).toEqual(["Add"]);
    const calib = Array.from({ length: 8 }, () => binFeed(c, r));
    const res = await checkInt8(spec, calib, [binFeed(c, r, 0.5)]);
    expect(res.worstSteps).toBeLessThan(3);
    await checkInt8(spec, calib, [binFeed(c, r, 6)]);
  });

  it("refuses shapes that do not broadcast, naming the node", async () => {
    const spec: ModelSpec = { inputs: [{ name: "a", shape: [2, 3] }, { name: "b", shape: [4, 3] }], outputs: ["y"], nodes: [{ op: "Add", name: "sum", inputs: ["a", "b"], outputs: ["y"] }] };
    await expect(compileModel(writeModel(spec))).rejects.toThrow(/'sum'.*2x3 and 4x3 do not broadcast/);
  });

  it("opset 6 legacy broadcast with axis aligns B's dims at the axis", async () => {
    // onnxruntime has no opset 6 kernels: the expected values are computed here
    const spec: ModelSpec = {
      opset: 6, inputs: [{ name: "a", shape: [2, 3, 2] }, { name: "b", shape: [3] }], outputs: ["y"],
      nodes: [{ op: "Add", inputs: ["a", "b"], outputs: ["y"], attrs: { broadcast: 1, axis: 1 } }],
    };
    const a = randValue(rng(15), [2, 3, 2]), b = makeValue("float32", [3], [10, 20, 30]);
    const { outputs } = await compileAndRun(writeModel(spec), [[a, b]]);
    const want = Array.from(a.data, (v, i) => Math.fround(v + b.data[Math.floor(i / 2) % 3]));
    expect(Array.from(outputs[0][0].data)).toEqual(want);
  });

  it("folds int64 shape arithmetic exactly", () => {
    const a = makeValue("int64", [2, 1], [10, 2 ** 40]);
    const b = makeValue("int64", [3], [1, -2, 3]);
    const [y] = Add.ref({ name: "n", op: "Add", inputs: [], outputs: [], attrs: {} }, [a, b]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.data)).toEqual([11, 8, 13, 2 ** 40 + 1, 2 ** 40 - 2, 2 ** 40 + 3]);
  });
});

describe("row plan", () => {
  const plan = (a: number[], b: number[], out: number[]) => rowPlan(out, bcastStrides(a, out), bcastStrides(b, out), "t");
  it("per-channel [C,1,1]: C rows of H*W, second operand one scalar per row", () => {
    expect(plan([1, 4, 5, 6], [4, 1, 1], [1, 4, 5, 6])).toEqual([1, 1, 1, 1, 4, 30, 0, 0, 0, 0, 30, 1, 0, 0, 0, 0, 1, 0]);
  });
  it("equal shapes: one row", () => {
    expect(plan([2, 3, 4], [2, 3, 4], [2, 3, 4])).toEqual([1, 1, 1, 1, 1, 24, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  });
  it("bias on the last axis: rows of the bias length", () => {
    expect(plan([8], [2, 3, 8], [2, 3, 8])).toEqual([1, 1, 1, 1, 6, 8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 8, 1]);
  });
  it("scalar operand: one row, stride 0", () => {
    expect(plan([], [5], [5])).toEqual([1, 1, 1, 1, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });
  it("refuses more than 6 dims after merging", () => {
    const a = [2, 1, 2, 1, 2, 1, 2], b = [1, 2, 1, 2, 1, 2, 1];
    expect(() => plan(a, b, [2, 2, 2, 2, 2, 2, 2])).toThrow(/7 dims after merging/);
  });
});
