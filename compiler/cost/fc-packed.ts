/**
 * Analytic costs of the packed fully connected kernels (runtime-as/kernels/fc-shared.ts and
 * fc-subbyte.ts, emitted by compiler/ops/fc-packed.ts), mirroring their loops; kernels.ts
 * says what is counted. Per output: K activations (read once for four outputs in the
 * passes of four rows of every kernel but fc_shared3), the packed row
 * (packedRowBytes) and the folded bias. The shared kernels add one codebook byte per
 * weight (from the copy at address 0 they make once per call) and take the layer's one
 * multiplier and shift as arguments; the sub-byte ones load a per-row multiplier and shift
 * and, once per row of A, sum its K activations (the offset of their unsigned codes).
 * Multiplies: one per MAC and the requantization (one i64 product per output, none when
 * every call passes one power-of-two multiplier, which the optimizer turns into a shift).
 */
import { packedRowBytes } from "../ops/fc-packed.js";
import { cost, type Args, type Formula } from "./types.js";

function shared(bits: number): Formula {
  // fc_sharedB_s8(a, idx, cb, bf, y, M, N, K, zy, mult, shift, qmin, qmax, nc): the copy of
  // the nc codebook bytes to the low scratch (read and written) once per call
  // fc_shared4_s8 and fc_shared2_s8 run passes of four output rows (the activations read
  // once for the four), then single rows
  return (a: Args) => {
    const [M, N, K, nc] = [a.n(5), a.n(6), a.n(7), a.n(13)];
    const rw = packedRowBytes(K, bits);
    const [N4, R] = bits !== 3 ? [Math.floor(N / 4), N % 4] : [0, N];
    const loads = M * (N4 * (K + 4 * (K + rw + 4)) + R * (2 * K + rw + 4));
    return cost(M * N * (K + a.mulBy(9, "int")), nc + loads, nc + M * N);
  };
}

function subbyte(bits: number): Formula {
  // fc_intB_s8(a, w, bf, y, M, N, K, zy, mult, shift, qmin, qmax): passes of four output
  // rows (the K activations read once for the four), then single rows
  return (a: Args) => {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    const rw = packedRowBytes(K, bits);
    const [N4, R] = [Math.floor(N / 4), N % 4];
    return cost(M * N * (K + 1), M * (K + N4 * (K + 4 * rw + 48) + R * (K + rw + 12)), M * N);
  };
}

export const FC_PACKED: Record<string, Formula> = {
  fc_shared4_s8: shared(4), fc_shared3_s8: shared(3), fc_shared2_s8: shared(2),
  fc_int4_s8: subbyte(4), fc_int2_s8: subbyte(2),
};
