/**
 * Static memory planning. Every run-time tensor gets an offset in one arena; tensors whose
 * lifetimes (from the step that writes them to the last step that reads them; graph inputs
 * from the start, outputs to the end) overlap never share bytes, others may. View ops
 * (alias) share their input's slot and extend its lifetime. Placement is greedy by size,
 * largest first, each at the lowest offset that fits between already placed overlapping
 * slots. The lower bound reported next to the arena is the largest total size of tensors
 * alive at one step: no plan without in-place kernels can do better.
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

export function planMemory(g: Graph): MemoryPlan {
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
    for (const x of node.inputs) if (x && !tensor(g, x).data) touch(x, step);
    if (opDef(node.op).alias) {
      root.set(node.outputs[0], rootOf(node.inputs[0]));
      return;
    }
    for (const y of node.outputs) if (y) define(y, step);
  });
  for (const name of g.outputs) touch(name, end);

  // Lower bound: the largest sum of live slots at any step.
  let lowerBound = 0;
  for (let step = -1; step <= end; step++) {
    let live = 0;
    for (const s of slots.values()) if (s.first <= step && step <= s.last) live += s.bytes;
    lowerBound = Math.max(lowerBound, live);
  }

  const order = [...slots.entries()].sort((a, b) => b[1].bytes - a[1].bytes || a[1].first - b[1].first || (a[0] < b[0] ? -1 : 1));
  const placed: Slot[] = [];
  let arenaBytes = 0;
  for (const [, s] of order) {
    const clash = placed.filter((p) => p.first <= s.last && s.first <= p.last).sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of clash) {
      if (offset + s.bytes <= p.offset) break;
      offset = Math.max(offset, p.offset + p.bytes);
    }
    s.offset = offset;
    placed.push(s);
    arenaBytes = Math.max(arenaBytes, offset + s.bytes);
  }
  const offsets = new Map<string, number>();
  for (const name of g.tensors.keys()) {
    const s = slots.get(rootOf(name));
    if (s && !tensor(g, name).data) offsets.set(name, s.offset);
  }
  return { arenaBytes, lowerBound, offsets, slots, root };
}
