// Pad, constant mode: asymmetric and non-zero-value pads on 1-D (NCL) and 2-D (NCHW)
// layouts, all-zero pads (as PyTorch emits), negative pads (cropping), opset 11+ input
// form against opset 7/10 attribute form, opset 18 axes; reflect/edge refused. Float against
// the reference and onnxruntime, int8 bit-exact against the integer interpreter (pad value
// quantized with the input's parameters) including saturating inputs.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import { compileAndRun } from "../helpers/run.js";
import { makeValue } from "../../compiler/ir/graph.js";
import { Pad } from "../../compiler/ops/pad.js";

interface Case { name: string; x: number[]; pads: number[]; value?: number; axes?: number[] }

const CASES: Case[] = [
  { name: "1-D NCL asymmetric", x: [1, 3, 10], pads: [0, 0, 2, 0, 0, 1] },
  { name: "1-D NCL causal, value 0.5", x: [2, 2, 7], pads: [0, 0, 4, 0, 0, 0], value: 0.5 },
  { name: "2-D NCHW asymmetric", x: [1, 2, 5, 6], pads: [0, 0, 1, 2, 0, 0, 3, 1] },
  { name: "2-D NCHW value -0.75 on every axis", x: [1, 2, 3, 4], pads: [1, 0, 1, 1, 0, 2, 2, 0], value: -0.75 },
  { name: "all-zero pads", x: [1, 4, 3, 3], pads: [0, 0, 0, 0, 0, 0, 0, 0] },
  { name: "negative pads crop", x: [1, 2, 6, 7], pads: [0, 0, -1, 2, 0, 0, 1, -3], value: 0.25 },
  { name: "pure crop", x: [1, 3, 8], pads: [0, -1, -2, 0, 0, -3] },
  { name: "2-D input, channel-last pad", x: [4, 5], pads: [0, 1, 0, 3], value: 1 },
];

/** The model in the input form (opset >= 11) or the attribute form (opset < 11). */
function spec(c: Case, opset: number): ModelSpec {
  const base: ModelSpec = { inputs: [{ name: "x", shape: c.x }], outputs: ["y"], opset, nodes: [] };
  if (opset < 11) {
    base.nodes.push({ op: "Pad", inputs: ["x"], outputs: ["y"], attrs: { mode: "constant", pads: c.pads, ...(c.value !== undefined ? { value: { float: c.value } } : {}) } });
    return base;
  }
  base.initializers = [{ name: "pads", shape: [c.pads.length], data: c.pads, dtype: 7 }];
  const ins = ["x", "pads"];
  if (c.value !== undefined) {
    base.initializers.push({ name: "value", shape: [], data: [c.value] });
    ins.push("value");
  }
  if (c.axes) {
    base.initializers.push({ name: "axes", shape: [c.axes.length], data: c.axes, dtype: 7 });
    if (ins.length === 2) ins.push("");
    ins.push("axes");
  }
  base.nodes.push({ op: "Pad", inputs: ins, outputs: ["y"] });
  return base;
}

describe("Pad", () => {
  CASES.forEach((c, i) => {
    for (const opset of [11, 13, 10, 7]) {
      it(`float opset ${opset}: ${c.name}`, async () => {
        const r = rng(900 + i);
        await checkFloat(spec(c, opset), [{ x: randValue(r, c.x) }]);
      });
    }
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(1000 + i);
      const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, c.x) }));
      const res = await checkInt8(spec(c, 13), calib, [{ x: randValue(r, c.x, -0.9, 0.9) }]);
      expect(res.worstSteps).toBeLessThanOrEqual(0.5 + 1e-6);
      await checkInt8(spec(c, 13), calib, [{ x: randValue(r, c.x, -6, 6) }]);
    });
  });

  it("opset 18 axes input pads only the listed axes (negative axes allowed)", async () => {
    const c: Case = { name: "axes", x: [1, 3, 4, 5], pads: [1, 2, 0, 3], axes: [2, -1], value: 0.5 };
    const r = rng(11);
    const comp = await checkFloat(spec(c, 18), [{ x: randValue(r, c.x) }]);
    expect(comp.graph.tensors.get("y")!.shape).toEqual([1, 3, 5, 10]);
    const calib = [{ x: randValue(r, c.x) }];
    await checkInt8(spec(c, 18), calib, [{ x: randValue(r, c.x, -4, 4) }]);
  });

  it("opset 1 attribute `paddings`", async () => {
    // onnxruntime has no opset 1 kernels: the expected values are built here
    const s: ModelSpec = { opset: 1, inputs: [{ name: "x", shape: [1, 2] }], outputs: ["y"], nodes: [{ op: "Pad", inputs: ["x"], outputs: ["y"], attrs: { paddings: [0, 1, 0, 2], value: { float: -1 } } }] };
    const { outputs } = await compileAndRun(writeModel(s), [[makeValue("float32", [1, 2], [5, 6])]]);
    expect(outputs[0][0].shape).toEqual([1, 5]);
    expect(Array.from(outputs[0][0].data)).toEqual([-1, 5, 6, -1, -1]);
  });

  it("int8 pad value outside the input's range saturates to the int8 limit", async () => {
    const c: Case = { name: "sat", x: [1, 2, 3], pads: [0, 0, 1, 0, 0, 1], value: 50 };
    const calib = [{ x: randValue(rng(12), c.x) }];
    const compiled = await compileModel(writeModel(spec(c, 13)), { quantize: "int8", calibrate: calib });
    expect(compiled.graph.nodes[0].q!.value).toBe(127);
    await checkInt8(spec(c, 13), calib, [{ x: randValue(rng(13), c.x) }]);
  });

  for (const mode of ["reflect", "edge", "wrap"]) {
    it(`refuses mode ${mode}, naming the node and the mode`, async () => {
      const s = spec(CASES[0], 13);
      s.nodes[0].name = "padder";
      s.nodes[0].attrs = { mode };
      await expect(compileModel(writeModel(s))).rejects.toThrow(new RegExp(`'padder'.*mode '${mode}' is not supported`));
    });
  }

  it("refuses pads computed at run time", async () => {
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: [1, 4] }, { name: "p", shape: [4], dtype: 7 }], outputs: ["y"],
      nodes: [{ op: "Pad", name: "pp", inputs: ["x", "p"], outputs: ["y"] }],
    };
    await expect(compileModel(writeModel(s))).rejects.toThrow(/'pp'.*pads \(input 1\).*compile time/);
  });

  it("refuses pads that crop a dim below zero", async () => {
    const s = spec({ name: "neg", x: [1, 4], pads: [0, -3, 0, -2] }, 13);
    await expect(compileModel(writeModel(s))).rejects.toThrow(/crop 1x4 below zero size/);
  });

  it("reference pads int64 values (constant folding), hand-computed", () => {
    const x = makeValue("int64", [2, 2], [1, 2, 3, 4]);
    const node = { name: "p", op: "Pad", inputs: [], outputs: [], attrs: { pads: [1, 0, 0, -1], value: 9 } };
    const [y] = Pad.ref(node, [x]);
    expect(y.dtype).toBe("int64");
    expect(y.shape).toEqual([3, 1]);
    expect(Array.from(y.data)).toEqual([9, 1, 3]);
  });
});
