// The capacitor and harvested-power models of the power-failure simulator (targets/sim/harvest.ts):
// - capacitor specs give C, Von, Voff and 1/2 C (Von^2 - Voff^2), with units, defaults,
//   leakage (as leak x Von watts) and a maximum voltage;
// - constant, periodic and CSV sources give the energy between two times, the time to collect
//   an amount and the time to brown-out of a constant load, every number worked out by hand
//   below, including partial periods, a CSV trace across its repeat, brown-outs that land on
//   a segment boundary, long runs that skip whole periods, and the clipping at a maximum;
// - every bad spec, trace row and argument is a one-line error (exit code 2) naming it.
import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Capacitor, parseCapacitor, parseHarvest } from "../../targets/sim/harvest.js";
import { PicoError } from "../../compiler/util/errors.js";

const dir = mkdtempSync(join(tmpdir(), "harvest-"));
let files = 0;
function csv(text: string): string {
  const path = join(dir, `t${files++}.csv`);
  writeFileSync(path, text);
  return path;
}
/** |a - b| <= 1e-12 of max(|b|, 1e-9) (exact up to rounding). */
function near(a: number, b: number): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(b), 1e-9));
}
function fails(f: () => unknown, message: RegExp): void {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err, `expected an error matching ${message}`).toBeInstanceOf(PicoError);
  expect((err as PicoError).exitCode).toBe(2);
  expect((err as PicoError).message).toMatch(message);
  expect((err as PicoError).message).not.toMatch(/\n/);
}

describe("capacitor", () => {
  it("parses C, on, off with units and defaults; usable energy worked by hand", () => {
    const c = parseCapacitor("100uF");
    // 1/2 x 100e-6 x (3.0^2 - 1.8^2) = 50e-6 x (9 - 3.24) = 50e-6 x 5.76 = 2.88e-4 J
    expect([c.farads, c.von, c.voff, c.leakAmps]).toEqual([100e-6, 3.0, 1.8, 0]);
    near(c.usableJoules, 2.88e-4);
    // 1/2 x 47e-6 x (3.3^2 - 2.0^2) = 23.5e-6 x 6.89 = 1.61915e-4 J
    const d = parseCapacitor("47uF,on=3.3V,off=2.0V");
    expect([d.farads, d.von, d.voff]).toEqual([47e-6, 3.3, 2.0]);
    near(d.usableJoules, 1.61915e-4);
    // volts without a unit: 1/2 x 1e-3 x (2.5^2 - 1.9^2) = 0.5e-3 x (6.25 - 3.61) = 1.32e-3 J
    near(parseCapacitor("1mF,on=2.5,off=1.9").usableJoules, 1.32e-3);
    near(parseCapacitor("0.22µF").farads, 0.22e-6);
    near(parseCapacitor(" 2.2nF , off=1V ").farads, 2.2e-9);
    expect(parseCapacitor("1F").farads).toBe(1);
    // energy above brown-out and back: 3 V holds the usable energy, 0 V is -1/2 C Voff^2
    near(c.voltsAt(c.usableJoules), 3.0);
    near(c.joulesAt(0), -0.5 * 100e-6 * 3.24); // -1.62e-4 J
    expect(c.maxJoules).toBe(Infinity);
  });

  it("leakage is leak x Von watts; max= gives the clipping energy", () => {
    const c = parseCapacitor("100uF,leak=10uA,max=4.2V");
    near(c.leakWatts, 10e-6 * 3.0); // 3e-5 W
    // 1/2 x 100e-6 x (4.2^2 - 1.8^2) = 50e-6 x (17.64 - 3.24) = 50e-6 x 14.4 = 7.2e-4 J
    near(c.maxJoules, 7.2e-4);
    const h = parseHarvest("constant:1mW");
    // off: 1 mW in, 30 uW leaking: 2.88e-4 / 0.97e-3 = 0.29690721649... s
    near(c.timeOff(h, 5), 2.88e-4 / 0.97e-3);
    // on at 1 mW with no harvest: 2.88e-4 / (1e-3 + 3e-5) = 0.27961165... s
    near(c.timeOn(parseHarvest("0W"), 0, 1e-3), 2.88e-4 / 1.03e-3);
  });

  it("a cold start charges from 0 V: 1/2 x 100e-6 x 3^2 = 4.5e-4 J at 1 mW is 0.45 s", () => {
    const c = parseCapacitor("100uF");
    near(c.timeOff(parseHarvest("1mW"), 2, c.joulesAt(0)), 0.45);
    near(c.timeOff(parseHarvest("1mW"), 2), 0.288); // from Voff: 2.88e-4 J / 1 mW
  });

  it("an empty capacitor loses no more to the leak (the deficit floor)", () => {
    // 100uF, leak 100 uA x 3 V = 0.3 mW; 100 mW for 10 ms every second, off from t0 = 0.01.
    // Floor: the capacitor empties at -1/2 C Voff^2 = -1.62e-4 J (0.54 s later) and stays
    // there, so at t = 1 it needs 2.88e-4 + 1.62e-4 = 4.5e-4 J at 100 - 0.3 = 99.7 mW:
    // 4.5e-4 / 0.0997 = 4.513540621865597e-3 s after t = 1.
    const c = parseCapacitor("100uF,leak=100uA"), h = parseHarvest("periodic:100mW,on=10ms,period=1s");
    near(c.timeOff(h, 0.01), 1 + 4.5e-4 / 0.0997 - 0.01);
    // without the floor the whole 0.99 s x 0.3 mW = 2.97e-4 J deficit must be made up:
    // (2.88e-4 + 2.97e-4) / 0.0997 = 5.86760280842527e-3 s after t = 1
    near(h.timeToCollect(0.01, 2.88e-4, 3e-4), 1 + 5.85e-4 / 0.0997);
  });
});

describe("constant harvest", () => {
  const h = parseHarvest("constant:1mW");

  it("energy and time to collect", () => {
    near(h.energy(0.5, 2.5), 2e-3); // 1 mW x 2 s
    expect(h.energy(3, 3)).toBe(0);
    near(h.timeToCollect(3, 1e-3), 4); // 1 mJ at 1 mW: 1 s
    expect(h.timeToCollect(3, 0)).toBe(3);
    near(h.averageWatts, 1e-3);
    near(parseHarvest("250uW").power(7), 250e-6); // a bare power is a constant
    near(parseHarvest("constant:10nW").power(-1), 10e-9);
    near(parseHarvest("constant:0.5W").energy(0, 2), 1);
    near(parseHarvest("constant:3µW").power(0), 3e-6);
  });

  it("runUntilBrownOut without harvest, with some, and when it never browns out", () => {
    // 100uF between 3.0 and 1.8 V: 2.88e-4 J; at 1 mW alone: 0.288 s
    near(parseHarvest("constant:0W").runUntilBrownOut(10, 2.88e-4, 1e-3), 0.288);
    // 0.25 mW harvested meanwhile: 2.88e-4 / 0.75e-3 = 0.384 s
    near(parseHarvest("250uW").runUntilBrownOut(10, 2.88e-4, 1e-3), 0.384);
    expect(h.runUntilBrownOut(0, 2.88e-4, 1e-3)).toBe(Infinity); // harvest = consumption
    expect(h.runUntilBrownOut(0, 2.88e-4, 0.5e-3)).toBe(Infinity);
    expect(h.runUntilBrownOut(0, 0, 0.5e-3)).toBe(Infinity); // 0 J but rising: no brown-out
    expect(h.runUntilBrownOut(0, 0, 2e-3)).toBe(0); // 0 J and falling: at once
    // run() for a while: 1e-4 J + (1 - 3) mW x 0.02 s = 6e-5 J left
    const r = h.run(0, 1e-4, 3e-3, 0.02);
    expect(r.brownOut).toBe(false);
    expect(r.seconds).toBe(0.02);
    near(r.stored, 6e-5);
    // and past the brown-out at 1e-4 / 2e-3 = 0.05 s
    const b = h.run(0, 1e-4, 3e-3, 1);
    expect([b.brownOut, b.stored]).toEqual([true, 0]);
    near(b.seconds, 0.05);
  });
});

describe("periodic harvest: 2 mW for 50 ms of every 200 ms (1e-4 J a period, 0.5 mW average)", () => {
  const h = parseHarvest("periodic:2mW,on=50ms,period=200ms");

  it("energy over whole and partial periods", () => {
    near(h.averageWatts, 0.5e-3);
    near(h.energy(0, 0.05), 1e-4); // the on part exactly
    near(h.energy(0.05, 0.2) + 1, 1); // the off part: nothing
    near(h.energy(0, 2), 1e-3); // 10 periods
    // [0.03, 0.05] 0.02 s x 2 mW = 4e-5; [0.2, 0.25] 1e-4; [0.4, 0.45] 1e-4; [0.45, 0.47] off
    near(h.energy(0.03, 0.47), 2.4e-4);
    near(h.energy(-0.17, -0.1), 4e-5); // before 0: [-0.2, -0.15] is on, 20 ms of it
    // with phase 10 ms: on over [0.01, 0.06); [0, 0.03] holds 20 ms of it: 4e-5
    near(parseHarvest("periodic:2mW,on=50ms,period=200ms,phase=10ms").energy(0, 0.03), 4e-5);
    const q = parseHarvest("periodic:1W,on=0.25s,period=1s");
    expect([q.power(0), q.power(0.2), q.power(0.25), q.power(0.9), q.power(1), q.power(-0.5)]).toEqual([1, 1, 0, 0, 1, 0]);
  });

  it("time to collect, within a period and across many", () => {
    // 2.5e-4 J from 0: 2 periods give 2e-4 by 0.4, 5e-5 more at 2 mW is 25 ms: 0.425
    near(h.timeToCollect(0, 2.5e-4), 0.425);
    // from 0.1 (off): 0.25 has 1e-4, 0.45 has 2e-4, the rest from 0.6: 0.625
    near(h.timeToCollect(0.1, 2.5e-4), 0.625);
    // 1 J = 10000 periods: done at the end of the 10000th on part, 9999 x 0.2 + 0.05 = 1999.85
    expect(Math.abs(h.timeToCollect(0, 1) - 1999.85)).toBeLessThan(1e-9);
  });

  it("runUntilBrownOut: 100uF (2.88e-4 J) at 1 mW", () => {
    // on: +1 mW net for 50 ms (+5e-5), off: -1 mW for 150 ms (-1.5e-4); -1e-4 a period.
    // At 0.45: 2.88e-4 + 3 x 5e-5 - 2 x 1.5e-4 = 1.38e-4, gone 0.138 s later: 0.588
    // (at 0.2: 1.88e-4 and at 0.4: 0.88e-4, both still above 0)
    near(h.runUntilBrownOut(0, 2.88e-4, 1e-3), 0.588);
    near(parseCapacitor("100uF").timeOn(h, 0, 1e-3), 0.588);
    // started at 0.1, in the off part: 2.88e-4 - 1e-4 (to 0.2) + 5e-5 (to 0.25) = 2.38e-4,
    // - 1.5e-4 (to 0.4) + 5e-5 = 1.38e-4 at 0.45, then 0.138 s: 0.588, so 0.488 after 0.1
    near(h.runUntilBrownOut(0.1, 2.88e-4, 1e-3), 0.488);
    // harvest average = consumption (+1.5 mW x 50 ms = -0.5 mW x 150 ms): never
    expect(h.runUntilBrownOut(0, 2.88e-4, 0.5e-3)).toBe(Infinity);
  });

  it("brown-outs on and next to segment boundaries", () => {
    // at 3 mW: on -1 mW net, off -3 mW net. 5e-5 J lasts exactly the on part: 0.05
    near(h.runUntilBrownOut(0, 5e-5, 3e-3), 0.05);
    // 1e-6 J more reaches the off part: 1e-6 / 3e-3 = 3.333e-4 s after 0.05
    near(h.runUntilBrownOut(0, 5.1e-5, 3e-3), 0.05 + 1e-6 / 3e-3);
    // from 0.05, 4.5e-4 J lasts exactly the 150 ms off part at 3 mW
    near(h.runUntilBrownOut(0.05, 4.5e-4, 3e-3), 0.15);
    // run() stopped inside the off part: +5e-5 (on) - 1 mW x 30 ms = 2e-5 at 0.08
    const r = h.run(0, 0, 1e-3, 0.08);
    expect([r.brownOut, r.seconds]).toEqual([false, 0.08]);
    near(r.stored, 2e-5);
  });

  it("a long run skips whole periods exactly", () => {
    // at 0.6 mW: on +1.4 mW x 50 ms = +7e-5, off -0.6 mW x 150 ms = -9e-5: -2e-5 a period,
    // lowest at a period's end. From 1.01e-3 J the period starting with 1.01e-3 - 50 x 2e-5
    // = 1e-5 (at 10 s) is the first to fail (the one before ends at 1e-5 > 0): 1e-5 + 7e-5 =
    // 8e-5 at 10.05, gone 8e-5 / 0.6e-3 = 0.1333... s later: 10.18333...
    expect(Math.abs(h.runUntilBrownOut(0, 1.01e-3, 0.6e-3) - (10.05 + 8e-5 / 0.6e-3))).toBeLessThan(1e-10);
    // run() for 4.1 s: 20 periods (-4e-4), then 0.1 s: +7e-5 - 0.6 mW x 50 ms = +4e-5:
    // 1.01e-3 - 4e-4 + 4e-5 = 6.5e-4 left
    const r = h.run(0, 1.01e-3, 0.6e-3, 4.1);
    expect(r.brownOut).toBe(false);
    expect(Math.abs(r.stored - 6.5e-4)).toBeLessThan(1e-15);
  });

  it("a maximum voltage clips what is stored", () => {
    // 100uF,max=3.1V: 50e-6 x (9.61 - 3.24) = 3.185e-4 J. From full (2.88e-4) at 1 mW:
    // the on part would reach 3.38e-4 but stops at 3.185e-4; then 1.685e-4 at 0.2, 2.185e-4
    // at 0.25, 0.685e-4 at 0.4, 1.185e-4 at 0.45, gone 0.1185 s later: 0.5685 (0.588 unclipped)
    const c = parseCapacitor("100uF,max=3.1V");
    near(c.maxJoules, 3.185e-4);
    near(c.timeOn(h, 0, 1e-3), 0.5685);
    // 1 mW against 2 mW forever, clipped: 3.185e-4 after the first on part, whatever it held
    const r = c.run(parseHarvest("2mW"), 0, 0, 1e-3, 10);
    expect(r.brownOut).toBe(false);
    near(r.stored, 3.185e-4);
    // 20 mW for 50 ms of 200 ms at 1 mW, clipped at 3e-4 J: the on part adds up to 19 mW x
    // 50 ms = 9.5e-4, so every period reaches 3e-4 and ends at 3e-4 - 1.5e-4 = 1.5e-4, where
    // it started from the second on: never a brown-out; after 1000.07 s (5000 periods, the
    // on part clipped, 20 ms off) 3e-4 - 1 mW x 20 ms = 2.8e-4
    const p = parseHarvest("periodic:20mW,on=50ms,period=200ms");
    expect(p.runUntilBrownOut(0, 0, 1e-3, 3e-4)).toBe(Infinity);
    expect(p.runUntilBrownOut(0, 1.5e-4, 1e-3, 3e-4)).toBe(Infinity);
    const s = p.run(0, 0, 1e-3, 1000.07, 3e-4);
    expect([s.brownOut, s.seconds]).toEqual([false, 1000.07]);
    near(s.stored, 2.8e-4);
  });
});

describe("CSV trace", () => {
  // [0, 0.1) 1 mW (1e-4 J), [0.1, 0.3) 0, [0.3, 0.5) 2 mW (4e-4 J): the last row lasts as long
  // as the interval before it (0.2 s), so the trace repeats every 0.5 s with 5e-4 J (1 mW mean)
  const path = csv("time_s,power_W\n0,0.001\n0.1,0\n0.3,0.002\n");
  const h = parseHarvest(`csv:${path}`);

  it("energy and power, across the repeat", () => {
    near(h.period, 0.5);
    near(h.averageWatts, 1e-3);
    near(h.energy(0, 0.5), 5e-4);
    // [0.4, 0.5) 2 mW: 2e-4; [0.5, 0.6) the first row again, 1 mW: 1e-4; [0.6, 0.65) 0
    near(h.energy(0.4, 0.65), 3e-4);
    near(h.energy(0.05, 2.05), 2e-3); // 4 periods
    expect([h.power(0.55), h.power(0.7), h.power(0.9), h.power(1.05)]).toEqual([1e-3, 0, 2e-3, 1e-3]);
  });

  it("time to collect and brown-out across the repeat", () => {
    // from 0.1: nothing until 0.3, 4e-4 by 0.5, then 1 mW: 1e-4 more by 0.6
    near(h.timeToCollect(0.1, 5e-4), 0.6);
    // from 0.3 at 3 mW: -1 mW net, 1e-4 J lasts 0.1 s
    near(h.runUntilBrownOut(0.3, 1e-4, 3e-3), 0.1);
    // from 0.45 at 1.5 mW: +0.5 mW to 0.5 (1.25e-4), -0.5 mW to 0.6 (0.75e-4), then -1.5 mW:
    // 0.05 s more, at 0.65: 0.2 s in all
    near(h.runUntilBrownOut(0.45, 1e-4, 1.5e-3), 0.2);
  });

  it("no header, CRLF, blank lines; a single row is a constant", () => {
    const g = parseHarvest(`csv:${csv("0,0.001\r\n\r\n1,0.003\r\n\r\n")}`);
    expect(g.period).toBe(2);
    near(g.energy(0, 2), 4e-3); // 1 mW x 1 s + 3 mW x 1 s
    const one = parseHarvest(`csv:${csv("t,p\n0,2e-3\n")}`);
    near(one.energy(5, 8), 6e-3);
  });

  it("an all-zero trace never delivers: the error says what and from when", () => {
    const z = parseHarvest(`csv:${csv("0,0\n1,0\n")}`);
    fails(() => z.timeToCollect(2.5, 1e-3), /^--harvest 'csv:.*' never delivers 1 mJ from t = 2.5 s: it averages 0 W$/);
  });
});

describe("bad input", () => {
  it("harvest specs", () => {
    fails(() => parseHarvest("solar:1mW"), /--harvest 'solar:1mW': unknown harvest kind 'solar'/);
    fails(() => parseHarvest("solar"), /unknown harvest kind 'solar'/);
    fails(() => parseHarvest("constant:1kW"), /unknown unit 'kW' in power '1kW' \(use W, mW, uW, nW\)/);
    fails(() => parseHarvest("constant:-1mW"), /power must be non-negative, got '-1mW'/);
    fails(() => parseHarvest("constant:NaN"), /power 'NaN' is not a finite number/);
    fails(() => parseHarvest("constant:Infinity W"), /power 'Infinity W' is not a finite number/);
    fails(() => parseHarvest("1e999W"), /power '1e999W' is not a finite number/);
    fails(() => parseHarvest("constant:1"), /power '1' needs a unit \(W, mW, uW, nW\)/);
    fails(() => parseHarvest("constant:"), /expected a power \(a number with W, mW, uW, nW\), got ''/);
    fails(() => parseHarvest("periodic:2mW,on=50ms"), /periodic needs on=<time> and period=<time>/);
    fails(() => parseHarvest("periodic:2mW,on=50,period=200ms"), /on time '50' needs a unit \(s, ms, us\)/);
    fails(() => parseHarvest("periodic:2mW,on=300ms,period=200ms"), /the on time \(0.3 s\) is longer than the period \(0.2 s\)/);
    fails(() => parseHarvest("periodic:2mW,on=0ms,period=0s"), /period must be positive, got '0s'/);
    fails(() => parseHarvest("periodic:2mW,on=5ms,period=1s,duty=3"), /unknown option 'duty' \(known: on, period, phase\)/);
    fails(() => parseHarvest("periodic:2mW,on=5ms,on=6ms,period=1s"), /'on' given twice/);
    fails(() => parseHarvest("periodic:-2mW,on=5ms,period=1s"), /power must be non-negative/);
  });

  it("capacitor specs", () => {
    fails(() => parseCapacitor("0uF"), /--capacitor '0uF': capacitance must be positive, got '0uF'/);
    fails(() => parseCapacitor("-1uF"), /capacitance must be positive, got '-1uF'/);
    fails(() => parseCapacitor("100pF"), /unknown unit 'pF' in capacitance '100pF' \(use F, mF, uF, nF\)/);
    fails(() => parseCapacitor("100"), /capacitance '100' needs a unit/);
    fails(() => parseCapacitor(""), /expected a capacitance like 100uF/);
    fails(() => parseCapacitor("100uF,on=1.8,off=1.8"), /the turn-on voltage \(on=1.8 V\) must be above the brown-out voltage \(off=1.8 V\)/);
    fails(() => parseCapacitor("100uF,on=2V,off=2.5V"), /on=2 V\) must be above the brown-out voltage \(off=2.5 V\)/);
    fails(() => parseCapacitor("100uF,on=3mV"), /unknown unit 'mV' in turn-on voltage '3mV' \(use V\)/);
    fails(() => parseCapacitor("100uF,off=-1"), /brown-out voltage must be non-negative/);
    fails(() => parseCapacitor("100uF,leak=1uW"), /unknown unit 'uW' in leakage current '1uW' \(use A, mA, uA, nA\)/);
    fails(() => parseCapacitor("100uF,max=2.9V"), /the maximum voltage \(max=2.9 V\) is below the turn-on voltage \(on=3 V\)/);
    fails(() => parseCapacitor("100uF,3V"), /expected key=value after the first comma, got '3V'/);
    fails(() => parseCapacitor("100uF,vmin=1V"), /unknown option 'vmin' \(known: on, off, leak, max\)/);
    fails(() => new Capacitor(0, 3, 1.8), /capacitance must be positive/);
  });

  it("CSV traces name file:line", () => {
    fails(() => parseHarvest(`csv:${join(dir, "missing.csv")}`), /missing\.csv: cannot read the harvest trace \(ENOENT\)/);
    fails(() => parseHarvest(`csv:${csv("")}`), /\.csv: empty harvest trace/);
    fails(() => parseHarvest(`csv:${csv("time_s,power_W\n\n")}`), /\.csv: empty harvest trace/);
    fails(() => parseHarvest("csv:"), /expected csv:<file>/);
    const row = (text: string, message: RegExp) => {
      const p = csv(text);
      fails(() => parseHarvest(`csv:${p}`), new RegExp(`^${p.replace(/[.]/g, "\\.")}:${message.source}$`));
    };
    row("time_s,power_W\n0,1\n0.1,1,2\n", /3: expected 2 columns \(time_s,power_W\), found 3/);
    row("0\n", /1: expected 2 columns \(time_s,power_W\), found 1/);
    row("0,1\n0.1,1\n0.1,2\n", /3: time 0.1 is not after the previous row's 0.1/);
    row("0,1\n0.2,1\n0.1,2\n", /3: time 0.1 is not after the previous row's 0.2/);
    row("0,1\n-1,1\n", /2: negative time -1/);
    row("-1,1\n", /1: negative time -1/);
    row("h1,h2\n0.5,1\n", /2: the trace must start at time 0, not 0.5/);
    row("0,1\n1,-0.001\n", /2: negative power -0.001/);
    row("0,NaN\n", /1: power 'NaN' is not a finite number/);
    row("0,1\n1,Infinity\n", /2: power 'Infinity' is not a finite number/);
    row("0,1\n1,1mW\n", /2: power '1mW' is not a number/);
    row("0,\n", /1: empty power/);
    row("0,1\nx,1\n", /2: time 'x' is not a number/);
  });

  it("arguments and never-enough sources", () => {
    const z = parseHarvest("constant:0W");
    fails(() => z.timeToCollect(2, 1e-3), /^--harvest 'constant:0W' never delivers 1 mJ from t = 2 s: it averages 0 W$/);
    fails(() => parseHarvest("1uW").timeToCollect(0, 1e-3, 2e-6), /never delivers 1 mJ from t = 0 s: it averages 1 uW against a drain of 2 uW/);
    fails(() => z.energy(2, 1), /the interval \[2, 1\] ends before it starts/);
    fails(() => z.energy(NaN, 1), /t0 must be a finite number, got NaN/);
    fails(() => z.runUntilBrownOut(0, -1, 1), /stored energy \(-1 J\).*must be non-negative/);
    fails(() => z.runUntilBrownOut(0, 2, 1, 1), /stored energy 2 J is above the maximum 1 J/);
  });
});
