// Streaming support (compiler/stream/step-graph.ts): stream_shift pushes one new column
// into a layer's input window, a state region of `rows` rows of W elements (`bytes` each)
// that persists between step() calls. Each row moves one element towards its start (the
// oldest column drops out) and the row's element of the new column is stored last.
export function stream_shift(col: usize, win: usize, rows: i32, W: i32, bytes: i32): void {
  const rowBytes = <usize>(W * bytes);
  const keep = rowBytes - <usize>bytes;
  for (let r = 0; r < rows; r++) {
    const p = win + <usize>r * rowBytes;
    if (keep > 0) memory.copy(p, p + <usize>bytes, keep);
    memory.copy(p + keep, col + <usize>(r * bytes), <usize>bytes);
  }
}
