// GRU (ONNX gate order z, r, h), float32, the whole sequence of one direction in one call:
//   z = f(clip(Wz x + Rz h + Wbz + Rbz)), r = f(clip(Wr x + Rr h + Wbr + Rbr))
//   linear_before_reset = 0: n = g(clip(Wh x + Rh (r * h) + Rbh + Wbh))
//   linear_before_reset = 1: n = g(clip(Wh x + Wbh + r * (Rh h + Rbh)))   (PyTorch's GRU)
//   h' = (1 - z) n + z h
// With linear_before_reset = 1 every unit is one pass over x_t and one over h_{t-1} for its
// three gates. With 0, n needs the whole vector r * h first: a first pass computes r for
// every unit into the third H-vector of the scratch region `st` (as r * h), the second pass
// computes z and n. h follows rnn.ts (Y's previous step, or two scratch vectors; with
// `stream` 1 or 2, per batch entry, h kept between calls). r * h then uses batch entry 0's
// third vector (GRU has no c, so no state lives there). gru_s8 at the end is the int8 form.
import { act, advance, clipc, entryBytes, finishEntry, hOut, initVec, keepH, stepBy } from "./rnn";
import { clampi, mbqm, rdbpot } from "../fixedpoint";
import { gatePre, initState, lut, mul15, out8, sat16, storeOut } from "../rec16";

// HI, HH: H * I and H * H (one gate's block of W and of R), computed by the compiler (see lstm.ts).
export function gru_f32(
  x: usize, w: usize, r: usize, bias: usize, h0: usize,
  lens: usize, y: usize, yh: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  kf: i32, fa: f32, fb: f32, kg: i32, ga: f32, gb: f32, clip: f32, lbr: i32, stream: i32, HI: i32, HH: i32,
): void {
  const h4 = <usize>H << 2, h8 = h4 << 1, i4 = <usize>I << 2;
  const gw = <usize>HI << 2, gw2 = gw << 1; // gate row blocks of W
  const gr = <usize>HH << 2, gr2 = gr << 1; // and of R
  const b3 = h8 + h4; // Wb is 3H floats, then Rb
  const rh = st + h8;
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
      if (lbr != 0) {
        let wj = w, rj = r;
        for (let j = 0; j < H; j++) {
          const jo = <usize>j << 2;
          let az: f32 = 0, ar: f32 = 0, ax: f32 = 0, ah: f32 = 0;
          if (bias != 0) {
            const bj = bias + jo, rb = bj + b3;
            az = load<f32>(bj) + load<f32>(rb);
            ar = load<f32>(bj + h4) + load<f32>(rb + h4);
            ax = load<f32>(bj + h8);
            ah = load<f32>(rb + h8);
          }
          for (let k = 0; k < I; k++) {
            const v = load<f32>(xt + (<usize>k << 2));
            const wk = wj + (<usize>k << 2);
            az += v * load<f32>(wk);
            ar += v * load<f32>(wk + gw);
            ax += v * load<f32>(wk + gw2);
          }
          for (let k = 0; k < H; k++) {
            const v = load<f32>(hp + (<usize>k << 2));
            const rk = rj + (<usize>k << 2);
            az += v * load<f32>(rk);
            ar += v * load<f32>(rk + gr);
            ah += v * load<f32>(rk + gr2);
          }
          const z = act(kf, clipc(az, clip), fa, fb);
          const rg = act(kf, clipc(ar, clip), fa, fb);
          const n = act(kg, clipc(ax + rg * ah, clip), ga, gb);
          store<f32>(ho + jo, (<f32>1 - z) * n + z * load<f32>(hp + jo));
          wj += i4;
          rj += h4;
        }
      } else {
        // pass 1: r * h for every unit
        let wj = w + gw, rj = r + gr;
        for (let j = 0; j < H; j++) {
          const jo = <usize>j << 2;
          let ar: f32 = bias != 0 ? load<f32>(bias + h4 + jo) + load<f32>(bias + b3 + h4 + jo) : 0;
          for (let k = 0; k < I; k++) ar += load<f32>(xt + (<usize>k << 2)) * load<f32>(wj + (<usize>k << 2));
          for (let k = 0; k < H; k++) ar += load<f32>(hp + (<usize>k << 2)) * load<f32>(rj + (<usize>k << 2));
          store<f32>(rh + jo, act(kf, clipc(ar, clip), fa, fb) * load<f32>(hp + jo));
          wj += i4;
          rj += h4;
        }
        // pass 2: z and n
        wj = w; rj = r;
        for (let j = 0; j < H; j++) {
          const jo = <usize>j << 2;
          let az: f32 = 0, an: f32 = 0;
          if (bias != 0) {
            const bj = bias + jo, rb = bj + b3;
            az = load<f32>(bj) + load<f32>(rb);
            an = load<f32>(bj + h8) + load<f32>(rb + h8);
          }
          for (let k = 0; k < I; k++) {
            const v = load<f32>(xt + (<usize>k << 2));
            const wk = wj + (<usize>k << 2);
            az += v * load<f32>(wk);
            an += v * load<f32>(wk + gw2);
          }
          for (let k = 0; k < H; k++) {
            const ko = <usize>k << 2;
            const rk = rj + ko;
            az += load<f32>(hp + ko) * load<f32>(rk);
            an += load<f32>(rh + ko) * load<f32>(rk + gr2);
          }
          const z = act(kf, clipc(az, clip), fa, fb);
          const n = act(kg, clipc(an, clip), ga, gb);
          store<f32>(ho + jo, (<f32>1 - z) * n + z * load<f32>(hp + jo));
          wj += i4;
          rj += h4;
        }
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
// defined in compiler/ops/recurrent-int.ts and gru.ts. Gate pre-activations are int32 sums
// (x - zx) * w and h * r rescaled to Q3.12. With linear_before_reset = 1 each unit is one
// pass over x_t and one over h_{t-1} for its three gates, the n gate keeping its h part
// (with the h-side bias bh) apart to scale it by r. With 0, a first pass stores r_k h_k for
// every unit in the third H-vector of the scratch `st` (the other two are the h
// ping-pong; streaming: per batch entry, r_k h_k in entry 0's third vector), and a second
// pass computes z and n. HI, HH as in gru_f32.
export function gru_s8(
  x: usize, w: usize, r: usize, wm: usize, ws: usize, rm: usize, rs: usize, bx: usize, bh: usize,
  zx: i32, clip: i32, tsig: usize, ttanh: usize, h0k: i32, h0: usize, h0z: i32, h0m: i32, h0s: i32,
  lens: usize, y: usize, yz: i32, ym: i32, ys: i32, yh: usize, yhz: i32, yhm: i32, yhs: i32, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  lbr: i32, stream: i32, HI: i32, HH: i32,
): void {
  const hb = <usize>H << 1; // bytes of one int16 H-vector
  const gw = <usize>HI, gw2 = gw << 1, gr = <usize>HH, gr2 = gr << 1; // gate row blocks of W and R (int8)
  const g4 = <usize>H << 2, g8 = g4 << 1; // gate blocks of the int32 parameter vectors
  const rh = st + (hb << 1);
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
      if (lbr == 0) {
        // pass 1: r_k h_k for every unit k
        let wj = w + gw, rj = r + gr;
        for (let k = 0; k < H; k++) {
          let ax = 0, ah = 0;
          for (let i = 0; i < I; i++) ax += (<i32>load<i8>(xt + <usize>i) - zx) * <i32>load<i8>(wj + <usize>i);
          for (let i = 0; i < H; i++) ah += <i32>load<i16>(hp + (<usize>i << 1)) * <i32>load<i8>(rj + <usize>i);
          const rg = lut(tsig, gatePre(ax, ah, wm, ws, rm, rs, bx, (<usize>k << 2) + g4, clip));
          const ko = <usize>k << 1;
          store<i16>(rh + ko, <i16>mul15(rg, <i32>load<i16>(hp + ko)));
          wj += <usize>I;
          rj += <usize>H;
        }
      }
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        let xz = 0, xr = 0, xn = 0, hz = 0, hr = 0, hh = 0;
        if (lbr != 0) {
          for (let k = 0; k < I; k++) {
            const v = <i32>load<i8>(xt + <usize>k) - zx;
            const wk = wj + <usize>k;
            xz += v * <i32>load<i8>(wk);
            xr += v * <i32>load<i8>(wk + gw);
            xn += v * <i32>load<i8>(wk + gw2);
          }
          for (let k = 0; k < H; k++) {
            const v = <i32>load<i16>(hp + (<usize>k << 1));
            const rk = rj + <usize>k;
            hz += v * <i32>load<i8>(rk);
            hr += v * <i32>load<i8>(rk + gr);
            hh += v * <i32>load<i8>(rk + gr2);
          }
        } else {
          for (let k = 0; k < I; k++) {
            const v = <i32>load<i8>(xt + <usize>k) - zx;
            const wk = wj + <usize>k;
            xz += v * <i32>load<i8>(wk);
            xn += v * <i32>load<i8>(wk + gw2);
          }
          for (let k = 0; k < H; k++) {
            const ko = <usize>k << 1;
            const rk = rj + <usize>k;
            hz += <i32>load<i16>(hp + ko) * <i32>load<i8>(rk);
            hh += <i32>load<i16>(rh + ko) * <i32>load<i8>(rk + gr2);
          }
        }
        const o = <usize>j << 2, on = o + g8;
        const z = lut(tsig, gatePre(xz, hz, wm, ws, rm, rs, bx, o, clip));
        let n: i32;
        if (lbr != 0) {
          const rg = lut(tsig, gatePre(xr, hr, wm, ws, rm, rs, bx, o + g4, clip));
          const hpart = sat16(i64(mbqm(hh, load<i32>(rm + on), load<i32>(rs + on))) + i64(load<i32>(bh + on)));
          const a = sat16(i64(mbqm(xn, load<i32>(wm + on), load<i32>(ws + on))) + i64(load<i32>(bx + on)) + i64(mul15(rg, hpart)));
          n = lut(ttanh, clampi(a, -clip, clip));
        } else {
          n = lut(ttanh, gatePre(xn, hh, wm, ws, rm, rs, bx, on, clip));
        }
        const hv = sat16(i64(n) + i64(rdbpot(z * (<i32>load<i16>(hp + (<usize>j << 1)) - n), 15)));
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
