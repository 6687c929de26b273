// Low-rank factors (--lowrank, passes/lowrank.ts): the SVD reconstructs random matrices
// (tall, wide, square) and its singular values match a matrix built with known ones; the
// truncation error equals the dropped singular values (Eckart-Young); the rewritten graph
// keeps the float function at full rank and gives two fully connected layers whose int8
// kernels are bit-exact with the integer interpreter; the fused activation moves to the
// second layer; rank from an energy share; refusals name the layer and the numbers.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { applyLowrank, chooseRank, parseLowrank, svd } from "../../compiler/passes/lowrank.js";
import { tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { mismatches, analyticVsDynamic } from "../helpers/cost.js";

function fc(K: number, N: number, seed: number, relu = false): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [1, K] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [N, K], data: uniform(r, N * K, -0.5, 0.5) }, { name: "b", shape: [N], data: uniform(r, N, -0.3, 0.3) }],
    nodes: [
      { op: "Gemm", inputs: ["x", "W", "b"], outputs: [relu ? "h" : "y"], attrs: { transB: 1 } },
      ...(relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

/** W = U diag(s) V^T reassembled from the first r singular triples. */
function rebuild(U: Float64Array, s: Float64Array, V: Float64Array, rows: number, cols: number, r: number): Float64Array {
  const n = s.length, out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    let v = 0;
    for (let k = 0; k < r; k++) v += U[i * n + k] * s[k] * V[j * n + k];
    out[i * cols + j] = v;
  }
  return out;
}

describe("low-rank factors", () => {
  for (const [rows, cols] of [[7, 4], [4, 9], [6, 6], [1, 5], [32, 30]])
    it(`the SVD of a random ${rows}x${cols} matrix reconstructs it, with orthonormal factors`, () => {
      const w = uniform(rng(rows * 31 + cols), rows * cols, -1, 1);
      const { U, s, V } = svd(w, rows, cols);
      const n = s.length;
      expect(n).toBe(Math.min(rows, cols));
      for (let k = 1; k < n; k++) expect(s[k]).toBeLessThanOrEqual(s[k - 1]);
      const back = rebuild(U, s, V, rows, cols, n);
      for (let i = 0; i < w.length; i++) expect(back[i]).toBeCloseTo(w[i], 10); // float64 Jacobi: far below f32 rounding
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) {
        let vu = 0, vv = 0;
        for (let i = 0; i < rows; i++) vu += U[i * n + a] * U[i * n + b];
        for (let j = 0; j < cols; j++) vv += V[j * n + a] * V[j * n + b];
        expect(vu).toBeCloseTo(a === b ? 1 : 0, 10);
        expect(vv).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    });

  it("known singular values come back, and the rank-r error is the dropped ones (Eckart-Young)", () => {
    // W = P diag(5, 3, 1) Q^T with P, Q from Householder reflections (orthogonal by construction)
    const house = (v: number[]) => {
      const d = v.length, nn = v.reduce((a, x) => a + x * x, 0);
      return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0) - (2 * v[i] * v[j]) / nn));
    };
    const P = house([1, 2, -1, 0.5]), Q = house([0.3, -1, 2]);
    const sig = [5, 3, 1];
    const w = new Float64Array(4 * 3);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) w[i * 3 + j] += P[i][k] * sig[k] * Q[j][k];
    const { U, s, V } = svd(w, 4, 3);
    expect(Array.from(s).map((x) => +x.toFixed(9))).toEqual(sig);
    const r1 = rebuild(U, s, V, 4, 3, 1);
    const err = Math.sqrt(w.reduce((a, x, i) => a + (x - r1[i]) ** 2, 0));
    expect(err).toBeCloseTo(Math.sqrt(3 * 3 + 1 * 1), 9);
    expect(chooseRank(s, 0.7)).toBe(1); // 25 / 35 = 0.714
    expect(chooseRank(s, 0.75)).toBe(2);
    expect(chooseRank(s, 2)).toBe(2);
  });

  it("full rank keeps the float function; the activation moves to the second layer", () => {
    const g = importAndLower(writeModel(fc(12, 10, 3, true)));
    const x = randValue(rng(4), [1, 12]);
    const before = interpret(g, { x }).y.data;
    const rep = applyLowrank(g, { Gemm_0: 5 });
    expect(rep[0]).toMatchObject({ rank: 5, weightsBefore: 120, weightsAfter: 110 });
    expect(g.nodes.map((n) => n.op)).toEqual(["Gemm", "Gemm"]);
    expect(g.nodes[0].attrs.actMin).toBeUndefined();
    expect(g.nodes[1].attrs.actMin).toBe(0);
    expect(tensor(g, g.nodes[0].inputs[1]).shape).toEqual([5, 12]);
    const low = interpret(g, { x }).y.data;
    // rank 5 of 10 changes the function; rank 10 (no saving, so only through svd) would not
    expect(Array.from(low).some((v, i) => Math.abs(v - before[i]) > 1e-3)).toBe(true);
    const g2 = importAndLower(writeModel(fc(12, 3, 3)));
    const y2 = interpret(g2, { x }).y.data;
    applyLowrank(g2, { Gemm_0: 2 }); // 2 (3 + 12) = 30 < 36, rank 2 of 3
    const g3 = importAndLower(writeModel(fc(12, 3, 3)));
    const { s } = svd(tensor(g3, g3.nodes[0].inputs[1]).data!, 3, 12);
    const worst = Math.max(...Array.from(interpret(g2, { x }).y.data, (v, i) => Math.abs(v - y2[i])));
    // |y - y_r| <= sigma_3 |x| (the dropped singular value bounds the error on any input)
    const xn = Math.sqrt(Array.from(x.data).reduce((a, v) => a + v * v, 0));
    expect(worst).toBeLessThanOrEqual(s[2] * xn + 1e-5);
  });

  it("int8: both factors run on the dense kernel, bit-exact, with exact costs", async () => {
    const r = rng(8);
    const calibrate = Array.from({ length: 16 }, () => ({ x: randValue(r, [1, 40]) }));
    const c = await compileModel(writeModel(fc(40, 24, 8, true)), { quantize: "int8", calibrate, lowrank: { "*": 6 }, selftest: true });
    expect(c.manifest.layers.filter((l) => l.op === "Gemm").length).toBe(2);
    const m = await instantiate(c.wasm, c.manifest);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    const io = c.manifest.inputs[0];
    for (let t = 0; t < 3; t++) {
      const x = randValue(r, [1, 40]);
      const q: Value = { dtype: "int8", shape: [1, 40], data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
      expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
    }
    expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
    expect(c.manifest.totals.params).toBe(6 * (40 + 24) + 24 + 6); // + the first factor's int8 bias (zeros: int8 layers always carry one)
  });

  it("refusals name the layer and the numbers", async () => {
    expect(() => parseLowrank(["0"])).toThrow(/--lowrank 0: expected a rank/);
    expect(() => parseLowrank(["a=1.5"])).toThrow(/--lowrank a=1.5/);
    expect(parseLowrank(["3", "fc=0.9"])).toEqual({ "*": 3, fc: 0.9 });
    await expect(compileModel(writeModel(fc(8, 4, 3)), { lowrank: { nope: 2 } })).rejects.toThrow(/--lowrank nope=2: no layer 'nope' .*'Gemm_0'/);
    await expect(compileModel(writeModel(fc(8, 4, 3)), { lowrank: { Gemm_0: 3 } })).rejects.toThrow(/W 4x8; rank 3 stores r \(N \+ K\) = 36 weights, not fewer than N K = 32/);
    await expect(compileModel(writeModel(fc(8, 4, 3)), { lowrank: { Gemm_0: 5 } })).rejects.toThrow(/rank 5 exceeds min\(N, K\) = 4/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { lowrank: { "/features/features.0/Conv": 2 } })).rejects.toThrow(/is not a fully connected Gemm/);
  });
});
