/**
 * Add: elementwise sum with numpy broadcasting on both sides (PyTorch exports the bias of a
 * Linear on 3-D input as Add(bias, x), constant first, and per-channel parameters as
 * [C,1,1] constants). fuse-activation may attach Relu/Clip bounds (actMin/actMax), which
 * the kernels apply before storing. On any dtype the reference also folds shape arithmetic.
 *
 * int8 follows TFLite's quantized Add: both operands are brought to a common scale
 * 2 * max(s_a, s_b) with 20 bits of headroom, summed in int32 and requantized to the output:
 *   a' = mbqm((a - z_a) << 20, m_a),   m_a = s_a / (2 max(s_a, s_b))
 *   b' = mbqm((b - z_b) << 20, m_b),   m_b = s_b / (2 max(s_a, s_b))
 *   y  = clamp(mbqm(a' + b', m_o) + z_y, qmin, qmax),   m_o = 2 max(s_a, s_b) / (2^20 s_y)
 * Constant operands are quantized per tensor, asymmetric (actQuant).
 *
 * Q format (--fixed, ElasticAI's add): operands share the grid, so y = clamp(sat(a + b),
 * qmin, qmax), sat the format's saturation and qmin/qmax a fused Relu/Clip's bounds on the
 * grid; a constant operand is converted like every constant. Kernels add_q8 (int8 storage)
 * and add_q16 (int16, W 9 to 16: |a + b| <= 2^16, no overflow in i32).
 */
import { numel, type Value } from "../ir/graph.js";
import { clamp, mbqm, qFmt, qStorage, quantizeMultiplier } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { actBounds, actFixedBounds, actQBounds, broadcastBinary, f32, outT } from "./util.js";
import { binaryInfer, binaryNormalize, binaryRef, binaryPlan, elementTiles, operandB, planArgs, tensorQuant } from "./binary.js";

export const LEFT_SHIFT = 20;

export const Add: OpDef = {
  op: "Add",
  doc: "elementwise sum with numpy broadcasting; fused Relu/Clip bounds",
  normalize: binaryNormalize,
  infer: binaryInfer,
  ref: binaryRef("Add", (x, y) => x + y),
  int(node, [a, b0]): Value[] {
    const b = operandB(node, b0);
    const q = node.q!;
    if (q.fixed) {
      const F = qFmt(q.fixed.m, q.fixed.f);
      return [broadcastBinary(a, b, qStorage(F), (x, y) => clamp(clamp(x + y, F.lo, F.hi), q.qmin, q.qmax), `Add '${node.name}'`)];
    }
    const one = 1 << LEFT_SHIFT;
    return [broadcastBinary(a, b, "int8", (x, y) => {
      const xa = mbqm(Math.imul(x - q.za, one), q.ma, q.sha);
      const xb = mbqm(Math.imul(y - q.zb, one), q.mb, q.shb);
      return clamp((mbqm((xa + xb) | 0, q.mo, q.sho) + q.zy) | 0, q.qmin, q.qmax);
    }, `Add '${node.name}'`)];
  },
  quantize(node, g, qc) {
    const [an, bn] = node.inputs, yn = node.outputs[0];
    qc.actQuant(an);
    qc.actQuant(bn);
    qc.actQuant(yn);
    const A = tensorQuant(g, node, an), B = tensorQuant(g, node, bn), Y = tensorQuant(g, node, yn);
    const twiceMax = 2 * Math.max(A.s, B.s);
    const ma = quantizeMultiplier(A.s / twiceMax), mb = quantizeMultiplier(B.s / twiceMax);
    const mo = quantizeMultiplier(twiceMax / (2 ** LEFT_SHIFT * Y.s));
    node.q = {
      za: A.z, zb: B.z, zy: Y.z,
      ma: ma.mult, sha: ma.shift, mb: mb.mult, shb: mb.shift, mo: mo.mult, sho: mo.shift,
      ...actQBounds(node, Y.s, Y.z),
    };
  },
  fixed(node, _g, fx) {
    for (const n of [...node.inputs, node.outputs[0]]) fx.q(n);
    node.q = { fixed: { m: fx.fmt.m, f: fx.fmt.f }, ...actFixedBounds(node, fx.fmt) };
  },
  emit(node, e) {
    const io = [e.addr(node.inputs[0]), e.addr(node.inputs[1]), e.addr(node.outputs[0]), ...planArgs(e, "bcast", binaryPlan(e.g, node))];
    const q = node.q;
    if (q?.fixed) {
      const F = qFmt(q.fixed.m, q.fixed.f);
      const int8 = qStorage(F) === "int8";
      e.call("add", int8 ? "add_q8" : "add_q16", [...io, F.lo, F.hi, q.qmin, q.qmax], elementTiles(io, int8 ? 1 : 2));
    } else if (!q) {
      const { min, max } = actBounds(node);
      e.call("add", "add_f32", [...io, f32(min), f32(max)], elementTiles(io, 4));
    } else {
      e.call("add", "add_s8", [...io, q.za, q.zb, q.zy, q.ma, q.sha, q.mb, q.shb, q.mo, q.sho, q.qmin, q.qmax], elementTiles(io, 1));
    }
  },
  macs: (node, g) => numel(outT(g, node).shape),
};
