// Gemm: constant B and C in every transB/alpha/beta combination and C shape (per-column
// bias shapes become the canonical fully connected form, [M,N] and [M,1] keep the general
// form), all operands at run time (float only), transA, weights shared by two Gemms,
// int8 bit-exactness of the fully connected kernel across the 4-channel / 4-tap remainder
// paths with fused activations, the refusal of int8 for the general form, and the fold of a
// following BatchNormalization.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type AttrV, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";
import type { Value } from "../../compiler/ir/graph.js";

interface ConstCase { M: number; K: number; N: number; transB: number; alpha?: number; beta?: number; c?: number[] | null }

function constSpec(c: ConstCase, seed: number): ModelSpec {
  const r = rng(seed);
  const b = c.transB ? [c.N, c.K] : [c.K, c.N];
  const attrs: Record<string, AttrV> = { transB: c.transB };
  if (c.alpha !== undefined) attrs.alpha = { float: c.alpha };
  if (c.beta !== undefined) attrs.beta = { float: c.beta };
  const cs = c.c ?? null;
  return {
    inputs: [{ name: "x", shape: [c.M, c.K] }],
    outputs: ["y"],
    initializers: [
      { name: "B", shape: b, data: uniform(r, c.N * c.K, -0.5, 0.5) },
      ...(cs ? [{ name: "C", shape: cs, data: uniform(r, cs.reduce((p, q) => p * q, 1), -0.5, 0.5) }] : []),
    ],
    nodes: [{ op: "Gemm", inputs: ["x", "B", ...(cs ? ["C"] : [])], outputs: ["y"], attrs }],
  };
}

const feeds = (r: () => number, shape: number[]) => [{ x: randValue(r, shape) }, { x: randValue(r, shape, -3, 3) }];

describe("Gemm float, constant B and C", () => {
  const M = 3, K = 5, N = 4;
  const shapes: Array<[string, number[] | null, boolean]> = [
    ["C [N]", [N], true], ["C [1,N]", [1, N], true], ["C scalar", [], true], ["C [1]", [1], true],
    ["no C", null, true], ["C [M,N]", [M, N], false], ["C [M,1]", [M, 1], false],
  ];
  let seed = 0;
  for (const [cname, cs, canonical] of shapes)
    for (const transB of [0, 1])
      for (const [alpha, beta] of [[undefined, undefined], [0.7, -1.3], [-2, 0]] as Array<[number | undefined, number | undefined]>) {
        const s = ++seed;
        const beta0 = beta === 0 && cs !== null;
        it(`${cname}, transB=${transB}, alpha=${alpha ?? 1}, beta=${beta ?? 1}`, async () => {
          const r = rng(1000 + s);
          const c = await checkFloat(constSpec({ M, K, N, transB, alpha, beta, c: cs }, s), feeds(r, [M, K]));
          const node = c.graph.nodes.find((n) => n.op === "Gemm")!;
          // beta = 0 drops C, so any C shape is canonical then
          expect(!!node.attrs.canonical).toBe(canonical || beta0);
          if (node.attrs.canonical) {
            expect(c.graph.tensors.get(node.inputs[1])!.shape).toEqual([N, K]);
            expect(node.inputs.length).toBe(cs && !beta0 ? 3 : 2);
            if (node.inputs[2]) expect(c.graph.tensors.get(node.inputs[2])!.shape).toEqual([N]);
          }
        });
      }

  it("transA with M > 1 keeps the general form; with M = 1 it is canonical", async () => {
    const r = rng(7);
    const mk = (m: number): ModelSpec => ({
      inputs: [{ name: "x", shape: [K, m] }],
      outputs: ["y"],
      initializers: [{ name: "B", shape: [N, K], data: uniform(r, N * K) }, { name: "C", shape: [N], data: uniform(r, N) }],
      nodes: [{ op: "Gemm", inputs: ["x", "B", "C"], outputs: ["y"], attrs: { transA: 1, transB: 1, alpha: 1.5 } }],
    });
    const c3 = await checkFloat(mk(3), feeds(r, [K, 3]));
    expect(c3.graph.nodes[0].attrs.canonical).toBeUndefined();
    const c1 = await checkFloat(mk(1), feeds(r, [K, 1]));
    expect(c1.graph.nodes[0].attrs.canonical).toBe(true);
  });

  it("two Gemms sharing one initializer with different transB and alpha", async () => {
    const r = rng(8);
    const spec: ModelSpec = {
      inputs: [{ name: "x", shape: [2, 6] }],
      outputs: ["y"],
      initializers: [{ name: "B", shape: [6, 6], data: uniform(r, 36) }],
      nodes: [
        { op: "Gemm", inputs: ["x", "B"], outputs: ["t"] },
        { op: "Gemm", inputs: ["t", "B"], outputs: ["y"], attrs: { transB: 1, alpha: 0.5 } },
      ],
    };
    const c = await checkFloat(spec, feeds(r, [2, 6]));
    const [w1, w2] = c.graph.nodes.map((n) => n.inputs[1]);
    expect(w1).not.toBe(w2);
    expect(c.graph.tensors.has("B")).toBe(false); // pruned: only the new W tensors remain
  });
});

describe("Gemm float, operands at run time", () => {
  const CASES: Array<{ name: string; a: number[]; b: number[]; c?: number[]; attrs: Record<string, AttrV> }> = [
    { name: "plain, C [N]", a: [3, 5], b: [5, 4], c: [4], attrs: {} },
    { name: "transA transB alpha beta, C [M,N]", a: [5, 3], b: [6, 5], c: [3, 6], attrs: { transA: 1, transB: 1, alpha: 0.25, beta: 0.35 } },
    { name: "transA, C [M,1]", a: [4, 2], b: [4, 7], c: [2, 1], attrs: { transA: 1, beta: { float: -2 } } },
    { name: "transB, scalar C", a: [1, 9], b: [3, 9], c: [], attrs: { transB: 1 } },
    { name: "no C", a: [6, 8], b: [8, 5], attrs: { alpha: { float: 3 } } },
  ];
  CASES.forEach((c, i) => {
    it(c.name, async () => {
      const r = rng(500 + i);
      const spec: ModelSpec = {
        inputs: [{ name: "a", shape: c.a }, { name: "b", shape: c.b }, ...(c.c ? [{ name: "c", shape: c.c }] : [])],
        outputs: ["y"],
        nodes: [{ op: "Gemm", inputs: ["a", "b", ...(c.c ? ["c"] : [])], outputs: ["y"], attrs: c.attrs }],
      };
      const feed = (): Record<string, Value> => ({ a: randValue(r, c.a, -2, 2), b: randValue(r, c.b), ...(c.c ? { c: randValue(r, c.c) } : {}) });
      const compiled = await checkFloat(spec, [feed(), feed()]);
      expect(compiled.graph.nodes[0].attrs.canonical).toBeUndefined();
    });
  });

  it("int8 refuses the general form with a clear error", async () => {
    const r = rng(9);
    const model = writeModel(constSpec({ M: 3, K: 4, N: 2, transB: 0, c: [3, 2] }, 9));
    const calib = [{ x: randValue(r, [3, 4]) }];
    await expect(compileModel(model, { quantize: "int8", calibrate: calib })).rejects.toThrow(/Gemm_0.*only a Gemm with constant B/);
  });
});

describe("Gemm int8 (canonical fully connected)", () => {
  // N % 4 and K % 4 choose the kernel's 4-channel block, remainder channels and remainder taps
  const CASES: ConstCase[] = [
    { M: 1, K: 16, N: 8, transB: 1, c: [8] },
    { M: 1, K: 7, N: 6, transB: 0, c: [1, 6], alpha: 0.8, beta: 0.5 },
    { M: 3, K: 13, N: 3, transB: 1 },
    { M: 2, K: 64, N: 10, transB: 1, c: [] },
    { M: 4, K: 3, N: 5, transB: 0, c: [5], beta: -1 },
  ];
  CASES.forEach((c, i) => {
    it(`M=${c.M} K=${c.K} N=${c.N} transB=${c.transB} C ${c.c ? `[${c.c}]` : "none"}`, async () => {
      const r = rng(600 + i);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, [c.M, c.K]) }));
      const res = await checkInt8(constSpec(c, 60 + i), calib, [{ x: randValue(r, [c.M, c.K]) }]);
      // error of one output: rounding of the output (1/2 step) plus input and weight rounding
      // summed over K products, a few steps at most
      expect(res.worstSteps).toBeLessThan(3);
      await checkInt8(constSpec(c, 60 + i), calib, [{ x: randValue(r, [c.M, c.K], -6, 6) }, { x: randValue(r, [c.M, c.K], -40, 40) }]);
    });
  });

  for (const act of ["Relu", "Clip"]) {
    it(`fused ${act} clamps in the quantized domain`, async () => {
      const c: ConstCase = { M: 2, K: 11, N: 7, transB: 1, c: [7] };
      const s = constSpec(c, 70);
      s.nodes[0].outputs = ["t"];
      if (act === "Relu") s.nodes.push({ op: "Relu", inputs: ["t"], outputs: ["y"] });
      else {
        s.initializers!.push({ name: "lo", shape: [], data: [-0.3] }, { name: "hi", shape: [], data: [0.6] });
        s.nodes.push({ op: "Clip", inputs: ["t", "lo", "hi"], outputs: ["y"] });
      }
      const r = rng(71);
      const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, [c.M, c.K]) }));
      const f = await checkFloat(s, [{ x: randValue(r, [c.M, c.K]) }]);
      expect(f.graph.nodes.map((n) => n.op)).toEqual(["Gemm"]);
      const res = await checkInt8(s, calib, [{ x: randValue(r, [c.M, c.K]) }]);
      // a clamp narrows the output scale while input rounding errors stay: keep the clamp
      // range near the unclamped output spread so the step bound stays comparable
      expect(res.worstSteps).toBeLessThan(3);
      await checkInt8(s, calib, [{ x: randValue(r, [c.M, c.K], -8, 8) }]);
    });
  }
});

describe("Gemm followed by BatchNormalization", () => {
  it("is folded into the canonical Gemm and still matches onnxruntime", async () => {
    const r = rng(80);
    const M = 4, K = 9, N = 6;
    const spec: ModelSpec = {
      inputs: [{ name: "x", shape: [M, K] }],
      outputs: ["y"],
      initializers: [
        { name: "W", shape: [N, K], data: uniform(r, N * K) },
        { name: "b", shape: [N], data: uniform(r, N) },
        { name: "gamma", shape: [N], data: uniform(r, N, 0.5, 2) },
        { name: "beta", shape: [N], data: uniform(r, N) },
        { name: "mean", shape: [N], data: uniform(r, N) },
        { name: "var", shape: [N], data: uniform(r, N, 0.1, 3) },
      ],
      nodes: [
        { op: "Gemm", inputs: ["x", "W", "b"], outputs: ["t"], attrs: { transB: 1, alpha: 1.25 } },
        { op: "BatchNormalization", inputs: ["t", "gamma", "beta", "mean", "var"], outputs: ["y"], attrs: { epsilon: 1e-3 } },
      ],
    };
    const c = await checkFloat(spec, feeds(r, [M, K]));
    expect(c.graph.nodes.map((n) => n.op)).toEqual(["Gemm"]);
    expect(c.graph.nodes[0].attrs.canonical).toBe(true);
    const calib = Array.from({ length: 8 }, () => ({ x: randValue(r, [M, K]) }));
    const res = await checkInt8(spec, calib, [{ x: randValue(r, [M, K]) }]);
    expect(res.worstSteps).toBeLessThan(3);
  });
});
