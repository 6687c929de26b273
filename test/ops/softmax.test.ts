// Softmax: axis 1 of [1,10], the last axis of [1,4,7], the middle axis of [2,5,3], opset 11
// (input coerced to 2-D at axis) against opset 13 (one axis) on the same 3-D input.
// Float: wasm vs reference vs onnxruntime within FLOAT_TOL (onnxruntime applies each opset's
// own semantics, so it checks the normalization independently of our reference).
// int8: bit-exact wasm vs integer interpreter on inputs inside and far outside the calibrated
// range, an error bound in output steps (1/256), and the wasm output against this file's own
// BigInt evaluation of the definition, including slices whose sum needs more than 31 bits.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { makeValue, tensor, type Value } from "../../compiler/ir/graph.js";

function softmax(shape: number[], opset: number, axis?: number): ModelSpec {
  return {
    inputs: [{ name: "x", shape }], outputs: ["y"], opset,
    nodes: [{ op: "Softmax", inputs: ["x"], outputs: ["y"], attrs: axis === undefined ? {} : { axis } }],
  };
}

interface Case { name: string; shape: number[]; opset: number; axis?: number; slices: [number, number, number] }

// `slices` is the (outer, n, inner) decomposition the case must reduce to, stated here from the
// ONNX definitions (not read from the compiler) and used by the BigInt reference below.
const CASES: Case[] = [
  { name: "[1,10] axis 1", shape: [1, 10], opset: 13, axis: 1, slices: [1, 10, 1] },
  { name: "[1,4,7] last axis (default)", shape: [1, 4, 7], opset: 13, slices: [4, 7, 1] },
  { name: "[1,4,7] axis -1", shape: [1, 4, 7], opset: 13, axis: -1, slices: [4, 7, 1] },
  { name: "[2,5,3] middle axis", shape: [2, 5, 3], opset: 13, axis: 1, slices: [2, 5, 3] },
  { name: "[2,3,4] opset 13 axis 1: over dim 1 only", shape: [2, 3, 4], opset: 13, axis: 1, slices: [2, 3, 4] },
  { name: "[2,3,4] opset 11 axis 1: over dims 1 and 2", shape: [2, 3, 4], opset: 11, axis: 1, slices: [2, 12, 1] },
  { name: "[2,3,4] opset 11 default axis 1", shape: [2, 3, 4], opset: 11, slices: [2, 12, 1] },
  { name: "[2,3,4] opset 11 axis 0: everything", shape: [2, 3, 4], opset: 11, axis: 0, slices: [1, 24, 1] },
  { name: "[3,2,4] opset 13 axis 0", shape: [3, 2, 4], opset: 13, axis: 0, slices: [1, 3, 8] },
  { name: "[1,5,2,3] opset 13 axis 1 (per-pixel channels)", shape: [1, 5, 2, 3], opset: 13, axis: 1, slices: [1, 5, 6] },
];

/** The int8 definition, evaluated independently with BigInt. */
function softmaxInt8(x: ArrayLike<number>, [outer, n, inner]: [number, number, number], sIn: number): number[] {
  const T = Array.from({ length: 256 }, (_, d) => BigInt(Math.round(Math.exp(-d * sIn) * 2 ** 20)));
  const y = new Array<number>(x.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const idx = Array.from({ length: n }, (_, k) => (o * n + k) * inner + i);
      const max = Math.max(...idx.map((j) => x[j]));
      const sum = idx.reduce((s, j) => s + T[max - x[j]], 0n);
      for (const j of idx) {
        const v = Number((T[max - x[j]] * 256n + sum / 2n) / sum) - 128;
        y[j] = Math.min(127, Math.max(-128, v));
      }
    }
  return y;
}

/** Compiles to int8 and compares the wasm output on `feeds` with the BigInt definition. */
async function checkDefinition(spec: ModelSpec, slices: [number, number, number], calib: Array<Record<string, Value>>, feeds: Value[]): Promise<void> {
  const c = await compileModel(writeModel(spec), { quantize: "int8", calibrate: calib });
  const yq = tensor(c.graph, "y").quant!;
  expect([yq.scale[0], yq.zeroPoint[0]], "fixed output quantization").toEqual([1 / 256, -128]);
  const xq = tensor(c.graph, "x").quant!;
  const m = await instantiate(c.wasm, c.manifest);
  for (const f of feeds) {
    const q = makeValue("int8", f.shape, Array.from(f.data, (v) => quantizeValue(v, xq.scale[0], xq.zeroPoint[0])));
    const got = runRaw(m, [q])[0].data;
    expect(Array.from(got)).toEqual(softmaxInt8(q.data, slices, xq.scale[0]));
  }
}

describe("Softmax", () => {
  CASES.forEach((c, i) => {
    const spec = softmax(c.shape, c.opset, c.axis);
    it(`float: ${c.name}`, async () => {
      const r = rng(100 + i);
      // large logits check that the maximum is subtracted before exp
      await checkFloat(spec, [{ x: randValue(r, c.shape, -3, 3) }, { x: randValue(r, c.shape, -60, 90) }]);
    });
    it(`int8: ${c.name}`, async () => {
      const r = rng(200 + i);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, c.shape, -3, 3) }));
      const inside = randValue(r, c.shape, -2.9, 2.9), far = randValue(r, c.shape, -20, 20);
      // Input rounding of at most s_in / 2 = 3/255 per logit moves a probability p by at most
      // about p * 2 * 3/255 < 0.024 (6 output steps at p = 1), output rounding half a step; the
      // probabilities seen here stay well below 1, so 3 steps bounds gross mistakes.
      const res = await checkInt8(spec, calib, [{ x: inside }]);
      expect(res.worstSteps).toBeLessThan(3);
      await checkInt8(spec, calib, [{ x: far }]);
      await checkDefinition(spec, c.slices, calib, [inside, far]);
    });
  });

  it("int8 slices whose table sum exceeds 2^31 (int64 division path) and below it (int32 path)", async () => {
    const shape = [2, 3000];
    const r = rng(7);
    const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, shape, -1, 1) }));
    // logits close together: 3000 entries near 2^20 each sum to about 3e9 > 2^31
    const near = randValue(r, shape, 0.95, 1);
    const spread = randValue(r, shape, -1, 1);
    const spec = softmax(shape, 13);
    await checkInt8(spec, calib, [{ x: near }, { x: spread }]);
    await checkDefinition(spec, [2, 3000, 1], calib, [near, spread]);
  });

  it("a single-element slice is probability 1 (127 in int8, saturated from 128)", async () => {
    const spec = softmax([4, 1], 13);
    const r = rng(8);
    const calib = [{ x: randValue(r, [4, 1]) }];
    await checkFloat(spec, [{ x: randValue(r, [4, 1]) }]);
    const c = await compileModel(writeModel(spec), { quantize: "int8", calibrate: calib });
    const m = await instantiate(c.wasm, c.manifest);
    expect(Array.from(runRaw(m, [makeValue("int8", [4, 1], [-128, -5, 0, 127])])[0].data)).toEqual([127, 127, 127, 127]);
  });

  it("refuses an axis out of range", async () => {
    await expect(compileModel(writeModel(softmax([2, 3], 13, 2)))).rejects.toThrow(/Softmax.*axis 2 out of range for rank 2/);
  });
});
