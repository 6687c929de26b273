/**
 * Analytic costs of the recurrent kernels (see kernels.ts for what is counted and how it is checked).
 */
import type { Formula } from "./types.js";

export const RECURRENT: Record<string, Formula> = {};
