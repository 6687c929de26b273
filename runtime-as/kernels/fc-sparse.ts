// Fully connected int8 layer with sparse weights (pruned, or arriving with zeros): only the
// non-zero weights are stored, under two bytes each with their positions, and each costs
// about ten wasm instructions against 6.9 per MAC for the dense fc_s8, so the compiler picks
// this kernel where its estimate is lower and it stores fewer bytes (ops/gemm.ts
// fcKernelFor).
//
// Layout (K <= 256, built by ops/gemm.ts sparseLayout). A row's kept weights go in pairs:
// the first at an absolute column c0 (u8), the second at c0 + 1 + d with d in 0..15 (a
// nibble). A weight with no partner within 16 columns is paired with a filler of value 0 at
// c0 + 1. Two pairs form a quad of seven bytes [v0 v1 v2 v3 c0 c2 d1|d3<<4], so a kept
// weight takes 1.75 bytes; a row's odd last pair takes four [v0 v1 c0 d1]. `counts` holds
// each row's number of pairs (u8). The row of activations is first copied to the low
// scratch at address 0 (EmitCtx.scratch, K + 1 bytes), so a stored column is the address
// of its activation and the nibble's "+ 1" is the load's immediate offset: no base address
// is added per weight. Fillers read at most address K and multiply it by zero.
// With fc_s8's folded bias (bias[n] - za sum_k w[n, k]) the result equals the integer
// interpreter's bit for bit. `pairs` (all pairs) and `odd` (rows with an odd last pair) are
// for the compiler's cost formula only.
import { clampi, mbqm } from "../fixedpoint";

/** The four products of the quad at p + 0 (immediate offsets: binaryen cannot fold p + 0 into them itself). */
// @ts-ignore: decorator
@inline function quad0(p: usize): i32 {
  const c0 = <usize>load<u8>(p, 4), c2 = <usize>load<u8>(p, 5), d = <usize>load<u8>(p, 6);
  return i32(load<i8>(p, 0)) * i32(load<i8>(c0))
    + i32(load<i8>(p, 1)) * i32(load<i8>(c0 + (d & 15), 1))
    + i32(load<i8>(p, 2)) * i32(load<i8>(c2))
    + i32(load<i8>(p, 3)) * i32(load<i8>(c2 + (d >> 4), 1));
}

/** The four products of the quad at p + 7 (immediate offsets: binaryen cannot fold p + 7 into them itself). */
// @ts-ignore: decorator
@inline function quad7(p: usize): i32 {
  const c0 = <usize>load<u8>(p, 11), c2 = <usize>load<u8>(p, 12), d = <usize>load<u8>(p, 13);
  return i32(load<i8>(p, 7)) * i32(load<i8>(c0))
    + i32(load<i8>(p, 8)) * i32(load<i8>(c0 + (d & 15), 1))
    + i32(load<i8>(p, 9)) * i32(load<i8>(c2))
    + i32(load<i8>(p, 10)) * i32(load<i8>(c2 + (d >> 4), 1));
}

/** The four products of the quad at p + 14 (immediate offsets: binaryen cannot fold p + 14 into them itself). */
// @ts-ignore: decorator
@inline function quad14(p: usize): i32 {
  const c0 = <usize>load<u8>(p, 18), c2 = <usize>load<u8>(p, 19), d = <usize>load<u8>(p, 20);
  return i32(load<i8>(p, 14)) * i32(load<i8>(c0))
    + i32(load<i8>(p, 15)) * i32(load<i8>(c0 + (d & 15), 1))
    + i32(load<i8>(p, 16)) * i32(load<i8>(c2))
    + i32(load<i8>(p, 17)) * i32(load<i8>(c2 + (d >> 4), 1));
}

/** The four products of the quad at p + 21 (immediate offsets: binaryen cannot fold p + 21 into them itself). */
// @ts-ignore: decorator
@inline function quad21(p: usize): i32 {
  const c0 = <usize>load<u8>(p, 25), c2 = <usize>load<u8>(p, 26), d = <usize>load<u8>(p, 27);
  return i32(load<i8>(p, 21)) * i32(load<i8>(c0))
    + i32(load<i8>(p, 22)) * i32(load<i8>(c0 + (d & 15), 1))
    + i32(load<i8>(p, 23)) * i32(load<i8>(c2))
    + i32(load<i8>(p, 24)) * i32(load<i8>(c2 + (d >> 4), 1));
}

export function fc_sparse_s8(
  a: usize, w: usize, counts: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, pairs: i32, odd: i32,
): void {
  let ar = a, yp = y;
  for (let r = 0; r < M; r++, ar += <usize>K) {
    memory.copy(0, ar, <usize>K);
    let p = w, cp = counts, o: usize = 0;
    for (let n = 0; n < N; n++) {
      const np = <usize>load<u8>(cp);
      const q = np >> 1, q4 = np >> 3; // quads; passes of four quads (28 bytes)
      const end4 = p + (q4 << 5) - (q4 << 2);
      let acc = load<i32>(bf + o);
      if (p < end4) {
        do {
          acc += quad0(p) + quad7(p) + quad14(p) + quad21(p);
          p += 28;
        } while (p < end4);
      }
      if (q & 2) {
        acc += quad0(p) + quad7(p);
        p += 14;
      }
      if (q & 1) {
        acc += quad0(p);
        p += 7;
      }
      if (np & 1) {
        const c0 = <usize>load<u8>(p, 2);
        acc += i32(load<i8>(p)) * i32(load<i8>(c0))
          + i32(load<i8>(p, 1)) * i32(load<i8>(c0 + <usize>load<u8>(p, 3), 1));
        p += 4;
      }
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1; cp += 1; o += 4;
    }
  }
}
