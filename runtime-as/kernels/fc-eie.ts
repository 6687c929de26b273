// Fully connected int8 layer in EIE's layout (Han et al., "EIE: Efficient Inference Engine on
// Compressed Deep Neural Network", 2016; --eie, compiler/ops/fc-eie.ts): a pruned layer whose
// int8 weights take at most 15 distinct non-zero values is stored column by column, one byte
// per entry: a 4-bit index i into a 16-entry int8 codebook (entry 0 is the value 0) and the
// 4-bit number of zero rows skipped before the entry, placed so that each takes one mask:
// bits 2..5 the run (e & 60 is the run times 4, the accumulator stride), bits 0..1 and 6..7
// the index (e & 195 = (i & 3) | (i >> 2) << 6, the address of its value in the codebook's
// scattered copy). A gap of more than 15 zero rows is bridged by filler entries (run 15,
// index 0: they add 0 to a zero row).
// `ptr` holds K + 1 u16 offsets into `ent` (stored as int16 bit patterns), column j's entries
// being ent[ptr[j] .. ptr[j + 1]).
// The product walks only the columns whose activation differs from the zero point za:
// for each such column j, x = a_j - za, and every entry adds book[idx] * x to its row's
// int32 accumulator. A zero activation (after a ReLU, q == za) costs its load, a compare and
// the loop step, about 14 wasm instructions. Measured on a 1x256 -> 64 layer at 85% sparsity
// (test/ops/fc-eie.test.ts): about 22 instructions per walked entry (the accumulator is read
// and written in memory, where fc_sparse_s8 keeps its sum in a local: 12 per kept weight) and
// 45 per non-zero column, so EIE beats fc_sparse_s8 there above roughly 58% zero activations,
// and fc_shared4_s8 (which walks every weight) at any share of them. The masks e & 60 and
// e & 195 (instead of a nibble split) saved 2 instructions per entry (79406 -> 74246 at 0%).
// Scratch (EmitCtx.scratch, 208 + 4N bytes at address 0): the codebook copied four entries at
// a time to addresses 0, 64, 128 and 192, so that e & 195 is the address of the entry's
// value, and the N accumulators at [208, 208 + 4N), so that a running row address needs no base. Per row of A the accumulators start at the int32 bias
// (not fc_s8's folded one: the kernel sums (a - za) w, as the interpreter does) and end
// requantized exactly like fc_s8 (mbqm, zy, clamp), so the result equals fcInt bit for bit:
// a skipped column's terms are all (za - za) w = 0. `entries` is for the compiler's cost
// formula only (an upper bound: every activation non-zero; compiler/cost/fc-eie.ts). `mstep`
// is 4 for per-row multipliers and shifts (ternary, pow2 layers), 0 for a layer with one
// (shared layers: per-tensor weights), whose tables then hold a single entry.
// Not done: precomputing the 16 products book[i] * x per non-zero column. Looking a product
// up (shift, mask, i32 load) takes as many wasm instructions as the codebook lookup and the
// multiply (mask, i8 load, multiply), so it would save no instruction per entry, and it
// costs 16 multiplies and stores per column, more multiplies than it removes below 16
// entries per column (the 256 -> 64 layer at 85% sparsity has 10).
import { clampi, mbqm } from "../fixedpoint";

/** The accumulators' address in the low scratch, above the codebook's scattered copy. */
const ACC: usize = 208;

export function fc_eie_s8(
  a: usize, ent: usize, ptr: usize, book: usize, bias: usize, y: usize, M: i32, N: i32, K: i32,
  za: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, entries: i32, mstep: i32,
): void {
  memory.copy(0, book, 4); memory.copy(64, book + 4, 4); memory.copy(128, book + 8, 4); memory.copy(192, book + 12, 4);
  const accBytes = <usize>N << 2;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    memory.copy(ACC, bias, accBytes);
    const aend = ar + <usize>K;
    const pbase = ptr - (ar << 1); // column j's pointer pair at pbase + 2 (ar + j): no pointer walked per zero column
    for (let ap = ar; ap < aend; ap++) {
      const x = i32(load<i8>(ap)) - za;
      if (x == 0) continue;
      const pp = pbase + (ap << 1);
      let p = ent + <usize>load<u16>(pp);
      const end = ent + <usize>load<u16>(pp, 2); // entries in groups of four, then two, then one
      // r + off: the accumulator of the entry's row. r gains each entry's run (times 4 bytes),
      // the off immediates the "+ 1 row" of the entries of a group of four, folded in at its end
      let r: usize = ACC;
      const n = end - p, end4 = p + (n & ~3);
      while (p < end4) {
        let e = <usize>load<u8>(p);
        r += e & 60;
        store<i32>(r, load<i32>(r) + i32(load<i8>(e & 195)) * x);
        e = <usize>load<u8>(p, 1);
        r += e & 60;
        store<i32>(r, load<i32>(r, 4) + i32(load<i8>(e & 195)) * x, 4);
        e = <usize>load<u8>(p, 2);
        r += e & 60;
        store<i32>(r, load<i32>(r, 8) + i32(load<i8>(e & 195)) * x, 8);
        e = <usize>load<u8>(p, 3);
        r += e & 60;
        store<i32>(r, load<i32>(r, 12) + i32(load<i8>(e & 195)) * x, 12);
        r += 16; p += 4;
      }
      if (n & 2) {
        let e = <usize>load<u8>(p);
        r += e & 60;
        store<i32>(r, load<i32>(r) + i32(load<i8>(e & 195)) * x);
        e = <usize>load<u8>(p, 1);
        r += e & 60;
        store<i32>(r, load<i32>(r, 4) + i32(load<i8>(e & 195)) * x, 4);
        r += 8; p += 2;
      }
      if (n & 1) {
        const e = <usize>load<u8>(p);
        r += e & 60;
        store<i32>(r, load<i32>(r) + i32(load<i8>(e & 195)) * x);
      }
    }
    let o: usize = 0, mo: usize = 0;
    for (let n = 0; n < N; n++, o += 4, mo += <usize>mstep) {
      store<i8>(yp, i8(clampi(mbqm(load<i32>(ACC + o), load<i32>(mult + mo), load<i32>(shift + mo)) + zy, qmin, qmax)));
      yp += 1;
    }
  }
}
