/**
 * Fuses Relu and Clip into the Conv, Gemm, MatMul, Add or Mul that produces their input, as
 * clamp bounds (attrs actMin/actMax) applied by the producer's kernel before it stores.
 * In int8 the bounds become a clamp in the quantized domain, and the producer's output
 * is calibrated after the clamp, as TFLite does. Only when the activation is the sole
 * consumer and the intermediate tensor is not a graph output.
 *
 * Preserves: the function computed exactly, graph inputs and outputs.
 */
import { cloneGraph, consumers, producer, pruneTensors, type Graph } from "../ir/graph.js";

const FUSABLE = new Set(["Conv", "Gemm", "MatMul", "Add", "Mul"]);

export function fuseActivation(src: Graph): Graph {
  const g = cloneGraph(src);
  for (const act of [...g.nodes]) {
    if (act.op !== "Relu" && act.op !== "Clip") continue;
    const x = act.inputs[0];
    const p = producer(g, x);
    if (!p || !FUSABLE.has(p.op) || consumers(g, x).length !== 1 || g.outputs.includes(x)) continue;
    const lo = act.op === "Relu" ? 0 : act.attrs.min;
    const hi = act.op === "Relu" ? Infinity : act.attrs.max;
    if (typeof lo !== "number" || typeof hi !== "number") continue;
    const min = Math.max(p.attrs.actMin ?? -Infinity, lo), max = Math.min(p.attrs.actMax ?? Infinity, hi);
    if (min > max) continue; // disjoint clamps do not compose into one
    p.attrs.actMin = min;
    p.attrs.actMax = max;
    p.outputs[0] = act.outputs[0];
    g.nodes = g.nodes.filter((n) => n !== act);
  }
  pruneTensors(g);
  return g;
}
