// The cycle-level simulator of the ElasticAI-style FPGA LSTM (targets/sim/fpga-lstm.ts):
// (1) bit-exact with the software definition intLstmQ on seeded random Q4.4 (int8) and
// Q8.8 (int16) cells of random I, H, T, with and without bias and initial states, weights
// small and full-range, inputs up to the format's rails (saturating gates, cell and h), in
// every datapath timing variant (1 to 3 cycles per MAC, copy-back or bank swap), a cell
// driven to the rail (checked by hand) in both formats, and the
// template's literal 2W-bit accumulator shown to break exactness; (2) bit-exact with the
// compiled wasm of the shipped examples/sunspots-lstm model in Q4.4 (LSTM -> last step ->
// Gemm), configured from the compiled graph's Q weights, on all 71 x_test windows; (3) the
// per-step and per-inference cycle formulas against the cycles the simulator counts
// (including the stalled case where a unit's MACs are shorter than the update FSM), and the
// paper's configuration (I 1, H 20, Linear 20 -> 1, Q4.4, the device model's T and clock)
// within 15% of 17534 inferences/s and 3.8 uJ per inference, computed from counted cycles;
// (4) bad configurations refused with one-line errors naming the problem.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { writeFileSync, readFileSync } from "node:fs";
import {
  FpgaLinear, FpgaLstmCell, FpgaLstmNetwork, inferenceCost, inferenceCycles, linearCycles, loadDevice, lstmStepCycles,
  type FpgaDesign, type FpgaLstmConfig,
} from "../../targets/sim/fpga-lstm.js";
import { intLstmQ } from "../../compiler/ops/lstm-q.js";
import { makeValue, tensor, type Node, type Value } from "../../compiler/ir/graph.js";
import { qFmt, qFromReal, qStorage, type QFmt } from "../../compiler/ir/fixedpoint.js";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { rng } from "../helpers/random.js";
import { tmpDir } from "../helpers/build-onnx.js";

const device = loadDevice();
const EXAMPLE = new URL("../../examples/sunspots-lstm/", import.meta.url).pathname;

/** Seeded integers in [lo, hi]; a share `rail` of them forced to lo or hi. */
function ints(r: () => number, n: number, lo: number, hi: number, rail = 0): Int32Array {
  return Int32Array.from({ length: n }, () => {
    if (r() < rail) return r() < 0.5 ? lo : hi;
    return lo + Math.floor(r() * (hi - lo + 1));
  });
}

/** intLstmQ on one sequence (batch 1, layout 0): Y [T, H], Y_h, Y_c. */
function reference(F: QFmt, I: number, H: number, W: Int32Array, R: Int32Array, B: Int32Array | undefined, x: Int32Array, h0?: Int32Array, c0?: Int32Array) {
  const T = x.length / I;
  const node: Node = { name: "lstm", op: "LSTM", inputs: [], outputs: [], attrs: { hidden_size: H, layout: 0, direction: "forward" }, q: { fixed: { m: F.m, f: F.f } } };
  const v = (shape: number[], d: Int32Array) => makeValue(qStorage(F), shape, d);
  const ins = [v([T, 1, I], x), v([1, 4 * H, I], W), v([1, 4 * H, H], R), B && v([4 * H], B), undefined, h0 && v([1, 1, H], h0), c0 && v([1, 1, H], c0)];
  const [y, yh, yc] = intLstmQ(node, ins as Value[]);
  return { y: Array.from(y.data), h: Array.from(yh.data), c: Array.from(yc.data) };
}

interface Case { F: QFmt; I: number; H: number; T: number; bias: boolean; init: boolean; wLo: number; wHi: number; rail: number }

function randomCase(seed: number, F: QFmt): Case & { W: Int32Array; R: Int32Array; B?: Int32Array; x: Int32Array; h0?: Int32Array; c0?: Int32Array } {
  const r = rng(seed);
  const I = 1 + Math.floor(r() * 6), H = 1 + Math.floor(r() * 12), T = 1 + Math.floor(r() * 8);
  const one = 2 ** F.f;
  // small weights (|w| <= 1, gates mostly inside the hard activations' linear range) or full-range ones
  const full = r() < 0.4;
  const [wLo, wHi] = full ? [F.lo, F.hi] : [-one, one];
  const bias = r() < 0.7, init = r() < 0.6, rail = r() < 0.5 ? 0.2 : 0;
  return {
    F, I, H, T, bias, init, wLo, wHi, rail,
    W: ints(r, 4 * H * I, wLo, wHi), R: ints(r, 4 * H * H, wLo, wHi), B: bias ? ints(r, 4 * H, F.lo, F.hi) : undefined,
    x: ints(r, T * I, F.lo, F.hi, rail), h0: init ? ints(r, H, F.lo, F.hi, rail) : undefined, c0: init ? ints(r, H, F.lo, F.hi, rail) : undefined,
  };
}

const VARIANTS: Array<Partial<FpgaDesign>> = [{}, { macCyclesPerElement: 2 }, { writebackCyclesPerUnit: 0 }, { macCyclesPerElement: 3, writebackCyclesPerUnit: 1 }];

describe("FPGA LSTM simulator: bit-exact with intLstmQ", () => {
  for (const [name, F, seed0] of [["Q4.4", qFmt(4, 4), 7000], ["Q8.8", qFmt(8, 8), 8000]] as const) {
    it(`${name}: 40 random cells (I, H, T, bias, initial states, saturating inputs), every timing variant`, () => {
      let saturated = 0;
      for (let s = 0; s < 40; s++) {
        const c = randomCase(seed0 + s, F);
        const ref = reference(F, c.I, c.H, c.W, c.R, c.B, c.x, c.h0, c.c0);
        for (const design of VARIANTS) {
          const cell = new FpgaLstmCell({ I: c.I, H: c.H, fmt: F, W: c.W, R: c.R, B: c.B, device, design });
          const got = cell.run(c.x, c.h0, c.c0);
          const what = `seed ${seed0 + s} I${c.I} H${c.H} T${c.T} bias ${c.bias} init ${c.init} w [${c.wLo}, ${c.wHi}] ${JSON.stringify(design)}`;
          expect(Array.from(got.y), `${what}: Y`).toEqual(ref.y);
          expect(Array.from(got.h), `${what}: Y_h`).toEqual(ref.h);
          expect(Array.from(got.c), `${what}: Y_c`).toEqual(ref.c);
        }
        saturated += ref.c.filter((v) => v === F.lo || v === F.hi).length;
      }
      // a cell driven to the rail: zero weights, biases i = f = g = hi (hs = ht = 1), o = 0:
      // c grows by one (2^f) per step from c0 = 0 and saturates at hi; h = hs(0) * ht(hi) = 1/2
      const H = 3, I = 2, T = 2 ** (F.m - 1) + 2, B = new Int32Array(4 * H).fill(F.hi).fill(0, H, 2 * H);
      const W = new Int32Array(4 * H * I), R = new Int32Array(4 * H * H), x = ints(rng(seed0), T * I, F.lo, F.hi, 0.3);
      const ref = reference(F, I, H, W, R, B, x);
      const got = new FpgaLstmCell({ I, H, fmt: F, W, R, B, device }).run(x);
      expect(ref.c).toEqual([F.hi, F.hi, F.hi]);
      expect(ref.h).toEqual(new Array(H).fill(Math.trunc(3 * 2 ** F.f / 6)));
      expect([Array.from(got.y), Array.from(got.h), Array.from(got.c)]).toEqual([ref.y, ref.h, ref.c]);
      console.log(`${name}: ${saturated} of the random cells' final states sit on a rail`);
    });
  }

  it("the template's literal 2W-bit accumulator wraps and leaves the definition; the default guard bits do not", () => {
    // Q4.4, I 1, H 20: 21 products of -128 x -128 = 16384 sum to 344064, beyond 16 bits.
    const F = qFmt(4, 4), I = 1, H = 20, r = rng(99);
    const W = ints(r, 4 * H * I, F.lo, F.hi, 0.5), R = ints(r, 4 * H * H, F.lo, F.hi, 0.5);
    const x = ints(r, 6, F.lo, F.hi, 0.5), h0 = ints(r, H, F.lo, F.hi, 0.5);
    const ref = reference(F, I, H, W, R, undefined, x, h0);
    const exact = new FpgaLstmCell({ I, H, fmt: F, W, R, device });
    const literal = new FpgaLstmCell({ I, H, fmt: F, W, R, device, accBits: 16 });
    expect(exact.accBits).toBe(21);
    expect(Array.from(exact.run(x, h0).y)).toEqual(ref.y);
    expect(Array.from(literal.run(x, h0).y)).not.toEqual(ref.y);
  });
});

describe("FPGA LSTM simulator: bit-exact with the compiled wasm (examples/sunspots-lstm, Q4.4)", () => {
  it("LSTM(1 -> 20) over 24 steps, last step, Linear(20 -> 1): all 71 test windows", async () => {
    const F = qFmt(4, 4);
    const c = await compileModel(join(EXAMPLE, "model.onnx"), { fixed: "Q4.4" });
    const g = c.graph;
    const lstm = g.nodes.find((n) => n.op === "LSTM")!, gather = g.nodes.find((n) => n.op === "Gather")!, gemm = g.nodes.find((n) => n.op === "Gemm")!;
    const q = (name: string | undefined) => (name ? Int32Array.from(tensor(g, name).data!) : undefined);
    const [T, , I] = tensor(g, lstm.inputs[0]).shape; // layout 0 after the import's Transpose
    const H = lstm.attrs.hidden_size as number;
    expect([T, I, H, lstm.attrs.layout]).toEqual([24, 1, 20, 0]);
    expect(gather.attrs.indices).toEqual([T - 1]); // the read-out takes the last step's h
    expect(gemm.attrs.canonical).toBe(true);
    const [N, K] = tensor(g, gemm.inputs[1]).shape;
    expect(K).toBe(H);
    const net = new FpgaLstmNetwork({
      I, H, fmt: F, W: q(lstm.inputs[1])!, R: q(lstm.inputs[2])!, B: q(lstm.inputs[3]), device,
      linear: { N, W: q(gemm.inputs[1])!, B: q(gemm.inputs[2]), actMin: gemm.q!.qmin, actMax: gemm.q!.qmax },
    });
    const h0 = q(lstm.inputs[5]), c0 = q(lstm.inputs[6]);
    const m = await instantiate(c.wasm, c.manifest);
    const xs = readNpy(join(EXAMPLE, "x_test.npy"));
    expect(xs.shape).toEqual([71, 24, 1]);
    const seen = new Set<number>();
    let cycles = 0;
    for (let s = 0; s < xs.shape[0]; s++) {
      const xq = Int32Array.from(xs.data.subarray(s * T * I, (s + 1) * T * I) as Float32Array, (v) => qFromReal(v, F));
      const wasm = runRaw(m, [makeValue(qStorage(F), tensor(g, g.inputs[0]).shape, xq)])[0];
      const sim = net.infer(xq, h0, c0);
      expect(Array.from(sim.y), `window ${s}`).toEqual(Array.from(wasm.data));
      seen.add(sim.y[0]);
      cycles = sim.cycles;
    }
    expect(seen.size, "the outputs vary with the input").toBeGreaterThan(3);
    expect(cycles).toBe(inferenceCycles(T, I, H, N, net.cell.design));
    const cost = inferenceCost(cycles, device);
    console.log(`sunspots-lstm Q4.4 on the FPGA model: ${cycles} cycles, ${(cost.seconds * 1e6).toFixed(2)} us, ${cost.inferencesPerSecond.toFixed(0)} inf/s, ${(cost.joules * 1e6).toFixed(2)} uJ`);
  });
});

describe("FPGA LSTM simulator: cycles, throughput and energy", () => {
  it("counted cycles equal the per-step and per-inference formulas", () => {
    const F = qFmt(4, 4);
    // [I, H, design]: M = cpm (I + H) against the 7-cycle update FSM; (1, 2) and (2, 3) stall on it
    const cases: Array<[number, number, Partial<FpgaDesign>]> = [
      [1, 20, {}], [1, 2, {}], [2, 3, {}], [1, 1, {}], [3, 5, { macCyclesPerElement: 2 }], [1, 2, { macCyclesPerElement: 2 }],
      [4, 9, { writebackCyclesPerUnit: 0 }], [2, 2, { macCyclesPerElement: 3, writebackCyclesPerUnit: 1, stepHandshakeCycles: 0 }],
    ];
    for (const [I, H, design] of cases) {
      const r = rng(I * 100 + H);
      const T = 3, N = 2;
      const cfg: FpgaLstmConfig & { linear: { N: number; W: Int32Array } } = {
        I, H, fmt: F, W: ints(r, 4 * H * I, -16, 16), R: ints(r, 4 * H * H, -16, 16), device, design, linear: { N, W: ints(r, N * H, -16, 16) },
      };
      const net = new FpgaLstmNetwork(cfg);
      const got = net.infer(ints(r, T * I, F.lo, F.hi));
      const d = net.cell.design;
      for (const sc of got.lstm.stepCycles) expect(sc, `I${I} H${H} ${JSON.stringify(design)}`).toBe(lstmStepCycles(I, H, d));
      expect(got.linearCycles).toBe(linearCycles(H, N, d));
      expect(got.cycles).toBe(inferenceCycles(T, I, H, N, d));
    }
    // by hand: paper shape, M = 21 >= 7: 6 + 21 + 19 * 21 + 7 + 2 * 20 = 473 cycles per step
    expect(lstmStepCycles(1, 20, device.design)).toBe(473);
    // I 1, H 2: M = 3 < 7, the update FSM paces the step: 6 + 3 + 1 * 7 + 7 + 2 * 2 = 27
    expect(lstmStepCycles(1, 2, device.design)).toBe(27);
  });

  it("the paper's configuration: within 15% of 17534 inferences/s and 3.8 uJ per inference", () => {
    const p = device.paper;
    expect([p.I, p.H, p.N, p.m, p.f]).toEqual([1, 20, 1, 4, 4]);
    const F = qFmt(p.m, p.f), r = rng(2023);
    const net = new FpgaLstmNetwork({
      I: p.I, H: p.H, fmt: F, W: ints(r, 4 * p.H * p.I, F.lo, F.hi), R: ints(r, 4 * p.H * p.H, F.lo, F.hi), B: ints(r, 4 * p.H, F.lo, F.hi), device,
      linear: { N: p.N, W: ints(r, p.N * p.H, F.lo, F.hi), B: ints(r, p.N, F.lo, F.hi) },
    });
    const run = net.infer(ints(r, p.T * p.I, F.lo, F.hi));
    const cost = inferenceCost(run.cycles, device);
    const errRate = cost.inferencesPerSecond / 17534 - 1, errEnergy = cost.joules / 3.8e-6 - 1;
    console.log(`paper config (T ${p.T}, ${device.clockHz / 1e6} MHz, ${(cost.watts * 1e3).toFixed(1)} mW): ${run.cycles} cycles, ` +
      `${cost.inferencesPerSecond.toFixed(0)} inf/s (${(errRate * 100).toFixed(2)}% vs 17534), ${(cost.joules * 1e6).toFixed(3)} uJ (${(errEnergy * 100).toFixed(2)}% vs 3.8)`);
    expect(p.inferencesPerSecond).toBe(17534);
    expect(p.joulesPerInference).toBe(3.8e-6);
    expect(Math.abs(errRate)).toBeLessThan(0.15);
    expect(Math.abs(errEnergy)).toBeLessThan(0.15);
    // physically plausible power: tens of mW for a small 28 nm part, static below total
    expect(cost.watts).toBeGreaterThan(0.03);
    expect(cost.watts).toBeLessThan(0.2);
    expect(device.staticPowerW).toBeLessThan(cost.watts);
  });
});

describe("FPGA LSTM simulator: bad configurations", () => {
  const F = qFmt(4, 4), I = 2, H = 3;
  const base = (): FpgaLstmConfig => ({ I, H, fmt: { m: 4, f: 4 }, W: new Int32Array(4 * H * I), R: new Int32Array(4 * H * H), B: new Int32Array(4 * H), device });
  const refuse = (f: () => unknown, re: RegExp) => {
    let msg = "";
    try { f(); } catch (e) { msg = (e as Error).message; }
    expect(msg).toMatch(re);
    expect(msg).not.toMatch(/\n/);
  };
  it("weight and bias lengths", () => {
    refuse(() => new FpgaLstmCell({ ...base(), W: new Int32Array(7) }), /^FPGA LSTM: W has 7 values; expected 4H x I = 4\*3 x 2 = 24$/);
    refuse(() => new FpgaLstmCell({ ...base(), R: new Int32Array(4 * H * I) }), /R has 24 values; expected 4H x H = 4\*3 x 3 = 36/);
    refuse(() => new FpgaLstmCell({ ...base(), B: new Int32Array(8 * H) }), /B \(merged bias\) has 24 values; expected 4H = 4\*3 = 12/);
    refuse(() => new FpgaLstmCell({ ...base(), W: [1, 2] as unknown as Int32Array }), /W must be an Int32Array of 24 values/);
    refuse(() => new FpgaLinear(H, F, { N: 2, W: new Int32Array(5) }, device.design), /Linear W has 5 values; expected N x K = 2 x 3 = 6/);
  });
  it("formats wider than 16 bits or not Q formats, values off the grid", () => {
    refuse(() => new FpgaLstmCell({ ...base(), fmt: { m: 9, f: 8 } }), /format Q9\.8 is 17 bits; the cell takes 2- to 16-bit formats/);
    refuse(() => new FpgaLstmCell({ ...base(), fmt: { m: 0, f: 8 } }), /Q0\.8 is not a Q format/);
    const W = new Int32Array(4 * H * I); W[3] = 200;
    refuse(() => new FpgaLstmCell({ ...base(), W }), /W\[3\] = 200 is outside Q4\.4's range \[-128, 127\]/);
    refuse(() => new FpgaLstmCell({ ...base(), I: 0 }), /input size 0 and hidden size 3 must be positive integers/);
  });
  it("run-time inputs", () => {
    const cell = new FpgaLstmCell(base());
    refuse(() => cell.run(new Int32Array(5)), /x has 5 values; expected T x I with I = 2/);
    refuse(() => cell.run(new Int32Array(4), new Int32Array(2)), /h0 has 2 values; expected H = 3/);
    refuse(() => cell.run(Int32Array.from([0, 0, 0, 999])), /x\[3\] = 999 is outside/);
  });
  it("accumulator, DSP and block RAM limits; design parameters", () => {
    refuse(() => new FpgaLstmCell({ ...base(), device: { ...device, maxAccBits: 18 } }), /I \+ H = 5 needs a 19-bit accumulator; the xc7s15 DSP48E1 has 18/);
    refuse(() => new FpgaLstmCell({ ...base(), accBits: 12 }), /accumulator of 12 bits is narrower than one 8-bit product \(16 bits\)/);
    refuse(() => new FpgaLstmCell({ ...base(), device: { ...device, dsp: 4 } }), /need 5 DSP slices; the xc7s15 has 4/);
    const big = { ...base(), I: 1, H: 100, fmt: { m: 8, f: 8 }, W: new Int32Array(400), R: new Int32Array(40000), B: undefined };
    refuse(() => new FpgaLstmCell(big), /I 1, H 100 in 16 bits need \d+ Kb of weight and state memory; the xc7s15 has 360 Kb/);
    refuse(() => new FpgaLstmCell({ ...base(), design: { macCyclesPerElement: 0 } }), /macCyclesPerElement 0 must be a positive integer/);
  });
  it("a device model with a number lacking its source", () => {
    const j = JSON.parse(readFileSync(new URL("../../targets/fpga/xc7s15.json", import.meta.url), "utf8"));
    delete j.staticPowerW.assumption;
    const file = join(tmpDir(), `xc7s15-nosource-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(j));
    refuse(() => loadDevice(file), /staticPowerW has a value but no 'source' or 'assumption'/);
    delete j.clockHz;
    j.staticPowerW.source = "x";
    writeFileSync(file, JSON.stringify(j));
    refuse(() => loadDevice(file), /clockHz\.value is missing or not a finite number/);
  });
});
