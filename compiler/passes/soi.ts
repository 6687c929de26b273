/**
 * SOI (Scattered Online Inference, --soi k): the deeper part of a streaming network runs
 * only every k-th step, and the rest of the network reuses its newest result in between
 * (hold), extrapolates it linearly from its two newest results (extrapolate), or uses the
 * result from the step before (predict: the fully predictive variant, whose deep path can
 * run after the output of its step is out).
 *
 * The pass rewrites the full-window float graph, so the reference interpreter, calibration,
 * int8 quantization and streaming all see SOI as ordinary layers:
 * - the deep path starts at one layer (the split; chosen by --soi-split or automatically)
 *   and holds every layer whose time-varying inputs all come from it;
 * - the split's input is decimated (Slice: every k-th column from the first), so the deep
 *   path computes columns 0, k, 2k, ...; a causal convolution or pooling layer in it
 *   divides its dilation by k, so its taps land on the same original steps as before;
 * - wherever a deep tensor meets the rest of the network (a merge such as a skip
 *   connection's Add, or a graph output), a TimeUpsample brings it back to every step.
 * Streaming then gives the deep path a period of k (stream/step-graph.ts): its layers run
 * on steps t % k == 0 only, which is what saves the MACs.
 *
 * Because dilations must be multiples of k, the deep path's columns at steps 0, k, 2k, ...
 * are exactly the original model's; only the steps in between are approximated (and, in
 * predict mode, every step uses the deep column of an earlier step). Layers whose taps
 * would fall between deep steps (dilation not a multiple of k), strided layers, recurrent
 * layers and layers without a time axis are refused in the deep path, naming the layer.
 *
 * Preserves: graph inputs and outputs (names and shapes); the function at the deep path's
 * steps (hold, extrapolate) as stated above; nothing else: SOI is an approximation whose
 * metric change the caller measures.
 */
import { bad, internal, PicoError } from "../util/errors.js";
import { cloneGraph, tensor, type Graph, type Node } from "../ir/graph.js";
import { opDef } from "../ops/table.js";
import type { UpsampleMode } from "../ops/time-upsample.js";
import { buildStepGraph, POINTWISE, VIEWS, type StreamKind, type StreamOptions } from "../stream/step-graph.js";

export interface SoiOptions {
  k: number;
  mode?: UpsampleMode;
  /** Name of the first layer of the deep path; chosen automatically when absent. */
  split?: string;
}

export interface SoiReport {
  k: number;
  mode: UpsampleMode;
  split: string;
  /** Layers of the deep path (they run every k-th step). */
  deep: string[];
  /** Tensors where the deep path rejoins the every-step network (or is a graph output). */
  rejoins: string[];
}

const MODES: UpsampleMode[] = ["hold", "extrapolate", "predict"];
const WINDOWED = new Set(["Conv", "MaxPool", "AveragePool"]);
const ELEMENTWISE = new Set(["Add", "Mul", "Concat", "Transpose"]);

interface DeepPath {
  nodes: Node[];
  tensors: Set<string>;
  problem?: string;
  /** Some graph output is computed in the deep path (no every-step path reaches it). */
  outputIsDeep: boolean;
  macs: number;
}

const dynamic = (g: Graph, n: Node) => n.inputs.filter((x) => x && !tensor(g, x).data);

/** Why `node` cannot run in the deep path at factor k, or undefined. */
function deepProblem(g: Graph, node: Node, k: number, kinds: Map<string, StreamKind>): string | undefined {
  if (node.outputs.some((o) => o && kinds.get(o)?.k !== "stream")) return "its output has no time axis, which the deep path must keep up to where it rejoins";
  if (WINDOWED.has(node.op)) {
    const s = (node.attrs.strides as number[] | undefined)?.[0] ?? 1;
    const K = (node.attrs.kernel_shape as number[])[0], d = (node.attrs.dilations as number[] | undefined)?.[0] ?? 1;
    if (s !== 1) return `stride ${s}: strided layers are not supported in the deep path`;
    if (K > 1 && d % k !== 0) return `dilation ${d} is not a multiple of ${k}, so its taps would fall between the steps the deep path runs on`;
    return undefined;
  }
  if (POINTWISE.has(node.op) || VIEWS.has(node.op) || ELEMENTWISE.has(node.op)) return undefined;
  return `${node.op} cannot run in the deep path (it holds causal 1-D Conv/MaxPool/AveragePool, pointwise and elementwise layers, and reshapes)`;
}

function deepPath(g: Graph, split: Node, k: number, kinds: Map<string, StreamKind>): DeepPath {
  const tensors = new Set<string>();
  const nodes: Node[] = [];
  let macs = 0;
  for (const node of g.nodes.slice(g.nodes.indexOf(split))) {
    const dyn = dynamic(g, node);
    if (node !== split && !(dyn.length > 0 && dyn.every((x) => tensors.has(x)))) continue;
    const problem = deepProblem(g, node, k, kinds);
    if (problem) return { nodes, tensors, problem: `layer '${node.name}' (${node.op}): ${problem}`, outputIsDeep: false, macs };
    nodes.push(node);
    macs += opDef(node.op).macs?.(node, g) ?? 0;
    node.outputs.forEach((o) => o && tensors.add(o));
  }
  return { nodes, tensors, outputIsDeep: g.outputs.some((o) => tensors.has(o)), macs };
}

function fresh(g: Graph, base: string): string {
  let name = base;
  for (let i = 1; g.tensors.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** Rewrites the float graph `src` for SOI (see the header); returns the new graph and what it did. */
export function applySoi(src: Graph, opts: SoiOptions, stream: StreamOptions = {}): { graph: Graph; report: SoiReport } {
  const k = opts.k, mode = opts.mode ?? "hold";
  const flag = `--soi ${k}`;
  if (!Number.isInteger(k) || k < 2) bad(`${src.source}: --soi ${k}: the factor must be a whole number of at least 2`);
  if (!MODES.includes(mode)) bad(`${src.source}: --soi-mode ${mode}: expected ${MODES.join(", ")}`);
  if (src.nodes.some((n) => n.q)) internal("applySoi runs on the float graph, before quantization");
  let kinds: Map<string, StreamKind>;
  try {
    kinds = buildStepGraph(src, stream).kinds;
  } catch (e) {
    if (e instanceof PicoError && e.exitCode === 2) bad(`${flag} needs a model that streams: ${e.message}`);
    throw e;
  }
  const isStream = (x: string) => kinds.get(x)?.k === "stream";
  const candidates = src.nodes.filter((n) => { const d = dynamic(src, n); return d.length === 1 && isStream(d[0]) && n.inputs[0] === d[0]; });

  let split: Node, path: DeepPath;
  if (opts.split !== undefined) {
    const n = src.nodes.find((x) => x.name === opts.split);
    if (!n) bad(`${src.source}: --soi-split '${opts.split}': no layer of that name (layers that can start the deep path: ${candidates.map((c) => c.name).join(", ")})`);
    if (!candidates.includes(n!)) bad(`${src.source}: --soi-split '${opts.split}' (${n!.op}): the deep path must start at a layer whose one time-varying input is its data input`);
    split = n!;
    path = deepPath(src, split, k, kinds);
    if (path.problem) bad(`${src.source}: ${flag}: the deep path from '${split.name}' cannot run once every ${k} steps: ${path.problem}; split later or use another factor`);
  } else {
    let best: { n: Node; p: DeepPath } | undefined;
    let why: string | undefined;
    for (const n of candidates) {
      const p = deepPath(src, n, k, kinds);
      if (p.problem || p.outputIsDeep || p.macs === 0) { why ??= p.problem; continue; }
      if (!best || p.macs > best.p.macs) best = { n, p };
    }
    if (!best) bad(`${src.source}: ${flag}: no layer starts a deep path that rejoins the every-step layers before the output (as a skip connection does)${why ? ` (for instance ${why})` : ""}; name the first deep layer with --soi-split to hold the output itself`);
    split = best!.n;
    path = best!.p;
  }
  const rejoins = rejoinsOf(src, path);
  return { graph: rewrite(src, split, path, rejoins, k, mode, kinds), report: { k, mode, split: split.name, deep: path.nodes.map((n) => n.name), rejoins } };
}

function rejoinsOf(g: Graph, path: DeepPath): string[] {
  const deepNodes = new Set(path.nodes);
  return [...path.tensors].filter((t) => g.outputs.includes(t) || g.nodes.some((n) => !deepNodes.has(n) && n.inputs.includes(t)));
}

function rewrite(src: Graph, splitSrc: Node, path: DeepPath, rejoins: string[], k: number, mode: UpsampleMode, kinds: Map<string, StreamKind>): Graph {
  const g = cloneGraph(src);
  const at = (n: Node) => g.nodes[src.nodes.indexOf(n)];
  const deep = new Set(path.nodes.map(at));
  const split = at(splitSrc);
  const axisOf = (t: string) => (kinds.get(t) as { axis: number }).axis;

  // deep tensors seen outside the deep path get a decimated twin inside it
  const ups: Array<{ from: string; to: string; after: Node }> = [];
  for (const t of rejoins) {
    const twin = fresh(g, `${t}_soi`);
    g.tensors.set(twin, { ...tensor(g, t), name: twin, shape: [...tensor(g, t).shape] });
    const prod = g.nodes.find((n) => n.outputs.includes(t))!;
    prod.outputs = prod.outputs.map((o) => (o === t ? twin : o));
    for (const n of deep) n.inputs = n.inputs.map((x) => (x === t ? twin : x));
    ups.push({ from: twin, to: t, after: prod });
  }

  // decimate the split's input
  const x = split.inputs[0], a = axisOf(x), L = tensor(g, x).shape[a], J = Math.ceil(L / k);
  const xd = fresh(g, `${x}_soi_every${k}`);
  const xdShape = [...tensor(g, x).shape];
  xdShape[a] = J;
  g.tensors.set(xd, { ...tensor(g, x), name: xd, shape: xdShape });
  const sub: Node = { name: `${split.name}/soi_decimate`, op: "Slice", inputs: [x], outputs: [xd], attrs: { starts: [0], ends: [L], axes: [a], steps: [k] } };
  g.nodes.splice(g.nodes.indexOf(split), 0, sub);
  split.inputs[0] = xd;

  // the deep layers on the decimated stream: dilations / k, shapes with J columns
  for (const n of g.nodes.filter((m) => deep.has(m))) {
    if (WINDOWED.has(n.op)) {
      const K = (n.attrs.kernel_shape as number[])[0], d = (n.attrs.dilations as number[] | undefined)?.[0] ?? 1;
      const dn = K > 1 ? d / k : d;
      const pads = n.attrs.pads as number[];
      n.attrs = { ...n.attrs, dilations: [dn], pads: pads.map((p, i) => (i === 0 ? (K - 1) * dn : p)), out: [J] };
    } else if (VIEWS.has(n.op)) {
      const y = n.outputs[0], shape = [...tensor(g, y).shape]; // still the original shape
      shape[axisOf(y)] = J;
      n.op = "Reshape";
      n.attrs = { shape };
      n.inputs = [n.inputs[0]];
    }
    const outs = opDef(n.op).infer!(n, g);
    n.outputs.forEach((o, i) => { if (o) tensor(g, o).shape = outs[i].shape; });
  }
  for (const u of ups) {
    const y = u.to;
    g.nodes.splice(g.nodes.indexOf(u.after) + 1, 0, {
      name: `${y}/soi_${mode}`, op: "TimeUpsample", inputs: [u.from], outputs: [y],
      attrs: { axis: axisOf(y), factor: k, length: tensor(g, y).shape[axisOf(y)], mode },
    });
  }
  return g;
}
