/**
 * LeakyRelu: y = x for x >= 0, alpha * x for x < 0 (alpha defaults to 0.01). The f32 kernel's
 * single product of two float32 values is exact in float64, so it matches the reference bit
 * for bit. The int8 form is the shared activation lookup table (see unary.ts).
 */
import { activation, finiteAttr } from "./unary.js";
import { f32 } from "./util.js";

export const LeakyRelu = activation({
  op: "LeakyRelu",
  doc: "x >= 0 ? x : alpha * x (alpha default 0.01)",
  normalize(node, g) {
    node.attrs = { alpha: Math.fround(finiteAttr(g, node, "alpha", 0.01)) };
  },
  fn: (node) => {
    const alpha: number = node.attrs.alpha;
    return (x) => (x < 0 ? alpha * x : x);
  },
  kernel: (node) => ({ fn: "leaky_relu_f32", args: [f32(node.attrs.alpha)] }),
});
