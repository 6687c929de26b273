// Streaming recurrent nodes (node.attrs.stream, what --stream turns LSTM, GRU and RNN into):
// a one-step node that keeps its state between executions must reproduce the whole-sequence
// node exactly. Per op, float and int8 (int16 state), each case compiles the T-step model,
// derives the one-step stream graph from its (float or quantized) graph, and checks:
// - interpreter: T one-step executions after resetStreamState give the T-step run's Y
//   (step by step), Y_h and Y_c bit for bit; continuing without a reset over a second
//   sequence equals the 2T-step run of both sequences; a reset restarts from the initial state;
// - kernels: the one-step module, built through the normal emitter with the `stream_mode`
//   global the generated step() will define (here a test harness sets it: 1 = fresh,
//   2 = continue), gives the T-step module's outputs bit for bit, continues across sequences
//   as the interpreter does (int8 exactly; float within the f32-vs-f64 tolerance, since the
//   float interpreter accumulates in float64), and restarts on mode 1.
// Cases cover batch 1 to 3, constant and run-time initial states, and output subsets that
// put h (and LSTM's c) only in the scratch (no Y, no Y_c) or also in Y / Y_c.
import { describe, expect, it } from "vitest";
import { randValue, rng } from "../helpers/random.js";
import { writeModel, type AttrV, type ModelSpec } from "../helpers/build-onnx.js";
import { FLOAT_TOL } from "../helpers/op-check.js";
import { worstRatio } from "../helpers/run.js";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { cloneGraph, makeValue, numel, tensor, type Graph, type Node, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { planMemory } from "../../compiler/passes/plan-memory.js";
import { emitAssemblyScript } from "../../compiler/emit/assemblyscript.js";
import { compileAssemblyScript } from "../../compiler/emit/asc.js";
import { resetStreamState } from "../../compiler/ops/recurrent.js";

type Op = "LSTM" | "GRU" | "RNN";
const GATES: Record<Op, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const OUTS: Record<Op, string[]> = { LSTM: ["Y", "Y_h", "Y_c"], GRU: ["Y", "Y_h"], RNN: ["Y", "Y_h"] };

interface Case {
  op: Op; T: number; B: number; I: number; H: number;
  h0?: boolean; c0?: boolean;
  /** initial_h / initial_c as graph inputs instead of initializers. */
  runtimeInit?: boolean;
  /** The node's outputs that are graph outputs (default all). */
  outs?: string[];
  attrs?: Record<string, AttrV>;
}

interface Built { file: string; seq: (lo: number, hi: number) => Record<string, Value> }

function build(c: Case, seed: number): Built {
  const r = rng(seed);
  const { op, T, B, I, H } = c;
  const G = GATES[op];
  const inputs: ModelSpec["inputs"] = [{ name: "X", shape: [T, B, I] }];
  const initializers: NonNullable<ModelSpec["initializers"]> = [];
  const put = (name: string, shape: number[], lo: number, hi: number) => initializers.push({ name, shape, data: randValue(r, shape, lo, hi).data });
  put("W", [1, G * H, I], -0.7, 0.7);
  put("R", [1, G * H, H], -0.7, 0.7);
  put("B", [1, 2 * G * H], -0.4, 0.4);
  const init: Record<string, Value> = {};
  for (const [name, on] of [["h0", c.h0], ["c0", c.c0]] as const) {
    if (!on) continue;
    const v = randValue(r, [1, B, H], -0.8, 0.8);
    if (c.runtimeInit) { inputs.push({ name, shape: [1, B, H] }); init[name] = v; }
    else initializers.push({ name, shape: [1, B, H], data: v.data });
  }
  const names = ["X", "W", "R", "B", "", c.h0 ? "h0" : "", c.c0 ? "c0" : ""];
  while (names[names.length - 1] === "") names.pop();
  const want = c.outs ?? OUTS[op];
  const outs = OUTS[op].map((o) => (want.includes(o) ? o : ""));
  while (outs[outs.length - 1] === "") outs.pop();
  const spec: ModelSpec = {
    inputs, initializers, outputs: want,
    nodes: [{ op, inputs: names, outputs: outs, attrs: { hidden_size: H, ...c.attrs } }],
  };
  return { file: writeModel(spec, `stream-${op}`), seq: (lo, hi) => ({ X: randValue(r, [T, B, I], lo, hi), ...init }) };
}

/** The graph's recurrent node. */
const recNode = (g: Graph): Node => g.nodes.find((n) => n.op in GATES)!;

/** A copy of g with the recurrent node's sequence length set to T (layout 0: X [T, B, I], Y [T, 1, B, H]) and stream as given. */
function withSteps(g: Graph, T: number, stream: boolean): Graph {
  const s = cloneGraph(g);
  const node = recNode(s);
  if (stream) node.attrs.stream = true;
  tensor(s, node.inputs[0]).shape[0] = T;
  if (node.outputs[0]) tensor(s, node.outputs[0]).shape[0] = T;
  return s;
}

/** Graph-input feeds in the graph's dtypes (int8 inputs quantized with their parameters). */
function feedsFor(g: Graph, f: Record<string, Value>): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const name of g.inputs) {
    const q = tensor(g, name).quant;
    out[name] = q ? makeValue("int8", f[name].shape, Array.from(f[name].data, (x) => quantizeValue(x, q.scale[0], q.zeroPoint[0]))) : f[name];
  }
  return out;
}

/** Step t of a feed: X's time slice t (shape [1, B, I]); the other inputs as they are. */
function stepFeed(f: Record<string, Value>, t: number): Record<string, Value> {
  const x = f.X;
  const n = x.shape[1] * x.shape[2];
  return { ...f, X: makeValue(x.dtype, [1, x.shape[1], x.shape[2]], x.data.subarray(t * n, (t + 1) * n)) };
}

/** The two sequences X_a, X_b joined in time (the other inputs from a). */
function joined(a: Record<string, Value>, b: Record<string, Value>): Record<string, Value> {
  const [T, B, I] = a.X.shape;
  const x = makeValue(a.X.dtype, [2 * T, B, I]);
  x.data.set(a.X.data);
  x.data.set(b.X.data, a.X.data.length);
  return { ...a, X: x };
}

/**
 * Per-step outputs of a run in steps, gathered as a whole-sequence run would give them:
 * Y as the concatenation of the steps' Y, Y_h and Y_c from the last step.
 */
function gather(steps: Array<Record<string, Value>>, names: string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of names) {
    out[name] = name === "Y" ? steps.flatMap((s) => Array.from(s.Y.data)) : Array.from(steps[steps.length - 1][name].data);
  }
  return out;
}
const plain = (r: Record<string, Value>, names: string[]) => Object.fromEntries(names.map((n) => [n, Array.from(r[n].data)]));

/** The interpreter running stream graph s over the T steps of feed f (continuing from its current state). */
function interpSteps(s: Graph, f: Record<string, Value>, T: number): Record<string, number[]> {
  const steps = Array.from({ length: T }, (_, t) => interpret(s, stepFeed(f, t)));
  return gather(steps, s.outputs);
}

/**
 * The one-step stream graph compiled through the normal emitter, plus a test harness for
 * what step() will provide: the `stream_mode` global (1 = fresh state, 2 = continue).
 */
async function streamModule(s: Graph) {
  const plan = planMemory(s);
  const em = emitAssemblyScript(s, plan);
  expect(em.source).toContain("stream_mode");
  const src = `${em.source}\nlet stream_mode: i32 = 1;\nexport function set_mode(m: i32): void { stream_mode = m; }\n`;
  const asc = await compileAssemblyScript(src, { memoryBase: em.memoryBase });
  const { instance } = await WebAssembly.instantiate(asc.wasm as Uint8Array<ArrayBuffer>, {});
  const ex = instance.exports as { memory: WebAssembly.Memory; run(): void; set_mode(m: number): void };
  const step = (mode: number, f: Record<string, Value>): Record<string, Value> => {
    ex.set_mode(mode);
    s.inputs.forEach((name, i) => {
      const d = f[name].data;
      new Uint8Array(ex.memory.buffer, em.inputAddrs[i], d.byteLength).set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    });
    ex.run();
    const out: Record<string, Value> = {};
    s.outputs.forEach((name, i) => {
      const t = tensor(s, name);
      const n = numel(t.shape);
      const src = t.dtype === "int8" ? new Int8Array(ex.memory.buffer, em.outputAddrs[i], n) : new Float32Array(ex.memory.buffer, em.outputAddrs[i], n);
      out[name] = makeValue(t.dtype, t.shape, src);
    });
    return out;
  };
  /** T steps of feed f; the first with `first` (1 restarts from the initial state, 2 continues). */
  return (f: Record<string, Value>, T: number, first: 1 | 2) =>
    gather(Array.from({ length: T }, (_, t) => step(t === 0 ? first : 2, stepFeed(f, t))), s.outputs);
}

function expectClose(got: Record<string, number[]>, want: Record<string, number[]>, what: string) {
  for (const name of Object.keys(want)) {
    expect(got[name].length).toBe(want[name].length);
    expect(worstRatio(Float32Array.from(got[name]), Float32Array.from(want[name]), FLOAT_TOL.atol, FLOAT_TOL.rtol), `${what}, ${name}`).toBeLessThanOrEqual(1);
  }
}

let seed = 7000;

async function check(c: Case, int8: boolean): Promise<void> {
  const b = build(c, ++seed);
  const seqA = b.seq(-1, 1), seqB = b.seq(-2, 2);
  const compiled = await compileModel(b.file, int8 ? { quantize: "int8", calibrate: [b.seq(-1, 1), b.seq(-2, 2), seqA] } : {});
  const g = compiled.graph;
  const names = g.outputs;
  const A = feedsFor(g, seqA), Bf = feedsFor(g, seqB);
  const s = withSteps(g, 1, true);
  const node = recNode(s);
  expect(node.attrs.stream).toBe(true);
  expect(recNode(g).attrs.stream).toBeUndefined();

  // interpreter: whole sequence vs one step at a time
  const fullA = plain(interpret(g, A), names), fullB = plain(interpret(g, Bf), names);
  const fullAB = plain(interpret(withSteps(g, 2 * c.T, false), joined(A, Bf)), names);
  const tailAB = { ...fullAB, ...(fullAB.Y ? { Y: fullAB.Y.slice(fullAB.Y.length / 2) } : {}) };
  resetStreamState(node);
  expect(interpSteps(s, A, c.T), "interpreter stream vs whole sequence A").toEqual(fullA);
  const contAB = interpSteps(s, Bf, c.T);
  expect(contAB, "interpreter stream continuing over B vs the 2T-step run of A and B").toEqual(tailAB);
  expect(contAB, "continuing must differ from restarting (the state is carried)").not.toEqual(fullB);
  resetStreamState(node);
  expect(interpSteps(s, Bf, c.T), "interpreter stream after a reset vs whole sequence B").toEqual(fullB);

  // kernels: the T-step module vs the one-step module
  const m = await instantiate(compiled.wasm, compiled.manifest);
  const wasmFull = (f: Record<string, Value>) => {
    const got = runRaw(m, g.inputs.map((n) => f[n]));
    return Object.fromEntries(names.map((n, i) => [n, Array.from(got[i].data)]));
  };
  const wA = wasmFull(A), wB = wasmFull(Bf);
  const run = await streamModule(s);
  expect(run(A, c.T, 1), "wasm stream vs wasm whole sequence A").toEqual(wA);
  const wAB = run(Bf, c.T, 2);
  if (int8) {
    expect(wA, "int8 wasm vs interpreter, A").toEqual(fullA);
    expect(wAB, "int8 wasm stream continuing over B vs the interpreter").toEqual(tailAB);
  } else {
    expectClose(wA, fullA, "float wasm vs reference, A");
    expectClose(wAB, tailAB, "float wasm stream continuing over B vs the reference 2T-step run");
  }
  expect(wAB, "continuing must differ from restarting").not.toEqual(wB);
  expect(run(Bf, c.T, 1), "wasm stream after mode 1 vs wasm whole sequence B").toEqual(wB);
}

const cases: Array<[string, Case]> = [
  ["LSTM, batch 1, constant initial h and c, Y / Y_h / Y_c", { op: "LSTM", T: 6, B: 1, I: 3, H: 5, h0: true, c0: true }],
  ["LSTM, batch 2, constant initial h and c, Y_h only (h and c only in the scratch)", { op: "LSTM", T: 5, B: 2, I: 2, H: 4, h0: true, c0: true, outs: ["Y_h"] }],
  ["LSTM, batch 3, initial h and c at run time, Y and Y_c, clip", { op: "LSTM", T: 4, B: 3, I: 3, H: 3, h0: true, c0: true, runtimeInit: true, outs: ["Y", "Y_c"], attrs: { clip: 0.9 } }],
  ["LSTM, batch 2, no initial state, input_forget", { op: "LSTM", T: 5, B: 2, I: 4, H: 6, attrs: { input_forget: 1 } }],
  ["GRU linear_before_reset 0, batch 2, constant initial h", { op: "GRU", T: 5, B: 2, I: 3, H: 5, h0: true }],
  ["GRU linear_before_reset 1, batch 2, constant initial h", { op: "GRU", T: 5, B: 2, I: 3, H: 5, h0: true, attrs: { linear_before_reset: 1 } }],
  ["GRU linear_before_reset 0, batch 3, initial h at run time, Y_h only", { op: "GRU", T: 4, B: 3, I: 2, H: 4, h0: true, runtimeInit: true, outs: ["Y_h"] }],
  ["GRU linear_before_reset 1, batch 1, Y_h only", { op: "GRU", T: 6, B: 1, I: 2, H: 3, outs: ["Y_h"], attrs: { linear_before_reset: 1 } }],
  ["RNN, batch 2, constant initial h", { op: "RNN", T: 6, B: 2, I: 3, H: 5, h0: true }],
  ["RNN, batch 3, initial h at run time, Y_h only", { op: "RNN", T: 5, B: 3, I: 2, H: 4, h0: true, runtimeInit: true, outs: ["Y_h"] }],
];

describe("streaming recurrent nodes, float: one step at a time equals the whole sequence", () => {
  for (const [name, c] of cases) it(name, () => check(c, false));
});

describe("streaming recurrent nodes, int8 (int16 state): one step at a time equals the whole sequence", () => {
  for (const [name, c] of cases) it(name, () => check(c, true));
});
