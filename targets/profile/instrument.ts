/**
 * Dynamic operation counts, by instrumenting a compiled module with binaryen (no wasm parser
 * of our own). Every function body is cut into straight-line segments: a segment ends after
 * any child that may leave the enclosing block (br, br_if, br_table, return, or a nested
 * structure that branches past its own labels). In front of each segment goes one counter
 * update per operation class, adding the segment's static counts to an exported f64 global
 * (exact up to 2^53). The bodies of loops and the arms of ifs are segments of their own, so
 * a count is added exactly once per execution of the code it stands for. memory.copy /
 * memory.fill also pass their byte count through a helper that adds it at run time.
 *
 * What is counted is binaryen's IR of the module as read, which is the module's own
 * instruction sequence (asc output is already tree-shaped). Shapes where a branch would
 * leave in the middle of a segment's instructions (a br_if whose value is used, say) are
 * refused with an internal error rather than miscounted; tests check the counts on
 * hand-written modules against counts worked out by hand.
 *
 * Calls to the marker import (pj.mark, present only in profiling builds) and their constant
 * operand are not counted, so a profiling build counts exactly what the shipped one does; a
 * mark that is a statement of a block also ends the segment before it, so that the
 * instructions after it (a tile's argument loads, say) count for the layer it announces.
 */
import { internal } from "../../compiler/util/errors.js";

/** Operation classes, in the order of the counter globals. Byte counters are not instructions. */
export const CLASSES = [
  "alu32", "alu64", "mul32", "mul64", "div", "falu", "fmul", "fdiv", "convert", "select",
  "load", "store", "branch", "call", "local", "global", "const", "block", "other", "bulk",
  "loadBytes", "storeBytes", "copyBytes", "fillBytes",
] as const;
export type OpClass = (typeof CLASSES)[number];
export type Counts = Record<OpClass, number>;
/** Classes that are not instructions (byte totals). */
export const BYTE_CLASSES: readonly OpClass[] = ["loadBytes", "storeBytes", "copyBytes", "fillBytes"];

/** Bytes read and written, memory.copy / memory.fill included (a copy reads and writes its size). */
export const bytesRead = (c: Counts) => c.loadBytes + c.copyBytes;
export const bytesWritten = (c: Counts) => c.storeBytes + c.copyBytes + c.fillBytes;
/** Multiplications of every kind. */
export const multiplies = (c: Counts) => c.mul32 + c.mul64 + c.fmul;

export function zeroCounts(): Counts {
  return Object.fromEntries(CLASSES.map((c) => [c, 0])) as Counts;
}

export function addCounts(a: Counts, b: Counts, k = 1): Counts {
  for (const c of CLASSES) a[c] += k * b[c];
  return a;
}

/** Executed instructions (every class but the byte totals). */
export function instructions(c: Counts): number {
  return CLASSES.filter((k) => !BYTE_CLASSES.includes(k)).reduce((s, k) => s + c[k], 0);
}

export const MARK_MODULE = "pj";
export const MARK_FIELD = "mark";

type B = typeof import("binaryen").default;
type Mod = InstanceType<B["Module"]>;

/** binaryen 131's expression and function classes (its .d.ts predates them). */
interface Api {
  Function: { setBody(f: number, e: number): void };
  Block: { getNumChildren(e: number): number; getChildAt(e: number, i: number): number; insertChildAt(e: number, i: number, c: number): void; setChildAt(e: number, i: number, c: number): void };
  Loop: { setBody(e: number, x: number): void };
  If: { setIfTrue(e: number, x: number): void; setIfFalse(e: number, x: number): void };
  MemoryCopy: { setSize(e: number, x: number): void };
  MemoryFill: { setSize(e: number, x: number): void };
}
const api = (b: B) => b as unknown as Api;
/** A segment's counts; `after`: counts past a br_if inside an expression (see shell). */
interface Bucket { c: Counts; after?: Counts }
const BINARY_NAME = /^(Add|Sub|Mul|DivS|DivU|RemS|RemU|And|Or|Xor|Shl|ShrU|ShrS|RotL|RotR|Eq|Ne|LtS|LtU|LeS|LeU|GtS|GtU|GeS|GeU|Div|CopySign|Min|Max|Lt|Le|Gt|Ge)(Int32|Int64|Float32|Float64)$/;

/** The counter global of a class, as exported. */
export const counterName = (c: OpClass) => `__pj_count_${c}`;

export interface Instrumented {
  wasm: Uint8Array;
}

export async function instrument(wasm: Uint8Array): Promise<Instrumented> {
  const binaryen = (await import("binaryen")).default;
  const mod = binaryen.readBinary(wasm);
  try {
    mod.setFeatures((binaryen.Features as unknown as Record<string, number>).All);
    new Walker(binaryen, mod).run();
    if (!mod.validate()) internal("binaryen rejected the instrumented module");
    return { wasm: mod.emitBinary() };
  } finally {
    mod.dispose();
  }
}

/** The module's functions, imports included, in index order. */
export function functionsOf(mod: Mod): number[] {
  const fns: number[] = [];
  for (let i = 0; i < mod.getNumFunctions(); i++) fns.push(mod.getFunctionByIndex(i));
  return fns;
}

/** Internal names of the marker import (pj.mark) among `fns`. */
export function markFunctions(b: B, fns: number[]): string[] {
  return fns.map((f) => b.getFunctionInfo(f)).filter((i) => i.module === MARK_MODULE && i.base === MARK_FIELD).map((i) => i.name);
}

class Walker {
  private readonly ids: Record<string, number>;
  private markFns = new Set<string>();
  private exitMemo = new Map<number, boolean>();
  private copyFn = "__pj_copy_bytes";
  private fillFn = "__pj_fill_bytes";

  constructor(private readonly b: B, private readonly mod: Mod) {
    this.ids = b as unknown as Record<string, number>; // BlockId, IfId, ...
  }

  run(): void {
    const { b, mod } = this;
    const fns = functionsOf(mod);
    for (const name of markFunctions(b, fns)) this.markFns.add(name);
    for (const c of CLASSES) {
      mod.addGlobal(counterName(c), b.f64, true, mod.f64.const(0));
      mod.addGlobalExport(counterName(c), counterName(c));
    }
    for (const f of fns) {
      const info = b.getFunctionInfo(f);
      if (info.module) continue; // an import
      const body = this.region(info.body);
      api(b).Function.setBody(f, body);
    }
    // the run-time byte count of memory.copy / memory.fill: returns its argument
    for (const [fn, c] of [[this.copyFn, "copyBytes"], [this.fillFn, "fillBytes"]] as const) {
      mod.addFunction(fn, b.createType([b.i32]), b.i32, [], mod.block(null, [
        this.bump(c, mod.f64.convert_u.i32(mod.local.get(0, b.i32))),
        mod.local.get(0, b.i32),
      ], b.i32));
    }
  }

  /** counter(c) += value */
  private bump(c: OpClass, value: number): number {
    const { mod, b } = this;
    return mod.global.set(counterName(c), mod.f64.add(mod.global.get(counterName(c), b.f64), value));
  }

  private counter(c: Counts): number | undefined {
    const sets = CLASSES.filter((k) => c[k] !== 0).map((k) => this.bump(k, this.mod.f64.const(c[k])));
    return sets.length ? this.mod.block(null, sets, this.b.none) : undefined;
  }

  /** Instruments a region root (function body, loop body, if arm); returns what replaces it. */
  private region(e: number, extraBranches = 0): number {
    const { b } = this;
    if (b.getExpressionId(e) === this.ids.BlockId) {
      this.block(e, extraBranches);
      return e;
    }
    const st: Bucket = { c: zeroCounts() };
    st.c.branch += extraBranches;
    this.shell(e, st, true);
    const ctr = this.counter(st.c);
    const after = st.after ? this.counter(st.after) : undefined;
    if (after !== undefined) {
      if (b.getExpressionType(e) !== b.none) internal(`instrumenter: a br_if inside a region's only (valued) expression: ${b.emitText(e).slice(0, 300)}`);
      return this.mod.block(null, ctr === undefined ? [e, after] : [ctr, e, after], b.none);
    }
    return ctr === undefined ? e : this.mod.block(null, [ctr, e], b.auto);
  }

  /** A call of the marker import (pj.mark) as a statement. */
  private isMark(e: number): boolean {
    if (this.b.getExpressionId(e) !== this.ids.CallId) return false;
    return this.markFns.has(this.info(e).target as string);
  }

  /** Splits a block's children into segments, each preceded by its counter; a layer mark starts a new one. */
  private block(e: number, extraBranches = 0): void {
    const B = api(this.b).Block;
    const n = B.getNumChildren(e);
    const segments: Array<{ at: number; c: Counts }> = [];
    let cur: { at: number; c: Counts } | undefined;
    let carry: Counts | undefined; // counts that run after the previous child, if its br_if was not taken
    for (let i = 0; i < n; i++) {
      const child = B.getChildAt(e, i);
      // a layer mark ends the segment before it: what follows it counts for the new layer
      if (this.isMark(child)) {
        if (!cur && carry) cur = { at: i, c: carry };
        carry = undefined;
        if (cur) { segments.push(cur); cur = undefined; }
        continue;
      }
      if (!cur) cur = { at: i, c: carry ?? zeroCounts() };
      carry = undefined;
      const exits = this.exits(child);
      const st: Bucket = { c: cur.c };
      this.shell(child, st, true);
      if (exits || st.after) { segments.push(cur); cur = undefined; carry = st.after; }
    }
    if (cur) segments.push(cur);
    if (extraBranches) (segments[0] ?? (segments[0] = { at: 0, c: zeroCounts() })).c.branch += extraBranches;
    if (carry) {
      // counts past a br_if inside the last child: they run iff it falls through
      const ctr = this.counter(carry);
      const last = B.getChildAt(e, n - 1), type = this.b.getExpressionType(last);
      if (ctr !== undefined) {
        if (type === this.b.none || type === this.b.unreachable) B.insertChildAt(e, n, ctr);
        else B.setChildAt(e, n - 1, this.afterValue(last, type, ctr));
      }
    }
    for (const s of segments.reverse()) {
      const ctr = this.counter(s.c);
      if (ctr !== undefined) B.insertChildAt(e, s.at, ctr);
    }
  }

  /**
   * Adds the static counts of e and its descendants outside nested regions to the segment
   * (in evaluation order: operands first), and instruments the nested regions. `top`: e is a
   * child of a block, where a branch ends the segment. A br_if inside an expression (its
   * value used by what follows) is allowed once per segment child: the instructions after
   * it go to `st.after`, which the caller counts after the child, where they run only if
   * the branch was not taken.
   */
  private shell(e: number, st: Bucket, top: boolean): void {
    const { b } = this;
    const I = this.ids;
    const info = this.info(e);
    const kids = (...xs: unknown[]) => { for (const x of xs) if (typeof x === "number" && x !== 0) this.shell(x, st, false); };
    const c = () => st.after ?? st.c;
    const nested = (what: string) => {
      if (!top && this.exits(e)) internal(`instrumenter: ${what} that branches out from inside an expression; cannot count it exactly: ${b.emitText(e).slice(0, 300)}`);
    };
    switch (info.id) {
      case I.BlockId: nested("a block"); c().block++; this.block(e); return;
      case I.LoopId: {
        nested("a loop");
        c().block++;
        api(b).Loop.setBody(e, this.region(info.body as number));
        return;
      }
      case I.IfId: {
        nested("an if");
        kids(info.condition);
        c().branch++;
        const If = api(b).If;
        // with an else, the then arm ends in a jump over the else arm (as machine code and
        // wabt's interpreter do it): one more branch when the then arm runs
        If.setIfTrue(e, this.region(info.ifTrue as number, info.ifFalse ? 1 : 0));
        if (info.ifFalse) If.setIfFalse(e, this.region(info.ifFalse as number));
        return;
      }
      case I.BreakId: case I.SwitchId: case I.ReturnId: {
        kids(info.value, info.condition);
        c().branch++;
        if (top) return;
        // inside an expression: a branch can only target an enclosing structure, so it leaves the child
        if (st.after) internal(`instrumenter: two br_if in one expression; cannot count it exactly: ${b.emitText(e).slice(0, 300)}`);
        st.after = zeroCounts();
        return;
      }
      case I.CallId: {
        const ops = info.operands as number[];
        if (this.markFns.has(info.target as string)) { kids(...ops.filter((o) => b.getExpressionId(o) !== I.ConstId)); return; }
        kids(...ops); c().call++; return;
      }
      case I.CallIndirectId: kids(...(info.operands as number[]), info.target); c().call++; return;
      case I.LocalGetId: c().local++; return;
      case I.LocalSetId: kids(info.value); c().local++; return;
      case I.GlobalGetId: c().global++; return;
      case I.GlobalSetId: kids(info.value); c().global++; return;
      case I.LoadId: kids(info.ptr); c().load++; c().loadBytes += info.bytes as number; return;
      case I.StoreId: kids(info.ptr, info.value); c().store++; c().storeBytes += info.bytes as number; return;
      case I.ConstId: c().const++; return;
      case I.UnaryId: kids(info.value); c()[this.unaryClass(info.op as number)]++; return;
      case I.BinaryId: kids(info.left, info.right); c()[this.binaryClass(info.op as number)]++; return;
      case I.SelectId: kids(info.ifTrue, info.ifFalse, info.condition); c().select++; return;
      case I.DropId: kids(info.value); c().other++; return;
      case I.NopId: case I.UnreachableId: case I.MemorySizeId: c().other++; return;
      case I.MemoryCopyId: case I.MemoryFillId: {
        const size = info.size as number;
        kids(info.dest, info.source, info.value, size);
        c().bulk++;
        const set = info.id === I.MemoryCopyId ? api(b).MemoryCopy : api(b).MemoryFill;
        set.setSize(e, this.mod.call(info.id === I.MemoryCopyId ? this.copyFn : this.fillFn, [size], b.i32));
        return;
      }
      default:
        internal(`instrumenter: expression id ${info.id} is not counted (only MVP, sign extension and bulk memory are emitted)`);
    }
  }

  /** x, then ctr, then x's value: select(x, (ctr; 0), 1) evaluates its operands in order. */
  private afterValue(x: number, type: number, ctr: number): number {
    const { mod, b } = this;
    const zero = type === b.i32 ? mod.i32.const(0) : type === b.i64 ? mod.i64.const(0) : type === b.f32 ? mod.f32.const(0) : type === b.f64 ? mod.f64.const(0) : internal("instrumenter: a br_if carrying a value of an unexpected type");
    return mod.select(mod.i32.const(1), x, mod.block(null, [ctr, zero], type));
  }

  private info(e: number): Record<string, unknown> & { id: number } { return exprInfo(this.b, e); }

  private unaryClass(op: number): OpClass { return unaryClass(this.b, op); }

  private binaryClass(op: number): OpClass { return binaryClass(this.b, op); }

  /** Whether e may transfer control past its own end: a return, or a branch to a label not defined inside e. */
  private exits(e: number): boolean {
    const known = this.exitMemo.get(e);
    if (known !== undefined) return known;
    const targets: string[] = [];
    const defined = new Set<string>();
    let ret = false;
    const visit = (x: number) => {
      if (!x) return;
      const info = this.info(x);
      const I = this.ids;
      if (info.id === I.ConstId) return; // its value is a number, not an expression
      if (info.id === I.ReturnId) ret = true;
      if (info.id === I.BreakId) targets.push(info.name as string);
      if (info.id === I.SwitchId) targets.push(...(info.names as string[]), info.defaultName as string);
      if ((info.id === I.BlockId || info.id === I.LoopId) && info.name) defined.add(info.name as string);
      for (const v of Object.values(info)) {
        if (Array.isArray(v)) { for (const y of v) if (typeof y === "number") visit(y); }
      }
      for (const k of ["condition", "ifTrue", "ifFalse", "body", "value", "ptr", "left", "right", "target", "dest", "source", "size", "delta"]) {
        const y = info[k];
        if (typeof y === "number" && !(k === "target" && info.id === I.CallId)) visit(y);
      }
    };
    visit(e);
    const out = ret || targets.some((t) => !defined.has(t));
    this.exitMemo.set(e, out);
    return out;
  }
}

/** binaryen's expression info; its getExpressionInfo throws on unreachable and nop, which have no fields. */
export function exprInfo(b: B, e: number): Record<string, unknown> & { id: number } {
  const id = b.getExpressionId(e);
  const ids = b as unknown as Record<string, number>;
  if (id === ids.UnreachableId || id === ids.NopId) return { id };
  return b.getExpressionInfo(e) as unknown as Record<string, unknown> & { id: number };
}

/** The class of a unary operation (binaryen op code). */
export function unaryClass(binaryen: B, op: number): OpClass {
  const b = binaryen as unknown as Record<string, number>;
  const is = (...names: string[]) => names.some((n) => b[n] === op);
  if (is("ClzInt32", "CtzInt32", "PopcntInt32", "EqZInt32", "ExtendS8Int32", "ExtendS16Int32")) return "alu32";
  if (is("ClzInt64", "CtzInt64", "PopcntInt64", "EqZInt64", "ExtendS8Int64", "ExtendS16Int64", "ExtendS32Int64")) return "alu64";
  if (is("NegFloat32", "AbsFloat32", "CeilFloat32", "FloorFloat32", "TruncFloat32", "NearestFloat32",
    "NegFloat64", "AbsFloat64", "CeilFloat64", "FloorFloat64", "TruncFloat64", "NearestFloat64")) return "falu";
  if (is("SqrtFloat32", "SqrtFloat64")) return "fdiv";
  return "convert";
}

/** The class of a binary operation (binaryen op code). */
export function binaryClass(binaryen: B, op: number): OpClass {
  const b = binaryen as unknown as Record<string, number>;
  const is = (...names: string[]) => names.some((n) => b[n] === op);
  if (is("MulInt32")) return "mul32";
  if (is("MulInt64")) return "mul64";
  if (is("DivSInt32", "DivUInt32", "RemSInt32", "RemUInt32", "DivSInt64", "DivUInt64", "RemSInt64", "RemUInt64")) return "div";
  if (is("MulFloat32", "MulFloat64")) return "fmul";
  if (is("DivFloat32", "DivFloat64")) return "fdiv";
  // binaryen's unary and binary ops are separate enums with overlapping values: match binary names only
  const name = Object.keys(b).find((k) => b[k] === op && BINARY_NAME.test(k)) ?? "";
  if (name.endsWith("Int32")) return "alu32";
  if (name.endsWith("Int64")) return "alu64";
  if (name.endsWith("Float32") || name.endsWith("Float64")) return "falu";
  internal(`instrumenter: binary op ${op} is not classified`);
}
