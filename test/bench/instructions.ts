/**
 * Dynamic instruction count of one run() under wasm-interp --trace: the trace prints one
 * line per executed instruction, starting after `>>> running export "run":` and ending at
 * `run() =>`. On WAMR's interpreters every executed instruction costs time, so instructions
 * per MAC is the figure that predicts device latency (RESEARCH.md).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

export function countRunInstructions(wasm: Uint8Array): Promise<number> {
  const file = join(tmpdir(), `pj-bench-${process.pid}-${Date.now()}.wasm`);
  writeFileSync(file, wasm);
  return new Promise((resolve, reject) => {
    const p = spawn("wasm-interp", ["--run-all-exports", "--trace", file]);
    let count = 0, started = false, rest = "", done = false;
    p.stdout.setEncoding("utf8");
    p.stdout.on("data", (chunk: string) => {
      if (done) return;
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (!started) { started = line.startsWith('>>> running export "run"'); continue; }
        if (line.startsWith("run() =>")) { done = true; p.kill(); resolve(count); return; }
        if (line.startsWith("#")) count++;
      }
    });
    p.on("error", reject);
    p.on("close", () => { if (!done) reject(new Error("wasm-interp ended before run() finished")); });
  });
}
