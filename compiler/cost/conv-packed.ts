/**
 * Analytic costs of the packed int4 convolution kernels (runtime-as/kernels/conv-packed.ts,
 * emitted by compiler/ops/conv-packed.ts); kernels.ts says what is counted. Each wrapper
 * unpacks tiles of weights (per group of eight weights a u32 read and a u64 written: 4 and 8
 * bytes, no multiply) and calls the int8 kernel on them, so its cost is the unpacking plus
 * the inner calls' own formulas (conv.ts) evaluated on the arguments the wrapper passes:
 * - conv_blk_int4_s8 / conv_pw_int4_s8: per group and block of four output channels one tile
 *   unpacked, then for each of the N images conv_blk_s8 / conv_pw_s8 on one image, one group
 *   (C = cg) and the block's cnt = min(4, mg - 4 jb) channels;
 * - conv_dw_int4_s8: the whole array unpacked once, then conv_dw_s8 with the same arguments;
 * - the *_idx_s8 forms (codebook indices, 2, 3 or 4 bits) alike, with their own unpacking.
 */
import { CONV } from "./conv.js";
import { Args, STEADY, cost, type Formula, type KernelCost } from "./types.js";

type Arg = string | number;

function add(a: KernelCost, b: KernelCost, times = 1): KernelCost {
  return { muls: a.muls + times * b.muls, loadBytes: a.loadBytes + times * b.loadBytes, storeBytes: a.storeBytes + times * b.storeBytes };
}

/**
 * Unpacking ng groups: int4 (bits 0) a u32 read and a u64 written per group; indices per group
 * its packed bytes (1, or 3 for 3 bits) and one codebook byte per index read, and the
 * unpacked weights written (4, 8 or 2 per group for 2, 3, 4 bits).
 */
function unpack(ng: number, bits = 0): KernelCost {
  if (!bits) return cost(0, 4 * ng, 8 * ng);
  const per = bits === 2 ? 4 : bits === 3 ? 8 : 2;
  return cost(0, ng * ((bits === 3 ? 3 : 1) + per), ng * per);
}

/** The inner kernel's cost on `args` (a module of this one call: its literals are not specialized). */
function inner(kernel: string, args: Arg[]): KernelCost {
  return CONV[kernel](new Args(kernel, args, STEADY));
}

/** Per group and block: one unpack, N inner calls on cnt channels; `call(cnt)` builds the inner arguments. */
function blocks(G: number, M: number, N: number, n8: number, bits: number, kernel: string, call: (cnt: number) => Arg[]): KernelCost {
  const mg = M / G;
  let sum = cost(0, 0, 0);
  for (let jb = 0; jb < Math.ceil(mg / 4); jb++) {
    const cnt = Math.min(4, mg - 4 * jb);
    sum = add(add(sum, unpack(n8, bits), G), inner(kernel, call(cnt)), G * N);
  }
  return sum;
}

// conv_blk_int4_s8(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt,
// pl, G, HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, zx, zy, mult, shift, qmin, qmax, CHW, MOHW, n8),
// conv_blk_idx_s8(..., CHW, MOHW, ng, cb, bits)
const blk = (idx: boolean): Formula => (a: Args) => {
  const v = Array.from({ length: 39 }, (_, i) => (i < 6 || i === 32 || i === 33 ? String(a.ptr(i) ? 1 : 0) : a.n(i))) as Arg[];
  const [N, C, M, G] = [a.n(6), a.n(7), a.n(10), a.n(21)];
  return blocks(G, M, N, a.n(38), idx ? a.n(40) : 0, "conv_blk_s8", (cnt) => [...v.slice(0, 6), 1, C / G, ...v.slice(8, 10), cnt, ...v.slice(11, 21), 1, ...v.slice(22, 36)]);
};

// conv_pw_int4_s8(x, w, b, y, N, C, P, M, G, cgP, zy, mult, shift, qmin, qmax, CP, MP, n8),
// conv_pw_idx_s8(..., CP, MP, ng, cb, bits)
const pw = (idx: boolean): Formula => (a: Args) => {
  const [N, C, P, M, G, cgP] = [a.n(4), a.n(5), a.n(6), a.n(7), a.n(8), a.n(9)];
  return blocks(G, M, N, a.n(17), idx ? a.n(19) : 0, "conv_pw_s8", (cnt) => ["1", "0", "1", "1", 1, C / G, P, cnt, 1, cgP, 0, "1", "1", -127, 127, P]);
};

// conv_dw_int4_s8(x, w, b, bi, y, rows, cols, ..., zx, zy, mult, shift, qmin, qmax, n8): the
// arguments of conv_dw_s8 followed by n8; conv_dw_idx_s8 by ng, cb, bits
const dw = (idx: boolean): Formula => (a: Args) => {
  const v = Array.from({ length: 42 }, (_, i) => (i < 7 || i === 38 || i === 39 ? String(a.ptr(i) ? 1 : 0) : a.n(i))) as Arg[];
  return add(unpack(a.n(42), idx ? a.n(44) : 0), inner("conv_dw_s8", v));
};

export const CONV_PACKED: Record<string, Formula> = {
  conv_blk_int4_s8: blk(false), conv_pw_int4_s8: pw(false), conv_dw_int4_s8: dw(false),
  conv_blk_idx_s8: blk(true), conv_pw_idx_s8: pw(true), conv_dw_idx_s8: dw(true),
};
