/**
 * A cycle-level simulator of the ElasticAI-style FPGA LSTM accelerator (seed paper 000, a
 * Spartan-7 XC7S15; RTL template es-ude/elastic-ai.creator lstm_cell.tpl.vhd and
 * lstm_network.tpl.vhd), bit-exact with the software Q-format LSTM (`intLstmQ`,
 * compiler/ops/lstm-q.ts) and Q-format Gemm (`fcFixed`, compiler/ops/gemm.ts). It exists so
 * that an offload target can be costed (cycles, seconds, joules) and checked (bit for bit)
 * without the board: the wasm module will call a host function per LSTM layer, and this
 * class is that host. The arithmetic reuses the compiler's Q helpers (qCut, qMul,
 * qHardSigmoid, qHardTanh, clamp) so there is one definition of each rounding; what is
 * modelled here is the structure and its clock:
 *
 * - Weights: four ROMs, one per gate (ONNX order i, o, f, c), each holding the merged row
 *   [W_ih | W_hh] of every hidden unit (word j (I + H) + k); merged bias, one ROM per gate.
 * - MAC stage: four MAC units in parallel (one DSP48E1 each), one MAC per gate per
 *   `macCyclesPerElement` cycles over the concatenated [x_t; h_{t-1}] vector; x comes from
 *   the input buffer, h from the front h buffer. Accumulators are `accBits` wide (two's
 *   complement, wrapping): 2W + ceil(log2(I + H)) by default, which holds every sum exactly.
 *   ASSUMPTION: the template declares a plain 2W-bit accumulator, which wraps once a sum of
 *   (I + H) products leaves 2W bits; the software definition sums exactly, so the default
 *   adds guard bits (the DSP48E1 has 48). `accBits: 2W` models the template literally.
 * - Cut/saturate stage (same cycle as the last MAC, as in the template): qCut (bits
 *   [W+F-1:F], toward zero, saturate), plus the merged bias with a saturating adder.
 *   ASSUMPTION: the template's bias adder and c adder wrap; the repo's definition saturates.
 *   The four pre-activations go into a one-entry gate register.
 * - Update stage: a 7-cycle FSM per hidden unit (the template's fms_act 0-3 and states 2-4,
 *   one shared hard sigmoid and one shared hard tanh): 0 read c, hs(f), ht(g); 1 hs(i);
 *   2 f*c, hs(o); 3 i*g; 4 c' = sat(f*c + i*g) to the temp c buffer, ht(c'); 5 latch;
 *   6 h' = o*ht(c') to the back h buffer. It overlaps the MACs of the next unit; the MAC
 *   stage stalls only if it finishes a unit while the gate register is still full.
 * - h double-buffered: the MACs read the front buffer while the update stage writes the
 *   back one; after the last unit the back buffer (and temp c) is copied to the front,
 *   `writebackCyclesPerUnit` cycles per unit (0 = swap the banks instead).
 * - Control: `stepHandshakeCycles` per step, `inferenceHandshakeCycles` per inference.
 * - Linear read-out (H -> N) after the last step, on the final h: one MAC unit, K = H MAC
 *   cycles per output plus one cycle that cuts, adds the bias (saturating), clamps to the
 *   fused activation's bounds and stores; `linearStartCycles` to start it.
 *
 * Per-step cycles (M = macCyclesPerElement (I + H), U = 7, counted by `step` and checked
 * against this formula by the tests):
 *   step = stepHandshake + M + (H - 1) max(M, U) + U + writebackCyclesPerUnit H
 * Per inference: inferenceHandshake + T step + linearStart + N (H + 1).
 *
 * Not modelled (ASSUMPTIONS): loading the input sequence, h0/c0 and reading the result over
 * the host bus (the inputs are in the input buffer and the states in their RAMs at start;
 * zero states cost nothing, as the template's zero_state flag); configuration time;
 * BRAM read latency beyond what macCyclesPerElement folds in; power varying with activity
 * (power is static + a per-MHz dynamic figure, energy = power x time).
 */
import { join } from "node:path";
import { packageRoot } from "../../compiler/util/paths.js";
import { readFileSync } from "node:fs";
import { bad } from "../../compiler/util/errors.js";
import { clamp, qCut, qFmt, qHardSigmoid, qHardTanh, qMul, type QFmt } from "../../compiler/ir/fixedpoint.js";

/** Cycles of the update FSM per hidden unit (see the file comment). */
export const UPDATE_CYCLES = 7;

export interface FpgaDesign {
  macCyclesPerElement: number;
  writebackCyclesPerUnit: number;
  stepHandshakeCycles: number;
  inferenceHandshakeCycles: number;
  linearStartCycles: number;
}

export interface FpgaDevice {
  name: string;
  clockHz: number;
  staticPowerW: number;
  dynamicWPerMHz: number;
  dsp: number;
  bramKbit: number;
  maxAccBits: number;
  design: FpgaDesign;
  /** The seed paper's configuration and figures (sequenceLength is an assumption). */
  paper: { I: number; H: number; N: number; m: number; f: number; T: number; inferencesPerSecond: number; joulesPerInference: number };
}

// from the package root, so the dist/ build finds the JSON too
const DEFAULT_DEVICE = join(packageRoot(), "targets", "fpga", "xc7s15.json");

/** Reads a device model; every {"value": ...} entry must carry a source or an assumption. */
export function loadDevice(path: string | URL = DEFAULT_DEVICE): FpgaDevice {
  const file = String(path instanceof URL ? path.pathname : path);
  let j: Record<string, unknown>;
  try { j = JSON.parse(readFileSync(path, "utf8")); } catch (e) { bad(`${file}: cannot read the FPGA device model (${(e as Error).message.split("\n")[0]})`); }
  const walk = (o: unknown, at: string): void => {
    if (!o || typeof o !== "object") return;
    const r = o as Record<string, unknown>;
    if ("value" in r && typeof r.source !== "string" && typeof r.assumption !== "string") bad(`${file}: ${at} has a value but no 'source' or 'assumption'`);
    for (const [k, v] of Object.entries(r)) walk(v, at ? `${at}.${k}` : k);
  };
  walk(j!, "");
  const num = (at: string): number => {
    const e = at.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), j);
    const v = (e as { value?: unknown } | undefined)?.value;
    if (typeof v !== "number" || !Number.isFinite(v)) bad(`${file}: ${at}.value is missing or not a finite number`);
    return v as number;
  };
  return {
    name: String(j!.name ?? file), clockHz: num("clockHz"), staticPowerW: num("staticPowerW"), dynamicWPerMHz: num("dynamicWPerMHz"),
    dsp: num("device.dsp48e1"), bramKbit: num("device.bramKbit"), maxAccBits: num("device.maxAccumulatorBits"),
    design: {
      macCyclesPerElement: num("design.macCyclesPerElement"), writebackCyclesPerUnit: num("design.writebackCyclesPerUnit"),
      stepHandshakeCycles: num("design.stepHandshakeCycles"), inferenceHandshakeCycles: num("design.inferenceHandshakeCycles"),
      linearStartCycles: num("design.linearStartCycles"),
    },
    paper: {
      I: num("paper.inputSize"), H: num("paper.hiddenSize"), N: num("paper.linearOut"), m: num("paper.formatM"), f: num("paper.formatF"),
      T: num("paper.sequenceLength"), inferencesPerSecond: num("paper.inferencesPerSecond"), joulesPerInference: num("paper.joulesPerInference"),
    },
  };
}

/** Time and energy of `cycles` at the device's clock: P = static + dynamic(f), E = P t. */
export function inferenceCost(cycles: number, device: FpgaDevice): { seconds: number; joules: number; watts: number; inferencesPerSecond: number } {
  const seconds = cycles / device.clockHz;
  const watts = device.staticPowerW + device.dynamicWPerMHz * (device.clockHz / 1e6);
  return { seconds, joules: watts * seconds, watts, inferencesPerSecond: 1 / seconds };
}

/** The per-step cycle formula (file comment); the simulator counts, this predicts. */
export function lstmStepCycles(I: number, H: number, d: FpgaDesign): number {
  const M = d.macCyclesPerElement * (I + H);
  return d.stepHandshakeCycles + M + (H - 1) * Math.max(M, UPDATE_CYCLES) + UPDATE_CYCLES + d.writebackCyclesPerUnit * H;
}

/** Cycles of a Linear K -> N read-out, start cycle included. */
export function linearCycles(K: number, N: number, d: FpgaDesign): number {
  return d.linearStartCycles + N * (K + 1);
}

/** Cycles of one inference: T LSTM steps and the Linear. */
export function inferenceCycles(T: number, I: number, H: number, N: number, d: FpgaDesign): number {
  return d.inferenceHandshakeCycles + T * lstmStepCycles(I, H, d) + linearCycles(H, N, d);
}

export interface FpgaLstmConfig {
  I: number; H: number;
  fmt: { m: number; f: number };
  /** [4H, I], ONNX gate order i, o, f, c. */
  W: Int32Array;
  /** [4H, H]. */
  R: Int32Array;
  /** Merged bias (Wb + Rb on the grid), [4H]. */
  B?: Int32Array;
  device?: FpgaDevice;
  /** Overrides of the device's design timing. */
  design?: Partial<FpgaDesign>;
  /** Accumulator width; default 2W + ceil(log2(I + H)) (exact). */
  accBits?: number;
}

export interface FpgaLinearConfig {
  /** [N, K] (rows = outputs, as the canonical Gemm) and merged bias [N]. */
  N: number; W: Int32Array; B?: Int32Array;
  /** A fused activation's bounds on the grid (Gemm node.q.qmin / qmax); default the format's range. */
  actMin?: number; actMax?: number;
}

const isInt = (v: number, lo = 1) => Number.isInteger(v) && v >= lo;

/** Checks a configuration and returns its format; one-line errors naming the problem. */
function checkFormat(fmt: { m: number; f: number }): QFmt {
  const w = fmt.m + fmt.f;
  if (!Number.isInteger(fmt.m) || !Number.isInteger(fmt.f) || fmt.m < 1 || fmt.f < 0) bad(`FPGA LSTM: format Q${fmt.m}.${fmt.f} is not a Q format (m >= 1 integer bits with the sign, f >= 0 fractional bits)`);
  if (w < 2 || w > 16) bad(`FPGA LSTM: format Q${fmt.m}.${fmt.f} is ${w} bits; the cell takes 2- to 16-bit formats (one DSP48E1 multiplier per gate)`);
  return qFmt(fmt.m, fmt.f);
}

function checkData(name: string, a: Int32Array | undefined, n: number, shape: string, F: QFmt): void {
  if (!(a instanceof Int32Array)) bad(`FPGA LSTM: ${name} must be an Int32Array of ${n} values (${shape})`);
  if (a!.length !== n) bad(`FPGA LSTM: ${name} has ${a!.length} values; expected ${shape} = ${n}`);
  const k = a!.findIndex((v) => v < F.lo || v > F.hi);
  if (k >= 0) bad(`FPGA LSTM: ${name}[${k}] = ${a![k]} is outside Q${F.m}.${F.f}'s range [${F.lo}, ${F.hi}]`);
}

/** Wraps v to a two's complement register of `bits` bits (exact for |v| < 2^53). */
function wrap(v: number, bits: number): number {
  const m = 2 ** bits, half = 2 ** (bits - 1);
  let r = (v + half) % m;
  if (r < 0) r += m;
  return r - half;
}

export interface LstmRun { y: Int32Array; h: Int32Array; c: Int32Array; cycles: number; stepCycles: number[] }

export class FpgaLstmCell {
  readonly I: number; readonly H: number; readonly F: QFmt;
  readonly device: FpgaDevice; readonly design: FpgaDesign; readonly accBits: number;
  /** Per gate: weight ROM [H, I + H] (merged rows) and bias ROM [H]. */
  private readonly wrom: Int32Array[]; private readonly brom: Int32Array[];

  constructor(cfg: FpgaLstmConfig) {
    const { I, H } = cfg;
    if (!isInt(I) || !isInt(H)) bad(`FPGA LSTM: input size ${I} and hidden size ${H} must be positive integers`);
    const F = checkFormat(cfg.fmt);
    checkData("W", cfg.W, 4 * H * I, `4H x I = 4*${H} x ${I}`, F);
    checkData("R", cfg.R, 4 * H * H, `4H x H = 4*${H} x ${H}`, F);
    if (cfg.B !== undefined) checkData("B (merged bias)", cfg.B, 4 * H, `4H = 4*${H}`, F);
    this.device = cfg.device ?? loadDevice();
    this.design = { ...this.device.design, ...cfg.design };
    const d = this.design;
    if (!isInt(d.macCyclesPerElement)) bad(`FPGA LSTM: macCyclesPerElement ${d.macCyclesPerElement} must be a positive integer`);
    for (const k of ["writebackCyclesPerUnit", "stepHandshakeCycles", "inferenceHandshakeCycles", "linearStartCycles"] as const) {
      if (!isInt(d[k], 0)) bad(`FPGA LSTM: ${k} ${d[k]} must be a non-negative integer`);
    }
    const w = F.m + F.f, L = I + H;
    this.accBits = cfg.accBits ?? 2 * w + Math.ceil(Math.log2(L));
    if (!isInt(this.accBits, 2 * w)) bad(`FPGA LSTM: accumulator of ${this.accBits} bits is narrower than one ${w}-bit product (${2 * w} bits)`);
    if (this.accBits > this.device.maxAccBits) bad(`FPGA LSTM: I + H = ${L} needs a ${this.accBits}-bit accumulator; the ${this.device.name} DSP48E1 has ${this.device.maxAccBits}`);
    if (5 > this.device.dsp) bad(`FPGA LSTM: 4 gate MACs and the Linear MAC need 5 DSP slices; the ${this.device.name} has ${this.device.dsp}`);
    const bits = 4 * H * L * w + 4 * H * w + 4 * L * w; // weight ROMs, bias ROMs, x_h / temp h / c / temp c RAMs
    if (bits > this.device.bramKbit * 1024) bad(`FPGA LSTM: I ${I}, H ${H} in ${w} bits need ${Math.ceil(bits / 1024)} Kb of weight and state memory; the ${this.device.name} has ${this.device.bramKbit} Kb of block RAM`);
    this.I = I; this.H = H; this.F = F;
    this.wrom = []; this.brom = [];
    for (let g = 0; g < 4; g++) {
      const rom = new Int32Array(H * L);
      for (let j = 0; j < H; j++) {
        const row = g * H + j;
        for (let k = 0; k < I; k++) rom[j * L + k] = cfg.W[row * I + k];
        for (let k = 0; k < H; k++) rom[j * L + I + k] = cfg.R[row * H + k];
      }
      this.wrom.push(rom);
      this.brom.push(cfg.B ? cfg.B.slice(g * H, (g + 1) * H) : new Int32Array(H));
    }
  }

  /** One sequence: x [T, I]; h0, c0 [H] (zero when absent). */
  run(x: Int32Array, h0?: Int32Array, c0?: Int32Array): LstmRun {
    const { I, H, F } = this;
    if (!(x instanceof Int32Array) || x.length === 0 || x.length % I !== 0) bad(`FPGA LSTM: x has ${x?.length} values; expected T x I with I = ${I} and T >= 1`);
    checkData("x", x, x.length, `T x I`, F);
    if (h0) checkData("h0", h0, H, "H", F);
    if (c0) checkData("c0", c0, H, "H", F);
    const T = x.length / I;
    const s = { hf: new Int32Array(H), hb: new Int32Array(H), c: new Int32Array(H), ct: new Int32Array(H) };
    if (h0) s.hf.set(h0);
    if (c0) s.c.set(c0);
    const y = new Int32Array(T * H), stepCycles: number[] = [];
    for (let t = 0; t < T; t++) {
      stepCycles.push(this.step(x, t * I, s));
      y.set(s.hf, t * H);
    }
    return { y, h: s.hf.slice(), c: s.c.slice(), cycles: stepCycles.reduce((a, b) => a + b, 0), stepCycles };
  }

  /** One time step, clock by clock; returns the cycles it took. */
  private step(x: Int32Array, xo: number, s: { hf: Int32Array; hb: Int32Array; c: Int32Array; ct: Int32Array }): number {
    const { I, H, F, accBits } = this, L = I + H, cpm = this.design.macCyclesPerElement;
    let cycle = this.design.stepHandshakeCycles; // controller handshakes, no datapath activity
    // MAC stage: unit mj, element mk, phase within the element; pending = cut results waiting for the gate register
    let mj = 0, mk = 0, phase = 0;
    const acc = [0, 0, 0, 0], wop = [0, 0, 0, 0];
    let xop = 0;
    let pending: number[] | null = null;
    let gate: { j: number; pre: number[] } | null = null;
    // update stage: unit uj (-1 idle), FSM cycle uc, its registers
    let uj = -1, uc = 0, pre = [0, 0, 0, 0];
    let cOld = 0, fa = 0, ga = 0, ia = 0, oa = 0, fc = 0, ig = 0, tc = 0;
    let updated = 0;
    while (updated < H) {
      cycle++;
      const take = uj < 0 && gate !== null; // the update stage reads the gate register this cycle
      if (take) { uj = gate!.j; pre = gate!.pre; uc = 0; }
      if (uj >= 0) {
        switch (uc) {
          case 0: cOld = s.c[uj]; fa = qHardSigmoid(pre[2], F); ga = qHardTanh(pre[3], F); break;
          case 1: ia = qHardSigmoid(pre[0], F); break;
          case 2: fc = qMul(fa, cOld, F); oa = qHardSigmoid(pre[1], F); break;
          case 3: ig = qMul(ia, ga, F); break;
          case 4: { const cn = clamp(fc + ig, F.lo, F.hi); s.ct[uj] = cn; tc = qHardTanh(cn, F); break; }
          case 5: break; // the shared tanh's output register settles (one-cycle latency)
          case 6: s.hb[uj] = qMul(oa, tc, F); break;
        }
        if (++uc === UPDATE_CYCLES) { uj = -1; updated++; }
      }
      if (mj < H && !pending) {
        if (phase === 0) { // fetch the operand of [x; h] and the four weights
          xop = mk < I ? x[xo + mk] : s.hf[mk - I];
          for (let g = 0; g < 4; g++) wop[g] = this.wrom[g][mj * L + mk];
        }
        if (phase === cpm - 1) {
          for (let g = 0; g < 4; g++) acc[g] = wrap(acc[g] + xop * wop[g], accBits);
          phase = 0;
          if (++mk === L) pending = acc.map((a, g) => clamp(qCut(a, F) + this.brom[g][mj], F.lo, F.hi));
        } else phase++;
      }
      if (take) gate = null;
      if (pending && gate === null) { // latch into the gate register at the end of the cycle
        gate = { j: mj, pre: pending };
        pending = null; mj++; mk = 0; acc.fill(0);
      }
    }
    const wb = this.design.writebackCyclesPerUnit;
    if (wb === 0) { // ping-pong: swap the banks
      [s.hf, s.hb] = [s.hb, s.hf];
      [s.c, s.ct] = [s.ct, s.c];
    } else {
      for (let j = 0; j < H; j++) { // copy-back: address, then data (wb cycles per unit)
        cycle += wb;
        s.hf[j] = s.hb[j];
        s.c[j] = s.ct[j];
      }
    }
    return cycle;
  }
}

/** The Linear read-out: one MAC unit over the final h, the repo's Q-format Gemm arithmetic. */
export class FpgaLinear {
  readonly K: number; readonly N: number; readonly F: QFmt; readonly accBits: number;
  private readonly cfg: FpgaLinearConfig; private readonly design: FpgaDesign;
  constructor(K: number, fmt: { m: number; f: number }, cfg: FpgaLinearConfig, design: FpgaDesign, maxAccBits = 48) {
    const F = checkFormat(fmt);
    if (!isInt(cfg.N)) bad(`FPGA Linear: output size ${cfg.N} must be a positive integer`);
    checkData("Linear W", cfg.W, cfg.N * K, `N x K = ${cfg.N} x ${K}`, F);
    if (cfg.B !== undefined) checkData("Linear B", cfg.B, cfg.N, `N = ${cfg.N}`, F);
    this.accBits = 2 * (F.m + F.f) + Math.ceil(Math.log2(K));
    if (this.accBits > maxAccBits) bad(`FPGA Linear: K = ${K} needs a ${this.accBits}-bit accumulator; the DSP48E1 has ${maxAccBits}`);
    this.K = K; this.N = cfg.N; this.F = F; this.cfg = cfg; this.design = design;
  }

  run(x: Int32Array): { y: Int32Array; cycles: number } {
    const { K, N, F, cfg } = this;
    const lo = Math.max(cfg.actMin ?? F.lo, F.lo), hi = Math.min(cfg.actMax ?? F.hi, F.hi);
    const y = new Int32Array(N);
    let cycle = this.design.linearStartCycles;
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) { acc = wrap(acc + x[k] * cfg.W[n * K + k], this.accBits); cycle++; }
      cycle++; // cut, bias, clamp, store
      y[n] = clamp(clamp(qCut(acc, F) + (cfg.B ? cfg.B[n] : 0), F.lo, F.hi), lo, hi);
    }
    return { y, cycles: cycle };
  }
}

/** LSTM(I -> H) over the sequence, then Linear(H -> N) on the last h (the paper's network). */
export class FpgaLstmNetwork {
  readonly cell: FpgaLstmCell; readonly linear: FpgaLinear;
  constructor(cfg: FpgaLstmConfig & { linear: FpgaLinearConfig }) {
    this.cell = new FpgaLstmCell(cfg);
    this.linear = new FpgaLinear(cfg.H, cfg.fmt, cfg.linear, this.cell.design, this.cell.device.maxAccBits);
  }

  infer(x: Int32Array, h0?: Int32Array, c0?: Int32Array): { y: Int32Array; lstm: LstmRun; linearCycles: number; cycles: number } {
    const lstm = this.cell.run(x, h0, c0);
    const lin = this.linear.run(lstm.h);
    return { y: lin.y, lstm, linearCycles: lin.cycles, cycles: this.cell.design.inferenceHandshakeCycles + lstm.cycles + lin.cycles };
  }
}
