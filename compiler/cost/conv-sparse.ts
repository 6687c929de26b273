/**
 * Analytic cost of the sparse int8 convolution (runtime-as/kernels/conv-sparse.ts), exact:
 * per batch entry and output channel its bias, u16 byte length, multiplier and shift, the
 * plane filled with the bias, then requantized (a load, an mbqm product and a byte store per
 * output); per kept tap its three bytes, its six geometry words and its channel's c HW
 * offset; per multiply-accumulate the input byte and the plane word, read and written.
 */
import { cost, type Formula } from "./types.js";

export const CONV_SPARSE: Record<string, Formula> = {
  // conv_sparse_s8(x, w, lens, coff, geo, b, y, N, C, HW, M, OHW, sw, zx, zy, mult, shift, qmin, qmax, taps, macs)
  conv_sparse_s8(a) {
    const [N, M, OHW, taps, macs] = [a.n(7), a.n(10), a.n(11), a.n(19), a.n(20)];
    return cost(N * M * OHW + macs, N * M * (14 + 4 * OHW) + 31 * taps + 5 * macs, N * M * 5 * OHW + 4 * macs);
  },
};
