// GRU (ONNX gate order z, r, h), float32, the whole sequence of one direction in one call:
//   z = f(clip(Wz x + Rz h + Wbz + Rbz)), r = f(clip(Wr x + Rr h + Wbr + Rbr))
//   linear_before_reset = 0: n = g(clip(Wh x + Rh (r * h) + Rbh + Wbh))
//   linear_before_reset = 1: n = g(clip(Wh x + Wbh + r * (Rh h + Rbh)))   (PyTorch's GRU)
//   h' = (1 - z) n + z h
// With linear_before_reset = 1 every unit is one pass over x_t and one over h_{t-1} for its
// three gates. With 0, n needs the whole vector r * h first: a first pass computes r for
// every unit into the third H-vector of the scratch region `st` (as r * h), the second pass
// computes z and n. h follows rnn.ts (Y's previous step, or two scratch vectors).
import { act, clipc, finishEntry, hOut, initVec } from "./rnn";

export function gru_f32(
  x: usize, w: usize, r: usize, bias: usize, h0: usize,
  lens: usize, y: usize, yh: usize, st: usize,
  T: i32, B: i32, I: i32, H: i32, rev: i32, xts: i32, xbs: i32, yts: i32, ybs: i32, sbs: i32,
  kf: i32, fa: f32, fb: f32, kg: i32, ga: f32, gb: f32, clip: f32, lbr: i32,
): void {
  const h4 = <usize>H << 2, i4 = <usize>I << 2;
  const gw = <usize>(H * I) << 2, gw2 = gw * 2; // gate row blocks of W
  const gr = <usize>(H * H) << 2, gr2 = gr * 2; // and of R
  const b3 = h4 * 3; // Wb is 3H floats, then Rb
  const rh = st + 2 * h4;
  for (let b = 0; b < B; b++) {
    const L = lens != 0 ? load<i32>(lens + (<usize>b << 2)) : T;
    const so = <usize>(b * sbs) << 2;
    const xb = x + (<usize>(b * xbs) << 2);
    const yb = y != 0 ? y + (<usize>(b * ybs) << 2) : 0;
    initVec(st, h0 != 0 ? h0 + so : 0, H);
    let hp = st;
    for (let s = 0; s < L; s++) {
      const t = rev ? L - 1 - s : s;
      const xt = xb + (<usize>(t * xts) << 2);
      const ho = hOut(yb, t, yts, hp, st, H);
      if (lbr != 0) {
        let wj = w, rj = r;
        for (let j = 0; j < H; j++) {
          const jo = <usize>j << 2;
          let az: f32 = 0, ar: f32 = 0, ax: f32 = 0, ah: f32 = 0;
          if (bias != 0) {
            const bj = bias + jo;
            az = load<f32>(bj) + load<f32>(bj + b3);
            ar = load<f32>(bj + h4) + load<f32>(bj + b3 + h4);
            ax = load<f32>(bj + 2 * h4);
            ah = load<f32>(bj + b3 + 2 * h4);
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
            const bj = bias + jo;
            az = load<f32>(bj) + load<f32>(bj + b3);
            an = load<f32>(bj + 2 * h4) + load<f32>(bj + b3 + 2 * h4);
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
    }
    finishEntry(yb, yh != 0 ? yh + so : 0, hp, L, T, yts, H);
  }
}
