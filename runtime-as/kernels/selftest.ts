// Output comparison for the embedded self-test: counts elements that differ from the
// reference interpreter's outputs. int8 and int16 outputs must match exactly; float outputs may
// differ by atol + rtol * |reference| (float kernels accumulate in f32, the reference in f64).

export function count_diff_i8(got: usize, want: usize, n: i32): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) if (load<i8>(got + <usize>i) != load<i8>(want + <usize>i)) bad++;
  return bad;
}

export function count_diff_i16(got: usize, want: usize, n: i32): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) if (load<i16>(got + (<usize>i << 1)) != load<i16>(want + (<usize>i << 1))) bad++;
  return bad;
}

export function count_diff_f32(got: usize, want: usize, n: i32, atol: f32, rtol: f32): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const a = load<f32>(got + (<usize>i << 2));
    const b = load<f32>(want + (<usize>i << 2));
    if (!(Mathf.abs(a - b) <= atol + rtol * Mathf.abs(b))) bad++;
  }
  return bad;
}
