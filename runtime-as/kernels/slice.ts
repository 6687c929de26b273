// Slice: a strided copy of a box of the input. The compiler passes x already offset to the
// box's first element and a row plan (runtime-as/broadcast.ts) with the box's dims, the
// input strides (stride * step, negative for negative steps) as operand A and the output's
// contiguous strides as operand B; strided_copy walks it row by row, with memory.copy for
// rows that are contiguous on both sides (step 1 on the last axis). Negative strides rely on
// wasm32 address arithmetic wrapping modulo 2^32 (usize is u32), which the walker's
// additions of <usize> offsets do. Elements are 4 bytes (float32), 1 byte (int8, which
// keeps its quantization) or 2 bytes (int16 of Q formats from 9 bits); one kernel serves all.
import { strided_copy } from "../broadcast";

export function slice(x: usize, y: usize, plan: usize, rows: i32, n: i32, sx: i32, sy: i32, esize: i32): void {
  strided_copy(x, y, plan, rows, n, sx, sy, esize);
}
