// fold-pad: a zero constant Pad in front of a Conv (PyTorch's causal `conv(F.pad(x, ((k-1)*d, 0)))`,
// and 2-D asymmetric pads) folds into the Conv's padding; the model still matches
// onnxruntime (float) and the integer interpreter (int8), and the causal 1-D form now
// streams. A Pad with a non-zero value, one that pads channels, or one read by another
// node too stays a Pad.
import { describe, expect, it } from "vitest";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { compileModel } from "../../compiler/pipeline.js";

function padConv(x: number[], pads: number[], opts: { value?: number; conv?: Record<string, number[]>; alsoOut?: boolean } = {}): ModelSpec {
  const r = rng(pads.length + x.length);
  const w = [4, x[1], ...x.slice(2).map(() => 3)];
  return {
    inputs: [{ name: "x", shape: x }], outputs: opts.alsoOut ? ["y", "p"] : ["y"],
    initializers: [
      { name: "pads", shape: [pads.length], data: pads, dtype: 7 },
      ...(opts.value !== undefined ? [{ name: "v", shape: [], data: [opts.value] }] : []),
      { name: "W", shape: w, data: uniform(r, w.reduce((a, b) => a * b, 1), -0.5, 0.5) },
      { name: "B", shape: [4], data: uniform(r, 4, -0.2, 0.2) },
    ],
    nodes: [
      { op: "Pad", name: "pad", inputs: ["x", "pads", ...(opts.value !== undefined ? ["v"] : [])], outputs: ["p"] },
      { op: "Conv", name: "conv", inputs: ["p", "W", "B"], outputs: ["c"], attrs: opts.conv ?? {} },
      { op: "Relu", inputs: ["c"], outputs: ["y"] },
    ],
  };
}

const feeds = (shape: number[], n = 3) => { const r = rng(9); return Array.from({ length: n }, () => ({ x: randValue(r, shape, -1, 1) })); };
const ops = async (spec: ModelSpec) => (await compileModel(writeModel(spec))).graph.nodes.map((n) => n.op);

describe("fold-pad", () => {
  it("causal 1-D: Pad (k-1)*d on the left folds into a dilated Conv; float and int8 still exact; it streams", async () => {
    const spec = padConv([1, 2, 16], [0, 0, 4, 0, 0, 0], { conv: { dilations: [2] } });
    expect(await ops(spec)).toEqual(["Conv"]);
    await checkFloat(spec, feeds([1, 2, 16]));
    await checkInt8(spec, feeds([1, 2, 16], 4), feeds([1, 2, 16]));
    const st = await compileModel(writeModel(spec), { stream: true });
    expect(st.manifest.stream!.windowMacs).toBe(st.manifest.stream!.macsPerStep * 16);
  });

  it("2-D asymmetric pads on both ends add to the Conv's own padding", async () => {
    const spec = padConv([1, 3, 7, 7], [0, 0, 1, 0, 0, 0, 1, 2], { conv: { pads: [1, 1, 1, 1], strides: [2, 2] } });
    expect(await ops(spec)).toEqual(["Conv"]);
    await checkFloat(spec, feeds([1, 3, 7, 7]));
    await checkInt8(spec, feeds([1, 3, 7, 7], 4), feeds([1, 3, 7, 7]));
  });

  it("keeps a Pad with a non-zero value, one that pads channels, and one that is also a graph output", async () => {
    expect(await ops(padConv([1, 2, 10], [0, 0, 2, 0, 0, 0], { value: 0.5 }))).toEqual(["Pad", "Conv"]);
    const chan = padConv([1, 2, 10], [0, 1, 2, 0, 0, 0]);
    chan.initializers![1] = { name: "W", shape: [4, 3, 3], data: uniform(rng(1), 36, -0.5, 0.5) };
    expect(await ops(chan)).toEqual(["Pad", "Conv"]);
    expect(await ops(padConv([1, 2, 10], [0, 0, 2, 0, 0, 0], { alsoOut: true }))).toEqual(["Pad", "Conv"]);
  });
});
