// The FFT form of a float block-circulant fully connected layer (--circulant k, k a power of
// two; the direct form is kernels/fc-circulant.ts, and ops/fc-circulant.ts picks the one with
// fewer estimated instructions). A circulant block multiplies as a circular convolution,
// block v times x = IFFT(FFT(v) . FFT(x)), so a row of A costs one k-point transform per
// input block, a pointwise complex product per block and bin, and one transform per output
// block, instead of k^2 MACs per block.
// Layout: `s` holds per block (block row by block row, like the direct kernel's vectors) the
// spectrum of its vector divided by k, packed in k floats: [DC, Nyquist, re 1, im 1, ...,
// re k/2-1, im k/2-1] (a real vector's DC and Nyquist bins are real). `tw` holds k/2 pairs
// (cos t, -sin t), t = 2 pi j / k; `rev` the k-entry bit-reversal permutation (u8).
// Scratch (the low scratch at address 0, EmitCtx.scratch): the Q = K / k input spectra, 2k
// floats each (complex, natural order), then 2k floats for one output block. The inverse
// transform is the forward one on the conjugate spectrum (the output is real, and the 1/k
// is in `s`). f32 throughout, no fused multiply-add: the same bits on every engine.
import { clampf } from "../fixedpoint";

/** In-place radix-2 decimation-in-time butterflies over k complex values in bit-reversed order. */
// @ts-ignore: decorator
@inline function butterflies(buf: usize, k: usize, tw: usize): void {
  const end = buf + (k << 3);
  let tstep = k << 2; // bytes between the twiddles of one stage: (k / (2 half)) pairs
  for (let span: usize = 8; span < (k << 3); span <<= 1, tstep >>= 1) {
    for (let s = buf; s < end; s += span << 1) {
      let tp = tw;
      for (let p = s, pe = s + span; p < pe; p += 8, tp += tstep) {
        const wr = load<f32>(tp), wi = load<f32>(tp, 4);
        const q = p + span;
        const vr = load<f32>(q), vi = load<f32>(q, 4);
        const tr = wr * vr - wi * vi, ti = wr * vi + wi * vr;
        const ur = load<f32>(p), ui = load<f32>(p, 4);
        store<f32>(p, ur + tr); store<f32>(p, ui + ti, 4);
        store<f32>(q, ur - tr); store<f32>(q, ui - ti, 4);
      }
    }
  }
}

/** y[m, n] = clamp(b[n] + the block-circulant product, lo, hi) by FFT; b may be 0 (no bias). */
export function fc_circulant_fft_f32(
  a: usize, s: usize, b: usize, y: usize, M: i32, N: i32, K: i32, k: i32,
  tw: usize, rev: usize, lo: f32, hi: f32,
): void {
  const kb = <usize>k, Q = <usize>(K / k);
  const spec = kb << 3, blockV = kb << 2; // bytes: one input spectrum (scratch), one stored block spectrum
  const Y = <usize>K << 3; // the output block's spectrum, after the Q input spectra (Q spec bytes)
  const rowS = <usize>K << 2; // one block row of stored spectra (Q blockV bytes)
  const half = kb >> 1;
  let ar = a, yp = y;
  for (let m = 0; m < M; m++) {
    // forward transforms of the Q input blocks: x in bit-reversed order, imaginary parts 0
    let X: usize = 0;
    for (let j: usize = 0; j < Q; j++, X += spec) {
      for (let i: usize = 0; i < kb; i++, ar += 4) {
        const at = X + (<usize>load<u8>(rev + i) << 3);
        store<f32>(at, load<f32>(ar)); store<f32>(at, 0, 4);
      }
      butterflies(X, kb, tw);
    }
    let srow = s, bp = b;
    for (let n0 = 0; n0 < N; n0 += k, srow += rowS) {
      // DC and Nyquist bins: real products (a real input's DC and Nyquist bins are real)
      let dc: f32 = 0, ny: f32 = 0;
      let vp = srow, xp: usize = 0;
      for (let j: usize = 0; j < Q; j++, vp += blockV, xp += spec) {
        dc += load<f32>(vp) * load<f32>(xp);
        ny += load<f32>(vp, 4) * load<f32>(xp + blockV);
      }
      store<f32>(Y, dc); store<f32>(Y, 0, 4); // rev[0] = 0
      store<f32>(Y + 8, ny); store<f32>(Y + 8, 0, 4); // rev[k / 2] = 1
      // bins 1 .. k/2 - 1, written conjugated at rev[bin] and as they are at rev[k - bin]
      let rp = rev + 1, rq = rev + kb - 1;
      for (let bin: usize = 1; bin < half; bin++, rp++, rq--) {
        let re: f32 = 0, im: f32 = 0;
        vp = srow + (bin << 3); xp = bin << 3;
        for (let j: usize = 0; j < Q; j++, vp += blockV, xp += spec) {
          const vr = load<f32>(vp), vi = load<f32>(vp, 4), xr = load<f32>(xp), xi = load<f32>(xp, 4);
          re += vr * xr - vi * xi;
          im += vr * xi + vi * xr;
        }
        const at = Y + (<usize>load<u8>(rp) << 3), bt = Y + (<usize>load<u8>(rq) << 3);
        store<f32>(at, re); store<f32>(at, -im, 4);
        store<f32>(bt, re); store<f32>(bt, im, 4);
      }
      butterflies(Y, kb, tw);
      for (let r: usize = 0; r < kb; r++, yp += 4) {
        let acc = load<f32>(Y + (r << 3));
        if (b != 0) { acc += load<f32>(bp); bp += 4; }
        store<f32>(yp, clampf(acc, lo, hi));
      }
    }
  }
}
