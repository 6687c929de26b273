/**
 * LSTM in Q-format fixed point (--fixed Qm.f), the cell of the ElasticAI FPGA LSTM: every
 * value (x, weights, merged bias, h, c, gates) is an integer q meaning q / 2^f, saturated to
 * the format's range [lo, hi] (`sat`). Per step and hidden unit j, with ONNX's gate order
 * i, o, f, c (rows gate * H + j of W, R and the merged bias):
 *   pre_g = sat( sat(truncdiv(sum_k x_k W[g,j,k] + sum_k h_k R[g,j,k], 2^f)) + b[g,j] )
 *   i = hs(pre_i), f = hs(pre_f), g = ht(pre_c), o = hs(pre_o)
 *   c' = sat(mulq(f, c) + mulq(i, g)),   h' = mulq(o, ht(c'))
 * with the sums exact (bounds at checkQSum in gemm.ts: int32 for int8 storage, i64 in the
 * kernel and float64 here for int16), hs / ht the hard sigmoid / hard tanh and mulq(a, b) =
 * sat(truncdiv(a b, 2^f)) (compiler/ir/fixedpoint.ts; a b is at most 2^30, exact in int32
 * for every W <= 16, and mulq(f, c) + mulq(i, g) at most 2^16). The ONNX graph's default
 * Sigmoid / Tanh / Tanh are run as hs / ht: that is the Q mode's definition, not an
 * approximation of the float model. The merged bias is sat(trunc((Wb + Rb) 2^f)), the sum in float64.
 * Y, Y_h and Y_c are Q tensors like every other (no requantization).
 *
 * Scope: forward direction, layouts 0 and 1, any batch, initial h / c constant (converted
 * like weights), at run time (already Q) or absent. Refused: reverse / bidirectional,
 * peepholes, clip, input_forget, other activations, sequence_lens shorter than the
 * sequence, weights computed at run time. Kernels: runtime-as/kernels/lstm-q.ts, lstm_q8
 * (int8 storage, W <= 8) and lstm_q16 (int16 storage, W 9 to 16).
 */
import { bad } from "../util/errors.js";
import { makeValue, tensor, type Graph, type Node, type Value } from "../ir/graph.js";
import { clamp, qCut, qFmt, qFromReal, qHardSigmoid, qHardTanh, qMul, qStorage } from "../ir/fixedpoint.js";
import type { EmitCtx, FixedCtx } from "./types.js";
import { where } from "./util.js";
import { geomOf, stridesOf } from "./recurrent.js";
import { checkQSum } from "./gemm.js";

/** Checks the node fits the Q cell, converts its constants and fills node.q. */
export function fixedLstm(node: Node, g: Graph, fx: FixedCtx): void {
  const ctx = where(g, node);
  const fmt = fx.fmt;
  const name = `Q${fmt.m}.${fmt.f}`;
  const no = (what: string) => bad(`${ctx}: ${what} in the ${name} LSTM; compile without --fixed`);
  if (node.attrs.direction !== "forward") no(`direction ${node.attrs.direction} is not supported (forward only, like the FPGA cell)`);
  const acts = (node.attrs.acts as Array<{ name: string }>).map((a) => a.name);
  if (acts.join() !== "Sigmoid,Tanh,Tanh") no(`activations ${acts.join(", ")} are not supported (the default Sigmoid, Tanh, Tanh run as hard sigmoid / hard tanh)`);
  if (node.inputs[7]) no("peepholes (input P) are not supported");
  if (Number.isFinite(node.attrs.clip)) no(`clip ${node.attrs.clip} is not supported`);
  if (node.attrs.input_forget) no("input_forget = 1 is not supported");
  if (node.attrs.seqLens) no("sequence_lens shorter than the sequence are not supported");
  for (const i of [1, 2]) {
    if (!tensor(g, node.inputs[i]).data) no(`${["", "W", "R"][i]} ('${node.inputs[i]}') is computed at run time; constant weights are needed`);
  }
  const { I, H } = geomOf(node, tensor(g, node.inputs[0]).shape);
  checkQSum(I + H, fmt, `input size ${I} + hidden size ${H}`, ctx, `the ${name} LSTM`);
  const bn = node.inputs[3];
  if (bn) {
    const bias = tensor(g, bn).data;
    if (!bias) no(`B ('${bn}') is computed at run time; a constant bias is needed`);
    const sums = Array.from({ length: 4 * H }, (_, r) => bias![r] + bias![4 * H + r]);
    if (sums.some(Number.isNaN)) bad(`${ctx}: B ('${bn}') holds NaN; it has no ${name} value`);
    const merged = sums.map((v) => qFromReal(v, fmt));
    node.inputs[3] = fx.constant(`${node.name || node.outputs.find((o) => o)}::bias_${name}`, [4 * H], merged);
  }
  for (const i of [0, 1, 2, 5, 6]) fx.q(node.inputs[i] ?? "");
  for (const o of node.outputs) fx.q(o);
  node.q = { fixed: { m: fmt.m, f: fmt.f } };
}

/** The integer definition (see the file comment); ins as ONNX with input 3 the merged Q bias. */
export function intLstmQ(node: Node, ins: Value[]): Value[] {
  const [x, w, r, b, , h0, c0] = ins;
  const F = qFmt(node.q!.fixed.m, node.q!.fixed.f);
  const gm = geomOf(node, x.shape);
  const { T, B, I, H } = gm;
  const st = stridesOf(gm);
  const shapes = gm.layout ? { y: [B, T, 1, H], s: [B, 1, H] } : { y: [T, 1, B, H], s: [1, B, H] };
  const dt = qStorage(F);
  const y = makeValue(dt, shapes.y), yh = makeValue(dt, shapes.s), yc = makeValue(dt, shapes.s);
  for (let bt = 0; bt < B; bt++) {
    const so = bt * st.sb;
    let h = new Int32Array(H), hn = new Int32Array(H);
    const c = new Int32Array(H);
    for (let j = 0; j < H; j++) {
      h[j] = h0 ? h0.data[so + j] : 0;
      c[j] = c0 ? c0.data[so + j] : 0;
    }
    for (let t = 0; t < T; t++) {
      const xo = t * st.xt + bt * st.xb;
      for (let j = 0; j < H; j++) {
        const pre = (gate: number) => {
          const row = gate * H + j;
          let acc = 0; // exact: |acc| <= (I + H) 2^(2W-2), below 2^31 (W <= 8) or 2^53 (checkQSum)
          for (let k = 0; k < I; k++) acc += x.data[xo + k] * w.data[row * I + k];
          for (let k = 0; k < H; k++) acc += h[k] * r.data[row * H + k];
          return clamp(qCut(acc, F) + (b ? b.data[row] : 0), F.lo, F.hi);
        };
        const ig = qHardSigmoid(pre(0), F), og = qHardSigmoid(pre(1), F);
        const fg = qHardSigmoid(pre(2), F), gg = qHardTanh(pre(3), F);
        const cn = clamp(qMul(fg, c[j], F) + qMul(ig, gg, F), F.lo, F.hi);
        c[j] = cn;
        hn[j] = qMul(og, qHardTanh(cn, F), F);
      }
      const yo = t * st.yt + bt * st.yb;
      for (let j = 0; j < H; j++) y.data[yo + j] = hn[j];
      [h, hn] = [hn, h];
    }
    for (let j = 0; j < H; j++) {
      yh.data[so + j] = h[j];
      yc.data[so + j] = c[j];
    }
  }
  return [y, yh, yc];
}

/**
 * lstm_q8 / lstm_q16 call. The kernel keeps h (two H-vectors of the storage type,
 * ping-pong) and c (a third) in a per-node static scratch region, filled with a nonzero
 * pattern so it stays real data below __data_end; the kernel initializes it on every run.
 */
export function emitLstmQ(node: Node, e: EmitCtx): void {
  const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
  const st = stridesOf(gm);
  const F = qFmt(node.q!.fixed.m, node.q!.fixed.f);
  const key = node.name || node.outputs.find((o) => o) || node.op;
  const dt = qStorage(F);
  const scratch = e.data(`${key}_qstate`, dt, new Array<number>(3 * gm.H).fill(-1));
  const at = (n: string | undefined) => (n ? e.addr(n) : "0");
  e.call("lstm-q", dt === "int8" ? "lstm_q8" : "lstm_q16", [
    at(node.inputs[0]), at(node.inputs[1]), at(node.inputs[2]), at(node.inputs[3]), at(node.inputs[5]), at(node.inputs[6]),
    at(node.outputs[0]), at(node.outputs[1]), at(node.outputs[2]), scratch,
    gm.T, gm.B, gm.I, gm.H, st.xt, st.xb, st.yt, st.yb, st.sb, F.f, F.lo, F.hi,
    gm.H * gm.I, gm.H * gm.H, // products the kernel would otherwise multiply (compiler/cost/recurrent.ts)
  ]);
}
