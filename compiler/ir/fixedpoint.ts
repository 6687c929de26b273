/**
 * Fixed-point arithmetic of the integer path, as in gemmlowp/TFLite: a real multiplier is
 * held as a Q31 int32 `mult` in [2^30, 2^31) and a power-of-two `shift`, and an int32
 * accumulator is scaled by SaturatingRoundingDoublingHighMul followed by
 * RoundingDivideByPOT. These functions are the definition the integer interpreter uses;
 * runtime-as/fixedpoint.ts mirrors them line for line in AssemblyScript, and the kernel
 * tests check the two agree bit for bit.
 */

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

export interface QMul {
  mult: number; // int32, 0 or in [2^30, 2^31)
  shift: number; // real = mult * 2^(shift - 31)
}

/** Splits a non-negative real multiplier into a Q31 mantissa and an exponent (TFLite's QuantizeMultiplier). */
export function quantizeMultiplier(real: number): QMul {
  if (!(real >= 0) || !Number.isFinite(real)) throw new Error(`multiplier ${real} must be finite and non-negative`);
  if (real === 0) return { mult: 0, shift: 0 };
  let shift = Math.floor(Math.log2(real)) + 1; // real = q * 2^shift with q in [0.5, 1)
  let q = real / 2 ** shift;
  if (q >= 1) { q /= 2; shift += 1; }
  if (q < 0.5) { q *= 2; shift -= 1; }
  let m = Math.round(q * 2 ** 31);
  if (m === 2 ** 31) { m /= 2; shift += 1; }
  if (shift < -31) return { mult: 0, shift: 0 };
  if (shift > 30) throw new Error(`multiplier ${real} is too large for the fixed-point path`);
  return { mult: m, shift };
}

/** (a * b * 2 + 2^31) >> 32 with saturation, rounding half away from zero, exactly as gemmlowp. */
export function srdhm(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  // BigInt division truncates toward zero, as C++ int64 division does.
  return Number((ab + nudge) / (1n << 31n));
}

/** Division by 2^exponent rounding half away from zero (gemmlowp RoundingDivideByPOT). */
export function rdbpot(x: number, exponent: number): number {
  if (exponent === 0) return x;
  const mask = (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** x * real multiplier, in int32 fixed point (TFLite MultiplyByQuantizedMultiplier). */
export function mbqm(x: number, mult: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return rdbpot(srdhm(Math.imul(x, 1 << left), mult), right);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Round half away from zero: the rounding used wherever the compiler converts reals to integers. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** Floor division of non-negative integers below 2^53, exact (corrects the double quotient). */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q -= 1;
  else if ((q + 1) * b <= a) q += 1;
  return q;
}

/** Integer division truncating toward zero, exact for |a| < 2^53. */
export function truncDiv(a: number, b: number): number {
  const q = floorDiv(Math.abs(a), Math.abs(b));
  return (a < 0) !== (b < 0) ? -q : q;
}

// ---------------------------------------------------------------------------------------
// Q-format arithmetic (--fixed Qm.f; compiler/ops/INT8.md, "Q-format mode"), mirroring
// ElasticAI's fixed-point software model: every value is an integer q meaning q / 2^f,
// saturated to the W = m + f bit two's complement range [lo, hi]; products and sums of
// products are exact and converted back to the grid ONCE, by division by 2^f truncating
// toward zero, then saturated. Storage is int8 up to 8 bits and int16 from 9 to 16
// (qStorage); the definitions are the same. runtime-as/qformat.ts mirrors these functions.

/** A Q format: m integer bits (sign included) and f fractional bits; lo/hi its integer range. */
export interface QFmt { m: number; f: number; lo: number; hi: number }

export function qFmt(m: number, f: number): QFmt {
  const w = m + f;
  return { m, f, lo: -(2 ** (w - 1)), hi: 2 ** (w - 1) - 1 };
}

/** Storage of every tensor in the format: int8 up to 8 bits, int16 from 9 to 16 bits. */
export function qStorage(q: { m: number; f: number }): "int8" | "int16" {
  return q.m + q.f <= 8 ? "int8" : "int16";
}

/** A real constant on the grid: sat(trunc(x * 2^f)) (round toward zero, then saturate). */
export function qFromReal(x: number, q: QFmt): number {
  if (Number.isNaN(x)) throw new Error("NaN has no fixed-point value");
  return clamp(Math.trunc(x * 2 ** q.f), q.lo, q.hi) + 0; // + 0: no -0
}

/** An exact sum of products (scale 2^-2f) back on the grid: sat(truncdiv(acc, 2^f)). */
export function qCut(acc: number, q: QFmt): number {
  return clamp(truncDiv(acc, 2 ** q.f), q.lo, q.hi) + 0; // + 0: no -0
}

/** Product of two grid values: sat(truncdiv(a * b, 2^f)). */
export function qMul(a: number, b: number, q: QFmt): number {
  return qCut(a * b, q);
}

/** Hard sigmoid x/6 + 1/2 on [-3, 3], 0 below, 1 (saturated to hi) above. */
export function qHardSigmoid(x: number, q: QFmt): number {
  const three = 3 * 2 ** q.f;
  if (x <= -three) return 0;
  if (x >= three) return Math.min(2 ** q.f, q.hi);
  return truncDiv(x + three, 6);
}

/** Hard tanh: clamp(x, -1, 1) on the grid (1 saturated to hi). */
export function qHardTanh(x: number, q: QFmt): number {
  return clamp(x, -(2 ** q.f), Math.min(2 ** q.f, q.hi));
}

/**
 * A stand-alone Q-format activation as data (Relu, Clip, HardSigmoid): min(max(q, lo), hi)
 * ("clamp", max first so lo > hi gives hi, as ONNX's Clip) or the hard sigmoid ("hsig").
 */
export type QAct = { kind: "clamp"; lo: number; hi: number } | { kind: "hsig" };

/** The activation on a grid value, saturated to the format. */
export function qAct(a: QAct, x: number, q: QFmt): number {
  if (a.kind === "hsig") return clamp(qHardSigmoid(x, q), q.lo, q.hi);
  const v = x < a.lo ? a.lo : x;
  return clamp(v > a.hi ? a.hi : v, q.lo, q.hi);
}
