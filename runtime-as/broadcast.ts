// Walks the rows of an index space of up to 6 dims described by a row plan (see
// compiler/ops/binary.ts, planArgs). The last dim is one row of n elements, with innermost
// element strides sa (operand A) and sb (operand B) that the kernel receives as arguments
// together with the number of rows (d0*..*d4); the walk itself, 14 i32 at `plan`, holds
// dims d1..d4, then the element strides of operand A for d0..d4, then those of operand B
// (plan == 0 when there is a single row: nothing to walk). The walker steps through the
// rows and keeps the element offsets of the current row's start in A and B in rowA and
// rowB, so a kernel's inner loop runs over a row with no index arithmetic and is
// specialized once per row on the innermost strides. Add and Mul use it for broadcasting
// (A, B = the two operands), Transpose, Slice and Pad for strided copies (A = the source,
// B = the destination). The walker keeps its odometer in globals (no memory traffic after
// rows_begin's loads of the plan, and no multiply: each level restarts from the offset of
// the level above); no allocation, one walk at a time.

/** Element offset of the current row in operand A. */
export let rowA: i32 = 0;
/** Element offset of the current row in operand B. */
export let rowB: i32 = 0;

let d1: i32 = 0, d2: i32 = 0, d3: i32 = 0, d4: i32 = 0;
let i1: i32 = 0, i2: i32 = 0, i3: i32 = 0, i4: i32 = 0;
let sa0: i32 = 0, sa1: i32 = 0, sa2: i32 = 0, sa3: i32 = 0, sa4: i32 = 0;
let sb0: i32 = 0, sb1: i32 = 0, sb2: i32 = 0, sb3: i32 = 0, sb4: i32 = 0;
// offsets of the current index at levels 0..3 (level 4's are rowA, rowB)
let a0: i32 = 0, a1: i32 = 0, a2: i32 = 0, a3: i32 = 0;
let b0: i32 = 0, b1: i32 = 0, b2: i32 = 0, b3: i32 = 0;

/** Starts a walk at row 0 (plan 0: a single row, nothing to load). */
export function rows_begin(p: usize): void {
  rowA = 0; rowB = 0;
  a0 = 0; a1 = 0; a2 = 0; a3 = 0;
  b0 = 0; b1 = 0; b2 = 0; b3 = 0;
  i1 = 0; i2 = 0; i3 = 0; i4 = 0;
  if (p == 0) return;
  d1 = load<i32>(p); d2 = load<i32>(p, 4); d3 = load<i32>(p, 8); d4 = load<i32>(p, 12);
  sa0 = load<i32>(p, 16); sa1 = load<i32>(p, 20); sa2 = load<i32>(p, 24); sa3 = load<i32>(p, 28); sa4 = load<i32>(p, 32);
  sb0 = load<i32>(p, 36); sb1 = load<i32>(p, 40); sb2 = load<i32>(p, 44); sb3 = load<i32>(p, 48); sb4 = load<i32>(p, 52);
}

/** Moves rowA and rowB to the next row (an odometer over d0..d4; the caller counts the rows). */
export function rows_next(): void {
  if (++i4 < d4) { rowA += sa4; rowB += sb4; return; }
  i4 = 0;
  if (++i3 < d3) {
    a3 += sa3; b3 += sb3;
  } else {
    i3 = 0;
    if (++i2 < d2) {
      a2 += sa2; b2 += sb2;
    } else {
      i2 = 0;
      if (++i1 < d1) {
        a1 += sa1; b1 += sb1;
      } else {
        i1 = 0;
        a0 += sa0; b0 += sb0;
        a1 = a0; b1 = b0;
      }
      a2 = a1; b2 = b1;
    }
    a3 = a2; b3 = b2;
  }
  rowA = a3; rowB = b3;
}

/**
 * Copies every element of the plan's index space (rows rows of n elements) from x (offsets
 * by A strides, sx innermost) to y (offsets by B strides, sy innermost); elements are 1, 2
 * or 4 bytes. Rows that are contiguous on both sides move with memory.copy.
 */
export function strided_copy(x: usize, y: usize, plan: usize, rows: i32, n: i32, sx: i32, sy: i32, esize: i32): void {
  rows_begin(plan);
  const sh = <usize>(esize >> 1); // log2 of 1, 2, 4
  if (sx == 1 && sy == 1) {
    const bytes = <usize>n << sh;
    for (let r = 0; r < rows; r++) {
      memory.copy(y + (<usize>rowB << sh), x + (<usize>rowA << sh), bytes);
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
