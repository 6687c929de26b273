// The sweep's judgements on hand-made numbers (compiler/sweep/pareto.ts, methods.ts): the
// Pareto front over (size, accuracy, energy), the score formula worked by hand, the budget
// rule and the recommendation never going over it, and the grid the methods table builds.
import { describe, expect, it } from "vitest";
import { compareRanked, dominates, paretoFront, recommend, score, withinBudget, type Ranked } from "../../compiler/sweep/pareto.js";
import { buildGrid, parseMethods } from "../../compiler/sweep/methods.js";
import { PicoError } from "../../compiler/util/errors.js";

describe("Pareto front", () => {
  it("keeps exactly the non-dominated points of a hand-made set", () => {
    const pts = [
      { sizeBytes: 1000, accuracy: 95, joules: 3 }, // 0: front (most accurate)
      { sizeBytes: 500, accuracy: 94, joules: 3 }, // 1: front (smaller, less accurate)
      { sizeBytes: 600, accuracy: 93, joules: 3 }, // 2: dominated by 1 (bigger, less accurate, same energy)
      { sizeBytes: 600, accuracy: 93, joules: 1 }, // 3: front: the least energy
      { sizeBytes: 1000, accuracy: 95, joules: 4 }, // 4: dominated by 0 (same size and accuracy, more energy)
      { sizeBytes: 200, accuracy: 50, joules: 9 }, // 5: front: the smallest
      { sizeBytes: 500, accuracy: 94, joules: 3 }, // 6: equal to 1: neither dominates, both kept
    ];
    expect(paretoFront(pts)).toEqual([0, 1, 3, 5, 6]);
    expect(dominates(pts[1], pts[2])).toBe(true);
    expect(dominates(pts[1], pts[6])).toBe(false);
    expect(dominates(pts[3], pts[1])).toBe(false); // less energy but bigger and less accurate
  });

  it("a single point is its own front", () => {
    expect(paretoFront([{ sizeBytes: 1, accuracy: 0, joules: 0 }])).toEqual([0]);
  });
});

describe("score", () => {
  it("is log2 of the compression minus lambda per point lost", () => {
    // 8000 B -> 2000 B is a factor 4: log2 4 = 2; 1.5 points lost at lambda 1: 2 - 1.5 = 0.5
    expect(score(2000, 8000, 1.5)).toBeCloseTo(0.5, 12);
    // lambda 2: 2 - 3 = -1
    expect(score(2000, 8000, 1.5, 2)).toBeCloseTo(-1, 12);
    // 6216 -> 2104 B without loss: log2(2.9544...) = 1.5629...
    expect(score(2104, 6216, 0)).toBeCloseTo(1.56286, 4);
    // an accuracy gain earns nothing: same as no loss
    expect(score(1000, 1000, -2)).toBe(0);
    // bigger than float32 scores below 0: 1000 -> 2000 B is -1
    expect(score(2000, 1000, 0)).toBeCloseTo(-1, 12);
  });
});

describe("budget and recommendation", () => {
  it("within the budget means losing at most budget points", () => {
    expect(withinBudget(1, 1)).toBe(true);
    expect(withinBudget(1.0001, 1)).toBe(false);
    expect(withinBudget(-3, 0)).toBe(true);
    expect(withinBudget(0.7, 0)).toBe(false);
    // 100 * 2/3 - 100 * 1/3 computed in floats must still count as 33.33 points of a 33.34 budget
    expect(withinBudget(100 * 2 / 3 - 100 / 3, 100 / 3)).toBe(true);
  });

  it("recommends the best score within the budget, never one over it", () => {
    const rows: Ranked[] = [
      { index: 0, score: 0, joules: 3, sizeBytes: 8000, within: true },
      { index: 1, score: 5, joules: 1, sizeBytes: 100, within: false }, // best score, but over budget
      { index: 2, score: 2, joules: 2, sizeBytes: 2000, within: true },
      { index: 3, score: 2, joules: 1.5, sizeBytes: 2000, within: true }, // same score, less energy: wins the tie
      { index: 4, score: 9, joules: 0, sizeBytes: 1, within: true, failed: "did not compile" },
    ];
    expect(recommend(rows)?.index).toBe(3);
    expect([...rows].sort(compareRanked).map((r) => r.index)).toEqual([1, 3, 2, 0, 4]);
    expect(recommend(rows.filter((r) => r.index === 1))).toBeUndefined();
  });
});

describe("methods table and grid", () => {
  it("crosses arithmetic with pruning and adds weights methods alone and pruned", () => {
    const { choices } = parseMethods(["int8,fixed=Q8.8", "prune=0.5:0.9", "ternary"], true);
    const grid = buildGrid(choices, "c.npy");
    expect(grid.map((c) => c.name)).toEqual([
      "float32", "prune0.5", "prune0.9", "int8", "int8+prune0.5", "int8+prune0.9", "Q8.8", "Q8.8+prune0.5", "Q8.8+prune0.9",
      "int8+ternary", "int8+ternary+prune0.5", "int8+ternary+prune0.9",
    ]);
    const t = grid.find((c) => c.name === "int8+ternary+prune0.5")!;
    expect(t.options).toEqual({ quantize: "int8", calibrate: "c.npy", ternary: ["all"], prune: { "*": 0.5 } });
    expect(t.flags).toEqual(["--quantize", "int8", "--calibrate", "c.npy", "--ternary", "all", "--prune", "0.5"]);
    expect(grid.find((c) => c.name === "Q8.8")!.options).toEqual({ fixed: "Q8.8" });
  });

  it("int2 weights are not pruned (no zero level); share is, binary is not", () => {
    const { choices } = parseMethods(["weights", "share=2", "binary", "prune=0.5"], true);
    const names = buildGrid(choices, "c.npy").map((c) => c.name);
    expect(names).toEqual([
      "float32", "prune0.5", "int8+int4", "int8+int4+prune0.5", "int8+int2",
      "int8+share2", "int8+share2+prune0.5", "int8+binary",
    ]);
  });

  it("without calibration the default skips int8 methods and says which", () => {
    const { choices, skipped } = parseMethods(undefined, false);
    expect(choices.map((c) => c.method.name)).toEqual(["fixed", "prune", "delta"]);
    expect(skipped).toEqual(["int8", "ternary", "share", "weights", "pow2", "binary", "channels", "lowrank", "circulant"]);
  });

  it("refuses unknown names and strengths with one line", () => {
    const msg = (items: string[], calib = true) => {
      try { parseMethods(items, calib); } catch (e) { expect(e).toBeInstanceOf(PicoError); return (e as Error).message; }
      return "accepted";
    };
    expect(msg(["kmeans"])).toMatch(/unknown method 'kmeans'; known methods: int8, fixed, prune, ternary, share, weights, pow2, binary, channels, lowrank, circulant, delta/);
    expect(msg(["share=5"])).toMatch(/share=5: the index width must be 2, 3 or 4 bits/);
    expect(msg(["weights=int3"])).toMatch(/weights=int3: expected int4 or int2/);
    expect(msg(["delta=-1"])).toMatch(/delta=-1: a threshold must be a finite number >= 0/);
    expect(msg(["prune=1.5"])).toMatch(/prune=1\.5: a sparsity must be a number in \(0, 1\)/);
    expect(msg(["prune=0"])).toMatch(/prune=0: a sparsity/);
    expect(msg(["fixed=Q9.9"])).toMatch(/fixed=Q9\.9: 18 bits/);
    expect(msg(["int8=4"])).toMatch(/int8 takes no strength/);
    expect(msg(["int8"], false)).toMatch(/int8 needs --calibrate/);
    expect(msg(["prune=0.5", "prune=0.6"])).toMatch(/named twice/);
  });
});

describe("structure methods in the grid", () => {
  it("each alone in int8 and crossed with the weights methods it names", () => {
    const { choices } = parseMethods(["channels=0.5", "share=2:4", "circulant=4"], true);
    const names = buildGrid(choices, "c.npy").map((c) => c.name);
    expect(names).toEqual(["float32", "int8+share2", "int8+share4", "int8+channels0.5", "int8+channels0.5+share2", "int8+channels0.5+share4", "int8+circulant4"]);
    const cfg = buildGrid(choices, "c.npy").find((c) => c.name === "int8+channels0.5+share2")!;
    expect(cfg.options).toMatchObject({ quantize: "int8", calibrate: "c.npy", pruneChannels: { "*": 0.5 }, share: { "*": 2 } });
    expect(cfg.flags.join(" ")).toBe("--quantize int8 --calibrate c.npy --prune-channels 0.5 --share 2");
  });
});
