// Concat, one call per input: the output is `outer` rows of rowOut elements and this input
// fills a block of `row` elements at a fixed column of every row (its address y is already
// offset to that column). A copy moves whole rows with memory.copy (float32, int8 inputs
// that share the output's quantization, Q-format int8 or int16); when outer is 1
// (concatenation along the first non-unit axis, or an input whose rows are the output's:
// the compiler passes those as one row) that is a single copy. concat_s8 requantizes an int8 input whose scale or
// zero point differs from the output's, the integer interpreter's Concat bit for bit.
import { clampi, mbqm } from "../fixedpoint";

export function concat_copy(x: usize, y: usize, outer: i32, rowBytes: i32, outRowBytes: i32): void {
  const step = <usize>outRowBytes, len = <usize>rowBytes;
  let px = x, py = y;
  for (let o = 0; o < outer; o++) {
    memory.copy(py, px, len);
    px += len;
    py += step;
  }
}

export function concat_s8(x: usize, y: usize, outer: i32, row: i32, rowOut: i32, zi: i32, zy: i32, m: i32, sh: i32): void {
  const len = <usize>row, step = <usize>rowOut;
  let px = x, py = y;
  for (let o = 0; o < outer; o++) {
    for (let j: usize = 0; j < len; j++) {
      store<i8>(py + j, i8(clampi(mbqm(i32(load<i8>(px + j)) - zi, m, sh) + zy, -128, 127)));
    }
    px += len;
    py += step;
  }
}
