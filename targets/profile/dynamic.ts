/**
 * Dynamic per-layer operation counts of a compiled model (the measured side of the cost
 * model). model.ts calls layer(i) before each layer's kernels; in the shipped build that is
 * an empty inline function. Here model.ts is rebuilt with layer() as an import, both builds
 * are instrumented (instrument.ts), the profiling build is run with the counters read at
 * every layer(i), and the shipped build is run on the same inputs to check that it executes
 * exactly the same operations in total: the counts are those of model.wasm itself, not of a
 * look-alike. Streaming modules are stepped through `steps` frames from a reset (step(),
 * then idle() if the module defers work) and counts are per step on average, with the
 * busiest step's total beside them. Inputs default to seeded uniform values in [-1, 1].
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileAssemblyScript } from "../../compiler/emit/asc.js";
import { MARK_DECL, MARK_DECL_PROFILE } from "../../compiler/emit/assemblyscript.js";
import type { Manifest } from "../../compiler/emit/manifest.js";
import { instantiate, runFloat, stepFloat, type Loaded } from "../../compiler/runner.js";
import { bad, internal } from "../../compiler/util/errors.js";
import { numel } from "../../compiler/ir/graph.js";
import { offloadHost, type AcceleratorStats } from "../offload/host.js";
import { addCounts, CLASSES, counterName, instrument, zeroCounts, type Counts } from "./instrument.js";

export interface DynamicProfile {
  /** Per manifest layer: counts per inference (run) or per step on average (streaming). */
  layers: Counts[];
  /** Code outside any layer (entry checks, step bookkeeping). */
  glue: Counts;
  total: Counts;
  /** Steps run (1 for a run() module), and for streaming modules the busiest step's counts. */
  steps: number;
  peakStep?: Counts;
  /** Offloaded layers (--offload): the simulated accelerator's time and energy, per inference or step. */
  accelerators?: AcceleratorStats[];
}

export interface ProfileInputs {
  /** Float inputs of one inference (run), or the frames of a stream (one per step). */
  inputs?: Float32Array[];
  /** Streaming: how many steps to run when no frames are given (default 64). */
  steps?: number;
}

/** model.ts with the profiling hook as an import. */
export function profileSource(source: string, where: string): string {
  if (!source.includes(MARK_DECL)) bad(`${where}: model.ts has no profiling hook; recompile the model with this picojoule version`);
  return source.replace(MARK_DECL, MARK_DECL_PROFILE);
}

export async function profileDir(dir: string, opts: ProfileInputs = {}): Promise<DynamicProfile> {
  const read = (f: string): Buffer => {
    try { return readFileSync(join(dir, f)); } catch { bad(`${dir}: no ${f} (compile the model first: picojoule compile model.onnx -o ${dir})`); }
  };
  let manifest: Manifest;
  try { manifest = JSON.parse(read("model.json").toString("utf8")); } catch (e) { bad(`${join(dir, "model.json")}: not valid JSON (${(e as Error).message})`); }
  return profileModule(read("model.wasm"), read("model.ts").toString("utf8"), manifest!, opts, dir);
}

export async function profileModule(shipped: Uint8Array, source: string, manifest: Manifest, opts: ProfileInputs = {}, where = manifest.source): Promise<DynamicProfile> {
  const base = manifest.memory.constantBase;
  if (base === undefined) bad(`${where}: model.json has no memory.constantBase; recompile the model with this picojoule version`);
  const built = await compileAssemblyScript(profileSource(source, where), { memoryBase: base });
  const n = manifest.layers.length;
  const layers = Array.from({ length: n }, zeroCounts);
  const glue = zeroCounts();
  let current = -1;
  let last = zeroCounts();
  let counters: () => Counts = zeroCounts;
  const attribute = () => {
    const now = counters();
    addCounts(current >= 0 ? layers[current] : glue, delta(now, last));
    last = now;
  };
  const mark = (i: number) => {
    attribute();
    if (i >= n) internal(`profile: layer(${i}) beyond the ${n} layers of model.json`);
    current = i;
  };
  const host = manifest.offload ? offloadHost() : undefined; // offloaded layers run on the simulated accelerators
  const prof = await load((await instrument(built.wasm)).wasm, manifest, { pj: { mark }, ...host?.imports });
  host?.bind(prof.loaded.memory);
  counters = prof.read;
  const feeds = opts.inputs ?? defaultInputs(manifest, opts.steps ?? 64);
  let peakStep: Counts | undefined;
  let stepStart = zeroCounts();
  drive(prof.loaded, manifest, feeds, () => {
    attribute();
    current = -1;
    const d = delta(last, stepStart);
    stepStart = last;
    if (!peakStep || instructionsOf(d) > instructionsOf(peakStep)) peakStep = d;
  });
  attribute();
  const shipHost = manifest.offload ? offloadHost() : undefined;
  const ship = await load((await instrument(shipped)).wasm, manifest, { ...shipHost?.imports });
  shipHost?.bind(ship.loaded.memory);
  drive(ship.loaded, manifest, feeds, () => {});
  const shippedTotal = ship.read();
  const sum = layers.reduce((a, l) => addCounts(a, l), addCounts(zeroCounts(), glue));
  const diff = CLASSES.filter((c) => shippedTotal[c] !== sum[c]);
  if (diff.length) internal(`profile: the profiling build of ${where} differs from model.wasm in ${diff.map((c) => `${c} (${sum[c]} vs ${shippedTotal[c]})`).join(", ")}`);
  const steps = manifest.stream ? feeds.length : 1;
  const per = (c: Counts) => { for (const k of CLASSES) c[k] /= steps; return c; };
  const accelerators = host ? [...host.stats.values()].map((a) => ({ ...a, seconds: a.seconds / steps, joules: a.joules / steps, ...(a.cycles !== undefined ? { cycles: a.cycles / steps } : {}) })) : undefined;
  return { layers: layers.map(per), glue: per(glue), total: per(sum), steps, ...(peakStep && manifest.stream ? { peakStep } : {}), ...(accelerators ? { accelerators } : {}) };
}

function delta(now: Counts, then: Counts): Counts {
  const d = zeroCounts();
  for (const c of CLASSES) d[c] = now[c] - then[c];
  return d;
}

const instructionsOf = (c: Counts) => CLASSES.reduce((s, k) => s + c[k], 0);

/** One inference, or the frames from a reset; `afterStep` runs after each step (and its idle()). */
function drive(m: Loaded, manifest: Manifest, feeds: Float32Array[], afterStep: () => void): void {
  if (!manifest.stream) { runFloat(m, feeds); return; }
  const ex = m.instance.exports as Record<string, () => number>;
  ex.reset();
  for (const [t, frame] of feeds.entries()) {
    if (stepFloat(m, frame) < 0) internal(`profile: step() refused frame ${t}`);
    ex.idle?.();
    afterStep();
  }
}

async function load(wasm: Uint8Array, manifest: Manifest, imports: WebAssembly.Imports): Promise<{ loaded: Loaded; read(): Counts }> {
  const loaded = await instantiate(wasm, manifest, "instrumented model.wasm", imports);
  const ex = loaded.instance.exports as Record<string, WebAssembly.Global>;
  return {
    loaded,
    read() {
      const c = zeroCounts();
      for (const k of CLASSES) c[k] = ex[counterName(k)].value as number;
      return c;
    },
  };
}

/** Seeded uniform values in [-1, 1]: one inference, or `steps` frames of a stream. */
function defaultInputs(manifest: Manifest, steps: number): Float32Array[] {
  let s = 0x9e3779b9;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; };
  const one = (shape: number[]) => Float32Array.from({ length: numel(shape) }, next);
  if (manifest.stream) return Array.from({ length: steps }, () => one(manifest.inputs[0].shape));
  return manifest.inputs.map((io) => one(io.shape));
}
