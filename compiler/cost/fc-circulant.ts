/**
 * Analytic costs of the block-circulant kernels. Direct (runtime-as/kernels/fc-circulant.ts):
 * per row of A and output, K MACs reading one vector byte (or float) and one activation
 * each; int8 adds per output its folded bias, multiplier and shift (int32) and the
 * requantization product; float its bias when there is one.
 * FFT (kernels/fc-circulant-fft.ts), per row of A, with Q = K/k input blocks, P = N/k output
 * blocks, B = (k/2) log2 k butterflies per transform and H = k/2 - 1 complex bins:
 *   - a butterfly: 4 multiplies, 24 bytes read (twiddle, two values), 16 written;
 *   - an input block: k activations and k u8 bit-reversal entries read, k complex values
 *     written, then its transform;
 *   - an output block: for each of Q blocks its DC and Nyquist products (2 multiplies, 16
 *     bytes) and H complex products (4 multiplies, 16 bytes each); two u8 table reads and
 *     two complex stores per complex bin and two for DC and Nyquist; its transform; k real
 *     parts (and biases) read and k outputs written.
 * circulantInstructions is the estimate ops/fc-circulant.ts chooses a float kernel by.
 */
import { cost, type Formula } from "./types.js";

function fftCounts(N: number, K: number, k: number) {
  const Q = K / k, P = N / k, B = (k / 2) * Math.log2(k), H = k / 2 - 1;
  return { Q, P, B, H };
}

/**
 * Estimated wasm instructions of one row of A through the float circulant kernels: a fit
 * (within 2% on 16 shapes, 16 -> 8 up to 512 -> 64 and k from 2 to 128) to the instrumented
 * counts (targets/profile; test/ops/fc-circulant prints them). Direct: 21 per MAC, 37 per
 * output and block column (the two inner loops' set-up), 46 per output. FFT: 62 per
 * butterfly and 18 per stage of each of the Q + P transforms, 45 per complex product and 35
 * per block pair (DC and Nyquist), 16 per output bin, 55 per input, 87 per output. The FFT
 * form comes out cheaper on every shape measured, k = 2 included (the direct kernel's inner
 * loops are short there), by 1.5x at k = 2 up to 8x at 256 -> 256, k = 16.
 */
export function circulantInstructions(N: number, K: number, k: number): { direct: number; fft: number } {
  const { Q, P, B, H } = fftCounts(N, K, k);
  const T = Q + P, stages = Math.log2(k);
  return {
    direct: 21 * N * K + 37 * N * Q + 46 * N,
    fft: 62 * B * T + 18 * stages * T + 45 * P * Q * H + 35 * P * Q + 16 * P * H + 55 * K + 87 * N,
  };
}

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
  // fc_circulant_fft_f32(a, s, b, y, M, N, K, k, tw, rev, lo, hi)
  fc_circulant_fft_f32(a) {
    const [M, N, K, k] = [a.n(4), a.n(5), a.n(6), a.n(7)];
    const { Q, P, B, H } = fftCounts(N, K, k);
    const muls = Q * 4 * B + P * (2 * Q + 4 * H * Q + 4 * B);
    const loads = Q * (5 * k + 24 * B) + P * (16 * Q + H * (16 * Q + 2) + 24 * B + 4 * k + (a.ptr(2) ? 4 * k : 0));
    const stores = Q * (8 * k + 16 * B) + P * (16 + 16 * H + 16 * B + 4 * k);
    return cost(M * muls, M * loads, M * stores);
  },
};
