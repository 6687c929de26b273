/**
 * Reading and writing NumPy `.npy` files (format versions 1 to 3), the exchange format of
 * the CLI: calibration sets, inputs and outputs. Only the numeric dtypes picojoule needs
 * are accepted; anything else (object arrays, Fortran order, big-endian) is refused with an
 * error naming the file and what was found, rather than being silently converted.
 */
import { readFileSync } from "node:fs";
import { bad } from "./errors.js";

export type NpyDType = "float32" | "float64" | "int8" | "uint8" | "int16" | "int32" | "int64" | "bool";
export type NpyData = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array | BigInt64Array;

export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

const DESCR: Record<string, NpyDType> = {
  "<f4": "float32", "<f8": "float64", "|i1": "int8", "|u1": "uint8", "<i2": "int16",
  "<i4": "int32", "<i8": "int64", "|b1": "bool",
};
const DESCR_OF: Record<NpyDType, string> = Object.fromEntries(
  Object.entries(DESCR).map(([k, v]) => [v, k]),
) as Record<NpyDType, string>;

const MAGIC = "\x93NUMPY";

export function parseNpy(buf: Uint8Array, file = "<buffer>"): NpyArray {
  const magic = String.fromCharCode(...buf.subarray(0, 6));
  if (buf.length < 10 || magic !== MAGIC) bad(`${file}: not a .npy file (missing \\x93NUMPY magic)`);
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number, start: number;
  if (major === 1) { headerLen = dv.getUint16(8, true); start = 10; }
  else if (major === 2 || major === 3) { headerLen = dv.getUint32(8, true); start = 12; }
  else bad(`${file}: unsupported .npy format version ${major}`);
  const header = new TextDecoder().decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeTxt = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeTxt === undefined) bad(`${file}: malformed .npy header`);
  const dtype = DESCR[descr!];
  if (!dtype) bad(`${file}: unsupported .npy dtype '${descr}' (supported: float32, float64, int8, uint8, int16, int32, int64, bool; little-endian)`);
  if (fortran === "True") bad(`${file}: Fortran-ordered .npy arrays are not supported; save with numpy.ascontiguousarray`);
  const shape = shapeTxt!.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = start + headerLen;
  const bytes = buf.slice(off);
  const elt = { float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, int32: 4, int64: 8, bool: 1 }[dtype];
  if (bytes.length < count * elt) bad(`${file}: truncated .npy: header says ${shape.join("x")} ${dtype} but only ${bytes.length} data bytes`);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * elt);
  const data: NpyData = {
    float32: () => new Float32Array(ab), float64: () => new Float64Array(ab), int8: () => new Int8Array(ab),
    uint8: () => new Uint8Array(ab), bool: () => new Uint8Array(ab), int16: () => new Int16Array(ab),
    int32: () => new Int32Array(ab), int64: () => new BigInt64Array(ab),
  }[dtype]();
  return { dtype, shape, data };
}

export function readNpy(file: string): NpyArray {
  let buf: Buffer;
  try { buf = readFileSync(file); } catch (e) { bad(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`); }
  return parseNpy(buf!, file);
}

export function encodeNpy(arr: NpyArray): Uint8Array {
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  let header = `{'descr': '${DESCR_OF[arr.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const head = new Uint8Array(10 + header.length);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(head.buffer).setUint16(8, header.length, true);
  head.set(new TextEncoder().encode(header), 10);
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** The data as float32 (bad input if it holds NaN or Inf). */
export function npyToFloat32(arr: NpyArray, file: string): Float32Array {
  const out = new Float32Array(arr.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = Number(arr.data[i]);
    if (!Number.isFinite(v)) bad(`${file}: element ${i} is ${v}; inputs must be finite`);
    out[i] = v;
  }
  return out;
}
