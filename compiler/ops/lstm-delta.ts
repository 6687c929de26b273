/**
 * Delta LSTM and GRU (--delta, compiler/passes/delta.ts): the float reference, the Q-format
 * integer definition and the kernel calls of an LSTM node with node.attrs.delta = { x, h }
 * (real thresholds); lstm.ts dispatches here. The float delta GRU (refGruDelta, below;
 * gru.ts dispatches) shares the column pass and the time loop. Scope (checked by the pass): forward, default
 * activations, no peepholes / clip / input_forget, full sequences; any batch, both layouts.
 *
 * Definition, per batch entry (each run starts afresh: x^ = 0, h^ = 0, h = initial_h or 0,
 * c = initial_c or 0), per step t with gate rows r = g H + j (ONNX order i, o, f, c):
 *   for each input k:  d = x_t[k] - x^[k]; if d != 0 and |d| >= tx: x^[k] = x_t[k],
 *                      M[r] += W[r, k] d for every r (the column of W); else nothing
 *   for each hidden k: d = h[k] - h^[k] (h = h_{t-1}); the same with R and th
 *   then the cell of the plain LSTM on the pre-activations M.
 * M therefore always equals W x^ + R h^ (+ bias), and with thresholds 0 every column whose
 * value changed is propagated, so x^ = x_t, h^ = h_{t-1} and the layer is the plain LSTM.
 *
 * Float (ref, the float interpreter and the f32 kernel): tx = fround(theta_x), th =
 * fround(theta_h); d = fround(x - x^) (the f32 difference, as the kernel computes it); M
 * starts at the merged bias Wb + Rb and accumulates in float64 here, float32 in the kernel
 * (so they agree up to rounding, and a change right at a threshold may go either way);
 * i, o, f = sigmoid(M), g = tanh(M), c' = f c + i g, h' = o tanh(c'), h and c rounded to
 * float32 after each step.
 *
 * Q-format (--fixed Qm.f; lstm-q.ts has the plain cell): x^, h^, h, c are grid integers;
 * tx = max(1, ceil(theta_x 2^f)) capped at 2^W (|d| >= theta in real units is |d| >=
 * theta 2^f on the grid, and d is an integer; d != 0 is the 1), th likewise. M[r] is the
 * EXACT integer sum (scale 2^-2f) M[r] = sum_k W[r,k] x^[k] + sum_k R[r,k] h^[k], started at
 * 0 and updated by the exact products W[r,k] d; it is never cut or saturated itself (|M| is
 * bounded like the plain cell's sums, since every term is a grid value times a weight:
 * checkQSum). Each step each gate is pre_r = sat(sat(truncdiv(M[r], 2^f)) + b[r]) with b
 * the merged Q bias, then i, o, f = hs(pre), g = ht(pre), c' = sat(mulq(f, c) + mulq(i, g)),
 * h' = mulq(o, ht(c')), exactly as lstm-q.ts. With thresholds 0 this is lstm-q.ts bit for
 * bit. int8 (--quantize int8): intLstmDeltaS8 below. Kernels: runtime-as/kernels/lstm-delta.ts
 * (lstm_delta_q8, _q16, _s8, _f32; gru_delta_f32).
 *
 * deltaStats(node) gives the last interpreted run's column counts (propagated / offered),
 * which is how the skipped fraction is measured; the kernel's dynamic multiply count is the
 * cost formula at these counts (test/ops/lstm-delta.test.ts checks it).
 */
import { makeValue, tensor, type Node, type Value } from "../ir/graph.js";
import { clamp, qCut, qFmt, qHardSigmoid, qHardTanh, qMul, qStorage, type QFmt } from "../ir/fixedpoint.js";
import { rdbpot } from "../ir/fixedpoint.js";
import type { Graph } from "../ir/graph.js";
import type { EmitCtx } from "./types.js";
import { f32 } from "./util.js";
import { geomOf, stridesOf, type RecKind } from "./recurrent.js";
import { gatePre, intArgs, intRecurrent, lstmIntArgs, mul15, sat16, sig, tanh16, type IntCell, type RecQ } from "./recurrent-int.js";

export interface DeltaStats {
  /** Input / hidden columns offered (steps x I, steps x H over all batch entries) and propagated. */
  xCols: number; hCols: number; xProp: number; hProp: number;
}

const stats = new WeakMap<Node, DeltaStats>();

/** Column counts of the node's last interpreted run (undefined before any). */
export function deltaStats(node: Node): DeltaStats | undefined {
  return stats.get(node);
}

/** Whether the LSTM node runs as a delta LSTM. */
export function isDelta(node: Node): boolean {
  return node.attrs.delta !== undefined;
}

/** A real threshold on the grid of F: max(1, ceil(theta 2^f)), at most 2^W (beyond every |d|). */
export function deltaGrid(theta: number, F: QFmt): number {
  return Math.min(Math.max(1, Math.ceil(theta * 2 ** F.f)), 2 ** (F.m + F.f));
}

/**
 * The delta column pass shared by both arithmetics: propagates the changed columns of x
 * (I values at xs[xo..]) and h into M and counts them.
 */
function propagate(M: Float64Array, xh: Float64Array, hh: Float64Array, w: ArrayLike<number>, r: ArrayLike<number>,
  xs: ArrayLike<number>, xo: number, h: ArrayLike<number>, I: number, H: number, diff: (a: number, b: number) => number,
  tx: number, th: number, s: DeltaStats, G: number, mh: number): void {
  for (let k = 0; k < I; k++) {
    const d = diff(xs[xo + k], xh[k]);
    if (d !== 0 && Math.abs(d) >= tx) {
      xh[k] = xs[xo + k];
      for (let q = 0; q < G; q++) M[q] += w[q * I + k] * d;
      s.xProp++;
    }
  }
  for (let k = 0; k < H; k++) {
    const d = diff(h[k], hh[k]);
    if (d !== 0 && Math.abs(d) >= th) {
      hh[k] = h[k];
      for (let q = 0; q < G; q++) M[mh + q] += r[q * H + k] * d;
      s.hProp++;
    }
  }
  s.xCols += I;
  s.hCols += H;
}

const sigm = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * The time loop of both arithmetics and both ops: `cell` turns M into the new h (LSTM: and
 * c, in place). LSTM: M is 4H rows that x and h columns both update; GRU: 3H rows updated
 * by x columns, then 3H updated by h columns (the n gate needs its two parts apart).
 */
function run(node: Node, ins: Value[], dtype: "float32" | "int8" | "int16", init: (M: Float64Array) => void,
  diff: (a: number, b: number) => number, tx: number, th: number, cell: (M: Float64Array, h: Float64Array, hn: Float64Array, c: Float64Array) => void,
  observe?: (what: string, v: Value) => void): Value[] {
  const cells: number[] | undefined = observe && node.op === "LSTM" ? [] : undefined;
  const gru = node.op === "GRU";
  const [x, w, r, , , h0] = ins;
  const c0 = gru ? undefined : ins[6];
  const gm = geomOf(node, x.shape);
  const { T, B, I, H } = gm;
  const st = stridesOf(gm);
  const shapes = gm.layout ? { y: [B, T, 1, H], s: [B, 1, H] } : { y: [T, 1, B, H], s: [1, B, H] };
  const y = makeValue(dtype, shapes.y), yh = makeValue(dtype, shapes.s), yc = makeValue(dtype, shapes.s);
  const s: DeltaStats = { xCols: 0, hCols: 0, xProp: 0, hProp: 0 };
  for (let bt = 0; bt < B; bt++) {
    const so = bt * st.sb;
    const G = (gru ? 3 : 4) * H, mh = gru ? G : 0;
    const M = new Float64Array(G + mh), xh = new Float64Array(I), hh = new Float64Array(H);
    init(M);
    let h = new Float64Array(H), hn = new Float64Array(H);
    const c = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      h[j] = h0 ? h0.data[so + j] : 0;
      c[j] = c0 ? c0.data[so + j] : 0;
    }
    cells?.push(...c);
    for (let t = 0; t < T; t++) {
      propagate(M, xh, hh, w.data, r.data, x.data, t * st.xt + bt * st.xb, h, I, H, diff, tx, th, s, G, mh);
      cell(M, h, hn, c);
      cells?.push(...c);
      const yo = t * st.yt + bt * st.yb;
      for (let j = 0; j < H; j++) y.data[yo + j] = hn[j];
      [h, hn] = [hn, h];
    }
    for (let j = 0; j < H; j++) {
      yh.data[so + j] = h[j];
      yc.data[so + j] = c[j];
    }
  }
  stats.set(node, s);
  // calibration (--quantize int8) sizes the cell format from these, as refRecurrent reports them
  if (cells) observe!("cell", makeValue("float32", [cells.length], cells));
  return gru ? [y, yh] : [y, yh, yc];
}

/** Float reference of the delta LSTM (see the file comment). */
export function refLstmDelta(node: Node, ins: Value[], observe?: (what: string, v: Value) => void): Value[] {
  const b = ins[3];
  const H: number = node.attrs.hidden_size;
  const fr = Math.fround;
  const init = (M: Float64Array) => { for (let q = 0; q < 4 * H; q++) M[q] = b ? b.data[q] + b.data[4 * H + q] : 0; };
  const cell = (M: Float64Array, _h: Float64Array, hn: Float64Array, c: Float64Array) => {
    for (let j = 0; j < H; j++) {
      const ig = sigm(M[j]), og = sigm(M[H + j]), fg = sigm(M[2 * H + j]), gg = Math.tanh(M[3 * H + j]);
      const cn = fr(fg * c[j] + ig * gg);
      c[j] = cn;
      hn[j] = fr(og * Math.tanh(cn));
    }
  };
  const { x, h } = node.attrs.delta as { x: number; h: number };
  return run(node, ins, "float32", init, (a, v) => fr(a - v), fr(x), fr(h), cell, observe);
}

/**
 * Float reference of the delta GRU (linear_before_reset = 1, gate order z, r, h): M holds
 * the x part Mx = Wb + W x^ (3H rows) and the h part Mh = Rb + R h^ (3H rows) apart, and
 *   z = sigmoid(Mx_z + Mh_z), r = sigmoid(Mx_r + Mh_r), n = tanh(Mx_n + r Mh_n),
 *   h' = (1 - z) n + z h
 * so the reset gate scales the running sum R_n h^ + Rb_n afterwards, as in the plain cell.
 */
export function refGruDelta(node: Node, ins: Value[]): Value[] {
  const b = ins[3];
  const H: number = node.attrs.hidden_size;
  const fr = Math.fround;
  const init = (M: Float64Array) => { for (let q = 0; q < 6 * H; q++) M[q] = b ? b.data[q] : 0; };
  const cell = (M: Float64Array, h: Float64Array, hn: Float64Array) => {
    for (let j = 0; j < H; j++) {
      const z = sigm(M[j] + M[3 * H + j]), rg = sigm(M[H + j] + M[4 * H + j]);
      const n = Math.tanh(M[2 * H + j] + rg * M[5 * H + j]);
      hn[j] = fr((1 - z) * n + z * h[j]);
    }
  };
  const { x, h } = node.attrs.delta as { x: number; h: number };
  return run(node, ins, "float32", init, (a, v) => fr(a - v), fr(x), fr(h), cell);
}

/** Q-format integer definition of the delta LSTM (see the file comment); input 3 is the merged Q bias. */
export function intLstmDelta(node: Node, ins: Value[]): Value[] {
  const b = ins[3];
  const F = qFmt(node.q!.fixed.m, node.q!.fixed.f);
  const H: number = node.attrs.hidden_size;
  const cell = (M: Float64Array, _h: Float64Array, hn: Float64Array, c: Float64Array) => {
    // M holds exact integers: |M| <= (I + H) 2^(2W-2) < 2^53 (checkQSum in fixedLstm)
    const pre = (q: number) => clamp(qCut(M[q], F) + (b ? b.data[q] : 0), F.lo, F.hi);
    for (let j = 0; j < H; j++) {
      const ig = qHardSigmoid(pre(j), F), og = qHardSigmoid(pre(H + j), F);
      const fg = qHardSigmoid(pre(2 * H + j), F), gg = qHardTanh(pre(3 * H + j), F);
      const cn = clamp(qMul(fg, c[j], F) + qMul(ig, gg, F), F.lo, F.hi);
      c[j] = cn;
      hn[j] = qMul(og, qHardTanh(cn, F), F);
    }
  };
  const { x, h } = node.attrs.delta as { x: number; h: number };
  return run(node, ins, qStorage(F), () => {}, (a, v) => a - v, deltaGrid(x, F), deltaGrid(h, F), cell);
}

const LSTM_KIND: RecKind = { op: "LSTM", gates: 4, acts: ["Sigmoid", "Tanh", "Tanh"] };

/** Smallest integer n >= 1 with n * step >= theta (|d| >= theta in real units), at most cap. */
function gridSteps(theta: number, step: number, cap: number): number {
  let n = Math.ceil(theta / step);
  if (n > 1 && (n - 1) * step >= theta) n -= 1; // the quotient rounded up past an exact multiple
  return Math.min(Math.max(1, n), cap);
}

/**
 * int8 (--quantize int8, after quantizeRecurrent): the grid thresholds, tx in steps of the
 * input's scale s_x (|d| <= 255), th in steps of h's Q0.15 (|d| <= 65535).
 */
export function quantizeDelta(node: Node, g: Graph): void {
  const th = node.attrs.delta as { x: number; h: number };
  const sx = tensor(g, node.inputs[0]).quant!.scale[0];
  (node.q as RecQ & { delta?: { tx: number; th: number } }).delta = { tx: gridSteps(th.x, sx, 256), th: gridSteps(th.h, 2 ** -15, 65536) };
}

/**
 * int8 definition of the delta LSTM: the int8 LSTM of lstm.ts / recurrent-int.ts with its
 * two int32 sums per gate row kept as running sums, Mx[r] = sum_k (x^_k - zx) W[r,k] and
 * Mh[r] = sum_k h^_k R[r,k] (x^ starts at zx, the real 0; h^ at 0), updated by W[r,k] d /
 * R[r,k] d for the propagated columns, then pre_r = gatePre(Mx[r], Mh[r]) and the cell as
 * there. With thresholds 0 it is the int8 LSTM bit for bit (the sums are exact integers).
 */
export function intLstmDeltaS8(node: Node, ins: Value[]): Value[] {
  const [x, w, r] = ins;
  const q = node.q as RecQ & { delta: { tx: number; th: number } };
  const { T, I, H } = geomOf(node, x.shape);
  const G = 4 * H;
  const Mx = new Float64Array(G), Mh = new Float64Array(G), xh = new Float64Array(I), hh = new Float64Array(H);
  const s: DeltaStats = { xCols: 0, hCols: 0, xProp: 0, hProp: 0 };
  let n = 0;
  const cell: IntCell = (_d, xs, xo, h, hn, c) => {
    if (n++ % T === 0) { Mx.fill(0); Mh.fill(0); xh.fill(q.zx); hh.fill(0); } // a new batch entry (forward, full lengths)
    for (let k = 0; k < I; k++) {
      const d = xs[xo + k] - xh[k];
      if (d !== 0 && Math.abs(d) >= q.delta.tx) { xh[k] = xs[xo + k]; for (let g = 0; g < G; g++) Mx[g] += w.data[g * I + k] * d; s.xProp++; }
    }
    for (let k = 0; k < H; k++) {
      const d = h[k] - hh[k];
      if (d !== 0 && Math.abs(d) >= q.delta.th) { hh[k] = h[k]; for (let g = 0; g < G; g++) Mh[g] += r.data[g * H + k] * d; s.hProp++; }
    }
    s.xCols += I; s.hCols += H;
    for (let j = 0; j < H; j++) {
      const pre = (gate: number) => gatePre(q, gate * H + j, Mx[gate * H + j], Mh[gate * H + j]);
      const ig = sig(pre(0)), fg = sig(pre(2)), gg = tanh16(pre(3));
      const cn = sat16(rdbpot(fg * c[j], 15) + rdbpot(ig * gg, 30 - q.cf));
      c[j] = cn;
      const cq = q.cf >= 12 ? rdbpot(cn, q.cf - 12) : sat16(cn * 2 ** (12 - q.cf));
      hn[j] = mul15(sig(pre(1)), tanh16(cq));
    }
  };
  const out = intRecurrent(node, ins, LSTM_KIND, cell);
  stats.set(node, s);
  return out;
}

/**
 * lstm_delta_q8 / _q16 / _f32 call, with W and R placed transposed (column-major, so that a
 * propagated column is 4H contiguous weights; the row-major originals are not placed). The state (M, x^, h^, h, h', c; see the kernel) is a
 * per-node static scratch region of 4-byte words (M's q16 sums take two), filled with a
 * nonzero pattern so it stays real data below __data_end; the kernel initializes it on
 * every run.
 */
export function emitLstmDelta(node: Node, e: EmitCtx): void {
  const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
  const st = stridesOf(gm);
  const { T, B, I, H } = gm;
  const key = node.name || node.outputs.find((o) => o) || node.op;
  const th = node.attrs.delta as { x: number; h: number };
  const at = (n: string | undefined) => (n ? e.addr(n) : "0");
  const fixed = node.q?.fixed;
  const int8 = node.q !== undefined && !fixed;
  const wdt = int8 ? "int8" : !fixed ? "float32" : qStorage(qFmt(fixed.m, fixed.f));
  // W [4H, I] and R [4H, H] transposed: the kernel walks one column (4H values) contiguously
  const G = (node.op === "GRU" ? 3 : 4) * H;
  const transposed = (i: number, K: number) => {
    const src = tensor(e.g, node.inputs[i]).data!;
    const out = new Array<number>(G * K);
    for (let q = 0; q < G; q++) for (let k = 0; k < K; k++) out[k * G + q] = src[q * K + k];
    return e.data(`${key}_${i === 1 ? "W" : "R"}T`, wdt, out);
  };
  if (int8) {
    // the lstm_s8 arguments (w, r transposed; stream 0), then the delta scratch: Mx[4H], Mh[4H], x^[I], h^[H] (i32)
    const dq = (node.q as RecQ & { delta: { tx: number; th: number } }).delta;
    const ds = e.data(`${key}_delta`, "int32", new Array<number>(9 * H + I).fill(-1));
    e.call("lstm-delta", "lstm_delta_s8", [at(node.inputs[0]), transposed(1, I), transposed(2, H), ...intArgs(node, e, LSTM_KIND, 0), ...lstmIntArgs(node, e, 0), 0, ds, dq.tx, dq.th]);
    return;
  }
    if (node.op === "GRU") {
    const scratch = e.data(`${key}_delta`, "float32", new Float32Array(9 * H + I).fill(-1));
    e.call("lstm-delta", "gru_delta_f32", [at(node.inputs[0]), transposed(1, I), transposed(2, H), at(node.inputs[3]), at(node.inputs[5]),
      at(node.outputs[0]), at(node.outputs[1]), scratch, T, B, I, H, st.xt, st.xb, st.yt, st.yb, st.sb, f32(Math.fround(th.x)), f32(Math.fround(th.h))]);
    return;
  }
  const ptrs = [at(node.inputs[0]), transposed(1, I), transposed(2, H), ...[3, 5, 6].map((i) => at(node.inputs[i])), ...[0, 1, 2].map((i) => at(node.outputs[i]))];
  const sizes = [T, B, I, H, st.xt, st.xb, st.yt, st.yb, st.sb];
  if (!fixed) {
    const scratch = e.data(`${key}_delta`, "float32", new Float32Array(8 * H + I).fill(-1));
    e.call("lstm-delta", "lstm_delta_f32", [...ptrs, scratch, ...sizes, f32(Math.fround(th.x)), f32(Math.fround(th.h))]);
    return;
  }
  const F = qFmt(fixed.m, fixed.f);
  const q16 = qStorage(F) === "int16";
  const scratch = e.data(`${key}_delta`, "int32", new Array<number>((q16 ? 8 : 4) * H + I + 4 * H).fill(-1));
  e.call("lstm-delta", q16 ? "lstm_delta_q16" : "lstm_delta_q8", [...ptrs, scratch, ...sizes, F.f, F.lo, F.hi, deltaGrid(th.x, F), deltaGrid(th.h, F)]);
}
