/**
 * model.h: the manifest's facts as C preprocessor constants for a WAMR host program
 * (addresses and sizes of inputs and outputs, quantization, memory), so the host can
 * write inputs into the module's linear memory and read outputs without parsing JSON.
 */
import type { Manifest, IOInfo } from "./manifest.js";

function macro(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, "_").toUpperCase();
}

export function emitHeader(m: Manifest): string {
  const lines = [
    `/* ${m.source} compiled by picojoule ${m.picojoule} (${m.mode}). Generated: do not edit. */`,
    "#ifndef PICOJOULE_MODEL_H",
    "#define PICOJOULE_MODEL_H",
    "",
    "/* Exports: memory, run(), input_ptr(i), output_ptr(i), input_bytes(i), output_bytes(i)" + (m.exports.includes("selftest") ? ", selftest() (0 = matches the reference)" : "") + " */",
    `#define PJ_ARENA_BASE ${m.memory.arenaBase}u`,
    `#define PJ_ARENA_BYTES ${m.memory.arenaBytes}u`,
    `#define PJ_CONSTANT_BYTES ${m.memory.constantBytes}u`,
    `#define PJ_DATA_END ${m.memory.dataEnd}u`,
    `#define PJ_HEAP_BASE ${m.memory.heapBase}u`,
    `#define PJ_MEMORY_PAGES ${m.memory.pages}u`,
    `#define PJ_MACS ${m.totals.macs}u`,
    `#define PJ_NUM_INPUTS ${m.inputs.length}`,
    `#define PJ_NUM_OUTPUTS ${m.outputs.length}`,
  ];
  // int16 inputs/outputs (Q formats of 9 to 16 bits) add an _IS_INT16 flag to every tensor;
  // headers of other modules stay as they were
  const int16 = [...m.inputs, ...m.outputs].some((t) => t.dtype === "int16");
  const io = (kind: string, list: IOInfo[]) => list.forEach((t, i) => {
    const p = `PJ_${kind}${i}`;
    lines.push("", `/* ${kind.toLowerCase()} ${i}: '${t.name}' ${t.dtype} [${t.shape.join(", ")}] */`);
    lines.push(`#define ${p}_ADDR ${t.address}u`, `#define ${p}_BYTES ${t.bytes}u`, `#define ${p}_ELEMS ${t.shape.reduce((a, b) => a * b, 1)}u`);
    lines.push(`#define ${p}_IS_INT8 ${t.dtype === "int8" ? 1 : 0}`);
    if (int16) lines.push(`#define ${p}_IS_INT16 ${t.dtype === "int16" ? 1 : 0}`);
    if (t.scale !== undefined) lines.push(`#define ${p}_SCALE ${t.scale.toPrecision(9)}f`, `#define ${p}_ZERO_POINT (${t.zeroPoint})`);
    lines.push(`#define PJ_${macro(kind)}_${macro(t.name)} ${i}`);
  });
  io("INPUT", m.inputs);
  io("OUTPUT", m.outputs);
  const ck = m.intermittent;
  if (ck) {
    lines.push("", `/* --intermittent (${ck.grain}): the host keeps [PJ_NV_BASE, PJ_NV_BASE + PJ_NV_BYTES) across resets. */`);
    lines.push(`/* ${ck.protocol} */`);
    lines.push(`#define PJ_NV_BASE ${ck.region.base}u`, `#define PJ_NV_BYTES ${ck.region.bytes}u`, `#define PJ_RECORD_ADDR ${ck.region.recordAddress}u`, `#define PJ_RECORD_BYTES ${ck.region.recordBytes}u`, `#define PJ_SLOT_BYTES ${ck.region.slotBytes}u`);
    lines.push(`#define PJ_TASKS ${ck.tasks.length}`, `#define PJ_PIECES ${ck.pieces.length}`, `#define PJ_WHOLES ${ck.wholes.length}`);
    lines.push(`/* the region's layout: 1 when every tensor has bytes of its own (deferred commits are never forced) */`, `#define PJ_NV_DISTINCT ${ck.layout === "distinct" ? 1 : 0}`);
    lines.push(`/* bytes the host writes before begin(): every input */`, `#define PJ_INPUTS_BYTES ${m.inputs.reduce((a, t) => a + t.bytes, 0)}u`);
    lines.push("/* per task: its layer, its MACs, and the latest earlier task that reads bytes it writes (-1: none; commit before running it when the last commit is not later) */");
    lines.push(`#define PJ_TASK_LAYER { ${ck.tasks.map((t) => t.layer).join(", ")} }`, `#define PJ_TASK_MACS { ${ck.tasks.map((t) => t.macs).join(", ")} }`, `#define PJ_TASK_WAR { ${ck.tasks.map((t) => t.war).join(", ")} }`);
  }
  lines.push("", "#endif", "");
  return lines.join("\n");
}
