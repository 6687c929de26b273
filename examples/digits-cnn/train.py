#!/usr/bin/python3
"""Train a small CNN on sklearn's digits data set and export it to ONNX.

Regenerate everything in this folder with:

    /usr/bin/python3 examples/digits-cnn/train.py

Writes (next to this script): model.onnx, x_test.npy, y_test.npy, calib.npy,
README.md.  Deterministic on CPU: all seeds fixed, one thread, deterministic
algorithms.  Needs torch (1.13 tested), onnx, scikit-learn and numpy; no
network access (load_digits ships with scikit-learn).
"""
import os
import random

import numpy as np
import onnx
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
OPSET = 13
INPUT_SHAPE = (1, 1, 8, 8)

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


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            # standard conv + BN (the exporter folds this BN into the Conv)
            nn.Conv2d(1, 16, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            # depthwise conv (groups == channels) + BN, then pointwise
            nn.Conv2d(16, 16, kernel_size=3, padding=1, groups=16, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
            nn.Conv2d(32, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4x4 -> 2x2
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 32, bias=False),
            nn.BatchNorm1d(32),  # follows a Gemm: stays a BatchNormalization node
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.head(self.features(x))


def count_macs(model, example):
    """Multiply-accumulates of Conv2d and Linear layers for one sample."""
    macs = []

    def conv_hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        macs.append(out.numel() * k)

    def lin_hook(mod, inp, out):
        macs.append(out.numel() * mod.in_features)

    hooks = []
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            hooks.append(mod.register_forward_hook(conv_hook))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(lin_hook))
    with torch.no_grad():
        model(example)
    for h in hooks:
        h.remove()
    return sum(macs)


def main():
    seed_everything(SEED)
    data = load_digits()
    x = (data.images.astype(np.float32) / 16.0)[:, None, :, :]  # [N,1,8,8] in [0,1]
    y = data.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=SEED)

    model = DigitsCNN()
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    epochs = 40
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    batch = 32
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), batch):
            idx = perm[i:i + batch]
            if len(idx) < 2:  # BatchNorm1d needs > 1 sample in training mode
                continue
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d} loss {total / len(xt):.4f}")

    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
    acc = float((pred == y_test).mean())
    n_correct = int((pred == y_test).sum())
    print(f"float test accuracy (torch): {acc:.4f} ({n_correct}/{len(y_test)})")
    if acc < 0.95:
        raise SystemExit("test accuracy below 95%")

    # calibration set: 100 samples of the training split
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
    if "BatchNormalization" not in ops:
        raise SystemExit("expected an unfolded BatchNormalization node")
    print("ONNX op types:", ", ".join(ops))

    np.save(os.path.join(HERE, "x_test.npy"), np.ascontiguousarray(x_test, dtype="<f4"))
    np.save(os.path.join(HERE, "y_test.npy"), np.ascontiguousarray(y_test, dtype="<i8"))
    np.save(os.path.join(HERE, "calib.npy"), np.ascontiguousarray(calib, dtype="<f4"))

    n_params = sum(p.numel() for p in model.parameters())
    macs = count_macs(model, example)
    size = os.path.getsize(onnx_path)
    node_counts = {}
    for node in proto.graph.node:
        node_counts[node.op_type] = node_counts.get(node.op_type, 0) + 1
    node_list = ", ".join(f"{k} x{v}" for k, v in sorted(node_counts.items()))
    print(f"parameters: {n_params}, MACs: {macs}, model.onnx: {size} bytes")

    readme = f"""# digits-cnn

A small 2-D CNN that classifies scikit-learn's `load_digits` images
(8x8 grayscale handwritten digits, 10 classes).  Generated by `train.py`;
do not edit by hand.

## Model

Input `input`: float32 `[1, 1, 8, 8]`, pixel values divided by 16 (range [0, 1]).
Output `output`: float32 `[1, 10]` logits (no softmax).

| layer | output shape |
| --- | --- |
| Conv2d(1->16, 3x3, pad 1, no bias) + BatchNorm2d + ReLU | 16x8x8 |
| depthwise Conv2d(16->16, 3x3, pad 1, groups 16, no bias) + BatchNorm2d + ReLU | 16x8x8 |
| pointwise Conv2d(16->32, 1x1, no bias) + BatchNorm2d + ReLU | 32x8x8 |
| MaxPool2d(2) | 32x4x4 |
| Conv2d(32->32, 3x3, pad 1) + ReLU | 32x4x4 |
| MaxPool2d(2) | 32x2x2 |
| Flatten | 128 |
| Linear(128->32, no bias) + BatchNorm1d(32) + ReLU + Dropout(0.2) | 32 |
| Linear(32->10) | 10 |

- Trainable parameters (torch, before BatchNorm folding): {n_params}
- MACs per inference (Conv + Linear layers): {macs}
- `model.onnx`: {size} bytes, opset {OPSET}, fixed shapes, exported in eval mode.
- ONNX nodes: {node_list}

torch 1.13's exporter folds every BatchNorm2d into the Conv before it (so
the three 2-D BatchNorms disappear and the convolutions gain a bias), and
drops the Dropout.  The BatchNorm1d after the first Linear is *not* folded:
it appears as a `BatchNormalization` node on the `[1, 32]` output of the
first Linear which, having no bias, exports as a `MatMul` against the
transposed weight (the Linear with a bias exports as `Gemm` with `transB=1`).

## Data

- `load_digits` (1797 images) split with `train_test_split(test_size=0.25,
  stratify=y, random_state={SEED})`: {len(x_train)} train, {len(x_test)} test.
- `x_test.npy`: float32 `{list(x_test.shape)}` (same layout as the model input, batch
  dimension = sample index).
- `y_test.npy`: int64 `{list(y_test.shape)}` labels 0-9.
- `calib.npy`: float32 `{list(calib.shape)}`, 100 samples drawn (seeded) from the
  training split, for post-training quantization calibration.

## Accuracy

Float test accuracy measured with torch: **{acc * 100:.2f}%** ({n_correct}/{len(y_test)}).

## Regenerate

```
/usr/bin/python3 examples/digits-cnn/train.py
```

Training: Adam (lr 3e-3, weight decay 1e-4, cosine schedule), {epochs} epochs,
batch {batch}, cross-entropy; seeds fixed, 1 CPU thread, deterministic
algorithms.
"""
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(readme)


if __name__ == "__main__":
    main()
