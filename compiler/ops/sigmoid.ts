/**
 * Sigmoid: y = 1 / (1 + exp(-x)), elementwise. The f32 kernel uses Mathf.exp, which is within
 * a few float32 ulp of the float64 reference (the tests state that tolerance). The int8 form
 * is the shared activation lookup table (see unary.ts).
 */
import { activation } from "./unary.js";

export const Sigmoid = activation({
  op: "Sigmoid",
  doc: "1 / (1 + exp(-x))",
  fn: () => (x) => 1 / (1 + Math.exp(-x)),
  kernel: () => ({ fn: "sigmoid_f32", args: [] }),
});
