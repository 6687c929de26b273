/**
 * Delta LSTM figures on a real sequence (docs/delta-lstm.md): the sunspots forecaster
 * (examples/sunspots-lstm, 71 test windows of 24 yearly values) in float32, int8, Q8.8 and Q4.4,
 * plain and with --delta theta for a few thresholds. Per variant: the fraction of input and
 * of hidden columns skipped (counted by the interpreter over every window; the module's
 * dynamic counts equal the cost formula at these counts, test/ops/lstm-delta.test.ts), the
 * LSTM's gate MACs per inference (same counts), the RMSE of the module's forecasts against
 * y_test (normalized, and in sunspots), and the wasm instructions of the LSTM layer and of
 * the whole inference (instrumented module, mean over three windows: first, middle, last).
 * In int8 and Q modes the module's raw outputs are also checked to equal the interpreter's
 * on every window.
 *   npx tsc -p tsconfig.json --outDir .scratch/delta-dist && node .scratch/delta-dist/test/bench/delta.js
 */
import { readFileSync } from "node:fs";
import { compileModel, type CompileOptions, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runFloat, runRaw } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { interpret } from "../../compiler/ir/interp.js";
import { makeValue, type Value } from "../../compiler/ir/graph.js";
import { qFmt, qFromReal } from "../../compiler/ir/fixedpoint.js";
import { quantizeValue } from "../../compiler/passes/quantize.js";
import { deltaStats } from "../../compiler/ops/lstm-delta.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";

const DIR = "examples/sunspots-lstm";

/** The module's raw input for a float window, as runner.ts converts it. */
function raw(c: Compiled, x: Float32Array): Value {
  const io = c.manifest.inputs[0];
  if (io.dtype === "int8") return makeValue("int8", io.shape, Array.from(x, (v) => quantizeValue(v, io.scale!, io.zeroPoint!)));
  if (io.dtype === "int16") {
    const [m, f] = c.manifest.mode.slice(1).split(".").map(Number);
    return makeValue("int16", io.shape, Array.from(x, (v) => qFromReal(v, qFmt(m, f))));
  }
  return makeValue("float32", io.shape, x);
}

export async function deltaTable(thetas: number[]): Promise<string> {
  const std: number = JSON.parse(readFileSync(`${DIR}/norm.json`, "utf8")).std;
  const y = Array.from(readNpy(`${DIR}/y_test.npy`).data as Float32Array);
  const rows = [
    "| arithmetic | --delta | input cols skipped | hidden cols skipped | gate MACs / inference | RMSE (norm.) | RMSE (sunspots) | LSTM instructions | total instructions |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const int8: CompileOptions = { quantize: "int8", calibrate: `${DIR}/calib.npy` };
  for (const [mode, base] of [["float32", {}], ["int8", int8], ["Q8.8", { fixed: "Q8.8" }], ["Q4.4", { fixed: "Q4.4" }]] as Array<[string, CompileOptions]>) {
    for (const theta of [undefined, ...thetas]) {
      const c = await compileModel(`${DIR}/model.onnx`, theta === undefined ? base : { ...base, delta: String(theta) });
      const m = await instantiate(c.wasm, c.manifest);
      const io = c.manifest.inputs[0];
      const xs = samplesFromShape(io.name, io.shape, readNpy(`${DIR}/x_test.npy`), `${DIR}/x_test.npy`, "input");
      const lstm = c.graph.nodes.find((n) => n.op === "LSTM")!;
      const H: number = lstm.attrs.hidden_size;
      let se = 0, xp = 0, xc = 0, hp = 0, hc = 0, macs = 0;
      xs.forEach((x, i) => {
        const out = runFloat(m, [x])[0][0];
        se += (out - y[i]) ** 2;
        if (theta === undefined) return;
        const rx = raw(c, x);
        const ref = interpret(c.graph, { [io.name]: rx })[c.graph.outputs[0]].data[0];
        if (mode !== "float32" && runRaw(m, [rx])[0].data[0] !== ref) throw new Error(`${mode} delta ${theta}: module vs interpreter differ on window ${i}`);
        const s = deltaStats(lstm)!;
        xp += s.xProp; xc += s.xCols; hp += s.hProp; hc += s.hCols;
        macs += (s.xProp + s.hProp) * 4 * H;
      });
      const n = xs.length;
      const li = c.manifest.layers.findIndex((l) => l.op === "LSTM");
      let lstmIns = 0, total = 0;
      const picks = [0, n >> 1, n - 1];
      for (const i of picks) {
        const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [xs[i]] });
        lstmIns += instructions(p.layers[li]);
        total += instructions(p.total);
      }
      const rmse = Math.sqrt(se / n);
      const dense = 24 * 4 * H * (1 + H);
      const pct = (a: number, b: number) => `${(100 * (1 - a / b)).toFixed(1)}%`;
      rows.push(`| ${mode} | ${theta === undefined ? "none" : theta} | ${theta === undefined ? "-" : pct(xp, xc)} | ${theta === undefined ? "-" : pct(hp, hc)} | ` +
        `${theta === undefined ? dense : (macs / n).toFixed(0)} | ${rmse.toFixed(4)} | ${(rmse * std).toFixed(2)} | ${(lstmIns / picks.length).toFixed(0)} | ${(total / picks.length).toFixed(0)} |`);
    }
  }
  return rows.join("\n");
}

if (process.argv[1]?.endsWith("delta.js")) {
  const thetas = process.argv.slice(2).map(Number);
  deltaTable(thetas.length ? thetas : [0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5]).then((t) => console.log(t));
}
