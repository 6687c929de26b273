/**
 * Window geometry shared by MaxPool and AveragePool: reading kernel_shape, strides, pads,
 * auto_pad, dilations and ceil_mode into explicit begin/end pads and output sizes, once at
 * import, so the reference, the integer semantics and the kernels all walk the same windows.
 * Output sizes follow onnxruntime (1.30, checked) and PyTorch: with ceil_mode a last window
 * that would start in the right padding (start >= input + begin pad) is dropped, although
 * ONNX shape inference keeps it (so exported models may declare one more). Cases where
 * the ONNX spec and onnxruntime disagree (ceil_mode with VALID when it would add a window,
 * SAME_* with dilations) and windows that touch no input element are refused, never guessed.
 * Also the rounding integer division both int8 average pools use.
 */
import { bad } from "../util/errors.js";
import type { Graph, Node } from "../ir/graph.js";
import { truncDiv } from "../ir/fixedpoint.js";
import { attrInt, attrInts, attrStr, inT, requireFloat, where } from "./util.js";

export interface PoolGeom {
  /** N * C planes of H x W (1-D pooling has H = KH = OH = 1). */
  NC: number; H: number; W: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pl: number;
  /** End of the region count_include_pad counts along H and W: input size + end pad (not the ceil_mode overhang). */
  he: number; we: number;
}

interface Axis { out: number; pb: number; pe: number }

/** One spatial axis: begin/end pads and output size, onnxruntime's rules. */
function poolAxis(ctx: string, mode: string, ceil: boolean, n: number, k: number, s: number, d: number, pb: number, pe: number): Axis {
  const ke = (k - 1) * d + 1;
  if (mode === "SAME_UPPER" || mode === "SAME_LOWER") {
    // onnxruntime pads for the undilated kernel here, the ONNX spec for the dilated one
    if (ke !== k) bad(`${ctx}: auto_pad ${mode} with dilations > 1 is computed differently by the ONNX spec and onnxruntime; give explicit pads instead`);
    const out = Math.ceil(n / s);
    const total = Math.max(0, (out - 1) * s + ke - n);
    const b = mode === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
    return { out, pb: b, pe: total - b };
  }
  if (mode === "VALID") { pb = 0; pe = 0; } else if (mode !== "NOTSET") bad(`${ctx}: auto_pad '${mode}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  const span = n + pb + pe - ke;
  if (span < 0) bad(`${ctx}: window of ${ke} does not fit the padded input of ${n + pb + pe}`);
  const floorOut = Math.floor(span / s) + 1;
  let out = floorOut;
  if (ceil) {
    out = Math.ceil(span / s) + 1;
    if ((out - 1) * s >= n + pb) out--; // the last window would start in the right padding
    if (mode === "VALID" && out !== floorOut) {
      bad(`${ctx}: ceil_mode=1 with auto_pad VALID gives ${floorOut} outputs under the ONNX spec but ${out} in onnxruntime; use explicit pads (0) instead`);
    }
  }
  for (let o = 0; o < out; o++) {
    if (tapHi(o * s - pb, d, n, k) <= tapLo(o * s - pb, d)) bad(`${ctx}: pooling window ${o} (of ${out}) covers no input element, only padding; pads ${pb},${pe} are too large for kernel ${k}`);
  }
  return { out, pb, pe };
}

/** First tap k with start + k*d >= 0. */
export function tapLo(start: number, d: number): number {
  return start >= 0 ? 0 : Math.ceil(-start / d);
}
/** One past the last tap k < K with start + k*d < size. */
export function tapHi(start: number, d: number, size: number, K: number): number {
  if (start >= size) return 0;
  return Math.min(K, Math.ceil((size - start) / d));
}

/**
 * Import-time normalization of MaxPool / AveragePool: validates attributes and replaces them
 * by kernel_shape, strides, dilations, pads (effective begin..., end...) and out (spatial
 * output sizes). `extra` holds op-specific attributes to keep (count_include_pad).
 */
export function normalizePool(node: Node, g: Graph, extra: Record<string, number>): void {
  if (node.attrs.out) return; // already normalized
  const ctx = where(g, node);
  requireFloat(g, node);
  const xs = inT(g, node, 0).shape;
  if (xs.length !== 3 && xs.length !== 4) bad(`${ctx}: input has shape ${xs.join("x")}; only 1-D and 2-D pooling (rank 3 or 4) is supported`);
  const sp = xs.length - 2;
  const ks = attrInts(node, "kernel_shape", []);
  if (ks.length !== sp) bad(`${ctx}: kernel_shape [${ks.join(",")}] must have ${sp} entries for input ${xs.join("x")}`);
  const st = attrInts(node, "strides", new Array(sp).fill(1));
  const di = attrInts(node, "dilations", new Array(sp).fill(1));
  const pads = attrInts(node, "pads", new Array(2 * sp).fill(0));
  if (st.length !== sp || di.length !== sp || pads.length !== 2 * sp) bad(`${ctx}: strides/dilations/pads [${st}]/[${di}]/[${pads}] do not match ${sp} spatial axes`);
  if ([...ks, ...st, ...di].some((v) => !(v >= 1)) || pads.some((p) => !(p >= 0))) bad(`${ctx}: kernel_shape, strides and dilations must be >= 1 and pads >= 0 (got [${ks}], [${st}], [${di}], [${pads}])`);
  const mode = attrStr(node, "auto_pad", "NOTSET");
  const ceil = attrInt(node, "ceil_mode", 0);
  if (ceil !== 0 && ceil !== 1) bad(`${ctx}: ceil_mode ${ceil} must be 0 or 1`);
  const axes = ks.map((k, i) => poolAxis(ctx, mode, ceil === 1, xs[2 + i], k, st[i], di[i], pads[i], pads[sp + i]));
  node.attrs = {
    kernel_shape: ks, strides: st, dilations: di,
    pads: [...axes.map((a) => a.pb), ...axes.map((a) => a.pe)],
    out: axes.map((a) => a.out),
    ...extra,
  };
}

/** Output shape from the normalized attributes. */
export function poolShape(node: Node, xs: number[]): number[] {
  return [xs[0], xs[1], ...(node.attrs.out as number[])];
}

export function poolInfer(node: Node, g: Graph) {
  const x = inT(g, node, 0);
  return [{ dtype: x.dtype, shape: poolShape(node, x.shape) }];
}

/** Geometry from the normalized attributes and the input shape. */
export function poolGeom(node: Node, xs: number[]): PoolGeom {
  const sp = xs.length - 2;
  const ks = node.attrs.kernel_shape as number[], st = node.attrs.strides as number[], di = node.attrs.dilations as number[];
  const pads = node.attrs.pads as number[], out = node.attrs.out as number[];
  const two = sp === 2;
  return {
    NC: xs[0] * xs[1], H: two ? xs[2] : 1, W: xs[xs.length - 1],
    KH: two ? ks[0] : 1, KW: ks[sp - 1], OH: two ? out[0] : 1, OW: out[sp - 1],
    sh: two ? st[0] : 1, sw: st[sp - 1], dh: two ? di[0] : 1, dw: di[sp - 1],
    pt: two ? pads[0] : 0, pl: pads[sp - 1],
    he: two ? xs[2] + pads[2] : 1, we: xs[xs.length - 1] + pads[2 * sp - 1],
  };
}

/**
 * Visits every output element (flat index o) with the flat input indices of its window that
 * lie inside the input, and the number of window positions inside the input plus its
 * explicit/auto pads (the count_include_pad divisor).
 */
export function sweepWindows(gm: PoolGeom, visit: (o: number, idx: number[], padded: number) => void): void {
  const { NC, H, W, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, he, we } = gm;
  let o = 0;
  for (let c = 0; c < NC; c++)
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - pt;
      for (let ow = 0; ow < OW; ow++, o++) {
        const w0 = ow * sw - pl;
        const idx: number[] = [];
        for (let kh = 0; kh < KH; kh++) {
          const ih = h0 + kh * dh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = w0 + kw * dw;
            if (iw >= 0 && iw < W) idx.push((c * H + ih) * W + iw);
          }
        }
        // dilation is 1 whenever the padded count is used (AveragePool)
        const padded = (Math.min(h0 + KH, he) - h0) * (Math.min(w0 + KW, we) - w0);
        visit(o, idx, padded);
      }
    }
}

/**
 * The int8 average: sum / count rounded half away from zero, in integers only:
 * (sum + (sum >= 0 ? c>>1 : -(c>>1))) / c with truncating division. The kernels compute
 * the same with i32 division (which truncates).
 */
export function roundDiv(sum: number, count: number): number {
  const h = count >> 1;
  return truncDiv(sum >= 0 ? sum + h : sum - h, count) | 0;
}

/** Refuses int8 averages over so many values that the int32 sum (|q| <= 128 each) could overflow. */
export function checkSumRange(g: Graph, node: Node, count: number): void {
  const most = Math.floor((2 ** 31 - 1) / 128);
  if (count > most) bad(`${where(g, node)}: averaging ${count} int8 values can overflow the int32 sum (at most ${most})`);
}
