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
 * No int8 form yet: the quantize pass refuses the node.
 */
import { tensor } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { f32 } from "./util.js";
import {
  actArgs, actRef, actsOf, clipTo, commonArgs, dirInput, dot, geomOf, inferRecurrent, normalizeRecurrent,
  refRecurrent, stepsOf, stridesOf, type Cell, type RecKind,
} from "./recurrent.js";

const KIND: RecKind = { op: "GRU", gates: 3, acts: ["Sigmoid", "Tanh"] };

export const GRU: OpDef = {
  op: "GRU",
  doc: "one-layer GRU (zrh gates, linear_before_reset 0/1, clip, any activations), forward/reverse/bidirectional, both layouts",
  normalize: (node, g) => normalizeRecurrent(node, g, KIND),
  infer: (node, g) => inferRecurrent(node, g, KIND),
  ref(node, ins) {
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
  emit(node, e) {
    const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
    const { I, H, D } = gm;
    const common = commonArgs(node, e);
    for (let d = 0; d < D; d++) {
      e.call("gru", "gru_f32", [
        e.addr(node.inputs[0]), dirInput(node, e, 1, d, 3 * H * I), dirInput(node, e, 2, d, 3 * H * H),
        dirInput(node, e, 3, d, 6 * H), dirInput(node, e, 5, d, stridesOf(gm).sd),
        ...common(d), ...actArgs(actsOf(node, KIND, d)), f32(node.attrs.clip), node.attrs.linear_before_reset,
      ]);
    }
  },
  macs(node, g) {
    const { gm, steps } = stepsOf(node, g);
    const { I, H } = gm;
    // gate dot products, then r . h (or r . (Rh h)) and h' = (1 - z) n + z h
    return steps * (3 * H * (I + H) + 3 * H);
  },
};
