// Max and average pooling over N*C planes of H x W (1-D pooling arrives with H = 1), any
// kernel, stride, asymmetric padding, ceil_mode overhang and (max only) dilation. Both walk
// the same windows: for every output row and column the range of kernel taps that land
// inside the input is computed once, so the inner loops carry no bounds checks and padding
// is simply not visited. Every window covers at least one input element (the compiler
// refuses geometries where one would not).
// Average divisor: the taps inside the input, or with count_include_pad the window clipped
// to [-pad_begin, size + pad_end) (he, we), which excludes the ceil_mode overhang.
// int8: max of the int8 values; average = (sum + zx * counted padding) / count rounded half
// away from zero with truncating i32 division (rdiv): the integer interpreter, bit for bit.
import { tapHi, tapLo } from "../window";


/** sum / count rounded half away from zero (count > 0); i32 division truncates toward zero. */
@inline export function rdiv(sum: i32, count: i32): i32 {
  const h = count >> 1;
  return (sum >= 0 ? sum + h : sum - h) / count;
}

// The window walks use running pointers only (no multiply goes to addressing): the compiler
// passes the products HW = H * W (a plane), shW = sh * W (an output row's step in input
// elements), dhW = dh * W (a dilated kernel row) and ptW = pt * W (the top pad's rows),
// and the first kernel taps inside the input are reached by stepping over the clipped ones.

export function maxpool_f32(
  x: usize, y: usize, NC: i32, H: i32, W: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, HW: i32, shW: i32, dhW: i32, ptW: i32,
): void {
  const plane = <usize>HW << 2, ohStep = <usize>shW << 2;
  const rowStep = <usize>dhW << 2, colStep = <usize>dw << 2;
  let xc = x, yo = y;
  for (let c = 0; c < NC; c++) {
    let ih0 = -pt, rp = xc - (<usize>ptW << 2); // row ih0 (wrapping address arithmetic above the plane)
    for (let oh = 0; oh < OH; oh++) {
      const kh0 = tapLo(ih0, dh), kh1 = tapHi(ih0, dh, H, KH);
      let xrow = rp;
      for (let kh = 0; kh < kh0; kh++) xrow += rowStep;
      let iw0 = -pl;
      for (let ow = 0; ow < OW; ow++) {
        const kw0 = tapLo(iw0, dw), kw1 = tapHi(iw0, dw, W, KW);
        let m: f32 = -Infinity;
        let xr = xrow + (<usize>iw0 << 2);
        for (let kw = 0; kw < kw0; kw++) xr += colStep;
        for (let kh = kh0; kh < kh1; kh++) {
          let xp = xr;
          for (let kw = kw0; kw < kw1; kw++) {
            m = max<f32>(m, load<f32>(xp));
            xp += colStep;
          }
          xr += rowStep;
        }
        store<f32>(yo, m);
        yo += 4;
        iw0 += sw;
      }
      ih0 += sh;
      rp += ohStep;
    }
    xc += plane;
  }
}

export function maxpool_s8(
  x: usize, y: usize, NC: i32, H: i32, W: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, HW: i32, shW: i32, dhW: i32, ptW: i32,
): void {
  const plane = <usize>HW, ohStep = <usize>shW;
  const rowStep = <usize>dhW, colStep = <usize>dw;
  let xc = x, yo = y;
  for (let c = 0; c < NC; c++) {
    let ih0 = -pt, rp = xc - <usize>ptW;
    for (let oh = 0; oh < OH; oh++) {
      const kh0 = tapLo(ih0, dh), kh1 = tapHi(ih0, dh, H, KH);
      let xrow = rp;
      for (let kh = 0; kh < kh0; kh++) xrow += rowStep;
      let iw0 = -pl;
      for (let ow = 0; ow < OW; ow++) {
        const kw0 = tapLo(iw0, dw), kw1 = tapHi(iw0, dw, W, KW);
        let m: i32 = -128;
        let xr = xrow + <usize>iw0;
        for (let kw = 0; kw < kw0; kw++) xr += colStep;
        for (let kh = kh0; kh < kh1; kh++) {
          let xp = xr;
          for (let kw = kw0; kw < kw1; kw++) {
            m = max<i32>(m, i32(load<i8>(xp)));
            xp += colStep;
          }
          xr += rowStep;
        }
        store<i8>(yo, i8(m));
        yo += 1;
        iw0 += sw;
      }
      ih0 += sh;
      rp += ohStep;
    }
    xc += plane;
  }
}

// Average pooling has no dilation: taps are consecutive, the first inside the input at
// max(start, 0). The divisor needs one multiply per output (ch * cw); int8 with
// count_include_pad also weighs the counted padding by zx.
export function avgpool_f32(
  x: usize, y: usize, NC: i32, H: i32, W: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, he: i32, we: i32, cip: i32, HW: i32, shW: i32, ptW: i32,
): void {
  const plane = <usize>HW << 2, rowStep = <usize>W << 2, ohStep = <usize>shW << 2;
  let xc = x, yo = y;
  for (let c = 0; c < NC; c++) {
    let ih0 = -pt, rp = xc - (<usize>ptW << 2);
    for (let oh = 0; oh < OH; oh++) {
      const kh0 = tapLo(ih0, 1), kh1 = tapHi(ih0, 1, H, KH);
      const ch = cip ? min<i32>(ih0 + KH, he) - ih0 : kh1 - kh0;
      let xrow = rp;
      for (let kh = 0; kh < kh0; kh++) xrow += rowStep;
      let iw0 = -pl;
      for (let ow = 0; ow < OW; ow++) {
        const kw0 = tapLo(iw0, 1), kw1 = tapHi(iw0, 1, W, KW);
        const cw = cip ? min<i32>(iw0 + KW, we) - iw0 : kw1 - kw0;
        let s: f32 = 0;
        let xr = xrow + (<usize>(iw0 + kw0) << 2);
        const rowBytes = <usize>(kw1 - kw0) << 2;
        for (let kh = kh0; kh < kh1; kh++) {
          for (let xp = xr, end = xr + rowBytes; xp < end; xp += 4) s += load<f32>(xp);
          xr += rowStep;
        }
        store<f32>(yo, s / <f32>(ch * cw));
        yo += 4;
        iw0 += sw;
      }
      ih0 += sh;
      rp += ohStep;
    }
    xc += plane;
  }
}

export function avgpool_s8(
  x: usize, y: usize, NC: i32, H: i32, W: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, pt: i32, pl: i32, he: i32, we: i32, cip: i32, zx: i32, HW: i32, shW: i32, ptW: i32,
): void {
  const plane = <usize>HW, rowStep = <usize>W, ohStep = <usize>shW;
  let xc = x, yo = y;
  for (let c = 0; c < NC; c++) {
    let ih0 = -pt, rp = xc - <usize>ptW;
    for (let oh = 0; oh < OH; oh++) {
      const kh0 = tapLo(ih0, 1), kh1 = tapHi(ih0, 1, H, KH);
      const nh = kh1 - kh0;
      const ch = cip ? min<i32>(ih0 + KH, he) - ih0 : nh;
      let xrow = rp;
      for (let kh = 0; kh < kh0; kh++) xrow += rowStep;
      let iw0 = -pl;
      for (let ow = 0; ow < OW; ow++) {
        const kw0 = tapLo(iw0, 1), kw1 = tapHi(iw0, 1, W, KW);
        const n = kw1 - kw0;
        let count: i32, s: i32;
        if (cip) {
          count = (min<i32>(iw0 + KW, we) - iw0) * ch;
          s = (count - n * nh) * zx; // counted padding positions hold the zero point (real 0)
        } else {
          count = n * nh;
          s = 0;
        }
        let xr = xrow + <usize>(iw0 + kw0);
        for (let kh = 0; kh < nh; kh++) {
          for (let xp = xr, end = xr + <usize>n; xp < end; xp++) s += i32(load<i8>(xp));
          xr += rowStep;
        }
        store<i8>(yo, i8(rdiv(s, count)));
        yo += 1;
        iw0 += sw;
      }
      ih0 += sh;
      rp += ohStep;
    }
    xc += plane;
  }
}
