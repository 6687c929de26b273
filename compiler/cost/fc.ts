/**
 * Analytic costs of the fully connected and matrix kernels (runtime-as/kernels/gemm.ts,
 * fc-q.ts, matmul.ts); see kernels.ts for what is counted. Notation: M rows of A, N outputs,
 * K the reduction; N4 = floor(N / 4) passes of four channels and R = N % 4 single channels.
 * Multiplies: the MACs (M N K) and requantization where there is one (mbqm: one i64
 * product per output). The kernels walk rows with running pointers, so no multiply goes to
 * addressing.
 */
import { cost, type Formula } from "./types.js";
import { FC_PACKED } from "./fc-packed.js";

const split = (N: number) => ({ N4: Math.floor(N / 4), R: N % 4 });

const SPARSE_PER_PAIR = 24, SPARSE_PER_ROW = 50;

/**
 * Estimated wasm instructions of one row of A through the int8 fully connected kernels, from
 * their measured costs (the instrumented kernels; test/ops/fc-sparse and fc-ternary print
 * the counts): dense fc_s8 6.9 per MAC; sparse about 24 per pair of kept weights (fillers
 * included: ops/gemm.ts sparseLayout) and 50 per output row; ternary about 9.5 per kept
 * weight and 60 per row. An estimate to choose a kernel by, unlike the exact formulas below.
 */
export function fcInstructions(N: number, K: number, kept: number, pairs = kept): { dense: number; sparse: number; ternary: number } {
  return { dense: 6.9 * N * K + 2 * N, sparse: SPARSE_PER_PAIR * pairs + SPARSE_PER_ROW * N, ternary: 9.5 * kept + 60 * N };
}

export const FC: Record<string, Formula> = {
  ...FC_PACKED, // fc_shared*_s8, fc_int4_s8, fc_int2_s8 (--share, --weights): fc-packed.ts
  // fc_f32(a, w, b, y, M, N, K, lo, hi): a pass reads K activations, 4K weights and four
  // biases; a single channel K + K values and one bias
  fc_f32(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    const { N4, R } = split(N), bias = a.ptr(2) ? 1 : 0;
    return cost(M * N * K, 4 * M * (N4 * (5 * K + 4 * bias) + R * (2 * K + bias)), 4 * M * N);
  },
  // fc_s8(a, w, bf, y, M, N, K, zy, mult, shift, qmin, qmax): the same passes over bytes, plus
  // per channel its folded bias, multiplier and shift (int32 each)
  fc_s8(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    const { N4, R } = split(N);
    return cost(M * N * K + M * N, M * (N4 * (5 * K + 48) + R * (2 * K + 12)), M * N);
  },
  // fc_q8 / fc_q16(a, w, b, y, M, N, K, f, ...): one channel at a time, the bias (if any) in
  // the storage type; the cut to the grid is a division, not a multiply
  fc_q8(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    return cost(M * N * K, M * N * (2 * K + (a.ptr(2) ? 1 : 0)), M * N);
  },
  fc_q16(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    return cost(M * N * K, 2 * M * N * (2 * K + (a.ptr(2) ? 1 : 0)), 2 * M * N);
  },
  // fc_ternary_s8(a, idx, counts, bf, y, M, N, K, m, zy, mult, shift, qmin, qmax, kept): per
  // row of A and output its two list lengths (u16 each), folded bias, multiplier and shift;
  // per kept weight its u8 column and the activation there. Multiplies: m (the difference
  // of sums) and the requantization, per output; none per weight
  fc_ternary_s8(a) {
    const [M, N] = [a.n(5), a.n(6)];
    return cost(M * N * (a.mulBy(8, "int") + 1), M * (16 * N + 2 * a.n(14)), M * N);
  },
  // fc_sparse_s8(a, w, counts, bf, y, M, N, K, zy, mult, shift, qmin, qmax, pairs, odd): per
  // row of A the copy of K activations to the low scratch (read and written); per output
  // its pair count (u8), folded bias, multiplier and shift; per pair two MACs (a filler's
  // too), in a quad 3.5 bytes of weights and columns and two activations, an odd last pair
  // four bytes and two activations; requantization
  fc_sparse_s8(a) {
    const [M, N, K, pairs, odd] = [a.n(5), a.n(6), a.n(7), a.n(13), a.n(14)];
    return cost(M * (2 * pairs + N), M * (K + 13 * N) + M * (11 * (pairs - odd) + 12 * odd) / 2, M * (K + N));
  },
  // fc_pow2_s8(a, codes, bf, y, M, N, K, zy, mult, shift, qmin, qmax) (--pow2): fc_s8's
  // passes, but a weight row is ceil(K/2) bytes of 4-bit codes; per channel its folded bias,
  // multiplier and shift. Multiplies: the requantization only (shifts replace the MACs)
  fc_pow2_s8(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    const { N4, R } = split(N), rowB = Math.ceil(K / 2);
    return cost(M * N, M * (N4 * (K + 4 * rowB + 48) + R * (K + rowB + 12)), M * N);
  },
  // fc_binary_s8(a, wbits, bf, y, M, N, K, za, zy, mult, shift, qmin, qmax) (--binary): per
  // row of A it reads K activations and stores their signs as W = ceil(K/32) words in the
  // scratch; per output it reads those W words and the row's W weight words, folded bias,
  // multiplier and shift. Multiplies: the requantization only (popcounts replace the MACs)
  fc_binary_s8(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    const W = Math.ceil(K / 32);
    return cost(M * N, M * (K + N * (8 * W + 12)), M * (4 * W + N));
  },
  // gemm_f32(a, b, c, y, M, N, K, sam, sak, sbk, sbn, scm, scn, alpha, beta, lo, hi): per
  // output K MACs, alpha, and with C beta
  gemm_f32(a) {
    const [M, N, K] = [a.n(4), a.n(5), a.n(6)];
    const c = a.ptr(2) ? 1 : 0;
    return cost(M * N * (K + a.mulBy(13, "float") + c * a.mulBy(14, "float")), 4 * M * N * (2 * K + c), 4 * M * N);
  },
  // matmul_f32(a, b, y, offs, batches, M, N, K, lo, hi): per batch the two operand offsets
  // (if given); passes of four columns of B
  matmul_f32(a) {
    const [T, M, N, K] = [a.n(4), a.n(5), a.n(6), a.n(7)];
    const { N4, R } = split(N), offs = a.ptr(3) ? 8 : 0;
    return cost(T * M * N * K, T * (offs + 4 * M * (N4 * 5 * K + R * 2 * K)), 4 * T * M * N);
  },
  // matmul_s8(a, b, y, offs, batches, M, N, K, za, zb, zy, mult, shift, qmin, qmax, zb za K):
  // per row a pass summing it (K bytes) for the zero-point correction zb sa - zb za K (one
  // product, none in a kernel specialized to a zb the optimizer rewrites)
  matmul_s8(a) {
    const [T, M, N, K] = [a.n(4), a.n(5), a.n(6), a.n(7)];
    const { N4, R } = split(N), offs = a.ptr(3) ? 8 : 0;
    return cost(T * M * (a.mulBy(9, "int") + N * K + N), T * (offs + M * (K + N4 * 5 * K + R * 2 * K)), T * M * N);
  },
};
