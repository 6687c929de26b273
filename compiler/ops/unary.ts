/**
 * The shared shape of the six elementwise activations (Relu, Clip, LeakyRelu, Sigmoid, Tanh,
 * HardSigmoid). Each op file only states its function in float64 and which f32 kernel of
 * runtime-as/kernels/unary.ts computes it; this helper turns that into a complete OpDef.
 * Float: `ref` evaluates the function in float64 and rounds to float32 on store (for other
 * dtypes, as in constant folding, the result is stored in the input's dtype).
 * int8: every activation is one 256-entry lookup table computed at quantize time,
 *   table[q + 128] = clamp(roundHalfAway(f(s_in * (q - z_in)) / s_out) + z_out, -128, 127)
 * for q in -128..127, with the output parameters from the calibrated output range. The
 * table is the definition: `int` and the kernel both read y = table[q + 128], so the two
 * are bit-exact by construction whatever f is.
 * Q format (--fixed): an activation with a `fixed` form (Relu, Clip, HardSigmoid with
 * PyTorch's 1/6, 1/2) states it as data, a QAct (compiler/ir/fixedpoint.ts: a clamp or the
 * hard sigmoid on the grid). With int8 storage (W <= 8) it becomes the same kind of table,
 * T[q] = qAct(q), run by lut_s8; with int16 storage (W 9 to 16) a table would have 65536
 * entries, so the kernel computes it (clamp_q16, hsig_q16) and `int` evaluates qAct per
 * element. The others are refused.
 */
import { bad } from "../util/errors.js";
import { makeValue, numel, tensor, type Graph, type Node } from "../ir/graph.js";
import { clamp, qAct, qFmt, qStorage, roundHalfAway, type QAct, type QFmt } from "../ir/fixedpoint.js";
import type { OpDef, TileSpec } from "./types.js";
import { inT, mapValue, requireFloat, where } from "./util.js";

export interface Activation {
  op: string;
  doc: string;
  /** Reads opset-specific attributes or constant inputs into node.attrs. */
  normalize?(node: Node, g: Graph): void;
  /** The activation in float64 for this node's normalized attributes. */
  fn(node: Node): (x: number) => number;
  /** The f32 kernel in runtime-as/kernels/unary.ts and its arguments after (x, y, n). */
  kernel(node: Node): { fn: string; args: string[] };
  /** The Q-format form on grid integers (may refuse the node); absent: no Q form. */
  fixed?(node: Node, g: Graph, fmt: QFmt): QAct;
}

/** The int8 lookup table of `f` between the given input and output quantizations. */
export function lutTable(f: (x: number) => number, sIn: number, zIn: number, sOut: number, zOut: number): number[] {
  const table = new Array<number>(256);
  for (let q = -128; q <= 127; q++) {
    const y = f(sIn * (q - zIn));
    table[q + 128] = clamp(roundHalfAway(y / sOut) + zOut, -128, 127);
  }
  return table;
}

/** A float attribute that must be finite (an activation parameter). */
export function finiteAttr(g: Graph, node: Node, name: string, def: number): number {
  const v = node.attrs[name] === undefined ? def : Number(node.attrs[name]);
  if (!Number.isFinite(v)) bad(`${where(g, node)}: attribute ${name} = ${node.attrs[name]} must be a finite number`);
  return v;
}

export function activation(a: Activation): OpDef {
  return {
    op: a.op,
    doc: a.doc,
    normalize: a.normalize,
    infer(node, g) {
      requireFloat(g, node);
      const x = inT(g, node, 0);
      return [{ dtype: x.dtype, shape: [...x.shape] }];
    },
    ref(node, [x]) {
      return [mapValue(x, a.fn(node))];
    },
    int(node, [x]) {
      const q = node.q!;
      if (q.fixed && !q.table) {
        const F = qFmt(q.fixed.m, q.fixed.f);
        return [mapValue(x, (v) => qAct(q.act as QAct, v, F), qStorage(F))];
      }
      const table = q.table as number[];
      const y = makeValue("int8", x.shape);
      for (let i = 0; i < x.data.length; i++) y.data[i] = table[x.data[i] + 128];
      return [y];
    },
    quantize(node, g, qc) {
      const xq = tensor(g, node.inputs[0]).quant!;
      qc.actQuant(node.outputs[0]);
      const yq = tensor(g, node.outputs[0]).quant!;
      node.q = { table: lutTable(a.fn(node), xq.scale[0], xq.zeroPoint[0], yq.scale[0], yq.zeroPoint[0]) };
    },
    fixed: a.fixed && ((node, g, fx) => {
      const act = a.fixed!(node, g, fx.fmt);
      fx.q(node.inputs[0]);
      fx.q(node.outputs[0]);
      const fixed = { m: fx.fmt.m, f: fx.fmt.f };
      if (qStorage(fx.fmt) === "int16") node.q = { fixed, act };
      else node.q = { fixed, table: Array.from({ length: 256 }, (_, i) => qAct(act, i - 128, fx.fmt)) };
    }),
    emit(node, e) {
      const x = e.addr(node.inputs[0]), y = e.addr(node.outputs[0]);
      const n = numel(tensor(e.g, node.outputs[0]).shape);
      const q = node.q;
      // --intermittent splits the call by element ranges (S: bytes of an element, in and out)
      const tile = (S: number): TileSpec | undefined => n >= 2 ? { units: n, bumps: [[0, S], [1, S]], count: [2, 1, n], outPerUnit: S } : undefined;
      if (q?.fixed && !q.table) {
        const F = qFmt(q.fixed.m, q.fixed.f), act = q.act as QAct;
        if (act.kind === "hsig") e.call("unary", "hsig_q16", [x, y, n, F.f, F.lo, F.hi], tile(2));
        else e.call("unary", "clamp_q16", [x, y, n, act.lo, act.hi, F.lo, F.hi], tile(2));
      } else if (q) {
        e.call("unary", "lut_s8", [x, y, n, e.data(`${a.op.toLowerCase()}_lut`, "int8", q.table as number[])], tile(1));
      } else {
        const k = a.kernel(node);
        e.call("unary", k.fn, [x, y, n, ...k.args], tile(4));
      }
    },
    macs: () => 0,
  };
}
