/**
 * `picojoule profile <dir> --target T [--runtime R]`: measures the compiled module's
 * operations per layer (instrumented with binaryen, targets/profile) and prices them on a
 * target (targets/cost.ts): cycles, latency, energy, RAM and flash against the target's
 * capacity, battery life at a rate, the rate a harvested power sustains. Prints a table,
 * or JSON (--json), and writes an HTML report (--html). A module that does not fit the
 * target is reported in full and then exits 2, so scripts can gate on it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bad } from "../util/errors.js";
import { readNpy } from "../util/npy.js";
import type { Manifest } from "../emit/manifest.js";
import { framesOf } from "../stream/selftest.js";
import { makeValue } from "../ir/graph.js";

export const PROFILE_HELP = `usage: picojoule profile <dir> --target <name> [options]

  --target <name>          cortex-m0plus, cortex-m4f, cortex-m7, esp32c3, gap8, msp430fr5994
                           (targets/mcu/*.json: every figure with its source)
  --runtime <mode>         native, wamr-aot (default), wamr-fast, wamr-classic
                           (targets/runtimes.json: WAMR's published factors)
  --input <x.npy>          count operations on this input (its first sample; a streaming
                           module: the sequence) instead of seeded random values
  --battery <capacity>     e.g. 220mAh@3V, 1Wh: battery life at --rate
  --rate <r>               inferences (streaming: steps) per second: 1/s, 10/min, 2/h, 0.5Hz
  --harvest <power>        e.g. 100uW: the highest rate this harvested power sustains
  --json                   print the report as JSON instead of the table
  --html <file>            also write an HTML report with per-layer bar charts
  -h, --help

Exit codes: 0 ok, 2 bad input or the module does not fit the target.`;

export interface ProfileArgs {
  dir: string;
  target: string;
  runtime?: string;
  input?: string;
  battery?: string;
  rate?: string;
  harvest?: string;
  json?: boolean;
  html?: string;
}

/** Runs the profile; returns the text printed and whether the module fits. */
export async function profileCommand(a: ProfileArgs): Promise<{ out: string; fits: boolean }> {
  const { loadTarget, loadRuntime, estimate, runtimeFactor, parseBattery, parseRate, parsePower, batteryLife, sustainableRate } = await import("../../targets/cost.js");
  const { profileDir } = await import("../../targets/profile/dynamic.js");
  const { renderText, renderJson, renderHtml } = await import("../../targets/profile/report.js");
  const target = loadTarget(a.target);
  const runtime = loadRuntime(a.runtime ?? (target.runtimes.includes("wamr-aot") ? "wamr-aot" : target.runtimes[0]), target);
  if (a.battery && !a.rate) bad("profile: --battery needs --rate (how often the model runs), e.g. --rate 1/s");
  if (a.rate && !a.battery) bad("profile: --rate goes with --battery <capacity>");
  const battery = a.battery ? parseBattery(a.battery) : undefined;
  const rate = a.rate ? parseRate(a.rate) : undefined;
  const harvest = a.harvest ? parsePower(a.harvest) : undefined;
  let manifest: Manifest;
  try { manifest = JSON.parse(readFileSync(join(a.dir, "model.json"), "utf8")); } catch { bad(`${a.dir}: no readable model.json (compile the model first: picojoule compile model.onnx -o ${a.dir})`); }
  const inputs = a.input ? inputsFromNpy(a.input, manifest!) : undefined;
  const prof = await profileDir(a.dir, { inputs });
  const e = estimate(manifest!, prof, target, runtime);
  const report = {
    model: manifest!.source, mode: manifest!.mode, estimate: e, runtimeFactor: runtimeFactor(runtime),
    inputs: a.input ? a.input : manifest!.stream ? `${prof.steps} seeded random frames` : "seeded random inputs in [-1, 1]",
    ...(battery && rate ? { battery: { text: battery.text, ratePerSecond: rate, ...batteryLife(e, battery, rate) } } : {}),
    ...(harvest !== undefined ? { harvest: { watts: harvest, ratePerSecond: sustainableRate(e, harvest) } } : {}),
  };
  if (a.html) writeFileSync(a.html, renderHtml(report));
  return { out: a.json ? renderJson(report) : renderText(report), fits: e.fits };
}

function inputsFromNpy(file: string, m: Manifest): Float32Array[] {
  const arr = readNpy(file);
  if (arr.dtype !== "float32") bad(`${file}: dtype ${arr.dtype}; inputs must be float32`);
  const io = m.inputs[0];
  if (m.inputs.length !== 1) bad(`profile: --input feeds single-input models; this one has ${m.inputs.length} inputs`);
  if (m.stream) {
    const ax = m.stream.timeAxis;
    if (arr.shape.length !== io.shape.length || arr.shape.some((d, i) => i !== ax && d !== io.shape[i])) bad(`${file}: shape ${arr.shape.join("x")} is not a sequence of input '${io.name}' (${io.shape.map((d, i) => (i === ax ? "T" : d)).join("x")})`);
    return framesOf(makeValue("float32", arr.shape, arr.data as Float32Array), ax).map((f) => f.data as Float32Array);
  }
  const per = io.shape.reduce((x, y) => x * y, 1);
  if (arr.data.length < per || arr.data.length % per !== 0) bad(`${file}: shape ${arr.shape.join("x")} holds no whole sample of input '${io.name}' (${io.shape.join("x")})`);
  return [Float32Array.from((arr.data as Float32Array).subarray(0, per))];
}
