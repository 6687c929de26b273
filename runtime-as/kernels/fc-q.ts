// Fully connected layer in Q-format fixed point (--fixed Qm.f): the canonical Gemm and the
// MatMul by a constant, bit-exact with compiler/ops/gemm.ts (fcFixed). Each output is
// ElasticAI's matmul then add: the exact sum of products, cut to the grid once (truncating
// division by 2^f, saturation), plus the bias, saturated, then the fused activation's
// bounds. W is [N, K], one row per output; the reduction is unrolled by four with
// immediate load offsets. fc_q8: int8 storage (W <= 8), i32 sums (the compiler bounds K so
// that K 2^(2W-2) < 2^31). fc_q16: int16 storage (W 9 to 16); each product of two values
// of at most 2^15 in magnitude is at most 2^30 and exact in i32, and the products are
// summed in i64 (K < 2^33 cannot overflow; the compiler's bound is K 2^(2W-2) < 2^53).
import { qcut, qcut64, qsat } from "../qformat";

/** y[m, n] = clamp(sat(qcut(sum_k a[m, k] w[n, k]) + b[n]), qmin, qmax); b may be 0 (no bias). */
export function fc_q8(
  a: usize, w: usize, b: usize, y: usize, M: i32, N: i32, K: i32, f: i32, lo: i32, hi: i32, qmin: i32, qmax: i32,
): void {
  const rowB = <usize>K;
  const K4 = <usize>(K & ~3);
  let ar = a, yp = y; // running pointers: no multiply per row
  for (let m = 0; m < M; m++, ar += rowB) {
    const aend4 = ar + K4, aend = ar + rowB;
    let p = w;
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let ap = ar;
      while (ap < aend4) {
        acc += i32(load<i8>(ap)) * i32(load<i8>(p)) + i32(load<i8>(ap, 1)) * i32(load<i8>(p, 1))
          + i32(load<i8>(ap, 2)) * i32(load<i8>(p, 2)) + i32(load<i8>(ap, 3)) * i32(load<i8>(p, 3));
        ap += 4; p += 4;
      }
      while (ap < aend) {
        acc += i32(load<i8>(ap)) * i32(load<i8>(p));
        ap += 1; p += 1;
      }
      const bias = b != 0 ? i32(load<i8>(b + <usize>n)) : 0;
      store<i8>(yp, i8(qsat(qsat(qcut(acc, f, lo, hi) + bias, lo, hi), qmin, qmax)));
      yp += 1;
    }
  }
}

/** fc_q8 on int16 grid values with i64 sums; offsets are in bytes (2 per element). */
export function fc_q16(
  a: usize, w: usize, b: usize, y: usize, M: i32, N: i32, K: i32, f: i32, lo: i32, hi: i32, qmin: i32, qmax: i32,
): void {
  const rowB = <usize>K << 1;
  const K4 = <usize>(K & ~3) << 1;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += rowB) {
    const aend4 = ar + K4, aend = ar + rowB;
    let p = w;
    for (let n = 0; n < N; n++) {
      let acc: i64 = 0;
      let ap = ar;
      while (ap < aend4) {
        acc += <i64>(i32(load<i16>(ap)) * i32(load<i16>(p))) + <i64>(i32(load<i16>(ap, 2)) * i32(load<i16>(p, 2)))
          + <i64>(i32(load<i16>(ap, 4)) * i32(load<i16>(p, 4))) + <i64>(i32(load<i16>(ap, 6)) * i32(load<i16>(p, 6)));
        ap += 8; p += 8;
      }
      while (ap < aend) {
        acc += <i64>(i32(load<i16>(ap)) * i32(load<i16>(p)));
        ap += 2; p += 2;
      }
      const bias = b != 0 ? i32(load<i16>(b + (<usize>n << 1))) : 0;
      store<i16>(yp, i16(qsat(qsat(qcut64(acc, f, lo, hi) + bias, lo, hi), qmin, qmax)));
      yp += 2;
    }
  }
}
