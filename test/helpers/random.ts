/**
 * Seeded pseudo-random data for tests (mulberry32), so every failure reproduces.
 */
import { makeValue, type Value } from "../../compiler/ir/graph.js";

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform floats in [lo, hi). */
export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export function randValue(r: () => number, shape: number[], lo = -1, hi = 1): Value {
  return makeValue("float32", shape, uniform(r, shape.reduce((a, b) => a * b, 1), lo, hi));
}
