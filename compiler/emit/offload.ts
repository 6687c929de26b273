/**
 * The offload ABI: a layer marked by passes/offload.ts becomes one call of a host function
 * imported from the module "pj_offload" instead of its kernel. Each call passes a pointer
 * to a parameter block (int32 words, static data) and the buffers' addresses; the host
 * reads and writes the module's linear memory and returns 0, or a non-zero code, on which
 * the module traps (unreachable): a failed accelerator never yields a silent wrong answer.
 *
 *   fpga_lstm(params, x, w, r, bias, h0, c0, y, y_h, y_c) -> i32
 *     params: [1 (ABI version), layer index, T, B, I, H, m, f, element bytes (1 or 2),
 *              x step stride, x batch stride, y step stride, y batch stride, state batch stride]
 *     a Q-format LSTM (compiler/ops/lstm-q.ts): x [T,B,I] or [B,T,I] (the strides say which),
 *     w [4H, I], r [4H, H], bias the merged [4H] (0: none), h0 / c0 [B, H] (0: zeros);
 *     y (0: not needed), y_h, y_c (0: not needed); elements int8 or int16 on the Qm.f grid.
 *   rram_gemm(params, a, w, bias, y) -> i32
 *     params: [1, layer index, M, N, K, lo, hi (float32 bits of the fused activation's bounds)]
 *     y[m, n] = clamp(bias[n] + sum_k a[m, k] w[n, k], lo, hi), float32; w [N, K] constant
 *     (the host programs its crossbar on the first call), bias 0: none.
 * The default build (no --offload) has no imports at all.
 */
import { tensor, numel, type Node } from "../ir/graph.js";
import type { EmitCtx } from "../ops/types.js";
import { geomOf, stridesOf } from "../ops/recurrent.js";
import { actBounds } from "../ops/util.js";
import { qStorage } from "../ir/fixedpoint.js";
import { internal } from "../util/errors.js";

export const OFFLOAD_MODULE = "pj_offload";
export const ABI_VERSION = 1;

const DECL: Record<string, string> = {
  fpga_lstm: `@external("${OFFLOAD_MODULE}", "fpga_lstm") declare function pj_offload_fpga_lstm(params: usize, x: usize, w: usize, r: usize, bias: usize, h0: usize, c0: usize, y: usize, yh: usize, yc: usize): i32;`,
  rram_gemm: `@external("${OFFLOAD_MODULE}", "rram_gemm") declare function pj_offload_rram_gemm(params: usize, a: usize, w: usize, bias: usize, y: usize): i32;`,
};

export interface OffloadInfo { layer: string; index: number; accelerator: string; import: string; params: number[] }

/** Emits the host call for an offloaded node; returns what model.json records about it. */
export function emitOffload(node: Node, index: number, e: EmitCtx): OffloadInfo {
  const at = (n: string | undefined) => (n ? e.addr(n) : "0");
  const key = node.name || node.outputs.find((o) => o) || node.op;
  if (node.attrs.offload === "fpga-lstm") {
    const gm = geomOf(node, tensor(e.g, node.inputs[0]).shape);
    const st = stridesOf(gm);
    const fx = node.q!.fixed;
    const params = [ABI_VERSION, index, gm.T, gm.B, gm.I, gm.H, fx.m, fx.f, qStorage(fx) === "int8" ? 1 : 2, st.xt, st.xb, st.yt, st.yb, st.sb];
    const p = e.data(`${key}_offload`, "int32", params);
    e.external(DECL.fpga_lstm);
    e.hostCall("pj_offload_fpga_lstm", [p, at(node.inputs[0]), at(node.inputs[1]), at(node.inputs[2]), at(node.inputs[3]), at(node.inputs[5]), at(node.inputs[6]),
      at(node.outputs[0]), at(node.outputs[1]), at(node.outputs[2])]);
    return { layer: node.name, index, accelerator: "fpga-lstm", import: `${OFFLOAD_MODULE}.fpga_lstm`, params };
  }
  if (node.attrs.offload === "rram") {
    const [an, wn, bn] = node.inputs;
    const A = tensor(e.g, an), W = tensor(e.g, wn);
    let w: string, N: number, K: number;
    if (node.op === "Gemm") {
      [N, K] = W.shape;
      w = e.addr(wn);
    } else {
      // MatMul's constant B is [K, N]: pass it as [N, K] rows, as the float kernel does
      [K, N] = W.shape;
      const t = new Float32Array(N * K);
      for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) t[n * K + k] = W.data![k * N + n];
      w = e.data(`${wn}_T`, "float32", t);
    }
    const { min, max } = actBounds(node);
    const bits = new Int32Array(new Float32Array([min, max]).buffer);
    const params = [ABI_VERSION, index, numel(A.shape) / K, N, K, bits[0], bits[1]];
    const p = e.data(`${key}_offload`, "int32", params);
    e.external(DECL.rram_gemm);
    e.hostCall("pj_offload_rram_gemm", [p, e.addr(an), w, node.op === "Gemm" && bn ? e.addr(bn) : "0", e.addr(node.outputs[0])]);
    return { layer: node.name, index, accelerator: "rram", import: `${OFFLOAD_MODULE}.rram_gemm`, params };
  }
  internal(`offload '${node.attrs.offload}' has no emitter`);
}
