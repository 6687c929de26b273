#!/usr/bin/env node
/**
 * The picojoule command line: compile, run and inspect. Each command is a thin layer over
 * the library (pipeline.ts, runner.ts), so the CLI and the API behave the same. Exit codes:
 * 0 ok, 1 internal failure, 2 bad input (always with a one-line message on stderr).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { basename, dirname, extname, join } from "node:path";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { PicoError, bad } from "../util/errors.js";
import { version } from "../util/paths.js";
import { compileModel, writeOutputs } from "../pipeline.js";
import { loadCompiled, runFloat, runStream, type Loaded } from "../runner.js";
import { framesOf } from "../stream/selftest.js";
import { makeValue } from "../ir/graph.js";
import { encodeNpy, readNpy, type NpyArray } from "../util/npy.js";
import { inspectModel, fmtMacs } from "./inspect.js";
import { PROFILE_HELP, profileCommand } from "./profile.js";
import { SIMULATE_HELP, simulateCommand, type SimulateArgs } from "./simulate.js";
import { SWEEP_HELP, sweepCommand, type SweepCliArgs } from "./sweep.js";
import { parseOffload } from "../passes/offload.js";
import { parsePrune } from "../passes/prune.js";
import { parseLowrank } from "../passes/lowrank.js";
import { parseCirculant, parseCirculantKernel } from "../passes/circulant.js";
import type { NvLayout, TaskGrain } from "../emit/intermittent.js";
import { parsePruneChannels } from "../passes/prune-channels.js";
import { parseShare } from "../passes/share.js";
import { parseWeights } from "../passes/subbyte.js";
import type { UpsampleMode } from "../ops/time-upsample.js";

const HELP: Record<string, string> = {
  main: `picojoule ${"{version}"}: compile ONNX models to small, WAMR-ready WebAssembly

usage: picojoule <command> [options]

commands:
  compile <model.onnx>     compile to model.wasm, model.ts, model.json, model.h
  run <dir|model.wasm>     run a compiled model on inputs from a .npy file
  inspect <model.onnx|dir> per-layer table: op, shapes, params, MACs, bytes, arena
  profile <dir> --target T cycles, latency, energy, RAM and flash per layer on a target MCU
  simulate <dir> --intermittent
                           run a --intermittent module through power failures (random, or a
                           capacitor and a harvester): same answer?, time, overhead, policies
  sweep <model.onnx>       compile with combinations of compression methods, rank accuracy,
                           size and energy (--data x.npy --labels y.npy): sweep.csv, sweep.html

Run 'picojoule <command> --help' for a command's options.
Exit codes: 0 ok, 1 internal failure, 2 bad input.`,
  compile: `usage: picojoule compile <model.onnx> [options]

  -o, --out <dir>          output folder (default: out/<model name>)
  --quantize none|int8     arithmetic: float32 (none, default) or int8 post-training quantization
  --calibrate <x.npy>      calibration inputs for int8: N x input shape, float32
  --fixed Qm.f             Q-format fixed point instead (e.g. Q4.4, Q8.8: m integer bits with the
                           sign, f fractional bits, 2 to 16 bits; int8 storage up to 8, int16
                           above): the ElasticAI FPGA arithmetic (truncate, saturate, hard
                           sigmoid / hard tanh); no calibration
  --stream                 streaming: export step() (one time step per call, state kept inside)
                           and reset() instead of run(); causal 1-D conv/pool stacks and forward
                           LSTM/GRU/RNN compute only what each new step changes
  --soi <k>                Scattered Online Inference: the deep path (from --soi-split, or the
                           split that saves the most MACs and rejoins the every-step layers)
                           runs every k-th step; its dilations must be multiples of k
  --soi-mode <mode>        between deep steps: hold (default: reuse the newest deep result),
                           extrapolate (linearly from the two newest), predict (use the previous
                           deep step's result, so the deep path can run after the output)
  --soi-split <layer>      name of the first layer of the deep path
  --prune <s|layer=s>      magnitude pruning: the fraction s of each fully connected layer's
                           smallest weights become 0 (repeatable); with --quantize int8 a
                           layer sparse enough runs on the sparse kernel
  --prune-channels <s|layer=s>  channel pruning: the share s of a Conv's or fully connected
                           layer's output channels with the smallest L1 norm go, and the
                           layers after it shrink with it (repeatable)
  --prune-balance <B>      column-balanced pruning (Spartus): each column's sub-columns of B rows
                           keep the same number of weights
  --lowrank <r|layer=r>    low-rank factors (truncated SVD) of fully connected layers: W [N,K]
                           becomes two layers through r units; r a rank, or a share in (0, 1)
                           of the squared singular values to keep (repeatable)
  --circulant <k|layer=k>  block-circulant weights (k x k circulant blocks, one vector each: k
                           times fewer weights) for fully connected layers (repeatable)
  --intermittent <tile|layer|unit>
                           checkpointed inference for harvested power: idempotent tasks (output
                           tiles of about --task-instructions, whole layers, or every block and
                           row of outputs) and a non-volatile progress record
                           (docs/intermittent.md)
  --task-instructions <n>  with --intermittent tile: wasm instructions a task should not
                           exceed where its layer splits (20000; measured per layer)
  --nv-layout <distinct|shared>
                           with --intermittent: every tensor its own bytes in the region
                           (default; deferred commits are never forced early) or the plain
                           module's smaller arena, where dead tensors' bytes are reused
  --circulant-kernel <auto|direct|fft>
                           float kernel of the circulant layers: by default the one with fewer
                           estimated instructions; fft needs k a power of two up to 256
  --ternary <layer|all>    ternary weights (TWN) for fully connected layers (repeatable; with
                           --quantize int8): -m, 0 or m per weight, an additions-only kernel
  --pow2 <layer|all>       power-of-two weights for fully connected layers (repeatable; with
                           --quantize int8): 0 or ±2^j per int8 weight, 4-bit codes, shifts
  --binary <layer|all>     binary fully connected layers (XNOR-Net, repeatable; with --quantize
                           int8): ±α weights and the input's signs, XNOR-popcount
  --share <bits|layer=bits>
                           weight sharing (k-means codebook of 2^bits int8 values, bits 2, 3
                           or 4) for fully connected and Conv layers (repeatable; with --quantize int8):
                           packed indices, one requantization per layer
  --weights <fmt|layer=fmt>
                           sub-byte weights int4 ([-7, 7]) or int2 ({-3, -1, 1, 3}) per row for
                           fully connected and Conv layers (repeatable; with --quantize int8), packed
                           two or four per byte; int4-tensor / int2-tensor: one scale for the
                           layer (run as a shared layer, one requantization per layer)
  --eie <layer|all>        EIE's compressed columns for sparse fully connected layers whose int8
                           weights take at most 15 non-zero values (repeatable; with --quantize
                           int8, e.g. after --prune and --share 4): 4-bit codebook index and
                           run per weight; only the columns of non-zero activations are walked
  --delta <spec>           delta LSTM / GRU (Spartus): propagate an input / hidden change only
                           when |change| >= theta and skip the other weight columns; spec
                           <theta>, x=<theta_x>,h=<theta_h>, or <layer>:<either> (repeatable);
                           real units; float, or --fixed for LSTM (docs/delta-lstm.md)
  --offload <layer=acc>    run a layer on a host accelerator through imported functions
                           (repeatable): fpga-lstm (a Q-format LSTM, with --fixed) or rram (a
                           float Gemm/MatMul); the ABI is in compiler/emit/offload.ts. Without
                           it the module has no imports
  --selftest               embed golden inputs and export selftest(): i32 (0 = matches the reference)
  --shape <name=1x8x8>     static shape for an input whose shape is symbolic (repeatable)
  -q, --quiet              no progress output
  -h, --help`,
  run: `usage: picojoule run <dir|model.wasm> --input <x.npy> [options]

  --input <x.npy>          N inferences: N x input shape (a leading batch dim of 1 may be left out)
  --output <y.npy>         write outputs (dequantized float32), N x output shape; a model's
                           further outputs go to y.1.npy, y.2.npy, ...
  --labels <y.npy>         int labels: print the top-1 accuracy of output 0
  --stream                 the module was compiled with --stream: --input holds one sequence
                           (the input shape with any length along the time axis); it is fed
                           one step at a time and --output gets, per output, one row per step
                           at which the output was written
  -h, --help`,
  inspect: `usage: picojoule inspect <model.onnx|dir> [--shape name=1x8x8]

  Prints one row per layer (op, input and output shapes, parameters, MACs, parameter bytes)
  and the memory plan. On a compiled folder it reads model.json.
  -h, --help`,
};

function parseShapes(list: string[] | undefined): Record<string, number[]> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, number[]> = {};
  for (const s of list) {
    const m = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(s);
    if (!m) bad(`--shape ${s}: expected name=DIMxDIM..., e.g. input=1x3x32x32`);
    out[m![1]] = m![2].split("x").map(Number);
  }
  return out;
}

function defaultOut(model: string): string {
  const stem = basename(model, extname(model));
  return join("out", stem === "model" ? basename(dirname(model)) || "model" : stem);
}

function args(cmd: string, argv: string[], options: ParseArgsConfig["options"]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options: { help: { type: "boolean", short: "h" }, ...options }, allowPositionals: true, strict: true });
  } catch (e) {
    return bad(`${cmd}: ${(e as Error).message.split("\n")[0]} (see picojoule ${cmd} --help)`);
  }
}

async function compileCmd(argv: string[]): Promise<void> {
  const { values: v, positionals } = args("compile", argv, {
    out: { type: "string", short: "o" }, quantize: { type: "string" }, calibrate: { type: "string" }, fixed: { type: "string" },
    selftest: { type: "boolean" }, shape: { type: "string", multiple: true }, quiet: { type: "boolean", short: "q" }, stream: { type: "boolean" },
    soi: { type: "string" }, "soi-mode": { type: "string" }, "soi-split": { type: "string" }, offload: { type: "string", multiple: true }, ternary: { type: "string", multiple: true }, pow2: { type: "string", multiple: true }, binary: { type: "string", multiple: true }, prune: { type: "string", multiple: true }, lowrank: { type: "string", multiple: true }, circulant: { type: "string", multiple: true }, "circulant-kernel": { type: "string" }, intermittent: { type: "string" }, "task-instructions": { type: "string" }, "nv-layout": { type: "string" }, "prune-balance": { type: "string" }, "prune-channels": { type: "string", multiple: true },
    delta: { type: "string", multiple: true }, share: { type: "string", multiple: true }, weights: { type: "string", multiple: true },
    eie: { type: "string", multiple: true },
  });
  if (v.help) return void console.log(HELP.compile);
  if (positionals.length !== 1) bad(`compile: expected one model file, got ${positionals.length} (see picojoule compile --help)`);
  const model = positionals[0];
  const quantize = (v.quantize as string | undefined) ?? "none";
  if (quantize !== "none" && quantize !== "int8") bad(`compile: --quantize ${quantize}: expected none or int8`);
  const fixed = v.fixed as string | undefined;
  if (fixed !== undefined && quantize === "int8") bad(`compile: --fixed ${fixed} and --quantize int8 exclude each other: choose one arithmetic`);
  if (fixed !== undefined && v.calibrate) bad(`compile: --fixed ${fixed}: --calibrate is not used (a Q format fixes every range); leave it out`);
  if (v.calibrate && quantize !== "int8") bad(`compile: --calibrate is only used with --quantize int8`);
  if ((v["soi-mode"] !== undefined || v["soi-split"] !== undefined) && v.soi === undefined) bad(`compile: --soi-mode and --soi-split go with --soi <k>`);
  if (v.soi !== undefined && !/^\d+$/.test(v.soi as string)) bad(`compile: --soi ${v.soi}: expected a whole number of steps (e.g. --soi 2)`);
  const soi = v.soi === undefined ? undefined : { k: Number(v.soi), mode: v["soi-mode"] as UpsampleMode | undefined, split: v["soi-split"] as string | undefined };
  const out = (v.out as string | undefined) ?? defaultOut(model);
  if (existsSync(out) && !statSync(out).isDirectory()) bad(`compile: ${out} exists and is not a folder`);
  const t0 = Date.now();
  // progress goes to a terminal only, so piped stderr carries nothing but the error line
  const progress = v.quiet || !process.stderr.isTTY ? undefined : (s: string) => process.stderr.write(`picojoule: ${s}...\n`);
  const c = await compileModel(model, {
    quantize, fixed, calibrate: v.calibrate as string | undefined, selftest: Boolean(v.selftest), shapes: parseShapes(v.shape as string[] | undefined), progress,
    stream: Boolean(v.stream), soi, offload: v.offload ? parseOffload(v.offload as string[]) : undefined, ternary: v.ternary as string[] | undefined, pow2: v.pow2 as string[] | undefined, binary: v.binary as string[] | undefined,
    prune: v.prune ? parsePrune(v.prune as string[]) : undefined,
    lowrank: v.lowrank ? parseLowrank(v.lowrank as string[]) : undefined,
    circulant: v.circulant ? parseCirculant(v.circulant as string[]) : undefined,
    intermittent: v["task-instructions"] !== undefined && v.intermittent === undefined ? bad("--task-instructions goes with --intermittent tile")
      : v["nv-layout"] !== undefined && v.intermittent === undefined ? bad("--nv-layout goes with --intermittent")
      : v.intermittent !== undefined ? { tasks: v.intermittent as TaskGrain, ...(v["task-instructions"] !== undefined ? { taskInstructions: Number(v["task-instructions"]) } : {}), ...(v["nv-layout"] !== undefined ? { layout: v["nv-layout"] as NvLayout } : {}) } : undefined,
    circulantKernel: v["circulant-kernel"] !== undefined ? parseCirculantKernel(v["circulant-kernel"] as string) : undefined,
    pruneBalance: v["prune-balance"] === undefined ? undefined : Number(v["prune-balance"]),
    pruneChannels: v["prune-channels"] ? parsePruneChannels(v["prune-channels"] as string[]) : undefined,
    delta: v.delta as string[] | undefined,
    share: v.share ? parseShare(v.share as string[]) : undefined, weights: v.weights ? parseWeights(v.weights as string[]) : undefined,
    eie: v.eie as string[] | undefined,
  });
  const files = writeOutputs(c, out);
  const m = c.manifest;
  console.log(`${model} -> ${out}/ (${m.mode}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  console.log(`  wasm ${m.memory.wasmBytes} B, constants ${m.memory.constantBytes} B, arena ${m.memory.arenaBytes} B (lower bound ${m.memory.arenaLowerBound} B), ${m.memory.pages} page(s)`);
  if (m.offload) console.log(`  offloaded: ${m.offload.map((o) => `'${o.layer}' -> ${o.accelerator} (import ${o.import})`).join(", ")}`);
  if (m.soi) console.log(`  SOI: every ${m.soi.k} steps (${m.soi.mode}) from '${m.soi.split}': ${m.soi.deep.length} deep layer(s), rejoining at ${m.soi.rejoins.join(", ")}`);
  if (m.stream) console.log(`  ${m.layers.length} layers, ${m.totals.params} parameters (${m.totals.paramBytes} B), ${fmtMacs(m.stream.macsPerStep)} MACs per step (busiest step ${m.stream.peakMacsPerStep}; recomputing the ${m.stream.windowSteps}-step window: ${m.stream.windowMacs})`);
  else console.log(`  ${m.layers.length} layers, ${m.totals.params} parameters (${m.totals.paramBytes} B as float32/int8/int32 tensors, ${m.totals.storedBytes} B as the module stores them), ${m.totals.macs} MACs per inference`);
  console.log(`  ${files.map((f) => basename(f)).join(", ")}`);
}

/** run --stream: cuts the sequence into frames along the time axis and writes the outputs step by step. */
function streamCmd(m: Loaded, arr: NpyArray, file: string, output?: string): void {
  const io = m.manifest.inputs[0];
  const ax = m.manifest.stream!.timeAxis;
  const want = io.shape.map((d, i) => (i === ax ? "T" : String(d))).join("x");
  if (arr.dtype !== "float32") bad(`${file}: dtype ${arr.dtype}; the sequence must be float32`);
  if (arr.shape.length !== io.shape.length || arr.shape.some((d, i) => i !== ax && d !== io.shape[i]) || arr.shape[ax] < 1) {
    bad(`${file}: shape ${arr.shape.join("x")} is not a sequence of input '${io.name}' (${want}, time along axis ${ax})`);
  }
  const frames = framesOf(makeValue("float32", arr.shape, arr.data as Float32Array), ax).map((f) => f.data as Float32Array);
  const r = runStream(m, frames);
  const written: string[] = [];
  m.manifest.outputs.forEach((o, k) => {
    const per = o.shape.reduce((a, b) => a * b, 1);
    const rows = r.outputs[k];
    const data = new Float32Array(per * rows.length);
    rows.forEach((v, i) => data.set(v, i * per));
    if (output) {
      const f = k === 0 ? output : output.replace(/(\.npy)?$/, `.${k}.npy`);
      writeFileSync(f, encodeNpy({ dtype: "float32", shape: [rows.length, ...o.shape], data }));
      written.push(f);
    } else for (const v of rows) console.log(Array.from(v, (x) => +x.toPrecision(6)).join(" "));
  });
  const counts = r.outputs.map((rows, k) => `${m.manifest.outputs[k].name}: ${rows.length}`).join(", ");
  console.log(`${frames.length} step(s) streamed (outputs written per step: ${counts})${written.length ? `; outputs written to ${written.join(", ")}` : ""}`);
}

/** Loads a compiled module; one with offloaded layers gets the simulated accelerators as its host. */
async function loadWithHost(path: string): Promise<Loaded> {
  const { offloadHost } = await import("../../targets/offload/host.js");
  let host: ReturnType<typeof offloadHost> | undefined;
  const loaded = await loadCompiled(path, (manifest) => (manifest.offload ? (host = offloadHost()).imports : {}));
  if (host) {
    host.bind(loaded.memory);
    console.error(`picojoule: offloaded layers run on the simulated accelerators (targets/sim)`);
  }
  return loaded;
}

async function runCmd(argv: string[]): Promise<void> {
  const { values: v, positionals } = args("run", argv, { input: { type: "string" }, output: { type: "string" }, labels: { type: "string" }, stream: { type: "boolean" } });
  if (v.help) return void console.log(HELP.run);
  if (positionals.length !== 1) bad(`run: expected one compiled folder or model.wasm (see picojoule run --help)`);
  if (!v.input) bad(`run: --input <x.npy> is required`);
  const m = await loadWithHost(positionals[0]);
  if (m.manifest.inputs.length !== 1) bad(`run: the model has ${m.manifest.inputs.length} inputs; the CLI feeds single-input models`);
  const io = m.manifest.inputs[0];
  const file = v.input as string;
  const arr = readNpy(file);
  if (Boolean(m.manifest.stream) !== Boolean(v.stream)) {
    bad(m.manifest.stream ? `run: ${positionals[0]} was compiled with --stream; pass --stream to feed it a sequence` : `run: --stream needs a module compiled with --stream; ${positionals[0]} was not`);
  }
  if (m.manifest.stream) return streamCmd(m, arr, file, v.output as string | undefined);
  const { samplesFromShape } = await import("../io.js");
  const samples = samplesFromShape(io.name, io.shape, arr, file, "input");
  const outs: Float32Array[][] = samples.map((x) => runFloat(m, [x]));
  const written: string[] = [];
  if (v.output) {
    // output 0 goes to the named file; further outputs beside it as <stem>.<k>.npy
    m.manifest.outputs.forEach((o, k) => {
      const per = o.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(per * outs.length);
      outs.forEach((r, i) => data.set(r[k], i * per));
      const shape = o.shape[0] === 1 ? [outs.length, ...o.shape.slice(1)] : [outs.length, ...o.shape];
      const file = k === 0 ? (v.output as string) : (v.output as string).replace(/(\.npy)?$/, `.${k}.npy`);
      writeFileSync(file, encodeNpy({ dtype: "float32", shape, data }));
      written.push(file);
    });
  }
  if (v.labels) {
    const lab = readNpy(v.labels as string);
    if (lab.data.length !== outs.length) bad(`${v.labels}: ${lab.data.length} labels for ${outs.length} inputs`);
    let right = 0;
    outs.forEach((r, i) => {
      const y = r[0];
      let best = 0;
      for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
      if (best === Number(lab.data[i])) right++;
    });
    console.log(`accuracy ${(100 * right / outs.length).toFixed(2)}% (${right}/${outs.length})`);
  }
  if (!v.output && !v.labels) for (const r of outs) console.log(Array.from(r[0], (x) => +x.toPrecision(6)).join(" "));
  else console.log(`${outs.length} inference(s) run${written.length ? `, outputs written to ${written.join(", ")}` : ""}`);
}

async function inspectCmd(argv: string[]): Promise<void> {
  const { values: v, positionals } = args("inspect", argv, { shape: { type: "string", multiple: true } });
  if (v.help) return void console.log(HELP.inspect);
  if (positionals.length !== 1) bad(`inspect: expected one model file or compiled folder`);
  console.log(inspectModel(positionals[0], parseShapes(v.shape as string[] | undefined)));
}

async function profileCmd(argv: string[]): Promise<number> {
  const { values: v, positionals } = args("profile", argv, {
    target: { type: "string" }, runtime: { type: "string" }, input: { type: "string" }, battery: { type: "string" },
    rate: { type: "string" }, harvest: { type: "string" }, json: { type: "boolean" }, html: { type: "string" },
  });
  if (v.help) { console.log(PROFILE_HELP); return 0; }
  if (positionals.length !== 1) bad(`profile: expected one compiled folder (see picojoule profile --help)`);
  if (!v.target) bad(`profile: --target <name> is required (see picojoule profile --help for the targets)`);
  const { out, fits } = await profileCommand({ ...(v as Record<string, string>), dir: positionals[0], target: v.target as string, json: Boolean(v.json) });
  console.log(out);
  return fits ? 0 : 2;
}

async function simulateCmd(argv: string[]): Promise<number> {
  const { values: v, positionals } = args("simulate", argv, {
    intermittent: { type: "boolean" }, target: { type: "string" }, runtime: { type: "string" }, power: { type: "string" },
    capacitor: { type: "string" }, harvest: { type: "string" }, policy: { type: "string" }, seed: { type: "string" }, runs: { type: "string" },
    "nv-cycles-per-byte": { type: "string" }, "nv-cycles-per-write": { type: "string" }, persist: { type: "string" }, input: { type: "string" }, index: { type: "string" }, json: { type: "boolean" },
  });
  if (v.help) { console.log(SIMULATE_HELP); return 0; }
  if (positionals.length !== 1) bad(`simulate: expected one compiled folder (see picojoule simulate --help)`);
  if (!v.intermittent) bad("simulate: say what to simulate: --intermittent (power failures of a module compiled with --intermittent)");
  const { out, ok } = await simulateCommand({ ...(v as Omit<SimulateArgs, "dir">), dir: positionals[0] });
  console.log(out);
  return ok ? 0 : 1;
}

async function sweepCmd(argv: string[]): Promise<void> {
  const { values: v, positionals } = args("sweep", argv, {
    data: { type: "string" }, labels: { type: "string" }, calibrate: { type: "string" }, target: { type: "string" }, runtime: { type: "string" },
    budget: { type: "string" }, lambda: { type: "string" }, methods: { type: "string", multiple: true }, jobs: { type: "string" },
    out: { type: "string", short: "o" }, quiet: { type: "boolean", short: "q" }, shape: { type: "string", multiple: true },
  });
  if (v.help) return void console.log(SWEEP_HELP);
  if (positionals.length !== 1) bad(`sweep: expected one model file, got ${positionals.length} (see picojoule sweep --help)`);
  console.log(await sweepCommand({ ...(v as Omit<SweepCliArgs, "model" | "shapes">), model: positionals[0], shapes: parseShapes(v.shape as string[] | undefined) }));
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
      console.log(HELP.main.replace("{version}", version()));
      return cmd ? 0 : 2;
    }
    if (cmd === "--version") { console.log(version()); return 0; }
    if (cmd === "compile") await compileCmd(rest);
    else if (cmd === "run") await runCmd(rest);
    else if (cmd === "inspect") await inspectCmd(rest);
    else if (cmd === "profile") return await profileCmd(rest);
    else if (cmd === "sweep") await sweepCmd(rest);
    else if (cmd === "simulate") return await simulateCmd(rest);
    else bad(`unknown command '${cmd}' (commands: compile, run, inspect, profile, simulate, sweep; see picojoule --help)`);
    return 0;
  } catch (e) {
    if (e instanceof PicoError) {
      console.error(`picojoule: ${e.message}`);
      return e.exitCode;
    }
    console.error(`picojoule: internal error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}

const invoked = process.argv[1] && /main\.[jt]s$/.test(process.argv[1]) || process.argv[1]?.endsWith("picojoule");
if (invoked) main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
