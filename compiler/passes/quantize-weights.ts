/**
 * Symmetric int8 weights: the one function the quantizer and the packed-weight emitters
 * share. It lives in its own module, importing nothing but the graph types and the
 * fixed-point helpers, so that an op module (ops/conv-packed.ts) can use it without an
 * import cycle through passes/quantize.ts, the interpreter and the op table.
 */
import type { Tensor } from "../ir/graph.js";
import { clamp, roundHalfAway } from "../ir/fixedpoint.js";

/** Symmetric int8 in [-127, 127], one scale per slice along `axis` (per tensor when axis < 0). */
export function quantizeWeights(t: Tensor, axis: number): void {
  const d = t.data!;
  const channels = axis < 0 ? 1 : t.shape[axis];
  const inner = axis < 0 ? d.length : t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < d.length; i++) {
    const c = axis < 0 ? 0 : Math.floor(i / inner) % channels;
    maxAbs[c] = Math.max(maxAbs[c], Math.abs(d[i]));
  }
  const scale = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  const q = new Int8Array(d.length);
  for (let i = 0; i < d.length; i++) {
    const c = axis < 0 ? 0 : Math.floor(i / inner) % channels;
    q[i] = clamp(roundHalfAway(d[i] / scale[c]), -127, 127);
  }
  t.data = q;
  t.dtype = "int8";
  t.quant = { scale, zeroPoint: scale.map(() => 0), axis };
}
