/**
 * Gather: picks entries along one axis of the data by a constant index tensor (int32 or
 * int64, negative indices count from the end), output rank r + q - 1. PyTorch exports
 * `h_n[-1]` and `out[:, -1, :]` this way (a scalar index: the axis is dropped), and its
 * shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat) too, which the importer folds
 * with `ref` on int64 data. Import reads the indices into attributes (non-negative, checked
 * against the axis size) and drops that input; run-time indices are refused.
 *
 * Seen as [outer, n, inner] with the axis in the middle, the output is `outer` blocks of one
 * `inner`-element row per index, so the device copies rows: indices that follow each other
 * (i, i + 1, ...) merge into one run, and each run is one memory.copy. Gathers of single
 * elements (inner == 1, nothing to merge) use an element loop over an offset table instead.
 *
 * int8: the output keeps the input's quantization (sameQuant) and bytes move unchanged; Q
 * formats likewise, with int16 elements from 9 bits (gather_s16 for single elements).
 */
import { bad } from "../util/errors.js";
import { allocData, constData, dtypeBytes, numel, tensor, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { attrInt, normAxis, requireFloat, where } from "./util.js";

interface GatherGeom { axis: number; outer: number; n: number; inner: number; idx: number[]; shape: number[] }

/** Indices made non-negative and checked against an axis of size n. */
function normIndices(raw: ArrayLike<number>, n: number, ctx: string): number[] {
  return Array.from(raw, (v) => {
    const i = Number(v);
    if (!Number.isInteger(i) || i < -n || i >= n) bad(`${ctx}: index ${i} is out of range for an axis of size ${n}`);
    return i < 0 ? i + n : i;
  });
}

/** Geometry from the data shape and either the normalized attributes or an indices value. */
function geom(node: Node, xshape: number[], idx?: Value): GatherGeom {
  const ctx = `Gather '${node.name}'`;
  if (xshape.length === 0) bad(`${ctx}: data is a scalar; Gather needs rank >= 1`);
  const axis = normAxis(attrInt(node, "axis", 0), xshape.length, ctx);
  const n = xshape[axis];
  const is = idx ? normIndices(idx.data, n, ctx) : (node.attrs.indices as number[]);
  const qshape = idx ? idx.shape : (node.attrs.indicesShape as number[]);
  if (!is || !qshape) bad(`${ctx}: the indices input is missing`);
  return {
    axis, n, idx: is,
    outer: numel(xshape.slice(0, axis)), inner: numel(xshape.slice(axis + 1)),
    shape: [...xshape.slice(0, axis), ...qshape, ...xshape.slice(axis + 1)],
  };
}

function gather(node: Node, [x, idx]: Value[]): Value[] {
  const { outer, n, inner, idx: is, shape } = geom(node, x.shape, idx);
  const out = allocData(x.dtype, numel(shape));
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const i of is) {
      const base = (o * n + i) * inner;
      for (let j = 0; j < inner; j++) out[k++] = x.data[base + j];
    }
  }
  return [{ dtype: x.dtype, shape, data: out }];
}

/** Consecutive indices merged: [first index, length in rows] per run. */
function runsOf(is: number[]): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (const i of is) {
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === i) last[1]++;
    else runs.push([i, 1]);
  }
  return runs;
}

export const Gather: OpDef = {
  op: "Gather",
  doc: "gather along an axis by constant indices (negative allowed); scalar index drops the axis",
  normalize(node, g) {
    if (node.inputs.length < 2 && node.attrs.indices) return; // already normalized
    const ctx = where(g, node);
    const x = tensor(g, node.inputs[0]);
    if (x.shape.length === 0) bad(`${ctx}: data is a scalar; Gather needs rank >= 1`);
    const axis = normAxis(attrInt(node, "axis", 0), x.shape.length, ctx);
    if (!node.inputs[1]) bad(`${ctx}: the indices input is missing`);
    const it = tensor(g, node.inputs[1]);
    const raw = constData(g, node, 1, "indices");
    if (it.dtype === "float32" || it.dtype === "float64") bad(`${ctx}: indices are ${it.dtype}; ONNX requires int32 or int64`);
    node.attrs = { axis, indices: normIndices(raw, x.shape[axis], ctx), indicesShape: [...it.shape] };
    node.inputs = [node.inputs[0]];
  },
  infer(node, g) {
    requireFloat(g, node);
    const x = tensor(g, node.inputs[0]);
    const { shape } = geom(node, x.shape);
    if (numel(shape) === 0) bad(`${where(g, node)}: output shape ${shape.join("x")} is empty`);
    return [{ dtype: x.dtype, shape }];
  },
  ref: gather,
  int: gather,
  quantize(node, _g, qc) {
    qc.sameQuant(node.outputs[0], node.inputs[0]);
  },
  emit(node, e) {
    const x = tensor(e.g, node.inputs[0]);
    const { outer, n, inner, idx } = geom(node, x.shape);
    const es = dtypeBytes(x.dtype); // float32 4, int8 1, Q-format int16 2
    const xa = e.addr(node.inputs[0]), ya = e.addr(node.outputs[0]);
    const runs = runsOf(idx);
    if (inner === 1 && runs.length === idx.length && idx.length > 1) {
      const offs = idx.map((i) => i * es);
      e.call("gather", { 1: "gather_s8", 2: "gather_s16", 4: "gather_f32" }[es]!, [xa, ya, outer, n * es, e.data("gather_offs", "int32", offs), idx.length]);
      return;
    }
    const table = runs.flatMap(([i, len]) => [i * inner * es, len * inner * es]);
    e.call("gather", "gather_rows", [xa, ya, outer, n * inner * es, idx.length * inner * es, e.data("gather_runs", "int32", table), runs.length]);
  },
  macs: () => 0,
};
