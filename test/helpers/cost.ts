/**
 * Analytic against dynamic counts, per layer: the compiler's formulas (compiler/cost, in
 * model.json's layers[].kernels) evaluated for the steps that were run, next to the
 * instrumented module's multiplies, bytes read and bytes written (targets/profile). A
 * streaming layer of period P runs on steps t % P == 0, its first run with stream_mode 1.
 */
import type { Compiled } from "../../compiler/pipeline.js";
import type { Manifest } from "../../compiler/emit/manifest.js";
import { UPPER_BOUND_KERNELS, callsCost, type KernelCost } from "../../compiler/cost/kernels.js";
import { profileModule, type ProfileInputs } from "../../targets/profile/dynamic.js";
import { bytesRead, bytesWritten, multiplies } from "../../targets/profile/instrument.js";

export interface LayerCheck {
  layer: string;
  op: string;
  kernels: string;
  analytic?: KernelCost;
  dynamic: KernelCost;
  /** The layer runs a data-dependent kernel (UPPER_BOUND_KERNELS): analytic is an upper bound. */
  bound?: boolean;
}

export async function analyticVsDynamic(c: Pick<Compiled, "wasm" | "source" | "manifest">, opts: ProfileInputs = {}): Promise<LayerCheck[]> {
  const p = await profileModule(c.wasm, c.source, c.manifest, opts);
  return c.manifest.layers.map((l, i) => ({
    layer: l.name,
    op: l.op,
    kernels: l.kernels.map((k) => k.kernel).join("+"),
    analytic: expected(c.manifest, i, p.steps),
    dynamic: { muls: multiplies(p.layers[i]), loadBytes: bytesRead(p.layers[i]), storeBytes: bytesWritten(p.layers[i]) },
    ...(l.kernels.some((k) => UPPER_BOUND_KERNELS.has(k.kernel)) ? { bound: true } : {}),
  }));
}

/** The layer's analytic cost per step (or per inference), averaged like the profile. */
function expected(m: Manifest, i: number, steps: number): KernelCost | undefined {
  const l = m.layers[i];
  const module = m.layers.flatMap((x) => x.kernels);
  if (!m.stream) return callsCost(l.kernels, undefined, module);
  const P = l.period ?? 1;
  const sum: KernelCost = { muls: 0, loadBytes: 0, storeBytes: 0 };
  for (let t = 0; t < steps; t += P) {
    const k = callsCost(l.kernels, { stream_mode: t === 0 ? 1 : 2, step_t: t }, module);
    if (!k) return undefined;
    sum.muls += k.muls; sum.loadBytes += k.loadBytes; sum.storeBytes += k.storeBytes;
  }
  return { muls: sum.muls / steps, loadBytes: sum.loadBytes / steps, storeBytes: sum.storeBytes / steps };
}

/**
 * The layers whose formulas disagree with the counts (or have none), as readable lines. A
 * `bound` layer (data-dependent kernel) disagrees when a dynamic count exceeds its formula;
 * its exact count is checked where the data is known (test/ops/lstm-delta.test.ts).
 */
export function mismatches(checks: LayerCheck[]): string[] {
  // streaming figures are averages over the steps run (sums / steps): equal up to the division's rounding
  const same = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a));
  const ok = (c: LayerCheck, a: number, d: number) => (c.bound ? d <= a || same(a, d) : same(a, d));
  return checks.filter((c) => !c.analytic || !ok(c, c.analytic.muls, c.dynamic.muls) || !ok(c, c.analytic.loadBytes, c.dynamic.loadBytes) || !ok(c, c.analytic.storeBytes, c.dynamic.storeBytes))
    .map((c) => `${c.op} '${c.layer}' (${c.kernels}): analytic${c.bound ? " upper bound" : ""} ${JSON.stringify(c.analytic ?? "no formula")} vs dynamic ${JSON.stringify(c.dynamic)}`);
}
