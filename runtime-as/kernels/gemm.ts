// Fully connected layers (canonical Gemm, MatMul with a constant weight) and the general
// float Gemm. The fully connected kernels read W as [N, K] (one row per output channel) and
// compute four output channels per pass, so each activation load serves four weight rows;
// the reduction is unrolled (by eight in int8, four in float) with immediate load offsets,
// one pointer bump per unrolled step, and remainder loops take the last taps and the last
// N % 4 channels. Under wasm-interp a 1x256 -> 64 int8 layer costs 6.9 instructions per MAC
// (7.9 unrolled by four). Loading four int8 weights as one i32 and extracting them with
// shifts and sign extensions was measured too: 9.7 instructions per MAC, because each byte
// then costs a shift and an extend where an i8 load with an immediate offset costs one
// instruction, so the kernels load bytes.
// fc_s8 receives bias[n] - za * sum_k w[n,k] (computed by the compiler) and sums a * w:
// in wrapping int32 arithmetic that equals bias[n] + sum_k (a - za) * w, the integer
// interpreter's definition, bit for bit, with one subtraction fewer per activation.
import { clampf, clampi, mbqm } from "../fixedpoint";

/** y[m, n] = clamp(b[n] + sum_k a[m, k] w[n, k], lo, hi); b may be 0 (no bias). */
export function fc_f32(a: usize, w: usize, b: usize, y: usize, M: i32, N: i32, K: i32, lo: f32, hi: f32): void {
  const rowB = <usize>K << 2;
  const K4 = <usize>(K & ~3) << 2;
  let ar = a, yp = y; // running pointers: no multiply per row
  for (let m = 0; m < M; m++, ar += rowB) {
    const aend4 = ar + K4, aend = ar + rowB;
    let p0 = w;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let p1 = p0 + rowB, p2 = p1 + rowB, p3 = p2 + rowB;
      let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
      if (b != 0) {
        const bp = b + (<usize>n << 2);
        a0 = load<f32>(bp); a1 = load<f32>(bp, 4); a2 = load<f32>(bp, 8); a3 = load<f32>(bp, 12);
      }
      let ap = ar;
      while (ap < aend4) {
        const x0 = load<f32>(ap), x1 = load<f32>(ap, 4), x2 = load<f32>(ap, 8), x3 = load<f32>(ap, 12);
        a0 += x0 * load<f32>(p0) + x1 * load<f32>(p0, 4) + x2 * load<f32>(p0, 8) + x3 * load<f32>(p0, 12);
        a1 += x0 * load<f32>(p1) + x1 * load<f32>(p1, 4) + x2 * load<f32>(p1, 8) + x3 * load<f32>(p1, 12);
        a2 += x0 * load<f32>(p2) + x1 * load<f32>(p2, 4) + x2 * load<f32>(p2, 8) + x3 * load<f32>(p2, 12);
        a3 += x0 * load<f32>(p3) + x1 * load<f32>(p3, 4) + x2 * load<f32>(p3, 8) + x3 * load<f32>(p3, 12);
        ap += 16; p0 += 16; p1 += 16; p2 += 16; p3 += 16;
      }
      while (ap < aend) {
        const x = load<f32>(ap);
        a0 += x * load<f32>(p0); a1 += x * load<f32>(p1); a2 += x * load<f32>(p2); a3 += x * load<f32>(p3);
        ap += 4; p0 += 4; p1 += 4; p2 += 4; p3 += 4;
      }
      store<f32>(yp, clampf(a0, lo, hi));
      store<f32>(yp, clampf(a1, lo, hi), 4);
      store<f32>(yp, clampf(a2, lo, hi), 8);
      store<f32>(yp, clampf(a3, lo, hi), 12);
      yp += 16;
      p0 = p3; // p3 ended at the start of row n + 4
    }
    for (; n < N; n++) {
      let acc: f32 = b != 0 ? load<f32>(b + (<usize>n << 2)) : 0;
      let ap = ar;
      while (ap < aend4) {
        acc += load<f32>(ap) * load<f32>(p0) + load<f32>(ap, 4) * load<f32>(p0, 4)
          + load<f32>(ap, 8) * load<f32>(p0, 8) + load<f32>(ap, 12) * load<f32>(p0, 12);
        ap += 16; p0 += 16;
      }
      while (ap < aend) {
        acc += load<f32>(ap) * load<f32>(p0);
        ap += 4; p0 += 4;
      }
      store<f32>(yp, clampf(acc, lo, hi));
      yp += 4;
    }
  }
}

/**
 * y[m, n] = clamp(mbqm(bf[n] + sum_k a[m, k] w[n, k], mult[n], shift[n]) + zy, qmin, qmax)
 * with bf the folded bias (see the file comment); a, w, y int8, bf, mult, shift int32.
 */
export function fc_s8(
  a: usize, w: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const rowB = <usize>K;
  const K4 = <usize>(K & ~3), K8 = <usize>(K & ~7);
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += rowB) {
    const aend8 = ar + K8, aend4 = ar + K4, aend = ar + rowB;
    let p0 = w;
    let n = 0;
    for (; n + 4 <= N; n += 4) {
      let p1 = p0 + rowB, p2 = p1 + rowB, p3 = p2 + rowB;
      const o = <usize>n << 2;
      const bb = bf + o;
      let a0 = load<i32>(bb), a1 = load<i32>(bb, 4), a2 = load<i32>(bb, 8), a3 = load<i32>(bb, 12);
      let ap = ar;
      while (ap < aend8) {
        const x0 = i32(load<i8>(ap)), x1 = i32(load<i8>(ap, 1)), x2 = i32(load<i8>(ap, 2)), x3 = i32(load<i8>(ap, 3));
        const x4 = i32(load<i8>(ap, 4)), x5 = i32(load<i8>(ap, 5)), x6 = i32(load<i8>(ap, 6)), x7 = i32(load<i8>(ap, 7));
        a0 += x0 * i32(load<i8>(p0)) + x1 * i32(load<i8>(p0, 1)) + x2 * i32(load<i8>(p0, 2)) + x3 * i32(load<i8>(p0, 3))
          + x4 * i32(load<i8>(p0, 4)) + x5 * i32(load<i8>(p0, 5)) + x6 * i32(load<i8>(p0, 6)) + x7 * i32(load<i8>(p0, 7));
        a1 += x0 * i32(load<i8>(p1)) + x1 * i32(load<i8>(p1, 1)) + x2 * i32(load<i8>(p1, 2)) + x3 * i32(load<i8>(p1, 3))
          + x4 * i32(load<i8>(p1, 4)) + x5 * i32(load<i8>(p1, 5)) + x6 * i32(load<i8>(p1, 6)) + x7 * i32(load<i8>(p1, 7));
        a2 += x0 * i32(load<i8>(p2)) + x1 * i32(load<i8>(p2, 1)) + x2 * i32(load<i8>(p2, 2)) + x3 * i32(load<i8>(p2, 3))
          + x4 * i32(load<i8>(p2, 4)) + x5 * i32(load<i8>(p2, 5)) + x6 * i32(load<i8>(p2, 6)) + x7 * i32(load<i8>(p2, 7));
        a3 += x0 * i32(load<i8>(p3)) + x1 * i32(load<i8>(p3, 1)) + x2 * i32(load<i8>(p3, 2)) + x3 * i32(load<i8>(p3, 3))
          + x4 * i32(load<i8>(p3, 4)) + x5 * i32(load<i8>(p3, 5)) + x6 * i32(load<i8>(p3, 6)) + x7 * i32(load<i8>(p3, 7));
        ap += 8; p0 += 8; p1 += 8; p2 += 8; p3 += 8;
      }
      while (ap < aend) {
        const x = i32(load<i8>(ap));
        a0 += x * i32(load<i8>(p0)); a1 += x * i32(load<i8>(p1)); a2 += x * i32(load<i8>(p2)); a3 += x * i32(load<i8>(p3));
        ap += 1; p0 += 1; p1 += 1; p2 += 1; p3 += 1;
      }
      const mb = mult + o, sb = shift + o;
      store<i8>(yp, i8(clampi(mbqm(a0, load<i32>(mb), load<i32>(sb)) + zy, qmin, qmax)));
      store<i8>(yp, i8(clampi(mbqm(a1, load<i32>(mb, 4), load<i32>(sb, 4)) + zy, qmin, qmax)), 1);
      store<i8>(yp, i8(clampi(mbqm(a2, load<i32>(mb, 8), load<i32>(sb, 8)) + zy, qmin, qmax)), 2);
      store<i8>(yp, i8(clampi(mbqm(a3, load<i32>(mb, 12), load<i32>(sb, 12)) + zy, qmin, qmax)), 3);
      yp += 4;
      p0 = p3; // p3 ended at the start of row n + 4
    }
    for (; n < N; n++) {
      const o = <usize>n << 2;
      let acc = load<i32>(bf + o);
      let ap = ar;
      while (ap < aend4) {
        acc += i32(load<i8>(ap)) * i32(load<i8>(p0)) + i32(load<i8>(ap, 1)) * i32(load<i8>(p0, 1))
          + i32(load<i8>(ap, 2)) * i32(load<i8>(p0, 2)) + i32(load<i8>(ap, 3)) * i32(load<i8>(p0, 3));
        ap += 4; p0 += 4;
      }
      while (ap < aend) {
        acc += i32(load<i8>(ap)) * i32(load<i8>(p0));
        ap += 1; p0 += 1;
      }
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1;
    }
  }
}

/**
 * General float Gemm: y[m, n] = clamp(alpha * sum_k A'[m, k] B'[k, n] + beta * C[m, n], lo, hi)
 * with element strides A'[m, k] = a[m*sam + k*sak], B'[k, n] = b[k*sbk + n*sbn] (the
 * transposes) and C[m, n] = c[m*scm + n*scn] (0 on broadcast axes); c may be 0 (no C).
 */
export function gemm_f32(
  a: usize, b: usize, c: usize, y: usize, M: i32, N: i32, K: i32,
  sam: i32, sak: i32, sbk: i32, sbn: i32, scm: i32, scn: i32,
  alpha: f32, beta: f32, lo: f32, hi: f32,
): void {
  const dak = <usize>sak << 2, dbk = <usize>sbk << 2;
  const dam = <usize>sam << 2, dcm = <usize>scm << 2, dbn = <usize>sbn << 2, dcn = <usize>scn << 2;
  let yp = y, ar = a, cr = c; // running pointers: no address multiplies
  for (let m = 0; m < M; m++, ar += dam, cr += dcm) {
    let bn = b, cp = cr;
    for (let n = 0; n < N; n++, bn += dbn, cp += dcn) {
      let ap = ar, bp = bn;
      let acc: f32 = 0;
      for (let k = 0; k < K; k++) {
        acc += load<f32>(ap) * load<f32>(bp);
        ap += dak; bp += dbk;
      }
      let v = alpha * acc;
      if (c != 0) v += beta * load<f32>(cp);
      store<f32>(yp, clampf(v, lo, hi));
      yp += 4;
    }
  }
}
