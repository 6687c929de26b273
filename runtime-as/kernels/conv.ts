// Convolution over NCHW tensors (1-D convolutions arrive with H = 1). The compiler picks one
// kernel per node at compile time (compiler/ops/conv.ts) and hands it tables built from the
// exact geometry, so the kernels do no division and no per-tap bounds checks: rows[oh] and
// cols[ow] (int32) hold the range [k0, k1) of kernel taps that land inside the input for that
// output row / column (k0 in bits 0-7, k1 in bits 8-15). Taps outside are skipped, which
// equals reading zeros (float) or the input zero point zx (int8).
//
// - conv_blk_*: four output channels per pass (within a group), each input value loaded once
//   for the four; weights repacked at compile time to [group][block][KH][cg][KW][4] so that
//   the four weights of a tap are adjacent and read with immediate offsets. For each output
//   position and kernel row, the taps inside are taken in runs of up to three (dilation 1
//   along W, else one at a time), each run looping over the input channels with its taps
//   unrolled. Channels are padded to a multiple of four per group with zero weights; padded
//   channels are computed, never stored.
// - conv_dw_*: one input channel per output channel (depthwise, or a single-channel input).
//   Kernels three taps wide get unrolled loops over runs of output positions that share
//   their taps (see dwk).
// - conv_pw_*: 1x1, stride 1, no padding: four output channels by several positions per pass.
// - conv_f32 / conv_s8: the general fallback (weights or bias computed at run time, kernels
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

// ---------------------------------------------------------------------------------------
// Requantization. mbqm(acc, mult, shift) = rdbpot(srdhm(acc << left, mult), e) with
// left = max(shift, 0), e = max(-shift, 0) and mult in {0} U [2^30, 2^31) (never INT32_MIN, so
// srdhm never saturates). With t = (acc << left) * mult in int64, srdhm = floor((t + 2^30) /
// 2^31), and rdbpot(q, e) = floor((q + 2^(e-1) - [q < 0]) / 2^e) for e >= 1 (q for e = 0).
// Nested floor divisions compose, and [q < 0] may be replaced by [t < 0] (when they differ,
// 0 <= t + 2^30 < 2^30 and both forms give 0), so
//   mbqm = (t + 2^30 + [e >= 1] * (2^(30+e) - [t < 0] * 2^31)) >> (31 + e)
// in int64 without overflow (|t| <= 2^62). The per-channel constants come from rq* once per
// channel (or block of four channels), outside the position loops.
@inline function rqLeft(shift: i32): i32 {
  return shift > 0 ? shift : 0;
}
@inline function rqAdd(shift: i32): i64 {
  return shift >= 0 ? i64(1) << 30 : (i64(1) << 30) + (i64(1) << i64(30 - shift));
}
@inline function rqNeg(shift: i32): i64 {
  return shift >= 0 ? 0 : -(i64(1) << 31);
}
@inline function rqShr(shift: i32): i64 {
  return shift >= 0 ? 31 : i64(31 - shift);
}
@inline function requant(acc: i32, left: i32, mult: i64, add: i64, neg: i64, shr: i64): i32 {
  const t = i64(acc << left) * mult;
  return <i32>((t + add + ((t >> 63) & neg)) >> shr);
}

/** Stores one output: float clamp (f32.max/min) or int8 requantization, zero point and clamp. */
@inline function put<T, A>(p: usize, acc: A, lo: f32, hi: f32, zy: i32, qmin: i32, qmax: i32,
  left: i32, mult: i64, add: i64, neg: i64, shr: i64): void {
  if (isFloat<T>()) store<f32>(p, min(max(<f32>acc, lo), hi));
  else store<i8>(p, <i8>clampi(requant(<i32>acc, left, mult, add, neg, shr) + zy, qmin, qmax));
}

/** An input as a factor: int8 minus the zero point z, float as is. */
@inline function xv<T, A>(v: T, z: A): A {
  if (isFloat<T>()) return <A>v;
  return <A>v - z;
}

/** Sum over k >= 1 taps of one kernel row: inputs at x + i * dwS, weights contiguous at w. */
@inline function rowDot<T, A>(x: usize, w: usize, k: i32, dw1: bool, dwS: usize, z: A): A {
  const S = sizeof<T>();
  let s: A = <A>0;
  do {
    if (dw1 && k >= 3) {
      s += xv<T, A>(load<T>(x), z) * <A>load<T>(w) + xv<T, A>(load<T>(x, S), z) * <A>load<T>(w, S) + xv<T, A>(load<T>(x, 2 * S), z) * <A>load<T>(w, 2 * S);
      x += 3 * S; w += 3 * S; k -= 3;
    } else if (dw1 && k == 2) {
      s += xv<T, A>(load<T>(x), z) * <A>load<T>(w) + xv<T, A>(load<T>(x, S), z) * <A>load<T>(w, S);
      k = 0;
    } else {
      s += xv<T, A>(load<T>(x), z) * <A>load<T>(w);
      x += dwS; w += S; k -= 1;
    }
  } while (k > 0);
  return s;
}

/** Sum over n <= 3 adjacent taps (dilation 1) of one kernel row. */
@inline function row3<T, A>(x: usize, w: usize, n: i32, z: A): A {
  const S = sizeof<T>();
  if (n >= 3) return xv<T, A>(load<T>(x), z) * <A>load<T>(w) + xv<T, A>(load<T>(x, S), z) * <A>load<T>(w, S) + xv<T, A>(load<T>(x, 2 * S), z) * <A>load<T>(w, 2 * S);
  if (n == 2) return xv<T, A>(load<T>(x), z) * <A>load<T>(w) + xv<T, A>(load<T>(x, S), z) * <A>load<T>(w, S);
  if (n == 1) return xv<T, A>(load<T>(x), z) * <A>load<T>(w);
  return <A>0;
}

// ---------------------------------------------------------------------------------------
// Four output channels per pass.
//
// int8 also computes two output positions per pass: the two inputs of a tap, minus the zero
// point, are packed into one i64, (x - zx) + (x' - zx) * 2^32, and one i64 multiply by the
// sign-extended weight makes both products. Summed in i64 they give S + S' * 2^32 for the two
// positions' sums; with |(x - zx) * w| < 2^15 and fewer than 2^16 taps per output (the compiler
// checks cg * KH * KW), |S| < 2^31, so the low half is exactly S and (sum + 2^31) >> 32 is
// exactly S'. The two positions are (oh, ow) and (oh + 1, ow) when rows oh and oh + 1 have
// the same taps (then every column of both rows pairs up), else (oh, ow) and (oh, ow + 1) when
// those columns have the same taps; otherwise the position is paired with itself and only the
// low half is stored.
function blk<T, A>(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  lo: f32, hi: f32, zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const S = sizeof<T>();
  const cg = C / G, mg = M / G, nbg = (mg + 3) >> 2;
  const HWS = <usize>(H * W) * S, O1 = <usize>(OH * OW) * S, O2 = O1 + O1, O3 = O2 + O1;
  const cgHWS = <usize>cg * HWS, WS = <usize>W * S, dhWS = <usize>dh * WS, OWS = <usize>OW * S;
  const wRow = <usize>(KW * 4) * S, wKh = <usize>(cg * KW * 4) * S, wBlk = <usize>KH * wKh;
  const dw1 = dw == 1, dwS = <usize>dw * S, swS = <usize>sw * S, shWS = <usize>sh * WS;
  const ZZ: i64 = i64(zx) + (i64(zx) << 32), HALF: i64 = i64(1) << 31;
  let b0: A = <A>0, b1: A = <A>0, b2: A = <A>0, b3: A = <A>0;
  let l0 = 0, l1 = 0, l2 = 0, l3 = 0;
  let m0: i64 = 0, m1: i64 = 0, m2: i64 = 0, m3: i64 = 0;
  let d0: i64 = 0, d1: i64 = 0, d2: i64 = 0, d3: i64 = 0;
  let n0: i64 = 0, n1: i64 = 0, n2: i64 = 0, n3: i64 = 0;
  let s0: i64 = 0, s1: i64 = 0, s2: i64 = 0, s3: i64 = 0;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * C + g * cg) * HWS;
      for (let jb = 0; jb < nbg; jb++) {
        const mp = (g * nbg + jb) << 2;
        const cnt = mg - (jb << 2);
        const wb = w + <usize>(g * nbg + jb) * wBlk;
        if (b != 0) {
          const bp = b + (<usize>mp << 2);
          b0 = <A>load<A>(bp); b1 = <A>load<A>(bp, 4); b2 = <A>load<A>(bp, 8); b3 = <A>load<A>(bp, 12);
        }
        if (isInteger<T>()) {
          const mq = mult + (<usize>mp << 2), sq = shift + (<usize>mp << 2);
          let t = load<i32>(sq);
          l0 = rqLeft(t); m0 = i64(load<i32>(mq)); d0 = rqAdd(t); n0 = rqNeg(t); s0 = rqShr(t);
          t = load<i32>(sq, 4);
          l1 = rqLeft(t); m1 = i64(load<i32>(mq, 4)); d1 = rqAdd(t); n1 = rqNeg(t); s1 = rqShr(t);
          t = load<i32>(sq, 8);
          l2 = rqLeft(t); m2 = i64(load<i32>(mq, 8)); d2 = rqAdd(t); n2 = rqNeg(t); s2 = rqShr(t);
          t = load<i32>(sq, 12);
          l3 = rqLeft(t); m3 = i64(load<i32>(mq, 12)); d3 = rqAdd(t); n3 = rqNeg(t); s3 = rqShr(t);
        }
        let yp = y + <usize>(n * M + g * mg + (jb << 2)) * O1;
        let oh = 0;
        do {
          const rt = load<i32>(rows + (<usize>oh << 2));
          const kh0 = rt & 255, kh1 = (rt >> 8) & 255;
          // input row of tap kh0, and its weights
          const xrow = xg + <usize>(oh * sh - pt + kh0 * dh) * WS;
          const wrow = wb + <usize>kh0 * wKh;
          const vert = isInteger<T>() && oh + 1 < OH && load<i32>(rows + (<usize>oh << 2), 4) == rt;
          let ow = 0;
          do {
            const ct = load<i32>(cols + (<usize>ow << 2));
            const kw0 = ct & 255, nk = ((ct >> 8) & 255) - kw0;
            let xr0 = xrow + <usize>(ow * sw - pl + kw0 * dw) * S;
            let wr0 = wrow + <usize>(kw0 * 4) * S;
            if (isFloat<T>()) {
              let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
              if (nk > 0) {
                for (let kh = kh0; kh < kh1; kh++) {
                  let xr = xr0, wr = wr0, k = nk;
                  do {
                    let xp = xr, wp = wr;
                    const xe = xr + cgHWS;
                    if (dw1 && k >= 3) {
                      do {
                        const v0 = <A>load<T>(xp), v1 = <A>load<T>(xp, S), v2 = <A>load<T>(xp, 2 * S);
                        a0 += v0 * <A>load<T>(wp) + v1 * <A>load<T>(wp, 4 * S) + v2 * <A>load<T>(wp, 8 * S);
                        a1 += v0 * <A>load<T>(wp, S) + v1 * <A>load<T>(wp, 5 * S) + v2 * <A>load<T>(wp, 9 * S);
                        a2 += v0 * <A>load<T>(wp, 2 * S) + v1 * <A>load<T>(wp, 6 * S) + v2 * <A>load<T>(wp, 10 * S);
                        a3 += v0 * <A>load<T>(wp, 3 * S) + v1 * <A>load<T>(wp, 7 * S) + v2 * <A>load<T>(wp, 11 * S);
                        xp += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += 3 * S; wr += 12 * S; k -= 3;
                    } else if (dw1 && k == 2) {
                      do {
                        const v0 = <A>load<T>(xp), v1 = <A>load<T>(xp, S);
                        a0 += v0 * <A>load<T>(wp) + v1 * <A>load<T>(wp, 4 * S);
                        a1 += v0 * <A>load<T>(wp, S) + v1 * <A>load<T>(wp, 5 * S);
                        a2 += v0 * <A>load<T>(wp, 2 * S) + v1 * <A>load<T>(wp, 6 * S);
                        a3 += v0 * <A>load<T>(wp, 3 * S) + v1 * <A>load<T>(wp, 7 * S);
                        xp += HWS; wp += wRow;
                      } while (xp != xe);
                      k = 0;
                    } else {
                      do {
                        const v = <A>load<T>(xp);
                        a0 += v * <A>load<T>(wp);
                        a1 += v * <A>load<T>(wp, S);
                        a2 += v * <A>load<T>(wp, 2 * S);
                        a3 += v * <A>load<T>(wp, 3 * S);
                        xp += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += dwS; wr += 4 * S; k -= 1;
                    }
                  } while (k > 0);
                  xr0 += dhWS; wr0 += wKh;
                }
              }
              put<T, A>(yp, a0, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              if (cnt > 1) put<T, A>(yp + O1, a1, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              if (cnt > 2) put<T, A>(yp + O2, a2, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              if (cnt > 3) put<T, A>(yp + O3, a3, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              yp += S; ow++;
            } else {
              const two = vert || (ow + 1 < OW && load<i32>(cols + (<usize>ow << 2), 4) == ct);
              const step: usize = vert ? shWS : two ? swS : 0;
              let p0: i64 = 0, p1: i64 = 0, p2: i64 = 0, p3: i64 = 0;
              if (nk > 0) {
                for (let kh = kh0; kh < kh1; kh++) {
                  let xr = xr0, wr = wr0, k = nk;
                  do {
                    let xp = xr, xq = xr + step, wp = wr;
                    const xe = xr + cgHWS;
                    if (dw1 && k >= 3) {
                      do {
                        const v0 = i64(load<i8>(xp)) + (i64(load<i8>(xq)) << 32) - ZZ;
                        const v1 = i64(load<i8>(xp, 1)) + (i64(load<i8>(xq, 1)) << 32) - ZZ;
                        const v2 = i64(load<i8>(xp, 2)) + (i64(load<i8>(xq, 2)) << 32) - ZZ;
                        p0 += v0 * i64(load<i8>(wp)) + v1 * i64(load<i8>(wp, 4)) + v2 * i64(load<i8>(wp, 8));
                        p1 += v0 * i64(load<i8>(wp, 1)) + v1 * i64(load<i8>(wp, 5)) + v2 * i64(load<i8>(wp, 9));
                        p2 += v0 * i64(load<i8>(wp, 2)) + v1 * i64(load<i8>(wp, 6)) + v2 * i64(load<i8>(wp, 10));
                        p3 += v0 * i64(load<i8>(wp, 3)) + v1 * i64(load<i8>(wp, 7)) + v2 * i64(load<i8>(wp, 11));
                        xp += HWS; xq += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += 3; wr += 12; k -= 3;
                    } else if (dw1 && k == 2) {
                      do {
                        const v0 = i64(load<i8>(xp)) + (i64(load<i8>(xq)) << 32) - ZZ;
                        const v1 = i64(load<i8>(xp, 1)) + (i64(load<i8>(xq, 1)) << 32) - ZZ;
                        p0 += v0 * i64(load<i8>(wp)) + v1 * i64(load<i8>(wp, 4));
                        p1 += v0 * i64(load<i8>(wp, 1)) + v1 * i64(load<i8>(wp, 5));
                        p2 += v0 * i64(load<i8>(wp, 2)) + v1 * i64(load<i8>(wp, 6));
                        p3 += v0 * i64(load<i8>(wp, 3)) + v1 * i64(load<i8>(wp, 7));
                        xp += HWS; xq += HWS; wp += wRow;
                      } while (xp != xe);
                      k = 0;
                    } else {
                      do {
                        const v = i64(load<i8>(xp)) + (i64(load<i8>(xq)) << 32) - ZZ;
                        p0 += v * i64(load<i8>(wp));
                        p1 += v * i64(load<i8>(wp, 1));
                        p2 += v * i64(load<i8>(wp, 2));
                        p3 += v * i64(load<i8>(wp, 3));
                        xp += HWS; xq += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += dwS; wr += 4; k -= 1;
                    }
                  } while (k > 0);
                  xr0 += dhWS; wr0 += wKh;
                }
              }
              // the first position from the low halves, then (if paired) the second from the high
              let yq = yp, k = two ? 2 : 1;
              do {
                put<T, A>(yq, b0 + <A>p0, lo, hi, zy, qmin, qmax, l0, m0, d0, n0, s0);
                if (cnt > 1) put<T, A>(yq + O1, b1 + <A>p1, lo, hi, zy, qmin, qmax, l1, m1, d1, n1, s1);
                if (cnt > 2) put<T, A>(yq + O2, b2 + <A>p2, lo, hi, zy, qmin, qmax, l2, m2, d2, n2, s2);
                if (cnt > 3) put<T, A>(yq + O3, b3 + <A>p3, lo, hi, zy, qmin, qmax, l3, m3, d3, n3, s3);
                p0 = (p0 + HALF) >> 32; p1 = (p1 + HALF) >> 32; p2 = (p2 + HALF) >> 32; p3 = (p3 + HALF) >> 32;
                yq += vert ? OWS : 1;
              } while (--k > 0);
              const adv = two && !vert ? 2 : 1;
              yp += adv; ow += adv;
            }
          } while (ow < OW);
          // rows paired vertically: the partner row is done too
          if (vert) { yp += OWS; oh += 2; } else oh++;
        } while (oh < OH);
      }
    }
  }
}

/** Float, four output channels per pass; w repacked, b padded to the block layout (or 0). */
export function conv_blk_f32(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32, lo: f32, hi: f32,
): void {
  blk<f32, f32>(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, lo, hi, 0, 0, 0, 0, 0, 0);
}

/** int8, four output channels by two positions per pass; w repacked, b and mult/shift padded. */
export function conv_blk_s8(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  blk<i8, i32>(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, 0, 0, zx, zy, mult, shift, qmin, qmax);
}

// ---------------------------------------------------------------------------------------
// One input channel per output channel (cg == 1): output channel m reads input channel m / mg.
// [ohA, ohB) x [owA, owB): the output rows and columns whose taps are all inside the input
// (from the compiler; an empty range is 0, 0). Kernels three taps wide with dilation 1 along W
// and at most three rows run, in each output row, the columns [owA, owB) as one loop with the
// taps unrolled (3x3 with all three rows inside: the nine weights in locals); 3x3 kernels also
// run each other column down the rows [ohA, ohB) as one loop. The positions left, and all
// positions of other kernels, walk their tap ranges. int8: bi[m] = b[m] - zx * (sum of the
// channel's weights) serves the positions with every tap inside, which multiply raw inputs.
function dwk<T, A>(
  x: usize, w: usize, b: usize, bi: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  lo: f32, hi: f32, zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const S = sizeof<T>();
  const HWS = <usize>(H * W) * S, OWS = <usize>OW * S, OHWS = <usize>OH * OWS;
  const WS = <usize>W * S, dhWS = <usize>dh * WS, shWS = <usize>sh * WS, swS = <usize>sw * S, KWS = <usize>KW * S;
  const dw1 = dw == 1, dwS = <usize>dw * S;
  const k3 = KW == 3 && dw1 && KH <= 3, full9 = k3 && KH == 3, hasRun = k3 && owB > owA;
  const down = full9 && ohB > ohA;
  const z = <A>zx;
  let fb: A = <A>0, fi: A = <A>0;
  let l = 0, mq: i64 = 0, dq: i64 = 0, nq: i64 = 0, sq: i64 = 0;
  let w0: A = <A>0, w1: A = <A>0, w2: A = <A>0, w3: A = <A>0, w4: A = <A>0, w5: A = <A>0, w6: A = <A>0, w7: A = <A>0, w8: A = <A>0;
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const xc = x + <usize>(n * C + m / mg) * HWS;
      const wm = w + <usize>(m * KH * KW) * S;
      const ym = y + <usize>(n * M + m) * OHWS;
      if (b != 0) fb = fi = <A>load<A>(b + (<usize>m << 2));
      if (isInteger<T>()) {
        if (bi != 0) fi = <A>load<i32>(bi + (<usize>m << 2));
        const t = load<i32>(shift + (<usize>m << 2));
        l = rqLeft(t); mq = i64(load<i32>(mult + (<usize>m << 2))); dq = rqAdd(t); nq = rqNeg(t); sq = rqShr(t);
      }
      if (full9) {
        w0 = <A>load<T>(wm); w1 = <A>load<T>(wm, S); w2 = <A>load<T>(wm, 2 * S);
        w3 = <A>load<T>(wm, 3 * S); w4 = <A>load<T>(wm, 4 * S); w5 = <A>load<T>(wm, 5 * S);
        w6 = <A>load<T>(wm, 6 * S); w7 = <A>load<T>(wm, 7 * S); w8 = <A>load<T>(wm, 8 * S);
      }
      let yrow = ym;
      for (let oh = 0; oh < OH; oh++) {
        const rt = load<i32>(rows + (<usize>oh << 2));
        const kh0 = rt & 255, kh1 = (rt >> 8) & 255, nr = kh1 - kh0;
        // first input row inside, the next two, and the weights of row kh0
        const r0 = xc + <usize>(oh * sh - pt + kh0 * dh) * WS, r1 = r0 + dhWS, r2 = r1 + dhWS;
        const wr = wm + <usize>kh0 * KWS;
        const run = hasRun && nr > 0;
        // rows with every tap inside: the columns outside [owA, owB) are run down below
        const inner = down && oh >= ohA && oh < ohB;
        let ow = inner ? owA : 0;
        const oe = inner ? owB : OW;
        while (ow < oe) {
          if (run && ow == owA) {
            const xo = <usize>(owA * sw - pl) * S;
            let q0 = r0 + xo, q1 = r1 + xo, q2 = r2 + xo;
            let yp = yrow + <usize>owA * S;
            const ye = yrow + <usize>owB * S;
            if (full9 && nr == 3) {
              do {
                const acc = fi
                  + <A>load<T>(q0) * w0 + <A>load<T>(q0, S) * w1 + <A>load<T>(q0, 2 * S) * w2
                  + <A>load<T>(q1) * w3 + <A>load<T>(q1, S) * w4 + <A>load<T>(q1, 2 * S) * w5
                  + <A>load<T>(q2) * w6 + <A>load<T>(q2, S) * w7 + <A>load<T>(q2, 2 * S) * w8;
                put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
                q0 += swS; q1 += swS; q2 += swS; yp += S;
              } while (yp != ye);
            } else {
              // all taps inside when the kernel's rows all are (1-D, 2x3): raw inputs and bi
              const all = nr == KH;
              const rb = all ? fi : fb, rz: A = all ? <A>0 : z;
              if (nr >= 2) {
                do {
                  const acc = rb
                    + xv<T, A>(load<T>(q0), rz) * <A>load<T>(wr) + xv<T, A>(load<T>(q0, S), rz) * <A>load<T>(wr, S) + xv<T, A>(load<T>(q0, 2 * S), rz) * <A>load<T>(wr, 2 * S)
                    + xv<T, A>(load<T>(q1), rz) * <A>load<T>(wr, 3 * S) + xv<T, A>(load<T>(q1, S), rz) * <A>load<T>(wr, 4 * S) + xv<T, A>(load<T>(q1, 2 * S), rz) * <A>load<T>(wr, 5 * S);
                  put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
                  q0 += swS; q1 += swS; yp += S;
                } while (yp != ye);
              } else {
                do {
                  const acc = rb + xv<T, A>(load<T>(q0), rz) * <A>load<T>(wr) + xv<T, A>(load<T>(q0, S), rz) * <A>load<T>(wr, S) + xv<T, A>(load<T>(q0, 2 * S), rz) * <A>load<T>(wr, 2 * S);
                  put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
                  q0 += swS; yp += S;
                } while (yp != ye);
              }
            }
            ow = owB;
            continue;
          }
          const ct = load<i32>(cols + (<usize>ow << 2));
          const kw0 = ct & 255, nk = ((ct >> 8) & 255) - kw0;
          let acc = fb;
          if (nk > 0 && nr > 0) {
            const xo = <usize>(ow * sw - pl + kw0 * dw) * S;
            const wo = wr + <usize>kw0 * S;
            if (k3) {
              // at most two rows: rows with all three inside are inner rows
              acc += row3<T, A>(r0 + xo, wo, nk, z);
              if (nr > 1) acc += row3<T, A>(r1 + xo, wo + 3 * S, nk, z);
            } else {
              let xr = r0 + xo, wq = wo, k = nr;
              do {
                acc += rowDot<T, A>(xr, wq, nk, dw1, dwS, z);
                xr += dhWS; wq += KWS;
              } while (--k > 0);
            }
          }
          put<T, A>(yrow + <usize>ow * S, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
          ow++;
        }
        yrow += OWS;
      }
      if (down) {
        // the columns outside [owA, owB), each down the rows [ohA, ohB)
        const xa = xc + <usize>(ohA * sh - pt) * WS, ya = ym + <usize>ohA * OWS, yn = <usize>(ohB - ohA) * OWS;
        let ow = 0;
        while (ow < OW) {
          if (ow == owA && owB > owA) { ow = owB; continue; }
          const ct = load<i32>(cols + (<usize>ow << 2));
          const kw0 = ct & 255, nk = ((ct >> 8) & 255) - kw0;
          let q0 = xa + <usize>(ow * sw - pl + kw0) * S, q1 = q0 + dhWS, q2 = q1 + dhWS;
          const wo = wm + <usize>kw0 * S;
          let yp = ya + <usize>ow * S;
          const ye = yp + yn;
          if (nk == 2) {
            do {
              const acc = fb
                + xv<T, A>(load<T>(q0), z) * <A>load<T>(wo) + xv<T, A>(load<T>(q0, S), z) * <A>load<T>(wo, S)
                + xv<T, A>(load<T>(q1), z) * <A>load<T>(wo, 3 * S) + xv<T, A>(load<T>(q1, S), z) * <A>load<T>(wo, 4 * S)
                + xv<T, A>(load<T>(q2), z) * <A>load<T>(wo, 6 * S) + xv<T, A>(load<T>(q2, S), z) * <A>load<T>(wo, 7 * S);
              put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
              q0 += shWS; q1 += shWS; q2 += shWS; yp += OWS;
            } while (yp != ye);
          } else {
            do {
              const acc = fb + row3<T, A>(q0, wo, nk, z) + row3<T, A>(q1, wo + 3 * S, nk, z) + row3<T, A>(q2, wo + 6 * S, nk, z);
              put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
              q0 += shWS; q1 += shWS; q2 += shWS; yp += OWS;
            } while (yp != ye);
          }
          ow++;
        }
      }
    }
  }
}

/** Float, one input channel per output channel (depthwise, or a single-channel input). */
export function conv_dw_f32(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32, lo: f32, hi: f32,
): void {
  dwk<f32, f32>(x, w, b, 0, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB, lo, hi, 0, 0, 0, 0, 0, 0);
}

/** int8, one input channel per output channel; bi = b - zx * sum of weights (or 0 if unused). */
export function conv_dw_s8(
  x: usize, w: usize, b: usize, bi: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  dwk<i8, i32>(x, w, b, bi, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB, 0, 0, zx, zy, mult, shift, qmin, qmax);
}

// ---------------------------------------------------------------------------------------
// Pointwise: 1x1, stride 1, no padding, P = H * W >= 2 positions; weights repacked to
// [group][block][cg][4]. Float: four output channels by four positions per pass. int8: every
// tap is inside, so b already holds b - zx * sum w and the inputs are used raw; four channels
// by two positions per pass, packed in i64 as in blk (|x * w| <= 2^14 and the compiler checks
// cg < 2^17, so the low half is exact).
function pwk<T, A>(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32,
  lo: f32, hi: f32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const S = sizeof<T>();
  const cg = C / G, mg = M / G, nbg = (mg + 3) >> 2;
  const PS = <usize>P * S, O2 = PS + PS, O3 = O2 + PS, cgPS = <usize>cg * PS, wBlk = <usize>(cg * 4) * S;
  const P4 = P & ~3;
  const HALF: i64 = i64(1) << 31;
  let b0: A = <A>0, b1: A = <A>0, b2: A = <A>0, b3: A = <A>0;
  let l0 = 0, l1 = 0, l2 = 0, l3 = 0;
  let m0: i64 = 0, m1: i64 = 0, m2: i64 = 0, m3: i64 = 0;
  let d0: i64 = 0, d1: i64 = 0, d2: i64 = 0, d3: i64 = 0;
  let n0: i64 = 0, n1: i64 = 0, n2: i64 = 0, n3: i64 = 0;
  let s0: i64 = 0, s1: i64 = 0, s2: i64 = 0, s3: i64 = 0;
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const xg = x + <usize>(n * C + g * cg) * PS;
      for (let jb = 0; jb < nbg; jb++) {
        const mp = (g * nbg + jb) << 2;
        const cnt = mg - (jb << 2);
        const wb = w + <usize>(g * nbg + jb) * wBlk;
        if (isFloat<T>()) {
          if (b != 0) {
            const bp = b + (<usize>mp << 2);
            b0 = <A>load<f32>(bp); b1 = <A>load<f32>(bp, 4); b2 = <A>load<f32>(bp, 8); b3 = <A>load<f32>(bp, 12);
          }
        } else {
          const bp = b + (<usize>mp << 2);
          b0 = <A>load<i32>(bp); b1 = <A>load<i32>(bp, 4); b2 = <A>load<i32>(bp, 8); b3 = <A>load<i32>(bp, 12);
          const mq = mult + (<usize>mp << 2), sq = shift + (<usize>mp << 2);
          let t = load<i32>(sq);
          l0 = rqLeft(t); m0 = i64(load<i32>(mq)); d0 = rqAdd(t); n0 = rqNeg(t); s0 = rqShr(t);
          t = load<i32>(sq, 4);
          l1 = rqLeft(t); m1 = i64(load<i32>(mq, 4)); d1 = rqAdd(t); n1 = rqNeg(t); s1 = rqShr(t);
          t = load<i32>(sq, 8);
          l2 = rqLeft(t); m2 = i64(load<i32>(mq, 8)); d2 = rqAdd(t); n2 = rqNeg(t); s2 = rqShr(t);
          t = load<i32>(sq, 12);
          l3 = rqLeft(t); m3 = i64(load<i32>(mq, 12)); d3 = rqAdd(t); n3 = rqNeg(t); s3 = rqShr(t);
        }
        const yb = y + <usize>(n * M + g * mg + (jb << 2)) * PS;
        if (isInteger<T>()) {
          // two adjacent positions per pass, packed in i64 as in blk; an odd last position is
          // done as the pair (P - 2, P - 1), storing P - 2 again with the same value
          for (let p = 0; p < P; p += 2) {
            const p2 = p + 1 < P ? p : P - 2;
            let q0: i64 = 0, q1: i64 = 0, q2: i64 = 0, q3: i64 = 0;
            let xp = xg + <usize>p2, wp = wb;
            const xe = xp + cgPS;
            do {
              const v = i64(load<i8>(xp)) + (i64(load<i8>(xp, 1)) << 32);
              q0 += v * i64(load<i8>(wp));
              q1 += v * i64(load<i8>(wp, 1));
              q2 += v * i64(load<i8>(wp, 2));
              q3 += v * i64(load<i8>(wp, 3));
              xp += PS; wp += 4;
            } while (xp != xe);
            const yp = yb + <usize>p2;
            put<T, A>(yp, b0 + <A>q0, lo, hi, zy, qmin, qmax, l0, m0, d0, n0, s0);
            put<T, A>(yp + 1, b0 + <A>((q0 + HALF) >> 32), lo, hi, zy, qmin, qmax, l0, m0, d0, n0, s0);
            if (cnt > 1) {
              put<T, A>(yp + PS, b1 + <A>q1, lo, hi, zy, qmin, qmax, l1, m1, d1, n1, s1);
              put<T, A>(yp + PS + 1, b1 + <A>((q1 + HALF) >> 32), lo, hi, zy, qmin, qmax, l1, m1, d1, n1, s1);
            }
            if (cnt > 2) {
              put<T, A>(yp + O2, b2 + <A>q2, lo, hi, zy, qmin, qmax, l2, m2, d2, n2, s2);
              put<T, A>(yp + O2 + 1, b2 + <A>((q2 + HALF) >> 32), lo, hi, zy, qmin, qmax, l2, m2, d2, n2, s2);
            }
            if (cnt > 3) {
              put<T, A>(yp + O3, b3 + <A>q3, lo, hi, zy, qmin, qmax, l3, m3, d3, n3, s3);
              put<T, A>(yp + O3 + 1, b3 + <A>((q3 + HALF) >> 32), lo, hi, zy, qmin, qmax, l3, m3, d3, n3, s3);
            }
          }
          continue;
        }
        let p = 0;
        for (; p < P4; p += 4) {
          let a00 = b0, a01 = b0, a02 = b0, a03 = b0;
          let a10 = b1, a11 = b1, a12 = b1, a13 = b1;
          let a20 = b2, a21 = b2, a22 = b2, a23 = b2;
          let a30 = b3, a31 = b3, a32 = b3, a33 = b3;
          let xp = xg + <usize>p * S, wp = wb;
          const xe = xp + cgPS;
          do {
            const x0 = <A>load<T>(xp), x1 = <A>load<T>(xp, S), x2 = <A>load<T>(xp, 2 * S), x3 = <A>load<T>(xp, 3 * S);
            const w0 = <A>load<T>(wp), w1 = <A>load<T>(wp, S), w2 = <A>load<T>(wp, 2 * S), w3 = <A>load<T>(wp, 3 * S);
            a00 += x0 * w0; a01 += x1 * w0; a02 += x2 * w0; a03 += x3 * w0;
            a10 += x0 * w1; a11 += x1 * w1; a12 += x2 * w1; a13 += x3 * w1;
            a20 += x0 * w2; a21 += x1 * w2; a22 += x2 * w2; a23 += x3 * w2;
            a30 += x0 * w3; a31 += x1 * w3; a32 += x2 * w3; a33 += x3 * w3;
            xp += PS; wp += 4 * S;
          } while (xp != xe);
          const yp = yb + <usize>p * S;
          put<T, A>(yp, a00, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          put<T, A>(yp + S, a01, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          put<T, A>(yp + 2 * S, a02, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          put<T, A>(yp + 3 * S, a03, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 1) {
            const yq = yp + PS;
            put<T, A>(yq, a10, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + S, a11, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 2 * S, a12, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 3 * S, a13, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          }
          if (cnt > 2) {
            const yq = yp + O2;
            put<T, A>(yq, a20, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + S, a21, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 2 * S, a22, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 3 * S, a23, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          }
          if (cnt > 3) {
            const yq = yp + O3;
            put<T, A>(yq, a30, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + S, a31, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 2 * S, a32, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 3 * S, a33, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          }
        }
        for (; p < P; p++) {
          let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
          let xp = xg + <usize>p * S, wp = wb;
          const xe = xp + cgPS;
          do {
            const v = <A>load<T>(xp);
            a0 += v * <A>load<T>(wp);
            a1 += v * <A>load<T>(wp, S);
            a2 += v * <A>load<T>(wp, 2 * S);
            a3 += v * <A>load<T>(wp, 3 * S);
            xp += PS; wp += 4 * S;
          } while (xp != xe);
          const yp = yb + <usize>p * S;
          put<T, A>(yp, a0, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 1) put<T, A>(yp + PS, a1, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 2) put<T, A>(yp + O2, a2, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 3) put<T, A>(yp + O3, a3, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
        }
      }
    }
  }
}

/** Float pointwise; w repacked, b padded to the block layout (or 0). */
export function conv_pw_f32(x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, lo: f32, hi: f32): void {
  pwk<f32, f32>(x, w, b, y, N, C, P, M, G, lo, hi, 0, 0, 0, 0, 0);
}

/** int8 pointwise; b = bias - zx * sum of weights, padded to the block layout. */
export function conv_pw_s8(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  pwk<i8, i32>(x, w, b, y, N, C, P, M, G, 0, 0, zy, mult, shift, qmin, qmax);
}

// ---------------------------------------------------------------------------------------
// General fallback: any geometry, original weight layout, tap ranges computed per position,
// int8 zero point subtracted per tap.

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
