// The cost evaluator and `picojoule profile`: cycles are the per-class counts times the
// target table's figures (checked by hand on a synthetic profile for Cortex-M4F, native and
// WAMR AOT), energy is cycles times run current per MHz times supply plus SRAM traffic,
// battery life and the harvest rate follow their formulas (worked by hand), every shipped
// target and runtime loads with a source for each number, and the CLI: a table, JSON and an
// HTML report with bar charts for a real example; a module too big for a target is reported
// with the overshoot and the largest tensor and exits 2; unknown targets and runtimes, a
// runtime the target cannot run, and malformed battery / rate / harvest values exit 2 with
// one line naming the problem.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { batteryLife, checkSources, estimate, loadRuntime, loadTarget, parseBattery, parsePower, parseRate, runtimeNames, sustainableRate, targetNames, type Estimate } from "../../targets/cost.js";
import { zeroCounts } from "../../targets/profile/instrument.js";
import type { DynamicProfile } from "../../targets/profile/dynamic.js";
import type { Manifest } from "../../compiler/emit/manifest.js";
import { compileModel, writeOutputs } from "../../compiler/pipeline.js";
import { tmpDir } from "../helpers/build-onnx.js";

const CLI = join(process.cwd(), "dist/compiler/cli/main.js");
const cli = (...args: string[]) => spawnSync("node", [CLI, ...args], { encoding: "utf8" });

function synthetic(): { manifest: Manifest; prof: DynamicProfile } {
  const c = zeroCounts();
  c.load = 10; c.loadBytes = 40; c.mul32 = 5; c.local = 100; c.branch = 2; c.storeBytes = 4; c.store = 1; c.copyBytes = 8;
  const manifest = {
    source: "synthetic", mode: "int8", layers: [{ name: "l0", op: "Gemm", macs: 5, kernels: [] }],
    memory: { arenaBase: 16, arenaBytes: 100, constantBytes: 1000, heapBase: 1200, wasmBytes: 3000, dataEnd: 1190, arenaLowerBound: 100, constantBase: 116, pages: 1 },
  } as unknown as Manifest;
  return { manifest, prof: { layers: [c], glue: zeroCounts(), total: c, steps: 1 } };
}

describe("the evaluator", () => {
  it("cycles, time and energy on Cortex-M4F follow the table (worked by hand)", () => {
    const t = loadTarget("cortex-m4f");
    const { manifest, prof } = synthetic();
    const native = estimate(manifest, prof, t, loadRuntime("native", t));
    // 10 loads x 1.5 + 5 mul x 1 + 1 store x 1 + 2 branches x 2 + 100 locals x 0 + 8 copied bytes x 0.5
    expect(native.cycles).toBeCloseTo(15 + 5 + 1 + 4 + 4, 9);
    expect(native.seconds).toBeCloseTo(29 / 120e6, 15);
    // 29 cycles x 110 uA/MHz x 3 V + (40 + 8) read and (4 + 8) written bytes x 2.5 pJ
    expect(native.joules).toBeCloseTo(29 * 110e-6 * 3 * 1e-6 + (48 + 12) * 2.5e-12, 18);
    const aot = estimate(manifest, prof, t, loadRuntime("wamr-aot", t));
    expect(aot.cycles).toBeCloseTo(29 * 1.212, 9);
    const fast = estimate(manifest, prof, t, loadRuntime("wamr-fast", t));
    expect(fast.cycles).toBeCloseTo(29 * 1.212 * 10, 6);
    // RAM: native keeps constants in flash (arena + 1 KB stack); WAMR copies them (heap base) and adds its own
    expect(native.ram.total).toBe(116 + 1024);
    expect(aot.ram.total).toBe(1200 + 8192);
    expect(aot.flash.total).toBe(Math.ceil(2000 * 2.5) + 1000 + 29696);
  });

  it("battery life and the sustainable harvest rate (worked by hand)", () => {
    expect(parseBattery("220mAh@3V").joules).toBeCloseTo(0.22 * 3600 * 3, 9);
    expect(parseBattery("1Wh").joules).toBe(3600);
    expect(parseRate("10/min")).toBeCloseTo(1 / 6, 12);
    expect(parseRate("0.5Hz")).toBe(0.5);
    expect(parsePower("100uW")).toBeCloseTo(1e-4, 15);
    const e = { joules: 1e-3, seconds: 0.01, sleepWatts: 8.4e-6, perStep: false } as Estimate;
    const life = batteryLife(e, { joules: 2376 }, 1);
    expect(life.averageWatts).toBeCloseTo(1e-3 + 8.4e-6 * 0.99, 12);
    expect(life.seconds).toBeCloseTo(2376 / (1e-3 + 8.4e-6 * 0.99), 3);
    // r (E - P_sleep t) = P_harvest - P_sleep
    expect(sustainableRate(e, 100e-6)).toBeCloseTo((100e-6 - 8.4e-6) / (1e-3 - 8.4e-6 * 0.01), 9);
    expect(sustainableRate(e, 5e-6)).toBe(0);
    expect(() => batteryLife(e, { joules: 1 }, 200)).toThrow(/more than the target can run/);
  });

  it("every target and runtime loads, each number with a listed source", () => {
    expect(targetNames()).toEqual(["cortex-m0plus", "cortex-m4f", "cortex-m7", "esp32c3", "gap8", "msp430fr5994"]);
    for (const n of targetNames()) {
      const t = loadTarget(n);
      expect(t.clockHz.value).toBeGreaterThan(0);
      for (const r of t.runtimes) expect(loadRuntime(r, t).cyclesFactor.value).toBeGreaterThan(0);
    }
    expect(runtimeNames()).toEqual(["native", "wamr-aot", "wamr-fast", "wamr-classic"]);
    expect(() => checkSources({ sources: { a: "x" }, clock: { value: 1, source: "b" } }, { a: "x" }, "t.json")).toThrow(/t.json: clock has no source/);
    expect(() => loadRuntime("wamr-aot", loadTarget("msp430fr5994"))).toThrow(/does not run on msp430fr5994; it supports: native/);
  });
});

describe("picojoule profile", () => {
  let dir = "";
  it("table, JSON and HTML for an example", async () => {
    dir = join(tmpDir(), "profile-digits");
    writeOutputs(await compileModel("examples/digits-cnn/model.onnx", { quantize: "int8", calibrate: "examples/digits-cnn/calib.npy" }), dir);
    const html = join(tmpDir(), "report.html");
    const r = cli("profile", dir, "--target", "cortex-m4f", "--battery", "220mAh@3V", "--rate", "1/s", "--harvest", "100uW", "--html", html);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/on cortex-m4f at 120 MHz, runtime wamr-aot/);
    expect(r.stdout).toMatch(/\/features\/features.10\/Conv\s+Conv\s+147456/);
    expect(r.stdout).toMatch(/per inference: \d+ cycles/);
    expect(r.stdout).toMatch(/fits cortex-m4f/);
    expect(r.stdout).toMatch(/life \d/);
    expect(r.stdout).toMatch(/harvesting 100.0 uW sustains/);
    expect(existsSync(html)).toBe(true);
    const page = readFileSync(html, "utf8");
    expect(page.match(/<svg /g)?.length).toBe(3);
    expect(page).toContain("features.10");
    const small = join(tmpDir(), "profile-mlp");
    writeOutputs(await compileModel("examples/cancer-mlp/model.onnx", {}), small);
    const j = cli("profile", small, "--target", "esp32c3", "--runtime", "wamr-classic", "--json");
    expect(j.status).toBe(0);
    const rep = JSON.parse(j.stdout);
    expect(rep.estimate.target).toBe("esp32c3");
    expect(rep.estimate.layers).toHaveLength(3);
    // the classic interpreter costs 20x AOT on the same counts
    const aot = JSON.parse(cli("profile", small, "--target", "esp32c3", "--json").stdout);
    expect(rep.estimate.cycles / aot.estimate.cycles).toBeCloseTo(20, 6);
  });

  it("a module that does not fit: the overshoot and the largest tensor, exit 2", () => {
    const r = cli("profile", dir, "--target", "cortex-m0plus", "--runtime", "wamr-fast");
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/DOES NOT FIT cortex-m0plus/);
    expect(r.stdout).toMatch(/RAM needs [\d.]+ KB .*cortex-m0plus has 8.0 KB: over by [\d.]+ KB; the largest tensor is 'features.10.weight' \(9.0 KB, constant\)/);
  });

  it("bad input: one line, exit 2", () => {
    const cases: Array<[string[], RegExp]> = [
      [["--target", "cortex-m5"], /unknown target 'cortex-m5'; known targets: cortex-m0plus, cortex-m4f/],
      [["--target", "cortex-m4f", "--runtime", "jit"], /unknown runtime 'jit'; known runtimes: native, wamr-aot, wamr-fast, wamr-classic/],
      [["--target", "msp430fr5994", "--runtime", "wamr-classic"], /runtime 'wamr-classic' does not run on msp430fr5994/],
      [["--target", "cortex-m4f", "--battery", "220mAh"], /--battery needs --rate/],
      [["--target", "cortex-m4f", "--battery", "220mAh", "--rate", "1/s"], /a capacity in mAh needs a voltage/],
      [["--target", "cortex-m4f", "--battery", "lots@3V", "--rate", "1/s"], /--battery 'lots@3V': expected a capacity/],
      [["--target", "cortex-m4f", "--battery", "1Wh", "--rate", "often"], /--rate 'often': expected a positive rate/],
      [["--target", "cortex-m4f", "--harvest=-3uW"], /--harvest '-3uW': expected a positive power/],
      [[], /--target <name> is required/],
    ];
    for (const [extra, msg] of cases) {
      const r = cli("profile", dir, ...extra);
      expect(r.status, extra.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    const missing = cli("profile", join(tmpDir(), "nowhere"), "--target", "cortex-m4f");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no readable model.json/);
  });
});
