// Batched matrix product of two run-time operands (attention scores, numpy-style batch
// broadcasting). The compiler flattens the batch into a table of (A offset, B offset) pairs
// in elements, one per output matrix (offs = 0 means one matrix at offset 0), so broadcasting
// costs nothing here. Each pass computes four output columns: one A load serves four
// contiguous B values read with immediate offsets, and the B pointer steps one row (N
// elements) per tap. A MatMul with a constant 2-D B runs as a fully connected layer in
// kernels/gemm.ts instead.
// matmul_s8 defines acc = sum_k (a - za) * (b - zb) in wrapping int32. It computes
// sum_k (a - za) * b - zb * sum_k (a - za) instead: equal modulo 2^32, bit for bit, and
// one subtraction fewer per multiply.
import { clampf, clampi, mbqm } from "../fixedpoint";

export function matmul_f32(a: usize, b: usize, y: usize, offs: usize, batches: i32, M: i32, N: i32, K: i32, lo: f32, hi: f32): void {
  const rowA = <usize>K << 2, rowB = <usize>N << 2;
  let yp = y;
  for (let t = 0; t < batches; t++) {
    const ab = offs != 0 ? a + (<usize>load<i32>(offs + (<usize>t << 3)) << 2) : a;
    const bb = offs != 0 ? b + (<usize>load<i32>(offs + (<usize>t << 3), 4) << 2) : b;
    let ar = ab; // a running pointer: no multiply per row
    for (let m = 0; m < M; m++, ar += rowA) {
      const aend = ar + rowA;
      let n = 0;
      for (; n + 4 <= N; n += 4) {
        let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
        let ap = ar, bp = bb + (<usize>n << 2);
        while (ap < aend) {
          const x = load<f32>(ap);
          a0 += x * load<f32>(bp); a1 += x * load<f32>(bp, 4); a2 += x * load<f32>(bp, 8); a3 += x * load<f32>(bp, 12);
          ap += 4; bp += rowB;
        }
        store<f32>(yp, clampf(a0, lo, hi));
        store<f32>(yp, clampf(a1, lo, hi), 4);
        store<f32>(yp, clampf(a2, lo, hi), 8);
        store<f32>(yp, clampf(a3, lo, hi), 12);
        yp += 16;
      }
      for (; n < N; n++) {
        let acc: f32 = 0;
        let ap = ar, bp = bb + (<usize>n << 2);
        while (ap < aend) {
          acc += load<f32>(ap) * load<f32>(bp);
          ap += 4; bp += rowB;
        }
        store<f32>(yp, clampf(acc, lo, hi));
        yp += 4;
      }
    }
  }
}

export function matmul_s8(
  a: usize, b: usize, y: usize, offs: usize, batches: i32, M: i32, N: i32, K: i32,
  za: i32, zb: i32, zy: i32, mult: i32, shift: i32, qmin: i32, qmax: i32, zbzaK: i32,
): void {
  const rowA = <usize>K, rowB = <usize>N;
  let yp = y;
  for (let t = 0; t < batches; t++) {
    const ab = offs != 0 ? a + <usize>load<i32>(offs + (<usize>t << 3)) : a;
    const bb = offs != 0 ? b + <usize>load<i32>(offs + (<usize>t << 3), 4) : b;
    let ar = ab;
    for (let m = 0; m < M; m++, ar += rowA) {
      const aend = ar + rowA;
      let sa = 0;
      for (let ap = ar; ap < aend; ap++) sa += i32(load<i8>(ap));
      const corr = zb * sa - zbzaK; // zb (sa - za K)
      let n = 0;
      for (; n + 4 <= N; n += 4) {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        let ap = ar, bp = bb + <usize>n;
        while (ap < aend) {
          const x = i32(load<i8>(ap)) - za;
          a0 += x * i32(load<i8>(bp)); a1 += x * i32(load<i8>(bp, 1)); a2 += x * i32(load<i8>(bp, 2)); a3 += x * i32(load<i8>(bp, 3));
          ap += 1; bp += rowB;
        }
        store<i8>(yp, i8(clampi(mbqm(a0 - corr, mult, shift) + zy, qmin, qmax)));
        store<i8>(yp, i8(clampi(mbqm(a1 - corr, mult, shift) + zy, qmin, qmax)), 1);
        store<i8>(yp, i8(clampi(mbqm(a2 - corr, mult, shift) + zy, qmin, qmax)), 2);
        store<i8>(yp, i8(clampi(mbqm(a3 - corr, mult, shift) + zy, qmin, qmax)), 3);
        yp += 4;
      }
      for (; n < N; n++) {
        let acc = 0;
        let ap = ar, bp = bb + <usize>n;
        while (ap < aend) {
          acc += (i32(load<i8>(ap)) - za) * i32(load<i8>(bp));
          ap += 1; bp += rowB;
        }
        store<i8>(yp, i8(clampi(mbqm(acc - corr, mult, shift) + zy, qmin, qmax)));
        yp += 1;
      }
    }
  }
}
