/**
 * `picojoule inspect`: a per-layer table (op, shapes, parameters, MACs, parameter bytes)
 * and the memory plan, for an .onnx file (imported and lowered as compile would, without
 * running asc) or for a compiled folder (read from its model.json).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { bad } from "../util/errors.js";
import { importAndLower } from "../pipeline.js";
import { planMemory } from "../passes/plan-memory.js";
import { layerTable, type LayerInfo, type Manifest } from "../emit/manifest.js";

function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i >= 4 ? c.padStart(w[i]) : c.padEnd(w[i]))).join("  ").trimEnd()).join("\n");
}

/** A MAC count that may be an average over steps: whole numbers as they are, else one decimal. */
export function fmtMacs(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function layerRows(layers: LayerInfo[]): string {
  const streaming = layers.some((l) => l.period !== undefined);
  const rows = [["layer", "op", "input", "output", "params", "MACs", "bytes", "live arena", ...(streaming ? ["every"] : [])]];
  for (const l of layers) {
    rows.push([l.name, l.op + (l.int8 ? " (int8)" : ""), l.inputs.map((s) => s.join("x")).join(", "), l.output.join("x"), String(l.params), String(l.macs), String(l.paramBytes), String(l.liveBytes), ...(streaming ? [`${l.period} step(s)`] : [])]);
  }
  const sum = (k: "params" | "macs" | "paramBytes") => String(layers.reduce((a, l) => a + l[k], 0));
  rows.push(["total", "", "", "", sum("params"), sum("macs"), sum("paramBytes"), String(Math.max(0, ...layers.map((l) => l.liveBytes))), ...(streaming ? [""] : [])]);
  return table(rows);
}

export function inspectModel(path: string, shapes?: Record<string, number[]>): string {
  if (!existsSync(path)) bad(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const jf = join(path, "model.json");
    if (!existsSync(jf)) bad(`${path}: no model.json (not a compiled picojoule folder)`);
    const m: Manifest = JSON.parse(readFileSync(jf, "utf8"));
    const io = (l: Manifest["inputs"]) => l.map((t) => `${t.name} ${t.dtype} ${t.shape.join("x")}${t.scale !== undefined ? ` (scale ${t.scale.toPrecision(4)}, zero point ${t.zeroPoint})` : ""}`).join("; ");
    return [
      `${m.source} compiled by picojoule ${m.picojoule} (${m.mode})`,
      `inputs: ${io(m.inputs)}`, `outputs: ${io(m.outputs)}`, "",
      layerRows(m.layers), "",
      `arena ${m.memory.arenaBytes} B (lower bound ${m.memory.arenaLowerBound} B), constants ${m.memory.constantBytes} B, wasm ${m.memory.wasmBytes} B, memory ${m.memory.pages} page(s)`,
      ...(m.stream ? [`streaming: ${fmtMacs(m.stream.macsPerStep)} MACs per step on average, ${m.stream.peakMacsPerStep} at the busiest step; recomputing the ${m.stream.windowSteps}-step window for each new sample would take ${m.stream.windowMacs}`] : []),
      ...(m.soi ? [`SOI: every ${m.soi.k} steps (${m.soi.mode}) from '${m.soi.split}'; deep layers ${m.soi.deep.join(", ")}; rejoining at ${m.soi.rejoins.join(", ")}`] : []),
    ].join("\n");
  }
  const g = importAndLower(path, { shapes });
  const plan = planMemory(g);
  return [
    `${path}: opset ${g.opset}, float32 (after pad and batchnorm folding and activation fusion)`,
    `inputs: ${g.inputs.map((n) => `${n} ${g.tensors.get(n)!.shape.join("x")}`).join("; ")}`,
    `outputs: ${g.outputs.map((n) => `${n} ${g.tensors.get(n)!.shape.join("x")}`).join("; ")}`, "",
    layerRows(layerTable(g, plan)), "",
    `arena ${plan.arenaBytes} B (lower bound ${plan.lowerBound} B)`,
  ].join("\n");
}
