// GlobalAveragePool on [N,C,L], [N,C,H,W] and rank 5, plane sizes that are and are not
// multiples of the kernel's 4-way unroll, a long plane; float against the reference and
// onnxruntime, int8 bit-exact against the integer interpreter (in and far outside the
// calibrated range), with a sanity bound on the error.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { importOnnxFile } from "../../compiler/onnx/import.js";

const SHAPES: number[][] = [
  [1, 4, 5, 5],
  [1, 3, 7],
  [2, 3, 4, 6],
  [1, 8, 1, 1],
  [1, 2, 3, 2, 4],
  [1, 2, 33, 31],
];

const spec = (x: number[]): ModelSpec => ({
  inputs: [{ name: "x", shape: x }], outputs: ["y"], nodes: [{ op: "GlobalAveragePool", inputs: ["x"], outputs: ["y"] }],
});

describe("GlobalAveragePool", () => {
  SHAPES.forEach((x, i) => {
    const name = x.join("x");
    it(`float: ${name}`, async () => {
      const r = rng(10 + i);
      const c = await checkFloat(spec(x), [{ x: randValue(r, x) }, { x: randValue(r, x, -0.5, 4) }]);
      expect(c.graph.tensors.get("y")!.shape).toEqual([x[0], x[1], ...x.slice(2).map(() => 1)]);
    });
    it(`int8 bit-exact: ${name}`, async () => {
      const r = rng(20 + i);
      // lopsided range: zero point far from 0
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, x, -0.5, 2) }));
      const res = await checkInt8(spec(x), calib, [{ x: randValue(r, x, -0.5, 2) }]);
      // input rounding (<= 0.5 step on average) plus the rounding division (<= 0.5 step)
      expect(res.worstSteps).toBeLessThan(1.25);
      await checkInt8(spec(x), calib, [{ x: randValue(r, x, -8, 8) }, { x: randValue(r, x, 3, 9) }]);
    });
  });

  it("refuses a rank-2 input", () => {
    expect(() => importOnnxFile(writeModel(spec([2, 3])))).toThrow(/GlobalAveragePool needs rank >= 3/);
  });
});
