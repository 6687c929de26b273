// The power-failure simulator (targets/sim/power.ts) on real --intermittent modules: on
// steady power it returns run()'s answer with no failure; under random failures (a few
// hundred, at random instructions, some while persisting) and from a small capacitor the
// answer stays bit-identical to steady power; failures cost re-executed cycles, which grow
// as the gaps shrink; the energy policy sleeps instead of failing when a harvester refills
// the capacitor; persists cost per write and per byte, and a DMA host persists in the
// background with the same answers; and the refusals: a capacitor smaller than the largest task (naming it),
// the energy policy without a capacitor, a task that never fits between failures.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import type { Value } from "../../compiler/ir/graph.js";
import { loadRuntime, loadTarget } from "../../targets/cost.js";
import { simulator } from "../../targets/sim/power.js";
import { Capacitor, parseHarvest } from "../../targets/sim/harvest.js";
import { exampleSample } from "../helpers/examples.js";

const sample = exampleSample;
const bytes = (v: Value) => Array.from(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength));

describe("power-failure simulator", () => {
  const target = loadTarget("cortex-m4f"), runtime = loadRuntime("wamr-aot", target);
  const opts = { quantize: "int8" as const, calibrate: "examples/digits-cnn/calib.npy" };

  // dense failures need power-ons that cost little: the native runtime (constants stay in
  // flash) and a store at 2 cycles a byte; at WAMR's and the SPI FRAM's costs a power-on
  // costs about 125,000 cycles on digits-cnn (the test after next)
  const native = loadRuntime("native", target);

  it("steady, random failures and a capacitor: always the steady-power answer", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...opts, intermittent: { tasks: "tile" } });
    const m = await instantiate(c.wasm, c.manifest);
    const sim = await simulator(c.wasm, c.manifest, target, native);
    let failures = 0, torn = 0;
    for (const i of [0, 1, 2]) {
      const x = sample(c.manifest, "digits-cnn", i);
      const want = bytes(runRaw(m, x)[0]);
      const steady = sim.run(x, { power: { kind: "steady" }, policy: "every", nvCyclesPerByte: 2 });
      expect(bytes(steady.outputs[0])).toEqual(want);
      expect(steady.failures).toBe(0);
      expect(steady.commits).toBe(c.manifest.intermittent!.tasks.length); // every task (begin() commits nothing)
      const cpi = steady.wasmCycles / (await sim.instructions(x));
      let prev = steady.cycles;
      for (const gap of [200_000, 50_000]) {
        const r = sim.run(x, { power: { kind: "random", meanCycles: gap * cpi, seed: 7 + i }, policy: "every", nvCyclesPerByte: 2 });
        expect(bytes(r.outputs[0]), `input ${i}, gaps of ${gap}`).toEqual(want);
        expect(r.failures).toBeGreaterThan(0);
        expect(r.cycles).toBeGreaterThan(prev * 0.99); // shorter gaps: more work done again
        prev = r.cycles;
        failures += r.failures; torn += r.tornPersists;
      }
    }
    expect(failures).toBeGreaterThan(80);
    expect(torn).toBeGreaterThan(0);
    // a capacitor holding about 60,000 cycles of energy, a 1 mW harvester
    const x = sample(c.manifest, "digits-cnn", 4), want = bytes(runRaw(m, x)[0]);
    const j = 60_000 * sim.joulesPerCycle, F = (2 * j) / (3 ** 2 - 1.8 ** 2);
    const power = { kind: "harvest" as const, capacitor: new Capacitor(F, 3, 1.8), harvest: parseHarvest("constant:1mW") };
    const every = sim.run(x, { power, policy: "every", nvCyclesPerByte: 2 });
    expect(bytes(every.outputs[0])).toEqual(want);
    expect(every.failures).toBeGreaterThan(5);
    expect(every.offSeconds).toBeGreaterThan(0);
    const energy = sim.run(x, { power, policy: "energy", nvCyclesPerByte: 2 });
    expect(bytes(energy.outputs[0])).toEqual(want);
    expect(energy.failures).toBe(0); // it sleeps until the harvester refills the capacitor
    expect(energy.sleeps).toBeGreaterThan(5);
    expect(energy.cycles).toBeLessThan(every.cycles);
  });

  it("persist costs: a cost per write besides the bytes; a DMA that persists in the background gives the same answer sooner, also when power fails mid-transfer", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...opts, intermittent: { tasks: "tile" } });
    const m = await instantiate(c.wasm, c.manifest);
    const sim = await simulator(c.wasm, c.manifest, target, runtime);
    const x = sample(c.manifest, "digits-cnn", 2), want = bytes(runRaw(m, x)[0]);
    // the ranges and bytes one inference lists, counted on the bare module (begin, then step(1) to the end)
    const ex = new WebAssembly.Instance(new WebAssembly.Module(c.wasm as Uint8Array<ArrayBuffer>), {}).exports as unknown as {
      memory: WebAssembly.Memory; begin(id: number): void; step(c: number): number; dirty_count(): number; dirty_len(i: number): number;
    };
    const io = c.manifest.inputs[0];
    new Uint8Array(ex.memory.buffer).set(new Uint8Array(x[0].data.buffer, x[0].data.byteOffset, io.bytes), io.address);
    ex.begin(1);
    let writes = 0, listed = 0;
    for (let left = 1; left > 0;) {
      left = ex.step(1);
      for (let i = 0; i < ex.dirty_count(); i++) { writes++; listed += ex.dirty_len(i); }
    }
    const nv = { nvCyclesPerByte: 16, nvCyclesPerWrite: 80 };
    const wait = sim.run(x, { power: { kind: "steady" }, policy: "every", ...nv });
    expect(bytes(wait.outputs[0])).toEqual(want);
    expect([wait.persistWrites, wait.persistBytes]).toEqual([writes, listed]);
    expect(wait.persistCycles).toBe(16 * listed + 80 * writes);
    const dma = sim.run(x, { power: { kind: "steady" }, policy: "every", ...nv, persist: "dma" });
    expect(bytes(dma.outputs[0])).toEqual(want);
    expect([dma.persistWrites, dma.persistBytes, dma.persistCycles, dma.commits]).toEqual([writes, listed, wait.persistCycles, wait.commits]);
    // the core runs on while the DMA writes: the cycles to the drained queue lie between the
    // module's alone and the module's plus every persist
    expect(dma.cycles).toBeGreaterThanOrEqual(dma.wasmCycles + 80 + 16 * c.manifest.intermittent!.region.slotBytes);
    expect(dma.cycles).toBeLessThan(wait.cycles - 0.5 * wait.persistCycles);
    expect(dma.joules).toBeCloseTo(wait.joules, 12);
    // failures strike while the DMA is writing: still the steady-power answer (the native
    // runtime and a faster store, so that power-ons cost little: see the first test)
    const fast = { nvCyclesPerByte: 4, nvCyclesPerWrite: 20 };
    const nsim = await simulator(c.wasm, c.manifest, target, native);
    const cpi = wait.wasmCycles / (await sim.instructions(x));
    let failures = 0, torn = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = nsim.run(x, { power: { kind: "random", meanCycles: 60_000 * cpi, seed }, policy: "every", ...fast, persist: "dma" });
      expect(bytes(r.outputs[0]), `seed ${seed}`).toEqual(want);
      failures += r.failures; torn += r.tornPersists;
    }
    expect(failures).toBeGreaterThan(100);
    expect(torn).toBeGreaterThan(0);
    // a store so slow that the DMA lags calls behind: the core must wait (a commit writes the
    // slot the call before the previous one wrote; the simulator checks that no byte changes
    // while the DMA is writing it), and failures still leave the steady-power answer
    const slow = { nvCyclesPerByte: 400, nvCyclesPerWrite: 2000, persist: "dma" as const };
    const lag = sim.run(x, { power: { kind: "steady" }, policy: "every", ...slow });
    expect(bytes(lag.outputs[0])).toEqual(want);
    expect(lag.cycles).toBeGreaterThan(lag.wasmCycles + 0.5 * lag.persistCycles);
    for (let seed = 1; seed <= 4; seed++) {
      const r = nsim.run(x, { power: { kind: "random", meanCycles: 10_000_000 * cpi, seed }, policy: "every", ...slow });
      expect(bytes(r.outputs[0]), `slow store, seed ${seed}`).toEqual(want);
    }
    // the shared layout (a task may overwrite a tensor's bytes): the queue drains before every call
    const sh = await compileModel("examples/digits-cnn/model.onnx", { ...opts, intermittent: { tasks: "tile", layout: "shared" } });
    const ssim = await simulator(sh.wasm, sh.manifest, target, native);
    for (let seed = 1; seed <= 4; seed++) {
      const r = ssim.run(x, { power: { kind: "random", meanCycles: 60_000 * cpi, seed }, policy: "every", ...fast, persist: "dma" });
      expect(bytes(r.outputs[0]), `shared, seed ${seed}`).toEqual(want);
      const s = ssim.run(x, { power: { kind: "random", meanCycles: 10_000_000 * cpi, seed }, policy: "every", ...slow });
      expect(bytes(s.outputs[0]), `shared, slow store, seed ${seed}`).toEqual(want);
    }
    // with deferred commits the module may commit before two tasks in a row (its WAR table),
    // and a task may then overwrite a tensor listed one call before: the host drains the
    // queue before every call (the simulator's in-flight check fails without it)
    const shl = await compileModel("examples/digits-cnn/model.onnx", { ...opts, intermittent: { tasks: "layer", layout: "shared" } });
    expect(shl.manifest.intermittent!.tasks.some((t) => t.war >= 0)).toBe(true);
    const lsim = await simulator(shl.wasm, shl.manifest, target, runtime);
    const ld = lsim.run(x, { power: { kind: "steady" }, policy: "energy", ...slow });
    expect(bytes(ld.outputs[0])).toEqual(want);
    const cap = { kind: "harvest" as const, capacitor: new Capacitor(100e-6, 3, 1.8), harvest: parseHarvest("constant:1mW") };
    expect(() => sim.run(x, { power: cap, policy: "every", ...nv, persist: "dma" })).toThrow(/--persist dma goes with --power steady or random:<n>: the capacitor model .* use --persist wait with --capacitor/);
    expect(() => sim.run(x, { power: { kind: "steady" }, policy: "every", ...nv, nvCyclesPerWrite: -1 })).toThrow(/--nv-cycles-per-write -1: expected a number >= 0/);
  });

  it("a power-on after a failure pays for instantiating and reading the image back; in place (the region as the FRAM) nothing is copied and a failure keeps every store", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...opts, intermittent: { tasks: "tile" } });
    const m = await instantiate(c.wasm, c.manifest);
    const x = sample(c.manifest, "digits-cnn", 3), want = bytes(runRaw(m, x)[0]);
    const sim = await simulator(c.wasm, c.manifest, target, runtime);
    const nv = { nvCyclesPerByte: 16, nvCyclesPerWrite: 80 };
    const steady = sim.run(x, { power: { kind: "steady" }, policy: "every", ...nv });
    expect(steady.bootCycles).toBe(0);
    // WAMR: linear memory zeroed and the constants copied in, by its own native code (the
    // target's bulk costs, no interpreter factor), then the region read back at the persist cost
    const mm = c.manifest.memory, reg = c.manifest.intermittent!.region, bulk = target.bulkCyclesPerByte;
    const inst = mm.pages * 65536 * bulk.fill.value + mm.constantBytes * bulk.copy.value;
    const restore = 80 + 16 * reg.bytes;
    const cpi = steady.wasmCycles / (await sim.instructions(x));
    // runs with one failure: the power-on after it instantiates, and reads the image back if
    // a persist had landed (a failure within a power-on's own boot would cut it short: rare)
    let single = 0;
    for (let seed = 1; seed <= 40 && single < 3; seed++) {
      const r = sim.run(x, { power: { kind: "random", meanCycles: 2_000_000 * cpi, seed }, policy: "every", ...nv });
      expect(bytes(r.outputs[0])).toEqual(want);
      expect(r.bootCycles).toBeLessThanOrEqual(r.failures * (inst + restore) + 1e-6);
      if (r.failures !== 1) continue;
      single++;
      expect([inst, inst + restore].some((b) => Math.abs(r.bootCycles - b) < 1e-6), `seed ${seed}: ${r.bootCycles}`).toBe(true);
    }
    expect(single).toBeGreaterThan(0);
    // in place needs a runtime that leaves memory alone across a reset
    expect(() => sim.run(x, { power: { kind: "steady" }, policy: "every", ...nv, persist: "in-place" })).toThrow(/--persist in-place: .* wamr-aot zeroes linear memory .* use --runtime native/);
    // msp430fr5994, native, in place: many failures, every one keeps what the module wrote so far
    const msp = loadTarget("msp430fr5994"), native = loadRuntime("native", msp);
    const ms = await simulator(c.wasm, c.manifest, msp, native);
    const mnv = { nvCyclesPerByte: msp.nvCyclesPerByte.value, nvCyclesPerWrite: msp.nvCyclesPerWrite.value, persist: "in-place" as const };
    const ms0 = ms.run(x, { power: { kind: "steady" }, policy: "every", ...mnv });
    expect(bytes(ms0.outputs[0])).toEqual(want);
    expect([ms0.persistCycles, ms0.bootCycles]).toEqual([0, 0]);
    expect(ms0.commits).toBe(c.manifest.intermittent!.tasks.length);
    const mcpi = ms0.wasmCycles / (await ms.instructions(x));
    let failures = 0;
    for (let seed = 1; seed <= 10; seed++) {
      for (const policy of ["every"] as const) {
        const q = ms.run(x, { power: { kind: "random", meanCycles: 30_000 * mcpi, seed }, policy, ...mnv });
        expect(bytes(q.outputs[0]), `in place, seed ${seed}`).toEqual(want);
        expect(q.persistCycles).toBe(0);
        failures += q.failures;
      }
    }
    expect(failures).toBeGreaterThan(200);
    // what a failure leaves: in place, the outputs a task had written past the last commit;
    // copying (wait), only what was persisted (the commit's outputs land before its slot, so
    // such bytes appear there only when a cut tore that commit's slot)
    const ck = c.manifest.intermittent!, rec = ck.region.recordAddress - ck.region.base;
    const nextOf = (img: Uint8Array) => {
      const dv = new DataView(img.buffer, img.byteOffset);
      const [a, b] = [dv.getUint32(rec, true), dv.getUint32(rec + ck.region.slotBytes, true)];
      if (!a && !b) return 0;
      const w = !a ? b : !b ? a : (((b >>> 24) - (a >>> 24)) & 0x80) === 0 ? b : a;
      return w & 0xffffff;
    };
    const ahead = (img: Uint8Array) => {
      const next = nextOf(img);
      return ck.pieces.some((p) => p.task >= next && Array.from({ length: p.count }, (_, j) => img.subarray(p.address - ck.region.base + j * p.stride, p.address - ck.region.base + j * p.stride + p.bytes)).some((r) => r.some((v) => v !== 0)));
    };
    const count = (s: typeof ms, nvo: typeof mnv | typeof mwait) => {
      let n = 0, ahead_ = 0;
      for (let seed = 1; seed <= 6; seed++) s.run(x, { power: { kind: "random", meanCycles: 60_000 * mcpi, seed }, policy: "every", ...nvo, onFailure: (img) => { n++; if (ahead(img)) ahead_++; } });
      return { n, ahead: ahead_ };
    };
    const mwait = { ...mnv, persist: "wait" as const };
    const inp = count(ms, mnv), cp = count(ms, mwait);
    expect(inp.n).toBeGreaterThan(30);
    expect(inp.ahead).toBeGreaterThan(inp.n / 2);
    expect(cp.ahead).toBeLessThan(cp.n / 5);
    // deferred commits from a capacitor, in place: sleeps, no failure, the same answer
    const j = 2_000_000 * ms.joulesPerCycle, F = (2 * j) / (3 ** 2 - 1.8 ** 2);
    const e = ms.run(x, { power: { kind: "harvest", capacitor: new Capacitor(F, 3, 1.8), harvest: parseHarvest("constant:1mW") }, policy: "energy", ...mnv });
    expect(bytes(e.outputs[0])).toEqual(want);
    expect(e.commits).toBeLessThan(c.manifest.intermittent!.tasks.length);
  });

  it("refusals: a capacitor too small for a task, the energy policy without one, a task that never fits", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...opts, intermittent: { tasks: "layer" } });
    const sim = await simulator(c.wasm, c.manifest, target, runtime);
    const x = sample(c.manifest, "digits-cnn", 0);
    const tiny = { kind: "harvest" as const, capacitor: new Capacitor(1e-6, 3, 1.8, 0, Infinity, "1uF"), harvest: parseHarvest("constant:1mW") };
    expect(() => sim.run(x, { power: tiny, policy: "every", nvCyclesPerByte: 16 })).toThrow(/--capacitor 1uF: task \d+ \(layer \d+ Conv '.*'\) needs [\d.]+ uJ \(\d+ cycles with its commit, after a power-on of \d+ \(instantiating, reading the image back; --policy energy sleeps instead of failing\)\) but the capacitor holds 2.88 uJ between 3 V and 1.8 V/);
    expect(() => sim.run(x, { power: { kind: "random", meanCycles: 1e5, seed: 1 }, policy: "energy", nvCyclesPerByte: 16 })).toThrow(/--policy energy reads the energy left in a capacitor/);
    expect(() => sim.run(x, { power: { kind: "random", meanCycles: 20_000, seed: 1 }, policy: "every", nvCyclesPerByte: 16 })).toThrow(/power-ons in a row without committing past task \d+ .*finer --intermittent grain or a smaller --task-instructions/);
    const plain = await compileModel("examples/cancer-mlp/model.onnx", { quantize: "int8", calibrate: "examples/cancer-mlp/calib.npy" });
    await expect(simulator(plain.wasm, plain.manifest, target, runtime)).rejects.toThrow(/not compiled with --intermittent/);
  });
});
