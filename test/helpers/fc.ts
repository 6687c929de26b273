// Shared pieces of the fully connected kernel tests (test/ops/fc-*.test.ts): a one-Gemm model
// (optional bias and Relu), calibration feeds, and the bit-exactness check of a compiled
// module against the integer interpreter on raw int8 inputs, in range and four times beyond.
import { expect } from "vitest";
import type { Compiled } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import type { Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import type { ModelSpec } from "./build-onnx.js";
import { randValue, rng, uniform } from "./random.js";

/** x [M, K] -> Gemm (W [N, K], transB, bias unless bias: false) -> optional Relu -> y. */
export function fc(M: number, K: number, N: number, seed: number, opts: { bias?: boolean; relu?: boolean; weights?: Float32Array } = {}): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [M, K] }], outputs: ["y"],
    initializers: [
      { name: "W", shape: [N, K], data: opts.weights ?? uniform(r, N * K, -0.5, 0.5) },
      ...(opts.bias !== false ? [{ name: "b", shape: [N], data: uniform(r, N, -0.3, 0.3) }] : []),
    ],
    nodes: [
      { op: "Gemm", inputs: ["x", "W", ...(opts.bias !== false ? ["b"] : [])], outputs: [opts.relu ? "h" : "y"], attrs: { transB: 1 } },
      ...(opts.relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

/** 16 random calibration feeds for input x. */
export const calib = (shape: number[], seed: number) => {
  const r = rng(seed);
  return Array.from({ length: 16 }, () => ({ x: randValue(r, shape) }));
};

/** Runs raw int8 inputs through the wasm and the integer interpreter, expecting equal bytes; returns the wasm outputs. */
export async function bitExact(c: Compiled, shape: number[], seed: number): Promise<number[][]> {
  const m = await instantiate(c.wasm, c.manifest);
  const r = rng(seed);
  const io = c.manifest.inputs[0];
  const outs: number[][] = [];
  for (const range of [1, 1, 4]) {
    const x = randValue(r, shape, -range, range);
    const q: Value = { dtype: "int8", shape, data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    const got = Array.from(runRaw(m, [q])[0].data);
    expect(got).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
    outs.push(got);
  }
  return outs;
}
