/**
 * `picojoule sweep <model.onnx> --data x.npy --labels y.npy ...`: the CLI over sweep()
 * (compiler/sweep/run.ts). Parses and checks the flags, shows progress on stderr (a bar
 * redrawn in place on a terminal, a plain line every tenth of the work otherwise, nothing
 * with -q), prints the ranked summary on stdout and writes sweep.csv and sweep.html into
 * --out. The two files are written to a temporary folder beside --out and moved in only
 * when both are complete, so a failed sweep leaves nothing half-written.
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { bad } from "../util/errors.js";
import { METHODS } from "../sweep/methods.js";
import { DEFAULT_LAMBDA } from "../sweep/pareto.js";
import { checkNumbers, sweep } from "../sweep/run.js";
import { renderCsv, renderHtml, renderText } from "../sweep/report.js";

export const SWEEP_HELP = `usage: picojoule sweep <model.onnx> --data <x.npy> --labels <y.npy> [options]

  Compiles the model with combinations of compression methods and strengths, runs each on
  the data, and ranks them: int8 / fixed-point arithmetic x pruning strength, and each
  other method alone and with each pruning strength; float32 is always the reference.
  --data <x.npy>           N inputs (N x input shape, float32), as picojoule run --input
  --labels <y.npy>         N integer class labels: top-1 accuracy of output 0
  --calibrate <x.npy>      calibration inputs for int8 (without it int8 methods are skipped)
  --target <name>          cost model target (default cortex-m4f; see picojoule profile --help)
  --runtime <mode>         native, wamr-aot (default), wamr-fast, wamr-classic
  --budget <points>        points of top-1 accuracy a configuration may lose below float32
                           (default 1); those over it are reported, never recommended
  --lambda <w>             score weight of one point of accuracy loss (default ${DEFAULT_LAMBDA})
  --methods <list>         methods to sweep, comma-separated and repeatable: name or
                           name=s1:s2 for chosen strengths (default: all, default strengths)
${METHODS.map((m) => `    ${m.name.padEnd(9)}${m.about}\n             ${m.strengths.length ? `strengths: ${m.allowed}; default ${m.strengths.join(":")}` : "(no strength)"}`).join("\n")}
  --jobs <n>               worker threads (default: the number of CPUs)
  --shape <name=1x8x8>     static shape for a symbolic input (repeatable)
  -o, --out <dir>          folder for sweep.csv and sweep.html (default out/<model name>-sweep)
  -q, --quiet              no progress output
  -h, --help

  Quality: score = log2(size_float32 / size) - lambda x max(0, accuracy loss in points),
  where size is the module's constant data (model.json memory.constantBytes): each halving
  of the weights earns 1, each point of accuracy lost costs lambda. The recommendation is
  the best score within the budget (ties: lower energy, then smaller size). The Pareto front
  is over (size, accuracy, energy per inference on the target).`;

export interface SweepCliArgs {
  model: string;
  data?: string;
  labels?: string;
  calibrate?: string;
  target?: string;
  runtime?: string;
  budget?: string;
  lambda?: string;
  methods?: string[];
  jobs?: string;
  out?: string;
  quiet?: boolean;
  shapes?: Record<string, number[]>;
}

function number(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === "" || !Number.isFinite(Number(v))) bad(`sweep: --${flag} ${v}: expected a number`);
  return Number(v);
}

function progressBar(): (done: number, total: number, name: string) => void {
  const t0 = Date.now();
  if (process.stderr.isTTY) {
    return (done, total, name) => {
      const w = 30, k = Math.round((w * done) / total);
      const eta = done > 0 && done < total ? `, ~${Math.round(((Date.now() - t0) / done) * (total - done) / 1000)} s left` : "";
      process.stderr.write(`\r\x1b[K[${"#".repeat(k)}${".".repeat(w - k)}] ${done}/${total} ${done ? name : "configurations (compiling)"}${eta}`);
      if (done === total) process.stderr.write("\n");
    };
  }
  let shown = 0;
  return (done, total, name) => {
    if (done === total || done - shown >= Math.max(1, Math.ceil(total / 10))) {
      shown = done;
      process.stderr.write(`picojoule: sweep ${done}/${total} configurations (${((Date.now() - t0) / 1000).toFixed(0)} s, last: ${name})\n`);
    }
  };
}

/** Runs the sweep; returns the summary to print. */
export async function sweepCommand(a: SweepCliArgs): Promise<string> {
  if (!a.data) bad(`sweep: --data <x.npy> is required (the inputs to measure accuracy on)`);
  if (!a.labels) bad(`sweep: --labels <y.npy> is required (integer classes, one per --data sample)`);
  const budget = number("budget", a.budget), lambda = number("lambda", a.lambda), jobs = number("jobs", a.jobs);
  checkNumbers({ budget, lambda, jobs });
  const stem = basename(a.model, extname(a.model));
  const out = resolve(a.out ?? join("out", `${stem === "model" ? basename(dirname(resolve(a.model))) || "model" : stem}-sweep`));
  if (existsSync(out) && !statSync(out).isDirectory()) bad(`sweep: ${out} exists and is not a folder`);
  const r = await sweep({
    model: a.model, data: a.data!, labels: a.labels!, calibrate: a.calibrate, target: a.target, runtime: a.runtime,
    budget, lambda, jobs, methods: a.methods, shapes: a.shapes,
    progress: a.quiet ? undefined : progressBar(),
    notice: a.quiet ? undefined : (m) => process.stderr.write(`picojoule: ${m}\n`),
  });
  writeAll(out, { "sweep.csv": renderCsv(r), "sweep.html": renderHtml(r) });
  return `${renderText(r)}\nwrote ${join(out, "sweep.csv")} and ${join(out, "sweep.html")}`;
}

/** Writes the files into `out` only once all are complete (see the file comment). */
function writeAll(out: string, files: Record<string, string>): void {
  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.tmp-`));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp, name), text);
    mkdirSync(out, { recursive: true });
    for (const name of Object.keys(files)) renameSync(join(tmp, name), join(out, name));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
