// Walks the rows of an index space of up to 6 dims described by a row plan (see
// compiler/ops/binary.ts): 18 i32 at `plan`, dims d0..d5, then the element strides of
// operand A per dim, then those of operand B. The last dim is one row; the walker steps
// through the d0*..*d4 rows and keeps the element offsets of the current row's start in A
// and B in rowA and rowB, so a kernel's inner loop runs over a row with no index
// arithmetic and is specialized once per row on the innermost strides. Add and Mul use it
// for broadcasting (A, B = the two operands), Transpose and Pad for strided copies (A = the
// source, B = the destination). The walker keeps its counters in a static buffer: no
// allocation, one walk at a time.

/** Element offset of the current row in operand A. */
export let rowA: i32 = 0;
/** Element offset of the current row in operand B. */
export let rowB: i32 = 0;

const IDX: usize = memory.data(20);
let plan: usize = 0;

/** Starts a walk at row 0; returns the number of rows. */
export function rows_begin(p: usize): i32 {
  plan = p;
  rowA = 0;
  rowB = 0;
  memory.fill(IDX, 0, 20);
  return load<i32>(p) * load<i32>(p, 4) * load<i32>(p, 8) * load<i32>(p, 12) * load<i32>(p, 16);
}

/** Moves rowA and rowB to the next row (an odometer over d0..d4). */
export function rows_next(): void {
  for (let k = 4; k >= 0; k--) {
    const o = <usize>k << 2;
    const i = load<i32>(IDX + o) + 1;
    const sa = load<i32>(plan + 24 + o), sb = load<i32>(plan + 48 + o);
    if (i < load<i32>(plan + o)) {
      store<i32>(IDX + o, i);
      rowA += sa;
      rowB += sb;
      return;
    }
    store<i32>(IDX + o, 0);
    rowA -= sa * (i - 1);
    rowB -= sb * (i - 1);
  }
}

/** Row length (d5) of a plan. */
@inline export function row_len(p: usize): i32 {
  return load<i32>(p, 20);
}
/** Innermost element stride of operand A. */
@inline export function row_sa(p: usize): i32 {
  return load<i32>(p, 44);
}
/** Innermost element stride of operand B. */
@inline export function row_sb(p: usize): i32 {
  return load<i32>(p, 68);
}

/**
 * Copies every element of the plan's index space from x (offsets by A strides) to y
 * (offsets by B strides); elements are 1, 2 or 4 bytes. Rows that are contiguous on both sides
 * move with memory.copy.
 */
export function strided_copy(x: usize, y: usize, p: usize, esize: i32): void {
  const rows = rows_begin(p);
  const n = row_len(p), sx = row_sa(p), sy = row_sb(p);
  if (sx == 1 && sy == 1) {
    const bytes = <usize>(n * esize);
    for (let r = 0; r < rows; r++) {
      memory.copy(y + <usize>(rowB * esize), x + <usize>(rowA * esize), bytes);
      rows_next();
    }
  } else if (esize == 4) {
    const bx = <usize>sx << 2, by = <usize>sy << 2;
    for (let r = 0; r < rows; r++) {
      let px = x + (<usize>rowA << 2), py = y + (<usize>rowB << 2);
      for (let j = 0; j < n; j++) {
        store<u32>(py, load<u32>(px));
        px += bx;
        py += by;
      }
      rows_next();
    }
  } else if (esize == 2) {
    const bx = <usize>sx << 1, by = <usize>sy << 1;
    for (let r = 0; r < rows; r++) {
      let px = x + (<usize>rowA << 1), py = y + (<usize>rowB << 1);
      for (let j = 0; j < n; j++) {
        store<u16>(py, load<u16>(px));
        px += bx;
        py += by;
      }
      rows_next();
    }
  } else {
    const bx = <usize>sx, by = <usize>sy;
    for (let r = 0; r < rows; r++) {
      let px = x + <usize>rowA, py = y + <usize>rowB;
      for (let j = 0; j < n; j++) {
        store<u8>(py, load<u8>(px));
        px += bx;
        py += by;
      }
      rows_next();
    }
  }
}
