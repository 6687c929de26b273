/**
 * Builds small ONNX models in memory with onnx-proto (no Python in tests): one node or a
 * short chain, float32 graph inputs, float32 initializers, attributes of the usual kinds.
 * Files go to a per-process temporary folder.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

export type AttrV = number | number[] | string | string[] | { floats: number[] } | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrV>;
  name?: string;
}

export interface ModelSpec {
  inputs: Array<{ name: string; shape: Array<number | string>; dtype?: number }>;
  outputs: string[];
  nodes: NodeSpec[];
  initializers?: Array<{ name: string; shape: number[]; data: ArrayLike<number>; dtype?: number }>;
  opset?: number;
}

function attr(name: string, v: AttrV) {
  if (typeof v === "string") return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v) && v.some((x) => typeof x === "string")) return { name, type: 8, strings: (v as string[]).map((x) => new TextEncoder().encode(x)) };
  if (Array.isArray(v)) return { name, type: 7, ints: v as number[] };
  if (typeof v === "object" && "floats" in v) return { name, type: 6, floats: v.floats };
  if (typeof v === "object" && "float" in v) return { name, type: 1, f: v.float };
  return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const vi = (name: string, shape: Array<number | string>, dtype = 1) => ({
    name, type: { tensorType: { elemType: dtype, shape: { dim: shape.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "picojoule-tests",
    opsetImport: [{ domain: "", version: spec.opset ?? 13 }],
    graph: {
      name: "test",
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`, opType: n.op, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      input: spec.inputs.map((x) => vi(x.name, x.shape, x.dtype)),
      output: spec.outputs.map((name) => ({ name })),
      initializer: (spec.initializers ?? []).map((t) => {
        const dtype = t.dtype ?? 1;
        if (dtype === 1) return { name: t.name, dims: t.shape, dataType: 1, floatData: Array.from(t.data) };
        if (dtype === 7) return { name: t.name, dims: t.shape, dataType: 7, int64Data: Array.from(t.data) };
        return { name: t.name, dims: t.shape, dataType: dtype, int32Data: Array.from(t.data) };
      }),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

let dir: string | undefined;
let counter = 0;

/** Writes the model to a temporary .onnx file and returns its path. */
export function writeModel(spec: ModelSpec, stem = "model"): string {
  dir ??= mkdtempSync(join(tmpdir(), "pj-test-"));
  const file = join(dir, `${stem}-${process.pid}-${counter++}.onnx`);
  writeFileSync(file, encodeModel(spec));
  return file;
}

export function tmpDir(): string {
  dir ??= mkdtempSync(join(tmpdir(), "pj-test-"));
  return dir;
}
