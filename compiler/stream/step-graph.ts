/**
 * Streaming (STMC, short-term memory convolutions): turns a graph that processes a window
 * of T time steps into a one-step graph that consumes one new input frame per call and
 * computes only what that frame changes, with the rest cached as state inside the module.
 *
 * Each tensor is classified by how it depends on time:
 * - static: constants;
 * - stream(axis, period): one column along `axis` per `period` steps (the input has period
 *   1; a layer with stride s multiplies the period by s: it fires every s-th step of its
 *   input stream);
 * - current(period): a value without a time axis that is replaced every `period` steps (an
 *   LSTM's final state, the last step picked by Gather/Slice).
 * In the step graph a stream tensor holds one column (its time dimension is 1). A causal
 * 1-D convolution or pooling layer (all padding on the left: (K-1)*d begin pads, none at
 * the end) keeps the last (K-1)*d+1 columns of its input in a state buffer: StreamShift
 * pushes the new column, and the layer runs on the buffer with no padding and produces one
 * output column. Buffers start as the padding value (real 0 for Conv and AveragePool with
 * count_include_pad, the lowest value for MaxPool), so every output column equals the full
 * computation's. Recurrent layers run one step with their state kept in the module
 * (node.attrs.stream). Every node of the step graph carries attrs.period and runs only on
 * steps t with t % period == 0 (t counts from 0 after a reset).
 *
 * Anything that needs the whole window (pooling or flattening over time, a contraction
 * over the time axis, look-ahead padding, reverse or bidirectional recurrence) is refused
 * with the layer's name: streaming must never be silently different from the full model.
 */
import { bad, internal } from "../util/errors.js";
import { cloneGraph, numel, tensor, type Graph, type Node, type Tensor } from "../ir/graph.js";
import { opDef } from "../ops/table.js";
import { latchColumns } from "../ops/time-upsample.js";

export type StreamKind = { k: "static" } | { k: "stream"; axis: number; period: number } | { k: "current"; period: number };
type Kind = StreamKind;

export interface StateBuffer {
  name: string;
  /** Raw stored value the buffer is filled with on reset (float, or int8 code). */
  fill: number;
}

export interface StepGraph {
  graph: Graph;
  /** Time axis of the (single) stream input in the original graph. */
  inputAxis: number;
  states: StateBuffer[];
  /** Period of each graph output: it is written on steps t with t % period == 0. */
  outputPeriods: number[];
  /** Steps of the original window (its time size). */
  windowSteps: number;
  /** How each tensor of the source graph depends on time (its names are the source's). */
  kinds: Map<string, StreamKind>;
  /**
   * Nodes from this index on (attrs.deferred) are not needed for this step's outputs: a
   * predictive SOI deep path, whose result serves the following steps. They run after the
   * outputs are written (the module runs them in idle() or at the start of the next step()).
   */
  deferredFrom?: number;
  /**
   * Whether that work may wait for idle() or the next step(): not when it reads the input
   * frame, which the host overwrites before the next step; then step() runs it itself,
   * after computing the outputs.
   */
  deferToIdle?: boolean;
}

export const POINTWISE = new Set(["Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "Identity", "Dropout", "BatchNormalization"]);
export const VIEWS = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze"]);
const RECURRENT = new Set(["LSTM", "GRU", "RNN"]);

export interface StreamOptions {
  /** Time axis of the input; found automatically when absent. */
  timeAxis?: number;
}

/** Builds the one-step graph of `g` (float or quantized). */
export function buildStepGraph(g: Graph, opts: StreamOptions = {}): StepGraph {
  if (g.inputs.length !== 1) bad(`${g.source}: --stream needs a model with one input (the sequence); this one has ${g.inputs.length}`);
  const x = tensor(g, g.inputs[0]);
  if (opts.timeAxis !== undefined) return build(g, opts.timeAxis);
  const candidates = x.shape.map((d, a) => a).filter((a) => x.shape[a] > 1);
  let firstError: Error | undefined;
  for (const a of [...candidates].sort((p, q) => x.shape[q] - x.shape[p])) {
    try {
      return build(g, a);
    } catch (e) {
      firstError ??= e as Error;
    }
  }
  if (firstError) throw firstError;
  bad(`${g.source}: input '${x.name}' (${x.shape.join("x")}) has no axis longer than 1 to stream over`);
}

function build(src: Graph, axis: number): StepGraph {
  const g = cloneGraph(src);
  const ctx = (n: Node) => `${g.source}: --stream: layer '${n.name}' (${n.op})`;
  const kinds = new Map<string, Kind>();
  const kindOf = (name: string): Kind => (!name || tensor(g, name).data ? { k: "static" } : kinds.get(name) ?? internal(`no stream kind for '${name}'`));
  const inName = g.inputs[0];
  const T = tensor(g, inName).shape[axis];
  if (axis < 0 || axis >= tensor(g, inName).shape.length) bad(`${g.source}: --stream: time axis ${axis} is out of range for input ${tensor(g, inName).shape.join("x")}`);
  kinds.set(inName, { k: "stream", axis, period: 1 });
  const newShape = new Map<string, number[]>();
  const oneCol = (name: string, a: number) => { const s = [...tensor(g, name).shape]; s[a] = 1; newShape.set(name, s); };
  oneCol(inName, axis);
  const states: StateBuffer[] = [];
  const nodes: Node[] = [];

  for (const node of g.nodes) {
    const ins = node.inputs.map(kindOf);
    const streams = ins.filter((k) => k.k !== "static");
    const periods = [...new Set(streams.map((k) => (k as { period: number }).period))];
    if (periods.length > 1) bad(`${ctx(node)}: its inputs change at different rates (every ${periods.join(" and every ")} steps); picojoule does not mix rates yet`);
    const period = periods[0] ?? 1;
    const out0 = node.outputs[0];
    const keep = (k: Kind) => { node.outputs.forEach((o) => o && kinds.set(o, k)); };
    const xk = ins[0];
    node.attrs = { ...node.attrs, period };
    if (streams.length === 0) internal(`node '${node.name}' has only constant inputs after folding`);

    if (node.op === "Conv" || node.op === "MaxPool" || node.op === "AveragePool") {
      if (xk.k !== "stream") bad(`${ctx(node)}: its input has no time axis left`);
      const xs = tensor(g, node.inputs[0]).shape;
      if (xs.length !== 3 || xk.axis !== 2) bad(`${ctx(node)}: only 1-D layers over the time axis stream (input ${xs.join("x")}, time axis ${xk.axis})`);
      const K = (node.attrs.kernel_shape as number[])[0], s = (node.attrs.strides as number[] | undefined)?.[0] ?? 1;
      const d = (node.attrs.dilations as number[] | undefined)?.[0] ?? 1;
      const pb = (node.attrs.pads as number[] | undefined)?.[0] ?? 0;
      const Tin = xs[2], out = (node.attrs.out as number[])[0];
      const span = (K - 1) * d;
      if (pb !== span) bad(`${ctx(node)}: --stream needs causal layers: ${span} steps of padding on the left (kernel ${K}, dilation ${d}), found ${pb}${pb < span ? ` (it would look ${span - pb} steps ahead)` : ""}`);
      if (out !== Math.floor((Tin - 1) / s) + 1) bad(`${ctx(node)}: --stream needs causal layers without right padding or dropped columns (${Tin} steps in, ${out} out, stride ${s})`);
      if (node.op === "AveragePool" && node.attrs.count_include_pad !== 1) bad(`${ctx(node)}: averaging only the valid taps (count_include_pad = 0) differs at the start of the stream; export with count_include_pad=1`);
      const xt = tensor(g, node.inputs[0]);
      const buf = freshTensor(g, `${node.name || out0}_window`, { ...xt, shape: [xs[0], xs[1], span + 1] });
      const fill = node.op === "MaxPool" ? (xt.dtype === "int8" ? -128 : -3.4028234663852886e38) : xt.dtype === "int8" ? xt.quant!.zeroPoint[0] : 0;
      states.push({ name: buf, fill });
      nodes.push({ name: `${node.name}_push`, op: "StreamShift", inputs: [node.inputs[0], buf], outputs: [buf], attrs: { period } });
      node.inputs[0] = buf;
      node.attrs = { ...node.attrs, pads: node.op === "Conv" ? [0, 0] : [0, 0], strides: [1], out: [1], period: period * s };
      oneCol(out0, 2);
      keep({ k: "stream", axis: 2, period: period * s });
    } else if (RECURRENT.has(node.op)) {
      if (xk.k !== "stream" || xk.axis !== (node.attrs.layout ? 1 : 0)) bad(`${ctx(node)}: its input X must carry the time axis as the sequence axis`);
      if (node.attrs.direction !== "forward") bad(`${ctx(node)}: direction ${node.attrs.direction} needs the future of the sequence; --stream runs forward layers only`);
      if (node.attrs.seqLens) bad(`${ctx(node)}: sequence_lens has no meaning in a stream`);
      node.attrs.stream = true;
      const [y, yh, yc] = node.outputs;
      if (y) { oneCol(y, node.attrs.layout ? 1 : 0); kinds.set(y, { k: "stream", axis: node.attrs.layout ? 1 : 0, period }); }
      for (const o of [yh, yc]) if (o) kinds.set(o, { k: "current", period });
    } else if (node.op === "TimeUpsample") {
      // SOI: the deep stream (one column every k periods) is latched when it fires; the
      // node then makes a column at every step of the faster output stream
      const k: number = node.attrs.factor;
      if (xk.k !== "stream" || xk.axis !== node.attrs.axis) bad(`${ctx(node)}: its input does not carry time along axis ${node.attrs.axis}`);
      if (xk.period % k !== 0) bad(`${ctx(node)}: upsamples by ${k} a stream that changes every ${xk.period} step(s)`);
      const xt = tensor(g, node.inputs[0]);
      const col = [...xt.shape];
      col[xk.axis] = 1;
      const W = latchColumns(node.attrs.mode);
      const latch = freshTensor(g, `${node.name || out0}_latch`, { ...xt, shape: [numel(col), W] });
      states.push({ name: latch, fill: xt.dtype === "int8" ? xt.quant!.zeroPoint[0] : 0 });
      nodes.push({ name: `${node.name}_latch`, op: "StreamShift", inputs: [node.inputs[0], latch], outputs: [latch], attrs: { period: xk.period } });
      node.inputs[0] = latch;
      const outPeriod = xk.period / k;
      node.attrs = { ...node.attrs, stream: true, colShape: col, period: outPeriod };
      oneCol(out0, xk.axis);
      keep({ k: "stream", axis: xk.axis, period: outPeriod });
    } else if (node.op === "StreamShift") {
      internal("StreamShift in a source graph");
    } else if (POINTWISE.has(node.op)) {
      if (xk.k === "stream") oneCol(out0, xk.axis);
      keep(xk);
    } else if (node.op === "Add" || node.op === "Mul") {
      const yr = tensor(g, out0).shape.length;
      const axes = new Set<number>();
      node.inputs.forEach((n, i) => { const k = ins[i]; if (k.k === "stream") axes.add(k.axis + yr - tensor(g, n).shape.length); });
      const hasCurrent = ins.some((k) => k.k === "current");
      if (axes.size > 1 || (axes.size === 1 && hasCurrent)) bad(`${ctx(node)}: its operands carry time differently (a stream and a single step, or two time axes)`);
      if (axes.size === 1) { const a = [...axes][0]; oneCol(out0, a); keep({ k: "stream", axis: a, period }); } else keep({ k: "current", period });
    } else if (node.op === "Concat") {
      const a = node.attrs.axis < 0 ? node.attrs.axis + tensor(g, out0).shape.length : node.attrs.axis;
      const sAxes = new Set(ins.map((k) => (k.k === "stream" ? k.axis : -1)));
      if (sAxes.size > 1) bad(`${ctx(node)}: its inputs carry time differently`);
      const ta = [...sAxes][0];
      if (ta === a) bad(`${ctx(node)}: concatenates along the time axis, which needs the whole window`);
      if (ta >= 0) { oneCol(out0, ta); keep({ k: "stream", axis: ta, period }); } else keep({ k: "current", period });
    } else if (node.op === "Transpose") {
      const perm = node.attrs.perm as number[];
      if (xk.k === "stream") { const a = perm.indexOf(xk.axis); oneCol(out0, a); keep({ k: "stream", axis: a, period }); } else keep(xk);
    } else if (VIEWS.has(node.op)) {
      const xs = tensor(g, node.inputs[0]).shape, ys = tensor(g, out0).shape;
      if (xk.k === "stream") {
        const a = viewAxis(xs, ys, xk.axis);
        if (a < 0) bad(`${ctx(node)}: reshapes ${xs.join("x")} to ${ys.join("x")}, merging the time axis (${xk.axis}) with others: that needs the whole window`);
        oneCol(out0, a);
        keep({ k: "stream", axis: a, period });
      } else keep(xk);
      // an explicit target shape: Squeeze without axes would drop the one-column time axis
      node.op = "Reshape";
      node.attrs = { shape: newShape.get(out0) ?? [...tensor(g, out0).shape], period };
    } else if (node.op === "Gather" || node.op === "Slice") {
      const xs = tensor(g, node.inputs[0]).shape;
      if (xk.k !== "stream") { keep(xk); nodes.push(node); continue; }
      const a = xk.axis;
      if (node.op === "Gather") {
        const ga = node.attrs.axis < 0 ? node.attrs.axis + xs.length : node.attrs.axis;
        const idx = node.attrs.indices as number[];
        if (ga === a) {
          if (idx.length !== 1 || idx[0] !== xs[a] - 1) bad(`${ctx(node)}: picks steps ${idx.join(", ")} of the window; a stream has only the newest step (index -1)`);
          node.attrs = { ...node.attrs, indices: [0] };
          keep({ k: "current", period });
        } else {
          const rankDrop = (node.attrs.indicesShape as number[]).length - 1;
          const na = ga < a ? a + rankDrop : a;
          oneCol(out0, na);
          keep({ k: "stream", axis: na, period });
        }
      } else {
        const ys = tensor(g, out0).shape;
        const p = node.attrs as { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] };
        const i = (p.axes ?? p.starts.map((_, k) => k)).map((v) => (v < 0 ? v + xs.length : v)).indexOf(a);
        const st = p.starts[i], step = p.steps?.[i] ?? 1;
        if (ys[a] === xs[a]) { oneCol(out0, a); keep({ k: "stream", axis: a, period }); }
        else if (step > 1 && st === 0 && ys[a] === Math.ceil(xs[a] / step)) {
          // decimation (SOI's subsampling): every step-th column from the first, a stream
          // whose period is `step` times longer; a view of the column when it is due
          if (ys.some((d, k) => k !== a && d !== xs[k])) bad(`${ctx(node)}: decimates the time axis and crops another axis at once; split it in two slices`);
          oneCol(out0, a);
          keep({ k: "stream", axis: a, period: period * step });
          node.op = "Reshape";
          node.attrs = { shape: newShape.get(out0), period: period * step };
          nodes.push(node);
          continue;
        } else {
          if (ys[a] !== 1 || !(st === -1 || st === xs[a] - 1) || step !== 1) bad(`${ctx(node)}: slices the time axis other than to its newest step or to every k-th step from the first`);
          p.starts = [...p.starts]; p.ends = [...p.ends];
          p.starts[i] = 0; p.ends[i] = 1;
          keep({ k: "current", period });
        }
      }
    } else if (node.op === "Gemm" || node.op === "MatMul" || node.op === "Softmax") {
      if (xk.k === "stream" || ins.some((k) => k.k === "stream")) bad(`${ctx(node)}: runs on the whole window along time; --stream can run it only after the time axis is reduced to the newest step (e.g. Gather(-1))`);
      keep({ k: "current", period });
    } else {
      bad(`${ctx(node)}: this layer cannot run one step at a time (it needs the whole window); --stream supports causal 1-D Conv/MaxPool/AveragePool, LSTM/GRU/RNN, pointwise layers, Add/Mul, Concat, Transpose, reshapes, and Gather/Slice of the newest step`);
    }
    nodes.push(node);
  }
  g.nodes = deferAfterOutputs(nodes, g);
  const deferredFrom = g.nodes.findIndex((n) => n.attrs.deferred);
  // deferred work that reads the input frame (itself or a view of it) cannot wait for the
  // next call, by which time the host has written the next frame over it
  const viewOf = new Map(g.nodes.filter((n) => opDef(n.op).alias).map((n) => [n.outputs[0], n.inputs[0]]));
  const root = (x: string): string => (viewOf.has(x) ? root(viewOf.get(x)!) : x);
  const deferredReadsInput = g.nodes.some((n) => n.attrs.deferred && n.inputs.some((x) => x && g.inputs.includes(root(x))));
  for (const [name, s] of newShape) tensor(g, name).shape = s;
  // verify: every node's inferred output shapes match the step graph's (shape inference is
  // written for the float graph, so quantized nodes are checked through their float twin's shapes)
  for (const node of g.nodes) {
    const def = opDef(node.op);
    if (!def.infer || node.q) continue;
    const outs = def.infer(node, g);
    node.outputs.forEach((o, i) => {
      if (o && outs[i] && outs[i].shape.join("x") !== tensor(g, o).shape.join("x")) internal(`step graph: '${node.name}' (${node.op}) infers ${outs[i].shape.join("x")} for '${o}', expected ${tensor(g, o).shape.join("x")}`);
    });
  }
  const outputPeriods = g.outputs.map((o) => {
    const k = kindOf(o);
    if (k.k === "static") bad(`${g.source}: --stream: output '${o}' does not depend on the input`);
    return (k as { period: number }).period;
  });
  return { graph: g, inputAxis: axis, states, outputPeriods, windowSteps: T, kinds, ...(deferredFrom >= 0 ? { deferredFrom, deferToIdle: !deferredReadsInput } : {}) };
}

/**
 * Puts the nodes this step's outputs do not need after those they do (in graph order
 * within each part) and marks them attrs.deferred. The only nodes that can fall behind are
 * those reached solely through a predictive TimeUpsample, which reads its latch before the
 * deep path pushes this step's column into it: that is how predict serves, at step t, the
 * deep column of an earlier step. Without such a node every node is needed and the order
 * stays as it is.
 */
function deferAfterOutputs(nodes: Node[], g: Graph): Node[] {
  if (!nodes.some((n) => n.op === "TimeUpsample" && n.attrs.mode === "predict")) return nodes;
  const producer = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) if (o && !producer.has(o)) producer.set(o, n);
  const needed = new Set<Node>();
  const visit = (name: string) => {
    const p = producer.get(name);
    if (!p || needed.has(p)) return;
    needed.add(p);
    if (p.op === "TimeUpsample" && p.attrs.mode === "predict") return; // reads the latch as it was
    for (const x of p.inputs) if (x && !tensor(g, x).data) visit(x);
  };
  for (const o of g.outputs) visit(o);
  const later = nodes.filter((n) => !needed.has(n));
  for (const n of later) n.attrs = { ...n.attrs, deferred: true };
  return [...nodes.filter((n) => needed.has(n)), ...later];
}

/**
 * Work of a streaming module: MACs per step averaged over the steps (a layer with period P
 * counts 1/P of its MACs), the part of it done before the step's outputs are written (less
 * with deferred work), at the busiest step (every layer due), and of recomputing the whole
 * exported window of the full model `full` for each new sample instead.
 */
export function streamMacs(sg: StepGraph, full: Graph): { macsPerStep: number; peakMacsPerStep: number; windowMacs: number; beforeOutputMacsPerStep: number } {
  const macs = (g: Graph, n: Node) => opDef(n.op).macs?.(n, g) ?? 0;
  const g = sg.graph;
  return {
    macsPerStep: g.nodes.reduce((a, n) => a + macs(g, n) / n.attrs.period, 0),
    beforeOutputMacsPerStep: g.nodes.reduce((a, n) => a + (n.attrs.deferred && sg.deferToIdle ? 0 : macs(g, n) / n.attrs.period), 0),
    peakMacsPerStep: g.nodes.reduce((a, n) => a + macs(g, n), 0),
    windowMacs: full.nodes.reduce((a, n) => a + macs(full, n), 0),
  };
}

/** Where axis `a` of shape xs lands in ys after a reshape, if it survives as its own dim; -1 if merged. */
export function viewAxis(xs: number[], ys: number[], a: number): number {
  const before = numel(xs.slice(0, a));
  let p = 1;
  for (let b = 0; b < ys.length; b++) {
    if (p === before && ys[b] === xs[a] && numel(ys.slice(b + 1)) === numel(xs.slice(a + 1))) return b;
    p *= ys[b];
  }
  return -1;
}

function freshTensor(g: Graph, base: string, like: Tensor): string {
  let name = base;
  for (let i = 1; g.tensors.has(name); i++) name = `${base}_${i}`;
  g.tensors.set(name, { name, dtype: like.dtype, shape: like.shape, quant: like.quant });
  return name;
}
