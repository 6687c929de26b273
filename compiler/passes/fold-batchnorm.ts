/**
 * Folds BatchNormalization into the Conv or Gemm that feeds it: with s = gamma / sqrt(var + eps),
 * W'[m] = W[m] * s[m] and b'[m] = (b[m] - mean[m]) * s[m] + beta[m]. Only when the producer's
 * weights and the BN parameters are constants and the BN is the producer's only consumer;
 * any other BN stays and runs as its own per-channel kernel. A MatMul of a 2-D activation by a
 * constant 2-D matrix (PyTorch's Linear without bias) is first rewritten as the equivalent
 * canonical Gemm (W = B transposed, no bias), which can take the folded bias.
 *
 * Preserves: the function computed (up to float rounding), graph inputs and outputs.
 */
import { cloneGraph, consumers, freshName, producer, pruneTensors, tensor, type Graph, type Node } from "../ir/graph.js";

export function foldBatchNorm(src: Graph): Graph {
  const g = cloneGraph(src);
  for (const bn of [...g.nodes]) {
    if (bn.op !== "BatchNormalization") continue;
    const x = bn.inputs[0];
    const p = producer(g, x);
    if (!p || consumers(g, x).length !== 1 || g.outputs.includes(x)) continue;
    if (p.op === "MatMul") matmulAsGemm(g, p);
    if (p.op !== "Conv" && !(p.op === "Gemm" && p.attrs.canonical)) continue;
    const params = bn.inputs.slice(1, 5).map((n) => g.tensors.get(n)?.data);
    const w = tensor(g, p.inputs[1]);
    const b = p.inputs[2] ? tensor(g, p.inputs[2]) : undefined;
    if (params.some((d) => !d) || !w.data || (b && !b.data)) continue;
    const [gamma, beta, mean, variance] = params as Float32Array[];
    const eps = bn.attrs.epsilon ?? 1e-5;
    const M = w.shape[0];
    const per = w.data.length / M;
    const nw = new Float32Array(w.data.length), nb = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      const s = gamma[m] / Math.sqrt(variance[m] + eps);
      for (let k = 0; k < per; k++) nw[m * per + k] = w.data[m * per + k] * s;
      nb[m] = ((b ? b.data![m] : 0) - mean[m]) * s + beta[m];
    }
    const wn = freshName(g, `${w.name}::bnfold`), bnName = freshName(g, `${bn.name || x}::bias_bnfold`);
    g.tensors.set(wn, { name: wn, dtype: "float32", shape: [...w.shape], data: nw });
    g.tensors.set(bnName, { name: bnName, dtype: "float32", shape: [M], data: nb });
    p.inputs[1] = wn;
    p.inputs[2] = bnName;
    p.outputs[0] = bn.outputs[0];
    g.nodes = g.nodes.filter((n) => n !== bn);
  }
  pruneTensors(g);
  return g;
}

/** MatMul(A [M,K], constant B [K,N]) -> canonical Gemm(A, W = B^T [N,K]); other MatMuls are left alone. */
function matmulAsGemm(g: Graph, p: Node): void {
  const a = tensor(g, p.inputs[0]), b = tensor(g, p.inputs[1]);
  if (a.shape.length !== 2 || b.shape.length !== 2 || !b.data || b.dtype !== "float32") return;
  const [K, N] = b.shape;
  const w = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) w[n * K + k] = b.data[k * N + n];
  const wn = freshName(g, `${b.name}::T`);
  g.tensors.set(wn, { name: wn, dtype: "float32", shape: [N, K], data: w });
  p.op = "Gemm";
  p.inputs = [p.inputs[0], wn];
  const act = p.attrs.actMin !== undefined ? { actMin: p.attrs.actMin, actMax: p.attrs.actMax } : {};
  p.attrs = { canonical: true, ...act };
}
