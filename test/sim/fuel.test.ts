// The fuel counter and power cut (targets/sim/fuel.ts), checked against references that do
// not use it:
// - hand-written modules (a storing loop; one straight segment of stores of every width with
//   other instructions between them; nested blocks, if/else, br_if, br_table, return, calls
//   inside expressions and store operands, a block inside a store's value; memory.fill and
//   overlapping memory.copy, including one out of bounds), each beside a JS model of the same
//   program that emits its instructions in evaluation order with their classes: for every
//   integer budget from 0 past the total (and some in between) under several weight sets,
//   the memory after the run equals the model's, it traps exactly when the model cuts, and
//   the fuel is the model's (F of the failed store, or the total);
// - a second engine: wabt's wasm-interp --trace of the uninstrumented cancer-mlp and
//   digits-cnn gives the executed instructions in order with every store's address and
//   value; with weights on every class but branch and block (where the engines' control
//   bookkeeping differs: wabt has no block markers and splits br_if), the cut after budget b
//   keeps exactly the traced stores whose cumulative fuel is <= b, the memory equals the
//   initial memory plus those stores, and the fuel at the cut is the trace's;
// - on compiled models with weights on every class: the full-run fuel equals the profiler's
//   counts (targets/profile/instrument.ts) x weights, and after a cut at a random budget the
//   memory is the initial memory plus a prefix of the traced stores, the prefix growing with
//   the budget;
// - the instrumented digits-cnn runs within a few times the uninstrumented time;
// - bad input gives one-line errors.
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUDGET_GLOBAL, FUEL_GLOBAL, instrumentFuel, type FuelWeights } from "../../targets/sim/fuel.js";
import { CLASSES, counterName, instrument, type OpClass } from "../../targets/profile/instrument.js";
import { compileModel } from "../../compiler/pipeline.js";
import { tmpDir } from "../helpers/build-onnx.js";
import { rng } from "../helpers/random.js";
import { wabtOpClass } from "../helpers/wabt.js";

type W = Record<OpClass, number>;
const full = (w: FuelWeights): W => Object.fromEntries(CLASSES.map((c) => [c, w[c] ?? 0])) as W;
const randomWeights = (seed: number, max = 4, skip: OpClass[] = []): W => {
  const r = rng(seed);
  return Object.fromEntries(CLASSES.map((c) => [c, skip.includes(c) ? 0 : Math.floor(r() * (max + 1))])) as W;
};
const ONES = full(Object.fromEntries(CLASSES.map((c) => [c, 1])));

async function wat(text: string): Promise<Uint8Array> {
  const binaryen = (await import("binaryen")).default;
  const mod = binaryen.parseText(text);
  mod.setFeatures((binaryen.Features as unknown as Record<string, number>).All);
  if (!mod.validate()) throw new Error("test module does not validate");
  const out = mod.emitBinary();
  mod.dispose();
  return out;
}

interface Outcome { trapped: boolean; fuel: number; mem: Uint8Array; seen: number[] }

/** Runs `entry(...args)` of a fresh instance with the budget set; memory and fuel afterwards. */
async function runFuel(mod: WebAssembly.Module, budget: number, entry: string, args: number[] = []): Promise<Outcome> {
  const seen: number[] = [];
  let fuelNow = () => NaN;
  const host = { pj: { mark: () => {} }, env: { host: (v: number) => { seen.push(fuelNow()); return v + 1; } } };
  const inst = await WebAssembly.instantiate(mod, WebAssembly.Module.imports(mod).length ? host : {});
  const ex = inst.exports as Record<string, unknown>;
  fuelNow = () => (ex[FUEL_GLOBAL] as WebAssembly.Global).value as number;
  (ex[BUDGET_GLOBAL] as WebAssembly.Global).value = budget;
  let trapped = false;
  try { (ex[entry] as (...a: number[]) => void)(...args); } catch (e) {
    if (!(e instanceof WebAssembly.RuntimeError)) throw e;
    trapped = true;
  }
  return { trapped, fuel: fuelNow(), mem: new Uint8Array((ex.memory as WebAssembly.Memory).buffer).slice(), seen };
}

/** Initial memory of a module (data segments applied), from a plain instance. */
async function initialMemory(wasm: Uint8Array): Promise<Uint8Array> {
  const { instance } = await WebAssembly.instantiate(wasm as Uint8Array<ArrayBuffer>, { pj: { mark: () => {} }, env: { host: () => 0 } });
  return new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer).slice();
}

// ---- the JS model of a hand-written program ----

class Cut extends Error {}
class OutOfBounds extends Error {}

/** Executes a program's events: F grows by each instruction's weight; a store that does not fit throws Cut. */
class Model {
  F = 0;
  stores = 0;
  /** The fuel each call of the host import saw. */
  seen: number[] = [];
  host(v: number): number { this.seen.push(this.F); return v + 1; }
  constructor(readonly w: W, readonly budget: number, readonly mem: Uint8Array) {}
  ev(...cs: OpClass[]): void { for (const c of cs) this.F += this.w[c]; }
  load(bytes: number): void { this.F += this.w.load + bytes * this.w.loadBytes; }
  private write(addr: number, bytes: number[], cost: number): void {
    this.F += cost;
    if (this.F > this.budget) throw new Cut();
    bytes.forEach((v, i) => { this.mem[addr + i] = v & 255; });
    this.stores++;
  }
  store(addr: number, bytes: number[]): void { this.write(addr, bytes, this.w.store + bytes.length * this.w.storeBytes); }
  fill(d: number, v: number, n: number): void {
    this.ev("bulk");
    if (n > 0 && d + n > this.mem.length) throw new OutOfBounds();
    for (let i = 0; i < n; i++) this.write(d + i, [v], this.w.fillBytes);
  }
  copy(d: number, s: number, n: number): void {
    this.ev("bulk");
    const src = this.mem.slice(s, s + n); // memory.copy reads as if before writing
    for (let i = 0; i < n; i++) this.write(d + i, [src[i]], this.w.copyBytes);
  }
}

const le = (v: number | bigint, n: number): number[] => {
  let x = BigInt.asUintN(64, BigInt(v));
  return Array.from({ length: n }, () => { const b = Number(x & 255n); x >>= 8n; return b; });
};
const f32 = (v: number): number[] => { const d = new DataView(new ArrayBuffer(4)); d.setFloat32(0, v, true); return [...new Uint8Array(d.buffer)]; };

interface Program { name: string; wat: string; entry: string; args: number[][]; model(m: Model, ...args: number[]): void }

const PROGRAMS: Program[] = [
  {
    name: "a loop storing to successive addresses",
    wat: `(module (memory (export "memory") 1)
      (func (export "f") (param $n i32) (local $i i32)
        (loop $l
          (i32.store8 (local.get $i) (i32.add (local.get $i) (i32.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`,
    entry: "f",
    args: [[1], [6]],
    model(m, n) {
      m.ev("block"); // the loop
      for (let i = 0; ;) {
        m.ev("local", "local", "const", "alu32"); m.store(i, [i + 1]);
        m.ev("local", "const", "alu32", "local"); i++;
        m.ev("local", "local", "alu32", "branch");
        if (!(i < n)) break;
      }
    },
  },
  {
    name: "one segment: stores of every width with other instructions between them",
    wat: `(module (memory (export "memory") 1) (global $g (mut i32) (i32.const 0))
      (func (export "f") (param $x i32) (local $t i64)
        (i32.store (i32.const 0) (i32.mul (local.get $x) (i32.const 3)))
        (local.set $t (i64.extend_i32_u (local.get $x)))
        (i64.store16 offset=4 (i32.const 0) (i64.add (local.get $t) (i64.const 0x1234)))
        (drop (i32.load8_u (i32.const 1)))
        (f32.store (i32.const 8) (f32.convert_i32_s (local.get $x)))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (i64.store (i32.const 16) (i64.mul (local.get $t) (local.get $t)))
        (nop)
        (i32.store8 (i32.const 24) (select (i32.const 7) (i32.const 9) (local.get $x)))))`,
    entry: "f",
    args: [[0], [70000]],
    model(m, x) {
      m.ev("const", "local", "const", "mul32"); m.store(0, le(x * 3, 4));
      m.ev("local", "convert", "local");
      m.ev("const", "local", "const", "alu64"); m.store(4, le(x + 0x1234, 2));
      m.ev("const"); m.load(1); m.ev("other");
      m.ev("const", "local", "convert"); m.store(8, f32(x));
      m.ev("global", "const", "alu32", "global");
      m.ev("const", "local", "local", "mul64"); m.store(16, le(BigInt(x) * BigInt(x), 8));
      m.ev("other");
      m.ev("const", "const", "const", "local", "select"); m.store(24, [x ? 7 : 9]);
    },
  },
  {
    name: "nested blocks, if/else, br_if, br_table, return, calls in expressions",
    wat: `(module (memory (export "memory") 1) (table 1 funcref) (elem (i32.const 0) $sq)
      (func $sq (param $v i32) (result i32)
        (i32.store8 (i32.const 40) (local.get $v))
        (i32.mul (local.get $v) (local.get $v)))
      (func (export "f") (param $x i32) (local $t i32)
        (block $out
          (i32.store (i32.const 0) (i32.const 0x11223344))
          (if (i32.and (local.get $x) (i32.const 1))
            (then
              (i32.store8 (i32.const 4) (i32.const 0xaa))
              (br_if $out (i32.eq (local.get $x) (i32.const 3)))
              (i32.store8 (i32.const 5) (i32.const 0xbb)))
            (else
              (i32.store16 (i32.const 6) (i32.const 0xcccc))))
          (block $inner
            (br_if $inner (i32.eqz (local.get $x)))
            (i32.store (i32.const 8) (call $sq (local.get $x))))
          (local.set $t (i32.add (call $sq (i32.const 3)) (call $sq (local.get $x))))
          (i32.store16 (i32.const 12) (local.get $t))
          (i32.store8 (i32.const 14) (block (result i32) (i32.store8 (i32.const 15) (i32.const 0x77)) (i32.const 0x66)))
          (local.set $t (if (result i32) (i32.gt_u (local.get $x) (i32.const 4)) (then (i32.add (call $sq (i32.const 2)) (i32.const 1))) (else (i32.const 5))))
          (block $a (block $b (br_table $a $b (local.get $x))) (i32.store8 (i32.const 16) (local.get $t)))
          (i32.store8 (i32.const 18) (block $v (result i32) (i32.mul (br_if $v (i32.const 5) (local.get $x)) (i32.const 2))))
          (i32.store8 (i32.const 19) (call_indirect (param i32) (result i32) (i32.const 4) (i32.const 0)))
          (if (i32.gt_u (local.get $x) (i32.const 5)) (then (return)))
          (i32.store8 (i32.const 17) (local.get $x)))))`,
    entry: "f",
    args: [[0], [1], [2], [3], [5], [6]],
    model(m, x) {
      const sq = (v: number) => {
        m.ev("const", "local"); m.store(40, [v]);
        m.ev("local", "local", "mul32");
        return v * v;
      };
      // the block $out is the function's body: no block marker
      m.ev("const", "const"); m.store(0, le(0x11223344, 4));
      m.ev("local", "const", "alu32", "branch");
      if (x & 1) {
        m.ev("branch"); // the then arm's jump over the else arm, counted at its start
        m.ev("const", "const"); m.store(4, [0xaa]);
        m.ev("local", "const", "alu32", "branch");
        if (x === 3) return;
        m.ev("const", "const"); m.store(5, [0xbb]);
      } else {
        m.ev("const", "const"); m.store(6, le(0xcccc, 2));
      }
      m.ev("block", "local", "alu32", "branch");
      if (x !== 0) { m.ev("const", "local", "call"); const v = sq(x); m.store(8, le(v, 4)); }
      m.ev("const", "call"); const a = sq(3); m.ev("local", "call"); const b = sq(x); m.ev("alu32", "local");
      let t = a + b;
      m.ev("const", "local"); m.store(12, le(t, 2));
      m.ev("const", "block", "const", "const"); m.store(15, [0x77]); m.ev("const"); m.store(14, [0x66]);
      m.ev("local", "const", "alu32", "branch");
      if (x > 4) { m.ev("branch", "const", "call"); t = sq(2); m.ev("const", "alu32"); t++; } else { m.ev("const"); t = 5; }
      m.ev("local");
      m.ev("block", "block", "local", "branch");
      if (x !== 0) { m.ev("const", "local"); m.store(16, [t]); }
      // a br_if whose value is used: the multiply runs only when it falls through
      m.ev("const", "block", "const", "local", "branch");
      if (!x) m.ev("const", "mul32");
      m.store(18, [x ? 5 : 10]);
      m.ev("const", "const", "const", "call"); m.store(19, [sq(4)]);
      m.ev("local", "const", "alu32", "branch");
      if (x > 5) { m.ev("branch"); return; }
      m.ev("const", "local"); m.store(17, [x]);
    },
  },
  {
    name: "memory.fill and overlapping memory.copy, byte by byte",
    wat: `(module (memory (export "memory") 1)
      (data (i32.const 100) "0123456789abcdef")
      (func (export "f") (param $n i32)
        (memory.fill (i32.const 200) (i32.const 0x5a) (local.get $n))
        (memory.copy (i32.const 104) (i32.const 100) (i32.add (local.get $n) (i32.const 2)))
        (i32.store8 (i32.const 99) (i32.const 1))
        (memory.copy (i32.const 300) (i32.const 200) (i32.const 0))
        (memory.copy (i32.const 98) (i32.const 101) (i32.const 5))
        (memory.fill (i32.const 65530) (i32.const 1) (local.get $n))))`,
    entry: "f",
    args: [[0], [3], [6], [9]],
    model(m, n) {
      m.ev("const", "const", "local"); m.fill(200, 0x5a, n);
      m.ev("const", "const", "local", "const", "alu32"); m.copy(104, 100, n + 2);
      m.ev("const", "const"); m.store(99, [1]);
      m.ev("const", "const", "const"); m.copy(300, 200, 0);
      m.ev("const", "const", "const"); m.copy(98, 101, 5);
      m.ev("const", "const", "local"); m.fill(65530, 1, n); // out of bounds for n > 6
    },
  },
  {
    name: "imported calls see the exact fuel; pj.mark and its constant are not counted",
    wat: `(module (import "pj" "mark" (func $mark (param i32))) (import "env" "host" (func $host (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "f") (param $x i32)
        (call $mark (i32.const 0))
        (i32.store8 (i32.const 0) (call $host (local.get $x)))
        (call $mark (i32.const 1))
        (i32.store8 (i32.const 1) (i32.add (call $host (i32.add (local.get $x) (i32.const 1))) (i32.const 3)))
        (return)))`,
    entry: "f",
    args: [[4]],
    model(m, x) {
      m.ev("const", "local", "call"); m.store(0, [m.host(x)]);
      m.ev("const", "local", "const", "alu32", "call"); const v = m.host(x + 1); m.ev("const", "alu32"); m.store(1, [v + 3]);
      m.ev("branch");
    },
  },
];

describe("the power cut on hand-written modules, against a model of each program", () => {
  const weightSets: Array<[string, W]> = [
    ["all weights 1", ONES],
    ["random weights (seed 1)", randomWeights(1)],
    ["random weights (seed 2)", randomWeights(2)],
    ["stores and bytes only", full({ store: 3, storeBytes: 2, fillBytes: 1, copyBytes: 2 })],
  ];
  for (const p of PROGRAMS) {
    it(p.name, async () => {
      const wasm = await wat(p.wat);
      const mem0 = await initialMemory(wasm);
      let cuts = 0;
      for (const [label, w] of weightSets) {
        const mod = new WebAssembly.Module((await instrumentFuel(wasm, w)) as Uint8Array<ArrayBuffer>);
        for (const args of p.args) {
          const expect1 = (budget: number) => {
            const m = new Model(w, budget, mem0.slice());
            let outcome: "done" | "cut" | "oob" = "done";
            try { p.model(m, ...args); } catch (e) {
              if (e instanceof Cut) outcome = "cut"; else if (e instanceof OutOfBounds) outcome = "oob"; else throw e;
            }
            return { m, outcome };
          };
          const total = expect1(Infinity).m.F;
          const budgets = [...Array.from({ length: Math.ceil(total) + 3 }, (_, i) => i), 0.5, total - 0.5, -1];
          for (const budget of budgets) {
            const { m, outcome } = expect1(budget);
            const got = await runFuel(mod, budget, p.entry, args);
            const where = `${label}, args ${args}, budget ${budget}`;
            expect(got.trapped, where).toBe(outcome !== "done");
            expect(Buffer.compare(got.mem, m.mem), `${where}: memory after ${m.stores} stores`).toBe(0);
            if (outcome !== "oob") expect(got.fuel, where).toBe(m.F);
            expect(got.seen, where).toEqual(m.seen);
            if (outcome === "cut") cuts++;
          }
        }
      }
      expect(cuts).toBeGreaterThan(20);
    });
  }

  it("fuel accumulates across calls and the budget can be raised between them", async () => {
    const wasm = await wat(PROGRAMS[0].wat);
    const { instance } = await WebAssembly.instantiate((await instrumentFuel(wasm, ONES)) as Uint8Array<ArrayBuffer>, {});
    const ex = instance.exports as Record<string, unknown>;
    const fuel = ex[FUEL_GLOBAL] as WebAssembly.Global, budget = ex[BUDGET_GLOBAL] as WebAssembly.Global;
    expect(budget.value).toBe(Infinity);
    expect(fuel.value).toBe(0);
    const f = ex.f as (n: number) => void;
    f(1);
    const one = fuel.value as number;
    expect(one).toBe(1 + 14); // the loop marker, one iteration (4 + store and its byte + 8)
    budget.value = one + 6; // the second call's store is at F = one + 1 + 4 + 2
    expect(() => f(1)).toThrow(WebAssembly.RuntimeError);
    expect(fuel.value).toBe(one + 7);
    expect(new Uint8Array((ex.memory as WebAssembly.Memory).buffer)[0]).toBe(1); // the first call's store
  });
});

// ---- wasm-interp's trace of a compiled model ----

interface TraceStore { pos: number; F: number; addr: number; bytes: number[] }

/** wasm-interp opcode names to our classes; control and wabt's own bookkeeping: undefined (branch and block weights are 0 here). */
function wabtClass(op: string): OpClass | undefined {
  const k = wabtOpClass(op, true);
  return k === "branch" ? undefined : k;
}

/** Bytes a load or store opcode moves: i32.load8_s -> 1, i64.store -> 8. */
function accessBytes(op: string): number {
  const m = /^([if])(32|64)\.(load|store)(8|16|32)?/.exec(op)!;
  return Number(m[4] ?? m[2]) / 8;
}

/** The run() export's executed instructions (control left out) as (class, bytes), and its stores. */
function traceRun(wasm: Uint8Array): { ops: Array<[OpClass, number]>; stores: Array<{ at: number; addr: number; bytes: number[] }> } {
  const file = join(tmpDir(), `fuel-trace-${process.pid}.wasm`);
  writeFileSync(file, wasm);
  const r = spawnSync("wasm-interp", ["--run-all-exports", "--trace", file], { encoding: "utf8", maxBuffer: 1 << 30 });
  const lines = r.stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith('>>> running export "run"'));
  const end = lines.findIndex((l, i) => i > start && l.startsWith("run() =>"));
  if (start < 0 || end < 0) throw new Error(`wasm-interp did not run run(): ${r.stderr.slice(0, 300)}`);
  const ops: Array<[OpClass, number]> = [];
  const stores: Array<{ at: number; addr: number; bytes: number[] }> = [];
  for (const l of lines.slice(start + 1, end)) {
    if (!l.startsWith("#")) continue;
    const text = l.slice(l.indexOf("| ") + 2);
    const op = text.split(/\s/)[0];
    const k = wabtClass(op);
    if (!k) continue;
    const bytes = k === "load" || k === "store" ? accessBytes(op) : 0;
    ops.push([k, bytes]);
    if (k === "store") {
      // i32.store8 $0:48+$1, 4294967168: memory 0, address 48 + offset 1, the value
      const m = /^[i](32|64)\.store\S* \$0:(\d+)\+\$(\d+), (\d+)$/.exec(text);
      if (!m) throw new Error(`unparsed store: ${text}`);
      stores.push({ at: ops.length - 1, addr: Number(m[2]) + Number(m[3]), bytes: le(BigInt(m[4]), bytes) });
    }
    if (k === "bulk") throw new Error("bulk memory in the traced model: its byte counts are not in the trace");
  }
  return { ops, stores };
}

/** Cumulative fuel at every traced store under weights w (control classes must weigh 0). */
function storeFuel(trace: ReturnType<typeof traceRun>, w: W): { F: number[]; total: number } {
  const cum: number[] = [];
  let F = 0;
  for (const [k, bytes] of trace.ops) {
    F += w[k] + bytes * (k === "load" ? w.loadBytes : k === "store" ? w.storeBytes : 0);
    cum.push(F);
  }
  return { F: trace.stores.map((s) => cum[s.at]), total: F };
}

function replay(mem0: Uint8Array, stores: TraceStore[] | ReturnType<typeof traceRun>["stores"], k: number): Uint8Array {
  const mem = mem0.slice();
  for (const s of stores.slice(0, k)) s.bytes.forEach((v, i) => { mem[s.addr + i] = v; });
  return mem;
}

const MODELS = [
  { name: "cancer-mlp", file: "examples/cancer-mlp/model.onnx", calibrate: "examples/cancer-mlp/calib.npy", exhaustive: true },
  { name: "digits-cnn", file: "examples/digits-cnn/model.onnx", calibrate: "examples/digits-cnn/calib.npy", exhaustive: false },
];

describe("the power cut on compiled int8 models, against wasm-interp's trace", () => {
  const built = new Map<string, { wasm: Uint8Array; mem0: Uint8Array; trace: ReturnType<typeof traceRun> }>();
  beforeAll(async () => {
    for (const m of MODELS) {
      const c = await compileModel(m.file, { quantize: "int8", calibrate: m.calibrate });
      built.set(m.name, { wasm: c.wasm, mem0: await initialMemory(c.wasm), trace: traceRun(c.wasm) });
    }
  });

  for (const spec of MODELS) {
    it(`${spec.name}: the stores kept at budget b are the traced ones within b (weights off control)`, async () => {
      const { wasm, mem0, trace } = built.get(spec.name)!;
      expect(trace.stores.length).toBeGreaterThan(40);
      const r = rng(7);
      for (const [label, w] of [["all weights 1", full({ ...ONES, branch: 0, block: 0, loadBytes: 0, storeBytes: 0 })], ["random weights", randomWeights(11, 5, ["branch", "block"])]] as Array<[string, W]>) {
        const mod = new WebAssembly.Module((await instrumentFuel(wasm, w)) as Uint8Array<ArrayBuffer>);
        const { F, total } = storeFuel(trace, w);
        const budgets = spec.exhaustive
          ? [...F.flatMap((f) => [f - 1, f]), total] // on both sides of every store
          : [...Array.from({ length: 12 }, () => F[Math.floor(r() * F.length)]).flatMap((f) => [f - 1, f]), ...Array.from({ length: 6 }, () => Math.floor(r() * total)), total];
        for (const budget of budgets) {
          const kept = F.findIndex((f) => f > budget);
          const k = kept < 0 ? F.length : kept;
          const got = await runFuel(mod, budget, "run");
          const where = `${label}, budget ${budget}: ${k} of ${F.length} stores`;
          expect(got.trapped, where).toBe(k < F.length);
          expect(got.fuel, where).toBe(k < F.length ? F[k] : total);
          expect(Buffer.compare(got.mem, replay(mem0, trace.stores, k)), where).toBe(0);
        }
      }
    });
  }

  for (const spec of MODELS) {
    it(`${spec.name}: full-run fuel equals the profiler's counts x weights; cuts keep a growing prefix of the stores`, async () => {
      const { wasm, mem0, trace } = built.get(spec.name)!;
      const prof = await WebAssembly.instantiate((await instrument(wasm)).wasm as Uint8Array<ArrayBuffer>, {});
      (prof.instance.exports.run as () => void)();
      const counts = Object.fromEntries(CLASSES.map((c) => [c, (prof.instance.exports[counterName(c)] as WebAssembly.Global).value as number])) as W;
      expect(counts.branch).toBeGreaterThan(100);
      expect(counts.block).toBeGreaterThan(0);
      for (const seed of [21, 22, 23]) {
        const w = randomWeights(seed, 9);
        const mod = new WebAssembly.Module((await instrumentFuel(wasm, w)) as Uint8Array<ArrayBuffer>);
        const total = CLASSES.reduce((s, c) => s + counts[c] * w[c], 0);
        const done = await runFuel(mod, Infinity, "run");
        expect(done.trapped).toBe(false);
        expect(done.fuel, `seed ${seed}`).toBe(total);
        expect(Buffer.compare(done.mem, replay(mem0, trace.stores, trace.stores.length))).toBe(0);
        expect((await runFuel(mod, total, "run")).trapped).toBe(false);
        // random budgets, ascending: the memory is the initial one plus the first k traced stores, k not decreasing
        const r = rng(seed);
        const budgets = Array.from({ length: spec.exhaustive ? 40 : 12 }, () => Math.floor(r() * total)).sort((a, b) => a - b);
        let prev = 0, cuts = 0;
        for (const budget of budgets) {
          const got = await runFuel(mod, budget, "run");
          if (got.trapped) { cuts++; expect(got.fuel).toBeGreaterThan(budget); } else expect(got.fuel).toBe(total);
          let k = prev;
          const mem = replay(mem0, trace.stores, k);
          while (Buffer.compare(got.mem, mem) !== 0 && k < trace.stores.length) { const s = trace.stores[k++]; s.bytes.forEach((v, i) => { mem[s.addr + i] = v; }); }
          expect(Buffer.compare(got.mem, mem), `seed ${seed}, budget ${budget}: memory is no prefix of the stores from the ${prev}th on`).toBe(0);
          if (!got.trapped) expect(k).toBe(trace.stores.length);
          prev = k;
        }
        expect(cuts).toBeGreaterThan(budgets.length / 2);
        expect(prev).toBeGreaterThan(0);
      }
    });
  }

  it("digits-cnn: the instrumented run() stays within a few times the original's time", async () => {
    const { wasm } = built.get("digits-cnn")!;
    const time = async (bytes: Uint8Array, budget?: number) => {
      const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, {});
      if (budget !== undefined) (instance.exports[BUDGET_GLOBAL] as WebAssembly.Global).value = budget;
      const run = instance.exports.run as () => void;
      for (let i = 0; i < 20; i++) run(); // warm up
      const t: number[] = []; // the median of 41 samples of 10 runs
      for (let i = 0; i < 41; i++) { const t0 = performance.now(); for (let j = 0; j < 10; j++) run(); t.push((performance.now() - t0) / 10); }
      return t.sort((a, b) => a - b)[20];
    };
    const base = await time(wasm);
    const fuel = await time(await instrumentFuel(wasm, randomWeights(5)), 1e300);
    console.log(`digits-cnn run(): ${base.toFixed(3)} ms, with fuel ${fuel.toFixed(3)} ms (${(fuel / base).toFixed(2)}x)`);
    expect(fuel / base).toBeLessThan(6); // loose: timing on a loaded machine
  });
});

describe("bad input", () => {
  it("not a module, a bad weight, an unknown class, instrumented twice: one-line errors", async () => {
    await expect(instrumentFuel(new TextEncoder().encode("(module)"), {})).rejects.toThrow(/^fuel: the input is not a WebAssembly module/);
    await expect(instrumentFuel(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff, 0xff]), {})).rejects.toThrow(/^fuel: cannot read the WebAssembly module/);
    const wasm = await wat(PROGRAMS[0].wat);
    await expect(instrumentFuel(wasm, { store: -1 })).rejects.toThrow(/^fuel: the weight of store must be a finite number >= 0, not -1$/);
    await expect(instrumentFuel(wasm, { load: NaN })).rejects.toThrow(/weight of load/);
    await expect(instrumentFuel(wasm, { stores: 1 } as unknown as FuelWeights)).rejects.toThrow(/^fuel: unknown operation class "stores"/);
    await expect(instrumentFuel(await instrumentFuel(wasm, {}), {})).rejects.toThrow(/already has a global __pj_fuel/);
  });
});
