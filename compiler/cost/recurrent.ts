/**
 * Analytic costs of the recurrent kernels (runtime-as/kernels/rnn.ts, gru.ts, lstm.ts,
 * lstm-q.ts; see kernels.ts for what is counted and how it is checked). Notation: T steps,
 * B batch entries, I inputs, H hidden units; S = B T steps of one direction (one call runs
 * one direction). The kernels walk entries, steps and weight rows with running pointers and
 * get H I and H H (the gate blocks of W and R) from the compiler, so no multiply goes to
 * addressing: the multiplies are the MACs, the cell's products, the activations' and (int8)
 * the requantizations. Per batch entry come the state initialization (not when streaming
 * continues, stream 2), the Y_h (and Y_c) copies, and when streaming the copy of the final
 * h into the entry's scratch (skipped when the h ping-pong ends where it started: T even
 * and no Y).
 *
 * Exactness. The integer kernels (int8, Q formats) are exact; so are the float kernels
 * for Sigmoid and Tanh, the default activations, which use the fixed-cost forms of
 * runtime-as/mathf.ts (the argument clamped so that AssemblyScript's expf always runs its
 * main path: six f64 multiplies and one 8-byte table load; tanh adds its Taylor branch,
 * always computed: TANHF). The rarer library activations still branch
 * on the argument inside AssemblyScript's math library and count their longest path, an
 * upper bound: Elu a expm1f(x) for x < 0 (13, expm1fMuls; 0 when x >= 0), Softplus expf +
 * log1pf (6 + 11, with the exp table load), LeakyRelu a x (1 when x < 0, else 0). Relu,
 * ThresholdedRelu, Softsign, HardSigmoid and Affine are branch-free in their multiplies.
 * sequence_lens (lens != 0): the lengths are data the call does not show; the formulas
 * assume every entry runs T steps (so they are an upper bound on the steps' work, and omit
 * the zero padding of Y's steps L..T-1).
 */
import { cost, type Args, type Formula, type KernelCost } from "./types.js";

// ---- AssemblyScript's f32 math library (see the header) ----
// Counts of the optimized code (test/cost/recurrent.test.ts measures them on a probe module):
// binaryen turns 2 * y into y + y, and some branches into selects that compute both arms.

/** Mathf.exp (expf_lut) on its main path: f64 multiplies, and the bytes of its table load. */
export const EXPF = { muls: 6, loadBytes: 8 };
/**
 * runtime-as/mathf.ts tanhf: one expf on its main path, the multiply by 2, and the Taylor
 * branch (x^2, six Horner steps, the final x), both always computed.
 */
export const TANHF = { muls: EXPF.muls + 1 + 8, loadBytes: EXPF.loadBytes };
/** The longest paths of Mathf.expm1 and Mathf.log1p (multiplies; neither loads). */
export const EXPM1F = 13, LOG1PF = 11;

const F = new Float32Array(1), U = new Uint32Array(F.buffer);
const bits = (x: number) => { F[0] = x; return U[0]; };
const NONE = { muls: 0, loadBytes: 0 };

/**
 * Mathf.exp(x) (expf_lut) by the f32 bits of x: the main path for |x| < 88; from there a
 * select adds x * 2^127, the main path still runs up to the overflow (88.72) and down to
 * the underflow (-103.97) bounds; none for infinities and NaN.
 */
export function expfCost(x: number): { muls: number; loadBytes: number } {
  const ix = bits(x), ux = (ix >>> 20) & 0x7ff, xf = Math.fround(x);
  if (ux < 0x42b) return EXPF;
  if (ix === 0xff800000 || ux >= 0x7f8) return NONE;
  if (xf > 88.72283172607422 || xf < -103.97207641601562) return { muls: 1, loadBytes: 0 };
  return { muls: EXPF.muls + 1, loadBytes: EXPF.loadBytes };
}

/**
 * Multiplies of Mathf.expm1(x) (musl expm1f) by the f32 bits of x: 8 for |x| in [2^-25,
 * 0.3466] (k = 0), 12 for k in [-1, 56], 13 for k < -1 or k > 56 (both arms of the 2^k
 * scaling), 1 above 88.72 (x * 2^127), 0 below -18.71, for tiny |x| and NaN.
 */
export function expm1fMuls(x: number): number {
  const u = bits(x), hx = u & 0x7fffffff, sign = u >>> 31, xf = Math.fround(x);
  if (hx >= 0x4195b844) {
    if (hx > 0x7f800000 || sign) return 0;
    if (hx > 0x42b17217) return 1;
  }
  if (hx > 0x3eb17218) {
    const k = hx < 0x3f851592 ? 1 - 2 * sign : Math.trunc(Math.fround(Math.fround(1.4426950216293335 * xf) + (sign ? -0.5 : 0.5)));
    return k < -1 || k > 56 ? 13 : 12;
  }
  return hx < 0x33000000 ? 0 : 8;
}

/** One call of rnn.ts act(k, x, alpha, beta); ai / bi: the argument positions of alpha and beta. */
function act(a: Args, k: number, ai: number, bi: number): { muls: number; loadBytes: number } {
  switch (k) {
    case 0: return EXPF; // Sigmoid (mathf.ts sigmoidf)
    case 1: return TANHF; // Tanh (mathf.ts tanhf)
    case 3: case 4: case 7: return { muls: a.mulBy(ai, "float"), loadBytes: 0 }; // HardSigmoid, LeakyRelu (x < 0), Affine: alpha x
    case 6: return { muls: a.mulBy(ai, "float") + a.mulBy(bi, "float") + TANHF.muls, loadBytes: TANHF.loadBytes }; // ScaledTanh
    case 8: return { muls: a.mulBy(ai, "float") + EXPM1F, loadBytes: 0 }; // Elu, x < 0
    case 10: return { muls: EXPF.muls + LOG1PF, loadBytes: EXPF.loadBytes }; // Softplus
    default: return { muls: 0, loadBytes: 0 }; // Relu, ThresholdedRelu, Softsign
  }
}

// ---- shared per-entry terms ----

type Acc = { muls: number; load: number; store: number };
const acc = (): Acc => ({ muls: 0, load: 0, store: 0 });
const done = (c: Acc): KernelCost => cost(c.muls, c.load, c.store);

/** A float state vector of H values from src (copy) or zeros (fill). */
function initF(c: Acc, src: boolean, H: number): void {
  if (src) c.load += 4 * H;
  c.store += 4 * H;
}

/** int8 kernels' initState: zeros (kind 0), an int16 copy (1), int8 requantized with mbqm (2, multiplier at mi). */
function init16(c: Acc, a: Args, kind: number, mi: number, H: number): void {
  c.store += 2 * H;
  if (kind === 1) c.load += 2 * H;
  if (kind === 2) { c.load += H; c.muls += H * a.mulBy(mi, "int"); }
}

/** rec16 storeOut: H int16 values to int8 (out8: one mbqm, multiplier at mi). */
function out16(c: Acc, a: Args, H: number, mi: number): void {
  c.load += 2 * H; c.store += H; c.muls += H * a.mulBy(mi, "int");
}

/** Memory copy of n bytes. */
function copy(c: Acc, n: number): void {
  c.load += n; c.store += n;
}

/**
 * Float kernels' common frame: args from `lensAt` on are lens, y, yh, st, T, B, I, H
 * (commonArgs); `inits`: whether each initial state vector is given; `unit`: one hidden unit
 * of one step; `extra`: further per-entry terms.
 */
function floatFrame(a: Args, lensAt: number, stream: number, inits: Array<boolean>, unit: Acc, extra?: (c: Acc) => void): KernelCost {
  const [T, B, H] = [a.n(lensAt + 4), a.n(lensAt + 5), a.n(lensAt + 7)];
  const Y = a.ptr(lensAt + 1), YH = a.ptr(lensAt + 2);
  const S = B * T;
  const c: Acc = { muls: S * H * unit.muls, load: S * H * unit.load, store: S * H * unit.store };
  const e = acc();
  if (a.ptr(lensAt)) e.load += 4;
  if (stream !== 2) for (const src of inits) initF(e, src, H);
  if (YH) copy(e, 4 * H);
  if (stream !== 0 && (Y || T % 2 === 1)) copy(e, 4 * H); // keepH
  extra?.(e);
  c.muls += B * e.muls; c.load += B * e.load; c.store += B * e.store;
  return done(c);
}

/**
 * int8 kernels' frame (intArgs): h0k 13, h0m 16, lens 18, y 19, ym 21, yh 23, yhm 25, T 28,
 * B 29, H 31. The int8 input and weights are bytes, h int16; per unit the gate pre-activations
 * (gatePre: two mbqm and five int32 parameter loads) and table lookups (lut: one multiply, two
 * int16 loads) are in `unit`; the Y store (out8, one mbqm) is added here.
 */
function intFrame(a: Args, stream: number, unit: Acc, extra?: (c: Acc) => void, units?: number): KernelCost {
  const [T, B, H] = [a.n(28), a.n(29), a.n(31)];
  const S = B * T, U = units ?? H;
  const u = { ...unit };
  if (a.ptr(19)) { u.store += 1; u.muls += a.mulBy(21, "int"); }
  const c: Acc = { muls: S * U * u.muls, load: S * U * u.load, store: S * U * u.store };
  const e = acc();
  if (a.ptr(18)) e.load += 4;
  if (stream !== 2) init16(e, a, a.n(13), 16, H);
  if (a.ptr(23)) out16(e, a, H, 25);
  extra?.(e);
  if (stream !== 0 && T % 2 === 1) copy(e, 2 * H); // keepH: the ping-pong ends off the first vector
  c.muls += B * e.muls; c.load += B * e.load; c.store += B * e.store;
  return done(c);
}

/** gatePre + lut: two mbqm and the table's multiply; five int32 loads and two int16 loads. */
const GATE = { muls: 3, load: 24 };

export const RECURRENT: Record<string, Formula> = {
  // rnn_f32(x, w, r, bias, h0, lens, y, yh, st, T, B, I, H, rev, xts, xbs, yts, ybs, sbs, kf,
  // fa, fb, clip, stream): per unit one W row and one R row, the two biases, the activation
  rnn_f32(a) {
    const [I, H] = [a.n(11), a.n(12)];
    const f = act(a, a.n(19), 20, 21);
    const bias = a.ptr(3) ? 1 : 0;
    const unit = { muls: I + H + f.muls, load: 8 * (I + H) + 8 * bias + f.loadBytes, store: 4 };
    return floatFrame(a, 5, a.n(23), [a.ptr(4)], unit);
  },
  // gru_f32(x, w, r, bias, h0, lens, y, yh, st, T, B, I, H, rev, xts, xbs, yts, ybs, sbs, kf,
  // fa, fb, kg, ga, gb, clip, lbr, stream, HI, HH): three gates' MACs, r ah (lbr 1) or r h (lbr
  // 0, its own pass), (1 - z) n + z h; activations z, r (f) and n (g)
  gru_f32(a) {
    const [I, H] = [a.n(11), a.n(12)];
    const f = act(a, a.n(19), 20, 21), g = act(a, a.n(22), 23, 24);
    const bias = a.ptr(3) ? 1 : 0;
    const muls = 3 * (I + H) + 3 + 2 * f.muls + g.muls;
    const acts = 2 * f.loadBytes + g.loadBytes;
    const unit = a.n(26)
      ? { muls, load: 16 * (I + H) + 4 + 24 * bias + acts, store: 4 } // x, 3 W rows; h, 3 R rows; h_j; 6 biases
      : { muls, load: 20 * I + 24 * H + 8 + 24 * bias + acts, store: 8 }; // pass 1: x, W_r; h, R_r; h_j; r h store. pass 2: x, W_z, W_h; h, R_z, r h, R_h; h_j
    return floatFrame(a, 5, a.n(27), [a.ptr(4)], unit);
  },
  // lstm_f32(x, w, r, bias, p, h0, c0, yc, lens, y, yh, st, T, B, I, H, rev, xts, xbs, yts, ybs,
  // sbs, kf, fa, fb, kg, ga, gb, kh, ha, hb, clip, coupled, stream, HI, HH): four gates' MACs,
  // the peepholes (3), f c + i g and o h(c); activations i, f (not with input_forget), o by
  // f, g by g, h(c) by h; c read and written in place
  lstm_f32(a) {
    const [I, H] = [a.n(14), a.n(15)];
    const stream = a.n(33), nf = a.n(32) ? 2 : 3;
    const f = act(a, a.n(22), 23, 24), g = act(a, a.n(25), 26, 27), h = act(a, a.n(28), 29, 30);
    const bias = a.ptr(3) ? 1 : 0, P = a.ptr(4) ? 1 : 0;
    const unit = {
      muls: 4 * (I + H) + 3 + 3 * P + nf * f.muls + g.muls + h.muls,
      load: 20 * (I + H) + 4 + 32 * bias + 12 * P + nf * f.loadBytes + g.loadBytes + h.loadBytes,
      store: 8,
    };
    return floatFrame(a, 8, stream, [a.ptr(5), a.ptr(6)], unit, (e) => { if (stream !== 0 && a.ptr(7)) copy(e, 4 * a.n(15)); });
  },
  // rnn_s8(x, w, r, <intArgs>, stream): per unit (x - zx) w and h r over one row pair, gatePre,
  // the tanh table, h store
  rnn_s8(a) {
    const [I, H] = [a.n(30), a.n(31)];
    return intFrame(a, a.n(38), { muls: I + H + GATE.muls, load: 2 * I + 3 * H + GATE.load, store: 2 });
  },
  // gru_s8(x, w, r, <intArgs>, lbr, stream, HI, HH). lbr 0: pass 1 r_k h_k (one gate, mul15),
  // pass 2 z and n (two gates); lbr 1: z, r as gates, n's h part and x part by one mbqm each,
  // r times the h part (mul15), the tanh table. Both: h' = n + z (h - n) (one product).
  gru_s8(a) {
    const [I, H] = [a.n(30), a.n(31)];
    const unit = a.n(38)
      ? { muls: 3 * (I + H) + 2 * GATE.muls + 4 + 1, load: 4 * I + 5 * H + 2 * GATE.load + 24 + 4 + 2, store: 2 }
      : { muls: 3 * (I + H) + 3 * GATE.muls + 1 + 1, load: 5 * I + 9 * H + 3 * GATE.load + 2 + 2, store: 4 };
    return intFrame(a, a.n(39), unit);
  },
  // lstm_s8(x, w, r, <intArgs>, c0k, c0, c0z, c0m, c0s, yc, ycz, ycm, ycs, cf, coupled, stream,
  // HI, HH, j0, j1): four gate sums, three or four gates (input_forget: f = 1 - i), c' from f c
  // and i g, h' = mul15(o, tanh table(c')); c read and written in place; units j0 .. j1
  lstm_s8(a) {
    const [I, H] = [a.n(30), a.n(31)];
    const stream = a.n(49), gates = a.n(48) ? 3 : 4;
    const unit = { muls: 4 * (I + H) + gates * GATE.muls + 2 + 1 + 1, load: 5 * I + 6 * H + gates * GATE.load + 2 + 4, store: 4 };
    return intFrame(a, stream, unit, (e) => {
      if (stream !== 2) init16(e, a, a.n(38), 41, H);
      if (a.ptr(43)) out16(e, a, H, 45);
    }, a.n(53) - a.n(52));
  },
  // lstm_q8 / lstm_q16(x, w, r, b, h0, c0, y, yh, yc, st, T, B, I, H, xts, xbs, yts, ybs, sbs,
  // f, lo, hi, HI, HH): four gate sums, three Q products (f c, i g, o ht(c')); the cuts to the
  // grid and the hard sigmoid are divisions. Elements are bytes (q8) or int16 (q16).
  lstm_q8: (a) => lstmQ(a, 1),
  lstm_q16: (a) => lstmQ(a, 2),
  // lstm_delta_q8 / _q16 / _f32 (x, w, r, b, h0, c0, y, yh, yc, st, T, B, I, H, ...): the dense
  // upper bound, every column propagated at every step (see lstmDeltaCost)
  lstm_delta_q8: (a) => lstmDeltaCost(a),
  lstm_delta_q16: (a) => lstmDeltaCost(a),
  lstm_delta_f32: (a) => lstmDeltaCost(a),
  gru_delta_f32: (a) => gruDeltaCost(a),
  lstm_delta_s8: (a) => lstmDeltaS8Cost(a),
};

/**
 * runtime-as/kernels/lstm-delta.ts, exact for `prop` = the propagated input and hidden
 * columns of the call (summed over batch entries and steps; ops/lstm-delta.ts deltaStats
 * counts them); without it every column propagates (B T I and B T H), the dense upper bound.
 * Per entry: the state initialization (M, x^, h^ filled, h and c from their initial values
 * or zeros, int8/int16 or f32 copies into 4-byte words) and the Y_h / Y_c stores; per step
 * the compare pass (x and x^, h and h^); per propagated column 4H multiply-accumulates into
 * M (load M and the weight, store M; the q16 sums are 8 bytes) and the x^ / h^ store; per
 * unit the four sums, the bias (Q, added after the cut), c, the three cell products
 * (float: three sigmoids and two tanh).
 */
export function lstmDeltaCost(a: Args, prop?: { x: number; h: number }): KernelCost {
  const fl = a.kernel === "lstm_delta_f32", es = fl ? 4 : a.kernel === "lstm_delta_q16" ? 2 : 1;
  const ab = a.kernel === "lstm_delta_q16" ? 8 : 4;
  const [T, B, I, H] = [a.n(10), a.n(11), a.n(12), a.n(13)];
  const S = B * T, G = 4 * H;
  const nx = prop ? prop.x : S * I, nh = prop ? prop.h : S * H;
  const c = acc();
  // per entry: M (float: from the bias), x^, h^, h, c
  c.store += B * (ab * G + 4 * I + 12 * H);
  if (fl && a.ptr(3)) c.load += B * 8 * G;
  for (const src of [a.ptr(4), a.ptr(5)]) if (src) c.load += B * es * H;
  for (const out of [a.ptr(7), a.ptr(8)]) if (out) { c.load += B * 4 * H; c.store += B * es * H; }
  // compare pass, then the propagated columns
  c.load += S * (I * (es + 4) + 8 * H);
  c.muls += (nx + nh) * G;
  c.load += (nx + nh) * G * (ab + es);
  c.store += (nx + nh) * (4 + G * ab);
  // cell
  const u = fl
    ? { muls: 3 + 3 * EXPF.muls + 2 * TANHF.muls, load: 4 * ab + 4 + 3 * EXPF.loadBytes + 2 * TANHF.loadBytes }
    : { muls: 3, load: 4 * ab + 4 + (a.ptr(3) ? 4 * es : 0) };
  c.muls += S * H * u.muls;
  c.load += S * H * u.load;
  c.store += S * H * (8 + (a.ptr(6) ? es : 0));
  return done(c);
}

function lstmQ(a: Args, es: number): KernelCost {
  const [T, B, I, H] = [a.n(10), a.n(11), a.n(12), a.n(13)];
  const S = B * T;
  const unit = { muls: 4 * (I + H) + 3, load: es * (5 * (I + H) + 1 + (a.ptr(3) ? 4 : 0)), store: es * (2 + (a.ptr(6) ? 1 : 0)) };
  const c: Acc = { muls: S * H * unit.muls, load: S * H * unit.load, store: S * H * unit.store };
  const v = es * H;
  for (const src of [a.ptr(4), a.ptr(5)]) { if (src) c.load += B * v; c.store += B * v; }
  for (const out of [a.ptr(7), a.ptr(8)]) if (out) { c.load += B * v; c.store += B * v; }
  return done(c);
}

/**
 * runtime-as/kernels/lstm-delta.ts gru_delta_f32(x, w, r, bias, h0, y, yh, st, T, B, I, H,
 * ...), exact at `prop` (else every column, the dense bound): per entry Mx, Mh from the bias
 * (a copy) or zeros, x^, h^, h; per step the compare pass; per propagated column 3H
 * multiply-accumulates and the x^ / h^ store; per unit six sums and h_j, two sigmoids, one
 * tanh and the products r Mh_n, (1 - z) n and z h.
 */
export function gruDeltaCost(a: Args, prop?: { x: number; h: number }): KernelCost {
  const [T, B, I, H] = [a.n(8), a.n(9), a.n(10), a.n(11)];
  const S = B * T, G = 3 * H;
  const nx = prop ? prop.x : S * I, nh = prop ? prop.h : S * H;
  const c = acc();
  c.store += B * (8 * G + 4 * I + 8 * H);
  if (a.ptr(3)) c.load += B * 8 * G;
  if (a.ptr(4)) c.load += B * 4 * H;
  if (a.ptr(6)) copy(c, B * 4 * H);
  c.load += S * 8 * (I + H);
  c.muls += (nx + nh) * G;
  c.load += (nx + nh) * G * 8;
  c.store += (nx + nh) * (4 + 4 * G);
  c.muls += S * H * (3 + 2 * EXPF.muls + TANHF.muls);
  c.load += S * H * (28 + 2 * EXPF.loadBytes + TANHF.loadBytes);
  c.store += S * H * (4 + (a.ptr(5) ? 4 : 0));
  return done(c);
}

/**
 * lstm_delta_s8 (lstm_s8's arguments with stream 0 at 49, then ds, tx, th), exact at `prop`
 * (else the dense bound): per entry the int16 h and c initialization (init16), Mx and Mh
 * filled, x^ set to zx, h^ filled, Y_h / Y_c (out16); per step the compare pass (int8 x and
 * its i32 x^, int16 h and its i32 h^); per propagated column 4H multiply-accumulates into
 * Mx or Mh (i32 load, int8 weight, i32 store) and the x^ / h^ store; per unit four gates
 * (GATE, plus the loads of Mx and Mh), c, the two cell products, mul15 and the tanh table.
 */
export function lstmDeltaS8Cost(a: Args, prop?: { x: number; h: number }): KernelCost {
  const [T, B, I, H] = [a.n(28), a.n(29), a.n(30), a.n(31)];
  const S = B * T, G = 4 * H;
  const nx = prop ? prop.x : S * I, nh = prop ? prop.h : S * H;
  const e = acc();
  init16(e, a, a.n(13), 16, H);
  init16(e, a, a.n(38), 41, H);
  e.store += 8 * G + 4 * I + 4 * H;
  if (a.ptr(23)) out16(e, a, H, 25);
  if (a.ptr(43)) out16(e, a, H, 45);
  const c: Acc = { muls: B * e.muls, load: B * e.load, store: B * e.store };
  c.load += S * (5 * I + 6 * H);
  c.muls += (nx + nh) * G;
  c.load += (nx + nh) * G * 5;
  c.store += (nx + nh) * (4 + 4 * G);
  const y = a.ptr(19);
  c.muls += S * H * (4 * GATE.muls + 4 + (y ? a.mulBy(21, "int") : 0));
  c.load += S * H * (4 * (GATE.load + 8) + 6);
  c.store += S * H * (4 + (y ? 1 : 0));
  return done(c);
}
