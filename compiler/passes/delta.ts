/**
 * --delta: delta networks for LSTM and GRU layers (Neil et al., "Delta Networks for
 * Optimized Recurrent Network Computation", 2017; Gao et al.'s DeltaRNN, EdgeDRNN and
 * Spartus accelerators). Each chosen LSTM keeps, per input and per
 * hidden unit, the last value it propagated (x^, h^); at each step a change is propagated
 * only when |x - x^| >= theta_x (|h - h^| >= theta_h for the previous hidden state), and the
 * gate pre-activations are running sums M += W dx + R dh, so the kernel skips the weight
 * columns of the units that did not change. With theta = 0 the layer is the plain LSTM.
 * The semantics (float and Q-format) and the kernels are in ops/lstm-delta.ts. GRU (float
 * only, as is the GRU outside int8) gets the same treatment in its linear_before_reset = 1
 * form: x columns update the x part of all three gates, h columns the h part (kept apart,
 * since the reset gate scales the h part of the candidate n).
 *
 * Spec (repeatable; a spec with a layer name overrides the one without for that layer):
 *   <theta>                        theta_x = theta_h = theta, every LSTM of the model
 *   x=<theta_x>,h=<theta_h>        separate thresholds (either part may be left out: 0)
 *   <layer>:<theta> | <layer>:x=..,h=..   one LSTM, by its node name
 * Thresholds are real values (the units of x and h); Q-format modes convert them to the
 * grid. This pass only records node.attrs.delta = { x, h } on the float graph (before
 * calibration / Q conversion), after checking the layer fits the delta cell: forward,
 * default activations, no peepholes, clip or input_forget, full sequence lengths, constant W
 * and R. Refused: a GRU with --quantize int8 (no int8 delta GRU kernel), --stream and --soi (the delta state would
 * have to live across step() calls), an offloaded layer.
 */
import { bad } from "../util/errors.js";
import { tensor, type Graph, type Node } from "../ir/graph.js";
import { where } from "../ops/util.js";

export interface DeltaThresholds { x: number; h: number }

/** What the rest of the compile asks of the model (refusals that need it). */
export interface DeltaContext { int8?: boolean; stream?: boolean; soi?: boolean; offload?: string[] }

function threshold(spec: string, v: string): number {
  const t = v.trim();
  const x = Number(t);
  if (t === "" || !Number.isFinite(x) || x < 0) bad(`--delta ${spec}: threshold '${v}' must be a finite number >= 0 (in the units of the layer's input / hidden values), e.g. 0.05`);
  return x;
}

/** One spec into [layer or "*", thresholds]. */
export function parseDeltaSpec(spec: string): [string, DeltaThresholds] {
  const colon = spec.lastIndexOf(":");
  const layer = colon < 0 ? "*" : spec.slice(0, colon);
  if (colon >= 0 && !layer) bad(`--delta ${spec}: empty layer name before ':'`);
  const body = spec.slice(colon + 1);
  if (!body.includes("=")) {
    const t = threshold(spec, body);
    return [layer, { x: t, h: t }];
  }
  const th: DeltaThresholds = { x: 0, h: 0 };
  const seen = new Set<string>();
  for (const part of body.split(",")) {
    const i = part.indexOf("=");
    const key = i < 0 ? part.trim() : part.slice(0, i).trim();
    if (i < 0 || (key !== "x" && key !== "h")) bad(`--delta ${spec}: expected <theta>, x=<theta_x>,h=<theta_h> or <layer>:<either>; '${part}' is neither x=<theta> nor h=<theta>`);
    if (seen.has(key)) bad(`--delta ${spec}: ${key} is given twice`);
    seen.add(key);
    th[key as "x" | "h"] = threshold(spec, part.slice(i + 1));
  }
  return [layer, th];
}

/** Whether an LSTM / GRU node fits the delta cell; the reason when it does not. */
export function deltaRefusal(node: Node): string | undefined {
  const a = node.attrs;
  if (a.direction !== "forward") return `direction ${a.direction} (the delta cell runs forward only)`;
  const acts = (a.acts as Array<{ name: string }>).map((x) => x.name).join(",");
  const want = node.op === "GRU" ? "Sigmoid,Tanh" : "Sigmoid,Tanh,Tanh";
  if (acts !== want) return `activations ${acts} (the delta cell has the default ${want.replace(/,/g, ", ")})`;
  if (node.op === "GRU" && a.linear_before_reset !== 1) return "linear_before_reset = 0 (r multiplies h before R, so every column changes every step; the delta GRU is the linear_before_reset = 1 cell, PyTorch's)";
  if (node.inputs[7]) return "peepholes (input P)";
  if (Number.isFinite(a.clip)) return `clip ${a.clip}`;
  if (a.input_forget) return "input_forget = 1";
  if (a.seqLens) return "sequence_lens shorter than the sequence";
  return undefined;
}

/** Records the thresholds on the chosen LSTM nodes; returns their names. */
export function applyDelta(g: Graph, specs: string | string[], ctx: DeltaContext = {}): string[] {
  const list = typeof specs === "string" ? [specs] : specs;
  if (!list.length) return [];
  const shown = list.join(" ");
  if (ctx.stream) bad(`--delta ${shown} with --stream is not supported (the delta state x^, h^, M would have to persist across step() calls); run whole windows`);
  if (ctx.soi) bad(`--delta ${shown} with --soi is not supported`);
  const lstms = g.nodes.filter((n) => n.op === "LSTM" || n.op === "GRU");
  const byLayer = new Map<string, DeltaThresholds>();
  for (const s of list) {
    const [layer, th] = parseDeltaSpec(s);
    if (layer !== "*") {
      const node = g.nodes.find((n) => n.name === layer);
      if (!node) bad(`--delta ${s}: no layer '${layer}' in ${g.source}; LSTM / GRU layers: ${lstms.map((n) => `'${n.name}'`).join(", ") || "none"}`);
      if (!lstms.includes(node!)) bad(`--delta ${s}: ${where(g, node!)} is a ${node!.op}, not an LSTM or GRU; delta thresholds apply to those`);
    }
    byLayer.set(layer, th);
  }
  if (!lstms.length) bad(`--delta ${shown}: ${g.source} has no LSTM or GRU layer (delta thresholds apply to those; RNN has no delta form yet)`);
  const chosen: string[] = [];
  for (const node of lstms) {
    const th = byLayer.get(node.name) ?? byLayer.get("*");
    if (!th) continue;
    const why = deltaRefusal(node);
    if (why) bad(`--delta: ${where(g, node)} has ${why}; the delta ${node.op} supports forward layers with default activations, no ${node.op === "GRU" ? "clip" : "peepholes, clip or input_forget"}`);
    for (const i of [1, 2]) {
      if (!tensor(g, node.inputs[i]).data) bad(`--delta: ${where(g, node)}: ${i === 1 ? "W" : "R"} ('${node.inputs[i]}') is computed at run time; the delta kernel needs constant weights (it stores them column by column)`);
    }
    if (ctx.int8 && node.op === "GRU") bad(`--delta: ${where(g, node)}: the delta GRU has no int8 kernel yet; use float (the delta LSTM runs in float, int8 and Q formats)`);
    if (ctx.offload?.includes(node.name)) bad(`--delta: ${where(g, node)} is offloaded (--offload); a delta layer runs in the module`);
    node.attrs.delta = { x: th.x, h: th.h };
    chosen.push(node.name);
  }
  return chosen;
}
