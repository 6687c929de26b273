/**
 * Static memory planning. Every run-time tensor gets an offset in one arena; tensors whose
 * lifetimes (from the step that writes them to the last step that reads them; graph inputs
 * from the start, outputs to the end) overlap never share bytes, others may. View ops
 * (alias) share their input's slot and extend its lifetime. The lower bound reported next
 * to the arena is the largest total size of tensors alive at one step: no plan without
 * in-place kernels can do better. Placement puts each slot at the lowest offset clear of
 * the already placed slots that are alive at the same time (first fit), trying several
 * deterministic orders of the slots (largest first, first use, longest life,
 * then seeded perturbations of the size order); the smallest arena wins.
 *
 * Preserves: the graph (read only).
 */
import { dtypeBytes, numel, tensor, type Graph } from "../ir/graph.js";
import { opDef } from "../ops/table.js";

export interface Slot {
  offset: number;
  bytes: number;
  first: number; // step that writes it (-1: graph input)
  last: number; // last step that reads it (nodes.length: graph output)
}

export interface MemoryPlan {
  arenaBytes: number;
  lowerBound: number;
  /** Byte offset in the arena of every run-time tensor (views share their root's offset). */
  offsets: Map<string, number>;
  slots: Map<string, Slot>; // keyed by root tensor
  root: Map<string, string>; // tensor -> root tensor of its slot
}

export const ALIGN = 4;
const up = (n: number, a = ALIGN) => Math.ceil(n / a) * a;

/**
 * `persistent` names tensors that live outside the arena (a streaming model's state
 * windows, kept in static memory between steps); like constants, they get no slot.
 * `pinInputs` keeps the inputs' slots to themselves for the whole run (a streaming module
 * whose deferred work runs after the host may have written the next frame).
 * `distinct` gives every tensor bytes of its own (no two slots share an offset), keeping
 * the true lifetimes in `slots`: an --intermittent module whose commits are deferred then
 * never has to commit early because a later task overwrites what a resume would read.
 */
export function planMemory(g: Graph, persistent: ReadonlySet<string> = new Set(), opts: { pinInputs?: boolean; distinct?: boolean } = {}): MemoryPlan {
  const root = new Map<string, string>();
  const slots = new Map<string, Slot>();
  const end = g.nodes.length;
  const rootOf = (n: string) => root.get(n) ?? n;
  const touch = (name: string, step: number) => {
    const s = slots.get(rootOf(name));
    if (s) s.last = Math.max(s.last, step);
  };
  const define = (name: string, step: number) => {
    const t = tensor(g, name);
    slots.set(name, { offset: 0, bytes: up(numel(t.shape) * dtypeBytes(t.dtype)), first: step, last: step });
  };
  for (const name of g.inputs) define(name, -1);
  g.nodes.forEach((node, step) => {
    for (const x of node.inputs) if (x && !tensor(g, x).data && !persistent.has(x)) touch(x, step);
    if (opDef(node.op).alias) {
      root.set(node.outputs[0], rootOf(node.inputs[0]));
      return;
    }
    for (const y of node.outputs) if (y && !persistent.has(y)) define(y, step);
  });
  for (const name of g.outputs) touch(name, end);
  if (opts.pinInputs) for (const name of g.inputs) touch(name, end);

  // Lower bound: the largest sum of live slots at any step.
  let lowerBound = 0;
  for (let step = -1; step <= end; step++) {
    let live = 0;
    for (const s of slots.values()) if (s.first <= step && step <= s.last) live += s.bytes;
    lowerBound = Math.max(lowerBound, live);
  }

  const entries = [...slots.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  let best: number[] | undefined;
  let arenaBytes = Infinity;
  for (const order of orderings(entries.map(([, s]) => s))) {
    const { offsets, size } = place(order.map((i) => (opts.distinct ? { ...entries[i][1], first: -1, last: end } : entries[i][1])));
    if (size < arenaBytes) {
      arenaBytes = size;
      best = new Array(entries.length);
      order.forEach((i, k) => { best![i] = offsets[k]; });
    }
    if (arenaBytes === lowerBound || opts.distinct) break;
  }
  entries.forEach(([, s], i) => { s.offset = best![i]; });
  const offsets = new Map<string, number>();
  for (const name of g.tensors.keys()) {
    const s = slots.get(rootOf(name));
    if (s && !tensor(g, name).data) offsets.set(name, s.offset);
  }
  return { arenaBytes, lowerBound, offsets, slots, root };
}

/** First-fit: each slot, in order, at the lowest offset clear of placed slots alive at the same time. */
function place(order: Slot[]): { offsets: number[]; size: number } {
  const placed: Array<{ s: Slot; offset: number }> = [];
  const offsets: number[] = [];
  let size = 0;
  for (const s of order) {
    const clash = placed.filter((p) => p.s.first <= s.last && s.first <= p.s.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of clash) {
      if (offset + s.bytes <= p.offset) break;
      offset = Math.max(offset, p.offset + p.s.bytes);
    }
    placed.push({ s, offset });
    offsets.push(offset);
    size = Math.max(size, offset + s.bytes);
  }
  return { offsets, size };
}

/**
 * Orders to try: by size (largest first), by first use, by lifetime length, then seeded
 * shuffles of the size order (a fixed seed, so plans are deterministic).
 */
function* orderings(slots: Slot[]): Generator<number[]> {
  const idx = slots.map((_, i) => i);
  const bySize = [...idx].sort((a, b) => slots[b].bytes - slots[a].bytes || slots[a].first - slots[b].first || a - b);
  yield bySize;
  yield [...idx].sort((a, b) => slots[a].first - slots[b].first || slots[b].bytes - slots[a].bytes || a - b);
  yield [...idx].sort((a, b) => (slots[b].last - slots[b].first) - (slots[a].last - slots[a].first) || slots[b].bytes - slots[a].bytes || a - b);
  let seed = 0x9e3779b9;
  const rand = () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 4294967296;
  };
  const tries = slots.length <= 1 ? 0 : Math.min(400, 20 * slots.length);
  for (let t = 0; t < tries; t++) {
    const o = [...bySize];
    // perturb: swap a few neighbours, keeping the order mostly size-sorted
    for (let k = 0; k < 1 + (t % 5); k++) {
      const i = Math.floor(rand() * o.length);
      const j = Math.min(o.length - 1, i + 1 + Math.floor(rand() * 3));
      [o[i], o[j]] = [o[j], o[i]];
    }
    yield o;
  }
}
