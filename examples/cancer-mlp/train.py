#!/usr/bin/python3
"""Train a small MLP on sklearn's breast-cancer data set and export it to ONNX.

Regenerate everything in this folder with:

    /usr/bin/python3 examples/cancer-mlp/train.py

Writes (next to this script): model.onnx, x_test.npy, y_test.npy, calib.npy,
README.md.  Deterministic on CPU: all seeds fixed, one thread, deterministic
algorithms.  Needs torch (1.13 tested), onnx, scikit-learn and numpy; no
network access (load_breast_cancer ships with scikit-learn).
"""
import os
import random

import numpy as np
import onnx
import torch
import torch.nn as nn
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
OPSET = 13
INPUT_SHAPE = (1, 30)

# Operators the picojoule compiler accepts anywhere in the graph.
ALLOWED_OPS = {
    "Conv", "Gemm", "MatMul", "Add", "Mul", "Concat", "Relu", "Clip", "LeakyRelu",
    "Sigmoid", "Tanh", "HardSigmoid", "MaxPool", "AveragePool", "GlobalAveragePool",
    "BatchNormalization", "Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
    "Pad", "Softmax", "Identity", "Dropout",
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
    return sorted({n.op_type for n in model_proto.graph.node})


class CancerMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(30, 32),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(32, 16),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(16, 2),
        )

    def forward(self, x):
        return self.net(x)


def main():
    seed_everything(SEED)
    data = load_breast_cancer()
    x = data.data.astype(np.float64)
    y = data.target.astype(np.int64)  # 0 = malignant, 1 = benign
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=SEED)
    # standardize with the TRAINING split's statistics; baked into the data
    # files, not into the model
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    x_train = ((x_train - mean) / std).astype(np.float32)
    x_test = ((x_test - mean) / std).astype(np.float32)

    model = CancerMLP()
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    epochs = 100
    batch = 32
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
        if epoch % 20 == 19:
            print(f"epoch {epoch + 1:3d} loss {total / len(xt):.4f}")

    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
    acc = float((pred == y_test).mean())
    n_correct = int((pred == y_test).sum())
    print(f"float test accuracy (torch): {acc:.4f} ({n_correct}/{len(y_test)})")
    if acc < 0.95:
        raise SystemExit("test accuracy below 95%")

    rng = np.random.default_rng(SEED)
    calib = x_train[np.sort(rng.choice(len(x_train), size=100, replace=False))]

    onnx_path = os.path.join(HERE, "model.onnx")
    example = torch.from_numpy(x_test[:1])
    torch.onnx.export(model, example, onnx_path, opset_version=OPSET,
                      do_constant_folding=True, input_names=["input"],
                      output_names=["output"])
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto, full_check=True)
    ops = check_ops(proto)
    print("ONNX op types:", ", ".join(ops))

    np.save(os.path.join(HERE, "x_test.npy"), np.ascontiguousarray(x_test, dtype="<f4"))
    np.save(os.path.join(HERE, "y_test.npy"), np.ascontiguousarray(y_test, dtype="<i8"))
    np.save(os.path.join(HERE, "calib.npy"), np.ascontiguousarray(calib, dtype="<f4"))

    n_params = sum(p.numel() for p in model.parameters())
    macs = sum(m.in_features * m.out_features for m in model.modules()
               if isinstance(m, nn.Linear))
    size = os.path.getsize(onnx_path)
    node_counts = {}
    for node in proto.graph.node:
        node_counts[node.op_type] = node_counts.get(node.op_type, 0) + 1
    node_list = ", ".join(f"{k} x{v}" for k, v in sorted(node_counts.items()))
    print(f"parameters: {n_params}, MACs: {macs}, model.onnx: {size} bytes")

    n_malignant = int((y_test == 0).sum())
    readme = f"""# cancer-mlp

A small MLP that classifies scikit-learn's `load_breast_cancer` samples
(Wisconsin diagnostic breast cancer: 30 real-valued features per sample,
2 classes: 0 = malignant, 1 = benign).  Generated by `train.py`; do not
edit by hand.

## Model

Input `input`: float32 `[1, 30]`, features already standardized (see Data).
Output `output`: float32 `[1, 2]` logits (no softmax).

| layer | output shape |
| --- | --- |
| Linear(30->32) + ReLU + Dropout(0.2) | 32 |
| Linear(32->16) + ReLU + Dropout(0.2) | 16 |
| Linear(16->2) | 2 |

- Trainable parameters: {n_params}
- MACs per inference: {macs}
- `model.onnx`: {size} bytes, opset {OPSET}, fixed shapes, exported in eval mode.
- ONNX nodes: {node_list}

Each Linear exports as `Gemm` (`transB=1`); the Dropouts are dropped by the
exporter in eval mode.

## Data

- `load_breast_cancer` (569 samples) split with `train_test_split(test_size=0.25,
  stratify=y, random_state={SEED})`: {len(x_train)} train, {len(x_test)} test
  ({n_malignant} malignant, {len(y_test) - n_malignant} benign).
- Every feature is standardized with the training split's mean and
  (population) standard deviation; this is baked into the `.npy` files, the
  model itself expects already-standardized input.
- `x_test.npy`: float32 `{list(x_test.shape)}`.
- `y_test.npy`: int64 `{list(y_test.shape)}` labels 0/1.
- `calib.npy`: float32 `{list(calib.shape)}`, 100 samples drawn (seeded) from the
  standardized training split, for post-training quantization calibration.

## Accuracy

Float test accuracy measured with torch: **{acc * 100:.2f}%** ({n_correct}/{len(y_test)}).

## Regenerate

```
/usr/bin/python3 examples/cancer-mlp/train.py
```

Training: Adam (lr 1e-3, weight decay 1e-4), {epochs} epochs, batch {batch},
cross-entropy; seeds fixed, 1 CPU thread, deterministic algorithms.
"""
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(readme)


if __name__ == "__main__":
    main()
