/**
 * wabt as a second opinion on every module: wasm-validate (with SIMD disabled, as WAMR's
 * interpreters need) and wasm-interp, an engine other than V8, to run the self-test.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpDir } from "./build-onnx.js";
import type { OpClass } from "../../targets/profile/instrument.js";

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

/**
 * A wasm-interp --trace opcode name as the profiler classifies it (targets/profile/
 * instrument.ts). wabt's own bookkeeping (return, drop_keep, alloca, br_table_entry,
 * interp_*) and the unconditional br are undefined; conditional branches and if are
 * "branch". `strict`: an opcode this does not know is an error rather than undefined.
 */
export function wabtOpClass(op: string, strict = false): OpClass | undefined {
  if (["return", "drop_keep", "alloca", "br_table_entry", "br"].includes(op) || op.startsWith("interp_")) return undefined;
  if (op === "local.get" || op === "local.set" || op === "local.tee") return "local";
  if (op.startsWith("global.")) return "global";
  if (op.endsWith(".const")) return "const";
  if (op === "br_if" || op === "br_unless" || op === "br_table" || op === "if") return "branch";
  if (op === "call" || op === "call_indirect" || op === "call_import") return "call";
  if (op === "select") return "select";
  if (op === "drop" || op === "nop" || op === "unreachable") return "other";
  if (op === "memory.copy" || op === "memory.fill") return "bulk";
  if (/^[if](32|64)\.load/.test(op)) return "load";
  if (/^[if](32|64)\.store/.test(op)) return "store";
  const [ty, name = ""] = op.split(".");
  if (ty === "i32" && name === "mul") return "mul32";
  if (ty === "i64" && name === "mul") return "mul64";
  if (/^(div|rem)/.test(name) && ty[0] === "i") return "div";
  if (ty[0] === "f" && name === "mul") return "fmul";
  if (ty[0] === "f" && (name === "div" || name === "sqrt")) return "fdiv";
  if (/^(wrap|extend_i|trunc|convert|reinterpret|promote|demote)/.test(name) && !/^extend(8|16|32)_s$/.test(name)) return "convert";
  if (ty === "i32") return "alu32";
  if (ty === "i64") return "alu64";
  if (ty[0] === "f") return "falu";
  if (strict) throw new Error(`unmapped wabt opcode ${op}`);
  return undefined;
}
