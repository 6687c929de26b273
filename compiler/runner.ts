/**
 * Runs a compiled model in Node's WebAssembly engine, the way a host on a device would:
 * instantiate with no imports, write inputs at their addresses, call run(), read outputs.
 * Float inputs are quantized with the input's scale and zero point (the same rounding as
 * the compiler uses) and int8 outputs are dequantized, so the CLI always speaks float32.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { bad, internal } from "./util/errors.js";
import { makeValue, numel, type Value } from "./ir/graph.js";
import type { Manifest } from "./emit/manifest.js";
import { quantizeValue } from "./passes/quantize.js";

export interface Loaded {
  manifest: Manifest;
  instance: WebAssembly.Instance;
  memory: WebAssembly.Memory;
}

export async function loadCompiled(path: string): Promise<Loaded> {
  if (!existsSync(path)) bad(`${path}: no such file or folder`);
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  const wasmFile = statSync(path).isDirectory() ? join(path, "model.wasm") : path;
  const jsonFile = join(dir, "model.json");
  if (!existsSync(wasmFile)) bad(`${path}: no model.wasm (compile the model first: picojoule compile model.onnx -o ${dir})`);
  if (!existsSync(jsonFile)) bad(`${path}: no model.json beside model.wasm; it describes the inputs and outputs`);
  let manifest: Manifest;
  try { manifest = JSON.parse(readFileSync(jsonFile, "utf8")); } catch (e) { bad(`${jsonFile}: not valid JSON (${(e as Error).message})`); }
  return instantiate(readFileSync(wasmFile), manifest!, wasmFile);
}

export async function instantiate(wasm: Uint8Array, manifest: Manifest, name = "model.wasm"): Promise<Loaded> {
  let instance: WebAssembly.Instance;
  try {
    const mod = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    instance = await WebAssembly.instantiate(mod, {});
  } catch (e) {
    bad(`${name}: not a loadable WebAssembly module (${(e as Error).message})`);
  }
  const memory = instance!.exports.memory as WebAssembly.Memory;
  return { manifest, instance: instance!, memory };
}

/** Runs one inference on raw tensors (int8 for quantized models) and returns raw outputs. */
export function runRaw(m: Loaded, inputs: Value[]): Value[] {
  if (m.manifest.stream) bad(`${m.manifest.source}: this module was compiled with --stream; feed it a sequence (runStream / picojoule run --stream)`);
  writeInputs(m, inputs);
  (m.instance.exports.run as () => void)();
  return readOutputs(m);
}

function writeInputs(m: Loaded, inputs: Value[]): void {
  const buf = m.memory.buffer;
  m.manifest.inputs.forEach((io, i) => {
    const v = inputs[i];
    const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    if (bytes.length !== io.bytes) bad(`input '${io.name}' needs ${io.bytes} bytes, got ${bytes.length}`);
    new Uint8Array(buf, io.address, io.bytes).set(bytes);
  });
}

function readOutputs(m: Loaded): Value[] {
  const buf = m.memory.buffer;
  return m.manifest.outputs.map((io) => {
    const n = numel(io.shape);
    const src = io.dtype === "int8" ? new Int8Array(buf, io.address, n) : new Float32Array(buf, io.address, n);
    return makeValue(io.dtype === "int8" ? "int8" : "float32", io.shape, src);
  });
}

/**
 * Streams raw frames (one time step each, the module's input shape) through step() after
 * a reset(); returns, per output, the values it wrote and the steps at which it wrote them.
 */
export function runStreamRaw(m: Loaded, frames: Value[]): { outputs: Value[][]; steps: number[][] } {
  if (!m.manifest.stream) bad(`${m.manifest.source}: this module was not compiled with --stream; it has no step()`);
  const ex = m.instance.exports as Record<string, () => number>;
  ex.reset();
  const outputs = m.manifest.outputs.map(() => [] as Value[]), steps = m.manifest.outputs.map(() => [] as number[]);
  frames.forEach((f, t) => {
    (ex.input_ptr as unknown as (i: number) => number)(0); // announces the frame (step() refuses a stale one)
    writeInputs(m, [f]);
    const fired = ex.step();
    if (fired < 0) internal(`${m.manifest.source}: step() refused frame ${t}`);
    readOutputs(m).forEach((v, i) => {
      if (!(fired & (1 << i))) return;
      outputs[i].push({ ...v, data: v.data.slice() });
      steps[i].push(t);
    });
  });
  return { outputs, steps };
}

/** runStreamRaw on float frames, quantizing and dequantizing as the manifest says. */
export function runStream(m: Loaded, frames: Float32Array[]): { outputs: Float32Array[][]; steps: number[][] } {
  const io = m.manifest.inputs[0];
  const raw = frames.map((x) => (io.dtype !== "int8" ? makeValue("float32", io.shape, x) : makeValue("int8", io.shape, Array.from(x, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)))));
  const r = runStreamRaw(m, raw);
  return {
    steps: r.steps,
    outputs: r.outputs.map((vs, i) => {
      const o = m.manifest.outputs[i];
      return vs.map((v) => (o.dtype !== "int8" ? (v.data as Float32Array) : Float32Array.from(v.data, (q) => o.scale! * (q - o.zeroPoint!))));
    }),
  };
}

/** Runs one inference on float inputs, quantizing and dequantizing as the manifest says. */
export function runFloat(m: Loaded, inputs: Float32Array[]): Float32Array[] {
  const raw = m.manifest.inputs.map((io, i) => {
    const x = inputs[i];
    if (io.dtype !== "int8") return makeValue("float32", io.shape, x);
    return makeValue("int8", io.shape, Array.from(x, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)));
  });
  return runRaw(m, raw).map((v, i) => {
    const io = m.manifest.outputs[i];
    if (io.dtype !== "int8") return v.data as Float32Array;
    return Float32Array.from(v.data, (q) => io.scale! * (q - io.zeroPoint!));
  });
}
