/**
 * The reference for streaming: runs a step graph (step-graph.ts) one input frame at a time,
 * keeping its state (layer windows, and the recurrent layers' state through their stream
 * mode) between steps. Each node runs on steps t with t % attrs.period == 0, with its op's
 * float reference or integer semantics, exactly as the full-window interpreter would; the
 * emitted step() must match it bit for bit (int8) or within the float tolerance.
 */
import { internal } from "../util/errors.js";
import { allocData, tensor, type Value } from "../ir/graph.js";
import { opDef } from "../ops/table.js";
import type { StepGraph } from "./step-graph.js";

export interface StepResult {
  /** Output values of this step (the previous value for outputs that did not fire). */
  outputs: Value[];
  /** Which outputs were written this step. */
  fired: boolean[];
}

export class StepRunner {
  private env = new Map<string, Value>();
  private t = 0;
  constructor(private sg: StepGraph) {
    this.reset();
  }

  reset(): void {
    const g = this.sg.graph;
    this.env.clear();
    for (const [name, t] of g.tensors) if (t.data) this.env.set(name, { dtype: t.dtype, shape: t.shape, data: t.data });
    for (const s of this.sg.states) {
      const t = tensor(g, s.name);
      const data = allocData(t.dtype, t.shape.reduce((a, b) => a * b, 1));
      data.fill(s.fill);
      this.env.set(s.name, { dtype: t.dtype, shape: t.shape, data });
    }
    for (const node of g.nodes) if (node.attrs.stream) opDef(node.op).resetStream?.(node);
    this.t = 0;
  }

  step(frame: Value): StepResult {
    const g = this.sg.graph;
    this.env.set(g.inputs[0], frame);
    for (const node of g.nodes) {
      if (this.t % node.attrs.period !== 0) continue;
      const def = opDef(node.op);
      const ins = node.inputs.map((n) => (n ? this.env.get(n) : undefined)) as Value[];
      node.inputs.forEach((n, i) => { if (n && !ins[i]) internal(`step ${this.t}: '${node.name}' reads '${n}' before it is computed`); });
      const fn = node.q ? def.int : def.ref;
      const outs = fn!(node, ins);
      node.outputs.forEach((o, i) => { if (o) this.env.set(o, outs[i]); });
    }
    const fired = this.sg.outputPeriods.map((p) => this.t % p === 0);
    const outputs = g.outputs.map((o) => this.env.get(o) ?? internal(`output '${o}' not computed at step ${this.t}`));
    this.t++;
    return { outputs, fired };
  }
}
