/**
 * Analytic costs of the misc kernels: elementwise (add, mul, the activations), batch norm,
 * data movement (concat, gather, pad, slice, transpose, the streaming shift and SOI's
 * upsampling), pooling and softmax (runtime-as/kernels/*.ts, runtime-as/broadcast.ts); see
 * kernels.ts for what is counted. Notation: es the element size in bytes.
 *
 * - Row plans (add, mul, pad, slice, transpose): `rows` rows of n elements with innermost
 *   strides (ia, ib) as arguments; the walk over the outer dims reads its 14-int table once
 *   (56 bytes, none for a single row, plan 0) and then runs in globals, with no multiply.
 * - Requantization (mbqm) is one i64 product, none in a kernel specialized to a multiplier
 *   the optimizer rewrites (2^30, the larger operand's of an int8 Add, is a shift).
 * - Pooling walks windows with running pointers; its loads are the taps that land inside
 *   the input, counted per output row and column exactly as the kernel clips them
 *   (runtime-as/window.ts).
 * - Sigmoid, tanh and softmax's exp use the fixed-cost forms of runtime-as/mathf.ts: the
 *   argument is clamped (sigmoid to [-80, 80], tanh's 2x to [-18, 18], softmax's x - max to
 *   >= -87), so AssemblyScript's table-driven expf always takes its main path: six (f64)
 *   multiplies and one 8-byte table load per call, whatever the data; tanh also computes its
 *   Taylor branch for small |x| every time (recurrent.ts TANHF).
 */
import { cost, type Args, type Formula } from "./types.js";
import { TANHF } from "./recurrent.js";

/**
 * Multiplies that `x * arg i` costs once the optimizer has seen a kernel specialized to a
 * literal (Args.fixed): none for the factors binaryen rewrites (integers 0, -1 and powers
 * of two: a constant, a negation or a shift; floats 1, -1 and 2: x, -x and x + x), else one.
 */
function mulK(a: Args, i: number, kind: "int" | "float"): number {
  const v = a.fixed(i);
  if (v === undefined) return 1;
  if (kind === "float") return v === 1 || v === -1 || v === 2 ? 0 : 1;
  return v === 0 || v === -1 || (v > 0 && (v & (v - 1)) === 0) ? 0 : 1;
}

/**
 * Multiplies of a float division `x / <f32>arg i`: one in a kernel specialized to a power of
 * two above 1 (binaryen multiplies by its exact reciprocal), else none (a division; x / 1 is x).
 */
function divF(a: Args, i: number): number {
  const v = a.fixed(i);
  return v !== undefined && v > 1 && Number.isInteger(Math.log2(v)) ? 1 : 0;
}

/** Bytes the row walker reads from its table (argument i the table; 0: a single row). */
const walk = (a: Args, i: number) => (a.ptr(i) ? 56 : 0);

/** Elements an operand supplies per row: all n when it runs along the row, else its one scalar. */
const per = (stride: number, n: number) => (stride !== 0 ? n : 1);

/** Kernel taps of a window starting at `start` inside [0, size): runtime-as/window.ts tapLo/tapHi. */
function taps(start: number, d: number, size: number, K: number): number {
  const lo = start >= 0 ? 0 : Math.trunc((-start + d - 1) / d);
  const hi = start >= size ? 0 : Math.min(Math.trunc((size - start + d - 1) / d), K);
  return Math.max(0, hi - lo);
}

/** Sum over the out output positions of the taps inside the input (window o starts at o s - p). */
function tapSum(out: number, s: number, p: number, d: number, size: number, K: number): number {
  let t = 0;
  for (let o = 0; o < out; o++) t += taps(o * s - p, d, size, K);
  return t;
}

/** Pool loads: NC planes of (taps over rows) x (taps over columns) elements. */
function poolTaps(a: Args, dilated: boolean): number {
  const [NC, H, W, KH, KW, OH, OW, sh, sw] = [2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => a.n(i));
  const [dh, dw, pt, pl] = dilated ? [a.n(11), a.n(12), a.n(13), a.n(14)] : [1, 1, a.n(11), a.n(12)];
  return NC * tapSum(OH, sh, pt, dh, H, KH) * tapSum(OW, sw, pl, dw, W, KW);
}

/** add_f32 / mul_f32 (a, b, y, plan, rows, n, ia, ib, lo, hi): per row the operands' elements. */
function binaryF32(a: Args, mul: boolean) {
  const [rows, n, ia, ib] = [a.n(4), a.n(5), a.n(6), a.n(7)];
  return cost(mul ? rows * n : 0, walk(a, 3) + 4 * rows * (per(ia, n) + per(ib, n)), 4 * rows * n);
}

/**
 * Whole-window and streaming TimeUpsample by mode (0 hold, 1 extrapolate, 2 predict).
 * Extrapolation multiplies once per element (int8: ph (a - b), its rounding division by k
 * has none); the float ratio ph / k is a second multiply when k is a specialized power of two.
 */
function upsampleTime(a: Args, es: number) {
  const [outer, L, inner, k, mode] = [a.n(2), a.n(4), a.n(5), a.n(6), a.n(7)];
  const cols = outer * L * inner;
  if (mode === 2) {
    // column 0 is the zero column (stores or a fill), every later one a copy
    return cost(0, outer * (L - 1) * inner * es, cols * es);
  }
  let mixed = 0; // columns t >= k off the phase grid: a second load and one multiply each
  for (let t = k; t < L; t++) if (t % k !== 0) mixed++;
  const m = mode === 1 ? outer * mixed * inner : 0;
  return cost(m * (es === 4 ? 1 + divF(a, 6) : 1), (cols + m) * es, cols * es);
}

function upsampleStep(a: Args, es: number) {
  const [rows, k, mode, n] = [a.n(2), a.n(4), a.n(5), a.n(6)];
  const mix = mode === 1 && n % k !== 0 && n >= k ? rows : 0;
  return cost(mix * (es === 4 ? 1 + divF(a, 4) : 1), (rows + mix) * es, rows * es);
}

/** Elementwise kernels over n elements (argument 2) of es bytes, m multiplies each. */
const unary = (es: number, m: (a: Args) => number = () => 0, extraLoad = 0): Formula => (a) => {
  const n = a.n(2);
  return cost(n * m(a), n * (es + extraLoad), n * es);
};

export const MISC: Record<string, Formula> = {
  add_f32: (a) => binaryF32(a, false),
  mul_f32: (a) => binaryF32(a, true),
  // add_s8(a, b, y, plan, rows, n, ia, ib, za, zb, zy, ma, sa, mb, sb, mo, so, qmin, qmax):
  // each operand element lifted to the common scale (a row scalar once per row), each sum
  // requantized
  add_s8(a) {
    const [rows, n, ia, ib] = [a.n(4), a.n(5), a.n(6), a.n(7)];
    const muls = rows * (per(ia, n) * mulK(a, 11, "int") + per(ib, n) * mulK(a, 13, "int") + n * mulK(a, 15, "int"));
    return cost(muls, walk(a, 3) + rows * (per(ia, n) + per(ib, n)), rows * n);
  },
  // mul_s8(a, b, y, plan, rows, n, ia, ib, za, zb, zy, m, sh, qmin, qmax): the product and its requantization
  mul_s8(a) {
    const [rows, n, ia, ib] = [a.n(4), a.n(5), a.n(6), a.n(7)];
    return cost(rows * n * (1 + mulK(a, 11, "int")), walk(a, 3) + rows * (per(ia, n) + per(ib, n)), rows * n);
  },
  // add_q8 / add_q16(a, b, y, plan, rows, n, ia, ib, lo, hi, qmin, qmax): both operands loaded per element
  add_q8: (a) => cost(0, walk(a, 3) + 2 * a.n(4) * a.n(5), a.n(4) * a.n(5)),
  add_q16: (a) => cost(0, walk(a, 3) + 4 * a.n(4) * a.n(5), 2 * a.n(4) * a.n(5)),

  // batchnorm_f32(x, scale, bias, mean, var, y, N, C, S, eps): four parameters per plane, one multiply per element
  batchnorm_f32(a) {
    const [N, C, S] = [a.n(6), a.n(7), a.n(8)];
    return cost(N * C * S, N * C * (16 + 4 * S), 4 * N * C * S);
  },
  // batchnorm_s8(x, aq, bq, mult, shift, y, N, C, S, zx, zy): per plane a_q (int8), b_q,
  // multiplier and shift (int32) and zx a_q; per element x a_q and the requantization
  batchnorm_s8(a) {
    const [N, C, S] = [a.n(6), a.n(7), a.n(8)];
    return cost(N * C * (mulK(a, 9, "int") + 2 * S), N * C * (13 + S), N * C * S);
  },

  // concat_copy(x, y, outer, rowBytes, outRowBytes): one copy per row
  concat_copy: (a) => cost(0, a.n(2) * a.n(3), a.n(2) * a.n(3)),
  // concat_s8(x, y, outer, row, rowOut, zi, zy, m, sh): each element requantized
  concat_s8: (a) => cost(a.n(2) * a.n(3) * mulK(a, 7, "int"), a.n(2) * a.n(3), a.n(2) * a.n(3)),

  // gather_rows(x, y, outer, block, outBlock, runs, nruns): the run table once, outBlock bytes copied per block
  gather_rows: (a) => cost(0, 8 * a.n(6) + a.n(2) * a.n(4), a.n(2) * a.n(4)),
  // gather_*(x, y, outer, block, offs, count): per element its offset (int32) and the element
  gather_f32: (a) => cost(0, a.n(2) * a.n(5) * 8, a.n(2) * a.n(5) * 4),
  gather_s16: (a) => cost(0, a.n(2) * a.n(5) * 6, a.n(2) * a.n(5) * 2),
  gather_s8: (a) => cost(0, a.n(2) * a.n(5) * 5, a.n(2) * a.n(5)),

  // gap_*(x, y, NC, S): sums and a division per plane (int8: rounding division); the float
  // division by S is a multiply in a kernel specialized to an S that is a power of two
  gap_f32: (a) => cost(a.n(2) * divF(a, 3), 4 * a.n(2) * a.n(3), 4 * a.n(2)),
  gap_s8: (a) => cost(0, a.n(2) * a.n(3), a.n(2)),

  // pad_*(x, y, fill, value, plan, rows, n, sx, sy, xoff, yoff): fill elements set (stores
  // or a memory.fill), then the surviving box copied
  pad_f32: (a) => cost(0, walk(a, 4) + 4 * a.n(5) * a.n(6), 4 * (a.n(2) + a.n(5) * a.n(6))),
  pad_s8: (a) => cost(0, walk(a, 4) + a.n(5) * a.n(6), a.n(2) + a.n(5) * a.n(6)),
  // slice / transpose(x, y, plan, rows, n, sx, sy, esize): every element moved once (copy or load/store)
  slice: (a) => cost(0, walk(a, 2) + a.n(3) * a.n(4) * a.n(7), a.n(3) * a.n(4) * a.n(7)),
  transpose: (a) => cost(0, walk(a, 2) + a.n(3) * a.n(4) * a.n(7), a.n(3) * a.n(4) * a.n(7)),

  // maxpool_*(x, y, NC, H, W, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, HW, shW, dhW, ptW)
  maxpool_f32: (a) => cost(0, 4 * poolTaps(a, true), 4 * a.n(2) * a.n(7) * a.n(8)),
  maxpool_s8: (a) => cost(0, poolTaps(a, true), a.n(2) * a.n(7) * a.n(8)),
  // avgpool_*(x, y, NC, H, W, KH, KW, OH, OW, sh, sw, pt, pl, he, we, cip, [zx,] HW, shW, ptW):
  // per output the divisor ch cw; int8 with count_include_pad also (count - taps) zx,
  // which folds to nothing in a kernel specialized to zx = 0
  avgpool_f32: (a) => cost(a.n(2) * a.n(7) * a.n(8), 4 * poolTaps(a, false), 4 * a.n(2) * a.n(7) * a.n(8)),
  avgpool_s8(a) {
    const outs = a.n(2) * a.n(7) * a.n(8);
    const each = a.n(15) ? 1 + (a.fixed(16) === 0 ? 0 : 1 + mulK(a, 16, "int")) : 1;
    return cost(outs * each, poolTaps(a, false), outs);
  },

  // softmax_f32(x, y, outer, n, inner, block): per slice of n the max pass (n loads), exp
  // and store (n loads, n stores, n exps), the normalization (n loads, n stores); each exp
  // six multiplies and an 8-byte table load (see above)
  softmax_f32(a) {
    const e = a.n(2) * a.n(3) * a.n(4);
    return cost(6 * e, 20 * e, 8 * e);
  },
  // softmax_s8(x, y, outer, n, inner, block, table): the max pass, the sum pass (element and
  // table entry), the output pass (again both); divisions, no multiply
  softmax_s8(a) {
    const e = a.n(2) * a.n(3) * a.n(4);
    return cost(0, 11 * e, e);
  },

  // stream_shift(col, win, rows, rowBytes, bytes): per row the kept part and the new element, copied
  stream_shift: (a) => cost(0, a.n(2) * a.n(3), a.n(2) * a.n(3)),
  // upsample_time_*(x, y, outer, J inner, L, inner, k, mode, zero)
  upsample_time_f32: (a) => upsampleTime(a, 4),
  upsample_time_s8: (a) => upsampleTime(a, 1),
  // upsample_step_*(win, y, rows, W, k, mode, n): one element per row; extrapolation off the
  // phase grid (n % k != 0, from the second deep column on) reads both columns and multiplies
  upsample_step_f32: (a) => upsampleStep(a, 4),
  upsample_step_s8: (a) => upsampleStep(a, 1),

  // activations over n elements (x, y, n, ...)
  relu_f32: unary(4),
  clip_f32: unary(4),
  leaky_relu_f32: unary(4, (a) => mulK(a, 3, "float")),
  hard_sigmoid_f32: unary(4, (a) => mulK(a, 3, "float")),
  sigmoid_f32: unary(4, () => 6, 8),
  tanh_f32: unary(4, () => TANHF.muls, TANHF.loadBytes),
  lut_s8: unary(1, () => 0, 1),
  clamp_q16: unary(2),
  hsig_q16: unary(2),
};
