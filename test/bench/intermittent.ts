/**
 * Checkpointed inference under power failures, for docs/intermittent.md: for each int8
 * example and task grain, the cycles on steady power against the plain module (compiled
 * without --intermittent), then the cycles with random failures (exponential gaps of 100,000
 * wasm instructions on average, 20 seeds) and from a capacitor that holds about 100,000
 * instructions' worth of energy, under each commit policy; all on one target in this run.
 * Then the failure campaign: random failures on every example until at least --failures
 * (10,000) have struck, each inference checked bit for bit against steady power.
 * Persisting and power-ons cost what the target says (targets/mcu/*.json): on cortex-m4f an
 * SPI FRAM the core waits on (80 cycles a write, 16 a byte); on msp430fr5994 the region sits
 * in place in the FRAM (--persist in-place, its default). The campaign's gaps grow to three
 * power-ons' cost where that is more than 30,000 instructions.
 *   npm run build && node dist/test/bench/intermittent.js [--failures 10000] [--seeds 20]
 *     [--target cortex-m4f] [--runtime wamr-aot] [--grains layer,tile,unit]
 *     [--nv-cycles-per-byte n] [--nv-cycles-per-write n] [--persist wait|dma] [--task-instructions n]
 */
import type { PicoError } from "../../compiler/util/errors.js";
import { compileModel, quantizeInput, type CompileOptions } from "../../compiler/pipeline.js";
import { readNpy } from "../../compiler/util/npy.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import type { Manifest } from "../../compiler/emit/manifest.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { loadRuntime, loadTarget } from "../../targets/cost.js";
import { cycleWeights, simulator, type SimOptions } from "../../targets/sim/power.js";
import { FUEL_GLOBAL, instrumentFuel } from "../../targets/sim/fuel.js";
import { Capacitor, parseHarvest } from "../../targets/sim/harvest.js";

const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(`--${k}`); return i >= 0 ? args[i + 1] : d; };
const FAILURES = Number(opt("failures", "10000"));
const TARGET = opt("target", "cortex-m4f");
const EXAMPLES = ["cancer-mlp", "digits-cnn", "ecg-tcn", "sunspots-lstm"];
const GRAINS = opt("grains", "layer,tile,unit").split(",") as Array<"layer" | "tile" | "unit">;
const SEEDS = Number(opt("seeds", "20"));

const target = loadTarget(TARGET);
const runtime = loadRuntime(opt("runtime", target.runtimes.includes("wamr-aot") ? "wamr-aot" : target.runtimes[0]), target);
const NVB = Number(opt("nv-cycles-per-byte", String(target.nvCyclesPerByte.value)));
const NVW = Number(opt("nv-cycles-per-write", String(target.nvCyclesPerWrite.value)));
const PERSIST = opt("persist", target.nvInPlace.value && runtime.name === "native" ? "in-place" : "wait") as "wait" | "dma" | "in-place";
const TASK = args.includes("--task-instructions") ? { taskInstructions: Number(opt("task-instructions", "")) } : {};
const NV = { nvCyclesPerByte: NVB, nvCyclesPerWrite: NVW, persist: PERSIST };
// the capacitor model has no term for a DMA beside the core: with "dma" its columns persist with "wait"
const NV_WAIT = PERSIST === "dma" ? { ...NV, persist: "wait" as const } : NV;
const int8 = (ex: string): CompileOptions => ({ quantize: "int8", calibrate: `examples/${ex}/calib.npy` });

const samples = new Map<string, ReturnType<typeof readNpy>>();
function sample(m: Manifest, ex: string, i: number): Value[] {
  if (!samples.has(ex)) samples.set(ex, readNpy(`examples/${ex}/x_test.npy`));
  const x = samples.get(ex)!;
  const io = m.inputs[0], n = io.shape.reduce((a, b) => a * b, 1);
  const count = Math.floor(x.data.length / n);
  const v = makeValue("float32", io.shape, Array.from(x.data as Float32Array).slice((i % count) * n, (i % count + 1) * n));
  return [io.dtype === "int8" ? quantizeInput(v, io.scale!, io.zeroPoint!) : v];
}

const same = (a: Value, b: Value) => Buffer.compare(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength), Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)) === 0;

/** Device cycles of the plain module's run() on these inputs. */
async function plainCycles(wasm: Uint8Array, m: Manifest, x: Value[]): Promise<number> {
  const inst = new WebAssembly.Instance(new WebAssembly.Module((await instrumentFuel(wasm, cycleWeights(target, runtime))) as Uint8Array<ArrayBuffer>), {});
  const mem = new Uint8Array((inst.exports.memory as WebAssembly.Memory).buffer);
  m.inputs.forEach((io, i) => mem.set(new Uint8Array(x[i].data.buffer, x[i].data.byteOffset, io.bytes), io.address));
  (inst.exports.run as () => void)();
  return (inst.exports[FUEL_GLOBAL] as WebAssembly.Global).value as number;
}

const fmt = (x: number, d = 2) => x.toFixed(d);
const rows: string[][] = [["example", "grain", "tasks", "steady: every", "steady: energy", "random 100k: failures", "random 100k: cycles (vs steady every)", "capacitor: failures (every)", "capacitor: every", "capacitor: energy", "persisted B (every)"]];
let campaignFailures = 0, campaignTorn = 0, campaignRuns = 0;
const campaignGaps: string[] = [];

for (const ex of EXAMPLES) {
  const plain = await compileModel(`examples/${ex}/model.onnx`, int8(ex));
  const x = sample(plain.manifest, ex, 0);
  const want = runRaw(await instantiate(plain.wasm, plain.manifest), x)[0];
  const base = await plainCycles(plain.wasm, plain.manifest, x);
  for (const grain of GRAINS) {
    const c = await compileModel(`examples/${ex}/model.onnx`, { ...int8(ex), intermittent: { tasks: grain, ...TASK } });
    const sim = await simulator(c.wasm, c.manifest, target, runtime);
    const cpi = sim.run(x, { power: { kind: "steady" }, policy: "every", ...NV }).wasmCycles / (await sim.instructions(x));
    const run = (o: SimOptions) => {
      const r = sim.run(x, o);
      if (!same(r.outputs[0], want)) throw new Error(`${ex} ${grain} ${JSON.stringify(o.power.kind)} ${o.policy}: the answer differs from steady power`);
      return r;
    };
    const se = run({ power: { kind: "steady" }, policy: "every", ...NV });
    const sn = run({ power: { kind: "steady" }, policy: "energy", ...NV });
    let rf = 0, rc = 0, random = "";
    try {
      for (let s = 1; s <= SEEDS; s++) {
        const r = run({ power: { kind: "random", meanCycles: 100_000 * cpi, seed: s }, policy: "every", ...NV });
        rf += r.failures; rc += r.cycles;
      }
      random = `${fmt(rc / SEEDS / base)}x (${fmt(rc / SEEDS / se.cycles)}x)`;
    } catch (e) {
      random = `livelock at ${(e as Error).message.match(/task \d+ \(layer \d+\)/)?.[0] ?? (e as Error).message.slice(0, 60)}`;
      rf = NaN;
    }
    // a capacitor that holds 100,000 instructions' worth of energy between 3.0 and 1.8 V, a 1 mW harvester
    const joules = 100_000 * cpi * sim.joulesPerCycle;
    const cap = new Capacitor((2 * joules) / (3.0 ** 2 - 1.8 ** 2), 3.0, 1.8, 0, Infinity, `${((2 * joules) / (3.0 ** 2 - 1.8 ** 2) * 1e6).toFixed(2)}uF`);
    const harvest = parseHarvest("constant:1mW");
    let ce = "", cn = "", cf = "-";
    const why = (e: unknown) => {
      const m = (e as Error).message;
      if ((e as PicoError).policyStopped === "livelock") return `livelock at ${m.match(/task \d+ \(layer \d+\)/)?.[0] ?? "a task"}`;
      const r = m.match(/(task \d+) \(layer (\d+) (\w+) .*? needs ([\d.e+]+ uJ)/);
      return `refused: ${r ? `${r[1]} (layer ${r[2]} ${r[3]}) needs ${r[4]}${/after a power-on/.test(m) ? " after a power-on" : ""}` : m.slice(0, 60)}`;
    };
    try {
      const a = run({ power: { kind: "harvest", capacitor: cap, harvest }, policy: "every", ...NV_WAIT });
      cf = String(a.failures); ce = `${fmt(a.cycles / base)}x`;
    } catch (e) { ce = why(e); }
    try {
      const b = run({ power: { kind: "harvest", capacitor: cap, harvest }, policy: "energy", ...NV_WAIT });
      cn = `${fmt(b.cycles / base)}x (${b.failures} failures, ${b.sleeps} sleeps)`;
    } catch (e) { cn = why(e); }
    rows.push([ex, grain, String(c.manifest.intermittent!.tasks.length), `${fmt(se.cycles / base, 3)}x`, `${fmt(sn.cycles / base, 3)}x`, Number.isNaN(rf) ? "-" : fmt(rf / SEEDS, 1), random, cf, ce, cn, String(se.persistBytes)]);
    console.error(`${ex} ${grain} done`);
  }
}

console.log(`\nCycles against the plain module (int8, ${target.name} / ${runtime.name}, persisting ${NVB} cycles a byte and ${NVW} a write${PERSIST === "dma" ? ", by DMA (the capacitor columns: the core waits)" : PERSIST === "in-place" ? ", in place: the region is the FRAM" : ", the core waiting"}); random: mean of ${SEEDS} seeds.\n`);
console.log(`| ${rows[0].join(" | ")} |`);
console.log(`|${rows[0].map(() => "---").join("|")}|`);
for (const r of rows.slice(1)) console.log(`| ${r.join(" | ")} |`);

// the failure campaign: tile grain, gaps of 30,000 instructions on average, many inputs
if (FAILURES > 0) console.error("failure campaign");
const perExample = Math.ceil(FAILURES / EXAMPLES.length);
for (const ex of FAILURES > 0 ? EXAMPLES : []) {
  const c = await compileModel(`examples/${ex}/model.onnx`, { ...int8(ex), intermittent: { tasks: "tile", ...TASK } });
  const m = await instantiate(c.wasm, c.manifest);
  const sim = await simulator(c.wasm, c.manifest, target, runtime);
  let failures = 0;
  // cycles per wasm instruction, from the first input (the gaps are in instructions' worth of cycles)
  const x0 = sample(c.manifest, ex, 0);
  const cpi = sim.run(x0, { power: { kind: "steady" }, policy: "every", ...NV }).wasmCycles / (await sim.instructions(x0));
  // gaps short enough for many failures per inference: 30,000 instructions on average, or
  // three times what a power-on costs before the module runs where that is more (instantiating
  // and reading an SPI FRAM's image back can outlast 30,000 instructions)
  const mean = Math.max(30_000 * cpi, 3 * sim.powerOnCycles(NV));
  campaignGaps.push(`${ex} ${Math.round(mean / cpi).toLocaleString("en-US")}`);
  for (let k = 0; failures < perExample; k++) {
    const x = sample(c.manifest, ex, k);
    const want = runRaw(m, x)[0];
    const r = sim.run(x, { power: { kind: "random", meanCycles: mean, seed: 1000 + k }, policy: "every", ...NV });
    if (!same(r.outputs[0], want)) throw new Error(`${ex} input ${k}: the answer after ${r.failures} failures differs from steady power`);
    failures += r.failures; campaignTorn += r.tornPersists; campaignRuns++;
  }
  campaignFailures += failures;
  console.error(`${ex}: ${failures} failures`);
}
if (FAILURES > 0) console.log(`\nFailure campaign (persisting with "${PERSIST}"): ${campaignFailures} power failures at random instructions (mean gaps in instructions: ${campaignGaps.join(", ")}) over ${campaignRuns} inferences of the four examples (--intermittent tile), ${campaignTorn} of them while the host was persisting (a torn image); every inference bit-identical to steady power.`);
