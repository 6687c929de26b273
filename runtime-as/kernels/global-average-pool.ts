// Global average pooling over NC planes of S contiguous elements. f32: four partial sums
// (shorter dependency chains, a little less rounding drift on long planes), then one
// division by S. int8: the i32 sum divided by S rounding half away from zero (rdiv from the
// pooling kernels), the integer interpreter's GlobalAveragePool bit for bit.
import { rdiv } from "./pool";

export function gap_f32(x: usize, y: usize, NC: i32, S: i32): void {
  const n = <f32>S;
  let xp = x;
  for (let c = 0; c < NC; c++) {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    let i = 0;
    for (; i + 4 <= S; i += 4) {
      a0 += load<f32>(xp);
      a1 += load<f32>(xp, 4);
      a2 += load<f32>(xp, 8);
      a3 += load<f32>(xp, 12);
      xp += 16;
    }
    for (; i < S; i++) {
      a0 += load<f32>(xp);
      xp += 4;
    }
    store<f32>(y + (<usize>c << 2), ((a0 + a1) + (a2 + a3)) / n);
  }
}

export function gap_s8(x: usize, y: usize, NC: i32, S: i32): void {
  let xp = x;
  for (let c = 0; c < NC; c++) {
    let s: i32 = 0;
    const end = xp + <usize>S;
    for (; xp < end; xp++) s += i32(load<i8>(xp));
    store<i8>(y + <usize>c, i8(rdiv(s, S)));
  }
}
