/**
 * Analytic costs of the block-circulant kernels (runtime-as/kernels/fc-circulant.ts): per row
 * of A and output, K MACs reading one vector byte (or float) and one activation each; int8
 * adds per output its folded bias, multiplier and shift (int32) and the requantization
 * product; float its bias when there is one.
 */
import { cost, type Formula } from "./types.js";

export const FC_CIRCULANT: Record<string, Formula> = {
  // fc_circulant_s8(a, v, bf, y, M, N, K, k, zy, mult, shift, qmin, qmax)
  fc_circulant_s8(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    return cost(M * N * (K + 1), M * N * (2 * K + 12), M * N);
  },
  // fc_circulant_f32(a, v, b, y, M, N, K, k, lo, hi)
  fc_circulant_f32(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    return cost(M * N * K, 4 * M * N * (2 * K + (a.ptr(2) ? 1 : 0)), 4 * M * N);
  },
};
