// The WebAssembly module contract a WAMR host relies on (ARCHITECTURE.md): no imports, no
// memory.grow, memory capped at its initial size, the documented exports, valid without
// SIMD, deterministic output, and a self-test that returns 0 in V8 and in wasm-interp.
import { describe, expect, it } from "vitest";
import binaryen from "binaryen";
import { compileModel } from "../../compiler/pipeline.js";
import { writeModel, type ModelSpec } from "../helpers/build-onnx.js";
import { interpSelftest, wasmValidate } from "../helpers/wabt.js";
import { rng, uniform, randValue } from "../helpers/random.js";

function convChain(): ModelSpec {
  const r = rng(1);
  return {
    inputs: [{ name: "x", shape: [1, 2, 10, 10] }],
    outputs: ["y"],
    initializers: [
      { name: "W1", shape: [4, 2, 3, 3], data: uniform(r, 72, -0.5, 0.5) },
      { name: "B1", shape: [4], data: uniform(r, 4) },
      { name: "W2", shape: [3, 4, 3, 3], data: uniform(r, 108, -0.5, 0.5) },
    ],
    nodes: [
      { op: "Conv", inputs: ["x", "W1", "B1"], outputs: ["t"], attrs: { pads: [1, 1, 1, 1] } },
      { op: "Reshape", inputs: ["t", "shape"], outputs: ["t2"] },
      { op: "Reshape", inputs: ["t2", "shape2"], outputs: ["t3"] },
      { op: "Conv", inputs: ["t3", "W2"], outputs: ["y"], attrs: { strides: [2, 2] } },
    ],
  };
}

function withShapes(s: ModelSpec): ModelSpec {
  return {
    ...s,
    initializers: [...s.initializers!, { name: "shape", shape: [2], data: [1, -1], dtype: 7 }, { name: "shape2", shape: [4], data: [1, 4, 10, 10], dtype: 7 }],
  };
}

describe("module contract", () => {
  for (const quantize of ["none", "int8"] as const) {
    it(`${quantize}: imports, exports, memory, validation, both engines`, async () => {
      const model = writeModel(withShapes(convChain()));
      const r = rng(3);
      const calib = Array.from({ length: 4 }, () => ({ x: randValue(r, [1, 2, 10, 10]) }));
      const c = await compileModel(model, { quantize, calibrate: calib, selftest: true });
      const mod = await WebAssembly.compile(c.wasm as Uint8Array<ArrayBuffer>);
      expect(WebAssembly.Module.imports(mod)).toEqual([]);
      const exports = WebAssembly.Module.exports(mod).map((e) => e.name).sort();
      expect(exports).toEqual([...c.manifest.exports].sort());
      expect(c.source).not.toMatch(/memory\.grow/);
      const bm = binaryen.readBinary(c.wasm);
      const text = bm.emitText();
      bm.dispose();
      expect(text).not.toMatch(/memory\.grow/);
      expect(text).toMatch(new RegExp(`\\(memory \\$\\S+ ${c.manifest.memory.pages} ${c.manifest.memory.pages}\\)`));
      expect(wasmValidate(c.wasm)).toEqual({ ok: true, message: "" });
      const { instance } = await WebAssembly.instantiate(mod, {}).then((i) => ({ instance: i }));
      expect((instance.exports.selftest as () => number)()).toBe(0);
      expect(interpSelftest(c.wasm)).toBe(0);
      // views share their input's buffer: the arena holds x, t and y only
      expect(c.manifest.memory.arenaBytes).toBeLessThanOrEqual(c.manifest.memory.arenaLowerBound * 1.05);
      expect((instance.exports.__heap_base as WebAssembly.Global).value).toBe(c.manifest.memory.heapBase);
    });
  }

  it("is deterministic: identical inputs give byte-identical outputs", async () => {
    const model = writeModel(withShapes(convChain()));
    const a = await compileModel(model, { selftest: true });
    const b = await compileModel(model, { selftest: true });
    expect(Buffer.from(a.wasm).equals(Buffer.from(b.wasm))).toBe(true);
    expect(b.source).toBe(a.source);
  });
});
