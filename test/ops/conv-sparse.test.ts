// The sparse int8 convolution (ops/conv-sparse.ts, runtime-as/kernels/conv-sparse.ts) for
// Convs pruned by name (--prune <conv>=s): the geometry of a padded tap worked by hand;
// bit-exact with the integer interpreter over 1-D and 2-D shapes, strides, dilations,
// padding, batches and a fused Relu, and on digits-cnn with its 3x3 32 -> 32 conv pruned;
// the analytic cost equals the counted one; taps that only meet padding are dropped; the
// dense kernel stays for dense weights and at 80% zeros on digits-cnn's 4x4 planes (estimated
// slower); instructions and bytes against the dense kernel at 90% and 95% (printed).
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { sparseConvLayout } from "../../compiler/ops/conv-sparse.js";
import { type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { readNpy } from "../../compiler/util/npy.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";

interface Shape { N: number; C: number; M: number; H?: number; W: number; k: number[]; strides?: number[]; dilations?: number[]; pads?: number[]; relu?: boolean }

function conv(s: Shape, seed: number): ModelSpec {
  const r = rng(seed);
  const sp = s.H === undefined ? [s.W] : [s.H, s.W];
  const kk = s.k.reduce((a, b) => a * b, 1);
  return {
    inputs: [{ name: "x", shape: [s.N, s.C, ...sp] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [s.M, s.C, ...s.k], data: uniform(r, s.M * s.C * kk, -0.5, 0.5) }, { name: "B", shape: [s.M], data: uniform(r, s.M, -0.2, 0.2) }],
    nodes: [
      { op: "Conv", name: "conv", inputs: ["x", "W", "B"], outputs: [s.relu ? "t" : "y"], attrs: { kernel_shape: s.k, ...(s.strides ? { strides: s.strides } : {}), ...(s.dilations ? { dilations: s.dilations } : {}), ...(s.pads ? { pads: s.pads } : {}) } },
      ...(s.relu ? [{ op: "Relu", inputs: ["t"], outputs: ["y"] }] : []),
    ],
  };
}

async function bitExact(c: Compiled, shape: number[], seed: number): Promise<void> {
  const m = await instantiate(c.wasm, c.manifest);
  const r = rng(seed), io = c.manifest.inputs[0];
  for (const range of [1, 3]) {
    const x = randValue(r, shape, -range, range);
    const q: Value = { dtype: "int8", shape, data: Int8Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
    expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { x: q }).y.data));
  }
}

describe("sparse int8 convolution", () => {
  it("the geometry of a tap worked by hand, and taps that only meet padding are dropped", () => {
    // 1 channel, 3x3 input, 3x3 kernel, pad 1, stride 2: outputs 2x2 at input rows/cols -1 and 1
    const g = { N: 1, C: 1, H: 3, W: 3, M: 1, KH: 3, KW: 3, OH: 2, OW: 2, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, G: 1 };
    const w = [0, 0, 5, 0, 0, 0, -3, 0, 0]; // taps (0, 2) and (2, 0)
    const lay = sparseConvLayout(w, g);
    // tap (0, 2): kh 0 needs oh 2 - 1 + 0 >= 0 -> oh = 1 only (input row 1); kw 2 -> ow 0 (col 1) and 1 (col 3: outside) -> ow 0
    // geometry row kk = 2: xoff = 1 * 3 + 1 = 4, plane offset (1 * 2 + 0) * 4 = 8, 1 row, span 1 * 2, rowX 2 * 3 - 2, rowA (2 - 1) * 4
    expect(lay.geo.slice(2 * 8, 3 * 8)).toEqual([4, 8, 1, 2, 4, 4, 0, 0]);
    expect(lay.bytes).toEqual([5, 2, 0, 256 - 3, 6, 0]);
    expect([lay.taps, lay.macs]).toEqual([2, 2]);
    // a 1x1 input with a 3x3 kernel and no padding has no output; with pad 1 only the centre tap ever meets the input
    const g1 = { ...g, H: 1, W: 1, OH: 1, OW: 1, sh: 1, sw: 1 };
    const all = sparseConvLayout(Array(9).fill(1), g1);
    expect([all.taps, all.bytes.slice(0, 3)]).toEqual([1, [1, 4, 0]]);
  });

  let seed = 90;
  const shapes: Shape[] = [
    // big enough that the sparse layout (three bytes per tap, a 32-byte row per kernel offset) stores fewer bytes
    { N: 1, C: 16, M: 6, H: 6, W: 7, k: [3, 3], pads: [1, 1, 1, 1] },
    { N: 2, C: 16, M: 5, H: 9, W: 8, k: [3, 3], strides: [2, 2], pads: [1, 0, 1, 2], relu: true },
    { N: 1, C: 20, M: 7, H: 7, W: 7, k: [3, 2], dilations: [2, 1] },
    { N: 1, C: 16, M: 8, W: 20, k: [5], pads: [4, 0] }, // 1-D causal
    { N: 2, C: 24, M: 8, W: 64, k: [3], strides: [2], dilations: [2], pads: [2, 2], relu: true },
  ];
  for (const s of shapes)
    it(`bit-exact at 92% zeros: ${JSON.stringify(s)}`, async () => {
      const sd = ++seed, r = rng(sd);
      const shape = [s.N, s.C, ...(s.H === undefined ? [s.W] : [s.H, s.W])];
      const calibrate = Array.from({ length: 12 }, () => ({ x: randValue(r, shape) }));
      const c = await compileModel(writeModel(conv(s, sd)), { quantize: "int8", calibrate, prune: { conv: 0.92 }, selftest: true });
      expect(c.source).toContain("conv_sparse_s8(");
      const m = await instantiate(c.wasm, c.manifest);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      await bitExact(c, shape, sd + 1);
      expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
    });

  it("dense weights keep the dense kernel, and so does a layer where sparse is estimated slower", async () => {
    const s = shapes[0], r = rng(5);
    const calibrate = Array.from({ length: 8 }, () => ({ x: randValue(r, [1, 16, 6, 7]) }));
    const c = await compileModel(writeModel(conv(s, 5)), { quantize: "int8", calibrate, prune: { conv: 0.2 } });
    expect(c.source).not.toContain("conv_sparse_s8(");
    const at80 = await compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", prune: { "/features/features.10/Conv": 0.8 } });
    expect(at80.source).not.toContain("conv_sparse_s8("); // measured: 1.3x more instructions there than dense
  });

  it("digits-cnn with its 3x3 32 -> 32 conv pruned: bit-exact; instructions and bytes against dense (printed)", async () => {
    const file = "examples/digits-cnn/model.onnx", calibrate = "examples/digits-cnn/calib.npy";
    const layer = "/features/features.10/Conv";
    const dense = await compileModel(file, { quantize: "int8", calibrate });
    const xs = readNpy("examples/digits-cnn/x_test.npy");
    const x0: Value = { dtype: "float32", shape: [1, 1, 8, 8], data: xs.data.slice(0, 64) as Float32Array };
    const idx = dense.manifest.layers.findIndex((l) => l.name === layer);
    const pd = await profileModule(dense.wasm, dense.source, dense.manifest, { inputs: [x0.data as Float32Array] });
    for (const s of [0.9, 0.95]) {
      const c = await compileModel(file, { quantize: "int8", calibrate, prune: { [layer]: s }, selftest: true });
      expect(c.source).toContain("conv_sparse_s8(");
      const m = await instantiate(c.wasm, c.manifest);
      expect((m.instance.exports.selftest as () => number)()).toBe(0);
      const io = c.manifest.inputs[0];
      for (let t = 0; t < 3; t++) {
        const q: Value = { dtype: "int8", shape: [1, 1, 8, 8], data: Int8Array.from(xs.data.slice(t * 64, (t + 1) * 64), (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
        expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { input: q }).output.data));
      }
      expect(mismatches(await analyticVsDynamic(c))).toEqual([]);
      const ps = await profileModule(c.wasm, c.source, c.manifest, { inputs: [x0.data as Float32Array] });
      const [di, si] = [instructions(pd.layers[idx]), instructions(ps.layers[idx])];
      console.log(`digits-cnn ${layer} ${s * 100}% pruned: ${di} -> ${si} instructions (${(di / si).toFixed(2)}x fewer); constants ${dense.manifest.memory.constantBytes} -> ${c.manifest.memory.constantBytes} B`);
      expect(si).toBeLessThan(di);
      expect(c.manifest.memory.constantBytes).toBeLessThan(dense.manifest.memory.constantBytes);
    }
  });
});
