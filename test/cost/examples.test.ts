// The done-when of the cost model: on every shipped example, in every arithmetic it ships
// in (float, int8, the Q4.4 LSTM) and streaming where the example streams, the compiler's
// analytic counts of every layer (compiler/cost: multiplies, bytes read, bytes written)
// equal the instrumented module's dynamic counts exactly, and the analytic MACs are the
// multiply term of the formulas (never more MACs than multiplies... except where two MACs
// share one i64 multiply, the int8 blocked convolution, which is checked per layer in
// test/cost/conv.test.ts).
import { describe, expect, it } from "vitest";
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { analyticVsDynamic, mismatches } from "../helpers/cost.js";

const EXAMPLES = ["cancer-mlp", "digits-cnn", "sunspots-lstm", "ecg-tcn"];

const variants = (ex: string): Array<[string, CompileOptions]> => [
  ["float", {}],
  ["int8", { quantize: "int8", calibrate: `examples/${ex}/calib.npy` }],
  ...(ex === "sunspots-lstm" ? [["Q4.4", { fixed: "Q4.4" }] as [string, CompileOptions]] : []),
  ...(ex === "ecg-tcn" ? [
    ["float, streaming", { stream: true }], ["int8, streaming", { stream: true, quantize: "int8", calibrate: `examples/${ex}/calib.npy` }],
    ["SOI k=2 hold, streaming", { stream: true, soi: { k: 2 } }],
  ] as Array<[string, CompileOptions]> : []),
];

describe("analytic == dynamic on every example", () => {
  for (const ex of EXAMPLES)
    for (const [name, opts] of variants(ex))
      it(`${ex}, ${name}`, async () => {
        const c = await compileModel(`examples/${ex}/model.onnx`, opts);
        const checks = await analyticVsDynamic(c, opts.stream ? { steps: 16 } : {});
        expect(mismatches(checks)).toEqual([]);
        expect(checks.filter((k) => k.kernels).length).toBeGreaterThan(1);
        expect(c.manifest.layers.every((l) => l.cost !== undefined)).toBe(true);
      });
});
