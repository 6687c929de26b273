/**
 * Evaluates one sweep configuration, in a worker thread or in the calling thread alike:
 * compileModel (the library the CLI's compile calls, without --selftest), the module run
 * on every sample through runFloat (the path `picojoule run` takes: inputs quantized with
 * the module's scale and zero point, outputs dequantized) and the arg max of output 0 kept
 * per sample; the constant data from the manifest; and the cost on the target the way
 * `picojoule profile --input` gets it: profileModule counts the module's operations per
 * layer on the first sample and estimate() prices them (targets/cost.ts). Nothing is
 * written to disk.
 */
import { compileModel, type CompileOptions } from "../pipeline.js";
import { instantiate, runFloat } from "../runner.js";
import { PicoError } from "../util/errors.js";

export interface EvalJob {
  model: string;
  options: CompileOptions;
  /** Per-sample float inputs of the model's single input. */
  samples: Float32Array[];
  target: string;
  runtime: string;
}

export interface Measured {
  mode: string;
  /** Arg max of output 0 per sample (first maximum wins, as in `picojoule run --labels`). */
  predictions: number[];
  constantBytes: number;
  wasmBytes: number;
  arenaBytes: number;
  joules: number;
  seconds: number;
  cycles: number;
  instructions: number;
  fits: boolean;
  /** Kernels the layers run, e.g. fc_sparse_s8. */
  kernels: string[];
}

export type EvalResult = { ok: true; measured: Measured } | { ok: false; message: string; exitCode: number };

/** The first index of the largest value, as `picojoule run --labels` picks the class. */
export function argmax(y: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
  return best;
}

export async function evaluate(job: EvalJob): Promise<EvalResult> {
  try {
    return { ok: true, measured: await measure(job) };
  } catch (e) {
    // a configuration the compiler refuses (bad input for it) is reported, not fatal; anything else is
    if (e instanceof PicoError && e.exitCode === 2) return { ok: false, message: e.message, exitCode: 2 };
    throw e;
  }
}

async function measure(job: EvalJob): Promise<Measured> {
  const { loadTarget, loadRuntime, estimate } = await import("../../targets/cost.js");
  const { profileModule } = await import("../../targets/profile/dynamic.js");
  const { instructions } = await import("../../targets/profile/instrument.js");
  const c = await compileModel(job.model, { ...job.options, selftest: false });
  const m = await instantiate(c.wasm, c.manifest);
  const predictions = job.samples.map((x) => argmax(runFloat(m, [x])[0]));
  const target = loadTarget(job.target);
  const runtime = loadRuntime(job.runtime, target);
  const prof = await profileModule(c.wasm, c.source, c.manifest, { inputs: [job.samples[0]] });
  const e = estimate(c.manifest, prof, target, runtime);
  const mem = c.manifest.memory;
  const kernels = [...new Set(c.manifest.layers.flatMap((l) => l.kernels.map((k) => k.kernel)))];
  return {
    mode: c.manifest.mode, predictions, constantBytes: mem.constantBytes, wasmBytes: mem.wasmBytes, arenaBytes: mem.arenaBytes,
    joules: e.joules, seconds: e.seconds, cycles: e.cycles, instructions: instructions(prof.total), fits: e.fits, kernels,
  };
}
