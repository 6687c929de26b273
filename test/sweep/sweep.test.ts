// `picojoule sweep` on a tiny generated MLP (8 -> 6 -> 3, two Gemms), kept to a few
// configurations so it runs in seconds: the CSV's columns and rows, one worker thread and
// two giving the same CSV (the two-worker run uses the compiled dist/ worker, the other
// the TypeScript sources in this thread), a row's accuracy equal to what `picojoule
// compile` + `run --labels` print for the same flags, the budget rule, and each bad input
// refused with one line, exit 2 and nothing written to --out.
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeNpy } from "../../compiler/util/npy.js";
import { importAndLower } from "../../compiler/pipeline.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue } from "../../compiler/ir/graph.js";
import { main } from "../../compiler/cli/main.js";
import { sweep, type SweepResult } from "../../compiler/sweep/run.js";
import { CSV_COLUMNS, renderCsv } from "../../compiler/sweep/report.js";
import { argmax } from "../../compiler/sweep/evaluate.js";
import { tmpDir, writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";

const N = 40;
let model: string, data: string, labels: string, calib: string;
const dir = (name: string) => join(tmpDir(), `sweep-${process.pid}-${name}`);

function mlp(): ModelSpec {
  const r = rng(21);
  return {
    inputs: [{ name: "x", shape: [1, 8] }], outputs: ["y"],
    initializers: [
      { name: "W1", shape: [6, 8], data: uniform(r, 48, -0.8, 0.8) }, { name: "b1", shape: [6], data: uniform(r, 6, -0.2, 0.2) },
      { name: "W2", shape: [3, 6], data: uniform(r, 18, -0.8, 0.8) }, { name: "b2", shape: [3], data: uniform(r, 3, -0.2, 0.2) },
    ],
    nodes: [
      { op: "Gemm", inputs: ["x", "W1", "b1"], outputs: ["h"], attrs: { transB: 1 }, name: "fc1" },
      { op: "Relu", inputs: ["h"], outputs: ["a"] },
      { op: "Gemm", inputs: ["a", "W2", "b2"], outputs: ["y"], attrs: { transB: 1 }, name: "fc2" },
    ],
  };
}

const npy = (file: string, arr: Parameters<typeof encodeNpy>[0]) => (writeFileSync(file, encodeNpy(arr)), file);

/** Runs the CLI in this process; returns its exit code and what it printed. */
async function pj(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  try {
    const code = await main(argv);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

beforeAll(() => {
  model = writeModel(mlp(), "sweep");
  const r = rng(22);
  const x = uniform(r, N * 8, -1.5, 1.5);
  data = npy(join(tmpDir(), "sweep-x.npy"), { dtype: "float32", shape: [N, 8], data: x });
  calib = npy(join(tmpDir(), "sweep-calib.npy"), { dtype: "float32", shape: [16, 8], data: uniform(r, 16 * 8, -1.5, 1.5) });
  // labels: the float model's own classes (interpreted in f64), so float32 scores near 100% and compression can only lose
  const g = importAndLower(model);
  const y = Array.from({ length: N }, (_, i) => argmax(interpret(g, { x: makeValue("float32", [1, 8], x.slice(i * 8, i * 8 + 8)) }).y.data));
  labels = npy(join(tmpDir(), "sweep-y.npy"), { dtype: "int64", shape: [N], data: BigInt64Array.from(y, BigInt) });
});

describe("sweep on a tiny MLP", () => {
  let one: SweepResult, two: SweepResult;
  const opts = () => ({ model, data, labels, calibrate: calib, methods: ["int8", "fixed=Q2.4"], budget: 0 });

  it("evaluates the grid in one thread and on two workers with identical results", async () => {
    const notices: string[] = [];
    one = await sweep({ ...opts(), jobs: 1, notice: (m) => notices.push(m) });
    two = await sweep({ ...opts(), jobs: 2, notice: (m) => notices.push(m) });
    expect(notices).toEqual([]); // the dist worker exists (global setup builds dist/): no fallback
    expect(one.workers).toBe(0);
    expect(two.workers).toBe(2);
    expect(renderCsv(two)).toBe(renderCsv(one));
  });

  it("without a worker script it says so and evaluates in this thread", async () => {
    const notices: string[] = [], ticks: number[] = [];
    const r = await sweep({ model, data, labels, methods: ["fixed=Q8.8"], jobs: 2, workerScript: null, notice: (m) => notices.push(m), progress: (d) => ticks.push(d) });
    expect(r.workers).toBe(0);
    expect(notices.join("\n")).toMatch(/no compiled worker script .*evaluating in this thread, one configuration at a time, instead of 2 workers/);
    expect(r.notes).toEqual(notices);
    expect(ticks).toEqual([0, 1, 2]); // float32 and Q8.8, announced before the first
  });

  it("writes one CSV row per configuration with the documented columns", () => {
    const lines = renderCsv(one).trim().split("\n");
    expect(lines[0].split(",")).toEqual([...CSV_COLUMNS]);
    expect(lines.length).toBe(1 + 3); // float32, int8, Q2.4
    const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [CSV_COLUMNS[i], v])));
    expect(rows.map((r) => r.config).sort()).toEqual(["Q2.4", "float32", "int8"]);
    expect(rows.map((r) => r.rank)).toEqual(["1", "2", "3"]);
    const f = rows.find((r) => r.config === "float32")!;
    // float32 constants: the weights and biases, 4 bytes each (48 + 6 + 18 + 3 values), maybe aligned
    expect(Number(f.size_bytes)).toBeGreaterThanOrEqual(4 * 75);
    expect(f.compression).toBe("1");
    expect(f.flags).toBe("");
    expect(rows.find((r) => r.config === "Q2.4")!.flags).toBe("--fixed Q2.4");
    const q = rows.find((r) => r.config === "int8")!;
    expect(q.flags).toBe(`--quantize int8 --calibrate ${calib}`);
    expect(Number(q.size_bytes)).toBeLessThan(Number(f.size_bytes));
    expect(Number(q.compression)).toBeCloseTo(Number(f.size_bytes) / Number(q.size_bytes), 3);
    for (const r of rows) {
      expect(Number(r.energy_uj)).toBeGreaterThan(0);
      expect(Number(r.latency_us)).toBeGreaterThan(0);
      expect(Number(r.instructions)).toBeGreaterThan(0);
      expect(r.error).toBe("");
    }
  });

  it("a row's accuracy is what compile + run --labels print for its flags", async () => {
    for (const name of ["int8", "Q2.4", "float32"]) {
      const row = one.rows.find((r) => r.name === name)!;
      const out = dir(`run-${name}`);
      expect((await pj("compile", model, ...row.flags, "-o", out, "-q")).code).toBe(0);
      const r = await pj("run", out, "--input", data, "--labels", labels);
      expect(r.code).toBe(0);
      const m = /accuracy ([\d.]+)% \((\d+)\/(\d+)\)/.exec(r.out)!;
      expect(Number(m[2])).toBe(row.right);
      expect(Number(m[3])).toBe(N);
      expect(m[1]).toBe(row.accuracy.toFixed(2));
    }
  });

  it("applies the budget: over it is flagged and never recommended", () => {
    expect(one.reference.accuracy).toBeGreaterThanOrEqual(95); // f32 wasm vs f64 labels: near ties may differ
    for (const r of one.rows) expect(r.within).toBe(r.lossPoints <= 0);
    // Q2.4 (6 bits, range [-2, 2), steps of 1/16) flips some of 40 classes: the budget 0 has to exclude something
    expect(one.rows.some((r) => !r.within)).toBe(true);
    const best = one.recommended!;
    expect(best.within).toBe(true);
    for (const r of one.rows.filter((x) => x.within)) expect(best.score).toBeGreaterThanOrEqual(r.score);
  });

  it("the CLI writes sweep.csv and sweep.html and prints the recommendation", async () => {
    const out = dir("cli");
    const r = await pj("sweep", model, "--data", data, "--labels", labels, "--calibrate", calib, "--methods", "int8", "--jobs", "1", "-o", out, "-q");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/recommended: \S+ \(score/);
    expect(r.out).toMatch(/score = log2\(size_float32 \/ size\) - 1 x max\(0, accuracy loss in points\)/);
    expect(readFileSync(join(out, "sweep.csv"), "utf8").trim().split("\n").length).toBe(3);
    const html = readFileSync(join(out, "sweep.html"), "utf8");
    expect(html).toMatch(/<svg[^>]*>.*<circle/s);
    expect(html).toMatch(/Pareto front/);
    expect(html).not.toMatch(/<script|src=|href=/);
  });
});

describe("sweep refuses bad input", () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ["label count", () => ["--labels", npy(join(tmpDir(), "y-short.npy"), { dtype: "int64", shape: [N - 1], data: new BigInt64Array(N - 1) })], /39 labels .* for 40 data samples/],
    ["data shape", () => ["--data", npy(join(tmpDir(), "x-bad.npy"), { dtype: "float32", shape: [N, 7], data: new Float32Array(N * 7) })], /data has shape 40x7; expected N x 8/],
    ["non-integer labels", () => ["--labels", npy(join(tmpDir(), "y-float.npy"), { dtype: "float32", shape: [N], data: Float32Array.from({ length: N }, (_, i) => (i === 3 ? 0.5 : 1)) })], /label 0\.5 at index 3 is not a class index/],
    ["label out of range", () => ["--labels", npy(join(tmpDir(), "y-big.npy"), { dtype: "int32", shape: [N], data: Int32Array.from({ length: N }, (_, i) => (i === 5 ? 3 : 0)) })], /label 3 at index 5, but output 0 has 3 classes/],
    ["unknown method", () => ["--methods", "int8,quux"], /unknown method 'quux'/],
    ["unknown strength", () => ["--methods", "prune=2"], /prune=2: a sparsity must be a number in \(0, 1\)/],
    // (a value starting with "-" must be attached with "=", as parseArgs reads "--budget -1" as two options)
    ["negative budget", () => ["--budget=-1"], /--budget -1: expected points of accuracy >= 0/],
    ["jobs 0", () => ["--jobs", "0"], /--jobs 0: expected a whole number of worker threads >= 1/],
    ["jobs not whole", () => ["--jobs", "1.5"], /--jobs 1\.5: expected a whole number/],
  ];
  for (const [what, extra, msg] of cases) {
    it(what, async () => {
      const out = dir(`bad-${what.replace(/ /g, "-")}`);
      const args = extra();
      // each case replaces one of the good flags
      const base: Record<string, string> = { "--data": data, "--labels": labels, "--calibrate": calib };
      for (const a of args) delete base[a];
      const r = await pj("sweep", model, ...Object.entries(base).flat(), ...args, "-o", out, "-q");
      expect(r.code).toBe(2);
      expect(r.err.split("\n")).toHaveLength(1);
      expect(r.err).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    });
  }
});
