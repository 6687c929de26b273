// Simple RNN (ONNX RNN): h_t = f(clip(W x_t + R h_{t-1} + Wb + Rb)), float32, the whole
// sequence in one call for one direction (the compiler calls it twice for bidirectional);
// rnn_s8 at the end is the int8 form. Also home of what the float LSTM and GRU kernels
// share: the activation functions by code (the numbering of compiler/ops/recurrent.ts),
// state initialization and the end-of-sequence bookkeeping.
//
// Layout: batch entries run one after the other, each through its L_b steps (the constant
// sequence_lens, else T); element strides (xts/xbs for X, yts/ybs for Y, sbs for the state
// tensors) cover both ONNX layouts. The new h of step t goes straight to Y's step t when Y
// is requested (and the next step reads it back from there), else it ping-pongs between two
// H-vectors of the node's scratch region `st`; h_0 is first copied into st. Each hidden
// unit's pre-activation is one pass over its W row and one over its R row, so no gate
// buffers are needed.
//
// Streaming (last argument `stream`, every kernel here and in lstm.ts / gru.ts): 0 runs as
// above. 1 and 2 keep the recurrent state in the scratch between calls: `st` then holds
// three H-vectors per batch entry (entry b's at st + b * 3H), the first of which holds the
// entry's h when a call ends (and LSTM's c stays in the third). 1 (fresh) first fills them
// from the initial state, as mode 0 does; 2 (continue) starts from what the last call left.
import { clampf } from "../fixedpoint";
import { sigmoidf, tanhf } from "../mathf";
import { gatePre, initState, lut, out8, storeOut } from "../rec16";

/** Activation `k` with its alpha `a` and beta `b` (codes as in compiler/ops/recurrent.ts). */
@inline export function act(k: i32, x: f32, a: f32, b: f32): f32 {
  switch (k) {
    case 0: return sigmoidf(x);
    case 1: return tanhf(x);
    case 2: return x > 0 ? x : 0;
    case 3: return Mathf.min(Mathf.max(a * x + b, 0), 1);
    case 4: return x >= 0 ? x : a * x;
    case 5: return x >= a ? x : 0;
    case 6: return a * tanhf(b * x);
    case 7: return a * x + b;
    case 8: return x >= 0 ? x : a * Mathf.expm1(x);
    case 9: return x / (<f32>1 + Mathf.abs(x));
    default: return x > 0 ? x + Mathf.log1p(Mathf.exp(-x)) : Mathf.log1p(Mathf.exp(x));
  }
}

/** Gate pre-activation clip to [-c, c] (c = +inf when the node has no clip). */
@inline export function clipc(x: f32, c: f32): f32 {
  return clampf(x, -c, c);
}

/** Copies H floats of an initial state (or zeros when src is 0) to dst. */
@inline export function initVec(dst: usize, src: usize, H: i32): void {
  if (src != 0) memory.copy(dst, src, <usize>H << 2);
  else memory.fill(dst, 0, <usize>H << 2);
}

/** Where a step writes h: Y's step (yt) when Y is requested, else the scratch vector hp is not. */
@inline export function hOut(yb: usize, yt: usize, hp: usize, sp: usize, h4: usize): usize {
  if (yb != 0) return yt;
  return hp == sp ? sp + h4 : sp;
}

/** Bytes of one batch entry's scratch: 3 vectors of `vb` bytes when streaming, else 0 (one shared set). */
@inline export function entryBytes(stream: i32, vb: usize): usize {
  return stream != 0 ? (vb << 1) + vb : 0;
}

/** The byte step from one time step to the next: `bytes`, negated (wrapping) in the reverse direction. */
@inline export function stepBy(bytes: usize, rev: i32): usize {
  return rev ? <usize>0 - bytes : bytes;
}

/** p + n * d, by n additions (no multiply; n is a sequence length, small next to a step's work). */
@inline export function advance(p: usize, d: usize, n: i32): usize {
  for (let i = 0; i < n; i++) p += d;
  return p;
}

/** Streaming: leaves the entry's final h (at hp, `bytes` long) in its first scratch vector sp. */
@inline export function keepH(stream: i32, sp: usize, hp: usize, bytes: usize): void {
  if (stream != 0 && hp != sp) memory.copy(sp, hp, bytes);
}

/**
 * After batch entry b ran L of T steps: fill Y's steps L..T-1 (yb: Y at step 0, ys: the
 * bytes from one step to the next) with `fill` (`vb` bytes each), copy the last h to Y_h.
 */
@inline export function finishEntry(yb: usize, yh: usize, hp: usize, L: i32, T: i32, ys: usize, vb: usize, fill: u8): void {
  if (yb != 0 && L < T) {
    let yp = advance(yb, ys, L);
    for (let t = L; t < T; t++, yp += ys) memory.fill(yp, fill, vb);
  }
  if (yh != 0) memory.copy(yh, hp, vb);
}

// Every kernel of this family walks batch entries, time steps and weight rows with running
// pointers (the reverse direction starts at step L - 1 by L - 1 additions), so no multiply
// goes to addressing: its multiplies are the MACs, the cell's products, the activations'
// and (int8) the requantizations; compiler/cost/recurrent.ts counts them.
export function rnn_f32(
  x: usize, w: usize, r: usize, bias: usize, h0: usize,
  lens: usize, y: usize, yh: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  kf: i32, fa: f32, fb: f32, clip: f32, stream: i32,
): void {
  const h4 = <usize>H << 2, i4 = <usize>I << 2;
  const xs = <usize>xts << 2, ys = <usize>yts << 2, dx = stepBy(xs, rev), dy = stepBy(ys, rev);
  const eb = entryBytes(stream, h4);
  let xb = x, yb = y, sp = st, so: usize = 0, lp = lens;
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lp) : T;
    if (stream != 2) initVec(sp, h0 != 0 ? h0 + so : 0, H);
    let hp = sp;
    let xt = xb, yt = yb;
    if (rev) { xt = advance(xt, xs, L - 1); yt = advance(yt, ys, L - 1); }
    for (let s = 0; s < L; s++) {
      const ho = hOut(yb, yt, hp, sp, h4);
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        const jo = <usize>j << 2;
        let acc: f32 = bias != 0 ? load<f32>(bias + jo) + load<f32>(bias + h4 + jo) : 0;
        for (let k = 0; k < I; k++) acc += load<f32>(xt + (<usize>k << 2)) * load<f32>(wj + (<usize>k << 2));
        for (let k = 0; k < H; k++) acc += load<f32>(hp + (<usize>k << 2)) * load<f32>(rj + (<usize>k << 2));
        store<f32>(ho + jo, act(kf, clipc(acc, clip), fa, fb));
        wj += i4;
        rj += h4;
      }
      hp = ho;
      xt += dx;
      yt += dy;
    }
    finishEntry(yb, yh != 0 ? yh + so : 0, hp, L, T, ys, h4, 0);
    keepH(stream, sp, hp, h4);
    xb += <usize>xbs << 2;
    if (y != 0) yb += <usize>ybs << 2;
    so += <usize>sbs << 2;
    sp += eb;
    lp += 4;
  }
}

// int8 weights and input, int16 h (Q0.15), int8 outputs; the formats and the cell are
// defined in compiler/ops/recurrent-int.ts and rnn.ts: h'_j = tanh(a_j) with a_j the Q3.12
// pre-activation of row j (int32 sums (x - zx) * w and h * r, rescaled, plus the bias,
// saturated and clipped). The scratch `st` holds three int16 H-vectors (per batch entry
// when streaming), of which h uses two (ping-pong).
export function rnn_s8(
  x: usize, w: usize, r: usize, wm: usize, ws: usize, rm: usize, rs: usize, bx: usize, bh: usize,
  zx: i32, clip: i32, tsig: usize, ttanh: usize, h0k: i32, h0: usize, h0z: i32, h0m: i32, h0s: i32,
  lens: usize, y: usize, yz: i32, ym: i32, ys: i32, yh: usize, yhz: i32, yhm: i32, yhs: i32, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  stream: i32,
): void {
  const hb = <usize>H << 1; // bytes of one int16 H-vector
  const eb = entryBytes(stream, hb);
  const dx = stepBy(<usize>xts, rev), dy = stepBy(<usize>yts, rev);
  let xb = x, yb = y, sp = st, so = 0, lp = lens;
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lp) : T;
    if (stream != 2) initState(sp, h0k, h0, so, h0z, h0m, h0s, H);
    let hp = sp, hn = sp + hb;
    let xt = xb, yt = yb;
    if (rev) { xt = advance(xt, <usize>xts, L - 1); yt = advance(yt, <usize>yts, L - 1); }
    for (let s = 0; s < L; s++) {
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        let ax = 0;
        for (let k = 0; k < I; k++) ax += (<i32>load<i8>(xt + <usize>k) - zx) * <i32>load<i8>(wj + <usize>k);
        let ah = 0;
        for (let k = 0; k < H; k++) ah += <i32>load<i16>(hp + (<usize>k << 1)) * <i32>load<i8>(rj + <usize>k);
        const hv = lut(ttanh, gatePre(ax, ah, wm, ws, rm, rs, bx, <usize>j << 2, clip));
        store<i16>(hn + (<usize>j << 1), <i16>hv);
        if (yb != 0) store<i8>(yt + <usize>j, out8(hv, yz, ym, ys));
        wj += <usize>I;
        rj += <usize>H;
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += dx;
      yt += dy;
    }
    finishEntry(yb, 0, 0, L, T, <usize>yts, <usize>H, <u8>yz);
    storeOut(yh != 0 ? yh + <usize>so : 0, hp, H, yhz, yhm, yhs);
    keepH(stream, sp, hp, hb);
    xb += <usize>xbs;
    if (y != 0) yb += <usize>ybs;
    so += sbs;
    sp += eb;
    lp += 4;
  }
}
