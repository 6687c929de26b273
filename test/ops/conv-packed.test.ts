// Packed weights on convolutions (--weights int4 | int4-tensor | int2 | int2-tensor and
// --share 2 | 3 | 4 on a Conv; passes/subbyte.ts, share.ts, ops/conv-packed.ts,
// runtime-as/kernels/conv-packed.ts): the int8 weights of each layer on its grid (int4
// [-7, 7] or int2 {-3, -1, 1, 3} with per-channel scales, one scale for the -tensor forms; at
// most 2^bits per-tensor int8 values when shared); the wasm bit-exact with the integer
// interpreter over 1-D and 2-D shapes with strides, pads, dilation, odd channel counts (a
// padded last block), tiles of a length not a multiple of the packing (the last group
// padded), the blk, pw and dw kernels and N = 2; the packed bytes against the tile counts
// and lengths worked out by hand (int4 4 ceil(L / 8) per tile); the packing of a tile worked
// by hand; analytic costs equal the counted ones; the refusals; and digits-cnn end to end
// (int4 everywhere, and a configuration >= 8x smaller than float32 within a point).
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runFloat, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { packInt4Tiles } from "../../compiler/ops/conv-packed.js";
import { readNpy } from "../../compiler/util/npy.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { interpSelftest, wasmValidate } from "../helpers/wabt.js";

interface Case {
  name: string; x: number[]; w: number[]; attrs: Record<string, number[] | number | string>;
  bias?: boolean; relu?: boolean; kernel: string;
  /** Tiles (blocks of four output channels; dw: one) and weights per tile, counted by hand. */
  tiles: number; len: number;
}

const CASES: Case[] = [
  // blk: tiles of 4 cg KH KW; M = 5 -> two blocks (the second padded); 4 * 3 * 9 = 108 -> 14 groups
  { name: "2-D 3x3 pad 1, 3 -> 5 channels", x: [1, 3, 6, 7], w: [5, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true, relu: true, kernel: "conv_blk_int4_s8", tiles: 2, len: 108 },
  // 4 * 2 * 3 * 2 = 48 -> 6 groups; M = 3: one padded block
  { name: "2-D stride 2 dilation 2 asymmetric pads, 3 channels", x: [1, 2, 9, 7], w: [3, 2, 3, 2], attrs: { strides: [2, 2], dilations: [2, 1], pads: [0, 1, 2, 0] }, bias: true, kernel: "conv_blk_int4_s8", tiles: 1, len: 48 },
  // 1-D: 4 * 3 * 3 = 36 -> 5 groups (the last half padding); M = 7: two blocks
  { name: "1-D dilated, 3 -> 7 channels", x: [1, 3, 20], w: [7, 3, 3], attrs: { dilations: [2], pads: [4, 0] }, bias: true, kernel: "conv_blk_int4_s8", tiles: 2, len: 36 },
  // 1-D stride 3, kernel 5, 1 input channel -> dw kind (cg = 1): 6 * 5 = 30 -> 4 groups
  { name: "1-D stride 3, kernel 5, 1 -> 6 channels (dw kernel)", x: [1, 1, 17], w: [6, 1, 5], attrs: { strides: [3], pads: [2, 2] }, kernel: "conv_dw_int4_s8", tiles: 1, len: 30 },
  // depthwise 3x3, 5 channels: 45 -> 6 groups
  { name: "2-D depthwise 3x3 stride 2, 5 channels", x: [1, 5, 7, 7], w: [5, 1, 3, 3], attrs: { group: 5, strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true, relu: true, kernel: "conv_dw_int4_s8", tiles: 1, len: 45 },
  // pointwise: tiles of 4 cg = 20 -> 3 groups; M = 6: two blocks
  { name: "pointwise 5 -> 6 channels", x: [1, 5, 4, 3], w: [6, 5, 1, 1], attrs: {}, bias: true, kernel: "conv_pw_int4_s8", tiles: 2, len: 20 },
  // two images, blk: 4 * 4 * 4 = 64 -> 8 groups, one block
  { name: "N = 2, 2-D 2x2 stride 1, 4 -> 4 channels", x: [2, 4, 5, 5], w: [4, 4, 2, 2], attrs: {}, bias: true, kernel: "conv_blk_int4_s8", tiles: 1, len: 64 },
  // two images, pw: 4 * 3 = 12 -> 2 groups; M = 9: three blocks
  { name: "N = 2, pointwise 3 -> 9 channels", x: [2, 3, 3, 3], w: [9, 3, 1, 1], attrs: {}, kernel: "conv_pw_int4_s8", tiles: 3, len: 12 },
];

function spec(c: Case, seed: number): ModelSpec {
  const r = rng(seed);
  const wn = c.w.reduce((a, b) => a * b, 1);
  return {
    inputs: [{ name: "x", shape: c.x }], outputs: ["y"],
    initializers: [
      { name: "W", shape: c.w, data: uniform(r, wn, -0.5, 0.5) },
      ...(c.bias ? [{ name: "B", shape: [c.w[0]], data: uniform(r, c.w[0], -0.2, 0.2) }] : []),
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "W", ...(c.bias ? ["B"] : [])], outputs: [c.relu ? "h" : "y"], attrs: c.attrs },
      ...(c.relu ? [{ op: "Relu", inputs: ["h"], outputs: ["y"] }] : []),
    ],
  };
}

const calib = (shape: number[], seed: number) => {
  const r = rng(seed);
  return Array.from({ length: 8 }, () => ({ x: randValue(r, shape) }));
};

async function bitExact(c: Compiled, shape: number[], seed: number): Promise<void> {
  const m = await instantiate(c.wasm, c.manifest);
  const r = rng(seed);
  const io = c.manifest.inputs[0];
  for (const range of [1, 1, 5]) { // in range, and far out so inputs saturate
    const x = randValue(r, shape, -range, range);
    const q: Value = { dtype: "int8", shape, data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
  }
}

function constLength(c: Compiled, hint: string): number {
  const m = new RegExp(`// ${hint}: \\w+ x(\\d+)`).exec(c.source);
  expect(m, `no constant '${hint}' in model.ts`).not.toBeNull();
  return Number(m![1]);
}

describe("packed int4 convolution weights", () => {
  it("packing of a tile worked by hand: byte j = weight j + 8 | (weight j + 4) + 8 << 4, padding 8", () => {
    // 10 weights: group 0 = w0..w7, group 1 = w8, w9 then six zeros of padding
    const w = [-7, 7, 0, 1, -1, 3, -3, 2, 5, -5];
    const p = packInt4Tiles(w, 1, 10, "t");
    // byte 0: 1 | 7 << 4 (w0 = -7 -> 1, w4 = -1 -> 7); byte 1: 15 | 11 << 4; byte 2: 8 | 5 << 4; byte 3: 9 | 10 << 4
    // byte 4: 13 | 8 << 4 (w8 = 5 -> 13); byte 5: 3 | 8 << 4; bytes 6, 7: 8 | 8 << 4
    expect(Array.from(p)).toEqual([0x71, 0xbf, 0x58, 0xa9, 0x8d, 0x83, 0x88, 0x88]);
    expect(() => packInt4Tiles([8], 1, 1, "t")).toThrow(/not on the int4 grid/);
  });

  // packed bytes by hand: int4 groups of eight in four bytes; indices as a row of fc-packed
  const bytesOf = (c: Case, bits: number) => c.tiles * (bits === 0 ? 4 * Math.ceil(c.len / 8) : bits === 2 ? Math.ceil(c.len / 4) : bits === 3 ? 3 * Math.ceil(c.len / 8) : Math.ceil(c.len / 2));
  type Fmt = "int4" | "int4-tensor" | "int2" | "int2-tensor" | 2 | 3 | 4;
  CASES.forEach((c, i) => {
    const fmts: Fmt[] = ["int4", "int4-tensor", "int2", 3, ...(i % 3 === 0 ? ["int2-tensor", 2, 4] as Fmt[] : [])];
    for (const fmt of fmts)
      it(`${typeof fmt === "number" ? `--share ${fmt}` : fmt} bit-exact, exact cost: ${c.name}`, async () => {
        const seed = 10 + i;
        const opt = typeof fmt === "number" ? { share: { "*": fmt } } : { weights: { "*": fmt } };
        const cp = await compileModel(writeModel(spec(c, seed)), { quantize: "int8", calibrate: calib(c.x, seed), ...opt });
        const node = cp.graph.nodes.find((n) => n.op === "Conv")!;
        const wt = tensor(cp.graph, node.inputs[1]);
        const q = Array.from(wt.data!);
        expect(wt.quant!.scale.length).toBe(c.w[0]); // per output channel (all equal but for int4, int2)
        const oneScale = fmt !== "int4" && fmt !== "int2";
        expect(new Set(wt.quant!.scale).size === 1).toBe(oneScale);
        if (typeof fmt === "number") {
          expect(new Set(q).size).toBeLessThanOrEqual(2 ** fmt);
          expect(Math.max(...q.map(Math.abs))).toBe(127); // per tensor int8: max|w| / 127
        } else if (fmt.startsWith("int4")) {
          expect(q.every((v) => Number.isInteger(v) && v >= -7 && v <= 7)).toBe(true);
          expect(q.some((v) => Math.abs(v) === 7)).toBe(true); // each scale is max|w| / 7
        } else expect(q.every((v) => [-3, -1, 1, 3].includes(v))).toBe(true);
        const bits = typeof fmt === "number" ? fmt : fmt.startsWith("int2") ? 2 : 0;
        expect(cp.source).toContain(`${bits ? c.kernel.replace("int4", "idx") : c.kernel}(`);
        expect(cp.source).not.toMatch(/weights_blocked|: int8 \d+x\d+x\d+/); // no int8 copy of the weights
        expect(constLength(cp, bits ? `int${bits}_index` : "int4_weights")).toBe(bytesOf(c, bits));
        await bitExact(cp, c.x, seed + 100);
        expect(mismatches(await analyticVsDynamic(cp))).toEqual([]);
      });
  });

  it("same int8 weights, same outputs: the int4 layer equals the int8 kernels on its grid", async () => {
    // the packed layer's interpreter output is the plain Conv int() on the [-7, 7] weights;
    // the scratch is the largest tile, 8 ceil(L / 8) bytes
    const c = CASES[0];
    const cp = await compileModel(writeModel(spec(c, 3)), { quantize: "int8", calibrate: calib(c.x, 3), weights: { "*": "int4" } });
    expect(cp.manifest.memory.scratchBytes).toBe(8 * 14);
    const plain = await compileModel(writeModel(spec(c, 3)), { quantize: "int8", calibrate: calib(c.x, 3) });
    expect(plain.source).toContain("conv_blk_s8(");
    expect(cp.manifest.memory.constantBytes).toBeLessThan(plain.manifest.memory.constantBytes);
    // wasm-interp (wabt) as well as V8: int4 and 3-bit indices, blk / pw / dw
    for (const [k, opt] of [[0, { weights: { "*": "int4" as const } }], [5, { share: { "*": 3 } }], [4, { weights: { "*": "int2" as const } }]] as const) {
      const st = await compileModel(writeModel(spec(CASES[k], 4)), { quantize: "int8", calibrate: calib(CASES[k].x, 4), selftest: true, ...opt });
      expect(wasmValidate(st.wasm).ok).toBe(true);
      expect(interpSelftest(st.wasm)).toBe(0);
    }
  });

  it("refusals name the layer and the reason", async () => {
    const grouped: Case = { name: "g", x: [1, 4, 6, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 1, 1, 1] }, kernel: "", tiles: 0, len: 0 };
    const file = writeModel(spec(grouped, 1));
    const cal = calib(grouped.x, 1);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, weights: { Conv_0: "int4" } })).rejects.toThrow(/--weights Conv_0=int4: .*Conv_0.* grouped convolution \(group 2/);
    // "*" leaves the grouped convolution out: nothing left
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, weights: { "*": "int4" } })).rejects.toThrow(/--weights int4: every fully connected layer .* is already compressed/);
    const one = writeModel(spec(CASES[0], 2));
    const cal0 = calib(CASES[0].x, 2);
    await expect(compileModel(file, { quantize: "int8", calibrate: cal, share: { Conv_0: 3 } })).rejects.toThrow(/--share Conv_0=3: .*grouped convolution/);
    await expect(compileModel(one, { quantize: "int8", calibrate: cal0, share: { Conv_0: 2 }, weights: { Conv_0: "int4" } })).rejects.toThrow(/is also --share/);
    await expect(compileModel(one, { quantize: "int8", calibrate: cal0, prune: { Conv_0: 0.5 }, weights: { "*": "int2" } })).rejects.toThrow(/int2's levels \{-3, -1, 1, 3\} have no zero/);
    await expect(compileModel(one, { quantize: "int8", calibrate: cal0, weights: { nope: "int4" } })).rejects.toThrow(/no layer 'nope' .*convolutions: 'Conv_0'/);
    await expect(compileModel(one, { weights: { "*": "int4" } })).rejects.toThrow(/--share and --weights need --quantize int8/);
  });

  it("digits-cnn end to end: accuracy and constant bytes (printed)", async () => {
    const x = readNpy("examples/digits-cnn/x_test.npy"), y = readNpy("examples/digits-cnn/y_test.npy");
    const n = y.shape[0], per = x.data.length / n;
    const accuracy = async (c: Compiled) => {
      const m = await instantiate(c.wasm, c.manifest);
      let ok = 0;
      for (let i = 0; i < n; i++) {
        const out = runFloat(m, [Float32Array.from(x.data.subarray(i * per, (i + 1) * per))])[0];
        let best = 0;
        for (let k = 1; k < out.length; k++) if (out[k] > out[best]) best = k;
        if (best === Number(y.data[i])) ok++;
      }
      return ok / n;
    };
    const base = { quantize: "int8" as const, calibrate: "examples/digits-cnn/calib.npy" };
    const int8 = await compileModel("examples/digits-cnn/model.onnx", base);
    const i4 = await compileModel("examples/digits-cnn/model.onnx", { ...base, weights: { "*": "int4" } });
    for (const k of ["conv_blk_int4_s8(", "conv_pw_int4_s8(", "conv_dw_int4_s8(", "fc_int4_s8("]) expect(i4.source).toContain(k);
    expect(mismatches(await analyticVsDynamic(i4))).toEqual([]);
    const a8 = await accuracy(int8), a4 = await accuracy(i4);
    console.log(`digits-cnn int8: ${(100 * a8).toFixed(2)}%, ${int8.manifest.memory.constantBytes} B; --weights int4: ${(100 * a4).toFixed(2)}%, ${i4.manifest.memory.constantBytes} B, scratch ${i4.manifest.memory.scratchBytes} B`);
    expect(i4.manifest.memory.constantBytes).toBeLessThan(int8.manifest.memory.constantBytes);
    expect(a4).toBeGreaterThan(0.97); // int4 everywhere on a trained model: a few points at most
    // >= 8x smaller than float32 (58440 B of constants, 99.33%): int4, the 32 -> 32 3x3
    // convolution and the first fully connected layer shared with 3-bit codebooks
    const best = await compileModel("examples/digits-cnn/model.onnx", { ...base, weights: { "*": "int4" }, share: { "/features/features.10/Conv": 3, "/head/head.1/MatMul": 3 } });
    for (const k of ["conv_blk_idx_s8(", "fc_shared3_s8(", "conv_pw_int4_s8(", "conv_dw_int4_s8("]) expect(best.source).toContain(k);
    expect(mismatches(await analyticVsDynamic(best))).toEqual([]);
    const ab = await accuracy(best), bytes = best.manifest.memory.constantBytes;
    console.log(`digits-cnn int4 + --share 3 on features.10 and head.1: ${(100 * ab).toFixed(2)}%, ${bytes} B (${(58440 / bytes).toFixed(2)}x smaller than float32)`);
    expect(bytes).toBeLessThanOrEqual(58440 / 8);
    expect(ab).toBeGreaterThanOrEqual(0.9933 - 0.01);
  });
});
