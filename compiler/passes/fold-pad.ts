/**
 * Folds a zero, constant-mode Pad into the Conv that reads it: the Pad's begin pads on the
 * spatial axes add to the Conv's begin pads, and its end pads become part of the Conv's
 * implicit end padding (a normalized Conv keeps its output size, and every tap past the
 * input's end reads zero). PyTorch writes causal 1-D convolutions as
 * `conv(F.pad(x, ((k-1)*d, 0)))`, which exports a Pad before the Conv; folded, the Conv
 * carries the left padding itself, which is what streaming (STMC) recognizes as causal,
 * and the device saves the padded copy.
 *
 * Only when the Pad pads with 0, pads no batch or channel axis, crops nothing (no negative
 * pad), is not a graph output, and its one consumer is a Conv reading it as data. In int8
 * this is exact too: the Conv's implicit padding is the input zero point, which is what
 * the Pad's quantized 0 would be.
 *
 * Preserves: the function computed exactly (a padded zero adds 0 * w to a sum), graph
 * inputs and outputs.
 */
import { cloneGraph, consumers, pruneTensors, type Graph } from "../ir/graph.js";

export function foldPad(src: Graph): Graph {
  const g = cloneGraph(src);
  for (const pad of [...g.nodes]) {
    if (pad.op !== "Pad" || pad.q) continue;
    const y = pad.outputs[0];
    const users = consumers(g, y);
    if (users.length !== 1 || g.outputs.includes(y)) continue;
    const conv = users[0];
    if (conv.op !== "Conv" || conv.inputs[0] !== y || conv.inputs.slice(1).includes(y)) continue;
    const pads = pad.attrs.pads as number[];
    const r = pads.length / 2;
    if ((pad.attrs.value ?? 0) !== 0 || pads.some((p) => p < 0)) continue;
    if (pads[0] || pads[1] || pads[r] || pads[r + 1]) continue;
    const sp = r - 2;
    const begin = conv.attrs.pads as number[]; // normalized: begin pads, then zeros
    conv.attrs = { ...conv.attrs, pads: begin.map((p, i) => (i < sp ? p + pads[2 + i] : p)) };
    conv.inputs[0] = pad.inputs[0];
    g.nodes = g.nodes.filter((n) => n !== pad);
  }
  pruneTensors(g);
  return g;
}
