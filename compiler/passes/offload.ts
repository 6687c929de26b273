/**
 * --offload layer=accelerator: marks layers to run on an accelerator the host provides
 * (emit/offload.ts turns them into calls of imported host functions; targets/offload/host.ts
 * answers those calls with the simulators). Preserves the graph; only node.attrs.offload is
 * set. Checked here, with one-line errors naming the layer: the layer exists, the
 * accelerator is known, and it can take the layer:
 *   fpga-lstm  a forward LSTM in Q-format fixed point (--fixed Qm.f, 2 to 16 bits): the
 *              ElasticAI cell's arithmetic (targets/sim/fpga-lstm.ts)
 *   rram       a float fully connected layer (Gemm or MatMul with constant weights): an
 *              analog crossbar takes real weights (targets/sim/rram.ts)
 * Streaming modules are refused: an accelerator call per layer and step is not modelled.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph } from "../ir/graph.js";
import { where } from "../ops/util.js";

export const ACCELERATORS = ["fpga-lstm", "rram"] as const;
export type Accelerator = (typeof ACCELERATORS)[number];

/** 'name=kind' pairs into a map; names may contain '=' only before the last one. */
export function parseOffload(list: string[]): Record<string, Accelerator> {
  const out: Record<string, Accelerator> = {};
  for (const s of list) {
    const i = s.lastIndexOf("=");
    if (i <= 0) bad(`--offload ${s}: expected layer=accelerator (accelerators: ${ACCELERATORS.join(", ")})`);
    const kind = s.slice(i + 1);
    if (!(ACCELERATORS as readonly string[]).includes(kind)) bad(`--offload ${s}: unknown accelerator '${kind}'; known: ${ACCELERATORS.join(", ")}`);
    out[s.slice(0, i)] = kind as Accelerator;
  }
  return out;
}

export function applyOffload(g: Graph, offload: Record<string, Accelerator>, streaming: boolean): void {
  const entries = Object.entries(offload);
  if (!entries.length) return;
  if (streaming) bad(`--offload with --stream is not supported: offloaded layers run whole sequences`);
  for (const [name, kind] of entries) {
    const node = g.nodes.find((n) => n.name === name) ?? g.nodes.find((n) => n.outputs.includes(name));
    if (!node) {
      const cands = g.nodes.filter((n) => (kind === "fpga-lstm" ? n.op === "LSTM" : n.op === "Gemm" || n.op === "MatMul")).map((n) => `'${n.name}'`);
      bad(`--offload ${name}=${kind}: no layer '${name}' in ${g.source}${cands.length ? `; layers it could take: ${cands.join(", ")}` : ""}`);
    }
    const at = where(g, node!);
    if (kind === "fpga-lstm") {
      if (node!.op !== "LSTM") bad(`--offload ${name}=fpga-lstm: ${at} is a ${node!.op}; the FPGA cell takes LSTM layers only`);
      if (!node!.q?.fixed) bad(`--offload ${name}=fpga-lstm: ${at} is ${node!.q ? "int8" : "float"}; the FPGA cell computes in Q-format fixed point: compile with --fixed Qm.f (e.g. Q4.4)`);
    } else {
      if (node!.op !== "Gemm" && node!.op !== "MatMul") bad(`--offload ${name}=rram: ${at} is a ${node!.op}; the crossbar takes fully connected layers (Gemm, MatMul with constant weights)`);
      if (!node!.attrs.canonical && !(node!.op === "MatMul" && tensor(g, node!.inputs[1]).data)) bad(`--offload ${name}=rram: ${at} has weights computed at run time; a crossbar holds constant weights`);
      if (node!.q) bad(`--offload ${name}=rram: ${at} is ${node!.q.fixed ? "Q-format" : "int8"}; the crossbar takes the float layer (its own DACs and ADCs quantize): compile without --quantize / --fixed`);
    }
    node!.attrs.offload = kind;
  }
}
