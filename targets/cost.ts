/**
 * The cost evaluator: turns a module's counted operations (targets/profile) into cycles,
 * latency, energy and memory on a target, for one runtime mode. Targets are data
 * (targets/mcu/<name>.json, every number with its source) and runtime modes too
 * (targets/runtimes.json); this file only combines them:
 *   native cycles  = sum over operation classes of count x cycles per class
 *                    + memory.copy / memory.fill bytes x cycles per byte
 *   device cycles  = native cycles x the runtime's factor (WAMR AOT, fast or classic)
 *   energy         = device cycles x energy per cycle (run current per MHz x supply)
 *                    + bytes read and written x the SRAM access energies
 *   RAM            = linear memory up to __heap_base (constants are copied into it by WAMR;
 *                    native code keeps them in flash and needs only the arena) + the
 *                    runtime's own RAM + code held in RAM (the fast interpreter's
 *                    pre-compiled code)
 *   flash          = the runtime's code + the module's code (x the AOT code factor) + constants
 * The energy per cycle already covers instruction fetch and the core; the SRAM term adds the
 * data traffic that a register-bound benchmark does not have.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Manifest } from "../compiler/emit/manifest.js";
import { bad } from "../compiler/util/errors.js";
import { packageRoot } from "../compiler/util/paths.js";
import { bytesRead, bytesWritten, CLASSES, instructions, multiplies, type Counts, type OpClass } from "./profile/instrument.js";
import type { DynamicProfile } from "./profile/dynamic.js";

export interface Sourced<T = number> { value: T; source: string; note?: string }

export interface Target {
  name: string;
  description: string;
  sources: Record<string, string>;
  clockHz: Sourced;
  sramBytes: Sourced;
  flashBytes: Sourced;
  voltage: Sourced;
  activeAmpsPerMHz: Sourced;
  sleepAmps: Sourced;
  memoryEnergy: { sramReadPerByte: Sourced; sramWritePerByte: Sourced; flashReadPerByte: Sourced };
  runtimes: string[];
  cycles: Partial<Record<OpClass, Sourced>>;
  bulkCyclesPerByte: { copy: Sourced; fill: Sourced };
  /** Device cycles to persist one byte of an --intermittent module's region (its non-volatile memory). */
  nvCyclesPerByte: Sourced;
  /** Device cycles per range persisted, besides its bytes (an SPI FRAM's command and address). */
  nvCyclesPerWrite: Sourced;
  /** 1 when the non-volatile memory is memory-mapped and can hold the region in place (an MSP430FR's FRAM), else 0. */
  nvInPlace: Sourced;
}

export interface Runtime {
  name: string;
  about: string;
  cyclesFactor: Sourced;
  relativeTo?: string;
  runtimeFlashBytes: Sourced;
  runtimeRamBytes: Sourced;
  codeFlashFactor: Sourced;
  constantsIn: "flash" | "ram";
  codeRamFactor: Sourced;
}

const dir = () => join(packageRoot(), "targets");

export function targetNames(): string[] {
  return readdirSync(join(dir(), "mcu")).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
}

/** A target by name; a clear error listing the known ones otherwise. Checks every number has a source. */
export function loadTarget(name: string): Target {
  const names = targetNames();
  if (!names.includes(name)) bad(`unknown target '${name}'; known targets: ${names.join(", ")}`);
  const t = JSON.parse(readFileSync(join(dir(), "mcu", `${name}.json`), "utf8")) as Target;
  checkSources(t, t.sources, `targets/mcu/${name}.json`);
  return t;
}

export function runtimeNames(): string[] {
  return Object.keys(runtimesFile().runtimes);
}

function runtimesFile(): { sources: Record<string, string>; runtimes: Record<string, Omit<Runtime, "name">> } {
  return JSON.parse(readFileSync(join(dir(), "runtimes.json"), "utf8"));
}

/** A runtime mode by name, checked against what the target supports. */
export function loadRuntime(name: string, target: Target): Runtime {
  const f = runtimesFile();
  if (!f.runtimes[name]) bad(`unknown runtime '${name}'; known runtimes: ${Object.keys(f.runtimes).join(", ")}`);
  if (!target.runtimes.includes(name)) bad(`runtime '${name}' does not run on ${target.name}; it supports: ${target.runtimes.join(", ")}`);
  const r = { name, ...f.runtimes[name] } as Runtime;
  checkSources(r, f.sources, `targets/runtimes.json (${name})`);
  return r;
}

/** Every {value} object must name a source that the file's `sources` defines. */
export function checkSources(x: unknown, sources: Record<string, string>, file: string, path = ""): void {
  if (!x || typeof x !== "object") return;
  const o = x as Record<string, unknown>;
  if ("value" in o && typeof o.value === "number") {
    if (typeof o.source !== "string" || !(o.source in sources)) bad(`${file}: ${path || "a number"} has no source (or one not listed in 'sources')`);
    return;
  }
  for (const [k, v] of Object.entries(o)) if (k !== "sources") checkSources(v, sources, file, path ? `${path}.${k}` : k);
}

export interface LayerEstimate {
  name: string;
  op: string;
  macs: number;
  instructions: number;
  multiplies: number;
  bytesRead: number;
  bytesWritten: number;
  cycles: number;
  seconds: number;
  joules: number;
  /** Offloaded: the accelerator's share of seconds and joules (the rest is the host's call). */
  accelerator?: { name: string; seconds: number; joules: number };
}

export interface MemoryLine { total: number; capacity: number; parts: Record<string, number> }

export interface Estimate {
  target: string;
  runtime: string;
  clockHz: number;
  /** Per layer; streaming modules: per step on average. */
  layers: LayerEstimate[];
  /** Code outside the layers (step bookkeeping). */
  glue: LayerEstimate;
  cycles: number;
  seconds: number;
  joules: number;
  /** Streaming modules: the busiest step. */
  peakStep?: { cycles: number; seconds: number; joules: number };
  ram: MemoryLine;
  flash: MemoryLine;
  fits: boolean;
  /** One line per capacity the module exceeds. */
  problems: string[];
  sleepWatts: number;
  perStep: boolean;
}

export function estimate(manifest: Manifest, prof: DynamicProfile, target: Target, runtime: Runtime): Estimate {
  const f = runtimeFactor(runtime);
  const eCycle = target.activeAmpsPerMHz.value * target.voltage.value * 1e-6;
  const clock = target.clockHz.value;
  const one = (name: string, op: string, macs: number, c: Counts): LayerEstimate => {
    let native = 0;
    for (const k of CLASSES) {
      const per = target.cycles[k]?.value;
      if (per !== undefined) native += c[k] * per;
    }
    native += c.copyBytes * target.bulkCyclesPerByte.copy.value + c.fillBytes * target.bulkCyclesPerByte.fill.value;
    const cycles = native * f;
    const me = target.memoryEnergy;
    const joules = cycles * eCycle + bytesRead(c) * me.sramReadPerByte.value + bytesWritten(c) * me.sramWritePerByte.value;
    return { name, op, macs, instructions: instructions(c), multiplies: multiplies(c), bytesRead: bytesRead(c), bytesWritten: bytesWritten(c), cycles, seconds: cycles / clock, joules };
  };
  const layers = manifest.layers.map((l, i) => {
    const est = one(l.name, l.op, l.macs / (manifest.stream && l.period ? l.period : 1), prof.layers[i]);
    const acc = prof.accelerators?.find((a) => a.layer === i);
    if (acc) {
      // the CPU waits for the accelerator: its time adds to the latency, its energy to the total
      est.accelerator = { name: acc.accelerator, seconds: acc.seconds, joules: acc.joules };
      est.seconds += acc.seconds;
      est.joules += acc.joules; // the CPU waits meanwhile; its idle power is not counted
    }
    return est;
  });
  const glue = one("(step bookkeeping)", "", 0, prof.glue);
  const cycles = layers.reduce((a, l) => a + l.cycles, glue.cycles);
  const joules = layers.reduce((a, l) => a + l.joules, glue.joules);
  const seconds = layers.reduce((a, l) => a + l.seconds, glue.seconds);
  const peak = prof.peakStep ? one("peak", "", 0, prof.peakStep) : undefined;

  const mem = manifest.memory;
  const codeBytes = Math.max(0, mem.wasmBytes - mem.constantBytes); // the data segments hold the constants
  const ramParts: Record<string, number> = runtime.constantsIn === "ram"
    ? { "linear memory (arena + constants)": mem.heapBase }
    : { arena: mem.arenaBase + mem.arenaBytes };
  if (runtime.runtimeRamBytes.value) ramParts[`${runtime.name} runtime`] = runtime.runtimeRamBytes.value;
  if (runtime.codeRamFactor.value) ramParts["code held in RAM"] = Math.ceil(codeBytes * runtime.codeRamFactor.value);
  if (runtime.name === "native") ramParts["stack (assumed)"] = 1024;
  const flashParts: Record<string, number> = {
    code: Math.ceil(codeBytes * runtime.codeFlashFactor.value),
    constants: mem.constantBytes,
  };
  if (runtime.runtimeFlashBytes.value) flashParts[`${runtime.name} runtime`] = runtime.runtimeFlashBytes.value;
  const ram = line(ramParts, target.sramBytes.value), flash = line(flashParts, target.flashBytes.value);
  const problems: string[] = [];
  const largest = mem.largestTensor ? `; the largest tensor is '${mem.largestTensor.name}' (${kb(mem.largestTensor.bytes)}, ${mem.largestTensor.kind})` : "";
  if (ram.total > ram.capacity) problems.push(`RAM needs ${kb(ram.total)} (${parts(ram)}), ${target.name} has ${kb(ram.capacity)}: over by ${kb(ram.total - ram.capacity)}${largest}`);
  if (flash.total > flash.capacity) problems.push(`flash needs ${kb(flash.total)} (${parts(flash)}), ${target.name} has ${kb(flash.capacity)}: over by ${kb(flash.total - flash.capacity)}${largest}`);
  return {
    target: target.name, runtime: runtime.name, clockHz: clock, layers, glue, cycles, seconds, joules,
    ...(peak ? { peakStep: { cycles: peak.cycles, seconds: peak.seconds, joules: peak.joules } } : {}),
    ram, flash, fits: problems.length === 0, problems,
    sleepWatts: target.sleepAmps.value * target.voltage.value, perStep: !!manifest.stream,
  };
}

/** The runtime's cycles per native cycle (chained through relativeTo). */
export function runtimeFactor(r: Runtime): number {
  let f = r.cyclesFactor.value;
  if (r.relativeTo) {
    const base = runtimesFile().runtimes[r.relativeTo];
    if (!base) bad(`targets/runtimes.json: ${r.name} is relative to unknown runtime '${r.relativeTo}'`);
    f *= base.cyclesFactor.value;
  }
  return f;
}

function line(p: Record<string, number>, capacity: number): MemoryLine {
  return { total: Object.values(p).reduce((a, b) => a + b, 0), capacity, parts: p };
}

const parts = (m: MemoryLine) => Object.entries(m.parts).map(([k, v]) => `${k} ${kb(v)}`).join(", ");

export function kb(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(2)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

/** Battery life in seconds at `rate` inferences (or steps) per second, sleeping in between. */
export function batteryLife(e: Estimate, battery: { joules: number }, rate: number): { seconds: number; averageWatts: number; dutyCycle: number } {
  const duty = rate * e.seconds;
  if (duty > 1) bad(`--rate ${rate}/s is more than the target can run: one ${e.perStep ? "step" : "inference"} takes ${(e.seconds * 1e3).toFixed(3)} ms, at most ${(1 / e.seconds).toFixed(2)}/s`);
  const averageWatts = e.joules * rate + e.sleepWatts * (1 - duty);
  return { seconds: battery.joules / averageWatts, averageWatts, dutyCycle: duty };
}

/** The highest rate a harvested power sustains: E rate + P_sleep (1 - rate t) = P_harvest. */
export function sustainableRate(e: Estimate, harvestWatts: number): number {
  const net = harvestWatts - e.sleepWatts;
  if (net <= 0) return 0;
  const perRun = e.joules - e.sleepWatts * e.seconds;
  return Math.min(net / perRun, 1 / e.seconds);
}

/** '220mAh@3V' (also Ah, Wh, mWh, J) into joules. */
export function parseBattery(s: string): { joules: number; text: string } {
  const m = /^\s*([\d.]+)\s*(mAh|Ah|mWh|Wh|J)\s*(?:@\s*([\d.]+)\s*V)?\s*$/i.exec(s);
  if (!m || !(Number(m[1]) > 0)) bad(`--battery '${s}': expected a capacity like 220mAh@3V, 2Ah@3.7V, 1Wh or 500J`);
  const q = Number(m![1]), unit = m![2].toLowerCase(), v = m![3] ? Number(m![3]) : undefined;
  if ((unit === "mah" || unit === "ah") && !(v! > 0)) bad(`--battery '${s}': a capacity in ${m![2]} needs a voltage, e.g. ${m![1]}${m![2]}@3V`);
  const joules = unit === "mah" ? q * 1e-3 * 3600 * v! : unit === "ah" ? q * 3600 * v! : unit === "mwh" ? q * 3.6 : unit === "wh" ? q * 3600 : q;
  return { joules, text: s.trim() };
}

/** '1/s', '10/min', '2/h', '0.5Hz' into per second. */
export function parseRate(s: string): number {
  const m = /^\s*([\d.]+)\s*(?:\/\s*(s|sec|min|h|hour)|(Hz))\s*$/i.exec(s);
  if (!m || !(Number(m[1]) > 0)) bad(`--rate '${s}': expected a positive rate like 1/s, 10/min, 2/h or 0.5Hz`);
  const per = (m![2] ?? "s").toLowerCase();
  return Number(m![1]) / (per === "min" ? 60 : per === "h" || per === "hour" ? 3600 : 1);
}

/** '100uW', '2mW', '0.5W' into watts. */
export function parsePower(s: string): number {
  const m = /^\s*([\d.]+)\s*(nW|uW|µW|mW|W)\s*$/.exec(s);
  if (!m || !(Number(m[1]) > 0)) bad(`--harvest '${s}': expected a positive power like 100uW, 2mW or 0.5W`);
  const k = { nW: 1e-9, uW: 1e-6, "µW": 1e-6, mW: 1e-3, W: 1 }[m![2] as "nW"];
  return Number(m![1]) * k;
}
