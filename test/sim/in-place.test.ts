// Checkpointed inference with the region in place in a memory-mapped FRAM (an MSP430FR's):
// every store lands at once, so a power failure keeps whatever the module wrote up to that
// instruction, a task's outputs half written and a commit half done included, and the host
// persists and restores nothing (docs/intermittent.md, "In place"). The host here is written
// from the docs, independent of the simulator (targets/sim/power.ts): the module is
// instrumented with a fuel counter of one unit per wasm instruction (targets/sim/fuel.ts),
// and a cut at budget B lets exactly the stores within the first B instructions take effect.
// Checked: a cut at every third instruction of a small model, with commits after every task
// and deferred, and many cuts per inference on a tiled CNN, never change the answer.
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import type { Value } from "../../compiler/ir/graph.js";
import { BUDGET_GLOBAL, FUEL_GLOBAL, instrumentFuel, type FuelWeights } from "../../targets/sim/fuel.js";
import { CLASSES } from "../../targets/profile/instrument.js";
import { exampleSample } from "../helpers/examples.js";
import { rng } from "../helpers/random.js";

interface Ex {
  memory: WebAssembly.Memory;
  begin(id: number): void; resume(): number; step(commit: number): number; commit(): void; inference_id(): number;
}

const unit: FuelWeights = {};
for (const c of CLASSES) if (!c.endsWith("Bytes")) unit[c] = 1;

async function inPlaceHost(c: Compiled) {
  const mod = new WebAssembly.Module((await instrumentFuel(c.wasm, unit)) as Uint8Array<ArrayBuffer>);
  const m = c.manifest, reg = m.intermittent!.region, ID = 5;
  /** One inference; power-on k fails after budgets[k] instructions. Returns the outputs and the power-ons. */
  return (inputs: Value[], budgets: number[], defer = false) => {
    const fram = new Uint8Array(reg.bytes); // the region: survives every failure as last written
    let begun = false;
    for (let boot = 0; ; boot++) {
      if (boot > budgets.length + 2) throw new Error("no progress after the last cut");
      const ex = new WebAssembly.Instance(mod, {}).exports as unknown as Ex & Record<string, unknown>;
      const fuel = ex[FUEL_GLOBAL] as WebAssembly.Global, budget = ex[BUDGET_GLOBAL] as WebAssembly.Global;
      const mem = new Uint8Array(ex.memory.buffer);
      mem.set(fram, reg.base); // memory-mapped: the module's region is the FRAM
      budget.value = boot < budgets.length ? budgets[boot] : Infinity;
      try {
        const start = () => {
          m.inputs.forEach((io, i) => mem.set(new Uint8Array(inputs[i].data.buffer, inputs[i].data.byteOffset, io.bytes), io.address));
          ex.begin(ID);
        };
        let next = begun ? ex.resume() : -1;
        if (next >= 0 && ex.inference_id() !== ID) next = -1;
        if (next < 0) { begun = true; start(); }
        for (;;) {
          const left = ex.step(defer ? 0 : 1);
          if (left === -2) { start(); continue; }
          expect(left).toBeGreaterThanOrEqual(0);
          if (left === 0) break;
        }
        ex.commit();
        return { outputs: m.outputs.map((io) => Buffer.from(mem.subarray(io.address, io.address + io.bytes)).toString("hex")), boots: boot + 1 };
      } catch (e) {
        if (!(e instanceof WebAssembly.RuntimeError) || !((fuel.value as number) > (budget.value as number))) throw e;
        fram.set(mem.subarray(reg.base, reg.base + reg.bytes)); // every store that took effect
      }
    }
  };
}

const int8 = (ex: string): CompileOptions => ({ quantize: "int8", calibrate: `examples/${ex}/calib.npy` });

describe("checkpointed inference in place (the region as a memory-mapped FRAM)", () => {
  it("a cut at every third instruction never changes the answer (cancer-mlp, int8, per unit; commits after every task and deferred)", async () => {
    const c = await compileModel("examples/cancer-mlp/model.onnx", { ...int8("cancer-mlp"), intermittent: { tasks: "unit" } });
    const host = await inPlaceHost(c);
    const x = exampleSample(c.manifest, "cancer-mlp", 2);
    const want = runRaw(await instantiate(c.wasm, c.manifest), x).map((v) => Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString("hex"));
    for (const defer of [false, true]) {
      // the instructions of one uncut inference: cuts beyond it never strike
      let n = 1;
      while (host(x, [n]).boots > 1) n *= 2;
      let cuts = 0;
      for (let b = 0; b < n; b += 3) {
        const r = host(x, [b], defer);
        expect(r.outputs, `cut after ${b} instructions${defer ? ", deferred" : ""}`).toEqual(want);
        if (r.boots > 1) cuts++;
      }
      expect(cuts).toBeGreaterThan(1000);
    }
  });

  it("many cuts per inference never change the answer (digits-cnn, int8 tiles)", async () => {
    const c = await compileModel("examples/digits-cnn/model.onnx", { ...int8("digits-cnn"), intermittent: { tasks: "tile" } });
    const host = await inPlaceHost(c);
    const m = await instantiate(c.wasm, c.manifest);
    const r = rng(77);
    let failures = 0;
    for (let k = 0; k < 12; k++) {
      const x = exampleSample(c.manifest, "digits-cnn", k);
      const want = runRaw(m, x).map((v) => Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength).toString("hex"));
      // cuts after 5,000 to 60,000 instructions: several tasks' worth, often mid-task or mid-commit
      const budgets = Array.from({ length: 25 }, () => 5_000 + Math.floor(r() * 55_000));
      const out = host(x, budgets, k % 2 === 1);
      expect(out.outputs, `sample ${k}`).toEqual(want);
      failures += out.boots - 1;
    }
    expect(failures).toBeGreaterThan(200);
  });
});
