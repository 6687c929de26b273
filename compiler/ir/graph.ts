/**
 * The graph IR: named tensors (static shapes, optional constant data, optional quantization
 * parameters) and a topologically ordered list of nodes whose op names are ONNX op types
 * with normalized attributes. Passes are standalone functions that take a Graph and return
 * a new one (or mutate a clone), so every stage can be printed, verified and interpreted.
 *
 * int64 tensors only occur in shape arithmetic; their data is held in a Float64Array (exact
 * to 2^53, far beyond any shape) so constant folding can use plain number arithmetic.
 */
import { bad, internal, needConstant, shapeStr } from "../util/errors.js";

export type DType = "float32" | "float64" | "int8" | "uint8" | "int16" | "int32" | "int64" | "bool";
export type Data = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array;

/** real = scale * (q - zeroPoint); per-tensor when scale has one entry, else per `axis`. */
export interface Quant {
  scale: number[];
  zeroPoint: number[];
  axis: number;
}

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  data?: Data;
  quant?: Quant;
}

export interface Value {
  dtype: DType;
  shape: number[];
  data: Data;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Attrs = Record<string, any>;

export interface Node {
  name: string;
  op: string;
  inputs: string[]; // "" marks an absent optional input
  outputs: string[];
  attrs: Attrs;
  /** Integer-path parameters set by the quantize pass; present iff the node runs in int8. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  q?: Record<string, any>;
}

export interface Graph {
  name: string;
  source: string; // file the graph came from, for error messages
  opset: number;
  tensors: Map<string, Tensor>;
  nodes: Node[];
  inputs: string[];
  outputs: string[];
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function dtypeBytes(dtype: DType): number {
  switch (dtype) {
    case "int8": case "uint8": case "bool": return 1;
    case "int16": return 2;
    case "float32": case "int32": return 4;
    case "float64": case "int64": return 8;
  }
}

export function allocData(dtype: DType, n: number): Data {
  switch (dtype) {
    case "float32": return new Float32Array(n);
    case "float64": case "int64": return new Float64Array(n);
    case "int8": return new Int8Array(n);
    case "uint8": case "bool": return new Uint8Array(n);
    case "int16": return new Int16Array(n);
    case "int32": return new Int32Array(n);
  }
}

export function makeValue(dtype: DType, shape: number[], data?: Data | ArrayLike<number>): Value {
  const out = allocData(dtype, numel(shape));
  if (data) {
    if (data.length !== out.length) internal(`value of shape ${shapeStr(shape)} given ${data.length} elements`);
    out.set(data as ArrayLike<number>);
  }
  return { dtype, shape: [...shape], data: out };
}

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/**
 * Name under which calibration observes a value internal to a node (e.g. an LSTM's cell
 * state at every step), so quantize rules can size formats of state that is no tensor.
 */
export function internalName(node: Node, what: string): string {
  return `${node.name || node.outputs.find((o) => o) || node.op}/${what}`;
}

export function tensor(g: Graph, name: string): Tensor {
  const t = g.tensors.get(name);
  if (!t) internal(`tensor '${name}' is not in graph ${g.name}`);
  return t!;
}

export function isConst(g: Graph, name: string): boolean {
  return name !== "" && g.tensors.get(name)?.data !== undefined;
}

/** The constant data of an input, or a bad-input error naming the node. */
export function constData(g: Graph, node: Node, index: number, what: string): Data {
  const name = node.inputs[index];
  const t = name ? g.tensors.get(name) : undefined;
  if (!t) bad(`${g.source}: node '${node.name}' (${node.op}): ${what} (input ${index}) is missing`);
  if (!t!.data) needConstant(name, `${g.source}: node '${node.name}' (${node.op}): ${what} (input ${index}) '${name}' is computed at run time; picojoule needs it at compile time`);
  return t!.data!;
}

export function consumers(g: Graph, name: string): Node[] {
  return g.nodes.filter((n) => n.inputs.includes(name));
}

export function producer(g: Graph, name: string): Node | undefined {
  return g.nodes.find((n) => n.outputs.includes(name));
}

export function cloneGraph(g: Graph): Graph {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of g.tensors) {
    tensors.set(k, { ...t, shape: [...t.shape], quant: t.quant && { ...t.quant, scale: [...t.quant.scale], zeroPoint: [...t.quant.zeroPoint] } });
  }
  return {
    ...g,
    tensors,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs }, q: n.q && { ...n.q } })),
    inputs: [...g.inputs],
    outputs: [...g.outputs],
  };
}

/** Adds (or replaces) a tensor; returns it. */
export function setTensor(g: Graph, t: Tensor): Tensor {
  g.tensors.set(t.name, t);
  return t;
}

/** A tensor name not yet used in the graph, derived from `base`. */
export function freshName(g: Graph, base: string): string {
  if (!g.tensors.has(base)) return base;
  for (let i = 1; ; i++) if (!g.tensors.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** Drops tensors that no node, input or output refers to. */
export function pruneTensors(g: Graph): void {
  const used = new Set<string>([...g.inputs, ...g.outputs]);
  for (const n of g.nodes) for (const x of [...n.inputs, ...n.outputs]) used.add(x);
  for (const k of [...g.tensors.keys()]) if (!used.has(k)) g.tensors.delete(k);
}

/**
 * Removes nodes whose outputs nobody uses (iterating to a fixed point), and blanks the
 * unread outputs of the nodes that stay (e.g. the Y and Y_c an exporter names on an LSTM
 * whose Y_h alone is used), so they get no buffer; every op treats "" as absent.
 */
export function removeDeadNodes(g: Graph): void {
  for (;;) {
    const used = new Set<string>(g.outputs);
    for (const n of g.nodes) for (const x of n.inputs) used.add(x);
    const keep = g.nodes.filter((n) => n.outputs.some((o) => used.has(o)));
    if (keep.length === g.nodes.length) {
      for (const n of g.nodes) n.outputs = n.outputs.map((o) => (used.has(o) ? o : ""));
      break;
    }
    g.nodes = keep;
  }
  pruneTensors(g);
}

/** Replace every use of tensor `from` by `to` (node inputs and graph outputs). */
export function replaceUses(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) n.inputs = n.inputs.map((x) => (x === from ? to : x));
  g.outputs = g.outputs.map((x) => (x === from ? to : x));
}
