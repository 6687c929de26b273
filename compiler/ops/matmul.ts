/**
 * MatMul with numpy semantics: A [..., M, K] x B [..., K, N] with broadcast batch dims; a
 * 1-D A is a row [1, K] whose axis is dropped from the result, a 1-D B a column [K, 1]
 * likewise. PyTorch exports Linear on 3-D input as MatMul(x, W^T) + Add(bias) and Linear
 * without bias as MatMul(x, W^T), so a MatMul whose B is a constant of rank 1 or 2 is a
 * fully connected layer: every row of A (batch dims flattened) times the same [K, N] matrix.
 * It runs on the fully connected kernels of Gemm with B transposed to [N, K]; any other
 * MatMul runs the batched kernel (runtime-as/kernels/matmul.ts). fuse-activation's
 * actMin/actMax are applied before storing in both.
 *
 * int8, two forms:
 * - constant 2-D (or 1-D) B: exactly canonical Gemm's (gemm.ts) with W = B^T [N, K]
 *   quantized symmetric per output column n, an int32 zero bias at s_a * s_w[n] and a
 *   per-column multiplier: y = clamp(mbqm(sum_k (a - z_a) w[n,k], mult[n], shift[n]) + z_y).
 * - otherwise (both at run time, or a constant operand that is not a 2-D B): both operands
 *   per-tensor asymmetric (a constant one quantized like an activation), one multiplier
 *   Q31(s_a s_b / s_y):
 *     acc = sum_k (a[m,k] - z_a) (b[k,n] - z_b)   (int32, wrapping)
 *     y   = clamp(mbqm(acc, mult, shift) + z_y, qmin, qmax)
 *
 * Q format (--fixed): only the constant-B form, exactly canonical Gemm's Q form (gemm.ts,
 * fc_q8 / fc_q16) with W = B^T and no bias; a MatMul of two run-time operands is refused.
 */
import { bad, shapeStr } from "../util/errors.js";
import { freshName, makeValue, numel, tensor, type Data } from "../ir/graph.js";
import { clamp, mbqm, quantizeMultiplier } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { actBounds, actQBounds, bcastStrides, broadcastShape, clampF, f32, inT, outT, requireFloat, where } from "./util.js";
import { emitFcF32, emitFcQ, emitFcS8, fcFixed, fcInt, fixedFc, perTensor, quantizeFc } from "./gemm.js";

export interface MatMulGeom {
  M: number; N: number; K: number;
  /** Output shape (1-D operands' axes dropped). */
  out: number[];
  /** Element offsets of A's and B's matrix for each output matrix, in output order. */
  offA: number[]; offB: number[];
}

export function matmulGeom(a: number[], b: number[], ctx: string): MatMulGeom {
  if (a.length === 0 || b.length === 0) bad(`${ctx}: operands ${shapeStr(a)} and ${shapeStr(b)}; MatMul needs rank >= 1`);
  const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
  const M = a2[a2.length - 2], K = a2[a2.length - 1], Kb = b2[b2.length - 2], N = b2[b2.length - 1];
  if (K !== Kb) bad(`${ctx}: A ${shapeStr(a)} and B ${shapeStr(b)} do not multiply (inner dims ${K} and ${Kb})`);
  const ba = a2.slice(0, -2), bb = b2.slice(0, -2);
  const batch = broadcastShape(ba, bb, ctx);
  const sa = bcastStrides(ba, batch), sb = bcastStrides(bb, batch);
  const offA: number[] = [], offB: number[] = [];
  const idx = new Array<number>(batch.length).fill(0);
  for (let t = 0; t < numel(batch); t++) {
    let oa = 0, ob = 0;
    idx.forEach((v, i) => { oa += v * sa[i]; ob += v * sb[i]; });
    offA.push(oa * M * K);
    offB.push(ob * K * N);
    for (let d = batch.length - 1; d >= 0 && ++idx[d] === batch[d]; d--) idx[d] = 0;
  }
  const out = [...batch, ...(a.length === 1 ? [] : [M]), ...(b.length === 1 ? [] : [N])];
  return { M, N, K, out, offA, offB };
}

/** B^T: [K, N] row-major to [N, K] (a 1-D B of K is already its own transpose). */
function transposeKN(d: Data, K: number, N: number): Float32Array {
  const t = new Float32Array(N * K);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) t[n * K + k] = d[k * N + n];
  return t;
}

export const MatMul: OpDef = {
  op: "MatMul",
  doc: "numpy matmul with batch broadcasting and 1-D operands; constant B runs as a fully connected layer",
  infer(node, g) {
    requireFloat(g, node);
    if (node.inputs.length !== 2 || !node.inputs[0] || !node.inputs[1]) bad(`${where(g, node)}: expected 2 inputs, got ${node.inputs.length}`);
    return [{ dtype: "float32", shape: matmulGeom(inT(g, node, 0).shape, inT(g, node, 1).shape, where(g, node)).out }];
  },
  ref(node, [a, b]) {
    const { M, N, K, out, offA, offB } = matmulGeom(a.shape, b.shape, `MatMul '${node.name}'`);
    const y = makeValue(a.dtype, out);
    const { min, max } = actBounds(node);
    offA.forEach((oa, t) => {
      const ob = offB[t];
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a.data[oa + m * K + k] * b.data[ob + k * N + n];
          y.data[(t * M + m) * N + n] = clampF(s, min, max);
        }
    });
    return [y];
  },
  int(node, [a, b, bias]) {
    const q = node.q!;
    if (q.fixed) {
      const [N, K] = b.shape;
      return [fcFixed(a.data, b.data, undefined, numel(a.shape) / K, N, K, q, q.out)];
    }
    if (q.fc) {
      const [N, K] = b.shape;
      return [fcInt(a.data, b.data, bias.data, numel(a.shape) / K, N, K, q, q.out)];
    }
    const { M, N, K, out, offA, offB } = matmulGeom(a.shape, b.shape, `MatMul '${node.name}'`);
    const y = makeValue("int8", out);
    offA.forEach((oa, t) => {
      const ob = offB[t];
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc = (acc + Math.imul(a.data[oa + m * K + k] - q.za, b.data[ob + k * N + n] - q.zb)) | 0;
          y.data[(t * M + m) * N + n] = clamp((mbqm(acc, q.mult, q.shift) + q.zy) | 0, q.qmin, q.qmax);
        }
    });
    return [y];
  },
  quantize(node, g, qc) {
    const [an, bn] = node.inputs, yn = node.outputs[0];
    const A = tensor(g, an), B = tensor(g, bn);
    const geo = matmulGeom(A.shape, B.shape, where(g, node));
    if (B.data && !B.quant && B.dtype === "float32" && B.shape.length <= 2) {
      const wn = freshName(g, `${bn}::T`);
      g.tensors.set(wn, { name: wn, dtype: "float32", shape: [geo.N, geo.K], data: transposeKN(B.data, geo.K, geo.N) });
      node.inputs = [an, wn];
      quantizeFc(node, g, qc, { fc: true, out: geo.out });
      return;
    }
    qc.actQuant(an);
    qc.actQuant(bn);
    qc.actQuant(yn);
    const qa = perTensor(g, node, an), qb = perTensor(g, node, bn), qy = perTensor(g, node, yn);
    const m = quantizeMultiplier((qa.s * qb.s) / qy.s);
    node.q = { za: qa.z, zb: qb.z, zy: qy.z, mult: m.mult, shift: m.shift, ...actQBounds(node, qy.s, qy.z) };
  },
  fixed(node, g, fx) {
    const [an, bn] = node.inputs;
    const A = tensor(g, an), B = tensor(g, bn);
    const geo = matmulGeom(A.shape, B.shape, where(g, node));
    if (!B.data || B.dtype !== "float32" || B.shape.length > 2) {
      bad(`${where(g, node)}: only a MatMul by a constant matrix (B of rank 1 or 2) has a Q${fx.fmt.m}.${fx.fmt.f} form; B '${bn}' is ${B.data ? `a constant of shape ${shapeStr(B.shape)}` : "computed at run time"}; compile without --fixed`);
    }
    const wn = freshName(g, `${bn}::T`);
    g.tensors.set(wn, { name: wn, dtype: "float32", shape: [geo.N, geo.K], data: transposeKN(B.data!, geo.K, geo.N) });
    node.inputs = [an, wn];
    fixedFc(node, g, fx, { out: geo.out });
  },
  emit(node, e) {
    const [an, bn] = node.inputs, yn = node.outputs[0];
    const A = tensor(e.g, an), B = tensor(e.g, bn);
    const q = node.q;
    if (q?.fixed) {
      const [N, K] = B.shape;
      emitFcQ(node, e, { M: numel(A.shape) / K, N, K });
      return;
    }
    if (q?.fc) {
      const [N, K] = B.shape;
      emitFcS8(node, e, { M: numel(A.shape) / K, N, K });
      return;
    }
    const geo = matmulGeom(A.shape, B.shape, where(e.g, node));
    const { N, K } = geo;
    if (!q && B.data && B.dtype === "float32" && B.shape.length <= 2) {
      const wt = e.data(`${bn}_T`, "float32", transposeKN(B.data, K, N));
      emitFcF32(node, e, e.addr(an), wt, "0", e.addr(yn), { M: numel(A.shape) / K, N, K });
      return;
    }
    // B without batch dims: A's rows are one M x K matrix (its batch dims are contiguous)
    const flat = B.shape.length <= 2;
    const batches = flat ? 1 : geo.offA.length;
    const M = flat ? numel(A.shape) / K : geo.M;
    const offs = batches === 1 ? "0" : e.data("matmul_offsets", "int32", geo.offA.flatMap((oa, t) => [oa, geo.offB[t]]));
    const io = [e.addr(an), e.addr(bn), e.addr(yn), offs, batches, M, N, K];
    if (!q) {
      const { min, max } = actBounds(node);
      e.call("matmul", "matmul_f32", [...io, f32(min), f32(max)]);
    } else {
      // zb * za * K, the constant part of the zero-point correction, is computed here
      e.call("matmul", "matmul_s8", [...io, q.za, q.zb, q.zy, q.mult, q.shift, q.qmin, q.qmax, q.zb * q.za * K]);
    }
  },
  macs(node, g) {
    const a = inT(g, node, 0).shape;
    return numel(outT(g, node).shape) * a[a.length - 1];
  },
};
