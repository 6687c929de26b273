/**
 * The operator table: the one place that lists which operators picojoule knows. Each row
 * is an OpDef from its own file (see ops/types.ts). Ops with an `emit` run on the device;
 * the fold-only ops exist to evaluate exporters' shape arithmetic at compile time.
 */
import { bad } from "../util/errors.js";
import type { OpDef } from "./types.js";
import { Conv } from "./conv.js";
import { Dropout, Flatten, Identity, Reshape, Squeeze, Unsqueeze } from "./views.js";
import { FOLD_ONLY } from "./fold-only.js";

const DEVICE_OPS: OpDef[] = [
  Conv,
  Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout,
];

export const OPS: ReadonlyMap<string, OpDef> = new Map([...FOLD_ONLY, ...DEVICE_OPS].map((d) => [d.op, d]));

/** Operators that can run on the device (have a kernel or are views), sorted, for error messages. */
export const SUPPORTED: readonly string[] = DEVICE_OPS.map((d) => d.op).sort();

export function opDef(op: string): OpDef {
  const d = OPS.get(op);
  if (!d) bad(`unknown operator ${op}`);
  return d!;
}
