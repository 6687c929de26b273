// The streaming examples (test/bench/stream.ts: examples/ecg-tcn, whose test windows join
// into one recording) end to end, the figures issue #3 asks for:
// - STMC int8: the module streamed over the whole test sequence equals the streaming
//   reference bit for bit, and its first window's steps equal the full-window integer
//   interpreter on the first test window (streaming changes nothing);
// - MACs per new sample: STMC at least 5x fewer than recomputing the model's window, with
//   a receptive field of at least 16 steps; SOI with k = 2 at least 1.5x fewer again;
// - SOI's metric change is measured (npm run bench prints it); here only that every SOI
//   variant still denoises (its RMSE stays below the noisy input's) and is no better than
//   the model it approximates, so a broken SOI that silently ran STMC would fail.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, tensor } from "../../compiler/ir/graph.js";
import { instantiate, runStreamRaw } from "../../compiler/runner.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { StepRunner } from "../../compiler/stream/interp.js";
import { STREAM_EXAMPLES, VARIANTS, recomputeFigures, rmse, streamVariant, testSequence, type StreamRun } from "../bench/stream.js";

describe.each(STREAM_EXAMPLES)("streaming example %s", (name) => {
  const dir = join("examples", name);
  const seq = testSequence(dir);

  it("STMC int8: streamed = streaming reference over the whole sequence, and = the full-window model on the first window", async () => {
    const r = await streamVariant(dir, seq, true, VARIANTS[0]);
    const c = r.compiled;
    const q = tensor(c.graph, c.graph.inputs[0]).quant!;
    const shape = c.manifest.inputs[0].shape;
    const frames = Array.from(seq.x, (v) => makeValue("int8", shape, [quantizeValue(v, q.scale[0], q.zeroPoint[0])]));
    const got = runStreamRaw(await instantiate(c.wasm, c.manifest), frames).outputs[0].map((v) => v.data[0]);
    const runner = new StepRunner(c.stepGraph!);
    expect(got).toEqual(frames.map((f) => runner.step(f).outputs[0].data[0]));
    const T = c.manifest.stream!.windowSteps;
    const first = makeValue("int8", tensor(c.graph, c.graph.inputs[0]).shape, frames.slice(0, T).map((f) => f.data[0]));
    expect(got.slice(0, T)).toEqual(Array.from(interpret(c.graph, { [c.graph.inputs[0]]: first })[c.graph.outputs[0]].data));
  });

  it("MACs per new sample: STMC >= 5x fewer than recomputing the window (receptive field >= 16); SOI k=2 >= 1.5x fewer again; SOI still denoises", async () => {
    const runs = new Map<string, StreamRun>();
    for (const v of VARIANTS) runs.set(v.label, await streamVariant(dir, seq, false, v));
    const stmc = runs.get("STMC")!;
    expect(recomputeFigures(stmc.compiled.floatGraph).receptiveField).toBeGreaterThanOrEqual(16);
    expect(stmc.windowMacs / stmc.macsPerStep).toBeGreaterThanOrEqual(5);
    const noisy = rmse(seq.x, seq.y);
    expect(stmc.rmse).toBeLessThan(noisy);
    for (const v of VARIANTS.filter((x) => x.soi)) {
      const r = runs.get(v.label)!;
      if (v.soi!.k === 2) expect(stmc.macsPerStep / r.macsPerStep, v.label).toBeGreaterThanOrEqual(1.5);
      expect(r.rmse, v.label).toBeLessThan(noisy);
      expect(r.rmse, v.label).toBeGreaterThan(stmc.rmse);
    }
  });
});
