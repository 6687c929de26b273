/**
 * AveragePool: 1-D and 2-D average pooling (NCL / NCHW) with kernel_shape, strides,
 * asymmetric pads, auto_pad, ceil_mode and count_include_pad (window geometry in
 * pool-geometry.ts). The divisor, as in onnxruntime (1.30, checked) and PyTorch: with
 * count_include_pad=0 the number of window positions inside the input; with
 * count_include_pad=1 the number inside the input plus its pads (explicit or auto_pad),
 * where positions of the ceil_mode overhang beyond the end pad are not counted. Dilations
 * exist only from opset 19 and are refused unless all 1.
 *
 * int8 keeps the input's quantization (the mean of affine values is the affine map of the
 * mean). The integer semantics: sum the int8 values inside the input, add the zero point
 * (real 0) once per counted padding position, and divide by the count rounding half away
 * from zero (roundDiv in pool-geometry.ts).
 */
import { bad } from "../util/errors.js";
import { makeValue, numel, tensor } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { attrInt, attrInts, inT, outT, where } from "./util.js";
import { checkSumRange, normalizePool, poolGeom, poolInfer, poolShape, roundDiv, sweepWindows } from "./pool-geometry.js";

export const AveragePool: OpDef = {
  op: "AveragePool",
  doc: "1-D/2-D average pooling; strides, pads, auto_pad, ceil_mode, count_include_pad",
  normalize(node, g) {
    if (node.attrs.out) return;
    const ctx = where(g, node);
    const di = attrInts(node, "dilations", []);
    if (di.some((d) => d !== 1)) bad(`${ctx}: dilations [${di.join(",")}] (opset 19) are not supported for AveragePool; only 1`);
    const cip = attrInt(node, "count_include_pad", 0);
    if (cip !== 0 && cip !== 1) bad(`${ctx}: count_include_pad ${cip} must be 0 or 1`);
    delete node.attrs.dilations;
    normalizePool(node, g, { count_include_pad: cip });
  },
  infer: poolInfer,
  ref(node, [x]) {
    const gm = poolGeom(node, x.shape);
    const cip = node.attrs.count_include_pad === 1;
    const y = makeValue(x.dtype === "float64" ? "float64" : "float32", poolShape(node, x.shape));
    sweepWindows(gm, (o, idx, padded) => {
      let s = 0;
      for (const i of idx) s += x.data[i];
      y.data[o] = s / (cip ? padded : idx.length);
    });
    return [y];
  },
  int(node, [x]) {
    const gm = poolGeom(node, x.shape);
    const cip = node.attrs.count_include_pad === 1;
    const zx: number = node.q!.zx;
    const y = makeValue("int8", poolShape(node, x.shape));
    sweepWindows(gm, (o, idx, padded) => {
      let s = 0;
      for (const i of idx) s += x.data[i];
      const count = cip ? padded : idx.length;
      y.data[o] = roundDiv(s + (count - idx.length) * zx, count);
    });
    return [y];
  },
  quantize(node, g, qc) {
    const ks = node.attrs.kernel_shape as number[];
    checkSumRange(g, node, numel(ks));
    qc.sameQuant(node.outputs[0], node.inputs[0]);
    node.q = { zx: tensor(g, node.inputs[0]).quant!.zeroPoint[0] };
  },
  emit(node, e) {
    const gm = poolGeom(node, inT(e.g, node, 0).shape);
    const args: Array<string | number> = [
      e.addr(node.inputs[0]), e.addr(node.outputs[0]),
      gm.NC, gm.H, gm.W, gm.KH, gm.KW, gm.OH, gm.OW, gm.sh, gm.sw, gm.pt, gm.pl, gm.he, gm.we,
      node.attrs.count_include_pad,
    ];
    const products = [gm.H * gm.W, gm.sh * gm.W, gm.pt * gm.W]; // the kernel's address steps, precomputed
    if (node.q) e.call("pool", "avgpool_s8", [...args, node.q.zx, ...products]);
    else e.call("pool", "avgpool_f32", [...args, ...products]);
  },
  macs(node, g) {
    return numel(outT(g, node).shape) * numel(node.attrs.kernel_shape as number[]);
  },
};
