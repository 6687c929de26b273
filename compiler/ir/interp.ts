/**
 * The reference interpreter: the living definition of the IR. Float nodes run their op's
 * `ref` (float64 accumulation, float32 results); quantized nodes (those with `q`) run the
 * op's `int`, the integer semantics every int8 kernel must reproduce bit for bit. An
 * `observe` callback sees every tensor as it is produced (and values internal to a node,
 * under internalName), which is how calibration gathers activation ranges.
 */
import { bad, internal, shapeStr } from "../util/errors.js";
import { internalName, numel, tensor, type Graph, type Value } from "./graph.js";
import { opDef } from "../ops/table.js";

export interface InterpOptions {
  observe?(name: string, v: Value): void;
}

export function interpret(g: Graph, feeds: Record<string, Value>, opts: InterpOptions = {}): Record<string, Value> {
  const env = new Map<string, Value>();
  for (const [name, t] of g.tensors) if (t.data) env.set(name, { dtype: t.dtype, shape: t.shape, data: t.data });
  for (const name of g.inputs) {
    const v = feeds[name];
    const t = tensor(g, name);
    if (!v) bad(`missing input '${name}'`);
    if (v.dtype !== t.dtype || v.shape.join("x") !== t.shape.join("x") || v.data.length !== numel(t.shape)) {
      bad(`input '${name}' is ${v.dtype} ${shapeStr(v.shape)}, the model expects ${t.dtype} ${shapeStr(t.shape)}`);
    }
    env.set(name, v);
    opts.observe?.(name, v);
  }
  for (const node of g.nodes) {
    const def = opDef(node.op);
    const ins = node.inputs.map((n) => (n === "" ? undefined : env.get(n))) as Value[];
    node.inputs.forEach((n, i) => { if (n !== "" && !ins[i]) internal(`node '${node.name}' reads '${n}' before it is computed`); });
    const fn = node.q ? def.int : def.ref;
    if (!fn) internal(`${node.op} '${node.name}' has no integer semantics`);
    const observe = opts.observe;
    const outs = node.q || !observe ? fn!(node, ins) : def.ref(node, ins, (what, v) => observe(internalName(node, what), v));
    node.outputs.forEach((n, i) => {
      if (!n) return;
      env.set(n, outs[i]);
      opts.observe?.(n, outs[i]);
    });
  }
  const result: Record<string, Value> = {};
  for (const name of g.outputs) result[name] = env.get(name)!;
  return result;
}
