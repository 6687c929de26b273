/**
 * Compile-and-run helpers for tests: compile an ONNX file (or an in-memory graph) through
 * the real pipeline, run the wasm in Node, and compare with the reference interpreter.
 */
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import type { Value } from "../../compiler/ir/graph.js";

export async function compileAndRun(model: string, inputs: Value[][], opts: CompileOptions = {}) {
  const c = await compileModel(model, opts);
  const m = await instantiate(c.wasm, c.manifest);
  const outputs = inputs.map((ins) => runRaw(m, ins));
  return { compiled: c, module: m, outputs };
}

/** Largest |a - b| / (atol + rtol * |b|) over all elements: <= 1 means within tolerance. */
export function worstRatio(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const r = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}
