/**
 * Reading the ONNX backend node tests shipped by Debian's libonnx-testdata: each test is a
 * folder with model.onnx and test_data_set_N folders of input_K.pb / output_K.pb TensorProtos.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { tensorFromProto } from "../../compiler/onnx/import.js";
import type { Value } from "../../compiler/ir/graph.js";

export const NODE_TEST_ROOT = "/usr/share/libonnx-testdata/data/node";

export function readPb(file: string): Value {
  const tp = onnxProto.onnx.TensorProto.decode(readFileSync(file));
  const t = tensorFromProto(tp, file);
  return { dtype: t.dtype, shape: t.shape, data: t.data! };
}

export interface NodeCase {
  name: string;
  model: string;
  sets: Array<{ inputs: Value[]; outputs: Value[] }>;
}

export function loadNodeCase(name: string): NodeCase {
  const dir = join(NODE_TEST_ROOT, name);
  const sets = readdirSync(dir).filter((d) => d.startsWith("test_data_set_")).sort().map((d) => {
    const files = readdirSync(join(dir, d));
    const pick = (p: string) => files.filter((f) => f.startsWith(p)).sort((a, b) => parseInt(a.split("_")[1]) - parseInt(b.split("_")[1])).map((f) => readPb(join(dir, d, f)));
    return { inputs: pick("input_"), outputs: pick("output_") };
  });
  return { name, model: join(dir, "model.onnx"), sets };
}

export function nodeTestsAvailable(): boolean {
  return existsSync(NODE_TEST_ROOT);
}

export function listNodeTests(): string[] {
  return readdirSync(NODE_TEST_ROOT).filter((d) => existsSync(join(NODE_TEST_ROOT, d, "model.onnx"))).sort();
}
