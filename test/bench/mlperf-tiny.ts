/**
 * The three MLPerf Tiny v0.5 reference networks whose Cortex-M4F results RESEARCH.md
 * quotes, rebuilt layer for layer as ONNX graphs with seeded random weights (cost does not
 * depend on the weights' values): keyword spotting DS-CNN (49x10 MFCC input, 2.7 M MACs),
 * anomaly detection FC autoencoder (640 inputs, 0.26 M MACs) and image classification
 * ResNet-8 (32x32x3, 12.5 M MACs). BatchNormalization is left out: it folds into the
 * convolutions, in TFLite as here. The published latency and energy on a Cortex-M4F at
 * 120 MHz (TFLM and X-CUBE-AI) sit beside each model.
 */
import type { ModelSpec, NodeSpec } from "../helpers/build-onnx.js";
import { rng, uniform } from "../helpers/random.js";

export interface Published { system: string; ms: number; mJ: number }

export interface TinyModel {
  name: string;
  spec: ModelSpec;
  published: Published[];
  source: string;
}

class Builder {
  nodes: NodeSpec[] = [];
  inits: NonNullable<ModelSpec["initializers"]> = [];
  private n = 0;
  private r = rng(2024);
  weight(shape: number[], fanIn: number): string {
    const name = `w${this.n++}`;
    const s = Math.sqrt(2 / fanIn);
    this.inits.push({ name, shape, data: uniform(this.r, shape.reduce((a, b) => a * b, 1), -s, s) });
    return name;
  }
  op(op: string, inputs: string[], attrs?: NodeSpec["attrs"]): string {
    const out = `t${this.n++}`;
    this.nodes.push({ op, inputs, outputs: [out], attrs });
    return out;
  }
  conv(x: string, cin: number, cout: number, k: [number, number], stride: number, pads: number[], group = 1, relu = true): string {
    const w = this.weight([cout, cin / group, k[0], k[1]], (cin / group) * k[0] * k[1]);
    const b = this.weight([cout], 100);
    const y = this.op("Conv", [x, w, b], { kernel_shape: k, strides: [stride, stride], pads, group });
    return relu ? this.op("Relu", [y]) : y;
  }
  gemm(x: string, cin: number, cout: number, relu: boolean): string {
    const w = this.weight([cout, cin], cin), b = this.weight([cout], 100);
    const y = this.op("Gemm", [x, w, b], { transB: 1 });
    return relu ? this.op("Relu", [y]) : y;
  }
  spec(input: { name: string; shape: number[] }, out: string): ModelSpec {
    this.nodes[this.nodes.length - 1].outputs = ["output"];
    void out;
    return { inputs: [input], outputs: ["output"], nodes: this.nodes, initializers: this.inits };
  }
}

const MLPERF = "MLPerf Tiny v0.5 results, Cortex-M4F at 120 MHz, as quoted in ../shared/design/RESEARCH.md ('Cost figures')";

/** DS-CNN (small): Conv 10x4 /2 to 64, four depthwise-separable blocks, average pool, FC 12. */
function dsCnn(): TinyModel {
  const b = new Builder();
  let x = b.conv("input", 1, 64, [10, 4], 2, [4, 1, 5, 2]); // 49x10 -> 25x5 ('same')
  for (let i = 0; i < 4; i++) {
    x = b.conv(x, 64, 64, [3, 3], 1, [1, 1, 1, 1], 64);
    x = b.conv(x, 64, 64, [1, 1], 1, [0, 0, 0, 0]);
  }
  x = b.op("GlobalAveragePool", [x]);
  x = b.op("Flatten", [x]);
  x = b.gemm(x, 64, 12, false);
  return { name: "kws-ds-cnn", spec: b.spec({ name: "input", shape: [1, 1, 49, 10] }, x), source: MLPERF,
    published: [{ system: "TFLM", ms: 181.9, mJ: 7.37 }, { system: "X-CUBE-AI", ms: 75.1, mJ: 3.37 }] };
}

/** FC autoencoder: 640 -> 128 x4 -> 8 -> 128 x4 -> 640, ReLU between. */
function fcAutoencoder(): TinyModel {
  const b = new Builder();
  const widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640];
  let x = "input";
  for (let i = 0; i + 1 < widths.length; i++) x = b.gemm(x, widths[i], widths[i + 1], i + 2 < widths.length);
  return { name: "ad-fc-autoencoder", spec: b.spec({ name: "input", shape: [1, 640] }, x), source: MLPERF,
    published: [{ system: "TFLM", ms: 10.1, mJ: 0.42 }, { system: "X-CUBE-AI", ms: 7.6, mJ: 0.32 }] };
}

/** ResNet-8: Conv 16, three residual stacks (16, 32 /2, 64 /2; 1x1 shortcuts when the shape changes), pool, FC 10. */
function resnet8(): TinyModel {
  const b = new Builder();
  let x = b.conv("input", 3, 16, [3, 3], 1, [1, 1, 1, 1]);
  let c = 16;
  for (const [cout, stride] of [[16, 1], [32, 2], [64, 2]]) {
    const y1 = b.conv(x, c, cout, [3, 3], stride, [1, 1, 1, 1]);
    const y2 = b.conv(y1, cout, cout, [3, 3], 1, [1, 1, 1, 1], 1, false);
    const sc = stride === 1 && cout === c ? x : b.conv(x, c, cout, [1, 1], stride, [0, 0, 0, 0], 1, false);
    x = b.op("Relu", [b.op("Add", [y2, sc])]);
    c = cout;
  }
  x = b.op("GlobalAveragePool", [x]);
  x = b.op("Flatten", [x]);
  x = b.gemm(x, 64, 10, false);
  return { name: "ic-resnet8", spec: b.spec({ name: "input", shape: [1, 3, 32, 32] }, x), source: MLPERF,
    published: [{ system: "TFLM", ms: 704, mJ: 29.2 }, { system: "X-CUBE-AI", ms: 227, mJ: 10.7 }] };
}

export const TINY_MODELS: TinyModel[] = [dsCnn(), fcAutoencoder(), resnet8()];
