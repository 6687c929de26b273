/**
 * The fixed-point form of LSTM, GRU and RNN (the "16x8" scheme of TFLite Micro's integer
 * LSTM, with our own exact definitions): int8 input and weights, int16 recurrent state, and
 * int8 outputs for the rest of the graph. This file holds what the three cells share: the
 * quantization rule, the sigmoid/tanh tables, the integer time loop (the interpreter's
 * definition) and the kernel arguments; each op file supplies its integer cell.
 *
 * Number formats (int16 unless said otherwise):
 * - h: Q0.15 (scale 2^-15), since |h| <= 1 for the default activations.
 * - gate pre-activations: Q3.12, saturated to int16 (so to [-8, 8)): the x part
 *   mbqm(sum_k (x_k - z_x) w[row,k], s_x s_w[row] 2^12) plus the h part
 *   mbqm(sum_k h_k r[row,k], 2^-15 s_r[row] 2^12) plus the bias rounded to Q3.12; then the
 *   node's clip, rounded to Q3.12, bounds it.
 * - sigmoid / tanh: Q3.12 in, Q0.15 out, by a 513-entry table over [-8, 8] (step 1/32) with
 *   linear interpolation: u = a + 32768, i = u >> 7, f = u & 127,
 *   y = T[i] + (((T[i+1] - T[i]) * f + 64) >> 7).
 * - LSTM cell state c: Q(15-cf).cf with cf from the calibrated range of c over every step.
 * - Products of Q0.15 values are rescaled with rdbpot (round half away from zero).
 * Weights are int8, symmetric, one scale per row (gate unit). Outputs Y, Y_h, Y_c are int8
 * tensors with calibrated asymmetric parameters: y = clamp(mbqm(v, s_v / s_y) + z_y).
 *
 * Accumulators are int32: the compiler refuses sizes whose worst-case sums could overflow
 * (I * 255 * 127 and H * 32768 * 127 below 2^31). Only the default activations have an
 * integer form (LSTM sigmoid/tanh/tanh, GRU sigmoid/tanh, RNN tanh), and LSTM peepholes
 * have none; such nodes are refused with --quantize int8 rather than approximated.
 *
 * Streaming (node.attrs.stream; see recurrent.ts): the state carried from one execution to
 * the next is the int16 h (and c), never the int8 Y_h / Y_c, so T one-step executions equal
 * one T-step execution bit for bit. The interpreter keeps it in recurrent.ts's streamStates;
 * the s8 kernels keep it in their int16 scratch, enlarged to B * 3 * H per direction.
 */
import { bad } from "../util/errors.js";
import { internalName, makeValue, tensor, type Data, type Graph, type Node, type Value } from "../ir/graph.js";
import { clamp, mbqm, quantizeMultiplier, rdbpot, roundHalfAway } from "../ir/fixedpoint.js";
import type { EmitCtx, QuantCtx } from "./types.js";
import { where } from "./util.js";
import { geomOf, streamEnd, streamStart, stridesOf, type RecKind, type StreamState } from "./recurrent.js";

export const Q_GATE = 12; // fractional bits of gate pre-activations
export const Q_H = 15; // fractional bits of h and of gate outputs

/** The 513-entry Q0.15 tables of sigmoid and tanh over Q3.12 [-8, 8]. */
function table(f: (x: number) => number): Int16Array {
  const t = new Int16Array(513);
  for (let k = 0; k <= 512; k++) t[k] = clamp(roundHalfAway(f(-8 + k / 32) * 32768), -32768, 32767);
  return t;
}
export const SIGMOID_TABLE = table((x) => 1 / (1 + Math.exp(-x)));
export const TANH_TABLE = table(Math.tanh);

/** Table lookup with linear interpolation; a is Q3.12 in [-32768, 32767], the result Q0.15. */
export function lut(t: Int16Array, a: number): number {
  const u = a + 32768;
  const i = u >> 7, f = u & 127;
  return t[i] + (((t[i + 1] - t[i]) * f + 64) >> 7);
}
export const sig = (a: number) => lut(SIGMOID_TABLE, a);
export const tanh16 = (a: number) => lut(TANH_TABLE, a);
export const sat16 = (x: number) => clamp(x, -32768, 32767);

/** Output requantization from an int16 state with scale 2^-frac to an int8 tensor. */
export interface OutQ { z: number; mult: number; shift: number }
/** Initial state: none, an int16 constant, or an int8 tensor requantized at run time. */
export interface InitQ { kind: 0 | 1 | 2; data?: number[]; z: number; mult: number; shift: number }

export interface RecQ {
  zx: number;
  /** Per direction and row: x-side and h-side multipliers to Q3.12, x-side and h-side Q3.12 biases. */
  wm: number[]; ws: number[]; rm: number[]; rs: number[]; bx: number[]; bh: number[];
  clip: number;
  cf: number;
  y: OutQ; yh: OutQ; yc: OutQ;
  h0: InitQ; c0: InitQ;
}

function outQ(g: Graph, name: string, frac: number): OutQ {
  if (!name) return { z: 0, mult: 0, shift: 0 };
  const q = tensor(g, name).quant!;
  const m = quantizeMultiplier(2 ** -frac / q.scale[0]);
  return { z: q.zeroPoint[0], ...m };
}

/**
 * Chooses the fixed-point parameters of a recurrent node and drops the float bias and
 * constant initial states from its inputs (their integer forms live in node.q).
 * `hBiasGate` is the gate whose R-side bias stays separate (GRU with linear_before_reset).
 */
export function quantizeRecurrent(node: Node, g: Graph, qc: QuantCtx, kind: RecKind, hBiasGate = -1): void {
  const ctx = where(g, node);
  const acts = (node.attrs.acts as Array<{ name: string }>).map((a) => a.name);
  const want = Array.from({ length: acts.length / kind.acts.length }, () => kind.acts).flat();
  if (acts.join() !== want.join()) bad(`${ctx}: activations ${acts.join(", ")} have no int8 form (only ${kind.acts.join(", ")}); compile with --quantize none`);
  if (kind.op === "LSTM" && node.inputs[7]) bad(`${ctx}: peepholes (input P) have no int8 form; compile with --quantize none`);
  const x = tensor(g, node.inputs[0]);
  const gm = geomOf(node, x.shape);
  const { I, H, D } = gm;
  const G = kind.gates;
  if (I * 255 * 127 >= 2 ** 31) bad(`${ctx}: input size ${I} is too large for int32 sums of int8 products in the int8 ${kind.op}`);
  if (H * 32768 * 127 >= 2 ** 31) bad(`${ctx}: hidden size ${H} is above 516, the largest whose int16 x int8 recurrent sums fit in int32; compile with --quantize none`);
  for (const i of [1, 2, 3]) {
    const n = node.inputs[i];
    if (n && !tensor(g, n).data) bad(`${ctx}: ${["", "W", "R", "B"][i]} ('${n}') is computed at run time; the int8 ${kind.op} needs constant weights`);
  }
  const bias = node.inputs[3] ? tensor(g, node.inputs[3]).data! : undefined;
  qc.weightQuant(node.inputs[1], 1);
  qc.weightQuant(node.inputs[2], 1);
  const sw = tensor(g, node.inputs[1]).quant!.scale, sr = tensor(g, node.inputs[2]).quant!.scale;
  const xq = x.quant!;
  const sx = xq.scale[0];
  const rows = D * G * H;
  const q: RecQ = {
    zx: xq.zeroPoint[0], wm: [], ws: [], rm: [], rs: [], bx: [], bh: [],
    clip: Number.isFinite(node.attrs.clip) ? Math.min(roundHalfAway(node.attrs.clip * 2 ** Q_GATE), 32768) : 32768,
    cf: 0,
    y: { z: 0, mult: 0, shift: 0 }, yh: { z: 0, mult: 0, shift: 0 }, yc: { z: 0, mult: 0, shift: 0 },
    h0: { kind: 0, z: 0, mult: 0, shift: 0 }, c0: { kind: 0, z: 0, mult: 0, shift: 0 },
  };
  for (let row = 0; row < rows; row++) {
    const ch = row % (G * H); // weightQuant's channel index along axis 1
    const mx = quantizeMultiplier(sx * sw[sw.length === 1 ? 0 : ch] * 2 ** Q_GATE);
    const mh = quantizeMultiplier(2 ** -Q_H * sr[sr.length === 1 ? 0 : ch] * 2 ** Q_GATE);
    q.wm.push(mx.mult); q.ws.push(mx.shift); q.rm.push(mh.mult); q.rs.push(mh.shift);
    const d = Math.floor(row / (G * H)), gate = Math.floor(ch / H);
    const wb = bias ? bias[d * 2 * G * H + ch] : 0, rb = bias ? bias[d * 2 * G * H + G * H + ch] : 0;
    const toQ = (v: number) => clamp(roundHalfAway(v * 2 ** Q_GATE), -(2 ** 31), 2 ** 31 - 1);
    if (gate === hBiasGate) { q.bx.push(toQ(wb)); q.bh.push(toQ(rb)); } else { q.bx.push(toQ(wb + rb)); q.bh.push(0); }
  }
  node.inputs[3] = "";

  if (kind.op === "LSTM") {
    const r = qc.range(internalName(node, "cell"));
    const m = Math.max(Math.abs(r.min), Math.abs(r.max));
    const intBits = m > 0 ? clamp(Math.ceil(Math.log2(m)), 0, 15) : 0;
    q.cf = 15 - intBits;
  }
  const [yn, yhn, ycn] = node.outputs;
  for (const o of [yn, yhn, ycn]) if (o) qc.actQuant(o);
  q.y = outQ(g, yn, Q_H);
  q.yh = outQ(g, yhn, Q_H);
  if (kind.op === "LSTM") q.yc = outQ(g, ycn ?? "", q.cf);
  q.h0 = initQ(node, g, qc, 5, Q_H, "initial_h");
  if (kind.op === "LSTM") q.c0 = initQ(node, g, qc, 6, q.cf, "initial_c");
  node.q = q;
}

/** Integer form of an initial state (input i): a constant becomes int16 data, a run-time tensor int8. */
function initQ(node: Node, g: Graph, qc: QuantCtx, i: number, frac: number, what: string): InitQ {
  const name = node.inputs[i];
  if (!name) return { kind: 0, z: 0, mult: 0, shift: 0 };
  const t = tensor(g, name);
  const lim = 2 ** (15 - frac);
  if (t.data) {
    const d = Array.from(t.data);
    const worst = d.find((v) => Math.abs(v) > lim);
    if (worst !== undefined) bad(`${where(g, node)}: ${what} value ${worst} is outside [-${lim}, ${lim}], the range of the int16 state (Q${15 - frac}.${frac}); compile with --quantize none`);
    node.inputs[i] = "";
    if (d.every((v) => v === 0)) return { kind: 0, z: 0, mult: 0, shift: 0 };
    return { kind: 1, data: d.map((v) => sat16(roundHalfAway(v * 2 ** frac))), z: 0, mult: 0, shift: 0 };
  }
  const r = qc.range(name);
  if (Math.max(-r.min, r.max) > lim) bad(`${where(g, node)}: ${what} '${name}' has calibrated range [${r.min}, ${r.max}], outside [-${lim}, ${lim}], the range of the int16 state (Q${15 - frac}.${frac}); compile with --quantize none`);
  const s = tensor(g, name).quant!.scale[0];
  return { kind: 2, z: tensor(g, name).quant!.zeroPoint[0], ...quantizeMultiplier(s * 2 ** frac) };
}

/** Gate pre-activation in Q3.12 from its x-side and h-side int32 sums (row = d * G * H + gate * H + j). */
export function gatePre(q: RecQ, row: number, accx: number, acch: number): number {
  const a = sat16(mbqm(accx, q.wm[row], q.ws[row]) + mbqm(acch, q.rm[row], q.rs[row]) + q.bx[row]);
  return clamp(a, -q.clip, q.clip);
}

/** int32 sum of int8 (x - zx) * w over n values. */
export function dotX(w: Data, wo: number, x: Data, xo: number, n: number, zx: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += (x[xo + k] - zx) * w[wo + k];
  return acc;
}

/** int32 sum of int16 h * int8 r over n values. */
export function dotH(r: Data, ro: number, h: Int32Array, n: number): number {
  let acc = 0;
  for (let k = 0; k < n; k++) acc += h[k] * r[ro + k];
  return acc;
}

/** Product of two Q0.15 values (or Q0.15 times any Qm.n), rescaled by 2^-15. */
export const mul15 = (a: number, b: number) => rdbpot(a * b, 15);

/** One integer step of one batch entry: reads x and h, writes hn; LSTM updates c in place. */
export type IntCell = (d: number, xs: Data, xo: number, h: Int32Array, hn: Int32Array, c: Int32Array) => void;

function requant8(v: number, o: OutQ): number {
  return clamp(mbqm(v, o.mult, o.shift) + o.z, -128, 127);
}

function initState(st: InitQ, v: Value | undefined, so: number, H: number, dst: Int32Array): void {
  for (let j = 0; j < H; j++) {
    dst[j] = st.kind === 1 ? st.data![so + j] : st.kind === 2 ? sat16(mbqm(v!.data[so + j] - st.z, st.mult, st.shift)) : 0;
  }
}

/** The integer time loop (the definition the s8 kernels follow): as refRecurrent, on int16 states. */
export function intRecurrent(node: Node, ins: Value[], kind: RecKind, cell: IntCell): Value[] {
  const q = node.q as RecQ;
  const x = ins[0];
  const gm = geomOf(node, x.shape);
  const { T, B, H, D } = gm;
  const st = stridesOf(gm);
  const shapes = gm.layout ? { y: [B, T, D, H], s: [B, D, H] } : { y: [T, D, B, H], s: [D, B, H] };
  const y = makeValue("int8", shapes.y), yh = makeValue("int8", shapes.s), yc = makeValue("int8", shapes.s);
  const lens: number[] | undefined = node.attrs.seqLens;
  const from = streamStart(node);
  const end: StreamState = { h: [], c: [] };
  for (let d = 0; d < D; d++) {
    const rev = node.attrs.direction === "reverse" || d === 1;
    for (let b = 0; b < B; b++) {
      const so = d * st.sd + b * st.sb;
      let h = new Int32Array(H), hn = new Int32Array(H);
      const c = new Int32Array(H);
      if (from) {
        h.set(from.h[d * B + b]);
        c.set(from.c[d * B + b]);
      } else {
        initState(q.h0, ins[5], so, H, h);
        if (kind.op === "LSTM") initState(q.c0, ins[6], so, H, c);
      }
      const L = lens ? lens[b] : T;
      for (let s = 0; s < L; s++) {
        const t = rev ? L - 1 - s : s;
        cell(d, x.data, t * st.xt + b * st.xb, h, hn, c);
        const yo = t * st.yt + b * st.yb + d * st.yd;
        for (let j = 0; j < H; j++) y.data[yo + j] = requant8(hn[j], q.y);
        [h, hn] = [hn, h];
      }
      for (let s = L; s < T; s++) y.data.fill(q.y.z, s * st.yt + b * st.yb + d * st.yd, s * st.yt + b * st.yb + d * st.yd + H);
      for (let j = 0; j < H; j++) {
        yh.data[so + j] = requant8(h[j], q.yh);
        yc.data[so + j] = requant8(c[j], q.yc);
      }
      end.h.push(Int32Array.from(h));
      end.c.push(Int32Array.from(c));
    }
  }
  streamEnd(node, end);
  return kind.op === "LSTM" ? [y, yh, yc] : [y, yh];
}

/** Constant data registered once per emitted module (tables) or per node (initial states of both directions). */
const registered = new WeakMap<EmitCtx, Map<string, string>>();
function once(e: EmitCtx, node: Node | null, what: string, make: (key: string) => string): string {
  let m = registered.get(e);
  if (!m) registered.set(e, (m = new Map()));
  const key = node ? node.name || node.outputs.find((o) => o) || node.op : "";
  const id = `${key}\u0000${what}`;
  let sym = m.get(id);
  if (!sym) m.set(id, (sym = make(key)));
  return sym;
}
function tableSyms(e: EmitCtx): { sig: string; tanh: string } {
  return {
    sig: once(e, null, "sigmoid", () => e.data("sigmoid_q15", "int16", SIGMOID_TABLE)),
    tanh: once(e, null, "tanh", () => e.data("tanh_q15", "int16", TANH_TABLE)),
  };
}

/**
 * The arguments every s8 recurrent kernel takes after its weight pointers, for direction d:
 * per-row multipliers and biases of that direction, zero point, clip, the tables, the
 * initial h (kind, pointer, zero point, multiplier), sequence lengths, Y / Y_h pointers with
 * their requantization, the int16 scratch (3 H-vectors: h ping-pong and c or r . h), the
 * sizes and element strides (in bytes equal to elements: every tensor here is int8). A
 * streaming node's scratch holds 3 H-vectors per batch entry (B * 3 * H: entry b's first
 * vector keeps its h between runs, LSTM's third its c); the kernels' last argument
 * (`stream`, see streamArg in recurrent.ts) is appended by each op's emitter.
 */
export function intArgs(node: Node, e: EmitCtx, kind: RecKind, d: number): Array<string | number> {
  const q = node.q as RecQ;
  const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
  const st = stridesOf(gm);
  const { T, B, I, H } = gm;
  const rows = kind.gates * H;
  const key = node.name || node.outputs.find((o) => o) || kind.op;
  const per = (hint: string, v: number[]) => e.data(`${key}_${hint}${d}`, "int32", v.slice(d * rows, (d + 1) * rows));
  const seqLens: number[] | undefined = node.attrs.seqLens;
  const tabs = tableSyms(e);
  const out = (i: number, o: OutQ): Array<string | number> => {
    const name = node.outputs[i];
    const off = i === 0 ? d * st.yd : d * st.sd;
    return [name ? (off ? `${e.addr(name)} + ${off}` : e.addr(name)) : "0", o.z, o.mult, o.shift];
  };
  const init = (s: InitQ, i: number) => initArgs(node, e, s, i, d * st.sd);
  const scratch = e.data(`${key}_state16_${d}`, "int16", new Int16Array((node.attrs.stream ? B : 1) * 3 * H).fill(-1));
  return [
    per("wm", q.wm), per("ws", q.ws), per("rm", q.rm), per("rs", q.rs), per("bx", q.bx), per("bh", q.bh),
    q.zx, q.clip, tabs.sig, tabs.tanh, ...init(q.h0, 5),
    seqLens ? e.data(`${key}_seq_lens`, "int32", seqLens) : "0", ...out(0, q.y), ...out(1, q.yh), scratch,
    T, B, I, H, node.attrs.direction === "reverse" || d === 1 ? 1 : 0,
    st.xt, st.xb, st.yt, st.yb, st.sb,
  ];
}

/** LSTM's extra arguments: initial c, Y_c and the cell format. */
export function lstmIntArgs(node: Node, e: EmitCtx, d: number): Array<string | number> {
  const q = node.q as RecQ;
  const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
  const off = d * stridesOf(gm).sd;
  const yc = node.outputs[2];
  return [...initArgs(node, e, q.c0, 6, off), yc ? (off ? `${e.addr(yc)} + ${off}` : e.addr(yc)) : "0", q.yc.z, q.yc.mult, q.yc.shift, q.cf, node.attrs.input_forget];
}

/** Kernel arguments of an initial state (input i) at element offset `off`: kind, pointer, z, mult, shift. */
function initArgs(node: Node, e: EmitCtx, s: InitQ, i: number, off: number): Array<string | number> {
  if (s.kind === 1) {
    const sym = once(e, node, `init${i}`, (key) => e.data(`${key}_init${i}`, "int16", s.data!));
    return [1, off ? `${sym} + ${off * 2}` : sym, 0, 0, 0];
  }
  if (s.kind === 2) return [2, off ? `${e.addr(node.inputs[i])} + ${off}` : e.addr(node.inputs[i]), s.z, s.mult, s.shift];
  return [0, "0", 0, 0, 0];
}
