/**
 * --ternary <layer|all>: ternary weights (TWN: Li, Zhang and Liu, "Ternary Weight
 * Networks", 2016). Each output row n of a fully connected layer keeps the sign of the
 * weights larger than Δ_n = 0.7 mean|w_n| and drops the others; the kept ones share one
 * magnitude α_n = mean of their |w|. The float weights become α_n t with t in {-1, 0, 1},
 * before calibration, so calibration and every later stage see the compressed model; the
 * int8 quantization then gives each row the values {-127, 0, 127} and emit picks the
 * additions-only kernel (ops/gemm.ts, ternaryRows). Preserves the graph's structure.
 * Refused with the layer named: layers that are not fully connected Gemms, and a name that
 * is no layer.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";

/** Ternarizes the named Gemm layers ("all": every fully connected Gemm); returns their names. */
export function applyTernary(g: Graph, layers: string[]): string[] {
  const all = layers.includes("all");
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  for (const name of layers) {
    if (name === "all") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--ternary ${name}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--ternary ${name}: ${where(g, node!)} is not a fully connected Gemm (constant weights); ternary weights apply to those`);
  }
  const chosen = all ? fc : fc.filter((n) => layers.includes(n.name));
  if (all && !chosen.length) bad(`--ternary all: ${g.source} has no fully connected Gemm layer`);
  for (const node of chosen) {
    const w = tensor(g, node.inputs[1]);
    const [N, K] = w.shape;
    if (K > 256) bad(`--ternary: ${where(g, node)} has K = ${K} inputs; the ternary kernel indexes columns with one byte (at most 256)`);
    const d = Float32Array.from(w.data!);
    for (let n = 0; n < N; n++) {
      const row = d.subarray(n * K, (n + 1) * K);
      const delta = 0.7 * row.reduce((a, v) => a + Math.abs(v), 0) / K;
      let sum = 0, kept = 0;
      for (const v of row) if (Math.abs(v) > delta) { sum += Math.abs(v); kept++; }
      const alpha = kept ? sum / kept : 0;
      for (let k = 0; k < K; k++) row[k] = Math.abs(row[k]) > delta ? Math.sign(row[k]) * alpha : 0;
    }
    // a weight shared with another layer is copied: only this layer is ternary
    const name = `${node.inputs[1]}::ternary`;
    g.tensors.set(name, { ...w, name, data: d });
    node.inputs[1] = name;
    node.attrs.ternary = true;
  }
  return chosen.map((n) => n.name);
}
