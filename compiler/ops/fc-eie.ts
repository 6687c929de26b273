/**
 * EIE's layout of a sparse fully connected int8 layer with few distinct weights (--eie,
 * passes/eie.ts; Han et al., "EIE", 2016) and the emitter of its kernel fc_eie_s8
 * (runtime-as/kernels/fc-eie.ts). The int8 weights W [N, K] are stored column by column:
 * per non-zero weight one byte holding its 4-bit index i into a 16-entry int8 codebook
 * (index 0 is the value 0, indices 1.. the layer's distinct non-zero values in ascending
 * order) at bits 0..1 (i & 3) and 6..7 (i >> 2), and at bits 2..5 the number of zero rows
 * before it (since the previous entry of the column, or row 0): eieByte; the kernel then
 * takes each with one mask. A gap of more than 15 zero rows takes filler entries (run 15,
 * index 0), each covering 16 rows; zero rows after a column's last weight take nothing.
 * Column pointers: K + 1 u16 offsets into the entries (so at most 65535 entries). The
 * layer's int8 semantics stay fcInt's (ops/gemm.ts); only storage and loop order change.
 * A layer marked --eie always runs this kernel (the user asked for it; no estimate is
 * consulted), and is refused here, when its int8 weights are known, if they take more than
 * 15 distinct non-zero values or exceed the format's sizes (65535 entries; N <= 16320, so
 * that the 208 + 4N bytes of low scratch stay within 64 KiB).
 */
import { bad, internal } from "../util/errors.js";
import { tensor, type Node } from "../ir/graph.js";
import type { EmitCtx } from "./types.js";
import { where } from "./util.js";

interface Dims { M: number; N: number; K: number }

export const EIE_MAX_ENTRIES = 65535;
export const EIE_MAX_N = 16320;

/** One entry's byte: index bits 0..1 and 6..7, run bits 2..5. */
export function eieByte(idx: number, run: number): number {
  return (idx & 3) | (run << 2) | ((idx >> 2) << 6);
}

export interface EieLayout {
  /** 16 int8 values, book[0] = 0, unused entries 0. */
  book: number[];
  /** One byte per entry (eieByte). */
  entries: number[];
  /** K + 1 offsets into entries. */
  ptr: number[];
  /** Entries that bridge gaps (index 0). */
  fillers: number;
  /** Distinct non-zero values. */
  distinct: number;
}

/** The distinct non-zero values of int8 weights, ascending. */
export function nonZeroValues(w: ArrayLike<number>): number[] {
  return [...new Set(Array.from(w).filter((v) => v !== 0))].sort((x, y) => x - y);
}

/** The layout of int8 weights [N, K] (see the file comment); assumes at most 15 distinct non-zero values. */
export function eieLayout(w: ArrayLike<number>, N: number, K: number): EieLayout {
  const values = nonZeroValues(w);
  if (values.length > 15) internal(`eieLayout: ${values.length} distinct non-zero weights; the 4-bit codebook holds 15 and the value 0`);
  const book = [0, ...values, ...new Array<number>(15 - values.length).fill(0)];
  const at = new Map(values.map((v, i) => [v, i + 1]));
  const entries: number[] = [], ptr: number[] = [0];
  let fillers = 0;
  for (let k = 0; k < K; k++) {
    let next = 0; // the row the next entry's run counts from
    for (let n = 0; n < N; n++) {
      const v = w[n * K + k];
      if (v === 0) continue;
      let gap = n - next;
      while (gap > 15) { entries.push(eieByte(0, 15)); fillers++; gap -= 16; }
      entries.push(eieByte(at.get(v)!, gap));
      next = n + 1;
    }
    ptr.push(entries.length);
  }
  return { book, entries, ptr, fillers, distinct: values.length };
}

/** Bytes of the layout in the module: entries, K + 1 u16 pointers, the 16-byte codebook. */
export function eieBytes(lay: EieLayout): number {
  return lay.entries.length + 2 * lay.ptr.length + 16;
}

/** Emits fc_eie_s8 for a layer marked --eie, refusing weights the format cannot hold. */
export function emitFcEie(node: Node, e: EmitCtx, d: Dims): void {
  const q = node.q!;
  const ctx = where(e.g, node);
  if (q.binary || node.attrs.circulant) bad(`--eie: ${ctx} is a ${q.binary ? "--binary" : "--circulant"} layer, whose integer form is not a plain int8 product; choose one of the two`);
  const w = tensor(e.g, node.inputs[1]).data!;
  const values = nonZeroValues(w);
  if (values.length > 15) {
    bad(`--eie: ${ctx} has ${values.length} distinct non-zero int8 weights; EIE's 4-bit codebook holds 15 and 0. Use --share 4 with --prune (0 takes one of the 16 entries), --share 3 or 2, --weights int4-tensor, --ternary or --pow2`);
  }
  if (d.N > EIE_MAX_N) bad(`--eie: ${ctx} has N = ${d.N} outputs; the accumulators (4N bytes of low scratch) allow at most ${EIE_MAX_N}`);
  const lay = eieLayout(w, d.N, d.K);
  if (lay.entries.length > EIE_MAX_ENTRIES) bad(`--eie: ${ctx} needs ${lay.entries.length} entries (${lay.fillers} fillers); the u16 column pointers allow at most ${EIE_MAX_ENTRIES}: prune it further`);
  const one = q.mult.every((m: number, i: number) => m === q.mult[0] && q.shift[i] === q.shift[0]);
  e.scratch(208 + 4 * d.N); // the codebook's scattered copy below 196, the accumulators from 208
  e.call("fc-eie", "fc_eie_s8", [
    e.addr(node.inputs[0]), e.data("eie_entries", "uint8", lay.entries.length ? lay.entries : [0]),
    e.data("eie_pointers", "int16", lay.ptr.map((p) => (p > 32767 ? p - 65536 : p))), // u16 read as such
    e.data("eie_codebook", "int8", lay.book), e.addr(node.inputs[2]), e.addr(node.outputs[0]),
    d.M, d.N, d.K, q.za, q.zy, e.data("mult", "int32", one ? [q.mult[0]] : q.mult), e.data("shift", "int32", one ? [q.shift[0]] : q.shift), q.qmin, q.qmax,
    lay.entries.length, // for the cost formula (compiler/cost/fc-eie.ts); the kernel ignores it
    one ? 0 : 4, // one multiplier and shift for the layer (a shared layer's per-tensor weights), or one per row
  ]);
}
