/**
 * Runs a compiled model in Node's WebAssembly engine, the way a host on a device would:
 * instantiate with no imports, write inputs at their addresses, call run(), read outputs.
 * Float inputs are quantized with the input's scale and zero point (the same rounding as
 * the compiler uses) and int8 outputs are dequantized, so the CLI always speaks float32.
 * int16 tensors are those of Q formats of 9 to 16 bits (--fixed, model.json's mode "Qm.f"):
 * a float input becomes sat(trunc(x 2^f)), the conversion of the Q mode's constants
 * (qFromReal), and an output q reads as q 2^-f. (Q formats of at most 8 bits keep int8
 * storage and the int8 conversion, rounding half away from zero.)
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { bad, internal } from "./util/errors.js";
import { makeValue, numel, type Value } from "./ir/graph.js";
import type { IOInfo, Manifest } from "./emit/manifest.js";
import { quantizeValue } from "./passes/quantize.js";
import { qFmt, qFromReal, type QFmt } from "./ir/fixedpoint.js";

export interface Loaded {
  manifest: Manifest;
  instance: WebAssembly.Instance;
  memory: WebAssembly.Memory;
}

/** `imports`: for modules with offloaded layers, the host's functions (or a function of the manifest giving them). */
export async function loadCompiled(path: string, imports: WebAssembly.Imports | ((m: Manifest) => WebAssembly.Imports) = {}): Promise<Loaded> {
  if (!existsSync(path)) bad(`${path}: no such file or folder`);
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  const wasmFile = statSync(path).isDirectory() ? join(path, "model.wasm") : path;
  const jsonFile = join(dir, "model.json");
  if (!existsSync(wasmFile)) bad(`${path}: no model.wasm (compile the model first: picojoule compile model.onnx -o ${dir})`);
  if (!existsSync(jsonFile)) bad(`${path}: no model.json beside model.wasm; it describes the inputs and outputs`);
  let manifest: Manifest;
  try { manifest = JSON.parse(readFileSync(jsonFile, "utf8")); } catch (e) { bad(`${jsonFile}: not valid JSON (${(e as Error).message})`); }
  return instantiate(readFileSync(wasmFile), manifest!, wasmFile, typeof imports === "function" ? imports(manifest!) : imports);
}

/** `imports`: none for a shipped module; the profiler's instrumented builds take one (targets/profile). */
export async function instantiate(wasm: Uint8Array, manifest: Manifest, name = "model.wasm", imports: WebAssembly.Imports = {}): Promise<Loaded> {
  let instance: WebAssembly.Instance;
  try {
    const mod = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    instance = await WebAssembly.instantiate(mod, imports);
  } catch (e) {
    bad(`${name}: not a loadable WebAssembly module (${(e as Error).message})`);
  }
  const memory = instance!.exports.memory as WebAssembly.Memory;
  return { manifest, instance: instance!, memory };
}

/** Runs one inference on raw tensors (int8 or int16 for quantized models) and returns raw outputs. */
export function runRaw(m: Loaded, inputs: Value[]): Value[] {
  if (m.manifest.stream) bad(`${m.manifest.source}: this module was compiled with --stream; feed it a sequence (runStream / picojoule run --stream)`);
  writeInputs(m, inputs);
  (m.instance.exports.run as () => void)();
  return readOutputs(m);
}

/** Writes raw inputs at their addresses in the module's memory. */
export function writeInputs(m: Pick<Loaded, "manifest" | "memory">, inputs: Value[]): void {
  const buf = m.memory.buffer;
  m.manifest.inputs.forEach((io, i) => {
    const v = inputs[i];
    const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
    if (bytes.length !== io.bytes) bad(`input '${io.name}' needs ${io.bytes} bytes, got ${bytes.length}`);
    new Uint8Array(buf, io.address, io.bytes).set(bytes);
  });
}

/** The raw outputs, as views of the module's memory. */
export function readOutputs(m: Pick<Loaded, "manifest" | "memory">): Value[] {
  const buf = m.memory.buffer;
  return m.manifest.outputs.map((io) => {
    const n = numel(io.shape);
    if (io.dtype === "int8") return makeValue("int8", io.shape, new Int8Array(buf, io.address, n));
    if (io.dtype === "int16") return makeValue("int16", io.shape, new Int16Array(buf, io.address, n));
    return makeValue("float32", io.shape, new Float32Array(buf, io.address, n));
  });
}

/** The Q format of a module whose tensors are int16 (model.json's mode "Qm.f"). */
function int16Format(m: Manifest, io: IOInfo): QFmt {
  const mt = /^Q(\d+)\.(\d+)$/.exec(m.mode);
  if (!mt) bad(`${m.source}: '${io.name}' is int16 but the module's mode is ${m.mode}, not a Q format`);
  return qFmt(Number(mt![1]), Number(mt![2]));
}

/** A float input in the raw form the module reads (see the file comment). */
export function toRaw(m: Manifest, io: IOInfo, x: Float32Array): Value {
  if (io.dtype === "int8") return makeValue("int8", io.shape, Array.from(x, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)));
  if (io.dtype === "int16") {
    const F = int16Format(m, io);
    const nan = x.findIndex(Number.isNaN);
    if (nan >= 0) bad(`input '${io.name}' holds NaN at element ${nan}; it has no ${m.mode} value`);
    return makeValue("int16", io.shape, Array.from(x, (v) => qFromReal(v, F)));
  }
  return makeValue("float32", io.shape, x);
}

/** A raw output as float32 values. */
export function fromRaw(io: IOInfo, v: Value): Float32Array {
  if (io.dtype !== "int8" && io.dtype !== "int16") return v.data as Float32Array;
  return Float32Array.from(v.data, (q) => io.scale! * (q - io.zeroPoint!));
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

/** One step() on a float frame, continuing the stream (call reset() first to start one); returns step()'s mask. */
export function stepFloat(m: Loaded, frame: Float32Array): number {
  const ex = m.instance.exports as Record<string, (i?: number) => number>;
  ex.input_ptr(0);
  writeInputs(m, [toRaw(m.manifest, m.manifest.inputs[0], frame)]);
  return ex.step();
}

/** runStreamRaw on float frames, quantizing and dequantizing as the manifest says. */
export function runStream(m: Loaded, frames: Float32Array[]): { outputs: Float32Array[][]; steps: number[][] } {
  const io = m.manifest.inputs[0];
  const raw = frames.map((x) => toRaw(m.manifest, io, x));
  const r = runStreamRaw(m, raw);
  return {
    steps: r.steps,
    outputs: r.outputs.map((vs, i) => vs.map((v) => fromRaw(m.manifest.outputs[i], v))),
  };
}

/** Runs one inference on float inputs, quantizing and dequantizing as the manifest says. */
export function runFloat(m: Loaded, inputs: Float32Array[]): Float32Array[] {
  const raw = m.manifest.inputs.map((io, i) => toRaw(m.manifest, io, inputs[i]));
  return runRaw(m, raw).map((v, i) => fromRaw(m.manifest.outputs[i], v));
}
