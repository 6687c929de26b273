/**
 * Validation of the cost model against published figures: the MLPerf Tiny reference
 * networks (mlperf-tiny.ts) compiled in int8, their operations counted per layer on the
 * instrumented module, and priced on the cortex-m4f target (120 MHz, the MLPerf Tiny
 * reference board) natively and under WAMR AOT. The published figures measure other
 * software (TFLM with CMSIS-NN kernels, ST's X-CUBE-AI) on the device, so the error of each
 * row is the model's error plus the difference between those kernels and picojoule's.
 * Prints a markdown table (docs/cost-model.md holds a copy).
 *   node dist/test/bench/validate.js
 */
import { compileModel } from "../../compiler/pipeline.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { estimate, loadRuntime, loadTarget } from "../../targets/cost.js";
import { writeModel } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";
import { TINY_MODELS } from "./mlperf-tiny.js";

export interface ValidationRow {
  model: string; macs: number; runtime: string; system: string;
  predictedMs: number; publishedMs: number; msError: number;
  predictedMJ: number; publishedMJ: number; mJError: number;
}

export async function validationRows(): Promise<ValidationRow[]> {
  const target = loadTarget("cortex-m4f");
  const rows: ValidationRow[] = [];
  for (const m of TINY_MODELS) {
    const file = writeModel(m.spec, m.name);
    const shape = m.spec.inputs[0].shape as number[];
    const r = rng(5);
    const calib = Array.from({ length: 8 }, () => ({ input: { dtype: "float32" as const, shape, data: uniform(r, shape.reduce((a, b) => a * b, 1)) } }));
    const c = await compileModel(file, { quantize: "int8", calibrate: calib });
    const prof = await profileModule(c.wasm, c.source, c.manifest);
    for (const rt of ["native", "wamr-aot"]) {
      const e = estimate(c.manifest, prof, target, loadRuntime(rt, target));
      for (const p of m.published) {
        rows.push({
          model: m.name, macs: c.manifest.totals.macs, runtime: rt, system: p.system,
          predictedMs: e.seconds * 1e3, publishedMs: p.ms, msError: e.seconds * 1e3 / p.ms - 1,
          predictedMJ: e.joules * 1e3, publishedMJ: p.mJ, mJError: e.joules * 1e3 / p.mJ - 1,
        });
      }
    }
  }
  return rows;
}

export function validationTable(rows: ValidationRow[]): string {
  const pct = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(0)}%`;
  return [
    "| network | MACs | picojoule runtime | published system | predicted ms | published ms | error | predicted mJ | published mJ | error | predicted mW | published mW | error |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const pw = r.predictedMJ / r.predictedMs * 1e3, qw = r.publishedMJ / r.publishedMs * 1e3;
      return `| ${r.model} | ${(r.macs / 1e6).toFixed(2)} M | ${r.runtime} | ${r.system} | ${r.predictedMs.toFixed(1)} | ${r.publishedMs} | ${pct(r.msError)} | ${r.predictedMJ.toFixed(2)} | ${r.publishedMJ} | ${pct(r.mJError)} | ${pw.toFixed(1)} | ${qw.toFixed(1)} | ${pct(pw / qw - 1)} |`;
    }),
  ].join("\n");
}

if (process.argv[1]?.endsWith("validate.js")) {
  validationRows().then((rows) => console.log(validationTable(rows)));
}
