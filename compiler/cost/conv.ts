/**
 * Analytic costs of the conv kernels (see kernels.ts for what is counted and how it is checked).
 */
import type { Formula } from "./types.js";

export const CONV: Record<string, Formula> = {};
