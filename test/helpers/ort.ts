/**
 * onnxruntime-node as the float reference: runs an .onnx file on float32 feeds.
 */
import * as ort from "onnxruntime-node";
import { makeValue, type Value } from "../../compiler/ir/graph.js";

export async function runOrt(model: string, feeds: Record<string, Value>): Promise<Record<string, Value>> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: "disabled", logSeverityLevel: 3 });
  const inputs: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor("float32", Float32Array.from(v.data), v.shape);
  const out = await session.run(inputs);
  const result: Record<string, Value> = {};
  for (const [k, t] of Object.entries(out)) result[k] = makeValue("float32", [...t.dims].map(Number), t.data as Float32Array);
  await session.release();
  return result;
}
