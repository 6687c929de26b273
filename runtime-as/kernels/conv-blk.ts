// Convolution, four output channels per pass (the compiler's "blk" kind, see
// compiler/ops/conv.ts kernelKind): each input value is loaded once for four output channels
// of a group; weights are repacked at compile time to [group][block][KH][cg][KW][4] so the
// four weights of a tap are adjacent. rows/cols tables give each output row/column its range
// of taps inside the input (k0 in bits 0-7, k1 in bits 8-15), so there are no bounds checks.
import { put, rqLeft, rqAdd, rqNeg, rqShr } from "../conv-common";

// Four output channels per pass.
//
// int8 also computes two output positions per pass: the two inputs of a tap, minus the zero
// point, are packed into one i64, (x - zx) + (x' - zx) * 2^32, and one i64 multiply by the
// sign-extended weight makes both products. Summed in i64 they give S + S' * 2^32 for the two
// positions' sums; with |(x - zx) * w| < 2^15 and fewer than 2^16 taps per output (the compiler
// checks cg * KH * KW), |S| < 2^31, so the low half is exactly S and (sum + 2^31) >> 32 is
// exactly S'. The two positions are (oh, ow) and (oh + 1, ow) when rows oh and oh + 1 have
// the same taps (then every column of both rows pairs up), else (oh, ow) and (oh, ow + 1) when
// those columns have the same taps (bits 0-15 of their cols entries); otherwise the position is paired with itself and only the
// low half is stored.
//
// Addresses are running pointers: the products of geometry they need (HW = H W, OHW = OH OW,
// cgHW = cg H W, shW = sh W, dhW = dh W, ptW = pt W, and in the repacked weights wKh = cg KW 4
// per kernel row, wBlk = KH wKh per block) come from the compiler, the cols table gives each
// column's first input column inside (bits 16-31), and the first row inside is reached by
// stepping over the rows before it (only at the borders), so the only multiplies are the MACs
// and (int8) one requantization per output.
function blk<T, A>(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, OHW: i32, cgHW: i32, shW: i32, dhW: i32, ptW: i32, wKh_: i32, wBlk_: i32,
  lo: f32, hi: f32, zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const S = sizeof<T>();
  const cg = C / G, mg = M / G, nbg = (mg + 3) >> 2;
  const HWS = <usize>HW * S, O1 = <usize>OHW * S, O2 = O1 + O1, O3 = O2 + O1, O4 = O2 + O2;
  const cgHWS = <usize>cgHW * S, dhWS = <usize>dhW * S, OWS = <usize>OW * S;
  const shWS = <usize>shW * S, sh2WS = shWS + shWS, ptWS = <usize>ptW * S;
  const wRow = <usize>KW * (4 * S), wKh = <usize>wKh_ * S, wBlk = <usize>wBlk_ * S;
  const dw1 = dw == 1, dwS = <usize>dw * S, swS = <usize>sw * S;
  const ZZ: i64 = i64(zx) + (i64(zx) << 32), HALF: i64 = i64(1) << 31;
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
        if (b != 0) {
          b0 = <A>load<A>(bp); b1 = <A>load<A>(bp, 4); b2 = <A>load<A>(bp, 8); b3 = <A>load<A>(bp, 12);
        }
        bp += 16;
        if (isInteger<T>()) {
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
        let yp = yb;
        // rowb: input row oh sh - pt (tap 0, maybe outside)
        let rowb = xg - ptWS;
        let oh = 0;
        do {
          const rt = load<i32>(rows + (<usize>oh << 2));
          const kh0 = rt & 255, kh1 = (rt >> 8) & 255;
          // input row of tap kh0, and its weights
          let xrow = rowb, wrow = wb;
          if (kh0 != 0) { let k = kh0; do { xrow += dhWS; wrow += wKh; } while (--k != 0); }
          const vert = isInteger<T>() && oh + 1 < OH && load<i32>(rows + (<usize>oh << 2), 4) == rt;
          let ow = 0;
          do {
            const ct = load<i32>(cols + (<usize>ow << 2));
            const kw0 = ct & 255, nk = ((ct >> 8) & 255) - kw0;
            // the input column of tap kw0 (bits 16-31), and its weights
            let xr0 = xrow + (<usize>(ct >>> 16) * S);
            let wr0 = wrow + (<usize>kw0 * (4 * S));
            if (isFloat<T>()) {
              let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
              if (nk > 0) {
                for (let kh = kh0; kh < kh1; kh++) {
                  let xr = xr0, wr = wr0, k = nk;
                  do {
                    let xp = xr, wp = wr;
                    const xe = xr + cgHWS;
                    if (dw1 && k >= 3) {
                      do {
                        const v0 = <A>load<T>(xp), v1 = <A>load<T>(xp, S), v2 = <A>load<T>(xp, 2 * S);
                        a0 += v0 * <A>load<T>(wp) + v1 * <A>load<T>(wp, 4 * S) + v2 * <A>load<T>(wp, 8 * S);
                        a1 += v0 * <A>load<T>(wp, S) + v1 * <A>load<T>(wp, 5 * S) + v2 * <A>load<T>(wp, 9 * S);
                        a2 += v0 * <A>load<T>(wp, 2 * S) + v1 * <A>load<T>(wp, 6 * S) + v2 * <A>load<T>(wp, 10 * S);
                        a3 += v0 * <A>load<T>(wp, 3 * S) + v1 * <A>load<T>(wp, 7 * S) + v2 * <A>load<T>(wp, 11 * S);
                        xp += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += 3 * S; wr += 12 * S; k -= 3;
                    } else if (dw1 && k == 2) {
                      do {
                        const v0 = <A>load<T>(xp), v1 = <A>load<T>(xp, S);
                        a0 += v0 * <A>load<T>(wp) + v1 * <A>load<T>(wp, 4 * S);
                        a1 += v0 * <A>load<T>(wp, S) + v1 * <A>load<T>(wp, 5 * S);
                        a2 += v0 * <A>load<T>(wp, 2 * S) + v1 * <A>load<T>(wp, 6 * S);
                        a3 += v0 * <A>load<T>(wp, 3 * S) + v1 * <A>load<T>(wp, 7 * S);
                        xp += HWS; wp += wRow;
                      } while (xp != xe);
                      k = 0;
                    } else {
                      do {
                        const v = <A>load<T>(xp);
                        a0 += v * <A>load<T>(wp);
                        a1 += v * <A>load<T>(wp, S);
                        a2 += v * <A>load<T>(wp, 2 * S);
                        a3 += v * <A>load<T>(wp, 3 * S);
                        xp += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += dwS; wr += 4 * S; k -= 1;
                    }
                  } while (k > 0);
                  xr0 += dhWS; wr0 += wKh;
                }
              }
              put<T, A>(yp, a0, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              if (cnt > 1) put<T, A>(yp + O1, a1, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              if (cnt > 2) put<T, A>(yp + O2, a2, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              if (cnt > 3) put<T, A>(yp + O3, a3, lo, hi, 0, 0, 0, 0, 0, 0, 0, 0);
              yp += S; ow++;
            } else {
              const two = vert || (ow + 1 < OW && ((load<i32>(cols + (<usize>ow << 2), 4) ^ ct) & 0xffff) == 0);
              const step: usize = vert ? shWS : two ? swS : 0;
              let p0: i64 = 0, p1: i64 = 0, p2: i64 = 0, p3: i64 = 0;
              if (nk > 0) {
                for (let kh = kh0; kh < kh1; kh++) {
                  let xr = xr0, wr = wr0, k = nk;
                  do {
                    let xp = xr, xq = xr + step, wp = wr;
                    const xe = xr + cgHWS;
                    if (dw1 && k >= 3) {
                      do {
                        const v0 = i64(load<i8>(xp)) + (i64(load<i8>(xq)) << 32) - ZZ;
                        const v1 = i64(load<i8>(xp, 1)) + (i64(load<i8>(xq, 1)) << 32) - ZZ;
                        const v2 = i64(load<i8>(xp, 2)) + (i64(load<i8>(xq, 2)) << 32) - ZZ;
                        p0 += v0 * i64(load<i8>(wp)) + v1 * i64(load<i8>(wp, 4)) + v2 * i64(load<i8>(wp, 8));
                        p1 += v0 * i64(load<i8>(wp, 1)) + v1 * i64(load<i8>(wp, 5)) + v2 * i64(load<i8>(wp, 9));
                        p2 += v0 * i64(load<i8>(wp, 2)) + v1 * i64(load<i8>(wp, 6)) + v2 * i64(load<i8>(wp, 10));
                        p3 += v0 * i64(load<i8>(wp, 3)) + v1 * i64(load<i8>(wp, 7)) + v2 * i64(load<i8>(wp, 11));
                        xp += HWS; xq += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += 3; wr += 12; k -= 3;
                    } else if (dw1 && k == 2) {
                      do {
                        const v0 = i64(load<i8>(xp)) + (i64(load<i8>(xq)) << 32) - ZZ;
                        const v1 = i64(load<i8>(xp, 1)) + (i64(load<i8>(xq, 1)) << 32) - ZZ;
                        p0 += v0 * i64(load<i8>(wp)) + v1 * i64(load<i8>(wp, 4));
                        p1 += v0 * i64(load<i8>(wp, 1)) + v1 * i64(load<i8>(wp, 5));
                        p2 += v0 * i64(load<i8>(wp, 2)) + v1 * i64(load<i8>(wp, 6));
                        p3 += v0 * i64(load<i8>(wp, 3)) + v1 * i64(load<i8>(wp, 7));
                        xp += HWS; xq += HWS; wp += wRow;
                      } while (xp != xe);
                      k = 0;
                    } else {
                      do {
                        const v = i64(load<i8>(xp)) + (i64(load<i8>(xq)) << 32) - ZZ;
                        p0 += v * i64(load<i8>(wp));
                        p1 += v * i64(load<i8>(wp, 1));
                        p2 += v * i64(load<i8>(wp, 2));
                        p3 += v * i64(load<i8>(wp, 3));
                        xp += HWS; xq += HWS; wp += wRow;
                      } while (xp != xe);
                      xr += dwS; wr += 4; k -= 1;
                    }
                  } while (k > 0);
                  xr0 += dhWS; wr0 += wKh;
                }
              }
              // the first position from the low halves, then (if paired) the second from the high
              let yq = yp, k = two ? 2 : 1;
              do {
                put<T, A>(yq, b0 + <A>p0, lo, hi, zy, qmin, qmax, l0, m0, d0, n0, s0);
                if (cnt > 1) put<T, A>(yq + O1, b1 + <A>p1, lo, hi, zy, qmin, qmax, l1, m1, d1, n1, s1);
                if (cnt > 2) put<T, A>(yq + O2, b2 + <A>p2, lo, hi, zy, qmin, qmax, l2, m2, d2, n2, s2);
                if (cnt > 3) put<T, A>(yq + O3, b3 + <A>p3, lo, hi, zy, qmin, qmax, l3, m3, d3, n3, s3);
                p0 = (p0 + HALF) >> 32; p1 = (p1 + HALF) >> 32; p2 = (p2 + HALF) >> 32; p3 = (p3 + HALF) >> 32;
                yq += vert ? OWS : 1;
              } while (--k > 0);
              const adv = two && !vert ? 2 : 1;
              yp += adv; ow += adv;
            }
          } while (ow < OW);
          // rows paired vertically: the partner row is done too
          if (vert) { yp += OWS; oh += 2; rowb += sh2WS; } else { oh++; rowb += shWS; }
        } while (oh < OH);
        wb += wBlk;
        yb += cnt > 3 ? O4 : cnt == 3 ? O3 : cnt == 2 ? O2 : O1;
      }
      xg += cgHWS;
    }
  }
}

/** Float, four output channels per pass; w repacked, b padded to the block layout (or 0). */
export function conv_blk_f32(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, OHW: i32, cgHW: i32, shW: i32, dhW: i32, ptW: i32, wKh: i32, wBlk: i32, lo: f32, hi: f32,
): void {
  blk<f32, f32>(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, lo, hi, 0, 0, 0, 0, 0, 0);
}

/** int8, four output channels by two positions per pass; w repacked, b and mult/shift padded. */
export function conv_blk_s8(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, OHW: i32, cgHW: i32, shW: i32, dhW: i32, ptW: i32, wKh: i32, wBlk: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  blk<i8, i32>(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, 0, 0, zx, zy, mult, shift, qmin, qmax);
}
