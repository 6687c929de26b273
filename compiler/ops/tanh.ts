/**
 * Tanh: y = tanh(x), elementwise. The f32 kernel uses Mathf.tanh, within a few float32 ulp of
 * the float64 reference. The int8 form is the shared activation lookup table (see unary.ts).
 */
import { activation } from "./unary.js";

export const Tanh = activation({
  op: "Tanh",
  doc: "tanh(x)",
  fn: () => Math.tanh,
  kernel: () => ({ fn: "tanh_f32", args: [] }),
});
