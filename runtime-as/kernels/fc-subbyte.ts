// Fully connected int8 layers with sub-byte weights (--weights int4|int2,
// compiler/passes/subbyte.ts), per-row scales as fc_s8. Weights are packed row by row, each
// row starting on a byte (compiler/ops/fc-packed.ts packIndices), the lowest bits first:
// - fc_int4_s8: two per byte, weight k in the low nibble of byte k / 2 when k is even, the
//   high one when odd; row stride ceil(K / 2). The nibble is offset binary, c = q + 8 with
//   q in [-7, 7] (so c in [1, 15]).
// - fc_int2_s8: four per byte, weight k at bits 2 (k % 4) of byte k / 4; row stride
//   ceil(K / 4). The code is c = (q + 3) / 2 for q in {-3, -1, 1, 3}, so q = 2c - 3.
// Unsigned codes need no sign extension: sum_k a q = sum_k a c - 8 A (int4) or
// 2 sum_k a c - 3 A (int2) with A = sum_k a[m, k] computed once per row of activations, a
// shift and an add instead of a decode per weight. With fc_s8's folded bias (bias[n] -
// za sum_k q[n, k]) the accumulator equals the integer interpreter's bias[n] +
// sum_k (a - za) q[n, k] in wrapping int32 arithmetic, bit for bit, then the same per-row
// requantization. Both compute four output rows per pass (each activation load serves four
// weight bytes, as fc_s8), then the last N % 4 rows one at a time: under wasm-interp on
// 1x256 -> 64, int4 9.0 and int2 9.8 instructions per weight, against 10.5 and 11.0
// one row at a time and 6.9 for fc_s8 (each code costs an and and/or a shift).
import { clampi, mbqm } from "../fixedpoint";

/** sum_k a[k] over the K int8 activations from ar. */
@inline function rowSum(ar: usize, K: i32): i32 {
  let s = 0, p = ar;
  const end = ar + <usize>K, end4 = ar + <usize>(K & ~3);
  while (p < end4) {
    s += i32(load<i8>(p)) + i32(load<i8>(p, 1)) + i32(load<i8>(p, 2)) + i32(load<i8>(p, 3));
    p += 4;
  }
  while (p < end) { s += i32(load<i8>(p)); p += 1; }
  return s;
}

/** sum of eight activations times the eight nibbles of the four bytes at p. */
@inline function nib4(p: usize, x0: i32, x1: i32, x2: i32, x3: i32, x4: i32, x5: i32, x6: i32, x7: i32): i32 {
  const b0 = i32(load<u8>(p)), b1 = i32(load<u8>(p, 1)), b2 = i32(load<u8>(p, 2)), b3 = i32(load<u8>(p, 3));
  return x0 * (b0 & 15) + x1 * (b0 >> 4) + x2 * (b1 & 15) + x3 * (b1 >> 4)
    + x4 * (b2 & 15) + x5 * (b2 >> 4) + x6 * (b3 & 15) + x7 * (b3 >> 4);
}

/** y[m, n] = requant(bf[n] + sum_k a[m, k] (c[n, k] - 8)): int4 weights as offset-binary nibbles. */
export function fc_int4_s8(
  a: usize, w: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const rowW = <usize>((K + 1) >> 1), K2 = <usize>(K >> 1), K8 = <usize>((K >> 1) & ~3);
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    const off = rowSum(ar, K) << 3;
    let wp = w, o: usize = 0, n = 0;
    // four output rows per pass: each pair of activations serves four weight bytes
    for (; n + 4 <= N; n += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, ap = ar, p0 = wp, p1 = wp + rowW, p2 = p1 + rowW, p3 = p2 + rowW;
      const pend = wp + K2, pend4 = wp + K8;
      while (p0 < pend4) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        const x4 = i32(load<i8>(ap, 4)), x5 = i32(load<i8>(ap, 5)), x6 = i32(load<i8>(ap, 6)), x7 = i32(load<i8>(ap, 7));
        s0 += nib4(p0, x0, x1, x2, x3, x4, x5, x6, x7);
        s1 += nib4(p1, x0, x1, x2, x3, x4, x5, x6, x7);
        s2 += nib4(p2, x0, x1, x2, x3, x4, x5, x6, x7);
        s3 += nib4(p3, x0, x1, x2, x3, x4, x5, x6, x7);
        p0 += 4; p1 += 4; p2 += 4; p3 += 4; ap += 8;
      }
      while (p0 < pend) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1));
        const b0 = i32(load<u8>(p0)), b1 = i32(load<u8>(p1)), b2 = i32(load<u8>(p2)), b3 = i32(load<u8>(p3));
        s0 += x0 * (b0 & 15) + x1 * (b0 >> 4);
        s1 += x0 * (b1 & 15) + x1 * (b1 >> 4);
        s2 += x0 * (b2 & 15) + x1 * (b2 >> 4);
        s3 += x0 * (b3 & 15) + x1 * (b3 >> 4);
        p0 += 1; p1 += 1; p2 += 1; p3 += 1; ap += 2;
      }
      if (K & 1) {
        const x = i32(load<i8>(ap));
        s0 += x * (i32(load<u8>(p0)) & 15); s1 += x * (i32(load<u8>(p1)) & 15);
        s2 += x * (i32(load<u8>(p2)) & 15); s3 += x * (i32(load<u8>(p3)) & 15);
      }
      const bo = bf + o, mo = mult + o, so = shift + o;
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo) + s0 - off, load<i32>(mo), load<i32>(so)) + zy, qmin, qmax)));
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo, 4) + s1 - off, load<i32>(mo, 4), load<i32>(so, 4)) + zy, qmin, qmax)), 1);
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo, 8) + s2 - off, load<i32>(mo, 8), load<i32>(so, 8)) + zy, qmin, qmax)), 2);
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo, 12) + s3 - off, load<i32>(mo, 12), load<i32>(so, 12)) + zy, qmin, qmax)), 3);
      yp += 4; o += 16; wp += rowW << 2;
    }
    for (; n < N; n++) {
      let s = 0, ap = ar, p = wp;
      const pend = wp + K2, pend4 = wp + K8;
      while (p < pend4) {
        const b0 = i32(load<u8>(p)), b1 = i32(load<u8>(p, 1)), b2 = i32(load<u8>(p, 2)), b3 = i32(load<u8>(p, 3));
        s += i32(load<i8>(ap)) * (b0 & 15) + i32(load<i8>(ap, 1)) * (b0 >> 4)
          + i32(load<i8>(ap, 2)) * (b1 & 15) + i32(load<i8>(ap, 3)) * (b1 >> 4)
          + i32(load<i8>(ap, 4)) * (b2 & 15) + i32(load<i8>(ap, 5)) * (b2 >> 4)
          + i32(load<i8>(ap, 6)) * (b3 & 15) + i32(load<i8>(ap, 7)) * (b3 >> 4);
        p += 4; ap += 8;
      }
      while (p < pend) {
        const b = i32(load<u8>(p));
        s += i32(load<i8>(ap)) * (b & 15) + i32(load<i8>(ap, 1)) * (b >> 4);
        p += 1; ap += 2;
      }
      if (K & 1) s += i32(load<i8>(ap)) * (i32(load<u8>(p)) & 15);
      const acc = load<i32>(bf + o) + s - off;
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1; o += 4; wp += rowW;
    }
  }
}

/** sum of four activations times the four 2-bit codes of the byte at p. */
@inline function crumb1(p: usize, x0: i32, x1: i32, x2: i32, x3: i32): i32 {
  const b = i32(load<u8>(p));
  return x0 * (b & 3) + x1 * ((b >> 2) & 3) + x2 * ((b >> 4) & 3) + x3 * (b >> 6);
}

/** y[m, n] = requant(bf[n] + sum_k a[m, k] (2 c[n, k] - 3)): int2 weights, four codes per byte. */
export function fc_int2_s8(
  a: usize, w: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const rowW = <usize>((K + 3) >> 2), K4 = <usize>(K >> 2), K8 = <usize>((K >> 2) & ~1), r = K & 3;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    const A = rowSum(ar, K), off = (A << 1) + A;
    let wp = w, o: usize = 0, n = 0;
    // four output rows per pass: each activation load serves four weight bytes
    for (; n + 4 <= N; n += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, ap = ar, p0 = wp, p1 = wp + rowW, p2 = p1 + rowW, p3 = p2 + rowW;
      const pend = wp + K4, pend2 = wp + K8;
      while (p0 < pend2) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        const x4 = i32(load<i8>(ap, 4)), x5 = i32(load<i8>(ap, 5)), x6 = i32(load<i8>(ap, 6)), x7 = i32(load<i8>(ap, 7));
        s0 += crumb1(p0, x0, x1, x2, x3) + crumb1(p0 + 1, x4, x5, x6, x7);
        s1 += crumb1(p1, x0, x1, x2, x3) + crumb1(p1 + 1, x4, x5, x6, x7);
        s2 += crumb1(p2, x0, x1, x2, x3) + crumb1(p2 + 1, x4, x5, x6, x7);
        s3 += crumb1(p3, x0, x1, x2, x3) + crumb1(p3 + 1, x4, x5, x6, x7);
        p0 += 2; p1 += 2; p2 += 2; p3 += 2; ap += 8;
      }
      if (p0 < pend) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        s0 += crumb1(p0, x0, x1, x2, x3); s1 += crumb1(p1, x0, x1, x2, x3);
        s2 += crumb1(p2, x0, x1, x2, x3); s3 += crumb1(p3, x0, x1, x2, x3);
        p0 += 1; p1 += 1; p2 += 1; p3 += 1; ap += 4;
      }
      if (r) {
        const b0 = i32(load<u8>(p0)), b1 = i32(load<u8>(p1)), b2 = i32(load<u8>(p2)), b3 = i32(load<u8>(p3));
        for (let j = 0, sh = 0; j < r; j++, sh += 2) {
          const x = i32(load<i8>(ap + <usize>j));
          s0 += x * ((b0 >> sh) & 3); s1 += x * ((b1 >> sh) & 3);
          s2 += x * ((b2 >> sh) & 3); s3 += x * ((b3 >> sh) & 3);
        }
      }
      const bo = bf + o, mo = mult + o, so = shift + o;
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo) + (s0 << 1) - off, load<i32>(mo), load<i32>(so)) + zy, qmin, qmax)));
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo, 4) + (s1 << 1) - off, load<i32>(mo, 4), load<i32>(so, 4)) + zy, qmin, qmax)), 1);
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo, 8) + (s2 << 1) - off, load<i32>(mo, 8), load<i32>(so, 8)) + zy, qmin, qmax)), 2);
      store<i8>(yp, i8(clampi(mbqm(load<i32>(bo, 12) + (s3 << 1) - off, load<i32>(mo, 12), load<i32>(so, 12)) + zy, qmin, qmax)), 3);
      yp += 4; o += 16; wp += rowW << 2;
    }
    for (; n < N; n++) {
      let s = 0, ap = ar, p = wp;
      const pend = wp + K4, pend2 = wp + K8;
      while (p < pend2) {
        const b0 = i32(load<u8>(p)), b1 = i32(load<u8>(p, 1));
        s += i32(load<i8>(ap)) * (b0 & 3) + i32(load<i8>(ap, 1)) * ((b0 >> 2) & 3)
          + i32(load<i8>(ap, 2)) * ((b0 >> 4) & 3) + i32(load<i8>(ap, 3)) * (b0 >> 6)
          + i32(load<i8>(ap, 4)) * (b1 & 3) + i32(load<i8>(ap, 5)) * ((b1 >> 2) & 3)
          + i32(load<i8>(ap, 6)) * ((b1 >> 4) & 3) + i32(load<i8>(ap, 7)) * (b1 >> 6);
        p += 2; ap += 8;
      }
      while (p < pend) {
        const b = i32(load<u8>(p));
        s += i32(load<i8>(ap)) * (b & 3) + i32(load<i8>(ap, 1)) * ((b >> 2) & 3)
          + i32(load<i8>(ap, 2)) * ((b >> 4) & 3) + i32(load<i8>(ap, 3)) * (b >> 6);
        p += 1; ap += 4;
      }
      if (r) {
        const b = i32(load<u8>(p));
        s += i32(load<i8>(ap)) * (b & 3);
        if (r > 1) s += i32(load<i8>(ap, 1)) * ((b >> 2) & 3);
        if (r > 2) s += i32(load<i8>(ap, 2)) * ((b >> 4) & 3);
      }
      const acc = load<i32>(bf + o) + (s << 1) - off;
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1; o += 4; wp += rowW;
    }
  }
}
