/**
 * `npm run bench`: for each example, the median latency per inference of the generated
 * wasm in Node (V8) next to onnxruntime-node on the same inputs, measured in the same run,
 * with their ratio; plus the wasm's size, arena and MACs. Float and int8 builds both.
 * Latency is a property of this machine; the ratio is what to compare across machines.
 * Then, for the streaming examples (test/bench/stream.ts), MACs per new sample and the
 * test metric of STMC and SOI variants, all streamed over the same sequence in this run.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runFloat } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { countRunInstructions } from "./instructions.js";
import { STREAM_EXAMPLES, VARIANTS, recomputeFigures, rmse, streamVariant, testSequence, usPerStep } from "./stream.js";

const REPEATS = 7;

function printTable(rows: string[][], left: number): void {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i < left ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  "));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median over REPEATS passes of (pass time / inferences), after one warm-up pass. */
async function perInference(xs: Float32Array[], infer: (x: Float32Array) => unknown | Promise<unknown>): Promise<number> {
  for (const x of xs) await infer(x);
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = process.hrtime.bigint();
    for (const x of xs) await infer(x);
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / xs.length);
  }
  return median(times);
}

async function main(): Promise<void> {
  const examples = readdirSync("examples").filter((d) => existsSync(join("examples", d, "model.onnx"))).sort();
  const rows: string[][] = [["example", "mode", "wasm us", "ort us", "wasm/ort", "instr/MAC", "wasm B", "arena B", "MACs"]];
  for (const name of examples) {
    const dir = join("examples", name);
    const model = join(dir, "model.onnx");
    const session = await ort.InferenceSession.create(model);
    for (const mode of ["none", "int8"] as const) {
      const c = await compileModel(model, { quantize: mode, calibrate: mode === "int8" ? join(dir, "calib.npy") : undefined });
      const m = await instantiate(c.wasm, c.manifest);
      const io = c.manifest.inputs[0];
      const xs = samplesFromShape(io.name, io.shape, readNpy(join(dir, "x_test.npy")), "x_test.npy", "input").slice(0, 200);
      const wasmUs = await perInference(xs, (x) => runFloat(m, [x]));
      const ortUs = await perInference(xs, (x) => session.run({ [io.name]: new ort.Tensor("float32", x, io.shape) }));
      const instr = await countRunInstructions(c.wasm);
      rows.push([name, mode === "none" ? "float32" : "int8", wasmUs.toFixed(1), ortUs.toFixed(1), (wasmUs / ortUs).toFixed(2), (instr / c.manifest.totals.macs).toFixed(2),
        String(c.manifest.memory.wasmBytes), String(c.manifest.memory.arenaBytes), String(c.manifest.totals.macs)]);
    }
    await session.release();
  }
  printTable(rows, 2);
  console.log("\nus = median microseconds per inference over 200 test inputs (7 passes after a warm-up), measured in this run;");
  console.log("wasm timings include quantizing the input and dequantizing the output in JS, as a host would.");
  console.log("instr/MAC = wasm instructions executed by one run() (wasm-interp --trace) per multiply-accumulate.");
  await streamingTable();
}

async function streamingTable(): Promise<void> {
  const rows: string[][] = [["example", "mode", "variant", "MACs/step", "before output", "window/this", "STMC/this", "us/step", "RMSE", "vs STMC"]];
  const notes: string[] = [];
  for (const name of STREAM_EXAMPLES) {
    const dir = join("examples", name);
    const seq = testSequence(dir);
    for (const quant of [false, true]) {
      let stmc: { macs: number; rmse: number; window: number } | undefined;
      for (const v of VARIANTS) {
        const r = await streamVariant(dir, seq, quant, v);
        stmc ??= { macs: r.macsPerStep, rmse: r.rmse, window: r.windowMacs };
        if (!v.soi && !quant) {
          const f = recomputeFigures(r.compiled.floatGraph);
          notes.push(`${name}: ${seq.x.length} steps; input RMSE ${rmse(seq.x, seq.y).toFixed(4)}; recomputing per new sample: the ${r.compiled.manifest.stream!.windowSteps}-step window ${r.windowMacs} MACs, ` +
            `the ${f.receptiveField}-step receptive field as a window ${f.receptiveField * r.macsPerStep} MACs, only the columns the newest output needs ${Math.round(f.treeMacs)} MACs (${(f.treeMacs / r.macsPerStep).toFixed(2)}x STMC)`);
        }
        rows.push([name, quant ? "int8" : "float32", v.label, r.macsPerStep.toFixed(0), r.beforeOutput.toFixed(0), (stmc.window / r.macsPerStep).toFixed(1), (stmc.macs / r.macsPerStep).toFixed(2),
          (await usPerStep(r.compiled, seq)).toFixed(2), r.rmse.toFixed(4), `${r.rmse >= stmc.rmse ? "+" : ""}${((r.rmse / stmc.rmse - 1) * 100).toFixed(1)}%`]);
      }
    }
  }
  console.log("\nStreaming: each variant streams the example's whole test sequence, one sample per step(), after a reset.");
  printTable(rows, 3);
  for (const n of notes) console.log(n);
  console.log("MACs/step averages over steps (a layer running every k-th step counts 1/k); before output = the part step() does before its outputs are ready (predict leaves the deep path to idle());");
  console.log("window/this = recomputing the model's window per new sample over this;");
  console.log("us/step = median V8 microseconds per step over 5 passes (host-side quantization included); RMSE against the clean targets.");
}

main().catch((e) => { console.error(e); process.exit(1); });
