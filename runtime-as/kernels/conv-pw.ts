// Pointwise convolution (the "pw" kind: 1x1, stride 1, no padding): a small matrix product
// per image, several output channels by several positions per pass.
import { put, rqLeft, rqAdd, rqNeg, rqShr } from "../conv-common";

// Pointwise: 1x1, stride 1, no padding, P >= 2 positions computed of `stride` (H * W) per
// channel (fewer for an --intermittent tile of positions, x and y advanced to its first); weights repacked to
// [group][block][cg][4]. Float: four output channels by four positions per pass. int8: every
// tap is inside, so b already holds b - zx * sum w and the inputs are used raw; four channels
// by two positions per pass, packed in i64 as in blk (|x * w| <= 2^14 and the compiler checks
// cg < 2^17, so the low half is exact). Addresses are running pointers (cgP = cg P from the
// compiler), so the only multiplies are the MACs and (int8) one requantization per output.
function pwk<T, A>(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, cgP: i32,
  lo: f32, hi: f32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, stride: i32,
): void {
  const S = sizeof<T>();
  const cg = C / G, mg = M / G, nbg = (mg + 3) >> 2;
  const PS = <usize>stride * S, O2 = PS + PS, O3 = O2 + PS, O4 = O2 + O2, cgPS = <usize>cgP * S, wBlk = <usize>cg * (4 * S);
  const P4 = P & ~3;
  const HALF: i64 = i64(1) << 31;
  let b0: A = <A>0, b1: A = <A>0, b2: A = <A>0, b3: A = <A>0;
  let l0 = 0, l1 = 0, l2 = 0, l3 = 0;
  let m0: i64 = 0, m1: i64 = 0, m2: i64 = 0, m3: i64 = 0;
  let d0: i64 = 0, d1: i64 = 0, d2: i64 = 0, d3: i64 = 0;
  let n0: i64 = 0, n1: i64 = 0, n2: i64 = 0, n3: i64 = 0;
  let s0: i64 = 0, s1: i64 = 0, s2: i64 = 0, s3: i64 = 0;
  // xg: the group's first input channel; yb: the block's first output channel
  let xg = x, yb = y;
  for (let n = 0; n < N; n++) {
    // the block's weights, bias, multipliers and shifts
    let wb = w, bp = b, mq = mult, sq = shift;
    for (let g = 0; g < G; g++) {
      for (let jb = 0; jb < nbg; jb++) {
        const cnt = mg - (jb << 2);
        if (isFloat<T>()) {
          if (b != 0) {
            b0 = <A>load<f32>(bp); b1 = <A>load<f32>(bp, 4); b2 = <A>load<f32>(bp, 8); b3 = <A>load<f32>(bp, 12);
          }
        } else {
          b0 = <A>load<i32>(bp); b1 = <A>load<i32>(bp, 4); b2 = <A>load<i32>(bp, 8); b3 = <A>load<i32>(bp, 12);
          let t = load<i32>(sq);
          l0 = rqLeft(t); m0 = i64(load<i32>(mq)); d0 = rqAdd(t); n0 = rqNeg(t); s0 = rqShr(t);
          t = load<i32>(sq, 4);
          l1 = rqLeft(t); m1 = i64(load<i32>(mq, 4)); d1 = rqAdd(t); n1 = rqNeg(t); s1 = rqShr(t);
          t = load<i32>(sq, 8);
          l2 = rqLeft(t); m2 = i64(load<i32>(mq, 8)); d2 = rqAdd(t); n2 = rqNeg(t); s2 = rqShr(t);
          t = load<i32>(sq, 12);
          l3 = rqLeft(t); m3 = i64(load<i32>(mq, 12)); d3 = rqAdd(t); n3 = rqNeg(t); s3 = rqShr(t);
          mq += 16; sq += 16;
        }
        bp += 16;
        // the next block's first output channel (the last of a group may have fewer than four)
        const ynext = yb + (cnt > 3 ? O4 : cnt == 3 ? O3 : cnt == 2 ? O2 : PS);
        if (isInteger<T>()) {
          // two adjacent positions per pass, packed in i64 as in blk; an odd last position is
          // done as the pair (P - 2, P - 1), storing P - 2 again with the same value
          for (let p = 0; p < P; p += 2) {
            const p2 = p + 1 < P ? p : P - 2;
            let q0: i64 = 0, q1: i64 = 0, q2: i64 = 0, q3: i64 = 0;
            let xp = xg + <usize>p2, wp = wb;
            const xe = xp + cgPS;
            do {
              const v = i64(load<i8>(xp)) + (i64(load<i8>(xp, 1)) << 32);
              q0 += v * i64(load<i8>(wp));
              q1 += v * i64(load<i8>(wp, 1));
              q2 += v * i64(load<i8>(wp, 2));
              q3 += v * i64(load<i8>(wp, 3));
              xp += PS; wp += 4;
            } while (xp != xe);
            const yp = yb + <usize>p2;
            put<T, A>(yp, b0 + <A>q0, lo, hi, zy, qmin, qmax, l0, m0, d0, n0, s0);
            put<T, A>(yp + 1, b0 + <A>((q0 + HALF) >> 32), lo, hi, zy, qmin, qmax, l0, m0, d0, n0, s0);
            if (cnt > 1) {
              put<T, A>(yp + PS, b1 + <A>q1, lo, hi, zy, qmin, qmax, l1, m1, d1, n1, s1);
              put<T, A>(yp + PS + 1, b1 + <A>((q1 + HALF) >> 32), lo, hi, zy, qmin, qmax, l1, m1, d1, n1, s1);
            }
            if (cnt > 2) {
              put<T, A>(yp + O2, b2 + <A>q2, lo, hi, zy, qmin, qmax, l2, m2, d2, n2, s2);
              put<T, A>(yp + O2 + 1, b2 + <A>((q2 + HALF) >> 32), lo, hi, zy, qmin, qmax, l2, m2, d2, n2, s2);
            }
            if (cnt > 3) {
              put<T, A>(yp + O3, b3 + <A>q3, lo, hi, zy, qmin, qmax, l3, m3, d3, n3, s3);
              put<T, A>(yp + O3 + 1, b3 + <A>((q3 + HALF) >> 32), lo, hi, zy, qmin, qmax, l3, m3, d3, n3, s3);
            }
          }
          wb += wBlk; yb = ynext;
          continue;
        }
        let p = 0;
        for (; p < P4; p += 4) {
          let a00 = b0, a01 = b0, a02 = b0, a03 = b0;
          let a10 = b1, a11 = b1, a12 = b1, a13 = b1;
          let a20 = b2, a21 = b2, a22 = b2, a23 = b2;
          let a30 = b3, a31 = b3, a32 = b3, a33 = b3;
          let xp = xg + <usize>p * S, wp = wb;
          const xe = xp + cgPS;
          do {
            const x0 = <A>load<T>(xp), x1 = <A>load<T>(xp, S), x2 = <A>load<T>(xp, 2 * S), x3 = <A>load<T>(xp, 3 * S);
            const w0 = <A>load<T>(wp), w1 = <A>load<T>(wp, S), w2 = <A>load<T>(wp, 2 * S), w3 = <A>load<T>(wp, 3 * S);
            a00 += x0 * w0; a01 += x1 * w0; a02 += x2 * w0; a03 += x3 * w0;
            a10 += x0 * w1; a11 += x1 * w1; a12 += x2 * w1; a13 += x3 * w1;
            a20 += x0 * w2; a21 += x1 * w2; a22 += x2 * w2; a23 += x3 * w2;
            a30 += x0 * w3; a31 += x1 * w3; a32 += x2 * w3; a33 += x3 * w3;
            xp += PS; wp += 4 * S;
          } while (xp != xe);
          const yp = yb + <usize>p * S;
          put<T, A>(yp, a00, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          put<T, A>(yp + S, a01, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          put<T, A>(yp + 2 * S, a02, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          put<T, A>(yp + 3 * S, a03, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 1) {
            const yq = yp + PS;
            put<T, A>(yq, a10, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + S, a11, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 2 * S, a12, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 3 * S, a13, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          }
          if (cnt > 2) {
            const yq = yp + O2;
            put<T, A>(yq, a20, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + S, a21, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 2 * S, a22, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 3 * S, a23, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          }
          if (cnt > 3) {
            const yq = yp + O3;
            put<T, A>(yq, a30, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + S, a31, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 2 * S, a32, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
            put<T, A>(yq + 3 * S, a33, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          }
        }
        for (; p < P; p++) {
          let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
          let xp = xg + <usize>p * S, wp = wb;
          const xe = xp + cgPS;
          do {
            const v = <A>load<T>(xp);
            a0 += v * <A>load<T>(wp);
            a1 += v * <A>load<T>(wp, S);
            a2 += v * <A>load<T>(wp, 2 * S);
            a3 += v * <A>load<T>(wp, 3 * S);
            xp += PS; wp += 4 * S;
          } while (xp != xe);
          const yp = yb + <usize>p * S;
          put<T, A>(yp, a0, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 1) put<T, A>(yp + PS, a1, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 2) put<T, A>(yp + O2, a2, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
          if (cnt > 3) put<T, A>(yp + O3, a3, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
        }
        wb += wBlk; yb = ynext;
      }
      xg += cgPS;
    }
  }
}

/** Float pointwise; w repacked, b padded to the block layout (or 0). */
export function conv_pw_f32(x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, cgP: i32, lo: f32, hi: f32, stride: i32): void {
  pwk<f32, f32>(x, w, b, y, N, C, P, M, G, cgP, lo, hi, 0, 0, 0, 0, 0, stride);
}

/** int8 pointwise; b = bias - zx * sum of weights, padded to the block layout. */
export function conv_pw_s8(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, cgP: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, stride: i32,
): void {
  pwk<i8, i32>(x, w, b, y, N, C, P, M, G, cgP, 0, 0, zy, mult, shift, qmin, qmax, stride);
}

