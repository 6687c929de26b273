/**
 * Types shared by the analytic cost formulas (kernels.ts has the registry and what is
 * counted): a kernel call's cost, and its arguments read the way the kernel reads them.
 */
import { internal } from "../util/errors.js";

export interface KernelCost {
  muls: number;
  loadBytes: number;
  storeBytes: number;
}

/** Values of the module variables that streaming calls pass (see recurrent.ts, time-upsample.ts). */
export interface CallVars {
  /** 1 on the first step after a reset, 2 later. */
  stream_mode: number;
  step_t: number;
}

export const STEADY: CallVars = { stream_mode: 2, step_t: 1 };

/** A numeric literal as the emitter writes it (ops/util.ts f32: `<f32>0.5`, `<f32>-Infinity`), else undefined. */
function literal(v: string | number | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (v === undefined) return undefined;
  const t = v.trim().replace(/^<f32>/, "");
  if (/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(t) || /^-?(Infinity|NaN)$/.test(t)) return Number(t);
  if (t === "-0.0") return -0;
  return undefined;
}

/** A call's arguments, read as the kernel reads them. */
export class Args {
  /**
   * `siblings`: the arguments of every call of this kernel in the module. When all of them
   * pass one literal at a position, the optimizer specializes the kernel to it (binaryen's
   * dead-argument elimination), and a multiply by it may fold away; see `mulBy`.
   */
  constructor(readonly kernel: string, private readonly a: ReadonlyArray<string | number>, private readonly vars: CallVars,
    private readonly siblings: ReadonlyArray<ReadonlyArray<string | number>> = [a]) {}

  /** The literal at position i if every call of the kernel in the module passes it, else undefined. */
  fixed(i: number): number | undefined {
    const v = literal(this.a[i]);
    if (v === undefined) return undefined;
    return this.siblings.every((s) => Object.is(literal(s[i]), v)) ? v : undefined;
  }

  /**
   * Multiplies that `x * arg i` costs: 1, or 0 when the kernel is specialized to a factor
   * the optimizer rewrites (an integer 0, 1 or power of two becomes a constant, x or a
   * shift; a float 1 becomes x).
   */
  mulBy(i: number, kind: "int" | "float"): number {
    const v = this.fixed(i);
    if (v === undefined) return 1;
    if (kind === "float") return v === 1 ? 0 : 1;
    return v === 0 || (v > 0 && (v & (v - 1)) === 0) ? 0 : 1;
  }

  /** Argument i as a number (module variables resolved). */
  n(i: number): number {
    const v = this.a[i];
    if (typeof v === "number") return v;
    if (v === undefined) internal(`${this.kernel}: no argument ${i}`);
    const lit = literal(v);
    if (lit !== undefined) return lit;
    const t = String(v).trim();
    const m = /^\(?(stream_mode|step_t|deferred_t)(?: \/ (\d+))?\)?$/.exec(t);
    if (m) {
      const x = m[1] === "stream_mode" ? this.vars.stream_mode : this.vars.step_t;
      return m[2] ? Math.trunc(x / Number(m[2])) : x;
    }
    internal(`${this.kernel}: argument ${i} ('${t}') is not a number`);
  }

  /** The constant byte offset of address argument i ("table + 8": 8; a bare symbol: 0), as --intermittent tiles pass them. */
  offset(i: number): number {
    const m = /\+\s*(\d+)\s*$/.exec(String(this.a[i] ?? ""));
    return m ? Number(m[1]) : 0;
  }

  /** Whether address argument i is non-zero (a buffer is given). */
  ptr(i: number): boolean {
    const v = this.a[i];
    return !(v === 0 || v === "0");
  }
}

export type Formula = (a: Args) => KernelCost;

/** Shorthand for the family files. */
export const cost = (muls: number, loadBytes: number, storeBytes: number): KernelCost => ({ muls, loadBytes, storeBytes });
