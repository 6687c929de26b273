/**
 * `picojoule simulate <dir> --intermittent`: runs a module compiled with --intermittent on a
 * simulated device whose power fails (targets/sim/power.ts) and reports, per commit policy,
 * whether the answer equals the steady-power one, the completion time, the failures, the
 * work done again, the bytes persisted and the cycles against steady power. A different
 * answer is a bug and exits 1; bad options exit 2.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bad, PicoError } from "../util/errors.js";
import type { PersistMode } from "../../targets/sim/power.js";
import { readNpy } from "../util/npy.js";
import type { Manifest } from "../emit/manifest.js";
import { instantiate, runRaw, toRaw } from "../runner.js";
import type { Value } from "../ir/graph.js";

export const SIMULATE_HELP = `usage: picojoule simulate <dir> --intermittent [options]

  --intermittent           simulate power failures (the module must be compiled with
                           --intermittent; see docs/intermittent.md)
  --target <name>          cortex-m4f (default), cortex-m0plus, cortex-m7, esp32c3, gap8,
                           msp430fr5994: cycles per operation and energy per cycle
  --runtime <mode>         native, wamr-aot (default), wamr-fast, wamr-classic
  --power <source>         steady, or random:<n>: failures with exponential gaps of n wasm
                           instructions on average (default random:100000, unless a
                           capacitor is given)
  --capacitor <spec>       e.g. 100uF or 47uF,on=3.3V,off=2.0V,leak=1uA: run from a capacitor
  --harvest <spec>         with --capacitor: constant:1mW, periodic:2mW,on=50ms,period=200ms,
                           or csv:trace.csv (rows time_s,power_W)
  --policy <p>             every (commit after every task), energy (commit only when the
                           energy left in the capacitor may not cover the next task: with
                           --capacitor), or all (default: those that apply)
  --seed <n>               seed of the random failures (1)
  --runs <n>               inferences to simulate, each with its own seed (1)
  --nv-cycles-per-byte <n> device cycles to persist one byte (default: the target's,
                           e.g. 16 on cortex-m4f: an SPI FRAM at half the clock; 2 on
                           msp430fr5994: its on-chip FRAM, by DMA)
  --nv-cycles-per-write <n> device cycles per range persisted, besides its bytes
                           (default: the target's, e.g. 80 on cortex-m4f: the SPI
                           FRAM's write-enable, command and address)
  --persist <mode>         wait: the core copies each range to the store and waits; dma: a
                           DMA channel writes them in the background while the next task
                           runs (not with --capacitor); in-place: the region is the
                           memory-mapped FRAM itself (native runtime). Default: in-place
                           where the target's FRAM is memory-mapped (msp430fr5994), else
                           wait. docs/intermittent.md
  --input <x.npy>          the inference's input: its sample --index (0); default: seeded
                           random values in [-1, 1]
  --index <i>              which sample of --input
  --json                   print the results as JSON
  -h, --help

Exit codes: 0 ok; 1 a policy livelocked or its capacitor cannot hold a power-on (reported
beside the others), or the answer differs from steady power (a bug); 2 bad input.`;

export interface SimulateArgs {
  dir: string;
  target?: string; runtime?: string; power?: string; capacitor?: string; harvest?: string;
  policy?: string; seed?: string; runs?: string; "nv-cycles-per-byte"?: string; "nv-cycles-per-write"?: string; persist?: string;
  input?: string; index?: string; json?: boolean;
}

const num = (flag: string, v: string | undefined, dflt: number, min: number): number => {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x) || x < min) bad(`--${flag} ${v}: expected a number >= ${min}`);
  return x;
};

function inputOf(m: Manifest, a: SimulateArgs): Value[] {
  if (m.inputs.length !== 1) bad(`simulate: ${m.source} has ${m.inputs.length} inputs; --input feeds single-input models`);
  const io = m.inputs[0], per = io.shape.reduce((x, y) => x * y, 1);
  let x: Float32Array;
  if (a.input) {
    const arr = readNpy(a.input);
    if (arr.dtype !== "float32") bad(`${a.input}: dtype ${arr.dtype}; inputs must be float32`);
    const n = Math.floor(arr.data.length / per), i = num("index", a.index, 0, 0);
    if (arr.data.length % per !== 0 || n === 0) bad(`${a.input}: shape ${arr.shape.join("x")} holds no whole sample of input '${io.name}' (${io.shape.join("x")})`);
    if (!Number.isInteger(i) || i >= n) bad(`--index ${a.index}: ${a.input} has ${n} samples`);
    x = Float32Array.from((arr.data as Float32Array).subarray(i * per, (i + 1) * per));
  } else {
    if (a.index !== undefined) bad("--index goes with --input <x.npy>");
    let s = 0x9e3779b9;
    x = Float32Array.from({ length: per }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 31 - 1; });
  }
  return [toRaw(m, io, x)];
}

export async function simulateCommand(a: SimulateArgs): Promise<{ out: string; ok: boolean }> {
  const { loadTarget, loadRuntime } = await import("../../targets/cost.js");
  const { simulator } = await import("../../targets/sim/power.js");
  const { parseCapacitor, parseHarvest } = await import("../../targets/sim/harvest.js");
  let manifest: Manifest;
  try { manifest = JSON.parse(readFileSync(join(a.dir, "model.json"), "utf8")); } catch { bad(`${a.dir}: no readable model.json (compile the model first: picojoule compile model.onnx --intermittent tile -o ${a.dir})`); }
  if (!manifest!.intermittent) bad(`${a.dir}: compiled without --intermittent; recompile with --intermittent tile (or layer, unit)`);
  const target = loadTarget(a.target ?? "cortex-m4f");
  const runtime = loadRuntime(a.runtime ?? (target.runtimes.includes("wamr-aot") ? "wamr-aot" : target.runtimes[0]), target);
  const policies: Array<"every" | "energy"> = a.policy === undefined || a.policy === "all" ? (a.capacitor || a.power === "steady" ? ["every", "energy"] : ["every"]) : a.policy === "every" || a.policy === "energy" ? [a.policy] : bad(`--policy ${a.policy}: choose every, energy or all`);
  if (a.harvest && !a.capacitor) bad("--harvest needs --capacitor <spec>: the device runs from a capacitor the harvester charges");
  if (a.capacitor && a.power) bad("--power and --capacitor exclude each other: a capacitor run fails when the capacitor runs dry");
  const nvCyclesPerByte = num("nv-cycles-per-byte", a["nv-cycles-per-byte"], target.nvCyclesPerByte.value, 0);
  const nvCyclesPerWrite = num("nv-cycles-per-write", a["nv-cycles-per-write"], target.nvCyclesPerWrite.value, 0);
  // (the simulator checks the mode, for the library and the CLI alike)
  const persist = (a.persist ?? (target.nvInPlace.value && runtime.name === "native" ? "in-place" : "wait")) as PersistMode;
  const nv = { nvCyclesPerByte, nvCyclesPerWrite, persist } as const;
  const runs = num("runs", a.runs, 1, 1), seed = num("seed", a.seed, 1, 0);
  if (!Number.isInteger(runs)) bad(`--runs ${a.runs}: expected a whole number >= 1`);
  const wasm = readFileSync(join(a.dir, "model.wasm"));
  const inputs = inputOf(manifest!, a);
  const steadyOut = runRaw(await instantiate(wasm, manifest!), inputs)[0];
  const sim = await simulator(wasm, manifest!, target, runtime);
  const steady = sim.run(inputs, { power: { kind: "steady" }, policy: "every", ...nv });
  let powerText: string;
  let power: Parameters<typeof sim.run>[1]["power"];
  if (a.capacitor) {
    const capacitor = parseCapacitor(a.capacitor), harvest = parseHarvest(a.harvest ?? "constant:0W");
    power = { kind: "harvest", capacitor, harvest };
    powerText = `capacitor ${capacitor.text}, harvest ${harvest.text}`;
  } else {
    const p = a.power ?? "random:100000";
    const m = /^random:(\d+(?:\.\d+)?(?:e\d+)?)$/.exec(p);
    if (p === "steady") { power = { kind: "steady" }; powerText = "steady"; }
    else if (m && Number(m[1]) >= 1) {
      const perInstruction = steady.wasmCycles / (await sim.instructions(inputs));
      power = { kind: "random", meanCycles: Number(m[1]) * perInstruction, seed };
      powerText = `random failures every ${Number(m[1]).toLocaleString("en-US")} instructions on average (${Math.round(Number(m[1]) * perInstruction).toLocaleString("en-US")} cycles)`;
    } else bad(`--power ${p}: expected steady or random:<instructions>, e.g. random:100000`);
  }
  type Row = { policy: string; identical: boolean; stopped?: string; failures: number; tornPersists: number; cycles: number; vsSteady: number; reexecutedCycles: number; persistBytes: number; commits: number; seconds: number; offSeconds: number };
  const rows: Row[] = [];
  let ok = true;
  for (const policy of policies) {
    const acc = { failures: 0, torn: 0, cycles: 0, persistBytes: 0, commits: 0, seconds: 0, offSeconds: 0, restarts: 0, same: true };
    let stopped: string | undefined;
    for (let k = 0; k < runs && !stopped; k++) {
      const p = power!.kind === "random" ? { ...power!, seed: seed + k } : power!;
      let r: ReturnType<typeof sim.run>;
      try {
        r = sim.run(inputs, { power: p, policy, ...nv });
      } catch (e) {
        // a policy that cannot finish on this power (a livelock, or a capacitor that holds a
        // task but not a power-on too) is a finding, not a bad input: reported beside the
        // others, and exit 1
        if (!(e instanceof PicoError) || !e.policyStopped) throw e;
        stopped = `${e.policyStopped}: ${e.message.replace(/^simulate: /, "")}`;
        break;
      }
      const same = Buffer.compare(Buffer.from(r.outputs[0].data.buffer, r.outputs[0].data.byteOffset, r.outputs[0].data.byteLength), Buffer.from(steadyOut.data.buffer, steadyOut.data.byteOffset, steadyOut.data.byteLength)) === 0;
      acc.same &&= same;
      acc.failures += r.failures; acc.torn += r.tornPersists; acc.cycles += r.cycles; acc.persistBytes += r.persistBytes;
      acc.commits += r.commits; acc.seconds += r.seconds; acc.offSeconds += r.offSeconds; acc.restarts += r.restarts;
    }
    if (stopped) {
      ok = false;
      rows.push({ policy, identical: false, stopped, failures: NaN, tornPersists: NaN, cycles: NaN, vsSteady: NaN, reexecutedCycles: NaN, persistBytes: NaN, commits: NaN, seconds: NaN, offSeconds: NaN });
      continue;
    }
    ok &&= acc.same;
    const per = (x: number) => x / runs;
    rows.push({ policy, identical: acc.same, failures: per(acc.failures), tornPersists: per(acc.torn), cycles: per(acc.cycles), vsSteady: per(acc.cycles) / steady.cycles, reexecutedCycles: per(acc.cycles) - steady.cycles, persistBytes: per(acc.persistBytes), commits: per(acc.commits), seconds: per(acc.seconds), offSeconds: per(acc.offSeconds) });
  }
  const report = { model: manifest!.source, grain: manifest!.intermittent!.grain, tasks: manifest!.intermittent!.tasks.length, target: target.name, runtime: runtime.name, power: powerText!, runs, nvCyclesPerByte, nvCyclesPerWrite, persist, steady: { cycles: steady.cycles, persistBytes: steady.persistBytes, seconds: steady.seconds }, policies: rows };
  if (a.json) return { out: JSON.stringify(report, null, 1), ok };
  const f = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  const lines = [
    `${report.model} (--intermittent ${report.grain}, ${report.tasks} tasks) on ${report.target} / ${report.runtime}; ${report.power}; ${persist === "in-place" ? "the region in place in the FRAM" : `persisting ${nvCyclesPerByte} cycles a byte and ${nvCyclesPerWrite} a write${persist === "dma" ? ", by DMA in the background" : ""}`}; ${runs} run(s), per run:`,
    `steady power, a commit after every task: ${f(steady.cycles)} cycles, ${f(steady.persistBytes)} bytes persisted, ${(steady.seconds * 1e3).toFixed(2)} ms`,
    "",
    "policy   answer     failures  torn  cycles        vs steady  done again    persisted B  commits  time",
    ...rows.map((r) => r.stopped ? `${r.policy.padEnd(8)} ${r.stopped}` : `${r.policy.padEnd(8)} ${(r.identical ? "identical" : "DIFFERENT").padEnd(10)} ${f(r.failures, runs > 1 ? 1 : 0).padStart(8)}  ${f(r.tornPersists, runs > 1 ? 1 : 0).padStart(4)}  ${f(r.cycles).padStart(12)}  ${r.vsSteady.toFixed(3).padStart(8)}x  ${f(Math.max(0, r.reexecutedCycles)).padStart(11)}  ${f(r.persistBytes).padStart(11)}  ${f(r.commits, runs > 1 ? 1 : 0).padStart(7)}  ${r.seconds < 1 ? `${(r.seconds * 1e3).toFixed(2)} ms` : `${r.seconds.toFixed(3)} s`}${r.offSeconds ? ` (${(r.offSeconds / r.seconds * 100).toFixed(0)}% charging)` : ""}`),
  ];
  return { out: lines.join("\n"), ok };
}
