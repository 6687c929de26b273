/**
 * StreamShift (internal, made by the stream compiler, never imported from ONNX): pushes one
 * new column into a layer's input window. The window is a state tensor [N, C, W] that
 * persists between steps; every row moves one place towards the past (the oldest column
 * drops out) and the new column [N, C, 1] becomes the last. The output names the window
 * itself (also its second input): the node updates its state in place. Any dtype (float32 windows and int8 windows
 * share the code); no arithmetic, so the integer form is the same function.
 */
import { allocData, tensor, type Value } from "../ir/graph.js";
import type { OpDef } from "./types.js";

function shift(col: Value, win: Value): Value[] {
  const W = win.shape[win.shape.length - 1];
  const rows = win.data.length / W;
  const out = allocData(win.dtype, win.data.length);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < W - 1; k++) out[r * W + k] = win.data[r * W + k + 1];
    out[r * W + W - 1] = col.data[r];
  }
  return [{ dtype: win.dtype, shape: win.shape, data: out }];
}

export const StreamShift: OpDef = {
  op: "StreamShift",
  doc: "(internal) push one column into a streaming layer's input window",
  // inputs: the new column and the window; the output is the window again (updated in place)
  ref: (_node, ins) => shift(ins[0], ins[1]),
  int: (_node, ins) => shift(ins[0], ins[1]),
  emit(node, e) {
    const win = tensor(e.g, node.outputs[0]);
    const W = win.shape[win.shape.length - 1];
    const bytes = win.dtype === "float32" ? 4 : 1;
    e.call("stream", "stream_shift", [e.addr(node.inputs[0]), e.addr(node.outputs[0]), win.shape.slice(0, -1).reduce((a, b) => a * b, 1), W * bytes, bytes]);
  },
  macs: () => 0,
};
