/**
 * The operator table: the one place that lists which operators picojoule knows. Each row
 * is an OpDef from its own file (see ops/types.ts). Ops with an `emit` run on the device;
 * the fold-only ops exist to evaluate exporters' shape arithmetic at compile time.
 */
import { bad } from "../util/errors.js";
import type { OpDef } from "./types.js";
import { Conv } from "./conv.js";
import { Gemm } from "./gemm.js";
import { MatMul } from "./matmul.js";
import { Dropout, Flatten, Identity, Reshape, Squeeze, Unsqueeze } from "./views.js";
import { FOLD_ONLY } from "./fold-only.js";
import { Add } from "./add.js";
import { Mul } from "./mul.js";
import { Concat } from "./concat.js";
import { Transpose } from "./transpose.js";
import { Pad } from "./pad.js";
import { Relu } from "./relu.js";
import { Clip } from "./clip.js";
import { LeakyRelu } from "./leaky-relu.js";
import { Sigmoid } from "./sigmoid.js";
import { Tanh } from "./tanh.js";
import { HardSigmoid } from "./hard-sigmoid.js";
import { Softmax } from "./softmax.js";
import { MaxPool } from "./max-pool.js";
import { AveragePool } from "./average-pool.js";
import { GlobalAveragePool } from "./global-average-pool.js";
import { BatchNormalization } from "./batch-normalization.js";
import { LSTM } from "./lstm.js";
import { GRU } from "./gru.js";
import { RNN } from "./rnn.js";
import { Gather } from "./gather.js";
import { Slice } from "./slice.js";
import { StreamShift } from "./stream-shift.js";
import { TimeUpsample } from "./time-upsample.js";

const DEVICE_OPS: OpDef[] = [
  Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, Softmax,
  Conv, Gemm, MatMul,
  MaxPool, AveragePool, GlobalAveragePool, BatchNormalization,
  Add, Mul, Concat, Transpose, Pad, Gather, Slice,
  Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout,
  LSTM, GRU, RNN,
];

/** Ops the compiler itself inserts (never imported from ONNX). */
const INTERNAL_OPS: OpDef[] = [StreamShift, TimeUpsample];

export const OPS: ReadonlyMap<string, OpDef> = new Map([...FOLD_ONLY, ...DEVICE_OPS, ...INTERNAL_OPS].map((d) => [d.op, d]));

/** Operators that can run on the device (have a kernel or are views), sorted, for error messages. */
export const SUPPORTED: readonly string[] = DEVICE_OPS.map((d) => d.op).sort();

export function opDef(op: string): OpDef {
  const d = OPS.get(op);
  if (!d) bad(`unknown operator ${op}`);
  return d!;
}
