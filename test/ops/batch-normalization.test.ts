// BatchNormalization standalone (not folded: on a graph input, or after an Add) on rank 2,
// 3 and 4, float against the reference and onnxruntime, int8 bit-exact against the integer
// interpreter (in and far outside the calibrated range) with a sanity bound; parameters fed
// as run-time inputs (float); degenerate channels (scale 0, near-zero scale with a large
// shift); a Conv -> BN pair that must be folded; and the training-mode refusals.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { importOnnxFile } from "../../compiler/onnx/import.js";
import { compileModel } from "../../compiler/pipeline.js";

function params(seed: number, C: number) {
  const r = rng(seed);
  const scale = uniform(r, C, 0.3, 1.7).map((v, i) => (i % 3 === 1 ? -v : v));
  return {
    scale, B: uniform(r, C, -0.5, 0.5), mean: uniform(r, C, -0.6, 0.6), var: uniform(r, C, 0.05, 2.5),
  };
}

type P = ReturnType<typeof params>;

function bnSpec(x: number[], p: P, opts: { afterAdd?: boolean; epsilon?: number } = {}): ModelSpec {
  const C = x[1];
  const src = opts.afterAdd ? "t" : "x";
  return {
    inputs: [{ name: "x", shape: x }], outputs: ["y"],
    initializers: [
      { name: "scale", shape: [C], data: p.scale }, { name: "B", shape: [C], data: p.B },
      { name: "mean", shape: [C], data: p.mean }, { name: "var", shape: [C], data: p.var },
      ...(opts.afterAdd ? [{ name: "k", shape: [1], data: [0.25] }] : []),
    ],
    nodes: [
      ...(opts.afterAdd ? [{ op: "Add", inputs: ["x", "k"], outputs: ["t"] }] : []),
      { op: "BatchNormalization", inputs: [src, "scale", "B", "mean", "var"], outputs: ["y"], attrs: opts.epsilon !== undefined ? { epsilon: { float: opts.epsilon } } : {} },
    ],
  };
}

const CASES: Array<{ name: string; x: number[]; afterAdd?: boolean; epsilon?: number }> = [
  { name: "rank 2 [N, C]", x: [3, 6] },
  { name: "rank 3 [N, C, L]", x: [1, 5, 11] },
  { name: "rank 4 [N, C, H, W] epsilon 1e-3", x: [2, 3, 4, 5], epsilon: 1e-3 },
  { name: "rank 4 after an Add", x: [1, 4, 6, 6], afterAdd: true },
];

describe("BatchNormalization", () => {
  CASES.forEach((c, i) => {
    const p = params(30 + i, c.x[1]);
    it(`float: ${c.name}`, async () => {
      const r = rng(40 + i);
      const comp = await checkFloat(bnSpec(c.x, p, c), [{ x: randValue(r, c.x) }, { x: randValue(r, c.x, -3, 3) }]);
      expect(comp.graph.nodes.map((n) => n.op)).toContain("BatchNormalization");
    });
    it(`int8 bit-exact: ${c.name}`, async () => {
      const r = rng(50 + i);
      // enough calibration that every channel sees nearly the whole input range; the bound is
      // checked on inputs well inside it, so neither input nor output saturates
      const calib = Array.from({ length: 16 }, () => ({ x: randValue(r, c.x, -0.5, 1.5) }));
      const res = await checkInt8(bnSpec(c.x, p, c), calib, [{ x: randValue(r, c.x, -0.2, 1.2) }]);
      expect(res.worstSteps).toBeLessThan(2);
      await checkInt8(bnSpec(c.x, p, c), calib, [{ x: randValue(r, c.x, -9, 9) }]);
    });
  });

  it("degenerate channels: scale 0, and a near-zero scale with a large shift", async () => {
    const x = [1, 4, 3, 3];
    const p = params(60, 4);
    p.scale[0] = 0; p.B[0] = 0.7;
    p.scale[2] = 1e-9; p.B[2] = -1.5; p.mean[2] = 40;
    const r = rng(61);
    await checkFloat(bnSpec(x, p), [{ x: randValue(r, x) }]);
    const calib = Array.from({ length: 16 }, () => ({ x: randValue(r, x) }));
    const res = await checkInt8(bnSpec(x, p), calib, [{ x: randValue(r, x, -0.7, 0.7) }]);
    expect(res.worstSteps).toBeLessThan(2);
    await checkInt8(bnSpec(x, p), calib, [{ x: randValue(r, x, -9, 9) }]);
  });

  it("float with all parameters as run-time inputs", async () => {
    const x = [2, 3, 4];
    const s: ModelSpec = {
      inputs: ["x", "scale", "B", "mean", "var"].map((name) => ({ name, shape: name === "x" ? x : [3] })), outputs: ["y"],
      nodes: [{ op: "BatchNormalization", inputs: ["x", "scale", "B", "mean", "var"], outputs: ["y"], attrs: { epsilon: { float: 0.01 } } }],
    };
    const r = rng(70);
    const feed = () => ({ x: randValue(r, x, -2, 2), scale: randValue(r, [3], -1.5, 1.5), B: randValue(r, [3]), mean: randValue(r, [3]), var: randValue(r, [3], 0.1, 3) });
    await checkFloat(s, [feed(), feed()]);
  });

  it("int8 refuses run-time parameters", async () => {
    const x = [1, 2, 3];
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: x }, { name: "scale", shape: [2] }], outputs: ["y"],
      initializers: [{ name: "B", shape: [2], data: [0, 0] }, { name: "mean", shape: [2], data: [0, 0] }, { name: "var", shape: [2], data: [1, 1] }],
      nodes: [{ op: "BatchNormalization", inputs: ["x", "scale", "B", "mean", "var"], outputs: ["y"] }],
    };
    const r = rng(71);
    const calib = [{ x: randValue(r, x), scale: randValue(r, [2]) }];
    await expect(compileModel(writeModel(s), { quantize: "int8", calibrate: calib })).rejects.toThrow(/BatchNormalization.*scale for int8 \(input 1\)/);
  });

  it("Conv -> BN is folded into the Conv and still matches onnxruntime (float and int8)", async () => {
    const r = rng(80);
    const x = [1, 3, 7, 7], C = 4;
    const p = params(81, C);
    const s: ModelSpec = {
      inputs: [{ name: "x", shape: x }], outputs: ["y"],
      initializers: [
        { name: "W", shape: [C, 3, 3, 3], data: uniform(r, C * 27, -0.5, 0.5) }, { name: "Wb", shape: [C], data: uniform(r, C, -0.2, 0.2) },
        { name: "scale", shape: [C], data: p.scale }, { name: "B", shape: [C], data: p.B },
        { name: "mean", shape: [C], data: p.mean }, { name: "var", shape: [C], data: p.var },
      ],
      nodes: [
        { op: "Conv", inputs: ["x", "W", "Wb"], outputs: ["t"], attrs: { pads: [1, 1, 1, 1] } },
        { op: "BatchNormalization", inputs: ["t", "scale", "B", "mean", "var"], outputs: ["y"] },
      ],
    };
    const comp = await checkFloat(s, [{ x: randValue(r, x) }]);
    expect(comp.graph.nodes.map((n) => n.op)).toEqual(["Conv"]);
    const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, x) }));
    const res = await checkInt8(s, calib, [{ x: randValue(r, x) }]);
    expect(res.worstSteps).toBeLessThan(3);
  });

  describe("refusals", () => {
    const one = (attrs: Record<string, number>, outputs: string[], opset = 15, x = [1, 2, 3]): string => writeModel({
      inputs: [{ name: "x", shape: x }], outputs, opset,
      initializers: ["scale", "B", "mean", "var"].map((name) => ({ name, shape: [x[1] ?? 1], data: new Array(x[1] ?? 1).fill(1) })),
      nodes: [{ op: "BatchNormalization", inputs: ["x", "scale", "B", "mean", "var"], outputs, attrs }],
    });
    it("training_mode=1", () => {
      expect(() => importOnnxFile(one({ training_mode: 1 }, ["y", "rm", "rv"]))).toThrow(/training_mode=1/);
    });
    it("running mean / variance outputs", () => {
      expect(() => importOnnxFile(one({}, ["y", "rm", "rv"], 9))).toThrow(/outputs 'rm', 'rv'.*training/);
    });
    it("spatial=0 (opset 7)", () => {
      expect(() => importOnnxFile(one({ spatial: 0 }, ["y"], 7))).toThrow(/spatial=0/);
    });
    it("parameters that are not one per channel", () => {
      const f = writeModel({
        inputs: [{ name: "x", shape: [1, 3, 2] }], outputs: ["y"],
        initializers: ["scale", "B", "mean", "var"].map((name) => ({ name, shape: [2], data: [1, 1] })),
        nodes: [{ op: "BatchNormalization", inputs: ["x", "scale", "B", "mean", "var"], outputs: ["y"] }],
      });
      expect(() => importOnnxFile(f)).toThrow(/scale has shape 2, expected \[3\]/);
    });
  });
});
