// Elementwise activations over n contiguous elements: f32 kernels for Relu, Clip, LeakyRelu,
// Sigmoid, Tanh and HardSigmoid, and the one int8 kernel all six share. In int8 every
// activation is a 256-entry int8 table computed by the compiler (y = table[q + 128]), so the
// kernel is a byte lookup and matches the integer interpreter bit for bit by construction.
// Sigmoid and Tanh use the fixed-cost forms of runtime-as/mathf.ts (f32, within about 1e-7
// of the compiler's float64 reference).
// Q formats of 9 to 16 bits (int16 storage, where a table would have 65536 entries) run
// Relu and Clip as clamp_q16 and HardSigmoid (1/6, 1/2) as hsig_q16, the integer
// definitions of compiler/ir/fixedpoint.ts (qAct) computed directly.
import { qhsig, qsat } from "../qformat";
import { sigmoidf, tanhf } from "../mathf";

export function relu_f32(x: usize, y: usize, n: i32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    store<f32>(y, Mathf.max(load<f32>(x), 0));
    x += 4; y += 4;
  }
}

/** min(max(x, lo), hi): max first, so lo > hi gives hi everywhere, as ONNX defines. */
export function clip_f32(x: usize, y: usize, n: i32, lo: f32, hi: f32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    store<f32>(y, Mathf.min(Mathf.max(load<f32>(x), lo), hi));
    x += 4; y += 4;
  }
}

export function leaky_relu_f32(x: usize, y: usize, n: i32, alpha: f32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    const v = load<f32>(x);
    store<f32>(y, select<f32>(alpha * v, v, v < 0)); // both arms computed: one multiply per element whatever the sign
    x += 4; y += 4;
  }
}

export function sigmoid_f32(x: usize, y: usize, n: i32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    store<f32>(y, sigmoidf(load<f32>(x)));
    x += 4; y += 4;
  }
}

export function tanh_f32(x: usize, y: usize, n: i32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    store<f32>(y, tanhf(load<f32>(x)));
    x += 4; y += 4;
  }
}

export function hard_sigmoid_f32(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void {
  const end = x + (<usize>n << 2);
  while (x < end) {
    store<f32>(y, Mathf.max(Mathf.min(alpha * load<f32>(x) + beta, 1), 0));
    x += 4; y += 4;
  }
}

/** y[i] = table[x[i] + 128]; the unsigned byte of x, xor 128, is that index. */
export function lut_s8(x: usize, y: usize, n: i32, table: usize): void {
  const end = x + <usize>n;
  while (x < end) {
    store<i8>(y, load<i8>(table + <usize>(load<u8>(x) ^ 0x80)));
    x += 1; y += 1;
  }
}

/** min(max(x, a), b), then saturated to [lo, hi], on int16 grid values (Relu: a = 0, b = hi). */
export function clamp_q16(x: usize, y: usize, n: i32, a: i32, b: i32, lo: i32, hi: i32): void {
  const end = x + (<usize>n << 1);
  while (x < end) {
    const v = i32(load<i16>(x));
    const u = v < a ? a : v;
    store<i16>(y, i16(qsat(u > b ? b : u, lo, hi)));
    x += 2; y += 2;
  }
}

/** Hard sigmoid (qhsig) on int16 grid values, saturated to [lo, hi]. */
export function hsig_q16(x: usize, y: usize, n: i32, f: i32, lo: i32, hi: i32): void {
  const end = x + (<usize>n << 1);
  while (x < end) {
    store<i16>(y, i16(qsat(qhsig(i32(load<i16>(x)), f, hi), lo, hi)));
    x += 2; y += 2;
  }
}
