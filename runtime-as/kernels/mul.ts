// Mul with numpy broadcasting, structured like add.ts: the row plan (runtime-as/broadcast.ts)
// reduces any broadcast to `rows` rows of n elements where both operands advance (equal shapes: one row) or one
// of them is a scalar for the whole row (per-channel [C,1,1] scaling, a scalar factor), each
// with its own loop. The float kernel clamps to optional activation bounds; the int8 kernel
// multiplies the zero-point-corrected operands in int32 and requantizes once, the integer
// interpreter's Mul bit for bit.
import { clampf, clampi, mbqm } from "../fixedpoint";
import { rowA, rowB, rows_begin, rows_next } from "../broadcast";

export function mul_f32(a: usize, b: usize, y: usize, plan: usize, rows: i32, n: i32, ia: i32, ib: i32, lo: f32, hi: f32): void {
  rows_begin(plan);
  const rowBytes = <usize>n << 2;
  let py = y;
  for (let r = 0; r < rows; r++) {
    const pa = a + (<usize>rowA << 2), pb = b + (<usize>rowB << 2);
    if (ia != 0 && ib != 0) {
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<f32>(py + o, clampf(load<f32>(pa + o) * load<f32>(pb + o), lo, hi));
      }
    } else if (ia != 0) {
      const vb = load<f32>(pb);
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<f32>(py + o, clampf(load<f32>(pa + o) * vb, lo, hi));
      }
    } else {
      const va = load<f32>(pa);
      for (let o: usize = 0; o < rowBytes; o += 4) {
        store<f32>(py + o, clampf(va * load<f32>(pb + o), lo, hi));
      }
    }
    py += rowBytes;
    rows_next();
  }
}

export function mul_s8(
  a: usize, b: usize, y: usize, plan: usize, rows: i32, rn: i32, ia: i32, ib: i32,
  za: i32, zb: i32, zy: i32, m: i32, sh: i32, qmin: i32, qmax: i32,
): void {
  rows_begin(plan);
  const n = <usize>rn;
  let py = y;
  for (let r = 0; r < rows; r++) {
    const pa = a + <usize>rowA, pb = b + <usize>rowB;
    if (ia != 0 && ib != 0) {
      for (let o: usize = 0; o < n; o++) {
        const p = (i32(load<i8>(pa + o)) - za) * (i32(load<i8>(pb + o)) - zb);
        store<i8>(py + o, i8(clampi(mbqm(p, m, sh) + zy, qmin, qmax)));
      }
    } else if (ia != 0) {
      const vb = i32(load<i8>(pb)) - zb;
      for (let o: usize = 0; o < n; o++) {
        const p = (i32(load<i8>(pa + o)) - za) * vb;
        store<i8>(py + o, i8(clampi(mbqm(p, m, sh) + zy, qmin, qmax)));
      }
    } else {
      const va = i32(load<i8>(pa)) - za;
      for (let o: usize = 0; o < n; o++) {
        const p = va * (i32(load<i8>(pb + o)) - zb);
        store<i8>(py + o, i8(clampi(mbqm(p, m, sh) + zy, qmin, qmax)));
      }
    }
    py += n;
    rows_next();
  }
}
