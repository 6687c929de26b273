/**
 * Analytic costs of the conv kernels (runtime-as/kernels/conv.ts, conv-blk.ts, conv-dw.ts,
 * conv-pw.ts); see kernels.ts for what is counted and how it is checked. Every kernel
 * addresses with running pointers, the products of geometry it needs passed by the compiler
 * (ops/conv.ts), so the multiplies are the MACs and, in int8, one requantization (one i64
 * product) per stored output. The formulas walk the kernels' loops over output rows and
 * columns with the tap ranges the compiler puts in the rows/cols tables (ops/conv.ts
 * axisTaps; the generic kernel computes the same ranges per position).
 *
 * Notation: S the element size (4 float, 1 int8), cg = C / G input and mg = M / G output
 * channels per group, nbg = ceil(mg / 4) blocks of four output channels per group, nh(oh)
 * and nw(ow) the taps inside the input of output row oh and column ow.
 */
import { axisTaps, type AxisTaps } from "../ops/conv.js";
import { cost, type Args, type Formula } from "./types.js";

interface Geom {
  N: number; C: number; H: number; W: number; M: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
}

/** The geometry arguments N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl from position o. */
function geom(a: Args, o: number): Geom {
  const [N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl] = Array.from({ length: 15 }, (_, i) => a.n(o + i));
  return { N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl };
}

/** The rows and cols tables: per output row / column the tap range [lo, hi) inside the input. */
function tables(g: Geom): { rows: AxisTaps; cols: AxisTaps } {
  return { rows: axisTaps(g.OH, g.H, g.KH, g.sh, g.dh, g.pt), cols: axisTaps(g.OW, g.W, g.KW, g.sw, g.dw, g.pl) };
}

const count = (t: AxisTaps, i: number) => t.hi[i] - t.lo[i];
const total = (t: AxisTaps) => t.hi.reduce((s, hi, i) => s + hi - t.lo[i], 0);
const same = (t: AxisTaps, i: number, j: number) => t.lo[i] === t.lo[j] && t.hi[i] === t.hi[j];

// conv_f32 / conv_s8(x, w, b, y, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G,
// HW, KK, cgHW, cgKK, shW, dhW, ptW, lo, hi | zx, zy, mult, shift, qmin, qmax): per image and
// output channel the bias (float: if any; int8 with its multiplier and shift), then every
// position sums cg nh nw taps (an input and a weight each)
function generic(a: Args, S: number): ReturnType<Formula> {
  const g = geom(a, 4), G = a.n(19);
  const { rows, cols } = tables(g);
  const chans = g.N * g.M, outs = chans * g.OH * g.OW;
  const taps = chans * (g.C / G) * total(rows) * total(cols);
  const int8 = S === 1 ? 1 : 0, bias = a.ptr(2) ? 1 : 0;
  return cost(taps + int8 * outs, 2 * S * taps + chans * (4 * bias + 8 * int8), S * outs);
}

// conv_blk_f32 / conv_blk_s8(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw,
// dh, dw, pt, pl, G, HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, lo, hi | zx, zy, mult, shift, qmin,
// qmax): N G nbg passes of a block of four output channels (the last of a group padded, its
// padded channels computed and not stored), each loading the block's four biases (if any;
// int8 also four multipliers and four shifts) and walking the output rows (a rows entry each)
// and columns (a cols entry each). A tap of a position, in runs of three, two or one along W
// alike, loops over the cg input channels: an input for the four channels, four weights,
// four multiplies.
function blocked(a: Args, S: number): ReturnType<Formula> {
  const g = geom(a, 6), G = a.n(21);
  // an --intermittent tile passes the tables from its first row (or column): entries r0 .. r0 + OH
  const r0 = a.offset(4) / 4, c0 = a.offset(5) / 4;
  const slice = (t: AxisTaps, from: number): AxisTaps => ({ ...t, lo: t.lo.slice(from), hi: t.hi.slice(from) });
  const rows = slice(axisTaps(r0 + g.OH, g.H, g.KH, g.sh, g.dh, g.pt), r0), cols = slice(axisTaps(c0 + g.OW, g.W, g.KW, g.sw, g.dw, g.pl), c0);
  const cg = g.C / G, nbg = Math.ceil(g.M / G / 4), blocks = g.N * G * nbg;
  const outs = g.N * g.M * g.OH * g.OW, bias = a.ptr(2) ? 16 : 0;
  if (S === 4) {
    // float: one position per pass
    const taps = cg * total(rows) * total(cols);
    return cost(blocks * 4 * taps, blocks * (bias + 4 * g.OH + 4 * g.OH * g.OW + 20 * taps), 4 * outs);
  }
  // int8: two positions per pass, packed in one i64: (oh, ow) with (oh + 1, ow) when rows oh
  // and oh + 1 have the same taps (checked with a look-ahead rows load while oh + 1 < OH),
  // else (oh, ow) with (oh, ow + 1) when those columns do (a look-ahead cols load while
  // ow + 1 < OW), else the position alone (its inputs still loaded twice, for both halves).
  // A tap of a pass: two inputs, four weights, four i64 multiplies; each stored output one
  // requantization.
  let tab = 0, taps = 0;
  for (let oh = 0; oh < g.OH;) {
    tab += 4;
    let vert = false;
    if (oh + 1 < g.OH) { tab += 4; vert = same(rows, oh, oh + 1); }
    const nh = count(rows, oh);
    for (let ow = 0; ow < g.OW;) {
      tab += 4;
      let two = vert;
      if (!vert && ow + 1 < g.OW) { tab += 4; two = same(cols, ow, ow + 1); }
      taps += cg * nh * count(cols, ow);
      ow += two && !vert ? 2 : 1;
    }
    oh += vert ? 2 : 1;
  }
  return cost(blocks * 4 * taps + outs, blocks * (bias + 32 + tab + 6 * taps), outs);
}

// conv_dw_f32(x, w, b, y, rows, cols, N, ..., pl, mg, ohA, ohB, owA, owB, HW, KK, shW, dhW,
// ptW, xoA, xoB, xA, yA, yn, lo, hi) / conv_dw_s8(x, w, b, bi, y, rows, cols, ..., zx, zy, mult,
// shift, qmin, qmax): N M output channels, each its bias (if any; int8 the folded bias bi if
// given, the multiplier and the shift), for 3x3 kernels with dilation 1 the nine weights into
// locals; then the output rows (a rows entry each) as the kernel walks them:
// - kernels three taps wide (dilation 1 along W, at most three rows; "k3") run the columns
//   [owA, owB) of each row with taps inside as one loop without a cols entry: 9 taps from the
//   locals when all three rows are inside (no weight loads), else 6 (two rows) or 3 taps of an
//   input and a weight each;
// - 3x3 kernels with rows [ohA, ohB) all inside ("down") leave the other columns of those rows
//   to column runs down [ohA, ohB): a cols entry per column, then per position three rows of
//   nw taps;
// - every other position loads its cols entry and sums nh nw taps (an input and a weight each).
function depthwise(a: Args, S: number): ReturnType<Formula> {
  const o = S === 1 ? 1 : 0; // conv_dw_s8 has bi after b
  const g = geom(a, 6 + o);
  const [ohA, ohB, owA, owB] = [a.n(22 + o), a.n(23 + o), a.n(24 + o), a.n(25 + o)];
  const { rows, cols } = tables(g);
  const k3 = g.KW === 3 && g.dw === 1 && g.KH <= 3, full9 = k3 && g.KH === 3, hasRun = k3 && owB > owA;
  const down = full9 && ohB > ohA;
  let loads = (a.ptr(2) ? 4 : 0) + (S === 1 ? (a.ptr(3) ? 4 : 0) + 8 : 0) + (full9 ? 9 * S : 0);
  let muls = 0, outs = 0;
  const tap = (n: number) => { muls += n; loads += 2 * S * n; };
  for (let oh = 0; oh < g.OH; oh++) {
    loads += 4;
    const nr = count(rows, oh);
    const run = hasRun && nr > 0, inner = down && oh >= ohA && oh < ohB;
    const oe = inner ? owB : g.OW;
    for (let ow = inner ? owA : 0; ow < oe;) {
      if (run && ow === owA) {
        const n = owB - owA;
        if (full9 && nr === 3) { muls += 9 * n; loads += 9 * S * n; } else tap((nr >= 2 ? 6 : 3) * n);
        outs += n;
        ow = owB;
        continue;
      }
      loads += 4;
      const nk = count(cols, ow);
      if (nk > 0 && nr > 0) tap(k3 ? nk * (nr > 1 ? 2 : 1) : nr * nk);
      outs++;
      ow++;
    }
  }
  if (down)
    for (let ow = 0; ow < g.OW; ow++) {
      if (ow === owA && owB > owA) { ow = owB - 1; continue; }
      loads += 4;
      tap(3 * count(cols, ow) * (ohB - ohA));
      outs += ohB - ohA;
    }
  const chans = g.N * g.M;
  return cost(chans * (muls + (S === 1 ? outs : 0)), chans * loads, chans * S * outs);
}

// conv_pw_f32 / conv_pw_s8(x, w, b, y, N, C, P, M, G, cgP, lo, hi | zy, mult, shift, qmin,
// qmax, stride): P positions (of `stride` per channel) in N G nbg passes of a block of four output channels, each loading the four biases (float:
// if any; int8 always, with four multipliers and four shifts). Float: positions four at a time
// (per input channel four inputs, four weights, sixteen multiplies), the last P % 4 one at a
// time (an input, four weights, four multiplies). int8: positions two at a time packed in an
// i64, an odd last position redone as the pair (P - 2, P - 1); per input channel two inputs,
// four weights, four multiplies; both positions stored (and requantized) for each real channel.
function pointwise(a: Args, S: number): ReturnType<Formula> {
  const [N, C, P, M, G] = [a.n(4), a.n(5), a.n(6), a.n(7), a.n(8)];
  const cg = C / G, blocks = N * G * Math.ceil(M / G / 4);
  if (S === 4) {
    const P4 = P & ~3, R = P - P4;
    return cost(blocks * 4 * cg * P, blocks * ((a.ptr(2) ? 16 : 0) + 8 * cg * P4 + 20 * cg * R), 4 * N * M * P);
  }
  const pairs = Math.ceil(P / 2), outs = N * M * 2 * pairs;
  return cost(blocks * pairs * 4 * cg + outs, blocks * (48 + pairs * 6 * cg), outs);
}

export const CONV: Record<string, Formula> = {
  conv_f32: (a) => generic(a, 4),
  conv_s8: (a) => generic(a, 1),
  conv_blk_f32: (a) => blocked(a, 4),
  conv_blk_s8: (a) => blocked(a, 1),
  conv_dw_f32: (a) => depthwise(a, 4),
  conv_dw_s8: (a) => depthwise(a, 1),
  conv_pw_f32: (a) => pointwise(a, 4),
  conv_pw_s8: (a) => pointwise(a, 1),
};
