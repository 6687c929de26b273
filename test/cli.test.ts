// The CLI as a user meets it: exit codes 0/1/2, one-line errors naming the problem, and no
// half-written output folder after a failure. Runs the built dist/ with node.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeNpy, readNpy } from "../compiler/util/npy.js";
import { tmpDir, writeModel, type ModelSpec } from "./helpers/build-onnx.js";
import { rng, uniform } from "./helpers/random.js";

const CLI = join(process.cwd(), "dist/compiler/cli/main.js");

function pj(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function convModel(opts: { dynamic?: boolean; nan?: boolean; op?: string } = {}): string {
  const r = rng(5);
  const w = uniform(r, 2 * 1 * 3 * 3);
  if (opts.nan) w[3] = NaN;
  const spec: ModelSpec = {
    inputs: [{ name: "x", shape: opts.dynamic ? ["batch", 1, 6, 6] : [1, 1, 6, 6] }],
    outputs: ["y"],
    initializers: [{ name: "W", shape: [2, 1, 3, 3], data: w }],
    nodes: [{ op: "Conv", inputs: ["x", "W"], outputs: opts.op ? ["t"] : ["y"], name: "conv1" }],
  };
  if (opts.op) spec.nodes.push({ op: opts.op, inputs: ["t"], outputs: ["y"], name: "mystery" });
  return writeModel(spec, "cli");
}

function npy(file: string, shape: number[], dtype: "float32" | "int32" = "float32"): string {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(6);
  const data = dtype === "float32" ? uniform(r, n) : Int32Array.from({ length: n }, (_, i) => i);
  writeFileSync(file, encodeNpy({ dtype, shape, data }));
  return file;
}

function expectBad(res: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(res.code).toBe(2);
  expect(res.stderr.trim().split("\n")).toHaveLength(1);
  expect(res.stderr).toMatch(pattern);
}

describe("picojoule CLI", () => {
  const dir = tmpDir();

  it("the package's bin is executable (npx picojoule runs it directly)", () => {
    const bin = JSON.parse(readFileSync("package.json", "utf8")).bin.picojoule as string;
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node")).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
  });

  it("shows help for each command", () => {
    for (const args of [["--help"], ["compile", "--help"], ["run", "--help"], ["inspect", "--help"]]) {
      const r = pj(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/usage: picojoule/);
    }
  });

  it("compiles, runs and inspects a model", () => {
    const out = join(dir, "ok");
    const model = convModel();
    const c = pj("compile", model, "-o", out, "--selftest", "-q");
    expect(c.code, c.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["model.h", "model.json", "model.ts", "model.wasm"]);
    const x = npy(join(dir, "x.npy"), [3, 1, 6, 6]);
    const r = pj("run", out, "--input", x, "--output", join(dir, "y.npy"));
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, "y.npy"))).toBe(true);
    const i = pj("inspect", out);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/conv1\s+Conv/);
    expect(pj("inspect", model).stdout).toMatch(/arena \d+ B \(lower bound \d+ B\)/);
  });

  it("writes every output of a multi-output model", () => {
    const r = rng(8);
    const model = writeModel({
      inputs: [{ name: "x", shape: [1, 1, 6, 6] }], outputs: ["t", "y"],
      initializers: [{ name: "W", shape: [2, 1, 3, 3], data: uniform(r, 18) }],
      nodes: [{ op: "Conv", inputs: ["x", "W"], outputs: ["t"] }, { op: "Relu", inputs: ["t"], outputs: ["y"] }],
    }, "two");
    const out = join(dir, "two");
    expect(pj("compile", model, "-o", out, "-q").code).toBe(0);
    const x = npy(join(dir, "x3.npy"), [3, 1, 6, 6]);
    const res = pj("run", out, "--input", x, "--output", join(dir, "two.npy"));
    expect(res.code, res.stderr).toBe(0);
    const t = readNpy(join(dir, "two.npy")), y = readNpy(join(dir, "two.1.npy"));
    expect(t.shape).toEqual([3, 2, 4, 4]);
    expect(y.shape).toEqual([3, 2, 4, 4]);
    expect(Array.from(y.data)).toEqual(Array.from(t.data, (v) => Math.max(0, Number(v))));
  });

  it("refuses a truncated ONNX file", () => {
    const bytes = readFileSync(convModel());
    const f = join(dir, "trunc.onnx");
    writeFileSync(f, bytes.subarray(0, 40));
    expectBad(pj("compile", f, "-o", join(dir, "t1")), /trunc\.onnx: not (a valid )?(an )?ONNX model/);
    expect(existsSync(join(dir, "t1"))).toBe(false);
  });

  it("refuses a file that is not ONNX", () => {
    const f = join(dir, "notes.onnx");
    writeFileSync(f, "this is a text file, not a model\n".repeat(4));
    expectBad(pj("compile", f, "-o", join(dir, "t2")), /notes\.onnx: not (a valid )?(an )?ONNX model/);
    expect(existsSync(join(dir, "t2"))).toBe(false);
  });

  it("names an unsupported operator, its node and opset, and lists what is supported", () => {
    expectBad(pj("compile", convModel({ op: "Erf" }), "-o", join(dir, "t3")), /node 'mystery' has op type Erf \(opset 13\).*supported: .*Conv/);
    expect(existsSync(join(dir, "t3"))).toBe(false);
  });

  it("asks for --shape on symbolic input shapes, and accepts it", () => {
    const model = convModel({ dynamic: true });
    expectBad(pj("compile", model, "-o", join(dir, "t4")), /input 'x' has a symbolic shape \[batch,1,6,6\]; .*--shape x=Nx1x6x6/);
    expect(existsSync(join(dir, "t4"))).toBe(false);
    expect(pj("compile", model, "-o", join(dir, "t4"), "--shape", "x=1x1x6x6", "-q").code).toBe(0);
    expectBad(pj("compile", model, "-o", join(dir, "t5"), "--shape", "x=1x2x6x6"), /--shape x=1x2x6x6 does not match/);
    expectBad(pj("compile", model, "-o", join(dir, "t5"), "--shape", "y=1x2"), /--shape names 'y'/);
  });

  it("refuses NaN weights, naming the initializer", () => {
    expectBad(pj("compile", convModel({ nan: true }), "-o", join(dir, "t6")), /initializer 'W': element 3 is NaN/);
    expect(existsSync(join(dir, "t6"))).toBe(false);
  });

  it("checks calibration and input .npy files", () => {
    const model = convModel();
    expectBad(pj("compile", model, "--quantize", "int8", "-o", join(dir, "t7")), /--quantize int8 needs --calibrate/);
    expectBad(pj("compile", model, "--quantize", "int8", "--calibrate", npy(join(dir, "c1.npy"), [4, 1, 5, 6]), "-o", join(dir, "t7")), /calibration set has shape 4x1x5x6; expected N x 1x6x6/);
    expectBad(pj("compile", model, "--quantize", "int8", "--calibrate", npy(join(dir, "c2.npy"), [4, 1, 6, 6], "int32"), "-o", join(dir, "t7")), /must be float32.*found int32/);
    const notNpy = join(dir, "c3.npy");
    writeFileSync(notNpy, "hello");
    expectBad(pj("compile", model, "--quantize", "int8", "--calibrate", notNpy, "-o", join(dir, "t7")), /not a \.npy file/);
    expect(existsSync(join(dir, "t7"))).toBe(false);
    const out = join(dir, "t8");
    expect(pj("compile", model, "-o", out, "-q").code).toBe(0);
    expectBad(pj("run", out, "--input", npy(join(dir, "x2.npy"), [2, 36])), /input has shape 2x36; expected N x 1x6x6/);
  });

  it("leaves an existing output folder untouched when compilation fails", () => {
    const out = join(dir, "keep");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "model.wasm"), "old");
    expectBad(pj("compile", convModel({ op: "Erf" }), "-o", out), /Erf/);
    expect(readdirSync(out)).toEqual(["model.wasm"]);
    expect(readFileSync(join(out, "model.wasm"), "utf8")).toBe("old");
  });

  it("rejects unknown commands, options and missing files with exit code 2", () => {
    expectBad(pj("frobnicate"), /unknown command 'frobnicate'/);
    expectBad(pj("compile", convModel(), "--frob"), /Unknown option '--frob'/);
    expectBad(pj("compile", join(dir, "missing.onnx")), /missing\.onnx: cannot read \(ENOENT\)/);
    expectBad(pj("run", join(dir, "nowhere")), /--input|no such file/);
  });
});

describe("picojoule CLI, --fixed Qm.f", () => {
  const dir = tmpDir();
  const r = rng(9);
  const model = writeModel({
    inputs: [{ name: "x", shape: [1, 4] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [3, 4], data: uniform(r, 12) }, { name: "b", shape: [3], data: uniform(r, 3) }],
    nodes: [{ op: "Gemm", inputs: ["x", "W", "b"], outputs: ["y"], attrs: { transB: 1 } }],
  }, "fixed");

  it("compiles and runs in Q4.4; the summary and model.json name the format", () => {
    const out = join(dir, "q44");
    const c = pj("compile", model, "-o", out, "--fixed", "Q4.4", "--selftest", "-q");
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/-> .*q44\/ \(Q4\.4, /);
    expect(JSON.parse(readFileSync(join(out, "model.json"), "utf8")).mode).toBe("Q4.4");
    const res = pj("run", out, "--input", npy(join(dir, "xq.npy"), [2, 1, 4]));
    expect(res.code, res.stderr).toBe(0);
    // outputs are dequantized Q4.4 values: multiples of 1/16
    for (const v of res.stdout.trim().split(/\s+/).map(Number)) expect(Number.isInteger(v * 16)).toBe(true);
  });

  it("compiles and runs in Q8.8 (int16 storage); outputs are multiples of 1/256", () => {
    const out = join(dir, "q88");
    const c = pj("compile", model, "-o", out, "--fixed", "Q8.8", "--selftest", "-q");
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/-> .*q88\/ \(Q8\.8, /);
    const manifest = JSON.parse(readFileSync(join(out, "model.json"), "utf8"));
    expect(manifest.mode).toBe("Q8.8");
    expect(manifest.inputs[0]).toMatchObject({ dtype: "int16", bytes: 8 });
    const res = pj("run", out, "--input", npy(join(dir, "xq8.npy"), [2, 1, 4]), "--output", join(dir, "yq8.npy"));
    expect(res.code, res.stderr).toBe(0);
    const ys = readNpy(join(dir, "yq8.npy"));
    expect(ys.shape).toEqual([2, 3]);
    for (const v of ys.data) expect(Number.isInteger(Number(v) * 256)).toBe(true);
  });

  it("refuses formats of more than 16 bits, bad syntax, and --fixed with --quantize int8 or --calibrate", () => {
    expectBad(pj("compile", model, "-o", join(dir, "f1"), "--fixed", "Q9.8"), /--fixed Q9\.8: 17 bits; Q formats have at most 16 bits/);
    expectBad(pj("compile", model, "-o", join(dir, "f1"), "--fixed", "Q4"), /--fixed Q4: expected Qm\.f/);
    expectBad(pj("compile", model, "-o", join(dir, "f1"), "--fixed", "Q4.4", "--quantize", "int8"), /--fixed Q4\.4 and --quantize int8 exclude each other/);
    expectBad(pj("compile", model, "-o", join(dir, "f1"), "--fixed", "Q4.4", "--calibrate", npy(join(dir, "cq.npy"), [4, 1, 4])), /--fixed Q4\.4: --calibrate is not used/);
    expect(existsSync(join(dir, "f1"))).toBe(false);
  });
});

describe("picojoule CLI: block-circulant kernels", () => {
  const dir = tmpDir();
  const r = rng(12);
  const model = writeModel({
    inputs: [{ name: "x", shape: [1, 16] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [8, 16], data: uniform(r, 128) }],
    nodes: [{ op: "Gemm", inputs: ["x", "W"], outputs: ["y"], attrs: { transB: 1 }, name: "fc" }],
  }, "cli-circ");

  it("compile --intermittent and simulate: the steady-power answer under failures; bad options and traces are refused", () => {
    const out = join(dir, "ck"), ex = "examples/cancer-mlp";
    const c = pj("compile", `${ex}/model.onnx`, "--quantize", "int8", "--calibrate", `${ex}/calib.npy`, "--intermittent", "tile", "--nv-layout", "shared", "-o", out, "-q");
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "model.json"), "utf8")).intermittent.layout).toBe("shared");
    // (a cheap store: at the SPI FRAM's default costs a power-on costs more than these gaps)
    const cheap = ["--nv-cycles-per-byte", "1", "--nv-cycles-per-write", "0", "--runtime", "native"];
    const s = pj("simulate", out, "--intermittent", "--power", "random:3000", "--runs", "3", "--input", `${ex}/x_test.npy`, ...cheap, "--json");
    expect(s.code, s.stderr).toBe(0);
    const r = JSON.parse(s.stdout);
    expect(r.policies.map((p: { policy: string; identical: boolean }) => [p.policy, p.identical])).toEqual([["every", true]]);
    // gaps of 3,000 instructions on a model of about 15,000: failures happen
    expect(r.policies[0].failures).toBeGreaterThan(1);
    expect([r.nvCyclesPerByte, r.nvCyclesPerWrite, r.persist]).toEqual([1, 0, "wait"]);
    // the persist costs and mode default to the target's; a DMA host: the same answer, sooner
    const t = JSON.parse(readFileSync("targets/mcu/cortex-m4f.json", "utf8"));
    const w = JSON.parse(pj("simulate", out, "--intermittent", "--power", "steady", "--json").stdout);
    expect([w.nvCyclesPerByte, w.nvCyclesPerWrite, w.persist]).toEqual([t.nvCyclesPerByte.value, t.nvCyclesPerWrite.value, "wait"]);
    const d = pj("simulate", out, "--intermittent", "--power", "random:30000", "--runs", "3", "--input", `${ex}/x_test.npy`, "--persist", "dma", "--json");
    expect(d.code, d.stderr).toBe(0);
    const rd = JSON.parse(d.stdout);
    expect([rd.persist, rd.policies[0].identical]).toEqual(["dma", true]);
    expect(rd.steady.cycles).toBeLessThan(w.steady.cycles);
    // at the default costs a power-on (instantiating, reading the region back) outlasts gaps of
    // 3,000 instructions: the policy is reported as a livelock beside the others, exit 1
    const ll = pj("simulate", out, "--intermittent", "--power", "random:3000");
    expect(ll.code, ll.stdout + ll.stderr).toBe(1);
    expect(ll.stdout).toMatch(/\nevery +livelock: 201 power-ons in a row without committing past task \d+ .*\(instantiating and reading the image back: \d+ cycles/);
    // msp430fr5994: the region in place in its FRAM by default
    const mp = pj("simulate", out, "--intermittent", "--target", "msp430fr5994", "--power", "random:3000", "--runs", "3", "--input", `${ex}/x_test.npy`, "--json");
    expect(mp.code, mp.stderr).toBe(0);
    const rm = JSON.parse(mp.stdout);
    expect([rm.runtime, rm.persist, rm.policies[0].identical]).toEqual(["native", "in-place", true]);
    expect(rm.policies[0].failures).toBeGreaterThan(1);
    expectBad(pj("simulate", out, "--intermittent", "--persist", "in-place"), /--persist in-place: .* wamr-aot zeroes linear memory/);
    expectBad(pj("simulate", out, "--intermittent", "--persist", "async"), /--persist async: choose wait, dma or in-place/);
    expectBad(pj("simulate", out, "--intermittent", "--persist", "dma", "--capacitor", "47uF"), /--persist dma goes with --power steady or random/);
    expectBad(pj("simulate", out, "--intermittent", "--nv-cycles-per-write", "lots"), /--nv-cycles-per-write lots: expected a number >= 0/);
    const h = pj("simulate", out, "--intermittent", "--capacitor", "47uF", "--harvest", "constant:1mW", "--json");
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout).policies.map((p: { policy: string; identical: boolean }) => [p.policy, p.identical])).toEqual([["every", true], ["energy", true]]);
    writeFileSync(join(dir, "bad.csv"), "time_s,power_W\n0,0.001\n0.01,-1\n");
    expectBad(pj("simulate", out, "--intermittent", "--capacitor", "47uF", "--harvest", `csv:${join(dir, "bad.csv")}`), /bad\.csv:3: negative power -1/);
    expectBad(pj("simulate", out, "--intermittent", "--capacitor", "10nF", "--harvest", "constant:1mW"), /--capacitor 10nF: task \d+ \(layer \d+ Gemm '[^']+'.*\) needs [\d.]+ uJ .* but the capacitor holds/);
    expectBad(pj("compile", `${ex}/model.onnx`, "--nv-layout", "shared", "-o", join(dir, "bad")), /--nv-layout goes with --intermittent/);
    expectBad(pj("compile", `${ex}/model.onnx`, "--intermittent", "tile", "--nv-layout", "mixed", "-o", join(dir, "bad")), /--nv-layout mixed: choose distinct or shared/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  it("--circulant-kernel chooses the float kernel as the library does; bad values and int8 are refused", () => {
    const kernels = (out: string) => JSON.parse(readFileSync(join(out, "model.json"), "utf8")).layers.flatMap((l: { kernels: Array<{ kernel: string }> }) => l.kernels.map((k) => k.kernel));
    for (const [flags, fn] of [[[], "fc_circulant_fft_f32"], [["--circulant-kernel", "direct"], "fc_circulant_f32"], [["--circulant-kernel", "fft"], "fc_circulant_fft_f32"]] as Array<[string[], string]>) {
      const out = join(dir, `c${flags.length ? flags[1] : "auto"}`);
      const c = pj("compile", model, "-o", out, "--circulant", "4", ...flags, "--selftest", "-q");
      expect(c.code, c.stderr).toBe(0);
      expect(kernels(out)).toEqual([fn]);
    }
    expectBad(pj("compile", model, "-o", join(dir, "bad"), "--circulant", "4", "--circulant-kernel", "fast"), /--circulant-kernel fast: choose auto, direct or fft/);
    expectBad(pj("compile", model, "-o", join(dir, "bad"), "--circulant", "4", "--circulant-kernel", "fft", "--fixed", "Q4.4"), /--circulant-kernel fft: the FFT kernel is float only/);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });
});
