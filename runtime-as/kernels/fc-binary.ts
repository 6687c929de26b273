// Binary fully connected int8 layer (compiler/passes/binary.ts, --binary; XNOR-Net): weights
// and input activations are ±1, so a row's dot product over K columns is
// 2 popcount(xnor(a, w)) - K = K - 2 popcount(a ^ w). Per row of A the kernel packs the
// activation signs (bit 1 when a >= za, the real value >= 0) into ceil(K/32) u32 words in
// the low scratch at address 0 (reserved by the compiler), bit b of word i for column
// 32 i + b and the last word's unused bits 0. The weights arrive packed the same way
// (K/8 bytes per row rounded up to whole words, 8x fewer than int8), their unused bits 0
// too, so the padding xors to 0 and needs no mask. Per output it sums i32.popcnt(x ^ w)
// over the words and computes acc = bf[n] - sum 2^9 with bf[n] = bq[n] + K 2^8 (folded by
// the compiler), exactly the integer interpreter's bq[n] + (2 popcount(xnor) - K) 2^8
// (compiler/ops/fc-binary.ts: 8 bits below the dot product's unit for the bias), then
// fc_s8's requantization. No multiply but mbqm's.
import { clampi, mbqm } from "../fixedpoint";

export function fc_binary_s8(
  a: usize, wbits: usize, bf: usize, y: usize, M: i32, N: i32, K: i32,
  za: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32,
): void {
  const words = <usize>((K + 31) >> 5);
  const xend: usize = words << 2; // the packed row occupies scratch [0, xend)
  const K32 = <usize>(K & ~31);
  let ar = a, yp = y;
  for (let m = 0; m < M; m++, ar += <usize>K) {
    // pack: whole words, then the tail word (if K % 32 != 0)
    let ap = ar, sp: usize = 0;
    const aend32 = ar + K32, aend = ar + <usize>K;
    while (ap < aend32) {
      let word: u32 = 0;
      for (let b: u32 = 0; b < 32; b++) word |= <u32>(i32(load<i8>(ap + <usize>b)) >= za) << b;
      store<u32>(sp, word);
      ap += 32; sp += 4;
    }
    if (ap < aend) {
      let word: u32 = 0, b: u32 = 0;
      while (ap < aend) { word |= <u32>(i32(load<i8>(ap)) >= za) << b; ap += 1; b++; }
      store<u32>(sp, word);
    }
    let wp = wbits, o: usize = 0;
    for (let n = 0; n < N; n++) {
      let diff: i32 = 0;
      for (let xp: usize = 0; xp < xend; xp += 4) {
        diff += <i32>popcnt<u32>(load<u32>(xp) ^ load<u32>(wp));
        wp += 4;
      }
      const acc = load<i32>(bf + o) - (diff << 9);
      store<i8>(yp, i8(clampi(mbqm(acc, load<i32>(mult + o), load<i32>(shift + o)) + zy, qmin, qmax)));
      yp += 1; o += 4;
    }
  }
}
