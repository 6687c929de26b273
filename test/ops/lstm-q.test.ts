// LSTM in Q-format fixed point (--fixed Qm.f, the ElasticAI FPGA cell): a two-step cell
// worked out by hand from the definition in compiler/ops/lstm-q.ts, in Q4.4 (int8 storage)
// and Q8.8 (int16); the wasm kernels (lstm_q8, lstm_q16) bit-exact with the integer
// interpreter over the forecasting shape (I 1, H 20, T 12), batches, constant and run-time
// initial states, layout 1, only Y_h / only Y_c, large weights, inputs far beyond the
// format's range, in Q4.4 and in the 16-bit Q8.8, Q6.10 and Q9.7; a unit whose cell is
// driven to the format's rail (checked by hand) in Q4.4 and Q3.13; 6-bit formats; and
// LSTM -> Gather / Slice / Concat -> Gemm models in Q4.4, Q2.6, Q8.8, Q6.10 and Q9.7, each
// with the selftest passing; the deviation from the float model is printed (Q mode
// replaces sigmoid / tanh by their hard forms, so it is reported, not bounded tightly;
// test/passes/quantize-fixed.test.ts bounds Q8.8 against Q4.4 where the definitions
// coincide); and the refusals.
import { describe, expect, it } from "vitest";
import { compileModel } from "../../compiler/pipeline.js";
import { instantiate, runRaw } from "../../compiler/runner.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { qFmt, qFromReal, qStorage } from "../../compiler/ir/fixedpoint.js";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { encodeModel, tmpDir, writeModel, type ModelSpec, type NodeSpec } from "../helpers/build-onnx.js";
import { randValue, rng, uniform } from "../helpers/random.js";

interface Lstm {
  T: number; B: number; I: number; H: number;
  layout?: 1;
  bias?: boolean;
  /** Initial states: constants ("const") or graph inputs ("input"). */
  init?: "const" | "input";
  /** Scale of W and R (uniform in [-scale, scale]). */
  wscale?: number;
  outs?: string[];
  attrs?: NodeSpec["attrs"];
  peep?: boolean;
}

/** A one-LSTM model with seeded weights; the feeds for X (and run-time states). */
function lstmModel(c: Lstm, seed: number, after: (spec: ModelSpec) => void = () => {}): { spec: ModelSpec; feeds: (lo: number, hi: number) => Record<string, Value> } {
  const r = rng(seed);
  const { T, B, I, H } = c;
  const ws = c.wscale ?? 0.6;
  const xs = c.layout ? [B, T, I] : [T, B, I], ss = c.layout ? [B, 1, H] : [1, B, H];
  const spec: ModelSpec = {
    inputs: [{ name: "X", shape: xs }], outputs: [],
    initializers: [
      { name: "W", shape: [1, 4 * H, I], data: uniform(r, 4 * H * I, -ws, ws) },
      { name: "R", shape: [1, 4 * H, H], data: uniform(r, 4 * H * H, -ws, ws) },
    ],
    nodes: [], opset: c.layout ? 14 : 13,
  };
  const ins = ["X", "W", "R", "", "", "", ""];
  if (c.bias) { spec.initializers!.push({ name: "B", shape: [1, 8 * H], data: uniform(r, 8 * H, -0.5, 0.5) }); ins[3] = "B"; }
  if (c.init === "const") {
    spec.initializers!.push({ name: "h0", shape: ss, data: uniform(r, B * H, -0.9, 0.9) }, { name: "c0", shape: ss, data: uniform(r, B * H, -2, 2) });
  }
  if (c.init === "input") spec.inputs.push({ name: "h0", shape: ss }, { name: "c0", shape: ss });
  if (c.init) { ins[5] = "h0"; ins[6] = "c0"; }
  if (c.peep) { spec.initializers!.push({ name: "P", shape: [1, 3 * H], data: uniform(r, 3 * H) }); ins.push("P"); }
  while (ins[ins.length - 1] === "") ins.pop();
  const outs = c.outs ?? ["Y", "Y_h", "Y_c"];
  spec.nodes.push({ op: "LSTM", name: "lstm", inputs: ins, outputs: outs, attrs: { hidden_size: H, ...(c.layout ? { layout: 1 } : {}), ...c.attrs } });
  spec.outputs = outs.filter((o) => o);
  after(spec);
  return {
    spec,
    feeds: (lo, hi) => {
      const f: Record<string, Value> = { X: randValue(r, xs, lo, hi) };
      if (c.init === "input") { f.h0 = randValue(r, ss, -0.9, 0.9); f.c0 = randValue(r, ss, -2, 2); }
      return f;
    },
  };
}

/**
 * Compiles in `fixed` with the selftest, checks it passes and that the wasm equals the
 * integer interpreter on every feed (inputs converted like constants); returns the worst
 * |dequantized Q output - float output| over the first `compared` feeds (feeds beyond the
 * format's range saturate, so their distance to float says nothing) and the raw Q outputs
 * of the last feed.
 */
async function checkFixed(model: string, fixed: string, feeds: Array<Record<string, Value>>, compared = feeds.length) {
  const c = await compileModel(model, { fixed, selftest: true });
  const m = await instantiate(c.wasm, c.manifest);
  expect((m.instance.exports.selftest as () => number)()).toBe(0);
  const F = qFmt(...(fixed.slice(1).split(".").map(Number) as [number, number]));
  let worst = 0;
  let last: Record<string, number[]> = {};
  for (const [fi, feed] of feeds.entries()) {
    const qfeed = Object.fromEntries(c.graph.inputs.map((n) => [n, makeValue(qStorage(F), feed[n].shape, Array.from(feed[n].data, (x) => qFromReal(x, F)))]));
    const got = runRaw(m, c.graph.inputs.map((n) => qfeed[n]));
    const ref = interpret(c.graph, qfeed);
    const fl = interpret(c.floatGraph, feed);
    last = {};
    c.graph.outputs.forEach((n, i) => {
      expect(got[i].dtype).toBe(qStorage(F));
      expect(Array.from(got[i].data), `wasm vs integer interpreter, ${n}`).toEqual(Array.from(ref[n].data));
      last[n] = Array.from(got[i].data);
      if (fi >= compared) return;
      for (let k = 0; k < got[i].data.length; k++) worst = Math.max(worst, Math.abs(got[i].data[k] * 2 ** -F.f - fl[n].data[k]));
    });
  }
  return { c, F, worst, last };
}

/** The one-unit cell both hand-computed cases below run (values in their comments). */
const HAND_CELL: ModelSpec = {
  inputs: [{ name: "X", shape: [2, 1, 1] }], outputs: ["Y", "Y_h", "Y_c"],
  initializers: [
    { name: "W", shape: [1, 4, 1], data: [1, 0.5, -1, 2] },
    { name: "R", shape: [1, 4, 1], data: [0.25, 0, 0, -1] },
    { name: "B", shape: [1, 8], data: [0.25, 0, 0, 0, 0.25, 0.1, 0, -0.5] },
    { name: "c0", shape: [1, 1, 1], data: [0.5] },
  ],
  nodes: [{ op: "LSTM", inputs: ["X", "W", "R", "B", "", "", "c0"], outputs: ["Y", "Y_h", "Y_c"], attrs: { hidden_size: 1 } }],
};

describe("Q-format LSTM cell by hand (Q4.4)", () => {
  it("two steps: gates, cell, truncation toward zero", async () => {
    // I 1, H 1. Rows i, o, f, c: W = [1, 0.5, -1, 2] -> [16, 8, -16, 32]; R = [0.25, 0, 0, -1] -> [4, 0, 0, -16];
    // merged bias (Wb + Rb) = [0.5, 0.1, 0, -0.5] -> [8, 1, 0, -8]; h0 = 0, c0 = 0.5 -> 8.
    // step 1, x = 1 -> 16 (h = 0):
    //   i: 256 -> 16, +8 = 24, hs = (24 + 48) / 6 = 12      o: 128 -> 8, +1 = 9, hs = 57 / 6 = 9
    //   f: -256 -> -16, hs = 32 / 6 = 5                      g: 512 -> 32, -8 = 24, ht = 16
    //   c = 5 * 8 / 16 + 12 * 16 / 16 = 2 + 12 = 14          h = 9 * 14 / 16 = 126 / 16 = 7
    // step 2, x = -0.5 -> -8 (h = 7):
    //   i: -128 + 28 = -100 -> -6, +8 = 2, hs = 50 / 6 = 8   o: -64 -> -4, +1 = -3, hs = 45 / 6 = 7
    //   f: 128 -> 8, hs = 56 / 6 = 9                          g: -256 - 112 = -368 -> -23, -8 = -31, ht = -16
    //   c = 9 * 14 / 16 + 8 * (-16) / 16 = 7 - 8 = -1        h = 7 * (-1) / 16 = -0.44 -> 0 (floor would give -1)
    const { last, c } = await checkFixed(writeModel(HAND_CELL), "Q4.4", [{ X: makeValue("float32", [2, 1, 1], [1, -0.5]) }]);
    expect(last).toEqual({ Y: [7, 0], Y_h: [0], Y_c: [-1] });
    expect(c.source).toMatch(/lstm_q8\(/);
  });
});

describe("Q-format LSTM cell by hand (Q8.8, int16 storage)", () => {
  it("the same two steps: gates, cell, truncation toward zero", async () => {
    // The cell above in Q8.8 (3 is 768, 1 is 256): W -> [256, 128, -256, 512]; R -> [64, 0, 0, -256];
    // merged bias [0.5, 0.1, 0, -0.5] -> [128, 25, 0, -128] (25.6 truncated); c0 = 0.5 -> 128.
    // step 1, x = 1 -> 256 (h = 0):
    //   i: 65536 -> 256, +128 = 384, hs = 1152 / 6 = 192     o: 32768 -> 128, +25 = 153, hs = 921 / 6 = 153
    //   f: -65536 -> -256, hs = 512 / 6 = 85                  g: 131072 -> 512, -128 = 384, ht = 256
    //   c = 85 * 128 / 256 + 192 * 256 / 256 = 42 + 192 = 234   h = 153 * 234 / 256 = 35802 / 256 = 139
    // step 2, x = -0.5 -> -128 (h = 139):
    //   i: -32768 + 8896 = -23872 -> -93 (-93.25, toward zero), +128 = 35, hs = 803 / 6 = 133
    //   o: -16384 -> -64, +25 = -39, hs = 729 / 6 = 121       f: 32768 -> 128, hs = 896 / 6 = 149
    //   g: -65536 - 35584 = -101120 -> -395, -128 = -523, ht = -256
    //   c = 149 * 234 / 256 + 133 * (-256) / 256 = 136 - 133 = 3   h = 121 * 3 / 256 = 1.42 -> 1
    const { last, c } = await checkFixed(writeModel(HAND_CELL), "Q8.8", [{ X: makeValue("float32", [2, 1, 1], [1, -0.5]) }]);
    expect(last).toEqual({ Y: [139, 1], Y_h: [1], Y_c: [3] });
    expect(c.source).toMatch(/lstm_q16\(/);
    expect(c.source).not.toMatch(/lstm_q8/);
    expect(c.manifest.outputs.map((o) => o.dtype)).toEqual(["int16", "int16", "int16"]);
  });
});

let seed = 500;
let seed16 = 900; // the int16 formats' models, apart so that the Q4.4 ones keep their seeds
const lstmQ = async (c: Lstm, fixed = "Q4.4", s = ++seed) => {
  const b = lstmModel(c, s);
  // the last feed is far beyond every format's range: each input saturates
  const r = await checkFixed(writeModel(b.spec), fixed, [b.feeds(-1, 1), b.feeds(-1, 1), b.feeds(-6, 6), b.feeds(-1000, 1000)], 3);
  console.log(`LSTM ${fixed} T${c.T} B${c.B} I${c.I} H${c.H}${c.wscale ? ` weights x${c.wscale}` : ""}: worst |Q - float| ${r.worst.toFixed(3)}`);
  expect(Number.isFinite(r.worst)).toBe(true);
  return r;
};

for (const fixed of ["Q4.4", "Q8.8", "Q6.10", "Q9.7"]) {
  const q = (c: Lstm) => lstmQ(c, fixed, fixed === "Q4.4" ? ++seed : ++seed16);
  describe(`Q-format LSTM: wasm bit-exact with the integer interpreter, ${fixed}`, () => {
    it("forecasting shape: I 1, H 20, T 12, bias", () => q({ T: 12, B: 1, I: 1, H: 20, bias: true }));
    it("batch 2, constant initial states", () => q({ T: 6, B: 2, I: 3, H: 5, bias: true, init: "const" }));
    it("initial states at run time (Q tensors)", () => q({ T: 5, B: 2, I: 2, H: 4, bias: true, init: "input" }));
    it("layout 1, batch 3, constant initial states", () => q({ T: 4, B: 3, I: 2, H: 5, bias: true, init: "const", layout: 1 }));
    it("only Y_h; only Y_c", async () => {
      await q({ T: 5, B: 2, I: 3, H: 4, bias: true, outs: ["", "Y_h"] });
      await q({ T: 5, B: 2, I: 3, H: 4, init: "const", outs: ["", "", "Y_c"] });
    });
    it("large weights (x6) and inputs up to 6", () => q({ T: 10, B: 2, I: 3, H: 8, bias: true, wscale: 6 }));
    it("large hidden size: H 64, I 16 (sums of 80 products per gate)", () => q({ T: 4, B: 1, I: 16, H: 64, bias: true, wscale: 2 }));
  });
}

describe("Q-format LSTM: the cell's rail, other formats", () => {
  /** Unit 0 of H 8 has zero W and R rows and biases i = f = g = 7, o = 0; the other units have weights in [-6, 6]. */
  const railModel = (s: number) => {
    const H = 8, I = 3;
    return lstmModel({ T: 10, B: 2, I, H, bias: true, wscale: 6 }, s, (spec) => {
      const get = (n: string) => spec.initializers!.find((t) => t.name === n)!;
      const w = Array.from(get("W").data), r = Array.from(get("R").data), bias = Array.from(get("B").data);
      for (let gate = 0; gate < 4; gate++) {
        w.fill(0, gate * H * I, gate * H * I + I);
        r.fill(0, gate * H * H, gate * H * H + H);
        bias[gate * H] = gate === 1 ? 0 : 7; // Wb, gates i, o, f, c
        bias[4 * H + gate * H] = 0; // Rb
      }
      get("W").data = w; get("R").data = r; get("B").data = bias;
    });
  };
  it("a cell driven to the rail", async () => {
    // Unit 0: biases i = f = g = 7 (-> 112 >= 48: hs = 16, ht = 16) and o = 0 (hs(0) = 8): c
    // grows by mulq(16, 16) = 16 per step from 0, reaches 128 -> 127 at step 8 and stays
    // (127 + 16 saturates); h = mulq(8, ht(127) = 16) = 8. The other units' gates saturate too.
    const H = 8;
    const b = railModel(++seed);
    const r = await checkFixed(writeModel(b.spec), "Q4.4", [b.feeds(-1, 1), b.feeds(-6, 6)]);
    expect([r.last.Y_c[0], r.last.Y_c[H]]).toEqual([127, 127]); // batch entries 0 and 1
    expect([r.last.Y_h[0], r.last.Y_h[H]]).toEqual([8, 8]);
    expect(r.last.Y.filter((_, k) => k % H === 0)).toEqual(new Array(20).fill(8)); // every step, both entries
  });
  it("a cell driven to the rail in the 16-bit Q3.13 (range [-4, 4))", async () => {
    // Unit 0: the bias 7 saturates to 32767 (3.9999) >= 3 = 24576: hs = 1 = 8192, ht = 8192;
    // o = hs(0) = 24576 / 6 = 4096. c grows by mulq(8192, 8192) = 8192 per step from 0 and
    // reaches 32768 -> 32767 at step 4, then stays (mulq(8192, 32767) = 32767, + 8192
    // saturates); h = mulq(4096, ht(c) = 8192) = 4096 from step 1 on. Inputs up to 1000
    // saturate to the format's rails too.
    const H = 8;
    const b = railModel(++seed16);
    const r = await checkFixed(writeModel(b.spec), "Q3.13", [b.feeds(-1, 1), b.feeds(-1000, 1000)]);
    expect([r.last.Y_c[0], r.last.Y_c[H]]).toEqual([32767, 32767]);
    expect([r.last.Y_h[0], r.last.Y_h[H]]).toEqual([4096, 4096]);
    expect(r.last.Y.filter((_, k) => k % H === 0)).toEqual(new Array(20).fill(4096));
    expect(r.c.source).toMatch(/lstm_q16\(/);
  });
  it("Q2.6 and the 6-bit Q3.3", async () => {
    await lstmQ({ T: 8, B: 2, I: 2, H: 6, bias: true, init: "const" }, "Q2.6");
    await lstmQ({ T: 8, B: 2, I: 2, H: 6, bias: true, init: "const" }, "Q3.3");
  });
});

/**
 * The forecasting model's shape: LSTM (layout 0) -> Squeeze -> Gather(-1) or Slice of the last
 * step, or Concat(Y_h, Y_c) -> Reshape -> Gemm (one output).
 */
function headModel(kind: "gather" | "slice" | "concat", s: number): { spec: ModelSpec; feeds: (lo: number, hi: number) => Record<string, Value> } {
  const T = 12, H = 20;
  return lstmModel({ T, B: 1, I: 1, H, bias: true }, s, (spec) => {
    const r = rng(s + 1);
    const K = kind === "concat" ? 2 * H : H;
    spec.initializers!.push(
      { name: "Wo", shape: [1, K], data: uniform(r, K, -0.5, 0.5) }, { name: "bo", shape: [1], data: [0.1] },
      { name: "ax1", shape: [1], data: [1], dtype: 7 }, { name: "last", shape: [], data: [-1], dtype: 7 },
      { name: "st", shape: [1], data: [T - 1], dtype: 7 }, { name: "en", shape: [1], data: [T], dtype: 7 },
      { name: "ax0", shape: [1], data: [0], dtype: 7 }, { name: "flat", shape: [2], data: [1, K], dtype: 7 },
    );
    const lstm = spec.nodes[0];
    if (kind === "gather") {
      lstm.outputs = ["Y"];
      spec.nodes.push(
        { op: "Squeeze", inputs: ["Y", "ax1"], outputs: ["ys"] }, // [T, 1, H]
        { op: "Gather", inputs: ["ys", "last"], outputs: ["yl"], attrs: { axis: 0 } }, // [1, H]
      );
    } else if (kind === "slice") {
      lstm.outputs = ["Y"];
      spec.nodes.push(
        { op: "Slice", inputs: ["Y", "st", "en", "ax0"], outputs: ["y1"] }, // [1, 1, 1, H]
        { op: "Reshape", inputs: ["y1", "flat"], outputs: ["yl"] },
      );
    } else {
      lstm.outputs = ["", "Y_h", "Y_c"];
      spec.nodes.push(
        { op: "Concat", inputs: ["Y_h", "Y_c"], outputs: ["hc"], attrs: { axis: 2 } }, // [1, 1, 2H]
        { op: "Reshape", inputs: ["hc", "flat"], outputs: ["yl"] },
      );
    }
    spec.nodes.push({ op: "Gemm", inputs: ["yl", "Wo", "bo"], outputs: ["out"], attrs: { transB: 1 } });
    spec.outputs = ["out"];
  });
}

describe("Q-format LSTM -> Gather / Slice / Concat -> Gemm", () => {
  for (const fixed of ["Q4.4", "Q2.6", "Q8.8", "Q6.10", "Q9.7"]) {
    const wide = qStorage(qFmt(...(fixed.slice(1).split(".").map(Number) as [number, number]))) === "int16";
    for (const kind of ["gather", "slice", "concat"] as const) {
      it(`${kind}, ${fixed}`, async () => {
        const b = headModel(kind, wide ? ++seed16 : ++seed);
        const feeds = [b.feeds(-1, 1), b.feeds(-1, 1), b.feeds(-2, 2), b.feeds(-4, 4), ...(wide ? [b.feeds(-1000, 1000)] : [])];
        const r = await checkFixed(writeModel(b.spec), fixed, feeds, 4);
        console.log(`LSTM -> ${kind} -> Gemm, ${fixed}: worst |Q - float| ${r.worst.toFixed(3)}`);
        expect(Number.isFinite(r.worst)).toBe(true);
        expect(r.c.graph.nodes.map((n) => n.op)).toContain(kind === "gather" ? "Gather" : kind === "slice" ? "Slice" : "Concat");
        expect(r.c.manifest.mode).toBe(fixed);
      });
    }
  }
});

describe("Q-format LSTM refusals", () => {
  const refuse = (c: Lstm, re: RegExp, fixed = "Q4.4") => expect(compileModel(writeModel(lstmModel(c, ++seed).spec), { fixed })).rejects.toThrow(re);
  const base = { T: 3, B: 1, I: 2, H: 3, bias: true };
  it("peepholes", () => refuse({ ...base, peep: true }, /node 'lstm' \(LSTM\): peepholes \(input P\) are not supported in the Q4\.4 LSTM/));
  it("reverse and bidirectional", async () => {
    await refuse({ ...base, attrs: { direction: "reverse" } }, /direction reverse is not supported \(forward only/);
    const b = lstmModel(base, ++seed);
    b.spec.initializers = b.spec.initializers!.map((t) => ({ ...t, shape: [2, ...t.shape.slice(1)], data: [...Array.from(t.data), ...Array.from(t.data)] }));
    b.spec.nodes[0].attrs = { ...b.spec.nodes[0].attrs, direction: "bidirectional" };
    await expect(compileModel(writeModel(b.spec), { fixed: "Q4.4" })).rejects.toThrow(/direction bidirectional is not supported/);
  });
  it("clip and input_forget", async () => {
    await refuse({ ...base, attrs: { clip: 2 } }, /clip 2 is not supported in the Q4\.4 LSTM/);
    await refuse({ ...base, attrs: { input_forget: 1 } }, /input_forget = 1 is not supported/);
  });
  it("non-default activations", async () => {
    const b = lstmModel(base, ++seed);
    // build-onnx writes lists as INTS; the activation names go in as STRINGS here
    const model = onnxProto.onnx.ModelProto.decode(encodeModel(b.spec));
    model.graph!.node![0].attribute!.push({ name: "activations", type: 8, strings: ["HardSigmoid", "Tanh", "Tanh"].map((a) => new TextEncoder().encode(a)) });
    const file = join(tmpDir(), `lstm-q-acts-${process.pid}.onnx`);
    writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
    await expect(compileModel(file, { fixed: "Q4.4" })).rejects.toThrow(/activations HardSigmoid, Tanh, Tanh are not supported \(the default Sigmoid, Tanh, Tanh run as hard sigmoid/);
  });
  it("weights at run time", async () => {
    const b = lstmModel(base, ++seed);
    b.spec.initializers = b.spec.initializers!.filter((t) => t.name !== "W");
    b.spec.inputs.push({ name: "W", shape: [1, 12, 2] });
    await expect(compileModel(writeModel(b.spec), { fixed: "Q4.4" })).rejects.toThrow(/W \('W'\) is computed at run time; constant weights are needed/);
  });
});
