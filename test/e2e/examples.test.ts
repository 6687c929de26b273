// The shipped examples end to end, the figures issue #2 asks for:
// - float wasm matches onnxruntime-node within 1e-4 relative (per inference:
//   max |wasm - ort| <= 1e-4 * max |ort|, i.e. relative to the output vector's scale, so
//   logits near zero are not judged on their own tiny magnitude);
// - classification examples (integer labels in y_test.npy): int8 loses at most 1 percentage
//   point of top-1 accuracy against float (issue #2);
// - regression examples (float targets): int8's RMSE is within 3% of float's (issue #3);
// - int8 wasm outputs equal the integer interpreter's bit for bit;
// - selftest() returns 0 in V8 and in wasm-interp; the arena is within 5% of its lower bound.
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runFloat, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor } from "../../compiler/ir/graph.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { runOrt } from "../helpers/ort.js";
import { interpSelftest, wasmValidate } from "../helpers/wabt.js";

const EXAMPLES = readdirSync("examples").filter((d) => existsSync(join("examples", d, "model.onnx"))).sort();

function argmax(y: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[b]) b = i;
  return b;
}

/** The example's figure of merit: top-1 accuracy for integer labels, RMSE for float targets. */
interface Metric { name: string; of(outs: Float32Array[]): number; fmt(v: number): string }
function metricOf(dir: string): Metric {
  const y = readNpy(join(dir, "y_test.npy"));
  const t = Array.from(y.data, Number);
  if (y.dtype !== "float32") {
    return { name: "accuracy", fmt: (v) => `${(100 * v).toFixed(2)}%`, of: (outs) => outs.filter((o, i) => argmax(o) === t[i]).length / outs.length };
  }
  const per = t.length / y.shape[0];
  return {
    name: "RMSE", fmt: (v) => v.toFixed(4),
    of: (outs) => Math.sqrt(outs.reduce((a, o, i) => a + o.reduce((b, v, k) => b + (v - t[i * per + k]) ** 2, 0), 0) / t.length),
  };
}

describe.each(EXAMPLES)("example %s", (name) => {
  const dir = join("examples", name);
  const model = join(dir, "model.onnx");
  const metric = metricOf(dir);
  let floatMetric = NaN;

  it("float: matches onnxruntime-node within 1e-4 relative; selftest passes in both engines", async () => {
    const c = await compileModel(model, { selftest: true });
    const m = await instantiate(c.wasm, c.manifest);
    const io = c.manifest.inputs[0];
    const xs = samplesFromShape(io.name, io.shape, readNpy(join(dir, "x_test.npy")), "x_test.npy", "input");
    let worst = 0;
    const outs: Float32Array[] = [];
    for (let i = 0; i < xs.length; i++) {
      const got = runFloat(m, [xs[i]])[0];
      const ort = (await runOrt(model, { [io.name]: makeValue("float32", io.shape, xs[i]) }))[c.manifest.outputs[0].name].data;
      let dmax = 0, omax = 0;
      for (let k = 0; k < got.length; k++) { dmax = Math.max(dmax, Math.abs(got[k] - ort[k])); omax = Math.max(omax, Math.abs(ort[k])); }
      worst = Math.max(worst, dmax / omax);
      outs.push(got);
    }
    floatMetric = metric.of(outs);
    console.log(`${name} float: ${metric.name} ${metric.fmt(floatMetric)}, worst relative deviation from onnxruntime ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    expect(interpSelftest(c.wasm)).toBe(0);
    expect(wasmValidate(c.wasm).ok).toBe(true);
    expect(c.manifest.memory.arenaBytes).toBeLessThanOrEqual(1.05 * c.manifest.memory.arenaLowerBound);
  });

  it("int8: within 1 point of float accuracy (or 3% of its RMSE), bit-exact with the integer interpreter, selftest passes in both engines", async () => {
    const c = await compileModel(model, { quantize: "int8", calibrate: join(dir, "calib.npy"), selftest: true });
    const m = await instantiate(c.wasm, c.manifest);
    const io = c.manifest.inputs[0];
    const xs = samplesFromShape(io.name, io.shape, readNpy(join(dir, "x_test.npy")), "x_test.npy", "input");
    const v = metric.of(xs.map((x) => runFloat(m, [x])[0]));
    console.log(`${name} int8: ${metric.name} ${metric.fmt(v)} (float ${metric.fmt(floatMetric)}), wasm ${c.manifest.memory.wasmBytes} B, arena ${c.manifest.memory.arenaBytes} B (bound ${c.manifest.memory.arenaLowerBound} B)`);
    expect(floatMetric).toBeGreaterThan(0);
    if (metric.name === "accuracy") expect(v).toBeGreaterThanOrEqual(floatMetric - 0.01);
    else expect(v).toBeLessThanOrEqual(1.03 * floatMetric);
    // bit-exactness on a slice of the test set (the interpreter is slow on purpose: it is simple)
    const q = tensor(c.graph, io.name).quant!;
    for (const x of xs.slice(0, 40)) {
      const qx = makeValue("int8", io.shape, Array.from(x, (v) => quantizeValue(v, q.scale[0], q.zeroPoint[0])));
      const want = interpret(c.graph, { [io.name]: qx })[c.graph.outputs[0]];
      expect(Array.from(runRaw(m, [qx])[0].data)).toEqual(Array.from(want.data));
    }
    expect((m.instance.exports.selftest as () => number)()).toBe(0);
    expect(interpSelftest(c.wasm)).toBe(0);
    expect(wasmValidate(c.wasm).ok).toBe(true);
    expect(c.manifest.memory.arenaBytes).toBeLessThanOrEqual(1.05 * c.manifest.memory.arenaLowerBound);
  });
});
