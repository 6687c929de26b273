// Gather along one axis by constant indices. The compiler sees the data as [outer, n, inner]
// (the gathered axis in the middle) and hands the kernels byte offsets within one outer block
// (`block` bytes long); the output is written sequentially.
//
// - gather_rows: a table of runs, int32 pairs (byte offset, byte length): each run is one or
//   more consecutive gathered rows of `inner` elements, moved with one memory.copy per outer
//   block (the table is read once; `outBlock` is the output's bytes per outer block). Serves
//   float32, int8 and int16 (Q formats of 9 to 16 bits) alike (quantized data keeps its
//   quantization, bytes move unchanged); a scalar index (PyTorch's h_n[-1], out[:, -1, :])
//   is a single run, i.e. one copy per outer block.
// - gather_f32 / gather_s16 / gather_s8: single elements (inner == 1) at a table of byte
//   offsets, a load/store per element instead of a memory.copy call per element.

export function gather_rows(x: usize, y: usize, outer: i32, block: i32, outBlock: i32, runs: usize, nruns: i32): void {
  const end = runs + (<usize>nruns << 3);
  let yr = y;
  for (let r = runs; r < end; r += 8) {
    const len = <usize>load<i32>(r, 4);
    let px = x + <usize>load<i32>(r), py = yr;
    for (let o = 0; o < outer; o++) {
      memory.copy(py, px, len);
      px += <usize>block;
      py += <usize>outBlock;
    }
    yr += len;
  }
}

export function gather_f32(x: usize, y: usize, outer: i32, block: i32, offs: usize, count: i32): void {
  const end = offs + (<usize>count << 2);
  let px = x, py = y;
  for (let o = 0; o < outer; o++) {
    for (let p = offs; p < end; p += 4) {
      store<u32>(py, load<u32>(px + <usize>load<i32>(p)));
      py += 4;
    }
    px += <usize>block;
  }
}

export function gather_s8(x: usize, y: usize, outer: i32, block: i32, offs: usize, count: i32): void {
  const end = offs + (<usize>count << 2);
  let px = x, py = y;
  for (let o = 0; o < outer; o++) {
    for (let p = offs; p < end; p += 4) {
      store<u8>(py, load<u8>(px + <usize>load<i32>(p)));
      py += 1;
    }
    px += <usize>block;
  }
}

export function gather_s16(x: usize, y: usize, outer: i32, block: i32, offs: usize, count: i32): void {
  const end = offs + (<usize>count << 2);
  let px = x, py = y;
  for (let o = 0; o < outer; o++) {
    for (let p = offs; p < end; p += 4) {
      store<u16>(py, load<u16>(px + <usize>load<i32>(p)));
      py += 2;
    }
    px += <usize>block;
  }
}
