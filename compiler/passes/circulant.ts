/**
 * --circulant <k | layer=k>: block-circulant weights (RAD/FLEX, CirCNN) for fully connected
 * layers after training. W [N, K] is cut into k x k blocks and each block is replaced by its
 * nearest circulant matrix in the Frobenius norm, whose defining vector is the mean of the
 * block's wrapped diagonals: v[d] = mean over r of block[r][(r - d) mod k]. The layer then
 * stores N K / k weights (one vector per block) and runs on the circulant kernels
 * (runtime-as/kernels/fc-circulant.ts, emitted by ops/fc-circulant.ts). The float weights
 * are replaced before calibration, so every later stage sees the compressed model. In int8
 * the structure survives quantization exactly: the rows of one block row hold the same
 * values (rotated), so their per-row scales, and so their int8 weights, agree.
 * `kernel` (--circulant-kernel direct|fft) forces the float kernel of every marked layer;
 * by default ops/fc-circulant.ts picks the cheaper by estimate. Forcing fft asks k to be a
 * power of two from 2 to 256 on every marked layer.
 * Refused with the layer named: k < 2, k not dividing N and K (asked of every layer, "*": a
 * layer k does not divide is left whole and reported), a name that is no fully connected
 * Gemm.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";
import { fftBlockOk } from "../ops/fc-circulant.js";

export function parseCirculant(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    const [name, v] = i < 0 ? ["*", s] : [s.slice(0, i), s.slice(i + 1)];
    const x = Number(v);
    if (v.trim() === "" || !Number.isInteger(x) || x < 2) bad(`--circulant ${s}: the block size must be a whole number >= 2, e.g. 4`);
    out[name] = x;
  }
  return out;
}

/** The nearest block-circulant [N, K] matrix with k x k blocks (k divides N and K). */
export function projectCirculant(w: ArrayLike<number>, N: number, K: number, k: number): Float32Array {
  const out = new Float32Array(N * K);
  for (let bi = 0; bi < N; bi += k)
    for (let bj = 0; bj < K; bj += k)
      for (let d = 0; d < k; d++) {
        let s = 0;
        for (let r = 0; r < k; r++) s += w[(bi + r) * K + bj + ((r - d + k) % k)];
        for (let r = 0; r < k; r++) out[(bi + r) * K + bj + ((r - d + k) % k)] = s / k;
      }
  return out;
}

export interface CirculantReport { layer: string; k: number; note?: string }

export type CirculantKernel = "auto" | "direct" | "fft";

export function parseCirculantKernel(s: string): CirculantKernel {
  if (s !== "auto" && s !== "direct" && s !== "fft") bad(`--circulant-kernel ${s}: choose auto, direct or fft`);
  return s as CirculantKernel;
}

export function applyCirculant(g: Graph, req: Record<string, number>, kernel: CirculantKernel = "auto"): CirculantReport[] {
  const fc = g.nodes.filter((n) => n.op === "Gemm" && n.attrs.canonical);
  for (const name of Object.keys(req)) {
    if (name === "*") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--circulant ${name}=${req[name]}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.map((n) => `'${n.name}'`).join(", ") || "none"}`);
    if (!fc.includes(node!)) bad(`--circulant ${name}=${req[name]}: ${where(g, node!)} is not a fully connected Gemm (constant weights); block-circulant weights apply to those`);
  }
  const report: CirculantReport[] = [];
  for (const node of fc) {
    const k = req[node.name] ?? req["*"];
    if (k === undefined) continue;
    const w = tensor(g, node.inputs[1]);
    const [N, K] = w.shape;
    if (N % k || K % k) {
      const why = `W is ${N}x${K}; the block size ${k} must divide both`;
      if (req[node.name] !== undefined) bad(`--circulant ${node.name}=${k}: ${where(g, node)}: ${why}`);
      report.push({ layer: node.name, k: 0, note: why });
      continue;
    }
    if (kernel === "fft" && !fftBlockOk(k)) bad(`--circulant-kernel fft: ${where(g, node)} has block size ${k}; the FFT kernel needs a power of two from 2 to 256`);
    const name = `${node.inputs[1]}::circulant`; // a copy: a weight shared with another layer stays whole there
    g.tensors.set(name, { ...w, name, data: projectCirculant(w.data!, N, K, k) });
    node.inputs[1] = name;
    node.attrs.circulant = k;
    if (kernel !== "auto") node.attrs.circulantKernel = kernel;
    report.push({ layer: node.name, k });
  }
  return report;
}
