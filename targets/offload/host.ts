/**
 * The host side of the offload ABI (compiler/emit/offload.ts): the "pj_offload" imports a
 * module compiled with --offload calls, answered by the simulated accelerators. Each call
 * reads its parameter block and buffers from the module's memory, runs the layer on the
 * simulator (targets/sim/fpga-lstm.ts, targets/sim/rram.ts) and writes the outputs back;
 * the simulators keep per-layer state (the FPGA cell's weight ROMs, the programmed
 * crossbar) across calls, keyed by the layer index in the parameter block, and count the
 * accelerator's cycles, time and energy. A malformed block returns a non-zero code, on
 * which the module traps.
 */
import { FpgaLstmCell, inferenceCost, loadDevice, type FpgaDevice } from "../sim/fpga-lstm.js";
import { CrossbarLayer, idealParams, loadRramParams, type RramParams } from "../sim/rram.js";
import { ABI_VERSION, OFFLOAD_MODULE } from "../../compiler/emit/offload.js";

export interface AcceleratorStats {
  layer: number;
  accelerator: "fpga-lstm" | "rram";
  calls: number;
  seconds: number;
  joules: number;
  /** FPGA only: clock cycles. */
  cycles?: number;
}

export interface OffloadHostOptions {
  fpga?: FpgaDevice;
  /** Crossbar parameters; default targets/rram/default.json with every non-ideality off (ideal). */
  rram?: RramParams;
}

export interface OffloadHost {
  imports: WebAssembly.Imports;
  /** Call after instantiation: the module's memory. */
  bind(memory: WebAssembly.Memory): void;
  stats: Map<number, AcceleratorStats>;
  /** The last failure's message (the module traps on a non-zero return). */
  lastError?: string;
}

export function offloadHost(opts: OffloadHostOptions = {}): OffloadHost {
  let memory: WebAssembly.Memory | undefined;
  const cells = new Map<number, FpgaLstmCell>();
  const bars = new Map<number, CrossbarLayer>();
  const stats = new Map<number, AcceleratorStats>();
  const host: OffloadHost = { imports: {}, bind(m) { memory = m; }, stats };
  const fail = (msg: string) => { host.lastError = msg; return 1; };
  const mem = () => {
    if (!memory) throw new Error("offload host: bind(memory) was not called after instantiation");
    return memory.buffer;
  };
  const words = (p: number, n: number) => new Int32Array(mem(), p, n);
  const stat = (layer: number, accelerator: AcceleratorStats["accelerator"]) => {
    let s = stats.get(layer);
    if (!s) stats.set(layer, (s = { layer, accelerator, calls: 0, seconds: 0, joules: 0, ...(accelerator === "fpga-lstm" ? { cycles: 0 } : {}) }));
    return s;
  };

  function fpgaLstm(p: number, x: number, w: number, r: number, bias: number, h0: number, c0: number, y: number, yh: number, yc: number): number {
    const [ver, layer, T, B, I, H, m, f, eb, xt, xb, yt, yb, sb] = words(p, 14);
    if (ver !== ABI_VERSION) return fail(`fpga_lstm: parameter block version ${ver}, this host speaks ${ABI_VERSION}`);
    if (eb !== 1 && eb !== 2) return fail(`fpga_lstm: element size ${eb} bytes (1 or 2)`);
    const buf = mem();
    const read = (addr: number, n: number): Int32Array => Int32Array.from(eb === 1 ? new Int8Array(buf, addr, n) : new Int16Array(buf, addr, n));
    const write = (addr: number, off: number, v: Int32Array) => {
      const dst = eb === 1 ? new Int8Array(buf, addr + off * eb, v.length) : new Int16Array(buf, addr + off * eb, v.length);
      dst.set(v);
    };
    let cell = cells.get(layer);
    if (!cell) {
      cell = new FpgaLstmCell({ I, H, fmt: { m, f }, W: read(w, 4 * H * I), R: read(r, 4 * H * H), B: bias ? read(bias, 4 * H) : undefined, device: opts.fpga });
      cells.set(layer, cell);
    }
    const s = stat(layer, "fpga-lstm");
    for (let b = 0; b < B; b++) {
      const xs = new Int32Array(T * I);
      for (let t = 0; t < T; t++) xs.set(read(x + (t * xt + b * xb) * eb, I), t * I);
      const run = cell.run(xs, h0 ? read(h0 + b * sb * eb, H) : undefined, c0 ? read(c0 + b * sb * eb, H) : undefined);
      if (y) for (let t = 0; t < T; t++) write(y, t * yt + b * yb, run.y.subarray(t * H, (t + 1) * H));
      if (yh) write(yh, b * sb, run.h);
      if (yc) write(yc, b * sb, run.c);
      const cost = inferenceCost(run.cycles, cell.device);
      s.cycles! += run.cycles; s.seconds += cost.seconds; s.joules += cost.joules;
    }
    s.calls++;
    return 0;
  }

  function rramGemm(p: number, a: number, w: number, bias: number, y: number): number {
    const [ver, layer, M, N, K, loBits, hiBits] = words(p, 7);
    if (ver !== ABI_VERSION) return fail(`rram_gemm: parameter block version ${ver}, this host speaks ${ABI_VERSION}`);
    const buf = mem();
    const [lo, hi] = new Float32Array(new Int32Array([loBits, hiBits]).buffer);
    let bar = bars.get(layer);
    if (!bar) {
      const params = opts.rram ?? idealParams(loadRramParams());
      bar = new CrossbarLayer(new Float32Array(buf, w, N * K), N, K, params, bias ? { bias: new Float32Array(buf, bias, N) } : {});
      bars.set(layer, bar);
    }
    const before = { ...bar.stats };
    const out = bar.runMany(new Float32Array(buf, a, M * K), M);
    const yv = new Float32Array(buf, y, M * N);
    for (let i = 0; i < M * N; i++) yv[i] = Math.min(Math.max(out[i], lo), hi);
    const s = stat(layer, "rram");
    s.calls++;
    s.seconds += bar.stats.latencyS - before.latencyS;
    s.joules += (bar.stats.readJ - before.readJ) + (bar.stats.dacJ - before.dacJ) + (bar.stats.adcJ - before.adcJ);
    return 0;
  }

  host.imports = { [OFFLOAD_MODULE]: { fpga_lstm: fpgaLstm, rram_gemm: rramGemm } };
  return host;
}
