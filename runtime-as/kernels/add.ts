// Add with numpy broadcasting. The row plan (runtime-as/broadcast.ts) turns any broadcast
// into `rows` rows of n elements whose innermost strides (ia, ib) are (1, 1): both operands
// run along the row, (1, 0): the second operand is one scalar for the whole row (a
// per-channel [C,1,1] parameter, a scalar), or (0, 1): the first one is. Equal shapes are a
// single row (plan 0). Each case has its own
// loop, so the only per-element work is the loads, the sum, the clamp and the store.
// The float kernel clamps to fused activation bounds; the int8 kernel is TFLite's quantized
// Add (rescale both operands to a common scale with 20 bits of headroom, sum, requantize),
// the integer interpreter's Add bit for bit; a row-constant operand is rescaled once per row.
// The Q-format kernels (--fixed) add grid values and saturate to the format, then to the
// fused activation's bounds: add_q8 on int8 storage, add_q16 on int16 (|a + b| <= 2^16,
// exact in i32).
import { clampf, clampi, mbqm } from "../fixedpoint";
import { rowA, rowB, rows_begin, rows_next } from "../broadcast";

export function add_f32(a: usize, b: usize, y: usize, plan: usize, rows: i32, n: i32, ia: i32, ib: i32, lo: f32, hi: f32): void {
  rows_begin(plan);
  const rowBytes = <usize>n << 2;
  let py = y;
  for (let r = 0; r < rows; r++) {
    const pa = a + (<usize>rowA << 2), pb = b + (<usize>rowB << 2);
    if (ia != 0 && ib != 0) {
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<f32>(py + o, clampf(load<f32>(pa + o) + load<f32>(pb + o), lo, hi));
      }
    } else if (ia != 0) {
      const vb = load<f32>(pb);
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<f32>(py + o, clampf(load<f32>(pa + o) + vb, lo, hi));
      }
    } else {
      const va = load<f32>(pa);
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<f32>(py + o, clampf(va + load<f32>(pb + o), lo, hi));
      }
    }
    py += rowBytes;
    rows_next();
  }
}

/** An operand on the common scale: (q - z) << 20 times its multiplier. */
@inline function lift(q: i32, z: i32, m: i32, s: i32): i32 {
  return mbqm((q - z) << 20, m, s);
}

export function add_s8(
  a: usize, b: usize, y: usize, plan: usize, rows: i32, rn: i32, ia: i32, ib: i32,
  za: i32, zb: i32, zy: i32, ma: i32, sa: i32, mb: i32, sb: i32, mo: i32, so: i32, qmin: i32, qmax: i32,
): void {
  rows_begin(plan);
  const n = <usize>rn;
  let py = y;
  for (let r = 0; r < rows; r++) {
    const pa = a + <usize>rowA, pb = b + <usize>rowB;
    if (ia != 0 && ib != 0) {
      for (let o: usize = 0; o < n; o++) {
        const s = lift(i32(load<i8>(pa + o)), za, ma, sa) + lift(i32(load<i8>(pb + o)), zb, mb, sb);
        store<i8>(py + o, i8(clampi(mbqm(s, mo, so) + zy, qmin, qmax)));
      }
    } else if (ia != 0) {
      const vb = lift(i32(load<i8>(pb)), zb, mb, sb);
      for (let o: usize = 0; o < n; o++) {
        const s = lift(i32(load<i8>(pa + o)), za, ma, sa) + vb;
        store<i8>(py + o, i8(clampi(mbqm(s, mo, so) + zy, qmin, qmax)));
      }
    } else {
      const va = lift(i32(load<i8>(pa)), za, ma, sa);
      for (let o: usize = 0; o < n; o++) {
        const s = va + lift(i32(load<i8>(pb + o)), zb, mb, sb);
        store<i8>(py + o, i8(clampi(mbqm(s, mo, so) + zy, qmin, qmax)));
      }
    }
    py += n;
    rows_next();
  }
}

/** Q format: y = clamp(sat(a + b, lo, hi), qmin, qmax) on int8 grid values. */
export function add_q8(a: usize, b: usize, y: usize, plan: usize, rows: i32, n: i32, ia: i32, ib: i32, lo: i32, hi: i32, qmin: i32, qmax: i32): void {
  rows_begin(plan);
  const sa = <usize>ia, sb = <usize>ib; // innermost byte strides (1, or 0 for a row constant)
  let py = y;
  for (let r = 0; r < rows; r++) {
    let pa = a + <usize>rowA, pb = b + <usize>rowB;
    for (let o = 0; o < n; o++) {
      const s = i32(load<i8>(pa)) + i32(load<i8>(pb));
      store<i8>(py, i8(clampi(clampi(s, lo, hi), qmin, qmax)));
      pa += sa; pb += sb; py++;
    }
    rows_next();
  }
}

/** Q format on int16 grid values: y = clamp(sat(a + b, lo, hi), qmin, qmax). */
export function add_q16(a: usize, b: usize, y: usize, plan: usize, rows: i32, n: i32, ia: i32, ib: i32, lo: i32, hi: i32, qmin: i32, qmax: i32): void {
  rows_begin(plan);
  const sa = <usize>ia << 1, sb = <usize>ib << 1; // innermost byte strides (2, or 0 for a row constant)
  let py = y;
  for (let r = 0; r < rows; r++) {
    let pa = a + (<usize>rowA << 1), pb = b + (<usize>rowB << 1);
    for (let o = 0; o < n; o++) {
      const s = i32(load<i16>(pa)) + i32(load<i16>(pb));
      store<i16>(py, i16(clampi(clampi(s, lo, hi), qmin, qmax)));
      pa += sa; pb += sb; py += 2;
    }
    rows_next();
  }
}
