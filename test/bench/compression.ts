/**
 * The compression methods built so far, side by side on one example: float32, int8, int8
 * with magnitude pruning (the sparse kernel) and with ternary weights. For each: the bytes
 * of constant data in the module (weights plus per-channel parameters), the wasm
 * instructions one inference executes (counted on the instrumented module), and the test
 * accuracy. Prints a markdown table (docs/compression.md holds a copy).
 *   node dist/test/bench/compression.js [example]
 */
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runFloat } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";

export async function compressionTable(ex: string): Promise<string> {
  const dir = `examples/${ex}`;
  const int8: CompileOptions = { quantize: "int8", calibrate: `${dir}/calib.npy` };
  const variants: Array<[string, CompileOptions]> = [
    ["float32", {}], ["int8", int8],
    ["int8, 50% pruned", { ...int8, prune: { "*": 0.5 } }], ["int8, 80% pruned", { ...int8, prune: { "*": 0.8 } }],
    ["int8, 90% pruned", { ...int8, prune: { "*": 0.9 } }], ["int8, ternary", { ...int8, ternary: ["all"] }],
  ];
  const labels = readNpy(`${dir}/y_test.npy`).data;
  const rows = ["| method | constant bytes | vs float32 | instructions per inference | accuracy |", "|---|---|---|---|---|"];
  let floatBytes = 0;
  for (const [name, opts] of variants) {
    const c = await compileModel(`${dir}/model.onnx`, opts);
    const m = await instantiate(c.wasm, c.manifest);
    const io = c.manifest.inputs[0];
    const xs = samplesFromShape(io.name, io.shape, readNpy(`${dir}/x_test.npy`), `${dir}/x_test.npy`, "input");
    let right = 0;
    xs.forEach((x, i) => {
      const y = runFloat(m, [x])[0];
      let best = 0;
      for (let k = 1; k < y.length; k++) if (y[k] > y[best]) best = k;
      if (best === Number(labels[i])) right++;
    });
    const p = await profileModule(c.wasm, c.source, c.manifest, { inputs: [xs[0]] });
    const bytes = c.manifest.memory.constantBytes;
    if (name === "float32") floatBytes = bytes;
    rows.push(`| ${name} | ${bytes} | ${(floatBytes / bytes).toFixed(2)}x smaller | ${instructions(p.total)} | ${(100 * right / xs.length).toFixed(1)}% |`);
  }
  return rows.join("\n");
}

if (process.argv[1]?.endsWith("compression.js")) {
  const ex = process.argv[2] ?? "cancer-mlp";
  compressionTable(ex).then((t) => console.log(`${ex}:\n${t}`));
}
