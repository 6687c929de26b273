// Magnitude pruning (--prune, passes/prune.ts) and the sparse int8 fully connected kernel
// (runtime-as/kernels/fc-sparse.ts): the pruning rule on a row worked by hand; the sparse
// kernel picked where its estimated instructions and its bytes are fewer, the dense one
// otherwise; bit-exact with the integer
// interpreter across sparsities, shapes with every N % 4, batches of rows, all-zero rows, a
// fused Relu and inputs far outside the calibrated range; analytic costs equal the counted
// ones; at 80% sparsity on a 256 -> 64 layer the counted instructions and the weight bytes
// against the unpruned dense layer (printed; both ratios must reach 2.5x, issue #5); and the
// refusals.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { applyPrune, parsePrune } from "../../compiler/passes/prune.js";
import { tensor, type Value } from "../../compiler/ir/graph.js";
import { sparseLayout } from "../../compiler/ops/gemm.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";

function fc(M: number, K: number, N: number, seed: number, opts: { relu?: boolean; weights?: Float32Array } = {}): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [M, K] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [N, K], data: opts.weights ?? uniform(r, N * K, -0.5, 0.5) }, { name: "b", shape: [N], data: uniform(r, N, -0.3, 0.3) }],
    nodes: [
      { op: "Gemm", inputs: ["x", "W", "b"], outputs: [opts.relu ? "h" : "y"], attrs: { transB: 1 } },
      ...(opts.relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

const calib = (shape: number[], seed: number) => {
  const r = rng(seed);
  return Array.from({ length: 16 }, () => ({ x: randValue(r, shape) }));
};

async function bitExact(c: Compiled, shape: number[], seed: number): Promise<void> {
  const m = await instantiate(c.wasm, c.manifest);
  const r = rng(seed);
  const io = c.manifest.inputs[0];
  for (const range of [1, 1, 4]) {
    const x = randValue(r, shape, -range, range);
    const q: Value = { dtype: "int8", shape, data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
  }
}

describe("magnitude pruning and the sparse int8 kernel", () => {
  it("the rule on a row worked by hand: the smallest |w| go first", () => {
    const g = importAndLower(writeModel(fc(1, 4, 1, 1, { weights: Float32Array.of(0.3, -0.1, 0.05, -0.4) })));
    applyPrune(g, { "*": 0.5 });
    expect(Array.from(tensor(g, g.nodes[0].inputs[1]).data!).map((v) => +v.toFixed(6))).toEqual([0.3, 0, 0, -0.4]);
  });

  it("the layout of a row worked by hand: pairs within 16 columns, fillers, quads and an odd pair", () => {
    const K = 40, w = new Int8Array(2 * K);
    w[0] = 5; w[3] = -2; w[30] = 7; // row 0: (0, 3) pair, 30 alone: a filler at 31
    w[K + 39] = -1; // row 1: the last column alone, its filler at K (a zero times the byte past the row)
    const lay = sparseLayout(w, 2, K);
    expect(lay.counts).toEqual([2, 1]);
    expect(lay.bytes).toEqual([5, 254, 7, 0, 0, 30, 2 | (0 << 4), /* row 1 */ 255, 0, 39, 0]);
    expect([lay.kept, lay.pairs]).toEqual([4, 3]);
  });

  it("bit-exact with gaps over 16 columns, the last column alone and empty rows (K = 256)", async () => {
    const K = 256, N = 6, r = rng(77);
    const w = new Float32Array(N * K);
    const put = (n: number, cols: number[]) => { for (const c of cols) w[n * K + c] = (r() < 0.5 ? -1 : 1) * (0.2 + 0.3 * r()); };
    put(0, [0, 17, 34, 255]); put(1, [255]); put(3, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 116, 133]); put(4, [200, 216, 217]); put(5, [254, 255]);
    const c = await compileModel(writeModel(fc(2, K, N, 78, { weights: w })), { quantize: "int8", calibrate: calib([2, K], 78), selftest: true });
    expect(c.source).toContain("fc_sparse_s8(");
    expect(c.manifest.memory.scratchBytes).toBe(K + 1);
    expect(c.manifest.memory.arenaBase).toBeGreaterThanOrEqual(K + 1);
    await bitExact(c, [2, K], 79);
    expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
  });

  let seed = 40;
  for (const [sparsity, M, K, N] of [[0.6, 1, 30, 32], [0.8, 1, 17, 5], [0.8, 3, 64, 6], [0.95, 2, 256, 7], [0.9, 1, 40, 3]])
    it(`bit-exact at ${sparsity * 100}% zeros: ${M}x${K} -> ${N}`, async () => {
      const s = ++seed;
      const c = await compileModel(writeModel(fc(M, K, N, s, { relu: s % 2 === 0 })), { quantize: "int8", calibrate: calib([M, K], s), prune: { "*": sparsity }, selftest: true });
      expect(c.source).toContain("fc_sparse_s8(");
      const m = await instantiate(c.wasm, c.manifest);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      await bitExact(c, [M, K], s + 100);
      expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
    });

  it("dense weights keep the dense kernel; a model that arrives pruned gets the sparse one", async () => {
    const dense = await compileModel(writeModel(fc(1, 32, 8, 3)), { quantize: "int8", calibrate: calib([1, 32], 3), prune: { "*": 0.3 } });
    expect(dense.source).toContain("fc_s8(");
    const w = uniform(rng(4), 8 * 32, -0.5, 0.5).map((v, i) => (i % 3 === 0 ? v : 0)); // two thirds zero in the ONNX file
    const arrived = await compileModel(writeModel(fc(1, 32, 8, 4, { weights: w })), { quantize: "int8", calibrate: calib([1, 32], 4) });
    expect(arrived.source).toContain("fc_sparse_s8(");
    await bitExact(arrived, [1, 32], 5);
  });

  it("80% zeros on a 256 -> 64 layer: counted instructions and weight bytes against the dense layer", async () => {
    const spec = fc(1, 256, 64, 9);
    const cal = calib([1, 256], 9);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const sparse = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, prune: { "*": 0.8 } });
    expect(dense.source).toContain("fc_s8(");
    expect(sparse.source).toContain("fc_sparse_s8(");
    const [pd, ps] = [await profileModule(dense.wasm, dense.source, dense.manifest), await profileModule(sparse.wasm, sparse.source, sparse.manifest)];
    const ratio = instructions(pd.layers[0]) / instructions(ps.layers[0]);
    const w = tensor(sparse.graph, sparse.graph.nodes[0].inputs[1]).data!;
    const kept = Array.from(w).filter((v) => v !== 0).length;
    expect(kept).toBe(Math.round(0.2 * 64 * 256));
    // the weight bytes the module stores: the quads and odd pairs, and one count per row
    const lay = sparseLayout(w, 64, 256);
    const pairs = sparse.manifest.layers[0].kernels[0].args[13] as number;
    expect(pairs).toBe(lay.pairs);
    const quads = (pairs - lay.counts.filter((c) => c & 1).length) / 2;
    const sparseBytes = 7 * quads + 4 * (pairs - 2 * quads) + 64, denseBytes = 64 * 256;
    expect(lay.bytes.length + lay.counts.length).toBe(sparseBytes);
    expect(sparse.source).toMatch(new RegExp(`C_sparse_weights: usize = memory.data<u8>\\(\\[[^\\]]*\\]\\)`));
    console.log(`80% pruned 256 -> 64: ${instructions(pd.layers[0])} -> ${instructions(ps.layers[0])} instructions (${ratio.toFixed(2)}x fewer); weights ${denseBytes} -> ${sparseBytes} bytes (${(denseBytes / sparseBytes).toFixed(2)}x fewer); ${kept} kept in ${pairs} pairs (${2 * pairs - kept} fillers); low scratch ${sparse.manifest.memory.scratchBytes} bytes`);
    expect(ratio).toBeGreaterThanOrEqual(2.5);
    expect(denseBytes / sparseBytes).toBeGreaterThanOrEqual(2.5);
    // what model.json reports as stored: the weights as laid out plus the folded bias, multiplier and shift (int32 per output)
    expect(sparse.manifest.layers[0].storedBytes).toBe(sparseBytes + 64 * 12);
    expect(dense.manifest.layers[0].storedBytes).toBe(denseBytes + 64 * 12);
  });

  it("refusals name the problem", async () => {
    expect(() => parsePrune(["1"])).toThrow(/--prune 1: the sparsity must be a number in \[0, 1\)/);
    expect(() => parsePrune(["fc=-0.1"])).toThrow(/--prune fc=-0.1/);
    expect(parsePrune(["0.8", "a=0.5"])).toEqual({ "*": 0.8, a: 0.5 });
    await expect(compileModel(writeModel(fc(1, 8, 4, 3)), { prune: { nope: 0.5 } })).rejects.toThrow(/--prune nope=0.5: no layer 'nope' in .*layers it can prune: 'Gemm_0'/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { prune: { "/features/features.3/Conv": 0.5 } })).rejects.toThrow(/'\/features\/features.3\/Conv' \(Conv\) is neither a fully connected Gemm nor a Conv with group 1/);
  });
});
