// int8 convolution with sparse weights (group 1; pruned, or arriving with zeros): only the
// non-zero taps are stored, three bytes each [value i8, kk u8 = kh KW + kw, c u8], output
// channel after output channel with a u16 byte length per channel. The kernel works tap by tap
// ("scatter"): an int32 plane of the channel's OH x OW sums in the low scratch starts at the
// bias, and each tap adds (x - zx) v over the output rectangle where its input is inside the
// padded image. That rectangle depends only on (kh, kw), so the compiler precomputes one
// row of eight int32 per kk in `geo` (ops/conv-sparse.ts): input offset of the first valid
// position, its plane byte offset, the number of rows, the row's input span (columns x sw),
// the input and plane steps to the next row, and two unused words (a 32-byte stride). Then
// the plane is requantized like conv_s8. `coff` holds c HW per input channel, so no
// multiply is spent on addressing (binaryen would turn some into shifts, which the cost
// formula could not know). Wrapping int32 sums in any order equal the
// integer interpreter's, bit for bit. `taps` and `macs` (the kept taps and the
// multiply-accumulates they run, over the batch) are for the compiler's cost formula only.
import { clampi, mbqm } from "../fixedpoint";

export function conv_sparse_s8(
  x: usize, w: usize, lens: usize, coff: usize, geo: usize, b: usize, y: usize,
  N: i32, C: i32, HW: i32, M: i32, OHW: i32, sw: i32,
  zx: i32, zy: i32, mult: usize, shift: usize, qmin: i32, qmax: i32, taps: i32, macs: i32,
): void {
  const plane: usize = 0, pend = plane + (<usize>OHW << 2), step = <usize>sw;
  let xn = x, yp = y;
  for (let n = 0; n < N; n++, xn += <usize>(C * HW)) {
    let p = w, cp = lens, o: usize = 0;
    for (let m = 0; m < M; m++, cp += 2, o += 4) {
      const bias = load<i32>(b + o);
      for (let ap = plane; ap < pend; ap += 4) store<i32>(ap, bias);
      const pe = p + <usize>load<u16>(cp);
      while (p < pe) {
        const v = i32(load<i8>(p)), g = geo + (<usize>load<u8>(p, 1) << 5);
        let xp = xn + <usize>load<i32>(coff + (<usize>load<u8>(p, 2) << 2)) + <usize>load<i32>(g);
        let ap = plane + <usize>load<i32>(g, 4);
        const rows = load<i32>(g, 8), span = <usize>load<i32>(g, 12), rowX = <usize>load<i32>(g, 16), rowA = <usize>load<i32>(g, 20);
        if (step == 1) {
          // unit stride: four positions per pass with immediate offsets
          const span4 = span & ~3;
          for (let r = 0; r < rows; r++) {
            const xe = xp + span, xe4 = xp + span4;
            while (xp < xe4) {
              store<i32>(ap, load<i32>(ap) + (i32(load<i8>(xp)) - zx) * v);
              store<i32>(ap, load<i32>(ap, 4) + (i32(load<i8>(xp, 1)) - zx) * v, 4);
              store<i32>(ap, load<i32>(ap, 8) + (i32(load<i8>(xp, 2)) - zx) * v, 8);
              store<i32>(ap, load<i32>(ap, 12) + (i32(load<i8>(xp, 3)) - zx) * v, 12);
              xp += 4; ap += 16;
            }
            while (xp < xe) {
              store<i32>(ap, load<i32>(ap) + (i32(load<i8>(xp)) - zx) * v);
              xp += 1; ap += 4;
            }
            xp += rowX; ap += rowA;
          }
        } else {
          for (let r = 0; r < rows; r++) {
            const xe = xp + span;
            while (xp < xe) {
              store<i32>(ap, load<i32>(ap) + (i32(load<i8>(xp)) - zx) * v);
              xp += step; ap += 4;
            }
            xp += rowX; ap += rowA;
          }
        }
        p += 3;
      }
      const mu = load<i32>(mult + o), sh = load<i32>(shift + o);
      for (let ap = plane; ap < pend; ap += 4, yp++) store<i8>(yp, i8(clampi(mbqm(load<i32>(ap), mu, sh) + zy, qmin, qmax)));
    }
  }
}
