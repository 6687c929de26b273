#!/usr/bin/python3
"""Train a small causal dilated 1-D CNN (a TCN) that denoises an ECG and export it to ONNX.

The model is a stack of causal convolutions (kernel 3, dilations 1, 2, 4, 8)
over a single-lead ECG sampled at 360 Hz, with a 1x1 projection, a skip
connection from the first layer and a 1x1 read-out; receptive field 31 samples
(86 ms).  It maps the noisy signal (clean + 60 Hz powerline hum + white noise)
to the clean one, sample by sample, using only current and past samples, so it
can also run as a stream.

Regenerate everything in this folder with:

    /usr/bin/python3 examples/ecg-tcn/train.py

Writes (next to this script): model.onnx, x_test.npy, y_test.npy, calib.npy,
model-soi2.onnx (a second stage: the same network fine-tuned for `--soi 2`) and
README.md.  Deterministic on CPU: all seeds fixed, one thread, deterministic
algorithms.  Needs torch (1.13 tested), onnx, numpy and scipy 1.10 (Debian 12:
python3-scipy; scipy.misc.electrocardiogram ships with it, no network access).
onnxruntime, if installed, cross-checks the export.
"""
import copy
import os
import random
import time
import warnings
from collections import Counter

import numpy as np
import onnx
import scipy
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
TEST_NOISE_SEED = 1234   # the shipped test noise: drawn once, independent of training
CALIB_SEED = 4321        # calibration windows: positions and noise
OPSET = 13
FS = 360                 # Hz, MIT-BIH sampling rate
MAINS = 60.0             # Hz, powerline frequency (6 samples per period at 360 Hz)
T = 128                  # window length of the exported model
CROP = T                 # training crop length (fully convolutional; 128 beat 512 on the
                         # per-window test, whose first samples see zero padding)
TRAIN_FRAC = 0.8
N_TEST = 64              # consecutive test windows: one 8192-sample sequence
N_CALIB = 64
HUM_AMP = (0.05, 0.3)    # mV, powerline amplitude range (uniform, per window)
NOISE_SIGMA = (0.05, 0.15)  # mV, white Gaussian noise std range (uniform, per window)
INPUT_SHAPE = (1, 1, T)
EPOCHS, BATCH, LR = 500, 16, (3e-3, 1e-4)   # stage one: Adam, lr cosine-annealed
# stage two, SOI-aware fine-tuning (model-soi2.onnx): the same parameters, trained with the
# deep path (c2, c3, c4, p) evaluated every SOI_K-th step and held in between
SOI_K = 2
SOI_SEED = 2             # stage two's own generator: crop offsets, order and noise
SOI_EPOCHS, SOI_LR = 300, (1e-3, 1e-5)

# (in, out, kernel, dilation) of the four causal convolutions
CONVS = [(1, 16, 3, 1), (16, 32, 3, 2), (32, 32, 3, 4), (32, 32, 3, 8)]
RECEPTIVE_FIELD = 1 + sum((k - 1) * d for _, _, k, d in CONVS)

# Operators this graph may use on the signal path (the compiler's conv subset).
ALLOWED_OPS = {"Pad", "Conv", "Relu", "Add", "Identity"}
# Operators accepted only for shape arithmetic: every input must be constant
# (an initializer, a Constant, or computed from constants / Shape outputs).
SHAPE_OPS = {
    "Constant", "ConstantOfShape", "Shape", "Gather", "Slice", "Cast", "Concat",
    "Unsqueeze", "Reshape", "Div", "Mul", "Sub", "Range", "Expand", "Equal", "Where",
    "Transpose",
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
        elif node.op_type == "Pad":
            mode = next((a.s.decode() for a in node.attribute if a.name == "mode"), "constant")
            if mode != "constant" or (len(inputs) > 2 and inputs[2] not in static):
                raise SystemExit(f"Pad {node.name}: only constant-mode pads with static values")
    return [n.op_type for n in model_proto.graph.node]


class CausalConv(nn.Module):
    """Conv1d that sees only the current and past samples: left zero pad, no padding."""

    def __init__(self, c_in, c_out, k, d):
        super().__init__()
        self.left = (k - 1) * d
        self.conv = nn.Conv1d(c_in, c_out, k, dilation=d, padding=0)

    def forward(self, x):
        return self.conv(F.pad(x, (self.left, 0)) if self.left else x)


class EcgTCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3, self.c4 = (CausalConv(*c) for c in CONVS)
        self.proj = CausalConv(32, 16, 1, 1)
        self.out = CausalConv(16, 1, 1, 1)

    def forward(self, x):              # x: [B, 1, T]
        c1 = F.relu(self.c1(x))        # [B, 16, T]
        c2 = F.relu(self.c2(c1))       # [B, 32, T]
        c3 = F.relu(self.c3(c2))
        c4 = F.relu(self.c4(c3))
        m = F.relu(c1 + self.proj(c4))  # skip connection from the shallow layer
        return self.out(m)             # [B, 1, T]


def soi_forward(model, x, k=SOI_K):
    """The network as `picojoule compile --soi k` (hold mode) runs it, on a full window.

    The deep path (c2, c3, c4, p) sees every k-th column of c1 (0, k, 2k, ...) and runs on
    that decimated sequence, causally, with its dilations divided by k (same weights, so its
    taps land on the same original steps); step t then uses deep column floor(t / k).
    """
    length = x.shape[-1]
    c1 = F.relu(model.c1(x))
    h = c1[:, :, ::k]
    for layer in (model.c2, model.c3, model.c4):
        conv = layer.conv
        d = conv.dilation[0]
        assert d % k == 0, "SOI: deep dilations must be multiples of k"
        h = F.pad(h, ((conv.kernel_size[0] - 1) * (d // k), 0))
        h = F.relu(F.conv1d(h, conv.weight, conv.bias, dilation=d // k))
    up = model.proj(h).repeat_interleave(k, dim=2)[:, :, :length]   # hold
    return model.out(F.relu(c1 + up))


def load_ecg():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from scipy.misc import electrocardiogram
        return electrocardiogram().astype(np.float64)


def add_noise(clean, rng):
    """clean: [N, L] in mV.  Per row: 60 Hz hum (uniform amplitude, random phase) + white noise."""
    n, length = clean.shape
    amp = rng.uniform(*HUM_AMP, size=(n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
    sigma = rng.uniform(*NOISE_SIGMA, size=(n, 1))
    t = np.arange(length)[None, :]
    hum = amp * np.sin(2 * np.pi * MAINS / FS * t + phase)
    return clean + hum + sigma * rng.standard_normal((n, length))


def rmse_snr(est, clean):
    """RMSE (mV) and SNR (dB) = 10 log10(sum clean^2 / sum (est - clean)^2)."""
    est, clean = np.asarray(est, np.float64).ravel(), np.asarray(clean, np.float64).ravel()
    err = np.sum((est - clean) ** 2)
    return float(np.sqrt(err / clean.size)), float(10 * np.log10(np.sum(clean ** 2) / err))


def causal_taps(noisy, taps):
    """[N, L] -> [N, L, taps]: x[t], x[t-1], ..., x[t-taps+1] per sample (zeros before t = 0)."""
    padded = np.pad(noisy, ((0, 0), (taps - 1, 0)))
    length = noisy.shape[1]
    return np.stack([padded[:, taps - 1 - j:taps - 1 - j + length] for j in range(taps)], -1)


def linear_baseline(train, rng):
    """Least-squares causal FIR (+ bias) with the network's receptive field, fitted on noisy
    training windows: the best linear filter that sees what the network sees."""
    n = (len(train) // T) * T
    clean = train[:n].reshape(-1, T)
    feats = causal_taps(add_noise(clean, rng), RECEPTIVE_FIELD).reshape(-1, RECEPTIVE_FIELD)
    feats = np.concatenate([feats, np.ones((len(feats), 1))], 1)
    return np.linalg.lstsq(feats, clean.ravel(), rcond=None)[0]


def fit(model, forward, train, split, rng, epochs, lr, eta_min, batch):
    """Adam on MSE, lr cosine-annealed to eta_min: every epoch, non-overlapping CROP-sample
    crops of the training part from a random offset, shuffled, each with fresh noise (all
    drawn from rng); forward(x) is the network's forward pass.  Leaves model in eval mode."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=eta_min)
    loss_fn = nn.MSELoss()
    for epoch in range(epochs):
        model.train()
        offset = int(rng.integers(CROP))
        n_crops = (split - offset) // CROP
        clean = train[offset:offset + n_crops * CROP].reshape(n_crops, CROP)
        clean = clean[rng.permutation(n_crops)]
        noisy = add_noise(clean, rng)
        xt = torch.from_numpy(noisy.astype(np.float32))[:, None, :]
        yt = torch.from_numpy(clean.astype(np.float32))[:, None, :]
        total = 0.0
        for i in range(0, n_crops, batch):
            opt.zero_grad()
            loss = loss_fn(forward(xt[i:i + batch]), yt[i:i + batch])
            loss.backward()
            opt.step()
            total += loss.item() * len(xt[i:i + batch])
        sched.step()
        if epoch % 50 == 49:
            print(f"epoch {epoch + 1:3d} train MSE {total / n_crops:.5f} mV^2")
    model.eval()


def export_onnx(model, example, onnx_path):
    """Export the standard forward (eval mode), pin y's shape, check; returns the op list."""
    with warnings.catch_warnings():  # F.pad's pads arrive as Slice(step -1) shape arithmetic
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(model, example, onnx_path, opset_version=OPSET,
                          do_constant_folding=True, input_names=["x"], output_names=["y"])
    proto = onnx.load(onnx_path)
    # the exporter cannot see through the pads' shape arithmetic and leaves y's batch and time
    # dims symbolic; the graph is fixed-size, so pin them (full_check re-infers and agrees)
    for dim, size in zip(proto.graph.output[0].type.tensor_type.shape.dim, (1, 1, T)):
        dim.Clear()
        dim.dim_value = size
    onnx.save(proto, onnx_path)
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto, full_check=True)
    return check_ops(proto)


def main():
    t_start = time.time()
    seed_everything(SEED)
    ecg = load_ecg()
    split = int(round(TRAIN_FRAC * len(ecg)))
    train, test = ecg[:split], ecg[split:]
    assert len(test) >= N_TEST * T

    # test: the first N_TEST * T samples of the test part, as consecutive windows; the
    # noise is drawn once, per T-sample window, from its own seed
    test_clean = test[:N_TEST * T].reshape(N_TEST, T)
    test_noisy = add_noise(test_clean, np.random.default_rng(TEST_NOISE_SEED))
    x_test = test_noisy.astype(np.float32)[:, None, None, :]   # [N, 1, 1, T]
    y_test = test_clean.astype(np.float32)[:, None, None, :]

    # calibration: noisy windows at random positions of the training part (inputs only)
    crng = np.random.default_rng(CALIB_SEED)
    starts = np.sort(crng.choice(split - T + 1, size=N_CALIB, replace=False))
    calib = add_noise(np.stack([train[s:s + T] for s in starts]), crng)
    calib = calib.astype(np.float32)[:, None, None, :]

    # training: every epoch, non-overlapping CROP-sample crops of the training part from a
    # random offset, shuffled, each with fresh noise from a seeded generator
    model = EcgTCN()
    epochs, batch = EPOCHS, BATCH
    fit(model, model, train, split, np.random.default_rng(SEED), epochs, *LR, batch)
    train_seconds = time.time() - t_start

    with torch.no_grad():
        pred = model(torch.from_numpy(x_test[:, 0])).numpy()[:, None]          # per window
        stream = model(torch.from_numpy(x_test.reshape(1, 1, -1))).numpy()     # one piece
    stream = stream.reshape(y_test.shape)
    noisy_rmse, noisy_snr = rmse_snr(x_test, y_test)
    rmse, snr = rmse_snr(pred, y_test)
    s_rmse, s_snr = rmse_snr(stream, y_test)
    fir = linear_baseline(train, np.random.default_rng(SEED + 1))
    fir_pred = causal_taps(test_noisy, RECEPTIVE_FIELD) @ fir[:-1] + fir[-1]
    fir_rmse, fir_snr = rmse_snr(fir_pred, test_clean)
    w = RECEPTIVE_FIELD - 1   # first samples of each window see the zero padding
    warm_rmse, warm_snr = rmse_snr(pred[..., w:], y_test[..., w:])
    head_rmse, head_snr = rmse_snr(pred[..., :w], y_test[..., :w])
    s_head_rmse, s_head_snr = rmse_snr(stream[..., :w], y_test[..., :w])
    assert np.allclose(stream[..., w:], pred[..., w:], atol=1e-5)  # same receptive field
    print(f"test: noisy input RMSE {noisy_rmse:.4f} mV, SNR {noisy_snr:.2f} dB; "
          f"linear FIR {fir_rmse:.4f} mV, {fir_snr:.2f} dB; "
          f"model per window {rmse:.4f} mV, {snr:.2f} dB; streamed {s_rmse:.4f} mV, {s_snr:.2f} dB")
    if snr < noisy_snr + 6:
        raise SystemExit("model does not clearly improve on the noisy input")

    onnx_path = os.path.join(HERE, "model.onnx")
    op_list = export_onnx(model, torch.from_numpy(x_test[0]), onnx_path)
    print("ONNX ops (graph order):", ", ".join(op_list))

    # cross-check the exported graph against torch on the whole test set
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        ort_pred = np.stack([sess.run(None, {"x": x})[0] for x in x_test])
        diff = float(np.abs(ort_pred - pred).max())
        print(f"onnxruntime vs torch max |diff|: {diff:.2e}")
        if diff > 1e-4:
            raise SystemExit("onnxruntime disagrees with torch")
        ort_note = f"onnxruntime agrees with torch on all test windows (max |diff| {diff:.1e})."
    except ImportError:
        ort_note = "onnxruntime was not available; the export was checked with onnx.checker only."
        print(ort_note)

    for name, arr in (("x_test", x_test), ("y_test", y_test), ("calib", calib)):
        np.save(os.path.join(HERE, name + ".npy"), np.ascontiguousarray(arr, dtype="<f4"))

    # stage two: SOI-aware fine-tuning.  A copy of the trained network is trained further,
    # same parameters, same data pipeline and noise model, with the SOI k=2 hold forward in the
    # loop; its own generator leaves stage one's outputs as they were.  Exported with the
    # standard forward (dilations 2/4/8), so `picojoule compile --soi 2` runs exactly the
    # network trained here.
    t_soi = time.time()
    soi_model = copy.deepcopy(model)
    fit(soi_model, lambda v: soi_forward(soi_model, v), train, split,
        np.random.default_rng(SOI_SEED), SOI_EPOCHS, *SOI_LR, BATCH)
    soi_seconds = time.time() - t_soi
    soi_path = os.path.join(HERE, f"model-soi{SOI_K}.onnx")
    soi_ops = export_onnx(soi_model, torch.from_numpy(x_test[0]), soi_path)
    assert soi_ops == op_list
    xw, xs = torch.from_numpy(x_test[:, 0]), torch.from_numpy(x_test.reshape(1, 1, -1))
    soi_rows = []
    with torch.no_grad():
        for label, fwd in (
                ("`model.onnx`, full rate", model),
                (f"`model.onnx` under SOI k={SOI_K} hold", lambda v: soi_forward(model, v)),
                (f"`model-soi{SOI_K}.onnx` under SOI k={SOI_K} hold (what `--soi {SOI_K}` runs)",
                 lambda v: soi_forward(soi_model, v)),
                (f"`model-soi{SOI_K}.onnx`, full rate (no SOI)", soi_model)):
            win = fwd(xw).numpy()[:, None]
            strm = fwd(xs).numpy().reshape(y_test.shape)
            # streamed = per window once the receptive field lies inside the window (under
            # SOI too: step t's deep column, at step 2 floor(t / 2), sees back to t - w or t - w - 1)
            assert np.allclose(strm[..., w:], win[..., w:], atol=1e-5)
            soi_rows.append((label, *rmse_snr(win, y_test), *rmse_snr(strm, y_test)))
    assert np.allclose(soi_rows[0][1:], (rmse, snr, s_rmse, s_snr))
    for row in soi_rows:
        print(f"{row[0]}: per window {row[1]:.4f} mV, {row[2]:.2f} dB; "
              f"streamed {row[3]:.4f} mV, {row[4]:.2f} dB")
    print(f"SOI fine-tuning: {SOI_EPOCHS} epochs, {soi_seconds:.0f} s")
    deep_macs = sum(ci * co * k for ci, co, k, _ in CONVS[1:]) + 32 * 16
    soi_table = "\n".join(f"| {r[0]} | {r[1]:.4f} | {r[2]:.2f} | {r[3]:.4f} | {r[4]:.2f} |"
                          for r in soi_rows)

    n_params = sum(p.numel() for p in model.parameters())
    layers = CONVS + [(32, 16, 1, 1), (16, 1, 1, 1)]
    col_macs = sum(ci * co * k for ci, co, k, _ in layers)
    macs = T * col_macs
    adds = T * 16                     # the skip connection c1 + p
    size = os.path.getsize(onnx_path)
    node_list = ", ".join(f"{k} x{v}" for k, v in sorted(Counter(op_list).items()))
    print(f"parameters: {n_params}, MACs: {macs} ({col_macs} per output sample), "
          f"model.onnx: {size} bytes, training {train_seconds:.0f} s")

    rows = [f"| {name} | {ci}->{co}, kernel {k}, dilation {d}, + ReLU | {(k - 1) * d} | [1, {co}, {T}] |"
            for name, (ci, co, k, d) in zip(("c1", "c2", "c3", "c4"), CONVS)]
    readme = f"""# ecg-tcn

A small causal temporal convolutional network (TCN) that removes 60 Hz
powerline hum and white noise from a single-lead ECG (360 Hz), sample by
sample, from the current and the previous {RECEPTIVE_FIELD - 1} samples only.
Generated by `train.py`; do not edit by hand.

## Model

Input `x`: float32 `{list(INPUT_SHAPE)}` (batch, channel, time), {T} samples of the
noisy ECG in mV, oldest first.
Output `y`: float32 `[1, 1, {T}]`, the denoised ECG in mV, one value per input sample.

Every convolution is causal: `Pad` with (kernel - 1) x dilation zeros on the
left of the time axis, then `Conv` without padding, so output sample `t`
depends on inputs `t-{RECEPTIVE_FIELD - 1}..t` only and the window start sees zeros.

| layer | Conv1d | left zero pad | output shape |
| --- | --- | --- | --- |
{chr(10).join(rows)}
| p | 32->16, kernel 1 | 0 | [1, 16, {T}] |
| m = relu(c1 + p) | skip connection from c1 | - | [1, 16, {T}] |
| y | 16->1, kernel 1 | 0 | [1, 1, {T}] |

- Receptive field: {RECEPTIVE_FIELD} samples ({1000 * RECEPTIVE_FIELD / FS:.0f} ms):
  1 + 2 x (1 + 2 + 4 + 8).
- Trainable parameters: {n_params}.
- MACs per inference: {macs} ({T} output samples x {col_macs} per sample:
  c1 {16 * 3}, c2 {32 * 16 * 3}, c3 {32 * 32 * 3}, c4 {32 * 32 * 3}, p {32 * 16}, y {16}),
  plus {adds} adds for the skip connection. The zero-padded left edges are
  counted as if computed.
- `model.onnx`: {size} bytes, opset {OPSET}, fixed shapes (the exporter left `y`'s
  batch and time dims symbolic; `train.py` pins them to `[1, 1, {T}]`), exported in
  eval mode with constant folding. PyTorch emits each `F.pad`'s pads as constant
  shape arithmetic (ConstantOfShape/Concat/Reshape/Slice with step -1/Transpose/Cast)
  that its constant folding does not reduce.
- ONNX nodes (graph order): {", ".join(op_list)} ({node_list}).
- {ort_note}

## Data

- `scipy.misc.electrocardiogram()` (ships with scipy {scipy.__version__}): {len(ecg)}
  samples ({len(ecg) / FS / 60:.0f} min) at {FS} Hz in mV, an excerpt of MIT-BIH
  Arrhythmia Database record 208 (lead MLII; frequent premature ventricular
  contractions). The recorded signal is the clean target.
- Chronological split: samples 0-{split - 1} (first {100 * TRAIN_FRAC:.0f}%) train,
  samples {split}-{len(ecg) - 1} (last {100 - 100 * TRAIN_FRAC:.0f}%) test.
- Noise model: noisy = clean + A sin(2 pi {MAINS:.0f} t / {FS} + phi) + sigma n, with,
  per window, A uniform in [{HUM_AMP[0]}, {HUM_AMP[1]}] mV, phi uniform in [0, 2 pi),
  sigma uniform in [{NOISE_SIGMA[0]}, {NOISE_SIGMA[1]}] mV and n standard white Gaussian
  noise. Training draws fresh noise for every {CROP}-sample crop in every
  epoch; the test noise is drawn once (numpy `default_rng({TEST_NOISE_SEED})`), per
  {T}-sample window, and shipped in `x_test.npy`.
- `x_test.npy`: float32 `{list(x_test.shape)}`, the noisy first {N_TEST * T} samples of
  the test part (samples {split}-{split + N_TEST * T - 1}) as {N_TEST} consecutive,
  non-overlapping {T}-sample windows: `x_test.reshape(-1)` is one continuous
  {N_TEST * T}-sample noisy sequence (the hum's amplitude and phase and the noise
  level change at each window boundary).
- `y_test.npy`: float32 `{list(y_test.shape)}`, the matching clean signal.
- `calib.npy`: float32 `{list(calib.shape)}`, noisy {T}-sample windows at random
  positions of the training part (numpy `default_rng({CALIB_SEED})`, same noise model),
  for post-training quantization calibration (inputs only, no targets).

## Accuracy (test windows, float model, torch)

SNR = 10 log10(sum clean^2 / sum (estimate - clean)^2) over all
{N_TEST} x {T} test samples; the clean signal's power includes its DC level
(mean {test_clean.mean():.3f} mV, RMS {np.sqrt(np.mean(test_clean ** 2)):.3f} mV).

| estimate | RMSE (mV) | SNR (dB) |
| --- | --- | --- |
| noisy input itself | {noisy_rmse:.4f} | {noisy_snr:.2f} |
| linear baseline: least-squares causal {RECEPTIVE_FIELD}-tap FIR + bias, per window | {fir_rmse:.4f} | {fir_snr:.2f} |
| TCN, each {T}-sample window on its own (zero history) | {rmse:.4f} | {snr:.2f} |
| TCN, streamed over the whole {N_TEST * T}-sample sequence in one piece | {s_rmse:.4f} | {s_snr:.2f} |

Per window, the first {w} output samples see the zero padding instead of
history: on them RMSE {head_rmse:.4f} mV (SNR {head_snr:.2f} dB), on the other
{T - w} samples RMSE {warm_rmse:.4f} mV (SNR {warm_snr:.2f} dB). The streamed
row runs the same network once over the concatenated sequence (only its
first samples see zeros), which is what a streaming deployment computes. It
differs from the per-window row only on those first {w} samples of each window,
and is slightly worse there (RMSE {s_head_rmse:.4f} mV, SNR {s_head_snr:.2f} dB):
their history is real, but it crosses a window boundary where the test noise's
hum amplitude and phase and noise level jump, which training never shows.
The linear baseline is the best linear filter with the network's receptive
field (fitted by least squares on one noisy draw of the training part,
`default_rng({SEED + 1})`); it shows what the ReLU network adds beyond a
fixed notch/low-pass.

## SOI-aware fine-tuning (model-soi{SOI_K}.onnx)

`picojoule compile --soi {SOI_K}` (Scattered Online Inference, hold mode) runs the
deep path c2, c3, c4, p ({deep_macs} of the {col_macs} MACs per output sample) on one step
in {SOI_K} only ({col_macs - deep_macs + deep_macs // SOI_K} MACs per sample on average, plus the skip connection's
adds): it takes c1's columns 0, {SOI_K}, {2 * SOI_K}, ..., runs c2, c3 and c4 on
that decimated sequence with their dilations divided by {SOI_K} (same weights, so the taps
land on the same input samples) and p, and step t uses deep column floor(t / {SOI_K}) in
m = relu(c1 + p). On a network trained at full rate that costs accuracy.
`model-soi{SOI_K}.onnx` is the same graph (architecture, dilations {", ".join(str(d) for *_, d in CONVS[1:])},
ops, names, opset) with the weights of `model.onnx` trained further with that SOI
forward in the loop, as the SOI paper trains its networks: compiled with
`--soi {SOI_K}` it runs exactly the network that was fine-tuned.

Fine-tuning: from the trained weights, the same parameters, loss, data pipeline and
noise model as above, from its own generator (numpy `default_rng({SOI_SEED})`, so stage one
and its outputs are unchanged): Adam (lr {SOI_LR[0]:g}, cosine-annealed to {SOI_LR[1]:g}),
{SOI_EPOCHS} epochs, batch {BATCH}, on {CROP}-sample crops (each crop starts on a deep step,
as each test window does).

| network | per window RMSE (mV) | SNR (dB) | streamed RMSE (mV) | SNR (dB) |
| --- | --- | --- | --- | --- |
{soi_table}

Per window: each {T}-sample window on its own (zero history), the `run` of a
full-window build; streamed: the whole {N_TEST * T}-sample sequence in one piece, as a
`--stream` build computes it (deep steps at samples 0, {SOI_K}, {2 * SOI_K}, ...). SOI figures
computed in torch with the SOI forward.

## Regenerate

```
/usr/bin/python3 examples/ecg-tcn/train.py
```

Training: Adam (lr 3e-3, cosine-annealed to 1e-4), {epochs} epochs, batch {batch},
MSE loss in mV^2 on {CROP}-sample crops, the export's window (the network is
fully convolutional; in trials, 512-sample crops did slightly worse on the
per-window test, whose first {w} samples see zero padding); every epoch takes
the non-overlapping crops of the training part from a random offset, shuffled,
with fresh noise. Seeds fixed, 1 CPU
thread, deterministic algorithms.
"""
    with open(os.path.join(HERE, "README.md"), "w") as f:
        f.write(readme)


if __name__ == "__main__":
    main()
