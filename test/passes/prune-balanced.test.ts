// Column-balanced pruning (--prune-balance, passes/prune.ts): the rule on a matrix worked by
// hand; on random layers every sub-column keeps exactly its share (so the work per block of
// rows is equal) and the total matches; the balanced model runs on the sparse int8 kernel
// bit-exact with the integer interpreter; refusals.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { pruneBalanced } from "../../compiler/passes/prune.js";
import { tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";

function fc(K: number, N: number, seed: number): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [1, K] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [N, K], data: uniform(r, N * K, -0.5, 0.5) }, { name: "b", shape: [N], data: uniform(r, N, -0.3, 0.3) }],
    nodes: [{ op: "Gemm", inputs: ["x", "W", "b"], outputs: ["y"], attrs: { transB: 1 } }],
  };
}

describe("column-balanced pruning", () => {
  it("the rule worked by hand: each sub-column of B rows keeps its largest", () => {
    // W [5, 2]; B = 2, s = 0.5: the blocks of rows {0, 1} and {2, 3} keep one weight per column,
    // the last block {4} keeps round(0.5 * 1) = 1 (Math.round rounds half up)
    const w = Float32Array.of(0.1, -0.9, /* r1 */ -0.3, 0.2, /* r2 */ 0.5, 0.4, /* r3 */ -0.6, -0.1, /* r4 */ 0.05, 0.7);
    const d = Array.from(pruneBalanced(w, 5, 2, 0.5, 2)).map((v) => +v.toFixed(6));
    expect(d).toEqual([0, -0.9, -0.3, 0, 0, 0.4, -0.6, 0, 0.05, 0.7]);
  });

  for (const [N, K, s, B] of [[64, 40, 0.8, 16], [30, 17, 0.75, 8], [10, 5, 0.9, 10], [2, 6, 0.8, 8]])
    it(`every sub-column keeps the same count: ${N}x${K}, ${s * 100}% zeros, B = ${B}`, () => {
      const d = pruneBalanced(uniform(rng(N + K), N * K, -1, 1), N, K, s, B);
      for (let k = 0; k < K; k++)
        for (let r0 = 0; r0 < N; r0 += B) {
          const len = Math.min(B, N - r0);
          let nz = 0;
          for (let n = r0; n < r0 + len; n++) if (d[n * K + k] !== 0) nz++;
          expect(nz).toBe(Math.max(1, Math.round((1 - s) * len)));
        }
    });

  it("runs on the sparse int8 kernel, bit-exact", async () => {
    const r = rng(5);
    const calibrate = Array.from({ length: 16 }, () => ({ x: randValue(r, [1, 96]) }));
    const c = await compileModel(writeModel(fc(96, 32, 5)), { quantize: "int8", calibrate, prune: { "*": 0.8 }, pruneBalance: 8, selftest: true });
    expect(c.source).toContain("fc_sparse_s8(");
    const w = tensor(c.graph, c.graph.nodes[0].inputs[1]).data!;
    for (let k = 0; k < 96; k++) for (let r0 = 0; r0 < 32; r0 += 8) {
      let nz = 0;
      for (let n = r0; n < r0 + 8; n++) if (w[n * 96 + k] !== 0) nz++;
      expect(nz).toBe(2); // round(0.2 * 8); int8 rounding keeps every kept weight non-zero here
    }
    const m = await instantiate(c.wasm, c.manifest);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    const io = c.manifest.inputs[0];
    const x = randValue(r, [1, 96]);
    const q: Value = { dtype: "int8", shape: [1, 96], data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
  });

  it("refusals", async () => {
    await expect(compileModel(writeModel(fc(8, 4, 3)), { prune: { "*": 0.5 }, pruneBalance: 0 })).rejects.toThrow(/--prune-balance 0: the sub-column length must be a whole number of rows >= 1/);
    await expect(compileModel(writeModel(fc(8, 4, 3)), { prune: { "*": 0.5 }, pruneBalance: 2.5 })).rejects.toThrow(/--prune-balance 2.5/);
    await expect(compileModel(writeModel(fc(8, 4, 3)), { pruneBalance: 4 })).rejects.toThrow(/--prune-balance 4 needs --prune <s>/);
  });
});
