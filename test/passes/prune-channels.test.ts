// Channel pruning (--prune-channels, passes/prune-channels.ts). The oracle: dropping channel
// c of a layer is the same function as the unpruned model whose readers of that channel
// have their weights for it set to zero (the channel's whole path, through pools and a
// depthwise convolution, then reaches nothing). Checked on an MLP and on digits-cnn (Conv ->
// depthwise -> pointwise -> pool -> Conv -> pool -> Flatten -> Gemm), with the channels to
// drop computed here from the L1 norms; the int8 build of the pruned CNN is bit-exact with
// the integer interpreter; sizes shrink as counted; refusals name the layer and the reason.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { applyPruneChannels, parsePruneChannels } from "../../compiler/passes/prune-channels.js";
import { numel, tensor, type Graph, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { readNpy } from "../../compiler/util/npy.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";

function mlp(seed: number, out = "y"): ModelSpec {
  const r = rng(seed);
  return {
    inputs: [{ name: "x", shape: [1, 6] }], outputs: [out],
    initializers: [
      { name: "W1", shape: [8, 6], data: uniform(r, 48, -1, 1) }, { name: "b1", shape: [8], data: uniform(r, 8, -0.5, 0.5) },
      { name: "W2", shape: [3, 8], data: uniform(r, 24, -1, 1) }, { name: "b2", shape: [3], data: uniform(r, 3, -0.5, 0.5) },
    ],
    nodes: [
      { op: "Gemm", name: "fc1", inputs: ["x", "W1", "b1"], outputs: ["h"], attrs: { transB: 1 } },
      { op: "Relu", inputs: ["h"], outputs: ["hr"] },
      { op: "Gemm", name: "fc2", inputs: ["hr", "W2", "b2"], outputs: ["y"], attrs: { transB: 1 } },
    ],
  };
}

/** The channels of a [C, ...] weight that pruning the share s drops: smallest L1 first, ties the higher index. */
function droppedBy(w: ArrayLike<number>, C: number, s: number): number[] {
  const per = w.length / C;
  const l1 = Array.from({ length: C }, (_, c) => Array.from({ length: per }, (_, i) => Math.abs(w[c * per + i])).reduce((a, b) => a + b, 0));
  return Array.from(l1.keys()).sort((i, j) => l1[i] - l1[j] || j - i).slice(0, Math.round(s * C));
}

/** Zeroes, in a reader's weight, input channel c (axis 1) in runs of `run`. */
function zeroInputs(g: Graph, name: string, channels: number[], run = 1): void {
  const t = tensor(g, name);
  const [O, I] = t.shape, inner = numel(t.shape.slice(2));
  const d = Float32Array.from(t.data!);
  for (let o = 0; o < O; o++) for (const c of channels) for (let j = 0; j < run; j++) for (let i = 0; i < inner; i++) d[(o * I + c * run + j) * inner + i] = 0;
  t.data = d;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  // the same sums without terms that are exactly zero in the oracle: equal up to f64 rounding
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(b[i])));
};

describe("channel pruning", () => {
  it("an MLP: the pruned model equals the original with the dropped hidden units' outgoing weights zeroed", () => {
    const g = importAndLower(writeModel(mlp(3)));
    const oracle = importAndLower(writeModel(mlp(3)));
    const drop = droppedBy(tensor(g, g.nodes[0].inputs[1]).data!, 8, 0.5);
    expect(drop.length).toBe(4);
    zeroInputs(oracle, oracle.nodes[1].inputs[1], drop);
    const rep = applyPruneChannels(g, { fc1: 0.5 });
    expect(rep).toEqual([{ layer: "fc1", channels: 8, kept: 4 }]);
    expect(tensor(g, g.nodes[0].inputs[1]).shape).toEqual([4, 6]);
    expect(tensor(g, g.nodes[1].inputs[1]).shape).toEqual([3, 4]);
    for (let t = 0; t < 5; t++) {
      const x = randValue(rng(10 + t), [1, 6]);
      close(interpret(g, { x }).y.data, interpret(oracle, { x }).y.data);
    }
  });

  it("digits-cnn: through the depthwise conv, pools and Flatten, against the zeroed-reader oracle", () => {
    const file = "examples/digits-cnn/model.onnx";
    const g = importAndLower(file), oracle = importAndLower(file);
    const conv0 = g.nodes[0], conv10 = g.nodes.find((n) => n.name === "/features/features.10/Conv")!;
    const d0 = droppedBy(tensor(g, conv0.inputs[1]).data!, 16, 0.25), d10 = droppedBy(tensor(g, conv10.inputs[1]).data!, 32, 0.25);
    // conv0's channels pass the depthwise conv to the pointwise conv's inputs; conv10's pass a pool and Flatten (2x2 = 4 columns each)
    zeroInputs(oracle, oracle.nodes.find((n) => n.name === "/features/features.6/Conv")!.inputs[1], d0);
    zeroInputs(oracle, oracle.nodes.find((n) => n.name === "/head/head.1/MatMul")!.inputs[1], d10, 4);
    const rep = applyPruneChannels(g, { [conv0.name]: 0.25, [conv10.name]: 0.25 });
    expect(rep.map((r) => [r.channels, r.kept])).toEqual([[16, 12], [32, 24]]);
    const dw = g.nodes[1];
    expect([dw.attrs.group, ...tensor(g, dw.inputs[1]).shape]).toEqual([12, 12, 1, 3, 3]);
    expect(tensor(g, g.nodes.find((n) => n.name === "/head/head.1/MatMul")!.inputs[1]).shape).toEqual([32, 96]);
    const xs = readNpy("examples/digits-cnn/x_test.npy");
    for (let t = 0; t < 4; t++) {
      const x: Value = { dtype: "float32", shape: [1, 1, 8, 8], data: xs.data.slice(t * 64, (t + 1) * 64) as Float32Array };
      close(interpret(g, { input: x }).output.data, interpret(oracle, { input: x }).output.data);
    }
  });

  it("every layer ('*'): what cannot be rewired is left whole and reported; int8 of the result is bit-exact", async () => {
    const file = "examples/digits-cnn/model.onnx";
    const g = importAndLower(file);
    const rep = applyPruneChannels(g, { "*": 0.25 });
    const last = rep.find((r) => r.layer === "/head/head.5/Gemm")!;
    expect(last.kept).toBe(last.channels);
    expect(last.note).toMatch(/reach the graph output 'output'/);
    const c = await compileModel(file, { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy", pruneChannels: { "*": 0.25 }, selftest: true });
    const full = await compileModel(file, { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy" });
    expect(c.manifest.totals.params).toBeLessThan(0.65 * full.manifest.totals.params);
    expect(c.manifest.totals.macs).toBeLessThan(0.65 * full.manifest.totals.macs);
    const m = await instantiate(c.wasm, c.manifest);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    const io = c.manifest.inputs[0], xs = readNpy("examples/digits-cnn/x_test.npy");
    for (let t = 0; t < 3; t++) {
      const q: Value = { dtype: "int8", shape: [1, 1, 8, 8], data: Int8Array.from(xs.data.slice(t * 64, (t + 1) * 64), (v) => quantizeValue(v, io.scale!, io.zeroPoint!)) };
      expect(Array.from(runRaw(m, [q])[0].data)).toEqual(Array.from(interpret(c.graph, { input: q }).output.data));
    }
  });

  it("refusals name the layer and the reason", async () => {
    expect(() => parsePruneChannels(["1"])).toThrow(/--prune-channels 1: the share of channels to drop must be a number in \[0, 1\)/);
    expect(parsePruneChannels(["0.5", "fc1=0.25"])).toEqual({ "*": 0.5, fc1: 0.25 });
    await expect(compileModel(writeModel(mlp(3)), { pruneChannels: { fc2: 0.5 } })).rejects.toThrow(/--prune-channels fc2=0.5: .*'fc2'.*reach the graph output 'y'/);
    await expect(compileModel(writeModel(mlp(3)), { pruneChannels: { nope: 0.5 } })).rejects.toThrow(/no layer 'nope' .*'fc1', 'fc2'/);
    const withAdd: ModelSpec = { ...mlp(4), outputs: ["z"], nodes: [...mlp(4).nodes, { op: "Add", inputs: ["y", "y"], outputs: ["z"] }] };
    const spec2: ModelSpec = { ...withAdd, nodes: withAdd.nodes.map((n) => (n.op === "Relu" ? { ...n, outputs: ["hr"] } : n)) };
    await expect(compileModel(writeModel(spec2), { pruneChannels: { fc2: 0.5 } })).rejects.toThrow(/Add '.*' reads 'y'|reads 'y' as more than its data input/);
  });
});
