// Q-format arithmetic for the --fixed kernels (fc_q8/16, add_q8/16, lstm_q8/16, the Q
// activations), mirroring the Q-format section of compiler/ir/fixedpoint.ts operation for
// operation: values are grid integers holding q / 2^f, saturated to the format's range
// [lo, hi] (W = m + f bits), stored as int8 (W <= 8) or int16 (W 9 to 16). Sums of products
// are exact (i32 for int8 storage, i64 for int16) and brought back to the grid once, by
// division by 2^f (wasm's div_s truncates toward zero, which is the definition), then
// saturated. A single product of two grid values is at most 2^(W-1) * 2^(W-1) <= 2^30 in
// magnitude, so qmul is exact in i32 for every W <= 16.

@inline export function qsat(x: i32, lo: i32, hi: i32): i32 {
  return x < lo ? lo : x > hi ? hi : x;
}

/** sat(truncdiv(acc, 2^f)). */
@inline export function qcut(acc: i32, f: i32, lo: i32, hi: i32): i32 {
  return qsat(acc / (1 << f), lo, hi);
}

/** sat(truncdiv(acc, 2^f)) of an i64 sum (int16 storage); the result is in [lo, hi]. */
@inline export function qcut64(acc: i64, f: i32, lo: i32, hi: i32): i32 {
  const q = acc / (<i64>1 << <i64>f);
  return q < <i64>lo ? lo : q > <i64>hi ? hi : <i32>q;
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
