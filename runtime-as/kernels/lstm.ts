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
import { act, clipc, entryBytes, finishEntry, hOut, initVec, keepH } from "./rnn";
import { rdbpot } from "../fixedpoint";
import { gatePre, initState, lut, mul15, out8, sat16, storeOut } from "../rec16";

export function lstm_f32(
  x: usize, w: usize, r: usize, bias: usize, p: usize, h0: usize, c0: usize, yc: usize,
  lens: usize, y: usize, yh: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  kf: i32, fa: f32, fb: f32, kg: i32, ga: f32, gb: f32, kh: i32, ha: f32, hb: f32,
  clip: f32, coupled: i32, stream: i32,
): void {
  const h4 = <usize>H << 2;
  const gw = <usize>(H * I) << 2, gw2 = gw * 2, gw3 = gw * 3; // gate row blocks of W
  const gr = <usize>(H * H) << 2, gr2 = gr * 2, gr3 = gr * 3; // and of R
  const b4 = h4 * 4; // Wb is 4H floats, then Rb
  const eb = entryBytes(stream, H, 4);
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lens + (<usize>b << 2)) : T;
    const so = <usize>(b * sbs) << 2;
    const xb = x + (<usize>(b * xbs) << 2);
    const yb = y != 0 ? y + (<usize>(b * ybs) << 2) : 0;
    const sp = st + <usize>b * eb;
    const cb = yc != 0 && stream == 0 ? yc + so : sp + 2 * h4;
    if (stream != 2) {
      initVec(sp, h0 != 0 ? h0 + so : 0, H);
      initVec(cb, c0 != 0 ? c0 + so : 0, H);
    }
    let hp = sp;
    for (let s = 0; s < L; s++) {
      const t = rev ? L - 1 - s : s;
      const xt = xb + (<usize>(t * xts) << 2);
      const ho = hOut(yb, t, yts, hp, sp, H);
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        const jo = <usize>j << 2;
        let ai: f32 = 0, ao: f32 = 0, af: f32 = 0, ac: f32 = 0;
        if (bias != 0) {
          const bj = bias + jo;
          ai = load<f32>(bj) + load<f32>(bj + b4);
          ao = load<f32>(bj + h4) + load<f32>(bj + b4 + h4);
          af = load<f32>(bj + 2 * h4) + load<f32>(bj + b4 + 2 * h4);
          ac = load<f32>(bj + 3 * h4) + load<f32>(bj + b4 + 3 * h4);
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
          af += load<f32>(p + 2 * h4 + jo) * cp;
        }
        const ig = act(kf, clipc(ai, clip), fa, fb);
        const fg: f32 = coupled ? <f32>1 - ig : act(kf, clipc(af, clip), fa, fb);
        const gg = act(kg, clipc(ac, clip), ga, gb);
        const c = fg * cp + ig * gg;
        store<f32>(cb + jo, c);
        if (p != 0) ao += load<f32>(p + h4 + jo) * c;
        store<f32>(ho + jo, act(kf, clipc(ao, clip), fa, fb) * act(kh, c, ha, hb));
        wj += <usize>I << 2;
        rj += h4;
      }
      hp = ho;
    }
    finishEntry(yb, yh != 0 ? yh + so : 0, hp, L, T, yts, H);
    keepH(stream, sp, hp, h4);
    if (stream != 0 && yc != 0) memory.copy(yc + so, cb, h4);
  }
}

// int8 weights and input, int16 h (Q0.15) and c (Q(15-cf).cf), int8 outputs; the formats
// and the cell are defined in compiler/ops/recurrent-int.ts and lstm.ts. Per batch entry
// and step, unit j's four gate rows are summed in int32 (x - zx) * w and h * r, rescaled to
// Q3.12, passed through the tables, and c and h updated as the interpreter does. The
// scratch `st` holds three int16 H-vectors (per batch entry when streaming): h (ping-pong,
// two) and c.
export function lstm_s8(
  x: usize, w: usize, r: usize, wm: usize, ws: usize, rm: usize, rs: usize, bx: usize, bh: usize,
  zx: i32, clip: i32, tsig: usize, ttanh: usize, h0k: i32, h0: usize, h0z: i32, h0m: i32, h0s: i32,
  lens: usize, y: usize, yz: i32, ym: i32, ys: i32, yh: usize, yhz: i32, yhm: i32, yhs: i32, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  c0k: i32, c0: usize, c0z: i32, c0m: i32, c0s: i32, yc: usize, ycz: i32, ycm: i32, ycs: i32, cf: i32, coupled: i32,
  stream: i32,
): void {
  const hb = <usize>H << 1; // bytes of one int16 H-vector
  const gw = <usize>(H * I), gr = <usize>(H * H); // gate row blocks of W and R (int8)
  const g4 = <usize>H << 2; // gate blocks of the int32 parameter vectors
  const eb = entryBytes(stream, H, 2);
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lens + (<usize>b << 2)) : T;
    const so = b * sbs;
    const sp = st + <usize>b * eb;
    const cb = sp + 2 * hb;
    if (stream != 2) {
      initState(sp, h0k, h0, so, h0z, h0m, h0s, H);
      initState(cb, c0k, c0, so, c0z, c0m, c0s, H);
    }
    let hp = sp, hn = sp + hb;
    const xb = x + <usize>(b * xbs);
    const yb = y != 0 ? y + <usize>(b * ybs) : 0;
    for (let s = 0; s < L; s++) {
      const t = rev ? L - 1 - s : s;
      const xt = xb + <usize>(t * xts);
      let wj = w, rj = r;
      for (let j = 0; j < H; j++) {
        let xi = 0, xo = 0, xf = 0, xc = 0;
        for (let k = 0; k < I; k++) {
          const v = <i32>load<i8>(xt + <usize>k) - zx;
          const wk = wj + <usize>k;
          xi += v * <i32>load<i8>(wk);
          xo += v * <i32>load<i8>(wk + gw);
          xf += v * <i32>load<i8>(wk + 2 * gw);
          xc += v * <i32>load<i8>(wk + 3 * gw);
        }
        let hi = 0, ho = 0, hf = 0, hc = 0;
        for (let k = 0; k < H; k++) {
          const v = <i32>load<i16>(hp + (<usize>k << 1));
          const rk = rj + <usize>k;
          hi += v * <i32>load<i8>(rk);
          ho += v * <i32>load<i8>(rk + gr);
          hf += v * <i32>load<i8>(rk + 2 * gr);
          hc += v * <i32>load<i8>(rk + 3 * gr);
        }
        const o = <usize>j << 2;
        const ig = lut(tsig, gatePre(xi, hi, wm, ws, rm, rs, bx, o, clip));
        const fg = coupled ? 32768 - ig : lut(tsig, gatePre(xf, hf, wm, ws, rm, rs, bx, o + 2 * g4, clip));
        const gg = lut(ttanh, gatePre(xc, hc, wm, ws, rm, rs, bx, o + 3 * g4, clip));
        const cj = cb + (<usize>j << 1);
        const cn = sat16(i64(rdbpot(fg * <i32>load<i16>(cj), 15)) + i64(rdbpot(ig * gg, 30 - cf)));
        store<i16>(cj, <i16>cn);
        const cq = cf >= 12 ? rdbpot(cn, cf - 12) : sat16(i64(cn) << (12 - cf));
        const hv = mul15(lut(tsig, gatePre(xo, ho, wm, ws, rm, rs, bx, o + g4, clip)), lut(ttanh, cq));
        store<i16>(hn + (<usize>j << 1), <i16>hv);
        if (yb != 0) store<i8>(yb + <usize>(t * yts + j), out8(hv, yz, ym, ys));
        wj += <usize>I;
        rj += <usize>H;
      }
      const tmp = hp; hp = hn; hn = tmp;
    }
    if (yb != 0) for (let t = L; t < T; t++) memory.fill(yb + <usize>(t * yts), <u8>yz, <usize>H);
    storeOut(yh != 0 ? yh + <usize>so : 0, hp, H, yhz, yhm, yhs);
    storeOut(yc != 0 ? yc + <usize>so : 0, cb, H, ycz, ycm, ycs);
    keepH(stream, sp, hp, hb);
  }
}
