/**
 * GRU (ONNX, opsets 7 to 14+), float32: one layer, forward, reverse or bidirectional, both
 * layouts, optional bias and initial h, clip, any ONNX activations, both
 * linear_before_reset forms (PyTorch exports 1), constant sequence_lens, Y and/or Y_h.
 * Gate order zrh (W, R and B rows):
 *   z = f(Wz x + Rz h + Wbz + Rbz)             r = f(Wr x + Rr h + Wbr + Rbr)
 *   n = g(Wh x + Rh (r . h) + Rbh + Wbh)       (linear_before_reset = 0)
 *   n = g(Wh x + Wbh + r . (Rh h + Rbh))       (linear_before_reset = 1)
 *   h' = (1 - z) . n + z . h
 * with every f/g input clipped to [-clip, clip]. The shared machinery (attributes, layouts,
 * time loop, state memory) is in recurrent.ts; the kernel is runtime-as/kernels/gru.ts.
 *
 * int8 (recurrent-int.ts has the formats): per unit j, with gate pre-activations a in Q3.12
 * (gatePre: x part + h part + bias, saturated, clipped) and h in Q0.15,
 *   z = sig(a_z), r = sig(a_r)                                                   [Q0.15]
 *   linear_before_reset = 1 (the h-side bias of n stays apart, Rbh in Q3.12):
 *     hp = sat16(mbqm(Rh h) + Rbh)                                               [Q3.12]
 *     n = tanh(clamp(sat16(mbqm(Wh x) + Wbh + rdbpot(r hp, 15)), -clip, clip))   [Q0.15]
 *   linear_before_reset = 0: first rh[k] = rdbpot(r_k h[k], 15) for every unit k, then
 *     n = tanh(gatePre(Wh x, Rh rh) with bias Wbh + Rbh)                          [Q0.15]
 *   h' = sat16(n + rdbpot(z (h - n), 15))                                        [Q0.15]
 */
import { tensor } from "../ir/graph.js";
import { clamp, mbqm, rdbpot } from "../ir/fixedpoint.js";
import type { OpDef } from "./types.js";
import { f32 } from "./util.js";
import { emitLstmDelta, refGruDelta } from "./lstm-delta.js";
import {
  actArgs, actRef, actsOf, clipTo, commonArgs, dirInput, dot, geomOf, inferRecurrent, normalizeRecurrent,
  refRecurrent, stepsOf, streamArg, stridesOf, type Cell, type RecKind,
  resetStreamState,
} from "./recurrent.js";
import { dotH, dotX, gatePre, intArgs, intRecurrent, mul15, quantizeRecurrent, sat16, sig, tanh16, type IntCell, type RecQ } from "./recurrent-int.js";

const KIND: RecKind = { op: "GRU", gates: 3, acts: ["Sigmoid", "Tanh"] };

export const GRU: OpDef = {
  op: "GRU",
  doc: "one-layer GRU (zrh gates, linear_before_reset 0/1, clip, any activations), forward/reverse/bidirectional, both layouts",
  normalize: (node, g) => normalizeRecurrent(node, g, KIND),
  infer: (node, g) => inferRecurrent(node, g, KIND),
  ref(node, ins) {
    if (node.attrs.delta) return refGruDelta(node, ins); // --delta (lstm-delta.ts)
    const [x, w, r, b] = ins;
    const { I, H } = geomOf(node, x.shape);
    const clip: number = node.attrs.clip;
    const lbr = node.attrs.linear_before_reset === 1;
    const rh = new Float64Array(H);
    const cell: Cell = (d, xs, xo, h, hn) => {
      const [fa, ga] = actsOf(node, KIND, d);
      const wo = d * 3 * H * I, ro = d * 3 * H * H, bo = d * 6 * H;
      const wb = (gate: number, j: number) => (b ? b.data[bo + gate * H + j] : 0);
      const rb = (gate: number, j: number) => (b ? b.data[bo + 3 * H + gate * H + j] : 0);
      const wx = (gate: number, j: number) => dot(w.data, wo + (gate * H + j) * I, xs, xo, I);
      const rv = (gate: number, j: number, v: Float64Array) => dot(r.data, ro + (gate * H + j) * H, v, 0, H);
      const rGate = (j: number) => actRef(fa, clipTo(wx(1, j) + rv(1, j, h) + wb(1, j) + rb(1, j), clip));
      if (!lbr) for (let j = 0; j < H; j++) rh[j] = rGate(j) * h[j];
      for (let j = 0; j < H; j++) {
        const z = actRef(fa, clipTo(wx(0, j) + rv(0, j, h) + wb(0, j) + rb(0, j), clip));
        const n = lbr
          ? actRef(ga, clipTo(wx(2, j) + wb(2, j) + rGate(j) * (rv(2, j, h) + rb(2, j)), clip))
          : actRef(ga, clipTo(wx(2, j) + rv(2, j, rh) + rb(2, j) + wb(2, j), clip));
        hn[j] = (1 - z) * n + z * h[j];
      }
    };
    return refRecurrent(node, ins, KIND, cell);
  },
  int(node, ins) {
    const [x, w, r] = ins;
    const q = node.q as RecQ;
    const { I, H } = geomOf(node, x.shape);
    const lbr = node.attrs.linear_before_reset === 1;
    const rh = new Int32Array(H);
    const cell: IntCell = (d, xs, xo, h, hn) => {
      const row = (gate: number, j: number) => d * 3 * H + gate * H + j;
      const accx = (gate: number, j: number) => dotX(w.data, row(gate, j) * I, xs, xo, I, q.zx);
      const pre = (gate: number, j: number, v: Int32Array) => gatePre(q, row(gate, j), accx(gate, j), dotH(r.data, row(gate, j) * H, v, H));
      if (!lbr) for (let k = 0; k < H; k++) rh[k] = mul15(sig(pre(1, k, h)), h[k]);
      for (let j = 0; j < H; j++) {
        const z = sig(pre(0, j, h));
        let n: number;
        if (lbr) {
          const rg = sig(pre(1, j, h));
          const o = row(2, j);
          const hp = sat16(mbqm(dotH(r.data, o * H, h, H), q.rm[o], q.rs[o]) + q.bh[o]);
          n = tanh16(clamp(sat16(mbqm(accx(2, j), q.wm[o], q.ws[o]) + q.bx[o] + mul15(rg, hp)), -q.clip, q.clip));
        } else {
          n = tanh16(pre(2, j, rh));
        }
        hn[j] = sat16(n + rdbpot(z * (h[j] - n), 15));
      }
    };
    return intRecurrent(node, ins, KIND, cell);
  },
  quantize: (node, g, qc) => quantizeRecurrent(node, g, qc, KIND, node.attrs.linear_before_reset === 1 ? 2 : -1),
  emit(node, e) {
    if (node.attrs.delta) return emitLstmDelta(node, e); // --delta, float (lstm-delta.ts)
    const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
    const { I, H, D } = gm;
    if (node.q) {
      for (let d = 0; d < D; d++) {
        e.call("gru", "gru_s8", [
          e.addr(node.inputs[0]), `${e.addr(node.inputs[1])} + ${d * 3 * H * I}`, `${e.addr(node.inputs[2])} + ${d * 3 * H * H}`,
          ...intArgs(node, e, KIND, d), node.attrs.linear_before_reset, streamArg(node), H * I, H * H,
        ]);
      }
      return;
    }
    const common = commonArgs(node, e);
    for (let d = 0; d < D; d++) {
      e.call("gru", "gru_f32", [
        e.addr(node.inputs[0]), dirInput(node, e, 1, d, 3 * H * I), dirInput(node, e, 2, d, 3 * H * H),
        dirInput(node, e, 3, d, 6 * H), dirInput(node, e, 5, d, stridesOf(gm).sd),
        ...common(d), ...actArgs(actsOf(node, KIND, d)), f32(node.attrs.clip), node.attrs.linear_before_reset, streamArg(node),
        H * I, H * H, // products the kernel would otherwise multiply (compiler/cost/recurrent.ts)
      ]);
    }
  },
  resetStream: resetStreamState,
  macs(node, g) {
    const { gm, steps } = stepsOf(node, g);
    const { I, H } = gm;
    // gate dot products, then r . h (or r . (Rh h)) and h' = (1 - z) n + z h
    return steps * (3 * H * (I + H) + 3 * H);
  },
};
