// EIE's compressed-column layout (--eie, compiler/ops/fc-eie.ts) and its kernel fc_eie_s8
// (runtime-as/kernels/fc-eie.ts): the layout of a small matrix worked by hand (codebook
// indices, runs, fillers over gaps of more than 15 rows, column pointers); the wasm bit-exact
// with the integer interpreter on shared (--share 4 after --prune), ternary and pow2 layers
// over shapes with N > 16, all-zero columns, M > 1, a fused Relu, and inputs that are all or
// partly zero; a layer of zero weights; column pointers past 32767; the cost formula an upper bound of the counted cost, and eieCost exact for the
// counted non-zero activations; instructions against the dense and sparse kernels on a
// 256 -> 64 layer at 85% sparsity for inputs with 0%, 50% and 90% zeros, and the layout's
// bytes against the sparse quads and dense (printed); cancer-mlp with --prune 0.8 --share 4
// --eie all, as accurate as without --eie; and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runFloat, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { tensor, type Value } from "../../compiler/ir/graph.js";
import { sparseLayout } from "../../compiler/ops/gemm.js";
import { eieBytes, eieLayout } from "../../compiler/ops/fc-eie.js";
import { eieCost } from "../../compiler/cost/fc-eie.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { bytesRead, bytesWritten, instructions, multiplies } from "../../targets/profile/instrument.js";

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

/** Float inputs whose share `zeros` of entries is exactly 0 (quantized to the zero point), the rest in ±[0.1, 1). */
function withZeros(r: () => number, n: number, zeros: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() < zeros ? 0 : (r() < 0.5 ? -1 : 1) * (0.1 + 0.9 * r())));
}

/** Raw int8 inputs (random, wide, half zero, all zero) through the wasm and the interpreter, byte for byte. */
async function bitExact(c: Compiled, shape: number[], seed: number): Promise<void> {
  const m = await instantiate(c.wasm, c.manifest);
  const r = rng(seed);
  const io = c.manifest.inputs[0];
  const n = shape.reduce((a, b) => a * b, 1);
  const floats = [randValue(r, shape).data, randValue(r, shape, -4, 4).data, withZeros(r, n, 0.5), new Float32Array(n)];
  for (const x of floats) {
    const q: Value = { dtype: "int8", shape, data: Int8Array.from(x, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
  }
}

const gemmWeights = (c: Compiled) => tensor(c.graph, c.graph.nodes.find((n) => n.op === "Gemm")!.inputs[1]).data!;

describe("EIE: compressed columns, 4-bit codebook indices and runs", () => {
  it("the layout of a small matrix worked by hand: indices, runs, fillers, pointers", () => {
    const N = 40, K = 3, w = new Int8Array(N * K);
    // column 0: rows 0, 3 and 36 (a gap of 32 zero rows: two fillers of 16 rows each)
    w[0 * K] = 5; w[3 * K] = -2; w[36 * K] = 5;
    // column 1: all zero; column 2: rows 16 (a run of exactly 16: one filler, then run 0) and 39
    w[16 * K + 2] = 9; w[39 * K + 2] = -2;
    const lay = eieLayout(w, N, K);
    expect(lay.book).toEqual([0, -2, 5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // 0 first, then ascending
    // bits 0..1 the index's low bits, 2..5 the run, 6..7 the index's high bits
    const E = (idx: number, run: number) => (idx & 3) + 4 * run + 64 * (idx >> 2);
    expect([E(3, 0), E(0, 15), E(13, 6)]).toEqual([3, 60, 0b11_0110_01]);
    // column 0: row 0; row 3 (2 rows skipped); 32 rows skipped before row 36: fillers on rows 19
    // and 35 (15 skipped each, adding 0 there), then run 0. Column 2: 16 rows skipped before
    // row 16: a filler on row 15, then run 0; rows 17..38 skipped (22): a filler on row 32, then run 6
    expect(lay.entries).toEqual([E(2, 0), E(1, 2), E(0, 15), E(0, 15), E(2, 0), E(0, 15), E(3, 0), E(0, 15), E(1, 6)]);
    expect(lay.ptr).toEqual([0, 5, 5, 9]);
    expect([lay.fillers, lay.distinct]).toEqual([4, 3]);
    expect(eieBytes(lay)).toBe(9 + 2 * 4 + 16);
  });

  let seed = 60;
  const cases: Array<[string, Record<string, unknown>, number, number, number, boolean]> = [
    ["--prune 0.8 --share 4", { prune: { "*": 0.8 }, share: { "*": 4 } }, 1, 40, 48, true],
    ["--prune 0.9 --share 4", { prune: { "*": 0.9 }, share: { "*": 4 } }, 3, 17, 70, false],
    ["--prune 0.6 --share 3", { prune: { "*": 0.6 }, share: { "*": 3 } }, 2, 64, 20, true],
    ["--ternary", { ternary: ["all"] }, 2, 33, 36, true],
    ["--prune 0.85 --ternary", { prune: { "*": 0.85 }, ternary: ["all"] }, 1, 256, 64, false],
    ["--pow2", { pow2: ["all"] }, 1, 24, 18, false],
    ["--prune 0.7 --pow2", { prune: { "*": 0.7 }, pow2: ["all"] }, 4, 50, 33, true],
    ["--weights int4-tensor", { prune: { "*": 0.5 }, weights: { "*": "int4-tensor" } }, 1, 9, 5, true],
  ];
  for (const [what, o, M, K, N, relu] of cases)
    it(`bit-exact, ${what}: ${M}x${K} -> ${N}${relu ? " + Relu" : ""}`, async () => {
      const s = ++seed;
      const c = await compileModel(writeModel(fc(M, K, N, s, { relu })), { quantize: "int8", calibrate: calib([M, K], s), ...o, eie: ["all"], selftest: true });
      expect(c.source).toContain("fc_eie_s8(");
      const w = gemmWeights(c);
      const lay = eieLayout(w, N, K);
      expect(lay.ptr[K]).toBe(Array.from(w).filter((v) => v !== 0).length + lay.fillers);
      expect(c.manifest.memory.scratchBytes).toBeGreaterThanOrEqual(208 + 4 * N);
      // a shared layer (per-tensor int8 weights) has one multiplier and shift, ternary and pow2 layers one per row
      const perTensor = "share" in o || "weights" in o;
      expect(c.source).toMatch(new RegExp(`// mult: int32 x${perTensor ? 1 : N}\n`));
      const m = await instantiate(c.wasm, c.manifest);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      await bitExact(c, [M, K], s + 100);
      expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
    });

  it("all-zero columns, long gaps (fillers) and empty weights: bit-exact", async () => {
    const K = 20, N = 50, r = rng(5);
    const w = new Float32Array(N * K);
    // columns 0, 7 and 19 empty; column 3 only on the last row; column 5 on rows 0 and 49; the rest sparse
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) if (![0, 7, 19, 3, 5].includes(k) && r() < 0.15) w[n * K + k] = r() < 0.5 ? -0.25 : 0.25;
    w[49 * K + 3] = 0.25; w[5] = -0.25; w[49 * K + 5] = 0.25;
    const c = await compileModel(writeModel(fc(2, K, N, 6, { weights: w, relu: true })), { quantize: "int8", calibrate: calib([2, K], 6), eie: ["Gemm_0"] });
    const lay = eieLayout(gemmWeights(c), N, K);
    expect(lay.distinct).toBe(2); // one magnitude: every row's int8 weights are ±127
    expect(lay.fillers).toBeGreaterThanOrEqual(6); // column 3: 49 rows skipped, three fillers; column 5: 48, three
    for (const k of [0, 7, 19]) expect(lay.ptr[k + 1]).toBe(lay.ptr[k]);
    await bitExact(c, [2, K], 7);
    expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
  });

  it("a layer of zero weights: no entries, the outputs are the requantized biases", async () => {
    const c = await compileModel(writeModel(fc(2, 5, 20, 8, { weights: new Float32Array(100) })), { quantize: "int8", calibrate: calib([2, 5], 8), eie: ["all"] });
    const lay = eieLayout(gemmWeights(c), 20, 5);
    expect([lay.entries.length, lay.distinct]).toEqual([0, 0]);
    expect(lay.ptr).toEqual([0, 0, 0, 0, 0, 0]);
    await bitExact(c, [2, 5], 9);
    expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
  });

  it("column pointers past 32767 (stored as int16 bit patterns, read as u16): bit-exact", async () => {
    const [K, N] = [200, 200];
    const w = Float32Array.from({ length: N * K }, (_, i) => (i % 7 === 3 ? 0 : i % 3 === 0 ? -0.25 : 0.25));
    const c = await compileModel(writeModel(fc(1, K, N, 14, { weights: w })), { quantize: "int8", calibrate: calib([1, K], 14), eie: ["all"] });
    const lay = eieLayout(gemmWeights(c), N, K);
    expect(lay.ptr[K]).toBeGreaterThan(32767);
    expect(lay.ptr[K]).toBeLessThanOrEqual(65535);
    await bitExact(c, [1, K], 15);
  });

  it("the cost: an upper bound (every activation non-zero), exact for the counted non-zero activations", async () => {
    const [M, K, N] = [3, 48, 40];
    const c = await compileModel(writeModel(fc(M, K, N, 11)), { quantize: "int8", calibrate: calib([M, K], 11), prune: { "*": 0.8 }, share: { "*": 4 }, eie: ["all"] });
    const lay = eieLayout(gemmWeights(c), N, K);
    const io = c.manifest.inputs[0];
    const r = rng(12);
    for (const zeros of [0, 0.5, 0.9, 1]) {
      const x = withZeros(r, M * K, zeros);
      const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [x] });
      let cols = 0, walked = 0;
      x.forEach((v, i) => {
        if (quantizeValue(v, io.scale!, io.zeroPoint!) === io.zeroPoint) return;
        cols++; walked += lay.ptr[(i % K) + 1] - lay.ptr[i % K];
      });
      const exact = eieCost(M, N, K, cols, walked);
      expect({ muls: multiplies(p.layers[0]), loadBytes: bytesRead(p.layers[0]), storeBytes: bytesWritten(p.layers[0]) }).toEqual(exact);
      const checks = await analyticVsDynamic(c, { inputs: [x] });
      expect(checks[0].bound).toBe(true);
      expect(mismatches(checks)).toEqual([]);
      const bound = checks[0].analytic!;
      expect(bound).toEqual(eieCost(M, N, K, M * K, M * lay.ptr[K]));
      if (zeros > 0) expect(checks[0].dynamic.muls).toBeLessThan(bound.muls);
    }
  });

  it("256 -> 64 at 85% sparsity: instructions against dense and sparse for 0%, 50%, 90% zero inputs; bytes", async () => {
    const spec = fc(1, 256, 64, 9), cal = calib([1, 256], 9);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const sparse = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, prune: { "*": 0.85 } });
    const eie = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, prune: { "*": 0.85 }, share: { "*": 4 }, eie: ["all"] });
    expect(dense.source).toContain("fc_s8(");
    expect(sparse.source).toContain("fc_sparse_s8(");
    expect(eie.source).toContain("fc_eie_s8(");
    const ws = gemmWeights(sparse), we = gemmWeights(eie);
    expect(Array.from(we, (v) => v !== 0)).toEqual(Array.from(ws, (v) => v !== 0)); // the same zeros (--share keeps them)
    await bitExact(eie, [1, 256], 10);
    const r = rng(13);
    const rows: string[] = [];
    const counted: Record<string, number[]> = { dense: [], sparse: [], eie: [] };
    for (const zeros of [0, 0.5, 0.9]) {
      const x = withZeros(r, 256, zeros);
      for (const [name, c] of [["dense", dense], ["sparse", sparse], ["eie", eie]] as const) {
        const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [x] });
        counted[name].push(instructions(p.layers[0]));
      }
      rows.push(`${100 * zeros}% zero inputs: dense ${counted.dense.at(-1)}, fc_sparse_s8 ${counted.sparse.at(-1)}, fc_eie_s8 ${counted.eie.at(-1)} instructions`);
    }
    const lay = eieLayout(we, 64, 256), sl = sparseLayout(ws, 64, 256);
    const kept = Array.from(we).filter((v) => v !== 0).length;
    const [bDense, bSparse, bEie] = [64 * 256, sl.bytes.length + sl.counts.length, eieBytes(lay)];
    console.log(`EIE 1x256 -> 64, 85% pruned (${kept} kept, ${lay.fillers} fillers, ${lay.distinct} codebook values):\n  ${rows.join("\n  ")}\n  weight bytes: dense ${bDense}, fc_sparse_s8 ${bSparse} (quads + counts), fc_eie_s8 ${bEie} (${lay.entries.length} entries + ${2 * lay.ptr.length} pointers + 16 codebook)`);
    // the instructions fall with the share of zero inputs, and EIE's layout is the smallest
    expect(counted.eie[2]).toBeLessThan(counted.eie[1]);
    expect(counted.eie[1]).toBeLessThan(counted.eie[0]);
    expect(counted.eie[2]).toBeLessThan(counted.sparse[2]);
    expect(counted.dense[0]).toBe(counted.dense[2]); // dense and sparse ignore the zeros
    expect(bEie).toBeLessThan(bSparse);
    expect(bSparse).toBeLessThan(bDense);
  });

  it("cancer-mlp --prune 0.8 --share 4 --eie all: the same outputs as without --eie (bit-exact kernels)", async () => {
    const dir = "examples/cancer-mlp", model = `${dir}/model.onnx`;
    const base = { quantize: "int8" as const, calibrate: `${dir}/calib.npy`, prune: { "*": 0.8 }, share: { "*": 4 } };
    const plain = await compileModel(model, base);
    const eie = await compileModel(model, { ...base, eie: ["all"] });
    const layers = eie.manifest.layers.filter((l) => l.kernels.some((k) => k.kernel === "fc_eie_s8"));
    expect(layers.length).toBe(eie.graph.nodes.filter((n) => n.op === "Gemm").length);
    const io = plain.manifest.inputs[0];
    const xs = samplesFromShape(io.name, io.shape, readNpy(`${dir}/x_test.npy`), "x_test.npy", "input");
    const t = Array.from(readNpy(`${dir}/y_test.npy`).data, Number);
    const [mp, me] = [await instantiate(plain.wasm, plain.manifest), await instantiate(eie.wasm, eie.manifest)];
    const argmax = (o: Float32Array) => o.indexOf(Math.max(...o));
    let right = 0;
    for (let i = 0; i < xs.length; i++) {
      const [yp, ye] = [runFloat(mp, [xs[i]])[0], runFloat(me, [xs[i]])[0]];
      expect(Array.from(ye)).toEqual(Array.from(yp));
      if (argmax(ye) === t[i]) right++;
    }
    const [pp, pe] = [await profileModule(plain.wasm, plain.source, plain.manifest, { inputs: xs.slice(0, 1) }), await profileModule(eie.wasm, eie.source, eie.manifest, { inputs: xs.slice(0, 1) })];
    const per = (c: Compiled, p: typeof pp) => c.manifest.layers.map((l, i) => `${l.name} ${l.kernels.map((k) => k.kernel).join("+")} ${instructions(p.layers[i])}`).join(", ");
    // smaller here: 1 byte per kept weight (and fillers) + K + 1 pointers against 4 bits per weight
    expect(eie.manifest.memory.constantBytes).toBeLessThan(plain.manifest.memory.constantBytes);
    console.log(`cancer-mlp --prune 0.8 --share 4: accuracy ${(100 * right / xs.length).toFixed(2)}% with and without --eie; constants ${plain.manifest.memory.constantBytes} B -> ${eie.manifest.memory.constantBytes} B with --eie\n  without: ${per(plain, pp)}\n  with:    ${per(eie, pe)}`);
  });

  it("refusals name the problem", async () => {
    const file = writeModel(fc(1, 8, 4, 3));
    const cal = calib([1, 8], 3);
    await expect(compileModel(file, { eie: ["all"] })).rejects.toThrow(/--eie needs --quantize int8/);
    await expect(compileModel(file, { fixed: "Q4.4", eie: ["all"] })).rejects.toThrow(/--eie needs --quantize int8/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, eie: ["nope"] })).rejects.toThrow(/--eie nope: no layer 'nope' in .*fully connected layers: 'Gemm_0'/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", eie: ["/features/features.0/Conv"] })).rejects.toThrow(/--eie \/features\/features.0\/Conv: .* is not a fully connected Gemm/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, binary: ["Gemm_0"], eie: ["Gemm_0"] })).rejects.toThrow(/--eie Gemm_0: .* is a --binary layer/);
    // a plain int8 layer: many distinct values, counted in the message, with the ways out
    const big = writeModel(fc(1, 64, 16, 4));
    const err = await compileModel(big, { quantize: "int8", calibrate: calib([1, 64], 4), eie: ["all"] }).catch((e: Error) => e.message);
    const m = /has (\d+) distinct non-zero int8 weights; EIE's 4-bit codebook holds 15 and 0\. Use --share 4 with --prune .*--weights int4-tensor, --ternary or --pow2/.exec(String(err));
    expect(m, String(err)).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(15);
    // --share 4 without --prune: 16 non-zero centroids, one too many
    await expect(compileModel(big, { quantize: "int8", calibrate: calib([1, 64], 4), share: { "*": 4 }, eie: ["all"] })).rejects.toThrow(/has 16 distinct non-zero int8 weights/);
    // the format's limits: more than 65535 entries (u16 pointers), more than 16380 outputs (scratch)
    const ones = (n: number) => new Float32Array(n).fill(0.5);
    await expect(compileModel(writeModel(fc(1, 257, 256, 5, { weights: ones(257 * 256) })), { quantize: "int8", calibrate: calib([1, 257], 5), eie: ["all"] })).rejects.toThrow(/needs 65792 entries \(0 fillers\); the u16 column pointers allow at most 65535/);
    await expect(compileModel(writeModel(fc(1, 1, 16321, 5, { weights: ones(16321) })), { quantize: "int8", calibrate: calib([1, 1], 5), eie: ["all"] })).rejects.toThrow(/has N = 16321 outputs; .* at most 16320/);
  });
});
