// Inference batch normalization over N x C planes of S elements (channel axis 1).
// f32: the parameters may be run-time tensors, so a = scale / sqrt(var + eps) is computed
// once per plane and each element costs one subtract, one multiply and one add.
// int8: the per-channel affine acc = (x - zx) * a_q[c] + b_q[c], requantized with the
// channel's Q31 multiplier and shift; zx is folded into the bias once per plane (exact in
// wrapping i32 arithmetic), the integer interpreter's BatchNormalization bit for bit.
import { clampi, mbqm } from "../fixedpoint";

export function batchnorm_f32(
  x: usize, scale: usize, bias: usize, mean: usize, variance: usize, y: usize,
  N: i32, C: i32, S: i32, eps: f32,
): void {
  const bytes = <usize>S << 2;
  let xp = x, yp = y;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = <usize>c << 2;
      const a = load<f32>(scale + o) / Mathf.sqrt(load<f32>(variance + o) + eps);
      const m = load<f32>(mean + o), b = load<f32>(bias + o);
      const end = xp + bytes;
      for (; xp < end; xp += 4) {
        store<f32>(yp, (load<f32>(xp) - m) * a + b);
        yp += 4;
      }
    }
  }
}

export function batchnorm_s8(
  x: usize, aq: usize, bq: usize, mult: usize, shift: usize, y: usize,
  N: i32, C: i32, S: i32, zx: i32, zy: i32,
): void {
  let xp = x, yp = y;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = <usize>c << 2;
      const a = i32(load<i8>(aq + <usize>c));
      const b = load<i32>(bq + o) - zx * a;
      const mm = load<i32>(mult + o), ms = load<i32>(shift + o);
      const end = xp + <usize>S;
      for (; xp < end; xp++) {
        store<i8>(yp, i8(clampi(mbqm(i32(load<i8>(xp)) * a + b, mm, ms) + zy, -128, 127)));
        yp++;
      }
    }
  }
}
