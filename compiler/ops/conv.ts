/**
 * Conv: 1-D and 2-D convolution in NCHW with strides, dilations, explicit or automatic
 * padding and groups (depthwise when groups == channels). Import turns auto_pad and the
 * ONNX pads list into explicit begin/end pads; 1-D convolutions are run by the same kernels
 * with H = 1. The int8 form uses per-output-channel symmetric weights, an int32 bias at
 * scale s_x * s_w and a per-channel Q31 requantization (see ir/fixedpoint.ts).
 *
 * Emission picks a kernel per node (kernelKind) and prepares its constants from the exact
 * geometry: per output row and column the range of taps inside the input, weights repacked
 * into blocks of four output channels, and int8 biases with the input zero point folded in
 * where every tap is inside (runtime-as/kernels/conv.ts explains how each kernel uses them).
 */
import { convSparseWorth, emitConvSparse } from "./conv-sparse.js";
import { convPackedQuant, emitConvPacked } from "./conv-packed.js";
import { bad } from "../util/errors.js";
import { makeValue, tensor, type Graph, type Node, type Value } from "../ir/graph.js";
import { mbqm, quantizeMultiplier, roundHalfAway, clamp } from "../ir/fixedpoint.js";
import type { EmitCtx, TileSpec, OpDef } from "./types.js";
import { actBounds, actQBounds, attrInt, attrInts, attrStr, clampF, f32, inT, outT, where } from "./util.js";

export interface ConvGeom {
  N: number; C: number; H: number; W: number; M: number; KH: number; KW: number; OH: number; OW: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pl: number; G: number;
}

/** Output size of one spatial axis and its begin pad, for every auto_pad mode. */
export function padAxis(mode: string, inSize: number, k: number, s: number, d: number, pb: number, pe: number): { out: number; pb: number } {
  const ke = (k - 1) * d + 1;
  if (mode === "VALID") return { out: Math.floor((inSize - ke) / s) + 1, pb: 0 };
  if (mode === "SAME_UPPER" || mode === "SAME_LOWER") {
    const out = Math.ceil(inSize / s);
    const total = Math.max(0, (out - 1) * s + ke - inSize);
    return { out, pb: mode === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2) };
  }
  return { out: Math.floor((inSize + pb + pe - ke) / s) + 1, pb };
}

export function convGeom(g: Graph, node: Node): ConvGeom {
  const xs = inT(g, node, 0).shape, ws = inT(g, node, 1).shape;
  const ctx = where(g, node);
  if (xs.length !== 3 && xs.length !== 4) bad(`${ctx}: input has shape ${xs.join("x")}; only 1-D and 2-D convolutions (rank 3 or 4) are supported`);
  if (ws.length !== xs.length) bad(`${ctx}: weight shape ${ws.join("x")} does not match input rank ${xs.length}`);
  const sp = xs.length - 2;
  const G = attrInt(node, "group", 1);
  const ks = attrInts(node, "kernel_shape", ws.slice(2));
  const st = attrInts(node, "strides", new Array(sp).fill(1));
  const di = attrInts(node, "dilations", new Array(sp).fill(1));
  const pads = attrInts(node, "pads", new Array(2 * sp).fill(0));
  const mode = attrStr(node, "auto_pad", "NOTSET");
  if (xs[1] !== ws[1] * G) bad(`${ctx}: input has ${xs[1]} channels but weight ${ws.join("x")} with group ${G} expects ${ws[1] * G}`);
  if (ws[0] % G !== 0) bad(`${ctx}: ${ws[0]} output channels are not divisible by group ${G}`);
  const axes = [];
  for (let i = 0; i < sp; i++) {
    if (ks[i] !== ws[2 + i]) bad(`${ctx}: kernel_shape ${ks.join("x")} does not match weight ${ws.join("x")}`);
    axes.push(padAxis(mode, xs[2 + i], ks[i], st[i], di[i], pads[i], pads[sp + i]));
  }
  const [h, w] = sp === 1 ? [{ out: 1, pb: 0 }, axes[0]] : axes;
  const geom: ConvGeom = {
    N: xs[0], C: xs[1], H: sp === 1 ? 1 : xs[2], W: xs[xs.length - 1], M: ws[0],
    KH: sp === 1 ? 1 : ks[0], KW: ks[sp - 1], OH: h.out, OW: w.out,
    sh: sp === 1 ? 1 : st[0], sw: st[sp - 1], dh: sp === 1 ? 1 : di[0], dw: di[sp - 1], pt: h.pb, pl: w.pb, G,
  };
  if (geom.OH <= 0 || geom.OW <= 0) bad(`${ctx}: output would be empty for input ${xs.join("x")} and kernel ${ks.join("x")}`);
  return geom;
}

function outShape(gm: ConvGeom, rank: number): number[] {
  return rank === 3 ? [gm.N, gm.M, gm.OW] : [gm.N, gm.M, gm.OH, gm.OW];
}

/** Visits every (output index, input index, weight index) triple of the convolution. */
function sweep(gm: ConvGeom, visit: (m: number, o: number, xi: number, wi: number) => void, done: (m: number, o: number) => void): void {
  const { N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G } = gm;
  const cg = C / G, mg = M / G;
  for (let n = 0; n < N; n++)
    for (let m = 0; m < M; m++) {
      const c0 = Math.floor(m / mg) * cg;
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const o = ((n * M + m) * OH + oh) * OW + ow;
          for (let c = 0; c < cg; c++)
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * sh - pt + kh * dh;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * sw - pl + kw * dw;
                if (iw < 0 || iw >= W) continue;
                visit(m, o, ((n * C + c0 + c) * H + ih) * W + iw, ((m * cg + c) * KH + kh) * KW + kw);
              }
            }
          done(m, o);
        }
    }
}

export const Conv: OpDef = {
  op: "Conv",
  doc: "1-D/2-D convolution, NCHW; stride, dilation, pads, auto_pad, groups (depthwise)",
  normalize(node, g) {
    const gm = convGeom(g, node);
    const sp = inT(g, node, 0).shape.length - 2;
    node.attrs = {
      group: gm.G,
      kernel_shape: sp === 1 ? [gm.KW] : [gm.KH, gm.KW],
      strides: sp === 1 ? [gm.sw] : [gm.sh, gm.sw],
      dilations: sp === 1 ? [gm.dw] : [gm.dh, gm.dw],
      // explicit begin pads; end pads follow from the output size
      pads: sp === 1 ? [gm.pl, 0] : [gm.pt, gm.pl, 0, 0],
      out: outShape(gm, sp + 2).slice(2),
      ...(node.attrs.actMin !== undefined ? { actMin: node.attrs.actMin, actMax: node.attrs.actMax } : {}),
    };
  },
  infer(node, g) {
    const xs = inT(g, node, 0).shape;
    if (node.attrs.out) return [{ dtype: inT(g, node, 0).dtype, shape: [xs[0], inT(g, node, 1).shape[0], ...node.attrs.out] }];
    return [{ dtype: inT(g, node, 0).dtype, shape: outShape(convGeom(g, node), xs.length) }];
  },
  ref(node, ins) {
    const [x, w, b] = ins;
    const gm = geomOf(node, x, w);
    const y = makeValue("float32", outShape(gm, x.shape.length));
    const acc = new Float64Array(y.data.length);
    const { min, max } = actBounds(node);
    sweep(gm, (_m, o, xi, wi) => { acc[o] += x.data[xi] * w.data[wi]; },
      (m, o) => { y.data[o] = clampF(acc[o] + (b ? b.data[m] : 0), min, max); });
    return [y];
  },
  int(node, ins) {
    const [x, w, b] = ins;
    const q = node.q!;
    const gm = geomOf(node, x, w);
    const y = makeValue("int8", outShape(gm, x.shape.length));
    const acc = new Int32Array(y.data.length);
    sweep(gm, (_m, o, xi, wi) => { acc[o] = (acc[o] + Math.imul(x.data[xi] - q.zx, w.data[wi])) | 0; },
      (m, o) => { y.data[o] = clamp((mbqm((acc[o] + b.data[m]) | 0, q.mult[m], q.shift[m]) + q.zy) | 0, q.qmin, q.qmax); });
    return [y];
  },
  quantize(node, g, qc) {
    const [xn, wn, bn] = node.inputs;
    const yn = node.outputs[0];
    if (!convPackedQuant(node, g, qc)) qc.weightQuant(wn, 0); // --weights, --share: packed weights' own grid (ops/conv-packed.ts)
    qc.actQuant(yn);
    const xq = tensor(g, xn).quant!, wq = tensor(g, wn).quant!, yq = tensor(g, yn).quant!;
    node.inputs[2] = quantizeBias(g, node, bn, xq.scale[0], wq.scale, tensor(g, wn).shape[0]);
    const mults = wq.scale.map((s) => quantizeMultiplier((xq.scale[0] * s) / yq.scale[0]));
    node.q = {
      zx: xq.zeroPoint[0], zy: yq.zeroPoint[0],
      mult: mults.map((m) => m.mult), shift: mults.map((m) => m.shift),
      ...actQBounds(node, yq.scale[0], yq.zeroPoint[0]),
    };
  },
  emit(node, e) {
    const x = tensor(e.g, node.inputs[0]), w = tensor(e.g, node.inputs[1]);
    const bn = node.inputs[2] ? tensor(e.g, node.inputs[2]) : undefined;
    const gm = geomOf(node, x, w);
    const kind = kernelKind(gm, !!w.data && (!bn || !!bn.data), !!node.q);
    const { N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G } = gm;
    const xa = e.addr(node.inputs[0]), ya = e.addr(node.outputs[0]);
    // the bias and weights as the graph holds them (emitted only when a kernel reads them)
    const ba = () => (bn ? e.addr(node.inputs[2]) : "0");
    const { min, max } = actBounds(node);
    const q = node.q;
    if (node.attrs.subbyte || node.attrs.share) return emitConvPacked(node, e, gm); // --weights, --share: packed weights (ops/conv-packed.ts)
    // pruned int8 layers: the sparse kernel where it is estimated cheaper (ops/conv-sparse.ts)
    if (q && w.data && bn?.data && convSparseWorth(w.data, gm)) return emitConvSparse(node, e, gm, w.data);
    // int8 output stage: zero point, per-channel multipliers and shifts, clamp
    const out8 = (mult: number[], shift: number[]) => [q!.zy, e.data("mult", "int32", mult), e.data("shift", "int32", shift), q!.qmin, q!.qmax];
    // products of geometry the kernels need (they address with running pointers and do no
    // multiply of their own beyond the MACs and the requantization)
    const cg = C / G, mg = M / G;
    const rowSteps = [sh * W, dh * W, pt * W];
    if (kind === "generic") {
      const geo = [N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, H * W, KH * KW, cg * H * W, cg * KH * KW, ...rowSteps];
      const io = [xa, e.addr(node.inputs[1]), ba(), ya];
      if (!q) e.call("conv", "conv_f32", [...io, ...geo, f32(min), f32(max)]);
      else e.call("conv", "conv_s8", [...io, ...geo, q.zx, ...out8(q.mult, q.shift)]);
      return;
    }
    const wd = w.data!, bd = bn?.data;
    const rows = axisTaps(OH, H, KH, sh, dh, pt), cols = axisTaps(OW, W, KW, sw, dw, pl);
    if (kind === "dw") {
      // original weight layout [M][1][KH][KW]; output channel m reads input channel m / mg
      const tabs = tapTables(e, rows, cols, sw, dw, pl);
      const [ohA, ohB] = fullRange(rows, KH), [owA, owB] = fullRange(cols, KW);
      const geo = [N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, mg, ohA, ohB, owA, owB,
        H * W, KH * KW, ...rowSteps, owA * sw - pl, (ohA * sh - pt) * W, ohA * OW, (ohB - ohA) * OW];
      const wa = e.addr(node.inputs[1]);
      // one image: channels split the call (--intermittent tiles); with one input channel each
      // tile reads it, else a unit is the mg output channels of one input channel
      const S = q ? 1 : 4, ub = C === 1 ? 1 : mg, o = q ? 1 : 0;
      const tile = (rq: boolean): TileSpec | undefined => N === 1
        ? { units: M / ub, bumps: [[0, C === 1 ? 0 : H * W * S], [1, ub * KH * KW * S], [2, 4 * ub], ...(rq ? [[3, 4 * ub]] as Array<[number, number]> : []), [3 + o, ub * OH * OW * S], ...(rq ? [[38, 4 * ub], [39, 4 * ub]] as Array<[number, number]> : [])], count: [10 + o, ub, M], outPerUnit: ub * OH * OW * S }
        : undefined;
      if (!q) e.call("conv-dw", "conv_dw_f32", [xa, wa, ba(), ya, ...tabs, ...geo, f32(min), f32(max)], tile(false));
      else {
        // positions with every tap inside use b - zx * (sum of the channel's weights)
        const bi = ohB > ohA && owB > owA ? e.data("bias_zx", "int32", foldZeroPoint(wd, bd!, q.zx, M, (m) => m)) : "0";
        e.call("conv-dw", "conv_dw_s8", [xa, wa, ba(), bi, ya, ...tabs, ...geo, q.zx, ...out8(q.mult, q.shift)], tile(true));
      }
      return;
    }
    // blocks of four output channels within a group, padded with zero weights: slot mp of
    // the kernel's channel order holds output channel chan(mp), or nothing (-1)
    const nbg = Math.ceil(mg / 4), Mp = G * nbg * 4;
    const chan = (mp: number) => {
      const j = (Math.floor(mp / 4) % nbg) * 4 + (mp % 4);
      return j < mg ? Math.floor(mp / (4 * nbg)) * mg + j : -1;
    };
    const wr = q ? new Int8Array(Mp * cg * KH * KW) : new Float32Array(Mp * cg * KH * KW);
    for (let mp = 0; mp < Mp; mp++) {
      const m = chan(mp);
      if (m < 0) continue;
      for (let c = 0; c < cg; c++)
        for (let kh = 0; kh < KH; kh++)
          for (let kw = 0; kw < KW; kw++)
            wr[((((mp >> 2) * KH + kh) * cg + c) * KW + kw) * 4 + (mp & 3)] = wd[((m * cg + c) * KH + kh) * KW + kw];
    }
    const pad = (v: ArrayLike<number>) => Array.from({ length: Mp }, (_, mp) => (chan(mp) < 0 ? 0 : v[chan(mp)]));
    const wsym = e.data("weights_blocked", q ? "int8" : "float32", wr);
    const bias = () => (!bd ? "0" : e.data("bias_blocked", q ? "int32" : "float32", pad(bd)));
    if (kind === "pw") {
      const geo = [N, C, H * W, M, G, cg * H * W];
      // one image, one group: blocks of four output channels split the call (--intermittent tiles)
      const S = q ? 1 : 4;
      // then by positions: the input and output from position p0, the count (argument 6) is
      // the tile's, the channel stride (the last argument) the whole call's; tiles start where
      // the kernel starts a pass (pairs of positions in int8, a last tile of at least two;
      // fours in float)
      const P = H * W, starts = q ? Array.from({ length: Math.floor(P / 2) }, (_, i) => 2 * i).filter((p) => p <= P - 2) : Array.from({ length: Math.ceil(P / 4) }, (_, i) => 4 * i);
      const tile = (rq: boolean): TileSpec | undefined => N === 1 && G === 1
        ? {
          units: nbg, bumps: [[1, cg * 4 * S], [2, 16], [3, 4 * P * S], ...(rq ? [[11, 16], [12, 16]] as Array<[number, number]> : [])], count: [7, 4, M], outPerUnit: 4 * P * S,
          rows: { n: P, bumps: [[0, S], [3, S]], count: 6, rowBytes: S, channelBytes: P * S, channelsPerUnit: 4, channels: M, starts },
        }
        : undefined;
      if (!q) e.call("conv-pw", "conv_pw_f32", [xa, wsym, bias(), ya, ...geo, f32(min), f32(max), P], tile(false));
      else {
        // every tap is inside: the bias takes -zx * sum w, the kernel multiplies raw inputs
        const bz = e.data("bias_zx", "int32", foldZeroPoint(wd, bd!, q.zx, Mp, chan));
        e.call("conv-pw", "conv_pw_s8", [xa, wsym, bz, ya, ...geo, ...out8(pad(q.mult), pad(q.shift)), P], tile(true));
      }
      return;
    }
    const tabs = tapTables(e, rows, cols, sw, dw, pl);
    const geo = [N, C, H, W, M, KH, KW, OH, OW, sh, sw, dh, dw, pt, pl, G, H * W, OH * OW, cg * H * W, ...rowSteps, cg * KW * 4, KH * cg * KW * 4];
    // one image, one group: blocks of four output channels split the call (--intermittent tiles)
    const S = q ? 1 : 4;
    const tile = (rq: boolean): TileSpec | undefined => N === 1 && G === 1
      ? {
        units: nbg, bumps: [[1, KH * cg * KW * 4 * S], [2, 16], [3, 4 * OH * OW * S], ...(rq ? [[32, 16], [33, 16]] as Array<[number, number]> : [])], count: [10, 4, M], outPerUnit: 4 * OH * OW * S,
        // rows: the input from row r0 sh, the taps table from entry r0, the output from row r0 of
        // each channel; a single row (1-D) splits by columns instead: the columns table holds
        // absolute input columns, so only it and the output move
        rows: OH > 1
          ? { n: OH, bumps: [[0, sh * W * S], [4, 4], [3, OW * S]], count: 13, rowBytes: OW * S, channelBytes: OH * OW * S, channelsPerUnit: 4, channels: M, ...(q ? { starts: passStarts(rows) } : {}) }
          : { n: OW, bumps: [[5, 4], [3, S]], count: 14, rowBytes: S, channelBytes: OW * S, channelsPerUnit: 4, channels: M, ...(q ? { starts: passStarts(cols) } : {}) },
      }
      : undefined;
    if (!q) e.call("conv-blk", "conv_blk_f32", [xa, wsym, bias(), ya, ...tabs, ...geo, f32(min), f32(max)], tile(false));
    else e.call("conv-blk", "conv_blk_s8", [xa, wsym, bias(), ya, ...tabs, ...geo, q.zx, ...out8(pad(q.mult), pad(q.shift))], tile(true));
  },
  macs(node, g) {
    const w = inT(g, node, 1).shape;
    const y = outT(g, node).shape;
    return y.reduce((a, b) => a * b, 1) * w.slice(1).reduce((a, b) => a * b, 1);
  },
};

type Kernel = "pw" | "dw" | "blk" | "generic";

/**
 * Which kernel of runtime-as/kernels/conv.ts runs a convolution: dw when each output channel
 * reads one input channel; pw for 1x1, stride 1, unpadded over two or more positions; blk
 * otherwise (blocks of four output channels within a group, padded: even one channel per
 * group runs faster there than in the general kernel). The general kernel takes weights or
 * bias computed at run time, kernels wider than 255 or inputs wider than 65536 (the limits of
 * the tap tables), and int8 convolutions with too many taps per output for the kernels'
 * packing of two sums in one i64 to be exact.
 */
export function kernelKind(gm: ConvGeom, constant: boolean, int8: boolean): Kernel {
  const cg = gm.C / gm.G;
  if (!constant || gm.KH > 255 || gm.KW > 255 || gm.W > 65536) return "generic";
  if (cg === 1) return "dw";
  const pw = gm.KH === 1 && gm.KW === 1 && gm.sh === 1 && gm.sw === 1 && gm.pt === 0 && gm.pl === 0 && gm.OH === gm.H && gm.OW === gm.W && gm.H * gm.W >= 2;
  // pw multiplies raw int8 inputs (|x * w| <= 2^14), blk subtracts the zero point (< 2^15)
  if (int8 && cg * gm.KH * gm.KW >= (pw ? 2 ** 17 : 2 ** 16)) return "generic";
  return pw ? "pw" : "blk";
}

/** Per output index of one axis, the range [lo, hi) of kernel taps inside the input (0, 0 if none). */
export interface AxisTaps { lo: number[]; hi: number[] }

/**
 * Where the int8 block kernel starts a pass along an axis: it pairs an entry with the next
 * when both have the same taps, greedily from 0 (kernels/conv-blk.ts). A tile that starts at
 * one of these does exactly the whole call's passes.
 */
export function passStarts(t: AxisTaps): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.lo.length;) {
    out.push(i);
    i += i + 1 < t.lo.length && t.lo[i] === t.lo[i + 1] && t.hi[i] === t.hi[i + 1] ? 2 : 1;
  }
  return out;
}

export function axisTaps(out: number, size: number, K: number, s: number, d: number, p: number): AxisTaps {
  const t: AxisTaps = { lo: [], hi: [] };
  for (let o = 0; o < out; o++) {
    const base = o * s - p;
    let lo = 0;
    while (lo < K && base + lo * d < 0) lo++;
    let hi = lo;
    while (hi < K && base + hi * d < size) hi++;
    t.lo.push(hi === lo ? 0 : lo);
    t.hi.push(hi === lo ? 0 : hi);
  }
  return t;
}

/** [first, last + 1) of the output indices with every tap inside the input (contiguous), or [0, 0). */
export function fullRange(t: AxisTaps, K: number): [number, number] {
  const full = t.lo.map((lo, i) => lo === 0 && t.hi[i] === K);
  const a = full.indexOf(true);
  return a < 0 ? [0, 0] : [a, full.lastIndexOf(true) + 1];
}

/**
 * The kernels' rows and cols tables: lo | hi << 8 per output row / column; cols also holds
 * the input column of tap lo, o sw - pl + lo dw (0 without taps), in bits 16-31.
 */
export function tapTables(e: EmitCtx, rows: AxisTaps, cols: AxisTaps, sw: number, dw: number, pl: number): string[] {
  return [
    e.data("conv_rows", "int32", rows.lo.map((lo, i) => lo | (rows.hi[i] << 8))),
    e.data("conv_cols", "int32", cols.lo.map((lo, i) => lo | (cols.hi[i] << 8) | (cols.hi[i] > lo ? (i * sw - pl + lo * dw) << 16 : 0))),
  ];
}

/**
 * int8 bias with the zero point folded in, for outputs whose taps are all inside the input:
 * b[m] - zx * (sum of output channel m's weights), in wrapping int32 like the interpreter's
 * accumulator, so that it plus sum x * w equals b[m] + sum (x - zx) * w. Slot i holds output
 * channel chan(i) (-1: padding, 0).
 */
export function foldZeroPoint(w: ArrayLike<number>, b: ArrayLike<number>, zx: number, slots: number, chan: (i: number) => number): Int32Array {
  const M = b.length, per = w.length / M;
  const out = new Int32Array(slots);
  for (let i = 0; i < slots; i++) {
    const m = chan(i);
    if (m < 0) continue;
    let s = 0;
    for (let k = 0; k < per; k++) s += w[m * per + k];
    out[i] = (b[m] - Math.imul(zx, s)) | 0;
  }
  return out;
}

/** Geometry from normalized attributes and the actual operand shapes. */
export function geomOf(node: Node, x: { shape: number[] }, w: { shape: number[] }): ConvGeom {
  const sp = x.shape.length - 2;
  const [N, C] = x.shape;
  const [M] = w.shape;
  const ks = node.attrs.kernel_shape as number[], st = node.attrs.strides as number[], di = node.attrs.dilations as number[];
  const out = node.attrs.out as number[];
  const pads = node.attrs.pads as number[];
  return {
    N, C, H: sp === 1 ? 1 : x.shape[2], W: x.shape[x.shape.length - 1], M,
    KH: sp === 1 ? 1 : ks[0], KW: ks[sp - 1], OH: sp === 1 ? 1 : out[0], OW: out[sp - 1],
    sh: sp === 1 ? 1 : st[0], sw: st[sp - 1], dh: sp === 1 ? 1 : di[0], dw: di[sp - 1],
    pt: sp === 1 ? 0 : pads[0], pl: pads[sp - 1], G: node.attrs.group,
  };
}

/** Replaces a float bias (or none) by an int32 bias at scale sx * sw[m]; returns its tensor name. */
export function quantizeBias(g: Graph, node: Node, bn: string | undefined, sx: number, sw: number[], channels: number): string {
  const name = `${node.name || node.outputs[0]}::bias_q`;
  const data = new Int32Array(channels);
  const src = bn ? tensor(g, bn).data : undefined;
  if (bn && !src) bad(`${g.source}: node '${node.name}' (${node.op}): bias '${bn}' must be a constant to quantize`);
  for (let m = 0; m < channels; m++) {
    const s = sx * sw[sw.length === 1 ? 0 : m];
    data[m] = src ? clamp(roundHalfAway(src[m] / s), -2147483648, 2147483647) : 0;
  }
  g.tensors.set(name, { name, dtype: "int32", shape: [channels], data });
  return name;
}

export type { Value };
