/**
 * Compiles generated AssemblyScript in-process with the assemblyscript compiler API, then
 * finishes the module for WAMR with binaryen: the memory gets a maximum equal to its
 * initial size (so it can never grow), and `__data_end` / `__heap_base` are exported so a
 * WAMR host can trim the last page. Options come from the repository's asconfig.json. The
 * generated file imports kernels as "./runtime-as/..."; those reads are served from this
 * package's runtime-as/ folder, so the output folder needs no copy of the runtime.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { internal } from "../util/errors.js";
import { packageRoot } from "../util/paths.js";

export interface AscResult {
  wasm: Uint8Array;
  wat: string;
  dataEnd: number;
  heapBase: number;
  memoryPages: number;
}

export interface AscOptions {
  /** Extra asconfig target to apply on top of the default options (e.g. "simd"). */
  target?: string;
  /** Lowest address of emitted data segments (the arena lies below it). */
  memoryBase: number;
}

function ascArgs(target?: string): string[] {
  const cfg = JSON.parse(readFileSync(join(packageRoot(), "asconfig.json"), "utf8"));
  const opts = { ...cfg.options, ...(target ? cfg.targets?.[target] : {}) };
  const args: string[] = [];
  for (const [k, v] of Object.entries(opts)) {
    if (k.startsWith("/")) continue;
    if (v === true) args.push(`--${k}`);
    else if (v === false) continue;
    else if (Array.isArray(v)) { if (v.length) args.push(`--${k}`, v.join(",")); }
    else args.push(`--${k}`, String(v));
  }
  return args;
}

export async function compileAssemblyScript(source: string, opts: AscOptions): Promise<AscResult> {
  const root = packageRoot();
  const outputs: Record<string, Uint8Array | string> = {};
  const stderr: string[] = [];
  const args = ["model.ts", ...ascArgs(opts.target), "--memoryBase", String(opts.memoryBase), "--outFile", "model.wasm", "--noColors"];
  // loaded on first use: both packages take a while to start, and most CLI calls need neither
  const asc = (await import("assemblyscript/asc")).default;
  const { error } = await asc.main(args, {
    readFile(filename: string) {
      const f = filename.replace(/\\/g, "/").replace(/^\.\//, "");
      if (f === "model.ts") return source;
      if (f.startsWith("runtime-as/")) {
        try { return readFileSync(join(root, f), "utf8"); } catch { return null; }
      }
      return null;
    },
    writeFile(name: string, contents: Uint8Array | string) { outputs[name] = contents; },
    listFiles() { return []; },
    stdout: { write() { return true; } } as never,
    stderr: { write(s: string | Uint8Array) { stderr.push(String(s)); return true; } } as never,
  });
  if (error) internal(`AssemblyScript compilation of the generated model failed: ${error.message}\n${stderr.join("")}`);
  const bin = outputs["model.wasm"];
  if (!(bin instanceof Uint8Array)) internal("AssemblyScript produced no binary");
  return finishModule(bin as Uint8Array, (await import("binaryen")).default);
}

/** Caps memory at its initial size and exports __data_end/__heap_base (binaryen, no hand parsing). */
function finishModule(bin: Uint8Array, binaryen: typeof import("binaryen").default): AscResult {
  const mod = binaryen.readBinary(bin);
  try {
    // The feature set AssemblyScript targets by default (WAMR supports all of these).
    const F = binaryen.Features as unknown as Record<string, number>;
    mod.setFeatures(F.MVP | F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt);
    const mem = mod.getMemoryInfo("0");
    const segs = [];
    let dataEnd = 0;
    // binaryen 131's JS API (its .d.ts still names the older getMemorySegment* calls)
    const api = mod as unknown as {
      getNumDataSegments(): number;
      getDataSegmentByIndex(i: number): number;
      getDataSegmentInfo(ref: number): { name: string; offset: number; data: ArrayBuffer; passive: boolean };
    };
    for (let i = 0; i < api.getNumDataSegments(); i++) {
      const info = api.getDataSegmentInfo(api.getDataSegmentByIndex(i));
      const data = new Uint8Array(info.data);
      dataEnd = Math.max(dataEnd, info.offset + data.length);
      segs.push({ passive: info.passive, offset: mod.i32.const(info.offset), data, name: info.name });
    }
    const heapBase = (dataEnd + 15) & ~15;
    const pages = Math.max(mem.initial, Math.ceil(heapBase / 65536));
    mod.removeExport("memory");
    mod.setMemory(pages, pages, "memory", segs);
    mod.addGlobal("__data_end", binaryen.i32, false, mod.i32.const(dataEnd));
    mod.addGlobal("__heap_base", binaryen.i32, false, mod.i32.const(heapBase));
    mod.addGlobalExport("__data_end", "__data_end");
    mod.addGlobalExport("__heap_base", "__heap_base");
    if (!mod.validate()) internal("binaryen rejected the finished module");
    const wasm = mod.emitBinary();
    return { wasm, wat: mod.emitText(), dataEnd, heapBase, memoryPages: pages };
  } finally {
    mod.dispose();
  }
}
