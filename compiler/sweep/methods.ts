/**
 * The compression methods `picojoule sweep` knows, as a table: one row per method with its
 * kind, the strengths it tries by default, how a strength becomes CompileOptions (and the
 * compile flags that reproduce it), what it needs and what it combines with. The grid is
 * built from the table alone:
 *   - "arithmetic" rows (int8, fixed Q formats) are crossed with every pruning strength
 *     (seed 002's pruning x quantization grid), float32 included;
 *   - "weights" rows (ternary, ...) are tried alone, on the arithmetic they run on, and with
 *     each pruning strength when they combine with prune;
 *   - "structure" rows (channel pruning, low-rank, block-circulant: they change the layers'
 *     shapes or structure) are tried alone in int8 and crossed with the weights methods they
 *     name in `combines`;
 *   - float32 without pruning is always evaluated: it is the reference for accuracy loss and
 *     compression.
 * A method added to CompileOptions gets swept by adding one row here.
 */
import { bad } from "../util/errors.js";
import { parseFixed, fixedName } from "../passes/quantize-fixed.js";
import type { CompileOptions } from "../pipeline.js";
import type { Graph } from "../ir/graph.js";

export type MethodKind = "arithmetic" | "prune" | "weights" | "structure";

export interface Method {
  name: string;
  kind: MethodKind;
  about: string;
  /** Strengths tried when --methods names the method without any; [] for a method that takes none. */
  strengths: string[];
  /** What a strength may be (for the error message and --help). */
  allowed: string;
  /** A strength in canonical form, or bad(). */
  parse(s: string): string;
  /** Sets the method's CompileOptions fields for one strength. */
  apply(o: CompileOptions, s: string, calibrate?: string): void;
  /** Its part of a configuration's name (default: name and strength, e.g. prune0.5). */
  label?(s: string): string;
  /** The compile flags that reproduce it. */
  flags(s: string, calibrate?: string): string[];
  /** Needs int8 quantization (and so calibration samples). */
  needsInt8?: boolean;
  /** Needs --calibrate. */
  needsCalibration?: boolean;
  /** Names of the methods it is combined with in the grid (per strength when a function). */
  combines: string[] | ((s: string) => string[]);
  /** Why the method does not apply to a model (no layer it works on), or undefined. */
  applies?(g: Graph): string | undefined;
}

const combinesOf = (m: Method, s: string) => (typeof m.combines === "function" ? m.combines(s) : m.combines);
const hasFc = (g: Graph) => (g.nodes.some((n) => n.op === "Gemm" && n.attrs.canonical) ? undefined : "no fully connected layer");

const noStrength = (name: string) => (s: string): string => bad(`sweep: --methods ${name}=${s}: ${name} takes no strength`);

export const METHODS: Method[] = [
  {
    name: "int8", kind: "arithmetic", about: "post-training int8 quantization (per-channel weights)",
    strengths: [], allowed: "no strength", parse: noStrength("int8"),
    apply(o, _s, calibrate) { o.quantize = "int8"; o.calibrate = calibrate; },
    flags: (_s, calibrate) => ["--quantize", "int8", "--calibrate", calibrate ?? "<calib.npy>"],
    needsCalibration: true, combines: ["prune"],
  },
  {
    name: "fixed", kind: "arithmetic", about: "Q-format fixed point (truncate, saturate; no calibration)",
    strengths: ["Q8.8", "Q4.4"], allowed: "Q formats Qm.f of 2 to 16 bits, e.g. Q8.8",
    parse(s) {
      try { return fixedName(parseFixed(s)); } catch (e) { return bad(`sweep: --methods fixed=${s}: ${(e as Error).message.replace(/^--fixed \S+: /, "")}`); }
    },
    apply(o, s) { o.fixed = s; },
    label: (s) => s,
    flags: (s) => ["--fixed", s],
    combines: ["prune"],
  },
  {
    name: "prune", kind: "prune", about: "magnitude pruning of every fully connected layer (fraction of zeros)",
    strengths: ["0.5", "0.75", "0.9"], allowed: "sparsities in (0, 1), e.g. 0.5",
    parse(s) {
      const x = Number(s);
      if (s.trim() === "" || !Number.isFinite(x) || x <= 0 || x >= 1) bad(`sweep: --methods prune=${s}: a sparsity must be a number in (0, 1), e.g. 0.8 for 80% zeros`);
      return String(x);
    },
    apply(o, s) { o.prune = { "*": Number(s) }; },
    flags: (s) => ["--prune", s],
    combines: [], applies: hasFc,
  },
  {
    name: "ternary", kind: "weights", about: "ternary weights (TWN) in every fully connected layer, additions-only kernel",
    strengths: [], allowed: "no strength", parse: noStrength("ternary"),
    apply(o) { o.ternary = ["all"]; },
    flags: () => ["--ternary", "all"],
    needsInt8: true, needsCalibration: true, combines: ["prune"], applies: hasFc,
  },
  {
    name: "share", kind: "weights", about: "weight sharing: k-means codebook of 2^bits weights per layer, packed indices",
    strengths: ["4", "3", "2"], allowed: "index bits 2, 3 or 4",
    parse(s) { if (!/^[234]$/.test(s.trim())) bad(`sweep: --methods share=${s}: the index width must be 2, 3 or 4 bits`); return s.trim(); },
    apply(o, s) { o.share = { "*": Number(s) }; },
    flags: (s) => ["--share", s],
    needsInt8: true, needsCalibration: true, combines: ["prune"], applies: hasFc,
  },
  {
    name: "weights", kind: "weights", about: "sub-byte weights per output row, packed",
    strengths: ["int4", "int2"], allowed: "int4 or int2",
    parse(s) { if (s !== "int4" && s !== "int2") bad(`sweep: --methods weights=${s}: expected int4 or int2`); return s; },
    apply(o, s) { o.weights = { "*": s as "int4" | "int2" }; },
    label: (s) => s,
    flags: (s) => ["--weights", s],
    // int2's levels {-3, -1, 1, 3} have no zero: the compiler refuses it on pruned layers
    needsInt8: true, needsCalibration: true, combines: (s) => (s === "int2" ? [] : ["prune"]), applies: hasFc,
  },
  {
    name: "pow2", kind: "weights", about: "power-of-two weights (shifts instead of multiplies)",
    strengths: [], allowed: "no strength", parse: noStrength("pow2"),
    apply(o) { o.pow2 = ["all"]; },
    flags: () => ["--pow2", "all"],
    needsInt8: true, needsCalibration: true, combines: ["prune"], applies: hasFc,
  },
  {
    name: "binary", kind: "weights", about: "binary fully connected layers (XNOR-popcount)",
    strengths: [], allowed: "no strength", parse: noStrength("binary"),
    apply(o) { o.binary = ["all"]; },
    flags: () => ["--binary", "all"],
    // signs of pruned zeros are +1: pruning would change nothing but the scale
    needsInt8: true, needsCalibration: true, combines: [], applies: hasFc,
  },
  {
    name: "channels", kind: "structure", about: "channel pruning: the share of output channels with the smallest L1 norm go, later layers shrink with them",
    strengths: ["0.25", "0.5"], allowed: "shares in (0, 1), e.g. 0.5",
    parse(s) {
      const x = Number(s);
      if (s.trim() === "" || !Number.isFinite(x) || x <= 0 || x >= 1) bad(`sweep: --methods channels=${s}: a share of channels must be a number in (0, 1), e.g. 0.5`);
      return String(x);
    },
    apply(o, s) { o.pruneChannels = { "*": Number(s) }; },
    flags: (s) => ["--prune-channels", s],
    needsInt8: true, needsCalibration: true, combines: ["share", "weights"],
    applies: (g) => (g.nodes.some((n) => (n.op === "Gemm" && n.attrs.canonical) || (n.op === "Conv" && (n.attrs.group ?? 1) === 1)) ? undefined : "no Conv or fully connected layer"),
  },
  {
    name: "lowrank", kind: "structure", about: "low-rank factors (truncated SVD) keeping a share of the singular values' energy",
    strengths: ["0.9", "0.8"], allowed: "a rank (integer >= 1) or an energy share in (0, 1)",
    parse(s) {
      const x = Number(s);
      if (s.trim() === "" || !Number.isFinite(x) || !((Number.isInteger(x) && x >= 1) || (x > 0 && x < 1))) bad(`sweep: --methods lowrank=${s}: expected a rank (an integer >= 1) or an energy share in (0, 1)`);
      return String(x);
    },
    apply(o, s) { o.lowrank = { "*": Number(s) }; },
    flags: (s) => ["--lowrank", s],
    needsInt8: true, needsCalibration: true, combines: ["share", "weights"], applies: hasFc,
  },
  {
    name: "circulant", kind: "structure", about: "block-circulant weights: k x k circulant blocks, one vector each",
    strengths: ["4", "8"], allowed: "block sizes, whole numbers >= 2",
    parse(s) { if (!/^\d+$/.test(s.trim()) || Number(s) < 2) bad(`sweep: --methods circulant=${s}: the block size must be a whole number >= 2`); return String(Number(s)); },
    apply(o, s) { o.circulant = { "*": Number(s) }; },
    flags: (s) => ["--circulant", s],
    needsInt8: true, needsCalibration: true, combines: [], applies: hasFc,
  },
  {
    name: "delta", kind: "weights", about: "delta LSTM: propagate changes of at least theta only (float)",
    strengths: ["0.05", "0.1"], allowed: "thresholds theta >= 0 in the units of x and h",
    parse(s) {
      const x = Number(s);
      if (s.trim() === "" || !Number.isFinite(x) || x < 0) bad(`sweep: --methods delta=${s}: a threshold must be a finite number >= 0, e.g. 0.05`);
      return String(x);
    },
    apply(o, s) { o.delta = s; },
    flags: (s) => ["--delta", s],
    combines: ["prune"],
    applies: (g) => (g.nodes.some((n) => n.op === "LSTM") ? undefined : "no LSTM layer"),
  },
];

export function methodByName(name: string): Method {
  const m = METHODS.find((x) => x.name === name);
  if (!m) bad(`sweep: --methods: unknown method '${name}'; known methods: ${METHODS.map((x) => x.name).join(", ")}`);
  return m!;
}

/** A chosen method with the strengths to try ([""] for a method without strengths). */
export interface Choice { method: Method; strengths: string[] }

/**
 * --methods items: "name" or "name=s1:s2:..." (comma-separated, the flag repeatable).
 * Undefined (no --methods): every method, with its default strengths; those needing
 * calibration only when `haveCalibration`.
 */
export function parseMethods(items: string[] | undefined, haveCalibration: boolean, g?: Graph): { choices: Choice[]; skipped: string[]; notApplicable: string[] } {
  const skipped: string[] = [], notApplicable: string[] = [];
  if (!items) {
    const choices = METHODS.filter((m) => {
      const why = g && m.applies?.(g);
      if (why) { notApplicable.push(`${m.name} (${why})`); return false; }
      if (m.needsCalibration && !haveCalibration) { skipped.push(m.name); return false; }
      return true;
    }).map((m) => ({ method: m, strengths: m.strengths.length ? m.strengths : [""] }));
    return { choices, skipped, notApplicable };
  }
  const choices: Choice[] = [];
  for (const item of items.flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf("=");
    const name = eq < 0 ? item : item.slice(0, eq);
    const m = methodByName(name);
    if (choices.some((c) => c.method === m)) bad(`sweep: --methods: '${name}' is named twice; give all its strengths at once, e.g. ${name}=${(m.strengths.length ? m.strengths : ["s"]).join(":")}`);
    let strengths = m.strengths.length ? m.strengths : [""];
    if (eq >= 0) {
      const list = item.slice(eq + 1).split(":");
      strengths = [...new Set(list.map((s) => m.parse(s)))];
    }
    if (m.needsCalibration && !haveCalibration) bad(`sweep: --methods ${name} needs --calibrate <samples.npy> (int8 quantization is calibrated)`);
    const why = g && m.applies?.(g);
    if (why) bad(`sweep: --methods ${name}: ${g!.source} has ${why}, so ${name} does not apply`);
    choices.push({ method: m, strengths });
  }
  if (!choices.length) bad(`sweep: --methods is empty; known methods: ${METHODS.map((x) => x.name).join(", ")}`);
  return { choices, skipped, notApplicable };
}

/** One configuration of the sweep: the methods applied (with strengths), its options and flags. */
export interface Config {
  /** A short name, e.g. "int8+prune0.5". */
  name: string;
  steps: Array<{ method: string; strength: string }>;
  options: CompileOptions;
  /** Compile flags that reproduce the configuration. */
  flags: string[];
}

function makeConfig(steps: Array<{ method: Method; strength: string }>, calibrate?: string): Config {
  const options: CompileOptions = {};
  const flags: string[] = [];
  const all = [...steps];
  // a method that needs int8 brings it along
  if (all.some((s) => s.method.needsInt8) && !all.some((s) => s.method.name === "int8")) all.unshift({ method: methodByName("int8"), strength: "" });
  for (const s of all) {
    s.method.apply(options, s.strength, calibrate);
    flags.push(...s.method.flags(s.strength, calibrate));
  }
  const name = all.length ? all.map((s) => s.method.label?.(s.strength) ?? `${s.method.name}${s.strength}`).join("+") : "float32";
  return { name, steps: all.map((s) => ({ method: s.method.name, strength: s.strength })), options, flags };
}

/**
 * The grid for the chosen methods: float32 first (the reference), then every arithmetic x
 * pruning strength (none included), then each weights method alone and with each pruning
 * strength, then each structure method alone and with the weights methods it combines with. Order is fixed, so results do not depend on how many workers ran them.
 */
export function buildGrid(choices: Choice[], calibrate?: string): Config[] {
  const prune = choices.find((c) => c.method.kind === "prune");
  const prunes: Array<string | undefined> = [undefined, ...(prune?.strengths ?? [])];
  const arith: Array<{ method: Method; strength: string } | undefined> = [undefined];
  for (const c of choices.filter((c) => c.method.kind === "arithmetic")) for (const s of c.strengths) arith.push({ method: c.method, strength: s });
  const out: Config[] = [];
  const withPrune = (base: Array<{ method: Method; strength: string }>, p: string | undefined) => (p === undefined ? base : [...base, { method: prune!.method, strength: p }]);
  for (const a of arith) {
    for (const p of prunes) {
      if (a && p !== undefined && !combinesOf(a.method, a.strength).includes("prune")) continue;
      out.push(makeConfig(withPrune(a ? [a] : [], p), calibrate));
    }
  }
  for (const c of choices.filter((c) => c.method.kind === "weights")) {
    for (const s of c.strengths) {
      for (const p of prunes) {
        if (p !== undefined && !combinesOf(c.method, s).includes("prune")) continue;
        out.push(makeConfig(withPrune([{ method: c.method, strength: s }], p), calibrate));
      }
    }
  }
  const weights = choices.filter((c) => c.method.kind === "weights");
  for (const c of choices.filter((c) => c.method.kind === "structure")) {
    for (const s of c.strengths) {
      out.push(makeConfig([{ method: c.method, strength: s }], calibrate));
      for (const w of weights) {
        if (!combinesOf(c.method, s).includes(w.method.name)) continue;
        for (const ws of w.strengths) out.push(makeConfig([{ method: c.method, strength: s }, { method: w.method, strength: ws }], calibrate));
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((c) => (seen.has(c.name) ? false : (seen.add(c.name), true)));
}
