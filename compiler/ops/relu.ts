/**
 * Relu: y = max(0, x), elementwise. A Relu right after a Conv, Gemm, MatMul or Add is
 * fused into that node by passes/fuse-activation.ts; this op runs the ones that are left.
 * The int8 form is the shared activation lookup table (see unary.ts); in a Q format
 * (--fixed) the table holds max(q, 0).
 */
import { activation } from "./unary.js";

export const Relu = activation({
  op: "Relu",
  doc: "max(0, x)",
  fn: () => (x) => (x < 0 ? 0 : x),
  kernel: () => ({ fn: "relu_f32", args: [] }),
  fixed: () => (q) => (q < 0 ? 0 : q),
});
