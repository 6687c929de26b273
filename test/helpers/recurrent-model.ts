// One-node LSTM / GRU / RNN models for the op tests (test/ops/lstm, gru, rnn): random
// weights, optional bias, initial states, peepholes (LSTM), sequence_lens, any subset of
// outputs, both layouts, weights as initializers or as graph inputs; plus the writer that
// encodes a string-list `activations` attribute and the transpose used to check layout 1
// against layout 0.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { encodeModel, tmpDir, writeModel, type AttrV, type ModelSpec } from "./build-onnx.js";
import { randValue, rng } from "./random.js";
import type { Value } from "../../compiler/ir/graph.js";

export type RecOp = "LSTM" | "GRU" | "RNN";

export interface Case {
  T: number; B: number; I: number; H: number;
  direction?: string; layout?: number;
  bias?: boolean; h0?: boolean; lens?: number[];
  /** LSTM only: initial c, peepholes. */
  c0?: boolean; peep?: boolean;
  attrs?: Record<string, AttrV | string[]>;
  /** Which of Y, Y_h (and LSTM's Y_c) the node produces (default all). */
  outs?: boolean[];
  /** W, R, B, P, initial_h, initial_c as graph inputs instead of initializers. */
  runtime?: boolean;
}

/** Builds a one-node model of `op` and two feeds (inputs in [-1, 1] and [-3, 3]). */
export function build(op: RecOp, c: Case, seed: number): { spec: ModelSpec; feeds: Array<Record<string, Value>> } {
  const GATES = { LSTM: 4, GRU: 3, RNN: 1 }[op];
  const r = rng(seed);
  const D = c.direction === "bidirectional" ? 2 : 1;
  const { T, B, I, H } = c;
  const state = c.layout ? [B, D, H] : [D, B, H];
  const operands: Array<{ name: string; shape: number[] } | null> = [
    { name: "W", shape: [D, GATES * H, I] }, { name: "R", shape: [D, GATES * H, H] },
    c.bias ? { name: "B", shape: [D, 2 * GATES * H] } : null, null,
    c.h0 ? { name: "h0", shape: state } : null, c.c0 ? { name: "c0", shape: state } : null,
    c.peep ? { name: "P", shape: [D, 3 * H] } : null,
  ];
  const inputs = [{ name: "X", shape: c.layout ? [B, T, I] : [T, B, I] }];
  const initializers: NonNullable<ModelSpec["initializers"]> = [];
  const values: Record<string, Value> = {};
  for (const o of operands) {
    if (!o) continue;
    const v = randValue(r, o.shape, -0.6, 0.6);
    values[o.name] = v;
    if (c.runtime) inputs.push(o);
    else initializers.push({ name: o.name, shape: o.shape, data: v.data });
  }
  if (c.lens) initializers.push({ name: "lens", shape: [B], data: c.lens, dtype: 6 });
  const names = ["X", ...operands.map((o, i) => (i === 3 ? (c.lens ? "lens" : "") : o ? o.name : ""))];
  while (names[names.length - 1] === "") names.pop();
  const outNames = op === "LSTM" ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"];
  const outs = (c.outs ?? outNames.map(() => true)).map((on, i) => (on ? outNames[i] : ""));
  while (outs[outs.length - 1] === "") outs.pop();
  const spec: ModelSpec = {
    inputs, initializers, outputs: outs.filter((o) => o), opset: c.layout ? 14 : 13,
    nodes: [{ op, inputs: names, outputs: outs, attrs: { hidden_size: H, ...(c.direction ? { direction: c.direction } : {}), ...(c.layout ? { layout: 1 } : {}), ...c.attrs } as Record<string, AttrV> }],
  };
  const feed = (lo: number, hi: number) => {
    const f: Record<string, Value> = { X: randValue(r, inputs[0].shape, lo, hi) };
    if (c.runtime) for (const o of inputs.slice(1)) f[o.name] = values[o.name];
    return f;
  };
  return { spec, feeds: [feed(-1, 1), feed(-3, 3)] };
}

/**
 * Writes the model; build-onnx encodes lists as INTS, so a string-list `activations`
 * attribute is patched in as STRINGS here.
 */
export function write(spec: ModelSpec): string {
  const acts = spec.nodes[0].attrs?.activations as unknown as string[] | undefined;
  if (!acts) return writeModel(spec);
  const { activations: _, ...rest } = spec.nodes[0].attrs!;
  const model = onnxProto.onnx.ModelProto.decode(encodeModel({ ...spec, nodes: [{ ...spec.nodes[0], attrs: rest }] }));
  model.graph!.node![0].attribute!.push({ name: "activations", type: 8, strings: acts.map((a) => new TextEncoder().encode(a)) });
  const file = join(tmpDir(), `${spec.nodes[0].op}-acts-${process.pid}-${++written}.onnx`);
  writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
  return file;
}
let written = 0;

/** out[...] = x permuted: out axis i is input axis perm[i]. */
export function transpose(x: ArrayLike<number>, shape: number[], perm: number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]);
  const inStr = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(x.length);
  const idx = new Array(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    out[o] = x[perm.reduce((a, p, i) => a + idx[i] * inStr[p], 0)];
    for (let d = outShape.length - 1; d >= 0; d--) { if (++idx[d] < outShape[d]) break; idx[d] = 0; }
  }
  return out;
}
