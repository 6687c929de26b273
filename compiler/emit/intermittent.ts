/**
 * The checkpoint transform (--intermittent): run() becomes a fixed list of idempotent tasks
 * with a progress record, so that inference on harvested power resumes where power failed
 * and gives the steady-power answer bit for bit. A task is a layer, or with `tile` a range
 * of a layer's output (blocks of output channels: the kernel emitters say how a call splits,
 * EmitCtx.call's TileSpec, by blocks of output channels and then by output rows), sized to
 * about `taskInstructions` wasm instructions from each layer's count measured on the plain
 * module (the pipeline profiles it first); `unit` makes every block and row its own task
 * (the finest grain, as SONIC's loop continuation).
 * Why tasks are idempotent: the memory plan never lets a layer's output share bytes with
 * its inputs, so re-running an interrupted task reads the same inputs and rewrites the same
 * output; a byte it overwrites belonged to a tensor no later task reads.
 * The non-volatile region is the arena (inputs, every activation, outputs) followed by the
 * record (runtime-as/checkpoint.ts): two double-buffered slots and one hash per piece (an
 * input, or a task's output range). The module itself keeps nothing across a reset; the
 * host keeps the region: after each step it persists the ranges dirty_ptr/dirty_len name
 * (the task's output, its hashes, then the record slot), and after a reset it writes the
 * saved region back before calling resume(). docs/intermittent.md has the host's loop.
 * Exports: begin(id), resume(), step(commit), commit(), run() (begin + every step, for steady power),
 * dirty_count/dirty_ptr/dirty_len, task_count, inference_id, nv_base, nv_bytes, restarts.
 */
import { bad } from "../util/errors.js";
import { dtypeBytes, numel, tensor, type Graph } from "../ir/graph.js";
import { opDef } from "../ops/table.js";
import type { MemoryPlan } from "../passes/plan-memory.js";
import type { KernelCall } from "./assemblyscript.js";

export type TaskGrain = "layer" | "tile" | "unit";
/** The `unit` grain's task size: tiles of about this many wasm instructions, the finest that pays for its commit. */
export const UNIT_INSTRUCTIONS = 1000;
export const TASK_GRAINS: readonly TaskGrain[] = ["layer", "tile", "unit"];
/** The region's layout: every tensor its own bytes, or the plain module's sharing of dead tensors' bytes. */
export type NvLayout = "distinct" | "shared";
export const NV_LAYOUTS: readonly NvLayout[] = ["distinct", "shared"];

export interface IntermittentOptions {
  tasks: TaskGrain;
  /** With `tile`: the wasm instructions a task should not exceed where its layer splits. */
  taskInstructions: number;
  /** Each layer's wasm instructions in the plain module (profiled), by node index. */
  layerInstructions: number[];
  /** How the memory plan laid out the region (recorded in the manifest). */
  layout: NvLayout;
}

/** One layer's emitted code: its body lines (after its profiling mark) and kernel calls. */
export interface LayerCode { layer: number; lines: string[]; calls: KernelCall[] }

export interface Piece {
  /** Tensor the bytes belong to. */
  tensor: string;
  /** `count` ranges of `bytes` bytes, `stride` bytes apart from `address` (a tile's rows in each of its channels; mostly one range). */
  address: number;
  bytes: number;
  count: number;
  stride: number;
  /** Task that writes it, or -1 for an input (the host writes it before begin()). */
  task: number;
  /** Last task that reads it; the task count for graph outputs (needed until the host reads them). */
  last: number;
}

export interface Task {
  layer: number;
  /** Tile index and count within the layer (0 of 1: the whole layer). */
  tile: number;
  tiles: number;
  macs: number;
  /** Estimated wasm instructions: the layer's measured count, shared among its tiles. */
  instructions: number;
  lines: string[];
  calls: KernelCall[];
  /** A tile: its ranges of units and rows (the call's arguments follow from them and the layer's call). */
  range?: [u0: number, u1: number, r0: number, r1: number];
  /** A tile: the whole layer's call it was cut from (with its TileSpec). */
  whole?: KernelCall;
  /** Pieces the task writes (indices into IntermittentPlan.pieces). */
  pieces: number[];
  /** Latest task before this one that reads bytes this one writes (-1: none): with commits deferred past it, a torn persist could clobber what a resume needs. */
  war: number;
  /** Ranges of pieces the task reads, [first, end) (its layer's inputs): checked before it runs after a reset. */
  reads: Array<[number, number]>;
  /** A time tile of a recurrent layer: the region's state buffers its layer's tiles write in turn (tile k the (k mod their number)-th). */
  state?: number[];
}

export interface IntermittentPlan {
  grain: TaskGrain;
  layout: NvLayout;
  taskInstructions: number;
  tasks: Task[];
  pieces: Piece[];
  /** The non-volatile region: [nvBase, nvBase + nvBytes), the arena then the record. */
  nvBase: number;
  nvBytes: number;
  recordAddress: number;
  recordBytes: number;
  /** Pieces resume() checks at once (inputs, graph outputs, and any piece no later task's reads cover); the others are checked by the first task that reads them after a reset. */
  eager: number[];
  /** Outputs of split layers with a hash of the whole tensor (after the pieces' hashes). */
  wholes: WholeTensor[];
}

const up16 = (n: number) => Math.ceil(n / 16) * 16;

/** Splits `units` into `n` contiguous ranges of near-equal size, cut only at `starts` when given. */
function rangesAt(units: number, n: number, starts?: number[]): Array<[number, number]> {
  if (!starts) return ranges(units, n);
  const cuts = [0];
  for (let i = 1; i < n; i++) {
    const ideal = (i * units) / n;
    const best = starts.reduce((b, s) => (Math.abs(s - ideal) < Math.abs(b - ideal) ? s : b), starts[0]);
    if (best > cuts[cuts.length - 1] && best < units) cuts.push(best);
  }
  cuts.push(units);
  return cuts.slice(1).map((c, i) => [cuts[i], c]);
}

/** Splits `units` into `n` contiguous ranges of near-equal size. */
function ranges(units: number, n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push([Math.floor((i * units) / n), Math.floor(((i + 1) * units) / n)]);
  return out;
}

function tileCall(c: KernelCall, u0: number, u1: number, r0: number, r1: number): KernelCall {
  const t = c.tile!;
  const args = [...c.args];
  const offsets = new Map<number, number>();
  const bump = (i: number, by: number) => offsets.set(i, (offsets.get(i) ?? 0) + by);
  for (const [i, per] of t.bumps) bump(i, u0 * per);
  const [ci, per, total] = t.count;
  args[ci] = Math.min(total, per * u1) - per * u0;
  if (t.rows) {
    for (const [i, perRow] of t.rows.bumps) bump(i, r0 * perRow);
    args[t.rows.count] = r1 - r0;
  }
  for (const [i, by] of offsets) if (by && args[i] !== "0" && args[i] !== 0) args[i] = `${args[i]} + ${by}`;
  return { layer: c.layer, kernel: c.kernel, args };
}

/** The output ranges (offset from the output's start, bytes) a tile writes. */
function tileOut(t: NonNullable<KernelCall["tile"]>, total: number, u0: number, u1: number, r0: number, r1: number): Array<[number, number]> {
  const o = t.outPerUnit;
  if (!t.rows || (r0 === 0 && r1 === t.rows.n)) return [[u0 * o, Math.min(total, u1 * o) - u0 * o]];
  const R = t.rows, out: Array<[number, number]> = [];
  for (let ch = u0 * R.channelsPerUnit; ch < Math.min(R.channels, u1 * R.channelsPerUnit); ch++) out.push([ch * R.channelBytes + r0 * R.rowBytes, (r1 - r0) * R.rowBytes]);
  return out;
}

/** Ranges (offset, bytes) as pieces: equal ranges at equal distances become one strided piece. */
function strided(rs: Array<[number, number]>): Array<{ address: number; bytes: number; count: number; stride: number }> {
  if (rs.length > 1 && rs.every(([o, n], k) => n === rs[0][1] && o - rs[0][0] === k * (rs[1][0] - rs[0][0])) && rs[1][0] - rs[0][0] >= rs[0][1])
    return [{ address: rs[0][0], bytes: rs[0][1], count: rs.length, stride: rs[1][0] - rs[0][0] }];
  return rs.map(([o, n]) => ({ address: o, bytes: n, count: 1, stride: 0 }));
}

export function planTasks(g: Graph, plan: MemoryPlan, arenaBase: number, layers: LayerCode[], opts: IntermittentOptions): IntermittentPlan {
  if (!(opts.taskInstructions >= 1)) bad(`--task-instructions ${opts.taskInstructions}: expected a whole number >= 1`);
  const tasks: Task[] = [];
  const pieces: Piece[] = [];
  const slotOf = (name: string) => {
    const s = plan.slots.get(plan.root.get(name) ?? name);
    const off = plan.offsets.get(name);
    if (!s || off === undefined) bad(`--intermittent: tensor '${name}' has no arena slot (streaming state or a constant written at run time?); it cannot be checkpointed`);
    return { slot: s!, address: arenaBase + off! };
  };
  const tensorBytes = (name: string) => { const t = tensor(g, name); return numel(t.shape) * dtypeBytes(t.dtype); };
  const lastLayer: number[] = []; // piece -> last reading layer (nodes.length: a graph output)
  // recurrent time tiles hand their state on through two buffers in the region, after the arena
  let stateEnd = up16(arenaBase + plan.arenaBytes);
  const lastTask = new Map<number, number>(); // piece -> the task that reads it last, where no layer says

  for (const name of g.inputs) {
    const { slot, address } = slotOf(name);
    pieces.push({ tensor: name, address, bytes: tensorBytes(name), count: 1, stride: 0, task: -1, last: 0 });
    lastLayer.push(slot.last);
  }
  for (const lc of layers) {
    const node = g.nodes[lc.layer];
    const def = opDef(node.op);
    const macs = def.macs?.(node, g) ?? numel(tensor(g, node.outputs[0]).shape);
    const outs = node.outputs.filter((o) => o);
    const c = lc.calls.length === 1 && lc.lines.length === 1 && outs.length === 1 ? lc.calls[0] : undefined;
    const units = c?.tile && opts.tasks !== "layer" ? c.tile.units : 1;
    const rows = c?.tile?.rows && opts.tasks !== "layer" ? c.tile.rows.n : 1;
    // tiles: channel ranges first, then row ranges where a layer needs more tiles than it has units
    const instr = opts.layerInstructions[lc.layer] ?? 0;
    const want = Math.max(1, Math.ceil(instr / (opts.tasks === "unit" ? UNIT_INSTRUCTIONS : opts.taskInstructions)));
    const nu = Math.min(units, want), nr = Math.min(rows, Math.ceil(want / nu));
    if (nu * nr > 1) {
      const out = outs[0], { slot, address } = slotOf(out), total = tensorBytes(out);
      const rowRanges = rangesAt(rows, nr, c!.tile!.rows?.starts);
      const n = nu * rowRanges.length;
      // (distinct layout: a buffer per tile, so no tile overwrites a state a resume may need;
      // shared: two, alternating, and a deferred commit is forced before every tile)
      const st = c!.tile!.state;
      const nbuf = opts.layout === "distinct" ? n : 2;
      const buffers = st ? Array.from({ length: nbuf }, (_, k) => stateEnd + k * up16(st.bytes)) : undefined;
      if (st) stateEnd += nbuf * up16(st.bytes);
      let tile = 0;
      for (const [u0, u1] of ranges(units, nu))
        for (const [r0, r1] of rowRanges) {
          const call = tileCall(c!, u0, u1, r0, r1);
          const fetch: KernelCall = { layer: lc.layer, kernel: TILE_ARGS, args: [4 * varying(c!).length] };
          const mine: number[] = [];
          for (const r of strided(tileOut(c!.tile!, total, u0, u1, r0, r1))) {
            pieces.push({ tensor: out, address: address + r.address, bytes: r.bytes, count: r.count, stride: r.stride, task: tasks.length, last: 0 });
            lastLayer.push(slot.last);
            mine.push(pieces.length - 1);
          }
          if (st) {
            // the state after this tile: read by the next one only
            pieces.push({ tensor: `${out}#state`, address: buffers![tile % nbuf], bytes: st.bytes, count: 1, stride: 0, task: tasks.length, last: 0 });
            lastLayer.push(-1);
            mine.push(pieces.length - 1);
            lastTask.set(pieces.length - 1, tile + 1 < n ? tasks.length + 1 : tasks.length);
          }
          const share = ((u1 - u0) * (r1 - r0)) / (units * rows);
          tasks.push({ layer: lc.layer, tile: tile++, tiles: n, macs: Math.round(macs * share), instructions: Math.round(instr * share), lines: [], calls: [fetch, call], range: [u0, u1, r0, r1], whole: c!, pieces: mine, war: -1, reads: [], ...(buffers ? { state: buffers } : {}) });
        }
      continue;
    }
    const mine: number[] = [];
    for (const out of outs) {
      const { slot, address } = slotOf(out);
      pieces.push({ tensor: out, address, bytes: tensorBytes(out), count: 1, stride: 0, task: tasks.length, last: 0 });
      lastLayer.push(slot.last);
      mine.push(pieces.length - 1);
    }
    tasks.push({ layer: lc.layer, tile: 0, tiles: 1, macs, instructions: instr, lines: lc.lines, calls: lc.calls, pieces: mine, war: -1, reads: [] });
  }
  if (!tasks.length) bad(`${g.source}: --intermittent: the model has no layer with code to checkpoint`);
  // the last task at or before each reading layer
  const lastTaskOf = (layer: number) => {
    if (layer >= g.nodes.length) return tasks.length;
    let t = -1;
    for (let i = 0; i < tasks.length && tasks[i].layer <= layer; i++) t = i;
    return t;
  };
  pieces.forEach((p, i) => { p.last = lastTask.get(i) ?? Math.max(p.task, lastTaskOf(lastLayer[i])); });
  const spans = (q: Piece) => Array.from({ length: q.count }, (_, k): [number, number] => [q.address + k * q.stride, q.address + k * q.stride + q.bytes]);
  const overlap = (a: Piece, b: Piece) => spans(a).some(([a0, a1]) => spans(b).some(([b0, b1]) => b0 < a1 && a0 < b1));
  for (const [t, task] of tasks.entries())
    for (const pi of task.pieces) {
      const a = pieces[pi];
      for (const b of pieces)
        if (b.task < t && b.last > task.war && overlap(a, b)) task.war = b.last;
    }
  // what each task reads: the pieces of its layer's run-time inputs (a tensor's pieces are
  // contiguous: its writer's tasks push them in order)
  // (time tiles interleave their state pieces with their outputs: a range may span those;
  // the checks skip pieces no longer needed)
  const range = new Map<string, [number, number]>();
  const broken = new Set<string>();
  const isState = (q: Piece) => q.tensor.endsWith("#state");
  pieces.forEach((p, i) => {
    const r = range.get(p.tensor);
    if (!r) range.set(p.tensor, [i, i + 1]);
    else if (pieces.slice(r[1], i).every(isState)) r[1] = i + 1;
    else broken.add(p.tensor);
  });
  for (const task of tasks) {
    const node = g.nodes[task.layer];
    for (const x of node.inputs) {
      if (!x || tensor(g, x).data) continue;
      const r = range.get(plan.root.get(x) ?? x);
      if (r && !broken.has(pieces[r[0]].tensor) && !task.reads.some(([a]) => a === r[0])) task.reads.push([r[0], r[1]]);
    }
  }
  const inputs = g.inputs.length;
  const eager = pieces.flatMap((p, i) => i < inputs || p.last >= tasks.length || !tasks[p.last].reads.some(([a, b]) => a <= i && i < b) ? [i] : []);
  // the outputs of split layers also get one hash over the whole tensor, sealed with the
  // commit of their last tile (which first checks the tiles restored from before a reset): a
  // later task then checks the tensor in one pass instead of tile by tile
  const wholes: WholeTensor[] = [];
  for (const [name, [p0, p1]] of range) {
    if (p1 - p0 < 2 || broken.has(name) || pieces[p0].task < 0) continue;
    const first = pieces[p0], lastPiece = pieces.slice(p0, p1).filter((q) => q.tensor === name).pop()!;
    const span = lastPiece.address + (lastPiece.count - 1) * lastPiece.stride + lastPiece.bytes - first.address;
    if (span !== tensorBytes(name)) continue;
    const last = lastPiece.task, needed = Math.max(...pieces.slice(p0, p1).map((q) => q.last));
    wholes.push({ tensor: name, address: first.address, bytes: span, task: last, last: needed, pieces: [p0, p1] });
    tasks[last].reads.push([p0, p1]);
  }
  const recordAddress = up16(stateEnd);
  const recordBytes = 32 + 4 * (pieces.length + wholes.length);
  return { grain: opts.tasks, layout: opts.layout, taskInstructions: opts.taskInstructions, tasks, pieces, wholes, nvBase: arenaBase, nvBytes: recordAddress + recordBytes - arenaBase, recordAddress, recordBytes, eager };
}

/** A split layer's output, hashed whole once its last tile commits (hash i of the record: the piece count + its index). */
export interface WholeTensor {
  tensor: string;
  address: number;
  bytes: number;
  /** Its last tile's task, and the last task that reads it. */
  task: number;
  last: number;
  /** Its pieces, [first, end). */
  pieces: [number, number];
}

export interface TileGroup {
  layer: number;
  first: number;
  /** The whole layer's call; `vary`: its arguments that differ between tiles ([index, is a pointer]). */
  call: KernelCall;
  vary: Array<[number, boolean]>;
  /** Per tile: the varying arguments (pointer offsets from the whole call's, counts). */
  rows: number[][];
  /** Row length in i32, a power of two. */
  stride: number;
  /** Time tiles: the state buffers (Task.state). */
  state?: number[];
}

/** The tiled layers and their argument tables (the tile calls' costs include reading a row: TILE_ARGS). */
export function tileGroups(p: IntermittentPlan): TileGroup[] {
  const out: TileGroup[] = [];
  p.tasks.forEach((t, i) => {
    if (!t.range) return;
    let g = out[out.length - 1];
    if (!g || g.layer !== t.layer) {
      const vary = varying(t.whole!);
      g = { layer: t.layer, first: i, call: t.whole!, vary, rows: [], stride: 2 ** Math.ceil(Math.log2(vary.length)), ...(t.state ? { state: t.state } : {}) };
      out.push(g);
    }
    const whole = g.call.args, tiled = t.calls[t.calls.length - 1].args;
    g.rows.push(g.vary.map(([k, isPtr]) => isPtr ? offsetOf(String(tiled[k]), String(whole[k])) : Number(tiled[k])));
  });
  return out;
}

/** The arguments of a splittable call that differ between its tiles: [index, is a pointer]. */
function varying(c: KernelCall): Array<[number, boolean]> {
  const tile = c.tile!;
  const ptrs = new Set([...tile.bumps, ...(tile.rows?.bumps ?? [])].filter(([k, per]) => per !== 0 && c.args[k] !== "0" && c.args[k] !== 0).map(([k]) => k));
  return [...[...ptrs].sort((x, y) => x - y).map((k) => [k, true] as [number, boolean]), [tile.count[0], false], ...(tile.rows ? [[tile.rows.count, false] as [number, boolean]] : [])];
}

/** The byte offset of a tiled pointer argument ("base + n") from the whole call's ("base"). */
function offsetOf(tiled: string, whole: string): number {
  if (tiled === whole) return 0;
  if (!tiled.startsWith(`${whole} + `)) throw new Error(`tile argument '${tiled}' is not '${whole}' plus an offset`);
  return Number(tiled.slice(whole.length + 3));
}

/** Bytes a tile call reads from its argument table before the kernel runs (the cost model adds them). */
export const TILE_ARGS = "ck_tile_args";

/** The AssemblyScript that replaces run(): tables, the task switch, and the exports. */
export function intermittentSource(p: IntermittentPlan, mark: string): string[] {
  const T = p.tasks.length, NP = p.pieces.length;
  const first = p.tasks.map((t) => t.pieces[0]);
  first.push(NP);
  const inputs = first[0];
  // a tiled layer is one branch: each tile's arguments that differ (pointer offsets, counts)
  // come from a table, rows padded to a power of two so that no multiply addresses them
  const groups = tileGroups(p);
  // read ranges: one list per layer, shared by its tasks
  // read ranges: one entry per distinct range (its check flag is shared by every task that
  // reads it), and per distinct list of ranges a slice of CK_RANGE_LIST
  const rangeRows: number[] = [], rangeList: number[] = [], taskRanges: number[] = [];
  const entry = new Map<string, number>(), lists = new Map<string, [number, number]>();
  for (const t of p.tasks) {
    const key = JSON.stringify(t.reads);
    let lr = lists.get(key);
    if (!lr) {
      const l0 = rangeList.length;
      for (const [a, b] of t.reads) {
        let r = entry.get(`${a},${b}`);
        if (r === undefined) {
          r = rangeRows.length / 4;
          entry.set(`${a},${b}`, r);
          rangeRows.push(a, b, Math.min(...p.pieces.slice(a, b).map((q) => q.task)), p.wholes.findIndex((w) => w.pieces[0] === a && w.pieces[1] === b));
        }
        rangeList.push(r);
      }
      lr = [l0, rangeList.length];
      lists.set(key, lr);
    }
    taskRanges.push(...lr);
  }
  const tables = groups.map((g) => `const CK_TILES_${g.layer}: usize = memory.data<i32>([${g.rows.flatMap((r) => [...r, ...new Array(g.stride - r.length).fill(0)]).join(", ")}]);`);
  const branches = groups.flatMap((g) => {
    const args: string[] = g.call.args.map(String);
    g.vary.forEach(([i, isPtr], k) => { args[i] = isPtr ? `${args[i]} + <usize>load<i32>(e, ${4 * k})` : `load<i32>(e, ${4 * k})`; });
    const st = g.call.tile!.state;
    if (!st || !g.state) return [
      `    if (t >= ${g.first} && t < ${g.first + g.rows.length}) { // layer ${g.layer}: ${g.rows.length} tiles`,
      `      ${mark}(${g.layer});`,
      `      const e = CK_TILES_${g.layer} + (<usize>(t - ${g.first}) << ${Math.log2(4 * g.stride)});`,
      `      ${g.call.kernel}(${args.join(", ")});`,
      "    } else",
    ];
    // time tiles: the state of the tile before comes from the region into the kernel's
    // scratch, and this tile's goes back to the other buffer (tile k writes buffer k % 2)
    const scratch = String(g.call.args[st.arg]), bufs = g.state;
    args[st.mode] = `t > ${g.first} ? 2 : 1`;
    // buffer k: k * its stride from the first (a power of two when there are many: a shift)
    const step = bufs.length > 1 ? bufs[1] - bufs[0] : 0;
    const buf = (k: string) => bufs.length === 2 ? `(((${k}) & 1) != 0 ? ${bufs[1]} : ${bufs[0]})` : `${bufs[0]} + <usize>(${k}) * ${step}`;
    return [
      `    if (t >= ${g.first} && t < ${g.first + g.rows.length}) { // layer ${g.layer}: ${g.rows.length} tiles of time steps`,
      `      ${mark}(${g.layer});`,
      `      const e = CK_TILES_${g.layer} + (<usize>(t - ${g.first}) << ${Math.log2(4 * g.stride)});`,
      `      if (t > ${g.first}) memory.copy(${scratch}, ${buf(`t - ${g.first + 1}`)}, ${st.bytes});`,
      `      ${g.call.kernel}(${args.join(", ")});`,
      `      memory.copy(${buf(`t - ${g.first}`)}, ${scratch}, ${st.bytes});`,
      "    } else",
    ];
  });
  const cases = p.tasks.flatMap((t, i) => t.range ? [] : [
    `    case ${i}: { // layer ${t.layer}${t.tiles > 1 ? `, tile ${t.tile + 1} of ${t.tiles}` : ""}`,
    `      ${mark}(${t.layer});`,
    ...t.lines.map((l) => `    ${l}`),
    "      break;",
    "    }",
  ]);
  return [
    `// --intermittent (${p.grain}): ${T} tasks; non-volatile region [${p.nvBase}, ${p.nvBase + p.nvBytes}): the arena, then the record at ${p.recordAddress} (${p.recordBytes} bytes)`,
    `const CK: usize = ${p.recordAddress};`,
    `const CK_TASKS: i32 = ${T};`,
    `const CK_NPIECES: i32 = ${NP};`,
    "// pieces: address, bytes, task that writes it (-1: an input), last task that needs it (the task count: an output),",
    "// ranges (of `bytes` each), the bytes from one range to the next; two words of padding",
    `const CK_PIECES: usize = memory.data<i32>([${p.pieces.flatMap((q) => [q.address, q.bytes, q.task, q.last, q.count, q.stride, 0, 0]).join(", ")}]);`,
    "// first piece of each task, then the piece count (pieces before the first task's are the inputs)",
    `const CK_FIRST: usize = memory.data<i32>([${first.join(", ")}]);`,
    ...(tables.length ? ["// tiles of the layers that split: units u0 .. u1, rows r0 .. r1", ...tables] : []),
    "// per task: its read ranges, [first, end) of CK_RANGE_LIST (indices into CK_RANGES); CK_RANGES: first piece, end,",
    "// earliest writer, index in CK_WHOLES of the tensor hashed whole (-1: none)",
    `const CK_TASK_RANGES: usize = memory.data<i32>([${taskRanges.join(", ")}]);`,
    `const CK_RANGE_LIST: usize = memory.data<i32>([${rangeList.length ? rangeList.join(", ") : "0"}]);`,
    `const CK_RANGES: usize = memory.data<i32>([${rangeRows.length ? rangeRows.join(", ") : "0, 0, 0, 0"}]);`,
    "// split layers' outputs hashed whole: address, bytes, its last tile's task, the last task that reads it (hash CK_NPIECES + i)",
    `const CK_WHOLES: usize = memory.data<i32>([${p.wholes.length ? p.wholes.flatMap((w) => [w.address, w.bytes, w.task, w.last]).join(", ") : "0, 0, 0, 0"}]);`,
    "// per task: the index in CK_WHOLES of the tensor it completes (-1: none)",
    `const CK_WHOLE_AT: usize = memory.data<i32>([${p.tasks.map((_, t) => p.wholes.findIndex((w) => w.task === t)).join(", ")}]);`,
    "// volatile: the read ranges checked since the last resume()",
    `const CK_SEEN: usize = memory.data(${Math.max(1, rangeRows.length / 4)});`,
    "// the pieces resume() checks at once: inputs, outputs, pieces no later task's reads cover",
    `const CK_EAGER: usize = memory.data<i32>([${p.eager.length ? p.eager.join(", ") : "0"}]);`,
    "// per task: the latest earlier task that reads bytes it writes (-1: none)",
    `const CK_WAR: usize = memory.data<i32>([${p.tasks.map((t) => t.war).join(", ")}]);`,
    "// the ranges the host must persist after the last call, in order: address, bytes",
    `const CK_DIRTY: usize = memory.data(${8 * (p.pieces.reduce((a, q) => a + q.count, 0) + p.wholes.length + 4)});`,
    "let ck_dirty_n: i32 = 0;",
    "/** The next task to run; -1 until begin() or resume() since the last reset. */",
    "let ck_next: i32 = -1;",
    "/** The next task as last committed: a resume starts there. */",
    "let ck_done: i32 = 0;",
    "let ck_restarts: i32 = 0;",
    "/** After resume(): the task it resumed at; pieces written before it come from the saved image and are checked before a task reads them. -1: none to check. */",
    "let ck_from: i32 = -1;",
    "",
    "function ck_dirty(p: usize, n: i32): void {",
    "  const e = CK_DIRTY + (<usize>ck_dirty_n << 3);",
    "  store<i32>(e, <i32>p);",
    "  store<i32>(e, n, 4);",
    "  ck_dirty_n++;",
    "}",
    "",
    "/** Hashes piece i into the record and lists its ranges as dirty. */",
    "function ck_seal_piece(i: i32): void {",
    "  const e = CK_PIECES + (<usize>i << 5);",
    "  let a = <usize>load<i32>(e);",
    "  const b = <usize>load<i32>(e, 4), n = load<i32>(e, 16), d = <usize>load<i32>(e, 20);",
    "  ck_seal(CK, i, a, b, n, d);",
    "  for (let k = 0; k < n; k++) {",
    "    ck_dirty(a, <i32>b);",
    "    a += d;",
    "  }",
    "}",
    "",
    "/** Whether piece i still has the hash it was sealed with. */",
    "function ck_intact(i: i32): bool {",
    "  const e = CK_PIECES + (<usize>i << 5);",
    "  return ck_check(CK, i, <usize>load<i32>(e), <usize>load<i32>(e, 4), load<i32>(e, 16), <usize>load<i32>(e, 20));",
    "}",
    "",
    "/**",
    " * Commits progress up to task n: hashes the outputs of the tasks since the last commit that",
    " * a task from n on still reads, lists them, their hashes and the record slot as dirty.",
    " */",
    "function ck_commit_to(n: i32): void {",
    "  const p0 = load<i32>(CK_FIRST + (<usize>ck_done << 2)), p1 = load<i32>(CK_FIRST + (<usize>n << 2));",
    "  for (let i = p0; i < p1; i++) {",
    "    const e = CK_PIECES + (<usize>i << 5);",
    "    if (load<i32>(e, 12) < n) continue; // read by no task from n on",
    "    ck_seal_piece(i);",
    "  }",
    "  if (p1 > p0) ck_dirty(CK + CK_SLOTS + (<usize>p0 << 2), (p1 - p0) << 2);",
    ...(p.wholes.length ? [
      "  // the split layers completed by these tasks whose outputs a task from n on reads: hashed whole",
      "  for (let t = ck_done; t < n; t++) {",
      "    const j = load<i32>(CK_WHOLE_AT + (<usize>t << 2));",
      "    if (j < 0) continue;",
      "    const q = CK_WHOLES + (<usize>j << 4);",
      "    if (load<i32>(q, 12) < n) continue;",
      "    ck_seal(CK, CK_NPIECES + j, <usize>load<i32>(q), <usize>load<i32>(q, 4), 1, 0);",
      "    ck_dirty(CK + CK_SLOTS + (<usize>(CK_NPIECES + j) << 2), 4);",
      "  }",
    ] : []),
    "  ck_dirty(ck_commit(CK, n, ck_id()), 16);",
    "  ck_done = n;",
    "}",
    "",
    "/** Checks the pieces from before the reset that task t reads and no task has checked since: false when one differs. */",
    "function ck_verify(t: i32): bool {",
    "  const l1 = load<i32>(CK_TASK_RANGES + (<usize>t << 3), 4);",
    "  for (let l = load<i32>(CK_TASK_RANGES + (<usize>t << 3)); l < l1; l++) {",
    "    const r = load<i32>(CK_RANGE_LIST + (<usize>l << 2));",
    "    const g = CK_RANGES + (<usize>r << 4);",
    "    if (load<u8>(CK_SEEN + <usize>r) != 0 || load<i32>(g, 8) >= ck_from) continue;",
    "    const wh = load<i32>(g, 12);",
    "    if (wh >= 0 && load<i32>(CK_WHOLES + (<usize>wh << 4), 8) < ck_from) {",
    "      // complete before the reset: its whole-tensor hash, in one pass",
    "      const q = CK_WHOLES + (<usize>wh << 4);",
    "      if (!ck_check(CK, CK_NPIECES + wh, <usize>load<i32>(q), <usize>load<i32>(q, 4), 1, 0)) return false;",
    "    } else {",
    "      // piece by piece (the loop inlined: one-dimensional tiles make many small pieces)",
    "      const i0 = load<i32>(g), i1 = load<i32>(g, 4), from = ck_from;",
    "      let e = CK_PIECES + (<usize>i0 << 5), hp = CK + CK_SLOTS + (<usize>i0 << 2);",
    "      for (let i = i0; i < i1; i++) {",
    "        // written before the reset and still needed (a range may span pieces no longer needed)",
    "        if (load<i32>(e, 8) < from && load<i32>(e, 12) >= t && load<u32>(hp) != ck_hash_ranges(<usize>load<i32>(e), <usize>load<i32>(e, 4), load<i32>(e, 16), <usize>load<i32>(e, 20), <u32>i)) return false;",
    "        e += 32;",
    "        hp += 4;",
    "      }",
    "    }",
    "    store<u8>(CK_SEEN + <usize>r, 1);",
    "  }",
    "  return true;",
    "}",
    "",
    "/**",
    " * A piece from before the reset is corrupted: starts the inference again from task 0 when",
    " * its inputs are intact (0; the restart's commit is dirty), else -2 (write the inputs, begin()).",
    " */",
    "function ck_restart(): i32 {",
    "  ck_from = -1;",
    "  ck_next = -1;",
    `  for (let i = 0; i < ${inputs}; i++) {`,
    "    if (!ck_intact(i)) return -2;",
    "  }",
    "  ck_dirty(ck_commit(CK, 0, ck_id()), 16);",
    "  ck_restarts++;",
    "  ck_next = 0;",
    "  ck_done = 0;",
    "  return 0;",
    "}",
    "",
    "// inlined where it is used (step and run), so that the profiling build, whose layer marks",
    "// are imports, is inlined exactly as the shipped one",
    "// @ts-ignore: decorator",
    "@inline function ck_step(commit: i32): i32 {",
    "  ck_dirty_n = 0;",
    "  if (ck_next < 0) return -1;",
    "  if (ck_next >= CK_TASKS) return 0;",
    "  const t = ck_next;",
    "  // after a reset: the saved pieces this task reads must still have their hashes",
    "  if (ck_from >= 0 && !ck_verify(t)) return ck_restart() < 0 ? -2 : CK_TASKS;",
    "  // deferring the commit past a task that overwrites what a resume from ck_done reads",
    "  // would let a torn persist clobber it: commit before it",
    "  if (commit == 0 && load<i32>(CK_WAR + (<usize>t << 2)) >= ck_done) ck_commit_to(t);",
    ...branches,
    "  switch (t) {",
    ...cases,
    "  }",
    `  ${mark}(-1);`,
    "  ck_next = t + 1;",
    "  if (commit != 0) ck_commit_to(ck_next);",
    "  return CK_TASKS - ck_next;",
    "}",
    "",
    "/** Starts inference `id` on the inputs the host has written: hashes them and commits task 0. */",
    "export function begin(id: u32): void {",
    "  ck_read(CK);",
    "  ck_dirty_n = 0;",
    `  for (let i = 0; i < ${inputs}; i++) {`,
    "    ck_seal_piece(i);",
    "  }",
    `  ck_dirty(CK + CK_SLOTS, ${inputs * 4});`,
    "  ck_dirty(ck_commit(CK, 0, id), 16);",
    "  ck_next = 0;",
    "  ck_done = 0;",
    "  ck_from = -1;",
    "}",
    "",
    "/**",
    " * After a reset, once the host has written the saved region back: reads the record and",
    " * checks the inputs and outputs still needed (each task checks the saved pieces it reads",
    " * before it runs). Returns the next task (the task count: done), -1 when no valid record",
    " * exists (call begin()), -2 when an input is corrupted (write it again, then begin()). A",
    " * corrupted intermediate restarts the inference from task 0.",
    " */",
    "export function resume(): i32 {",
    "  const t = ck_read(CK);",
    "  ck_dirty_n = 0;",
    "  ck_next = -1;",
    "  ck_from = -1;",
    "  if (t < 0 || t > CK_TASKS) return -1;",
    `  memory.fill(CK_SEEN, 0, ${Math.max(1, rangeRows.length / 4)});`,
    `  for (let k = 0; k < ${p.eager.length}; k++) {`,
    "    const i = load<i32>(CK_EAGER + (<usize>k << 2));",
    "    const e = CK_PIECES + (<usize>i << 5);",
    "    const w = load<i32>(e, 8), last = load<i32>(e, 12);",
    "    if (w < t && t <= last && !ck_intact(i)) return w < 0 ? -2 : ck_restart();",
    "  }",
    "  ck_next = t;",
    "  ck_done = t;",
    "  ck_from = t;",
    "  return t;",
    "}",
    "",
    "/**",
    " * Runs the next task; with commit != 0 then commits the progress (hashing the outputs of",
    " * the tasks since the last commit that later tasks read). With commit == 0 it may still",
    " * commit first, where deferring would be unsafe (CK_WAR). Returns the tasks left (0: the",
    " * outputs are ready; commit the last step), or -1 before begin()/resume(). After a reset,",
    " * a saved piece the task reads that lost its hash restarts the inference from task 0 (the",
    " * task count is returned, the restart's commit is dirty), or returns -2 when the inputs",
    " * are corrupted too (write them again, then begin()).",
    " */",
    "export function step(commit: i32): i32 {",
    "  return ck_step(commit);",
    "}",
    "",
    "/** Commits the progress so far now (after step(0) calls, and after the last one). */",
    "export function commit(): void {",
    "  ck_dirty_n = 0;",
    "  if (ck_next > ck_done) ck_commit_to(ck_next);",
    "}",
    "",
    "/** One inference on steady power: begin() on the inputs written, then every task with a commit. */",
    "export function run(): void {",
    "  begin(ck_id() + 1);",
    "  while (ck_step(1) > 0) {}",
    "}",
    "",
    "/** The ranges to persist after the last begin/resume/step: count, then address and bytes of range i. */",
    "export function dirty_count(): i32 { return ck_dirty_n; }",
    "export function dirty_ptr(i: i32): usize { return <usize>load<i32>(CK_DIRTY + (<usize>i << 3)); }",
    "export function dirty_len(i: i32): i32 { return load<i32>(CK_DIRTY + (<usize>i << 3), 4); }",
    "export function task_count(): i32 { return CK_TASKS; }",
    "/** The id of the inference the record holds (after begin or resume). */",
    "export function inference_id(): u32 { return ck_id(); }",
    "/** The next task (-1 before begin/resume). */",
    "export function next_task(): i32 { return ck_next; }",
    `export function nv_base(): usize { return ${p.nvBase}; }`,
    `export function nv_bytes(): i32 { return ${p.nvBytes}; }`,
    "/** Restarts from task 0 since instantiation because a needed piece was corrupted. */",
    "export function restarts(): i32 { return ck_restarts; }",
  ];
}
