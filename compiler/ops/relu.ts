/**
 * Relu: y = max(0, x), elementwise. A Relu right after a Conv, Gemm, MatMul or Add is
 * fused into that node by passes/fuse-activation.ts; this op runs the ones that are left.
 * The int8 form is the shared activation lookup table (see unary.ts); in a Q format
 * (--fixed) it is max(q, 0), i.e. the clamp of q to [0, hi] (a table for int8 storage,
 * clamp_q16 for int16).
 */
import { activation } from "./unary.js";

export const Relu = activation({
  op: "Relu",
  doc: "max(0, x)",
  fn: () => (x) => (x < 0 ? 0 : x),
  kernel: () => ({ fn: "relu_f32", args: [] }),
  fixed: (_node, _g, fmt) => ({ kind: "clamp", lo: 0, hi: fmt.hi }),
});
