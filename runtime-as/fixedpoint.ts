// Fixed-point helpers for the int8 kernels. This file mirrors compiler/ir/fixedpoint.ts
// operation for operation (gemmlowp's SaturatingRoundingDoublingHighMul and
// RoundingDivideByPOT, TFLite's MultiplyByQuantizedMultiplier), so that every kernel's
// requantization is bit-exact with the compiler's integer interpreter.

@inline export function srdhm(a: i32, b: i32): i32 {
  if (a == b && a == i32.MIN_VALUE) return i32.MAX_VALUE;
  const ab: i64 = i64(a) * i64(b);
  const nudge: i64 = ab >= 0 ? i64(1 << 30) : i64(1 - (1 << 30));
  return i32((ab + nudge) / (i64(1) << 31));
}

@inline export function rdbpot(x: i32, e: i32): i32 {
  const mask = (1 << e) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

/** x times the real multiplier mult * 2^(shift - 31). */
@inline export function mbqm(x: i32, mult: i32, shift: i32): i32 {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return rdbpot(srdhm(x << left, mult), right); // x << left: x * 2^left in wrapping int32, without a multiply
}

@inline export function clampi(x: i32, lo: i32, hi: i32): i32 {
  return x < lo ? lo : x > hi ? hi : x;
}

@inline export function clampf(x: f32, lo: f32, hi: f32): f32 {
  return x < lo ? lo : x > hi ? hi : x;
}
