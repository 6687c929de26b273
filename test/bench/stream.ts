/**
 * Streaming figures of a shipped example whose test windows are consecutive pieces of one
 * recording (examples/ecg-tcn): the windows are joined into one sequence, which each
 * variant (STMC alone, SOI with a factor and a mode) streams through its compiled module
 * one sample per step() after a reset. Reports MACs per step (averaged over steps), the
 * MACs of recomputing the model's window for each new sample instead, the RMSE of the
 * streamed outputs against the clean targets, and V8's time per step. Used by the bench
 * (npm run bench) and by test/e2e/stream-example.test.ts, which asserts the ratios.
 */
import { join } from "node:path";
import { compileModel, type Compiled, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runStream } from "../../compiler/runner.js";
import { npyToFloat32, readNpy } from "../../compiler/util/npy.js";
import { tensor, type Graph } from "../../compiler/ir/graph.js";
import { opDef } from "../../compiler/ops/table.js";
import type { SoiOptions } from "../../compiler/passes/soi.js";

/** Examples whose x_test/y_test windows join into one continuous sequence (their READMEs say so). */
export const STREAM_EXAMPLES = ["ecg-tcn"];

export interface Variant {
  label: string;
  soi?: SoiOptions;
  /** Another model file of the example (default model.onnx), e.g. one fine-tuned for SOI. */
  model?: string;
}
export const VARIANTS: Variant[] = [
  { label: "STMC" },
  { label: "SOI k=2 hold", soi: { k: 2, mode: "hold" } },
  { label: "SOI k=2 extrapolate", soi: { k: 2, mode: "extrapolate" } },
  { label: "SOI k=2 predict", soi: { k: 2, mode: "predict" } },
  { label: "SOI k=4 hold", soi: { k: 4, mode: "hold" } },
  { label: "SOI k=2 hold, fine-tuned with SOI (model-soi2.onnx)", soi: { k: 2, mode: "hold" }, model: "model-soi2.onnx" },
];

export interface Sequence { x: Float32Array; y: Float32Array }

/** The example's test windows [N, 1, 1, T] joined along time. */
export function testSequence(dir: string): Sequence {
  const x = readNpy(join(dir, "x_test.npy")), y = readNpy(join(dir, "y_test.npy"));
  return { x: npyToFloat32(x, "x_test.npy"), y: npyToFloat32(y, "y_test.npy") };
}

export function rmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

export interface StreamRun {
  compiled: Compiled;
  /** The streamed output, one value per step (single-channel output). */
  out: Float32Array;
  rmse: number;
  macsPerStep: number;
  /** Of macsPerStep, what runs before step() returns (predict defers the deep path). */
  beforeOutput: number;
  windowMacs: number;
}

export async function streamVariant(dir: string, seq: Sequence, quant: boolean, v: Variant, extra: CompileOptions = {}): Promise<StreamRun> {
  const model = join(dir, v.model ?? "model.onnx");
  const c = await compileModel(model, { stream: true, soi: v.soi, ...(quant ? { quantize: "int8", calibrate: join(dir, "calib.npy") } : {}), ...extra });
  const m = await instantiate(c.wasm, c.manifest);
  const frames = Array.from(seq.x, (v) => Float32Array.of(v));
  const r = runStream(m, frames);
  const out = Float32Array.from(r.outputs[0], (o) => o[0]);
  return { compiled: c, out, rmse: rmse(out, seq.y), macsPerStep: c.manifest.stream!.macsPerStep, beforeOutput: c.manifest.stream!.beforeOutputMacsPerStep, windowMacs: c.manifest.stream!.windowMacs };
}

/** Median microseconds per step() over `passes` runs of the whole sequence (after a warm-up). */
export async function usPerStep(c: Compiled, seq: Sequence, passes = 5): Promise<number> {
  const m = await instantiate(c.wasm, c.manifest);
  const frames = Array.from(seq.x, (v) => Float32Array.of(v));
  runStream(m, frames);
  const times: number[] = [];
  for (let p = 0; p < passes; p++) {
    const t0 = process.hrtime.bigint();
    runStream(m, frames);
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / frames.length);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/**
 * Without any cache, the newest output column needs, in each layer, the columns its taps
 * reach back to (for a dilated stack, a tree of columns): this counts them from the output
 * backwards and sums each layer's MACs per column over them. Also the receptive field (the
 * oldest input step it reaches, plus one). For full-window graphs of stride-1 causal layers
 * with time on axis 2 (what the streaming examples are); a layer's MACs per column are its
 * full-window MACs over its output length.
 */
export function recomputeFigures(g: Graph): { receptiveField: number; treeMacs: number } {
  const need = new Map<string, Set<number>>(g.outputs.map((o) => [o, new Set([0])]));
  let macs = 0, oldest = 0;
  for (const node of [...g.nodes].reverse()) {
    const offs = new Set<number>();
    for (const o of node.outputs) for (const v of need.get(o) ?? []) offs.add(v);
    if (offs.size === 0) continue;
    const y = tensor(g, node.outputs[0]);
    macs += ((opDef(node.op).macs?.(node, g) ?? 0) / (y.shape[2] ?? 1)) * offs.size;
    const windowed = node.op === "Conv" || node.op === "MaxPool" || node.op === "AveragePool";
    const K = windowed ? (node.attrs.kernel_shape as number[])[0] : 1, d = windowed ? ((node.attrs.dilations as number[] | undefined)?.[0] ?? 1) : 1;
    for (const x of node.inputs) {
      if (!x || tensor(g, x).data) continue;
      const set = need.get(x) ?? new Set<number>();
      for (const o of offs) for (let j = 0; j < (windowed && x === node.inputs[0] ? K : 1); j++) { set.add(o + j * d); oldest = Math.max(oldest, o + j * d); }
      need.set(x, set);
    }
  }
  return { receptiveField: oldest + 1, treeMacs: macs };
}
