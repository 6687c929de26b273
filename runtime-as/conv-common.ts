// Helpers shared by the convolution kernels (runtime-as/kernels/conv-*.ts): the int8
// requantization rewritten for per-channel constants computed once outside the position
// loops, the store of one output (float clamp or int8 requantize), and short dot products
// over one kernel row. Everything is @inline so each kernel gets its own specialized copy.
import { clampi } from "./fixedpoint";

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
@inline export function rqLeft(shift: i32): i32 {
  return shift > 0 ? shift : 0;
}
@inline export function rqAdd(shift: i32): i64 {
  return shift >= 0 ? i64(1) << 30 : (i64(1) << 30) + (i64(1) << i64(30 - shift));
}
@inline export function rqNeg(shift: i32): i64 {
  return shift >= 0 ? 0 : -(i64(1) << 31);
}
@inline export function rqShr(shift: i32): i64 {
  return shift >= 0 ? 31 : i64(31 - shift);
}
@inline export function requant(acc: i32, left: i32, mult: i64, add: i64, neg: i64, shr: i64): i32 {
  const t = i64(acc << left) * mult;
  return <i32>((t + add + ((t >> 63) & neg)) >> shr);
}

/** Stores one output: float clamp (f32.max/min) or int8 requantization, zero point and clamp. */
@inline export function put<T, A>(p: usize, acc: A, lo: f32, hi: f32, zy: i32, qmin: i32, qmax: i32,
  left: i32, mult: i64, add: i64, neg: i64, shr: i64): void {
  if (isFloat<T>()) store<f32>(p, min(max(<f32>acc, lo), hi));
  else store<i8>(p, <i8>clampi(requant(<i32>acc, left, mult, add, neg, shr) + zy, qmin, qmax));
}

/** An input as a factor: int8 minus the zero point z, float as is. */
@inline export function xv<T, A>(v: T, z: A): A {
  if (isFloat<T>()) return <A>v;
  return <A>v - z;
}

/** Sum over k >= 1 taps of one kernel row: inputs at x + i * dwS, weights contiguous at w. */
@inline export function rowDot<T, A>(x: usize, w: usize, k: i32, dw1: bool, dwS: usize, z: A): A {
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
@inline export function row3<T, A>(x: usize, w: usize, n: i32, z: A): A {
  const S = sizeof<T>();
  if (n >= 3) return xv<T, A>(load<T>(x), z) * <A>load<T>(w) + xv<T, A>(load<T>(x, S), z) * <A>load<T>(w, S) + xv<T, A>(load<T>(x, 2 * S), z) * <A>load<T>(w, 2 * S);
  if (n == 2) return xv<T, A>(load<T>(x), z) * <A>load<T>(w) + xv<T, A>(load<T>(x, S), z) * <A>load<T>(w, S);
  if (n == 1) return xv<T, A>(load<T>(x), z) * <A>load<T>(w);
  return <A>0;
}

