/**
 * Shape arithmetic that exporters (PyTorch above all) emit around reshapes, pads and
 * slices: Shape, Size, ConstantOfShape, Cast, Sub, Div, Range, Expand, Equal, Less,
 * Greater, Where, Not, Neg, Sqrt, Min, Max, ReduceProd. picojoule evaluates these at
 * compile time whenever their inputs are constant (or, for Shape and Size, when the input's
 * shape is static); they have no kernels, so one left with a run-time input is reported as
 * unsupported. Semantics follow the ONNX spec on any numeric dtype. (Gather and Slice, also
 * common in shape arithmetic, are device ops with their own files; the importer folds them
 * with the same `ref` path.)
 */
import { bad } from "../util/errors.js";
import { makeValue, numel, strides, type DType, type Node, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";
import { binaryNormalize, operandB } from "./binary.js";
import { attrInt, attrInts, broadcastBinary, broadcastShape, mapValue, normAxis } from "./util.js";

const ONNX_DTYPES: Record<number, DType> = { 1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool", 11: "float64" };
export function onnxDType(code: number, ctx: string): DType {
  const d = ONNX_DTYPES[code];
  if (!d) bad(`${ctx}: ONNX data type ${code} is not supported (supported: float, double, int8, uint8, int16, int32, int64, bool)`);
  return d;
}

const ints = (v: Value | undefined): number[] | undefined => (v ? Array.from(v.data, Number) : undefined);
const i64 = (xs: number[], shape = [xs.length]): Value => makeValue("int64", shape, xs);

function castTo(dtype: DType, x: number): number {
  switch (dtype) {
    case "float32": return Math.fround(x);
    case "float64": return x;
    case "bool": return x !== 0 ? 1 : 0;
    default: return Math.trunc(x);
  }
}

function binary(op: string, f: (a: number, b: number, dtype: DType) => number, outBool = false): OpDef {
  return {
    op, doc: `${op} (compile-time only)`,
    normalize: binaryNormalize, // opset < 7 broadcast/axis attributes, as Add and Mul
    ref: (node, [a, b]) => [broadcastBinary(a, operandB(node, b), outBool ? "bool" : a.dtype, (x, y) => castTo(outBool ? "bool" : a.dtype, f(x, y, a.dtype)), `${op} '${node.name}'`)],
  };
}

function unary(op: string, f: (x: number) => number): OpDef {
  return { op, doc: `${op} (compile-time only)`, ref: (_n, [x]) => [mapValue(x, (v) => castTo(x.dtype, f(v)))] };
}

const isInt = (d: DType) => d !== "float32" && d !== "float64";

export const FOLD_ONLY: OpDef[] = [
  {
    op: "Shape", doc: "shape of a tensor with a static shape", shapeOnly: true,
    ref: (node, [x]) => {
      const r = x.shape.length;
      const clampI = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
      const start = clampI(attrInt(node, "start", 0));
      const end = clampI(attrInt(node, "end", r));
      return [i64(x.shape.slice(start, Math.max(start, end)))];
    },
  },
  { op: "Size", doc: "element count", shapeOnly: true, ref: (_n, [x]) => [i64([numel(x.shape)], [])] },
  {
    op: "ConstantOfShape", doc: "filled tensor",
    ref: (node, [s]) => {
      const t = node.attrs.value as Value | undefined;
      const dtype = t?.dtype ?? "float32";
      const v = makeValue(dtype, ints(s)!);
      v.data.fill(t ? Number(t.data[0]) : 0);
      return [v];
    },
  },
  {
    op: "Cast", doc: "dtype conversion",
    ref: (node, [x]) => {
      const to = onnxDType(attrInt(node, "to", 1), `Cast '${node.name}'`);
      return [mapValue(x, (v) => castTo(to, v), to)];
    },
  },
  binary("Sub", (a, b) => a - b),
  binary("Div", (a, b, d) => (isInt(d) ? Math.trunc(a / b) : a / b)),
  binary("Pow", (a, b) => a ** b),
  binary("Min", (a, b) => Math.min(a, b)),
  binary("Max", (a, b) => Math.max(a, b)),
  binary("Equal", (a, b) => (a === b ? 1 : 0), true),
  binary("Less", (a, b) => (a < b ? 1 : 0), true),
  binary("Greater", (a, b) => (a > b ? 1 : 0), true),
  unary("Neg", (x) => -x),
  unary("Sqrt", Math.sqrt),
  unary("Floor", Math.floor),
  unary("Ceil", Math.ceil),
  unary("Abs", Math.abs),
  { op: "Not", doc: "logical not", ref: (_n, [x]) => [mapValue(x, (v) => (v ? 0 : 1))] },
  {
    op: "Range", doc: "arithmetic sequence",
    ref: (_n, [s, l, d]) => {
      const [a, b, c] = [Number(s.data[0]), Number(l.data[0]), Number(d.data[0])];
      const n = Math.max(Math.ceil((b - a) / c), 0);
      return [makeValue(s.dtype, [n], Array.from({ length: n }, (_, i) => a + i * c))];
    },
  },
  {
    op: "Expand", doc: "broadcast to a shape",
    ref: (node, [x, s]) => {
      const shape = broadcastShape(x.shape, ints(s)!, `Expand '${node.name}'`);
      const ones = makeValue(x.dtype, shape);
      return [broadcastBinary(x, ones, x.dtype, (a) => a, `Expand '${node.name}'`)];
    },
  },
  {
    op: "Where", doc: "select",
    ref: (node, [c, x, y]) => {
      const shape = broadcastShape(broadcastShape(c.shape, x.shape, node.name), y.shape, `Where '${node.name}'`);
      const full = (v: Value) => broadcastBinary(v, makeValue(v.dtype, shape), v.dtype, (a) => a, `Where '${node.name}'`);
      const [cc, xx, yy] = [full(c), full(x), full(y)];
      return [mapValue(cc, (v) => v, x.dtype)].map((o) => { for (let i = 0; i < o.data.length; i++) o.data[i] = cc.data[i] ? xx.data[i] : yy.data[i]; return o; });
    },
  },
  {
    op: "ReduceProd", doc: "product over axes",
    ref: (node, [x, axIn]) => {
      const axes = (ints(axIn) ?? attrInts(node, "axes", x.shape.map((_, i) => i))).map((a) => normAxis(a, x.shape.length, "ReduceProd"));
      const keep = attrInt(node, "keepdims", 1);
      const shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const out = makeValue(x.dtype, shape);
      out.data.fill(1);
      const xs = strides(x.shape), os = strides(shape);
      for (let k = 0; k < x.data.length; k++) {
        let o = 0;
        for (let d = 0; d < x.shape.length; d++) if (!axes.includes(d)) o += Math.floor(k / xs[d]) % x.shape[d] * os[d];
        out.data[o] *= x.data[k];
      }
      return [keep ? out : { ...out, shape: shape.filter((_, i) => !axes.includes(i)) }];
    },
  },
];

export type { Node };
