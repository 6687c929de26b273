// PyTorch-exported models (torch 1.13, opset 13; made by test/fixtures/torch/make.py) with
// the export quirks real users hit: Pad subgraphs, view(size(0), -1), ReLU6 as Clip,
// ceil-mode pooling, unfolded BatchNorm, MatMul + Add Linear layers, and more. Each must
// compile unchanged and run: float within FLOAT_TOL of the reference and onnxruntime-node;
// int8 bit-exact against the integer interpreter with a sanity bound on the error.
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readNpy } from "../../compiler/util/npy.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { checkFloat, checkInt8 } from "../helpers/op-check.js";
import { rng } from "../helpers/random.js";

const DIR = "test/fixtures/torch";
const MODELS = readdirSync(DIR).filter((f) => f.endsWith(".onnx")).map((f) => f.replace(/\.onnx$/, "")).sort();

function input(name: string): Value {
  const a = readNpy(join(DIR, `${name}.in.npy`));
  return makeValue("float32", a.shape, a.data as Float32Array);
}

/** Calibration: the fixture input plus seeded Gaussian-ish perturbations of it. */
function jitter(v: Value, seed: number, n: number): Value[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => makeValue("float32", v.shape, Array.from(v.data, (x) => x + (r() + r() + r() - 1.5))));
}

describe.each(MODELS)("torch fixture %s", (name) => {
  it("float", async () => {
    const x = input(name);
    await checkFloat(join(DIR, `${name}.onnx`), [{ input: x }, ...jitter(x, 1, 2).map((v) => ({ input: v }))]);
  });
  it("int8", async () => {
    const x = input(name);
    const calib = [x, ...jitter(x, 2, 15)].map((v) => ({ input: v }));
    const res = await checkInt8(join(DIR, `${name}.onnx`), calib, [{ input: x }, ...jitter(x, 3, 2).map((v) => ({ input: v }))]);
    // deep int8 chains accumulate a few quantization steps of error; this bounds gross mistakes
    expect(res.worstSteps).toBeLessThan(40);
  });
});
