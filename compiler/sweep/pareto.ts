/**
 * The sweep's two judgements of a configuration, kept apart from how it was measured:
 *   - the Pareto front over (size, accuracy, energy): a configuration is on it when no other
 *     is at least as small, as accurate and as frugal and strictly better in one of them;
 *   - the quality score, one number trading accuracy loss against size reduction:
 *       score = log2(size_float32 / size) - lambda * max(0, accuracy_loss_points)
 *     so each halving of the constant data earns 1 and each point of top-1 accuracy lost
 *     below float32 costs lambda (default 1: one point of accuracy is worth a factor 2 in
 *     size). Gains over float32 earn nothing: on a test set of a few hundred samples they
 *     are noise, and the score should not reward overfitting to it.
 * The recommendation is the best score among configurations within the accuracy budget
 * (loss <= budget points); ties go to the lower energy, then the smaller size, then the
 * earlier configuration in the grid, so it is deterministic.
 */

export interface Point {
  sizeBytes: number;
  /** Top-1 accuracy in percent. */
  accuracy: number;
  joules: number;
}

/** Whether a is at least as good as b in every objective and better in one. */
export function dominates(a: Point, b: Point): boolean {
  const ge = a.sizeBytes <= b.sizeBytes && a.accuracy >= b.accuracy && a.joules <= b.joules;
  const gt = a.sizeBytes < b.sizeBytes || a.accuracy > b.accuracy || a.joules < b.joules;
  return ge && gt;
}

/** Indices of the non-dominated points, in input order. Equal points are all kept. */
export function paretoFront(points: Point[]): number[] {
  const front: number[] = [];
  points.forEach((p, i) => {
    if (!points.some((q, j) => j !== i && dominates(q, p))) front.push(i);
  });
  return front;
}

export const DEFAULT_LAMBDA = 1;

/** Accuracy loss in points below the reference (negative when better). */
export function accuracyLoss(accuracy: number, reference: number): number {
  return reference - accuracy;
}

export function score(sizeBytes: number, floatSizeBytes: number, lossPoints: number, lambda = DEFAULT_LAMBDA): number {
  if (!(sizeBytes > 0) || !(floatSizeBytes > 0)) return Number.NaN;
  return Math.log2(floatSizeBytes / sizeBytes) - lambda * Math.max(0, lossPoints);
}

/** Within the budget: the loss is at most `budget` points (up to rounding of the percentages). */
export function withinBudget(lossPoints: number, budget: number): boolean {
  return lossPoints <= budget + 1e-9; // accuracies are ratios of counts x 100: 1e-9 absorbs float rounding only
}

/** `failed`: truthy for a configuration that did not compile (its message). */
export interface Ranked { score: number; joules: number; sizeBytes: number; index: number; within: boolean; failed?: unknown }

/** Order for the ranked table: score high to low, then energy, size and grid order; failed last. */
export function compareRanked(a: Ranked, b: Ranked): number {
  if (!!a.failed !== !!b.failed) return a.failed ? 1 : -1;
  if (a.failed) return a.index - b.index;
  return b.score - a.score || a.joules - b.joules || a.sizeBytes - b.sizeBytes || a.index - b.index;
}

/** The recommended configuration: the best-ranked one within the budget (undefined if none). */
export function recommend<T extends Ranked>(rows: T[]): T | undefined {
  return [...rows].filter((r) => !r.failed && r.within).sort(compareRanked)[0];
}
