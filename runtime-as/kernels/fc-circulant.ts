// Block-circulant fully connected layers (--circulant k; RAD/FLEX and CirCNN): W [N, K] is a
// grid of (N/k) x (K/k) circulant k x k blocks, each stored as one vector v of k values with
// block[r][c] = v[(r - c) mod k], so the layer keeps N K / k weights instead of N K. These
// are the direct kernels: output r of a block row sums, over the block columns, v[r], v[r-1],
// ..., v[0] against x[0..r] and then v[k-1], ..., v[r+1] against x[r+1..k-1], walking v
// backwards with a running pointer (no modulo, no multiply for addressing). They do the same
// MACs as the dense layer; the saving is the weights' bytes. (The FFT form,
// kernels/fc-circulant-fft.ts, cuts the multiplies in float; it has no exact int8 form.)
// Vectors are stored block row by block row:
// v + ((bi Q + bj) k) for Q = K / k.
// fc_circulant_s8 takes fc_s8's folded bias (bias[n] - za sum_k w[n, k]) and is bit-exact
// with the integer interpreter (fcInt on the expanded weights).
import { clampf, clampi, mbqm } from "../fixedpoint";

export function fc_circulant_s8(
  a: usize, v: usize, bf: usize, y: usize, M: i32, N: i32, K: i32, k: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const kb = <usize>k, rowV = <usize>K; // a block row of vectors: Q k = K bytes
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    let vrow = v, o: usize = 0;
    for (let n0 = 0; n0 < N; n0 += k, vrow += rowV) {
      for (let r: usize = 0; r < kb; r++, o += 4) {
        let acc = load<i32>(bf + o);
        let vb = vrow, xp = ar;
        const xend = ar + <usize>K;
        while (xp < xend) {
          let vp = vb + r;
          const mid = xp + r + 1, bend = xp + kb;
          while (xp < mid) { acc += i32(load<i8>(vp)) * i32(load<i8>(xp)); vp--; xp++; }
          vp = vb + kb - 1;
          while (xp < bend) { acc += i32(load<i8>(vp)) * i32(load<i8>(xp)); vp--; xp++; }
          vb += kb;
        }
        store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
        yp += 1;
      }
    }
  }
}

/** y[m, n] = clamp(b[n] + sum over the circulant blocks, lo, hi); b may be 0 (no bias). */
export function fc_circulant_f32(a: usize, v: usize, b: usize, y: usize, M: i32, N: i32, K: i32, k: i32, lo: f32, hi: f32): void {
  const kb = <usize>k << 2, rowV = <usize>K << 2;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K << 2) {
    let vrow = v, bp = b;
    for (let n0 = 0; n0 < N; n0 += k, vrow += rowV) {
      for (let r: usize = 0; r < kb; r += 4) {
        let acc: f32 = 0;
        if (b != 0) { acc = load<f32>(bp); bp += 4; }
        let vb = vrow, xp = ar;
        const xend = ar + (<usize>K << 2);
        while (xp < xend) {
          let vp = vb + r;
          const mid = xp + r + 4, bend = xp + kb;
          while (xp < mid) { acc += load<f32>(vp) * load<f32>(xp); vp -= 4; xp += 4; }
          vp = vb + kb - 4;
          while (xp < bend) { acc += load<f32>(vp) * load<f32>(xp); vp -= 4; xp += 4; }
          vb += kb;
        }
        store<f32>(yp, clampf(acc, lo, hi));
        yp += 4;
      }
    }
  }
}
