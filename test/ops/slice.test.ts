// Slice: positive and negative starts and ends, INT64_MAX / INT64_MIN ends, out-of-range
// starts and ends (clamped as the spec says, for both step signs), steps 2, -1 and -2,
// several axes (negative axes, any order), PyTorch's out[:, -1:, :] and crops, rank 1 to 4,
// the opset 9 attribute form next to the opset 10+ input form; constant folding on int64
// (F.pad's step -1 reversal feeding a Reshape); refusals of run-time starts, step 0, repeated
// axes and empty slices. Float against the reference and onnxruntime, int8 bit-exact (bytes
// moved, quantization kept) including saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { makeValue } from "../../compiler/ir/graph.js";
import { Slice } from "../../compiler/ops/slice.js";
import type { PicoError } from "../../compiler/util/errors.js";

const MAX = 9223372036854775807; // INT64_MAX (2^63 as a double, which is how import reads it)
const MIN = -9223372036854775808; // INT64_MIN

/**
 * int64 initializer data as the encoder needs it: protobufjs turns the double 2^63 into
 * INT64_MIN, so INT64_MAX goes in as its decimal string (Long parses it exactly).
 */
const i64 = (xs: number[]) => xs.map((v) => (v === MAX ? "9223372036854775807" : v)) as unknown as number[];
/** Opset 9 attributes cannot carry the string form: older exporters' INT32_MAX stands in. */
const i32max = (xs: number[]) => xs.map((v) => (v === MAX ? 2147483647 : v));

interface Case { name: string; x: number[]; starts: number[]; ends: number[]; axes?: number[]; steps?: number[]; out: number[] }

const CASES: Case[] = [
  { name: "positive starts and ends, default axes", x: [4, 6], starts: [1, 2], ends: [3, 5], out: [2, 3] },
  { name: "negative start and end", x: [5, 7], starts: [-3], ends: [-1], axes: [1], out: [5, 2] },
  { name: "INT64_MAX end", x: [3, 8, 4], starts: [2], ends: [MAX], axes: [1], out: [3, 6, 4] },
  { name: "out[:, -1:, :] on [1,T,H]", x: [1, 9, 5], starts: [-1], ends: [MAX], axes: [1], out: [1, 1, 5] },
  { name: "step 2 on two axes (evenly spaced rows merge)", x: [4, 9], starts: [0, 1], ends: [4, 9], axes: [0, 1], steps: [2, 2], out: [2, 4] },
  { name: "step -1 reverses (INT64_MIN end)", x: [3, 5], starts: [-1], ends: [MIN], axes: [1], steps: [-1], out: [3, 5] },
  { name: "steps -2 and -1 on axes 2 and 0", x: [4, 3, 6], starts: [5, 2], ends: [0, -100], axes: [2, 0], steps: [-2, -1], out: [3, 3, 3] },
  { name: "three axes, negative axes, crop", x: [2, 3, 4, 5], starts: [1, 0, -2], ends: [3, 2, MAX], axes: [-3, 0, -1], out: [2, 2, 4, 2] },
  { name: "out-of-range start and end clamp (step 1)", x: [3, 6], starts: [-100, 2], ends: [100, 1000], axes: [0, 1], out: [3, 4] },
  { name: "out-of-range starts clamp (step -1)", x: [4, 5], starts: [100, -100], ends: [1, -200], axes: [0, 1], steps: [-1, -1], out: [2, 1] },
  { name: "rank 1, step 3", x: [17], starts: [1], ends: [-2], steps: [3], out: [5] },
];

function spec(c: Case, opset: number): ModelSpec {
  const s: ModelSpec = { inputs: [{ name: "x", shape: c.x }], outputs: ["y"], opset, nodes: [] };
  if (opset < 10) {
    s.nodes.push({ op: "Slice", inputs: ["x"], outputs: ["y"], attrs: { starts: c.starts, ends: i32max(c.ends), ...(c.axes ? { axes: c.axes } : {}) } });
    return s;
  }
  const k = c.starts.length;
  s.initializers = [
    { name: "st", shape: [k], data: c.starts, dtype: 7 },
    { name: "en", shape: [k], data: i64(c.ends), dtype: 7 },
  ];
  const ins = ["x", "st", "en"];
  if (c.axes || c.steps) {
    s.initializers.push({ name: "ax", shape: [k], data: c.axes ?? c.starts.map((_, i) => i), dtype: 7 });
    ins.push("ax");
  }
  if (c.steps) {
    s.initializers.push({ name: "sp", shape: [k], data: c.steps, dtype: 7 });
    ins.push("sp");
  }
  s.nodes.push({ op: "Slice", inputs: ins, outputs: ["y"] });
  return s;
}

describe("Slice", () => {
  CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(1600 + i);
      const comp = await checkFloat(spec(c, 13), [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -4, 4) }]);
      expect(comp.graph.tensors.get("y")!.shape).toEqual(c.out);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(1700 + i);
      const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, c.x) }));
      const res = await checkInt8(spec(c, 13), calib, [{ x: randValue(r, c.x, -0.9, 0.9) }]);
      expect(res.worstSteps).toBeLessThanOrEqual(0.5 + 1e-6);
      await checkInt8(spec(c, 13), calib, [{ x: randValue(r, c.x, -7, 7) }]);
    });
  });

  CASES.filter((c) => !c.steps).forEach((c, i) => {
    it(`float opset 9 attributes: ${c.name}`, async () => {
      const r = rng(1800 + i);
      const comp = await checkFloat(spec(c, 9), [{ x: randValue(r, c.x) }]);
      expect(comp.graph.tensors.get("y")!.shape).toEqual(c.out);
    });
  });

  it("int8 opset 9 attributes", async () => {
    const c = CASES[7];
    const r = rng(1900);
    const calib = [{ x: randValue(r, c.x) }, { x: randValue(r, c.x) }];
    await checkInt8(spec(c, 9), calib, [{ x: randValue(r, c.x, -5, 5) }]);
  });

  it("selects what the spec says (hand-computed, int64, raw and normalized forms)", () => {
    const x = makeValue("int64", [3, 4], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const i64 = (v: number[]) => makeValue("int64", [v.length], v);
    const node = { name: "s", op: "Slice", inputs: [], outputs: [], attrs: {} };
    // rows from the last down to the first, columns 3 and 1
    const [y] = Slice.ref(node, [x, i64([-1, 3]), i64([MIN, 0]), i64([0, 1]), i64([-1, -2])]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(y.data)).toEqual([11, 9, 7, 5, 3, 1]);
    // start below -d with a negative step clamps to 0 (one element), end below -d to -1
    const [z] = Slice.ref({ ...node, attrs: { starts: [-100], ends: [-100], axes: [1], steps: [-1] } }, [x]);
    expect(z.shape).toEqual([3, 1]);
    expect(Array.from(z.data)).toEqual([0, 4, 8]);
    // INT64_MAX end with step 1 runs to the end; start past the end selects nothing
    const [w] = Slice.ref({ ...node, attrs: { starts: [2, 9], ends: [MAX, MAX], axes: [1, 0] } }, [x]);
    expect(w.shape).toEqual([0, 2]);
  });

  it("folds F.pad's reversal (Slice step -1 on int64) into a Reshape target at import", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [2, 6] }],
      outputs: ["y"],
      initializers: [
        { name: "dims", shape: [3], data: [3, 4, 99], dtype: 7 },
        { name: "st", shape: [1], data: [-2], dtype: 7 },
        { name: "en", shape: [1], data: ["-9223372036854775807"] as unknown as number[], dtype: 7 },
        { name: "ax", shape: [1], data: [0], dtype: 7 },
        { name: "sp", shape: [1], data: [-1], dtype: 7 },
      ],
      nodes: [
        { op: "Slice", inputs: ["dims", "st", "en", "ax", "sp"], outputs: ["shape"] },
        { op: "Reshape", inputs: ["x", "shape"], outputs: ["y"] },
      ],
    };
    const comp = await checkFloat(s, [{ x: randValue(rng(1901), [2, 6]) }]);
    expect(comp.graph.nodes.map((n) => n.op)).toEqual(["Reshape"]);
    expect(comp.graph.tensors.get("y")!.shape).toEqual([4, 3]);
  });

  it("refuses starts computed at run time as a compile-time constant that is needed", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [5, 4] }, { name: "st", shape: [1], dtype: 7 }], outputs: ["y"],
      initializers: [{ name: "en", shape: [1], data: [3], dtype: 7 }],
      nodes: [{ op: "Slice", name: "ss", inputs: ["x", "st", "en"], outputs: ["y"] }],
    };
    const err = await compileModel(writeModel(s)).then(() => undefined, (e: PicoError) => e);
    expect(err?.message).toMatch(/'ss'.*starts \(input 1\) 'st' is computed at run time/);
    expect(err?.constantNeeded).toBe("st");
  });

  it("refuses step 0, repeated axes and an empty slice, naming the node", async () => {
    const bad = (c: Partial<Case>) => {
      const s = spec({ name: "bad", x: [4, 6], starts: [0], ends: [2], out: [], ...c }, 13);
      s.nodes[0].name = "sl";
      return compileModel(writeModel(s));
    };
    await expect(bad({ steps: [0], axes: [1] })).rejects.toThrow(/'sl'.*steps \[0\] contain 0/);
    await expect(bad({ starts: [0, 1], ends: [2, 3], axes: [1, -1] })).rejects.toThrow(/'sl'.*axes \[1, 1\] repeat an axis/);
    await expect(bad({ starts: [3], ends: [1] })).rejects.toThrow(/'sl'.*slice of 4x6 is empty \(shape 0x6\)/);
  });
});
