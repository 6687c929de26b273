/**
 * wabt as a second opinion on every module: wasm-validate (with SIMD disabled, as WAMR's
 * interpreters need) and wasm-interp, an engine other than V8, to run the self-test.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpDir } from "./build-onnx.js";

let n = 0;
function toFile(wasm: Uint8Array | string): string {
  if (typeof wasm === "string") return wasm;
  const f = join(tmpDir(), `m-${process.pid}-${n++}.wasm`);
  writeFileSync(f, wasm);
  return f;
}

export function wasmValidate(wasm: Uint8Array | string): { ok: boolean; message: string } {
  const r = spawnSync("wasm-validate", ["--disable-simd", toFile(wasm)], { encoding: "utf8" });
  return { ok: r.status === 0, message: (r.stderr || r.stdout || String(r.error ?? "")).trim() };
}

/** Runs every export in wasm-interp and returns what selftest() returned (undefined if it did not run). */
export function interpSelftest(wasm: Uint8Array | string): number | undefined {
  const r = spawnSync("wasm-interp", ["--run-all-exports", toFile(wasm)], { encoding: "utf8", timeout: 600_000 });
  const m = /selftest\(\) => i32:(-?\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}
