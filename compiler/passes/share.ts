/**
 * --share <bits> or --share <layer>=<bits>: weight sharing (Han, Mao and Dally, "Deep
 * Compression", 2016). The float weights of each chosen fully connected Gemm are clustered
 * by one-dimensional k-means into k = 2^bits centroids (bits 2, 3 or 4), and every weight
 * becomes its centroid, before calibration, so calibration and every later stage see the
 * shared model. Deterministic: the centroids start evenly spaced between the smallest and
 * the largest weight (Deep Compression's linear initialization), each weight goes to the
 * nearest centroid (the lower index on a tie), an empty cluster keeps its centroid, and
 * Lloyd's iterations run until no assignment changes (at most KMEANS_ITERATIONS).
 * Exact zeros (a pruned layer, --prune) stay exactly 0 and outside the clustering: 0 takes
 * one codebook entry and the other weights share the remaining k - 1.
 * int8 (ops/fc-packed.ts): the layer's weights are quantized per tensor, so its codebook is
 * at most k int8 values shared by every row, and its kernel (runtime-as/kernels/fc-shared.ts)
 * reads packed bits-wide indices. Refused with the layer named: bits other than 2, 3, 4, a
 * codebook larger than the layer's number of weights, a name that is no fully connected
 * Gemm, a layer named for --ternary as well. "--share <bits>" (every layer) leaves out the
 * layers that --ternary or --weights compress.
 * Convolutions (constant weights, group 1 or depthwise) are shared the same way, their int8
 * weights per tensor too (kept per channel for Conv's requantization, ops/conv-packed.ts);
 * "*" includes them, and a named one whose kernel has no packed form is refused.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";
import { convPackable, isConvLayer } from "../ops/conv-packed.js";

export const KMEANS_ITERATIONS = 100;

/** "4" (every fully connected layer) or "name=4" pairs into layer -> bits ("*" for all). */
export function parseShare(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    const [name, v] = i < 0 ? ["*", s] : [s.slice(0, i), s.slice(i + 1)];
    if (!/^[234]$/.test(v.trim())) bad(`--share ${s}: the index width must be 2, 3 or 4 bits (a codebook of 4, 8 or 16 shared weights)`);
    out[name] = Number(v);
  }
  return out;
}

/**
 * One-dimensional k-means of `x` into k centroids, initialized evenly between min and max;
 * returns the centroids and each point's cluster.
 */
export function kmeans1d(x: ArrayLike<number>, k: number, iterations = KMEANS_ITERATIONS): { centroids: number[]; assign: Int32Array } {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) { lo = Math.min(lo, x[i]); hi = Math.max(hi, x[i]); }
  const c = Array.from({ length: k }, (_, j) => (k === 1 ? lo : lo + (j * (hi - lo)) / (k - 1)));
  const assign = new Int32Array(x.length).fill(-1);
  for (let it = 0; it < iterations; it++) {
    let changed = false;
    for (let i = 0; i < x.length; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (Math.abs(x[i] - c[j]) < Math.abs(x[i] - c[best])) best = j;
      if (assign[i] !== best) { assign[i] = best; changed = true; }
    }
    if (!changed) break;
    const sum = new Array<number>(k).fill(0), cnt = new Array<number>(k).fill(0);
    for (let i = 0; i < x.length; i++) { sum[assign[i]] += x[i]; cnt[assign[i]]++; }
    for (let j = 0; j < k; j++) if (cnt[j]) c[j] = sum[j] / cnt[j];
  }
  return { centroids: c, assign };
}

/**
 * Shares the weights of the chosen fully connected Gemms; returns layer name -> bits. "*"
 * applies to the layers that no other weight compression names: it skips --ternary layers
 * and those in `exclude` (the layers --weights names).
 */
export function applyShare(g: Graph, share: Record<string, number>, exclude: string[] = []): Record<string, number> {
  const fc = g.nodes.filter((n) => (n.op === "Gemm" && n.attrs.canonical) || isConvLayer(g, n));
  for (const name of Object.keys(share)) {
    if (name === "*") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--share ${name}=${share[name]}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.filter((n) => n.op === "Gemm").map((n) => `'${n.name}'`).join(", ") || "none"}; convolutions: ${fc.filter((n) => n.op === "Conv").map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--share ${name}=${share[name]}: ${where(g, node!)} is not a fully connected Gemm or a convolution (constant weights); weight sharing applies to those`);
  }
  if (share["*"] !== undefined && !fc.length) bad(`--share ${share["*"]}: ${g.source} has no fully connected Gemm or convolution layer`);
  if (share["*"] !== undefined && exclude.includes("*")) bad(`--share ${share["*"]} and --weights both name every layer; give one of them layer names (--share <layer>=<bits>)`);
  const done: Record<string, number> = {};
  for (const node of fc) {
    const bits = share[node.name] ?? share["*"];
    if (bits === undefined) continue;
    if (share[node.name] === undefined && (node.attrs.ternary || exclude.includes(node.name))) continue;
    if (node.attrs.ternary) bad(`--share: ${where(g, node)} is also --ternary; choose one compression of its weights`);
    if (node.op === "Conv" && !convPackable(g, node, `--share ${node.name}=${bits}`, share[node.name] !== undefined)) continue;
    const w = tensor(g, node.inputs[1]);
    const d = Float32Array.from(w.data!);
    const k = 2 ** bits;
    if (k > d.length) bad(`--share ${bits}: ${where(g, node)} has ${d.length} weights, fewer than a codebook of ${k} entries; use fewer bits`);
    const nz: number[] = [];
    for (let i = 0; i < d.length; i++) if (d[i] !== 0) nz.push(i);
    const zeros = nz.length < d.length;
    if (nz.length) {
      const { centroids, assign } = kmeans1d(nz.map((i) => d[i]), zeros ? k - 1 : k);
      nz.forEach((i, j) => { d[i] = centroids[assign[j]]; });
    }
    const name = `${node.inputs[1]}::shared`; // a copy: a weight shared with another layer stays whole there
    g.tensors.set(name, { ...w, name, data: d });
    node.inputs[1] = name;
    node.attrs.share = bits;
    done[node.name] = bits;
  }
  if (share["*"] !== undefined && !Object.keys(done).length) bad(`--share ${share["*"]}: every fully connected layer of ${g.source} is already compressed (--ternary); nothing left to share`);
  return done;
}
