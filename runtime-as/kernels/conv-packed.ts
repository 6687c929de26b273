// int8 convolutions with packed weights (--weights int4 | int2 and --share on a Conv,
// compiler/passes/subbyte.ts and share.ts, emitted by compiler/ops/conv-packed.ts). The weights
// are the int8 kernels' own, stored as int4 nibbles or codebook indices; each call unpacks them at
// run time into the low scratch at address 0 (EmitCtx.scratch), one tile at a time, and runs
// the unchanged int8 kernel on the tile, so the arithmetic (and bit-exactness against the
// integer interpreter) is exactly conv_blk_s8's, conv_pw_s8's or conv_dw_s8's.
// - Tiles: blk and pw, one block of four output channels (the block layout of
//   compiler/ops/conv.ts, [KH][cg][KW][4] or [cg][4], 4 KH cg KW bytes, padded channels 0);
//   the tile is unpacked once per call and used for each of the N images. dw, the whole
//   [M][KH][KW] weight array (small: M KH KW bytes), unpacked once per call.
// - Packing: a tile is cut into groups of eight weights, each group four bytes, byte j holding
//   weight j in its low nibble and weight j + 4 in its high one, as offset binary c = q + 8
//   (the last group padded with q = 0). Unpacking one group is word arithmetic without a
//   per-weight branch: the low nibbles of the u32 are weights 0-3 and the high ones weights
//   4-7, so one u64 holds the eight codes a byte each; c ^ 8 is q's 4-bit two's complement,
//   and or-ing 0xF0 into the bytes whose bit 3 is set sign-extends it to the int8 q.
//   A tile of L weights takes 4 ceil(L / 8) bytes and unpacks to 8 ceil(L / 8).
// - Indices into a codebook (the *_idx_s8 kernels: --weights int2, whose codebook is
//   {-3, -1, 1, 3}, and --share on a Conv, whose codebook is the layer's k-means int8 values):
//   a tile is packed as fc-packed.ts packs a row (lowest bits first, starting on a byte): 2 bits
//   four per byte, 3 bits eight per three bytes (a little-endian 24-bit group), 4 bits two per
//   byte. Each index is looked up in the codebook `cb` (int8, at its constant address) and the
//   values are stored four, eight or two at a time (u32, u64, u16). Padded channels of a block
//   and the tail of the last group hold index 0: padded channels are computed, never stored.
// The wrappers add no multiply (running pointers; the products of geometry come from the
// compiler), so the cost is the inner kernel's plus the unpacking: int4 4 bytes read and 8
// written per group of eight; indices per group its packed bytes and one codebook byte per
// weight read, the weights written.
import { conv_blk_s8 } from "./conv-blk";
import { conv_pw_s8 } from "./conv-pw";
import { conv_dw_s8 } from "./conv-dw";

const LO: u32 = 0x0f0f0f0f;
const EIGHT: u64 = 0x0808080808080808;

/** Unpacks n8 groups of eight int4 weights from src into int8 at address 0. */
@inline function unpack4(src: usize, n8: i32): void {
  let s = src, d: usize = 0;
  const end = src + (<usize>n8 << 2);
  while (s < end) {
    const v = load<u32>(s);
    let t = (u64(v & LO) | (u64((v >> 4) & LO) << 32)) ^ EIGHT;
    const sg = t & EIGHT;
    t |= (sg << 1) | (sg << 2) | (sg << 3) | (sg << 4);
    store<u64>(d, t);
    s += 4; d += 8;
  }
}

/** Looks up codebook entry i (int8) as an unsigned byte. */
@inline function cbv(cb: usize, i: u32): u32 {
  return u32(load<u8>(cb + <usize>i));
}

/**
 * Unpacks ng groups of bits-wide indices (bits 2: a byte of four, 3: three bytes of eight,
 * 4: a byte of two) from src, looked up in cb, into int8 at address 0; bits 0: int4 (unpack4).
 */
@inline function unpackTile(src: usize, ng: i32, cb: usize, bits: i32): void {
  if (bits == 0) { unpack4(src, ng); return; }
  let s = src, d: usize = 0;
  if (bits == 2) {
    const end = src + <usize>ng;
    while (s < end) {
      const v = u32(load<u8>(s));
      store<u32>(d, cbv(cb, v & 3) | (cbv(cb, (v >> 2) & 3) << 8) | (cbv(cb, (v >> 4) & 3) << 16) | (cbv(cb, v >> 6) << 24));
      s += 1; d += 4;
    }
  } else if (bits == 3) {
    const end = src + ((<usize>ng << 1) + <usize>ng);
    while (s < end) {
      const v = u32(load<u16>(s)) | (u32(load<u8>(s, 2)) << 16);
      const lo = cbv(cb, v & 7) | (cbv(cb, (v >> 3) & 7) << 8) | (cbv(cb, (v >> 6) & 7) << 16) | (cbv(cb, (v >> 9) & 7) << 24);
      const hi = cbv(cb, (v >> 12) & 7) | (cbv(cb, (v >> 15) & 7) << 8) | (cbv(cb, (v >> 18) & 7) << 16) | (cbv(cb, v >> 21) << 24);
      store<u64>(d, u64(lo) | (u64(hi) << 32));
      s += 3; d += 8;
    }
  } else {
    const end = src + <usize>ng;
    while (s < end) {
      const v = u32(load<u8>(s));
      store<u16>(d, u16(cbv(cb, v & 15) | (cbv(cb, v >> 4) << 8)));
      s += 1; d += 2;
    }
  }
}

/** Bytes of ng packed groups of a tile (bits 0: int4 groups of four bytes). */
@inline function groupBytes(ng: i32, bits: i32): usize {
  return bits == 3 ? (<usize>ng << 1) + <usize>ng : bits == 0 ? <usize>ng << 2 : <usize>ng;
}

/** The y advance of a block of cnt (1-4) output channels of O1 bytes each. */
@inline function blockAdvance(cnt: i32, O1: usize): usize {
  return cnt > 3 ? O1 << 2 : cnt == 3 ? O1 + (O1 << 1) : cnt == 2 ? O1 << 1 : O1;
}

/**
 * conv_blk_s8 on packed weights: per group and block the block's tile is unpacked, then
 * conv_blk_s8 runs it as a one-block, one-group convolution (M = the block's channels, C = cg)
 * for each image. CHW = C H W and MOHW = M OH OW step the images; ng groups per tile.
 */
@inline function blkP(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, OHW: i32, cgHW: i32, shW: i32, dhW: i32, ptW: i32, wKh: i32, wBlk: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
  CHW: i32, MOHW: i32, ng: i32, cb: usize, bits: i32,
): void {
  const cg = C / G, mg = M / G, nbg = (mg + 3) >> 2;
  const tile = groupBytes(ng, bits), O1 = <usize>OHW, bStep: usize = b != 0 ? 16 : 0;
  let wp = w, bp = b, mq = mult, sq = shift, xg = x, yb = y;
  for (let g = 0; g < G; g++) {
    for (let jb = 0; jb < nbg; jb++) {
      const left = mg - (jb << 2), cnt = left > 4 ? 4 : left;
      unpackTile(wp, ng, cb, bits);
      let xn = xg, yn = yb;
      for (let n = 0; n < N; n++) {
        conv_blk_s8(xn, 0, bp, yn, rows, cols, 1, cg, H, W, cnt, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, 1,
          HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, zx, zy, mq, sq, qmin, qmax);
        xn += <usize>CHW; yn += <usize>MOHW;
      }
      wp += tile; bp += bStep; mq += 16; sq += 16;
      yb += blockAdvance(cnt, O1);
    }
    xg += <usize>cgHW;
  }
}

/** blk with int4 weights; n8 = ceil(wBlk / 8) groups per tile. */
export function conv_blk_int4_s8(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, OHW: i32, cgHW: i32, shW: i32, dhW: i32, ptW: i32, wKh: i32, wBlk: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
  CHW: i32, MOHW: i32, n8: i32,
): void {
  blkP(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G,
    HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, zx, zy, mult, shift, qmin, qmax, CHW, MOHW, n8, 0, 0);
}

/** blk with bits-wide codebook indices (bits 2, 3, 4); ng groups per tile. */
export function conv_blk_idx_s8(
  x: usize, w: usize, b: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, G: i32,
  HW: i32, OHW: i32, cgHW: i32, shW: i32, dhW: i32, ptW: i32, wKh: i32, wBlk: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
  CHW: i32, MOHW: i32, ng: i32, cb: usize, bits: i32,
): void {
  blkP(x, w, b, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G,
    HW, OHW, cgHW, shW, dhW, ptW, wKh, wBlk, zx, zy, mult, shift, qmin, qmax, CHW, MOHW, ng, cb, bits);
}

/**
 * conv_pw_s8 on packed weights, as blk: per group and block the tile (4 cg weights) is
 * unpacked and conv_pw_s8 runs it for each image. CP = C P and MP = M P step the images.
 */
@inline function pwP(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, cgP: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
  CP: i32, MP: i32, ng: i32, cb: usize, bits: i32,
): void {
  const cg = C / G, mg = M / G, nbg = (mg + 3) >> 2;
  const tile = groupBytes(ng, bits), O1 = <usize>P;
  let wp = w, bp = b, mq = mult, sq = shift, xg = x, yb = y;
  for (let g = 0; g < G; g++) {
    for (let jb = 0; jb < nbg; jb++) {
      const left = mg - (jb << 2), cnt = left > 4 ? 4 : left;
      unpackTile(wp, ng, cb, bits);
      let xn = xg, yn = yb;
      for (let n = 0; n < N; n++) {
        conv_pw_s8(xn, 0, bp, yn, 1, cg, P, cnt, 1, cgP, zy, mq, sq, qmin, qmax, P);
        xn += <usize>CP; yn += <usize>MP;
      }
      wp += tile; bp += 16; mq += 16; sq += 16;
      yb += blockAdvance(cnt, O1);
    }
    xg += <usize>cgP;
  }
}

/** pw with int4 weights; n8 = ceil(4 cg / 8). */
export function conv_pw_int4_s8(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, cgP: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, CP: i32, MP: i32, n8: i32,
): void {
  pwP(x, w, b, y, N, C, P, M, G, cgP, zy, mult, shift, qmin, qmax, CP, MP, n8, 0, 0);
}

/** pw with bits-wide codebook indices. */
export function conv_pw_idx_s8(
  x: usize, w: usize, b: usize, y: usize, N: i32, C: i32, P: i32, M: i32, G: i32, cgP: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, CP: i32, MP: i32, ng: i32, cb: usize, bits: i32,
): void {
  pwP(x, w, b, y, N, C, P, M, G, cgP, zy, mult, shift, qmin, qmax, CP, MP, ng, cb, bits);
}

/** conv_dw_s8 on packed int4 weights: the whole [M][KH][KW] array unpacked once (n8 = ceil(M KH KW / 8)). */
export function conv_dw_int4_s8(
  x: usize, w: usize, b: usize, bi: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  HW: i32, KK: i32, shW: i32, dhW: i32, ptW: i32, xoA: i32, xA: i32, yA: i32, yn: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, n8: i32,
): void {
  unpack4(w, n8);
  conv_dw_s8(x, 0, b, bi, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB,
    HW, KK, shW, dhW, ptW, xoA, xA, yA, yn, zx, zy, mult, shift, qmin, qmax);
}

/** conv_dw_s8 on bits-wide codebook indices, the whole array unpacked once. */
export function conv_dw_idx_s8(
  x: usize, w: usize, b: usize, bi: usize, y: usize, rows: usize, cols: usize,
  N: i32, C: i32, H: i32, W: i32, M: i32, KH: i32, KW: i32, OH: i32, OW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, mg: i32, ohA: i32, ohB: i32, owA: i32, owB: i32,
  HW: i32, KK: i32, shW: i32, dhW: i32, ptW: i32, xoA: i32, xA: i32, yA: i32, yn: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, ng: i32, cb: usize, bits: i32,
): void {
  unpackTile(w, ng, cb, bits);
  conv_dw_s8(x, 0, b, bi, y, rows, cols, N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB,
    HW, KK, shW, dhW, ptW, xoA, xA, yA, yn, zx, zy, mult, shift, qmin, qmax);
}
