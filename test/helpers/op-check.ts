/**
 * The two checks every operator test makes on a small model:
 * - float: the wasm output matches the reference interpreter, and the interpreter matches
 *   onnxruntime-node, both within FLOAT_TOL (f32 accumulation against f64 / ORT's order);
 * - int8: after calibration, the wasm output equals the integer interpreter's bit for bit on
 *   every test input (including inputs far outside the calibrated range, which saturate),
 *   and the dequantized result stays near the float reference (a sanity bound, not the
 *   definition).
 */
import { expect } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor, type Value } from "../../compiler/ir/graph.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { writeModel, type ModelSpec } from "./build-onnx.js";
import { runOrt } from "./ort.js";
import { worstRatio } from "./run.js";

/** f32 kernels vs f64 reference: sums of up to a few thousand products drift ~1e-6 relative. */
export const FLOAT_TOL = { atol: 1e-5, rtol: 1e-4 };

export async function checkFloat(spec: ModelSpec | string, feeds: Array<Record<string, Value>>, tol = FLOAT_TOL) {
  const model = typeof spec === "string" ? spec : writeModel(spec);
  const c = await compileModel(model, { selftest: true });
  const m = await instantiate(c.wasm, c.manifest);
  expect((m.instance.exports.selftest as () => number)()).toBe(0);
  for (const feed of feeds) {
    const ref = interpret(c.graph, feed);
    const got = runRaw(m, c.graph.inputs.map((n) => feed[n]));
    const ort = await runOrt(model, feed);
    c.graph.outputs.forEach((name, i) => {
      expect(got[i].shape).toEqual(ref[name].shape);
      expect(worstRatio(got[i].data, ref[name].data, tol.atol, tol.rtol), `wasm vs reference, output ${name}`).toBeLessThanOrEqual(1);
      expect(ort[name].shape).toEqual(ref[name].shape);
      expect(worstRatio(ref[name].data, ort[name].data, tol.atol, tol.rtol), `reference vs onnxruntime, output ${name}`).toBeLessThanOrEqual(1);
    });
  }
  return c;
}

export interface Int8Result {
  /** Largest |dequantized int8 - float reference| over outputs and feeds, in output quantization steps. */
  worstSteps: number;
}

export async function checkInt8(spec: ModelSpec | string, calib: Array<Record<string, Value>>, feeds: Array<Record<string, Value>>): Promise<Int8Result> {
  const model = typeof spec === "string" ? spec : writeModel(spec);
  const c = await compileModel(model, { quantize: "int8", calibrate: calib, selftest: true });
  const m = await instantiate(c.wasm, c.manifest);
  expect((m.instance.exports.selftest as () => number)()).toBe(0);
  let worstSteps = 0;
  for (const feed of feeds) {
    const qfeed: Record<string, Value> = {};
    for (const name of c.graph.inputs) {
      const q = tensor(c.graph, name).quant!;
      qfeed[name] = makeValue("int8", feed[name].shape, Array.from(feed[name].data, (x) => quantizeValue(x, q.scale[0], q.zeroPoint[0])));
    }
    const ref = interpret(c.graph, qfeed);
    const got = runRaw(m, c.graph.inputs.map((n) => qfeed[n]));
    const fref = interpret(c.floatGraph, feed);
    c.graph.outputs.forEach((name, i) => {
      expect(got[i].dtype).toBe("int8");
      expect(Array.from(got[i].data), `wasm vs integer interpreter, output ${name}`).toEqual(Array.from(ref[name].data));
      const q = tensor(c.graph, name).quant!;
      for (let k = 0; k < got[i].data.length; k++) {
        const deq = q.scale[0] * (got[i].data[k] - q.zeroPoint[0]);
        worstSteps = Math.max(worstSteps, Math.abs(deq - fref[name].data[k]) / q.scale[0]);
      }
    });
  }
  return { worstSteps };
}
