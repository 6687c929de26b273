/**
 * LSTM (ONNX, opsets 7 to 14+), float32: one layer, forward, reverse or bidirectional, both
 * layouts, optional bias, peepholes P, initial h and c, clip, input_forget, any of the ONNX
 * activation functions, constant sequence_lens, any subset of Y, Y_h, Y_c. Gate order iofc
 * (W, R and B rows), peephole order iof:
 *   i = f(Wi x + Ri h + Pi . c + Wbi + Rbi)    f = f(Wf x + Rf h + Pf . c + Wbf + Rbf)
 *   g = g(Wc x + Rc h + Wbc + Rbc)             c' = f . c + i . g   (f = 1 - i if input_forget)
 *   o = f(Wo x + Ro h + Po . c' + Wbo + Rbo)   h' = o . h(c')
 * with every f/g input clipped to [-clip, clip]. The shared machinery (attributes, layouts,
 * time loop, state memory) is in recurrent.ts; the kernel is runtime-as/kernels/lstm.ts.
 *
 * int8 (recurrent-int.ts has the formats): per unit j, with gate pre-activations a in Q3.12,
 *   i = sig(a_i), f = sig(a_f) (or 32768 - i when input_forget), g = tanh(a_c)  [Q0.15]
 *   c' = sat16(rdbpot(f c, 15) + rdbpot(i g, 30 - cf))                         [Q(15-cf).cf]
 *   h' = rdbpot(o tanh(c'_Q3.12), 15) with o = sig(a_o)                         [Q0.15]
 * where c'_Q3.12 = rdbpot(c', cf - 12) when cf >= 12, else sat16(c' * 2^(12 - cf)).
 *
 * Q-format (--fixed Qm.f, the ElasticAI FPGA cell with hard sigmoid / hard tanh): lstm-q.ts.
 */
import { tensor } from "../ir/graph.js";
import { rdbpot } from "../ir/fixedpoint.js";
import type { Node } from "../ir/graph.js";
import type { EmitCtx, OpDef, TileSpec } from "./types.js";
import { emitLstmQ, fixedLstm, intLstmQ } from "./lstm-q.js";
import { emitLstmDelta, intLstmDelta, intLstmDeltaS8, quantizeDelta, refLstmDelta } from "./lstm-delta.js";
import { f32 } from "./util.js";
import {
  actArgs, actRef, actsOf, clipTo, commonArgs, dirInput, dot, geomOf, inferRecurrent, normalizeRecurrent,
  refRecurrent, stateOut, stepsOf, streamArg, stridesOf, type Cell, type RecKind,
  resetStreamState,
} from "./recurrent.js";
import {
  dotH, dotX, gatePre, intArgs, intRecurrent, lstmIntArgs, mul15, quantizeRecurrent, sat16, sig, tanh16,
  type IntCell, type RecQ,
} from "./recurrent-int.js";

const KIND: RecKind = { op: "LSTM", gates: 4, acts: ["Sigmoid", "Tanh", "Tanh"] };

/**
 * How --intermittent splits the call by time steps (TileSpec.state), and with `units` (the
 * int8 kernel's j0, j1) a step by hidden units: one forward sequence of one batch entry, all
 * T steps, Y requested and neither Y_h nor Y_c (every tile would write them), not streaming.
 * Argument indices of the kernel: x is 0; `a` names Y, the state scratch, the mode and T.
 * Sx, Sy: bytes of an input and an output element; `s`: the state's element bytes and where
 * c and a partial step's new h are in the scratch.
 */
function timeTiles(node: Node, e: EmitCtx, a: { y: number; st: number; mode: number; T: number; units?: [number, number] }, Sx: number, Sy: number, s: { elem: number; cOffset: number; hOut: number }): TileSpec | undefined {
  const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
  if (gm.B !== 1 || gm.D !== 1 || node.attrs.direction === "reverse" || node.attrs.seqLens || node.attrs.stream) return undefined;
  if (!node.outputs[0] || node.outputs[1] || node.outputs[2]) return undefined;
  const st = stridesOf(gm);
  return {
    units: a.units ? gm.H : 1, bumps: [], ...(a.units ? { unitArgs: a.units } : {}), outPerUnit: a.units ? Sy : st.yt * Sy,
    rows: { n: gm.T, bumps: [[0, st.xt * Sx], [a.y, st.yt * Sy]], count: a.T, rowBytes: st.yt * Sy, channelBytes: gm.T * st.yt * Sy, channelsPerUnit: 1, channels: 1 },
    state: { arg: a.st, mode: a.mode, hidden: gm.H, ...s },
  };
}

export const LSTM: OpDef = {
  op: "LSTM",
  doc: "one-layer LSTM (iofc gates, peepholes, clip, input_forget, any activations), forward/reverse/bidirectional, both layouts",
  normalize: (node, g) => normalizeRecurrent(node, g, KIND),
  infer: (node, g) => inferRecurrent(node, g, KIND),
  ref(node, ins, observe) {
    if (node.attrs.delta) return refLstmDelta(node, ins, observe); // --delta (lstm-delta.ts)
    const [x, w, r, b, , , , p] = ins;
    const { I, H } = geomOf(node, x.shape);
    const clip: number = node.attrs.clip;
    const coupled = node.attrs.input_forget === 1;
    const cell: Cell = (d, xs, xo, h, hn, c) => {
      const [fa, ga, ha] = actsOf(node, KIND, d);
      const wo = d * 4 * H * I, ro = d * 4 * H * H, bo = d * 8 * H, po = d * 3 * H;
      for (let j = 0; j < H; j++) {
        const pre = (gate: number) => dot(w.data, wo + (gate * H + j) * I, xs, xo, I) + dot(r.data, ro + (gate * H + j) * H, h, 0, H) +
          (b ? b.data[bo + gate * H + j] + b.data[bo + 4 * H + gate * H + j] : 0);
        const cp = c[j];
        const ig = actRef(fa, clipTo(pre(0) + (p ? p.data[po + j] * cp : 0), clip));
        const fg = coupled ? 1 - ig : actRef(fa, clipTo(pre(2) + (p ? p.data[po + 2 * H + j] * cp : 0), clip));
        const gg = actRef(ga, clipTo(pre(3), clip));
        const cn = Math.fround(fg * cp + ig * gg);
        c[j] = cn;
        const og = actRef(fa, clipTo(pre(1) + (p ? p.data[po + H + j] * cn : 0), clip));
        hn[j] = og * actRef(ha, cn);
      }
    };
    return refRecurrent(node, ins, KIND, cell, observe);
  },
  int(node, ins) {
    if (node.q!.fixed) return node.attrs.delta ? intLstmDelta(node, ins) : intLstmQ(node, ins);
    if (node.attrs.delta) return intLstmDeltaS8(node, ins); // --delta, int8 (lstm-delta.ts)
    const [x, w, r] = ins;
    const q = node.q as RecQ;
    const { I, H } = geomOf(node, x.shape);
    const coupled = node.attrs.input_forget === 1;
    const cell: IntCell = (d, xs, xo, h, hn, c) => {
      for (let j = 0; j < H; j++) {
        const pre = (gate: number) => {
          const row = d * 4 * H + gate * H + j;
          return gatePre(q, row, dotX(w.data, row * I, xs, xo, I, q.zx), dotH(r.data, row * H, h, H));
        };
        const ig = sig(pre(0));
        const fg = coupled ? 32768 - ig : sig(pre(2));
        const gg = tanh16(pre(3));
        const cn = sat16(rdbpot(fg * c[j], 15) + rdbpot(ig * gg, 30 - q.cf));
        c[j] = cn;
        const cq = q.cf >= 12 ? rdbpot(cn, q.cf - 12) : sat16(cn * 2 ** (12 - q.cf));
        hn[j] = mul15(sig(pre(1)), tanh16(cq));
      }
    };
    return intRecurrent(node, ins, KIND, cell);
  },
  quantize: (node, g, qc) => { quantizeRecurrent(node, g, qc, KIND); if (node.attrs.delta) quantizeDelta(node, g); },
  fixed: fixedLstm,
  emit(node, e) {
    if (node.attrs.delta) return emitLstmDelta(node, e); // --delta: float and Q-format (lstm-delta.ts)
    if (node.q?.fixed) return emitLstmQ(node, e);
    const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
    const { I, H, D } = gm;
    if (node.q) {
      for (let d = 0; d < D; d++) {
        e.call("lstm", "lstm_s8", [
          e.addr(node.inputs[0]), `${e.addr(node.inputs[1])} + ${d * 4 * H * I}`, `${e.addr(node.inputs[2])} + ${d * 4 * H * H}`,
          ...intArgs(node, e, KIND, d), ...lstmIntArgs(node, e, d), streamArg(node), H * I, H * H, 0, H,
        ], timeTiles(node, e, { y: 19, st: 27, mode: 49, T: 28, units: [52, 53] }, 1, 1, { elem: 2, cOffset: 4 * H, hOut: 2 * H }));
      }
      return;
    }
    const sd = stridesOf(gm).sd;
    const common = commonArgs(node, e);
    for (let d = 0; d < D; d++) {
      e.call("lstm", "lstm_f32", [
        e.addr(node.inputs[0]), dirInput(node, e, 1, d, 4 * H * I), dirInput(node, e, 2, d, 4 * H * H),
        dirInput(node, e, 3, d, 8 * H), dirInput(node, e, 7, d, 3 * H), dirInput(node, e, 5, d, sd), dirInput(node, e, 6, d, sd),
        stateOut(node, e, 2, d), ...common(d), ...actArgs(actsOf(node, KIND, d)), f32(node.attrs.clip), node.attrs.input_forget, streamArg(node),
        H * I, H * H, // products the kernel would otherwise multiply (compiler/cost/recurrent.ts)
      ], timeTiles(node, e, { y: 9, st: 11, mode: 33, T: 12 }, 4, 4, { elem: 4, cOffset: 8 * H, hOut: 0 }));
    }
  },
  resetStream: resetStreamState,
  macs(node, g) {
    const { gm, steps } = stepsOf(node, g);
    const { I, H } = gm;
    // gate dot products, then c' = f c + i g and h' = o h(c'), plus the three peephole products
    return steps * (4 * H * (I + H) + 3 * H + (node.inputs[7] ? 3 * H : 0));
  },
};
