/**
 * An RRAM crossbar simulator for one matrix-vector layer (Gemm/MatMul by a constant, or a
 * Conv lowered by im2col), to see what an analog in-memory accelerator would do to a model's
 * accuracy and what it would cost, and to try a stuck-device compensation without retraining.
 * A float weight matrix W [out, in] is cut into tiles of `rows` inputs x `cols` outputs; each
 * weight is a differential pair of devices (G+ on one bitline, G- on its neighbour, so a tile
 * is physically rows x 2*cols devices) programmed between Goff = 1/Roff and Gon = 1/Ron.
 * Inputs drive the wordlines through DACs, the two bitlines of a pair are subtracted (current
 * mirror) and one signed ADC converts the difference; the partial sums of a column's tiles
 * are added digitally, then the bias. Everything random is drawn from `seed`.
 *
 * Models and assumptions (each a choice, stated where it is made in the code):
 * - Weights: scaled per layer (wmax = max|W| maps to Gon - Goff); `weightBits` b gives each
 *   device 2^b evenly spaced levels from Goff to Gon (so a pair holds 2^(b+1) - 1 signed
 *   values); positive weights program G+, negative G-, the other device stays at Goff.
 * - Inputs: signed inputs run in two phases (positive parts, then negative parts, results
 *   subtracted digitally); the second phase is skipped when the vector has no negative entry.
 *   A phase's DAC is unsigned, b bits over [0, xmax], xmax = max |x| of the calibration
 *   vectors (1 without calibration), clipping above; V = Vread * level.
 * - ADC: signed two's complement mid-tread, b bits, step = Ifs / 2^(b-1), codes clipped to
 *   [-2^(b-1), 2^(b-1) - 1]. Ifs per tile: "calibrated" = the largest |I+ - I-| the programmed
 *   tile produces on the calibration vectors (falls back to worst case without them);
 *   "worst" = Vread * usedRows * (Gon - Goff).
 * - Bits = null switches that quantization off: an exact analog weight, an unclipped DAC,
 *   an ADC that reads the current exactly. Energy then uses 8-bit converter figures.
 * - Programming variation: each programmed device's conductance is multiplied by a lognormal
 *   factor exp(sigma z), z ~ N(0,1), drawn once per device (re-programming keeps it).
 * - Stuck devices: each device independently with probability stuckRate, at Ron with
 *   probability stuckOnFraction else at Roff, exactly (no variation). The same uniform draws
 *   are used at every rate, so the faults at a low rate are a subset of those at a higher one.
 * - Wire resistance, first order: a device sees the driver's source resistance plus rLine per
 *   wire segment to it along its wordline (driver at column 0) and down its bitline (ADC below
 *   the last row): G_eff = G / (1 + G R). Currents of other devices sharing the wires (the
 *   IR drop proper) are ignored.
 * - Energy per MVM: read = sum over driven rows of V^2 * (sum of that row's device
 *   conductances in every tile, padding cells at Goff) * readPulse, per phase; one DAC
 *   conversion per used row per tile per phase (dacEnergyPerBit * bits, b slices); one ADC
 *   conversion per used column per tile per phase (energy from the bits table). Latency per
 *   MVM: tiles work in parallel, phases in sequence, each phase dacTime + readPulse + ceil(cols
 *   / adcsPerTile) conversions. Digital adds, buffers and programming are not counted.
 *
 * Compensation (mine; "pair" does step 1, "full" steps 1 and 2), assuming the stuck devices
 * are known from a read-verify after programming:
 * 1. Pair re-targeting: when one device of a pair is stuck at gs, the partner is programmed to
 *    the level that makes G+ - G- closest to the target (gs - u or gs + u, clamped to the
 *    device range). A stuck-at-Ron device next to a same-signed weight is then exact, where
 *    uncompensated it would add a full-scale error.
 * 2. Correlated residual redistribution: the pair's remaining error e (in units of wmax) adds
 *    e * x_k to its column. From the calibration inputs, x_k is regressed on the `helpers`
 *    inputs most correlated with it among the rows whose pair in that column is healthy;
 *    those weights get -e * beta_j and the column's digital bias -e * wmax * (mean_k -
 *    sum_j beta_j mean_j), so what is left is e * (x_k - its prediction): the intercept alone
 *    removes the mean error, correlated inputs (neighbouring pixels of a patch) much more.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { bad } from "../../compiler/util/errors.js";
import { packageRoot } from "../../compiler/util/paths.js";

export type Compensation = "none" | "pair" | "full";

export interface RramParams {
  rows: number; cols: number;
  weightBits: number | null; dacBits: number | null; adcBits: number | null;
  ron: number; roff: number;
  writeSigma: number; stuckRate: number; stuckOnFraction: number;
  rSource: number; rLine: number;
  adcRange: "calibrated" | "worst";
  readVoltage: number; readPulse: number;
  dacEnergyPerBit: number; dacTime: number;
  /** ADC energy per conversion (J) by bits; outside the table: the nearest entry, doubling per bit above it. */
  adcEnergy: Record<string, number>;
  adcTimeAt8Bits: number; adcsPerTile: number;
  compensation: Compensation; helpers: number; seed: number;
}

/** A device forced into a stuck state (tests), in matrix coordinates: W[out][in]. */
export interface Fault { out: number; in: number; device: "pos" | "neg"; stuck: "on" | "off" }

export interface CrossbarStats { mvms: number; phases: number; readJ: number; dacJ: number; adcJ: number; latencyS: number }

/** Loads device parameters from JSON where every entry is { value, source }. */
export function loadRramParams(file = join(packageRoot(), "targets/rram/default.json")): RramParams {
  const j = JSON.parse(readFileSync(file, "utf8")) as Record<string, { value: unknown }>;
  const p = Object.fromEntries(Object.entries(j).filter(([, v]) => v && typeof v === "object" && "value" in v).map(([k, v]) => [k, v.value]));
  return validateParams(p as unknown as RramParams);
}

/** The same device with every non-ideality and every quantization switched off. */
export function idealParams(p: RramParams): RramParams {
  return { ...p, weightBits: null, dacBits: null, adcBits: null, writeSigma: 0, stuckRate: 0, rSource: 0, rLine: 0, compensation: "none" };
}

/** Throws a one-line error naming the first bad parameter; returns p. */
export function validateParams(p: RramParams): RramParams {
  const need = (ok: boolean, name: string, v: unknown, what: string) => { if (!ok) bad(`rram: ${name} = ${JSON.stringify(v)}: ${what}`); };
  for (const k of ["weightBits", "dacBits", "adcBits"] as const) {
    const v = p[k];
    need(v === null || (Number.isInteger(v) && v >= 1 && v <= 16), k, v, "expected an integer from 1 to 16, or null to switch quantization off");
  }
  for (const k of ["rows", "cols", "adcsPerTile"] as const) need(Number.isInteger(p[k]) && p[k] > 0, k, p[k], "expected a positive integer");
  for (const k of ["ron", "roff", "readVoltage", "readPulse", "adcTimeAt8Bits"] as const) need(Number.isFinite(p[k]) && p[k] > 0, k, p[k], "expected a positive number");
  need(p.ron < p.roff, "ron", p.ron, `must be below roff = ${p.roff} (Ron is the low-resistance state)`);
  for (const k of ["stuckRate", "stuckOnFraction"] as const) need(Number.isFinite(p[k]) && p[k] >= 0 && p[k] <= 1, k, p[k], "expected a fraction in [0, 1]");
  for (const k of ["writeSigma", "rSource", "rLine", "dacEnergyPerBit", "dacTime"] as const) need(Number.isFinite(p[k]) && p[k] >= 0, k, p[k], "expected a number >= 0");
  need(p.adcRange === "calibrated" || p.adcRange === "worst", "adcRange", p.adcRange, "expected \"calibrated\" or \"worst\"");
  need(["none", "pair", "full"].includes(p.compensation), "compensation", p.compensation, "expected \"none\", \"pair\" or \"full\"");
  need(Number.isInteger(p.helpers) && p.helpers >= 0, "helpers", p.helpers, "expected an integer >= 0");
  need(p.adcEnergy && Object.keys(p.adcEnergy).length > 0 && Object.entries(p.adcEnergy).every(([b, e]) => Number.isInteger(+b) && e >= 0), "adcEnergy", p.adcEnergy, "expected { bits: joules } with at least one entry");
  need(Number.isInteger(p.seed), "seed", p.seed, "expected an integer");
  return p;
}

/** ADC energy per conversion at `bits` (table entry; nearest below the table, doubling per bit above it). */
export function adcEnergy(p: RramParams, bits: number): number {
  const keys = Object.keys(p.adcEnergy).map(Number).sort((a, b) => a - b);
  if (p.adcEnergy[bits] !== undefined) return p.adcEnergy[bits];
  if (bits < keys[0]) return p.adcEnergy[keys[0]];
  const below = keys.filter((k) => k < bits).pop()!;
  return p.adcEnergy[below] * 2 ** (bits - below);
}

/** SAR conversion time: one comparator cycle per bit, scaled from the 8-bit figure. */
export function adcTime(p: RramParams, bits: number): number { return (p.adcTimeAt8Bits * bits) / 8; }

/** Calibration vectors of one layer's input (count x K) with lazily computed statistics. */
export class Calibration {
  readonly count: number;
  readonly mean: Float64Array;
  readonly absMax: number;
  readonly variance: Float64Array;
  private covRows = new Map<number, Float64Array>();
  constructor(readonly data: Float64Array, readonly K: number) {
    this.count = data.length / K;
    if (!Number.isInteger(this.count) || this.count < 1) bad(`rram: calibration holds ${data.length} values, not whole vectors of ${K}`);
    this.mean = new Float64Array(K);
    let m = 0;
    for (let i = 0; i < data.length; i++) { this.mean[i % K] += data[i] / this.count; m = Math.max(m, Math.abs(data[i])); }
    this.absMax = m;
    this.variance = new Float64Array(K);
    for (let i = 0; i < data.length; i++) this.variance[i % K] += (data[i] - this.mean[i % K]) ** 2 / this.count;
  }
  /** Covariance of input k with every input. */
  covRow(k: number): Float64Array {
    let r = this.covRows.get(k);
    if (r) return r;
    r = new Float64Array(this.K);
    const { data, K, mean } = this;
    for (let s = 0; s < this.count; s++) {
      const dk = data[s * K + k] - mean[k];
      if (dk !== 0) for (let j = 0; j < K; j++) r[j] += dk * (data[s * K + j] - mean[j]);
    }
    for (let j = 0; j < K; j++) r[j] /= this.count;
    this.covRows.set(k, r);
    return r;
  }
  cov(a: number, b: number): number {
    const { data, K, mean } = this;
    let s = 0;
    for (let i = 0; i < this.count; i++) s += (data[i * K + a] - mean[a]) * (data[i * K + b] - mean[b]);
    return s / this.count;
  }
}

/** mulberry32: small, seeded, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for layer `layer` of run `seed`. */
export function mixSeed(seed: number, layer: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(layer + 1, 0xc2b2ae35)) >>> 0;
}

const STUCK_ON = 1, STUCK_OFF = 2;

export class CrossbarLayer {
  readonly tilesR: number; readonly tilesC: number;
  /** ADC resolution used by run(); may be changed after programming (the ranges do not depend on it). */
  adcBits: number | null;
  readonly stats: CrossbarStats = { mvms: 0, phases: 0, readJ: 0, dacJ: 0, adcJ: 0, latencyS: 0 };
  /** Number of pairs with a stuck device. */
  readonly faultyPairs: number;
  private readonly dG: Float64Array;      // [K][N] effective G+ - G- (S), input-major
  private readonly rowG: Float64Array;    // [K] sum of effective conductances of the row over all its tiles
  private readonly fs: Float64Array;      // [tilesR * tilesC] ADC full-scale current
  private readonly offset: Float64Array;  // [N] digital bias + compensation offset
  private readonly xmax: number; private readonly wmax: number; private readonly gain: number;
  private readonly acc: Float64Array;
  private readonly volt: Float64Array;
  private readonly colTile: Int32Array;
  private stepCache?: Float64Array;
  private stepBits: number | null = null;
  private convJ = 0; private convS = 0;

  constructor(W: ArrayLike<number>, readonly N: number, readonly K: number, readonly p: RramParams,
    opts: { calib?: Calibration; bias?: ArrayLike<number>; faults?: Fault[] } = {}) {
    validateParams(p);
    if (!(Number.isInteger(N) && N > 0 && Number.isInteger(K) && K > 0)) bad(`rram: matrix ${N}x${K}: sizes must be positive integers`);
    if (W.length !== N * K) bad(`rram: weights hold ${W.length} values, expected ${N}x${K}`);
    const { rows, cols } = p, calib = opts.calib;
    if (calib && calib.K !== K) bad(`rram: calibration vectors have ${calib.K} inputs, the layer ${K}`);
    this.adcBits = p.adcBits;
    this.tilesR = Math.ceil(K / rows); this.tilesC = Math.ceil(N / cols);
    const gon = 1 / p.ron, goff = 1 / p.roff, range = gon - goff, NK = N * K;
    let wmax = 0;
    for (let i = 0; i < NK; i++) wmax = Math.max(wmax, Math.abs(W[i]));
    this.wmax = wmax || 1;
    this.xmax = calib && calib.absMax > 0 ? calib.absMax : 1;
    this.gain = (this.xmax * this.wmax) / (p.readVoltage * range);
    const levels = p.weightBits === null ? 0 : 2 ** p.weightBits - 1;
    const quant = (g: number) => { const c = Math.min(1, Math.max(0, g)); return levels ? Math.round(c * levels) / levels : c; };
    // device draws, 4 uniforms per device whatever the parameters: stuck?, on/off, Box-Muller
    const r = rng(p.seed), stuck = new Uint8Array(2 * NK), vari = new Float64Array(2 * NK);
    for (let d = 0; d < 2 * NK; d++) {
      const u = r(), v = r(), z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      if (u < p.stuckRate) stuck[d] = v < p.stuckOnFraction ? STUCK_ON : STUCK_OFF;
      vari[d] = Math.exp(p.writeSigma * z);
    }
    for (const f of opts.faults ?? []) stuck[(f.in * N + f.out) * 2 + (f.device === "pos" ? 0 : 1)] = f.stuck === "on" ? STUCK_ON : STUCK_OFF;
    // normalized targets u in [-1, 1], input-major [k][n]; device levels g in [0, 1]
    const u = new Float64Array(NK), gp = new Float64Array(NK), gm = new Float64Array(NK), err = new Float64Array(NK);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) u[k * N + n] = W[n * K + k] / this.wmax;
    const sv = (s: number) => (s === STUCK_ON ? 1 : 0);
    let faulty = 0;
    for (let i = 0; i < NK; i++) {
      const sp = stuck[2 * i], sm = stuck[2 * i + 1];
      gp[i] = sp ? sv(sp) : quant(Math.max(u[i], 0));
      gm[i] = sm ? sv(sm) : quant(Math.max(-u[i], 0));
      if (!sp && !sm) continue;
      faulty++;
      if (p.compensation !== "none") { // step 1: pair re-targeting
        if (sp && !sm) gm[i] = quant(sv(sp) - u[i]);
        if (sm && !sp) gp[i] = quant(sv(sm) + u[i]);
      }
      err[i] = gp[i] - gm[i] - u[i];
    }
    this.faultyPairs = faulty;
    this.offset = new Float64Array(N);
    if (opts.bias) for (let n = 0; n < N; n++) this.offset[n] = opts.bias[n];
    if (p.compensation === "full" && calib) this.redistribute(u, err, stuck, calib, gp, gm, quant);
    // effective conductances with variation and first-order wire resistance
    this.dG = new Float64Array(NK); this.rowG = new Float64Array(K);
    const wire = (k: number, pc: number) => p.rSource + p.rLine * (pc + 1) + p.rLine * (rows - (k % rows));
    const eff = (g: number, R: number) => g / (1 + g * R);
    for (let k = 0; k < K; k++) {
      for (let n = 0; n < N; n++) {
        const i = k * N + n, j = n % cols;
        const Gp = stuck[2 * i] ? 1 / (stuck[2 * i] === STUCK_ON ? p.ron : p.roff) : (goff + gp[i] * range) * vari[2 * i];
        const Gm = stuck[2 * i + 1] ? 1 / (stuck[2 * i + 1] === STUCK_ON ? p.ron : p.roff) : (goff + gm[i] * range) * vari[2 * i + 1];
        const ep = eff(Gp, wire(k, 2 * j)), em = eff(Gm, wire(k, 2 * j + 1));
        this.dG[i] = ep - em;
        this.rowG[k] += ep + em;
      }
      for (let j = N - (this.tilesC - 1) * cols; j < cols; j++) this.rowG[k] += eff(goff, wire(k, 2 * j)) + eff(goff, wire(k, 2 * j + 1)); // padding cells
    }
    this.acc = new Float64Array(N);
    this.volt = new Float64Array(K);
    this.colTile = Int32Array.from({ length: N }, (_, n) => Math.floor(n / cols));
    // ADC full scale per tile
    this.fs = new Float64Array(this.tilesR * this.tilesC);
    for (let t = 0; t < this.fs.length; t++) this.fs[t] = p.readVoltage * Math.min(rows, K - Math.floor(t / this.tilesC) * rows) * range;
    if (p.adcRange === "calibrated" && calib) {
      const seen = new Float64Array(this.fs.length);
      for (let s = 0; s < calib.count; s++) for (const sign of [1, -1]) this.phase(calib.data, s * K, sign, this.acc, 0, seen);
      for (let t = 0; t < seen.length; t++) if (seen[t] > 0) this.fs[t] = seen[t];
      this.stepCache = undefined;
    }
  }

  /** Step 2 of the compensation: regress each residual's input on correlated healthy rows. */
  private redistribute(u: Float64Array, err: Float64Array, stuck: Uint8Array, c: Calibration,
    gp: Float64Array, gm: Float64Array, quant: (g: number) => number): void {
    const { N, K } = this, h = this.p.helpers, adj = new Float64Array(N * K);
    const healthy = (i: number) => !stuck[2 * i] && !stuck[2 * i + 1];
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) {
      const e = err[k * N + n];
      if (e === 0) continue;
      const cr = c.covRow(k);
      const J: number[] = [];
      if (cr[k] > 0 && h > 0) {
        const score = (j: number) => Math.abs(cr[j]) / Math.sqrt(c.variance[j]);
        const cand = [];
        for (let j = 0; j < K; j++) if (j !== k && cr[j] !== 0 && c.variance[j] > 0 && healthy(j * N + n)) cand.push(j);
        J.push(...cand.sort((a, b) => score(b) - score(a) || a - b).slice(0, h));
      }
      const beta = solve(J.map((a) => J.map((b) => c.cov(a, b))), J.map((j) => cr[j]));
      let pred = c.mean[k];
      J.forEach((j, t) => { adj[j * N + n] -= e * beta[t]; pred -= beta[t] * c.mean[j]; });
      this.offset[n] -= e * this.wmax * pred;
    }
    for (let i = 0; i < N * K; i++) if (adj[i] !== 0) {
      const t = Math.min(1, Math.max(-1, u[i] + adj[i]));
      gp[i] = quant(Math.max(t, 0)); gm[i] = quant(Math.max(-t, 0));
    }
  }

  /**
   * One phase of one MVM on x[xo .. xo+K): DACs, column currents per tile, then either the
   * ADCs adding sign * code * step * gain into y[yo ..] or (calibration, `seen` given) the
   * largest |current| per tile. Returns sum over rows of V^2 * row conductance.
   */
  private phase(x: ArrayLike<number>, xo: number, sign: number, y: Float64Array, yo: number, seen?: Float64Array): number {
    const { N, K, acc, dG, volt, rowG, colTile, tilesC, gain } = this, rows = this.p.rows;
    const b = this.p.dacBits, L = b === null ? 0 : 2 ** b - 1, vr = this.p.readVoltage, sx = sign / this.xmax;
    let e = 0, any = false;
    for (let k = 0; k < K; k++) {
      // DAC: unsigned, b bits over [0, xmax] (this phase's part of the input), clipped above
      const r = x[xo + k] * sx, v = r <= 0 ? 0 : L === 0 ? vr * r : (vr * Math.min(Math.round(r * L), L)) / L;
      volt[k] = v;
      if (v !== 0) { e += v * v * rowG[k]; any = true; }
    }
    if (!any) return 0;
    const steps = seen ? this.fs : this.steps(), half = this.adcBits === null ? 0 : 2 ** (this.adcBits - 1);
    for (let tr = 0; tr < this.tilesR; tr++) {
      acc.fill(0);
      for (let k = tr * rows, k1 = Math.min(K, k + rows); k < k1; k++) {
        const v = volt[k];
        if (v !== 0) for (let n = 0, o = k * N; n < N; n++) acc[n] += v * dG[o + n]; // undriven rows draw no current
      }
      const t0 = tr * tilesC;
      if (seen) { for (let n = 0; n < N; n++) seen[t0 + colTile[n]] = Math.max(seen[t0 + colTile[n]], Math.abs(acc[n])); continue; }
      for (let n = 0; n < N; n++) {
        const st = steps[t0 + colTile[n]];
        // signed mid-tread ADC: codes clipped to [-2^(b-1), 2^(b-1) - 1]
        const i = st === 0 ? acc[n] : Math.min(half - 1, Math.max(-half, Math.round(acc[n] / st))) * st;
        y[yo + n] += sign * i * gain;
      }
    }
    return e;
  }

  /** Per tile: the ADC step at the current adcBits (0 = exact). */
  private steps(): Float64Array {
    if (this.stepCache && this.stepBits === this.adcBits) return this.stepCache;
    const b = this.adcBits;
    this.stepBits = b;
    this.convJ = adcEnergy(this.p, b ?? 8);
    this.convS = adcTime(this.p, b ?? 8);
    return (this.stepCache = this.fs.map((f) => (b === null ? 0 : f / 2 ** (b - 1))));
  }

  /** One matrix-vector product y = W x + bias (float64), accumulating energy and latency. */
  run(x: ArrayLike<number>): Float64Array {
    if (x.length !== this.K) bad(`rram: input has ${x.length} values, the layer ${this.K}`);
    return this.runMany(x, 1);
  }

  /** `count` MVMs of the vectors x[i*K ..]: outputs [count][N]. */
  runMany(x: ArrayLike<number>, count: number): Float64Array {
    const { N, K, p } = this;
    if (x.length < count * K) bad(`rram: ${count} input vectors need ${count * K} values, got ${x.length}`);
    const y = new Float64Array(count * N);
    this.steps();
    const perPhase = p.dacTime + p.readPulse + Math.ceil(Math.min(p.cols, N) / p.adcsPerTile) * this.convS;
    const dacJ = this.tilesC * K * p.dacEnergyPerBit * (p.dacBits ?? 8), adcJ = this.tilesR * N * this.convJ;
    for (let s = 0; s < count; s++) {
      y.set(this.offset, s * N);
      let phases = 1;
      for (let k = s * K, k1 = k + K; k < k1; k++) if (x[k] < 0) { phases = 2; break; }
      let e = this.phase(x, s * K, 1, y, s * N);
      if (phases === 2) e += this.phase(x, s * K, -1, y, s * N);
      const st = this.stats;
      st.mvms++; st.phases += phases; st.readJ += p.readPulse * e;
      st.dacJ += phases * dacJ; st.adcJ += phases * adcJ; st.latencyS += phases * perPhase;
    }
    return y;
  }

  resetStats(): void { Object.assign(this.stats, { mvms: 0, phases: 0, readJ: 0, dacJ: 0, adcJ: 0, latencyS: 0 }); }
}

/** Solves a small symmetric system (ridge 1e-9 of the trace) by Gaussian elimination. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  if (n === 0) return [];
  const tr = A.reduce((s, r, i) => s + r[i], 0);
  const M = A.map((r, i) => [...r.map((v, j) => v + (i === j ? 1e-9 * tr + 1e-300 : 0)), b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    if (M[c][c] === 0) return new Array(n).fill(0);
    for (let r = 0; r < n; r++) if (r !== c) { const f = M[r][c] / M[c][c]; for (let j = c; j <= n; j++) M[r][j] -= f * M[c][j]; }
  }
  return M.map((r, i) => r[n] / r[i]);
}
