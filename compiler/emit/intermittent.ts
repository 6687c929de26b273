/**
 * The checkpoint transform (--intermittent): run() becomes a fixed list of idempotent tasks
 * with a progress record, so that inference on harvested power resumes where power failed
 * and gives the steady-power answer bit for bit. A task is a layer, or with `tile` a range
 * of a layer's output (the kernel emitters say how a call splits, EmitCtx.call's TileSpec:
 * blocks of output channels, then rows, positions, elements or time steps), sized to about
 * `taskInstructions` wasm instructions from each layer's count measured on the plain module
 * (the pipeline profiles it first); `unit` makes tiles of about UNIT_INSTRUCTIONS (the
 * finest grain, our stand-in for SONIC's loop continuation).
 * Why tasks are idempotent: the memory plan never lets a layer's output share bytes with
 * its inputs (and by default no two tensors share bytes at all), so re-running an
 * interrupted task reads the same inputs and rewrites the same output; LSTM time tiles read
 * the state the tile before left in a buffer of its own and write their own.
 * The non-volatile region is the arena (inputs, every activation, outputs), the LSTM state
 * buffers, then the record (runtime-as/checkpoint.ts): two double-buffered slots, one hash
 * per piece (an input, or a task's output ranges) and one per split layer's whole output.
 * The module itself keeps nothing across a reset; the host keeps the region: after each
 * call it persists the ranges dirty_ptr/dirty_len name (the task's output, its hashes, then
 * the record slot), and after a reset it writes the saved region back before calling
 * resume(). Each task checks the saved pieces it reads before it runs after a reset.
 * docs/intermittent.md has the host's loop.
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
/** The bytes of one of the record's two slots (CK_SLOT in runtime-as/checkpoint.ts). */
export const SLOT_BYTES = 12;

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
  /** A tile of a recurrent layer: the region's state buffer it starts from (0: the first steps, from the initial state) and the one it writes its units' h and c to. */
  state?: [from: number, to: number];
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
  if (t.count) {
    const [ci, per, total] = t.count;
    args[ci] = Math.min(total, per * u1) - per * u0;
  }
  if (t.unitArgs) { args[t.unitArgs[0]] = u0; args[t.unitArgs[1]] = u1; }
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
  // a recurrent layer's output is step-major: per step, its units' bytes
  if (t.state && t.rows) return Array.from({ length: r1 - r0 }, (_, k): [number, number] => [(r0 + k) * t.rows!.rowBytes + u0 * o, (u1 - u0) * o]);
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
  // recurrent tiles hand their state on through buffers in the region, after the arena
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
    // tiles: channel ranges first, then row ranges where a layer needs more tiles than it has
    // units; a recurrent layer: steps first, then hidden units within a step, step by step
    const instr = opts.layerInstructions[lc.layer] ?? 0;
    const want = Math.max(1, Math.ceil(instr / (opts.tasks === "unit" ? UNIT_INSTRUCTIONS : opts.taskInstructions)));
    const st = c?.tile?.state;
    const nr = st ? Math.min(rows, want) : Math.min(rows, Math.ceil(want / Math.min(units, want)));
    const nu = st ? (nr === rows ? Math.min(units, Math.ceil(want / nr)) : 1) : Math.min(units, want);
    if (nu * nr > 1) {
      const out = outs[0], { slot, address } = slotOf(out), total = tensorBytes(out);
      const rowRanges = rangesAt(rows, nr, c!.tile!.rows?.starts);
      const unitRanges = ranges(units, nu);
      const n = nu * rowRanges.length;
      // a recurrent layer's state after each range of steps: [h, c] in the region (distinct
      // layout: a buffer per range, so no tile overwrites a state a resume may need; shared:
      // two, alternating, and a deferred commit is forced where one would)
      const sb = st ? 2 * st.hidden * st.elem : 0;
      const nbuf = opts.layout === "distinct" ? rowRanges.length : Math.min(2, rowRanges.length);
      const buffers = st ? Array.from({ length: nbuf }, (_, k) => stateEnd + k * up16(sb)) : [];
      if (st) stateEnd += nbuf * up16(sb);
      const order = st
        ? rowRanges.flatMap((rr, i) => unitRanges.map((ur) => [ur, rr, i] as const))
        : unitRanges.flatMap((ur) => rowRanges.map((rr, i) => [ur, rr, i] as const));
      let tile = 0;
      for (const [[u0, u1], [r0, r1], ri] of order) {
        const call = tileCall(c!, u0, u1, r0, r1);
        const fetch: KernelCall = { layer: lc.layer, kernel: TILE_ARGS, args: [4 * (varying(c!).length + (st ? 2 : 0))] };
        const mine: number[] = [];
        for (const r of strided(tileOut(c!.tile!, total, u0, u1, r0, r1))) {
          pieces.push({ tensor: out, address: address + r.address, bytes: r.bytes, count: r.count, stride: r.stride, task: tasks.length, last: 0 });
          lastLayer.push(slot.last);
          mine.push(pieces.length - 1);
        }
        let state: [number, number] | undefined;
        if (st) {
          // h and c of its units after its steps, in the range's buffer: read by every tile of
          // the next range of steps (the last of them is nu tiles after the last of this one)
          state = [ri > 0 ? buffers[(ri - 1) % nbuf] : 0, buffers[ri % nbuf]];
          const [h0, h1] = c!.tile!.unitArgs ? [u0, u1] : [0, st.hidden]; // its hidden units
          pieces.push({ tensor: `${out}#state`, address: state[1] + h0 * st.elem, bytes: (h1 - h0) * st.elem, count: 2, stride: st.hidden * st.elem, task: tasks.length, last: 0 });
          lastLayer.push(-1);
          mine.push(pieces.length - 1);
          const layerFirst = tasks.length - tile; // tile k of the layer is task layerFirst + k
          lastTask.set(pieces.length - 1, ri + 1 < rowRanges.length ? layerFirst + (ri + 2) * nu - 1 : tasks.length);
        }
        const share = ((u1 - u0) * (r1 - r0)) / (units * rows);
        tasks.push({ layer: lc.layer, tile: tile++, tiles: n, macs: Math.round(macs * share), instructions: Math.round(instr * share), lines: [], calls: [fetch, call], range: [u0, u1, r0, r1], whole: c!, pieces: mine, war: -1, reads: [], ...(state ? { state } : {}) });
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
  // (strided pieces: their ranges only where their extents meet, which most pairs do not)
  const end = (q: Piece) => q.address + (q.count - 1) * q.stride + q.bytes;
  const spans = (q: Piece) => Array.from({ length: q.count }, (_, k): [number, number] => [q.address + k * q.stride, q.address + k * q.stride + q.bytes]);
  const overlap = (a: Piece, b: Piece) => b.address < end(a) && a.address < end(b)
    && (a.count === 1 && b.count === 1 || spans(a).some(([a0, a1]) => spans(b).some(([b0, b1]) => b0 < a1 && a0 < b1)));
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
  // two slots (runtime-as/checkpoint.ts), then a hash per piece and per whole tensor; a slot
  // holds the next task in 24 bits
  if (tasks.length >= 1 << 24) bad(`${g.source}: --intermittent: ${tasks.length} tasks; a record holds at most ${(1 << 24) - 1} (raise --task-instructions)`);
  const recordBytes = 2 * SLOT_BYTES + 4 * (pieces.length + wholes.length);
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
}

/** The tiled layers and their argument tables (the tile calls' costs include reading a row: TILE_ARGS). */
export function tileGroups(p: IntermittentPlan): TileGroup[] {
  const out: TileGroup[] = [];
  p.tasks.forEach((t, i) => {
    if (!t.range) return;
    let g = out[out.length - 1];
    if (!g || g.layer !== t.layer) {
      const vary = varying(t.whole!);
      // (a recurrent layer's rows end with the tile's two state buffers, Task.state)
      g = { layer: t.layer, first: i, call: t.whole!, vary, rows: [], stride: 2 ** Math.ceil(Math.log2(vary.length + (t.state ? 2 : 0))) };
      out.push(g);
    }
    const whole = g.call.args, tiled = t.calls[t.calls.length - 1].args;
    g.rows.push([...g.vary.map(([k, isPtr]) => isPtr ? offsetOf(String(tiled[k]), String(whole[k])) : Number(tiled[k])), ...(t.state ?? [])]);
  });
  return out;
}

/** The arguments of a splittable call that differ between its tiles: [index, is a pointer]. */
function varying(c: KernelCall): Array<[number, boolean]> {
  const tile = c.tile!;
  const ptrs = new Set([...tile.bumps, ...(tile.rows?.bumps ?? [])].filter(([k, per]) => per !== 0 && c.args[k] !== "0" && c.args[k] !== 0).map(([k]) => k));
  const counts = [...(tile.count ? [tile.count[0]] : []), ...(tile.unitArgs ?? []), ...(tile.rows ? [tile.rows.count] : [])];
  return [...[...ptrs].sort((x, y) => x - y).map((k) => [k, true] as [number, boolean]), ...counts.map((k) => [k, false] as [number, boolean])];
}

/** The byte offset of a tiled pointer argument ("base + n") from the whole call's ("base"). */
function offsetOf(tiled: string, whole: string): number {
  if (tiled === whole) return 0;
  if (!tiled.startsWith(`${whole} + `)) throw new Error(`tile argument '${tiled}' is not '${whole}' plus an offset`);
  return Number(tiled.slice(whole.length + 3));
}

/** Bytes a tile call reads from its argument table before the kernel runs (the cost model adds them). */
export const TILE_ARGS = "ck_tile_args";
