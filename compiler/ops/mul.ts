/**
 * Mul: elementwise product with numpy broadcasting on both sides (scaling by a scalar or
 * by per-channel [C,1,1] constants, gating by another activation). Fused activation bounds
 * (actMin/actMax) are honoured like Add's should a pass attach them. On any dtype the
 * reference also folds shape arithmetic.
 *
 * int8: the product of the zero-point-corrected operands in int32, requantized once:
 *   y = clamp(mbqm((a - z_a) * (b - z_b), m) + z_y, qmin, qmax),   m = s_a s_b / s_y
 * ((a - z_a) * (b - z_b) is at most 255^2, so it never wraps.) Constant operands are
 * quantized per tensor, asymmetric (actQuant).
 */
import { numel, type Value } from "../ir/graph.js";
import { clamp, mbqm, quantizeMultiplier } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { actBounds, actQBounds, broadcastBinary, f32, outT } from "./util.js";
import { binaryInfer, binaryNormalize, binaryRef, binaryPlan, elementTiles, operandB, planArgs, tensorQuant } from "./binary.js";

export const Mul: OpDef = {
  op: "Mul",
  doc: "elementwise product with numpy broadcasting",
  normalize: binaryNormalize,
  infer: binaryInfer,
  ref: binaryRef("Mul", (x, y) => x * y),
  int(node, [a, b0]): Value[] {
    const b = operandB(node, b0);
    const q = node.q!;
    return [broadcastBinary(a, b, "int8",
      (x, y) => clamp((mbqm(Math.imul(x - q.za, y - q.zb), q.m, q.sh) + q.zy) | 0, q.qmin, q.qmax),
      `Mul '${node.name}'`)];
  },
  quantize(node, g, qc) {
    const [an, bn] = node.inputs, yn = node.outputs[0];
    qc.actQuant(an);
    qc.actQuant(bn);
    qc.actQuant(yn);
    const A = tensorQuant(g, node, an), B = tensorQuant(g, node, bn), Y = tensorQuant(g, node, yn);
    const m = quantizeMultiplier((A.s * B.s) / Y.s);
    node.q = { za: A.z, zb: B.z, zy: Y.z, m: m.mult, sh: m.shift, ...actQBounds(node, Y.s, Y.z) };
  },
  emit(node, e) {
    const io = [e.addr(node.inputs[0]), e.addr(node.inputs[1]), e.addr(node.outputs[0]), ...planArgs(e, "bcast", binaryPlan(e.g, node))];
    const q = node.q;
    if (!q) {
      const { min, max } = actBounds(node);
      e.call("mul", "mul_f32", [...io, f32(min), f32(max)], elementTiles(io, 4));
    } else {
      e.call("mul", "mul_s8", [...io, q.za, q.zb, q.zy, q.m, q.sh, q.qmin, q.qmax], elementTiles(io, 1));
    }
  },
  macs: (node, g) => numel(outT(g, node).shape),
};
