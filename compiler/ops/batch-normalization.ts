/**
 * BatchNormalization, inference form: y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c]
 * + B[c] per channel on axis 1, input rank >= 2. A BN right after a Conv or Gemm is folded
 * into its weights by passes/fold-batchnorm.ts; this op runs the ones that stay (after an
 * Add, a MatMul, ...). Training mode and the running/saved statistics outputs are refused.
 *
 * Float: the four parameter tensors may be run-time inputs (the ONNX node tests feed them),
 * so the kernel reads them and computes a = scale / sqrt(var + eps) once per channel.
 * int8 (parameters must be constants): the per-channel affine y = a[c] * x + b[c] with
 * a = scale / sqrt(var + eps), b = B - mean * a, run like a depthwise 1x1 convolution:
 * a quantized symmetric per channel, a_q[c] = round(a[c] / s_a[c]) with
 * s_a[c] = max(|a[c]| / 127, |b[c]| / (s_x * 2^24)) (1 if both are 0; the second term only
 * matters for near-zero a and keeps |b_q| <= 2^24), an int32 bias b_q[c] = round(b[c] /
 * (s_x * s_a[c])), acc = (x - z_x) * a_q[c] + b_q[c] and y = clamp(mbqm(acc, mult[c],
 * shift[c]) + z_y, -128, 127) with mult/shift from s_x * s_a[c] / s_y (rounding half away
 * from zero throughout; the output gets its own calibrated quantization).
 */
import { bad } from "../util/errors.js";
import { constData, makeValue, numel, tensor } from "../ir/graph.js";
import { clamp, mbqm, quantizeMultiplier, roundHalfAway, type QMul } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { attrFloat, attrInt, f32, inT, requireFloat, where } from "./util.js";

/** [N, C, S]: batch, channels and elements per channel plane. */
function dims(shape: number[]): [number, number, number] {
  return [shape[0], shape[1], numel(shape.slice(2))];
}

const PARAMS = ["scale", "B", "input_mean", "input_var"];

export const BatchNormalization: OpDef = {
  op: "BatchNormalization",
  doc: "inference batch normalization per channel (axis 1), rank >= 2; folded into Conv/Gemm when possible",
  normalize(node, g) {
    const ctx = where(g, node);
    if (attrInt(node, "training_mode", 0) !== 0) bad(`${ctx}: training_mode=1 (batch statistics) is not supported; picojoule compiles inference only`);
    const extra = node.outputs.slice(1).filter((o) => o !== "");
    if (extra.length) bad(`${ctx}: outputs ${extra.map((o) => `'${o}'`).join(", ")} (running or saved mean/variance) exist only in training; export the model in eval mode`);
    if (attrInt(node, "spatial", 1) !== 1) bad(`${ctx}: spatial=0 (per-activation statistics, opset 7-8) is not supported`);
    if (node.inputs.length !== 5 || node.inputs.some((n) => n === "")) bad(`${ctx}: expects 5 inputs (X, scale, B, mean, var), got ${node.inputs.length}`);
    requireFloat(g, node);
    const xs = inT(g, node, 0).shape;
    if (xs.length < 2) bad(`${ctx}: input has shape ${xs.join("x") || "scalar"}; BatchNormalization needs rank >= 2 (N, C, ...)`);
    for (let i = 1; i < 5; i++) {
      const s = inT(g, node, i).shape;
      if (s.length !== 1 || s[0] !== xs[1]) bad(`${ctx}: ${PARAMS[i - 1]} has shape ${s.join("x") || "scalar"}, expected [${xs[1]}] (one value per channel of ${xs.join("x")})`);
    }
    node.outputs = [node.outputs[0]];
    node.attrs = { epsilon: Math.fround(attrFloat(node, "epsilon", 1e-5)) };
  },
  infer(node, g) {
    const x = inT(g, node, 0);
    return [{ dtype: x.dtype, shape: [...x.shape] }];
  },
  ref(node, [x, scale, b, mean, variance]) {
    const [N, C, S] = dims(x.shape);
    const eps: number = node.attrs.epsilon;
    const y = makeValue(x.dtype === "float64" ? "float64" : "float32", x.shape);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++) {
        const inv = 1 / Math.sqrt(variance.data[c] + eps);
        for (let i = (n * C + c) * S, e = i + S; i < e; i++) {
          y.data[i] = (x.data[i] - mean.data[c]) * inv * scale.data[c] + b.data[c];
        }
      }
    return [y];
  },
  int(node, [x, aq, bq]) {
    const [N, C, S] = dims(x.shape);
    const { zx, zy, mult, shift } = node.q!;
    const y = makeValue("int8", x.shape);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let i = (n * C + c) * S, e = i + S; i < e; i++) {
          const acc = (Math.imul(x.data[i] - zx, aq.data[c]) + bq.data[c]) | 0;
          y.data[i] = clamp((mbqm(acc, mult[c], shift[c]) + zy) | 0, -128, 127);
        }
    return [y];
  },
  quantize(node, g, qc) {
    const ctx = where(g, node);
    const [xn] = node.inputs;
    const [scale, b, mean, variance] = [1, 2, 3, 4].map((i) => constData(g, node, i, `${PARAMS[i - 1]} for int8`));
    const yn = node.outputs[0];
    qc.actQuant(yn);
    const xq = tensor(g, xn).quant!, yq = tensor(g, yn).quant!;
    const sx = xq.scale[0], sy = yq.scale[0];
    const C = scale.length, eps: number = node.attrs.epsilon;
    const aq = new Int8Array(C), bq = new Int32Array(C), sa = new Array<number>(C);
    const muls: QMul[] = [];
    for (let c = 0; c < C; c++) {
      const a = scale[c] / Math.sqrt(variance[c] + eps);
      const bb = b[c] - mean[c] * a;
      if (!Number.isFinite(a) || !Number.isFinite(bb)) bad(`${ctx}: channel ${c} has a non-finite affine form (scale ${scale[c]}, var ${variance[c]}, epsilon ${eps})`);
      sa[c] = Math.max(Math.abs(a) / 127, Math.abs(bb) / (sx * 2 ** 24)) || 1;
      aq[c] = clamp(roundHalfAway(a / sa[c]), -127, 127);
      bq[c] = roundHalfAway(bb / (sx * sa[c]));
      try {
        muls.push(quantizeMultiplier((sx * sa[c]) / sy));
      } catch {
        bad(`${ctx}: channel ${c} needs a requantization multiplier ${(sx * sa[c]) / sy} outside the fixed-point range`);
      }
    }
    const base = node.name || yn;
    const an = `${base}::bn_a_q`, bn = `${base}::bn_b_q`;
    g.tensors.set(an, { name: an, dtype: "int8", shape: [C], data: aq, quant: { scale: sa, zeroPoint: sa.map(() => 0), axis: 0 } });
    g.tensors.set(bn, { name: bn, dtype: "int32", shape: [C], data: bq });
    node.inputs = [xn, an, bn];
    node.q = { zx: xq.zeroPoint[0], zy: yq.zeroPoint[0], mult: muls.map((m) => m.mult), shift: muls.map((m) => m.shift) };
  },
  emit(node, e) {
    const [N, C, S] = dims(inT(e.g, node, 0).shape);
    const x = e.addr(node.inputs[0]), y = e.addr(node.outputs[0]);
    if (!node.q) {
      const [sc, b, m, v] = node.inputs.slice(1).map((n) => e.addr(n));
      e.call("batch-normalization", "batchnorm_f32", [x, sc, b, m, v, y, N, C, S, f32(node.attrs.epsilon)]);
    } else {
      const q = node.q;
      e.call("batch-normalization", "batchnorm_s8", [
        x, e.addr(node.inputs[1]), e.addr(node.inputs[2]), e.data("mult", "int32", q.mult), e.data("shift", "int32", q.shift),
        y, N, C, S, q.zx, q.zy,
      ]);
    }
  },
  macs(node, g) {
    return numel(inT(g, node, 0).shape);
  },
};
