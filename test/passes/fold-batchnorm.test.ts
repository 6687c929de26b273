// fold-batchnorm: BN after Conv (1-D, 2-D), canonical Gemm and MatMul-by-constant folds
// away and the model still matches onnxruntime (float) and the integer interpreter (int8);
// a BN whose input has another consumer stays a BN node.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import type { ModelSpec } from "../helpers/build-onnx.js";

function bnInits(r: () => number, c: number) {
  return [
    { name: "gamma", shape: [c], data: uniform(r, c, 0.5, 1.5) },
    { name: "beta", shape: [c], data: uniform(r, c, -0.5, 0.5) },
    { name: "mean", shape: [c], data: uniform(r, c, -0.3, 0.3) },
    { name: "var", shape: [c], data: uniform(r, c, 0.2, 2) },
  ];
}

function model(kind: "conv2d" | "conv1d" | "matmul" | "gemm" | "shared"): { spec: ModelSpec; x: number[] } {
  const r = rng(kind.length);
  const bn = { op: "BatchNormalization", inputs: ["t", "gamma", "beta", "mean", "var"], outputs: ["y"], attrs: { epsilon: 1e-3 } };
  if (kind === "conv2d" || kind === "conv1d" || kind === "shared") {
    const x = kind === "conv1d" ? [1, 3, 12] : [1, 3, 6, 6];
    const w = kind === "conv1d" ? [4, 3, 3] : [4, 3, 3, 3];
    const spec: ModelSpec = {
      inputs: [{ name: "x", shape: x }], outputs: kind === "shared" ? ["y", "t"] : ["y"],
      initializers: [{ name: "W", shape: w, data: uniform(r, w.reduce((a, b) => a * b, 1), -0.5, 0.5) }, ...bnInits(r, 4)],
      nodes: [{ op: "Conv", inputs: ["x", "W"], outputs: ["t"] }, bn],
    };
    return { spec, x };
  }
  const spec: ModelSpec = {
    inputs: [{ name: "x", shape: [1, 6] }], outputs: ["y"],
    initializers: kind === "matmul"
      ? [{ name: "B", shape: [6, 4], data: uniform(r, 24, -0.5, 0.5) }, ...bnInits(r, 4)]
      : [{ name: "B", shape: [4, 6], data: uniform(r, 24, -0.5, 0.5) }, { name: "C", shape: [4], data: uniform(r, 4) }, ...bnInits(r, 4)],
    nodes: [kind === "matmul" ? { op: "MatMul", inputs: ["x", "B"], outputs: ["t"] } : { op: "Gemm", inputs: ["x", "B", "C"], outputs: ["t"], attrs: { transB: 1 } }, bn],
  };
  return { spec, x: [1, 6] };
}

describe("fold-batchnorm", () => {
  for (const kind of ["conv2d", "conv1d", "matmul", "gemm"] as const) {
    it(`${kind} + BatchNormalization folds and still matches`, async () => {
      const { spec, x } = model(kind);
      const r = rng(11);
      const c = await checkFloat(spec, [{ x: randValue(r, x) }, { x: randValue(r, x, -2, 2) }]);
      expect(c.graph.nodes.map((n) => n.op)).toEqual([kind.startsWith("conv") ? "Conv" : "Gemm"]);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, x) }));
      const res = await checkInt8(spec, calib, [{ x: randValue(r, x) }]);
      expect(res.worstSteps).toBeLessThan(3);
    });
  }
  it("keeps a BatchNormalization whose input is also a graph output", async () => {
    const { spec, x } = model("shared");
    const c = await checkFloat(spec, [{ x: randValue(rng(12), x) }]);
    expect(c.graph.nodes.map((n) => n.op)).toEqual(["Conv", "BatchNormalization"]);
  });
});
