// TimeUpsample (SOI, compiler/ops/time-upsample.ts): the deep path's stream, one column every
// k steps, back to every step. mode 0 holds the newest deep column, 1 extrapolates linearly
// from the two newest (a + ph/k * (a - b); none before the second, `first`), 2 predicts: the
// deep column of step j*k serves steps j*k+1 .. j*k+k (at phase 0 the previous one, b).
// upsample_time_* is the full-window form (outer x J x inner -> outer x L x inner);
// upsample_step_* the streaming form, reading a latch window of rows x W (W = 1 or 2, the
// newest column last) and writing one column of `rows` elements.
// int8 extrapolation rounds ph * (a - b) / k half away from zero and saturates.

@inline function rdiv(n: i32, k: i32): i32 {
  const q = (2 * abs<i32>(n) + k) / (2 * k);
  return n < 0 ? -q : q;
}

// The combiners load only what their mode uses (a at pa, the newest deep column; b at pb,
// the one before), so each mode's memory traffic is fixed.
@inline function comb_f32(mode: i32, pa: usize, pb: usize, ph: i32, k: i32, first: bool): f32 {
  if (mode == 0) return load<f32>(pa);
  if (mode == 2) return load<f32>(ph == 0 ? pb : pa);
  const a = load<f32>(pa);
  if (ph == 0 || first) return a;
  return a + (<f32>ph / <f32>k) * (a - load<f32>(pb));
}

@inline function comb_s8(mode: i32, pa: usize, pb: usize, ph: i32, k: i32, first: bool): i32 {
  if (mode == 0) return load<i8>(pa);
  if (mode == 2) return load<i8>(ph == 0 ? pb : pa);
  const a = i32(load<i8>(pa));
  if (ph == 0 || first) return a;
  const v = a + rdiv(ph * (a - i32(load<i8>(pb))), k);
  return v < -128 ? -128 : v > 127 ? 127 : v;
}

// Both window kernels walk the output in order with running pointers: t = j k + ph, pa at
// deep column j; `block` = J * inner elements of input per outer index.
export function upsample_time_f32(x: usize, y: usize, outer: i32, block: i32, L: i32, inner: i32, k: i32, mode: i32, zero: f32): void {
  const row = <usize>inner << 2;
  let xo = x, py = y;
  for (let o = 0; o < outer; o++) {
    let pa = xo, j = 0, ph = 0;
    for (let t = 0; t < L; t++) {
      if (mode == 2) {
        if (t == 0) { for (let q = py, e = py + row; q < e; q += 4) store<f32>(q, zero); }
        else memory.copy(py, ph == 0 ? pa - row : pa, row);
      } else {
        const pb = j > 0 ? pa - row : pa;
        for (let off: usize = 0; off < row; off += 4) store<f32>(py + off, comb_f32(mode, pa + off, pb + off, ph, k, j == 0));
      }
      py += row;
      if (++ph == k) { ph = 0; j++; pa += row; }
    }
    xo += <usize>block << 2;
  }
}

export function upsample_time_s8(x: usize, y: usize, outer: i32, block: i32, L: i32, inner: i32, k: i32, mode: i32, zero: i32): void {
  const row = <usize>inner;
  let xo = x, py = y;
  for (let o = 0; o < outer; o++) {
    let pa = xo, j = 0, ph = 0;
    for (let t = 0; t < L; t++) {
      if (mode == 2) {
        if (t == 0) memory.fill(py, <u8>zero, row);
        else memory.copy(py, ph == 0 ? pa - row : pa, row);
      } else {
        const pb = j > 0 ? pa - row : pa;
        for (let off: usize = 0; off < row; off++) store<i8>(py + off, <i8>comb_s8(mode, pa + off, pb + off, ph, k, j == 0));
      }
      py += row;
      if (++ph == k) { ph = 0; j++; pa += row; }
    }
    xo += <usize>block;
  }
}

// The streaming form: n is the deep path's run count (ph = n % k, first = n < k), the latch
// window holds rows of W columns, the newest last.
export function upsample_step_f32(win: usize, y: usize, rows: i32, W: i32, k: i32, mode: i32, n: i32): void {
  const ph = n % k, first = n < k;
  const stride = <usize>W << 2;
  let pa = win + (<usize>(W - 1) << 2), py = y;
  for (let r = 0; r < rows; r++) {
    store<f32>(py, comb_f32(mode, pa, W > 1 ? pa - 4 : pa, ph, k, first));
    pa += stride;
    py += 4;
  }
}

export function upsample_step_s8(win: usize, y: usize, rows: i32, W: i32, k: i32, mode: i32, n: i32): void {
  const ph = n % k, first = n < k;
  const stride = <usize>W;
  let pa = win + <usize>(W - 1), py = y;
  for (let r = 0; r < rows; r++) {
    store<i8>(py, <i8>comb_s8(mode, pa, W > 1 ? pa - 1 : pa, ph, k, first));
    pa += stride;
    py++;
  }
}
