// Softmax over slices of n elements at stride `inner`, for `outer` blocks of block = n * inner
// elements (the compiler reduces both ONNX axis conventions to this). Float: subtract the
// slice maximum, exp, divide by the f32 sum. int8: with d = max - q (0..255) and the
// compiler's int32 table T[d] = round(exp(-d * s_in) * 2^20), sum = Σ T[d] and
// y = clamp((T[d] * 256 + sum / 2) / sum - 128, -128, 127) in exact integer division, which
// is the integer interpreter's definition bit for bit. Output scale 1/256, zero point -128.
import { clampi } from "../fixedpoint";
import { expClamped } from "../mathf";

export function softmax_f32(x: usize, y: usize, outer: i32, n: i32, inner: i32, block: i32): void {
  const step = <usize>inner << 2, span = <usize>block << 2;
  let xb = x, yb = y;
  for (let o = 0; o < outer; o++) {
    let xs = xb, ys = yb;
    for (let i = 0; i < inner; i++) {
      const xe = xs + span;
      let m = load<f32>(xs);
      for (let p = xs + step; p < xe; p += step) m = Mathf.max(m, load<f32>(p));
      let sum: f32 = 0;
      let q = ys;
      for (let p = xs; p < xe; p += step) {
        const e = expClamped(load<f32>(p) - m); // fixed cost (runtime-as/mathf.ts)
        store<f32>(q, e);
        sum += e;
        q += step;
      }
      const ye = ys + span;
      for (q = ys; q < ye; q += step) store<f32>(q, load<f32>(q) / sum);
      xs += 4; ys += 4;
    }
    xb += span; yb += span;
  }
}

export function softmax_s8(x: usize, y: usize, outer: i32, n: i32, inner: i32, block: i32, table: usize): void {
  const step = <usize>inner;
  const span = <usize>block;
  let xb = x, yb = y;
  for (let o = 0; o < outer; o++) {
    let xs = xb, ys = yb;
    for (let i = 0; i < inner; i++) {
      const xe = xs + span;
      let m: i32 = load<i8>(xs);
      for (let p = xs + step; p < xe; p += step) {
        const v: i32 = load<i8>(p);
        m = v > m ? v : m;
      }
      // T[m - q] lives at table + 4 * (m - q) = tm - 4 * q
      const tm = table + (<usize>(m + 128) << 2);
      let sum: i64 = 0;
      for (let p = xs; p < xe; p += step) sum += i64(load<i32>(tm - (<usize>(i32(load<i8>(p)) + 128) << 2)));
      let q = ys;
      if (sum <= i64(i32.MAX_VALUE)) {
        // T * 256 <= 2^28 and sum / 2 < 2^30: the numerator fits i32 too
        const s = i32(sum), half = s >> 1;
        for (let p = xs; p < xe; p += step) {
          const t = load<i32>(tm - (<usize>(i32(load<i8>(p)) + 128) << 2));
          store<i8>(q, i8(clampi(((t << 8) + half) / s - 128, -128, 127)));
          q += step;
        }
      } else {
        const half = sum >> 1;
        for (let p = xs; p < xe; p += step) {
          const t = i64(load<i32>(tm - (<usize>(i32(load<i8>(p)) + 128) << 2)));
          store<i8>(q, i8(clampi(i32(((t << 8) + half) / sum) - 128, -128, 127)));
          q += step;
        }
      }
      xs++; ys++;
    }
    xb += span; yb += span;
  }
}
