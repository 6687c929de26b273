/**
 * Gemm: Y = alpha * A' * B' + beta * C, with A' = transA ? A^T : A, B' = transB ? B^T : B
 * and C (optional) unidirectionally broadcast to [M, N]. Two forms after import:
 *
 * - canonical (attrs { canonical: true }): the fully connected layer. When B is a constant
 *   (and C, if used, a constant that is one value per output column), normalize rewrites the
 *   node to inputs [A, W, b?] with W a new float32 [N, K] tensor (rows = output channels,
 *   alpha folded in) and b a new float32 [N] tensor equal to beta * C, so that
 *   y[m, n] = sum_k A[m, k] W[n, k] + b[n]. fold-batchnorm relies on this form. A with
 *   transA = 1 is canonical only when the transpose is a no-op on memory (M == 1 or K == 1);
 *   in general M = numel(A) / K.
 * - general (attrs transA, transB, alpha, beta): any operand at run time, C of any
 *   broadcastable shape; float only, run by a strided kernel.
 *
 * int8 exists for the canonical form only, exactly like Conv: weights symmetric per output
 * channel (axis 0 of W), bias int32 at scale s_a * s_w[n], output per-tensor asymmetric:
 *   acc = bias[n] + sum_k (a[m,k] - z_a) * w[n,k]          (int32, wrapping)
 *   y   = clamp(mbqm(acc, mult[n], shift[n]) + z_y, qmin, qmax),  mult/shift = Q31(s_a s_w[n] / s_y)
 * MatMul with a constant 2-D B reuses this form (fcInt, emitFc).
 *
 * Q format (--fixed Qm.f, ops/INT8.md "Q-format mode"), canonical form only: W and b are
 * converted to the grid like every constant, and with sat the format's saturation,
 *   acc = sum_k a[m,k] w[n,k]   (exact; see fixedFc for the bounds on K)
 *   y   = clamp(sat(sat(truncdiv(acc, 2^f)) + b[n]), qmin, qmax)
 * (ElasticAI's matmul then add), qmin/qmax being a fused Relu/Clip's bounds on the grid.
 * Kernels fc_q8 (int8 storage, W <= 8) and fc_q16 (int16, W 9 to 16) in
 * runtime-as/kernels/fc-q.ts; MatMul by a constant reuses them.
 */
import { bad, internal, shapeStr } from "../util/errors.js";
import { freshName, isConst, makeValue, numel, tensor, type Data, type Graph, type Node, type Value } from "../ir/graph.js";
import { clamp, mbqm, qCut, qFmt, qStorage, quantizeMultiplier } from "../ir/fixedpoint.js";
import type { EmitCtx, FixedCtx, OpDef, QuantCtx } from "./types.js";
import { actBounds, actFixedBounds, actQBounds, attrFloat, attrInt, bcastStrides, clampF, f32, inT, outT, where } from "./util.js";
import { quantizeBias } from "./conv.js";
import { fcInstructions } from "../cost/fc.js";
import { emitFcCirculantF32, emitFcCirculantS8 } from "./fc-circulant.js";
import { emitFcPacked, packedWeightQuant } from "./fc-packed.js";
import { emitFcPow2, pow2WeightQuant } from "./fc-pow2.js";
import { binaryRef, emitFcBinary, fcBinaryInt, quantizeFcBinary } from "./fc-binary.js";
import { emitFcEie } from "./fc-eie.js";

interface Dims { M: number; N: number; K: number }

/** M, N, K of the general form from A, B and the transpose attributes. */
function generalDims(node: Node, a: number[], b: number[], ctx: string): Dims {
  if (a.length !== 2 || b.length !== 2) bad(`${ctx}: A is ${shapeStr(a)} and B is ${shapeStr(b)}; Gemm needs 2-D A and B`);
  const tA = attrInt(node, "transA", 0), tB = attrInt(node, "transB", 0);
  const [M, K] = tA ? [a[1], a[0]] : a;
  const [Kb, N] = tB ? [b[1], b[0]] : b;
  if (K !== Kb) bad(`${ctx}: A ${shapeStr(a)} (transA=${tA}) and B ${shapeStr(b)} (transB=${tB}) disagree on K (${K} vs ${Kb})`);
  return { M, N, K };
}

/** M, N, K of the canonical form: W is [N, K] and A holds M rows of K. */
function canonDims(a: number[], w: number[], ctx: string): Dims {
  const [N, K] = w;
  const M = numel(a) / K;
  if (!Number.isInteger(M)) bad(`${ctx}: A ${shapeStr(a)} does not hold whole rows of K = ${K}`);
  return { M, N, K };
}

function dimsOf(node: Node, a: number[], b: number[], ctx: string): Dims {
  return node.attrs.canonical ? canonDims(a, b, ctx) : generalDims(node, a, b, ctx);
}

function checkC(c: number[], M: number, N: number, ctx: string): void {
  const ok = c.length <= 2 && c.every((d, i) => d === 1 || d === [M, N][2 - c.length + i]);
  if (!ok) bad(`${ctx}: C ${shapeStr(c)} does not broadcast to ${M}x${N}`);
}

function keepAct(node: Node): Record<string, number> {
  return node.attrs.actMin !== undefined ? { actMin: node.attrs.actMin, actMax: node.attrs.actMax } : {};
}

/** Per-tensor int8 parameters of an activation, refusing per-channel ones. */
export function perTensor(g: Graph, node: Node, name: string): { s: number; z: number } {
  const q = tensor(g, name).quant;
  if (!q || q.scale.length !== 1) bad(`${where(g, node)}: operand '${name}' needs per-tensor int8 parameters (it is shared with a per-channel weight)`);
  return { s: q!.scale[0], z: q!.zeroPoint[0] };
}

/** The integer fully connected layer: y[m,n] = requant(bias[n] + sum_k (a[m,k] - za) w[n,k]). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fcInt(a: Data, w: Data, bias: Data, M: number, N: number, K: number, q: Record<string, any>, shape: number[]): Value {
  const y = makeValue("int8", shape);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = bias[n] | 0;
      for (let k = 0; k < K; k++) acc = (acc + Math.imul(a[m * K + k] - q.za, w[n * K + k])) | 0;
      y.data[m * N + n] = clamp((mbqm(acc, q.mult[n], q.shift[n]) + q.zy) | 0, q.qmin, q.qmax);
    }
  return y;
}

/**
 * int8 parameters of a fully connected node whose inputs are [A, W [N,K] float, bias?]:
 * quantizes W per row, replaces the bias by an int32 one and fills node.q.
 */
export function quantizeFc(node: Node, g: Graph, qc: QuantCtx, extra: Record<string, unknown> = {}): void {
  const [an, wn, bn] = node.inputs;
  const yn = node.outputs[0];
  if (!packedWeightQuant(node, g, qc)) qc.weightQuant(wn, 0); // --share / --weights layers: ops/fc-packed.ts
  qc.actQuant(yn);
  const A = perTensor(g, node, an), Y = perTensor(g, node, yn);
  const wq = tensor(g, wn).quant!;
  const N = tensor(g, wn).shape[0];
  node.inputs[2] = quantizeBias(g, node, bn || undefined, A.s, wq.scale, N);
  const mults = Array.from({ length: N }, (_, n) => quantizeMultiplier((A.s * wq.scale[wq.scale.length === 1 ? 0 : n]) / Y.s));
  node.q = {
    ...extra, za: A.z, zy: Y.z,
    mult: mults.map((m) => m.mult), shift: mults.map((m) => m.shift),
    ...actQBounds(node, Y.s, Y.z),
  };
}

/**
 * The largest exact sum of `terms` W-bit products, or a one-line refusal. Each |a b| is at
 * most 2^(W-1) * 2^(W-1) = 2^(2W-2) (both operands -2^(W-1)), so |acc| <= terms 2^(2W-2).
 * W <= 8: the kernels sum in i32, so terms 2^(2W-2) < 2^31 is required (Q4.4: 2^17 terms).
 * W 9 to 16: one product is at most 2^30 and fits in i32, but a sum of two may not, so the
 * kernels sum the i32 products in i64 (no overflow below 2^33 terms of 2^30); the integer
 * interpreter sums in float64, exact below 2^53, which is the binding bound:
 * terms 2^(2W-2) < 2^53 (Q8.8: fewer than 2^23 terms).
 */
export function checkQSum(terms: number, fmt: { m: number; f: number }, what: string, ctx: string, place = `Q${fmt.m}.${fmt.f}`): void {
  const w = fmt.m + fmt.f;
  const limit = w <= 8 ? 31 : 53;
  if (terms * 2 ** (2 * w - 2) >= 2 ** limit) {
    bad(`${ctx}: ${what} is too large for ${w <= 8 ? "int32" : "exact int64 (float64 in the reference)"} sums of ${w}-bit products in ${place}`);
  }
}

/**
 * Q-format parameters of a fully connected node whose inputs are [A, W [N,K] float, bias?]:
 * converts W and the bias to the grid and fills node.q.
 */
export function fixedFc(node: Node, g: Graph, fx: FixedCtx, extra: Record<string, unknown> = {}): void {
  const [an, wn, bn = ""] = node.inputs;
  const K = tensor(g, wn).shape[1];
  checkQSum(K, fx.fmt, `K = ${K}`, where(g, node));
  for (const n of [an, wn, bn, node.outputs[0]]) fx.q(n);
  node.q = { ...extra, fixed: { m: fx.fmt.m, f: fx.fmt.f }, ...actFixedBounds(node, fx.fmt) };
}

/** The Q-format fully connected layer: y[m,n] = clamp(sat(qCut(sum_k a w) + b[n]), qmin, qmax). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fcFixed(a: Data, w: Data, bias: Data | undefined, M: number, N: number, K: number, q: Record<string, any>, shape: number[]): Value {
  const F = qFmt(q.fixed.m, q.fixed.f);
  const y = makeValue(qStorage(F), shape);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let acc = 0; // exact in float64: |acc| <= K 2^(2W-2) < 2^53 (checkQSum)
      for (let k = 0; k < K; k++) acc += a[m * K + k] * w[n * K + k];
      y.data[m * N + n] = clamp(clamp(qCut(acc, F) + (bias ? bias[n] : 0), F.lo, F.hi), q.qmin, q.qmax);
    }
  return y;
}

/** Emits the Q-format fully connected kernel (inputs [A, W [N,K], bias?], int8 or int16). */
export function emitFcQ(node: Node, e: EmitCtx, d: Dims): void {
  const q = node.q!;
  const F = qFmt(q.fixed.m, q.fixed.f);
  const bn = node.inputs[2];
  e.call("fc-q", qStorage(F) === "int8" ? "fc_q8" : "fc_q16", [
    e.addr(node.inputs[0]), e.addr(node.inputs[1]), bn ? e.addr(bn) : "0", e.addr(node.outputs[0]),
    d.M, d.N, d.K, F.f, F.lo, F.hi, q.qmin, q.qmax,
  ]);
}

/** Emits the f32 fully connected kernel; `w` is an address expression of a [N, K] float32 matrix. */
export function emitFcF32(node: Node, e: EmitCtx, a: string, w: string, b: string, y: string, d: Dims): void {
  const { min, max } = actBounds(node);
  // one row of A: blocks of four outputs split the call (--intermittent tiles)
  const tile = d.M === 1 ? { units: Math.ceil(d.N / 4), bumps: [[1, 16 * d.K], [2, 16], [3, 16]] as Array<[number, number]>, count: [5, 4, d.N] as [number, number, number], outPerUnit: 16 } : undefined;
  e.call("gemm", "fc_f32", [a, w, b, y, d.M, d.N, d.K, f32(min), f32(max)], tile);
}

/**
 * Emits the int8 fully connected kernel. The kernel sums a * w rather than (a - za) * w and
 * starts from bias[n] - za * sum_k w[n,k]: equal in wrapping int32 arithmetic, one
 * subtraction fewer per activation.
 */
export function emitFcS8(node: Node, e: EmitCtx, d: Dims): void {
  if (node.attrs.eie) return emitFcEie(node, e, d); // --eie layers first, packed or not: ops/fc-eie.ts
  if (node.attrs.pow2) return emitFcPow2(node, e, d); // --pow2 / --binary layers: ops/fc-pow2.ts, ops/fc-binary.ts
  if (node.q!.binary) return emitFcBinary(node, e, d);
  const q = node.q!;
  const w = tensor(e.g, node.inputs[1]).data!, b = tensor(e.g, node.inputs[2]).data!;
  const folded = new Int32Array(d.N);
  for (let n = 0; n < d.N; n++) {
    let s = 0;
    for (let k = 0; k < d.K; k++) s += w[n * d.K + k];
    folded[n] = (b[n] - Math.imul(q.za, s)) | 0;
  }
  if (node.attrs.circulant) return emitFcCirculantS8(node, e, d, w, folded); // --circulant layers: ops/fc-circulant.ts
  if (emitFcPacked(node, e, d, w, folded)) return; // --share / --weights layers: ops/fc-packed.ts
  const kind = fcKernelFor(w, d, !!node.attrs.ternary);
  if (kind === "ternary") return emitFcTernary(node, e, d, w, folded);
  if (kind === "sparse") return emitFcSparse(node, e, d, w, folded);
  e.call("gemm", "fc_s8", [
    e.addr(node.inputs[0]), e.addr(node.inputs[1]), e.data("bias_folded", "int32", folded), e.addr(node.outputs[0]),
    d.M, d.N, d.K, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
  ], d.M === 1 ? { units: Math.ceil(d.N / 4), bumps: [[1, 4 * d.K], [2, 16], [3, 4], [8, 16], [9, 16]], count: [5, 4, d.N], outPerUnit: 4 } : undefined);
}

/**
 * The magnitude m when every row's int8 weights are -m, 0 or m (one m for the layer),
 * else undefined.
 */
export function ternaryMagnitude(w: ArrayLike<number>): number | undefined {
  let m = 0;
  for (let i = 0; i < w.length; i++) {
    const v = Math.abs(w[i]);
    if (v === 0) continue;
    if (m === 0) m = v;
    else if (v !== m) return undefined;
  }
  return m || 1;
}

/**
 * The sparse kernel's layout of int8 weights [N, K] (runtime-as/kernels/fc-sparse.ts): per
 * row, kept weights in pairs (absolute u8 column, then a partner within 16 columns, or a
 * zero filler at the next column), two pairs to a seven-byte quad, an odd last pair in four
 * bytes; `counts` the pairs per row (u8). Pairing is greedy from the left, which pairs as
 * many neighbours as any pairing can (a maximum matching on a path). K <= 256.
 */
export function sparseLayout(w: ArrayLike<number>, N: number, K: number): { bytes: number[]; counts: number[]; pairs: number; kept: number } {
  const bytes: number[] = [], counts: number[] = [];
  let kept = 0, pairs = 0;
  for (let n = 0; n < N; n++) {
    const cols: number[] = [];
    for (let k = 0; k < K; k++) if (w[n * K + k] !== 0) cols.push(k);
    kept += cols.length;
    const row: Array<[number, number, number, number]> = []; // v0, v1, c0, d
    for (let i = 0; i < cols.length;) {
      const c0 = cols[i];
      if (i + 1 < cols.length && cols[i + 1] - c0 <= 16) {
        row.push([w[n * K + c0], w[n * K + cols[i + 1]], c0, cols[i + 1] - c0 - 1]);
        i += 2;
      } else {
        row.push([w[n * K + c0], 0, c0, 0]);
        i += 1;
      }
    }
    for (let i = 0; i + 1 < row.length; i += 2) {
      const [a, b] = [row[i], row[i + 1]];
      bytes.push(a[0] & 255, a[1] & 255, b[0] & 255, b[1] & 255, a[2], b[2], a[3] | (b[3] << 4));
    }
    if (row.length & 1) {
      const a = row[row.length - 1];
      bytes.push(a[0] & 255, a[1] & 255, a[2], a[3]);
    }
    counts.push(row.length);
    pairs += row.length;
  }
  return { bytes, counts, pairs, kept };
}

/**
 * Which int8 fully connected kernel runs these weights: the one with the fewest estimated
 * wasm instructions (fcInstructions, measured on the instrumented kernels) among those that
 * can: dense always; sparse with K <= 256 when its layout (sparseLayout: weights and
 * per-row counts) also takes fewer bytes than the dense K per row; ternary with K <= 256
 * for a layer ternarized by --ternary. Each is bit-exact with the integer interpreter, so
 * the choice changes only cost. The sparse kernel also needs K + 1 bytes of low scratch.
 */
export function fcKernelFor(w: ArrayLike<number>, d: Dims, ternary: boolean): "dense" | "sparse" | "ternary" {
  let kept = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) kept++;
  let best: "dense" | "sparse" | "ternary" = "dense";
  let est = fcInstructions(d.N, d.K, kept, kept);
  if (d.K <= 256 && 2 * kept < d.N * d.K) {
    const lay = sparseLayout(w, d.N, d.K);
    est = fcInstructions(d.N, d.K, kept, lay.pairs);
    if (lay.bytes.length + lay.counts.length < d.N * d.K && est.sparse < est[best]) best = "sparse";
  }
  if (ternary && d.K <= 256 && ternaryMagnitude(w) !== undefined && est.ternary < est[best]) best = "ternary";
  return best;
}

/** fc_sparse_s8 (runtime-as/kernels/fc-sparse.ts): quads of kept weights, pairs per row, K + 1 bytes of low scratch. */
function emitFcSparse(node: Node, e: EmitCtx, d: Dims, w: ArrayLike<number>, folded: Int32Array): void {
  const q = node.q!;
  const lay = sparseLayout(w, d.N, d.K);
  e.scratch(d.K + 1);
  e.call("fc-sparse", "fc_sparse_s8", [
    e.addr(node.inputs[0]), e.data("sparse_weights", "uint8", lay.bytes.length ? lay.bytes : [0]), e.data("sparse_pairs", "uint8", lay.counts),
    e.data("bias_folded", "int32", folded), e.addr(node.outputs[0]),
    d.M, d.N, d.K, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
    // for the cost formula (compiler/cost/fc.ts); the kernel ignores them: all pairs, rows with an odd last pair
    lay.pairs, lay.counts.filter((c) => c & 1).length,
  ]);
}

/** fc_ternary_s8 (runtime-as/kernels/fc-ternary.ts): the u8 column lists and their lengths. */
function emitFcTernary(node: Node, e: EmitCtx, d: Dims, w: ArrayLike<number>, folded: Int32Array): void {
  const q = node.q!;
  const m = ternaryMagnitude(w);
  if (m === undefined) internal(`${where(e.g, node)}: ternary layer with int8 weights of more than one magnitude`);
  if (d.K > 256) internal(`${where(e.g, node)}: ternary layer with K = ${d.K} > 256`);
  const idx: number[] = [], counts: number[] = [];
  for (let n = 0; n < d.N; n++) {
    const row = Array.from({ length: d.K }, (_, k) => w[n * d.K + k]);
    const plus = row.flatMap((v, k) => (v > 0 ? [k] : [])), minus = row.flatMap((v, k) => (v < 0 ? [k] : []));
    idx.push(...plus, ...minus);
    counts.push(plus.length, minus.length);
  }
  e.call("fc-ternary", "fc_ternary_s8", [
    e.addr(node.inputs[0]), e.data("ternary_columns", "uint8", idx.length ? idx : [0]), e.data("ternary_counts", "int16", counts),
    e.data("bias_folded", "int32", folded), e.addr(node.outputs[0]),
    d.M, d.N, d.K, m!, q.zy, e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift), q.qmin, q.qmax,
    idx.length, // the number of kept weights, for the cost formula (compiler/cost/fc.ts); the kernel ignores it
  ]);
}

export const Gemm: OpDef = {
  op: "Gemm",
  doc: "Y = alpha A' B' + beta C; constant B becomes a fully connected layer W [N,K] + b [N] (int8 per-channel)",
  normalize(node, g) {
    if (node.attrs.canonical) return;
    const ctx = where(g, node);
    const [an, bn, cn = ""] = node.inputs;
    if (!an || !bn || node.inputs.length > 3) bad(`${ctx}: expected inputs A, B and optionally C, got ${node.inputs.length}`);
    const tA = attrInt(node, "transA", 0), tB = attrInt(node, "transB", 0);
    const alpha = attrFloat(node, "alpha", 1), beta = attrFloat(node, "beta", 1);
    if ((tA !== 0 && tA !== 1) || (tB !== 0 && tB !== 1)) bad(`${ctx}: transA=${tA}, transB=${tB}; expected 0 or 1`);
    const { M, N, K } = generalDims(node, inT(g, node, 0).shape, inT(g, node, 1).shape, ctx);
    if (cn) checkC(tensor(g, cn).shape, M, N, ctx);
    const general = () => {
      node.attrs = { transA: tA, transB: tB, alpha, beta, ...keepAct(node) };
      node.inputs = cn ? [an, bn, cn] : [an, bn];
    };
    const B = tensor(g, bn);
    const useC = cn !== "" && beta !== 0;
    if (!isConst(g, bn) || B.dtype !== "float32" || (useC && !isConst(g, cn)) || (tA && M !== 1 && K !== 1)) return general();
    let bias: Float32Array | undefined;
    if (useC) {
      const C = tensor(g, cn);
      const cs = C.shape, cd = C.data!;
      if (numel(cs) === 1) bias = new Float32Array(N).fill(beta * cd[0]);
      else if (numel(cs) === N && cs[cs.length - 1] === N) bias = Float32Array.from(cd, (v) => beta * v);
      else return general(); // [M, N] or [M, 1] with M > 1: not one value per output column
    }
    const bd = B.data!;
    const w = new Float32Array(N * K);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) w[n * K + k] = alpha * (tB ? bd[n * K + k] : bd[k * N + n]);
    const base = node.name || node.outputs[0];
    const wn = freshName(g, `${base}::weight`);
    g.tensors.set(wn, { name: wn, dtype: "float32", shape: [N, K], data: w });
    node.inputs = [an, wn];
    if (bias) {
      const bname = freshName(g, `${base}::bias`);
      g.tensors.set(bname, { name: bname, dtype: "float32", shape: [N], data: bias });
      node.inputs.push(bname);
    }
    node.attrs = { canonical: true, ...keepAct(node) };
  },
  infer(node, g) {
    const ctx = where(g, node);
    const a = inT(g, node, 0);
    if (a.dtype !== "float32") bad(`${ctx}: A '${node.inputs[0]}' is ${a.dtype}; Gemm runs on float32 tensors only`);
    for (let i = 1; i < node.inputs.length; i++) {
      const t = inT(g, node, i);
      if (t.dtype !== "float32" && !t.data) bad(`${ctx}: input '${t.name}' is ${t.dtype}; Gemm runs on float32 tensors only`);
    }
    const { M, N } = dimsOf(node, a.shape, inT(g, node, 1).shape, ctx);
    if (!node.attrs.canonical && node.inputs[2]) checkC(inT(g, node, 2).shape, M, N, ctx);
    return [{ dtype: "float32", shape: [M, N] }];
  },
  ref(node, ins) {
    const [a, b, c] = ins;
    const ctx = `Gemm '${node.name}'`;
    const { M, N, K } = dimsOf(node, a.shape, b.shape, ctx);
    const y = makeValue(a.dtype, [M, N]);
    const { min, max } = actBounds(node);
    if (node.attrs.binary) return [binaryRef(node, a, b, c, { M, N, K })]; // --binary: ops/fc-binary.ts
    if (node.attrs.canonical) {
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a.data[m * K + k] * b.data[n * K + k];
          y.data[m * N + n] = clampF(s + (c ? c.data[n] : 0), min, max);
        }
      return [y];
    }
    const tA = attrInt(node, "transA", 0), tB = attrInt(node, "transB", 0);
    const alpha = attrFloat(node, "alpha", 1), beta = attrFloat(node, "beta", 1);
    const [sam, sak] = tA ? [1, M] : [K, 1];
    const [sbk, sbn] = tB ? [1, K] : [N, 1];
    const [scm, scn] = c ? bcastStrides(c.shape, [M, N]) : [0, 0];
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[m * sam + k * sak] * b.data[k * sbk + n * sbn];
        y.data[m * N + n] = clampF(alpha * s + (c ? beta * c.data[m * scm + n * scn] : 0), min, max);
      }
    return [y];
  },
  int(node, ins) {
    const [a, w, b] = ins;
    const { M, N, K } = canonDims(a.shape, w.shape, `Gemm '${node.name}'`);
    if (node.q!.fixed) return [fcFixed(a.data, w.data, b?.data, M, N, K, node.q!, [M, N])];
    if (node.q!.binary) return [fcBinaryInt(a.data, w.data, b.data, { M, N, K }, node.q!, [M, N])];
    return [fcInt(a.data, w.data, b.data, M, N, K, node.q!, [M, N])];
  },
  fixed(node, g, fx) {
    if (!node.attrs.canonical) {
      bad(`${where(g, node)}: only a fully connected Gemm (constant B, per-column constant C, no real transA) has a Q${fx.fmt.m}.${fx.fmt.f} form; compile without --fixed`);
    }
    fixedFc(node, g, fx);
  },
  quantize(node, g, qc) {
    if (!node.attrs.canonical) {
      bad(`${where(g, node)}: only a Gemm with constant B and a per-column constant C (shape N, 1xN or scalar) and no real transA has an int8 form; this one has ${node.inputs.map((n) => `'${n}' ${shapeStr(tensor(g, n).shape)}${isConst(g, n) ? " (constant)" : " (run time)"}`).join(", ")}, transA=${node.attrs.transA}`);
    }
    if (node.attrs.binary) return quantizeFcBinary(node, g, qc); // --binary / --pow2: ops/fc-binary.ts, ops/fc-pow2.ts
    if (node.attrs.pow2) pow2WeightQuant(g, node);
    quantizeFc(node, g, qc);
  },
  emit(node, e) {
    const [an, bn, cn = ""] = node.inputs;
    const a = tensor(e.g, an), b = tensor(e.g, bn);
    const d = dimsOf(node, a.shape, b.shape, where(e.g, node));
    if (node.attrs.canonical) {
      if (node.q?.fixed) emitFcQ(node, e, d);
      else if (node.q) emitFcS8(node, e, d);
      else if (node.attrs.circulant) emitFcCirculantF32(node, e, d);
      else emitFcF32(node, e, e.addr(an), e.addr(bn), cn ? e.addr(cn) : "0", e.addr(node.outputs[0]), d);
      return;
    }
    const tA = attrInt(node, "transA", 0), tB = attrInt(node, "transB", 0);
    const [scm, scn] = cn ? bcastStrides(tensor(e.g, cn).shape, [d.M, d.N]) : [0, 0];
    const { min, max } = actBounds(node);
    e.call("gemm", "gemm_f32", [
      e.addr(an), e.addr(bn), cn ? e.addr(cn) : "0", e.addr(node.outputs[0]), d.M, d.N, d.K,
      ...(tA ? [1, d.M] : [d.K, 1]), ...(tB ? [1, d.K] : [d.N, 1]), scm, scn,
      f32(attrFloat(node, "alpha", 1)), f32(attrFloat(node, "beta", 1)), f32(min), f32(max),
    ]);
  },
  macs(node, g) {
    const y = outT(g, node).shape;
    const d = dimsOf(node, inT(g, node, 0).shape, inT(g, node, 1).shape, where(g, node));
    return numel(y) * d.K;
  },
};
