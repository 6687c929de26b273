// Fully connected int8 layer with ternary weights (compiler/passes/ternary.ts, TWN): every
// row's weights are -m, 0 or m, so y[r, n] needs no multiply per weight: the kernel sums the
// activations at the row's +m columns, subtracts those at its -m columns, and multiplies the
// difference by m once per output. The columns are u8 indices (K <= 256), per row the plus
// list then the minus list, with the two lengths as u16 pairs in `counts`. With the folded
// bias of fc_s8 (bias[n] - za sum_k w[n, k]) this equals the integer interpreter's
// bias[n] + sum_k (a - za) w[n, k] bit for bit (the sums are exact integers), followed by
// the same requantization. Rows with no weight left have empty lists. `kept` (the lists'
// total length) is there for the compiler's cost formula only.
import { clampi, mbqm } from "../fixedpoint";

/** Sum of the n bytes of a at the u8 indices from ip (unrolled by four). */
@inline function gather(a: usize, ip: usize, n: i32): i32 {
  let s = 0;
  const end = ip + <usize>n, end4 = ip + <usize>(n & ~3);
  while (ip < end4) {
    s += i32(load<i8>(a + <usize>load<u8>(ip))) + i32(load<i8>(a + <usize>load<u8>(ip, 1)))
      + i32(load<i8>(a + <usize>load<u8>(ip, 2))) + i32(load<i8>(a + <usize>load<u8>(ip, 3)));
    ip += 4;
  }
  while (ip < end) { s += i32(load<i8>(a + <usize>load<u8>(ip))); ip += 1; }
  return s;
}

export function fc_ternary_s8(
  a: usize, idx: usize, counts: usize, bf: usize, y: usize, M: i32, N: i32, K: i32, m: i32,
  zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, kept: i32,
): void {
  let ar = a, yp = y;
  for (let r = 0; r < M; r++, ar += <usize>K) {
    let ip = idx, cp = counts, o: usize = 0;
    for (let n = 0; n < N; n++) {
      const np = i32(load<u16>(cp)), nm = i32(load<u16>(cp, 2));
      const s = gather(ar, ip, np) - gather(ar, ip + <usize>np, nm);
      ip += <usize>(np + nm);
      const acc = load<i32>(bf + o) + m * s;
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1; cp += 4; o += 4;
    }
  }
}
