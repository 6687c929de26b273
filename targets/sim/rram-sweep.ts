/**
 * Runs a shipped example through RRAM crossbars (targets/sim/rram.ts) and reports accuracy
 * against ADC bits and stuck-device rate, with and without the stuck-device compensation,
 * plus energy and latency per inference. The model is imported and lowered as the compiler
 * does (importAndLower), then evaluated by a small loop over g.nodes: Conv (im2col, one
 * crossbar MVM per output position; grouped convolutions as one block-diagonal matrix),
 * canonical Gemm and MatMul by a constant 2-D matrix run on the crossbar, every other node
 * through its float reference (opDef(op).ref). Fused activations are applied digitally
 * after the crossbar. Layer calibration (DAC and ADC ranges, compensation statistics) uses
 * the float activations of the example's calib.npy.
 *
 * Default example: digits-cnn (4 Conv + 2 Gemm, 450 test images), where ADC resolution and
 * stuck devices visibly move accuracy; cancer-mlp (3 small Gemm) works too (--example).
 * Usage: node dist/targets/sim/rram-sweep.js --out DIR [--example DIR] [--params FILE]
 *        [--samples N] [--seeds 1,2,3]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { importAndLower } from "../../compiler/pipeline.js";
import { opDef } from "../../compiler/ops/table.js";
import { makeValue, tensor, type Graph, type Node, type Value } from "../../compiler/ir/graph.js";
import { readNpy } from "../../compiler/util/npy.js";
import { samplesFromNpy } from "../../compiler/io.js";
import { packageRoot } from "../../compiler/util/paths.js";
import { Calibration, CrossbarLayer, loadRramParams, mixSeed, type Compensation, type CrossbarStats, type RramParams } from "./rram.js";

/** A node that runs on the crossbar: its matrix W [N, K] and how its input becomes vectors. */
export interface XbarNode {
  index: number; node: Node; N: number; K: number; W: Float64Array; bias?: Float32Array;
  /** The input vectors of one execution (rows of `K`) and how to place the outputs. */
  vectors(x: Value): Float64Array;
  /** Outputs [count][N] of the vectors, fused activation applied, in the node's layout. */
  assemble(ys: Float64Array, count: number, outShape: number[]): Value;
}

function actClamp(node: Node, v: number): number {
  const lo = node.attrs.actMin ?? -Infinity, hi = node.attrs.actMax ?? Infinity;
  return v < lo ? lo : v > hi ? hi : v;
}

/** The nodes of g the crossbar can run (Conv, canonical Gemm, MatMul by a constant 2-D B). */
export function crossbarNodes(g: Graph): XbarNode[] {
  const out: XbarNode[] = [];
  g.nodes.forEach((node, index) => {
    const wt = node.inputs[1] ? g.tensors.get(node.inputs[1]) : undefined;
    const bt = node.inputs[2] ? g.tensors.get(node.inputs[2]) : undefined;
    if (!wt?.data || node.q) return;
    const bias = bt?.data ? Float32Array.from(bt.data) : undefined;
    if ((node.op === "Gemm" && node.attrs.canonical) || (node.op === "MatMul" && wt.shape.length === 2)) {
      const gemm = node.op === "Gemm";
      const [N, K] = gemm ? wt.shape : [wt.shape[1], wt.shape[0]];
      const W = new Float64Array(N * K);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) W[n * K + k] = gemm ? wt.data[n * K + k] : wt.data[k * N + n];
      out.push({
        index, node, N, K, W, bias: gemm ? bias : undefined,
        vectors: (x) => new Float64Array(x.data),
        assemble: (ys, _count, shape) => makeValue("float32", shape, ys.map((v) => actClamp(node, v))),
      });
    } else if (node.op === "Conv" && (wt.shape.length === 4 || wt.shape.length === 3)) {
      const xs = tensor(g, node.inputs[0]).shape, sp = xs.length - 2;
      const [M, cg] = wt.shape, G = node.attrs.group as number, C = xs[1];
      const KH = sp === 1 ? 1 : wt.shape[2], KW = wt.shape[wt.shape.length - 1], kk = KH * KW;
      const at = (a: number[], i: number) => (sp === 1 ? (i === 0 ? 1 : a[0]) : a[i]);
      const [sh, sw] = [at(node.attrs.strides, 0), at(node.attrs.strides, 1)], [dh, dw] = [at(node.attrs.dilations, 0), at(node.attrs.dilations, 1)];
      const pt = sp === 1 ? 0 : node.attrs.pads[0], pl = node.attrs.pads[sp - 1];
      const [OH, OW] = [at(node.attrs.out, 0), at(node.attrs.out, 1)];
      const H = sp === 1 ? 1 : xs[2], Wd = xs[xs.length - 1], K = C * kk, mg = M / G;
      const W = new Float64Array(M * K); // block-diagonal for groups: zeros outside a group's inputs
      for (let m = 0; m < M; m++) {
        const c0 = Math.floor(m / mg) * cg;
        for (let c = 0; c < cg; c++) for (let t = 0; t < kk; t++) W[m * K + (c0 + c) * kk + t] = wt.data[(m * cg + c) * kk + t];
      }
      let table: Int32Array | undefined;
      /** im2col of one image: for each output position and patch entry, the input offset (-1 = padding). */
      const gather = () => {
        if (table) return table;
        table = new Int32Array(OH * OW * K).fill(-1);
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
          const o = (oh * OW + ow) * K;
          for (let c = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) {
            const ih = oh * sh - pt + kh * dh;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * sw - pl + kw * dw;
              if (iw >= 0 && iw < Wd) table[o + c * kk + kh * KW + kw] = (c * H + ih) * Wd + iw;
            }
          }
        }
        return table;
      };
      out.push({
        index, node, N: M, K, W, bias,
        vectors: (x) => {
          const B = x.shape[0], P = OH * OW, v = new Float64Array(B * P * K), idx = gather();
          for (let b = 0, o = 0; b < B; b++) for (let j = 0, base = b * C * H * Wd; j < idx.length; j++, o++) if (idx[j] >= 0) v[o] = x.data[base + idx[j]];
          return v;
        },
        assemble: (ys, count, shape) => {
          const y = makeValue("float32", shape), P = OH * OW;
          for (let r = 0; r < count; r++) {
            const b = Math.floor(r / P), pos = r % P;
            for (let m = 0; m < M; m++) y.data[(b * M + m) * P + pos] = actClamp(node, ys[r * M + m]);
          }
          return y;
        },
      });
    }
  });
  return out;
}

/** Evaluates g on one feed; `hook` may replace a node's evaluation (return undefined to keep ref). */
export function evaluate(g: Graph, feeds: Record<string, Value>, hook?: (node: Node, index: number, ins: Value[]) => Value | undefined): Record<string, Value> {
  const env = new Map<string, Value>();
  for (const [name, t] of g.tensors) if (t.data) env.set(name, { dtype: t.dtype, shape: t.shape, data: t.data });
  for (const [k, v] of Object.entries(feeds)) env.set(k, v);
  g.nodes.forEach((node, index) => {
    const ins = node.inputs.map((n) => (n === "" ? undefined : env.get(n))) as Value[];
    const h = hook?.(node, index, ins);
    const outs = h ? [h] : opDef(node.op).ref(node, ins);
    node.outputs.forEach((n, i) => { if (n) env.set(n, outs[i]); });
  });
  return Object.fromEntries(g.outputs.map((n) => [n, env.get(n)!]));
}

/** Runs node xn's input through a programmed layer. */
export function runOnCrossbar(g: Graph, xn: XbarNode, layer: CrossbarLayer, x: Value): Value {
  const v = xn.vectors(x), count = v.length / xn.K;
  return xn.assemble(layer.runMany(v, count), count, tensor(g, xn.node.outputs[0]).shape);
}

/** Per crossbar node: calibration vectors from the float activations of the calibration feeds (at most `cap`, evenly spaced). */
export function calibrateNodes(g: Graph, xns: XbarNode[], feeds: Array<Record<string, Value>>, cap = 4096): Map<number, Calibration> {
  const parts = new Map<number, Float64Array[]>(xns.map((x) => [x.index, []]));
  const byIndex = new Map(xns.map((x) => [x.index, x]));
  for (const f of feeds) evaluate(g, f, (_n, i, ins) => { const x = byIndex.get(i); if (x) parts.get(i)!.push(x.vectors(ins[0])); return undefined; });
  const res = new Map<number, Calibration>();
  for (const x of xns) {
    const all = parts.get(x.index)!, total = all.reduce((s, a) => s + a.length / x.K, 0), keep = Math.min(cap, total);
    const flat = new Float64Array(all.reduce((s, a) => s + a.length, 0));
    let o = 0;
    for (const a of all) { flat.set(a, o); o += a.length; }
    const data = new Float64Array(keep * x.K);
    for (let i = 0; i < keep; i++) { const s = Math.floor((i * total) / keep); data.set(flat.subarray(s * x.K, (s + 1) * x.K), i * x.K); }
    res.set(x.index, new Calibration(data, x.K));
  }
  return res;
}

function argmax(y: ArrayLike<number>): number {
  let b = 0;
  for (let i = 1; i < y.length; i++) if (y[i] > y[b]) b = i;
  return b;
}

export interface SweepOptions {
  example?: string; params?: RramParams | string;
  adcBits?: number[]; stuckRates?: number[]; seeds?: number[];
  compensations?: Compensation[];
  /** First `samples` test samples (default all). */
  samples?: number;
}
export interface SweepRow { adcBits: number | null; stuckRate: number; compensation: Compensation | "float"; accuracy: number; perSeed: number[] }
export interface LayerCost { node: string; op: string; matrix: string; tiles: number; mvms: number; readJ: number; dacJ: number; adcJ: number; latencyS: number }
export interface SweepResult {
  rows: SweepRow[]; markdown: string; svg: string; floatAccuracy: number;
  /** Per-inference energy and latency per layer at the params' adcBits (seed 1, no stuck devices). */
  cost: LayerCost[];
  /** Per-inference totals for each swept ADC resolution. */
  costByBits: Array<{ adcBits: number; energyJ: number; latencyS: number }>;
  seconds: number;
}

export function rramSweep(opts: SweepOptions = {}): SweepResult {
  const t0 = Date.now();
  const dir = opts.example ?? join(packageRoot(), "examples/digits-cnn");
  const base = typeof opts.params === "object" ? opts.params : loadRramParams(opts.params);
  const bitsList = opts.adcBits ?? [4, 5, 6, 7, 8], rates = opts.stuckRates ?? [0, 0.001, 0.005, 0.01];
  const seeds = opts.seeds ?? [1, 2, 3], comps = opts.compensations ?? (["none", "full"] as Compensation[]);
  const g = importAndLower(join(dir, "model.onnx"));
  const xns = crossbarNodes(g), byIndex = new Map(xns.map((x) => [x.index, x]));
  const calib = calibrateNodes(g, xns, samplesFromNpy(g, readNpy(join(dir, "calib.npy")), "calib.npy", "calibration set"));
  let tests = samplesFromNpy(g, readNpy(join(dir, "x_test.npy")), "x_test.npy", "test set");
  let labels = Array.from(readNpy(join(dir, "y_test.npy")).data, Number);
  if (opts.samples !== undefined) { tests = tests.slice(0, opts.samples); labels = labels.slice(0, opts.samples); }
  const out = g.outputs[0];
  const accuracy = (hook?: Parameters<typeof evaluate>[2]) =>
    tests.filter((f, i) => argmax(evaluate(g, f, hook)[out].data) === labels[i]).length / tests.length;
  const floatAccuracy = accuracy();
  const program = (p: RramParams, seed: number) => new Map(xns.map((x) => [x.index, new CrossbarLayer(x.W, x.N, x.K,
    { ...p, seed: mixSeed(seed, x.index) }, { calib: calib.get(x.index), bias: x.bias })]));
  const hookOf = (layers: Map<number, CrossbarLayer>) => (node: Node, i: number, ins: Value[]) => {
    const x = byIndex.get(i);
    return x ? runOnCrossbar(g, x, layers.get(i)!, ins[0]) : undefined;
  };
  const rows: SweepRow[] = [{ adcBits: null, stuckRate: 0, compensation: "float", accuracy: floatAccuracy, perSeed: [floatAccuracy] }];
  const acc = new Map<string, number[]>();
  for (const rate of rates) for (const comp of comps) for (const seed of seeds) {
    // without stuck devices the compensation has nothing to act on: the arrays are identical (tested)
    if (rate === 0 && comp !== "none" && comps.includes("none")) continue;
    const layers = program({ ...base, stuckRate: rate, compensation: comp }, seed);
    for (const b of bitsList) {
      for (const l of layers.values()) l.adcBits = b;
      const key = `${b}/${rate}/${comp}`;
      acc.set(key, [...(acc.get(key) ?? []), accuracy(hookOf(layers))]);
    }
  }
  for (const b of bitsList) for (const rate of rates) for (const comp of comps) {
    const perSeed = acc.get(`${b}/${rate}/${comp}`) ?? acc.get(`${b}/${rate}/none`)!;
    rows.push({ adcBits: b, stuckRate: rate, compensation: comp, accuracy: perSeed.reduce((s, a) => s + a, 0) / perSeed.length, perSeed });
  }
  // energy and latency per inference, no stuck devices, seed 1
  const costAt = (bits: number | null) => {
    const layers = program({ ...base, stuckRate: 0, compensation: "none" }, 1);
    for (const l of layers.values()) l.adcBits = bits;
    const n = Math.min(tests.length, 50);
    for (const f of tests.slice(0, n)) evaluate(g, f, hookOf(layers));
    return xns.map((x): LayerCost => {
      const l = layers.get(x.index)!, s: CrossbarStats = l.stats;
      return { node: x.node.name, op: x.node.op, matrix: `${x.N}x${x.K}`, tiles: l.tilesR * l.tilesC, mvms: s.mvms / n, readJ: s.readJ / n, dacJ: s.dacJ / n, adcJ: s.adcJ / n, latencyS: s.latencyS / n };
    });
  };
  const cost = costAt(base.adcBits);
  const costByBits = bitsList.map((b) => {
    const c = costAt(b);
    return { adcBits: b, energyJ: c.reduce((s, l) => s + l.readJ + l.dacJ + l.adcJ, 0), latencyS: c.reduce((s, l) => s + l.latencyS, 0) };
  });
  const res = { rows, floatAccuracy, cost, costByBits, seconds: (Date.now() - t0) / 1000 };
  const ctx = { base, bitsList, rates, comps, seeds, samples: tests.length, example: dir.split("/").filter(Boolean).pop()! };
  return { ...res, markdown: markdownOf(res, ctx), svg: svgOf(rows, bitsList, rates, comps, floatAccuracy) };
}

const pct = (a: number) => (100 * a).toFixed(2);
const rateStr = (r: number) => `${+(100 * r).toFixed(3)}%`;

interface Ctx { base: RramParams; bitsList: number[]; rates: number[]; comps: Compensation[]; seeds: number[]; samples: number; example: string }

function markdownOf(r: Omit<SweepResult, "markdown" | "svg">, c: Ctx): string {
  const p = c.base, L: string[] = [];
  L.push(`# RRAM crossbar sweep: ${c.example}`, "");
  L.push(`Top-1 accuracy (%) on ${c.samples} test samples, mean over seeds ${c.seeds.join(", ")}. Crossbar: ${p.rows}x${p.cols} tiles of differential pairs, ` +
    `${p.weightBits}-bit devices, ${p.dacBits}-bit DACs, Ron ${p.ron / 1e3} kOhm, Roff ${p.roff / 1e3} kOhm, ${100 * p.writeSigma}% write error, ` +
    `source/line ${p.rSource}/${p.rLine} Ohm, ADC range ${p.adcRange}. "comp" = ${c.comps.filter((x) => x !== "none").join("/")} compensation (targets/sim/rram.ts).`, "");
  // without stuck devices the compensation changes nothing (identical arrays): one column
  const pairs = c.rates.flatMap((rt) => (rt === 0 && c.comps.includes("none") ? [[rt, "none"] as const] : c.comps.map((cp) => [rt, cp] as const)));
  const cols = pairs.map(([rt, cp]) => (rt === 0 ? `stuck 0%` : `stuck ${rateStr(rt)} ${cp === "none" ? "none" : "comp"}`));
  L.push(`| ADC bits | ${cols.join(" | ")} |`, `| --- | ${cols.map(() => "---:").join(" | ")} |`);
  L.push(`| float (software) | ${cols.map(() => pct(r.floatAccuracy)).join(" | ")} |`);
  for (const b of c.bitsList) {
    const cells = pairs.map(([rt, cp]) => pct(r.rows.find((x) => x.adcBits === b && x.stuckRate === rt && x.compensation === cp)!.accuracy));
    L.push(`| ${b} | ${cells.join(" | ")} |`);
  }
  L.push("", `Energy and latency per inference at ${p.adcBits}-bit ADCs (no stuck devices; read = V^2 G t over all devices, DAC/ADC per conversion; digital adds not counted):`, "");
  L.push("| layer | op | matrix (out x in) | tiles | MVMs | read (nJ) | DAC (nJ) | ADC (nJ) | latency (us) |", "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  const nj = (j: number) => (j * 1e9).toFixed(3), us = (s: number) => (s * 1e6).toFixed(3);
  for (const l of r.cost) L.push(`| ${l.node} | ${l.op} | ${l.matrix} | ${l.tiles} | ${l.mvms} | ${nj(l.readJ)} | ${nj(l.dacJ)} | ${nj(l.adcJ)} | ${us(l.latencyS)} |`);
  const tot = (f: (l: LayerCost) => number) => r.cost.reduce((s, l) => s + f(l), 0);
  L.push(`| total | | | ${tot((l) => l.tiles)} | ${tot((l) => l.mvms)} | ${nj(tot((l) => l.readJ))} | ${nj(tot((l) => l.dacJ))} | ${nj(tot((l) => l.adcJ))} | ${us(tot((l) => l.latencyS))} |`);
  L.push("", "| ADC bits | energy per inference (nJ) | latency per inference (us) |", "| ---: | ---: | ---: |");
  for (const b of r.costByBits) L.push(`| ${b.adcBits} | ${nj(b.energyJ)} | ${us(b.latencyS)} |`);
  return L.join("\n") + "\n";
}

/** A hand-written SVG line chart: accuracy vs ADC bits, one colour per stuck rate, dashed = no compensation. */
function svgOf(rows: SweepRow[], bits: number[], rates: number[], comps: Compensation[], floatAcc: number): string {
  const W = 720, H = 420, m = { l: 60, r: 210, t: 40, b: 50 }, pw = W - m.l - m.r, ph = H - m.t - m.b;
  const vals = rows.map((r) => r.accuracy);
  const lo = Math.max(0, Math.floor(Math.min(...vals) * 10) / 10), hi = 1;
  const xs = (b: number) => m.l + (bits.length === 1 ? pw / 2 : ((b - bits[0]) / (bits[bits.length - 1] - bits[0])) * pw);
  const ys = (a: number) => m.t + ((hi - a) / (hi - lo || 1)) * ph;
  const colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
  const s: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="14">Accuracy vs ADC bits, by stuck-device rate (dashed: no compensation)</text>`];
  const tick = hi - lo >= 0.5 ? 0.1 : hi - lo >= 0.2 ? 0.05 : 0.01;
  for (let k = 0; lo + k * tick <= hi + 1e-9; k++) {
    const a = lo + k * tick, y = ys(a).toFixed(1);
    s.push(`<line x1="${m.l}" y1="${y}" x2="${m.l + pw}" y2="${y}" stroke="#ddd"/>`, `<text x="${m.l - 8}" y="${y}" text-anchor="end" dy="4">${(100 * a).toFixed(0)}%</text>`);
  }
  for (const b of bits) s.push(`<text x="${xs(b).toFixed(1)}" y="${m.t + ph + 18}" text-anchor="middle">${b}</text>`);
  s.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">ADC bits</text>`,
    `<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="black"/>`, `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${ys(floatAcc).toFixed(1)}" x2="${m.l + pw}" y2="${ys(floatAcc).toFixed(1)}" stroke="#888" stroke-dasharray="2,3"/>`);
  let ly = m.t + 10;
  const legend = (color: string, dash: string, label: string) => {
    s.push(`<line x1="${m.l + pw + 15}" y1="${ly}" x2="${m.l + pw + 45}" y2="${ly}" stroke="${color}" stroke-width="2" ${dash}/>`, `<text x="${m.l + pw + 52}" y="${ly + 4}">${label}</text>`);
    ly += 18;
  };
  legend("#888", `stroke-dasharray="2,3"`, `float ${pct(floatAcc)}%`);
  rates.forEach((rt, i) => comps.forEach((cp) => {
    if (rt === 0 && cp !== "none" && comps.includes("none")) return; // the same line as without compensation
    const color = colors[i % colors.length], dash = cp === "none" ? `stroke-dasharray="6,4"` : "";
    const pts = bits.map((b) => { const r = rows.find((x) => x.adcBits === b && x.stuckRate === rt && x.compensation === cp)!; return [xs(b), ys(r.accuracy)]; });
    s.push(`<polyline fill="none" stroke="${color}" stroke-width="2" ${dash} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"/>`);
    for (const [x, y] of pts) s.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`);
    legend(color, dash, rt === 0 ? "no stuck devices" : `stuck ${rateStr(rt)}, ${cp === "none" ? "no comp." : "comp."}`);
  }));
  s.push("</svg>");
  return s.join("\n") + "\n";
}

function main(argv: string[]): void {
  const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const outDir = arg("--out");
  if (!outDir) { console.error("usage: rram-sweep --out DIR [--example DIR] [--params FILE] [--samples N] [--seeds 1,2,3]"); process.exit(2); }
  const r = rramSweep({
    example: arg("--example") && resolve(arg("--example")!), params: arg("--params") && resolve(arg("--params")!),
    samples: arg("--samples") ? Number(arg("--samples")) : undefined, seeds: arg("--seeds")?.split(",").map(Number),
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "rram-sweep.md"), r.markdown);
  writeFileSync(join(outDir, "rram-sweep.svg"), r.svg);
  console.log(r.markdown);
  console.log(`(${r.seconds.toFixed(1)} s; wrote ${join(outDir, "rram-sweep.md")} and rram-sweep.svg)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(process.argv.slice(2));
