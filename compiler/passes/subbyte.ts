/**
 * --weights int4|int2 or --weights <layer>=int4|int2: sub-byte weights for fully connected
 * Gemms, quantized per output row (symmetric, zero point 0) and stored packed, two or four
 * per byte (runtime-as/kernels/fc-subbyte.ts). The pass runs on the float graph before
 * calibration: each row's weights become s_n q with q on the format's integer grid, so
 * calibration sees the weights the module will run, and the int8 quantize step keeps
 * exactly these q and scales (ops/fc-packed.ts packedWeightQuant) instead of int8's
 * max|w| / 127 rounding.
 * - int4: q in [-7, 7] (the symmetric 4-bit range, as int8's [-127, 127]), s_n = max|w_n| / 7,
 *   q = clamp(roundHalfAway(w / s_n), -7, 7). Pruned zeros stay 0.
 * - int2: q in {-3, -1, 1, 3} (the four odd levels, times s_n). Why: two's complement
 *   {-2, -1, 0, 1} is lopsided (a row's largest positive weight would be cut to half its
 *   magnitude), and the symmetric {-1, 0, 1} wastes a code and is --ternary (TWN) already;
 *   four symmetric levels without zero use every code and are close to the Lloyd-Max
 *   quantizer of a bell-shaped row (levels about +-0.45 and +-1.5 sigma, ratio 3.3). The
 *   scale is the least-squares one for its own assignment, s_n = sum |w| |q| / sum q^2,
 *   alternated with nearest-level assignment from s_n = max|w_n| / 3 (a fixed number of
 *   rounds, so deterministic). There is no zero level, so int2 on a pruned layer is
 *   refused (it would undo the pruning).
 * - int4-tensor, int2-tensor: the same grids with one scale for the whole layer (max|W| / 7,
 *   or the least-squares one over every weight). The layer's int8 weights then take at most
 *   15 or 4 values shared by all rows, i.e. a codebook, so it runs as a --share layer
 *   (fc_shared4_s8 / fc_shared2_s8, per-tensor int8 weights, one multiplier and shift for
 *   the layer): the per-row multipliers and shifts (8 bytes per output) are saved, for
 *   accuracy where one scale suffices.
 * Refused with the layer named: a format other than int4/int2, a name that is no fully
 * connected Gemm, a layer named here that is also ternary or shared. "--weights <fmt>"
 * (every layer) leaves out the layers that --ternary or --share compress.
 * Convolutions (constant weights, group 1 or depthwise) take every format, per output channel
 * as a row of C/G KH KW weights (the -tensor forms: the same grid with one scale for every
 * channel, still requantized per channel); their packed kernels are ops/conv-packed.ts. "*"
 * includes them; a named convolution whose kernel has no packed form (grouped, the general
 * kernel) is refused with the layer named, and "*" leaves it out.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { clamp, roundHalfAway } from "../ir/fixedpoint.js";
import { where } from "../ops/util.js";
import { convPackable, isConvLayer } from "../ops/conv-packed.js";

export type Subbyte = "int4" | "int2" | "int4-tensor" | "int2-tensor";
const FORMATS = ["int4", "int2", "int4-tensor", "int2-tensor"];
const INT2_ROUNDS = 8;

/** "int4" (every fully connected layer) or "name=int2" pairs into layer -> format ("*" for all). */
export function parseWeights(list: string[]): Record<string, Subbyte> {
  const out: Record<string, Subbyte> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    const [name, v] = i < 0 ? ["*", s] : [s.slice(0, i), s.slice(i + 1)];
    if (!FORMATS.includes(v)) bad(`--weights ${s}: expected int4 or int2 (sub-byte weights per output row), or int4-tensor / int2-tensor (one scale for the layer)`);
    out[name] = v as Subbyte;
  }
  return out;
}

/** The int2 levels of one row and its scale: q in {-3, -1, 1, 3}, least-squares s (see the file comment). */
export function int2Row(row: ArrayLike<number>): { s: number; q: number[] } {
  let max = 0;
  for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i]));
  let s = max > 0 ? max / 3 : 1;
  const level = (v: number, sc: number) => Math.sign(v || 1) * (Math.abs(v) >= 2 * sc ? 3 : 1);
  let q = Array.from(row, (v) => level(v, s));
  if (max === 0) return { s, q };
  for (let r = 0; r < INT2_ROUNDS; r++) {
    let num = 0, den = 0;
    for (let i = 0; i < row.length; i++) { num += row[i] * q[i]; den += q[i] * q[i]; }
    s = num / den;
    q = Array.from(row, (v) => level(v, s));
  }
  return { s, q };
}

/** The int4 levels of one row and its scale: s = max|w| / 7, q = clamp(roundHalfAway(w / s), -7, 7). */
export function int4Row(row: ArrayLike<number>): { s: number; q: number[] } {
  let max = 0;
  for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i]));
  const s = max > 0 ? max / 7 : 1;
  return { s, q: Array.from(row, (v) => clamp(roundHalfAway(v / s), -7, 7)) };
}

/** Rounds the chosen layers' weights to their sub-byte grid; returns layer name -> format. */
export function applySubbyte(g: Graph, spec: Record<string, Subbyte>): Record<string, Subbyte> {
  const fc = g.nodes.filter((n) => (n.op === "Gemm" && n.attrs.canonical) || isConvLayer(g, n));
  const convs = fc.filter((n) => n.op === "Conv").map((n) => `'${n.name}'`).join(", ") || "none";
  for (const name of Object.keys(spec)) {
    if (name === "*") continue;
    const node = g.nodes.find((n) => n.name === name);
    if (!node) bad(`--weights ${name}=${spec[name]}: no layer '${name}' in ${g.source}; fully connected layers: ${fc.filter((n) => n.op === "Gemm").map((n) => `'${n.name}'`).join(", ") || "none"}; convolutions: ${convs}`);
    if (!fc.includes(node!)) bad(`--weights ${name}=${spec[name]}: ${where(g, node!)} is not a fully connected Gemm or a convolution (constant weights); sub-byte weights apply to those`);
  }
  if (spec["*"] !== undefined && !fc.length) bad(`--weights ${spec["*"]}: ${g.source} has no fully connected Gemm or convolution layer`);
  const done: Record<string, Subbyte> = {};
  for (const node of fc) {
    const fmt = spec[node.name] ?? spec["*"];
    if (fmt === undefined) continue;
    if (spec[node.name] === undefined && (node.attrs.ternary || node.attrs.share)) continue; // "*": the layers no other compression took
    if (node.attrs.ternary || node.attrs.share) bad(`--weights ${fmt}: ${where(g, node)} is also --${node.attrs.ternary ? "ternary" : "share"}; choose one compression of its weights`);
    if (node.op === "Conv" && !convPackable(g, node, `--weights ${node.name}=${fmt}`, spec[node.name] !== undefined)) continue;
    const w = tensor(g, node.inputs[1]);
    const d = Float32Array.from(w.data!);
    const N = w.shape[0], K = d.length / N; // a convolution's row: its output channel's C/G KH KW weights
    if (fmt.startsWith("int2") && d.some((v) => v === 0)) bad(`--weights int2: ${where(g, node)} has weights equal to 0 (pruned?); int2's levels {-3, -1, 1, 3} have no zero, so use int4 or --share there`);
    const name = `${node.inputs[1]}::${fmt}`; // a copy: a weight shared with another layer stays whole there
    done[node.name] = fmt;
    if (fmt.endsWith("-tensor") && node.op !== "Conv") {
      // one scale for the layer: its int8 weights take at most 15 (int4) or 4 (int2) values
      // shared by every row, which is a codebook: the layer runs as a --share layer
      const { s, q } = fmt === "int4-tensor" ? int4Row(d) : int2Row(d);
      for (let i = 0; i < d.length; i++) d[i] = s * q[i];
      g.tensors.set(name, { ...w, name, data: d });
      node.inputs[1] = name;
      node.attrs.share = fmt === "int4-tensor" ? 4 : 2;
      continue;
    }
    const scales: number[] = [];
    const one = fmt.endsWith("-tensor") ? (fmt === "int4-tensor" ? int4Row(d) : int2Row(d)) : undefined; // a convolution's: one scale, kept per channel
    for (let n = 0; n < N; n++) {
      const row = d.subarray(n * K, (n + 1) * K);
      const { s, q } = one ? { s: one.s, q: one.q.slice(n * K, (n + 1) * K) } : fmt === "int4" ? int4Row(row) : int2Row(row);
      for (let k = 0; k < K; k++) row[k] = s * q[k];
      scales.push(s);
    }
    g.tensors.set(name, { ...w, name, data: d });
    node.inputs[1] = name;
    node.attrs.subbyte = fmt;
    node.attrs.subbyteScale = scales;
  }
  if (spec["*"] !== undefined && !Object.keys(done).length) bad(`--weights ${spec["*"]}: every fully connected layer of ${g.source} is already compressed (--ternary, --share); nothing left for sub-byte weights`);
  return done;
}
