/**
 * --eie <layer|all>: run fully connected layers on EIE's compressed-column kernel (Han et
 * al., "EIE", 2016; layout and emitter in ops/fc-eie.ts, kernel runtime-as/kernels/fc-eie.ts),
 * which walks only the weight columns of non-zero activations. This pass only marks the
 * layers (attrs.eie); it runs after every weight pass and before calibration. A marked layer
 * always runs the EIE kernel, whatever an estimate would say: the user asked for it, and
 * the kernel's cost depends on how many activations are zero, which the compiler cannot
 * know. Refused here with the layer named: a name that is no layer, a layer that is not a
 * fully connected Gemm, a named --binary or --circulant layer (their integer forms are not
 * the plain int8 product), and anything but --quantize int8. "all" marks every fully
 * connected Gemm except --binary and --circulant ones. Refused later, at emission, when the
 * int8 weights are known (ops/fc-eie.ts): more than 15 distinct non-zero int8 weights (the
 * 4-bit codebook also holds 0), and sizes beyond the format's limits.
 */
import { bad } from "../util/errors.js";
import type { Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";

/** Marks the named Gemm layers ("all": every eligible fully connected Gemm); returns their names. */
export function applyEie(g: Graph, layers: string[], int8: boolean): string[] {
  if (!int8) bad(`${g.source}: --eie needs --quantize int8 (its kernel indexes a codebook of int8 weights)`);
  const all = layers.includes("all");
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  const other = (n: (typeof fc)[number]) => (n.attrs.binary ? "--binary" : n.attrs.circulant ? "--circulant" : undefined);
  for (const name of layers) {
    if (name === "all") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--eie ${name}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--eie ${name}: ${where(g, node!)} is not a fully connected Gemm (constant weights); the EIE layout applies to those`);
    const o = other(node!);
    if (o) bad(`--eie ${name}: ${where(g, node!)} is a ${o} layer, whose integer form is not a plain int8 product; choose one of the two`);
  }
  const chosen = all ? fc.filter((n) => !other(n)) : fc.filter((n) => layers.includes(n.name));
  if (all && !chosen.length) bad(`--eie all: ${g.source} has no fully connected Gemm layer${fc.length ? " outside --binary / --circulant" : ""}`);
  for (const node of chosen) node.attrs.eie = true;
  return chosen.map((n) => n.name);
}
