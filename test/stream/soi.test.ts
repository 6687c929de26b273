// SOI (--soi k, passes/soi.ts) on a causal 1-D U-Net-like stack: a shallow dilation-1 layer
// whose output skips ahead, a deep dilated path (dilations 2, 4), and an Add where the
// two meet. Checks, for hold, extrapolate and predict, float and int8:
// - the SOI module streamed step by step equals the full-window SOI graph: bit for bit in
//   int8 (wasm against the integer interpreter), within FLOAT_TOL in float; the streaming
//   reference equals the full-window reference exactly; selftest passes;
// - what SOI promises about the original model (float, exact): with hold and extrapolate
//   every output column at steps 0, k, 2k, ... equals the original model's (the deep path's
//   dilations were divided by k, so its taps land on the same steps); with predict the deep
//   contribution at step t is the original's deep column of an earlier step;
// - MACs per step: the deep path's layers count 1/k;
// - the layers it picks and the ones it refuses, by name.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { interpret } from "../../compiler/ir/interp.js";
import { type Value } from "../../compiler/ir/graph.js";
import { StepRunner } from "../../compiler/stream/interp.js";
import { framesOf } from "../../compiler/stream/selftest.js";
import type { UpsampleMode } from "../../compiler/ops/time-upsample.js";
import { writeModel, type ModelSpec, type NodeSpec } from "../helpers/build-onnx.js";
import { randValue, rng } from "../helpers/random.js";
import { worstRatio } from "../helpers/run.js";
import { FLOAT_TOL } from "../helpers/op-check.js";
import { columns, modelInput, streamWasm } from "../helpers/stream.js";

/**
 * x [1, cin, T] -> s = relu(conv k3 d1) -> a = relu(conv k3 d2) -> b = relu(conv k3 d4)
 * -> p = conv k1 -> m = relu(s + p) -> y = conv k1 (1 channel). Receptive field 15.
 */
function unet(cin: number, C: number, T: number, seed: number, dil = [1, 2, 4]): ModelSpec {
  const r = rng(seed);
  const nodes: NodeSpec[] = [];
  const inits: NonNullable<ModelSpec["initializers"]> = [];
  const conv = (name: string, x: string, ci: number, co: number, k: number, d: number, relu: boolean) => {
    inits.push({ name: `${name}.W`, shape: [co, ci, k], data: randValue(r, [co, ci, k], -0.6, 0.6).data });
    inits.push({ name: `${name}.B`, shape: [co], data: randValue(r, [co], -0.2, 0.2).data });
    nodes.push({ name, op: "Conv", inputs: [x, `${name}.W`, `${name}.B`], outputs: [relu ? `${name}.c` : name], attrs: { kernel_shape: [k], dilations: [d], pads: [(k - 1) * d, 0] } });
    if (relu) nodes.push({ name: `${name}.relu`, op: "Relu", inputs: [`${name}.c`], outputs: [name] });
    return name;
  };
  const s = conv("shallow", "x", cin, C, 3, dil[0], true);
  const a = conv("deep1", s, C, C, 3, dil[1], true);
  const b = conv("deep2", a, C, C, 3, dil[2], true);
  const p = conv("proj", b, C, C, 1, 1, false);
  nodes.push({ name: "merge", op: "Add", inputs: [s, p], outputs: ["m.c"] });
  nodes.push({ name: "merge.relu", op: "Relu", inputs: ["m.c"], outputs: ["m"] });
  conv("head", "m", C, 1, 1, 1, false);
  return { inputs: [{ name: "x", shape: [1, cin, T] }], outputs: ["head"], nodes, initializers: inits, opset: 13 };
}

const K = 2, T = 24, CIN = 2, C = 6;
let seed = 900;

async function check(mode: UpsampleMode, quant: boolean) {
  const s = ++seed;
  const file = writeModel(unet(CIN, C, T, s));
  const r = rng(s);
  const seq = randValue(r, [1, CIN, T], -1, 1);
  const calib = [0, 1, 2].map(() => ({ x: randValue(r, [1, CIN, T], -1, 1) }));
  const opts = { ...(quant ? { quantize: "int8" as const, calibrate: calib } : {}), soi: { k: K, mode } };
  const full = await compileModel(file, opts);
  const st = await compileModel(file, { ...opts, stream: true, selftest: true });
  expect(full.soi).toEqual({ k: K, mode, split: "deep1", deep: ["deep1", "deep2", "proj"], rejoins: ["proj"] });
  const ex = (await WebAssembly.instantiate(st.wasm)).instance.exports as Record<string, any>;
  expect(ex.selftest()).toBe(0);
  const x = modelInput(full.graph, seq);
  const want = columns(interpret(full.graph, { x })[full.graph.outputs[0]]);
  const frames = framesOf(x, 2);
  const runner = new StepRunner(st.stepGraph!);
  const refCols: number[] = [];
  frames.forEach((f) => refCols.push(...Array.from(runner.step(f).outputs[0].data)));
  expect(refCols).toEqual(want);
  const got = await streamWasm(st, frames);
  expect(got.firedSteps[0]).toEqual(frames.map((_, t) => t));
  if (quant) expect(got.outs[0]).toEqual(want);
  else expect(worstRatio(Float32Array.from(got.outs[0]), Float32Array.from(want), FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);
  // the full-window wasm of the SOI graph (TimeUpsample's whole-window kernel) agrees too
  const fx = (await WebAssembly.instantiate(full.wasm)).instance.exports as Record<string, any>;
  const bytes = quant ? new Uint8Array(new Int8Array(x.data).buffer) : new Uint8Array(new Float32Array(x.data).buffer);
  new Uint8Array(fx.memory.buffer, fx.input_ptr(0), bytes.length).set(bytes);
  fx.run();
  const y = quant ? new Int8Array(fx.memory.buffer, fx.output_ptr(0), T) : new Float32Array(fx.memory.buffer, fx.output_ptr(0), T);
  if (quant) expect(Array.from(y)).toEqual(want);
  else expect(worstRatio(y, Float32Array.from(want), FLOAT_TOL.atol, FLOAT_TOL.rtol)).toBeLessThanOrEqual(1);
  return { file, seq, full, st };
}

describe("SOI: the deep path runs every k-th step", () => {
  for (const mode of ["hold", "extrapolate", "predict"] as const) {
    it(`${mode}, float: streamed = full-window SOI graph`, () => check(mode, false));
    it(`${mode}, int8: streamed = full-window SOI graph bit for bit`, () => check(mode, true));
  }

  it("hold and extrapolate: output columns at steps 0, k, 2k, ... are the original model's exactly (float)", async () => {
    for (const mode of ["hold", "extrapolate"] as const) {
      const { file, seq, full } = await check(mode, false);
      const orig = await compileModel(file);
      const a = columns(interpret(orig.graph, { x: seq })[orig.graph.outputs[0]]);
      const b = columns(interpret(full.graph, { x: seq })[full.graph.outputs[0]]);
      let differ = 0;
      for (let t = 0; t < T; t++) {
        if (t % K === 0) expect(b[t]).toBe(a[t]);
        else if (b[t] !== a[t]) differ++;
      }
      expect(differ).toBeGreaterThan(0); // in between it is an approximation
    }
  });

  it("predict: the deep contribution at step t is the original deep column of step k*floor((t-1)/k), 0 at t = 0", async () => {
    const { file, seq, full } = await check("predict", false);
    const orig = await compileModel(file);
    const grab = (g: typeof orig.graph, name: string) => {
      let v: Value | undefined;
      interpret(g, { x: seq }, { observe: (n, val) => { if (n === name) v = val; } });
      return columns(v!);
    };
    const deepOrig = grab(orig.graph, "proj"), deepSoi = grab(full.graph, "proj");
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        const src = t === 0 ? 0 : deepOrig[K * Math.floor((t - 1) / K) * C + c];
        expect(deepSoi[t * C + c]).toBe(src);
      }
    }
  });

  it("predict: the deep path runs after the outputs, in idle() or at the next step(); the input frame keeps its own slot", async () => {
    const file = writeModel(unet(CIN, C, T, 47));
    const c = await compileModel(file, { stream: true, soi: { k: K, mode: "predict" } });
    expect(c.manifest.exports).toContain("idle");
    expect(c.stepGraph!.graph.nodes.filter((n) => n.attrs.deferred).map((n) => n.name)).toEqual(expect.arrayContaining(["deep1", "deep2", "proj"]));
    const st = c.manifest.stream!;
    expect(st.beforeOutputMacsPerStep).toBeLessThan(st.macsPerStep);
    const inSlot = c.plan.slots.get(c.stepGraph!.graph.inputs[0])!;
    expect(inSlot.last).toBe(c.stepGraph!.graph.nodes.length);
    const frames = framesOf(randValue(rng(5), [1, CIN, T], -1, 1), 2);
    const plain = await streamWasm(c, frames);
    // a host that calls idle() after reading each step's output gets the same outputs
    const ex = (await WebAssembly.instantiate(c.wasm)).instance.exports as Record<string, any>;
    ex.reset();
    const got: number[] = [];
    for (const f of frames) {
      new Float32Array(ex.memory.buffer, ex.input_ptr(0), CIN).set(f.data);
      expect(ex.step()).toBe(1);
      got.push(new Float32Array(ex.memory.buffer, ex.output_ptr(0), 1)[0]);
      ex.idle();
      ex.idle(); // nothing left to do
    }
    expect(got).toEqual(plain.outs[0]);
    // hold has no deferred work
    expect((await compileModel(file, { stream: true, soi: { k: K } })).manifest.exports).not.toContain("idle");
  });

  it("MACs per step: the deep path counts 1/k of its MACs", async () => {
    const file = writeModel(unet(CIN, C, T, 42));
    const stmc = await compileModel(file, { stream: true });
    const soi = await compileModel(file, { stream: true, soi: { k: K } });
    const per = (name: string) => stmc.manifest.layers.find((l) => l.name === name)!.macs;
    const deep = per("deep1") + per("deep2") + per("proj");
    expect(soi.manifest.stream!.macsPerStep).toBeCloseTo(stmc.manifest.stream!.macsPerStep - deep + deep / K, 9);
    expect(stmc.manifest.stream!.windowMacs).toBe(stmc.manifest.stream!.macsPerStep * T);
    expect(soi.manifest.layers.filter((l) => l.period === K).map((l) => l.name)).toEqual(expect.arrayContaining(["deep1", "deep2", "proj"]));
  });

  it("--soi-split names the first deep layer; refusals name the layer at fault", async () => {
    const file = writeModel(unet(CIN, C, T, 43));
    const later = await compileModel(file, { stream: true, soi: { k: K, split: "deep2" } });
    expect(later.soi!.deep).toEqual(["deep2", "proj"]);
    await expect(compileModel(file, { soi: { k: K, split: "shallow" } })).rejects.toThrow(/deep path from 'shallow' cannot run once every 2 steps: layer 'shallow' \(Conv\): dilation 1 is not a multiple of 2/);
    expect((await compileModel(file, { soi: { k: 4 } })).soi!.split).toBe("deep2"); // deep1's dilation 2 is no multiple of 4
    const chain = unet(CIN, C, T, 45);
    chain.nodes = chain.nodes.filter((n) => !n.name!.startsWith("merge"));
    chain.nodes.find((n) => n.name === "head")!.inputs[0] = "proj";
    await expect(compileModel(writeModel(chain), { soi: { k: K } })).rejects.toThrow(/--soi 2: no layer starts a deep path that rejoins the every-step layers before the output .*layer 'shallow' \(Conv\): dilation 1 is not a multiple of 2.*--soi-split/);
    await expect(compileModel(file, { soi: { k: K, split: "nope" } })).rejects.toThrow(/--soi-split 'nope': no layer of that name \(layers that can start the deep path: shallow, deep1, deep2, proj, head\)/);
    await expect(compileModel(file, { soi: { k: 1 } })).rejects.toThrow(/--soi 1: the factor must be a whole number of at least 2/);
    // the output itself in the deep path: only when asked for by name
    const held = await compileModel(file, { stream: true, soi: { k: K, split: "head" } });
    expect(held.soi!.rejoins).toEqual(["head"]);
  });

  it("refuses a model that does not stream, saying why", async () => {
    const spec = unet(CIN, C, T, 44);
    spec.nodes[0].attrs!.pads = [1, 1];
    await expect(compileModel(writeModel(spec), { soi: { k: K } })).rejects.toThrow(/--soi 2 needs a model that streams: .*layer 'shallow' \(Conv\): --stream needs causal layers/);
  });
});

describe("picojoule compile --soi", () => {
  it("compiles and streams from the CLI; bad flags exit 2 with one line", async () => {
    const { spawnSync } = await import("node:child_process");
    const { existsSync, readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { encodeNpy, readNpy } = await import("../../compiler/util/npy.js");
    const { tmpDir } = await import("../helpers/build-onnx.js");
    const dir = tmpDir();
    const model = writeModel(unet(CIN, C, T, 46));
    const pj = (...a: string[]) => spawnSync(process.execPath, ["dist/compiler/cli/main.js", ...a], { encoding: "utf8" });
    const out = join(dir, "soi-cli");
    const c = pj("compile", model, "--stream", "--soi", "2", "--soi-mode", "extrapolate", "--selftest", "-o", out, "-q");
    expect(c.status, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/SOI: every 2 steps \(extrapolate\) from 'deep1': 3 deep layer\(s\), rejoining at proj/);
    const m = JSON.parse(readFileSync(join(out, "model.json"), "utf8"));
    expect(m.soi).toMatchObject({ k: 2, mode: "extrapolate", split: "deep1" });
    const seq = randValue(rng(13), [1, CIN, 30], -1, 1);
    const xf = join(dir, "soi-seq.npy"), yf = join(dir, "soi-y.npy");
    writeFileSync(xf, encodeNpy({ dtype: "float32", shape: seq.shape, data: seq.data as Float32Array }));
    const r = pj("run", out, "--stream", "--input", xf, "--output", yf);
    expect(r.status, r.stderr).toBe(0);
    expect(readNpy(yf).shape).toEqual([30, 1, 1, 1]);
    for (const [args, msg] of [
      [["--soi", "two"], /--soi two: expected a whole number of steps/],
      [["--soi-mode", "hold"], /--soi-mode and --soi-split go with --soi <k>/],
      [["--soi", "2", "--soi-mode", "cubic"], /--soi-mode cubic: expected hold, extrapolate, predict/],
      [["--soi", "2", "--soi-split", "shallow"], /layer 'shallow' \(Conv\): dilation 1 is not a multiple of 2/],
    ] as const) {
      const bad = pj("compile", model, ...args, "-o", join(dir, "soi-bad"), "-q");
      expect(bad.status, bad.stderr).toBe(2);
      expect(bad.stderr.trim().split("\n")).toHaveLength(1);
      expect(bad.stderr).toMatch(msg);
      expect(existsSync(join(dir, "soi-bad"))).toBe(false);
    }
  });
});
