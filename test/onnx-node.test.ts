// The ONNX backend node tests (Debian's libonnx-testdata) for every operator picojoule runs
// on the device: each test's model is compiled in float mode, run as wasm in Node, and
// compared with the expected outputs shipped with the test.
//
// Tolerance: |got - expected| <= 1e-5 + 1e-3 * |expected|. rtol 1e-3 is the ONNX backend
// runner's default; the absolute 1e-5 (instead of its 1e-7) absorbs float32 summation-order
// differences on outputs that cancel to near zero (our kernels accumulate in f32 in a fixed
// order, the expected values come from numpy in float64 rounded to float32).
//
// Selection: every test whose model uses only device operators (see ops/table.ts) and
// Constant nodes. The skip list below names each test we do not run and why; the suite
// also asserts that at least 95% of the selected tests pass, counting skips as failures.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { SUPPORTED } from "../compiler/ops/table.js";
import { listNodeTests, loadNodeCase, NODE_TEST_ROOT, nodeTestsAvailable, type NodeCase } from "./helpers/onnx-node.js";
import { compileAndRun, worstRatio } from "./helpers/run.js";
import type { Value } from "../compiler/ir/graph.js";
import type { PicoError } from "../compiler/util/errors.js";

const ATOL = 1e-5, RTOL = 1e-3;

/** Tests of supported operators that picojoule does not run, with the reason. */
export const SKIP: Record<string, string> = {
  test_dropout_default_mask: "mask output: a training artifact; inference Dropout has one output",
  test_dropout_default_mask_ratio: "mask output: a training artifact; inference Dropout has one output",
  test_training_dropout: "training mode (random masks); picojoule compiles inference only",
  test_training_dropout_default: "training mode (random masks); picojoule compiles inference only",
  test_training_dropout_default_mask: "training mode (random masks); picojoule compiles inference only",
  test_training_dropout_mask: "training mode (random masks); picojoule compiles inference only",
  test_training_dropout_zero_ratio: "training mode; picojoule compiles inference only",
  test_training_dropout_zero_ratio_mask: "training mode; picojoule compiles inference only",
  test_identity_opt: "optional-typed input (ONNX Optional): not a tensor",
  test_identity_sequence: "sequence-typed input (ONNX Sequence): not a tensor",
  test_reshape_allowzero_reordered: "zero-sized tensor (a dimension of 0): nothing to compute on a device",
  test_clip_default_int8_inbounds: "int8 tensor input: device models take float32 (int8 comes from quantization)",
  test_clip_default_int8_max: "int8 tensor input: device models take float32 (int8 comes from quantization)",
  test_clip_default_int8_min: "int8 tensor input: device models take float32 (int8 comes from quantization)",
};

function decode(name: string) {
  return onnxProto.onnx.ModelProto.decode(readFileSync(join(NODE_TEST_ROOT, name, "model.onnx")));
}
function opsOf(name: string): string[] {
  return [...new Set((decode(name).graph?.node ?? []).map((n) => n.opType as string))];
}
function inputNames(name: string): string[] {
  const g = decode(name).graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  return (g.input ?? []).map((i) => i.name as string).filter((n) => !inits.has(n));
}

const selected = nodeTestsAvailable()
  ? listNodeTests().filter((name) => {
    const ops = opsOf(name);
    return ops.length > 0 && ops.every((op) => op === "Constant" || SUPPORTED.includes(op)) && ops.some((op) => op !== "Constant");
  })
  : [];

/**
 * Node tests feed every argument as a graph input, including ones a device model holds as
 * constants (shapes, axes, Clip bounds, pads). Such inputs are bound to their test values at
 * compile time: integer inputs up front, and any other input the compiler reports as needed
 * at compile time (PicoError.constantNeeded). Bound inputs must be equal in every data set.
 */
async function compileBinding(name: string, c: NodeCase) {
  const names = inputNames(name);
  const bound = new Set(names.filter((_, i) => c.sets[0].inputs[i].dtype !== "float32"));
  for (;;) {
    const constants: Record<string, Value> = {};
    for (const n of bound) {
      const i = names.indexOf(n);
      const vals = c.sets.map((s) => Array.from(s.inputs[i].data).join(","));
      if (vals.some((v) => v !== vals[0])) throw new Error(`input '${n}' differs between data sets; cannot bind it`);
      constants[n] = c.sets[0].inputs[i];
    }
    const feeds = c.sets.map((s) => s.inputs.filter((_, i) => !bound.has(names[i])));
    try {
      return await compileAndRun(c.model, feeds, { constants });
    } catch (e) {
      const need = (e as PicoError).constantNeeded;
      if (!need || bound.has(need) || !names.includes(need)) throw e;
      bound.add(need);
    }
  }
}

describe.runIf(nodeTestsAvailable())("ONNX backend node tests", () => {
  let passed = 0;
  for (const name of selected) {
    const run = SKIP[name] ? it.skip : it;
    run(name, async () => {
      const c = loadNodeCase(name);
      const r = await compileBinding(name, c);
      c.sets.forEach((set, k) => {
        set.outputs.forEach((want, i) => {
          const got = r.outputs[k][i];
          expect(got.shape, `output ${i} shape`).toEqual(want.shape);
          expect(worstRatio(got.data, want.data, ATOL, RTOL), `output ${i} of data set ${k}`).toBeLessThanOrEqual(1);
        });
      });
      passed++;
    });
  }
  it("selects the node tests of every supported operator and passes at least 95% of them", () => {
    expect(selected.length).toBeGreaterThan(0);
    const skipped = selected.filter((n) => SKIP[n]).length;
    console.log(`ONNX node tests: ${selected.length} selected, ${skipped} skipped, ${passed} passed in this run`);
    expect(Object.keys(SKIP).filter((n) => !selected.includes(n)), "skip entries for tests that are not selected").toEqual([]);
    expect((selected.length - skipped) / selected.length).toBeGreaterThanOrEqual(0.95);
  });
});
