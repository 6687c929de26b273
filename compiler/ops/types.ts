/**
 * What an operator is to picojoule: one `OpDef` per op in one file under compiler/ops/,
 * listed once in ops/table.ts. An OpDef carries everything about the op so that no other
 * module needs a switch over op names: import-time normalization of ONNX attributes and
 * constant inputs, shape inference, the float reference (also used for constant folding),
 * the integer reference (the fixed-point definition kernels must match bit for bit), the
 * quantization rule, the AssemblyScript emission and the MAC count.
 */
import type { DType, Graph, Node, Value } from "../ir/graph.js";
import type { QFmt } from "../ir/fixedpoint.js";

export interface OutType {
  dtype: DType;
  shape: number[];
}

/** Calibration facts handed to an op's quantize rule. */
export interface QuantCtx {
  /** Observed [min, max] of a float tensor over the calibration set. */
  range(name: string): { min: number; max: number };
  /** Gives `name` per-tensor asymmetric int8 parameters from its calibrated range (if not set yet). */
  actQuant(name: string): void;
  /** Gives `name` fixed per-tensor int8 parameters (outputs with a known range, e.g. Softmax). */
  fixedQuant(name: string, scale: number, zeroPoint: number): void;
  /** Gives `name` the same quantization as `from` (data movement and max/avg pooling). */
  sameQuant(name: string, from: string): void;
  /** Quantizes a constant float tensor to int8, symmetric, per channel along `axis` (or per tensor when axis < 0). */
  weightQuant(name: string, axis: number): void;
}

/**
 * What an op's Q-format rule (`fixed`, --fixed Qm.f) gets from passes/quantize-fixed.ts.
 * Every tensor has the one format `fmt` (scale 2^-f, zero point 0), stored as int8 when
 * W = m + f <= 8 and int16 otherwise (qStorage in ir/fixedpoint.ts).
 */
export interface FixedCtx {
  fmt: QFmt;
  /**
   * Marks `name` as a Q tensor (int8 or int16, scale 2^-f, zero point 0); constant float data is
   * converted to sat(trunc(x * 2^f)). Idempotent; "" is ignored.
   */
  q(name: string): void;
  /** Adds a new constant Q tensor with the given integer values; returns its name. */
  constant(base: string, shape: number[], values: ArrayLike<number>): string;
}

export interface EmitCtx {
  g: Graph;
  /** AssemblyScript expression for the address of a tensor: arena slot or constant data. */
  addr(name: string): string;
  /** Registers constant data that is not a graph tensor (multipliers, tables); returns its symbol. */
  data(hint: string, dtype: "int8" | "int16" | "int32" | "float32" | "uint8", values: ArrayLike<number>): string;
  /**
   * Emits `fn(args)` imported from runtime-as/kernels/<file>.ts. `tile`: how the call splits
   * into calls on ranges of its output (--intermittent tasks, compiler/emit/intermittent.ts).
   */
  call(file: string, fn: string, args: Array<string | number>, tile?: TileSpec): void;
  /** Declares a host import (an offloaded layer's function, emit/offload.ts); once per module. */
  external(decl: string): void;
  /** Emits a call of a host import; the module traps if it returns non-zero. */
  hostCall(fn: string, args: Array<string | number>): void;
  /**
   * Reserves the low scratch: addresses [0, bytes) below the arena, shared by every kernel
   * that uses it (one kernel call at a time). The sparse kernel copies a row of activations
   * there so that a stored byte column is the activation's address (kernels/fc-sparse.ts).
   */
  scratch(bytes: number): void;
}

/**
 * How a kernel call splits into independent calls on contiguous ranges of its one output
 * (blocks of output channels, say), each bit-exact with its share of the whole call: the
 * call for units [u0, u1) advances each pointer argument in `bumps` by u0 x its bytes per
 * unit (an absent pointer, "0", stays) and passes min(total, per u1) - per u0 as the count
 * argument; it writes the output bytes [u0 o, min(outBytes, u1 o)) for o = outPerUnit.
 */
export interface TileSpec {
  units: number;
  bumps: Array<[arg: number, bytesPerUnit: number]>;
  /** The argument that takes the tile's count of units: perUnit times its units (at most total); absent with unitArgs. */
  count?: [arg: number, perUnit: number, total: number];
  /** Instead of count: the two arguments that take the tile's first and end unit. */
  unitArgs?: [first: number, end: number];
  outPerUnit: number;
  /**
   * A second split, by output rows (a convolution's): the call for rows [r0, r1) advances
   * `bumps` by r0 rows and passes r1 - r0 as the `count` argument; in the output, unit u's
   * `channels` channels each hold `channelBytes` bytes, rows of `rowBytes` (so a tile of a
   * row range writes one range per channel).
   */
  rows?: {
    n: number; bumps: Array<[arg: number, bytesPerRow: number]>; count: number; rowBytes: number; channelBytes: number; channelsPerUnit: number; channels: number;
    /** Rows a tile may start at (absent: any): where the whole call starts a pass, so that tiles do the same passes. */
    starts?: number[];
  };
  /**
   * A recurrent layer split by time steps (rows), and within a step by hidden units (units,
   * with unitArgs; else 1): the tiles run step by step and hand the recurrent state on
   * through the region, h and c after each step (`hidden` elements of `elem` bytes each).
   * Argument `arg` is the kernel's state scratch: h at its start, c `cOffset` bytes on; a
   * tile that ends a step short of its last unit leaves its units' new h `hOut` bytes on.
   * Argument `mode` is the streaming mode: 1 (start from the initial state) for the first
   * step, 2 (continue from the scratch) after it. A step's output row holds outPerUnit bytes
   * per unit.
   */
  state?: { arg: number; mode: number; hidden: number; elem: number; cOffset: number; hOut: number };
}

export interface OpDef {
  op: string;
  doc: string;
  /** Reads opset-specific attributes and constant inputs into node.attrs (may drop consumed inputs). */
  normalize?(node: Node, g: Graph): void;
  /** Output dtypes and shapes from the input tensors (all shapes are static); absent for fold-only ops. */
  infer?(node: Node, g: Graph): OutType[];
  /** Fold-only ops that can be evaluated from input shapes alone (Shape, Size). */
  shapeOnly?: boolean;
  /**
   * Float reference semantics; any-dtype semantics for data movement and shape arithmetic.
   * `observe`, when given, receives values internal to the node (calibration sizes their
   * fixed-point formats; see internalName in ir/graph.ts).
   */
  ref(node: Node, ins: Value[], observe?: (what: string, v: Value) => void): Value[];
  /** Integer semantics of the quantized op (reads node.q); data movement ops reuse ref. */
  int?(node: Node, ins: Value[]): Value[];
  /** Chooses output quantization and fills node.q; absent means the op has no int8 form. */
  quantize?(node: Node, g: Graph, q: QuantCtx): void;
  /**
   * The Q-format rule (--fixed Qm.f, see "Q-format mode" in ops/INT8.md): refuses what the
   * op cannot do in Q arithmetic, marks its operands and outputs as Q tensors (fx.q), and
   * sets node.q = { fixed: { m, f }, ... }; `int` and `emit` branch on node.q.fixed. Absent
   * means the op has no Q form (data movement ops reuse their int8 `quantize`, which is
   * the identity on bytes when every tensor shares one scale).
   */
  fixed?(node: Node, g: Graph, fx: FixedCtx): void;
  /** Emits the kernel call; absent means the op can only be constant-folded. */
  emit?(node: Node, e: EmitCtx): void;
  /** Output 0 is a view of input 0 with another shape: no kernel and no buffer of its own. */
  alias?: boolean;
  /**
   * Multiply-accumulates of one run of the node; ops without multiplies count their
   * accumulate or compare steps (pooling windows, Add operands); 0 for data movement and
   * table lookups. This is the work figure the manifest and the cost model use.
   */
  macs?(node: Node, g: Graph): number;
  /**
   * Streaming nodes (attrs.stream) that keep state in the reference between executions:
   * forget it, so the next execution starts as after a reset (stream/interp.ts calls it).
   */
  resetStream?(node: Node): void;
}
