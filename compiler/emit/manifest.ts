/**
 * model.json: the facts a host program and a person need about a compiled model, in one
 * place the CLI's run/inspect commands also read: inputs and outputs (name, dtype, shape,
 * quantization, address, bytes), memory (arena and its lower bound, constant data, pages),
 * and per-layer MACs and parameter bytes.
 */
import { SLOT_BYTES, type IntermittentPlan } from "./intermittent.js";
import { basename } from "node:path";
import { dtypeBytes, numel, tensor, type Graph } from "../ir/graph.js";
import { opDef } from "../ops/table.js";
import type { MemoryPlan } from "../passes/plan-memory.js";
import type { AscResult } from "./asc.js";
import type { Emitted } from "./assemblyscript.js";
import type { OffloadInfo } from "./offload.js";
import { version } from "../util/paths.js";
import { callsCost, STEADY, type KernelCost } from "../cost/kernels.js";
import type { SoiReport } from "../passes/soi.js";

export interface IOInfo {
  name: string;
  dtype: string;
  shape: number[];
  scale?: number;
  zeroPoint?: number;
  address: number;
  bytes: number;
}

export interface LayerInfo {
  name: string;
  op: string;
  int8: boolean;
  inputs: number[][];
  output: number[];
  params: number;
  paramBytes: number;
  /** Bytes of constant data the module stores for this layer as compiled: weights as stored (packed, sparse, shared, factored), biases, requantization and lookup tables. */
  storedBytes?: number;
  macs: number;
  /** Arena bytes in use while this layer runs (its inputs, outputs and everything still needed later). */
  liveBytes: number;
  /** Streaming modules: the layer runs on steps t % period == 0 (its MACs are per run). */
  period?: number;
  /** The kernel calls the layer makes, with the arguments as emitted. */
  kernels: Array<{ kernel: string; args: Array<string | number> }>;
  /** Analytic cost of one run (compiler/cost; streaming: a step after the first); absent when a kernel has no formula. */
  cost?: KernelCost;
}

export interface Manifest {
  picojoule: string;
  source: string;
  /** "float32", "int8", or a Q format such as "Q4.4" or "Q8.8" (--fixed; int8 storage up to 8 bits, int16 from 9 to 16). */
  mode: string;
  inputs: IOInfo[];
  outputs: IOInfo[];
  memory: {
    arenaBase: number;
    /** Bytes of the low scratch at address 0, below the arena, when a kernel uses one (the sparse fully connected kernel). */
    scratchBytes?: number;
    arenaBytes: number;
    arenaLowerBound: number;
    /** Address of the first constant (data segments start here; the arena lies below). */
    constantBase: number;
    constantBytes: number;
    dataEnd: number;
    heapBase: number;
    pages: number;
    wasmBytes: number;
    /** The largest tensor the module holds: a constant (weights) or an activation buffer (arena slot). */
    largestTensor?: { name: string; bytes: number; kind: "constant" | "activation" };
  };
  totals: { macs: number; params: number; paramBytes: number; storedBytes: number };
  layers: LayerInfo[];
  exports: string[];
  /**
   * Streaming models (--stream): the input's time axis in the original model, the window
   * length it was exported with, and each output's period (written on steps t % period == 0).
   * Layers' MACs are then per executed step of the layer; see layers[].period.
   */
  stream?: {
    timeAxis: number; windowSteps: number; outputPeriods: number[];
    /** MACs per step on average (a layer of period P counts 1/P), at the busiest step, and to recompute the exported window instead. */
    macsPerStep: number; peakMacsPerStep: number; windowMacs: number;
    /** Of macsPerStep, what runs before step() returns the outputs (the rest is deferred to idle()). */
    beforeOutputMacsPerStep: number;
  };
  /** --offload: the layers the host's accelerators run, the import each calls and its parameter block (emit/offload.ts). */
  offload?: OffloadInfo[];
  /** --soi: the factor, mode, first deep layer, the deep layers, and the tensors where the deep path rejoins. */
  soi?: SoiReport;
  /** --intermittent: the tasks, the non-volatile region and what the host keeps (emit/intermittent.ts, docs/intermittent.md). */
  intermittent?: IntermittentInfo;
}

export interface IntermittentInfo {
  /** Task grain: "layer", "tile" (about taskInstructions wasm instructions per task where a layer splits) or "unit" (every block of outputs). */
  grain: string;
  taskInstructions: number;
  /** "distinct": every tensor has its own bytes in the region (no task overwrites what an earlier one read, so war is -1 throughout); "shared": dead tensors' bytes are reused. */
  layout: string;
  /** The region the host must keep across resets: [base, base + bytes), the arena then the record. */
  region: { base: number; bytes: number; recordAddress: number; recordBytes: number; slotBytes: number };
  /** What the host does: persist the dirty ranges after each call, write the region back after a reset, then resume(). */
  protocol: string;
  /** Per task: its layer and tile, MACs, estimated wasm instructions (the layer's measured count, shared), pieces written, and the latest earlier task reading what it overwrites. */
  tasks: Array<{ layer: number; tile: number; tiles: number; macs: number; instructions: number; pieces: number[]; war: number }>;
  /** `count` ranges of `bytes` each, `stride` bytes apart from `address`; the task that writes it (-1: an input) and the last that reads it (the task count: an output). */
  pieces: Array<{ tensor: string; address: number; bytes: number; count: number; stride: number; task: number; last: number }>;
  /** Outputs of split layers that also get a hash of the whole tensor (record hash pieces.length + i), sealed by the commit of their last tile `task`. */
  wholes: Array<{ tensor: string; address: number; bytes: number; task: number; last: number }>;
}

export function layerTable(g: Graph, plan: MemoryPlan, em?: Pick<Emitted, "calls" | "layerBytes">): LayerInfo[] {
  return g.nodes.map((node, step) => {
    const kernels = (em?.calls ?? []).filter((c) => c.layer === step).map((c) => ({ kernel: c.kernel, args: c.args }));
    const cost = callsCost(kernels, STEADY, em?.calls);
    const def = opDef(node.op);
    const consts = node.inputs.filter((x) => x && tensor(g, x).data).map((x) => tensor(g, x));
    return {
      name: node.name,
      op: node.op,
      int8: node.q !== undefined,
      inputs: node.inputs.filter((x) => x && !tensor(g, x).data).map((x) => tensor(g, x).shape),
      output: tensor(g, node.outputs.find((o) => o) ?? node.outputs[0]).shape,
      params: consts.reduce((a, t) => a + numel(t.shape), 0),
      paramBytes: consts.reduce((a, t) => a + numel(t.shape) * dtypeBytes(t.dtype), 0),
      ...(em?.layerBytes ? { storedBytes: em.layerBytes[step] } : {}),
      macs: def.macs?.(node, g) ?? 0,
      liveBytes: [...plan.slots.values()].filter((sl) => sl.first <= step && step <= sl.last).reduce((a, sl) => a + sl.bytes, 0),
      ...(node.attrs.period !== undefined ? { period: node.attrs.period as number } : {}),
      kernels,
      ...(cost ? { cost } : {}),
    };
  });
}

export function buildManifest(g: Graph, plan: MemoryPlan, em: Emitted, asc: AscResult, file: string, mode: string): Manifest {
  const io = (names: string[], addrs: number[]): IOInfo[] => names.map((name, i) => {
    const t = tensor(g, name);
    return {
      name, dtype: t.dtype, shape: t.shape,
      ...(t.quant ? { scale: t.quant.scale[0], zeroPoint: t.quant.zeroPoint[0] } : {}),
      address: addrs[i], bytes: numel(t.shape) * dtypeBytes(t.dtype),
    };
  });
  const layers = layerTable(g, plan, em);
  let largestTensor: { name: string; bytes: number; kind: "constant" | "activation" } | undefined;
  const consider = (name: string, bytes: number, kind: "constant" | "activation") => {
    if (!largestTensor || bytes > largestTensor.bytes) largestTensor = { name, bytes, kind };
  };
  for (const node of g.nodes) for (const x of node.inputs) {
    const t = x ? tensor(g, x) : undefined;
    if (t?.data) consider(x, numel(t.shape) * dtypeBytes(t.dtype), "constant");
  }
  for (const [name, sl] of plan.slots) consider(name, sl.bytes, "activation");
  const entry = em.source.includes("export function step()") ? ["step", "reset", "steps_since_reset", ...(em.source.includes("export function idle()") ? ["idle"] : [])]
    : em.intermittent ? ["run", ...INTERMITTENT_EXPORTS] : ["run"];
  const exports = ["memory", ...entry, "input_ptr", "input_bytes", "output_ptr", "output_bytes", "arena_bytes", "__data_end", "__heap_base"];
  if (em.source.includes("export function selftest")) exports.push("selftest");
  return {
    picojoule: version(),
    source: basename(file),
    mode: mode === "none" ? "float32" : mode,
    inputs: io(g.inputs, em.inputAddrs),
    outputs: io(g.outputs, em.outputAddrs),
    memory: {
      arenaBase: em.arenaBase, ...(em.scratchBytes ? { scratchBytes: em.scratchBytes } : {}), arenaBytes: plan.arenaBytes, arenaLowerBound: plan.lowerBound,
      constantBase: em.memoryBase, constantBytes: asc.dataEnd - em.memoryBase, dataEnd: asc.dataEnd, heapBase: asc.heapBase,
      pages: asc.memoryPages, wasmBytes: asc.wasm.length,
      ...(largestTensor ? { largestTensor } : {}),
    },
    totals: {
      macs: layers.reduce((a, l) => a + l.macs, 0),
      params: layers.reduce((a, l) => a + l.params, 0),
      paramBytes: layers.reduce((a, l) => a + l.paramBytes, 0),
      storedBytes: layers.reduce((a, l) => a + (l.storedBytes ?? 0), 0),
    },
    layers,
    exports,
    ...(em.intermittent ? { intermittent: intermittentInfo(em.intermittent) } : {}),
  };
}

const INTERMITTENT_EXPORTS = ["begin", "resume", "step", "commit", "dirty_count", "dirty_ptr", "dirty_len", "task_count", "inference_id", "next_task", "nv_base", "nv_bytes", "restarts"];

export const INTERMITTENT_PROTOCOL = "after a reset: write the saved region back at region.base, call resume() (>= 0: next task; -1: no record, -2: input lost: write the inputs, begin(id)); to start: write the inputs, begin(id), persist; then step(1) until it returns 0 (-2: input lost, as above), persisting after every call the ranges dirty_ptr(i)/dirty_len(i), i < dirty_count(), in order; after step(0) calls, commit() and persist";

function intermittentInfo(p: IntermittentPlan): IntermittentInfo {
  return {
    grain: p.grain, layout: p.layout, taskInstructions: p.taskInstructions,
    region: { base: p.nvBase, bytes: p.nvBytes, recordAddress: p.recordAddress, recordBytes: p.recordBytes, slotBytes: SLOT_BYTES },
    protocol: INTERMITTENT_PROTOCOL,
    tasks: p.tasks.map((t) => ({ layer: t.layer, tile: t.tile, tiles: t.tiles, macs: t.macs, instructions: t.instructions, pieces: t.pieces, war: t.war })),
    pieces: p.pieces.map((q) => ({ ...q })),
    wholes: p.wholes.map(({ tensor, address, bytes, task, last }) => ({ tensor, address, bytes, task, last })),
  };
}
