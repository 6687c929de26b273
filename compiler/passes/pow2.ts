/**
 * --pow2 <layer|all>: power-of-two weights for fully connected layers, as in the ECG AF CNN
 * and SmartDeal (logarithmic weights): a weight becomes 0 or ±α_n 2^-e, so the int8 kernel
 * shifts an activation instead of multiplying it. Per output row n, α_n = max|w_n| and every
 * weight is rounded in the log domain: e = round(log2(α_n / |w|)) (the threshold between e
 * and e + 1 is the geometric mean α_n 2^-(e + 1/2), so a kept weight is within a factor
 * 2^(1/2) of w), kept when e <= 6 and set to 0 otherwise (|w| < α_n 2^-6.5); a weight
 * exactly at a geometric mean goes to the larger e (Math.round's tie). The float weights are
 * rewritten before calibration, so calibration and every later stage see the compressed
 * model. Quantization then gives the row the scale α_n / 64 instead of max|w| / 127
 * (ops/fc-pow2.ts pow2WeightQuant), so each int8 weight is exactly 0 or ±2^j with
 * j = 6 - e in 0..6, and the integer semantics stay fcInt's (ops/gemm.ts). Refused with the
 * layer named: a name that is no layer, a layer that is not a fully connected Gemm, a layer
 * that already has another weight format.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";

/** The largest e kept: int8 weights 2^0 .. 2^6 under the scale α_n / 64. */
export const POW2_MAX_E = 6;

/** One row rounded to 0 or ±α 2^-e (α = max|w|), in place. */
export function pow2Row(row: Float32Array): void {
  let alpha = 0;
  for (const v of row) alpha = Math.max(alpha, Math.abs(v));
  for (let k = 0; k < row.length; k++) {
    const v = row[k];
    if (v === 0 || alpha === 0) { row[k] = 0; continue; }
    const e = Math.round(Math.log2(alpha / Math.abs(v))); // a tie (an exact geometric mean) goes to the larger e
    row[k] = e > POW2_MAX_E ? 0 : Math.sign(v) * alpha * 2 ** -e;
  }
}

/** Rounds the named Gemm layers ("all": every fully connected Gemm) to power-of-two weights; returns their names. */
export function applyPow2(g: Graph, layers: string[]): string[] {
  const all = layers.includes("all");
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  for (const name of layers) {
    if (name === "all") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--pow2 ${name}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--pow2 ${name}: ${where(g, node!)} is not a fully connected Gemm (constant weights); power-of-two weights apply to those`);
  }
  const chosen = all ? fc : fc.filter((n) => layers.includes(n.name));
  if (all && !chosen.length) bad(`--pow2 all: ${g.source} has no fully connected Gemm layer`);
  for (const node of chosen) {
    const other = ["ternary", "binary", "share", "subbyte", "circulant"].find((f) => node.attrs[f]);
    if (other) bad(`--pow2: ${where(g, node)} already has ${other} weights; choose one weight format per layer`);
    const w = tensor(g, node.inputs[1]);
    const [N, K] = w.shape;
    const d = Float32Array.from(w.data!);
    for (let n = 0; n < N; n++) pow2Row(d.subarray(n * K, (n + 1) * K));
    // a weight shared with another layer is copied: only this layer is power-of-two
    const name = `${node.inputs[1]}::pow2`;
    g.tensors.set(name, { ...w, name, data: d });
    node.inputs[1] = name;
    node.attrs.pow2 = true;
  }
  return chosen.map((n) => n.name);
}
