/**
 * `sweep()`, the library side of `picojoule sweep`: checks every input before any work
 * (budget, jobs, target and runtime, methods, the data against the model's input, the
 * labels against the data and output 0), builds the grid (methods.ts), evaluates every
 * configuration (evaluate.ts) on a pool of worker threads or in this thread, and judges the
 * results (pareto.ts): accuracy and its loss below float32, compression, score, budget,
 * Pareto front, ranking and the recommendation.
 *
 * Workers must run compiled JavaScript: the script is worker.js beside this module (the
 * built CLI, dist/compiler/sweep/), or, when this module runs from the TypeScript sources
 * (tests), the package's dist/compiler/sweep/worker.js. When there is none, the sweep runs
 * in this thread, one configuration at a time, and says so through `notice`.
 * Results come back by grid index, so they are the same for any number of workers.
 */
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { bad, internal } from "../util/errors.js";
import { packageRoot } from "../util/paths.js";
import { readNpy } from "../util/npy.js";
import { numel, tensor } from "../ir/graph.js";
import { importAndLower } from "../pipeline.js";
import { samplesFromNpy, samplesFromShape } from "../io.js";
import { buildGrid, parseMethods, type Config } from "./methods.js";
import { evaluate, type EvalResult, type Measured } from "./evaluate.js";
import { accuracyLoss, compareRanked, DEFAULT_LAMBDA, paretoFront, recommend, score, withinBudget } from "./pareto.js";
import type { WorkerData, WorkerReply, WorkerTask } from "./worker.js";

export interface SweepOptions {
  model: string;
  /** Inputs: N x the model input's shape (.npy), as `picojoule run --input`. */
  data: string;
  /** N integer class labels (.npy). */
  labels: string;
  calibrate?: string;
  target?: string;
  runtime?: string;
  /** Points of top-1 accuracy a configuration may lose below float32 (default 1). */
  budget?: number;
  /** Score weight of one point of accuracy loss (default 1). */
  lambda?: number;
  /** Worker threads (default: the number of CPUs). */
  jobs?: number;
  /** --methods items ("name" or "name=s1:s2"); default every method. */
  methods?: string[];
  shapes?: Record<string, number[]>;
  /** Called with done = 0 before the first configuration, then after each one (`name` the one finished). */
  progress?: (done: number, total: number, name: string) => void;
  /** Messages the user must see (workers unavailable, methods skipped). */
  notice?: (message: string) => void;
  /** The worker script; null evaluates in this thread. Default: see the file comment. */
  workerScript?: string | null;
}

export interface SweepRow {
  /** Position in the grid. */
  index: number;
  name: string;
  flags: string[];
  failed?: string;
  mode: string;
  right: number;
  samples: number;
  accuracy: number;
  lossPoints: number;
  sizeBytes: number;
  compression: number;
  joules: number;
  seconds: number;
  cycles: number;
  instructions: number;
  wasmBytes: number;
  fits: boolean;
  kernels: string[];
  score: number;
  within: boolean;
  pareto: boolean;
  /** 1 = best; failed configurations are ranked last. */
  rank: number;
}

export interface SweepResult {
  model: string;
  data: string;
  target: string;
  runtime: string;
  budget: number;
  lambda: number;
  /** Worker threads used (0: evaluated in this thread). */
  workers: number;
  reference: SweepRow;
  /** Ranked, best first. */
  rows: SweepRow[];
  /** The Pareto front, by size. */
  front: SweepRow[];
  recommended?: SweepRow;
  notes: string[];
  seconds: number;
}

/** The compiled worker script, or undefined when there is none (see the file comment). */
export function defaultWorkerScript(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const beside = join(dirname(here), "worker.js");
  if (here.endsWith(".js")) return existsSync(beside) ? beside : undefined;
  const built = join(packageRoot(), "dist", "compiler", "sweep", "worker.js");
  return existsSync(built) ? built : undefined;
}

/** Integer class labels, one per sample, each a valid index into output 0. */
function readLabels(file: string, n: number, classes: number): number[] {
  const arr = readNpy(file);
  if (arr.dtype === "bool") bad(`${file}: labels are bool; expected integer class indices`);
  const labels = Array.from(arr.data as ArrayLike<number | bigint>, Number);
  if (labels.length !== n) bad(`${file}: ${labels.length} labels (shape ${arr.shape.join("x") || "scalar"}) for ${n} data samples; expected one label per sample`);
  const i = labels.findIndex((y) => !Number.isInteger(y) || y < 0);
  if (i >= 0) bad(`${file}: label ${labels[i]} at index ${i} is not a class index (labels must be integers >= 0)`);
  const j = labels.findIndex((y) => y >= classes);
  if (j >= 0) bad(`${file}: label ${labels[j]} at index ${j}, but output 0 has ${classes} classes (0 to ${classes - 1})`);
  return labels;
}

/** Checks the options a sweep can refuse without compiling anything; throws bad() with one line. */
export function checkNumbers(o: Pick<SweepOptions, "budget" | "lambda" | "jobs">): void {
  if (o.budget !== undefined && !(Number.isFinite(o.budget) && o.budget >= 0)) bad(`sweep: --budget ${o.budget}: expected points of accuracy >= 0, e.g. 1`);
  if (o.lambda !== undefined && !(Number.isFinite(o.lambda) && o.lambda >= 0)) bad(`sweep: --lambda ${o.lambda}: expected a weight >= 0, e.g. 1`);
  if (o.jobs !== undefined && !(Number.isInteger(o.jobs) && o.jobs >= 1)) bad(`sweep: --jobs ${o.jobs}: expected a whole number of worker threads >= 1`);
}

export async function sweep(o: SweepOptions): Promise<SweepResult> {
  const t0 = Date.now();
  const notice = o.notice ?? (() => {});
  const notes: string[] = [];
  const say = (m: string) => { notes.push(m); notice(m); };
  checkNumbers(o);
  const budget = o.budget ?? 1, lambda = o.lambda ?? DEFAULT_LAMBDA;
  const { loadTarget, loadRuntime } = await import("../../targets/cost.js");
  const target = loadTarget(o.target ?? "cortex-m4f");
  const runtime = loadRuntime(o.runtime ?? (target.runtimes.includes("wamr-aot") ? "wamr-aot" : target.runtimes[0]), target);
  const g = importAndLower(o.model, { shapes: o.shapes });
  const { choices, skipped, notApplicable } = parseMethods(o.methods, o.calibrate !== undefined, g);
  if (g.inputs.length !== 1) bad(`${o.model}: the model has ${g.inputs.length} inputs (${g.inputs.join(", ")}); sweep feeds single-input models`);
  const input = tensor(g, g.inputs[0]);
  const samples = samplesFromShape(input.name, input.shape, readNpy(o.data), o.data, "data");
  const labels = readLabels(o.labels, samples.length, numel(tensor(g, g.outputs[0]).shape));
  if (o.calibrate) samplesFromNpy(g, readNpy(o.calibrate), o.calibrate, "calibration set");
  if (skipped.length) say(`sweep: no --calibrate, so ${skipped.join(", ")} (int8) not swept`);
  if (notApplicable.length) say(`sweep: not applicable to this model: ${notApplicable.join(", ")}`);
  const grid = buildGrid(choices, o.calibrate);
  for (const c of grid) if (o.shapes) c.options.shapes = o.shapes;

  const jobs = Math.min(o.jobs ?? availableParallelism(), grid.length);
  let script = o.workerScript === null ? undefined : o.workerScript ?? defaultWorkerScript();
  if (o.workerScript !== undefined && o.workerScript !== null && !existsSync(o.workerScript)) bad(`sweep: worker script ${o.workerScript} not found`);
  if (jobs > 1 && !script) {
    say(`sweep: no compiled worker script (dist/compiler/sweep/worker.js; build with npm run build): evaluating in this thread, one configuration at a time, instead of ${jobs} workers`);
  }
  const base = { model: o.model, samples, target: target.name, runtime: runtime.name };
  let done = 0;
  const tick = (i: number) => o.progress?.(++done, grid.length, grid[i].name);
  o.progress?.(0, grid.length, "");
  const results = jobs > 1 && script ? await runPool(script, base, grid, jobs, tick) : await runHere(base, grid, tick);
  const rows = judge(grid, results, labels, budget, lambda);
  const reference = rows.find((r) => r.index === 0)!;
  if (reference.failed) bad(`sweep: the float32 compile of ${o.model} failed: ${reference.failed}`);
  return {
    model: o.model, data: o.data, target: target.name, runtime: runtime.name, budget, lambda, workers: jobs > 1 && script ? jobs : 0,
    reference, rows, front: rows.filter((r) => r.pareto).sort((a, b) => a.sizeBytes - b.sizeBytes || b.accuracy - a.accuracy || a.joules - b.joules),
    recommended: recommend(rows), notes, seconds: (Date.now() - t0) / 1000,
  };
}

async function runHere(base: WorkerData, grid: Config[], tick: (i: number) => void): Promise<EvalResult[]> {
  const out: EvalResult[] = [];
  for (const [i, c] of grid.entries()) {
    out.push(await evaluate({ ...base, options: c.options }));
    tick(i);
  }
  return out;
}

function runPool(script: string, base: WorkerData, grid: Config[], jobs: number, tick: (i: number) => void): Promise<EvalResult[]> {
  const results: EvalResult[] = new Array(grid.length);
  let next = 0, finished = 0;
  const workers: Worker[] = [];
  return new Promise<EvalResult[]>((resolve, reject) => {
    let over = false;
    const stop = (err?: Error) => {
      if (over) return;
      over = true;
      for (const w of workers) void w.terminate();
      if (err) reject(err); else resolve(results);
    };
    const feed = (w: Worker) => {
      if (next < grid.length) { const index = next++; w.postMessage({ index, options: grid[index].options } satisfies WorkerTask); }
    };
    for (let k = 0; k < jobs; k++) {
      const w = new Worker(script, { workerData: base satisfies WorkerData });
      workers.push(w);
      w.on("message", (r: WorkerReply) => {
        if ("crash" in r) return stop(mkInternal(`sweep: configuration '${grid[r.index].name}' crashed a worker: ${r.crash}`));
        results[r.index] = r.result;
        tick(r.index);
        if (++finished === grid.length) return stop();
        feed(w);
      });
      w.on("error", (e) => stop(mkInternal(`sweep: worker ${script} failed: ${e.stack ?? e.message}`)));
      w.on("exit", (code) => { if (!over) stop(mkInternal(`sweep: worker ${script} exited (code ${code}) before the sweep finished`)); });
      feed(w);
    }
  });
}

function mkInternal(message: string): Error {
  try { internal(message); } catch (e) { return e as Error; }
  return new Error(message);
}

function judge(grid: Config[], results: EvalResult[], labels: number[], budget: number, lambda: number): SweepRow[] {
  const n = labels.length;
  const ref = results[0].ok ? results[0].measured : undefined;
  const refRight = ref ? ref.predictions.filter((p, i) => p === labels[i]).length : 0;
  const refAcc = (100 * refRight) / n;
  const rows: SweepRow[] = grid.map((c, index) => {
    const r = results[index];
    const blank = { mode: "", right: 0, samples: n, accuracy: NaN, lossPoints: NaN, sizeBytes: NaN, compression: NaN, joules: NaN, seconds: NaN, cycles: NaN, instructions: NaN, wasmBytes: NaN, fits: false, kernels: [], score: NaN, within: false, pareto: false, rank: 0 };
    if (!r.ok) return { index, name: c.name, flags: c.flags, failed: r.message, ...blank };
    const m: Measured = r.measured;
    const right = m.predictions.filter((p, i) => p === labels[i]).length;
    const accuracy = (100 * right) / n;
    const lossPoints = accuracyLoss(accuracy, refAcc);
    const sizeBytes = m.constantBytes;
    return {
      index, name: c.name, flags: c.flags, mode: m.mode, right, samples: n, accuracy, lossPoints, sizeBytes,
      compression: ref ? ref.constantBytes / sizeBytes : NaN, joules: m.joules, seconds: m.seconds, cycles: m.cycles,
      instructions: m.instructions, wasmBytes: m.wasmBytes, fits: m.fits, kernels: m.kernels,
      score: ref ? score(sizeBytes, ref.constantBytes, lossPoints, lambda) : NaN, within: withinBudget(lossPoints, budget), pareto: false, rank: 0,
    };
  });
  const ok = rows.filter((r) => !r.failed);
  for (const i of paretoFront(ok)) ok[i].pareto = true;
  const ranked = [...rows].sort(compareRanked);
  ranked.forEach((r, k) => { r.rank = k + 1; });
  return ranked;
}
