// Convolution over NCHW tensors (1-D convolutions arrive with H = 1). The compiler picks one
// kernel per node at compile time (compiler/ops/conv.ts) and hands it tables built from the
// exact geometry, so the kernels do no division and no per-tap bounds checks: rows[oh] and
// cols[ow] (int32) hold the range [k0, k1) of kernel taps that land inside the input for that
// output row / column (k0 in bits 0-7, k1 in bits 8-15). Taps outside are skipped, which
// equals reading zeros (float) or the input zero point zx (int8).
//
// - conv_blk_* (conv-blk.ts): four output channels per pass (within a group), each input value loaded once
//   for the four; weights repacked at compile time to [group][block][KH][cg][KW][4] so that
//   the four weights of a tap are adjacent and read with immediate offsets. For each output
//   position and kernel row, the taps inside are taken in runs of up to three (dilation 1
//   along W, else one at a time), each run looping over the input channels with its taps
//   unrolled. Channels are padded to a multiple of four per group with zero weights; padded
//   channels are computed, never stored.
// - conv_dw_* (conv-dw.ts): one input channel per output channel (depthwise, or a single-channel input).
//   Kernels three taps wide get unrolled loops over runs of output positions that share
//   their taps (see dwk).
// - conv_pw_* (conv-pw.ts): 1x1, stride 1, no padding: four output channels by several positions per pass.
// - conv_f32 / conv_s8 (this file): the general fallback (weights or bias computed at run time, kernels
//   wider than 255 taps, int8 with too many taps per output for blk / pw's packing).
//
// int8: the kernels accumulate in int32 (or two int32 sums packed in an i64, see blk), add the
// int32 bias and requantize per output channel with a Q31 multiplier and shift. `requant` is an
// exact rewrite of mbqm (fixedpoint.ts), so every kernel is the integer interpreter's Conv, bit
// for bit. The zero point: sum (x - zx) * w = sum x * w - zx * sum w holds exactly in wrapping
// int32 arithmetic when both sums run over the same taps, so where all taps of an output are
// inside the input (all of a pointwise convolution, the interior of a depthwise one) the
// compiler folds -zx * sum w into the bias and the kernel multiplies raw inputs; elsewhere
// the kernel subtracts zx from each input it loads.
import { clampf, clampi, mbqm } from "../fixedpoint";
// The requantization and the other helpers the specialized kernels share are in
// runtime-as/conv-common.ts.
import { clampf, clampi, mbqm } from "../fixedpoint";
import { tapLo, tapHi } from "../window";

// General fallback: any geometry, original weight layout, tap ranges computed per position,
// int8 zero point subtracted per tap.

export function conv_f32(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32, lo: f32, hi: f32,
): void {
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

export function conv_s8(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
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
