/**
 * Q-format fixed-point conversion (--fixed Qm.f), the arithmetic of the ElasticAI FPGA cells:
 * every tensor of the graph holds integers q meaning q / 2^f (scale 2^-f, zero point 0),
 * saturated to the W = m + f bit two's complement range, stored as int8 when W <= 8 and as
 * int16 when W is 9 to 16 (qStorage in ir/fixedpoint.ts). There is no calibration: the
 * format fixes every range. Constants are converted by sat(trunc(x 2^f));
 * each op's `fixed` rule (ops/types.ts) refuses what it cannot do in Q arithmetic and fills
 * node.q = { fixed: { m, f }, ... }; ops that only move data reuse their int8 rule, which
 * copies elements unchanged when all tensors share one scale (the data movement kernels
 * take the element size, 1 or 2 bytes). Any other op is refused, never run in float. The
 * integer definitions are in ops/INT8.md, "Q-format mode".
 *
 * Preserves: graph structure and names; changes run-time tensors to int8 or int16.
 */
import { bad, internal } from "../util/errors.js";
import { cloneGraph, freshName, pruneTensors, tensor, type Graph } from "../ir/graph.js";
import { qFmt, qFromReal, qStorage, type QFmt } from "../ir/fixedpoint.js";
import { opDef } from "../ops/table.js";
import type { FixedCtx, QuantCtx } from "../ops/types.js";
import { where } from "../ops/util.js";

/** Ops that only move or view data: their int8 rule is exact when all tensors share one scale. */
const MOVES = ["Concat", "Dropout", "Flatten", "Gather", "Identity", "Reshape", "Slice", "Squeeze", "Transpose", "Unsqueeze"];

/** What Q mode runs, for error messages. */
export const FIXED_SUPPORTED =
  "Gemm (fully connected), MatMul by a constant, Add, Relu, Clip, HardSigmoid (alpha 1/6, beta 1/2), " +
  `LSTM (forward, default activations, run as hard sigmoid / hard tanh) and data movement (${MOVES.join(", ")})`;

/** Parses and checks "Qm.f" (one-line errors); W = m + f must be 2 to 16. */
export function parseFixed(spec: string): QFmt {
  const mt = /^Q(\d+)\.(\d+)$/.exec(spec);
  if (!mt) bad(`--fixed ${spec}: expected Qm.f (m integer bits including the sign, f fractional bits), e.g. Q4.4 or Q2.6`);
  const m = Number(mt![1]), f = Number(mt![2]), w = m + f;
  if (m < 1) bad(`--fixed ${spec}: m counts the sign bit, so it must be at least 1 (f at most W - 1 = ${w - 1})`);
  if (w > 16) bad(`--fixed ${spec}: ${w} bits; Q formats have at most 16 bits`);
  if (w < 2) bad(`--fixed ${spec}: ${w} bit; a Q format needs at least 2 bits`);
  return qFmt(m, f);
}

export function fixedName(fmt: QFmt): string {
  return `Q${fmt.m}.${fmt.f}`;
}

export function quantizeFixedGraph(src: Graph, fmt: QFmt): Graph {
  const g = cloneGraph(src);
  const name = fixedName(fmt);
  const dtype = qStorage(fmt);
  const store = (values: ArrayLike<number>) => (dtype === "int8" ? Int8Array.from(values) : Int16Array.from(values));
  const quant = () => ({ scale: [2 ** -fmt.f], zeroPoint: [0], axis: -1 });
  const fx: FixedCtx = {
    fmt,
    q(n) {
      if (!n) return;
      const t = tensor(g, n);
      if (t.quant) return;
      if (t.data) {
        if (t.dtype !== "float32") internal(`constant '${n}' (${t.dtype}) has no ${name} form`);
        const d = t.data;
        const nan = Array.prototype.findIndex.call(d, (v: number) => Number.isNaN(v));
        if (nan >= 0) bad(`${g.source}: constant '${n}' holds NaN at element ${nan}; it has no ${name} value`);
        t.data = store(Array.from(d, (v: number) => qFromReal(v, fmt)));
      } else if (t.dtype !== "float32") {
        bad(`${g.source}: tensor '${n}' is ${t.dtype}; ${name} converts float32 tensors only`);
      }
      t.dtype = dtype;
      t.quant = quant();
    },
    constant(base, shape, values) {
      const n = freshName(g, base);
      g.tensors.set(n, { name: n, dtype, shape: [...shape], data: store(values), quant: quant() });
      return n;
    },
  };
  // the int8 rules of data movement ops, seen through Q mode: every tensor gets the format
  const moves: QuantCtx = {
    range: () => internal(`a data movement op asked for a calibration range in ${name} mode`),
    actQuant: (n) => fx.q(n),
    sameQuant: (n) => fx.q(n),
    fixedQuant: () => internal(`a data movement op asked for fixed int8 parameters in ${name} mode`),
    weightQuant: () => internal(`a data movement op asked for weight quantization in ${name} mode`),
  };
  for (const n of g.inputs) fx.q(n);
  for (const node of g.nodes) {
    const def = opDef(node.op);
    for (const x of node.inputs) {
      if (x && !tensor(g, x).data && !tensor(g, x).quant) internal(`'${x}' reaches '${node.name}' unconverted`);
    }
    if (def.fixed) def.fixed(node, g, fx);
    else if (MOVES.includes(node.op) && def.quantize) {
      def.quantize(node, g, moves);
      node.q = { ...node.q, fixed: { m: fmt.m, f: fmt.f } };
    } else {
      bad(`${where(g, node)}: ${node.op} has no ${name} form; --fixed supports ${FIXED_SUPPORTED}`);
    }
    if (!node.q?.fixed) internal(`${node.op} '${node.name}' did not record its ${name} form`);
    for (const y of node.outputs) if (y && !tensor(g, y).quant) internal(`${node.op} '${node.name}' left output '${y}' unconverted`);
  }
  pruneTensors(g); // float parameters replaced by their Q forms
  return g;
}
