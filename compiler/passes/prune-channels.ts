/**
 * --prune-channels <s | layer=s>: structured pruning after training. A Conv (group 1) or a
 * fully connected Gemm loses the fraction s of its output channels (rounded, at least one
 * kept), those whose filters have the smallest L1 norm (ties: the lower index stays), and
 * the graph is rewired so every layer downstream shrinks with it: the walk follows the
 * channels through ops that keep them apart (pools, unfused activations, Pad without a
 * channel pad, depthwise convolutions, whose channels are dropped alike, and Flatten at
 * axis 1, after which each channel is a run of columns) to the layers that read them as
 * inputs (a Conv with group 1: its input channels; a fully connected Gemm: its columns), and
 * drops the same channels there. The result is an ordinary smaller model: every kernel and
 * the integer path apply unchanged, and it stores and computes less in every layer touched.
 * Runs on the float graph before calibration.
 * Refused with the layer named (by name: an error; for every layer, "*": the layer is left
 * whole and the report says why): a channel that reaches a graph output, an op that mixes
 * channels otherwise (Add, Concat, Reshape, Transpose, ...) or a tensor read twice, a layer
 * that is neither a group-1 Conv nor a fully connected Gemm, a sparsity outside [0, 1).
 */
import { bad, internal } from "../util/errors.js";
import { opDef } from "../ops/table.js";
import { consumers, numel, tensor, type Graph, type Node } from "../ir/graph.js";
import { where } from "../ops/util.js";

export function parsePruneChannels(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    const [name, v] = i < 0 ? ["*", s] : [s.slice(0, i), s.slice(i + 1)];
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x) || x < 0 || x >= 1) bad(`--prune-channels ${s}: the share of channels to drop must be a number in [0, 1), e.g. 0.5`);
    out[name] = x;
  }
  return out;
}

/** Ops that map channel c of their (only data) input to channel c of their output. */
const CHANNELWISE = new Set(["Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "MaxPool", "AveragePool", "GlobalAveragePool", "Pad"]);

/** One step of the walk: a tensor whose channel axis shrinks, and how its readers see it. */
interface Plan {
  /** Tensors whose axis 1 shrinks to the kept channels (times `run` columns after a Flatten). */
  shrink: Array<{ name: string; run: number }>;
  /** Depthwise convolutions whose channels are dropped alike. */
  depthwise: Node[];
  /** Readers: a group-1 Conv (input channels) or a Gemm (columns, `run` per channel). */
  readers: Array<{ node: Node; run: number }>;
}

const isFc = (n: Node) => n.op === "Gemm" && !!n.attrs.canonical;
const isConv1 = (n: Node) => n.op === "Conv" && (n.attrs.group ?? 1) === 1;

/** The walk from a producer's output, or the reason it cannot be rewired. */
function walk(g: Graph, out: string, C: number): Plan | string {
  const plan: Plan = { shrink: [], depthwise: [], readers: [] };
  const visit = (name: string, run: number): string | undefined => {
    if (g.outputs.includes(name)) return `its channels reach the graph output '${name}'`;
    plan.shrink.push({ name, run });
    const users = consumers(g, name);
    if (!users.length) return `'${name}' is read by nothing`;
    for (const u of users) {
      const idx = u.inputs.indexOf(name);
      if (idx !== 0 || u.inputs.lastIndexOf(name) !== idx) return `${u.op} '${u.name}' reads '${name}' as more than its data input`;
      const shape = tensor(g, name).shape;
      if (run === 1 && isConv1(u)) { plan.readers.push({ node: u, run }); continue; }
      if (isFc(u) && shape.length === 2 && tensor(g, u.inputs[1]).shape[1] === shape[1]) { plan.readers.push({ node: u, run }); continue; }
      if (run === 1 && u.op === "Conv" && u.attrs.group === C && tensor(g, u.inputs[1]).shape[0] === C) {
        plan.depthwise.push(u);
        const why = visit(u.outputs[0], 1);
        if (why) return why;
        continue;
      }
      if (run === 1 && CHANNELWISE.has(u.op)) {
        if (u.op === "Pad" && (u.attrs.pads ?? []).some((p: number, i: number, a: number[]) => (i % (a.length / 2) === 1) && p !== 0)) return `Pad '${u.name}' pads the channel axis`;
        const why = visit(u.outputs[0], 1);
        if (why) return why;
        continue;
      }
      if (run === 1 && u.op === "Flatten" && (u.attrs.axis ?? 1) === 1) {
        const s = tensor(g, name).shape;
        const why = visit(u.outputs[0], numel(s.slice(2)));
        if (why) return why;
        continue;
      }
      return `${u.op} '${u.name}' reads '${name}' and picojoule cannot drop channels through it`;
    }
    return undefined;
  };
  const why = visit(out, 1);
  return why ?? plan;
}

export interface ChannelReport { layer: string; channels: number; kept: number; note?: string }

export function applyPruneChannels(g: Graph, req: Record<string, number>): ChannelReport[] {
  const producers = g.nodes.filter((n) => isConv1(n) || isFc(n));
  for (const name of Object.keys(req)) {
    if (name === "*") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--prune-channels ${name}=${req[name]}: no layer '${name}' in ${g.source}; layers with channels to drop: ${producers.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!producers.includes(node!)) bad(`--prune-channels ${name}=${req[name]}: ${where(g, node!)} is neither a Conv with group 1 nor a fully connected Gemm`);
  }
  const report: ChannelReport[] = [];
  for (const node of producers) {
    const s = req[node.name] ?? req["*"];
    if (!s) continue;
    const W = tensor(g, node.inputs[1]);
    const C = W.shape[0];
    const drop = Math.min(C - 1, Math.round(s * C));
    if (!drop) { report.push({ layer: node.name, channels: C, kept: C, note: "rounds to no channel" }); continue; }
    const plan = walk(g, node.outputs[0], C);
    if (typeof plan === "string") {
      if (req[node.name] !== undefined) bad(`--prune-channels ${node.name}=${s}: ${where(g, node)}: ${plan}`);
      report.push({ layer: node.name, channels: C, kept: C, note: plan });
      continue;
    }
    const per = numel(W.shape) / C;
    const l1 = Array.from({ length: C }, (_, c) => { let a = 0; for (let i = 0; i < per; i++) a += Math.abs(W.data![c * per + i]); return a; });
    const order = Array.from(l1.keys()).sort((i, j) => l1[i] - l1[j] || j - i);
    const dropped = new Set(order.slice(0, drop));
    const keep = Array.from({ length: C }, (_, c) => c).filter((c) => !dropped.has(c));
    rewire(g, node, plan, keep, C);
    report.push({ layer: node.name, channels: C, kept: keep.length });
  }
  return report;
}

/** A copy of constant `name` keeping, along `axis`, the runs of `run` entries of the kept channels. */
function keepAlong(g: Graph, n: Node, input: number, axis: number, keep: number[], run = 1): void {
  const name = n.inputs[input];
  if (!name) return;
  const t = tensor(g, name);
  const s = t.shape, outer = numel(s.slice(0, axis)), inner = numel(s.slice(axis + 1)), len = s[axis];
  const idx = keep.flatMap((c) => Array.from({ length: run }, (_, i) => c * run + i));
  const data = new Float32Array(outer * idx.length * inner);
  for (let o = 0; o < outer; o++)
    idx.forEach((j, jj) => {
      for (let i = 0; i < inner; i++) data[(o * idx.length + jj) * inner + i] = t.data![(o * len + j) * inner + i];
    });
  const shape = [...s];
  shape[axis] = idx.length;
  const copy = `${name}::channels`;
  let fresh = copy;
  for (let i = 1; g.tensors.has(fresh); i++) fresh = `${copy}_${i}`;
  g.tensors.set(fresh, { ...t, name: fresh, shape, data });
  n.inputs[input] = fresh;
}

function rewire(g: Graph, node: Node, plan: Plan, keep: number[], C: number): void {
  keepAlong(g, node, 1, 0, keep); // weights [C, ...]
  keepAlong(g, node, 2, 0, keep); // bias [C]
  for (const dw of plan.depthwise) {
    keepAlong(g, dw, 1, 0, keep);
    keepAlong(g, dw, 2, 0, keep);
    dw.attrs.group = keep.length;
  }
  for (const { node: r, run } of plan.readers) keepAlong(g, r, 1, 1, keep, run); // Conv W [Co, C, kh, kw]; Gemm W [N, C run]
  for (const { name, run } of plan.shrink) {
    const t = tensor(g, name);
    if (t.shape[1] !== C * run) internal(`--prune-channels: '${name}' has ${t.shape[1]} on axis 1, expected ${C} x ${run}`);
    t.shape = [t.shape[0], keep.length * run, ...t.shape.slice(2)];
  }
  // every node's shape rule must agree with the rewired shapes
  for (const n of g.nodes) {
    const outs = opDef(n.op).infer?.(n, g);
    outs?.forEach((o, i) => {
      const t = n.outputs[i] ? tensor(g, n.outputs[i]) : undefined;
      if (t && o.shape.join("x") !== t.shape.join("x")) internal(`--prune-channels: ${where(g, n)} infers ${o.shape.join("x")} for '${t.name}', which holds ${t.shape.join("x")}`);
    });
  }
}
