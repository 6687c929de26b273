// Gather: scalar indices on axes 0, 1 and -1 (the axis is dropped), 1-D and 2-D index
// tensors, negative, repeated and consecutive (merged into one copy) indices, int32 and int64
// index dtypes, single-element gathers (the element kernel); the last-step pattern of an RNN
// head (Gather(axis 0, -1) then Gemm); constant folding of PyTorch's Shape -> Gather ->
// Unsqueeze -> Concat on int64; refusals of run-time and out-of-range indices. Float against
// the reference and onnxruntime, int8 bit-exact (bytes moved, quantization kept) including
// saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { makeValue } from "../../compiler/ir/graph.js";
import { Gather } from "../../compiler/ops/gather.js";
import type { PicoError } from "../../compiler/util/errors.js";

interface Case { name: string; x: number[]; axis?: number; idx: number[]; ishape: number[]; dtype?: number; kernel: string }

const CASES: Case[] = [
  { name: "axis 0, scalar index (rank drops)", x: [4, 3, 5], axis: 0, idx: [2], ishape: [], kernel: "gather_rows" },
  { name: "axis 1, scalar index -1 (out[:, -1, :])", x: [2, 6, 4], axis: 1, idx: [-1], ishape: [], kernel: "gather_rows" },
  { name: "axis -1, scalar index", x: [3, 4, 7], axis: -1, idx: [3], ishape: [], kernel: "gather_rows" },
  { name: "default axis, 1-D indices", x: [5, 4], idx: [4, 0, 2], ishape: [3], kernel: "gather_rows" },
  { name: "axis 1, consecutive and repeated indices", x: [2, 5, 3], axis: 1, idx: [1, 2, 3, 3, 0], ishape: [5], kernel: "gather_rows" },
  { name: "axis -1, single elements (element kernel)", x: [3, 4, 6], axis: -1, idx: [5, 0, 3, 1], ishape: [4], kernel: "gather_f32" },
  { name: "axis 0, 2-D indices", x: [6, 3], axis: 0, idx: [0, 1, 5, 4], ishape: [2, 2], kernel: "gather_rows" },
  { name: "axis 1, 2-D negative indices, int32", x: [2, 5, 3], axis: 1, idx: [4, -1, 0, -5, -3, 2], ishape: [2, 3], dtype: 6, kernel: "gather_rows" },
  { name: "axis 2, negative indices on 4-D", x: [2, 3, 4, 2], axis: 2, idx: [-4, -2], ishape: [2], kernel: "gather_rows" },
];

function spec(c: Case): ModelSpec {
  return {
    inputs: [{ name: "x", shape: c.x }],
    outputs: ["y"],
    initializers: [{ name: "i", shape: c.ishape, data: c.idx, dtype: c.dtype ?? 7 }],
    nodes: [{ op: "Gather", inputs: ["x", "i"], outputs: ["y"], attrs: c.axis !== undefined ? { axis: c.axis } : {} }],
  };
}

/** Output shape by the spec: data shape with the axis replaced by the indices' shape. */
function expectedShape(c: Case): number[] {
  const a = (c.axis ?? 0) < 0 ? (c.axis ?? 0) + c.x.length : (c.axis ?? 0);
  return [...c.x.slice(0, a), ...c.ishape, ...c.x.slice(a + 1)];
}

describe("Gather", () => {
  CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(1300 + i);
      const comp = await checkFloat(spec(c), [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -5, 5) }]);
      expect(comp.graph.tensors.get("y")!.shape).toEqual(expectedShape(c));
      expect(comp.source).toContain(`${c.kernel}(`);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(1400 + i);
      const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, c.x) }));
      const res = await checkInt8(spec(c), calib, [{ x: randValue(r, c.x, -0.9, 0.9) }]);
      expect(res.worstSteps).toBeLessThanOrEqual(0.5 + 1e-6);
      await checkInt8(spec(c), calib, [{ x: randValue(r, c.x, -7, 7) }]);
    });
  });

  it("int8 element kernel (axis -1, single elements)", async () => {
    const c = CASES[5];
    const r = rng(1500);
    const calib = [{ x: randValue(r, c.x) }];
    const comp = await compileModel(writeModel(spec(c)), { quantize: "int8", calibrate: calib });
    expect(comp.source).toContain("gather_s8(");
  });

  it("RNN head: last step of [T,1,H] by Gather(axis 0, -1), then Gemm", async () => {
    const T = 7, H = 8, O = 3;
    const r = rng(1501);
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [T, 1, H] }],
      outputs: ["y"],
      initializers: [
        { name: "last", shape: [], data: [-1], dtype: 7 },
        { name: "W", shape: [O, H], data: uniform(r, O * H, -0.5, 0.5) },
        { name: "b", shape: [O], data: uniform(r, O, -0.5, 0.5) },
      ],
      nodes: [
        { op: "Gather", inputs: ["x", "last"], outputs: ["h"], attrs: { axis: 0 } },
        { op: "Gemm", inputs: ["h", "W", "b"], outputs: ["y"], attrs: { transB: 1 } },
      ],
    };
    const comp = await checkFloat(s, [{ x: randValue(r, [T, 1, H]) }, { x: randValue(r, [T, 1, H], -3, 3) }]);
    expect(comp.graph.tensors.get("h")!.shape).toEqual([1, H]);
    const calib = Array.from({ length: 6 }, () => ({ x: randValue(r, [T, 1, H]) }));
    // calibration samples as test inputs: the output stays inside its calibrated range
    const res = await checkInt8(s, calib, calib.slice(0, 2));
    expect(res.worstSteps).toBeLessThan(3);
    await checkInt8(s, calib, [{ x: randValue(r, [T, 1, H], -6, 6) }]);
  });

  it("picks the entries the indices name (hand-computed, int64, raw and normalized forms)", () => {
    const x = makeValue("int64", [2, 3], [10, 11, 12, 20, 21, 22]);
    const node = { name: "g", op: "Gather", inputs: [], outputs: [], attrs: { axis: 1 } };
    const [y] = Gather.ref(node, [x, makeValue("int64", [2, 2], [2, -3, -1, 1])]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([2, 2, 2]);
    expect(Array.from(y.data)).toEqual([12, 10, 12, 11, 22, 20, 22, 21]);
    const [z] = Gather.ref({ ...node, attrs: { axis: 0, indices: [1], indicesShape: [] } }, [x]);
    expect(z.shape).toEqual([3]);
    expect(Array.from(z.data)).toEqual([20, 21, 22]);
  });

  it("folds PyTorch's Shape -> Gather -> Unsqueeze -> Concat at import", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [2, 3, 4] }],
      outputs: ["y"],
      initializers: [{ name: "two", shape: [], data: [2], dtype: 7 }, { name: "m1", shape: [1], data: [-1], dtype: 7 }],
      nodes: [
        { op: "Shape", inputs: ["x"], outputs: ["s"] },
        { op: "Gather", inputs: ["s", "two"], outputs: ["d"], attrs: { axis: 0 } },
        { op: "Unsqueeze", inputs: ["d"], outputs: ["du"], attrs: { axes: [0] } },
        { op: "Concat", inputs: ["m1", "du"], outputs: ["shape"], attrs: { axis: 0 } },
        { op: "Reshape", inputs: ["x", "shape"], outputs: ["y"] },
      ],
      opset: 11,
    };
    const comp = await checkFloat(s, [{ x: randValue(rng(1502), [2, 3, 4]) }]);
    expect(comp.graph.nodes.map((n) => n.op)).toEqual(["Reshape"]);
    expect(comp.graph.tensors.get("y")!.shape).toEqual([6, 4]);
  });

  it("refuses run-time indices as a compile-time constant that is needed", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [5, 4] }, { name: "idx", shape: [2], dtype: 7 }], outputs: ["y"],
      nodes: [{ op: "Gather", name: "gg", inputs: ["x", "idx"], outputs: ["y"] }],
    };
    const err = await compileModel(writeModel(s)).then(() => undefined, (e: PicoError) => e);
    expect(err?.message).toMatch(/'gg'.*indices \(input 1\) 'idx' is computed at run time/);
    expect(err?.constantNeeded).toBe("idx");
  });

  it("refuses an out-of-range index, naming the node and the axis size", async () => {
    const s = spec({ name: "oob", x: [5, 4], axis: 0, idx: [5], ishape: [1], kernel: "" });
    s.nodes[0].name = "gx";
    await expect(compileModel(writeModel(s))).rejects.toThrow(/'gx'.*index 5 is out of range for an axis of size 5/);
    const t = spec({ name: "oob", x: [5, 4], axis: 1, idx: [-5], ishape: [], kernel: "" });
    await expect(compileModel(writeModel(t))).rejects.toThrow(/index -5 is out of range for an axis of size 4/);
  });
});
