/**
 * Turning .npy arrays into interpreter feeds and back, with the shape rule the CLI
 * documents: the leading dimension counts independent inferences and the rest must equal
 * the model input's shape, either without its leading batch dimension of 1 or in full.
 */
import { bad, shapeStr } from "./util/errors.js";
import { makeValue, numel, tensor, type Graph, type Value } from "./ir/graph.js";
import { npyToFloat32, type NpyArray } from "./util/npy.js";

export function samplesFromNpy(g: Graph, arr: NpyArray, file: string, what: string): Array<Record<string, Value>> {
  if (g.inputs.length !== 1) bad(`${file}: the model has ${g.inputs.length} inputs (${g.inputs.join(", ")}); ${what} from one .npy needs a single-input model`);
  const name = g.inputs[0];
  return samplesFromShape(name, tensor(g, name).shape, arr, file, what).map((x) => ({ [name]: makeValue("float32", tensor(g, name).shape, x) }));
}

/** Splits an array into per-inference float32 samples for an input of the given shape. */
export function samplesFromShape(name: string, shape: number[], arr: NpyArray, file: string, what: string): Float32Array[] {  if (arr.dtype !== "float32" && arr.dtype !== "float64") bad(`${file}: ${what} must be float32 (or float64), found ${arr.dtype}`);
  const rest = arr.shape.slice(1);
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  const ok = arr.shape.length >= 1 && ((shape[0] === 1 && same(rest, shape.slice(1))) || same(rest, shape));
  if (!ok) {
    bad(`${file}: ${what} has shape ${shapeStr(arr.shape)}; expected N x ${shapeStr(shape[0] === 1 ? shape.slice(1) : shape)} (N samples of input '${name}' ${shapeStr(shape)})`);
  }
  const data = npyToFloat32(arr, file);
  const per = numel(shape);
  const n = arr.shape[0];
  if (n === 0) bad(`${file}: ${what} holds no samples`);
  return Array.from({ length: n }, (_, i) => data.slice(i * per, (i + 1) * per));
}
