// Memory planning: on every example and torch fixture, no two tensors that are alive at the
// same step share a byte, views share their input's slot, the arena is never below the
// lower bound (which would mean the bound or the plan is wrong) and stays within 5% of it.
import { describe, expect, it } from "vitest";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { importOnnxFile } from "../../compiler/onnx/import.js";
import { foldBatchNorm } from "../../compiler/passes/fold-batchnorm.js";
import { fuseActivation } from "../../compiler/passes/fuse-activation.js";
import { planMemory } from "../../compiler/passes/plan-memory.js";
import { opDef } from "../../compiler/ops/table.js";

const MODELS = [
  ...readdirSync("examples").filter((d) => existsSync(join("examples", d, "model.onnx"))).map((d) => join("examples", d, "model.onnx")),
  ...readdirSync("test/fixtures/torch").filter((f) => f.endsWith(".onnx")).map((f) => join("test/fixtures/torch", f)),
];

describe.each(MODELS)("plan-memory on %s", (file) => {
  it("is a valid plan within 5% of the lower bound", () => {
    const g = fuseActivation(foldBatchNorm(importOnnxFile(file)));
    const plan = planMemory(g);
    const slots = [...plan.slots.entries()];
    for (let i = 0; i < slots.length; i++) {
      for (let j = i + 1; j < slots.length; j++) {
        const [na, a] = slots[i], [nb, b] = slots[j];
        const liveTogether = a.first <= b.last && b.first <= a.last;
        const overlap = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
        expect(liveTogether && overlap, `${na} and ${nb} overlap while both are alive`).toBe(false);
      }
    }
    for (const node of g.nodes) {
      if (opDef(node.op).alias) expect(plan.offsets.get(node.outputs[0])).toBe(plan.offsets.get(node.inputs[0]));
    }
    expect(plan.arenaBytes).toBeGreaterThanOrEqual(plan.lowerBound);
    expect(plan.arenaBytes).toBeLessThanOrEqual(plan.lowerBound * 1.05);
  });
});
