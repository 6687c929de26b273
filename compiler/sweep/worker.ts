/**
 * The sweep's worker thread: receives the model, samples, target and runtime once
 * (workerData), then configurations one at a time ({ index, options }) and answers each
 * with { index, result } from evaluate() (the same code the in-thread path runs). A
 * failure evaluate() does not turn into a result (an internal error) is sent as
 * { index, crash } so the main thread can stop the sweep with the message.
 * Runs only as the compiled dist/compiler/sweep/worker.js (Node cannot start a .ts worker).
 */
import { parentPort, workerData } from "node:worker_threads";
import { evaluate } from "./evaluate.js";
import type { CompileOptions } from "../pipeline.js";

export interface WorkerData { model: string; samples: Float32Array[]; target: string; runtime: string }
export interface WorkerTask { index: number; options: CompileOptions }
export type WorkerReply = { index: number; result: Awaited<ReturnType<typeof evaluate>> } | { index: number; crash: string };

const data = workerData as WorkerData;
parentPort!.on("message", async (task: WorkerTask) => {
  try {
    const result = await evaluate({ model: data.model, options: task.options, samples: data.samples, target: data.target, runtime: data.runtime });
    parentPort!.postMessage({ index: task.index, result } satisfies WorkerReply);
  } catch (e) {
    parentPort!.postMessage({ index: task.index, crash: (e as Error).stack ?? String(e) } satisfies WorkerReply);
  }
});
