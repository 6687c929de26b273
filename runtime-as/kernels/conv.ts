// Convolution over NCHW tensors (1-D convolutions arrive with H = 1). The compiler picks one
// kernel per node at compile time (compiler/ops/conv.ts) and hands it tables built from the
// exact geometry, so the kernels do no division and no per-tap bounds checks: rows[oh] and
// cols[ow] (int32) hold the range [k0, k1) of kernel taps that land inside the input for that
// output row / column (k0 in bits 0-7, k1 in bits 8-15; cols also the input column of tap k0
// in bits 16-31, so W is at most 65536). Taps outside are skipped, which equals reading zeros
// (float) or the input zero point zx (int8).
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
// The requantization and the other helpers the specialized kernels share are in
// runtime-as/conv-common.ts.
import { clampf, clampi, mbqm } from "../fixedpoint";
import { tapHi } from "../window";
import { xv } from "../conv-common";

// General fallback: any geometry, original weight layout [M][cg][KH][KW], tap ranges computed
// per position, int8 zero point subtracted per tap. Every address is a running pointer: the
// products of geometry it needs (HW = H W, KK = KH KW, cgHW = cg H W, cgKK = cg KH KW,
// shW = sh W, dhW = dh W, ptW = pt W) come from the compiler, and the first tap inside the
// input is reached by stepping over the taps before it (only at the borders), so the only
// multiplies are the MACs and (int8) one requantization per output.
function gen<T, A>(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, KK: i32, cgHW: i32, cgKK: i32, shW: i32, dhW: i32, ptW: i32,
  lo: f32, hi: f32, zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const S = sizeof<T>();
  const cg = C / G, mg = M / G;
  const HWS = <usize>HW * S, KKS = <usize>KK * S, cgHWS = <usize>cgHW * S, cgKKS = <usize>cgKK * S;
  const shWS = <usize>shW * S, dhWS = <usize>dhW * S, ptWS = <usize>ptW * S;
  const KWS = <usize>KW * S, dwS = <usize>dw * S, swS = <usize>sw * S, plS = <usize>pl * S;
  const z = <A>zx;
  let xg = x, yo = y;
  for (let n = 0; n < N; n++) {
    let wm = w, bp = b, mp = mult, sp = shift;
    for (let g = 0; g < G; g++) {
      for (let j = 0; j < mg; j++) {
        let bias: A = <A>0, mm = 0, ms = 0;
        if (b != 0) bias = load<A>(bp);
        bp += 4;
        if (isInteger<T>()) {
          mm = load<i32>(mp); ms = load<i32>(sp);
          mp += 4; sp += 4;
        }
        // rowb: input row oh sh - pt (tap 0, maybe outside)
        let ih0 = -pt, rowb = xg - ptWS;
        for (let oh = 0; oh < OH; oh++) {
          let ih = ih0, kh0 = 0, xr0 = rowb, wr0 = wm;
          while (ih < 0) { ih += dh; kh0++; xr0 += dhWS; wr0 += KWS; }
          const nh = tapHi(ih0, dh, H, KH) - kh0;
          // colb: input column ow sw - pl of the first row inside
          let iw0 = -pl, colb = xr0 - plS;
          for (let ow = 0; ow < OW; ow++) {
            let iw = iw0, kw0 = 0, xc = colb, wc = wr0;
            while (iw < 0) { iw += dw; kw0++; xc += dwS; wc += S; }
            const nw = tapHi(iw0, dw, W, KW) - kw0;
            let acc: A = bias;
            if (nh > 0 && nw > 0) {
              const nwS = <usize>nw * S;
              let c = cg;
              do {
                let xr = xc, wr = wc, kh = nh;
                do {
                  let xp = xr, wp = wr;
                  const we = wr + nwS;
                  do {
                    acc += xv<T, A>(load<T>(xp), z) * <A>load<T>(wp);
                    xp += dwS; wp += S;
                  } while (wp != we);
                  xr += dhWS; wr += KWS;
                } while (--kh > 0);
                xc += HWS; wc += KKS;
              } while (--c > 0);
            }
            if (isFloat<T>()) store<f32>(yo, clampf(<f32>acc, lo, hi));
            else store<i8>(yo, i8(clampi(mbqm(<i32>acc, mm, ms) + zy, qmin, qmax)));
            yo += S;
            iw0 += sw; colb += swS;
          }
          ih0 += sh; rowb += shWS;
        }
        wm += cgKKS;
      }
      xg += cgHWS;
    }
  }
}

export function conv_f32(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, KK: i32, cgHW: i32, cgKK: i32, shW: i32, dhW: i32, ptW: i32, lo: f32, hi: f32,
): void {
  gen<f32, f32>(x, w, b, y, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, HW, KK, cgHW, cgKK, shW, dhW, ptW, lo, hi, 0, 0, 0, 0, 0, 0);
}

export function conv_s8(
  x: usize, w: usize, b: usize, y: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, KK: i32, cgHW: i32, cgKK: i32, shW: i32, dhW: i32, ptW: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  gen<i8, i32>(x, w, b, y, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, HW, KK, cgHW, cgKK, shW, dhW, ptW, 0, 0, zx, zy, mult, shift, qmin, qmax);
}
