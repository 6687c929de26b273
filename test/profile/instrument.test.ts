// The instrumenter's counts (targets/profile/instrument.ts): on hand-written modules whose
// executed operations are counted by hand (straight line, loops, if/else, a br_if leaving
// mid-block, a br_if whose value is used, br_table, early return, memory.copy / fill
// sizes, calls), and on a compiled example against a second engine: wabt's wasm-interp
// --trace prints every executed instruction, and its per-opcode totals, mapped to our
// classes, must equal the instrumented counts (wabt has no block/loop markers and adds
// its own return/drop_keep/alloca bookkeeping, which are left out on both sides). Branches
// are bounded, not equal: wabt turns a br_if into br_unless plus a br taken only when the
// branch is, so its br count includes the taken br_ifs, which ours counts once.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLASSES, counterName, instrument, zeroCounts, type Counts } from "../../targets/profile/instrument.js";
import { compileModel } from "../../compiler/pipeline.js";
import { tmpDir } from "../helpers/build-onnx.js";
import { wabtOpClass } from "../helpers/wabt.js";

async function counts(wat: string, entry: string, ...args: number[]): Promise<{ c: Counts; result: unknown }> {
  const binaryen = (await import("binaryen")).default;
  const mod = binaryen.parseText(wat);
  mod.setFeatures((binaryen.Features as unknown as Record<string, number>).All);
  const wasm = mod.emitBinary();
  mod.dispose();
  const { instance } = await WebAssembly.instantiate((await instrument(wasm)).wasm as Uint8Array<ArrayBuffer>, {});
  const result = (instance.exports[entry] as (...a: number[]) => unknown)(...args);
  const c = zeroCounts();
  for (const k of CLASSES) c[k] = (instance.exports[counterName(k)] as WebAssembly.Global).value as number;
  return { c, result };
}

const only = (c: Counts) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== 0));

describe("instrumented counts on hand-written modules", () => {
  it("straight line: every instruction once", async () => {
    const { c, result } = await counts(`(module (memory 1) (func (export "f") (param i32) (result i32)
      (i32.store8 (i32.const 8) (i32.mul (local.get 0) (i32.const 3)))
      (i32.add (i32.load8_s (i32.const 8)) (i32.const 1))))`, "f", 5);
    expect(result).toBe(16);
    // store8(const, mul(local, const)); add(load8(const), const)
    expect(only(c)).toEqual({ const: 4, local: 1, mul32: 1, store: 1, storeBytes: 1, load: 1, loadBytes: 1, alu32: 1 });
  });

  it("a loop runs its body once per iteration; br_if back counts each time", async () => {
    const { c, result } = await counts(`(module (func (export "f") (param i32) (result i32) (local i32)
      (loop $l
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br_if $l (local.get 0)))
      (local.get 1)))`, "f", 4);
    expect(result).toBe(10);
    // per iteration: 2 local.set and 4 local.get (one for the br_if), 2 alu, 1 const, 1 br_if; 4 iterations; the loop marker and a final get
    expect(only(c)).toEqual({ block: 1, local: 4 * 6 + 1, alu32: 8, const: 4, branch: 4 });
  });

  it("if/else counts the arm taken only", async () => {
    const wat = `(module (func (export "f") (param i32) (result i32)
      (if (result i32) (local.get 0) (then (i32.mul (local.get 0) (local.get 0))) (else (i32.const 7)))))`;
    const yes = await counts(wat, "f", 3), no = await counts(wat, "f", 0);
    expect(yes.result).toBe(9);
    // the then arm ends in a jump over the else arm: one more branch
    expect(only(yes.c)).toEqual({ local: 3, branch: 2, mul32: 1 });
    expect(only(no.c)).toEqual({ local: 1, branch: 1, const: 1 });
  });

  it("a br_if that leaves a block skips the rest of the block", async () => {
    const wat = `(module (memory 1) (func (export "f") (param i32)
      (block $b
        (i32.store (i32.const 0) (i32.const 1))
        (br_if $b (local.get 0))
        (i32.store (i32.const 4) (i32.const 2))
        (i32.store (i32.const 8) (i32.const 3)))))`;
    const taken = await counts(wat, "f", 1), not = await counts(wat, "f", 0);
    // the block is the function's body: no block instruction of its own
    expect(only(taken.c)).toEqual({ const: 2, store: 1, storeBytes: 4, local: 1, branch: 1 });
    expect(only(not.c)).toEqual({ const: 6, store: 3, storeBytes: 12, local: 1, branch: 1 });
  });

  it("a br_if whose value is used: what follows it counts only when it falls through", async () => {
    const wat = `(module (func (export "f") (param i32) (result i32)
      (block $b (result i32)
        (i32.mul (br_if $b (i32.const 5) (local.get 0)) (i32.const 2)))))`;
    const taken = await counts(wat, "f", 1), not = await counts(wat, "f", 0);
    expect(taken.result).toBe(5);
    expect(not.result).toBe(10);
    expect(only(taken.c)).toEqual({ const: 1, local: 1, branch: 1 });
    expect(only(not.c)).toEqual({ const: 2, local: 1, branch: 1, mul32: 1 });
  });

  it("br_table and return", async () => {
    const wat = `(module (func (export "f") (param i32) (result i32)
      (block $a (block $b (br_table $a $b (local.get 0))) (return (i32.const 20)))
      (i32.const 10)))`;
    const zero = await counts(wat, "f", 0), one = await counts(wat, "f", 1);
    expect(zero.result).toBe(10);
    expect(one.result).toBe(20);
    expect(only(zero.c)).toEqual({ block: 2, local: 1, branch: 1, const: 1 });
    expect(only(one.c)).toEqual({ block: 2, local: 1, branch: 2, const: 1 });
  });

  it("memory.copy and memory.fill add their run-time sizes; calls count in the callee", async () => {
    const { c } = await counts(`(module (memory 1)
      (func $g (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "f") (param i32)
        (memory.fill (i32.const 0) (i32.const 7) (local.get 0))
        (memory.copy (i32.const 100) (i32.const 0) (call $g (local.get 0)))))`, "f", 10);
    expect(only(c)).toEqual({ bulk: 2, const: 5, local: 3, call: 1, alu32: 1, fillBytes: 10, copyBytes: 11 });
  });
});

/** wasm-interp opcode names to our classes; structural bookkeeping of wabt's own is left out. */
const wabtClass = (op: string): keyof Counts | undefined => wabtOpClass(op);

describe("instrumented counts against wasm-interp's trace", () => {
  it("an int8 CNN's run(): every opcode class agrees with the second engine", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy" });
    const file = join(tmpDir(), "trace.wasm");
    writeFileSync(file, c.wasm);
    const r = spawnSync("wasm-interp", ["--run-all-exports", "--trace", file], { encoding: "utf8", maxBuffer: 1 << 30 });
    const lines = r.stdout.split("\n");
    const start = lines.findIndex((l) => l.startsWith('>>> running export "run"'));
    const end = lines.findIndex((l, i) => i > start && l.startsWith("run() =>"));
    expect(start).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const wabt = zeroCounts();
    let br = 0;
    for (const l of lines.slice(start + 1, end)) {
      if (!l.startsWith("#")) continue;
      const op = l.slice(l.indexOf("| ") + 2).split(/\s/)[0];
      if (op === "br") { br++; continue; }
      const k = wabtClass(op);
      if (k) wabt[k]++;
    }
    const { instance } = await WebAssembly.instantiate((await instrument(c.wasm)).wasm as Uint8Array<ArrayBuffer>, {});
    (instance.exports.run as () => void)();
    const ours = zeroCounts();
    for (const k of CLASSES) ours[k] = (instance.exports[counterName(k)] as WebAssembly.Global).value as number;
    const compared = CLASSES.filter((k) => !["block", "branch", "loadBytes", "storeBytes", "copyBytes", "fillBytes"].includes(k));
    expect(Object.fromEntries(compared.map((k) => [k, ours[k]]))).toEqual(Object.fromEntries(compared.map((k) => [k, wabt[k]])));
    // conditional branches (wabt's br_unless: every br_if and if) <= ours <= all of wabt's branches
    expect(ours.branch).toBeGreaterThanOrEqual(wabt.branch);
    expect(ours.branch).toBeLessThanOrEqual(wabt.branch + br);
    expect(ours.mul64 + ours.mul32).toBeGreaterThan(10000); // a real workload, not an empty run
  });
});
