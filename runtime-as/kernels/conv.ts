// Convolution over NCHW tensors (1-D convolutions arrive with H = 1), any stride, dilation,
// asymmetric padding and group count, depthwise included. Padded positions are skipped,
// which equals reading zeros (float) or the input zero point (int8). The int8 kernel
// accumulates (x - zx) * w in int32, adds the int32 bias and requantizes per output channel
// with a Q31 multiplier and shift: the integer interpreter's Conv, bit for bit.
import { clampf, clampi, mbqm } from "../fixedpoint";

export function conv_f32(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32, lo: f32, hi: f32,
): void {
  const cg = C / G, mg = M / G;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const c0 = (m / mg) * cg;
      const bias: f32 = b != 0 ? load<f32>(b + (<usize>m << 2)) : 0;
      const wm = w + (<usize>(m * cg * KH * KW) << 2);
      const yo = y + (<usize>((n * M + m) * OH * OW) << 2);
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - pt;
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pl;
          let acc: f32 = bias;
          for (let c = 0; c < cg; c++) {
            const xc = x + (<usize>((n * C + c0 + c) * H * W) << 2);
            const wc = wm + (<usize>(c * KH * KW) << 2);
            for (let kh = 0; kh < KH; kh++) {
              const ih = ih0 + kh * dh;
              if (<u32>ih >= <u32>H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = iw0 + kw * dw;
                if (<u32>iw >= <u32>W) continue;
                acc += load<f32>(xc + (<usize>(ih * W + iw) << 2)) * load<f32>(wc + (<usize>(kh * KW + kw) << 2));
              }
            }
          }
          store<f32>(yo + (<usize>(oh * OW + ow) << 2), clampf(acc, lo, hi));
        }
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
  const cg = C / G, mg = M / G;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const c0 = (m / mg) * cg;
      const bias = load<i32>(b + (<usize>m << 2));
      const mm = load<i32>(mult + (<usize>m << 2));
      const ms = load<i32>(shift + (<usize>m << 2));
      const wm = w + <usize>(m * cg * KH * KW);
      const yo = y + <usize>((n * M + m) * OH * OW);
      for (let oh = 0; oh < OH; oh++) {
        const ih0 = oh * sh - pt;
        for (let ow = 0; ow < OW; ow++) {
          const iw0 = ow * sw - pl;
          let acc: i32 = bias;
          for (let c = 0; c < cg; c++) {
            const xc = x + <usize>((n * C + c0 + c) * H * W);
            const wc = wm + <usize>(c * KH * KW);
            for (let kh = 0; kh < KH; kh++) {
              const ih = ih0 + kh * dh;
              if (<u32>ih >= <u32>H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = iw0 + kw * dw;
                if (<u32>iw >= <u32>W) continue;
                acc += (i32(load<i8>(xc + <usize>(ih * W + iw))) - zx) * i32(load<i8>(wc + <usize>(kh * KW + kw)));
              }
            }
          }
          store<i8>(yo + <usize>(oh * OW + ow), i8(clampi(mbqm(acc, mm, ms) + zy, qmin, qmax)));
        }
      }
    }
  }
}
