/**
 * What Add and Mul share: numpy broadcasting of two operands (either may be a constant,
 * either may be the smaller one), and the "row plan" that runtime-as/broadcast.ts walks.
 * A row plan describes an index space of up to 6 dims with, per dim, an element stride into
 * each of two operands. Dims of size 1 are dropped and neighbouring dims that both operands
 * traverse contiguously (or both hold still on) are merged, so [N,C,H,W] + [C,1,1] becomes
 * C rows of H*W elements with one scalar of the second operand per row, equal shapes become
 * one row, and a scalar operand becomes one row with stride 0. Kernels then specialize the
 * inner loop on the innermost strides instead of branching per element. Transpose, Slice
 * and Pad reuse the same plan for their strided copies. Kernels get the plan through
 * planArgs: the row count, row length and innermost strides as arguments (so the cost
 * model sees them), the outer dims and strides as a table to walk.
 *
 * Opsets 1 to 6 broadcast only B, and only with attribute broadcast=1; `axis` then says
 * where B's dims line up with A's. normalize turns that into numpy broadcasting by recording
 * B's shape padded with trailing 1s (attrs.bshape: same data, another shape).
 */
import { bad } from "../util/errors.js";
import { numel, tensor, type Graph, type Node, type Value } from "../ir/graph.js";
import type { EmitCtx, OutType, TileSpec } from "./types.js";
import { actBounds, bcastStrides, broadcastBinary, broadcastShape, clampF, fr, inT, requireFloat, where } from "./util.js";

export const MAX_RANK = 6;

/**
 * Row plan of an index space: 18 int32 values, dims d0..d5, strides of operand A per dim,
 * strides of operand B per dim (in elements). The last dim is the row; d0..d4 count rows.
 */
export function rowPlan(dims: number[], sa: number[], sb: number[], ctx: string): number[] {
  const D: number[] = [], A: number[] = [], B: number[] = [];
  dims.forEach((d, i) => {
    if (d === 1) return;
    const t = D.length - 1;
    if (t >= 0 && A[t] === sa[i] * d && B[t] === sb[i] * d) {
      D[t] *= d; A[t] = sa[i]; B[t] = sb[i];
    } else {
      D.push(d); A.push(sa[i]); B.push(sb[i]);
    }
  });
  if (D.length > MAX_RANK) bad(`${ctx}: shape ${dims.join("x")} needs ${D.length} dims after merging; the kernels support ${MAX_RANK}`);
  if (D.length === 0) { D.push(1); A.push(0); B.push(0); }
  while (D.length < MAX_RANK) { D.unshift(1); A.unshift(0); B.unshift(0); }
  return [...D, ...A, ...B];
}

/**
 * A row plan as the kernels take it (runtime-as/broadcast.ts): the walk (dims d1..d4, then
 * the A and B strides of d0..d4; "0" for a single row, which needs no walk), the number of
 * rows d0*..*d4, the row length d5 and the innermost strides of A and B. No plan (undefined):
 * no rows at all.
 */
export function planArgs(e: EmitCtx, hint: string, plan: number[] | undefined): Array<string | number> {
  if (!plan) return ["0", 0, 0, 0, 0];
  const D = plan.slice(0, 6), A = plan.slice(6, 12), B = plan.slice(12, 18);
  const rows = D[0] * D[1] * D[2] * D[3] * D[4];
  const walk = rows > 1 ? e.data(hint, "int32", [...D.slice(1, 5), ...A.slice(0, 5), ...B.slice(0, 5)]) : "0";
  return [walk, rows, D[5], A[5], B[5]];
}

/**
 * How --intermittent splits a broadcast binary call [a, b, y, walk, rows, n, ia, ib, ...]
 * of `S`-byte elements: by element ranges, when nothing broadcasts (one row, both operands
 * full); else it stays whole.
 */
export function elementTiles(io: Array<string | number>, S: number): TileSpec | undefined {
  const [, , , , rows, n, ia, ib] = io;
  if (rows !== 1 || ia === 0 || ib === 0 || typeof n !== "number" || n < 2) return undefined;
  return { units: n, bumps: [[0, S], [1, S], [2, S]], count: [5, 1, n], outPerUnit: S };
}

/** Reads opset 1-6 legacy broadcasting (broadcast, axis) into attrs.bshape; drops legacy attrs. */
export function binaryNormalize(node: Node, g: Graph): void {
  const { broadcast, axis } = node.attrs;
  delete node.attrs.broadcast; delete node.attrs.axis; delete node.attrs.consumed_inputs;
  if (g.opset >= 7 || !broadcast || axis === undefined || node.inputs.length !== 2) return;
  const a = inT(g, node, 0).shape, b = inT(g, node, 1).shape;
  const ax = axis < 0 ? axis + a.length : axis;
  if (ax < 0 || ax + b.length > a.length) bad(`${where(g, node)}: legacy broadcast of ${b.join("x") || "scalar"} into ${a.join("x")} at axis ${axis} does not fit`);
  const bshape = [...b, ...new Array<number>(a.length - ax - b.length).fill(1)];
  if (bshape.length !== b.length) node.attrs.bshape = bshape;
}

/** Operand B as broadcasting sees it (its legacy-aligned shape, same data). */
export function operandB<T extends { shape: number[] }>(node: Node, b: T): T {
  return node.attrs.bshape ? { ...b, shape: node.attrs.bshape as number[] } : b;
}

/** The row plan of a broadcast binary node: operand strides into the output's index space. */
export function binaryPlan(g: Graph, node: Node): number[] {
  const a = inT(g, node, 0).shape, b = operandB(node, inT(g, node, 1)).shape;
  const out = tensor(g, node.outputs[0]).shape;
  return rowPlan(out, bcastStrides(a, out), bcastStrides(b, out), where(g, node));
}

/** Shape inference of a broadcast binary device op: float32 operands of one dtype. */
export function binaryInfer(node: Node, g: Graph): OutType[] {
  requireFloat(g, node);
  if (node.inputs.length !== 2 || !node.inputs[0] || !node.inputs[1]) bad(`${where(g, node)}: expected 2 inputs, got ${node.inputs.length}`);
  const a = inT(g, node, 0), b = operandB(node, inT(g, node, 1));
  if (a.dtype !== b.dtype) bad(`${where(g, node)}: operands are ${a.dtype} and ${b.dtype}; they must have one dtype`);
  const shape = broadcastShape(a.shape, b.shape, where(g, node));
  if (numel(shape) === 0) bad(`${where(g, node)}: output shape ${shape.join("x")} is empty`);
  rowPlan(shape, bcastStrides(a.shape, shape), bcastStrides(b.shape, shape), where(g, node)); // refuses > 6 dims now, not at emit
  return [{ dtype: a.dtype, shape }];
}

/** The per-tensor int8 parameters of a quantized operand, refusing per-channel ones. */
export function tensorQuant(g: Graph, node: Node, name: string): { s: number; z: number } {
  const q = tensor(g, name).quant;
  if (!q || q.scale.length !== 1) bad(`${where(g, node)}: operand '${name}' needs per-tensor int8 parameters here (it is shared with a per-channel weight)`);
  return { s: q!.scale[0], z: q!.zeroPoint[0] };
}

/** Float reference of a broadcast binary device op: any dtype (constant folding), float32 with the fused clamp. */
export function binaryRef(op: string, f: (x: number, y: number) => number): (node: Node, ins: Value[]) => Value[] {
  return (node, [a, b0]) => {
    const b = operandB(node, b0);
    const ctx = `${op} '${node.name}'`;
    if (a.dtype !== "float32") return [broadcastBinary(a, b, a.dtype, f, ctx)];
    const { min, max } = actBounds(node);
    return [broadcastBinary(a, b, "float32", (x, y) => clampF(fr(f(x, y)), min, max), ctx)];
  };
}
