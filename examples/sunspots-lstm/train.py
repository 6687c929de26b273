#!/usr/bin/python3
"""Train a one-layer LSTM forecaster on the yearly sunspot numbers and export it to ONNX.

The model (shaped like the ElasticAI FPGA LSTM paper) is nn.LSTM(1 -> 20)
followed by nn.Linear(20 -> 1) on the last time step; it predicts the next
(normalized) yearly sunspot number from the previous T = 24 values.

Regenerate everything in this folder with:

    /usr/bin/python3 examples/sunspots-lstm/train.py

Writes (next to this script): model.onnx, x_test.npy, y_test.npy, calib.npy,
series.npy, norm.json, README.md.  Deterministic on CPU: all seeds fixed, one
thread, deterministic algorithms.  Needs torch (1.13 tested), onnx, numpy and
statsmodels (Debian: python3-statsmodels; the data set ships with it, no
network access).  onnxruntime, if installed, cross-checks the export.
"""
import json
import os
import random
from collections import Counter

import numpy as np
import onnx
import torch
import torch.nn as nn
from statsmodels.datasets import sunspots

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
OPSET = 13
T = 24          # window length in years: a bit over two ~11-year solar cycles
HIDDEN = 20
TRAIN_FRAC = 0.75
INPUT_SHAPE = (1, T, 1)

# Operators this graph may use anywhere (the compiler's LSTM-model subset).
ALLOWED_OPS = {
    "LSTM", "Gather", "Slice", "Squeeze", "Unsqueeze", "Transpose", "Reshape",
    "Gemm", "MatMul", "Add", "Identity",
}
# Operators accepted only for shape arithmetic: every input must be constant
# (an initializer, a Constant, or computed from constants / Shape outputs).
SHAPE_OPS = {
    "Constant", "ConstantOfShape", "Shape", "Gather", "Slice", "Cast", "Concat",
    "Unsqueeze", "Reshape", "Div", "Mul", "Sub", "Range", "Expand", "Equal", "Where",
}


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def check_ops(model_proto):
    """Fail unless every node is whitelisted (shape-only ops: constant inputs)."""
    static = {init.name for init in model_proto.graph.initializer}
    for node in model_proto.graph.node:
        inputs = [i for i in node.input if i]
        all_static = all(i in static for i in inputs)
        if node.op_type in ("Constant", "Shape") or (
                all_static and (node.op_type in SHAPE_OPS or node.op_type in ALLOWED_OPS)):
            static.update(node.output)  # a constant (shape-arithmetic) value
        elif node.op_type not in ALLOWED_OPS:
            raise SystemExit(
                f"operator {node.op_type} ({node.name}) is not allowed"
                + (" on non-constant inputs" if node.op_type in SHAPE_OPS else ""))
    return [n.op_type for n in model_proto.graph.node]


class SunspotLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=HIDDEN, batch_first=True)
        self.fc = nn.Linear(HIDDEN, 1)

    def forward(self, x):          # x: [B, T, 1]
        out, _ = self.lstm(x)      # out: [B, T, HIDDEN]
        return self.fc(out[:, -1, :])  # [B, 1]


def windows(series):
    """All (x, y) pairs: x = series[t-T:t] as [N, T, 1], y = series[t] as [N, 1]."""
    idx = np.arange(T, len(series))
    x = np.stack([series[t - T:t] for t in idx])[:, :, None]
    return x.astype(np.float32), series[idx][:, None].astype(np.float32), idx


def errors(pred, y):
    d = pred - y
    return float(np.sqrt(np.mean(d * d))), float(np.mean(np.abs(d)))


def main():
    seed_everything(SEED)
    data = sunspots.load_pandas().data
    years = data["YEAR"].to_numpy().astype(int)
    raw = data["SUNACTIVITY"].to_numpy().astype(np.float64)

    # chronological split on the target index: window i predicts raw[T + i]
    n_windows = len(raw) - T
    n_train = int(round(TRAIN_FRAC * n_windows))
    split = T + n_train  # first index of the test period; training uses raw[:split]
    mean, std = float(raw[:split].mean()), float(raw[:split].std())
    series = ((raw - mean) / std).astype(np.float32)

    x_all, y_all, tgt = windows(series)
    x_train, y_train = x_all[:n_train], y_all[:n_train]
    x_test, y_test = x_all[n_train:], y_all[n_train:]
    assert tgt[:n_train].max() < split <= tgt[n_train:].min()

    model = SunspotLSTM()
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn, epochs, batch = nn.MSELoss(), 300, 32
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 50 == 49:
            print(f"epoch {epoch + 1:3d} train MSE {total / len(xt):.4f}")

    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).numpy()
    rmse, mae = errors(pred, y_test)
    base_rmse, base_mae = errors(x_test[:, -1, :], y_test)  # persistence: x[t] = x[t-1]
    print(f"test RMSE normalized {rmse:.4f} / sunspots {rmse * std:.2f}, MAE {mae * std:.2f}; "
          f"persistence {base_rmse:.4f} / {base_rmse * std:.2f}, MAE {base_mae * std:.2f}")
    if rmse >= 0.85 * base_rmse:
        raise SystemExit("model does not clearly beat the persistence baseline")

    # Calibration inputs come from the whole record (inputs only, never targets): quantized
    # ranges must cover what the device will see, and the test period holds the 1957 cycle,
    # about 30% above anything in the training years. Calibrating on training windows alone
    # clips those inputs and outputs in int8.
    # Every window is used: a random subset misses the few windows around the peak.
    calib = np.concatenate([x_train, x_test])

    onnx_path = os.path.join(HERE, "model.onnx")
    torch.onnx.export(model, torch.from_numpy(x_test[:1]), onnx_path, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input"],
                      output_names=["output"])
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto, full_check=True)
    op_list = check_ops(proto)
    print("ONNX ops (graph order):", ", ".join(op_list))

    # cross-check the exported graph against torch on the whole test set
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        ort_pred = np.concatenate([sess.run(None, {"input": x[None]})[0] for x in x_test])
        diff = float(np.abs(ort_pred - pred).max())
        print(f"onnxruntime vs torch max |diff|: {diff:.2e}")
        if diff > 1e-4:
            raise SystemExit("onnxruntime disagrees with torch")
        ort_note = f"onnxruntime agrees with torch on all test windows (max |diff| {diff:.1e})."
    except ImportError:
        ort_note = "onnxruntime was not available; the export was checked with onnx.checker only."
        print(ort_note)

    for name, arr in (("x_test", x_test), ("y_test", y_test), ("calib", calib), ("series", series)):
        np.save(os.path.join(HERE, name + ".npy"), np.ascontiguousarray(arr, dtype="<f4"))
    with open(os.path.join(HERE, "norm.json"), "w") as f:
        json.dump({"mean": mean, "std": std, "first_year": int(years[0]),
                   "window": T, "test_start_index": split}, f, indent=2)
        f.write("\n")

    n_params = sum(p.numel() for p in model.parameters())
    step_macs = 4 * HIDDEN * (1 + HIDDEN)  # gate pre-activations W x + R h
    macs = T * step_macs + HIDDEN
    elementwise = T * 3 * HIDDEN           # f*c, i*g, o*tanh(c) per step
    size = os.path.getsize(onnx_path)
    node_list = ", ".join(f"{k} x{v}" for k, v in sorted(Counter(op_list).items()))
    print(f"parameters: {n_params}, MACs: {macs} (+{elementwise} elementwise), "
          f"model.onnx: {size} bytes")

    readme = f"""# sunspots-lstm

A one-layer LSTM that forecasts the yearly mean sunspot number one year
ahead from the previous {T} years, shaped like the ElasticAI FPGA LSTM paper
(LSTM with {HIDDEN} hidden units + a linear read-out of the last step).
Generated by `train.py`; do not edit by hand.

## Model

Input `input`: float32 `{list(INPUT_SHAPE)}` (batch, time, feature), the last {T}
values of the normalized series, oldest first.
Output `output`: float32 `[1, 1]`, the normalized next value.

| layer | output shape |
| --- | --- |
| LSTM(1->{HIDDEN}), batch_first, zero initial state | [1, {T}, {HIDDEN}] |
| take the last time step `out[:, -1, :]` | [1, {HIDDEN}] |
| Linear({HIDDEN}->1) | [1, 1] |

- Trainable parameters: {n_params} (the ONNX graph also builds the 2x{HIDDEN} zero
  initial states with Shape/Concat/Expand on constants; compile-time foldable).
- MACs per inference: {macs} ({T} steps x 4x{HIDDEN}x(1+{HIDDEN}) gate MACs +
  {HIDDEN} for the Linear), plus {elementwise} elementwise cell products,
  {T * 3 * HIDDEN} sigmoids and {T * 2 * HIDDEN} tanhs.
- `model.onnx`: {size} bytes, opset {OPSET}, fixed shapes, exported in eval mode
  with constant folding.
- ONNX nodes (graph order): {", ".join(op_list)} ({node_list}).
- {ort_note}

## Data

- statsmodels' `sunspots` data set: yearly sunspot numbers (`SUNACTIVITY`),
  {years[0]}-{years[-1]}, {len(raw)} values.
- Windows: `x = s[t-{T}:t]`, `y = s[t]` for every `t` in [{T}, {len(raw) - 1}],
  {n_windows} windows.  Chronological split on the target year: the first
  {n_train} windows (targets {years[T]}-{years[split - 1]}) train, the last
  {n_windows - n_train} (targets {years[split]}-{years[-1]}) test.  No training target
  lies in the test period; test inputs may reach back into training years.
- Normalization: `s = (raw - mean) / std` with the mean and (population) std of
  the training part `raw[:{split}]` (years {years[0]}-{years[split - 1]}):
  mean {mean:.4f}, std {std:.4f} (also in `norm.json`).  This is baked into
  the `.npy` files; the model itself takes and returns normalized values.
- `x_test.npy`: float32 `{list(x_test.shape)}`.
- `y_test.npy`: float32 `{list(y_test.shape)}`, normalized next values.
- `calib.npy`: float32 `{list(calib.shape)}`, every input window of the whole record,
  for post-training quantization calibration (inputs only, no targets). The test period holds the 1957 cycle, about 30% above anything in the
  training years; int8 ranges calibrated on training windows alone would clip it.
- `series.npy`: float32 `{list(series.shape)}`, the whole normalized series (for
  streaming tests; test targets start at index {split}).
- `norm.json`: mean, std, first year, window length, test start index.

## Accuracy (test set, float model, torch)

| predictor | RMSE (normalized) | RMSE (sunspots) | MAE (sunspots) |
| --- | --- | --- | --- |
| LSTM | {rmse:.4f} | {rmse * std:.2f} | {mae * std:.2f} |
| persistence (`x[t] = x[t-1]`) | {base_rmse:.4f} | {base_rmse * std:.2f} | {base_mae * std:.2f} |

## Regenerate

```
/usr/bin/python3 examples/sunspots-lstm/train.py
```

Training: Adam (lr 5e-3), {epochs} epochs, batch {batch}, MSE loss on the
normalized targets; seeds fixed, 1 CPU thread, deterministic algorithms.
"""
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(readme)


if __name__ == "__main__":
    main()
