// Q-format arithmetic for the --fixed kernels (fc_q8, add_q8, lstm_q8), mirroring the
// Q-format section of compiler/ir/fixedpoint.ts operation for operation: values are int8
// holding q / 2^f, saturated to the format's range [lo, hi] (W = m + f bits, W <= 8).
// Sums of products are exact in i32 and brought back to the grid once, by i32 division by
// 2^f (wasm's i32.div_s truncates toward zero, which is the definition), then saturated.

@inline export function qsat(x: i32, lo: i32, hi: i32): i32 {
  return x < lo ? lo : x > hi ? hi : x;
}

/** sat(truncdiv(acc, 2^f)). */
@inline export function qcut(acc: i32, f: i32, lo: i32, hi: i32): i32 {
  return qsat(acc / (1 << f), lo, hi);
}

/** Product of two grid values: sat(truncdiv(a * b, 2^f)). */
@inline export function qmul(a: i32, b: i32, f: i32, lo: i32, hi: i32): i32 {
  return qsat((a * b) / (1 << f), lo, hi);
}

/** Hard sigmoid: 0 at or below -3, min(1, hi) at or above 3, else truncdiv(x + 3, 6) on the grid. */
@inline export function qhsig(x: i32, f: i32, hi: i32): i32 {
  const three = 3 << f;
  if (x <= -three) return 0;
  if (x >= three) { const one = 1 << f; return one < hi ? one : hi; }
  return (x + three) / 6;
}

/** Hard tanh: clamp(x, -1, min(1, hi)) on the grid. */
@inline export function qhtanh(x: i32, f: i32, hi: i32): i32 {
  const one = 1 << f;
  return qsat(x, -one, one < hi ? one : hi);
}
