// LSTM in Q-format fixed point (--fixed Qm.f), forward, the whole sequence in one call:
// the ElasticAI FPGA cell, bit-exact with compiler/ops/lstm-q.ts (intLstmQ), which states
// the definition. Per step and hidden unit j, one pass over x_t and one over h accumulate
// the four gates' exact sums from unit j's rows of W and R (ONNX gate order i, o, f, c),
// then each gate is cut to the grid once (truncating division by 2^f, saturation), the
// merged bias added and saturated, and
//   i, f, o = hard sigmoid, g = hard tanh, c' = sat(f*c + i*g), h' = o * hard tanh(c')
// with every product a Q product (runtime-as/qformat.ts). The scratch `st` holds three
// H-vectors: h and the next h (ping-pong), and c. Pointers b, h0, c0, y, yh, yc may be 0
// (absent). Strides are in elements.
// lstm_q8: int8 storage (W <= 8), i32 sums (the compiler bounds (I + H) 2^(2W-2) < 2^31);
// elements are bytes. lstm_q16: int16 storage (W 9 to 16); a product of two values of at
// most 2^15 in magnitude is at most 2^30, exact in i32, and the gate sums are i64 (no
// overflow below 2^33 terms; the compiler bounds (I + H) 2^(2W-2) < 2^53 for its float64
// reference). The Q products of the cell (qmul) are single products, exact in i32, and
// f*c + i*g is a sum of two saturated values, at most 2^16.
// Batch entries, steps and weight rows are walked with running pointers; HI, HH (H * I and
// H * H, one gate's block of W and of R) come from the compiler, so no multiply goes to
// addressing (compiler/cost/recurrent.ts counts the rest).
import { qcut, qcut64, qhsig, qhtanh, qmul, qsat } from "../qformat";

export function lstm_q8(
  x: usize, w: usize, r: usize, b: usize, h0: usize, c0: usize, y: usize, yh: usize, yc: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32, f: i32, lo: i32, hi: i32,
  HI: i32, HH: i32,
): void {
  const hb = <usize>H, hb2 = hb << 1, hb3 = hb2 + hb;
  const gw = <usize>HI, gw2 = gw << 1, gw3 = gw2 + gw; // gate row blocks of W and R
  const gr = <usize>HH, gr2 = gr << 1, gr3 = gr2 + gr;
  const cb = st + hb2;
  let xb = x, yb = y, so: usize = 0;
  for (let bt = 0; bt < B; bt++) {
    let hp = st, hn = st + hb;
    if (h0 != 0) memory.copy(hp, h0 + so, hb); else memory.fill(hp, 0, hb);
    if (c0 != 0) memory.copy(cb, c0 + so, hb); else memory.fill(cb, 0, hb);
    let xt = xb, yt = yb;
    for (let t = 0; t < T; t++) {
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        let ai = 0, ao = 0, af = 0, ac = 0;
        for (let k = 0; k < I; k++) {
          const v = i32(load<i8>(xt + <usize>k));
          const wk = wj + <usize>k;
          ai += v * i32(load<i8>(wk));
          ao += v * i32(load<i8>(wk + gw));
          af += v * i32(load<i8>(wk + gw2));
          ac += v * i32(load<i8>(wk + gw3));
        }
        for (let k = 0; k < H; k++) {
          const v = i32(load<i8>(hp + <usize>k));
          const rk = rj + <usize>k;
          ai += v * i32(load<i8>(rk));
          ao += v * i32(load<i8>(rk + gr));
          af += v * i32(load<i8>(rk + gr2));
          ac += v * i32(load<i8>(rk + gr3));
        }
        let bi = 0, bo = 0, bf = 0, bc = 0;
        if (b != 0) {
          const bj = b + <usize>j;
          bi = i32(load<i8>(bj)); bo = i32(load<i8>(bj + hb)); bf = i32(load<i8>(bj + hb2)); bc = i32(load<i8>(bj + hb3));
        }
        const ig = qhsig(qsat(qcut(ai, f, lo, hi) + bi, lo, hi), f, hi);
        const og = qhsig(qsat(qcut(ao, f, lo, hi) + bo, lo, hi), f, hi);
        const fg = qhsig(qsat(qcut(af, f, lo, hi) + bf, lo, hi), f, hi);
        const gg = qhtanh(qsat(qcut(ac, f, lo, hi) + bc, lo, hi), f, hi);
        const cj = cb + <usize>j;
        const cn = qsat(qmul(fg, i32(load<i8>(cj)), f, lo, hi) + qmul(ig, gg, f, lo, hi), lo, hi);
        store<i8>(cj, i8(cn));
        const hv = qmul(og, qhtanh(cn, f, hi), f, lo, hi);
        store<i8>(hn + <usize>j, i8(hv));
        if (yb != 0) store<i8>(yt + <usize>j, i8(hv));
        wj += <usize>I;
        rj += <usize>H;
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts;
      yt += <usize>yts;
    }
    if (yh != 0) memory.copy(yh + so, hp, hb);
    if (yc != 0) memory.copy(yc + so, cb, hb);
    xb += <usize>xbs;
    if (y != 0) yb += <usize>ybs;
    so += <usize>sbs;
  }
}

export function lstm_q16(
  x: usize, w: usize, r: usize, b: usize, h0: usize, c0: usize, y: usize, yh: usize, yc: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32, f: i32, lo: i32, hi: i32,
  HI: i32, HH: i32,
): void {
  const hb = <usize>H << 1, hb2 = hb << 1, hb3 = hb2 + hb; // bytes of one H-vector
  const gw = <usize>HI << 1, gw2 = gw << 1, gw3 = gw2 + gw; // gate row blocks of W and R, in bytes
  const gr = <usize>HH << 1, gr2 = gr << 1, gr3 = gr2 + gr;
  const rowW = <usize>I << 1, rowR = hb;
  const cb = st + hb2;
  let xb = x, yb = y, so: usize = 0;
  for (let bt = 0; bt < B; bt++) {
    let hp = st, hn = st + hb;
    if (h0 != 0) memory.copy(hp, h0 + so, hb); else memory.fill(hp, 0, hb);
    if (c0 != 0) memory.copy(cb, c0 + so, hb); else memory.fill(cb, 0, hb);
    let xt = xb, yt = yb;
    for (let t = 0; t < T; t++) {
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        let ai: i64 = 0, ao: i64 = 0, af: i64 = 0, ac: i64 = 0;
        for (let k: usize = 0; k < rowW; k += 2) {
          const v = i32(load<i16>(xt + k));
          const wk = wj + k;
          ai += <i64>(v * i32(load<i16>(wk)));
          ao += <i64>(v * i32(load<i16>(wk + gw)));
          af += <i64>(v * i32(load<i16>(wk + gw2)));
          ac += <i64>(v * i32(load<i16>(wk + gw3)));
        }
        for (let k: usize = 0; k < rowR; k += 2) {
          const v = i32(load<i16>(hp + k));
          const rk = rj + k;
          ai += <i64>(v * i32(load<i16>(rk)));
          ao += <i64>(v * i32(load<i16>(rk + gr)));
          af += <i64>(v * i32(load<i16>(rk + gr2)));
          ac += <i64>(v * i32(load<i16>(rk + gr3)));
        }
        let bi = 0, bo = 0, bf = 0, bc = 0;
        if (b != 0) {
          const bj = b + (<usize>j << 1);
          bi = i32(load<i16>(bj)); bo = i32(load<i16>(bj + hb)); bf = i32(load<i16>(bj + hb2)); bc = i32(load<i16>(bj + hb3));
        }
        const ig = qhsig(qsat(qcut64(ai, f, lo, hi) + bi, lo, hi), f, hi);
        const og = qhsig(qsat(qcut64(ao, f, lo, hi) + bo, lo, hi), f, hi);
        const fg = qhsig(qsat(qcut64(af, f, lo, hi) + bf, lo, hi), f, hi);
        const gg = qhtanh(qsat(qcut64(ac, f, lo, hi) + bc, lo, hi), f, hi);
        const cj = cb + (<usize>j << 1);
        const cn = qsat(qmul(fg, i32(load<i16>(cj)), f, lo, hi) + qmul(ig, gg, f, lo, hi), lo, hi);
        store<i16>(cj, i16(cn));
        const hv = qmul(og, qhtanh(cn, f, hi), f, lo, hi);
        store<i16>(hn + (<usize>j << 1), i16(hv));
        if (yb != 0) store<i16>(yt + (<usize>j << 1), i16(hv));
        wj += rowW;
        rj += rowR;
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts << 1;
      yt += <usize>yts << 1;
    }
    if (yh != 0) memory.copy(yh + so, hp, hb);
    if (yc != 0) memory.copy(yc + so, cb, hb);
    xb += <usize>xbs << 1;
    if (y != 0) yb += <usize>ybs << 1;
    so += <usize>sbs << 1;
  }
}
