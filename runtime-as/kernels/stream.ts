// Streaming support (compiler/stream/step-graph.ts): stream_shift pushes one new column
// into a layer's input window, a state region of `rows` rows of W elements (`bytes` each,
// rowBytes = W * bytes a row) that persists between step() calls. Each row moves one element towards its start (the
// oldest column drops out) and the row's element of the new column is stored last.
export function stream_shift(col: usize, win: usize, rows: i32, rowBytes: i32, bytes: i32): void {
  const keep = <usize>(rowBytes - bytes), step = <usize>bytes;
  let p = win, c = col;
  for (let r = 0; r < rows; r++) {
    if (keep > 0) memory.copy(p, p + step, keep);
    memory.copy(p + keep, c, step);
    p += <usize>rowBytes;
    c += step;
  }
}
