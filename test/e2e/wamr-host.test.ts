// The C host of examples/wamr-host run for real: models compiled with --intermittent are
// translated to C by wabt's wasm2c and linked with the portable host loop (pj_host.c) and
// its simulation binding (main_wasm2c.c), which cuts the power at chosen bytes of the
// simulated FRAM, frees the module instance and instantiates it again. Checked: without
// failures the C host's outputs equal the module's run() in Node, byte for byte; with a
// cut at every byte of every write (cancer-mlp, tile and unit grains; digits-cnn) and with
// a few hundred random cuts, several per inference, with commits after every task or
// deferred (digits-cnn), the outputs never change; the same holds when the store already
// holds a finished inference on another sample, so a host that confused the two would
// print the old answer. Skipped, with the reason, only where gcc or wasm2c is missing
// (CI installs wabt).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileModel, quantizeInput, writeOutputs, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import type { Manifest } from "../../compiler/emit/manifest.js";

const has = (cmd: string) => spawnSync(cmd, ["--version"], { encoding: "utf8" }).status === 0;
const missing = ["gcc", "wasm2c"].filter((c) => !has(c));
const skip = missing.length > 0;
if (skip) console.warn(`wamr-host test skipped: ${missing.join(" and ")} not found (Debian: apt-get install gcc wabt)`);

/** Sample i of an example's x_test, as the module's raw input (int8 for quantized models). */
function sample(m: Manifest, ex: string, i: number): Value[] {
  const x = readNpy(`examples/${ex}/x_test.npy`);
  const io = m.inputs[0], n = io.shape.reduce((a, b) => a * b, 1);
  const v = makeValue("float32", io.shape, Array.from(x.data).slice(i * n, (i + 1) * n).map(Number));
  return [io.dtype === "int8" ? quantizeInput(v, io.scale!, io.zeroPoint!) : v];
}

const bytes = (v: Value) => Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);

interface Built {
  bin: string;
  input: string;
  previous: string;
  /** The outputs of run() in Node on `input`, as main_wasm2c.c prints them. */
  want: string;
  prevWant: string;
}

interface Run { name: string; cuts: string; resets: number; begins: number; outputs: string }

function host(b: Built, ...args: string[]) {
  const r = spawnSync(b.bin, ["--input", b.input, ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  const runs: Run[] = [];
  let summary: Record<string, number> | undefined;
  for (const line of r.stdout.split("\n")) {
    const m = /^run (\S+) cuts (\S+) resets (\d+) begins (\d+) outputs (\S+)$/.exec(line);
    if (m) runs.push({ name: m[1], cuts: m[2], resets: Number(m[3]), begins: Number(m[4]), outputs: m[5] });
    const s = /^summary (.*)$/.exec(line);
    if (s) {
      const f = s[1].split(" ");
      summary = {};
      for (let i = 0; i + 1 < f.length; i += 2) summary[f[i]] = Number(f[i + 1]);
    }
  }
  expect(r.stderr, `${b.bin} ${args.join(" ")}`).toBe("");
  expect(summary, r.stdout.slice(-500)).toBeDefined();
  return { status: r.status, runs, summary: summary!, steady: runs.find((x) => x.name === "steady")! };
}

const int8 = (ex: string): CompileOptions => ({ quantize: "int8", calibrate: `examples/${ex}/calib.npy` });

describe.skipIf(skip)("examples/wamr-host: the C host under wasm2c, with power failures", () => {
  const built = new Map<string, Built>();
  const root = mkdtempSync(join(tmpdir(), "pj-wamr-host-"));

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    const cases: Array<[string, string, CompileOptions, number]> = [
      ["cancer-mlp-tile", "cancer-mlp", { ...int8("cancer-mlp"), intermittent: { tasks: "tile" } }, 3],
      ["cancer-mlp-unit", "cancer-mlp", { ...int8("cancer-mlp"), intermittent: { tasks: "unit" } }, 3],
      ["digits-cnn-tile", "digits-cnn", { ...int8("digits-cnn"), intermittent: { tasks: "tile" } }, 5],
    ];
    for (const [name, ex, opts, idx] of cases) {
      const c = await compileModel(`examples/${ex}/model.onnx`, opts);
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeOutputs(c, dir);
      const node = await instantiate(c.wasm, c.manifest);
      const run = (x: Value[]) => runRaw(node, x).map((v) => bytes(v).toString("hex")).join(",");
      const x = sample(c.manifest, ex, idx);
      const want = run(x);
      // the previous sample: the first after idx whose outputs differ
      let p = idx + 1;
      while (run(sample(c.manifest, ex, p)) === want) p++;
      const prev = sample(c.manifest, ex, p);
      writeFileSync(join(dir, "in.bin"), Buffer.concat(x.map(bytes)));
      writeFileSync(join(dir, "prev.bin"), Buffer.concat(prev.map(bytes)));
      const bin = join(dir, "pj_wasm2c");
      const b = spawnSync("sh", ["examples/wamr-host/build.sh", dir, bin], { encoding: "utf8" });
      expect(b.status, `build.sh ${name}: ${b.stderr}`).toBe(0);
      built.set(name, { bin, input: join(dir, "in.bin"), previous: join(dir, "prev.bin"), want, prevWant: run(prev) });
    }
  });

  it("without failures the outputs equal run() in Node, on a fresh store and after a previous inference", () => {
    for (const [name, b] of built) {
      const fresh = host(b);
      expect(fresh.status, name).toBe(0);
      expect(fresh.steady.outputs, `${name}: the C host against run()`).toBe(b.want);
      expect(fresh.steady.begins, name).toBe(1);
      const after = host(b, "--previous", b.previous);
      expect(after.steady.outputs, `${name} after a previous inference`).toBe(b.want);
      expect(b.prevWant, `${name}: the two samples must differ for the check above to mean anything`).not.toBe(b.want);
      // deferred commits: the same answer, fewer bytes written
      const deferred = host(b, "--commit-every", "0");
      expect(deferred.steady.outputs, `${name} deferred`).toBe(b.want);
      expect(deferred.summary.bytes, name).toBeLessThanOrEqual(fresh.summary.bytes);
    }
  });

  it("a cut at every byte of every write never changes the answer (cancer-mlp tile and unit, digits-cnn)", () => {
    const cases: Array<[string, string[]]> = [
      ["cancer-mlp-tile", []],
      ["cancer-mlp-tile", ["--previous"]],
      ["cancer-mlp-unit", []],
      ["cancer-mlp-unit", ["--previous"]],
      ["cancer-mlp-unit", ["--commit-every", "0"]],
      ["digits-cnn-tile", []],
    ];
    for (const [name, extra] of cases) {
      const b = built.get(name)!;
      const args = ["--every", ...extra.flatMap((a) => (a === "--previous" ? [a, b.previous] : [a]))];
      const r = host(b, ...args);
      const what = `${name} ${args.join(" ")}`;
      // one inference per byte written by the failure-free run, each cut once
      expect(r.summary.runs, what).toBe(r.summary.bytes);
      // (enough cuts to mean something: the smallest case, cancer-mlp with deferred commits,
      // writes its inputs, outputs, their hashes and one record slot)
      expect(r.summary.bytes, what).toBeGreaterThan(50);
      expect(r.summary.resets, what).toBe(r.summary.runs);
      expect(r.summary.unused, what).toBe(0);
      const wrong = r.runs.filter((x) => x.outputs !== b.want);
      expect(wrong.slice(0, 3), `${what}: cuts that changed the answer`).toEqual([]);
      expect(r.runs.length, what).toBe(r.summary.runs + 1);
      expect(r.summary.mismatches, what).toBe(0);
      expect(r.status, what).toBe(0);
    }
  });

  it("hundreds of random cuts, several per inference, with immediate, periodic or deferred commits (digits-cnn)", () => {
    const b = built.get("digits-cnn-tile")!;
    let cuts = 0;
    for (const [seed, extra] of [
      ["1", []],
      ["2", ["--commit-every", "0"]],
      ["3", ["--commit-every", "3"]],
      ["4", ["--previous", b.previous]],
      ["5", ["--previous", b.previous, "--commit-every", "0"]],
    ] as Array<[string, string[]]>) {
      const args = ["--seed", seed, "--runs", "40", "--max-cuts", "8", ...extra];
      const r = host(b, ...args);
      const what = args.join(" ");
      expect(r.runs.filter((x) => x.outputs !== b.want).slice(0, 3), `${what}: cuts that changed the answer`).toEqual([]);
      expect(r.summary.runs, what).toBe(40);
      expect(r.summary.mismatches, what).toBe(0);
      expect(r.status, what).toBe(0);
      // the cuts are drawn so that nearly all of them land before the inference finishes
      expect(r.summary.unused, what).toBeLessThan(r.summary.resets / 10 + 1);
      expect(r.runs.filter((x) => x.name !== "steady").every((x) => x.resets >= 1), what).toBe(true);
      cuts += r.summary.resets;
    }
    expect(cuts).toBeGreaterThan(500);
  });

  it("a list of cuts in consecutive power-ons, given on the command line", () => {
    const b = built.get("cancer-mlp-unit")!;
    // cut the request's header, then begin()'s record slot, then a task's output, then 0 bytes in
    const r = host(b, "--cuts", "1:7,4:9,6:1,0");
    expect(r.runs).toHaveLength(2);
    const run = r.runs.find((x) => x.name === "0")!;
    expect(run).toMatchObject({ cuts: "1:7,4:9,6:1,0", resets: 4, outputs: b.want });
    expect(r.status).toBe(0);
    const bad = spawnSync(b.bin, ["--input", b.input, "--cuts", "x:1"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/a cut is P:B or N/);
  });
});
