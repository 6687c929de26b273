// PyTorch-exported recurrent models (torch 1.13, opset 13; made by
// test/fixtures/torch-rnn/make.py): the LSTM forecasting shape, a 2-layer LSTM, a GRU
// (linear_before_reset = 1), a tanh RNN, a batch_first LSTM, a bidirectional GRU, and heads on
// out[:, -1, :] / h_n[-1] (a Gather of the run-time output on the device), with the exporter's
// Shape/Gather/Expand initial-state subgraphs and Squeeze/Transpose/Reshape around the cells.
// Each must compile unchanged with its recurrent nodes on the device and match the reference
// and onnxruntime-node within FLOAT_TOL (checkFloat). Float only: the recurrent ops have no
// int8 form yet.
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readNpy } from "../../compiler/util/npy.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { checkFloat } from "../helpers/op-check.js";
import { rng } from "../helpers/random.js";

const DIR = "test/fixtures/torch-rnn";
const MODELS = readdirSync(DIR).filter((f) => f.endsWith(".onnx")).map((f) => f.replace(/\.onnx$/, "")).sort();

function input(name: string): Value {
  const a = readNpy(join(DIR, `${name}.in.npy`));
  return makeValue("float32", a.shape, a.data as Float32Array);
}

/** Seeded perturbations of the fixture input (sums of uniforms: roughly Gaussian, sd 0.5). */
function jitter(v: Value, seed: number, n: number): Value[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => makeValue("float32", v.shape, Array.from(v.data, (x) => x + (r() + r() + r() - 1.5))));
}

describe("torch recurrent fixtures", () => {
  it("are all there", () => {
    expect(MODELS).toEqual(["gru_bidirectional", "gru_head", "lstm_2layer", "lstm_2layer_hn", "lstm_batch_first", "lstm_forecast", "lstm_last_step", "rnn_tanh"]);
  });
  describe.each(MODELS)("%s", (name) => {
    it("float: wasm vs reference vs onnxruntime", async () => {
      const x = input(name);
      const c = await checkFloat(join(DIR, `${name}.onnx`), [{ input: x }, ...jitter(x, 1, 2).map((v) => ({ input: v }))]);
      const cells = c.graph.nodes.filter((n) => ["LSTM", "GRU", "RNN"].includes(n.op));
      expect(cells.length).toBe(name.startsWith("lstm_2layer") ? 2 : 1);
      // the last-step heads take the final step with a device Gather; the initial-state Gathers fold
      expect(c.graph.nodes.filter((n) => n.op === "Gather").length).toBe(["lstm_last_step", "lstm_2layer_hn"].includes(name) ? 1 : 0);
      // the exporter's zero initial states are folded to constants
      for (const n of cells) for (const i of [5, 6]) if (n.inputs[i]) expect(c.graph.tensors.get(n.inputs[i])!.data).toBeDefined();
    });
  });
});
