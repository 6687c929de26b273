/**
 * The compiler as one readable function of named stages: import, fold-batchnorm,
 * fuse-activation, [calibrate + quantize], plan-memory, emit, asc. This is the only place
 * that knows the order of the passes. The CLI and the library both call `compileModel`
 * and `writeOutputs`, so they behave the same.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { bad } from "./util/errors.js";
import { readNpy } from "./util/npy.js";
import { importOnnxFile } from "./onnx/import.js";
import { foldBatchNorm } from "./passes/fold-batchnorm.js";
import { fuseActivation } from "./passes/fuse-activation.js";
import { calibrate, quantizeGraph, quantizeValue } from "./passes/quantize.js";
import { planMemory, type MemoryPlan } from "./passes/plan-memory.js";
import { emitAssemblyScript, type SelfTest } from "./emit/assemblyscript.js";
import { compileAssemblyScript } from "./emit/asc.js";
import { buildManifest, type Manifest } from "./emit/manifest.js";
import { emitHeader } from "./emit/header.js";
import { interpret } from "./ir/interp.js";
import { makeValue, tensor, type Graph, type Value } from "./ir/graph.js";
import { samplesFromNpy } from "./io.js";

export interface CompileOptions {
  quantize?: "none" | "int8";
  /** Calibration samples: a .npy path, or feeds already built. Required for int8. */
  calibrate?: string | Array<Record<string, Value>>;
  selftest?: boolean;
  shapes?: Record<string, number[]>;
  /** Graph inputs bound to fixed values at compile time. */
  constants?: Record<string, Value>;
  progress?: (stage: string) => void;
}

export interface Compiled {
  graph: Graph;
  floatGraph: Graph;
  plan: MemoryPlan;
  source: string;
  wasm: Uint8Array;
  manifest: Manifest;
  header: string;
}

/** Tolerance of the float self-test: f32 accumulation in the kernels against f64 in the reference. */
export const FLOAT_SELFTEST_TOL = { atol: 1e-5, rtol: 1e-4 };

export async function compileModel(file: string, opts: CompileOptions = {}): Promise<Compiled> {
  const step = opts.progress ?? (() => {});
  const mode = opts.quantize ?? "none";
  if (mode !== "none" && mode !== "int8") bad(`--quantize ${mode}: expected none or int8`);
  step("import");
  let g = importOnnxFile(file, { shapes: opts.shapes, constants: opts.constants });
  step("fold-batchnorm");
  g = foldBatchNorm(g);
  step("fuse-activation");
  g = fuseActivation(g);
  const floatGraph = g;
  let calib: Array<Record<string, Value>> | undefined;
  if (typeof opts.calibrate === "string") calib = samplesFromNpy(g, readNpy(opts.calibrate), opts.calibrate, "calibration set");
  else calib = opts.calibrate;
  if (mode === "int8") {
    if (!calib) bad(`${file}: --quantize int8 needs --calibrate <samples.npy> (a few hundred representative inputs)`);
    step(`calibrate (${calib!.length} samples)`);
    const ranges = calibrate(g, calib!);
    step("quantize");
    g = quantizeGraph(g, ranges);
  }
  step("plan-memory");
  const plan = planMemory(g);
  let selftest: SelfTest | undefined;
  if (opts.selftest) selftest = goldenSelfTest(g, calib?.[0]);
  step("emit");
  const emitted = emitAssemblyScript(g, plan, selftest);
  step("asc");
  const asc = await compileAssemblyScript(emitted.source, { memoryBase: emitted.memoryBase });
  const manifest = buildManifest(g, plan, emitted, asc, file, mode);
  return { graph: g, floatGraph, plan, source: emitted.source, wasm: asc.wasm, manifest, header: emitHeader(manifest) };
}

/** Golden inputs (a calibration sample, else a fixed pseudo-random pattern) and the reference outputs. */
function goldenSelfTest(g: Graph, sample?: Record<string, Value>): SelfTest {
  const inputs = g.inputs.map((name, k) => {
    const t = tensor(g, name);
    const src = sample?.[name];
    const v = makeValue("float32", t.shape);
    let seed = 12345 + k;
    for (let i = 0; i < v.data.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      v.data[i] = src ? src.data[i] : ((seed >>> 8) / 2 ** 24) * 2 - 1;
    }
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
