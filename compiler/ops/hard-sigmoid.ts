/**
 * HardSigmoid: y = max(0, min(1, alpha * x + beta)), defaults alpha 0.2 and beta 0.5 (the
 * ONNX defaults; PyTorch's Hardsigmoid exports alpha = 1/6). The reference evaluates
 * alpha * x + beta in float64 and rounds once; the f32 kernel rounds the product and the sum,
 * so the two may differ by one float32 ulp. The int8 form is the shared activation lookup
 * table (see unary.ts). In a Q format (--fixed) only PyTorch's alpha 1/6, beta 1/2 has a
 * form: ElasticAI's hard sigmoid qHardSigmoid (compiler/ir/fixedpoint.ts), as a table for
 * int8 storage and computed by hsig_q16 for int16.
 */
import { activation, finiteAttr } from "./unary.js";
import { f32, where } from "./util.js";
import { bad } from "../util/errors.js";

export const HardSigmoid = activation({
  op: "HardSigmoid",
  doc: "max(0, min(1, alpha * x + beta)) (alpha 0.2, beta 0.5 by default)",
  normalize(node, g) {
    node.attrs = {
      alpha: Math.fround(finiteAttr(g, node, "alpha", 0.2)),
      beta: Math.fround(finiteAttr(g, node, "beta", 0.5)),
    };
  },
  fn: (node) => {
    const alpha: number = node.attrs.alpha, beta: number = node.attrs.beta;
    return (x) => Math.max(0, Math.min(1, alpha * x + beta));
  },
  kernel: (node) => ({ fn: "hard_sigmoid_f32", args: [f32(node.attrs.alpha), f32(node.attrs.beta)] }),
  fixed: (node, g, fmt) => {
    if (node.attrs.alpha !== Math.fround(1 / 6) || node.attrs.beta !== 0.5) {
      bad(`${where(g, node)}: HardSigmoid alpha ${node.attrs.alpha}, beta ${node.attrs.beta} has no Q${fmt.m}.${fmt.f} form; --fixed runs only x/6 + 1/2 (alpha 1/6, beta 0.5, PyTorch's Hardsigmoid)`);
    }
    return { kind: "hsig" };
  },
});
