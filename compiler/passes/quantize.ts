/**
 * Post-training int8 quantization. The float graph runs on the calibration samples in the
 * reference interpreter, recording each tensor's [min, max]. Then every node, in order,
 * applies its op's quantize rule: activations get per-tensor asymmetric int8 parameters
 * (range widened to include 0 so that zero and padding are exact), weights per-channel
 * symmetric int8 in [-127, 127], biases int32 at s_x * s_w, and the node records the
 * integer constants (Q31 multipliers, shifts, zero points, clamp bounds, tables) that its
 * integer semantics and kernel use. An op without an int8 form is an error, never a silent
 * float island.
 *
 * Preserves: graph structure and names; changes run-time tensors to int8.
 */
import { bad, internal } from "../util/errors.js";
import { cloneGraph, pruneTensors, tensor, type Graph, type Tensor, type Value } from "../ir/graph.js";
import { interpret } from "../ir/interp.js";
import { opDef } from "../ops/table.js";
import type { QuantCtx } from "../ops/types.js";
import { clamp, roundHalfAway } from "../ir/fixedpoint.js";
import { quantizeWeights } from "./quantize-weights.js";

export { quantizeWeights };

export type Ranges = Map<string, { min: number; max: number }>;

/** Runs the float graph on each calibration feed and records every tensor's range. */
export function calibrate(g: Graph, feeds: Array<Record<string, Value>>): Ranges {
  const ranges: Ranges = new Map();
  for (const feed of feeds) {
    interpret(g, feed, {
      observe(name, v) {
        if (v.dtype !== "float32") return;
        let r = ranges.get(name);
        if (!r) ranges.set(name, (r = { min: Infinity, max: -Infinity }));
        for (let i = 0; i < v.data.length; i++) {
          const x = v.data[i];
          if (x < r.min) r.min = x;
          if (x > r.max) r.max = x;
        }
      },
    });
  }
  return ranges;
}

/** Asymmetric int8 parameters covering [min, max] widened to contain 0. */
export function asymmetricParams(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0), hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = clamp(roundHalfAway(-128 - lo / scale), -128, 127);
  return { scale, zeroPoint };
}

export function quantizeValue(x: number, scale: number, zp: number): number {
  return clamp(roundHalfAway(x / scale) + zp, -128, 127);
}

export function quantizeGraph(src: Graph, ranges: Ranges): Graph {
  const g = cloneGraph(src);
  const qc: QuantCtx = {
    range(name) {
      const r = ranges.get(name);
      if (!r) internal(`no calibration range for '${name}'`);
      return r!;
    },
    actQuant(name) {
      const t = tensor(g, name);
      if (t.quant) return;
      if (t.data) {
        let min = Infinity, max = -Infinity;
        for (const v of t.data) { min = Math.min(min, v); max = Math.max(max, v); }
        const { scale, zeroPoint } = asymmetricParams(min, max);
        t.quant = { scale: [scale], zeroPoint: [zeroPoint], axis: -1 };
        t.data = Int8Array.from(t.data, (v) => quantizeValue(v, scale, zeroPoint));
      } else {
        const { min, max } = this.range(name);
        const { scale, zeroPoint } = asymmetricParams(min, max);
        t.quant = { scale: [scale], zeroPoint: [zeroPoint], axis: -1 };
      }
      t.dtype = "int8";
    },
    fixedQuant(name, scale, zeroPoint) {
      const t = tensor(g, name);
      t.quant = { scale: [scale], zeroPoint: [zeroPoint], axis: -1 };
      t.dtype = "int8";
    },
    sameQuant(name, from) {
      const t = tensor(g, name), f = tensor(g, from);
      if (!f.quant) internal(`'${from}' is not quantized before '${name}'`);
      t.quant = { ...f.quant!, scale: [...f.quant!.scale], zeroPoint: [...f.quant!.zeroPoint] };
      t.dtype = "int8";
    },
    weightQuant(name, axis) {
      const t = tensor(g, name);
      if (t.quant) {
        if (t.quant.axis !== axis) bad(`${g.source}: weight '${name}' is shared by layers that need different quantization`);
        return;
      }
      if (!t.data) bad(`${g.source}: weight '${name}' is computed at run time; int8 needs constant weights`);
      quantizeWeights(t, axis);
    },
  };
  for (const name of g.inputs) qc.actQuant(name);
  for (const node of g.nodes) {
    const def = opDef(node.op);
    if (!def.quantize || !def.int) bad(`${g.source}: node '${node.name}' (${node.op}) has no int8 form in picojoule yet; compile with --quantize none`);
    for (const x of node.inputs) {
      if (x && !tensor(g, x).data && tensor(g, x).dtype !== "int8") internal(`'${x}' reaches '${node.name}' unquantized`);
    }
    def.quantize!(node, g, qc);
    node.q ??= {};
    for (const y of node.outputs) if (y && !tensor(g, y).quant) internal(`${node.op} '${node.name}' left output '${y}' unquantized`);
  }
  pruneTensors(g); // float parameters replaced by their int8 forms
  return g;
}

