/**
 * What LSTM, GRU and RNN share: attribute normalization (direction, layout, hidden_size,
 * clip, the activation list with its alpha/beta values, constant sequence_lens), operand
 * shape checks, output shapes, the float reference's time loop and the kernel argument
 * layout. Each op file only supplies its cell (the per-step gate equations) and its kernel.
 *
 * Conventions, following the ONNX spec (opsets 7 to 14+) and onnxruntime where the spec is
 * silent:
 * - layout 0: X [T, B, I], Y [T, D, B, H], Y_h / Y_c / initial_h / initial_c [D, B, H];
 *   layout 1 (opset 14, batch first): X [B, T, I], Y [B, T, D, H], states [B, D, H].
 * - direction forward, reverse or bidirectional (D = 2: the forward pass, then the reverse
 *   pass with the second half of every weight tensor and activation list).
 * - activations: names are case-insensitive; activation_alpha / activation_beta are consumed
 *   in order by the activations that take them (HardSigmoid, LeakyRelu, Elu, Affine,
 *   ScaledTanh, ThresholdedRelu), as onnxruntime does. Missing values take the defaults of
 *   the ONNX operators of the same name (HardSigmoid 0.2/0.5, LeakyRelu 0.01, Elu 1); the
 *   deprecated Affine, ScaledTanh and ThresholdedRelu must be given theirs explicitly
 *   (onnxruntime and the spec disagree on their defaults), else the node is refused.
 * - clip c > 0 clamps every gate pre-activation (the input of f and g) to [-c, c]; the
 *   input of LSTM's h (the cell state) is not clipped (onnxruntime).
 * - sequence_lens must be a compile-time constant with values in [1, T]; batch entry b then
 *   runs L_b steps (the reverse direction starts at step L_b - 1), Y is zero at steps >= L_b
 *   and Y_h / Y_c hold the state after the last valid step.
 * - The reference accumulates every gate in float64 and rounds the states h and c to float32
 *   after each step (they are float32 tensors between steps, as in the kernels).
 *
 * Streaming (node.attrs.stream, set by the stream compiler on a node it turned into one time
 * step per call): the recurrent state outlives the execution. The first execution after
 * resetStreamState starts from the initial state inputs as usual; every later one starts
 * from the state the previous execution ended with (initial_h / initial_c are then ignored)
 * and still outputs Y, Y_h, Y_c as the node would from that starting state. The interpreter
 * keeps that state in `streamStates` (per node, per direction and batch entry, in the exact
 * form the time loop carries: float32 values here, int16 values in recurrent-int.ts), so
 * running T one-step executions equals one T-step execution bit for bit. The kernels take a
 * last argument `stream` (0: not streaming; 1: streaming, initialize the state from the
 * initial state first; 2: streaming, continue from the state left in the node's scratch)
 * and keep the state in a scratch region enlarged to one state set per batch entry and
 * direction (see commonArgs); the emitted code passes the module global `stream_mode`.
 */
import { bad } from "../util/errors.js";
import { constData, makeValue, tensor, type Data, type Graph, type Node, type Value } from "../ir/graph.js";
import type { EmitCtx, OutType } from "./types.js";
import { attrInt, attrStr, f32, requireFloat, where } from "./util.js";

/** Kernel codes of the activation functions; runtime-as/kernels/rnn.ts `act` uses the same numbers. */
interface ActDef { name: string; code: number; alpha?: number | null; beta?: number | null }
// alpha/beta: undefined = not used, null = used without a default (must be given)
const ACTS: ActDef[] = [
  { name: "Sigmoid", code: 0 }, { name: "Tanh", code: 1 }, { name: "Relu", code: 2 },
  { name: "HardSigmoid", code: 3, alpha: 0.2, beta: 0.5 }, { name: "LeakyRelu", code: 4, alpha: 0.01 },
  { name: "ThresholdedRelu", code: 5, alpha: null }, { name: "ScaledTanh", code: 6, alpha: null, beta: null },
  { name: "Affine", code: 7, alpha: null, beta: null }, { name: "Elu", code: 8, alpha: 1 },
  { name: "Softsign", code: 9 }, { name: "Softplus", code: 10 },
];
const ACT_BY_NAME = new Map(ACTS.map((a) => [a.name.toLowerCase(), a]));

export interface Act { name: string; code: number; alpha: number; beta: number }

/** The activation functions in float64, by kernel code. */
export function actRef(a: Act, x: number): number {
  switch (a.code) {
    case 0: return 1 / (1 + Math.exp(-x));
    case 1: return Math.tanh(x);
    case 2: return x > 0 ? x : 0;
    case 3: return Math.min(Math.max(a.alpha * x + a.beta, 0), 1);
    case 4: return x >= 0 ? x : a.alpha * x;
    case 5: return x >= a.alpha ? x : 0;
    case 6: return a.alpha * Math.tanh(a.beta * x);
    case 7: return a.alpha * x + a.beta;
    case 8: return x >= 0 ? x : a.alpha * (Math.exp(x) - 1);
    case 9: return x / (1 + Math.abs(x));
    default: return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
  }
}

export interface RecKind {
  op: "LSTM" | "GRU" | "RNN";
  /** Gates per direction: rows of W and R are gates * hidden_size. */
  gates: number;
  /** Default activations of one direction (their count is the number per direction). */
  acts: string[];
}

export interface Geom { T: number; B: number; I: number; H: number; D: number; layout: number }

export function geomOf(node: Node, xShape: number[]): Geom {
  const layout: number = node.attrs.layout;
  const [T, B] = layout ? [xShape[1], xShape[0]] : [xShape[0], xShape[1]];
  return { T, B, I: xShape[2], H: node.attrs.hidden_size, D: node.attrs.direction === "bidirectional" ? 2 : 1, layout };
}

/** Element strides: X step/batch, Y step/batch/direction, states batch/direction. */
export function stridesOf(gm: Geom) {
  const { T, B, I, H, D } = gm;
  return gm.layout
    ? { xt: I, xb: T * I, yt: D * H, yb: T * D * H, yd: H, sb: D * H, sd: H }
    : { xt: B * I, xb: I, yt: D * B * H, yb: H, yd: B * H, sb: H, sd: B * H };
}

/** Activations of direction d. */
export function actsOf(node: Node, kind: RecKind, d: number): Act[] {
  const all = node.attrs.acts as Act[];
  return all.slice(d * kind.acts.length, (d + 1) * kind.acts.length);
}

/**
 * Reads every attribute and the constant sequence_lens into canonical node.attrs and checks
 * operand shapes. Inputs: X, W, R, B, sequence_lens, initial_h, then LSTM's initial_c and P.
 */
export function normalizeRecurrent(node: Node, g: Graph, kind: RecKind): void {
  const ctx = where(g, node);
  const shape = (i: number) => (node.inputs[i] ? tensor(g, node.inputs[i]).shape : undefined);
  const expect = (i: number, what: string, want: number[]) => {
    const s = shape(i);
    if (s && s.join("x") !== want.join("x")) bad(`${ctx}: ${what} (input ${i}) has shape ${s.join("x") || "scalar"}, expected ${want.join("x")}`);
  };
  const maxIn = kind.op === "LSTM" ? 8 : 6;
  if (node.inputs.length > maxIn) bad(`${ctx}: ${node.inputs.length} inputs; ${kind.op} takes at most ${maxIn}`);
  if (!node.inputs[1] || !node.inputs[2]) bad(`${ctx}: the weights W and R (inputs 1 and 2) are required`);

  const layout = attrInt(node, "layout", 0);
  if (layout !== 0 && layout !== 1) bad(`${ctx}: layout ${layout} is not 0 or 1`);
  const direction = attrStr(node, "direction", "forward");
  if (!["forward", "reverse", "bidirectional"].includes(direction)) bad(`${ctx}: direction '${direction}' is not forward, reverse or bidirectional`);
  const D = direction === "bidirectional" ? 2 : 1;

  const xs = shape(0)!;
  if (xs.length !== 3) bad(`${ctx}: X has shape ${xs.join("x") || "scalar"}, expected rank 3 (${layout ? "batch, seq, input" : "seq, batch, input"})`);
  const [T, B] = layout ? [xs[1], xs[0]] : [xs[0], xs[1]];
  const I = xs[2];
  const rs = shape(2)!;
  if (rs.length !== 3) bad(`${ctx}: R has shape ${rs.join("x") || "scalar"}, expected [num_directions, ${kind.gates}*hidden_size, hidden_size]`);
  const H = rs[2];
  const hs = node.attrs.hidden_size;
  if (hs !== undefined && Number(hs) !== H) bad(`${ctx}: hidden_size ${hs} does not match R of shape ${rs.join("x")}`);
  const G = kind.gates;
  expect(1, "W", [D, G * H, I]);
  expect(2, "R", [D, G * H, H]);
  expect(3, "B", [D, 2 * G * H]);
  const stateShape = layout ? [B, D, H] : [D, B, H];
  expect(5, "initial_h", stateShape);
  if (kind.op === "LSTM") {
    expect(6, "initial_c", stateShape);
    expect(7, "P", [D, 3 * H]);
  }

  let seqLens: number[] | undefined;
  if (node.inputs[4]) {
    const lens = Array.from(constData(g, node, 4, "sequence_lens"), Number);
    if (lens.length !== B) bad(`${ctx}: sequence_lens has ${lens.length} entries for batch size ${B}`);
    const badLen = lens.find((l) => !Number.isInteger(l) || l < 1 || l > T);
    if (badLen !== undefined) bad(`${ctx}: sequence_lens value ${badLen} is outside [1, ${T}] (the sequence length)`);
    if (lens.some((l) => l !== T)) seqLens = lens;
    node.inputs[4] = "";
  }
  requireFloat(g, node);

  const names: string[] = node.attrs.activations ?? [];
  const nAct = kind.acts.length;
  const list = names.length ? names : Array.from({ length: D }, () => kind.acts).flat();
  if (list.length !== nAct * D) bad(`${ctx}: ${list.length} activations given; ${kind.op} ${direction} needs ${nAct * D}`);
  const alphas: number[] = node.attrs.activation_alpha ?? [], betas: number[] = node.attrs.activation_beta ?? [];
  let ia = 0, ib = 0;
  const acts: Act[] = list.map((name) => {
    const def = ACT_BY_NAME.get(String(name).toLowerCase());
    if (!def) bad(`${ctx}: activation '${name}' is not supported; use one of ${ACTS.map((a) => a.name).join(", ")}`);
    const take = (used: number | null | undefined, vals: number[], i: number, what: string): [number, number] => {
      if (used === undefined) return [0, i];
      if (i < vals.length) return [Math.fround(vals[i]), i + 1];
      if (used === null) bad(`${ctx}: activation ${def!.name} needs an explicit ${what} (activation_${what} runs out); picojoule does not guess its default`);
      return [Math.fround(used!), i];
    };
    const [alpha, na] = take(def!.alpha, alphas, ia, "alpha");
    const [beta, nb] = take(def!.beta, betas, ib, "beta");
    ia = na; ib = nb;
    return { name: def!.name, code: def!.code, alpha, beta };
  });
  if (ia < alphas.length || ib < betas.length) bad(`${ctx}: activation_alpha/activation_beta have more values than the activations ${list.join(", ")} use`);

  const clipAttr = node.attrs.clip;
  const clip = clipAttr === undefined ? Infinity : Math.fround(Number(clipAttr));
  if (!(clip > 0)) bad(`${ctx}: clip ${clipAttr} must be positive`);

  const attrs: Record<string, unknown> = { hidden_size: H, direction, layout, clip, acts };
  if (seqLens) attrs.seqLens = seqLens;
  if (kind.op === "LSTM") {
    const f = attrInt(node, "input_forget", 0);
    if (f !== 0 && f !== 1) bad(`${ctx}: input_forget ${f} is not 0 or 1`);
    attrs.input_forget = f;
  }
  if (kind.op === "GRU") attrs.linear_before_reset = attrInt(node, "linear_before_reset", 0) ? 1 : 0;
  node.attrs = attrs;
}

export function inferRecurrent(node: Node, g: Graph, kind: RecKind): OutType[] {
  const gm = geomOf(node, tensor(g, node.inputs[0]).shape);
  const { T, B, D, H } = gm;
  const y = gm.layout ? [B, T, D, H] : [T, D, B, H];
  const s = gm.layout ? [B, D, H] : [D, B, H];
  const outs: OutType[] = [{ dtype: "float32", shape: y }, { dtype: "float32", shape: s }];
  if (kind.op === "LSTM") outs.push({ dtype: "float32", shape: s });
  return outs;
}

/**
 * The state a streaming node (node.attrs.stream) carries from one execution to the next:
 * h (and LSTM's c) of direction d and batch entry b at index d * B + b, as the time loop
 * holds them (float32 values in Float64Arrays for the float reference, int16 values in
 * Int32Arrays for the integer one). Absent: the next execution starts from the initial state.
 */
export interface StreamState { h: ArrayLike<number>[]; c: ArrayLike<number>[] }
export const streamStates = new WeakMap<Node, StreamState>();

/** Forgets a streaming node's state: its next execution starts from the initial state inputs. */
export function resetStreamState(node: Node): void {
  streamStates.delete(node);
}

/** The state a streaming node starts from (undefined: use the initial state inputs). */
export function streamStart(node: Node): StreamState | undefined {
  return node.attrs.stream ? streamStates.get(node) : undefined;
}

/** Records the final state of a streaming node (no-op for other nodes). */
export function streamEnd(node: Node, state: StreamState): void {
  if (node.attrs.stream) streamStates.set(node, state);
}

/** Kernel argument `stream`: 0, or the emitted module's `stream_mode` global for a streaming node. */
export function streamArg(node: Node): string | number {
  return node.attrs.stream ? "stream_mode" : 0;
}

/**
 * One step of one batch entry in direction d: reads x (I values at xs[xo...]) and h (the
 * previous state), writes the new state to hn; LSTM also updates c in place.
 */
export type Cell = (d: number, xs: Data, xo: number, h: Float64Array, hn: Float64Array, c: Float64Array) => void;

/**
 * The float reference's time loop around a cell: directions, batch, sequence lengths,
 * layouts. With `observe`, an LSTM reports its cell state (initial and after every step) as
 * the internal value "cell", from which the int8 path sizes the cell's fixed-point format.
 */
export function refRecurrent(node: Node, ins: Value[], kind: RecKind, cell: Cell, observe?: (what: string, v: Value) => void): Value[] {
  const x = ins[0];
  const gm = geomOf(node, x.shape);
  const { T, B, H, D } = gm;
  const st = stridesOf(gm);
  const shapes = gm.layout ? { y: [B, T, D, H], s: [B, D, H] } : { y: [T, D, B, H], s: [D, B, H] };
  const y = makeValue("float32", shapes.y), yh = makeValue("float32", shapes.s), yc = makeValue("float32", shapes.s);
  const h0 = ins[5], c0 = kind.op === "LSTM" ? ins[6] : undefined;
  const lens: number[] | undefined = node.attrs.seqLens;
  const cells: number[] | undefined = observe && kind.op === "LSTM" ? [] : undefined;
  const from = streamStart(node);
  const end: StreamState = { h: [], c: [] };
  for (let d = 0; d < D; d++) {
    const rev = node.attrs.direction === "reverse" || d === 1;
    for (let b = 0; b < B; b++) {
      const so = d * st.sd + b * st.sb;
      let h = new Float64Array(H), hn = new Float64Array(H);
      const c = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        h[j] = from ? from.h[d * B + b][j] : h0 ? h0.data[so + j] : 0;
        c[j] = from ? from.c[d * B + b][j] : c0 ? c0.data[so + j] : 0;
      }
      const L = lens ? lens[b] : T;
      cells?.push(...c);
      for (let s = 0; s < L; s++) {
        const t = rev ? L - 1 - s : s;
        cell(d, x.data, t * st.xt + b * st.xb, h, hn, c);
        const yo = t * st.yt + b * st.yb + d * st.yd;
        for (let j = 0; j < H; j++) {
          hn[j] = Math.fround(hn[j]);
          c[j] = Math.fround(c[j]);
          y.data[yo + j] = hn[j];
        }
        cells?.push(...c);
        [h, hn] = [hn, h];
      }
      for (let j = 0; j < H; j++) {
        yh.data[so + j] = h[j];
        yc.data[so + j] = c[j];
      }
      end.h.push(Float64Array.from(h));
      end.c.push(Float64Array.from(c));
    }
  }
  streamEnd(node, end);
  if (cells) observe!("cell", makeValue("float32", [cells.length], cells));
  return kind.op === "LSTM" ? [y, yh, yc] : [y, yh];
}

/** sum_k w[wo + k] * v[vo + k] in float64. */
export function dot(w: Data, wo: number, v: ArrayLike<number>, vo: number, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += w[wo + k] * v[vo + k];
  return acc;
}

export function clipTo(x: number, c: number): number {
  return x < -c ? -c : x > c ? c : x;
}

/** Kernel arguments for activations of one direction: code, alpha, beta per activation. */
export function actArgs(acts: Act[]): Array<string | number> {
  return acts.flatMap((a) => [a.code, f32(a.alpha), f32(a.beta)]);
}

/**
 * The arguments every recurrent kernel takes after its weight pointers, for direction d:
 * sequence lengths, the output pointers (Y, Y_h at direction d; 0 when absent), the state
 * scratch, the sizes and the element strides. LSTM adds Y_c (stateOut) to its own arguments.
 *
 * State memory: the kernels compute one hidden unit at a time (all its gates straight from
 * the weight rows, no gate buffers) and keep only H-sized vectors per batch entry: the
 * previous h (read from Y's previous step when Y is requested, else ping-ponged between two
 * scratch vectors, the first of which also holds the initial h), LSTM's cell state (kept in
 * Y_c when requested, else in the third scratch vector) and GRU's r * h (third vector). The
 * scratch is one static data region per node (e.data: writable linear memory, 3 * H floats,
 * shared by both directions, which run one after the other). It is filled with a nonzero
 * pattern so that it stays real data below __data_end (optimizers may drop all-zero data
 * segments, and hosts may use the memory above __heap_base); its content does not matter,
 * since the kernels initialize whatever they read on every run.
 *
 * A streaming node (node.attrs.stream) keeps its state there between runs instead, so its
 * scratch holds 3 * H floats per batch entry and direction (D * B * 3 * H; direction d at
 * d * B * 3 * H): batch entry b's first vector holds its h after every run and, for LSTM,
 * its third vector holds c (copied to Y_c when requested). Other nodes keep 3 * H.
 */
export function commonArgs(node: Node, e: EmitCtx): (d: number) => Array<string | number> {
  const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
  const st = stridesOf(gm);
  const { T, B, I, H, D } = gm;
  const seqLens: number[] | undefined = node.attrs.seqLens;
  const lens = seqLens ? e.data("seq_lens", "int32", seqLens) : "0";
  const per = node.attrs.stream ? B * 3 * H : 0; // floats of one direction's stream state
  const scratch = e.data(`${node.name || node.outputs[0]}_state`, "float32", new Float32Array(per ? D * per : 3 * H).fill(-1));
  return (d) => [
    lens, node.outputs[0] ? offset(e.addr(node.outputs[0]), d * st.yd) : "0", stateOut(node, e, 1, d), offset(scratch, d * per),
    T, B, I, H, node.attrs.direction === "reverse" || d === 1 ? 1 : 0,
    st.xt, st.xb, st.yt, st.yb, st.sb,
  ];
}

/** Address of state output i (Y_h or Y_c) at direction d, or "0" when it is not requested. */
export function stateOut(node: Node, e: EmitCtx, i: number, d: number): string {
  const name = node.outputs[i];
  return name ? offset(e.addr(name), d * stridesOf(geomOf(node, tensor(e.g, node.inputs[0]).shape)).sd) : "0";
}

/** Address of input i advanced by `perDir` elements per direction, or "0" when absent. */
export function dirInput(node: Node, e: EmitCtx, i: number, d: number, perDir: number): string {
  const name = node.inputs[i];
  return name ? offset(e.addr(name), d * perDir) : "0";
}

function offset(addr: string, elems: number): string {
  return elems ? `${addr} + ${elems * 4}` : addr;
}

/** Steps run over the whole batch (sum of sequence lengths) times directions. */
export function stepsOf(node: Node, g: Graph): { gm: Geom; steps: number } {
  const gm = geomOf(node, tensor(g, node.inputs[0]).shape);
  const lens: number[] | undefined = node.attrs.seqLens;
  const perDir = lens ? lens.reduce((a, b) => a + b, 0) : gm.T * gm.B;
  return { gm, steps: perDir * gm.D };
}
