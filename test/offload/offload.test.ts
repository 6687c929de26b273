// The offload ABI end to end: the sunspots LSTM in Q4.4 with its LSTM on the simulated FPGA
// cell gives, on every test window, the same bytes as the all-software Q4.4 module, and the
// accelerator's counted cycles equal the cell's cycle formula; the cancer MLP with both
// hidden layers on an ideal crossbar stays within 1e-5 (relative to the largest output) of
// the software float module, and a realistic crossbar (6-bit ADCs, write noise, stuck
// devices) changes the outputs; a default build has no imports, an offloaded one imports
// exactly the pj_offload functions it uses; a host that reports failure makes the module
// trap; and offloads the accelerators cannot take are refused with the layer named.
import { describe, expect, it } from "vitest";
import { compileModel, type Compiled } from "../../compiler/pipeline.js";
import { instantiate, runFloat } from "../../compiler/runner.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromShape } from "../../compiler/io.js";
import { offloadHost } from "../../targets/offload/host.js";
import { loadRramParams } from "../../targets/sim/rram.js";
import { lstmStepCycles, loadDevice } from "../../targets/sim/fpga-lstm.js";

function samples(c: Compiled, file: string): Float32Array[] {
  const io = c.manifest.inputs[0];
  return samplesFromShape(io.name, io.shape, readNpy(file), file, "input");
}

async function withHost(c: Compiled, opts: Parameters<typeof offloadHost>[0] = {}) {
  const host = offloadHost(opts);
  const m = await instantiate(c.wasm, c.manifest, "offloaded", host.imports);
  host.bind(m.memory);
  return { m, host };
}

const importsOf = (wasm: Uint8Array) => WebAssembly.Module.imports(new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>)).map((i) => `${i.module}.${i.name}`);

describe("FPGA LSTM offload", () => {
  it("sunspots Q4.4: bit-identical to the software module on every test window", async () => {
    const sw = await compileModel("examples/sunspots-lstm/model.onnx", { fixed: "Q4.4" });
    const off = await compileModel("examples/sunspots-lstm/model.onnx", { fixed: "Q4.4", offload: { "/lstm/LSTM": "fpga-lstm" } });
    expect(importsOf(sw.wasm)).toEqual([]);
    expect(importsOf(off.wasm)).toEqual(["pj_offload.fpga_lstm"]);
    expect(off.manifest.offload).toEqual([expect.objectContaining({ layer: "/lstm/LSTM", accelerator: "fpga-lstm", import: "pj_offload.fpga_lstm" })]);
    const m = await instantiate(sw.wasm, sw.manifest);
    const { m: mo, host } = await withHost(off);
    const xs = samples(sw, "examples/sunspots-lstm/x_test.npy");
    expect(xs.length).toBeGreaterThan(50);
    for (const x of xs) expect(Array.from(runFloat(mo, [x])[0])).toEqual(Array.from(runFloat(m, [x])[0]));
    const st = [...host.stats.values()];
    expect(st).toHaveLength(1);
    expect(st[0].calls).toBe(xs.length);
    // T = 24 steps of I = 1, H = 20 per call
    const d = loadDevice().design;
    expect(st[0].cycles! / xs.length).toBe(24 * lstmStepCycles(1, 20, d));
    expect(st[0].joules).toBeGreaterThan(0);
  });

  it("refuses layers the cell cannot take", async () => {
    await expect(compileModel("examples/sunspots-lstm/model.onnx", { offload: { "/lstm/LSTM": "fpga-lstm" } })).rejects.toThrow(/'\/lstm\/LSTM' .*is float; the FPGA cell computes in Q-format fixed point: compile with --fixed/);
    await expect(compileModel("examples/sunspots-lstm/model.onnx", { fixed: "Q4.4", offload: { "/fc/Gemm": "fpga-lstm" } })).rejects.toThrow(/is a Gemm; the FPGA cell takes LSTM layers only/);
    await expect(compileModel("examples/sunspots-lstm/model.onnx", { fixed: "Q4.4", offload: { lstm: "fpga-lstm" } })).rejects.toThrow(/no layer 'lstm' in .*layers it could take: '\/lstm\/LSTM'/);
  });
});

describe("RRAM crossbar offload", () => {
  it("cancer MLP: an ideal crossbar equals the float module within 1e-5; a real one does not", async () => {
    const sw = await compileModel("examples/cancer-mlp/model.onnx", {});
    const off = await compileModel("examples/cancer-mlp/model.onnx", { offload: { "/net/net.0/Gemm": "rram", "/net/net.3/Gemm": "rram" } });
    expect(importsOf(off.wasm)).toEqual(["pj_offload.rram_gemm"]);
    const m = await instantiate(sw.wasm, sw.manifest);
    const ideal = await withHost(off);
    const real = await withHost(off, { rram: { ...loadRramParams(), adcBits: 6, stuckRate: 0.01 } });
    const xs = samples(sw, "examples/cancer-mlp/x_test.npy");
    let worst = 0, moved = 0;
    for (const x of xs) {
      const want = runFloat(m, [x])[0], got = runFloat(ideal.m, [x])[0], noisy = runFloat(real.m, [x])[0];
      const scale = Math.max(...Array.from(want, Math.abs), 1e-6);
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
        moved = Math.max(moved, Math.abs(noisy[i] - want[i]) / scale);
      }
    }
    // the crossbar sums in float64 and the kernel in float32: differences are rounding only
    expect(worst).toBeLessThan(1e-5);
    expect(moved).toBeGreaterThan(1e-3);
    const st = [...ideal.host.stats.values()];
    expect(st.map((s) => s.layer).sort()).toEqual([0, 1]);
    expect(st.every((s) => s.calls === xs.length && s.joules > 0 && s.seconds > 0)).toBe(true);
  });

  it("a failing host makes the module trap; layers the crossbar cannot take are refused", async () => {
    const off = await compileModel("examples/cancer-mlp/model.onnx", { offload: { "/net/net.0/Gemm": "rram" } });
    const m = await instantiate(off.wasm, off.manifest, "failing", { pj_offload: { rram_gemm: () => 3 } });
    expect(() => runFloat(m, [new Float32Array(30)])).toThrow(WebAssembly.RuntimeError);
    await expect(compileModel("examples/cancer-mlp/model.onnx", { quantize: "int8", calibrate: "examples/cancer-mlp/calib.npy", offload: { "/net/net.0/Gemm": "rram" } }))
      .rejects.toThrow(/'\/net\/net.0\/Gemm' .*is int8; the crossbar takes the float layer/);
    await expect(compileModel("examples/digits-cnn/model.onnx", { offload: { "/features/features.0/Conv": "rram" } })).rejects.toThrow(/is a Conv; the crossbar takes fully connected layers/);
    await expect(compileModel("examples/ecg-tcn/model.onnx", { stream: true, offload: { x: "rram" } })).rejects.toThrow(/--offload with --stream is not supported/);
  });
});
