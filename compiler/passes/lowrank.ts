/**
 * --lowrank <r | layer=r>: low-rank factorization of fully connected layers after training.
 * A Gemm with weights W [N, K] becomes two: x -> h = x B^T (B = S_r^1/2 V_r^T, [r, K], no
 * bias) and h -> y = h A^T + b (A = U_r S_r^1/2, [N, r]), from the truncated singular value
 * decomposition W ~ U_r S_r V_r^T, which is the best rank-r approximation in the Frobenius
 * norm (Eckart-Young). The layer then stores r (N + K) weights instead of N K and runs as
 * many MACs. r is a rank (an integer >= 1) or, written as a fraction in (0, 1), the share of
 * W's squared singular values to keep (the smallest rank that keeps at least that share).
 * A fused activation moves to the second Gemm. Runs on the float graph before calibration,
 * so int8 quantization and every later stage see two ordinary fully connected layers (each
 * with the usual bit-exact kernels), and the intermediate h gets its own calibrated range.
 * Refused with the layer named: a name that is no fully connected Gemm, a rank that saves
 * nothing (r (N + K) >= N K) or exceeds min(N, K), a malformed value.
 * The SVD is one-sided Jacobi (Hestenes) in float64, plenty for layers of a few hundred.
 */
import { bad } from "../util/errors.js";
import { freshName, numel, tensor, type Graph, type Node } from "../ir/graph.js";
import { where } from "../ops/util.js";

/** "4" or "0.9" (every fully connected layer) or "name=4" pairs into layer -> rank or energy share ("*" for all). */
export function parseLowrank(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    const [name, v] = i < 0 ? ["*", s] : [s.slice(0, i), s.slice(i + 1)];
    const x = Number(v);
    const ok = v.trim() !== "" && Number.isFinite(x) && ((Number.isInteger(x) && x >= 1) || (x > 0 && x < 1));
    if (!ok) bad(`--lowrank ${s}: expected a rank (an integer >= 1) or an energy share in (0, 1), e.g. 4 or 0.9`);
    out[name] = x;
  }
  return out;
}

/** Thin SVD of a [rows, cols] row-major matrix: W = U diag(s) V^T, s descending. */
export function svd(w: ArrayLike<number>, rows: number, cols: number): { U: Float64Array; s: Float64Array; V: Float64Array; rank: number } {
  // one-sided Jacobi on the columns of X = (rows >= cols ? W : W^T), m x n with m >= n
  const tall = rows >= cols;
  const m = tall ? rows : cols, n = tall ? cols : rows;
  const X = new Float64Array(m * n); // column-major: column j at j*m
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    const v = w[r * cols + c];
    if (tall) X[c * m + r] = v; else X[r * m + c] = v;
  }
  const Q = new Float64Array(n * n); // accumulated rotations, column-major
  for (let j = 0; j < n; j++) Q[j * n + j] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      let a = 0, b = 0, g = 0;
      for (let i = 0; i < m; i++) {
        const xp = X[p * m + i], xq = X[q * m + i];
        a += xp * xp; b += xq * xq; g += xp * xq;
      }
      if (Math.abs(g) <= 1e-15 * Math.sqrt(a * b) || g === 0) continue;
      off = Math.max(off, Math.abs(g) / Math.sqrt(a * b));
      const zeta = (b - a) / (2 * g);
      const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
      const c = 1 / Math.sqrt(1 + t * t), s = c * t;
      for (let i = 0; i < m; i++) {
        const xp = X[p * m + i], xq = X[q * m + i];
        X[p * m + i] = c * xp - s * xq; X[q * m + i] = s * xp + c * xq;
      }
      for (let i = 0; i < n; i++) {
        const qp = Q[p * n + i], qq = Q[q * n + i];
        Q[p * n + i] = c * qp - s * qq; Q[q * n + i] = s * qp + c * qq;
      }
    }
    if (off < 1e-13) break;
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += X[j * m + i] ** 2;
    return Math.sqrt(s);
  });
  const order = Array.from(norms.keys()).sort((i, j) => norms[j] - norms[i] || i - j);
  // left vectors of X (m): columns of X / norm; right vectors (n): columns of Q
  const s = Float64Array.from(order, (j) => norms[j]);
  const left = new Float64Array(m * n), right = new Float64Array(n * n); // row-major [m, n], [n, n]
  order.forEach((j, k) => {
    for (let i = 0; i < m; i++) left[i * n + k] = norms[j] > 0 ? X[j * m + i] / norms[j] : 0;
    for (let i = 0; i < n; i++) right[i * n + k] = Q[j * n + i];
  });
  // W = X Q^T (tall) or W^T = X Q^T: swap the roles of the two sides for a wide W
  return tall ? { U: left, s, V: right, rank: n } : { U: right, s, V: left, rank: n };
}

/** The rank for a request: an integer as is, a share in (0, 1) the smallest rank keeping that much energy. */
export function chooseRank(s: ArrayLike<number>, req: number): number {
  if (req >= 1) return req;
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i] ** 2;
  let acc = 0;
  for (let r = 0; r < s.length; r++) {
    acc += s[r] ** 2;
    if (acc >= req * total) return r + 1;
  }
  return s.length;
}

/** rank 0: the layer was left whole (asked of all layers, a rank that saves nothing there). */
export interface LowrankReport { layer: string; rank: number; weightsBefore: number; weightsAfter: number; energyKept: number }

export function applyLowrank(g: Graph, req: Record<string, number>): LowrankReport[] {
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  for (const name of Object.keys(req)) {
    if (name === "*") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--lowrank ${name}=${req[name]}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--lowrank ${name}=${req[name]}: ${where(g, node!)} is not a fully connected Gemm (constant weights); low-rank factors apply to those`);
  }
  const out: LowrankReport[] = [];
  for (const node of fc) {
    const r0 = req[node.name] ?? req["*"];
    if (r0 === undefined) continue;
    const explicit = req[node.name] !== undefined;
    const W = tensor(g, node.inputs[1]);
    const [N, K] = W.shape;
    const { U, s, V, rank: full } = svd(W.data!, N, K);
    const r = chooseRank(s, r0);
    const saves = r * (N + K) < N * K;
    if (r > full || !saves) {
      // asked of this layer by name: refuse; asked of all layers: a layer it cannot shrink
      // keeps its weights, and the report says so (the CLI prints it)
      if (explicit) bad(`--lowrank ${explicit ? `${node.name}=` : ""}${r0}: ${where(g, node)} has W ${N}x${K}; rank ${r} ${r > full ? `exceeds min(N, K) = ${full}` : `stores r (N + K) = ${r * (N + K)} weights, not fewer than N K = ${N * K}`}`);
      out.push({ layer: node.name, rank: 0, weightsBefore: N * K, weightsAfter: N * K, energyKept: 1 });
      continue;
    }
    out.push(factor(g, node, U, s, V, N, K, r));
  }
  return out;
}

function factor(g: Graph, node: Node, U: Float64Array, s: Float64Array, V: Float64Array, N: number, K: number, r: number): LowrankReport {
  const full = s.length;
  const B = new Float32Array(r * K), A = new Float32Array(N * r);
  for (let j = 0; j < r; j++) {
    const h = Math.sqrt(s[j]);
    for (let k = 0; k < K; k++) B[j * K + k] = h * V[k * full + j];
    for (let n = 0; n < N; n++) A[n * r + j] = h * U[n * full + j];
  }
  const base = node.name || node.outputs[0];
  const bn = freshName(g, `${base}::lowrank_b`), an = freshName(g, `${base}::lowrank_a`), hn = freshName(g, `${base}::lowrank_h`);
  g.tensors.set(bn, { name: bn, dtype: "float32", shape: [r, K], data: B });
  g.tensors.set(an, { name: an, dtype: "float32", shape: [N, r], data: A });
  const M = numel(tensor(g, node.inputs[0]).shape) / K;
  g.tensors.set(hn, { name: hn, dtype: "float32", shape: [M, r] });
  // the fused activation (actMin/actMax) stays with the second Gemm, which writes y
  const first: Node = { name: `${base}/lowrank`, op: "Gemm", inputs: [node.inputs[0], bn], outputs: [hn], attrs: { canonical: true } };
  node.inputs = [hn, an, ...node.inputs.slice(2)];
  g.nodes.splice(g.nodes.indexOf(node), 0, first);
  let total = 0, kept = 0;
  for (let i = 0; i < full; i++) { total += s[i] ** 2; if (i < r) kept += s[i] ** 2; }
  return { layer: node.name, rank: r, weightsBefore: N * K, weightsAfter: r * (N + K), energyKept: total ? kept / total : 1 };
}
