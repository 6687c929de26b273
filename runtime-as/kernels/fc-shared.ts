// Fully connected int8 layers with shared weights (--share, compiler/passes/share.ts, Deep
// Compression's weight sharing): the layer's int8 weights take at most 2^bits values, held
// once in `cb` (int8, one entry per value), and each weight is stored as a bits-wide index
// into it, packed row by row with each row starting on a byte, lowest bits first
// (compiler/ops/fc-packed.ts packIndices):
// - 4 bits: two per byte (index k in the low nibble of byte k / 2 when k is even); row
//   stride ceil(K / 2).
// - 2 bits: four per byte (index k at bits 2 (k % 4) of byte k / 4); row stride ceil(K / 4).
// - 3 bits: groups of eight indices in three bytes (a little-endian 24-bit word, index j of
//   the group at bits 3j); a row holds ceil(K / 8) whole groups, stride 3 ceil(K / 8).
// Each call first copies the nc codebook entries to the low scratch at address 0
// (EmitCtx.scratch), so that an index is the address of its weight: a lookup is one load,
// without adding a base. Each weight is looked up and multiplied with its activation. The other
// form, summing the activations per codebook entry (a bin per entry, one read-modify-write
// per weight) and then one multiply per entry (EIE's), was measured too on a 1x256 -> 64
// 4-bit layer under wasm-interp: 21.2 instructions per weight against 13.2 for the lookup,
// for 1088 multiplies against 16448; the lookup is kept, as the cheaper in instructions.
// fc_shared4_s8 and fc_shared2_s8 compute four output rows per pass (each activation load
// serves four index bytes, as fc_s8), then the last N % 4 one at a time: 9.8 and 10.5
// instructions per weight on that layer (11.2 and 11.7 one row at a time; fc_s8 6.9);
// fc_shared3_s8 runs one row at a time (12.6).
// The codebook is per tensor, so the requantization is one multiplier and shift for the
// layer, passed as arguments (no per-row tables). With fc_s8's folded bias (bias[n] -
// za sum_k w[n, k]) the result equals the integer interpreter's fcInt bit for bit.
import { clampi, mbqm } from "../fixedpoint";

@inline function out(acc: i32, mult: i32, shift: i32, zy: i32, qmin: i32, qmax: i32): i8 {
  return i8(clampi(mbqm(acc, mult, shift) + zy, qmin, qmax));
}

/** The codebook entry i, from its copy at address 0 (the low scratch): the index is the address. */
@inline function w8(i: i32): i32 {
  return i32(load<i8>(<usize>i));
}

/** sum of eight activations times the codebook entries of the eight nibbles of the four bytes at p. */
@inline function look4(p: usize, x0: i32, x1: i32, x2: i32, x3: i32, x4: i32, x5: i32, x6: i32, x7: i32): i32 {
  const b0 = i32(load<u8>(p)), b1 = i32(load<u8>(p, 1)), b2 = i32(load<u8>(p, 2)), b3 = i32(load<u8>(p, 3));
  return x0 * w8(b0 & 15) + x1 * w8(b0 >> 4) + x2 * w8(b1 & 15) + x3 * w8(b1 >> 4)
    + x4 * w8(b2 & 15) + x5 * w8(b2 >> 4) + x6 * w8(b3 & 15) + x7 * w8(b3 >> 4);
}

/** 4-bit indices, two per byte; passes of four output rows, then single rows. */
export function fc_shared4_s8(
  a: usize, idx: usize, cb: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: i32, shift: i32, qmin: i32, qmax: i32, nc: i32,
): void {
  memory.copy(0, cb, <usize>nc);
  const rowW = <usize>((K + 1) >> 1), K2 = <usize>(K >> 1), K8 = <usize>((K >> 1) & ~3);
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    let wp = idx, bp = bf, n = 0;
    // four output rows per pass: each activation load serves four index bytes
    for (; n + 4 <= N; n += 4) {
      let s0 = load<i32>(bp), s1 = load<i32>(bp, 4), s2 = load<i32>(bp, 8), s3 = load<i32>(bp, 12);
      let ap = ar, p0 = wp, p1 = wp + rowW, p2 = p1 + rowW, p3 = p2 + rowW;
      const pend = wp + K2, pend4 = wp + K8;
      while (p0 < pend4) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        const x4 = i32(load<i8>(ap, 4)), x5 = i32(load<i8>(ap, 5)), x6 = i32(load<i8>(ap, 6)), x7 = i32(load<i8>(ap, 7));
        s0 += look4(p0, x0, x1, x2, x3, x4, x5, x6, x7);
        s1 += look4(p1, x0, x1, x2, x3, x4, x5, x6, x7);
        s2 += look4(p2, x0, x1, x2, x3, x4, x5, x6, x7);
        s3 += look4(p3, x0, x1, x2, x3, x4, x5, x6, x7);
        p0 += 4; p1 += 4; p2 += 4; p3 += 4; ap += 8;
      }
      while (p0 < pend) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1));
        const b0 = i32(load<u8>(p0)), b1 = i32(load<u8>(p1)), b2 = i32(load<u8>(p2)), b3 = i32(load<u8>(p3));
        s0 += x0 * w8(b0 & 15) + x1 * w8(b0 >> 4);
        s1 += x0 * w8(b1 & 15) + x1 * w8(b1 >> 4);
        s2 += x0 * w8(b2 & 15) + x1 * w8(b2 >> 4);
        s3 += x0 * w8(b3 & 15) + x1 * w8(b3 >> 4);
        p0 += 1; p1 += 1; p2 += 1; p3 += 1; ap += 2;
      }
      if (K & 1) {
        const x = i32(load<i8>(ap));
        s0 += x * w8(i32(load<u8>(p0)) & 15); s1 += x * w8(i32(load<u8>(p1)) & 15);
        s2 += x * w8(i32(load<u8>(p2)) & 15); s3 += x * w8(i32(load<u8>(p3)) & 15);
      }
      store<i8>(yp, out(s0, mult, shift, zy, qmin, qmax));
      store<i8>(yp, out(s1, mult, shift, zy, qmin, qmax), 1);
      store<i8>(yp, out(s2, mult, shift, zy, qmin, qmax), 2);
      store<i8>(yp, out(s3, mult, shift, zy, qmin, qmax), 3);
      yp += 4; bp += 16; wp += rowW << 2;
    }
    for (; n < N; n++) {
      let s = load<i32>(bp), ap = ar, p = wp;
      const pend = wp + K2, pend4 = wp + K8;
      while (p < pend4) {
        const b0 = i32(load<u8>(p)), b1 = i32(load<u8>(p, 1)), b2 = i32(load<u8>(p, 2)), b3 = i32(load<u8>(p, 3));
        s += i32(load<i8>(ap)) * w8(b0 & 15) + i32(load<i8>(ap, 1)) * w8(b0 >> 4)
          + i32(load<i8>(ap, 2)) * w8(b1 & 15) + i32(load<i8>(ap, 3)) * w8(b1 >> 4)
          + i32(load<i8>(ap, 4)) * w8(b2 & 15) + i32(load<i8>(ap, 5)) * w8(b2 >> 4)
          + i32(load<i8>(ap, 6)) * w8(b3 & 15) + i32(load<i8>(ap, 7)) * w8(b3 >> 4);
        p += 4; ap += 8;
      }
      while (p < pend) {
        const b = i32(load<u8>(p));
        s += i32(load<i8>(ap)) * w8(b & 15) + i32(load<i8>(ap, 1)) * w8(b >> 4);
        p += 1; ap += 2;
      }
      if (K & 1) s += i32(load<i8>(ap)) * w8(i32(load<u8>(p)) & 15);
      store<i8>(yp, out(s, mult, shift, zy, qmin, qmax));
      yp += 1; bp += 4; wp += rowW;
    }
  }
}

/** sum of four activations times the codebook entries of the four 2-bit indices of the byte at p. */
@inline function look1(p: usize, x0: i32, x1: i32, x2: i32, x3: i32): i32 {
  const b = i32(load<u8>(p));
  return x0 * w8(b & 3) + x1 * w8((b >> 2) & 3) + x2 * w8((b >> 4) & 3) + x3 * w8(b >> 6);
}

/** The same over the two bytes at p and eight activations. */
@inline function look2(p: usize, x0: i32, x1: i32, x2: i32, x3: i32, x4: i32, x5: i32, x6: i32, x7: i32): i32 {
  return look1(p, x0, x1, x2, x3) + look1(p + 1, x4, x5, x6, x7);
}

/** 2-bit indices, four per byte; passes of four output rows, then single rows. */
export function fc_shared2_s8(
  a: usize, idx: usize, cb: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: i32, shift: i32, qmin: i32, qmax: i32, nc: i32,
): void {
  memory.copy(0, cb, <usize>nc);
  const rowW = <usize>((K + 3) >> 2), K4 = <usize>(K >> 2), K8 = <usize>((K >> 2) & ~1), r = K & 3;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    let wp = idx, bp = bf, n = 0;
    // four output rows per pass: each activation load serves four index bytes
    for (; n + 4 <= N; n += 4) {
      let s0 = load<i32>(bp), s1 = load<i32>(bp, 4), s2 = load<i32>(bp, 8), s3 = load<i32>(bp, 12);
      let ap = ar, p0 = wp, p1 = wp + rowW, p2 = p1 + rowW, p3 = p2 + rowW;
      const pend = wp + K4, pend2 = wp + K8;
      while (p0 < pend2) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        const x4 = i32(load<i8>(ap, 4)), x5 = i32(load<i8>(ap, 5)), x6 = i32(load<i8>(ap, 6)), x7 = i32(load<i8>(ap, 7));
        s0 += look2(p0, x0, x1, x2, x3, x4, x5, x6, x7);
        s1 += look2(p1, x0, x1, x2, x3, x4, x5, x6, x7);
        s2 += look2(p2, x0, x1, x2, x3, x4, x5, x6, x7);
        s3 += look2(p3, x0, x1, x2, x3, x4, x5, x6, x7);
        p0 += 2; p1 += 2; p2 += 2; p3 += 2; ap += 8;
      }
      if (p0 < pend) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        s0 += look1(p0, x0, x1, x2, x3); s1 += look1(p1, x0, x1, x2, x3);
        s2 += look1(p2, x0, x1, x2, x3); s3 += look1(p3, x0, x1, x2, x3);
        p0 += 1; p1 += 1; p2 += 1; p3 += 1; ap += 4;
      }
      if (r) {
        const b0 = i32(load<u8>(p0)), b1 = i32(load<u8>(p1)), b2 = i32(load<u8>(p2)), b3 = i32(load<u8>(p3));
        for (let j = 0, sh = 0; j < r; j++, sh += 2) {
          const x = i32(load<i8>(ap + <usize>j));
          s0 += x * w8((b0 >> sh) & 3); s1 += x * w8((b1 >> sh) & 3);
          s2 += x * w8((b2 >> sh) & 3); s3 += x * w8((b3 >> sh) & 3);
        }
      }
      store<i8>(yp, out(s0, mult, shift, zy, qmin, qmax));
      store<i8>(yp, out(s1, mult, shift, zy, qmin, qmax), 1);
      store<i8>(yp, out(s2, mult, shift, zy, qmin, qmax), 2);
      store<i8>(yp, out(s3, mult, shift, zy, qmin, qmax), 3);
      yp += 4; bp += 16; wp += rowW << 2;
    }
    for (; n < N; n++) {
      let s = load<i32>(bp), ap = ar, p = wp;
      const pend = wp + K4, pend2 = wp + K8;
      while (p < pend2) {
        const b0 = i32(load<u8>(p)), b1 = i32(load<u8>(p, 1));
        s += i32(load<i8>(ap)) * w8(b0 & 3) + i32(load<i8>(ap, 1)) * w8((b0 >> 2) & 3)
          + i32(load<i8>(ap, 2)) * w8((b0 >> 4) & 3) + i32(load<i8>(ap, 3)) * w8(b0 >> 6)
          + i32(load<i8>(ap, 4)) * w8(b1 & 3) + i32(load<i8>(ap, 5)) * w8((b1 >> 2) & 3)
          + i32(load<i8>(ap, 6)) * w8((b1 >> 4) & 3) + i32(load<i8>(ap, 7)) * w8(b1 >> 6);
        p += 2; ap += 8;
      }
      while (p < pend) {
        const b = i32(load<u8>(p));
        s += i32(load<i8>(ap)) * w8(b & 3) + i32(load<i8>(ap, 1)) * w8((b >> 2) & 3)
          + i32(load<i8>(ap, 2)) * w8((b >> 4) & 3) + i32(load<i8>(ap, 3)) * w8(b >> 6);
        p += 1; ap += 4;
      }
      if (r) {
        const b = i32(load<u8>(p));
        s += i32(load<i8>(ap)) * w8(b & 3);
        if (r > 1) s += i32(load<i8>(ap, 1)) * w8((b >> 2) & 3);
        if (r > 2) s += i32(load<i8>(ap, 2)) * w8((b >> 4) & 3);
      }
      store<i8>(yp, out(s, mult, shift, zy, qmin, qmax));
      yp += 1; bp += 4; wp += rowW;
    }
  }
}

/** 3-bit indices, eight per three bytes. */
export function fc_shared3_s8(
  a: usize, idx: usize, cb: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: i32, shift: i32, qmin: i32, qmax: i32, nc: i32,
): void {
  memory.copy(0, cb, <usize>nc);
  const rowW = <usize>(3 * ((K + 7) >> 3)), G = <usize>(3 * (K >> 3)), r = K & 7;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    let wp = idx, bp = bf;
    for (let n = 0; n < N; n++) {
      let s = load<i32>(bp), ap = ar, p = wp;
      const pend = wp + G;
      while (p < pend) {
        const x = i32(load<u16>(p)) | (i32(load<u8>(p, 2)) << 16);
        s += i32(load<i8>(ap)) * w8(x & 7) + i32(load<i8>(ap, 1)) * w8((x >> 3) & 7)
          + i32(load<i8>(ap, 2)) * w8((x >> 6) & 7) + i32(load<i8>(ap, 3)) * w8((x >> 9) & 7)
          + i32(load<i8>(ap, 4)) * w8((x >> 12) & 7) + i32(load<i8>(ap, 5)) * w8((x >> 15) & 7)
          + i32(load<i8>(ap, 6)) * w8((x >> 18) & 7) + i32(load<i8>(ap, 7)) * w8(x >> 21);
        p += 3; ap += 8;
      }
      if (r) {
        let x = i32(load<u16>(p)) | (i32(load<u8>(p, 2)) << 16);
        for (let j = 0; j < r; j++, x >>= 3, ap += 1) s += i32(load<i8>(ap)) * w8(x & 7);
      }
      store<i8>(yp, out(s, mult, shift, zy, qmin, qmax));
      yp += 1; bp += 4; wp += rowW;
    }
  }
}
