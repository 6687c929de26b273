// Analytic costs of the fully connected and matrix kernels equal the instrumented module's
// counts (multiplies, bytes read, bytes written) per layer: Gemm in float and int8 with and
// without bias across N % 4 = 0..3 and several rows, the general float Gemm with and without
// C, MatMul in float and int8 with constant and run-time B, and the Q-format fc kernels.
import { describe, expect, it } from "vitest";
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";

function gemm(M: number, K: number, N: number, bias: boolean, seed: number, general = false): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [M, K] }], outputs: ["y"],
    initializers: [
      { name: "B", shape: [N, K], data: uniform(r, N * K, -0.5, 0.5) },
      ...(bias ? [{ name: "C", shape: general ? [M, N] : [N], data: uniform(r, general ? M * N : N, -0.5, 0.5) }] : []),
    ],
    nodes: [{ op: "Gemm", inputs: ["x", "B", ...(bias ? ["C"] : [])], outputs: ["y"], attrs: { transB: 1, ...(general ? { alpha: { float: 0.5 } } : {}) } }],
  };
}

function matmul(B: number, M: number, K: number, N: number, constB: boolean, seed: number): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [B, M, K] }, ...(constB ? [] : [{ name: "w", shape: [B, K, N] }])], outputs: ["y"],
    initializers: constB ? [{ name: "w", shape: [K, N], data: uniform(r, K * N, -0.5, 0.5) }] : [],
    nodes: [{ op: "MatMul", inputs: ["x", "w"], outputs: ["y"] }],
  };
}

const calib = (spec: ModelSpec, n = 8) => {
  const r = rng(7);
  return Array.from({ length: n }, () => Object.fromEntries(spec.inputs.map((i) => [i.name, { dtype: "float32" as const, shape: i.shape, data: uniform(r, i.shape.reduce((a, b) => a * b, 1)) }])));
};

async function check(spec: ModelSpec, opts: CompileOptions) {
  const c = await compileModel(writeModel(spec), { ...opts, ...(opts.quantize ? { calibrate: calib(spec) } : {}) });
  const checks = await analyticVsDynamic(c);
  expect(mismatches(checks)).toEqual([]);
  expect(checks.some((k) => k.dynamic.muls > 0)).toBe(true);
  return checks;
}

describe("fully connected", () => {
  let seed = 0;
  for (const quantize of [undefined, "int8"] as const)
    for (const [M, K, N] of [[1, 30, 32], [1, 13, 5], [3, 9, 6], [2, 16, 7]])
      for (const bias of [true, false]) {
        if (quantize && !bias) continue; // int8 folds the zero point into a bias anyway
        it(`${quantize ?? "float"} Gemm ${M}x${K} -> ${N}${bias ? " + bias" : ""}`, () => check(gemm(M, K, N, bias, ++seed), { quantize }));
      }
  it("general float Gemm (alpha, C [M,N])", () => check(gemm(3, 5, 6, true, 99, true), {}));
  it("general float Gemm without C", () => check({ ...gemm(3, 5, 6, false, 98), nodes: [{ op: "Gemm", inputs: ["x", "B"], outputs: ["y"], attrs: { transB: 1, alpha: { float: 0.5 } } }] }, {}));
  for (const fixed of ["Q4.4", "Q8.8"])
    it(`${fixed} Gemm`, () => check(gemm(1, 21, 6, true, 50), { fixed }));
});

describe("MatMul", () => {
  for (const quantize of [undefined, "int8"] as const) {
    it(`${quantize ?? "float"} MatMul, run-time B, batched`, () => check(matmul(2, 3, 5, 6, false, 11), { quantize }));
    it(`${quantize ?? "float"} MatMul, constant B`, () => check(matmul(2, 3, 5, 7, true, 12), { quantize }));
  }
});
