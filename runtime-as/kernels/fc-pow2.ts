// Fully connected int8 layer with power-of-two weights (compiler/passes/pow2.ts, --pow2):
// every weight is 0 or ±2^j (j in 0..6), stored as a 4-bit code, two per byte (half the
// bytes of fc_s8's weights), and accumulated with one shift per weight, no multiply.
// Codes (compiler/ops/fc-pow2.ts): 0 = zero, 7 - j = +2^j, 8 | (7 - j) = -2^j; weight 2i of
// a row in the low nibble of its byte i, ceil(K/2) bytes per row. Per activation the kernel
// forms xp = a' << 6 and xn = (255 - a') << 14, with a' = a + 128 = u8(a) ^ 128 (so
// 255 - a' = u8(a) ^ 127), and per weight adds select(xn, xp, c & 8) >>> (c - 1): a positive
// code c = 7 - j shifts xp by 6 - j, giving a' 2^j; a negative one c = 15 - j shifts xn by
// 14 - j, giving (255 - a') 2^j; code 0 shifts xp by 31 (a wasm shift count is taken mod
// 32), giving 0, as xp < 2^14. All arithmetic is 32-bit (no i64 on 16- and 32-bit MCUs).
// With the bias folded by the compiler (bias[n] - (za + 128) sum_k w[n,k]
// - 255 sum_{w<0} |w[n,k]|) the sum equals the integer interpreter's bias[n] +
// sum_k (a - za) w[n,k] in wrapping int32 bit for bit, followed by fc_s8's requantization.
// Like fc_s8, four output rows share each activation's words. No multiply per weight.
import { clampi, mbqm } from "../fixedpoint";

/** The term of code c for the activation words xp, xn (see the header). */
// @ts-ignore: decorator
@inline function term(c: i32, xp: i32, xn: i32): i32 {
  return <i32>(<u32>select<i32>(xn, xp, c & 8) >>> <u32>(c - 1));
}

/** The two terms of one code byte b for the activation words of columns 2i and 2i + 1. */
// @ts-ignore: decorator
@inline function pair(b: i32, xp0: i32, xn0: i32, xp1: i32, xn1: i32): i32 {
  return term(b & 15, xp0, xn0) + term(b >> 4, xp1, xn1);
}

// @ts-ignore: decorator
@inline function out(acc: i32, o: usize, mult: usize, shift: usize, zy: i32, qmin: i32, qmax: i32): i8 {
  return i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax));
}

export function fc_pow2_s8(
  a: usize, codes: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const rowB = <usize>((K + 1) >> 1);
  const K2 = <usize>(K & ~1);
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    const aend2 = ar + K2, aend = ar + <usize>K;
    let p0 = codes;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let p1 = p0 + rowB, p2 = p1 + rowB, p3 = p2 + rowB;
      const o = <usize>n << 2;
      const bb = bf + o;
      let a0 = load<i32>(bb), a1 = load<i32>(bb, 4), a2 = load<i32>(bb, 8), a3 = load<i32>(bb, 12);
      let ap = ar;
      while (ap < aend2) {
        const u0 = i32(load<u8>(ap)), u1 = i32(load<u8>(ap, 1));
        const xp0 = (u0 ^ 128) << 6, xn0 = (u0 ^ 127) << 14, xp1 = (u1 ^ 128) << 6, xn1 = (u1 ^ 127) << 14;
        a0 += pair(i32(load<u8>(p0)), xp0, xn0, xp1, xn1);
        a1 += pair(i32(load<u8>(p1)), xp0, xn0, xp1, xn1);
        a2 += pair(i32(load<u8>(p2)), xp0, xn0, xp1, xn1);
        a3 += pair(i32(load<u8>(p3)), xp0, xn0, xp1, xn1);
        ap += 2; p0 += 1; p1 += 1; p2 += 1; p3 += 1;
      }
      if (ap < aend) { // odd K: the last column, in the low nibble of the row's last byte
        const u = i32(load<u8>(ap));
        const xp = (u ^ 128) << 6, xn = (u ^ 127) << 14;
        a0 += term(i32(load<u8>(p0)) & 15, xp, xn);
        a1 += term(i32(load<u8>(p1)) & 15, xp, xn);
        a2 += term(i32(load<u8>(p2)) & 15, xp, xn);
        a3 += term(i32(load<u8>(p3)) & 15, xp, xn);
        p3 += 1;
      }
      store<i8>(yp, out(a0, o, mult, shift, zy, qmin, qmax));
      store<i8>(yp, out(a1, o + 4, mult, shift, zy, qmin, qmax), 1);
      store<i8>(yp, out(a2, o + 8, mult, shift, zy, qmin, qmax), 2);
      store<i8>(yp, out(a3, o + 12, mult, shift, zy, qmin, qmax), 3);
      yp += 4;
      p0 = p3; // p3 ended at the start of row n + 4
    }
    for (; n < N; n++) {
      const o = <usize>n << 2;
      let acc = load<i32>(bf + o);
      let ap = ar;
      while (ap < aend2) {
        const u0 = i32(load<u8>(ap)), u1 = i32(load<u8>(ap, 1));
        acc += pair(i32(load<u8>(p0)), (u0 ^ 128) << 6, (u0 ^ 127) << 14, (u1 ^ 128) << 6, (u1 ^ 127) << 14);
        ap += 2; p0 += 1;
      }
      if (ap < aend) {
        const u = i32(load<u8>(ap));
        acc += term(i32(load<u8>(p0)) & 15, (u ^ 128) << 6, (u ^ 127) << 14);
        p0 += 1;
      }
      store<i8>(yp, out(acc, o, mult, shift, zy, qmin, qmax));
      yp += 1;
    }
  }
}
