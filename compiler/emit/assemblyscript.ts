/**
 * IR to AssemblyScript. The generated model.ts is meant to be read: one commented kernel
 * call per node in run(), the arena and every constant named after the tensor it holds,
 * and small exported functions that tell a host where inputs and outputs live. Kernels are
 * imported from ./runtime-as/kernels/<op>.ts, so asc only compiles the ones used. Weights
 * are static data placed above the arena (memoryBase), so the arena starts at a fixed
 * address and nothing is allocated at run time.
 *
 * With a self-test, golden inputs and the reference interpreter's outputs are embedded and
 * `selftest()` returns how many output elements differ (int8 and int16: any difference;
 * float: beyond the stated tolerance).
 */
import { basename } from "node:path";
import { internal } from "../util/errors.js";
import { dtypeBytes, numel, tensor, type Graph, type Value } from "../ir/graph.js";
import { opDef } from "../ops/table.js";
import type { EmitCtx, TileSpec } from "../ops/types.js";
import type { MemoryPlan } from "../passes/plan-memory.js";
import { version } from "../util/paths.js";
import type { StreamSelfTest } from "../stream/selftest.js";
import { emitOffload, type OffloadInfo } from "./offload.js";
import { planTasks, type IntermittentOptions, type IntermittentPlan, type LayerCode } from "./intermittent.js";
import { intermittentSource } from "./intermittent-source.js";

export const ARENA_BASE = 16;

export interface SelfTest {
  inputs: Value[];
  outputs: Value[];
  /** Float outputs count as different when |got - want| > atol + rtol * |want|. */
  atol: number;
  rtol: number;
  /** Streaming modules: a golden sequence instead (compiler/stream/selftest.ts). */
  stream?: StreamSelfTest;
}

/** One emitted kernel call: the layer (index in the graph's nodes) and the call's arguments. */
export interface KernelCall {
  layer: number;
  kernel: string;
  args: Array<string | number>;
  /** How the call splits by output ranges (EmitCtx.call), when its emitter says. */
  tile?: TileSpec;
}

/**
 * The per-layer profiling hook: `layer(i)` before each layer's kernels and `layer(-1)` after
 * the last. In model.ts it is an empty inline function, so the shipped wasm holds no trace of
 * it; `picojoule profile` rebuilds model.ts with MARK_DECL_PROFILE instead, an import the
 * profiler answers (targets/profile/dynamic.ts).
 */
export const MARK = "layer";
export const MARK_DECL = `@inline function ${MARK}(i: i32): void {} // profiling hook: compiles to nothing (see picojoule profile)`;
export const MARK_DECL_PROFILE = `@external("pj", "mark") declare function ${MARK}(i: i32): void;`;

export interface Emitted {
  source: string;
  /** --intermittent: the tasks, pieces and non-volatile region (emit/intermittent.ts). */
  intermittent?: IntermittentPlan;
  /** Address of the arena: ARENA_BASE, or above the low scratch when a kernel uses one (EmitCtx.scratch). */
  arenaBase: number;
  /** Bytes of the low scratch at address 0 (0: none). */
  scratchBytes: number;
  /** Per layer (node index), the bytes of constant data first placed for it: its weights as stored (packed, sparse, shared), biases, requantization and lookup tables. */
  layerBytes: number[];
  /** Every kernel call, in the order of the source. */
  calls: KernelCall[];
  /** Layers run by the host's accelerators (--offload). */
  offloads: OffloadInfo[];
  memoryBase: number;
  /** Absolute addresses of the inputs and outputs in linear memory. */
  inputAddrs: number[];
  outputAddrs: number[];
}

const AS_TYPE: Record<string, string> = { float32: "f32", int8: "i8", uint8: "u8", int16: "i16", int32: "i32", bool: "u8" };

function ident(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(id) ? `_${id}` : id;
}

function literalList(dtype: string, values: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; i++) parts.push(dtype === "float32" ? String(Math.fround(values[i])) : String(values[i]));
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 16) lines.push("  " + parts.slice(i, i + 16).join(", "));
  return lines.join(",\n");
}

/** A streaming model's extras (compiler/stream/step-graph.ts): state windows and output periods. */
export interface StreamEmit {
  states: Array<{ name: string; fill: number }>;
  outputPeriods: number[];
  /** Nodes from this index on run after the outputs, in idle() or before the next step (step-graph.ts). */
  deferredFrom?: number;
  /** False: step() runs the deferred nodes itself, after the outputs. */
  deferToIdle?: boolean;
}

export function emitAssemblyScript(g: Graph, plan: MemoryPlan, selftest?: SelfTest, stream?: StreamEmit, intermittent?: IntermittentOptions): Emitted {
  const imports = new Map<string, Set<string>>();
  const consts: string[] = [];
  const constSym = new Map<string, string>();
  const used = new Set<string>();
  const body: string[] = [];
  const calls: KernelCall[] = [];
  const externals: string[] = [];
  const offloads: OffloadInfo[] = [];
  const arenaAddr = (off: number) => (off === 0 ? "A" : `A + ${off}`);
  let scratchBytes = 0;
  let current = -1; // the node being emitted (-1: module-level data such as stream state and self-test data)
  const layerBytes: number[] = g.nodes.map(() => 0);
  const BYTES: Record<string, number> = { f32: 4, i8: 1, u8: 1, i16: 2, i32: 4 };

  const unique = (base: string) => {
    let name = ident(base);
    for (let i = 1; used.has(name); i++) name = `${ident(base)}_${i}`;
    used.add(name);
    return name;
  };
  const addConst = (hint: string, dtype: string, values: ArrayLike<number>, comment: string) => {
    const t = AS_TYPE[dtype];
    if (!t) internal(`cannot place ${dtype} constant '${hint}' in the module`);
    const sym = unique(`C_${hint}`);
    consts.push(`// ${comment}\nconst ${sym}: usize = memory.data<${t}>([\n${literalList(dtype, values)}\n]);`);
    if (current >= 0) layerBytes[current] += values.length * BYTES[t];
    return sym;
  };

  // streaming state windows: writable static data, holding their reset value at start
  const stateSym = new Map<string, string>();
  const resetLines: string[] = [];
  for (const st of stream?.states ?? []) {
    const t = tensor(g, st.name);
    const n = numel(t.shape);
    const sym = addConst(st.name, t.dtype, new Array(n).fill(st.fill), `${st.name}: ${t.dtype} ${t.shape.join("x")}, streaming state (reset value ${st.fill})`);
    stateSym.set(st.name, sym);
    resetLines.push(t.dtype === "float32" ? `  for (let i = 0; i < ${n}; i++) store<f32>(${sym} + (<usize>i << 2), ${Math.fround(st.fill)});` : `  memory.fill(${sym}, ${st.fill & 255}, ${n});`);
  }

  const need = (file: string, fn: string) => {
    if (!imports.has(file)) imports.set(file, new Set());
    imports.get(file)!.add(fn);
  };
  const e: EmitCtx = {
    g,
    addr(name) {
      if (name === "") return "0";
      const t = tensor(g, name);
      if (t.data) {
        let sym = constSym.get(name);
        if (!sym) {
          sym = addConst(name, t.dtype, t.data, `${name}: ${t.dtype} ${t.shape.join("x")}${t.quant ? quantNote(t.quant) : ""}`);
          constSym.set(name, sym);
        }
        return sym;
      }
      const st = stateSym.get(name);
      if (st) return st;
      const off = plan.offsets.get(name);
      if (off === undefined) internal(`tensor '${name}' has no arena slot`);
      return arenaAddr(off!);
    },
    data(hint, dtype, values) {
      return addConst(hint, dtype, values, `${hint}: ${dtype} x${values.length}`);
    },
    call(file, fn, args, tile) {
      need(file, fn);
      calls.push({ layer: current, kernel: fn, args: [...args], ...(tile ? { tile } : {}) });
      body.push(`  ${fn}(${args.join(", ")});`);
    },
    external(decl) {
      if (!externals.includes(decl)) externals.push(decl);
    },
    hostCall(fn, args) {
      calls.push({ layer: current, kernel: fn, args: [...args] });
      body.push(`  if (${fn}(${args.join(", ")}) != 0) unreachable(); // the accelerator failed`);
    },
    scratch(bytes) {
      scratchBytes = Math.max(scratchBytes, bytes);
    },
  };

  let deferredBody = -1;
  const layerCode: LayerCode[] = [];
  for (const [index, node] of g.nodes.entries()) {
    current = index;
    const def = opDef(node.op);
    const period: number = stream ? node.attrs.period : 1;
    if (index === stream?.deferredFrom) deferredBody = body.length;
    const counter = deferredBody >= 0 ? "deferred_t" : "step_t";
    const mark = body.length;
    const ins = node.inputs.filter((x) => x).map((x) => `${x} ${tensor(g, x).shape.join("x")}`).join(", ");
    const outs = node.outputs.filter((x) => x).map((x) => `${x} ${tensor(g, x).shape.join("x")}`).join(", ");
    const arith = node.q?.fixed ? ` Q${node.q.fixed.m}.${node.q.fixed.f}` : node.q ? " int8" : "";
    body.push(`  ${MARK}(${index}); // ${node.op} '${node.name}'${arith}: ${ins} -> ${outs}`);
    if (def.alias) { body.push("  //   (view: shares its input's buffer)"); continue; }
    const firstLine = body.length, firstCall = calls.length;
    if (node.attrs.offload) offloads.push(emitOffload(node, index, e));
    else if (!def.emit) internal(`${node.op} has no kernel`);
    else def.emit(node, e);
    if (body.length > firstLine) layerCode.push({ layer: index, lines: body.slice(firstLine), calls: calls.slice(firstCall) });
    if (period > 1) body.splice(mark + 1, 0, `  if (${counter} % ${period} == 0) {`), body.push("  }");
  }
  const deferred = deferredBody >= 0 ? body.splice(deferredBody) : [];
  body.push(`  ${MARK}(-1);`);
  if (deferred.length) deferred.push(`  ${MARK}(-1);`);

  const arenaBase = Math.max(ARENA_BASE, Math.ceil(scratchBytes / 16) * 16);
  const inputAddrs = g.inputs.map((n) => arenaBase + plan.offsets.get(n)!);
  const outputAddrs = g.outputs.map((n) => arenaBase + plan.offsets.get(n)!);
  const ioFn = (name: string, vals: number[]) =>
    `export function ${name}(i: i32): usize {\n${vals.map((v, i) => `  if (i == ${i}) return ${v};`).join("\n")}\n  return 0;\n}`;
  const bytesOf = (names: string[]) => names.map((n) => { const t = tensor(g, n); return numel(t.shape) * dtypeBytes(t.dtype); });
  /** The selftest's comparison for an output of this dtype (integers exactly, float within a tolerance). */
  const diffFn = (dtype: string): string => {
    if (dtype === "float32") return "count_diff_f32";
    if (dtype === "int16") return "count_diff_i16";
    return "count_diff_i8";
  };

  let selftestSrc = "";
  if (selftest?.stream) {
    const st = selftest.stream;
    const lines: string[] = ["  reset();", "  let bad = 0;", "  let fired = 0;"];
    st.frames.forEach((f, k) => {
      const sym = addConst(`selftest_step${k}`, f.dtype, f.data, `golden frame ${k}`);
      lines.push(`  memory.copy(${inputAddrs[0]}, ${sym}, ${bytesOf(g.inputs)[0]});`, "  frame_ready = true;", "  fired = step();");
      st.expected[k].forEach((v, i) => {
        if (!v) return;
        const osym = addConst(`selftest_step${k}_out${i}`, v.dtype, v.data, `reference output ${i} at step ${k}`);
        const fn = diffFn(v.dtype);
        const tol = v.dtype === "float32" ? `, ${st.atol}, ${st.rtol}` : "";
        need("selftest", fn);
        lines.push(`  bad += (fired & ${1 << i}) == 0 ? ${v.data.length} : ${fn}(${outputAddrs[i]}, ${osym}, ${v.data.length}${tol});`);
      });
    });
    lines.push("  reset();", "  return bad;");
    selftestSrc = `\n/** Resets, runs the embedded golden sequence step by step, resets again; returns the number of output elements that differ from the reference. */\nexport function selftest(): i32 {\n${lines.join("\n")}\n}\n`;
  } else if (selftest) {
    const lines: string[] = [];
    selftest.inputs.forEach((v, i) => {
      const sym = addConst(`selftest_in${i}`, v.dtype, v.data, `golden input ${i}`);
      lines.push(`  memory.copy(${inputAddrs[i]}, ${sym}, ${bytesOf(g.inputs)[i]});`);
    });
    lines.push("  run();", "  let bad = 0;");
    selftest.outputs.forEach((v, i) => {
      const sym = addConst(`selftest_out${i}`, v.dtype, v.data, `reference output ${i}`);
      const fn = diffFn(v.dtype);
      const tol = v.dtype === "float32" ? `, ${selftest.atol}, ${selftest.rtol}` : "";
      need("selftest", fn);
      lines.push(`  bad += ${fn}(${outputAddrs[i]}, ${sym}, ${v.data.length}${tol});`);
    });
    lines.push("  return bad;");
    selftestSrc = `\n/** Runs the embedded golden inputs; returns the number of output elements that differ from the reference. */\nexport function selftest(): i32 {\n${lines.join("\n")}\n}\n`;
  }

  let ck: IntermittentPlan | undefined;
  if (intermittent) {
    if (stream) internal("--intermittent with --stream reached the emitter");
    ck = planTasks(g, plan, arenaBase, layerCode, intermittent);
    calls.splice(0, calls.length, ...ck.tasks.flatMap((t) => t.calls));
    need("../checkpoint", "ck_read");
    for (const f of ["ck_commit", "ck_seal", "ck_check", "ck_hash_ranges", "ck_id", "ck_set_id", "CK_SLOTS", "CK_SLOT"]) need("../checkpoint", f);
  }
  const memoryBase = Math.ceil((ck ? ck.nvBase + ck.nvBytes : arenaBase + plan.arenaBytes) / 16) * 16;
  const importLines = [...imports.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([file, fns]) => `import { ${[...fns].sort().join(", ")} } from "./runtime-as/${file.startsWith("../") ? file.slice(3) : `kernels/${file}`}";`);
  const fx = g.nodes.find((n) => n.q?.fixed)?.q?.fixed;
  const mode = fx ? `Q${fx.m}.${fx.f}` : g.nodes.some((n) => n.q) ? "int8" : "float32";
  const source = [
    `// ${basename(g.source)} compiled by picojoule ${version()} (${mode}). Generated: edit the model, not this file.`,
    `// Arena: ${plan.arenaBytes} bytes at address ${arenaBase} (lower bound ${plan.lowerBound}); constants start at ${memoryBase}.`,
    ...(scratchBytes ? [`// Low scratch: ${scratchBytes} bytes at address 0, below the arena (rows of activations, accumulators or unpacked weights for the kernels that use it).`] : []),
    ...importLines,
    "",
    `const A: usize = ${arenaBase};`,
    MARK_DECL,
    ...(externals.length ? ["// offloaded layers: host functions (compiler/emit/offload.ts documents the ABI)", ...externals] : []),
    "",
    ...consts,
    "",
    ...(stream ? streamFns(body, deferred, resetLines, stream) : ck ? intermittentSource(ck, MARK) : [
      "/** One inference: reads the input buffers, writes the output buffers. */",
      "export function run(): void {",
      ...body,
      "}",
    ]),
    "",
    `/** Address of input i (${g.inputs.map((n, i) => `${i}: '${n}' ${tensor(g, n).dtype} ${tensor(g, n).shape.join("x")}`).join("; ")}). */`,
    stream
      ? `export function input_ptr(i: i32): usize {\n  if (i == 0) { frame_ready = true; return ${inputAddrs[0]}; }\n  return 0;\n}`
      : ioFn("input_ptr", inputAddrs),
    ioFn("input_bytes", bytesOf(g.inputs)),
    `/** Address of output i (${g.outputs.map((n, i) => `${i}: '${n}' ${tensor(g, n).dtype} ${tensor(g, n).shape.join("x")}`).join("; ")}). */`,
    ioFn("output_ptr", outputAddrs),
    ioFn("output_bytes", bytesOf(g.outputs)),
    `export function arena_bytes(): i32 { return ${plan.arenaBytes}; }`,
    selftestSrc,
  ].join("\n");
  return { source, arenaBase, scratchBytes, layerBytes, calls, offloads, memoryBase, inputAddrs, outputAddrs, ...(ck ? { intermittent: ck } : {}) };
}

/**
 * step() and reset() of a streaming model: step runs the layers due at this step (a layer
 * with period P runs when step_t % P == 0) and returns a bit mask of the outputs it wrote,
 * or -1 without touching any state when the host did not ask input_ptr(0) for the frame's
 * address since the previous step (a step on a stale or unwritten frame would be silently
 * wrong);
 * reset() restores every state window and makes recurrent layers restart from their
 * initial state (stream_mode 1 on the first step after a reset, 2 later).
 */
function streamFns(body: string[], deferred: string[], resetLines: string[], stream: StreamEmit): string[] {
  const fired = stream.outputPeriods.map((p, i) => (p === 1 ? `  fired |= ${1 << i};` : `  if (step_t % ${p} == 0) fired |= ${1 << i};`));
  const later = deferred.length > 0 && stream.deferToIdle === true;
  const after = deferred.length > 0 && !later ? ["  // deferred: these layers serve later steps, and read this step's frame", ...deferred.map((l) => l.replace("deferred_t", "step_t"))] : [];
  return [
    ...(later ? [
      "/** The step whose deferred work (the predictive deep path) is still to run, or -1. */",
      "let deferred_t: i32 = -1;",
      "",
      "/** The deferred work of step deferred_t: layers whose results serve later steps, not this step's outputs. */",
      "function run_deferred(): void {",
      ...deferred,
      "  deferred_t = -1;",
      "}",
      "",
      "/** Runs the last step's deferred work now (call it after reading the outputs, before the next frame is due); step() does it otherwise. */",
      "export function idle(): void {",
      "  if (deferred_t >= 0) run_deferred();",
      "}",
      "",
    ] : []),
    "/** Steps since the last reset. */",
    "let step_t: i32 = 0;",
    "/** 1 on the first step after a reset (recurrent layers start from their initial state), then 2. */",
    "let stream_mode: i32 = 1;",
    "",
    "/** Set by input_ptr(0): a new frame is being written; step() consumes it. */",
    "let frame_ready: bool = false;",
    "",
    "/**",
    " * Consumes one input frame; returns a bit mask of the outputs written (bit i: output i),",
    " * or -1, changing nothing, when no frame was announced by input_ptr(0) since the last step.",
    " */",
    "export function step(): i32 {",
    "  if (!frame_ready) return -1;",
    "  frame_ready = false;",
    ...(later ? ["  if (deferred_t >= 0) run_deferred();"] : []),
    ...body,
    "  let fired = 0;",
    ...fired,
    ...after,
    ...(later ? ["  deferred_t = step_t;"] : []),
    "  step_t++;",
    "  stream_mode = 2;",
    "  return fired;",
    "}",
    "",
    "/** Forgets the stream: clears every layer's window and the recurrent state. */",
    "export function reset(): void {",
    ...resetLines,
    ...(later ? ["  deferred_t = -1;"] : []),
    "  frame_ready = false;",
    "  step_t = 0;",
    "  stream_mode = 1;",
    "}",
    "",
    "/** Steps consumed since the last reset. */",
    "export function steps_since_reset(): i32 { return step_t; }",
  ];
}

function quantNote(q: { scale: number[]; zeroPoint: number[] }): string {
  return q.scale.length === 1 ? ` (scale ${q.scale[0]}, zero point ${q.zeroPoint[0]})` : ` (${q.scale.length} per-channel scales)`;
}
