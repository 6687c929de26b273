// Sliding-window helpers shared by convolution and pooling kernels: for an output position
// whose window starts at input index `start` (stride and padding applied), the range of
// kernel taps k with start + k*d inside [0, size). Computing it once per output row and
// column keeps bounds checks out of the inner loops.

/** First kernel tap whose input index start + k*d is >= 0. */
@inline export function tapLo(start: i32, d: i32): i32 {
  return start >= 0 ? 0 : (-start + d - 1) / d;
}

/** One past the last kernel tap whose input index is < size (at most K). */
@inline export function tapHi(start: i32, d: i32, size: i32, K: i32): i32 {
  if (start >= size) return 0;
  const n = (size - start + d - 1) / d;
  return n < K ? n : K;
}
