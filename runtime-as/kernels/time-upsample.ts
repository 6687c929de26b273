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

@inline function comb_f32(mode: i32, a: f32, b: f32, ph: i32, k: i32, first: bool): f32 {
  if (mode == 0) return a;
  if (mode == 2) return ph == 0 ? b : a;
  if (ph == 0 || first) return a;
  return a + (<f32>ph / <f32>k) * (a - b);
}

@inline function comb_s8(mode: i32, a: i32, b: i32, ph: i32, k: i32, first: bool): i32 {
  if (mode == 0) return a;
  if (mode == 2) return ph == 0 ? b : a;
  if (ph == 0 || first) return a;
  const v = a + rdiv(ph * (a - b), k);
  return v < -128 ? -128 : v > 127 ? 127 : v;
}

export function upsample_time_f32(x: usize, y: usize, outer: i32, J: i32, L: i32, inner: i32, k: i32, mode: i32, zero: f32): void {
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < L; t++) {
      const py = y + (<usize>((o * L + t) * inner) << 2);
      if (mode == 2) {
        if (t == 0) { for (let i = 0; i < inner; i++) store<f32>(py + (<usize>i << 2), zero); continue; }
        memory.copy(py, x + (<usize>((o * J + (t - 1) / k) * inner) << 2), <usize>inner << 2);
        continue;
      }
      const j = t / k, ph = t - j * k;
      const pa = x + (<usize>((o * J + j) * inner) << 2);
      const pb = j > 0 ? pa - (<usize>inner << 2) : pa;
      for (let i = 0; i < inner; i++) {
        const off = <usize>i << 2;
        store<f32>(py + off, comb_f32(mode, load<f32>(pa + off), load<f32>(pb + off), ph, k, j == 0));
      }
    }
  }
}

export function upsample_time_s8(x: usize, y: usize, outer: i32, J: i32, L: i32, inner: i32, k: i32, mode: i32, zero: i32): void {
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < L; t++) {
      const py = y + <usize>((o * L + t) * inner);
      if (mode == 2) {
        if (t == 0) { memory.fill(py, <u8>zero, <usize>inner); continue; }
        memory.copy(py, x + <usize>((o * J + (t - 1) / k) * inner), <usize>inner);
        continue;
      }
      const j = t / k, ph = t - j * k;
      const pa = x + <usize>((o * J + j) * inner);
      const pb = j > 0 ? pa - <usize>inner : pa;
      for (let i = 0; i < inner; i++) {
        store<i8>(py + <usize>i, <i8>comb_s8(mode, <i32>load<i8>(pa + <usize>i), <i32>load<i8>(pb + <usize>i), ph, k, j == 0));
      }
    }
  }
}

export function upsample_step_f32(win: usize, y: usize, rows: i32, W: i32, k: i32, mode: i32, ph: i32, first: bool): void {
  for (let r = 0; r < rows; r++) {
    const pa = win + (<usize>(r * W + W - 1) << 2);
    const pb = W > 1 ? pa - 4 : pa;
    store<f32>(y + (<usize>r << 2), comb_f32(mode, load<f32>(pa), load<f32>(pb), ph, k, first));
  }
}

export function upsample_step_s8(win: usize, y: usize, rows: i32, W: i32, k: i32, mode: i32, ph: i32, first: bool): void {
  for (let r = 0; r < rows; r++) {
    const pa = win + <usize>(r * W + W - 1);
    const pb = W > 1 ? pa - 1 : pa;
    store<i8>(y + <usize>r, <i8>comb_s8(mode, <i32>load<i8>(pa), <i32>load<i8>(pb), ph, k, first));
  }
}
