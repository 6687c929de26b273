/**
 * Energy ("fuel") accounting with an exact power cut, for simulating intermittent
 * (energy-harvesting) devices: instrumentFuel rewrites a module with binaryen so that every
 * executed instruction adds its class weight to an exported f64 global `__pj_fuel`, and the
 * module traps when the energy set in `__pj_budget` runs out. After a power failure only
 * memory survives (globals, locals and the stack are volatile), so a cut "at an instruction"
 * is the same as a cut just before the first store (or bulk-memory byte) at or after it:
 * what has to be exact is which stores took effect.
 *
 * Semantics. Instructions are classified exactly as the profiler does (targets/profile/
 * instrument.ts: same classes, block/loop markers, an if's jump over its else arm counted at
 * the start of the then arm, calls to the marker import pj.mark and their constant operand
 * not counted). An executed instruction of class k adds weights[k]; a load or store also adds
 * its bytes x loadBytes / storeBytes; memory.copy / memory.fill add bulk, then each of their
 * n run-time bytes copyBytes / fillBytes. Order is binaryen's evaluation order (operands
 * first, left to right). Let F(s) be the cumulative fuel after instruction s, its own weight
 * and bytes included. At the first store s with F(s) > budget the module executes
 * `unreachable` before s takes effect, every earlier store having taken effect; on that trap
 * `__pj_fuel` is set to F(s) (> budget; after a trap of the program's own it may include
 * the rest of the straight-line chunk it trapped in). The i-th byte of a copy/fill, in
 * ascending address order, counts as a store at F = F(bulk instruction) + (i + 1) x byte
 * weight: the bytes that fit are written (as memory.copy / memory.fill of that many bytes
 * would write them), then it traps; a copy/fill that is out of bounds traps as the original
 * would, writing nothing. If the run finishes, `__pj_fuel` has grown by the run's total
 * fuel: the profiler's counts x weights. The budget starts at +Infinity and the fuel at 0;
 * fuel accumulates across calls (the host sets both). Weights must be finite and >= 0; sums
 * are f64, so the cut is exact when weights and budget are integers (or multiples of a power
 * of two) and the fuel stays below 2^53. An imported function sees the exact fuel when it is
 * called (the call included), but its own memory effects (an accelerator's) are not cut.
 *
 * How. Each function body is cut into straight-line chunks of its evaluation order; a chunk
 * ends at every control transfer or join (a branch, a call, the entry and end of a block,
 * loop or if), so at every chunk boundary `__pj_fuel` is exact. A chunk adds its total
 * fuel T once, at its start (one global update, as in the profiler); in front of a store
 * whose prefix fuel within the chunk is p (the store included) goes a check against a
 * compile-time constant: `if (__pj_fuel - (T - p) > __pj_budget) unreachable`. Chunks that
 * start after a call or a nested structure in the middle of an expression begin right after
 * it (a `select` runs the update after its first operand) unless nothing observable
 * follows before the statement ends, in which case the update moves after the statement.
 * memory.copy / memory.fill become calls of small helpers that do the byte accounting.
 * digits-cnn's run() takes about 1.5-1.9x its uninstrumented time (the profiler's build: 6x).
 */
import { bad, internal } from "../../compiler/util/errors.js";
import { binaryClass, CLASSES, exprInfo, functionsOf, markFunctions, unaryClass, type OpClass } from "../profile/instrument.js";

export const FUEL_GLOBAL = "__pj_fuel";
export const BUDGET_GLOBAL = "__pj_budget";

/** Fuel per executed instruction of each class, and per byte for the byte classes; missing classes weigh 0. */
export type FuelWeights = Partial<Record<OpClass, number>>;

type B = typeof import("binaryen").default;
type Mod = InstanceType<B["Module"]>;
type Info = Record<string, unknown> & { id: number };
type Setter = (x: number) => void;

/** binaryen 131's expression classes (its .d.ts predates them). */
interface Api {
  Function: { setBody(f: number, e: number): void };
  Block: { getChildren(e: number): number[]; setChildren(e: number, c: number[]): void };
  Loop: { setBody(e: number, x: number): void };
  If: { setCondition(e: number, x: number): void; setIfTrue(e: number, x: number): void; setIfFalse(e: number, x: number): void };
  Const: { setValueF64(e: number, v: number): void };
  Store: { getValue(e: number): number; setValue(e: number, x: number): void };
  [cls: string]: unknown;
}

/**
 * Returns the instrumented module: `__pj_fuel` and `__pj_budget` exported as mutable f64
 * globals, everything else as it was. Bad input (not a module, a weight that is not a finite
 * number >= 0, an unknown class, a module instrumented already) throws a one-line PicoError.
 */
export async function instrumentFuel(wasm: Uint8Array, weights: FuelWeights): Promise<Uint8Array> {
  const w = Object.fromEntries(CLASSES.map((c) => [c, 0])) as Record<OpClass, number>;
  for (const [k, v] of Object.entries(weights)) {
    if (!(CLASSES as readonly string[]).includes(k)) bad(`fuel: unknown operation class "${k}" (classes: ${CLASSES.join(", ")})`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) bad(`fuel: the weight of ${k} must be a finite number >= 0, not ${v}`);
    w[k as OpClass] = v;
  }
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) bad("fuel: the input is not a WebAssembly module (no \\0asm header)");
  const binaryen = (await import("binaryen")).default;
  let mod: Mod;
  try { mod = binaryen.readBinary(wasm); } catch (e) { bad(`fuel: cannot read the WebAssembly module: ${String((e as Error).message ?? e).split("\n")[0]}`); }
  try {
    mod.setFeatures((binaryen.Features as unknown as Record<string, number>).All);
    const exported = new Set(Array.from({ length: mod.getNumExports() }, (_, i) => binaryen.getExportInfo(mod.getExportByIndex(i)).name));
    for (const g of [FUEL_GLOBAL, BUDGET_GLOBAL]) if (mod.getGlobal(g) || exported.has(g)) bad(`fuel: the module already has a global ${g} (instrumented twice?)`);
    new FuelWalker(binaryen, mod, w).run();
    if (!mod.validate()) internal("fuel: binaryen rejected the instrumented module");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

/** A straight-line run of instructions whose fuel is added once, at its start. */
interface Chunk {
  total: number;
  /** f64.const nodes to set to total - p once the total is known. */
  patches: Array<{ k: number; p: number }>;
  /** Opened after a cut in the middle of this statement (see `anchor`). */
  stmt?: object;
  /** The node after which the chunk starts, while its update is not placed. */
  anchor?: { x: number; set: Setter };
}

class FuelWalker {
  private readonly ids: Record<string, number>;
  private readonly api: Api;
  private markFns = new Set<string>();
  private chunk!: Chunk;
  private stmt: object = {};
  private helpers = new Map<boolean, string>();
  private classNames = new Map<number, string>();

  constructor(private readonly b: B, private readonly mod: Mod, private readonly w: Record<OpClass, number>) {
    this.ids = b as unknown as Record<string, number>;
    this.api = b as unknown as Api;
  }

  run(): void {
    const { b, mod } = this;
    const fns = functionsOf(mod);
    for (const name of markFunctions(b, fns)) this.markFns.add(name);
    mod.addGlobal(FUEL_GLOBAL, b.f64, true, mod.f64.const(0));
    mod.addGlobal(BUDGET_GLOBAL, b.f64, true, mod.f64.const(Infinity));
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_GLOBAL);
    mod.addGlobalExport(BUDGET_GLOBAL, BUDGET_GLOBAL);
    for (const f of fns) {
      const info = b.getFunctionInfo(f);
      if (info.module) continue; // an import
      this.api.Function.setBody(f, this.region(info.body, false));
    }
  }

  // ---- fuel arithmetic ----

  private fuel(): number { return this.mod.global.get(FUEL_GLOBAL, this.b.f64); }

  /** A placeholder f64.const, set to chunk.total - p when the chunk closes. */
  private pending(p: number): number {
    const k = this.mod.f64.const(0);
    this.chunk.patches.push({ k, p });
    return k;
  }

  /** fuel += k */
  private add(k: number): number { return this.mod.global.set(FUEL_GLOBAL, this.mod.f64.add(this.fuel(), k)); }

  /** if (fuel - c > budget) { fuel -= c; unreachable }, c = T - p: the store at prefix p does not fit. */
  private check(p: number): number {
    const { mod, b } = this;
    const over = mod.f64.gt(mod.f64.sub(this.fuel(), this.pending(p)), mod.global.get(BUDGET_GLOBAL, b.f64));
    return mod.if(over, mod.block(null, [mod.global.set(FUEL_GLOBAL, mod.f64.sub(this.fuel(), this.pending(p))), mod.unreachable()], b.none));
  }

  private count(c: OpClass, n = 1): void { this.chunk.total += this.w[c] * n; }

  // ---- chunks ----

  private open(stmt?: object, anchor?: Chunk["anchor"]): Chunk {
    return (this.chunk = { total: 0, patches: [], stmt, anchor });
  }

  /** Something observes the fuel in the statement: the current chunk's update must have run by now. */
  private observe(): void {
    const c = this.chunk;
    if (!c.anchor) return;
    const { x, set } = c.anchor;
    c.anchor = undefined;
    set(this.after(x, this.add(this.pending(0))));
  }

  private close(): void {
    this.observe();
    for (const { k, p } of this.chunk.patches) this.api.Const.setValueF64(k, this.chunk.total - p);
  }

  /** A control transfer or join at x (counted already): the chunk ends, the next starts after x. */
  private cut(x: number, set: Setter): void {
    this.close();
    this.resume(x, set);
  }

  /** The chunk after x, a structure whose own chunks are closed: its update waits for something to observe it. */
  private resume(x: number, set: Setter): void { this.open(this.stmt, { x, set }); }

  /** x, then code; x's value. select(x, (code; 0), 1) evaluates its operands in order. */
  private after(x: number, code: number): number {
    const { mod, b } = this;
    const type = b.getExpressionType(x);
    if (type === b.unreachable) return x;
    if (type === b.none) return mod.block(null, [x, code], b.none);
    const zero = type === b.i32 ? mod.i32.const(0) : type === b.i64 ? mod.i64.const(0) : type === b.f32 ? mod.f32.const(0) : type === b.f64 ? mod.f64.const(0) : internal("fuel: a value of an unexpected type");
    return mod.select(mod.i32.const(1), x, mod.block(null, [code, zero], type));
  }

  // ---- structure ----

  /** A region root (function body, loop body, if arm): returns what replaces it. */
  private region(e: number, elseJump: boolean): number {
    const { b } = this;
    if (b.getExpressionId(e) === this.ids.BlockId) {
      this.api.Block.setChildren(e, this.statements(this.api.Block.getChildren(e), elseJump));
      return e;
    }
    const out = this.statements([e], elseJump);
    return out.length === 1 ? out[0] : this.mod.block(null, out, b.auto);
  }

  /**
   * A block's children: a chunk opens at its start (and after every cut, see `cut`) and
   * closes at its end, where branches to the block arrive with exact fuel too.
   */
  private statements(list: number[], elseJump: boolean): number[] {
    const { b } = this;
    const n = list.length;
    const before: Array<Array<() => number | undefined>> = Array.from({ length: n + 1 }, () => []);
    const outer = this.stmt;
    const placed = (c: Chunk) => () => (c.total !== 0 ? this.add(this.mod.f64.const(c.total)) : undefined);
    before[0].push(placed(this.open()));
    if (elseJump) this.count("branch"); // the then arm's jump over the else arm, as instrument.ts counts it
    for (let i = 0; i < n; i++) {
      const stmt = (this.stmt = {});
      this.visit(list[i], (x) => { list[i] = x; }, before[i]);
      const c = this.chunk;
      // a chunk opened inside this statement whose update nothing needed before its end: after it
      if (c.stmt === stmt && c.anchor) { c.anchor = undefined; c.stmt = undefined; before[i + 1].push(placed(c)); }
    }
    this.close();
    this.stmt = outer;
    const out: number[] = [];
    for (let i = 0; i <= n; i++) {
      for (const f of before[i]) {
        const x = f();
        if (x === undefined) continue;
        const last = out.length ? out[out.length - 1] : undefined;
        if (i < n || last === undefined || b.getExpressionType(last) === b.none) out.push(x);
        else out[out.length - 1] = this.after(last, x); // after the block's value
      }
      if (i < n) out.push(list[i]);
    }
    return out;
  }

  /**
   * Adds e's fuel to the chunk in evaluation order and instruments what it contains; `set`
   * replaces e in its parent, `before` takes expressions to run before e's statement.
   */
  private visit(e: number, set: Setter, before: Array<() => number | undefined>): void {
    const { b, mod } = this;
    const I = this.ids;
    const info = exprInfo(b, e) as Info;
    const cls = (name: string) => this.api[name] as Record<string, (e: number, x: number, y?: number) => void>;
    const kid = (field: string, setter: string, x = info[field]) => {
      if (typeof x === "number" && x !== 0) this.visit(x, (v) => cls(this.className(info.id))[setter](e, v), before);
    };
    const operands = (cname: string, ops: number[], keep: (o: number) => boolean = () => true) => {
      ops.forEach((o, i) => { if (keep(o)) this.visit(o, (v) => cls(cname).setOperandAt(e, i, v), before); });
    };
    switch (info.id) {
      case I.BlockId:
        this.count("block");
        this.close();
        this.api.Block.setChildren(e, this.statements(this.api.Block.getChildren(e), false));
        this.resume(e, set);
        return;
      case I.LoopId:
        this.count("block");
        this.close();
        this.api.Loop.setBody(e, this.region(info.body as number, false));
        this.resume(e, set);
        return;
      case I.IfId:
        this.visit(info.condition as number, (v) => this.api.If.setCondition(e, v), before);
        this.count("branch");
        this.close();
        this.api.If.setIfTrue(e, this.region(info.ifTrue as number, !!info.ifFalse));
        if (info.ifFalse) this.api.If.setIfFalse(e, this.region(info.ifFalse as number, false));
        this.resume(e, set);
        return;
      case I.BreakId: case I.SwitchId:
        kid("value", "setValue"); kid("condition", "setCondition");
        this.count("branch"); this.cut(e, set); return;
      case I.ReturnId: kid("value", "setValue"); this.count("branch"); this.cut(e, set); return;
      case I.CallId: {
        const ops = info.operands as number[];
        if (this.markFns.has(info.target as string)) { operands("Call", ops, (o) => b.getExpressionId(o) !== I.ConstId); return; }
        operands("Call", ops); this.count("call"); this.cut(e, set); return;
      }
      case I.CallIndirectId:
        operands("CallIndirect", info.operands as number[]); kid("target", "setTarget");
        this.count("call"); this.cut(e, set); return;
      case I.LocalGetId: this.count("local"); return;
      case I.LocalSetId: kid("value", "setValue"); this.count("local"); return;
      case I.GlobalGetId: this.count("global"); return;
      case I.GlobalSetId: kid("value", "setValue"); this.count("global"); return;
      case I.LoadId: kid("ptr", "setPtr"); this.count("load"); this.count("loadBytes", info.bytes as number); return;
      case I.StoreId: {
        const opened = this.chunk;
        kid("ptr", "setPtr"); kid("value", "setValue");
        this.count("store"); this.count("storeBytes", info.bytes as number);
        const chk = this.check(this.chunk.total);
        // a store is a statement: its check goes in front of it, unless its chunk starts inside its operands
        if (this.chunk === opened && opened.stmt !== this.stmt) { before.push(() => chk); return; }
        this.observe();
        this.api.Store.setValue(e, this.after(this.api.Store.getValue(e), chk));
        return;
      }
      case I.ConstId: this.count("const"); return;
      case I.UnaryId: kid("value", "setValue"); this.count(unaryClass(b, info.op as number)); return;
      case I.BinaryId: kid("left", "setLeft"); kid("right", "setRight"); this.count(binaryClass(b, info.op as number)); return;
      case I.SelectId: kid("ifTrue", "setIfTrue"); kid("ifFalse", "setIfFalse"); kid("condition", "setCondition"); this.count("select"); return;
      case I.DropId: kid("value", "setValue"); this.count("other"); return;
      case I.NopId: case I.UnreachableId: case I.MemorySizeId: this.count("other"); return;
      case I.MemoryCopyId: case I.MemoryFillId: {
        const copy = info.id === I.MemoryCopyId;
        kid("dest", "setDest"); kid(copy ? "source" : "value", copy ? "setSource" : "setValue"); kid("size", "setSize");
        this.count("bulk");
        this.observe();
        const now = exprInfo(b, e);
        const args = [now.dest, copy ? now.source : now.value, now.size] as number[];
        set(mod.call(this.bulkHelper(copy), [...args, this.pending(this.chunk.total)], b.none));
        return;
      }
      default:
        internal(`fuel: expression id ${info.id} is not counted (only MVP, sign extension and bulk memory are emitted)`);
    }
  }

  /** binaryen's class of an expression id (BreakId -> Break), for its child setters. */
  private className(id: number): string {
    if (!this.classNames.size) for (const k of Object.keys(this.ids)) if (/^[A-Z]\w*Id$/.test(k) && typeof this.ids[k] === "number") this.classNames.set(this.ids[k], k.slice(0, -2));
    return this.classNames.get(id) ?? internal(`fuel: expression id ${id} has no class`);
  }

  /**
   * __pj_copy / __pj_fill (d, s|v, n, c): base = fuel - c is F after the bulk instruction;
   * byte i costs F = base + (i + 1) w. If all n fit: fuel += n w and the original operation.
   * Otherwise the k bytes that fit are written (after a bounds check that makes an
   * out-of-bounds operation trap as the original does), fuel = F of byte k, unreachable.
   */
  private bulkHelper(copy: boolean): string {
    const { mod, b } = this;
    const known = this.helpers.get(copy);
    if (known) return known;
    let name = copy ? "__pj_copy" : "__pj_fill";
    while (mod.getFunction(name)) name += "_";
    const w = this.w[copy ? "copyBytes" : "fillBytes"];
    const [D, S, N, C, BASE, K] = [0, 1, 2, 3, 4, 5];
    const get = (i: number, t = b.i32) => mod.local.get(i, t);
    const op = (n: number) => copy ? mod.memory.copy(get(D), get(S), n) : mod.memory.fill(get(D), get(S), n);
    const nf = (x: number) => mod.f64.convert_u.i32(x);
    const costOf = (k: number) => mod.f64.add(get(BASE, b.f64), mod.f64.mul(nf(k), mod.f64.const(w)));
    const fits = (k: number) => mod.f64.le(costOf(k), mod.global.get(BUDGET_GLOBAL, b.f64));
    const bytes = mod.i64.shl(mod.i64.extend_u(mod.memory.size()), mod.i64.const(16));
    const end = (p: number) => mod.i64.add(mod.i64.extend_u(get(p)), mod.i64.extend_u(get(N)));
    const oob = mod.i64.gt_u(end(D), bytes);
    const body = mod.block(null, [
      mod.local.set(BASE, mod.f64.sub(this.fuel(), get(C, b.f64))),
      mod.if(mod.i32.and(mod.i32.ne(get(N), mod.i32.const(0)), mod.i32.eqz(fits(get(N)))), mod.block(null, [
        mod.if(copy ? mod.i32.or(oob, mod.i64.gt_u(end(S), bytes)) : oob, op(get(N))), // traps, writing nothing
        // k = number of bytes i with base + (i + 1) w <= budget: count up from 0 (slow path only)
        mod.local.set(K, mod.i32.const(0)),
        mod.block("done", [mod.loop("more", mod.block(null, [
          mod.br("done", mod.i32.eqz(fits(mod.i32.add(get(K), mod.i32.const(1))))),
          mod.local.set(K, mod.i32.add(get(K), mod.i32.const(1))),
          mod.br("more"),
        ]))]),
        op(get(K)),
        mod.global.set(FUEL_GLOBAL, costOf(mod.i32.add(get(K), mod.i32.const(1)))),
        mod.unreachable(),
      ])),
      mod.global.set(FUEL_GLOBAL, mod.f64.add(this.fuel(), mod.f64.mul(nf(get(N)), mod.f64.const(w)))),
      op(get(N)),
    ], b.none);
    mod.addFunction(name, b.createType([b.i32, b.i32, b.i32, b.f64]), b.none, [b.f64, b.i32], body);
    this.helpers.set(copy, name);
    return name;
  }
}
