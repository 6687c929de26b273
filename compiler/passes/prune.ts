/**
 * --prune <s> or --prune <layer>=<s>: magnitude pruning after training. In each chosen fully
 * connected Gemm the fraction s of its weights with the smallest |w| become 0 (ties broken
 * by position, so the result is deterministic). Runs on the float graph before calibration,
 * so calibration and every later stage see the pruned model. Whether the zeros pay off is
 * decided at emit (ops/gemm.ts): an int8 layer with few enough non-zero weights runs on the
 * sparse kernel, and that holds as well for models that arrive already pruned.
 * Column-balanced (--prune-balance B, Spartus' column-balanced targeted dropout applied after
 * training): each column of W [N, K] (the weights of one input to all outputs, the unit a
 * delta or column-wise kernel fetches) is cut into sub-columns of B consecutive rows, and
 * each sub-column keeps the same number round((1 - s) B) of its largest |w| (a last, shorter
 * sub-column keeps the same share of its length), and at least one, so that no input is cut
 * off from a block of outputs (a layer of two outputs at 80% keeps one of each two). Parallel hardware then gets equal work
 * per processing element; on one wasm thread it is unstructured sparsity with a constraint,
 * run by the same kernels, and its cost is the accuracy the constraint loses.
 * A Conv with group 1 is pruned when named (--prune <conv>=s; "*" means the fully connected
 * layers): an int8 one sparse enough runs on the sparse convolution (ops/conv-sparse.ts).
 * Refused with the layer named: a sparsity outside [0, 1), a name that is neither a fully
 * connected Gemm nor such a Conv, a block that is not a whole number >= 1.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";

/** "0.8" (every fully connected layer) or "name=0.8" pairs into layer -> sparsity ("*" for all). */
export function parsePrune(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    const [name, v] = i < 0 ? ["*", s] : [s.slice(0, i), s.slice(i + 1)];
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x) || x < 0 || x >= 1) bad(`--prune ${s}: the sparsity must be a number in [0, 1), e.g. 0.8 for 80% zeros`);
    out[name] = x;
  }
  return out;
}

/** The magnitude-pruned copy of a row-major [N, K] matrix: the fraction s of smallest |w| (ties: lower index first) become 0. */
export function pruneMagnitude(w: ArrayLike<number>, s: number): Float32Array {
  const d = Float32Array.from(w);
  const order = Array.from(d.keys()).sort((i, j) => Math.abs(d[i]) - Math.abs(d[j]) || i - j);
  for (const i of order.slice(0, Math.round(s * d.length))) d[i] = 0;
  return d;
}

/** Column-balanced pruning of [N, K]: every sub-column of B rows keeps max(1, round((1 - s) length)) of its largest |w|. */
export function pruneBalanced(w: ArrayLike<number>, N: number, K: number, s: number, B: number): Float32Array {
  const d = Float32Array.from(w);
  for (let k = 0; k < K; k++)
    for (let r0 = 0; r0 < N; r0 += B) {
      const rows = Array.from({ length: Math.min(B, N - r0) }, (_, i) => r0 + i);
      const keep = Math.max(1, Math.round((1 - s) * rows.length));
      rows.sort((i, j) => Math.abs(d[j * K + k]) - Math.abs(d[i * K + k]) || i - j);
      for (const n of rows.slice(keep)) d[n * K + k] = 0;
    }
  return d;
}

export function applyPrune(g: Graph, prune: Record<string, number>, balance?: number): void {
  if (balance !== undefined && (!Number.isInteger(balance) || balance < 1)) bad(`--prune-balance ${balance}: the sub-column length must be a whole number of rows >= 1`);
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  const convs = g.nodes.filter((n) => n.op === "Conv" && (n.attrs.group ?? 1) === 1 && tensor(g, n.inputs[1]).data);
  for (const name of Object.keys(prune)) {
    if (name === "*") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--prune ${name}=${prune[name]}: no layer '${name}' in ${g.source}; layers it can prune: ${[...fc, ...convs].map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!) && !convs.includes(node!)) bad(`--prune ${name}=${prune[name]}: ${where(g, node!)} is neither a fully connected Gemm nor a Conv with group 1 and constant weights; pruning applies to those`);
  }
  // "*" prunes the fully connected layers; a convolution is pruned when named
  for (const node of [...fc, ...convs]) {
    const s = prune[node.name] ?? (fc.includes(node) ? prune["*"] : undefined);
    if (!s) continue;
    const w = tensor(g, node.inputs[1]);
    const N = w.shape[0], K = w.data!.length / N;
    const d = balance ? pruneBalanced(w.data!, N, K, s, balance) : pruneMagnitude(w.data!, s);
    const name = `${node.inputs[1]}::pruned`; // a copy: a weight shared with another layer stays whole there
    g.tensors.set(name, { ...w, name, data: d });
    node.inputs[1] = name;
  }
}
