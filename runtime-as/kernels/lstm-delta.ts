// Delta LSTM (--delta; compiler/passes/delta.ts, compiler/ops/lstm-delta.ts states the
// definition), forward, the whole sequence of each batch entry in one call. The state lives
// in the node's scratch `st`, all in 4-byte words except the q16 accumulators (8 bytes):
//   M[4H] (gate pre-activation sums, rows i, o, f, c), x^[I], h^[H], h[H], h'[H], c[H].
// The weights come transposed (w = W^T [I][4H], r = R^T [H][4H], ops/lstm-delta.ts), so a
// column is contiguous. Per step, for each input column k: d = x_k - x^_k; when |d| >= tx
// the column is propagated (x^_k = x_k, M[r] += W[r, k] d for the 4H rows r, four rows per
// iteration: 4H is a multiple of 4), else skipped. Then the same over the previous h with R and th. Then each unit
// j reads its four sums and runs the cell. Skipped columns cost one load of the value and one
// of x^ (or h^): the work follows the number of changes (cost: compiler/cost/recurrent.ts,
// a dense upper bound; the exact count is that formula at the propagated column counts).
// lstm_delta_q8 / _q16: Q-format (int8 / int16 storage), bit-exact with intLstmDelta; M
// holds the exact integer sums W x^ + R h^ (i32 for q8, i64 for q16; each product d w is at
// most (2^16 - 1) 2^15 < 2^31, exact in i32), cut to the grid once per gate and step, the
// merged bias added after the cut, as in lstm-q.ts. tx, th >= 1 are the grid thresholds.
// lstm_delta_f32: float32, M starts at the merged bias Wb + Rb; a change d != 0 propagates
// when |d| >= tx (tx, th >= 0). Pointers b, h0, c0, y, yh, yc may be 0. Strides in elements.
import { qcut, qcut64, qhsig, qhtanh, qmul, qsat } from "../qformat";
import { sigmoidf, tanhf } from "../mathf";
import { rdbpot } from "../fixedpoint";
import { gatePre, initState, lut, mul15, out8, sat16, storeOut } from "../rec16";

export function lstm_delta_q8(
  x: usize, w: usize, r: usize, b: usize, h0: usize, c0: usize, y: usize, yh: usize, yc: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32, f: i32, lo: i32, hi: i32,
  tx: i32, th: i32,
): void {
  const G = H << 2, h4 = <usize>H << 2, h8 = h4 << 1, h12 = h8 + h4, i4 = <usize>I << 2;
  const b1 = <usize>H, b2 = b1 << 1, b3 = b2 + b1; // gate blocks of the bias
  const M = st, xh = M + (<usize>G << 2), hh = xh + i4, cb = hh + h12;
  const me = M + (<usize>G << 2);
  let xb = x, yb = y, so: usize = 0;
  for (let bt = 0; bt < B; bt++) {
    let hp = hh + h4, hn = hp + h4;
    memory.fill(M, 0, <usize>G << 2);
    memory.fill(xh, 0, i4);
    memory.fill(hh, 0, h4);
    if (h0 != 0) { for (let j = 0; j < H; j++) store<i32>(hp + (<usize>j << 2), i32(load<i8>(h0 + so + <usize>j))); } else memory.fill(hp, 0, h4);
    if (c0 != 0) { for (let j = 0; j < H; j++) store<i32>(cb + (<usize>j << 2), i32(load<i8>(c0 + so + <usize>j))); } else memory.fill(cb, 0, h4);
    let xt = xb, yt = yb;
    for (let t = 0; t < T; t++) {
      let wk = w, xp = xh;
      for (let k = 0; k < I; k++) {
        const v = i32(load<i8>(xt + <usize>k));
        const d = v - load<i32>(xp);
        if (abs<i32>(d) >= tx) {
          store<i32>(xp, v);
          let wp = wk;
          for (let mp = M; mp < me; mp += 16) {
            store<i32>(mp, load<i32>(mp) + d * i32(load<i8>(wp)));
            store<i32>(mp, load<i32>(mp, 4) + d * i32(load<i8>(wp, 1)), 4);
            store<i32>(mp, load<i32>(mp, 8) + d * i32(load<i8>(wp, 2)), 8);
            store<i32>(mp, load<i32>(mp, 12) + d * i32(load<i8>(wp, 3)), 12);
            wp += 4;
          }
        }
        wk += <usize>G; xp += 4;
      }
      let rk = r, hq = hh;
      for (let k = 0; k < H; k++) {
        const v = load<i32>(hp + (<usize>k << 2));
        const d = v - load<i32>(hq);
        if (abs<i32>(d) >= th) {
          store<i32>(hq, v);
          let rp = rk;
          for (let mp = M; mp < me; mp += 16) {
            store<i32>(mp, load<i32>(mp) + d * i32(load<i8>(rp)));
            store<i32>(mp, load<i32>(mp, 4) + d * i32(load<i8>(rp, 1)), 4);
            store<i32>(mp, load<i32>(mp, 8) + d * i32(load<i8>(rp, 2)), 8);
            store<i32>(mp, load<i32>(mp, 12) + d * i32(load<i8>(rp, 3)), 12);
            rp += 4;
          }
        }
        rk += <usize>G; hq += 4;
      }
      for (let j = 0; j < H; j++) {
        const mj = M + (<usize>j << 2);
        let bi = 0, bo = 0, bf = 0, bc = 0;
        if (b != 0) {
          const bj = b + <usize>j;
          bi = i32(load<i8>(bj)); bo = i32(load<i8>(bj + b1)); bf = i32(load<i8>(bj + b2)); bc = i32(load<i8>(bj + b3));
        }
        const ig = qhsig(qsat(qcut(load<i32>(mj), f, lo, hi) + bi, lo, hi), f, hi);
        const og = qhsig(qsat(qcut(load<i32>(mj + h4), f, lo, hi) + bo, lo, hi), f, hi);
        const fg = qhsig(qsat(qcut(load<i32>(mj + h8), f, lo, hi) + bf, lo, hi), f, hi);
        const gg = qhtanh(qsat(qcut(load<i32>(mj + h12), f, lo, hi) + bc, lo, hi), f, hi);
        const cj = cb + (<usize>j << 2);
        const cn = qsat(qmul(fg, load<i32>(cj), f, lo, hi) + qmul(ig, gg, f, lo, hi), lo, hi);
        store<i32>(cj, cn);
        const hv = qmul(og, qhtanh(cn, f, hi), f, lo, hi);
        store<i32>(hn + (<usize>j << 2), hv);
        if (yb != 0) store<i8>(yt + <usize>j, i8(hv));
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts;
      yt += <usize>yts;
    }
    if (yh != 0) for (let j = 0; j < H; j++) store<i8>(yh + so + <usize>j, i8(load<i32>(hp + (<usize>j << 2))));
    if (yc != 0) for (let j = 0; j < H; j++) store<i8>(yc + so + <usize>j, i8(load<i32>(cb + (<usize>j << 2))));
    xb += <usize>xbs;
    if (y != 0) yb += <usize>ybs;
    so += <usize>sbs;
  }
}

export function lstm_delta_q16(
  x: usize, w: usize, r: usize, b: usize, h0: usize, c0: usize, y: usize, yh: usize, yc: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32, f: i32, lo: i32, hi: i32,
  tx: i32, th: i32,
): void {
  const G = H << 2, h4 = <usize>H << 2, h8 = h4 << 1, h16 = h8 << 1, h24 = h16 + h8, i4 = <usize>I << 2;
  const col = <usize>G << 1, hb = <usize>H << 1; // one column of W^T / R^T, one H-vector of int16, in bytes
  const b2 = hb << 1, b3 = b2 + hb; // gate blocks of the bias, in bytes
  const M = st, xh = M + (<usize>G << 3), hh = xh + i4, cb = hh + h4 + h8, me = xh;
  let xb = x, yb = y, so: usize = 0;
  for (let bt = 0; bt < B; bt++) {
    let hp = hh + h4, hn = hp + h4;
    memory.fill(M, 0, <usize>G << 3);
    memory.fill(xh, 0, i4);
    memory.fill(hh, 0, h4);
    if (h0 != 0) { for (let j = 0; j < H; j++) store<i32>(hp + (<usize>j << 2), i32(load<i16>(h0 + so + (<usize>j << 1)))); } else memory.fill(hp, 0, h4);
    if (c0 != 0) { for (let j = 0; j < H; j++) store<i32>(cb + (<usize>j << 2), i32(load<i16>(c0 + so + (<usize>j << 1)))); } else memory.fill(cb, 0, h4);
    let xt = xb, yt = yb;
    for (let t = 0; t < T; t++) {
      let wk = w, xp = xh;
      for (let k = 0; k < I; k++) {
        const v = i32(load<i16>(xt + (<usize>k << 1)));
        const d = v - load<i32>(xp);
        if (abs<i32>(d) >= tx) {
          store<i32>(xp, v);
          let wp = wk;
          for (let mp = M; mp < me; mp += 32) {
            store<i64>(mp, load<i64>(mp) + <i64>(d * i32(load<i16>(wp))));
            store<i64>(mp, load<i64>(mp, 8) + <i64>(d * i32(load<i16>(wp, 2))), 8);
            store<i64>(mp, load<i64>(mp, 16) + <i64>(d * i32(load<i16>(wp, 4))), 16);
            store<i64>(mp, load<i64>(mp, 24) + <i64>(d * i32(load<i16>(wp, 6))), 24);
            wp += 8;
          }
        }
        wk += col; xp += 4;
      }
      let rk = r, hq = hh;
      for (let k = 0; k < H; k++) {
        const v = load<i32>(hp + (<usize>k << 2));
        const d = v - load<i32>(hq);
        if (abs<i32>(d) >= th) {
          store<i32>(hq, v);
          let rp = rk;
          for (let mp = M; mp < me; mp += 32) {
            store<i64>(mp, load<i64>(mp) + <i64>(d * i32(load<i16>(rp))));
            store<i64>(mp, load<i64>(mp, 8) + <i64>(d * i32(load<i16>(rp, 2))), 8);
            store<i64>(mp, load<i64>(mp, 16) + <i64>(d * i32(load<i16>(rp, 4))), 16);
            store<i64>(mp, load<i64>(mp, 24) + <i64>(d * i32(load<i16>(rp, 6))), 24);
            rp += 8;
          }
        }
        rk += col; hq += 4;
      }
      for (let j = 0; j < H; j++) {
        const mj = M + (<usize>j << 3);
        let bi = 0, bo = 0, bf = 0, bc = 0;
        if (b != 0) {
          const bj = b + (<usize>j << 1);
          bi = i32(load<i16>(bj)); bo = i32(load<i16>(bj + hb)); bf = i32(load<i16>(bj + b2)); bc = i32(load<i16>(bj + b3));
        }
        const ig = qhsig(qsat(qcut64(load<i64>(mj), f, lo, hi) + bi, lo, hi), f, hi);
        const og = qhsig(qsat(qcut64(load<i64>(mj + h8), f, lo, hi) + bo, lo, hi), f, hi);
        const fg = qhsig(qsat(qcut64(load<i64>(mj + h16), f, lo, hi) + bf, lo, hi), f, hi);
        const gg = qhtanh(qsat(qcut64(load<i64>(mj + h24), f, lo, hi) + bc, lo, hi), f, hi);
        const cj = cb + (<usize>j << 2);
        const cn = qsat(qmul(fg, load<i32>(cj), f, lo, hi) + qmul(ig, gg, f, lo, hi), lo, hi);
        store<i32>(cj, cn);
        const hv = qmul(og, qhtanh(cn, f, hi), f, lo, hi);
        store<i32>(hn + (<usize>j << 2), hv);
        if (yb != 0) store<i16>(yt + (<usize>j << 1), i16(hv));
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts << 1;
      yt += <usize>yts << 1;
    }
    if (yh != 0) for (let j = 0; j < H; j++) store<i16>(yh + so + (<usize>j << 1), i16(load<i32>(hp + (<usize>j << 2))));
    if (yc != 0) for (let j = 0; j < H; j++) store<i16>(yc + so + (<usize>j << 1), i16(load<i32>(cb + (<usize>j << 2))));
    xb += <usize>xbs << 1;
    if (y != 0) yb += <usize>ybs << 1;
    so += <usize>sbs << 1;
  }
}

export function lstm_delta_f32(
  x: usize, w: usize, r: usize, bias: usize, h0: usize, c0: usize, y: usize, yh: usize, yc: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32, tx: f32, th: f32,
): void {
  const G = H << 2, h4 = <usize>H << 2, h8 = h4 << 1, h12 = h8 + h4, i4 = <usize>I << 2, g4 = <usize>G << 2;
  const M = st, xh = M + g4, hh = xh + i4, cb = hh + h12, me = xh;
  let xb = x, yb = y, so: usize = 0;
  for (let bt = 0; bt < B; bt++) {
    let hp = hh + h4, hn = hp + h4;
    if (bias != 0) {
      for (let q: usize = 0; q < g4; q += 4) store<f32>(M + q, load<f32>(bias + q) + load<f32>(bias + g4 + q));
    } else memory.fill(M, 0, g4);
    memory.fill(xh, 0, i4);
    memory.fill(hh, 0, h4);
    if (h0 != 0) memory.copy(hp, h0 + so, h4); else memory.fill(hp, 0, h4);
    if (c0 != 0) memory.copy(cb, c0 + so, h4); else memory.fill(cb, 0, h4);
    let xt = xb, yt = yb;
    for (let t = 0; t < T; t++) {
      let wk = w, xp = xh;
      for (let k = 0; k < I; k++) {
        const v = load<f32>(xt + (<usize>k << 2));
        const d = v - load<f32>(xp);
        if (d != 0 && Mathf.abs(d) >= tx) {
          store<f32>(xp, v);
          let wp = wk;
          for (let mp = M; mp < me; mp += 16) {
            store<f32>(mp, load<f32>(mp) + d * load<f32>(wp));
            store<f32>(mp, load<f32>(mp, 4) + d * load<f32>(wp, 4), 4);
            store<f32>(mp, load<f32>(mp, 8) + d * load<f32>(wp, 8), 8);
            store<f32>(mp, load<f32>(mp, 12) + d * load<f32>(wp, 12), 12);
            wp += 16;
          }
        }
        wk += g4; xp += 4;
      }
      let rk = r, hq = hh;
      for (let k = 0; k < H; k++) {
        const v = load<f32>(hp + (<usize>k << 2));
        const d = v - load<f32>(hq);
        if (d != 0 && Mathf.abs(d) >= th) {
          store<f32>(hq, v);
          let rp = rk;
          for (let mp = M; mp < me; mp += 16) {
            store<f32>(mp, load<f32>(mp) + d * load<f32>(rp));
            store<f32>(mp, load<f32>(mp, 4) + d * load<f32>(rp, 4), 4);
            store<f32>(mp, load<f32>(mp, 8) + d * load<f32>(rp, 8), 8);
            store<f32>(mp, load<f32>(mp, 12) + d * load<f32>(rp, 12), 12);
            rp += 16;
          }
        }
        rk += g4; hq += 4;
      }
      for (let j = 0; j < H; j++) {
        const mj = M + (<usize>j << 2);
        const ig = sigmoidf(load<f32>(mj));
        const og = sigmoidf(load<f32>(mj + h4));
        const fg = sigmoidf(load<f32>(mj + h8));
        const gg = tanhf(load<f32>(mj + h12));
        const cj = cb + (<usize>j << 2);
        const cn = fg * load<f32>(cj) + ig * gg;
        store<f32>(cj, cn);
        const hv = og * tanhf(cn);
        store<f32>(hn + (<usize>j << 2), hv);
        if (yb != 0) store<f32>(yt + (<usize>j << 2), hv);
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts << 2;
      yt += <usize>yts << 2;
    }
    if (yh != 0) memory.copy(yh + so, hp, h4);
    if (yc != 0) memory.copy(yc + so, cb, h4);
    xb += <usize>xbs << 2;
    if (y != 0) yb += <usize>ybs << 2;
    so += <usize>sbs << 2;
  }
}

// Delta GRU, float32, linear_before_reset = 1 (ops/lstm-delta.ts refGruDelta): M holds the
// x part Mx (3H rows: Wb + W x^) and the h part Mh (3H rows: Rb + R h^) apart, since the
// reset gate scales the h part of n. State in `st`: Mx[3H], Mh[3H], x^[I], h^[H], h[H],
// h'[H]. W^T and R^T columns are 3H contiguous weights, walked three rows per iteration.
export function gru_delta_f32(
  x: usize, w: usize, r: usize, bias: usize, h0: usize, y: usize, yh: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32, tx: f32, th: f32,
): void {
  const h4 = <usize>H << 2, h8 = h4 << 1, i4 = <usize>I << 2, g4 = h8 + h4; // g4: 3H floats
  const Mx = st, Mh = Mx + g4, xh = Mh + g4, hh = xh + i4;
  let xb = x, yb = y, so: usize = 0;
  for (let bt = 0; bt < B; bt++) {
    let hp = hh + h4, hn = hp + h4;
    if (bias != 0) memory.copy(Mx, bias, g4 + g4); else memory.fill(Mx, 0, g4 + g4);
    memory.fill(xh, 0, i4);
    memory.fill(hh, 0, h4);
    if (h0 != 0) memory.copy(hp, h0 + so, h4); else memory.fill(hp, 0, h4);
    let xt = xb, yt = yb;
    for (let t = 0; t < T; t++) {
      let wk = w, xp = xh;
      for (let k = 0; k < I; k++) {
        const v = load<f32>(xt + (<usize>k << 2));
        const d = v - load<f32>(xp);
        if (d != 0 && Mathf.abs(d) >= tx) {
          store<f32>(xp, v);
          let wp = wk;
          for (let mp = Mx; mp < Mh; mp += 12) {
            store<f32>(mp, load<f32>(mp) + d * load<f32>(wp));
            store<f32>(mp, load<f32>(mp, 4) + d * load<f32>(wp, 4), 4);
            store<f32>(mp, load<f32>(mp, 8) + d * load<f32>(wp, 8), 8);
            wp += 12;
          }
        }
        wk += g4; xp += 4;
      }
      let rk = r, hq = hh;
      for (let k = 0; k < H; k++) {
        const v = load<f32>(hp + (<usize>k << 2));
        const d = v - load<f32>(hq);
        if (d != 0 && Mathf.abs(d) >= th) {
          store<f32>(hq, v);
          let rp = rk;
          for (let mp = Mh; mp < xh; mp += 12) {
            store<f32>(mp, load<f32>(mp) + d * load<f32>(rp));
            store<f32>(mp, load<f32>(mp, 4) + d * load<f32>(rp, 4), 4);
            store<f32>(mp, load<f32>(mp, 8) + d * load<f32>(rp, 8), 8);
            rp += 12;
          }
        }
        rk += g4; hq += 4;
      }
      for (let j = 0; j < H; j++) {
        const jo = <usize>j << 2, xj = Mx + jo, hj = Mh + jo;
        const z = sigmoidf(load<f32>(xj) + load<f32>(hj));
        const rg = sigmoidf(load<f32>(xj + h4) + load<f32>(hj + h4));
        const n = tanhf(load<f32>(xj + h8) + rg * load<f32>(hj + h8));
        const hv = (<f32>1 - z) * n + z * load<f32>(hp + jo);
        store<f32>(hn + jo, hv);
        if (yb != 0) store<f32>(yt + jo, hv);
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts << 2;
      yt += <usize>yts << 2;
    }
    if (yh != 0) memory.copy(yh + so, hp, h4);
    xb += <usize>xbs << 2;
    if (y != 0) yb += <usize>ybs << 2;
    so += <usize>sbs << 2;
  }
}

// Delta LSTM, int8 (--quantize int8; ops/lstm-delta.ts intLstmDeltaS8): the arguments of
// lstm_s8 (runtime-as/kernels/lstm.ts; lens, rev, coupled and stream are 0 here) with w, r
// transposed, then the delta scratch `ds` (i32 words: Mx[4H], Mh[4H], x^[I], h^[H]) and the
// grid thresholds tx (input steps), th (Q0.15 steps), both >= 1. Mx, Mh are the two int32
// sums per gate row of the plain kernel, kept as running sums; x^ starts at zx (the real 0).
export function lstm_delta_s8(
  x: usize, w: usize, r: usize, wm: usize, ws: usize, rm: usize, rs: usize, bx: usize, bh: usize,
  zx: i32, clip: i32, tsig: usize, ttanh: usize, h0k: i32, h0: usize, h0z: i32, h0m: i32, h0s: i32,
  lens: usize, y: usize, yz: i32, ym: i32, ys: i32, yh: usize, yhz: i32, yhm: i32, yhs: i32, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  c0k: i32, c0: usize, c0z: i32, c0m: i32, c0s: i32, yc: usize, ycz: i32, ycm: i32, ycs: i32, cf: i32, coupled: i32,
  stream: i32, ds: usize, tx: i32, th: i32,
): void {
  const hb = <usize>H << 1; // bytes of one int16 H-vector
  const G = H << 2, g4 = <usize>H << 2, g8 = g4 << 1, g12 = g8 + g4; // gate blocks of the int32 vectors
  const Mx = ds, Mh = Mx + (<usize>G << 2), xh = Mh + (<usize>G << 2), hh = xh + (<usize>I << 2);
  const cb = st + (hb << 1);
  let xb = x, yb = y, so = 0;
  for (let b = 0; b < B; b++) {
    initState(st, h0k, h0, so, h0z, h0m, h0s, H);
    initState(cb, c0k, c0, so, c0z, c0m, c0s, H);
    memory.fill(Mx, 0, <usize>G << 3);
    for (let k = 0; k < I; k++) store<i32>(xh + (<usize>k << 2), zx);
    memory.fill(hh, 0, <usize>H << 2);
    let hp = st, hn = st + hb;
    let xt = xb, yt = yb;
    for (let s = 0; s < T; s++) {
      let wk = w, xp = xh;
      for (let k = 0; k < I; k++) {
        const v = <i32>load<i8>(xt + <usize>k);
        const d = v - load<i32>(xp);
        if (abs<i32>(d) >= tx) {
          store<i32>(xp, v);
          let wp = wk;
          for (let mp = Mx; mp < Mh; mp += 16) {
            store<i32>(mp, load<i32>(mp) + d * <i32>load<i8>(wp));
            store<i32>(mp, load<i32>(mp, 4) + d * <i32>load<i8>(wp, 1), 4);
            store<i32>(mp, load<i32>(mp, 8) + d * <i32>load<i8>(wp, 2), 8);
            store<i32>(mp, load<i32>(mp, 12) + d * <i32>load<i8>(wp, 3), 12);
            wp += 4;
          }
        }
        wk += <usize>G; xp += 4;
      }
      let rk = r, hq = hh;
      for (let k = 0; k < H; k++) {
        const v = <i32>load<i16>(hp + (<usize>k << 1));
        const d = v - load<i32>(hq);
        if (abs<i32>(d) >= th) {
          store<i32>(hq, v);
          let rp = rk;
          for (let mp = Mh; mp < xh; mp += 16) {
            store<i32>(mp, load<i32>(mp) + d * <i32>load<i8>(rp));
            store<i32>(mp, load<i32>(mp, 4) + d * <i32>load<i8>(rp, 1), 4);
            store<i32>(mp, load<i32>(mp, 8) + d * <i32>load<i8>(rp, 2), 8);
            store<i32>(mp, load<i32>(mp, 12) + d * <i32>load<i8>(rp, 3), 12);
            rp += 4;
          }
        }
        rk += <usize>G; hq += 4;
      }
      for (let j = 0; j < H; j++) {
        const o = <usize>j << 2, mx = Mx + o, mh = Mh + o;
        const ig = lut(tsig, gatePre(load<i32>(mx), load<i32>(mh), wm, ws, rm, rs, bx, o, clip));
        const fg = lut(tsig, gatePre(load<i32>(mx + g8), load<i32>(mh + g8), wm, ws, rm, rs, bx, o + g8, clip));
        const gg = lut(ttanh, gatePre(load<i32>(mx + g12), load<i32>(mh + g12), wm, ws, rm, rs, bx, o + g12, clip));
        const cj = cb + (<usize>j << 1);
        const cn = sat16(i64(rdbpot(fg * <i32>load<i16>(cj), 15)) + i64(rdbpot(ig * gg, 30 - cf)));
        store<i16>(cj, <i16>cn);
        const cq = cf >= 12 ? rdbpot(cn, cf - 12) : sat16(i64(cn) << (12 - cf));
        const hv = mul15(lut(tsig, gatePre(load<i32>(mx + g4), load<i32>(mh + g4), wm, ws, rm, rs, bx, o + g4, clip)), lut(ttanh, cq));
        store<i16>(hn + (<usize>j << 1), <i16>hv);
        if (yb != 0) store<i8>(yt + <usize>j, out8(hv, yz, ym, ys));
      }
      const tmp = hp; hp = hn; hn = tmp;
      xt += <usize>xts;
      yt += <usize>yts;
    }
    storeOut(yh != 0 ? yh + <usize>so : 0, hp, H, yhz, yhm, yhs);
    storeOut(yc != 0 ? yc + <usize>so : 0, cb, H, ycz, ycm, ycs);
    xb += <usize>xbs;
    if (y != 0) yb += <usize>ybs;
    so += sbs;
  }
}
