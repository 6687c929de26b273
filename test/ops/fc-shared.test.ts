// Weight sharing (--share, passes/share.ts) and its packed-index int8 kernels
// (runtime-as/kernels/fc-shared.ts): the k-means rule on rows worked by hand (with and
// without pruned zeros); per-tensor int8 weights with at most 2^bits values; the wasm
// bit-exact with the integer interpreter for 2, 3 and 4 bits over shapes with odd K, K not a
// multiple of the packing, M > 1, every N % 4 and a fused Relu; the packed index bytes
// against N ceil(K / 2), N ceil(K / 4) and N 3 ceil(K / 8); analytic costs equal the counted
// ones; instructions and bytes against the dense kernel (printed); cancer-mlp at 2 bits
// 8x smaller than float32 within 1 point of its accuracy; and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runFloat } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { interpSelftest, wasmValidate } from "../helpers/wabt.js";
import { applyShare, kmeans1d, parseShare } from "../../compiler/passes/share.js";
import { packIndices } from "../../compiler/ops/fc-packed.js";
import { tensor } from "../../compiler/ir/graph.js";
import { writeModel } from "../helpers/build-onnx.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";
import { bitExact, calib, fc } from "../helpers/fc.js";


/** The length of an emitted constant, from its comment in model.ts ("// hint: dtype xN"). */
function constLength(c: Compiled, hint: string): number {
  const m = new RegExp(`// ${hint}: \\w+ x(\\d+)`).exec(c.source);
  expect(m, `no constant '${hint}' in model.ts`).not.toBeNull();
  return Number(m![1]);
}

const rowBytes = (K: number, bits: number) => (bits === 4 ? Math.ceil(K / 2) : bits === 2 ? Math.ceil(K / 4) : 3 * Math.ceil(K / 8));

describe("weight sharing (k-means codebooks, packed indices)", () => {
  it("k-means on a row worked by hand: linear init, nearest centroid, empty cluster kept", () => {
    const g = importAndLower(writeModel(fc(1, 8, 1, 1, { weights: Float32Array.of(-1, -0.8, 0.1, 0.2, 0.3, 0.9, 1, 0.6), bias: false })));
    applyShare(g, { "*": 2 });
    // init -1, -1/3, 1/3, 1; first assignment {-1, -0.8} {} {0.1, 0.2, 0.3, 0.6} {0.9, 1};
    // centroids -0.9, -1/3 (empty, kept), 0.3, 0.95; the next assignment is the same
    const w = tensor(g, g.nodes[0].inputs[1]).data!;
    expect(Array.from(w).map((v) => +v.toFixed(6))).toEqual([-0.9, -0.9, 0.3, 0.3, 0.3, 0.95, 0.95, 0.3]);
    expect(g.nodes[0].attrs.share).toBe(2);
  });

  it("pruned zeros stay exactly 0 and outside the clustering (k - 1 centroids for the rest)", () => {
    const g = importAndLower(writeModel(fc(1, 8, 1, 1, { weights: Float32Array.of(0, -1, 0, 1, 0.5, 0, -0.5, 0.9), bias: false })));
    applyShare(g, { "*": 2 });
    // 3 centroids over -1, 1, 0.5, -0.5, 0.9: init -1, 0, 1; ties go to the lower index
    // (0.5 -> 0, -0.5 -> -1); centroids -0.75, 0.5, 0.95, then stable
    const w = tensor(g, g.nodes[0].inputs[1]).data!;
    expect(Array.from(w).map((v) => +v.toFixed(6))).toEqual([0, -0.75, 0, 0.95, 0.5, 0, -0.75, 0.95]);
  });

  it("kmeans1d converges to the cluster means of separated groups", () => {
    const { centroids, assign } = kmeans1d([1, 1.1, 1.2, 5, 5.2, 9], 3);
    expect(centroids.map((v) => +v.toFixed(6))).toEqual([1.1, 5.1, 9]);
    expect(Array.from(assign)).toEqual([0, 0, 0, 1, 1, 2]);
  });

  it("packing worked by hand: 4, 2 and 3 bits, rows starting on a byte", () => {
    expect(Array.from(packIndices([1, 2, 3, 15, 4, 0], 2, 3, 4))).toEqual([0x21, 0x03, 0x4f, 0x00]);
    expect(Array.from(packIndices([1, 2, 3, 0, 3], 1, 5, 2))).toEqual([0b00111001, 0b11]);
    // 3 bits, eight per three bytes: indices 1..7, 0 -> bits 001 010 011 100 101 110 111 000 from the bottom
    const w3 = 1 | (2 << 3) | (3 << 6) | (4 << 9) | (5 << 12) | (6 << 15) | (7 << 18);
    expect(Array.from(packIndices([1, 2, 3, 4, 5, 6, 7, 0, 5], 1, 9, 3))).toEqual([w3 & 255, (w3 >> 8) & 255, w3 >> 16, 5, 0, 0]);
  });

  let seed = 20;
  for (const bits of [2, 3, 4])
    for (const [M, K, N, relu] of [[1, 30, 32, 1], [1, 17, 5, 0], [3, 13, 6, 1], [2, 64, 7, 0], [1, 9, 4, 1], [2, 41, 3, 0]] as const)
      it(`${bits}-bit bit-exact: ${M}x${K} -> ${N}${relu ? " + Relu" : ""}`, async () => {
        const s = ++seed;
        const c = await compileModel(writeModel(fc(M, K, N, s, { relu: !!relu, bias: s % 3 !== 0 })), { quantize: "int8", calibrate: calib([M, K], s), share: { "*": bits }, selftest: true });
        const node = c.graph.nodes.find((n) => n.op === "Gemm")!;
        const wt = tensor(c.graph, node.inputs[1]);
        expect(wt.quant!.scale.length).toBe(1); // per tensor: one codebook for every row
        const distinct = new Set(Array.from(wt.data!));
        expect(distinct.size).toBeLessThanOrEqual(2 ** bits);
        expect(c.source).toContain(`fc_shared${bits}_s8(`);
        expect(constLength(c, "shared_index")).toBe(N * rowBytes(K, bits));
        expect(constLength(c, "codebook")).toBe(distinct.size);
        expect(c.source).not.toMatch(/\/\/ mult: /); // one multiplier for the layer, passed as an argument
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await bitExact(c, [M, K], s + 100);
        expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      });

  it("pruned and shared: zeros stay 0 in int8, bit-exact", async () => {
    const c = await compileModel(writeModel(fc(2, 37, 9, 3)), { quantize: "int8", calibrate: calib([2, 37], 3), prune: { "*": 0.6 }, share: { "*": 3 } });
    const w = tensor(c.graph, c.graph.nodes[0].inputs[1]).data!;
    expect(Array.from(w).filter((v) => v === 0).length).toBe(Math.round(0.6 * 37 * 9));
    expect(new Set(Array.from(w)).size).toBeLessThanOrEqual(8);
    await bitExact(c, [2, 37], 4);
    expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
  });

  it("instructions and weight bytes against the dense kernel (printed), 1x256 -> 64", async () => {
    const spec = fc(1, 256, 64, 9), cal = calib([1, 256], 9);
    const dense = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal });
    const pd = await profileModule(dense.wasm, dense.source, dense.manifest);
    for (const bits of [2, 3, 4]) {
      const sh = await compileModel(writeModel(spec), { quantize: "int8", calibrate: cal, share: { "*": bits } });
      await bitExact(sh, [1, 256], 10);
      const ps = await profileModule(sh.wasm, sh.source, sh.manifest);
      const [id, is] = [instructions(pd.layers[0]), instructions(ps.layers[0])];
      console.log(`shared ${bits}-bit 1x256 -> 64: ${is} instructions (${(is / (256 * 64)).toFixed(2)} per weight) vs dense ${id} (${(id / (256 * 64)).toFixed(2)}); weights ${constLength(sh, "shared_index")} + ${constLength(sh, "codebook")} B vs ${256 * 64} B; constants ${sh.manifest.memory.constantBytes} B vs ${dense.manifest.memory.constantBytes} B`);
      expect(sh.manifest.memory.constantBytes).toBeLessThan(dense.manifest.memory.constantBytes * (bits + 1) / 8);
    }
  });

  it("cancer-mlp --share 2: 8x smaller constants than float32 within 1 point of its accuracy; wasm-interp selftest", async () => {
    const dir = "examples/cancer-mlp", model = `${dir}/model.onnx`;
    const accuracy = async (c: Compiled) => {
      const m = await instantiate(c.wasm, c.manifest);
      const io = c.manifest.inputs[0];
      const xs = samplesFromShape(io.name, io.shape, readNpy(`${dir}/x_test.npy`), "x_test.npy", "input");
      const t = Array.from(readNpy(`${dir}/y_test.npy`).data, Number);
      const argmax = (o: Float32Array) => o.indexOf(Math.max(...o));
      return xs.filter((x, i) => argmax(runFloat(m, [x])[0]) === t[i]).length / xs.length;
    };
    const f = await compileModel(model);
    const sh = await compileModel(model, { quantize: "int8", calibrate: `${dir}/calib.npy`, share: { "*": 2 } });
    const [af, as] = [await accuracy(f), await accuracy(sh)];
    const [bf, bs] = [f.manifest.memory.constantBytes, sh.manifest.memory.constantBytes];
    console.log(`cancer-mlp: float32 ${bf} B, accuracy ${(100 * af).toFixed(2)}%; --share 2 ${bs} B (${(bf / bs).toFixed(2)}x), accuracy ${(100 * as).toFixed(2)}%`);
    expect(bs * 8).toBeLessThanOrEqual(bf);
    expect(as).toBeGreaterThanOrEqual(af - 0.01);
    const st = await compileModel(model, { quantize: "int8", calibrate: `${dir}/calib.npy`, share: { "*": 2 }, selftest: true });
    expect(interpSelftest(st.wasm)).toBe(0);
    expect(wasmValidate(st.wasm).ok).toBe(true);
  });

  it("refusals name the problem", async () => {
    expect(() => parseShare(["5"])).toThrow(/--share 5: the index width must be 2, 3 or 4 bits/);
    expect(() => parseShare(["fc=1"])).toThrow(/--share fc=1: the index width must be 2, 3 or 4/);
    const file = writeModel(fc(1, 8, 4, 3));
    const cal = calib([1, 8], 3);
    await expect(compileModel(file, { share: { "*": 4 } })).rejects.toThrow(/--share and --weights need --quantize int8/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, share: { nope: 4 } })).rejects.toThrow(/--share nope=4: no layer 'nope' in .*fully connected layers: 'Gemm_0'/);
    await expect(compileModel(writeModel(fc(1, 3, 1, 3)), { quantize: "int8", calibrate: calib([1, 3], 3), share: { "*": 2 } })).rejects.toThrow(/has 3 weights, fewer than a codebook of 4 entries/);
    const full = await compileModel(writeModel(fc(1, 4, 1, 3)), { quantize: "int8", calibrate: calib([1, 4], 3), share: { "*": 2 } }); // 4 weights, 4 entries: accepted
    expect(full.source).toContain("fc_shared2_s8(");
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, ternary: ["Gemm_0"], share: { Gemm_0: 4 } })).rejects.toThrow(/is also --ternary/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, ternary: ["all"], share: { "*": 4 } })).rejects.toThrow(/--share 4: every fully connected layer .* is already compressed/);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, weights: { "*": "int4" }, share: { "*": 4 } })).rejects.toThrow(/--share 4 and --weights both name every layer/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", share: { "/features/features.9/MaxPool": 4 } })).rejects.toThrow(/is not a fully connected Gemm/);
  });
});
