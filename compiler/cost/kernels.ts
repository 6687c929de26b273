/**
 * The compiler's analytic cost of each kernel call: multiplications (i32, i64 and f32 alike),
 * bytes read and bytes written (memory.copy reads and writes its size, memory.fill writes
 * it), as formulas of the call's arguments. One formula per kernel function of runtime-as/,
 * in the family files beside this one; each mirrors its kernel's loop structure (which
 * loads and multiplies run how often) and is checked against the instrumented module
 * (targets/profile) in test/cost: the two agree exactly, per layer, on every example.
 * MACs are the ops' own count (ops/*.ts `macs`); here they appear as the multiply term of
 * each formula, next to requantization and addressing multiplies.
 *
 * Arguments are those the emitter passed: numbers, address expressions (only whether they
 * are 0 matters: an absent bias, say), and a few module variables of streaming code
 * (stream_mode, step_t) whose values the caller gives.
 */
import { STEADY, Args, type CallVars, type KernelCost, type Formula } from "./types.js";
import { FC } from "./fc.js";
import { CONV } from "./conv.js";
import { RECURRENT } from "./recurrent.js";
import { MISC } from "./misc.js";
import { FC_CIRCULANT } from "./fc-circulant.js";
import { FC_EIE } from "./fc-eie.js";
import { CONV_SPARSE } from "./conv-sparse.js";
import { CONV_PACKED } from "./conv-packed.js";

/** Offloaded layers (emit/offload.ts): the module only calls the host, which does the work. */
const OFFLOAD: Record<string, Formula> = {
  pj_offload_fpga_lstm: () => ({ muls: 0, loadBytes: 0, storeBytes: 0 }),
  pj_offload_rram_gemm: () => ({ muls: 0, loadBytes: 0, storeBytes: 0 }),
};

/**
 * Kernels whose cost depends on the data, so that their formula is an upper bound: the
 * delta LSTM/GRU (--delta, recurrent.ts) skips the weight columns of unchanged inputs, and fc_eie_s8 (--eie,
 * cost/fc-eie.ts) those of zero activations. The exactness checks
 * (test/helpers/cost.ts) hold these to dynamic <= analytic instead of equality.
 */
export const UPPER_BOUND_KERNELS: ReadonlySet<string> = new Set(["lstm_delta_q8", "lstm_delta_q16", "lstm_delta_f32", "gru_delta_f32", "lstm_delta_s8", "fc_eie_s8"]);

/**
 * --intermittent tiles (compiler/emit/intermittent.ts): before its kernel, a tile reads its
 * varying arguments (pointer offsets and counts, i32 each) from its layer's table; the
 * argument is those bytes.
 */
const CHECKPOINT: Record<string, Formula> = {
  ck_tile_args: (a) => ({ muls: 0, loadBytes: a.n(0), storeBytes: 0 }),
};

export const FORMULAS: Record<string, Formula> = { ...FC, ...FC_CIRCULANT, ...FC_EIE, ...CONV, ...CONV_SPARSE, ...CONV_PACKED, ...RECURRENT, ...MISC, ...OFFLOAD, ...CHECKPOINT };

type Call = { kernel: string; args: ReadonlyArray<string | number> };

/** `module`: every kernel call of the module (see Args.fixed); by default just this one. */
export function callCost(kernel: string, args: ReadonlyArray<string | number>, vars: CallVars = STEADY, module: ReadonlyArray<Call> = [{ kernel, args }]): KernelCost | undefined {
  const f = FORMULAS[kernel];
  return f ? f(new Args(kernel, args, vars, module.filter((c) => c.kernel === kernel).map((c) => c.args))) : undefined;
}

/** The sum over a layer's calls; undefined when a kernel has no formula yet. */
export function callsCost(calls: ReadonlyArray<Call>, vars: CallVars = STEADY, module: ReadonlyArray<Call> = calls): KernelCost | undefined {
  const sum: KernelCost = { muls: 0, loadBytes: 0, storeBytes: 0 };
  for (const c of calls) {
    const k = callCost(c.kernel, c.args, vars, module);
    if (!k) return undefined;
    sum.muls += k.muls; sum.loadBytes += k.loadBytes; sum.storeBytes += k.storeBytes;
  }
  return sum;
}

export { Args, STEADY, type CallVars, type KernelCost, type Formula };
