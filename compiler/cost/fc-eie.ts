/**
 * Analytic cost of fc_eie_s8 (runtime-as/kernels/fc-eie.ts, --eie), mirroring its loops;
 * kernels.ts says what is counted. The kernel skips the columns of zero activations, so its
 * cost depends on the data: eieCost gives the exact count for `cols` non-zero activations
 * whose columns hold `walked` entries in all (summed over the rows of A), and the registered
 * formula is its upper bound, every activation non-zero (cols = M K, walked = M entries).
 * fc_eie_s8 is therefore in UPPER_BOUND_KERNELS (cost/kernels.ts): the exactness checks
 * (test/helpers/cost.ts) hold it to dynamic <= analytic, and test/ops/fc-eie.test.ts checks
 * eieCost exactly with the counts of its inputs. The compiler cannot do better statically:
 * the number of non-zero activations is a property of each input.
 * Per call: the 16-byte codebook copied to the low scratch in four pieces (read and
 * written). Per row of A:
 * the N int32 biases copied to the accumulators (4N read and written), K activation bytes,
 * and per output its accumulator, multiplier and shift (12 bytes), one requantization
 * product and one byte stored. Per non-zero activation: its two u16 column pointers.
 * Per walked entry (fillers too): its byte, the codebook byte, the accumulator read and
 * written (4 + 4), one multiply.
 */
import { cost, type Formula, type KernelCost } from "./types.js";

/** fc_eie_s8 with `cols` non-zero activations and `walked` entries in their columns (both summed over the M rows). */
export function eieCost(M: number, N: number, K: number, cols: number, walked: number): KernelCost {
  return cost(walked + M * N, 16 + M * (16 * N + K) + 4 * cols + 6 * walked, 16 + M * (5 * N) + 4 * walked);
}

export const FC_EIE: Record<string, Formula> = {
  // fc_eie_s8(a, ent, ptr, book, bias, y, M, N, K, za, zy, mult, shift, qmin, qmax, entries, mstep):
  // mstep 0 (one multiplier and shift) reads the same 8 bytes per output, as many as per-row tables
  fc_eie_s8(a) {
    const [M, N, K, entries] = [a.n(6), a.n(7), a.n(8), a.n(15)];
    return eieCost(M, N, K, M * K, M * entries);
  },
};
