/**
 * Analytic costs of the misc kernels (see kernels.ts for what is counted and how it is checked).
 */
import type { Formula } from "./types.js";

export const MISC: Record<string, Formula> = {};
