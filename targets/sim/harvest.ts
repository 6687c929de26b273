/**
 * Capacitor and harvested-power models for a power-failure (intermittent computing)
 * simulator. A batteryless device runs from a capacitor C: it switches on when the voltage
 * reaches Von, runs until it falls to the brown-out voltage Voff (a power failure), then stays
 * off while the harvester recharges the capacitor to Von. Energy is counted above brown-out:
 * E(V) = 1/2 C (V^2 - Voff^2), so a device that has just switched on holds
 * usableJoules = 1/2 C (Von^2 - Voff^2) and fails when E reaches 0. The harvested power P(t)
 * is what reaches the capacitor (after the harvester's converter), and every source here is
 * piecewise constant and periodic (a constant is one segment, a square wave two, a CSV trace
 * one per row), so the questions a simulator asks (how much energy between two times, when
 * has enough been collected, when does a device drawing a constant power brown out) are
 * answered exactly, segment by segment, with no time step: a period that loses (or gains)
 * energy without touching a limit repeats the same way, so whole periods are skipped at once
 * and a long off time costs a few periods of work, not its length divided by a step.
 *
 * Spec syntax (what --capacitor and --harvest accept):
 *   capacitor  <C>[,on=<V>][,off=<V>][,leak=<I>][,max=<V>]
 *              C in F, mF, uF (or µF) or nF; volts with or without the V; I in A, mA, uA or nA.
 *              Defaults on=3.0V, off=1.8V, no leak, no maximum voltage. Examples: 100uF,
 *              47uF,on=3.3V,off=2.0V, 1mF,on=2.5,off=1.9, 100uF,leak=1uA,max=4.2V.
 *              leak is a constant current, charged as the constant power leak x Von, on
 *              and off (an upper bound while the voltage is at most Von).
 *              max: the harvester stops charging there (excess power is lost); without it
 *              the capacitor is ideal and banks whatever it is given.
 *   harvest    constant:<P> (or just <P>)   P in W, mW, uW (or µW) or nW; 0 is allowed
 *              periodic:<P>,on=<t>,period=<t>[,phase=<t>]   t in s, ms or us (or µs): P while
 *                (time - phase) mod period < on, else 0. Example: periodic:2mW,on=50ms,period=200ms
 *              csv:<file>   (relative to the working directory) rows time_s,power_W, watts
 *                without a unit (one header line is allowed, blank lines are skipped). The first row is at time 0; each row's power holds until the next
 *                row's time, and the last row's for as long as the interval before it, so a
 *                trace sampled every dt with N rows lasts N dt. Then it repeats from its
 *                start. A single row is a constant power.
 */
import { readFileSync } from "node:fs";
import { bad, internal } from "../../compiler/util/errors.js";

/** A harvested power P(t) in watts at the capacitor; t in seconds, any finite value. */
export interface Harvest {
  /** The spec it was parsed from. */
  readonly text: string;
  /** P(t + period) = P(t) (1 s for a constant). */
  readonly period: number;
  /** Mean power over a period. */
  readonly averageWatts: number;
  /** P(t) (a segment's power from its start time, inclusive, to its end, exclusive). */
  power(t: number): number;
  /** Joules harvested in [t0, t1]. */
  energy(t0: number, t1: number): number;
  /**
   * The earliest t1 >= t0 with energy(t0, t1) - drainWatts (t1 - t0) >= joules. With a drain
   * the running total may dip first; `maxDeficit` (default unbounded) is the most it can dip
   * (an empty capacitor cannot lose more). Throws a one-line error when it is never reached.
   */
  timeToCollect(t0: number, joules: number, drainWatts?: number, maxDeficit?: number): number;
  /**
   * Seconds Δ until stored + energy(t0, t0 + Δ) - activeWatts Δ reaches 0 while falling
   * (Infinity if it never does). With `maxJoules` the stored energy is clipped there: what
   * is harvested above it is lost. A stored energy of 0 that is rising does not brown out.
   * Exact up to rounding: reaching within 1e-12 of the energy moved counts as reaching 0,
   * and a period whose net gain is that small counts as balanced (never browns out).
   */
  runUntilBrownOut(t0: number, storedJoules: number, activeWatts: number, maxJoules?: number): number;
  /**
   * Runs for `seconds` or until brown-out, whichever comes first: the time run, the stored
   * energy then (0 at a brown-out) and whether it browned out. `seconds` may be Infinity.
   */
  run(t0: number, storedJoules: number, activeWatts: number, seconds: number, maxJoules?: number): { seconds: number; stored: number; brownOut: boolean };
}

/** A storage capacitor between brown-out and turn-on; energies are joules above Voff. */
export class Capacitor {
  /** 1/2 C (Von^2 - Voff^2): what a device that has just switched on can spend. */
  readonly usableJoules: number;
  /** leakAmps x Von, drawn whether the device is on or off. */
  readonly leakWatts: number;
  /** Energy at the maximum voltage (Infinity without one). */
  readonly maxJoules: number;

  constructor(readonly farads: number, readonly von: number, readonly voff: number,
    readonly leakAmps = 0, readonly vmax = Infinity, readonly text = `${farads} F`) {
    if (!(farads > 0 && Number.isFinite(farads))) bad(`capacitor: capacitance must be positive and finite, got ${farads}`);
    if (!(voff >= 0 && von > voff && Number.isFinite(von))) bad(`capacitor: need 0 <= off < on, got on=${von} V off=${voff} V`);
    if (!(leakAmps >= 0 && Number.isFinite(leakAmps)) || !(vmax >= von)) bad(`capacitor: need leak >= 0 and max >= on, got leak=${leakAmps} A max=${vmax} V`);
    this.usableJoules = this.joulesAt(von);
    this.leakWatts = leakAmps * von;
    this.maxJoules = vmax === Infinity ? Infinity : this.joulesAt(vmax);
  }

  /** Energy above brown-out at `volts`: 1/2 C (V^2 - Voff^2), negative below Voff. */
  joulesAt(volts: number): number {
    return 0.5 * this.farads * (volts * volts - this.voff * this.voff);
  }

  /** The voltage that holds `joules` above brown-out. */
  voltsAt(joules: number): number {
    return Math.sqrt(this.voff * this.voff + (2 * joules) / this.farads);
  }

  /**
   * Seconds off from t0 until the harvest (less the leak) has charged the capacitor from
   * `fromJoules` (default 0: just browned out; `joulesAt(0)` for a cold start) to Von.
   */
  timeOff(h: Harvest, t0: number, fromJoules = 0): number {
    return h.timeToCollect(t0, this.usableJoules - fromJoules, this.leakWatts, fromJoules - this.joulesAt(0)) - t0;
  }

  /** Seconds on from t0 drawing `activeWatts` (plus the leak) from `stored` (default: full) until brown-out. */
  timeOn(h: Harvest, t0: number, activeWatts: number, stored = this.usableJoules): number {
    return h.runUntilBrownOut(t0, stored, activeWatts + this.leakWatts, this.maxJoules);
  }

  /** Harvest.run with the leak added and the energy clipped at the maximum voltage. */
  run(h: Harvest, t0: number, stored: number, activeWatts: number, seconds: number): { seconds: number; stored: number; brownOut: boolean } {
    return h.run(t0, stored, activeWatts + this.leakWatts, seconds, this.maxJoules);
  }
}

type Units = Record<string, number>;
// each unit's divisor: 100 / 1e6 is the double nearest 1e-4, where 100 x 1e-6 is not
const FARADS: Units = { F: 1, mF: 1e3, uF: 1e6, nF: 1e9 };
const VOLTS: Units = { "": 1, V: 1 };
const AMPS: Units = { A: 1, mA: 1e3, uA: 1e6, nA: 1e9 };
const WATTS: Units = { W: 1, mW: 1e3, uW: 1e6, nW: 1e9 };
const SECONDS: Units = { s: 1, ms: 1e3, us: 1e6 };
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/i;
const NOT_FINITE = /^[+-]?(?:inf(?:inity)?|nan)\b/i;

/** `text` as a finite quantity in one of `units`, at least 0 (above 0 if `positive`). */
function quantity(text: string, units: Units, what: string, ctx: string, positive = false): number {
  const t = text.trim().replace(/[µμ]/g, "u");
  const m = NUMBER.exec(t);
  const names = Object.keys(units).filter(Boolean).join(", ");
  if (!m) {
    if (NOT_FINITE.test(t)) bad(`${ctx}: ${what} '${text.trim()}' is not a finite number`);
    bad(`${ctx}: expected a ${what} (a number with ${names}), got '${text.trim()}'`);
  }
  const unit = t.slice(m[0].length).trim();
  if (!(unit in units)) bad(unit ? `${ctx}: unknown unit '${unit}' in ${what} '${text.trim()}' (use ${names})` : `${ctx}: ${what} '${text.trim()}' needs a unit (${names})`);
  const v = Number(m[0]) / units[unit];
  if (!Number.isFinite(v)) bad(`${ctx}: ${what} '${text.trim()}' is not a finite number`);
  if (v < 0 || (positive && v === 0)) bad(`${ctx}: ${what} must be ${positive ? "positive" : "non-negative"}, got '${text.trim()}'`);
  return v;
}

/** `key=value` parts into a map, refusing unknown and repeated keys. */
function options(ctx: string, parts: string[], known: string[]): Map<string, string> {
  const o = new Map<string, string>();
  for (const p of parts) {
    const m = /^\s*([a-z]+)\s*=(.*)$/i.exec(p);
    if (!m) bad(`${ctx}: expected key=value after the first comma, got '${p.trim()}'`);
    const k = m[1].toLowerCase();
    if (!known.includes(k)) bad(`${ctx}: unknown option '${m[1]}' (known: ${known.join(", ")})`);
    if (o.has(k)) bad(`${ctx}: '${k}' given twice`);
    o.set(k, m[2]);
  }
  return o;
}

/** '100uF', '47uF,on=3.3V,off=2.0V', '1mF,on=2.5,off=1.9,leak=1uA,max=4.2V' (see the top of the file). */
export function parseCapacitor(spec: string): Capacitor {
  const ctx = `--capacitor '${spec}'`;
  const [first, ...rest] = spec.split(",");
  if (!first.trim()) bad(`${ctx}: expected a capacitance like 100uF or 47uF,on=3.3V,off=2.0V`);
  const farads = quantity(first, FARADS, "capacitance", ctx, true);
  const o = options(ctx, rest, ["on", "off", "leak", "max"]);
  const names: Record<string, string> = { on: "turn-on voltage", off: "brown-out voltage", max: "maximum voltage" };
  const volts = (k: string, dflt: number) => (o.has(k) ? quantity(o.get(k)!, VOLTS, names[k], ctx) : dflt);
  const von = volts("on", 3.0), voff = volts("off", 1.8), vmax = volts("max", Infinity);
  if (!(von > voff)) bad(`${ctx}: the turn-on voltage (on=${von} V) must be above the brown-out voltage (off=${voff} V)`);
  if (vmax < von) bad(`${ctx}: the maximum voltage (max=${vmax} V) is below the turn-on voltage (on=${von} V)`);
  const leak = o.has("leak") ? quantity(o.get("leak")!, AMPS, "leakage current", ctx) : 0;
  return new Capacitor(farads, von, voff, leak, vmax, spec.trim());
}

/** 'constant:1mW' (or '1mW'), 'periodic:2mW,on=50ms,period=200ms[,phase=t]', 'csv:file' (see the top of the file). */
export function parseHarvest(spec: string): Harvest {
  const ctx = `--harvest '${spec}'`;
  const m = /^\s*([a-z]+):(.*)$/i.exec(spec);
  if (!m) {
    if (/^\s*[a-z]+\s*$/i.test(spec)) bad(`${ctx}: unknown harvest kind '${spec.trim()}' (use constant:<P>, periodic:<P>,on=<t>,period=<t> or csv:<file>)`);
    return constant(spec, quantity(spec, WATTS, "power", ctx));
  }
  const kind = m[1].toLowerCase(), body = m[2];
  if (kind === "constant") return constant(spec, quantity(body, WATTS, "power", ctx));
  if (kind === "csv") {
    if (!body.trim()) bad(`${ctx}: expected csv:<file>`);
    return readTrace(spec.trim(), body.trim());
  }
  if (kind !== "periodic") bad(`${ctx}: unknown harvest kind '${m[1]}' (use constant:<P>, periodic:<P>,on=<t>,period=<t> or csv:<file>)`);
  const [first, ...rest] = body.split(",");
  const watts = quantity(first, WATTS, "power", ctx);
  const o = options(ctx, rest, ["on", "period", "phase"]);
  if (!o.has("on") || !o.has("period")) bad(`${ctx}: periodic needs on=<time> and period=<time>, e.g. periodic:2mW,on=50ms,period=200ms`);
  const on = quantity(o.get("on")!, SECONDS, "on time", ctx);
  const period = quantity(o.get("period")!, SECONDS, "period", ctx, true);
  const phase = o.has("phase") ? quantity(o.get("phase")!, SECONDS, "phase", ctx) : 0;
  if (on > period) bad(`${ctx}: the on time (${on} s) is longer than the period (${period} s)`);
  if (on === 0 || watts === 0) return new Piecewise(spec.trim(), [0], [0], period, phase);
  if (on === period) return new Piecewise(spec.trim(), [0], [watts], period, phase);
  return new Piecewise(spec.trim(), [0, on], [watts, 0], period, phase);
}

function constant(spec: string, watts: number): Harvest {
  return new Piecewise(spec.trim(), [0], [watts], 1);
}

/** A CSV trace of time_s,power_W rows; errors name file:line. */
function readTrace(spec: string, path: string): Harvest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    bad(`${path}: cannot read the harvest trace (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const times: number[] = [], watts: number[] = [];
  let seenLine = false;
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    const at = `${path}:${i + 1}`, f = line.split(",").map((x) => x.trim());
    if (!seenLine && !NUMBER.test(f[0]) && !NOT_FINITE.test(f[0])) { seenLine = true; continue; } // header
    seenLine = true;
    if (f.length !== 2) bad(`${at}: expected 2 columns (time_s,power_W), found ${f.length}`);
    const t = csvNumber(f[0], "time", at), p = csvNumber(f[1], "power", at);
    if (t < 0) bad(`${at}: negative time ${f[0]}`);
    if (times.length === 0 && t !== 0) bad(`${at}: the trace must start at time 0, not ${f[0]}`);
    if (times.length > 0 && t <= times[times.length - 1]) bad(`${at}: time ${f[0]} is not after the previous row's ${times[times.length - 1]}`);
    if (p < 0) bad(`${at}: negative power ${f[1]}`);
    times.push(t);
    watts.push(p);
  }
  const n = times.length;
  if (n === 0) bad(`${path}: empty harvest trace (no time_s,power_W rows)`);
  // the last row lasts as long as the interval before it; a single row is a constant
  const period = n === 1 ? 1 : 2 * times[n - 1] - times[n - 2];
  return new Piecewise(spec, times, watts, period);
}

function csvNumber(x: string, what: string, at: string): number {
  if (!x) bad(`${at}: empty ${what}`);
  const m = NUMBER.exec(x);
  if (!m || m[0].length !== x.length) bad(NOT_FINITE.test(x) ? `${at}: ${what} '${x}' is not a finite number` : `${at}: ${what} '${x}' is not a number`);
  const v = Number(x);
  if (!Number.isFinite(v)) bad(`${at}: ${what} '${x}' is not a finite number`);
  return v;
}

/** P(t) = watts[i] for starts[i] <= (t - shift) mod period < starts[i + 1] (or period). */
class Piecewise implements Harvest {
  readonly averageWatts: number;
  /** Energy from the start of a period to starts[i]; cum[n] is a whole period's. */
  private readonly cum: number[] = [0];

  constructor(readonly text: string, private readonly starts: number[], private readonly watts: number[],
    readonly period: number, private readonly shift = 0) {
    for (let i = 0; i < starts.length; i++) this.cum.push(this.cum[i] + watts[i] * (this.end(i) - starts[i]));
    this.averageWatts = this.cum[starts.length] / period;
  }

  private end(i: number): number {
    return i + 1 < this.starts.length ? this.starts[i + 1] : this.period;
  }

  /** t as k whole periods plus an offset r in [0, period] (r = period only by rounding). */
  private locate(t: number): { k: number; r: number; i: number } {
    const u = t - this.shift, T = this.period, k = Math.floor(u / T);
    const r = Math.min(T, Math.max(0, u - k * T));
    let lo = 0, hi = this.starts.length - 1; // the last segment starting at or before r
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= r) lo = mid; else hi = mid - 1;
    }
    return { k, r, i: lo };
  }

  power(t: number): number {
    finite({ t });
    return this.watts[this.locate(t).i];
  }

  /** Joules from time 0 (the shift) to t; continuous, so rounding in locate moves it by rounding only. */
  private cumulative(t: number): number {
    const { k, r, i } = this.locate(t);
    return k * this.cum[this.starts.length] + this.cum[i] + this.watts[i] * (r - this.starts[i]);
  }

  energy(t0: number, t1: number): number {
    finite({ t0, t1 });
    if (t1 < t0) bad(`harvest energy: the interval [${t0}, ${t1}] ends before it starts`);
    return t1 === t0 ? 0 : Math.max(0, this.cumulative(t1) - this.cumulative(t0));
  }

  timeToCollect(t0: number, joules: number, drainWatts = 0, maxDeficit = Infinity): number {
    finite({ t0, joules, drainWatts });
    if (drainWatts < 0 || !(maxDeficit >= 0)) bad(`harvest: drain (${drainWatts} W) and maximum deficit (${maxDeficit} J) must be non-negative`);
    if (joules <= 0) return t0;
    // s = what is still to collect: it falls at P - drain and is 0 when enough is in
    const w = this.walk(t0, joules, (p) => drainWatts - p, joules + maxDeficit, Infinity);
    if (!w.brownOut) {
      bad(`--harvest '${this.text}' never delivers ${si(joules, "J")} from t = ${t0} s: it averages ${si(this.averageWatts, "W")}` +
        (drainWatts > 0 ? ` against a drain of ${si(drainWatts, "W")}` : ""));
    }
    return t0 + w.seconds;
  }

  runUntilBrownOut(t0: number, storedJoules: number, activeWatts: number, maxJoules = Infinity): number {
    return this.run(t0, storedJoules, activeWatts, Infinity, maxJoules).seconds;
  }

  run(t0: number, storedJoules: number, activeWatts: number, seconds: number, maxJoules = Infinity): { seconds: number; stored: number; brownOut: boolean } {
    finite({ t0, storedJoules, activeWatts });
    if (storedJoules < 0 || activeWatts < 0 || !(seconds >= 0)) bad(`harvest: stored energy (${storedJoules} J), power (${activeWatts} W) and duration (${seconds} s) must be non-negative`);
    if (!(maxJoules >= storedJoules)) bad(`harvest: stored energy ${storedJoules} J is above the maximum ${maxJoules} J`);
    const w = this.walk(t0, storedJoules, (p) => p - activeWatts, maxJoules, seconds);
    return { seconds: w.seconds, stored: w.s, brownOut: w.brownOut };
  }

  /**
   * The exact core. s starts at s0 at time t0 and changes at rate(P) over each constant piece,
   * clipped at `ceil`; stops when it falls to 0 (brownOut) or after `limit` seconds. Works a
   * period (from t0) at a time. A period that ends where it started, or higher with no limit,
   * means s never falls to 0 (every later period starts at least as high, and s is monotone in
   * its start). A period that never touched the ceiling repeats shifted by its gain, so whole
   * periods are skipped up to the one that falls to 0, reaches the ceiling or the limit. A
   * period that touched the ceiling is followed by one that ends where it started (both are at
   * the ceiling at the same moment, identical after) or by one that does not touch it.
   */
  private walk(t0: number, s0: number, rate: (watts: number) => number, ceil: number, limit: number): { seconds: number; s: number; brownOut: boolean } {
    const { r: r0, i: i0 } = this.locate(t0), n = this.starts.length, T = this.period;
    const pieces: [number, number][] = [[this.end(i0) - r0, this.watts[i0]]];
    for (let j = 1; j < n; j++) { const i = (i0 + j) % n; pieces.push([this.end(i) - this.starts[i], this.watts[i]]); }
    if (r0 > this.starts[i0]) pieces.push([r0 - this.starts[i0], this.watts[i0]]);
    let periods = 0, s = s0, moved = 0; // moved: |energy| changed so far, the scale of rounding
    for (let guard = 0; guard < 1000; guard++) {
      const start = s;
      let e = 0, low = 0, high = 0, flow = 0, touched = false;
      for (const [d, p] of pieces) {
        const r = rate(p), now = periods * T + e, dd = Math.max(0, Math.min(d, limit - now));
        // 0 within rounding counts: 1 J from 1e-4 J periods ends with an on part, not after it
        if (r < 0 && s + r * dd <= 1e-12 * (s0 + moved)) return { seconds: now + Math.min(dd, s / -r), s: 0, brownOut: true };
        s += r * dd;
        flow += Math.abs(r * dd);
        moved += Math.abs(r * dd);
        if (s >= ceil) { s = ceil; touched = true; }
        e += dd;
        low = Math.min(low, s - start);
        high = Math.max(high, s - start);
        if (dd < d) return { seconds: limit, s, brownOut: false };
      }
      periods++;
      // a gain within rounding of the energy moved is none (a harvest that exactly balances)
      const gain = Math.abs(s - start) <= 1e-12 * flow ? 0 : s - start, left = Math.floor((limit - periods * T) / T);
      if (gain === 0 || (gain > 0 && limit === Infinity)) {
        if (limit === Infinity) return { seconds: Infinity, s, brownOut: false };
        if (gain === 0) periods += Math.max(0, left);
      } else if (!touched) {
        // later periods repeat this one shifted by `gain`; skip to one period before the
        // first that falls to 0 (s + j gain + low <= 0) or reaches the ceiling
        const j = gain < 0 ? Math.ceil((s + low) / -gain) : Math.floor((ceil - s - high) / gain);
        const k = Math.max(0, Math.min(j - 1, left));
        periods += k;
        s += k * gain;
        moved += k * flow;
      }
    }
    return internal(`harvest '${this.text}': the exact walk from t = ${t0} s did not settle`);
  }
}

function finite(args: Record<string, number>): void {
  for (const [k, v] of Object.entries(args)) if (!Number.isFinite(v)) bad(`harvest: ${k} must be a finite number, got ${v}`);
}

function si(x: number, unit: string): string {
  for (const [k, prefix] of [[1, ""], [1e-3, "m"], [1e-6, "u"], [1e-9, "n"]] as const) {
    if (Math.abs(x) >= k) return `${+(x / k).toPrecision(4)} ${prefix}${unit}`;
  }
  return x === 0 ? `0 ${unit}` : `${x.toExponential(3)} ${unit}`;
}
