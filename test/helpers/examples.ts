// Samples of the shipped examples as a module's raw input: sample i of examples/<ex>/x_test.npy,
// quantized when the module takes int8.
import { quantizeInput } from "../../compiler/pipeline.js";
import { readNpy } from "../../compiler/util/npy.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import type { Manifest } from "../../compiler/emit/manifest.js";

/** Sample i of an example's x_test.npy, as the module's raw (first and only) input. */
export function exampleSample(m: Manifest, ex: string, i: number): Value[] {
  const x = readNpy(`examples/${ex}/x_test.npy`);
  const io = m.inputs[0], n = io.shape.reduce((a, b) => a * b, 1);
  const count = Math.floor(x.data.length / n);
  const v = makeValue("float32", io.shape, Array.from(x.data as ArrayLike<number>).slice((i % count) * n, (i % count + 1) * n).map(Number));
  return [io.dtype === "int8" ? quantizeInput(v, io.scale!, io.zeroPoint!) : v];
}
