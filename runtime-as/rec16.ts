// What the int8 recurrent kernels (lstm_s8, gru_s8, rnn_s8) share, mirroring
// compiler/ops/recurrent-int.ts operation for operation: the Q0.15 sigmoid/tanh table lookup
// with linear interpolation, int16 saturation, the Q3.12 gate pre-activation from its int32
// x-side and h-side sums, state initialization and the int8 output requantization.
import { clampi, mbqm, rdbpot } from "./fixedpoint";

/** Table t (513 int16 entries over Q3.12 [-8, 8]) at a (Q3.12), interpolated: Q0.15. */
@inline export function lut(t: usize, a: i32): i32 {
  const u = a + 32768;
  const p = t + (<usize>(u >> 7) << 1);
  const y0 = <i32>load<i16>(p);
  return y0 + ((((<i32>load<i16>(p, 2)) - y0) * (u & 127) + 64) >> 7);
}

@inline export function sat16(x: i64): i32 {
  return <i32>(x < -32768 ? -32768 : x > 32767 ? 32767 : x);
}

/** Product of a Q0.15 value and any int16 fixed-point value, in the latter's format. */
@inline export function mul15(a: i32, b: i32): i32 {
  return rdbpot(a * b, 15);
}

/**
 * Gate pre-activation of row `o` (byte offset of the row in the int32 parameter vectors):
 * sat16(mbqm(accx, wm, ws) + mbqm(acch, rm, rs) + bx), bounded by the clip.
 */
@inline export function gatePre(accx: i32, acch: i32, wm: usize, ws: usize, rm: usize, rs: usize, bx: usize, o: usize, clip: i32): i32 {
  const a = sat16(i64(mbqm(accx, load<i32>(wm + o), load<i32>(ws + o))) + i64(mbqm(acch, load<i32>(rm + o), load<i32>(rs + o))) + i64(load<i32>(bx + o)));
  return clampi(a, -clip, clip);
}

/**
 * Fills H int16 state values at dst: zeros (kind 0), an int16 constant at src (kind 1), or
 * an int8 tensor at src requantized with (z, m, s) (kind 2). so: the batch entry's element offset.
 */
@inline export function initState(dst: usize, kind: i32, src: usize, so: i32, z: i32, m: i32, s: i32, H: i32): void {
  if (kind == 0) memory.fill(dst, 0, <usize>H << 1);
  else if (kind == 1) memory.copy(dst, src + (<usize>so << 1), <usize>H << 1);
  else for (let j = 0; j < H; j++) store<i16>(dst + (<usize>j << 1), <i16>sat16(i64(mbqm(<i32>load<i8>(src + <usize>(so + j)) - z, m, s))));
}

/** int8 output of an int16 state value. */
@inline export function out8(v: i32, z: i32, m: i32, s: i32): i8 {
  return <i8>clampi(mbqm(v, m, s) + z, -128, 127);
}

/** Writes H int16 values at src as int8 to dst (when dst is not 0). */
@inline export function storeOut(dst: usize, src: usize, H: i32, z: i32, m: i32, s: i32): void {
  if (dst != 0) for (let j = 0; j < H; j++) store<i8>(dst + <usize>j, out8(<i32>load<i16>(src + (<usize>j << 1)), z, m, s));
}
