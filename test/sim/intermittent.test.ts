// The checkpoint transform (--intermittent, compiler/emit/intermittent.ts, runtime-as/
// checkpoint.ts) against its contract, driven by a host written here from docs/intermittent.md
// (independent of the simulator in targets/sim/power.ts). In this host model memory is
// volatile and the host's image of the region changes only when it persists the dirty ranges,
// so every possible power failure is a cut at some byte of some persist: a failure inside a
// module call loses only volatile state, the same as a cut at the next persist's first byte.
// Checked: run() at steady power equals the plain module bit for bit; a cut at every byte
// (small models) or at random bytes, once or many times, never changes the answer, with
// commits after every task or deferred; a flipped bit anywhere in the image either goes
// unnoticed because nothing reads it or is detected (restart, or the input reported lost),
// never a wrong answer; the region, tables and exports are as model.json and model.h say;
// refusals.
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import type { Manifest } from "../../compiler/emit/manifest.js";
import { rng } from "../helpers/random.js";
import { exampleSample } from "../helpers/examples.js";
import { writeModel } from "../helpers/build-onnx.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";

class Cut extends Error {}

interface Ex {
  memory: WebAssembly.Memory;
  begin(id: number): void; resume(): number; step(commit: number): number; commit(): void;
  dirty_count(): number; dirty_ptr(i: number): number; dirty_len(i: number): number; inference_id(): number;
}

/** The host of docs/intermittent.md with power that fails after `budgets[k]` persisted bytes in power-on k. */
function hostRun(c: Compiled, inputs: Value[], budgets: number[], opts: { defer?: boolean; corrupt?: (nv: Uint8Array) => void } = {}) {
  const m = c.manifest, reg = m.intermittent!.region;
  const mod = new WebAssembly.Module(c.wasm as Uint8Array<ArrayBuffer>);
  const nv = new Uint8Array(reg.bytes);
  let persisted = false, boots = 0, rebegins = 0, restarts = 0;
  const ID = 7;
  for (;;) {
    let budget = boots < budgets.length ? budgets[boots] : Infinity;
    boots++;
    if (boots > budgets.length + 3) throw new Error("no progress after the last failure");
    const ex = new WebAssembly.Instance(mod, {}).exports as unknown as Ex;
    const mem = new Uint8Array(ex.memory.buffer);
    const persist = () => {
      for (let i = 0; i < ex.dirty_count(); i++) {
        const p = ex.dirty_ptr(i), n = ex.dirty_len(i);
        expect(p >= reg.base && p + n <= reg.base + reg.bytes).toBe(true);
        const k = Math.min(n, budget);
        nv.set(mem.subarray(p, p + k), p - reg.base);
        budget -= k;
        persisted = true;
        if (k < n) throw new Cut();
      }
    };
    try {
      if (persisted) {
        if (opts.corrupt && boots === 2) opts.corrupt(nv);
        mem.set(nv, reg.base);
      }
      let next = persisted ? ex.resume() : -1;
      if (next >= 0 && ex.inference_id() !== ID) next = -1;
      if (next < 0) {
        if (persisted) rebegins++;
        m.inputs.forEach((io, i) => mem.set(new Uint8Array(inputs[i].data.buffer, inputs[i].data.byteOffset, io.bytes), io.address));
        ex.begin(ID);
      }
      persist();
      const start = () => {
        m.inputs.forEach((io, i) => mem.set(new Uint8Array(inputs[i].data.buffer, inputs[i].data.byteOffset, io.bytes), io.address));
        ex.begin(ID);
        persist();
      };
      for (;;) {
        const left = ex.step(opts.defer ? 0 : 1);
        persist();
        if (left === -2) { rebegins++; start(); continue; } // a corrupted piece found by a task, and the inputs too
        expect(left).toBeGreaterThanOrEqual(0);
        if (left === 0) break;
      }
      restarts += (ex as unknown as { restarts(): number }).restarts();
      ex.commit();
      persist();
      return { outputs: m.outputs.map((io) => Array.from(mem.slice(io.address, io.address + io.bytes))), boots, rebegins, restarts };
    } catch (e) {
      if (!(e instanceof Cut)) throw e;
    }
  }
}

function bytesOf(m: Manifest, outs: Value[]): number[][] {
  return outs.map((v) => Array.from(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)));
}

const sample = exampleSample;

const int8 = (ex: string): CompileOptions => ({ quantize: "int8", calibrate: `examples/${ex}/calib.npy` });

describe("checkpointed inference (--intermittent)", () => {
  it("steady power: run() equals the plain module bit for bit, on every example and grain", async () => {
    for (const [ex, opts] of [["cancer-mlp", int8("cancer-mlp")], ["digits-cnn", int8("digits-cnn")], ["digits-cnn", {}], ["ecg-tcn", int8("ecg-tcn")], ["sunspots-lstm", {}], ["sunspots-lstm", int8("sunspots-lstm")]] as Array<[string, CompileOptions]>) {
      const plain = await compileModel(`examples/${ex}/model.onnx`, opts);
      const pm = await instantiate(plain.wasm, plain.manifest);
      const xs = [0, 1, 2].map((i) => sample(plain.manifest, ex, i));
      const want = xs.map((x) => bytesOf(plain.manifest, runRaw(pm, x)));
      for (const tasks of ["layer", "tile", "unit"] as const) {
        const c = await compileModel(`examples/${ex}/model.onnx`, { ...opts, intermittent: { tasks }, selftest: true });
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)(), `${ex} ${tasks}`).toBe(0);
        xs.forEach((x, i) => expect(bytesOf(c.manifest, runRaw(m, x)), `${ex} ${tasks} sample ${i}`).toEqual(want[i]));
        // and through the host loop, without failures
        expect(hostRun(c, xs[0], []).outputs).toEqual(want[0]);
      }
    }
  });

  it("element-wise layers split by element ranges (Add, Mul, a unary op); the answer is the plain module's, also under cuts", async () => {
    const file = writeModel({
      inputs: [{ name: "x", shape: [1, 8, 50] }], outputs: ["y"],
      nodes: [
        { op: "Sigmoid", inputs: ["x"], outputs: ["s"], name: "sig" },
        { op: "Mul", inputs: ["x", "s"], outputs: ["m"], name: "mul" },
        { op: "Add", inputs: ["m", "x"], outputs: ["y"], name: "add" },
      ],
    }, "ck-elementwise");
    const plain = await compileModel(file, {});
    const pm = await instantiate(plain.wasm, plain.manifest);
    const r = rng(17);
    const x = [makeValue("float32", [1, 8, 50], Array.from({ length: 400 }, () => 4 * r() - 2))];
    const want = bytesOf(plain.manifest, runRaw(pm, x));
    const c = await compileModel(file, { intermittent: { tasks: "tile", taskInstructions: 300 } });
    const ck = c.manifest.intermittent!;
    for (const l of [0, 1, 2]) expect(ck.tasks.filter((t) => t.layer === l).length, `layer ${l} splits`).toBeGreaterThan(2);
    expect(bytesOf(c.manifest, runRaw(await instantiate(c.wasm, c.manifest), x))).toEqual(want);
    for (let k = 0; k < 10; k++) expect(hostRun(c, x, [Math.floor(r() * 1500), Math.floor(r() * 1500)], { defer: k % 2 === 1 }).outputs).toEqual(want);
  });

  it("a power failure at every byte the host persists never changes the answer (cancer-mlp, int8, per task)", async () => {
    const c = await compileModel("examples/cancer-mlp/model.onnx", { ...int8("cancer-mlp"), intermittent: { tasks: "unit" } });
    const x = sample(c.manifest, "cancer-mlp", 3);
    const want = hostRun(c, x, []).outputs;
    // the bytes one inference persists without failures: count them with a budget that never runs out
    // a cut only costs the work since the last commit: no restart from task 0, and a second
    // begin() only when the cut tore the first one's persist
    // begin() commits nothing: the first record lands with task 0's commit, which persists the
    // inputs and task 0's outputs that later tasks read, their hashes, then a record slot
    const ck = c.manifest.intermittent!, firstOf1 = ck.tasks[1].pieces[0];
    const sealed = ck.pieces.slice(0, firstOf1).filter((p) => p.last >= 1);
    const beginBytes = sealed.reduce((a, p) => a + p.bytes * p.count, 0) + 4 * sealed.length + ck.region.slotBytes;
    let total = 0;
    for (let b = 0; ; b++) {
      const r = hostRun(c, x, [b]);
      expect(r.outputs, `cut after ${b} bytes`).toEqual(want);
      expect(r.restarts).toBe(0);
      expect(r.rebegins).toBe(b < beginBytes ? 1 : 0);
      if (r.boots === 1) { total = b; break; }
    }
    expect(total).toBeGreaterThan(100);
    // two failures: every cut pair on a grid
    for (let a = 0; a < total; a += 7) for (let b = 0; b < total; b += 11) expect(hostRun(c, x, [a, b]).outputs).toEqual(want);
  });

  it("random cuts, many per inference, with commits after every task or deferred (digits-cnn int8 tiles, sunspots-lstm time tiles, float and int8, both layouts)", async () => {
    for (const [ex, opts, layout] of [["digits-cnn", int8("digits-cnn"), "distinct"], ["sunspots-lstm", {}, "distinct"], ["sunspots-lstm", int8("sunspots-lstm"), "shared"], ["sunspots-lstm", int8("sunspots-lstm"), "distinct"]] as Array<[string, CompileOptions, "distinct" | "shared"]>) {
      const c = await compileModel(`examples/${ex}/model.onnx`, { ...opts, intermittent: { tasks: "tile", layout } });
      if (ex === "sunspots-lstm") {
        // float: a task per time step; int8: each step also split by hidden units
        const n = c.manifest.intermittent!.tasks.filter((t) => t.layer === 1).length;
        if (opts.quantize) expect(n % 24 === 0 && n > 24, `${n} tasks: steps split by units`).toBe(true);
        else expect(n, "one task per time step").toBe(24);
      }
      const x = sample(c.manifest, ex, 5);
      const want = hostRun(c, x, []).outputs;
      const r = rng(ex.length);
      for (let k = 0; k < 12; k++) {
        const budgets = Array.from({ length: 1 + Math.floor(r() * 6) }, () => Math.floor(r() * 4000));
        for (const defer of [false, true]) {
          const res = hostRun(c, x, budgets, { defer });
          expect(res.outputs, `${ex} ${opts.quantize ?? "float"} ${layout} ${defer ? "deferred, " : ""}cuts ${budgets}`).toEqual(want);
          expect(res.restarts, `${ex} ${defer ? "deferred, " : ""}cuts ${budgets}: a restart from task 0`).toBe(0);
        }
      }
    }
  });

  it("a corrupted region is detected or harmless, never a wrong answer", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...int8("digits-cnn"), intermittent: { tasks: "tile" } });
    const x = sample(c.manifest, "digits-cnn", 2);
    const want = hostRun(c, x, []).outputs;
    const r = rng(99);
    const reg = c.manifest.intermittent!.region;
    let detected = 0, rebegun = 0;
    for (let k = 0; k < 40; k++) {
      const cut = Math.floor(r() * 3000);
      // a flipped bit at a random byte, or in the record (its slots and piece hashes) half the time
      const at = k % 2 ? Math.floor(r() * reg.bytes) : reg.recordAddress - reg.base + Math.floor(r() * reg.recordBytes);
      const bit = 1 << Math.floor(r() * 8);
      const res = hostRun(c, x, [cut], { corrupt: (nv) => { nv[at] ^= bit; } });
      expect(res.outputs, `cut ${cut}, flipped bit ${bit} of byte ${at}`).toEqual(want);
      detected += res.restarts;
      rebegun += res.rebegins;
    }
    // both paths were taken: some flips hit a needed piece (restart), some the record or the input (begin again)
    expect(detected).toBeGreaterThan(0);
    expect(rebegun).toBeGreaterThan(0);
  });

  it("the contract: the region after the arena, below the constants; tables and exports in model.json and model.h", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...int8("digits-cnn"), intermittent: { tasks: "tile", taskInstructions: 20000 } });
    const m = c.manifest, ck = m.intermittent!;
    expect(ck.region.base).toBe(m.memory.arenaBase);
    expect(ck.region.recordAddress).toBeGreaterThanOrEqual(m.memory.arenaBase + m.memory.arenaBytes);
    expect(ck.region.recordBytes).toBe(2 * ck.region.slotBytes + 4 * (ck.pieces.length + ck.wholes.length));
    // every split layer's output is also hashed whole (the tiles cover it)
    expect(ck.wholes.length).toBeGreaterThan(0);
    for (const w of ck.wholes) expect(ck.pieces.filter((p) => p.tensor === w.tensor).reduce((a, p) => a + p.bytes * p.count, 0)).toBe(w.bytes);
    expect(ck.region.base + ck.region.bytes).toBeLessThanOrEqual(m.memory.constantBase);
    // the tiles of a layer add up to its MACs; a layer splits when its measured instructions
    // exceed the target, into tiles of about the target (at most twice it, from the rounding of
    // channel blocks and rows)
    const prof = await profileModule(c.wasm, c.source, m);
    for (const [i, l] of m.layers.entries()) {
      const ts = ck.tasks.filter((t) => t.layer === i);
      if (!ts.length) continue;
      expect(Math.abs(ts.reduce((a, t) => a + t.macs, 0) - l.macs)).toBeLessThanOrEqual(ts.length);
      if (ts.length > 1) for (const t of ts) expect(t.instructions).toBeLessThanOrEqual(2 * 20000);
      // the estimate against the tiles' counts in the checkpointed module
      expect(Math.abs(instructions(prof.layers[i]) / ts.reduce((a, t) => a + t.instructions, 0) - 1)).toBeLessThan(0.1);
    }
    expect(ck.tasks.some((t) => t.tiles > 1)).toBe(true);
    for (const f of ["begin", "resume", "step", "commit", "dirty_count", "dirty_ptr", "dirty_len", "nv_base", "nv_bytes"]) expect(m.exports).toContain(f);
    expect(c.header).toContain(`#define PJ_NV_BASE ${ck.region.base}u`);
    expect(c.header).toContain(`#define PJ_NV_BYTES ${ck.region.bytes}u`);
    expect(c.header).toContain(`#define PJ_TASKS ${ck.tasks.length}`);
    expect(c.header).toContain(`#define PJ_WHOLES ${ck.wholes.length}`);
    expect(c.header).toContain(`#define PJ_SLOT_BYTES ${ck.region.slotBytes}u`);
    expect(c.header).toContain(`#define PJ_NV_DISTINCT 1`);
    expect(c.header).toContain(`#define PJ_INPUTS_BYTES ${m.inputs.reduce((a, t) => a + t.bytes, 0)}u`);
    const inst = await instantiate(c.wasm, m);
    const ex = inst.instance.exports as unknown as Ex & { nv_base(): number; nv_bytes(): number; task_count(): number };
    expect([ex.nv_base(), ex.nv_bytes(), ex.task_count()]).toEqual([ck.region.base, ck.region.bytes, ck.tasks.length]);
    // before begin or resume nothing runs; a fresh region holds no record
    expect(ex.step(1)).toBe(-1);
    expect(ex.resume()).toBe(-1);
  });

  it("the record's 8-bit sequence number wraps: after each of 600 commits over consecutive inferences a reset resumes at the task committed last", async () => {
    const c = await compileModel("examples/cancer-mlp/model.onnx", { ...int8("cancer-mlp"), intermittent: { tasks: "unit" } });
    const m = c.manifest, reg = m.intermittent!.region, T = m.intermittent!.tasks.length;
    const mod = new WebAssembly.Module(c.wasm as Uint8Array<ArrayBuffer>);
    const nv = new Uint8Array(reg.bytes);
    const x = sample(m, "cancer-mlp", 1);
    const fresh = () => {
      const ex = new WebAssembly.Instance(mod, {}).exports as unknown as Ex & { next_task(): number };
      return { ex, mem: new Uint8Array(ex.memory.buffer) };
    };
    const persist = (ex: Ex, mem: Uint8Array) => { for (let i = 0; i < ex.dirty_count(); i++) nv.set(mem.subarray(ex.dirty_ptr(i), ex.dirty_ptr(i) + ex.dirty_len(i)), ex.dirty_ptr(i) - reg.base); };
    let { ex, mem } = fresh();
    let commits = 0, id = 0;
    while (commits < 600) {
      id++;
      m.inputs.forEach((io, i) => mem.set(new Uint8Array(x[i].data.buffer, x[i].data.byteOffset, io.bytes), io.address));
      ex.begin(id);
      persist(ex, mem);
      for (let t = 0; t < T; t++) {
        expect(ex.step(1)).toBe(T - t - 1);
        persist(ex, mem);
        commits++;
        // a reset now: the image alone says where this inference is
        ({ ex, mem } = fresh());
        mem.set(nv, reg.base);
        expect(ex.resume(), `commit ${commits}`).toBe(t + 1);
        expect(ex.inference_id()).toBe(id);
        persist(ex, mem);
      }
    }
    expect(commits).toBeGreaterThan(2 * 256);
  });

  it("after a reset each task checks the saved pieces it reads: a corrupted one restarts the inference, with corrupted inputs too the host is asked for them", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...int8("digits-cnn"), intermittent: { tasks: "tile" } });
    const m = c.manifest, ck = m.intermittent!, reg = ck.region;
    // the distinct layout: no task overwrites what an earlier one read, so no commit is ever forced
    expect(ck.layout).toBe("distinct");
    expect(ck.tasks.every((t) => t.war === -1)).toBe(true);
    const shared = (await compileModel("examples/digits-cnn/model.onnx", { ...int8("digits-cnn"), intermittent: { tasks: "tile", layout: "shared" } })).manifest.intermittent!;
    expect(shared.region.bytes).toBeLessThan(reg.bytes);
    expect(shared.tasks.some((t) => t.war >= 0)).toBe(true);
    const x = sample(m, "digits-cnn", 3);
    const want = hostRun(c, x, []).outputs;
    const mod = new WebAssembly.Module(c.wasm as Uint8Array<ArrayBuffer>);
    type X = Ex & { restarts(): number; next_task(): number };
    const fresh = () => new WebAssembly.Instance(mod, {}).exports as unknown as X;
    const persistAll = (ex: X, nv: Uint8Array) => {
      const mem = new Uint8Array(ex.memory.buffer);
      for (let i = 0; i < ex.dirty_count(); i++) nv.set(mem.subarray(ex.dirty_ptr(i), ex.dirty_ptr(i) + ex.dirty_len(i)), ex.dirty_ptr(i) - reg.base);
    };
    const writeInputs = (ex: X) => m.inputs.forEach((io, i) => new Uint8Array(ex.memory.buffer).set(new Uint8Array(x[i].data.buffer, x[i].data.byteOffset, io.bytes), io.address));
    // steady power up to task k, everything persisted: the saved image
    const l4 = ck.tasks.findIndex((t) => t.layer === 4), k = l4 + 2, l5 = ck.tasks.findIndex((t) => t.layer === 5);
    const nv0 = new Uint8Array(reg.bytes);
    { const ex = fresh(); writeInputs(ex); ex.begin(1); persistAll(ex, nv0); for (let i = 0; i < k; i++) { ex.step(1); persistAll(ex, nv0); } }
    // a piece task k reads (layer 3's output), one only layer 5 reads (layer 4's tile before k), the input (dead by k)
    const pieceOf = (pred: (p: (typeof ck.pieces)[number]) => boolean) => ck.pieces.findIndex(pred);
    const read = pieceOf((p) => p.task >= 0 && ck.tasks[p.task].layer === 3 && p.last >= k);
    const later = ck.tasks[k - 1].pieces[0];
    expect(ck.pieces[later].last).toBeGreaterThanOrEqual(l5);
    expect(ck.pieces[0].last).toBeLessThan(k);
    const run = (flip: number[]) => {
      const nv = nv0.slice();
      for (const i of flip) nv[ck.pieces[i].address - reg.base] ^= 4;
      const ex = fresh();
      new Uint8Array(ex.memory.buffer).set(nv, reg.base);
      const next = ex.resume();
      const codes: number[] = [];
      let rebegun = false;
      for (;;) {
        const left = ex.step(1);
        codes.push(left);
        if (left === -2) { rebegun = true; writeInputs(ex); ex.begin(2); continue; }
        if (left === 0) break;
      }
      const mem = new Uint8Array(ex.memory.buffer);
      return { next, restarts: ex.restarts(), rebegun, codes, outputs: m.outputs.map((io) => Array.from(mem.slice(io.address, io.address + io.bytes))) };
    };
    const clean = run([]);
    expect([clean.next, clean.restarts, clean.outputs]).toEqual([k, 0, want]);
    // task k reads the corrupted piece: the very first step restarts from task 0
    const a = run([read]);
    expect([a.next, a.restarts, a.codes[0], a.outputs]).toEqual([k, 1, ck.tasks.length, want]);
    // resume() does not read it; layer 4's last tile does (it checks the layer's tiles from
    // before the reset before their tensor is hashed whole), after the tiles between ran
    const b = run([later]);
    expect([b.next, b.restarts, b.outputs]).toEqual([k, 1, want]);
    expect(b.codes.indexOf(ck.tasks.length)).toBe(l5 - 1 - k);
    // the same with the (dead) input corrupted too: the restart needs it, so the host is asked for it
    const cc = run([later, 0]);
    expect([cc.next, cc.rebegun, cc.restarts, cc.outputs]).toEqual([k, true, 0, want]);
    expect(cc.codes[l5 - 1 - k]).toBe(-2);
    // once layer 4 is complete before a reset, layer 5 checks its output by the whole-tensor hash
    const nv1 = new Uint8Array(reg.bytes);
    { const ex = fresh(); writeInputs(ex); ex.begin(1); persistAll(ex, nv1); for (let i = 0; i < l5; i++) { ex.step(1); persistAll(ex, nv1); } }
    const whole = ck.wholes.find((w) => ck.tasks[w.task].layer === 4)!;
    expect(whole.task).toBe(l5 - 1);
    for (const flip of [later, -1]) {
      const nv = nv1.slice();
      if (flip >= 0) nv[ck.pieces[flip].address - reg.base] ^= 4;
      else nv[reg.recordAddress - reg.base + 2 * reg.slotBytes + 4 * (ck.pieces.length + ck.wholes.indexOf(whole))] ^= 1; // the whole-tensor hash itself
      const ex = fresh();
      new Uint8Array(ex.memory.buffer).set(nv, reg.base);
      expect(ex.resume()).toBe(l5);
      expect(ex.step(1), "the first task of layer 5 restarts").toBe(ck.tasks.length);
      while (ex.step(1) > 0);
      expect(m.outputs.map((io) => Array.from(new Uint8Array(ex.memory.buffer).slice(io.address, io.address + io.bytes)))).toEqual(want);
    }
  });

  it("refusals", async () => {
    await expect(compileModel("examples/sunspots-lstm/model.onnx", { stream: true, intermittent: {} })).rejects.toThrow(/--intermittent with --stream is not supported yet/);
    await expect(compileModel("examples/cancer-mlp/model.onnx", { intermittent: { tasks: "rows" as never } })).rejects.toThrow(/--intermittent rows: choose layer, tile, unit/);
    await expect(compileModel("examples/cancer-mlp/model.onnx", { intermittent: { taskInstructions: 0 } })).rejects.toThrow(/--task-instructions 0: expected a whole number >= 1/);
  });
});
