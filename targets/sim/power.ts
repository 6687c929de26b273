/**
 * The power-failure simulator for --intermittent modules (compiler/emit/intermittent.ts): it
 * plays the host of docs/intermittent.md on a device whose power fails, and checks that the
 * inference still ends with the steady-power answer.
 *
 * The device. Linear memory is volatile: a power failure discards the instance (memory,
 * globals, stack). The host keeps a non-volatile image of the module's region; it changes
 * only when the host persists the ranges the module lists after each call (dirty_ptr /
 * dirty_len), byte by byte, so a failure in the middle of a persist leaves a torn image, as
 * on FRAM or flash. After a failure the host instantiates the module again, writes the image
 * back, and calls resume(). The host's own protocol state (the id of the inference it asked
 * for, and the input) lives in its own non-volatile memory: when the record does not hold
 * that inference (a cut before its first commit landed) or resume() reports the input lost, it
 * writes the input again and calls begin().
 *
 * Cost. The module is instrumented with a fuel counter in device cycles (targets/sim/fuel.ts,
 * the target's cycles per operation class times the runtime's factor, as targets/cost.ts
 * estimates them), so power can fail at any instruction; persisting a range costs
 * `nvCyclesPerWrite` plus `nvCyclesPerByte` per byte (the target's figures by default), by the
 * core ("wait") or by a DMA in the background ("dma", PersistMode below). Energy is cycles x
 * the target's energy per cycle (run current x supply; the static estimate's SRAM traffic
 * term is left out). Time is cycles / clock while on, plus the harvester's recharge time
 * while off.
 *
 * Power. "steady": never fails. "random": the cycles between failures are exponential with
 * mean `meanCycles` (seeded), so a failure lands on a random instruction, weighted by its
 * cycles. "harvest": a capacitor (targets/sim/harvest.ts) switched on at Von runs until it
 * falls to Voff, the harvester adding its power meanwhile, then recharges while off.
 *
 * Policies: "every" commits after every task. "energy" (with a capacitor, HAWAII-like) reads
 * the energy left: it commits only when that may not cover the next task and a commit after
 * it, and when it does not cover the next task at all, it sleeps with memory kept until the
 * harvester has refilled the capacitor (time passes, no work is lost); task costs come from
 * a steady run first. The module itself commits early where deferring would be unsafe (its
 * CK_WAR table).
 */
import { bad, internal, policyStopped } from "../../compiler/util/errors.js";
import type { Manifest } from "../../compiler/emit/manifest.js";
import type { Value } from "../../compiler/ir/graph.js";
import { readOutputs, writeInputs } from "../../compiler/runner.js";
import { runtimeFactor, type Runtime, type Target } from "../cost.js";
import { CLASSES } from "../profile/instrument.js";
import { BUDGET_GLOBAL, FUEL_GLOBAL, instrumentFuel, type FuelWeights } from "./fuel.js";
import type { Capacitor, Harvest } from "./harvest.js";

export type Power =
  | { kind: "steady" }
  | { kind: "random"; meanCycles: number; seed: number }
  | { kind: "harvest"; capacitor: Capacitor; harvest: Harvest };

export type Policy = "every" | "energy";

/**
 * How the host persists. "wait": the core writes each range itself and waits on it. "dma":
 * a DMA channel writes the ranges in order in the background while the core runs the next
 * call; the core waits only before a call while ranges listed before the previous call are
 * still in flight (so that no call writes bytes the DMA has yet to read: a commit writes the
 * slot the call before the previous one wrote), before writing the inputs, and at the end
 * until the queue has drained (the answer is safe only then). With the shared layout it
 * drains the queue before every call (a task may overwrite a tensor's bytes). "in-place":
 * the region is the non-volatile memory itself (an MSP430FR's FRAM, memory-mapped): every
 * store to it lands at once, so a failure keeps everything the module wrote up to that
 * instruction, partial task outputs and half a commit included; the host persists nothing
 * and reads nothing back. Needs the native runtime (WAMR zeroes linear memory when it
 * instantiates a module).
 */
export type PersistMode = "wait" | "dma" | "in-place";

export interface SimOptions {
  power: Power;
  policy: Policy;
  /** Device cycles per byte persisted (an SPI FRAM write, say). */
  nvCyclesPerByte: number;
  /** Device cycles per range persisted, besides its bytes (an SPI FRAM's write-enable, command and address; 0 by default). */
  nvCyclesPerWrite?: number;
  /** "wait" (default), "dma" or "in-place". */
  persist?: PersistMode;
  /** Gives up after this many power failures (a task that never fits is reported before). */
  maxFailures?: number;
  /** Called at each power failure with a copy of the host's image of the region as it is left (for tests and tools). */
  onFailure?: (image: Uint8Array) => void;
}

export interface SimResult {
  outputs: Value[];
  failures: number;
  /** Failures that struck while the host was persisting (a torn image). */
  tornPersists: number;
  /**
   * Device cycles: the module's, the persists' (the core's with "wait", the DMA's with "dma"),
   * and the total: with "wait" the sum, with "dma" the cycles from the first power-on to the
   * drained queue (the module's and the core's waits).
   */
  wasmCycles: number;
  persistCycles: number;
  cycles: number;
  persistBytes: number;
  /** Ranges persisted (each costs nvCyclesPerWrite besides its bytes). */
  persistWrites: number;
  /**
   * Device cycles of the power-ons after the first (also part of `cycles`): the runtime
   * instantiating the module again, and the host reading its image of the region back.
   */
  bootCycles: number;
  /** Record commits persisted in full. */
  commits: number;
  /** resume() found a corrupted piece and restarted, or the host had to begin() again. */
  restarts: number;
  /** The energy policy's sleeps until the capacitor refilled (memory kept, no failure). */
  sleeps: number;
  /** Device cycles spent in resume() (reading the record, checking the pieces still needed). */
  resumeCycles: number;
  rebegins: number;
  joules: number;
  /** Seconds from the first power-on to the outputs: on time plus recharge time. */
  seconds: number;
  offSeconds: number;
}

/** Fuel weights in device cycles for a target and runtime (targets/cost.ts's model). */
export function cycleWeights(target: Target, runtime: Runtime): FuelWeights {
  const f = runtimeFactor(runtime);
  const w: FuelWeights = {};
  for (const c of CLASSES) {
    const per = target.cycles[c]?.value;
    if (per !== undefined) w[c] = per * f;
  }
  w.copyBytes = target.bulkCyclesPerByte.copy.value * f;
  w.fillBytes = target.bulkCyclesPerByte.fill.value * f;
  return w;
}

class PowerFail extends Error {}

/** A seeded uniform generator in (0, 1) (mulberry32 after a splitmix step, so small seeds spread). */
function rng(seed: number): () => number {
  let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return (((x ^ (x >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
}

interface Exports {
  memory: WebAssembly.Memory;
  begin(id: number): void; resume(): number; step(commit: number): number; commit(): void;
  dirty_count(): number; dirty_ptr(i: number): number; dirty_len(i: number): number;
  inference_id(): number; next_task(): number; task_count(): number; restarts(): number;
  [k: string]: unknown;
}

/** What persisting costs: per byte and per range. */
export interface NvCost { nvCyclesPerByte: number; nvCyclesPerWrite?: number }

export interface Simulator {
  /** One inference of `inputs` (raw: int8/int16/float as the module takes them). */
  run(inputs: Value[], opts: SimOptions): SimResult;
  /** Device cycles of each task on steady power, its commit included (measured on `inputs`). */
  taskCycles(inputs: Value[], nv: NvCost): number[];
  /** Wasm instructions of one run() on `inputs` (begin, every task with a commit; no persist). */
  instructions(inputs: Value[]): Promise<number>;
  /** Device cycles of a power-on after a failure before the module runs: instantiating, and reading the image back (none in place). */
  powerOnCycles(nv: NvCost & { persist?: PersistMode }): number;
  /** Joules per device cycle (run current x supply) and the clock. */
  joulesPerCycle: number;
  clockHz: number;
}

/** Prepares a compiled --intermittent module for simulation on a target. */
export async function simulator(wasm: Uint8Array, manifest: Manifest, target: Target, runtime: Runtime): Promise<Simulator> {
  const ck = manifest.intermittent;
  if (!ck) bad(`${manifest.source}: the module was not compiled with --intermittent; there is nothing to resume after a power failure`);
  const weights = cycleWeights(target, runtime);
  let mod: WebAssembly.Module;
  try {
    mod = new WebAssembly.Module((await instrumentFuel(wasm, weights)) as Uint8Array<ArrayBuffer>);
  } catch (e) {
    bad(`${manifest.source}: model.wasm could not be instrumented (${(e as Error).message})`);
  }
  const eCycle = target.activeAmpsPerMHz.value * target.voltage.value * 1e-6;
  // instantiating the module at a power-on: with WAMR, linear memory zeroed and the data
  // segments (the constants) copied in; natively, the arena and region zeroed by the C
  // start-up (the constants stay in flash). Either is native code, so at the target's own
  // bulk costs (not times an interpreter's factor). The runtime's bookkeeping is not counted.
  const mem0 = manifest.memory, fill = target.bulkCyclesPerByte.fill.value, copy = target.bulkCyclesPerByte.copy.value;
  const instantiateCycles = runtime.constantsIn === "ram"
    ? mem0.pages * 65536 * fill + mem0.constantBytes * copy
    : (ck.region.base + ck.region.bytes) * fill;
  // in place, the region is not zeroed (it is the non-volatile memory): only the scratch below it
  const instantiateVolatile = ck.region.base * fill;
  const clock = target.clockHz.value;
  const base = ck!.region.base, bytes = ck!.region.bytes;
  const T = ck!.tasks.length;

  /** Per-task cycles of a steady run with a commit after every task: the module's, and the host's persist (the energy policy's estimates). */
  let taskCycles: number[] | undefined, taskPersist: number[] | undefined;
  /** Per task: the module's cycles of its commit (a steady run with commits, less one without: the hashing a deferred commit still owes). */
  let commitCycles: number[] | undefined;

  function simulate(inputs: Value[], opts: SimOptions, measure = false): SimResult {
    if (!(opts.nvCyclesPerByte >= 0) || !Number.isFinite(opts.nvCyclesPerByte)) bad(`--nv-cycles-per-byte ${opts.nvCyclesPerByte}: expected a number >= 0`);
    const perWrite = opts.nvCyclesPerWrite ?? 0, perByte = opts.nvCyclesPerByte;
    if (!(perWrite >= 0) || !Number.isFinite(perWrite)) bad(`--nv-cycles-per-write ${perWrite}: expected a number >= 0`);
    const dma = (opts.persist ?? "wait") === "dma", inPlace = opts.persist === "in-place";
    if (opts.persist !== undefined && opts.persist !== "wait" && opts.persist !== "dma" && !inPlace) bad(`--persist ${opts.persist}: choose wait, dma or in-place`);
    if (inPlace && runtime.name !== "native") bad(`--persist in-place: the region must stay in non-volatile memory across a reset, but ${runtime.name} zeroes linear memory when it instantiates the module; use --runtime native (e.g. --target msp430fr5994)`);
    if (inPlace && !target.nvInPlace.value) bad(`--persist in-place: ${target.name}'s non-volatile memory is not memory-mapped (nvInPlace 0 in targets/mcu/${target.name}.json): its host copies the region (--persist wait or dma)`);
    if (dma && opts.power.kind === "harvest") bad("--persist dma goes with --power steady or random:<n>: the capacitor model drains energy at the core's rate and has no term for a DMA running beside it; use --persist wait with --capacitor");
    const drainEach = dma && ck!.layout === "shared";
    const power = opts.power;
    const draw = power.kind === "random" ? rng(power.seed) : () => 0.5;
    const maxFailures = opts.maxFailures ?? 100_000;
    const activeWatts = eCycle * clock;
    const nv = new Uint8Array(bytes); // the host's image: zeros until the first persist
    let persisted = false;
    const r: SimResult = { outputs: [], failures: 0, tornPersists: 0, wasmCycles: 0, persistCycles: 0, cycles: 0, persistBytes: 0, persistWrites: 0, bootCycles: 0, commits: 0, restarts: 0, rebegins: 0, sleeps: 0, resumeCycles: 0, joules: 0, seconds: 0, offSeconds: 0 };
    const id = 1;
    let t = 0; // seconds since the first power-on
    let progress = 0, progressAt = -1, stuck = 0;
    const costs: number[] = measure ? new Array(T).fill(0) : [], pcosts: number[] = measure ? new Array(T).fill(0) : [];
    if (opts.policy === "energy" && power.kind === "random") bad("--policy energy reads the energy left in a capacitor; random failures give it nothing to read: use --capacitor, or --policy every");
    let wall = 0; // cycles on, over all power-ons
    let powerOns = 0;
    const restoreCycles = inPlace ? 0 : perWrite + bytes * perByte;
    let pending = 0; // the energy policy's estimate of what a deferred commit owes: its hashing and persist
    for (;;) {
      // one power-on: the cycles available until the next failure
      let left = Infinity;
      if (power.kind === "random") left = -Math.log(draw()) * power.meanCycles;
      else if (power.kind === "harvest") {
        const on = power.capacitor.timeOn(power.harvest, t, activeWatts);
        left = on * clock;
      }
      const inst = new WebAssembly.Instance(mod!, {});
      const ex = inst.exports as unknown as Exports;
      const fuel = ex[FUEL_GLOBAL] as WebAssembly.Global, budget = ex[BUDGET_GLOBAL] as WebAssembly.Global;
      fuel.value = 0;
      // cycles of this power-on besides the module's: with "wait" the core persisting, with
      // "dma" the core waiting on the queue
      let host = 0;
      let dmaBusy = 0; // "dma": the DMA's cycles this power-on
      // a power-on after the first: instantiating again and reading the image back
      const boot = (powerOns > 0 ? (inPlace ? instantiateVolatile : instantiateCycles) : 0) + (persisted ? restoreCycles : 0);
      powerOns++;
      const mem = new Uint8Array(ex.memory.buffer);
      let loaded = false; // the image is in memory (in place: memory is the image from then on)
      const spent = () => (fuel.value as number) + host + boot;
      const arm = () => { budget.value = left - host - boot; };
      const isSlot = (p: number, len: number) => len === ck!.region.slotBytes && p >= ck!.region.recordAddress && p < ck!.region.recordAddress + 2 * ck!.region.slotBytes;
      /** The first k of the `len` bytes listed at p reached the image, taken from `data`. */
      const landed = (p: number, len: number, k: number, data: Uint8Array) => {
        nv.set(data.subarray(0, k), p - base);
        r.persistBytes += k;
        r.persistWrites++;
        if (k > 0) persisted = true;
        if (k === len && isSlot(p, len)) r.commits++;
      };
      // "dma": the ranges queued, each with its bytes as listed and the cycle its write starts
      let queue: Array<{ p: number; data: Uint8Array; start: number }> = [];
      let dmaEnd = 0;
      const callEnds: number[] = []; // the queue's end after each call's ranges
      /**
       * "dma": the ranges the DMA has finished by cycle `until` go to the image, and with
       * `cut` (power fails at `until`) the bytes of the one it was writing too; false when
       * that one tore. A DMA reads memory as it goes: the bytes it wrote must still be the
       * ones listed, or the host's rule let a call change them in flight.
       */
      const land = (until: number, cut: boolean) => {
        let whole = true, done = 0;
        for (const q of queue) {
          if (q.start >= until) break;
          const len = q.data.length, end = q.start + perWrite + len * perByte;
          if (end > until && !cut) break;
          const k = end <= until ? len : perByte > 0 ? Math.max(0, Math.min(len, Math.floor((until - q.start - perWrite) / perByte))) : 0;
          if (Buffer.compare(mem.subarray(q.p, q.p + k), q.data.subarray(0, k)) !== 0) internal(`simulate --persist dma: bytes of [${q.p}, ${q.p + len}) changed while the DMA was writing them`);
          landed(q.p, len, k, q.data);
          dmaBusy += Math.min(until, end) - q.start;
          done++;
          if (k < len) { whole = false; break; }
        }
        queue = cut ? [] : queue.slice(done);
        return whole;
      };
      /** "dma": the core waits (powered) until cycle `at`; the power may fail meanwhile. */
      const waitUntil = (at: number) => {
        if (at <= spent()) return;
        if (at > left) { host = Math.max(0, left - (fuel.value as number) - boot); throw new PowerFail(); }
        host = at - (fuel.value as number) - boot;
      };
      /** Before a module call: the rule of PersistMode "dma". */
      const beforeCall = () => {
        if (!dma) return;
        const at = drainEach ? dmaEnd : callEnds.length >= 2 ? callEnds[callEnds.length - 2] : 0;
        waitUntil(at);
        land(Math.max(spent(), at), false); // (spent() may round just below `at`)
        arm();
      };
      const persist = () => {
        const n = ex.dirty_count();
        for (let i = 0; i < n; i++) {
          const p = ex.dirty_ptr(i), len = ex.dirty_len(i);
          if (p < base || p + len > base + bytes) internal(`simulate: dirty range [${p}, ${p + len}) outside the region [${base}, ${base + bytes})`);
          if (inPlace) { // already there: counted only
            r.persistBytes += len;
            r.persistWrites++;
            if (isSlot(p, len)) r.commits++;
            continue;
          }
          if (dma) {
            const start = Math.max(spent(), dmaEnd);
            queue.push({ p, data: mem.slice(p, p + len), start });
            dmaEnd = start + perWrite + len * perByte;
            continue;
          }
          // the write's command first, then its bytes, one at a time
          const fit = perByte > 0 ? Math.floor((left - spent() - perWrite) / perByte) : left - spent() >= perWrite ? len : 0;
          const k = Math.max(0, Math.min(len, fit));
          host += Math.min(Math.max(0, left - spent()), perWrite + k * perByte);
          landed(p, len, k, mem.subarray(p, p + len));
          if (k < len) { r.tornPersists++; throw new PowerFail(); }
        }
        if (dma) callEnds.push(dmaEnd);
      };
      try {
        if (boot > left) throw new PowerFail(); // it never got as far as the module
        if (persisted) mem.set(nv, base);
        loaded = true;
        arm();
        let next = persisted ? ex.resume() : -1;
        r.resumeCycles += fuel.value as number;
        if (next >= 0 && ex.inference_id() !== id) next = -1;
        const start = () => {
          if (dma) { waitUntil(dmaEnd); land(Infinity, false); arm(); } // the inputs' bytes may be in flight
          writeInputs({ manifest, memory: ex.memory }, inputs);
          arm(); ex.begin(id); persist();
        };
        if (next === -2 || next === -1) {
          if (persisted) r.rebegins++;
          start();
          next = 0;
        } else persist(); // a restart's commit
        for (;;) {
          const task = ex.next_task();
          let commit = 1;
          if (opts.policy === "energy" && task < T && power.kind === "harvest") {
            // not enough left for this task and its commit: sleep (memory kept) until the
            // capacitor is full again, rather than start what would be lost
            const c = taskCycles!, p = taskPersist!;
            const need = (c[task] + pending + p[task]) * 1.1;
            if (left - spent() < need) {
              const now = t + spent() / clock;
              const stored = (left - spent()) * eCycle;
              let wake = Infinity;
              try { wake = now + power.capacitor.timeOff(power.harvest, now, Math.max(0, stored)); } catch { /* the harvester never refills it: run on and fail */ }
              if (Number.isFinite(wake)) {
                r.offSeconds += wake - now;
                r.sleeps++;
                // the on-time restarts at wake with a full capacitor; cycles so far stay counted
                const on = power.capacitor.timeOn(power.harvest, wake, activeWatts);
                t = wake - spent() / clock;
                left = spent() + on * clock;
              }
            }
          }
          if (opts.policy === "energy" && task < T && power.kind === "harvest") {
            // commit after this task unless the energy left also covers the next one and a
            // commit after it (with 10% to spare): HAWAII-like, from the steady run's costs.
            // Also commit when a full capacitor would not cover the next task and the commit
            // deferred past it: sleeping could not make that affordable.
            const c = taskCycles!, p = taskPersist!;
            const next = task + 1 < T ? c[task + 1] + p[task + 1] : 0;
            const need = c[task] + pending + p[task] + next;
            const full = power.capacitor.usableJoules / eCycle;
            commit = left - spent() - need - 0.1 * (c[task] + next) < 0 || 1.2 * (pending + p[task] + next) > full ? 1 : 0;
          } else if (opts.policy === "energy") commit = 0;
          beforeCall();
          const before = fuel.value as number, hostBefore = host;
          arm();
          const leftTasks = ex.step(commit);
          persist();
          if (measure && task < T) { costs[task] += (fuel.value as number) - before; pcosts[task] += host - hostBefore; }
          // what a deferred commit will persist (an over-estimate when the module committed by itself)
          pending = commit ? 0 : pending + (taskPersist?.[task] ?? 0) + (commitCycles?.[task] ?? 0);
          if (leftTasks === -2) { r.rebegins++; start(); continue; } // a corrupted piece, and the inputs too
          if (leftTasks < 0) internal("simulate: step() refused to run before resume()");
          if (commit) progress = Math.max(progress, ex.next_task());
          if (leftTasks === 0) {
            beforeCall();
            arm(); ex.commit(); persist();
            break;
          }
        }
        if (dma) { waitUntil(dmaEnd); land(Infinity, true); } // the answer is safe once the queue has drained
        if (inPlace && spent() > left) throw new PowerFail(); // (fuel is checked at stores only)
        if (inPlace) { nv.set(mem.subarray(base, base + bytes)); persisted = true; }
        // done: the outputs, read from the module's memory
        r.outputs = readOutputs({ manifest, memory: ex.memory });
        r.restarts += ex.restarts();
        r.wasmCycles += fuel.value as number;
        r.persistCycles += dma ? dmaBusy : host;
        r.bootCycles += boot;
        wall += spent();
        t += spent() / clock;
        break;
      } catch (e) {
        const failed = e instanceof PowerFail || (spent() > left && e instanceof WebAssembly.RuntimeError);
        if (!failed) throw e;
        r.failures++;
        budget.value = Infinity;
        r.restarts += ex.restarts();
        const used = Math.min(left, spent());
        if (dma && !land(used, true)) r.tornPersists++;
        if (inPlace && loaded) { nv.set(mem.subarray(base, base + bytes)); persisted = true; } // every store so far
        opts.onFailure?.(nv.slice());
        r.bootCycles += Math.min(boot, left);
        r.wasmCycles += Math.max(0, Math.min(fuel.value as number, left - host - boot));
        r.persistCycles += dma ? dmaBusy : Math.max(0, Math.min(host, left - boot));
        wall += used;
        t += used / clock;
        // recharge
        if (power.kind === "harvest") {
          const off = power.capacitor.timeOff(power.harvest, t);
          r.offSeconds += off;
          t += off;
        }
        if (progress > progressAt) { progressAt = progress; stuck = 0; } else if (++stuck > 200) {
          policyStopped("livelock", `simulate: ${stuck} power-ons in a row without committing past task ${progress} (layer ${ck!.tasks[Math.min(progress, T - 1)].layer}); the power between failures (${Math.round(left)} cycles this time) does not cover it with what a reset costs (instantiating and reading the image back: ${Math.round(simulatorPowerOn(opts))} cycles) and the checks it makes the task do: compile with a finer --intermittent grain or a smaller --task-instructions, or use a larger capacitor`);
        }
        if (r.failures > maxFailures) bad(`simulate: more than ${maxFailures} power failures before the inference completed`);
      }
    }
    // "dma": the persists' energy at the core's run current too (an over-estimate for a DMA
    // channel and an SPI peripheral, kept so that only the time differs from "wait")
    r.cycles = dma ? wall : r.wasmCycles + r.persistCycles + r.bootCycles;
    r.joules = (r.wasmCycles + r.persistCycles + r.bootCycles) * eCycle;
    r.seconds = t;
    if (measure) { taskCycles = costs; taskPersist = pcosts; }
    return r;
  }

  function simulatorPowerOn(nv: NvCost & { persist?: PersistMode }): number {
    return nv.persist === "in-place" ? instantiateVolatile : instantiateCycles + (nv.nvCyclesPerWrite ?? 0) + bytes * nv.nvCyclesPerByte;
  }
  const measure = (inputs: Value[], nv: NvCost & { persist?: PersistMode }) => {
    const { nvCyclesPerByte, nvCyclesPerWrite } = nv, persist = nv.persist === "in-place" ? "in-place" as const : "wait" as const;
    simulate(inputs, { power: { kind: "steady" }, policy: "energy", nvCyclesPerByte, nvCyclesPerWrite, persist }, true);
    const bare = taskCycles!;
    simulate(inputs, { power: { kind: "steady" }, policy: "every", nvCyclesPerByte, nvCyclesPerWrite, persist }, true);
    commitCycles = taskCycles!.map((c, i) => Math.max(0, c - bare[i]));
    return taskCycles!.map((c, i) => c + taskPersist![i]);
  };
  return {
    async instructions(inputs) {
      const unit: FuelWeights = {};
      for (const c of CLASSES) if (!c.endsWith("Bytes")) unit[c] = 1;
      const inst = new WebAssembly.Instance(new WebAssembly.Module((await instrumentFuel(wasm, unit)) as Uint8Array<ArrayBuffer>), {});
      const ex = inst.exports as unknown as Exports & { run(): void };
      writeInputs({ manifest, memory: ex.memory }, inputs);
      (ex[FUEL_GLOBAL] as WebAssembly.Global).value = 0;
      ex.run();
      return (ex[FUEL_GLOBAL] as WebAssembly.Global).value as number;
    },
    joulesPerCycle: eCycle,
    clockHz: clock,
    powerOnCycles: simulatorPowerOn,
    taskCycles: measure,
    run(inputs, opts) {
      if (opts.policy === "energy" || opts.power.kind === "harvest") measure(inputs, opts);
      if (opts.power.kind === "harvest") {
        // the capacitor must hold the largest task and its commit, from a full charge, without harvest
        const cap = opts.power.capacitor;
        const holds = cap.usableJoules / eCycle;
        // the energy policy sleeps before the capacitor runs dry, so it never pays for a power-on;
        // "every" fails each time it does, and a power-on after that must leave room for a task
        const boot = opts.policy === "every" ? simulatorPowerOn(opts) : 0;
        const total = taskCycles!.map((c, i) => c + taskPersist![i] + boot);
        const worst = total.reduce((w, c, i) => (c > total[w] ? i : w), 0);
        if (total[worst] > holds) {
          const t = ck!.tasks[worst], l = manifest.layers[t.layer];
          const uj = (x: number) => `${(x * 1e6).toPrecision(3)} uJ`;
          const refuse = boot ? (m: string) => policyStopped("refused", m) : bad;
          refuse(`--capacitor ${cap.text}: task ${worst} (layer ${t.layer} ${l.op} '${l.name}'${t.tiles > 1 ? `, tile ${t.tile + 1} of ${t.tiles}` : ""}) needs ${uj(total[worst] * eCycle)} (${Math.round(total[worst])} cycles with its commit${boot ? `, after a power-on of ${Math.round(boot)} (instantiating, reading the image back; --policy energy sleeps instead of failing)` : ""}) but the capacitor holds ${uj(cap.usableJoules)} between ${cap.von} V and ${cap.voff} V: use a larger capacitor, or compile with --intermittent unit or a smaller --task-instructions`);
        }
      }
      return simulate(inputs, opts);
    },
  };
}
