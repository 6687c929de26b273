// LSTM (ONNX gate order i, o, f, c), float32, the whole sequence of one direction in one
// call. Per step and hidden unit j, one pass over x_t and one over h_{t-1} accumulate the
// four gate pre-activations from the four W rows and four R rows of unit j at once (each
// input value loaded once), then:
//   i = f(clip(a_i + P_i c)), f = f(clip(a_f + P_f c)) (or 1 - i when input_forget),
//   g = g(clip(a_c)), c' = f c + i g, o = f(clip(a_o + P_o c')), h' = o h(c')
// The cell state of unit j only feeds unit j, so c is updated in place: in Y_c when it is
// requested, else in the third H-vector of the scratch region `st`. h follows rnn.ts (Y's
// previous step, or two scratch vectors). Streaming (`stream` 1 or 2, see rnn.ts) keeps c
// in the batch entry's third scratch vector and copies it to Y_c at the end.
import { act, advance, clipc, entryBytes, finishEntry, hOut, initVec, keepH, stepBy } from "./rnn";
import { rdbpot } from "../fixedpoint";
import { gatePre, initState, lut, mul15, out8, sat16, storeOut } from "../rec16";

// HI, HH: H * I and H * H (the size of one gate's block of W and of R), computed by the
// compiler: a product of two arguments would cost a multiply per call, or none when the
// optimizer specializes the kernel to constant sizes.
export function lstm_f32(
  x: usize, w: usize, r: usize, bias: usize, p: usize, h0: usize, c0: usize, yc: usize,
  lens: usize, y: usize, yh: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  kf: i32, fa: f32, fb: f32, kg: i32, ga: f32, gb: f32, kh: i32, ha: f32, hb: f32,
  clip: f32, coupled: i32, stream: i32, HI: i32, HH: i32,
): void {
  const h4 = <usize>H << 2, h8 = h4 << 1, h12 = h8 + h4, i4 = <usize>I << 2;
  const gw = <usize>HI << 2, gw2 = gw << 1, gw3 = gw2 + gw; // gate row blocks of W
  const gr = <usize>HH << 2, gr2 = gr << 1, gr3 = gr2 + gr; // and of R
  const b4 = h4 << 2; // Wb is 4H floats, then Rb
  const xs = <usize>xts << 2, ys = <usize>yts << 2, dx = stepBy(xs, rev), dy = stepBy(ys, rev);
  const eb = entryBytes(stream, h4);
  let xb = x, yb = y, sp = st, so: usize = 0, lp = lens;
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lp) : T;
    const cb = yc != 0 && stream == 0 ? yc + so : sp + h8;
    if (stream != 2) {
      initVec(sp, h0 != 0 ? h0 + so : 0, H);
      initVec(cb, c0 != 0 ? c0 + so : 0, H);
    }
    let hp = sp;
    let xt = xb, yt = yb;
    if (rev) { xt = advance(xt, xs, L - 1); yt = advance(yt, ys, L - 1); }
    for (let s = 0; s < L; s++) {
      const ho = hOut(yb, yt, hp, sp, h4);
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        const jo = <usize>j << 2;
        let ai: f32 = 0, ao: f32 = 0, af: f32 = 0, ac: f32 = 0;
        if (bias != 0) {
          const bj = bias + jo, rb = bj + b4;
          ai = load<f32>(bj) + load<f32>(rb);
          ao = load<f32>(bj + h4) + load<f32>(rb + h4);
          af = load<f32>(bj + h8) + load<f32>(rb + h8);
          ac = load<f32>(bj + h12) + load<f32>(rb + h12);
        }
        for (let k = 0; k < I; k++) {
          const v = load<f32>(xt + (<usize>k << 2));
          const wk = wj + (<usize>k << 2);
          ai += v * load<f32>(wk);
          ao += v * load<f32>(wk + gw);
          af += v * load<f32>(wk + gw2);
          ac += v * load<f32>(wk + gw3);
        }
        for (let k = 0; k < H; k++) {
          const v = load<f32>(hp + (<usize>k << 2));
          const rk = rj + (<usize>k << 2);
          ai += v * load<f32>(rk);
          ao += v * load<f32>(rk + gr);
          af += v * load<f32>(rk + gr2);
          ac += v * load<f32>(rk + gr3);
        }
        const cp = load<f32>(cb + jo);
        if (p != 0) {
          ai += load<f32>(p + jo) * cp;
          af += load<f32>(p + h8 + jo) * cp;
        }
        const ig = act(kf, clipc(ai, clip), fa, fb);
        const fg: f32 = coupled ? <f32>1 - ig : act(kf, clipc(af, clip), fa, fb);
        const gg = act(kg, clipc(ac, clip), ga, gb);
        const c = fg * cp + ig * gg;
        store<f32>(cb + jo, c);
        if (p != 0) ao += load<f32>(p + h4 + jo) * c;
        store<f32>(ho + jo, act(kf, clipc(ao, clip), fa, fb) * act(kh, c, ha, hb));
        wj += i4;
        rj += h4;
      }
      hp = ho;
      xt += dx;
      yt += dy;
    }
    finishEntry(yb, yh != 0 ? yh + so : 0, hp, L, T, ys, h4, 0);
    keepH(stream, sp, hp, h4);
    if (stream != 0 && yc != 0) memory.copy(yc + so, cb, h4);
    xb += <usize>xbs << 2;
    if (y != 0) yb += <usize>ybs << 2;
    so += <usize>sbs << 2;
    sp += eb;
    lp += 4;
  }
}

// int8 weights and input, int16 h (Q0.15) and c (Q(15-cf).cf), int8 outputs; the formats
// and the cell are defined in compiler/ops/recurrent-int.ts and lstm.ts. Per batch entry
// and step, unit j's four gate rows are summed in int32 (x - zx) * w and h * r, rescaled to
// Q3.12, passed through the tables, and c and h updated as the interpreter does. The
// scratch `st` holds three int16 H-vectors (per batch entry when streaming): h (ping-pong,
// two) and c. HI, HH as in lstm_f32.
// Units [j0, j1) of each step (all of them but in an --intermittent tile of one step's
// units): a call that stops short of unit H leaves the step unfinished, h_{t-1} in the first
// scratch vector and the new h of its units in the second, for the call of the next units
// (streaming mode 2) to finish; after a complete step the new h is in the first.
export function lstm_s8(
  x: usize, w: usize, r: usize, wm: usize, ws: usize, rm: usize, rs: usize, bx: usize, bh: usize,
  zx: i32, clip: i32, tsig: usize, ttanh: usize, h0k: i32, h0: usize, h0z: i32, h0m: i32, h0s: i32,
  lens: usize, y: usize, yz: i32, ym: i32, ys: i32, yh: usize, yhz: i32, yhm: i32, yhs: i32, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  c0k: i32, c0: usize, c0z: i32, c0m: i32, c0s: i32, yc: usize, ycz: i32, ycm: i32, ycs: i32, cf: i32, coupled: i32,
  stream: i32, HI: i32, HH: i32, j0: i32, j1: i32,
): void {
  const hb = <usize>H << 1; // bytes of one int16 H-vector
  const gw = <usize>HI, gw2 = gw << 1, gw3 = gw2 + gw; // gate row blocks of W and R (int8)
  const gr = <usize>HH, gr2 = gr << 1, gr3 = gr2 + gr;
  const g4 = <usize>H << 2, g8 = g4 << 1, g12 = g8 + g4; // gate blocks of the int32 parameter vectors
  const eb = entryBytes(stream, hb);
  const dx = stepBy(<usize>xts, rev), dy = stepBy(<usize>yts, rev);
  let xb = x, yb = y, sp = st, so = 0, lp = lens;
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lp) : T;
    const cb = sp + (hb << 1);
    if (stream != 2) {
      initState(sp, h0k, h0, so, h0z, h0m, h0s, H);
      initState(cb, c0k, c0, so, c0z, c0m, c0s, H);
    }
    let hp = sp, hn = sp + hb;
    let xt = xb, yt = yb;
    if (rev) { xt = advance(xt, <usize>xts, L - 1); yt = advance(yt, <usize>yts, L - 1); }
    // the first unit's W and R rows (one multiply per call)
    const wj0 = w + <usize>j0 * <usize>I, rj0 = r + <usize>j0 * <usize>H;
    for (let s = 0; s < L; s++) {
      let wj = wj0, rj = rj0;
      for (let j = j0; j < j1; j++) {
        let xi = 0, xo = 0, xf = 0, xc = 0;
        for (let k = 0; k < I; k++) {
          const v = <i32>load<i8>(xt + <usize>k) - zx;
          const wk = wj + <usize>k;
          xi += v * <i32>load<i8>(wk);
          xo += v * <i32>load<i8>(wk + gw);
          xf += v * <i32>load<i8>(wk + gw2);
          xc += v * <i32>load<i8>(wk + gw3);
        }
        let hi = 0, ho = 0, hf = 0, hc = 0;
        for (let k = 0; k < H; k++) {
          const v = <i32>load<i16>(hp + (<usize>k << 1));
          const rk = rj + <usize>k;
          hi += v * <i32>load<i8>(rk);
          ho += v * <i32>load<i8>(rk + gr);
          hf += v * <i32>load<i8>(rk + gr2);
          hc += v * <i32>load<i8>(rk + gr3);
        }
        const o = <usize>j << 2;
        const ig = lut(tsig, gatePre(xi, hi, wm, ws, rm, rs, bx, o, clip));
        const fg = coupled ? 32768 - ig : lut(tsig, gatePre(xf, hf, wm, ws, rm, rs, bx, o + g8, clip));
        const gg = lut(ttanh, gatePre(xc, hc, wm, ws, rm, rs, bx, o + g12, clip));
        const cj = cb + (<usize>j << 1);
        const cn = sat16(i64(rdbpot(fg * <i32>load<i16>(cj), 15)) + i64(rdbpot(ig * gg, 30 - cf)));
        store<i16>(cj, <i16>cn);
        const cq = cf >= 12 ? rdbpot(cn, cf - 12) : sat16(i64(cn) << (12 - cf));
        const hv = mul15(lut(tsig, gatePre(xo, ho, wm, ws, rm, rs, bx, o + g4, clip)), lut(ttanh, cq));
        store<i16>(hn + (<usize>j << 1), <i16>hv);
        if (yb != 0) store<i8>(yt + <usize>j, out8(hv, yz, ym, ys));
        wj += <usize>I;
        rj += <usize>H;
      }
      if (j1 == H) { const tmp = hp; hp = hn; hn = tmp; } // the step is complete: its h is current
      xt += dx;
      yt += dy;
    }
    finishEntry(yb, 0, 0, L, T, <usize>yts, <usize>H, <u8>yz);
    storeOut(yh != 0 ? yh + <usize>so : 0, hp, H, yhz, yhm, yhs);
    storeOut(yc != 0 ? yc + <usize>so : 0, cb, H, ycz, ycm, ycs);
    keepH(stream, sp, hp, hb);
    xb += <usize>xbs;
    if (y != 0) yb += <usize>ybs;
    so += sbs;
    sp += eb;
    lp += 4;
  }
}
