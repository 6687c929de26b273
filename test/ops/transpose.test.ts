// Transpose: permutations of 2-D to 6-D tensors (default reversal, NCHW <-> NHWC, unit axes
// that merge away, a last axis that stays last so rows are block copies), constant folding
// on int64 data, refused bad perms; float against the reference and onnxruntime, int8
// bit-exact (bytes moved, quantization kept) including saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { makeValue } from "../../compiler/ir/graph.js";
import { Transpose } from "../../compiler/ops/transpose.js";

interface Case { name: string; x: number[]; perm?: number[] }

const CASES: Case[] = [
  { name: "2-D default (reversed)", x: [5, 7] },
  { name: "3-D default (reversed)", x: [2, 3, 4] },
  { name: "3-D [0,2,1] (NCL -> NLC)", x: [2, 4, 6], perm: [0, 2, 1] },
  { name: "3-D [2,0,1]", x: [3, 4, 5], perm: [2, 0, 1] },
  { name: "3-D [1,0,2] (last axis stays: row copies)", x: [3, 4, 5], perm: [1, 0, 2] },
  { name: "4-D [0,2,3,1] (NCHW -> NHWC)", x: [1, 3, 4, 5], perm: [0, 2, 3, 1] },
  { name: "4-D [0,3,1,2] (NHWC -> NCHW)", x: [2, 4, 5, 3], perm: [0, 3, 1, 2] },
  { name: "4-D [3,2,1,0]", x: [2, 3, 4, 5], perm: [3, 2, 1, 0] },
  { name: "4-D [1,0,3,2]", x: [2, 3, 4, 5], perm: [1, 0, 3, 2] },
  { name: "4-D unit axes moved only (one copy)", x: [1, 6, 1, 5], perm: [2, 0, 1, 3] },
  { name: "6-D [5,3,1,0,2,4]", x: [2, 3, 2, 2, 3, 2], perm: [5, 3, 1, 0, 2, 4] },
];

function spec(c: Case): ModelSpec {
  return { inputs: [{ name: "x", shape: c.x }], outputs: ["y"], nodes: [{ op: "Transpose", inputs: ["x"], outputs: ["y"], attrs: c.perm ? { perm: c.perm } : {} }] };
}

describe("Transpose", () => {
  CASES.forEach((c, i) => {
    it(`float: ${c.name}`, async () => {
      const r = rng(700 + i);
      await checkFloat(spec(c), [{ x: randValue(r, c.x) }]);
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(800 + i);
      const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, c.x) }));
      const res = await checkInt8(spec(c), calib, [{ x: randValue(r, c.x, -0.9, 0.9) }]);
      expect(res.worstSteps).toBeLessThanOrEqual(0.5 + 1e-6);
      await checkInt8(spec(c), calib, [{ x: randValue(r, c.x, -7, 7) }]);
    });
  });

  it("moves elements where the permutation says (hand-computed)", () => {
    const x = makeValue("int64", [2, 3], [1, 2, 3, 4, 5, 6]);
    const [y] = Transpose.ref({ name: "t", op: "Transpose", inputs: [], outputs: [], attrs: {} }, [x]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(y.data)).toEqual([1, 4, 2, 5, 3, 6]);
    const z = makeValue("float32", [2, 1, 3], [0, 1, 2, 3, 4, 5]);
    const [w] = Transpose.ref({ name: "t", op: "Transpose", inputs: [], outputs: [], attrs: { perm: [2, 0, 1] } }, [z]);
    expect(w.shape).toEqual([3, 2, 1]);
    expect(Array.from(w.data)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it("refuses a perm that is not a permutation, naming the node", async () => {
    const s = spec({ name: "bad", x: [2, 3, 4], perm: [0, 0, 1] });
    s.nodes[0].name = "tp";
    await expect(compileModel(writeModel(s))).rejects.toThrow(/'tp'.*perm \[0, 0, 1\] is not a permutation/);
  });
});
