// Depthwise convolution (the "dw" kind: one input channel per output channel), with
// unrolled loops for three-tap-wide kernels over the output positions whose taps are all
// inside the input. Tables as in conv-blk.ts.
import { put, xv, rowDot, row3, rqLeft, rqAdd, rqNeg, rqShr } from "../conv-common";

// One input channel per output channel (cg == 1): output channel m reads input channel m / mg.
// [ohA, ohB) x [owA, owB): the output rows and columns whose taps are all inside the input
// (from the compiler; an empty range is 0, 0). Kernels three taps wide with dilation 1 along W
// and at most three rows run, in each output row, the columns [owA, owB) as one loop with the
// taps unrolled (3x3 with all three rows inside: the nine weights in locals); 3x3 kernels also
// run each other column down the rows [ohA, ohB) as one loop. The positions left, and all
// positions of other kernels, walk their tap ranges. int8: bi[m] = b[m] - zx * (sum of the
// channel's weights) serves the positions with every tap inside, which multiply raw inputs.
//
// Addresses are running pointers: the products of geometry they need come from the compiler
// (HW = H W, KK = KH KW, shW = sh W, dhW = dh W, ptW = pt W; xoA = owA sw - pl, the input
// column of tap 0 at owA; xA = (ohA sh - pt) W, the input row of tap 0 at ohA; yA = ohA OW and
// yn = (ohB - ohA) OW), the cols table gives each column's first input column inside (bits
// 16-31), and the first row inside is reached by stepping over the rows before it (only at the
// borders), so the only multiplies are the MACs and (int8) one requantization per output.
function dwk<T, A>(
  x: usize, w: usize, b: usize, bi: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  HW: i32, KK: i32, shW: i32, dhW: i32, ptW: i32, xoA: i32, xA: i32, yA: i32, yn: i32,
  lo: f32, hi: f32, zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const S = sizeof<T>();
  const HWS = <usize>HW * S, OWS = <usize>OW * S, KKS = <usize>KK * S;
  const dhWS = <usize>dhW * S, shWS = <usize>shW * S, ptWS = <usize>ptW * S, swS = <usize>sw * S, KWS = <usize>KW * S;
  const xoAS = <usize>xoA * S, xAS = <usize>xA * S, yAS = <usize>yA * S, ynS = <usize>yn * S;
  const dw1 = dw == 1, dwS = <usize>dw * S;
  const k3 = KW == 3 && dw1 && KH <= 3, full9 = k3 && KH == 3, hasRun = k3 && owB > owA;
  const down = full9 && ohB > ohA;
  const z = <A>zx;
  let fb: A = <A>0, fi: A = <A>0;
  let l = 0, mq: i64 = 0, dq: i64 = 0, nq: i64 = 0, sq: i64 = 0;
  let w0: A = <A>0, w1: A = <A>0, w2: A = <A>0, w3: A = <A>0, w4: A = <A>0, w5: A = <A>0, w6: A = <A>0, w7: A = <A>0, w8: A = <A>0;
  // xc: the input channel, read by mg output channels in turn (j counts them); ym: the output channel
  let xc = x, ym = y;
  for (let n = 0; n < N; n++) {
    let wm = w, j = 0;
    for (let m = 0; m < M; m++) {
      if (b != 0) fb = fi = <A>load<A>(b + (<usize>m << 2));
      if (isInteger<T>()) {
        if (bi != 0) fi = <A>load<i32>(bi + (<usize>m << 2));
        const t = load<i32>(shift + (<usize>m << 2));
        l = rqLeft(t); mq = i64(load<i32>(mult + (<usize>m << 2))); dq = rqAdd(t); nq = rqNeg(t); sq = rqShr(t);
      }
      if (full9) {
        w0 = <A>load<T>(wm); w1 = <A>load<T>(wm, S); w2 = <A>load<T>(wm, 2 * S);
        w3 = <A>load<T>(wm, 3 * S); w4 = <A>load<T>(wm, 4 * S); w5 = <A>load<T>(wm, 5 * S);
        w6 = <A>load<T>(wm, 6 * S); w7 = <A>load<T>(wm, 7 * S); w8 = <A>load<T>(wm, 8 * S);
      }
      // rowb: input row oh sh - pt (tap 0, maybe outside)
      let yrow = ym, rowb = xc - ptWS;
      for (let oh = 0; oh < OH; oh++) {
        const rt = load<i32>(rows + (<usize>oh << 2));
        const kh0 = rt & 255, kh1 = (rt >> 8) & 255, nr = kh1 - kh0;
        // first input row inside, the next two, and the weights of row kh0
        let r0 = rowb, wr = wm;
        if (kh0 != 0) { let k = kh0; do { r0 += dhWS; wr += KWS; } while (--k != 0); }
        const r1 = r0 + dhWS, r2 = r1 + dhWS;
        const run = hasRun && nr > 0;
        // rows with every tap inside: the columns outside [owA, owB) are run down below
        const inner = down && oh >= ohA && oh < ohB;
        let ow = inner ? owA : 0;
        const oe = inner ? owB : OW;
        while (ow < oe) {
          if (run && ow == owA) {
            let q0 = r0 + xoAS, q1 = r1 + xoAS, q2 = r2 + xoAS;
            let yp = yrow + <usize>owA * S;
            const ye = yrow + <usize>owB * S;
            if (full9 && nr == 3) {
              do {
                const acc = fi
                  + <A>load<T>(q0) * w0 + <A>load<T>(q0, S) * w1 + <A>load<T>(q0, 2 * S) * w2
                  + <A>load<T>(q1) * w3 + <A>load<T>(q1, S) * w4 + <A>load<T>(q1, 2 * S) * w5
                  + <A>load<T>(q2) * w6 + <A>load<T>(q2, S) * w7 + <A>load<T>(q2, 2 * S) * w8;
                put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
                q0 += swS; q1 += swS; q2 += swS; yp += S;
              } while (yp != ye);
            } else {
              // all taps inside when the kernel's rows all are (1-D, 2x3): raw inputs and bi
              const all = nr == KH;
              const rb = all ? fi : fb, rz: A = all ? <A>0 : z;
              if (nr >= 2) {
                do {
                  const acc = rb
                    + xv<T, A>(load<T>(q0), rz) * <A>load<T>(wr) + xv<T, A>(load<T>(q0, S), rz) * <A>load<T>(wr, S) + xv<T, A>(load<T>(q0, 2 * S), rz) * <A>load<T>(wr, 2 * S)
                    + xv<T, A>(load<T>(q1), rz) * <A>load<T>(wr, 3 * S) + xv<T, A>(load<T>(q1, S), rz) * <A>load<T>(wr, 4 * S) + xv<T, A>(load<T>(q1, 2 * S), rz) * <A>load<T>(wr, 5 * S);
                  put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
                  q0 += swS; q1 += swS; yp += S;
                } while (yp != ye);
              } else {
                do {
                  const acc = rb + xv<T, A>(load<T>(q0), rz) * <A>load<T>(wr) + xv<T, A>(load<T>(q0, S), rz) * <A>load<T>(wr, S) + xv<T, A>(load<T>(q0, 2 * S), rz) * <A>load<T>(wr, 2 * S);
                  put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
                  q0 += swS; yp += S;
                } while (yp != ye);
              }
            }
            ow = owB;
            continue;
          }
          const ct = load<i32>(cols + (<usize>ow << 2));
          const kw0 = ct & 255, nk = ((ct >> 8) & 255) - kw0;
          let acc = fb;
          if (nk > 0 && nr > 0) {
            const xo = <usize>(ct >>> 16) * S; // the input column of tap kw0
            const wo = wr + <usize>kw0 * S;
            if (k3) {
              // at most two rows: rows with all three inside are inner rows
              acc += row3<T, A>(r0 + xo, wo, nk, z);
              if (nr > 1) acc += row3<T, A>(r1 + xo, wo + 3 * S, nk, z);
            } else {
              let xr = r0 + xo, wq = wo, k = nr;
              do {
                acc += rowDot<T, A>(xr, wq, nk, dw1, dwS, z);
                xr += dhWS; wq += KWS;
              } while (--k > 0);
            }
          }
          put<T, A>(yrow + <usize>ow * S, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
          ow++;
        }
        yrow += OWS; rowb += shWS;
      }
      if (down) {
        // the columns outside [owA, owB), each down the rows [ohA, ohB) (dilation 1)
        const xa = xc + xAS, ya = ym + yAS;
        let ow = 0;
        while (ow < OW) {
          if (ow == owA && owB > owA) { ow = owB; continue; }
          const ct = load<i32>(cols + (<usize>ow << 2));
          const kw0 = ct & 255, nk = ((ct >> 8) & 255) - kw0;
          let q0 = xa + (<usize>(ct >>> 16) * S), q1 = q0 + dhWS, q2 = q1 + dhWS;
          const wo = wm + <usize>kw0 * S;
          let yp = ya + <usize>ow * S;
          const ye = yp + ynS;
          if (nk == 2) {
            do {
              const acc = fb
                + xv<T, A>(load<T>(q0), z) * <A>load<T>(wo) + xv<T, A>(load<T>(q0, S), z) * <A>load<T>(wo, S)
                + xv<T, A>(load<T>(q1), z) * <A>load<T>(wo, 3 * S) + xv<T, A>(load<T>(q1, S), z) * <A>load<T>(wo, 4 * S)
                + xv<T, A>(load<T>(q2), z) * <A>load<T>(wo, 6 * S) + xv<T, A>(load<T>(q2, S), z) * <A>load<T>(wo, 7 * S);
              put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
              q0 += shWS; q1 += shWS; q2 += shWS; yp += OWS;
            } while (yp != ye);
          } else {
            do {
              const acc = fb + row3<T, A>(q0, wo, nk, z) + row3<T, A>(q1, wo + 3 * S, nk, z) + row3<T, A>(q2, wo + 6 * S, nk, z);
              put<T, A>(yp, acc, lo, hi, zy, qmin, qmax, l, mq, dq, nq, sq);
              q0 += shWS; q1 += shWS; q2 += shWS; yp += OWS;
            } while (yp != ye);
          }
          ow++;
        }
      }
      ym = yrow; wm += KKS;
      if (++j == mg) { j = 0; xc += HWS; }
    }
  }
}

/** Float, one input channel per output channel (depthwise, or a single-channel input). */
export function conv_dw_f32(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  HW: i32, KK: i32, shW: i32, dhW: i32, ptW: i32, xoA: i32, xA: i32, yA: i32, yn: i32, lo: f32, hi: f32,
): void {
  dwk<f32, f32>(x, w, b, 0, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB,
    HW, KK, shW, dhW, ptW, xoA, xA, yA, yn, lo, hi, 0, 0, 0, 0, 0, 0);
}

/** int8, one input channel per output channel; bi = b - zx * sum of weights (or 0 if unused). */
export function conv_dw_s8(
  x: usize, w: usize, b: usize, bi: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  HW: i32, KK: i32, shW: i32, dhW: i32, ptW: i32, xoA: i32, xA: i32, yA: i32, yn: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  dwk<i8, i32>(x, w, b, bi, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB,
    HW, KK, shW, dhW, ptW, xoA, xA, yA, yn, 0, 0, zx, zy, mult, shift, qmin, qmax);
}

