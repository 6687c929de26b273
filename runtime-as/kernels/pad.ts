// Pad, constant mode. The first `fill` output elements (all of them, or 0 when no pad is
// positive and the copy covers the whole output) are set to the pad value, then the box of
// input elements that survive cropping is copied to its place: the compiler's row plan
// gives the box's dims with input (A) and output (B) strides, xoff and yoff its start in
// bytes, and runtime-as/broadcast.ts copies it row by row (rows rows of n elements,
// innermost strides sx, sy; memory.copy when rows are contiguous on both sides).
// rows == 0 means nothing of the input survives.
// The int8 kernel is the same with 1-byte elements and the pad value already quantized
// with the input's parameters.
import { strided_copy } from "../broadcast";

export function pad_f32(x: usize, y: usize, fill: i32, value: f32, plan: usize, rows: i32, n: i32, sx: i32, sy: i32, xoff: i32, yoff: i32): void {
  if (reinterpret<u32>(value) == 0) {
    memory.fill(y, 0, <usize>fill << 2);
  } else {
    const end = y + (<usize>fill << 2);
    for (let p = y; p < end; p += 4) store<f32>(p, value);
  }
  strided_copy(x + <usize>xoff, y + <usize>yoff, plan, rows, n, sx, sy, 4);
}

export function pad_s8(x: usize, y: usize, fill: i32, value: i32, plan: usize, rows: i32, n: i32, sx: i32, sy: i32, xoff: i32, yoff: i32): void {
  memory.fill(y, u8(value), <usize>fill);
  strided_copy(x + <usize>xoff, y + <usize>yoff, plan, rows, n, sx, sy, 1);
}
