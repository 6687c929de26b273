/**
 * Every compression method side by side on one example, for docs/compression.md: for each
 * configuration the bytes of constant data in the module (weights with their indices,
 * codebooks, biases and per-channel requantization parameters; compiled without a
 * self-test), the ratio to the float32 module's, the wasm instructions one inference
 * executes (counted on the instrumented module, the first test input), and the top-1
 * accuracy on the test set with its change against float32. A configuration the compiler
 * refuses for this model gets its one-line reason instead. Prints a markdown table.
 *   npm run build && node dist/test/bench/compression.js [example] [--only <substring>]
 */
import { compileModel, type CompileOptions } from "../../compiler/pipeline.js";
import { instantiate, runFloat } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { profileModule } from "../../targets/profile/dynamic.js";
import { instructions } from "../../targets/profile/instrument.js";

type Variant = [flags: string, opts: CompileOptions];

function variants(dir: string): Variant[] {
  const q: CompileOptions = { quantize: "int8", calibrate: `${dir}/calib.npy` };
  const Q = `--quantize int8 --calibrate ${dir}/calib.npy`;
  const v: Variant[] = [
    ["(float32)", {}],
    [Q, q],
    [`${Q} --prune 0.5`, { ...q, prune: { "*": 0.5 } }],
    [`${Q} --prune 0.8`, { ...q, prune: { "*": 0.8 } }],
    [`${Q} --prune 0.9`, { ...q, prune: { "*": 0.9 } }],
    [`${Q} --prune 0.8 --prune-balance 8`, { ...q, prune: { "*": 0.8 }, pruneBalance: 8 }],
    [`${Q} --prune-channels 0.25`, { ...q, pruneChannels: { "*": 0.25 } }],
    [`${Q} --prune-channels 0.5`, { ...q, pruneChannels: { "*": 0.5 } }],
    [`${Q} --lowrank 0.9`, { ...q, lowrank: { "*": 0.9 } }],
    [`${Q} --lowrank 4`, { ...q, lowrank: { "*": 4 } }],
    [`${Q} --circulant 4`, { ...q, circulant: { "*": 4 } }],
    [`${Q} --circulant 8`, { ...q, circulant: { "*": 8 } }],
    ["--circulant 4 (float: the FFT kernel)", { circulant: { "*": 4 } }],
    ["--circulant 4 --circulant-kernel direct (float)", { circulant: { "*": 4 }, circulantKernel: "direct" }],
    [`${Q} --ternary all`, { ...q, ternary: ["all"] }],
    [`${Q} --pow2 all`, { ...q, pow2: ["all"] }],
    [`${Q} --binary all`, { ...q, binary: ["all"] }],
    [`${Q} --share 4`, { ...q, share: { "*": 4 } }],
    [`${Q} --share 3`, { ...q, share: { "*": 3 } }],
    [`${Q} --share 2`, { ...q, share: { "*": 2 } }],
    [`${Q} --weights int4`, { ...q, weights: { "*": "int4" } }],
    [`${Q} --weights int2`, { ...q, weights: { "*": "int2" } }],
    [`${Q} --weights int4-tensor`, { ...q, weights: { "*": "int4-tensor" } }],
    [`${Q} --prune-channels 0.5 --weights int4`, { ...q, pruneChannels: { "*": 0.5 }, weights: { "*": "int4" } }],
    [`${Q} --lowrank 4 --weights int4`, { ...q, lowrank: { "*": 4 }, weights: { "*": "int4" } }],
    [`${Q} --prune 0.5 --share 4`, { ...q, prune: { "*": 0.5 }, share: { "*": 4 } }],
    [`${Q} --prune-channels 0.5 --share 2`, { ...q, pruneChannels: { "*": 0.5 }, share: { "*": 2 } }],
    [`${Q} --prune 0.8 --share 4 --eie all`, { ...q, prune: { "*": 0.8 }, share: { "*": 4 }, eie: ["all"] }],
  ];
  // the example's own layers
  if (dir.endsWith("digits-cnn")) {
    const conv = "/features/features.10/Conv", fc = "/head/head.1/MatMul";
    v.push(
      [`${Q} --prune ${conv}=0.9`, { ...q, prune: { [conv]: 0.9 } }],
      [`${Q} --weights int4 --share ${conv}=3 --share ${fc}=3`, { ...q, weights: { "*": "int4" }, share: { [conv]: 3, [fc]: 3 } }],
    );
  }
  if (dir.endsWith("cancer-mlp")) v.push([`${Q} --binary /net/net.0/Gemm`, { ...q, binary: ["/net/net.0/Gemm"] }]);
  return v;
}

export interface Row { flags: string; bytes?: number; ratio?: number; instructions?: number; accuracy?: number; loss?: number; refused?: string }

export async function compressionRows(ex: string, only?: string): Promise<Row[]> {
  const dir = `examples/${ex}`;
  const labels = readNpy(`${dir}/y_test.npy`).data;
  const rows: Row[] = [];
  let floatBytes = 0, floatAcc = 0;
  for (const [flags, opts] of variants(dir)) {
    if (only && flags !== "(float32)" && !flags.includes(only)) continue;
    let c;
    try {
      c = await compileModel(`${dir}/model.onnx`, opts);
    } catch (e) {
      rows.push({ flags, refused: (e as Error).message.split("\n")[0] });
      continue;
    }
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
    const bytes = c.manifest.memory.constantBytes, accuracy = (100 * right) / xs.length;
    if (flags === "(float32)") [floatBytes, floatAcc] = [bytes, accuracy];
    rows.push({ flags, bytes, ratio: floatBytes / bytes, instructions: instructions(p.total), accuracy, loss: floatAcc - accuracy });
  }
  return rows;
}

export function markdown(rows: Row[]): string {
  const out = ["| flags | constant bytes | vs float32 | instructions per inference | accuracy | change |", "|---|---|---|---|---|---|"];
  for (const r of rows) {
    if (r.refused) out.push(`| \`${r.flags}\` | refused: ${r.refused.replace(/\|/g, "\\|")} | | | | |`);
    else out.push(`| \`${r.flags}\` | ${r.bytes} | ${r.ratio!.toFixed(2)}x smaller | ${r.instructions} | ${r.accuracy!.toFixed(1)}% | ${r.loss! > 0 ? "-" : "+"}${Math.abs(r.loss!).toFixed(1)} |`);
  }
  return out.join("\n");
}

if (process.argv[1]?.endsWith("compression.js")) {
  const ex = process.argv[2] && !process.argv[2].startsWith("--") ? process.argv[2] : "cancer-mlp";
  const i = process.argv.indexOf("--only");
  compressionRows(ex, i > 0 ? process.argv[i + 1] : undefined).then((r) => console.log(`${ex}:\n${markdown(r)}`));
}
