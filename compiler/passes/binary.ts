/**
 * --binary <layer|all>: binary fully connected layers (XNOR-Net: Rastegari et al., 2016).
 * Weights and input activations both become ±1, so a dot product of K terms is
 * 2 popcount(xnor(a, w)) - K. Per output row n the weights become α_n sgn(w) with
 * α_n = mean|w_n| and sgn(x) = 1 for x >= 0, else -1; the layer's input activations are
 * binarized to β sgn(a), with one β per layer: the mean |a| of the layer's input over the
 * calibration set (measured in order, with earlier binary layers already binarized).
 * Float semantics (ops/fc-binary.ts binaryRef, the Gemm's `ref` when attrs.binary):
 *   y[m, n] = clamp(β α_n sum_k sgn(a[m,k]) sgn(W[n,k]) + b[n], actMin, actMax)
 * so calibration of every later layer sees the binarized layer. The pass rewrites the
 * weights to α_n sgn(w) and sets attrs { binary: true, beta }; the integer form and the
 * kernel are in ops/fc-binary.ts and runtime-as/kernels/fc-binary.ts. It runs after the
 * calibration samples are read (it needs them for β) and before calibration.
 * Refused with the layer named: a name that is no layer, a layer that is not a fully
 * connected Gemm, a layer that already has another weight format, a row whose weights are
 * all 0 (α_n = 0: no ±1 row represents it), an input that is 0 on every sample (β = 0),
 * K >= 2^22 (ops/fc-binary.ts: the accumulator holds the dot product times 2^8).
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph, type Value } from "../ir/graph.js";
import { interpret } from "../ir/interp.js";
import { where } from "../ops/util.js";

/** Weight formats that exclude each other on one layer (attribute names set by their passes). */
const OTHER_FORMATS = ["ternary", "pow2", "share", "subbyte", "circulant"] as const;

/** sgn as the binary layers define it: +1 for x >= 0 (zero included), else -1. */
export const sgn = (x: number): number => (x >= 0 ? 1 : -1);

/** Binarizes the named Gemm layers ("all": every fully connected Gemm); returns their names. */
export function applyBinary(g: Graph, layers: string[], calib: Array<Record<string, Value>>): string[] {
  const all = layers.includes("all");
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  for (const name of layers) {
    if (name === "all") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--binary ${name}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--binary ${name}: ${where(g, node!)} is not a fully connected Gemm (constant weights); binary layers apply to those`);
  }
  const chosen = all ? fc : fc.filter((n) => layers.includes(n.name));
  if (all && !chosen.length) bad(`--binary all: ${g.source} has no fully connected Gemm layer`);
  if (!calib.length) bad(`--binary: ${g.source}: the calibration set is empty; β (the mean |input|) is measured on it`);
  for (const node of chosen) {
    const other = OTHER_FORMATS.find((f) => node.attrs[f]);
    if (other) bad(`--binary: ${where(g, node)} already has ${other} weights; choose one weight format per layer`);
    const w = tensor(g, node.inputs[1]);
    const [N, K] = w.shape;
    if (K >= 2 ** 22) bad(`--binary: ${where(g, node)} has K = ${K} inputs; binary layers take fewer than 2^22 (the int32 accumulator holds the dot product times 2^8)`);
    const d = Float32Array.from(w.data!);
    for (let n = 0; n < N; n++) {
      const row = d.subarray(n * K, (n + 1) * K);
      const alpha = row.reduce((s, v) => s + Math.abs(v), 0) / K;
      if (!(alpha > 0)) bad(`--binary: ${where(g, node)}: row ${n} of the weights is all 0; a binary row (±α) cannot represent it`);
      for (let k = 0; k < K; k++) row[k] = sgn(row[k]) * alpha;
    }
    // β from the graph as it is now (earlier chosen layers binarized)
    const an = node.inputs[0];
    let sum = 0, count = 0;
    for (const feed of calib) {
      interpret(g, feed, {
        observe(name, v) {
          if (name !== an) return;
          for (let i = 0; i < v.data.length; i++) sum += Math.abs(v.data[i]);
          count += v.data.length;
        },
      });
    }
    const beta = Math.fround(sum / count);
    if (!(beta > 0)) bad(`--binary: ${where(g, node)}: its input '${an}' is 0 on every calibration sample (β = 0)`);
    // a weight shared with another layer is copied: only this layer is binary
    const name = `${node.inputs[1]}::binary`;
    g.tensors.set(name, { ...w, name, data: d });
    node.inputs[1] = name;
    node.attrs.binary = true;
    node.attrs.beta = beta;
  }
  return chosen.map((n) => n.name);
}
