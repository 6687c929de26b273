/**
 * RNN (ONNX simple RNN, opsets 7 to 14+), float32: h' = f(clip(Wi x + Ri h + Wbi + Rbi)),
 * f = Tanh by default (any ONNX activation), forward, reverse or bidirectional, both
 * layouts, optional bias and initial h, constant sequence_lens, Y and/or Y_h. The shared
 * machinery (attributes, layouts, time loop, state memory) is in recurrent.ts; the kernel
 * is runtime-as/kernels/rnn.ts.
 *
 * int8 (recurrent-int.ts has the formats): per unit j, with the pre-activation a in Q3.12
 * (gatePre: x part + h part + bias, saturated, clipped) and h in Q0.15,
 *   h' = tanh(a)                                                                 [Q0.15]
 */
import { tensor } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { f32 } from "./util.js";
import {
  actArgs, actRef, actsOf, clipTo, commonArgs, dirInput, dot, geomOf, inferRecurrent, normalizeRecurrent,
  refRecurrent, stepsOf, streamArg, stridesOf, type Cell, type RecKind,
  resetStreamState,
} from "./recurrent.js";
import { dotH, dotX, gatePre, intArgs, intRecurrent, quantizeRecurrent, tanh16, type IntCell, type RecQ } from "./recurrent-int.js";

const KIND: RecKind = { op: "RNN", gates: 1, acts: ["Tanh"] };

export const RNN: OpDef = {
  op: "RNN",
  doc: "one-layer simple RNN (any activation, clip), forward/reverse/bidirectional, both layouts",
  normalize: (node, g) => normalizeRecurrent(node, g, KIND),
  infer: (node, g) => inferRecurrent(node, g, KIND),
  ref(node, ins) {
    const [x, w, r, b] = ins;
    const { I, H } = geomOf(node, x.shape);
    const clip: number = node.attrs.clip;
    const cell: Cell = (d, xs, xo, h, hn) => {
      const [fa] = actsOf(node, KIND, d);
      const wo = d * H * I, ro = d * H * H, bo = d * 2 * H;
      for (let j = 0; j < H; j++) {
        const a = dot(w.data, wo + j * I, xs, xo, I) + dot(r.data, ro + j * H, h, 0, H) + (b ? b.data[bo + j] + b.data[bo + H + j] : 0);
        hn[j] = actRef(fa, clipTo(a, clip));
      }
    };
    return refRecurrent(node, ins, KIND, cell);
  },
  int(node, ins) {
    const [x, w, r] = ins;
    const q = node.q as RecQ;
    const { I, H } = geomOf(node, x.shape);
    const cell: IntCell = (d, xs, xo, h, hn) => {
      for (let j = 0; j < H; j++) {
        const row = d * H + j;
        hn[j] = tanh16(gatePre(q, row, dotX(w.data, row * I, xs, xo, I, q.zx), dotH(r.data, row * H, h, H)));
      }
    };
    return intRecurrent(node, ins, KIND, cell);
  },
  quantize: (node, g, qc) => quantizeRecurrent(node, g, qc, KIND),
  emit(node, e) {
    const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
    const { I, H, D } = gm;
    if (node.q) {
      for (let d = 0; d < D; d++) {
        e.call("rnn", "rnn_s8", [
          e.addr(node.inputs[0]), `${e.addr(node.inputs[1])} + ${d * H * I}`, `${e.addr(node.inputs[2])} + ${d * H * H}`,
          ...intArgs(node, e, KIND, d), streamArg(node),
        ]);
      }
      return;
    }
    const common = commonArgs(node, e);
    for (let d = 0; d < D; d++) {
      e.call("rnn", "rnn_f32", [
        e.addr(node.inputs[0]), dirInput(node, e, 1, d, H * I), dirInput(node, e, 2, d, H * H),
        dirInput(node, e, 3, d, 2 * H), dirInput(node, e, 5, d, stridesOf(gm).sd),
        ...common(d), ...actArgs(actsOf(node, KIND, d)), f32(node.attrs.clip), streamArg(node),
      ]);
    }
  },
  resetStream: resetStreamState,
  macs(node, g) {
    const { gm, steps } = stepsOf(node, g);
    return steps * gm.H * (gm.I + gm.H);
  },
};
