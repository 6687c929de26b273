// The RRAM crossbar simulator (targets/sim/rram.ts) and its sweep (targets/sim/rram-sweep.ts):
// - ideal settings (no variation, stuck devices or wire resistance; quantization off) equal
//   the float result within 1e-5, metric max |y_sim - y_float| / max |y_float| over the
//   outputs compared: on random multi-tile matrices with signed inputs, on every crossbar
//   layer of digits-cnn and cancer-mlp against the op's float reference, and end to end;
// - the quantization error of weights, DACs and ADCs shrinks as their bits grow;
// - a stuck device changes exactly its own output column, by the expected amount (ideal, and
//   quantized with variation and wires; the ADC range is then the worst case, since a
//   calibrated range can move with a fault and with it every column of the tile);
// - the compensation reduces the error of a matrix with stuck devices (pair re-targeting
//   against none, redistribution against pair alone, on held-out correlated inputs), is
//   exact where it should be, and does nothing without stuck devices;
// - read, DAC and ADC energy and the latency follow the formulas in tile count and phases;
// - bad parameters throw one-line errors naming the parameter;
// - the default parameters file gives every entry a source;
// - the sweep on a subset of digits-cnn reports, at 8 ADC bits and no stuck devices, an
//   accuracy within one point of the float accuracy, which is recomputed here with the
//   reference interpreter.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { CrossbarLayer, Calibration, idealParams, loadRramParams, validateParams, adcEnergy, adcTime, type RramParams } from "../../targets/sim/rram.js";
import { calibrateNodes, crossbarNodes, evaluate, rramSweep, runOnCrossbar } from "../../targets/sim/rram-sweep.js";
import { importAndLower } from "../../compiler/pipeline.js";
import { interpret } from "../../compiler/ir/interp.js";
import { opDef } from "../../compiler/ops/table.js";
import { samplesFromNpy } from "../../compiler/io.js";
import { readNpy } from "../../compiler/util/npy.js";
import { rng } from "../helpers/random.js";

const BASE = loadRramParams();
const IDEAL = idealParams(BASE);

function randMatrix(r: () => number, N: number, K: number): Float64Array {
  return Float64Array.from({ length: N * K }, () => 2 * r() - 1);
}
/** Smooth, correlated inputs: a random walk per vector, offset and clipped to [-1, 1]. */
function walks(r: () => number, count: number, K: number, signed = true): Float64Array {
  const x = new Float64Array(count * K);
  for (let s = 0; s < count; s++) {
    let v = signed ? 2 * r() - 1 : r();
    for (let k = 0; k < K; k++) { v += 0.15 * (2 * r() - 1); v = Math.max(signed ? -1 : 0, Math.min(1, v)); x[s * K + k] = v; }
  }
  return x;
}
function matvec(W: ArrayLike<number>, N: number, K: number, x: ArrayLike<number>, xo = 0, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(N);
  for (let n = 0; n < N; n++) { let s = bias ? bias[n] : 0; for (let k = 0; k < K; k++) s += W[n * K + k] * x[xo + k]; y[n] = s; }
  return y;
}
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return d / (m || 1);
}
function rmse(layer: CrossbarLayer, W: Float64Array, N: number, K: number, xs: Float64Array, bias?: Float64Array): number {
  const count = xs.length / K, y = layer.runMany(xs, count);
  let s = 0;
  for (let c = 0; c < count; c++) { const ref = matvec(W, N, K, xs, c * K, bias); for (let n = 0; n < N; n++) s += (y[c * N + n] - ref[n]) ** 2; }
  return Math.sqrt(s / (count * N));
}

describe("ideal settings equal float", () => {
  it("on random matrices (one and many tiles, signed inputs, bias)", () => {
    const r = rng(7);
    for (const [N, K, rows, cols] of [[10, 20, 128, 64], [70, 300, 64, 32], [5, 129, 128, 4], [33, 64, 16, 16]]) {
      const W = randMatrix(r, N, K), bias = Float64Array.from({ length: N }, () => r() - 0.5), xs = walks(r, 20, K);
      const layer = new CrossbarLayer(W, N, K, { ...IDEAL, rows, cols }, { calib: new Calibration(xs, K), bias });
      expect(layer.tilesR * layer.tilesC).toBe(Math.ceil(K / rows) * Math.ceil(N / cols));
      for (let s = 0; s < 20; s++) expect(relErr(layer.run(xs.subarray(s * K, (s + 1) * K)), matvec(W, N, K, xs, s * K, bias))).toBeLessThan(1e-5);
    }
  });

  for (const ex of ["digits-cnn", "cancer-mlp"]) {
    it(`on every crossbar layer of ${ex} and end to end`, () => {
      const dir = `examples/${ex}`, g = importAndLower(`${dir}/model.onnx`);
      const xns = crossbarNodes(g);
      expect(xns.length).toBe(ex === "digits-cnn" ? 6 : 3);
      const calib = calibrateNodes(g, xns, samplesFromNpy(g, readNpy(`${dir}/calib.npy`), "calib", "calib").slice(0, 20));
      const layers = new Map(xns.map((x) => [x.index, new CrossbarLayer(x.W, x.N, x.K, IDEAL, { calib: calib.get(x.index), bias: x.bias })]));
      const tests = samplesFromNpy(g, readNpy(`${dir}/x_test.npy`), "x_test", "test").slice(0, 10);
      let worst = 0;
      for (const f of tests) {
        const y = evaluate(g, f, (node, i, ins) => {
          const x = xns.find((c) => c.index === i);
          if (!x) return undefined;
          const sim = runOnCrossbar(g, x, layers.get(i)!, ins[0]), ref = opDef(node.op).ref(node, ins)[0];
          worst = Math.max(worst, relErr(sim.data, ref.data));
          return sim;
        });
        const want = interpret(g, f)[g.outputs[0]];
        expect(relErr(y[g.outputs[0]].data, want.data)).toBeLessThan(1e-5);
      }
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

describe("quantization", () => {
  const r = rng(11), N = 24, K = 100, W = randMatrix(r, N, K), xs = walks(r, 40, K);
  const calib = new Calibration(xs, K);
  for (const which of ["weightBits", "dacBits", "adcBits"] as const) {
    it(`error shrinks as ${which} grow`, () => {
      const errs = [2, 4, 6, 8, 10, 12].map((b) => rmse(new CrossbarLayer(W, N, K, { ...IDEAL, [which]: b }, { calib }), W, N, K, xs));
      for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
      expect(errs[errs.length - 1]).toBeLessThan(errs[0] / 100);
      // and off is exact
      expect(rmse(new CrossbarLayer(W, N, K, IDEAL, { calib }), W, N, K, xs)).toBeLessThan(1e-9);
    });
  }
});

describe("stuck devices", () => {
  const r = rng(5), N = 40, K = 150, W = randMatrix(r, N, K), xs = walks(r, 10, K, false);
  const calib = new Calibration(xs, K);
  const big = (n: number) => { let b = 0; for (let k = 1; k < K; k++) if (Math.abs(W[n * K + k]) > Math.abs(W[n * K + b])) b = k; return b; };
  const side = (n: number, k: number, own: boolean) => ((W[n * K + k] > 0) === own ? "pos" : "neg");
  // stuck on opposite the weight's side (error about wmax), stuck off on its side at the largest |w| of a column
  const faults = [
    { out: 3, in: 5, device: side(3, 5, false), stuck: "on" }, { out: 37, in: 140, device: side(37, 140, false), stuck: "on" },
    { out: 20, in: big(20), device: side(20, big(20), true), stuck: "off" },
  ] as const;
  const quantized: RramParams = { ...BASE, adcBits: 10, stuckRate: 0, adcRange: "worst", rows: 64, cols: 16, compensation: "none" };
  for (const [name, p] of [["ideal", IDEAL], ["quantized, variation, wires, worst-case ADC range", quantized]] as const) {
    it(`one stuck device changes exactly its column (${name})`, () => {
      const clean = new CrossbarLayer(W, N, K, p, { calib });
      for (const f of faults) {
        const hit = new CrossbarLayer(W, N, K, p, { calib, faults: [f] });
        expect(hit.faultyPairs).toBe(1);
        const x = Float64Array.from(xs.subarray(0, K));
        x[f.in] = 1;
        const a = clean.run(x), b = hit.run(x);
        for (let n = 0; n < N; n++) {
          if (n === f.out) expect(Math.abs(a[n] - b[n])).toBeGreaterThan(0.1);
          else expect(b[n]).toBe(a[n]);
        }
        if (p === IDEAL) { // the pair now holds: stuck on -> that side at 1, stuck off -> that side at 0
          const wmax = W.reduce((m, v) => Math.max(m, Math.abs(v)), 0), w = W[f.out * K + f.in];
          const gp = f.device === "pos" ? (f.stuck === "on" ? 1 : 0) : Math.max(w / wmax, 0);
          const gm = f.device === "neg" ? (f.stuck === "on" ? 1 : 0) : Math.max(-w / wmax, 0);
          expect(b[f.out] - a[f.out]).toBeCloseTo((gp - gm) * wmax - w, 9);
        }
      }
    });
  }
});

describe("compensation", () => {
  // trained-like weights: Gaussian, so most |w| are well below wmax
  const r = rng(21), N = 32, K = 128, W = Float64Array.from({ length: N * K }, () => 0.25 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
  const calibX = walks(r, 400, K, false), testX = walks(r, 200, K, false);
  const calib = new Calibration(calibX, K);
  const p: RramParams = { ...IDEAL, stuckRate: 0.03, seed: 4 };
  const err = (compensation: RramParams["compensation"], q: RramParams = p) => rmse(new CrossbarLayer(W, N, K, { ...q, compensation }, { calib }), W, N, K, testX);

  it("reduces the error with stuck devices: full < pair < none (held-out inputs)", () => {
    const none = err("none"), pair = err("pair"), full = err("full");
    expect(new CrossbarLayer(W, N, K, p, { calib }).faultyPairs).toBeGreaterThan(0.03 * N * K);
    expect(pair).toBeLessThan(0.5 * none);
    expect(full).toBeLessThan(0.5 * pair);
    // with the default non-idealities and quantization, full compensation comes near the error without stuck devices
    const real = { ...BASE, stuckRate: 0.03, seed: 4 };
    const floor = err("none", { ...real, stuckRate: 0 });
    expect(err("full", real)).toBeLessThan(0.3 * err("none", real));
    expect(err("full", real)).toBeLessThan(1.5 * floor);
  });

  it("re-targets the partner exactly when it can, and changes nothing without faults", () => {
    const w = W[2 * K + 9], f = { out: 2, in: 9, device: w > 0 ? "pos" : "neg", stuck: "on" } as const; // stuck on, on the weight's own side
    const x = testX.subarray(0, K), ref = matvec(W, N, K, x);
    const layer = (c: RramParams["compensation"]) => new CrossbarLayer(W, N, K, { ...IDEAL, compensation: c }, { calib, faults: [f] });
    expect(Math.abs(layer("none").run(x)[2] - ref[2])).toBeGreaterThan(1e-3);
    expect(relErr(layer("pair").run(x), ref)).toBeLessThan(1e-9);
    const clean = { ...BASE, stuckRate: 0 };
    const a = new CrossbarLayer(W, N, K, { ...clean, compensation: "none" }, { calib }).runMany(testX, 20);
    const b = new CrossbarLayer(W, N, K, { ...clean, compensation: "full" }, { calib }).runMany(testX, 20);
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe("energy and latency", () => {
  const p: RramParams = { ...IDEAL, dacBits: 6, adcBits: 6, rows: 32, cols: 8 };
  const goff = 1 / p.roff;
  const costOf = (tr: number, tc: number, neg = false) => {
    const K = tr * p.rows, N = tc * p.cols, W = new Float64Array(N * K); // zero weights: every device at Goff
    const x = new Float64Array(K).fill(1);
    if (neg) x[0] = -1;
    const layer = new CrossbarLayer(W, N, K, p, { calib: new Calibration(x.map(Math.abs), K) }); // |x| = xmax: V = Vread
    layer.run(x);
    return { layer, s: layer.stats, K, N };
  };
  it("follow the formulas in tile count and phases", () => {
    const perPhase = p.dacTime + p.readPulse + Math.ceil(p.cols / p.adcsPerTile) * adcTime(p, 6);
    for (const [tr, tc] of [[1, 1], [2, 1], [1, 3], [2, 2]]) {
      for (const neg of [false, true]) {
        const { layer, s } = costOf(tr, tc, neg), tiles = tr * tc, ph = neg ? 2 : 1;
        expect(layer.tilesR * layer.tilesC).toBe(tiles);
        expect(s.phases).toBe(ph);
        // read: every row is driven once (phase 1 all but the negative input, phase 2 that one), in each of tc tiles of 2*cols devices
        expect(s.readJ).toBeCloseTo(tr * p.rows * tc * 2 * p.cols * p.readVoltage ** 2 * goff * p.readPulse, 25);
        expect(s.dacJ).toBeCloseTo(ph * tiles * p.rows * p.dacEnergyPerBit * 6, 25);
        expect(s.adcJ).toBeCloseTo(ph * tiles * p.cols * adcEnergy(p, 6), 25);
        expect(s.latencyS).toBeCloseTo(ph * perPhase, 18); // tiles run in parallel
      }
    }
    const one = costOf(1, 1).s, four = costOf(2, 2).s;
    expect(four.readJ / one.readJ).toBeCloseTo(4, 9);
    expect(four.dacJ / one.dacJ).toBeCloseTo(4, 9);
    expect(four.adcJ / one.adcJ).toBeCloseTo(4, 9);
    expect(four.latencyS).toBe(one.latencyS);
  });
  it("ADC energy follows the table and doubles per bit above it", () => {
    expect(adcEnergy(BASE, 8)).toBe(BASE.adcEnergy["8"]);
    expect(adcEnergy(BASE, 12)).toBeCloseTo(4 * BASE.adcEnergy["10"], 20);
    expect(adcEnergy(BASE, 2)).toBe(BASE.adcEnergy["4"]);
  });
});

describe("bad configuration", () => {
  const cases: Array<[Partial<RramParams>, RegExp]> = [
    [{ weightBits: 0 }, /weightBits/], [{ weightBits: 17 }, /weightBits/], [{ dacBits: 2.5 }, /dacBits/], [{ adcBits: 0 }, /adcBits/], [{ adcBits: 17 }, /adcBits/],
    [{ ron: 1e5, roff: 1e5 }, /ron .*roff/], [{ ron: 2e5 }, /ron/], [{ roff: -1 }, /roff/],
    [{ rows: 0 }, /rows/], [{ cols: -4 }, /cols/], [{ rows: 1.5 }, /rows/], [{ adcsPerTile: 0 }, /adcsPerTile/],
    [{ stuckRate: -0.01 }, /stuckRate/], [{ stuckRate: 1.5 }, /stuckRate/], [{ stuckOnFraction: 2 }, /stuckOnFraction/],
    [{ writeSigma: -1 }, /writeSigma/], [{ readVoltage: 0 }, /readVoltage/],
  ];
  for (const [bad, re] of cases) {
    it(`${JSON.stringify(bad)} throws naming the parameter`, () => {
      let msg = "";
      try { new CrossbarLayer([1, 2], 1, 2, { ...BASE, ...bad }); } catch (e) { msg = (e as Error).message; }
      expect(msg).toMatch(re);
      expect(msg).toMatch(/^rram: /);
      expect(msg).not.toContain("\n");
      expect(() => validateParams({ ...BASE, ...bad })).toThrow(re);
    });
  }
  it("non-positive matrix sizes and mismatched data throw", () => {
    expect(() => new CrossbarLayer([], 0, 2, BASE)).toThrow(/rram: matrix 0x2/);
    expect(() => new CrossbarLayer([1, 2, 3], 1, 2, BASE)).toThrow(/rram: weights hold 3/);
    expect(() => new CrossbarLayer([1, 2], 1, 2, BASE).run([1])).toThrow(/rram: input has 1/);
  });
  it("the default file gives every entry a source", () => {
    const j = JSON.parse(readFileSync("targets/rram/default.json", "utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(j)) {
      if (k === "about") continue;
      expect(v, k).toHaveProperty("value");
      expect(typeof (v as { source: unknown }).source, k).toBe("string");
    }
    expect([BASE.weightBits, BASE.dacBits, BASE.adcBits, BASE.ron, BASE.roff, BASE.writeSigma, BASE.stuckRate, BASE.rSource, BASE.rLine]).toEqual([6, 6, 6, 1e4, 1e5, 0.05, 0.001, 20, 2]);
  });
});

describe("sweep", () => {
  it("on a subset of digits-cnn: 8 ADC bits without stuck devices is within a point of float", () => {
    const samples = 120;
    const res = rramSweep({ samples, seeds: [1], adcBits: [6, 8], stuckRates: [0, 0.01] });
    // float accuracy recomputed with the reference interpreter
    const g = importAndLower("examples/digits-cnn/model.onnx");
    const xs = samplesFromNpy(g, readNpy("examples/digits-cnn/x_test.npy"), "x", "x").slice(0, samples);
    const ys = Array.from(readNpy("examples/digits-cnn/y_test.npy").data, Number);
    const argmax = (a: ArrayLike<number>) => Array.from(a).indexOf(Math.max(...Array.from(a)));
    const float = xs.filter((f, i) => argmax(interpret(g, f)[g.outputs[0]].data) === ys[i]).length / samples;
    expect(res.floatAccuracy).toBe(float);
    const at8 = res.rows.find((r) => r.adcBits === 8 && r.stuckRate === 0 && r.compensation === "none")!;
    expect(Math.abs(at8.accuracy - float)).toBeLessThanOrEqual(0.01);
    const stuck = (c: string) => res.rows.find((r) => r.adcBits === 8 && r.stuckRate === 0.01 && r.compensation === c)!.accuracy;
    expect(stuck("full")).toBeGreaterThan(stuck("none"));
    expect(res.markdown).toMatch(/\| ADC bits \| stuck 0% \| stuck 1% none \| stuck 1% comp \|/);
    expect(res.markdown).toContain(`| float (software) | ${(100 * float).toFixed(2)}`);
    expect(res.svg.startsWith("<svg")).toBe(true);
    expect(res.svg).toContain("polyline");
    expect(res.cost.length).toBe(6);
    expect(res.cost.every((l) => l.readJ > 0 && l.adcJ > 0 && l.dacJ > 0 && l.latencyS > 0)).toBe(true);
  });
});
