// Delta LSTM (--delta, compiler/passes/delta.ts, ops/lstm-delta.ts, kernels/lstm-delta.ts):
// the x-threshold semantics against an independent oracle (a plain LSTM fed the held input
// x^, computed here), thresholds beyond every change against a plain LSTM with W = R = 0;
// theta = 0 equals the plain LSTM (Q4.4 / Q8.8 bit for bit, float within rounding); the
// wasm kernels bit-exact with the integer interpreter on random cells (batches, layout 1,
// bias or not, initial states, output subsets, Q4.4 and Q8.8) and on the sunspots model;
// the float kernel within a float tolerance of the reference; the skipped fraction grows
// with theta; the cost formula is an upper bound the checks treat as one, and exact at the
// interpreter's propagated column counts; the int8 delta LSTM (bit-exact wasm, theta = 0 on
// the plain model's integer graph equals its int8 definition, exact cost); the float delta
// GRU (theta = 0 against the plain GRU, the held-input oracle, kernel vs reference, exact
// cost); and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel, importAndLower, type CompileOptions, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { qFmt, qFromReal, qStorage, type QFmt } from "../../compiler/ir/fixedpoint.js";
import { applyDelta, parseDeltaSpec } from "../../compiler/passes/delta.js";
import { deltaStats } from "../../compiler/ops/lstm-delta.js";
import { gruDeltaCost, lstmDeltaCost, lstmDeltaS8Cost } from "../../compiler/cost/recurrent.js";
import { Args, STEADY } from "../../compiler/cost/types.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { readNpy } from "../../compiler/util/npy.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";
import { build, type Case } from "../helpers/recurrent-model.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { bytesRead, bytesWritten, multiplies } from "../../targets/profile/instrument.js";

interface Cell {
  T: number; B: number; I: number; H: number;
  layout?: 1; bias?: boolean; init?: boolean; outs?: string[];
  /** W and R values (else random in [-0.6, 0.6]). */
  zero?: boolean;
}

function lstmSpec(c: Cell, seed: number): ModelSpec {
  const r = rng(seed);
  const { T, B, I, H } = c;
  const ss = c.layout ? [B, 1, H] : [1, B, H];
  const wv = (n: number) => (c.zero ? new Float32Array(n) : uniform(r, n, -0.6, 0.6));
  const spec: ModelSpec = {
    inputs: [{ name: "X", shape: c.layout ? [B, T, I] : [T, B, I] }], outputs: [],
    initializers: [{ name: "W", shape: [1, 4 * H, I], data: wv(4 * H * I) }, { name: "R", shape: [1, 4 * H, H], data: wv(4 * H * H) }],
    nodes: [], opset: c.layout ? 14 : 13,
  };
  const ins = ["X", "W", "R", "", "", "", ""];
  if (c.bias) { spec.initializers!.push({ name: "B", shape: [1, 8 * H], data: uniform(r, 8 * H, -0.5, 0.5) }); ins[3] = "B"; }
  if (c.init) {
    spec.initializers!.push({ name: "h0", shape: ss, data: uniform(r, B * H, -0.9, 0.9) }, { name: "c0", shape: ss, data: uniform(r, B * H, -2, 2) });
    ins[5] = "h0"; ins[6] = "c0";
  }
  while (ins[ins.length - 1] === "") ins.pop();
  const outs = c.outs ?? ["Y", "Y_h", "Y_c"];
  spec.nodes.push({ op: "LSTM", name: "lstm", inputs: ins, outputs: outs, attrs: { hidden_size: H, ...(c.layout ? { layout: 1 } : {}) } });
  spec.outputs = outs.filter((o) => o);
  return spec;
}

/** A smooth random walk in [-lim, lim] (so that small thresholds skip some changes). */
function walk(r: () => number, shape: number[], step: number, lim = 1.5): Value {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = makeValue("float32", shape);
  let x = 0;
  for (let i = 0; i < n; i++) { x = Math.max(-lim, Math.min(lim, x + (r() * 2 - 1) * step)); v.data[i] = x; }
  return v;
}

/** The module's raw input for a float feed, as runner.ts converts it (int8: round, int16: trunc). */
function rawInput(c: Compiled, x: Value): Value {
  const io = c.manifest.inputs[0];
  if (io.dtype === "int8") return makeValue("int8", x.shape, Array.from(x.data, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)));
  if (io.dtype === "int16") return makeValue("int16", x.shape, Array.from(x.data, (v) => qFromReal(v, qFmt(...(c.manifest.mode.slice(1).split(".").map(Number) as [number, number])))));
  return x;
}

async function wasmVsInterp(c: Compiled, feeds: Value[], exact: boolean) {
  const m = await instantiate(c.wasm, c.manifest);
  const name = c.graph.inputs[0];
  for (const x of feeds) {
    const raw = rawInput(c, x);
    const got = runRaw(m, [raw]);
    const ref = interpret(c.graph, { [name]: raw });
    c.graph.outputs.forEach((n, i) => {
      if (exact) expect(Array.from(got[i].data), `wasm vs integer interpreter, ${n}`).toEqual(Array.from(ref[n].data));
      else for (let k = 0; k < got[i].data.length; k++) {
        // f32 running sums M (kernel) against f64 (reference) over <= 24 steps: a few ulp per
        // step on values of magnitude <= a few units; 1e-4 leaves room for that, not for a wrong column
        expect(Math.abs(got[i].data[k] - ref[n].data[k]), `${n}[${k}]`).toBeLessThan(1e-4);
      }
    });
  }
}

const Q = (s: string): QFmt => qFmt(...(s.slice(1).split(".").map(Number) as [number, number]));

describe("delta LSTM semantics", () => {
  it("theta_x only: equals the plain LSTM fed the held input x^ (oracle computed here), Q4.4 and Q8.8", async () => {
    const cell: Cell = { T: 16, B: 2, I: 3, H: 5, bias: true, init: true };
    const file = writeModel(lstmSpec(cell, 3));
    for (const fixed of ["Q4.4", "Q8.8"]) {
      const F = Q(fixed);
      const theta = 0.2, tq = Math.ceil(theta * 2 ** F.f);
      const plain = await compileModel(file, { fixed });
      const delta = await compileModel(file, { fixed, delta: ["x=0.2"] });
      const r = rng(7);
      for (let n = 0; n < 3; n++) {
        const x = walk(r, [16, 2, 3], 0.15);
        const q = makeValue(qStorage(F), x.shape, Array.from(x.data, (v) => qFromReal(v, F)));
        // hold: per batch entry and input, keep the last propagated grid value (starting at 0)
        const held = makeValue(q.dtype, q.shape);
        for (let b = 0; b < 2; b++) for (let k = 0; k < 3; k++) {
          let last = 0;
          for (let t = 0; t < 16; t++) {
            const i = (t * 2 + b) * 3 + k, v = q.data[i];
            if (Math.abs(v - last) >= tq) last = v;
            held.data[i] = last;
          }
        }
        expect(Array.from(held.data)).not.toEqual(Array.from(q.data)); // the threshold does hold some steps
        const want = interpret(plain.graph, { X: held });
        const got = interpret(delta.graph, { X: q });
        for (const o of ["Y", "Y_h", "Y_c"]) expect(Array.from(got[o].data), `${fixed} ${o}`).toEqual(Array.from(want[o].data));
      }
    }
  });

  it("thresholds beyond every change: the gates see only the bias (a plain LSTM with W = R = 0)", async () => {
    const cell: Cell = { T: 6, B: 1, I: 2, H: 3, bias: true };
    const spec = lstmSpec(cell, 5);
    const zero = lstmSpec({ ...cell, zero: true }, 5); // same seed: same bias after the zeroed W, R
    zero.initializers!.find((i) => i.name === "B")!.data = spec.initializers!.find((i) => i.name === "B")!.data;
    const x = walk(rng(2), [6, 1, 2], 0.5);
    for (const opts of [{ fixed: "Q4.4" }, { fixed: "Q8.8" }, {}] as CompileOptions[]) {
      const d = await compileModel(writeModel(spec), { ...opts, delta: "100" });
      const p = await compileModel(writeModel(zero), opts);
      const raw = rawInput(d, x);
      const got = interpret(d.graph, { X: raw }), want = interpret(p.graph, { X: raw });
      expect(Array.from(got.Y.data)).toEqual(Array.from(want.Y.data));
      const s = deltaStats(d.graph.nodes.find((n) => n.op === "LSTM")!)!;
      expect(s.xProp + s.hProp).toBe(0);
    }
  });

  it("theta = 0 is the plain LSTM: Q4.4 / Q8.8 bit for bit (interpreter and wasm), float within rounding", async () => {
    const cell: Cell = { T: 12, B: 2, I: 3, H: 6, bias: true, init: true, layout: 1 };
    const file = writeModel(lstmSpec(cell, 11));
    const r = rng(4);
    const xs = [randValue(r, [2, 12, 3]), walk(r, [2, 12, 3], 0.3)];
    for (const opts of [{ fixed: "Q4.4" }, { fixed: "Q8.8" }, {}] as CompileOptions[]) {
      const plain = await compileModel(file, opts);
      const delta = await compileModel(file, { ...opts, delta: "0" });
      const mp = await instantiate(plain.wasm, plain.manifest), md = await instantiate(delta.wasm, delta.manifest);
      for (const x of xs) {
        const raw = rawInput(delta, x);
        const a = runRaw(mp, [raw]), b = runRaw(md, [raw]);
        const ia = interpret(plain.graph, { X: raw }), ib = interpret(delta.graph, { X: raw });
        for (let i = 0; i < 3; i++) {
          const o = plain.graph.outputs[i];
          if (opts.fixed) {
            expect(Array.from(b[i].data), `wasm ${o}`).toEqual(Array.from(a[i].data));
            expect(Array.from(ib[o].data), `interp ${o}`).toEqual(Array.from(ia[o].data));
          } else {
            // running f64 sums vs direct f64 dot products: rounding only
            for (let k = 0; k < a[i].data.length; k++) expect(Math.abs(ib[o].data[k] - ia[o].data[k])).toBeLessThan(1e-6);
            // f32 kernels, both against each other: as the float selftest tolerance
            for (let k = 0; k < a[i].data.length; k++) expect(Math.abs(b[i].data[k] - a[i].data[k])).toBeLessThan(1e-4);
          }
        }
      }
    }
  });
});

describe("delta LSTM kernels", () => {
  const cells: Array<[string, Cell]> = [
    ["I 1, H 20, T 12 (forecasting shape)", { T: 12, B: 1, I: 1, H: 20, bias: true }],
    ["batch 3, layout 1, initial states", { T: 9, B: 3, I: 4, H: 7, bias: true, init: true, layout: 1 }],
    ["no bias, only Y_h", { T: 10, B: 2, I: 5, H: 4, outs: ["", "Y_h"] }],
    ["only Y and Y_c", { T: 7, B: 2, I: 2, H: 9, bias: true, outs: ["Y", "", "Y_c"], init: true }],
  ];
  for (const [name, cell] of cells)
    for (const fixed of ["Q4.4", "Q8.8", undefined])
      it(`${fixed ?? "float"}: wasm equals the interpreter, ${name}`, async () => {
        const file = writeModel(lstmSpec(cell, name.length));
        const r = rng(name.length + 1);
        const shape = cell.layout ? [cell.B, cell.T, cell.I] : [cell.T, cell.B, cell.I];
        for (const delta of ["0", "0.1", "x=0.3,h=0.05", "h=0.4"]) {
          const c = await compileModel(file, { fixed, delta, selftest: true });
          const m = await instantiate(c.wasm, c.manifest);
          expect((m.instance.exports.selftest as () => number)()).toBe(0);
          await wasmVsInterp(c, [walk(r, shape, 0.2), randValue(r, shape, -3, 3), walk(r, shape, 0.05)], fixed !== undefined);
        }
      });
});

const SUN = "examples/sunspots-lstm";
const xTest = () => {
  const a = readNpy(`${SUN}/x_test.npy`);
  const n = a.shape[0], per = a.shape[1] * a.shape[2];
  return Array.from({ length: n }, (_, i) => makeValue("float32", [1, a.shape[1], a.shape[2]], (a.data as Float32Array).subarray(i * per, (i + 1) * per)));
};

describe("delta LSTM on the sunspots model", () => {
  it("wasm bit-exact with the interpreter (Q4.4, Q8.8) and within float rounding (float), every test window", async () => {
    const xs = xTest();
    for (const fixed of ["Q4.4", "Q8.8", undefined])
      for (const delta of ["0.05", "x=0.1,h=0.02"]) {
        const c = await compileModel(`${SUN}/model.onnx`, { fixed, delta });
        await wasmVsInterp(c, fixed ? xs : xs.slice(0, 20), fixed !== undefined);
      }
  });

  it("the skipped fraction grows with theta; the dynamic multiplies are the formula at the counted columns", async () => {
    const x = xTest()[40];
    let prev = -1;
    const fracs: number[] = [];
    for (const theta of [0, 0.02, 0.05, 0.1, 0.3]) {
      const c = await compileModel(`${SUN}/model.onnx`, { fixed: "Q8.8", delta: String(theta) });
      const lstm = c.graph.nodes.find((n) => n.op === "LSTM")!;
      interpret(c.graph, { [c.graph.inputs[0]]: rawInput(c, x) });
      const s = deltaStats(lstm)!;
      expect(s.xCols).toBe(24);
      expect(s.hCols).toBe(24 * 20);
      const skipped = 1 - (s.xProp + s.hProp) / (s.xCols + s.hCols);
      fracs.push(skipped);
      expect(skipped).toBeGreaterThanOrEqual(prev);
      prev = skipped;
      // exact cost at the interpreter's counts: the module really skips those columns
      const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [x.data as Float32Array] });
      const li = c.manifest.layers.findIndex((l) => l.kernels.some((k) => k.kernel.startsWith("lstm_delta")));
      const k = c.manifest.layers[li].kernels[0];
      const exact = lstmDeltaCost(new Args(k.kernel, k.args, STEADY), { x: s.xProp, h: s.hProp });
      expect(multiplies(p.layers[li])).toBe(exact.muls);
      expect(bytesRead(p.layers[li])).toBe(exact.loadBytes);
      expect(bytesWritten(p.layers[li])).toBe(exact.storeBytes);
      const checks = await analyticVsDynamic(c, { inputs: [x.data as Float32Array] });
      expect(checks[li].bound).toBe(true);
      expect(mismatches(checks)).toEqual([]); // the upper bound holds
      if (theta > 0) expect(checks[li].dynamic.muls).toBeLessThan(checks[li].analytic!.muls);
    }
    expect(fracs[fracs.length - 1]).toBeGreaterThan(fracs[1] + 0.2);
    console.log(`sunspots Q8.8, window 40: skipped fraction at theta 0, 0.02, 0.05, 0.1, 0.3: ${fracs.map((f) => f.toFixed(3)).join(", ")}`);
  });

  it("the formula at the counted columns is exact for every kernel and operand combination (Q4.4, Q8.8, float)", async () => {
    const shapes: Cell[] = [
      { T: 9, B: 3, I: 4, H: 7, bias: true, init: true, layout: 1 },
      { T: 7, B: 2, I: 2, H: 9, outs: ["Y", "", "Y_c"] },
    ];
    for (const [ci, cell] of shapes.entries()) {
      const file = writeModel(lstmSpec(cell, 30 + ci));
      const x = walk(rng(ci), cell.layout ? [cell.B, cell.T, cell.I] : [cell.T, cell.B, cell.I], 0.2);
      for (const fixed of ["Q4.4", "Q8.8", undefined]) {
        const c = await compileModel(file, { fixed, delta: "x=0.1,h=0.05" });
        interpret(c.graph, { X: rawInput(c, x) });
        const s = deltaStats(c.graph.nodes.find((n) => n.op === "LSTM")!)!;
        expect(s.xProp).toBeLessThan(s.xCols);
        const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [x.data as Float32Array] });
        const li = c.manifest.layers.findIndex((l) => l.kernels.some((k) => k.kernel.startsWith("lstm_delta")));
        const k = c.manifest.layers[li].kernels[0];
        const exact = lstmDeltaCost(new Args(k.kernel, k.args, STEADY), { x: s.xProp, h: s.hProp });
        const dyn = { muls: multiplies(p.layers[li]), loadBytes: bytesRead(p.layers[li]), storeBytes: bytesWritten(p.layers[li]) };
        expect(dyn, `${k.kernel}, cell ${ci}`).toEqual(exact);
      }
    }
  });

  it("an upper-bound layer that exceeds its formula is reported", () => {
    const dyn = { muls: 11, loadBytes: 1, storeBytes: 1 };
    const check = { layer: "l", op: "LSTM", kernels: "lstm_delta_q8", analytic: { muls: 10, loadBytes: 1, storeBytes: 1 }, dynamic: dyn, bound: true };
    expect(mismatches([check])).toHaveLength(1);
    expect(mismatches([{ ...check, dynamic: { ...dyn, muls: 9 } }])).toEqual([]);
    expect(mismatches([{ ...check, bound: undefined, dynamic: { ...dyn, muls: 9 } }])).toHaveLength(1);
  });
});

describe("delta LSTM, int8", () => {
  const calibOf = (shape: number[], seed: number) => {
    const r = rng(seed);
    return Array.from({ length: 24 }, (_, i) => ({ X: i % 2 ? walk(r, shape, 0.2) : randValue(r, shape, -1.5, 1.5) }));
  };
  const cells: Array<[string, Cell]> = [
    ["I 1, H 20, T 12", { T: 12, B: 1, I: 1, H: 20, bias: true }],
    ["batch 3, layout 1, initial states", { T: 9, B: 3, I: 4, H: 7, bias: true, init: true, layout: 1 }],
    ["no bias, only Y_h", { T: 10, B: 2, I: 5, H: 4, outs: ["", "Y_h"] }],
    ["only Y and Y_c", { T: 7, B: 2, I: 2, H: 9, bias: true, outs: ["Y", "", "Y_c"], init: true }],
  ];
  for (const [name, cell] of cells)
    it(`wasm equals the interpreter; theta = 0 is the int8 LSTM's integer definition; exact cost at the counts: ${name}`, async () => {
      const file = writeModel(lstmSpec(cell, name.length + 50));
      const shape = cell.layout ? [cell.B, cell.T, cell.I] : [cell.T, cell.B, cell.I];
      const calibrate = calibOf(shape, name.length);
      const r = rng(name.length + 2);
      const xs = [walk(r, shape, 0.2), randValue(r, shape, -3, 3), walk(r, shape, 0.05)];
      const plain = await compileModel(file, { quantize: "int8", calibrate });
      for (const delta of ["0", "0.1", "x=0.3,h=0.05"]) {
        const c = await compileModel(file, { quantize: "int8", calibrate, delta, selftest: true });
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await wasmVsInterp(c, xs, true);
        const lstm = c.graph.nodes.find((n) => n.op === "LSTM")!;
        const raw = rawInput(c, xs[0]);
        interpret(c.graph, { X: raw });
        const s = deltaStats(lstm)!;
        const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [xs[0].data as Float32Array] });
        const li = c.manifest.layers.findIndex((l) => l.kernels.some((k) => k.kernel === "lstm_delta_s8"));
        const k = c.manifest.layers[li].kernels[0];
        const dyn = { muls: multiplies(p.layers[li]), loadBytes: bytesRead(p.layers[li]), storeBytes: bytesWritten(p.layers[li]) };
        expect(dyn).toEqual(lstmDeltaS8Cost(new Args(k.kernel, k.args, STEADY, c.manifest.layers.flatMap((l) => l.kernels).filter((x) => x.kernel === k.kernel).map((x) => x.args)), { x: s.xProp, h: s.hProp }));
        if (delta !== "0") continue;
        // theta 0 on the plain model's own integer graph: the delta definition equals the int8 LSTM bit for bit
        const pl = plain.graph.nodes.find((n) => n.op === "LSTM")!;
        const want = interpret(plain.graph, { X: rawInput(plain, xs[1]) });
        pl.attrs.delta = { x: 0, h: 0 };
        (pl.q as unknown as { delta: unknown }).delta = { tx: 1, th: 1 };
        const got = interpret(plain.graph, { X: rawInput(plain, xs[1]) });
        expect(deltaStats(pl)!.hCols).toBeGreaterThan(0); // the delta definition did run
        for (const o of plain.graph.outputs) expect(Array.from(got[o].data), o).toEqual(Array.from(want[o].data));
        delete pl.attrs.delta;
      }
    });

  it("sunspots: wasm bit-exact with the interpreter on every test window", async () => {
    for (const delta of ["0.05", "x=0.1,h=0.02"]) {
      const c = await compileModel(`${SUN}/model.onnx`, { quantize: "int8", calibrate: `${SUN}/calib.npy`, delta });
      await wasmVsInterp(c, xTest(), true);
    }
  });
});

describe("delta GRU (float, linear_before_reset = 1)", () => {
  const cases: Array<[string, Case]> = [
    ["I 1, H 8, T 12", { T: 12, B: 1, I: 1, H: 8, bias: true }],
    ["batch 2, layout 1, initial h", { T: 9, B: 2, I: 3, H: 5, bias: true, h0: true, layout: 1 }],
    ["no bias, only Y_h", { T: 7, B: 2, I: 4, H: 6, outs: [false, true] }],
  ];
  for (const [name, cs] of cases)
    it(`theta = 0 is the plain GRU; wasm within float rounding of the reference; exact cost at the counts: ${name}`, async () => {
      const { spec } = build("GRU", { ...cs, attrs: { linear_before_reset: 1 } }, name.length);
      const file = writeModel(spec);
      const r = rng(name.length);
      const shape = cs.layout ? [cs.B, cs.T, cs.I] : [cs.T, cs.B, cs.I];
      const xs = [walk(r, shape, 0.2), randValue(r, shape, -3, 3)];
      const plain = await compileModel(file);
      const zero = await compileModel(file, { delta: "0" });
      const mp = await instantiate(plain.wasm, plain.manifest), mz = await instantiate(zero.wasm, zero.manifest);
      for (const x of xs) {
        const a = runRaw(mp, [x]), b = runRaw(mz, [x]);
        const ia = interpret(plain.graph, { X: x }), ib = interpret(zero.graph, { X: x });
        plain.graph.outputs.forEach((o, i) => {
          // running f64 sums vs direct dot products (reference), f32 kernels against each other
          for (let k = 0; k < a[i].data.length; k++) expect(Math.abs(ib[o].data[k] - ia[o].data[k])).toBeLessThan(1e-6);
          for (let k = 0; k < a[i].data.length; k++) expect(Math.abs(b[i].data[k] - a[i].data[k])).toBeLessThan(1e-4);
        });
      }
      for (const delta of ["0.1", "x=0.3,h=0.05"]) {
        const c = await compileModel(file, { delta, selftest: true });
        const m = await instantiate(c.wasm, c.manifest);
        expect((m.instance.exports.selftest as () => number)()).toBe(0);
        await wasmVsInterp(c, xs, false);
        interpret(c.graph, { X: xs[0] });
        const s = deltaStats(c.graph.nodes.find((n) => n.op === "GRU")!)!;
        expect(s.xProp + s.hProp).toBeLessThan(s.xCols + s.hCols);
        const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [xs[0].data as Float32Array] });
        const li = c.manifest.layers.findIndex((l) => l.kernels.some((k) => k.kernel === "gru_delta_f32"));
        const k = c.manifest.layers[li].kernels[0];
        const dyn = { muls: multiplies(p.layers[li]), loadBytes: bytesRead(p.layers[li]), storeBytes: bytesWritten(p.layers[li]) };
        expect(dyn).toEqual(gruDeltaCost(new Args(k.kernel, k.args, STEADY), { x: s.xProp, h: s.hProp }));
        expect(mismatches(await analyticVsDynamic(c, { inputs: [xs[0].data as Float32Array] }))).toEqual([]);
      }
    });

  it("theta_x only: equals the plain GRU fed the held input x^ (within float rounding)", async () => {
    const { spec } = build("GRU", { T: 14, B: 1, I: 2, H: 4, bias: true, attrs: { linear_before_reset: 1 } }, 9);
    const file = writeModel(spec);
    const plain = await compileModel(file), delta = await compileModel(file, { delta: "x=0.2" });
    const x = walk(rng(3), [14, 1, 2], 0.15);
    const held = makeValue("float32", x.shape);
    for (let k = 0; k < 2; k++) {
      let last = 0;
      for (let t = 0; t < 14; t++) {
        const v = x.data[t * 2 + k];
        if (Math.abs(Math.fround(v - last)) >= Math.fround(0.2)) last = v;
        held.data[t * 2 + k] = last;
      }
    }
    expect(Array.from(held.data)).not.toEqual(Array.from(x.data));
    const want = interpret(plain.graph, { X: held }), got = interpret(delta.graph, { X: x });
    // running f64 sums vs direct dot products: rounding only
    for (let k = 0; k < want.Y.data.length; k++) expect(Math.abs(got.Y.data[k] - want.Y.data[k])).toBeLessThan(1e-6);
  });

  it("refusals: linear_before_reset = 0, Q format", async () => {
    const { spec } = build("GRU", { T: 4, B: 1, I: 2, H: 3 }, 1);
    await expect(compileModel(writeModel(spec), { delta: "0.1" })).rejects.toThrow(/linear_before_reset = 0/);
    const lbr = build("GRU", { T: 4, B: 1, I: 2, H: 3, attrs: { linear_before_reset: 1 } }, 1).spec;
    await expect(compileModel(writeModel(lbr), { delta: "0.1", fixed: "Q4.4" })).rejects.toThrow(/GRU has no Q4.4 form/);
  });
});

describe("delta LSTM refusals", () => {
  const lstm = writeModel(lstmSpec({ T: 4, B: 1, I: 2, H: 3 }, 1));
  const gemm: ModelSpec = {
    inputs: [{ name: "x", shape: [1, 4] }], outputs: ["y"],
    initializers: [{ name: "W", shape: [3, 4], data: uniform(rng(1), 12) }],
    nodes: [{ op: "Gemm", name: "fc", inputs: ["x", "W"], outputs: ["y"], attrs: { transB: 1 } }],
  };
  it("thresholds: negative, NaN, empty, unknown keys", () => {
    expect(() => parseDeltaSpec("-0.1")).toThrow(/finite number >= 0/);
    expect(() => parseDeltaSpec("NaN")).toThrow(/finite number >= 0/);
    expect(() => parseDeltaSpec("x=0.1,h=")).toThrow(/finite number >= 0/);
    expect(() => parseDeltaSpec("y=0.1")).toThrow(/neither x=<theta> nor h=<theta>/);
    expect(() => parseDeltaSpec("x=0.1,x=0.2")).toThrow(/given twice/);
    expect(parseDeltaSpec("lstm:x=0.1")).toEqual(["lstm", { x: 0.1, h: 0 }]);
    expect(parseDeltaSpec("0.25")).toEqual(["*", { x: 0.25, h: 0.25 }]);
  });
  it("layers: not an LSTM, no such layer, no LSTM in the model, unsupported LSTM features", async () => {
    await expect(compileModel(writeModel(gemm), { delta: "0.1" })).rejects.toThrow(/has no LSTM or GRU layer/);
    await expect(compileModel(writeModel(gemm), { delta: "fc:0.1" })).rejects.toThrow(/is a Gemm, not an LSTM or GRU/);
    await expect(compileModel(lstm, { delta: "nope:0.1" })).rejects.toThrow(/no layer 'nope'.*LSTM \/ GRU layers: 'lstm'/);
    const bi = lstmSpec({ T: 4, B: 1, I: 2, H: 3 }, 1);
    bi.initializers = bi.initializers!.map((i) => ({ ...i, shape: [2, ...i.shape.slice(1)], data: Float32Array.from([...i.data, ...i.data]) }));
    bi.nodes[0].attrs = { ...bi.nodes[0].attrs, direction: "bidirectional" };
    await expect(compileModel(writeModel(bi), { delta: "0.1" })).rejects.toThrow(/direction bidirectional/);
  });
  it("arithmetic and modes: int8 GRU, --stream", async () => {
    const gru = build("GRU", { T: 4, B: 1, I: 2, H: 3, attrs: { linear_before_reset: 1 } }, 1).spec;
    const calib = [{ X: randValue(rng(1), [4, 1, 2]) }];
    await expect(compileModel(writeModel(gru), { delta: "0.1", quantize: "int8", calibrate: calib })).rejects.toThrow(/delta GRU has no int8 kernel/);
    await expect(compileModel(lstm, { delta: "0.1", stream: true })).rejects.toThrow(/--stream is not supported/);
    const g = importAndLower(lstm);
    expect(applyDelta(g, ["0.1", "lstm:x=0.2"])).toEqual(["lstm"]);
    expect(g.nodes.find((n) => n.op === "LSTM")!.attrs.delta).toEqual({ x: 0.2, h: 0 });
  });
});
