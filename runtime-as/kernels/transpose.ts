// Transpose: a strided gather in output order. The compiler's row plan lists, per output
// axis (unit axes dropped, axes that stay adjacent merged), the input stride (operand A)
// and the output stride (operand B); runtime-as/broadcast.ts walks the rows (rows of n
// elements, innermost strides sx, sy). A row whose
// input stride is 1 (the last axis stays last) is one memory.copy; otherwise elements are
// gathered with a constant input step. Elements are 4 bytes (float32), 1 byte (int8, which
// keeps its quantization) or 2 bytes (int16 of Q formats from 9 bits); one kernel serves all.
import { strided_copy } from "../broadcast";

export function transpose(x: usize, y: usize, plan: usize, rows: i32, n: i32, sx: i32, sy: i32, esize: i32): void {
  strided_copy(x, y, plan, rows, n, sx, sy, esize);
}
