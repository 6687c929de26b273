// Convolution over NCHW tensors (1-D convolutions arrive with H = 1), any stride, dilation,
// asymmetric padding and group count, depthwise included. Padded positions are skipped,
// which equals reading zeros (float) or the input zero point (int8): for each output row
// and column the range of kernel taps that land inside the input is computed once, so the
// inner loops carry no bounds checks. Pointwise convolutions (1x1, stride 1, no padding,
// one group) take a path that computes four output channels per input load.
// The int8 kernels accumulate (x - zx) * w in int32, add the int32 bias and requantize per
// output channel with a Q31 multiplier and shift: the integer interpreter's Conv, bit for bit.
import { clampf, clampi, mbqm } from "../fixedpoint";

/** First kernel tap whose input index o*s - p + k*d is >= 0. */
@inline function tapLo(base: i32, d: i32): i32 {
  return base >= 0 ? 0 : (-base + d - 1) / d;
}
/** One past the last kernel tap whose input index is < size (at most K). */
@inline function tapHi(base: i32, d: i32, size: i32, K: i32): i32 {
  if (base >= size) return 0;
  const n = (size - base + d - 1) / d;
  return n < K ? n : K;
}

export function conv_f32(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32, lo: f32, hi: f32,
): void {
  if (KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && G == 1 && OH == H && OW == W) {
    pointwise_f32(x, w, b, y, N, C, H * W, M, lo, hi);
    return;
  }
  const cg = C / G, mg = M / G;
  const HW = H * W, KK = KH * KW;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const xg = x + (<usize>((n * C + (m / mg) * cg) * HW) << 2);
      const bias: f32 = b != 0 ? load<f32>(b + (<usize>m << 2)) : 0;
      const wm = w + (<usize>(m * cg * KK) << 2);
      let yo = y + (<usize>((n * M + m) * OH * OW) << 2);
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - pt;
        const kh0 = tapLo(ih0, dh), kh1 = tapHi(ih0, dh, H, KH);
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pl;
          const kw0 = tapLo(iw0, dw), kw1 = tapHi(iw0, dw, W, KW);
          let acc: f32 = bias;
          for (let c = 0; c < cg; c++) {
            const xc = xg + (<usize>(c * HW + iw0) << 2);
            const wc = wm + (<usize>(c * KK) << 2);
            for (let kh = kh0; kh < kh1; kh++) {
              const xr = xc + (<usize>((ih0 + kh * dh) * W) << 2);
              const wr = wc + (<usize>(kh * KW) << 2);
              for (let kw = kw0; kw < kw1; kw++) {
                acc += load<f32>(xr + (<usize>(kw * dw) << 2)) * load<f32>(wr + (<usize>kw << 2));
              }
            }
          }
          store<f32>(yo, clampf(acc, lo, hi));
          yo += 4;
        }
      }
    }
  }
}

function pointwise_f32(x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, lo: f32, hi: f32): void {
  const cstride = <usize>P << 2;
  for (let n = 0; n < N; n++) {
    const xn = x + (<usize>(n * C * P) << 2);
    const yn = y + (<usize>(n * M * P) << 2);
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const w0 = w + (<usize>(m * C) << 2), w1 = w0 + (<usize>C << 2), w2 = w1 + (<usize>C << 2), w3 = w2 + (<usize>C << 2);
      const b0: f32 = b != 0 ? load<f32>(b + (<usize>m << 2)) : 0;
      const b1: f32 = b != 0 ? load<f32>(b + (<usize>(m + 1) << 2)) : 0;
      const b2: f32 = b != 0 ? load<f32>(b + (<usize>(m + 2) << 2)) : 0;
      const b3: f32 = b != 0 ? load<f32>(b + (<usize>(m + 3) << 2)) : 0;
      for (let p = 0; p < P; p++) {
        let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
        let xp = xn + (<usize>p << 2);
        for (let c = 0; c < C; c++) {
          const v = load<f32>(xp);
          const o = <usize>c << 2;
          a0 += v * load<f32>(w0 + o);
          a1 += v * load<f32>(w1 + o);
          a2 += v * load<f32>(w2 + o);
          a3 += v * load<f32>(w3 + o);
          xp += cstride;
        }
        const yp = yn + (<usize>(m * P + p) << 2);
        store<f32>(yp, clampf(a0, lo, hi));
        store<f32>(yp + cstride, clampf(a1, lo, hi));
        store<f32>(yp + 2 * cstride, clampf(a2, lo, hi));
        store<f32>(yp + 3 * cstride, clampf(a3, lo, hi));
      }
    }
    for (; m < M; m++) {
      const wm = w + (<usize>(m * C) << 2);
      const bias: f32 = b != 0 ? load<f32>(b + (<usize>m << 2)) : 0;
      for (let p = 0; p < P; p++) {
        let acc = bias;
        let xp = xn + (<usize>p << 2);
        for (let c = 0; c < C; c++) {
          acc += load<f32>(xp) * load<f32>(wm + (<usize>c << 2));
          xp += cstride;
        }
        store<f32>(yn + (<usize>(m * P + p) << 2), clampf(acc, lo, hi));
      }
    }
  }
}

export function conv_s8(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  if (KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && G == 1 && OH == H && OW == W) {
    pointwise_s8(x, w, b, y, N, C, H * W, M, zx, zy, mult, shift, qmin, qmax);
    return;
  }
  const cg = C / G, mg = M / G;
  const HW = H * W, KK = KH * KW;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const xg = x + <usize>((n * C + (m / mg) * cg) * HW);
      const bias = load<i32>(b + (<usize>m << 2));
      const mm = load<i32>(mult + (<usize>m << 2));
      const ms = load<i32>(shift + (<usize>m << 2));
      const wm = w + <usize>(m * cg * KK);
      let yo = y + <usize>((n * M + m) * OH * OW);
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - pt;
        const kh0 = tapLo(ih0, dh), kh1 = tapHi(ih0, dh, H, KH);
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pl;
          const kw0 = tapLo(iw0, dw), kw1 = tapHi(iw0, dw, W, KW);
          let acc: i32 = bias;
          for (let c = 0; c < cg; c++) {
            const xc = xg + <usize>(c * HW + iw0);
            const wc = wm + <usize>(c * KK);
            for (let kh = kh0; kh < kh1; kh++) {
              const xr = xc + <usize>((ih0 + kh * dh) * W);
              const wr = wc + <usize>(kh * KW);
              for (let kw = kw0; kw < kw1; kw++) {
                acc += (i32(load<i8>(xr + <usize>(kw * dw))) - zx) * i32(load<i8>(wr + <usize>kw));
              }
            }
          }
          store<i8>(yo, i8(clampi(mbqm(acc, mm, ms) + zy, qmin, qmax)));
          yo += 1;
        }
      }
    }
  }
}

function pointwise_s8(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const cstride = <usize>P;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * C * P);
    const yn = y + <usize>(n * M * P);
    let m = 0;
    for (; m + 4 <= M; m += 4) {
      const w0 = w + <usize>(m * C), w1 = w0 + <usize>C, w2 = w1 + <usize>C, w3 = w2 + <usize>C;
      const bb = b + (<usize>m << 2), mb = mult + (<usize>m << 2), sb = shift + (<usize>m << 2);
      for (let p = 0; p < P; p++) {
        let a0 = load<i32>(bb), a1 = load<i32>(bb, 4), a2 = load<i32>(bb, 8), a3 = load<i32>(bb, 12);
        let xp = xn + <usize>p;
        for (let c = 0; c < C; c++) {
          const v = i32(load<i8>(xp)) - zx;
          const o = <usize>c;
          a0 += v * i32(load<i8>(w0 + o));
          a1 += v * i32(load<i8>(w1 + o));
          a2 += v * i32(load<i8>(w2 + o));
          a3 += v * i32(load<i8>(w3 + o));
          xp += cstride;
        }
        const yp = yn + <usize>(m * P + p);
        store<i8>(yp, i8(clampi(mbqm(a0, load<i32>(mb), load<i32>(sb)) + zy, qmin, qmax)));
        store<i8>(yp + cstride, i8(clampi(mbqm(a1, load<i32>(mb, 4), load<i32>(sb, 4)) + zy, qmin, qmax)));
        store<i8>(yp + 2 * cstride, i8(clampi(mbqm(a2, load<i32>(mb, 8), load<i32>(sb, 8)) + zy, qmin, qmax)));
        store<i8>(yp + 3 * cstride, i8(clampi(mbqm(a3, load<i32>(mb, 12), load<i32>(sb, 12)) + zy, qmin, qmax)));
      }
    }
    for (; m < M; m++) {
      const wm = w + <usize>(m * C);
      const bias = load<i32>(b + (<usize>m << 2));
      const mm = load<i32>(mult + (<usize>m << 2)), ms = load<i32>(shift + (<usize>m << 2));
      for (let p = 0; p < P; p++) {
        let acc = bias;
        let xp = xn + <usize>p;
        for (let c = 0; c < C; c++) {
          acc += (i32(load<i8>(xp)) - zx) * i32(load<i8>(wm + <usize>c));
          xp += cstride;
        }
        store<i8>(yn + <usize>(m * P + p), i8(clampi(mbqm(acc, mm, ms) + zy, qmin, qmax)));
      }
    }
  }
}
