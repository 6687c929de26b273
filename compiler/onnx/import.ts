/**
 * ONNX import: ModelProto (decoded by onnx-proto, i.e. protobufjs) to the graph IR. All op
 * knowledge lives in ops/table.ts; this file only converts protobuf structures, resolves
 * static input shapes (from the model or `--shape`), and walks the nodes once in order:
 * normalize attributes, then either evaluate the node at compile time (every input constant,
 * or Shape/Size of a static tensor) or infer its output shapes and keep it. What is left is a
 * graph of device ops over static shapes.
 */
import { readFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import { bad, PicoError, shapeStr } from "../util/errors.js";
import { allocData, numel, removeDeadNodes, type Data, type DType, type Graph, type Node, type Tensor, type Value } from "../ir/graph.js";
import { OPS, SUPPORTED } from "../ops/table.js";
import { onnxDType } from "../ops/fold-only.js";

const { onnx } = onnxProto;

export interface ImportOptions {
  /** Static shapes for inputs whose shapes are symbolic in the model, e.g. { input: [1, 8, 8] }. */
  shapes?: Record<string, number[]>;
  /** Graph inputs to bind to fixed values at compile time (e.g. shape arguments fed as inputs). */
  constants?: Record<string, Value>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const num = (v: Any): number => (typeof v === "number" ? v : v.toNumber());

const MIN_OPSET = 1, MAX_OPSET = 18;

export function importOnnxFile(file: string, opts: ImportOptions = {}): Graph {
  let buf: Buffer;
  try { buf = readFileSync(file); } catch (e) { bad(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`); }
  return importOnnx(buf!, file, opts);
}

export function importOnnx(buf: Uint8Array, file: string, opts: ImportOptions = {}): Graph {
  let model: Any;
  try {
    model = onnx.ModelProto.decode(buf);
  } catch (e) {
    bad(`${file}: not a valid ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  if (!model.graph || !model.irVersion || model.graph.node.length === 0) bad(`${file}: not an ONNX model (no graph or IR version found)`);
  const opsetEntry = model.opsetImport.find((o: Any) => !o.domain || o.domain === "ai.onnx");
  const opset = opsetEntry ? num(opsetEntry.version) : 0;
  if (opset < MIN_OPSET || opset > MAX_OPSET) bad(`${file}: ONNX opset ${opset} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET}; tested: 11 to 17)`);

  const gp = model.graph;
  const g: Graph = { name: gp.name || "model", source: file, opset, tensors: new Map(), nodes: [], inputs: [], outputs: [] };

  for (const init of gp.initializer) {
    const t = tensorFromProto(init, `${file}: initializer '${init.name}'`);
    checkFinite(t, `${file}: initializer '${init.name}'`);
    g.tensors.set(t.name, t);
  }
  // old-style models list initializers among the inputs too
  const runtimeInputs = gp.input.filter((vi: Any) => !g.tensors.has(vi.name));
  const names = runtimeInputs.map((vi: Any) => vi.name as string);
  const unknown = [...Object.keys(opts.shapes ?? {}), ...Object.keys(opts.constants ?? {})].filter((n) => !names.includes(n));
  if (unknown.length) bad(`${file}: --shape names ${unknown.map((n) => `'${n}'`).join(", ")}, but the model's inputs are ${names.map((n: string) => `'${n}'`).join(", ")}`);
  for (const vi of runtimeInputs) {
    const fixed = opts.constants?.[vi.name];
    if (fixed) {
      g.tensors.set(vi.name, { name: vi.name, dtype: fixed.dtype, shape: [...fixed.shape], data: fixed.data });
      continue;
    }
    g.inputs.push(vi.name);
    g.tensors.set(vi.name, inputTensor(vi, file, opts.shapes?.[vi.name]));
  }

  gp.node.forEach((np: Any, i: number) => importNode(g, np, i));

  for (const vo of gp.output) {
    const t = g.tensors.get(vo.name);
    if (!t) bad(`${file}: graph output '${vo.name}' is not produced by any node`);
    if (t!.data) bad(`${file}: graph output '${vo.name}' is a constant (it does not depend on any input); nothing to compile`);
    // Declared output shapes are not trusted: exporters get them wrong (torch declares the
    // dropped last window of ceil-mode pooling); shapes come from our own inference.
    g.outputs.push(vo.name);
  }
  removeDeadNodes(g);
  return g;
}

function importNode(g: Graph, np: Any, index: number): void {
  const file = g.source;
  const op: string = np.opType;
  const name: string = np.name || `${op}_${index}`;
  if (np.domain && np.domain !== "ai.onnx") bad(`${file}: node '${name}' uses op ${np.domain}.${op} from a custom domain; only the default ONNX domain is supported`);
  const node: Node = { name, op, inputs: [...np.input], outputs: [...np.output], attrs: {} };
  for (const a of np.attribute) node.attrs[a.name] = attrValue(a, `${file}: node '${name}' (${op}) attribute '${a.name}'`);

  if (op === "Constant") {
    const t = constantNode(node, `${file}: node '${name}' (Constant)`);
    g.tensors.set(node.outputs[0], { ...t, name: node.outputs[0] });
    return;
  }
  const def = OPS.get(op);
  if (!def || op === "StreamShift") {
    bad(`${file}: node '${name}' has op type ${op} (opset ${g.opset}), which picojoule does not support; supported: ${SUPPORTED.join(", ")}`);
  }
  for (const input of node.inputs) {
    if (input !== "" && !g.tensors.has(input)) bad(`${file}: node '${name}' (${op}) reads '${input}', which no earlier node produces`);
  }
  try {
    def!.normalize?.(node, g);
    const live = node.inputs.filter((n) => n !== "");
    const allConst = live.every((n) => g.tensors.get(n)!.data);
    if (allConst || def!.shapeOnly) {
      const ins = node.inputs.map((n) => {
        if (n === "") return undefined;
        const t = g.tensors.get(n)!;
        return { dtype: t.dtype, shape: t.shape, data: t.data ?? allocData(t.dtype, 0) } as Value;
      }) as Value[];
      const outs = def!.ref(node, ins);
      node.outputs.forEach((o, i) => {
        if (o) g.tensors.set(o, { name: o, dtype: outs[i].dtype, shape: outs[i].shape, data: outs[i].data });
      });
      return;
    }
    if (!def!.infer || (!def!.emit && !def!.alias)) {
      const dyn = live.find((n) => !g.tensors.get(n)!.data);
      bad(`${file}: node '${name}' (${op}) depends on the run-time tensor '${dyn}'; picojoule supports ${op} only as compile-time shape arithmetic; device ops: ${SUPPORTED.join(", ")}`);
    }
    const outs = def!.infer!(node, g);
    node.outputs.forEach((o, i) => {
      if (o) g.tensors.set(o, { name: o, dtype: outs[i].dtype, shape: outs[i].shape });
    });
    g.nodes.push(node);
  } catch (e) {
    if (e instanceof PicoError) {
      if (e.message.includes(file)) throw e;
      const wrapped = new PicoError(`${file}: node '${name}' (${op}): ${e.message}`, e.exitCode);
      wrapped.constantNeeded = e.constantNeeded;
      throw wrapped;
    }
    throw e;
  }
}

function staticDims(vi: Any): number[] | undefined {
  const dims = vi.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  const out: number[] = [];
  for (const d of dims) {
    if (d.dimValue === undefined || d.dimValue === null || (d.dimParam && d.dimParam !== "")) return undefined;
    out.push(num(d.dimValue));
  }
  return out;
}

function inputTensor(vi: Any, file: string, given?: number[]): Tensor {
  const tt = vi.type?.tensorType;
  if (!tt) bad(`${file}: input '${vi.name}' is not a tensor`);
  const dtype = onnxDType(tt.elemType, `${file}: input '${vi.name}'`);
  const dims: Any[] = tt.shape?.dim ?? [];
  const symbolic = dims.map((d: Any) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null && !(d.dimValue.isZero?.() && !tt.shape) ? String(num(d.dimValue)) : "?"));
  if (given) {
    if (given.length !== dims.length || dims.some((d: Any, i: number) => !d.dimParam && d.dimValue != null && num(d.dimValue) !== given[i] && num(d.dimValue) !== 0)) {
      bad(`${file}: --shape ${vi.name}=${given.join("x")} does not match the model's input shape [${symbolic.join(",")}]`);
    }
    if (given.some((d) => !Number.isInteger(d) || d <= 0)) bad(`${file}: --shape ${vi.name}=${given.join("x")} must have positive integer dims`);
    return { name: vi.name, dtype, shape: [...given] };
  }
  const shape = staticDims(vi);
  if (!tt.shape || !shape || shape.some((d) => d <= 0)) {
    bad(`${file}: input '${vi.name}' has a symbolic shape [${symbolic.join(",")}]; give a static one with --shape ${vi.name}=${symbolic.map((s: string) => (/^\d+$/.test(s) && s !== "0" ? s : "N")).join("x")}`);
  }
  return { name: vi.name, dtype, shape: shape! };
}

const TYPED: Record<DType, string> = {
  float32: "floatData", float64: "doubleData", int32: "int32Data", int16: "int32Data", int8: "int32Data",
  uint8: "int32Data", bool: "int32Data", int64: "int64Data",
};

export function tensorFromProto(tp: Any, ctx: string): Tensor {
  const dtype = onnxDType(tp.dataType, ctx);
  if (tp.dataLocation === 1) bad(`${ctx}: external tensor data is not supported; save the model with weights inside the .onnx`);
  const shape = (tp.dims as Any[]).map(num);
  const n = numel(shape);
  const data: Data = allocData(dtype, n);
  const raw: Uint8Array | undefined = tp.rawData && tp.rawData.length ? tp.rawData : undefined;
  if (raw) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = { float32: 4, float64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1, int64: 8 }[dtype];
    if (raw.length !== n * size) bad(`${ctx}: raw data has ${raw.length} bytes, expected ${n * size} for ${dtype} ${shapeStr(shape)}`);
    for (let i = 0; i < n; i++) {
      const o = i * size;
      data[i] = dtype === "float32" ? dv.getFloat32(o, true) : dtype === "float64" ? dv.getFloat64(o, true)
        : dtype === "int32" ? dv.getInt32(o, true) : dtype === "int16" ? dv.getInt16(o, true)
        : dtype === "int8" ? dv.getInt8(o) : dtype === "int64" ? Number(dv.getBigInt64(o, true)) : dv.getUint8(o);
    }
  } else {
    const src: Any[] = tp[TYPED[dtype]] ?? [];
    if (src.length !== n) bad(`${ctx}: has ${src.length} values, expected ${n} for ${dtype} ${shapeStr(shape)}`);
    for (let i = 0; i < n; i++) data[i] = num(src[i]);
  }
  return { name: tp.name ?? "", dtype, shape, data };
}

function checkFinite(t: Tensor, ctx: string): void {
  if (t.dtype !== "float32" && t.dtype !== "float64") return;
  const d = t.data!;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) bad(`${ctx}: element ${i} is ${d[i]}; weights must be finite`);
  }
}

function attrValue(a: Any, ctx: string): unknown {
  switch (a.type) {
    case 1: return a.f;
    case 2: return num(a.i);
    case 3: return new TextDecoder().decode(a.s);
    case 4: { const t = tensorFromProto(a.t, ctx); return { dtype: t.dtype, shape: t.shape, data: t.data } as Value; }
    case 6: return [...a.floats];
    case 7: return (a.ints as Any[]).map(num);
    case 8: return (a.strings as Uint8Array[]).map((s) => new TextDecoder().decode(s));
    default: bad(`${ctx}: attribute type ${a.type} (graphs, sparse tensors, type protos) is not supported`);
  }
}

function constantNode(node: Node, ctx: string): Tensor {
  const a = node.attrs;
  let t: Tensor;
  if (a.value) t = { name: "", ...(a.value as Value) };
  else if (a.value_float !== undefined) t = { name: "", dtype: "float32", shape: [], data: Float32Array.of(a.value_float) };
  else if (a.value_floats) t = { name: "", dtype: "float32", shape: [a.value_floats.length], data: Float32Array.from(a.value_floats) };
  else if (a.value_int !== undefined) t = { name: "", dtype: "int64", shape: [], data: Float64Array.of(a.value_int) };
  else if (a.value_ints) t = { name: "", dtype: "int64", shape: [a.value_ints.length], data: Float64Array.from(a.value_ints) };
  else bad(`${ctx}: only tensor, float(s) and int(s) constants are supported`);
  checkFinite(t!, ctx);
  return t!;
}
