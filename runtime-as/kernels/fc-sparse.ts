// Fully connected int8 layer with sparse weights (pruned, or arriving with zeros): only the
// non-zero weights are stored, as (int8 value, u8 column) pairs, row after row, with each
// row's count as a u16 in `counts` (K <= 256). A pair's two bytes are read with immediate
// offsets and the loop is unrolled by eight pairs (then four, then one at a time), about 12
// wasm instructions per kept weight with the row's overhead against 6.9 per MAC for the
// dense fc_s8, so the compiler picks this kernel only where its estimate is lower and it
// stores fewer bytes (ops/gemm.ts fcKernelFor). With fc_s8's folded bias (bias[n] -
// za sum_k w[n, k]) the result equals the integer interpreter's bit for bit. `kept` (the
// number of pairs) is for the compiler's cost formula only.
import { clampi, mbqm } from "../fixedpoint";

export function fc_sparse_s8(
  a: usize, pairs: usize, counts: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, kept: i32,
): void {
  let ar = a, yp = y;
  for (let r = 0; r < M; r++, ar += <usize>K) {
    let p = pairs, cp = counts, o: usize = 0;
    for (let n = 0; n < N; n++) {
      const c = i32(load<u16>(cp));
      const end = p + (<usize>c << 1), end8 = p + (<usize>(c & ~7) << 1);
      let acc = load<i32>(bf + o);
      while (p < end8) {
        acc += i32(load<i8>(p)) * i32(load<i8>(ar + <usize>load<u8>(p, 1)))
          + i32(load<i8>(p, 2)) * i32(load<i8>(ar + <usize>load<u8>(p, 3)))
          + i32(load<i8>(p, 4)) * i32(load<i8>(ar + <usize>load<u8>(p, 5)))
          + i32(load<i8>(p, 6)) * i32(load<i8>(ar + <usize>load<u8>(p, 7)))
          + i32(load<i8>(p, 8)) * i32(load<i8>(ar + <usize>load<u8>(p, 9)))
          + i32(load<i8>(p, 10)) * i32(load<i8>(ar + <usize>load<u8>(p, 11)))
          + i32(load<i8>(p, 12)) * i32(load<i8>(ar + <usize>load<u8>(p, 13)))
          + i32(load<i8>(p, 14)) * i32(load<i8>(ar + <usize>load<u8>(p, 15)));
        p += 16;
      }
      if (c & 4) {
        acc += i32(load<i8>(p)) * i32(load<i8>(ar + <usize>load<u8>(p, 1)))
          + i32(load<i8>(p, 2)) * i32(load<i8>(ar + <usize>load<u8>(p, 3)))
          + i32(load<i8>(p, 4)) * i32(load<i8>(ar + <usize>load<u8>(p, 5)))
          + i32(load<i8>(p, 6)) * i32(load<i8>(ar + <usize>load<u8>(p, 7)));
        p += 8;
      }
      while (p < end) {
        acc += i32(load<i8>(p)) * i32(load<i8>(ar + <usize>load<u8>(p, 1)));
        p += 2;
      }
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1; cp += 2; o += 4;
    }
  }
}
