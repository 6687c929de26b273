/**
 * The compiler as one readable function of named stages: import, fold-pad, fold-batchnorm,
 * fuse-activation, [soi], [calibrate + quantize | quantize-fixed], [stream], plan-memory, emit, asc. This is the only place
 * that knows the order of the passes. The CLI and the library both call `compileModel`
 * and `writeOutputs`, so they behave the same.
 */
import { applyOffload, type Accelerator } from "./passes/offload.js";
import { applyTernary } from "./passes/ternary.js";
import { applyPow2 } from "./passes/pow2.js";
import { applyBinary } from "./passes/binary.js";
import { applyPrune } from "./passes/prune.js";
import { applyLowrank } from "./passes/lowrank.js";
import { applyCirculant, type CirculantKernel } from "./passes/circulant.js";
import { NV_LAYOUTS, TASK_GRAINS, type IntermittentOptions, type NvLayout, type TaskGrain } from "./emit/intermittent.js";
import { profileModule } from "../targets/profile/dynamic.js";
import { instructions } from "../targets/profile/instrument.js";
import { applyPruneChannels } from "./passes/prune-channels.js";
import { applyShare } from "./passes/share.js";
import { applySubbyte, type Subbyte } from "./passes/subbyte.js";
import { applyDelta } from "./passes/delta.js";
import { applyEie } from "./passes/eie.js";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { bad } from "./util/errors.js";
import { readNpy } from "./util/npy.js";
import { importOnnxFile } from "./onnx/import.js";
import { foldPad } from "./passes/fold-pad.js";
import { foldBatchNorm } from "./passes/fold-batchnorm.js";
import { fuseActivation } from "./passes/fuse-activation.js";
import { calibrate, quantizeGraph, quantizeValue } from "./passes/quantize.js";
import { fixedName, parseFixed, quantizeFixedGraph } from "./passes/quantize-fixed.js";
import { qFromReal, qStorage, type QFmt } from "./ir/fixedpoint.js";
import { planMemory, type MemoryPlan } from "./passes/plan-memory.js";
import { emitAssemblyScript, type SelfTest } from "./emit/assemblyscript.js";
import { compileAssemblyScript } from "./emit/asc.js";
import { buildManifest, type Manifest } from "./emit/manifest.js";
import { emitHeader } from "./emit/header.js";
import { interpret } from "./ir/interp.js";
import { makeValue, tensor, type Graph, type Value } from "./ir/graph.js";
import { samplesFromNpy } from "./io.js";
import { buildStepGraph, streamMacs, type StepGraph, type StreamOptions } from "./stream/step-graph.js";
import { applySoi, type SoiOptions, type SoiReport } from "./passes/soi.js";
import { streamSelfTest } from "./stream/selftest.js";

export interface CompileOptions {
  quantize?: "none" | "int8";
  /**
   * Q-format fixed point, e.g. "Q4.4" (m integer bits with the sign, f fractional bits):
   * ElasticAI's FPGA arithmetic (ops/INT8.md, "Q-format mode"). Excludes quantize int8
   * and calibrate. Formats of 2 to 16 bits (int8 storage up to 8, int16 from 9).
   */
  fixed?: string;
  /** Calibration samples: a .npy path, or feeds already built. Required for int8. */
  calibrate?: string | Array<Record<string, Value>>;
  selftest?: boolean;
  shapes?: Record<string, number[]>;
  /** Graph inputs bound to fixed values at compile time. */
  constants?: Record<string, Value>;
  progress?: (stage: string) => void;
  /** Streaming: step()/reset() consuming one time step per call (compiler/stream/step-graph.ts). */
  stream?: boolean | StreamOptions;
  /** SOI (passes/soi.ts): the deep path runs every k-th step; with or without streaming. */
  soi?: SoiOptions;
  /** Channel pruning (passes/prune-channels.ts): layer name (or "*") -> share of output channels to drop, in [0, 1). */
  pruneChannels?: Record<string, number>;
  /** Block-circulant weights (passes/circulant.ts): layer name (or "*") -> block size k >= 2. */
  circulant?: Record<string, number>;
  /**
   * Checkpointed inference for intermittent power (emit/intermittent.ts): the task grain
   * ("layer", "tile" or "unit"), for "tile" the wasm instructions a task should not exceed,
   * and the region's layout: "distinct" (default: every tensor its own bytes, so deferred
   * commits are never forced early) or "shared" (the smaller arena of the plain module).
   */
  intermittent?: { tasks?: TaskGrain; taskInstructions?: number; layout?: NvLayout };
  /** The float kernel of the circulant layers: "auto" (default: the cheaper by estimate), "direct" or "fft". */
  circulantKernel?: CirculantKernel;
  /** Low-rank factors (passes/lowrank.ts): layer name (or "*") -> rank (integer >= 1) or energy share in (0, 1). */
  lowrank?: Record<string, number>;
  /** Magnitude pruning (passes/prune.ts): layer name (or "*" for every fully connected layer) -> sparsity in [0, 1). */
  prune?: Record<string, number>;
  /** Column-balanced pruning (passes/prune.ts): sub-columns of this many rows keep equal numbers of weights. */
  pruneBalance?: number;
  /** Ternary weights (passes/ternary.ts): layer names, or ["all"]; int8 only. */
  ternary?: string[];
  /** Power-of-two weights (passes/pow2.ts): layer names, or ["all"]; int8 only. */
  pow2?: string[];
  /** Binary layers, XNOR-popcount (passes/binary.ts): layer names, or ["all"]; int8 only. */
  binary?: string[];
  /** Weight sharing (passes/share.ts): layer name (or "*" for every fully connected layer) -> index bits 2, 3 or 4; int8 only. */
  share?: Record<string, number>;
  /** Sub-byte weights (passes/subbyte.ts): layer name (or "*") -> "int4" | "int2"; int8 only. */
  weights?: Record<string, Subbyte>;
  /** EIE compressed-column kernel (passes/eie.ts): layer names, or ["all"]; int8 only. */
  eie?: string[];
  /** Layers run by host accelerators (passes/offload.ts): layer name -> "fpga-lstm" | "rram". */
  offload?: Record<string, Accelerator>;
  /** Delta LSTM thresholds (passes/delta.ts): "0.05", "x=0.05,h=0.1", "<layer>:..." (repeatable); float or --fixed. */
  delta?: string | string[];
}

export interface Compiled {
  /** The model's graph (quantized when asked); when streaming, the full-window form. */
  graph: Graph;
  floatGraph: Graph;
  /** When streaming: the one-step graph the module runs. */
  stepGraph?: StepGraph;
  /** With --soi: where the deep path starts and which layers it holds. */
  soi?: SoiReport;
  plan: MemoryPlan;
  source: string;
  wasm: Uint8Array;
  manifest: Manifest;
  header: string;
}

/** --intermittent tile: the wasm instructions a task should not exceed where its layer splits. */
// 20,000: against 10,000 it cut the steady-power overhead on every example (the per-task
// commit and set-up cost less in all) and total cycles under failures every 100,000
// instructions stayed level or fell (docs/intermittent.md, the bench)
export const DEFAULT_TASK_INSTRUCTIONS = 20_000;

/** Tolerance of the float self-test: f32 accumulation in the kernels against f64 in the reference. */
export const FLOAT_SELFTEST_TOL = { atol: 1e-5, rtol: 1e-4 };

export async function compileModel(file: string, opts: CompileOptions = {}): Promise<Compiled> {
  const step = opts.progress ?? (() => {});
  const mode = opts.quantize ?? "none";
  if (mode !== "none" && mode !== "int8") bad(`--quantize ${mode}: expected none or int8`);
  const fmt = opts.fixed === undefined ? undefined : parseFixed(opts.fixed);
  if (fmt && mode === "int8") bad(`--fixed ${opts.fixed} and --quantize int8 exclude each other: choose one arithmetic`);
  if (fmt && opts.calibrate) bad(`--fixed ${opts.fixed}: --calibrate is not used (a Q format fixes every range); leave it out`);
  if (opts.soi && fmt) bad(`${file}: --soi with --fixed ${opts.fixed} is not supported yet; use float or --quantize int8`);
  let g = importAndLower(file, opts, step);
  const streamOpts = opts.stream && opts.stream !== true ? opts.stream : {};
  let soi: SoiReport | undefined;
  if (opts.soi) {
    step(`soi (k = ${opts.soi.k}, ${opts.soi.mode ?? "hold"})`);
    ({ graph: g, report: soi } = applySoi(g, opts.soi, streamOpts));
  }
  if (opts.pruneBalance !== undefined && !(opts.prune && Object.keys(opts.prune).length)) bad(`${file}: --prune-balance ${opts.pruneBalance} needs --prune <s> (the sparsity to balance)`);
  if (opts.pruneChannels && Object.keys(opts.pruneChannels).length) {
    step("prune-channels");
    for (const r of applyPruneChannels(g, opts.pruneChannels)) step(`  ${r.layer}: ${r.kept} of ${r.channels} channels kept${r.note ? ` (${r.note})` : ""}`);
  }
  if (opts.lowrank && Object.keys(opts.lowrank).length) {
    step("lowrank");
    for (const r of applyLowrank(g, opts.lowrank)) {
      step(r.rank ? `  ${r.layer}: rank ${r.rank}, ${r.weightsBefore} -> ${r.weightsAfter} weights, ${(100 * r.energyKept).toFixed(1)}% of the energy kept` : `  ${r.layer}: left whole (that rank saves no weights there)`);
    }
  }
  if (opts.circulant && Object.keys(opts.circulant).length) {
    step("circulant");
    if (opts.circulantKernel === "fft" && (mode === "int8" || fmt)) bad(`--circulant-kernel fft: the FFT kernel is float only (a product of rounded transforms is not the integer sum); drop it or compile without ${fmt ? `--fixed ${opts.fixed}` : "--quantize int8"}`);
    for (const r of applyCirculant(g, opts.circulant, opts.circulantKernel)) step(`  ${r.layer}: ${r.k ? `${r.k} x ${r.k} circulant blocks` : `left whole (${r.note})`}`);
  }
  if (opts.prune && Object.keys(opts.prune).length) {
    step("prune");
    applyPrune(g, opts.prune, opts.pruneBalance);
  }
  if (opts.ternary?.length) {
    if (mode !== "int8") bad(`${file}: --ternary needs --quantize int8 (its kernel sums int8 activations; float weights would gain nothing)`);
    step("ternary");
    applyTernary(g, opts.ternary);
  }
  if (opts.pow2?.length) {
    if (mode !== "int8") bad(`${file}: --pow2 needs --quantize int8 (its kernel shifts int8 activations; float weights would gain nothing)`);
    step("pow2");
    applyPow2(g, opts.pow2);
  }
  if (opts.delta !== undefined) {
    step("delta");
    applyDelta(g, opts.delta, { int8: mode === "int8", stream: !!opts.stream, soi: !!opts.soi, offload: Object.keys(opts.offload ?? {}) });
  }
  if ((opts.share && Object.keys(opts.share).length) || (opts.weights && Object.keys(opts.weights).length)) {
    if (mode !== "int8") bad(`${file}: --share and --weights need --quantize int8 (their kernels read packed int8 weights)`);
    step("share / sub-byte weights");
    if (opts.share) applyShare(g, opts.share, Object.keys(opts.weights ?? {}));
    if (opts.weights) applySubbyte(g, opts.weights);
  }
  const floatGraph = g;
  let calib: Array<Record<string, Value>> | undefined;
  if (typeof opts.calibrate === "string") calib = samplesFromNpy(g, readNpy(opts.calibrate), opts.calibrate, "calibration set");
  else calib = opts.calibrate;
  if (opts.binary?.length) { // after reading the samples: β is measured on them (passes/binary.ts)
    if (mode !== "int8" || !calib) bad(`${file}: --binary needs --quantize int8 and --calibrate (its kernel packs int8 activation signs; β is calibrated)`);
    step("binary");
    applyBinary(g, opts.binary, calib!);
  }
  if (opts.eie?.length) { // after every weight pass: it only marks layers (passes/eie.ts)
    step("eie");
    step(`  EIE layout for ${applyEie(g, opts.eie, mode === "int8").join(", ")}`);
  }
  if (mode === "int8") {
    if (!calib) bad(`${file}: --quantize int8 needs --calibrate <samples.npy> (a few hundred representative inputs)`);
    step(`calibrate (${calib!.length} samples)`);
    const ranges = calibrate(g, calib!);
    step("quantize");
    g = quantizeGraph(g, ranges);
  }
  if (fmt) {
    step(`quantize-fixed (${fixedName(fmt)})`);
    g = quantizeFixedGraph(g, fmt);
  }
  let sg: StepGraph | undefined;
  if (opts.stream && fmt) bad(`${file}: --stream with --fixed ${opts.fixed} is not supported yet (the Q-format LSTM kernel keeps no state between calls); stream in float or int8`);
  if (opts.stream) {
    step("stream");
    sg = buildStepGraph(g, streamOpts);
  }
  if (opts.offload) {
    step("offload");
    applyOffload(g, opts.offload, !!sg);
  }
  const rg = sg ? sg.graph : g; // the graph the module runs: the one-step graph when streaming
  step("plan-memory");
  // with deferred work the input slot is the host's between steps: no tensor may share it
  const layout = opts.intermittent?.layout ?? "distinct";
  if (opts.intermittent && !NV_LAYOUTS.includes(layout)) bad(`--nv-layout ${layout}: choose ${NV_LAYOUTS.join(" or ")}`);
  const plan = planMemory(rg, new Set(sg?.states.map((s) => s.name)), { pinInputs: sg?.deferToIdle === true, distinct: !!opts.intermittent && layout === "distinct" });
  let selftest: SelfTest | undefined;
  if (opts.selftest) selftest = sg ? streamSelfTest(g, sg, calib?.[0], fmt) : goldenSelfTest(g, calib?.[0], fmt);
  let ck: IntermittentOptions | undefined;
  if (opts.intermittent) {
    if (sg) bad(`${file}: --intermittent with --stream is not supported yet (a streaming module keeps state between steps outside the checkpointed region); checkpoint whole inferences`);
    const tasks = opts.intermittent.tasks ?? "tile";
    if (!TASK_GRAINS.includes(tasks)) bad(`--intermittent ${tasks}: choose ${TASK_GRAINS.join(", ")}`);
    const taskInstructions = opts.intermittent.taskInstructions ?? DEFAULT_TASK_INSTRUCTIONS;
    if (!Number.isInteger(taskInstructions) || taskInstructions < 1) bad(`--task-instructions ${taskInstructions}: expected a whole number >= 1`);
    // tiles are sized by each layer's instructions, measured on the plain module
    step("profile (to size the tasks)");
    const plainEm = emitAssemblyScript(rg, plan);
    const plainAsc = await compileAssemblyScript(plainEm.source, { memoryBase: plainEm.memoryBase });
    const prof = await profileModule(plainAsc.wasm, plainEm.source, buildManifest(rg, plan, plainEm, plainAsc, file, mode));
    ck = { tasks, taskInstructions, layerInstructions: prof.layers.map(instructions), layout };
  }
  step("emit");
  const emitted = emitAssemblyScript(rg, plan, selftest, sg && { states: sg.states, outputPeriods: sg.outputPeriods, deferredFrom: sg.deferredFrom, deferToIdle: sg.deferToIdle }, ck);
  step("asc");
  const asc = await compileAssemblyScript(emitted.source, { memoryBase: emitted.memoryBase });
  const manifest = buildManifest(rg, plan, emitted, asc, file, fmt ? fixedName(fmt) : mode);
  if (sg) manifest.stream = { timeAxis: sg.inputAxis, windowSteps: sg.windowSteps, outputPeriods: sg.outputPeriods, ...streamMacs(sg, g) };
  if (soi) manifest.soi = soi;
  if (emitted.offloads.length) manifest.offload = emitted.offloads;
  return { graph: g, floatGraph, stepGraph: sg, soi, plan, source: emitted.source, wasm: asc.wasm, manifest, header: emitHeader(manifest) };
}

/** The float stages every command shares: import, fold-pad, fold-batchnorm, fuse-activation. */
export function importAndLower(file: string, opts: Pick<CompileOptions, "shapes" | "constants"> = {}, step: (stage: string) => void = () => {}): Graph {
  step("import");
  let g = importOnnxFile(file, { shapes: opts.shapes, constants: opts.constants });
  step("fold-pad");
  g = foldPad(g);
  step("fold-batchnorm");
  g = foldBatchNorm(g);
  step("fuse-activation");
  return fuseActivation(g);
}

/**
 * Golden inputs (a calibration sample, else a fixed pseudo-random pattern in [-1, 1]) and
 * the reference outputs. In Q-format mode inputs are converted as constants are.
 */
function goldenSelfTest(g: Graph, sample?: Record<string, Value>, fmt?: QFmt): SelfTest {
  const inputs = g.inputs.map((name, k) => {
    const t = tensor(g, name);
    const src = sample?.[name];
    const v = makeValue("float32", t.shape);
    let seed = 12345 + k;
    for (let i = 0; i < v.data.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      v.data[i] = src ? src.data[i] : ((seed >>> 8) / 2 ** 24) * 2 - 1;
    }
    if (fmt) return makeValue(qStorage(fmt), v.shape, Array.from(v.data, (x) => qFromReal(x, fmt)));
    return t.quant ? quantizeInput(v, t.quant.scale[0], t.quant.zeroPoint[0]) : v;
  });
  const feeds = Object.fromEntries(g.inputs.map((n, i) => [n, inputs[i]]));
  const outs = interpret(g, feeds);
  return { inputs, outputs: g.outputs.map((n) => outs[n]), ...FLOAT_SELFTEST_TOL };
}

export function quantizeInput(v: Value, scale: number, zp: number): Value {
  return makeValue("int8", v.shape, Array.from(v.data, (x) => quantizeValue(x, scale, zp)));
}

/**
 * Writes model.wasm, model.ts, model.json and model.h into `dir` all at once: files are
 * written to a temporary folder beside it and moved in only when every one is complete.
 */
export function writeOutputs(c: Compiled, dir: string): string[] {
  const out = resolve(dir);
  mkdirSync(dirname(out), { recursive: true });
  const tmp = mkdtempSync(join(dirname(out), `.${basename(out)}.tmp-`));
  try {
    const files: Record<string, string | Uint8Array> = {
      "model.wasm": c.wasm, "model.ts": c.source, "model.json": JSON.stringify(c.manifest, null, 2) + "\n", "model.h": c.header,
    };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(tmp, name), content);
    mkdirSync(out, { recursive: true });
    for (const name of Object.keys(files)) renameSync(join(tmp, name), join(out, name));
    return Object.keys(files).map((f) => join(out, f));
  } finally {
    if (existsSync(tmp)) {
      for (const f of readdirSync(tmp)) rmSync(join(tmp, f));
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}
