// Fully connected layer in Q-format fixed point (--fixed Qm.f, W <= 8 bits in int8): the
// canonical Gemm and the MatMul by a constant, bit-exact with compiler/ops/gemm.ts
// (fcFixed). Each output is ElasticAI's matmul then add: the exact int32 sum of products,
// cut to the grid once (truncating division by 2^f, saturation), plus the bias, saturated,
// then the fused activation's bounds. W is [N, K], one row per output; the reduction is
// unrolled by four with immediate load offsets.
import { qcut, qsat } from "../qformat";

/** y[m, n] = clamp(sat(qcut(sum_k a[m, k] w[n, k]) + b[n]), qmin, qmax); b may be 0 (no bias). */
export function fc_q8(
  a: usize, w: usize, b: usize, y: usize, M: i32, N: i32, K: i32, f: i32, lo: i32, hi: i32, qmin: i32, qmax: i32,
): void {
  const rowB = <usize>K;
  const K4 = <usize>(K & ~3);
  for (let m = 0; m < M; m++) {
    const ar = a + <usize>m * rowB;
    const aend4 = ar + K4, aend = ar + rowB;
    let yp = y + <usize>(m * N);
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
