/**
 * Errors the user can act on. Every failure picojoule reports to a person goes through
 * `PicoError`, which carries the exit code the CLI uses: 2 for bad input (a file, a shape,
 * an operator we do not support), 1 for an internal failure. The message is one line that
 * names the file, node, op or shape at fault, so it reads well both from the CLI and when
 * thrown from the library.
 */
export class PicoError extends Error {
  /** Set when the problem is a run-time tensor that must be a compile-time constant. */
  constantNeeded?: string;
  /** Set by the power simulator when a commit policy cannot finish on this power (it livelocks, or its capacitor cannot hold a power-on and a task). */
  policyStopped?: "livelock" | "refused";
  constructor(message: string, readonly exitCode: 1 | 2 = 2) {
    super(message.replace(/\s*\n\s*/g, " "));
    this.name = "PicoError";
  }
}

/** Bad input: the tensor `name` is computed at run time but the compiler needs its value. */
export function needConstant(name: string, message: string): never {
  const e = new PicoError(message, 2);
  e.constantNeeded = name;
  throw e;
}

/** A commit policy that cannot finish on the power simulated: exit code 2 from the library; the CLI reports it beside the other policies. */
export function policyStopped(kind: "livelock" | "refused", message: string): never {
  const e = new PicoError(message, 2);
  e.policyStopped = kind;
  throw e;
}

/** Bad input: exit code 2. */
export function bad(message: string): never {
  throw new PicoError(message, 2);
}

/** An internal invariant broke: exit code 1. */
export function internal(message: string): never {
  throw new PicoError(`internal error: ${message}`, 1);
}

export function shapeStr(shape: readonly number[]): string {
  return shape.length === 0 ? "scalar" : shape.join("x");
}
