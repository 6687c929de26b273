// Streaming (STMC) of causal 1-D convolution stacks: the module's step() fed one frame at a
// time must reproduce, column by column, the full-window model on the whole sequence:
// bit for bit in int8 (the wasm against the full-window integer interpreter), and in float
// within the float tolerance of op-check (f32 kernels vs the f64 reference; FLOAT_TOL).
// Also: the streaming reference itself equals the full-window reference exactly, strided
// layers fire every s-th step, reset() restarts the stream, selftest passes, MACs per step
// are those of one column, and non-causal layers are refused naming the layer.
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled } from "../../compiler/pipeline.js";
import { interpret } from "../../compiler/ir/interp.js";
import { StepRunner } from "../../compiler/stream/interp.js";
import { framesOf } from "../../compiler/stream/selftest.js";
import { writeModel, type ModelSpec, type NodeSpec } from "../helpers/build-onnx.js";
import { randValue, rng } from "../helpers/random.js";
import { worstRatio } from "../helpers/run.js";
import { FLOAT_TOL } from "../helpers/op-check.js";
import { columns, modelInput, streamWasm } from "../helpers/stream.js";

interface Layer { cout: number; k: number; d?: number; s?: number; relu?: boolean; pool?: "max" | "avg" }

/** A causal 1-D stack on [1, cin, T]: each conv padded (k-1)*d on the left only. */
function tcn(cin: number, T: number, layers: Layer[], seed: number): ModelSpec {
  const r = rng(seed);
  const nodes: NodeSpec[] = [];
  const inits: NonNullable<ModelSpec["initializers"]> = [];
  let x = "x", c = cin;
  layers.forEach((l, i) => {
    const d = l.d ?? 1, s = l.s ?? 1, y = `h${i}`;
    if (l.pool) {
      nodes.push({ op: l.pool === "max" ? "MaxPool" : "AveragePool", inputs: [x], outputs: [y], attrs: { kernel_shape: [l.k], strides: [s], pads: [l.k - 1, 0], ...(l.pool === "avg" ? { count_include_pad: 1 } : {}) } });
    } else {
      inits.push({ name: `W${i}`, shape: [l.cout, c, l.k], data: randValue(r, [l.cout, c, l.k], -0.5, 0.5).data });
      inits.push({ name: `B${i}`, shape: [l.cout], data: randValue(r, [l.cout], -0.2, 0.2).data });
      nodes.push({ op: "Conv", inputs: [x, `W${i}`, `B${i}`], outputs: [l.relu ? `${y}c` : y], attrs: { kernel_shape: [l.k], dilations: [d], strides: [s], pads: [(l.k - 1) * d, 0] } });
      if (l.relu) nodes.push({ op: "Relu", inputs: [`${y}c`], outputs: [y] });
      c = l.cout;
    }
    x = y;
  });
  return { inputs: [{ name: "x", shape: [1, cin, T] }], outputs: [x], nodes, initializers: inits, opset: 13 };
}

const TCN: Layer[] = [
  { cout: 8, k: 3, relu: true }, { cout: 8, k: 3, d: 2, relu: true }, { cout: 8, k: 3, d: 4, relu: true },
  { cout: 8, k: 3, d: 8, relu: true }, { cout: 1, k: 1 },
];

let seed = 500;
async function check(layers: Layer[], cin: number, T: number, quant: boolean) {
  const s = ++seed;
  const spec = tcn(cin, T, layers, s);
  const r = rng(s);
  const seq = randValue(r, [1, cin, T], -1, 1);
  const calib = [0, 1, 2].map(() => ({ x: randValue(r, [1, cin, T], -1, 1) }));
  const opts = quant ? { quantize: "int8" as const, calibrate: calib } : {};
  const file = writeModel(spec);
  const full = await compileModel(file, opts);
  const st = await compileModel(file, { ...opts, stream: true, selftest: true });
  const ex = (await WebAssembly.instantiate(st.wasm)).instance.exports as Record<string, any>;
  expect(ex.selftest()).toBe(0);
  const x = modelInput(full.graph, seq);
  const want = interpret(full.graph, { x })[full.graph.outputs[0]];
  const frames = framesOf(x, 2);
  // the streaming reference equals the full-window reference exactly
  const runner = new StepRunner(st.stepGraph!);
  const refCols: number[] = [];
  frames.forEach((f) => { const o = runner.step(f); if (o.fired[0]) refCols.push(...Array.from(o.outputs[0].data)); });
  expect(refCols).toEqual(columns(want));
  const got = await streamWasm(st, frames);
  const period = st.manifest.stream!.outputPeriods[0];
  expect(got.firedSteps[0]).toEqual(Array.from({ length: Math.ceil(T / period) }, (_, k) => k * period));
  if (quant) expect(got.outs[0]).toEqual(columns(want));
  else expect(worstRatio(Float32Array.from(got.outs[0]), Float32Array.from(columns(want)), FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);
  return { full, st };
}

describe("STMC: causal Conv1d stacks stream column by column", () => {
  it("dilated TCN (receptive field 31), float", () => check(TCN, 2, 40, false));
  it("dilated TCN, int8 bit-exact", () => check(TCN, 2, 40, true));
  it("strided layer fires every 2nd step, then every 4th after a strided pool, float and int8", async () => {
    const layers: Layer[] = [{ cout: 6, k: 3, relu: true }, { cout: 6, k: 3, s: 2, relu: true }, { cout: 6, k: 2, s: 2, pool: "max" }, { cout: 4, k: 3, d: 2 }];
    const { st } = await check(layers, 3, 24, false);
    expect(st.manifest.stream!.outputPeriods).toEqual([4]);
    await check(layers, 3, 24, true);
  });
  it("average pooling with count_include_pad", () => check([{ cout: 4, k: 3, relu: true }, { cout: 4, k: 3, pool: "avg" }, { cout: 2, k: 3, d: 3 }], 2, 20, true));
  it("MACs per step are one column's: full window / T", async () => {
    const { full, st } = await check(TCN, 2, 40, false);
    expect(st.manifest.totals.macs * 40).toBe(full.manifest.totals.macs);
  });
  it("reset() restarts the stream", async () => {
    const spec = tcn(2, 16, TCN, 77);
    const st = await compileModel(writeModel(spec), { stream: true });
    const frames = framesOf(randValue(rng(3), [1, 2, 16], -1, 1), 2);
    const a = await streamWasm(st, frames);
    const b = await streamWasm(st, frames); // streamWasm resets first, on a fresh instance
    expect(a.outs).toEqual(b.outs);
  });
  it("step() without a frame announced by input_ptr(0) returns -1 and changes nothing", async () => {
    const st = await compileModel(writeModel(tcn(2, 16, TCN, 78)), { stream: true });
    const frames = framesOf(randValue(rng(4), [1, 2, 16], -1, 1), 2);
    const want = (await streamWasm(st, frames)).outs[0];
    const ex = (await WebAssembly.instantiate(st.wasm)).instance.exports as Record<string, any>;
    ex.reset();
    expect(ex.step()).toBe(-1); // nothing written after the reset
    const got: number[] = [];
    for (const f of frames) {
      new Float32Array(ex.memory.buffer, ex.input_ptr(0), 2).set(f.data);
      expect(ex.step()).toBe(1);
      expect(ex.step()).toBe(-1); // the same frame again: refused, the stream does not advance
      got.push(...Array.from(new Float32Array(ex.memory.buffer, ex.output_ptr(0), 1)));
    }
    expect(ex.steps_since_reset()).toBe(16);
    expect(got).toEqual(want);
  });
  it("refuses a convolution that looks ahead, naming it", async () => {
    const spec = tcn(2, 16, [{ cout: 4, k: 3 }], 5);
    spec.nodes[0].name = "lookahead";
    spec.nodes[0].attrs!.pads = [1, 1];
    await expect(compileModel(writeModel(spec), { stream: true })).rejects.toThrow(/layer 'lookahead' \(Conv\): --stream needs causal layers: 2 steps of padding on the left .* found 1 \(it would look 1 steps ahead\)/);
  });
  it("refuses a layer that needs the whole window", async () => {
    const spec = tcn(2, 16, [{ cout: 4, k: 3 }], 6);
    spec.nodes.push({ op: "GlobalAveragePool", inputs: ["h0"], outputs: ["g"], name: "gap" });
    spec.outputs = ["g"];
    await expect(compileModel(writeModel(spec), { stream: true })).rejects.toThrow(/layer 'gap' \(GlobalAveragePool\): this layer cannot run one step at a time/);
  });
});

describe("picojoule run --stream", () => {
  it("compiles with --stream, streams a sequence from .npy and writes per-step outputs", async () => {
    const { spawnSync } = await import("node:child_process");
    const { readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { encodeNpy, readNpy } = await import("../../compiler/util/npy.js");
    const { tmpDir } = await import("../helpers/build-onnx.js");
    const dir = tmpDir();
    const spec = tcn(2, 16, TCN, 91);
    const model = writeModel(spec);
    const pj = (...a: string[]) => spawnSync(process.execPath, ["dist/compiler/cli/main.js", ...a], { encoding: "utf8" });
    const out = join(dir, "tcn-stream");
    const c = pj("compile", model, "--stream", "--selftest", "-o", out, "-q");
    expect(c.status, c.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "model.json"), "utf8")).exports).toEqual(expect.arrayContaining(["step", "reset", "selftest"]));
    // a sequence longer than the exported window: streaming has no window
    const seq = randValue(rng(12), [1, 2, 50], -1, 1);
    const xf = join(dir, "seq.npy"), yf = join(dir, "y.npy");
    writeFileSync(xf, encodeNpy({ dtype: "float32", shape: seq.shape, data: seq.data as Float32Array }));
    const r = pj("run", out, "--stream", "--input", xf, "--output", yf);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/50 step\(s\) streamed/);
    const y = readNpy(yf);
    expect(y.shape).toEqual([50, 1, 1, 1]);
    // the same sequence through the full-window model compiled for 50 steps
    const full = await compileModel(writeModel({ ...spec, inputs: [{ name: "x", shape: [1, 2, 50] }] }));
    const want = interpret(full.graph, { x: seq })[full.graph.outputs[0]];
    expect(worstRatio(y.data as Float32Array, Float32Array.from(columns(want)), FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);
    // a plain run of a streaming module is refused clearly, and a wrong sequence shape too
    const bad1 = pj("run", out, "--input", xf);
    expect(bad1.status).toBe(2);
    expect(bad1.stderr).toMatch(/was compiled with --stream; pass --stream/);
    writeFileSync(xf, encodeNpy({ dtype: "float32", shape: [1, 3, 50], data: new Float32Array(150) }));
    const bad2 = pj("run", out, "--stream", "--input", xf);
    expect(bad2.status).toBe(2);
    expect(bad2.stderr).toMatch(/shape 1x3x50 is not a sequence of input 'x' \(1x2xT, time along axis 2\)/);
  });
});
