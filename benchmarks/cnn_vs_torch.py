"""Dev-only (issue 17): optviz's MNIST CNN against the same network in PyTorch. Never imported by optviz.

    python benchmarks/cnn_vs_torch.py --data-dir DIR steps [--steps 200] [--dropout masks|off]
    python benchmarks/cnn_vs_torch.py --data-dir DIR train --impl torch --init glorot|torch --seed 0 [--epochs 2]
    python benchmarks/cnn_vs_torch.py --data-dir DIR train --impl optviz --init glorot|torch --seed 0 [--epochs 2]

`steps`: both start from optviz's initial weights (seed 0) and take the same batches in the same order (optviz's
own shuffle), with optviz's dropout masks applied in torch too (or dropout off in both); prints per-step losses
and their relative difference, and the weights' relative difference at the end. Control: torch against itself
from weights moved by one rounding (each × (1 ± 2⁻²⁴)), to show how fast float32 trajectories part anyway.

`train`: a full run, pixels /255 as float32, reshuffled each epoch (NumPy permutation), batch 64, Adam lr 1e-3
with torch's defaults, dropout on; test accuracy after each epoch. `--init glorot` copies optviz's initial
weights for the seed (exactly ours); `--init torch` keeps PyTorch's default layer initialisation
(torch.manual_seed(seed)); for optviz, `--init torch` overwrites the run's Glorot weights with U(±1/√fan_in)
draws (weights and biases, PyTorch's default for Conv2d and Linear). The torch model flattens channels-last
((13, 13, 32) row-major) like optviz.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("NUMBA_NUM_THREADS", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from optviz.mnist import load_mnist, train  # noqa: E402
from optviz.mnist.cnn import CNN  # noqa: E402

BATCH, LR = 64, 1e-3


def torch_model(torch, cnn: CNN | None):
    """Conv2d(1, 32, 3) → ReLU → MaxPool 2 → [drop .25] → flatten NHWC → Linear(5408, 256) → ReLU → [drop .5] →
    Linear(256, 10). With `cnn`, its weights are copied in; else torch's default init stays."""
    nn = torch.nn
    conv, fc1, fc2 = nn.Conv2d(1, 32, 3), nn.Linear(5408, 256), nn.Linear(256, 10)
    if cnn is not None:
        K, c, W1, b1, W2, b2 = (torch.from_numpy(np.array(p, dtype=np.float32)) for p in cnn.params)
        with torch.no_grad():
            conv.weight.copy_(K.T.reshape(32, 1, 3, 3))   # K rows are dy·3 + dx
            conv.bias.copy_(c)
            fc1.weight.copy_(W1.T)
            fc1.bias.copy_(b1)
            fc2.weight.copy_(W2.T)
            fc2.bias.copy_(b2)
    return nn.ModuleList([conv, fc1, fc2])


def forward(torch, layers, x, masks=None, dropout=False):
    """masks = (m1 (n, 5408), m2 (n, 256)) already scaled by 1/(1 − p), or None; dropout: torch's own."""
    F = torch.nn.functional
    conv, fc1, fc2 = layers
    h = F.max_pool2d(F.relu(conv(x.reshape(-1, 1, 28, 28))), 2)          # (n, 32, 13, 13)
    h = h.permute(0, 2, 3, 1).reshape(len(x), -1)                        # channels-last flatten
    if masks is not None:
        h = h * masks[0]
    elif dropout:
        h = F.dropout(h, 0.25, training=True)
    h = F.relu(fc1(h))
    if masks is not None:
        h = h * masks[1]
    elif dropout:
        h = F.dropout(h, 0.5, training=True)
    return fc2(h)


def compare_steps(data, steps: int, dropout: str) -> None:
    import torch
    torch.set_num_threads(2)
    run = train(data, "adam", model="cnn", epochs=1, batch_size=BATCH, seed=0, lr=LR)
    model = run.model
    if dropout == "off":
        def no_dropout(mask, rate):
            mask[...] = 1
            return mask
        model._dropout_mask = no_dropout
    layers = torch_model(torch, model)
    opt = torch.optim.Adam(layers.parameters(), lr=LR)
    # control: torch against itself from weights moved by float32 rounding (each × (1 ± 2⁻²⁴)), same batches and
    # masks: how fast two float32 trajectories part without any difference in the algorithm
    twin = torch_model(torch, model)
    with torch.no_grad():
        signs = torch.Generator().manual_seed(0)
        for p in twin.parameters():
            p.mul_(1 + 2.0 ** -24 * (2 * torch.randint(0, 2, p.shape, generator=signs) - 1))
    twin_opt = torch.optim.Adam(twin.parameters(), lr=LR)
    order = run._order_rng.permutation(len(run._y))   # what run._run draws for epoch 1
    x_all = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
    y_all = torch.from_numpy(data.y_train.astype(np.int64))
    worst, twin_worst, rows = 0.0, 0.0, []
    for step in range(steps):
        idx = order[step * BATCH:(step + 1) * BATCH]
        ours, _, _ = run._train_batch(idx)
        ws = model._workspace(BATCH)
        masks = (torch.from_numpy(ws.mask1[:BATCH].copy()), torch.from_numpy(ws.mask2[:BATCH].copy()))
        ti = torch.from_numpy(idx)
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(forward(torch, layers, x_all[ti], masks), y_all[ti])
        loss.backward()
        opt.step()
        theirs = loss.item()
        twin_opt.zero_grad(set_to_none=True)
        twin_loss = torch.nn.functional.cross_entropy(forward(torch, twin, x_all[ti], masks), y_all[ti])
        twin_loss.backward()
        twin_opt.step()
        rel = abs(ours - theirs) / abs(theirs)
        twin_rel = abs(twin_loss.item() - theirs) / abs(theirs)
        worst, twin_worst = max(worst, rel), max(twin_worst, twin_rel)
        rows.append((step + 1, ours, theirs, rel, twin_rel, worst, twin_worst))
    for step, ours, theirs, rel, twin_rel, running, twin_running in rows:
        if step <= 10 or step % 20 == 0:
            print(f"step {step:4d}  optviz {ours:.7f}  torch {theirs:.7f}  rel diff {rel:.2e} (max so far "
                  f"{running:.2e})   control torch±1ulp {twin_rel:.2e} (max so far {twin_running:.2e})")
    print(f"max relative loss difference over {steps} steps (dropout {dropout}): optviz vs torch {worst:.2e}; "
          f"control, torch vs torch from weights ×(1 ± 2⁻²⁴): {twin_worst:.2e}")
    for name, ours, theirs in zip(model.names, model.params, _torch_params(layers)):
        d = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
        print(f"  {name:3s} relative weight difference after {steps} steps: {d:.2e}")
    for name, ours, theirs in zip(model.names, _torch_params(twin), _torch_params(layers)):
        d = np.linalg.norm(ours - theirs) / np.linalg.norm(theirs)
        print(f"  {name:3s} control: torch±1ulp vs torch after {steps} steps: {d:.2e}")


def _torch_params(layers):
    conv, fc1, fc2 = layers
    t = lambda a: a.detach().numpy()  # noqa: E731
    return [t(conv.weight).reshape(32, 9).T, t(conv.bias), t(fc1.weight).T, t(fc1.bias), t(fc2.weight).T,
            t(fc2.bias)]


def train_torch(data, seed: int, init: str, epochs: int) -> list[float]:
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    cnn = CNN(np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])) if init == "glorot" else None
    layers = torch_model(torch, cnn)   # glorot: the very weights optviz's train(seed=seed) starts from
    opt = torch.optim.Adam(layers.parameters(), lr=LR)
    rng = np.random.default_rng(seed + 1000)
    x_all = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
    y_all = torch.from_numpy(data.y_train.astype(np.int64))
    x_test = torch.from_numpy(np.ascontiguousarray(data.x_test, dtype=np.float32))
    accuracies = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = torch.from_numpy(rng.permutation(len(y_all)))
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(forward(torch, layers, x_all[idx], dropout=True), y_all[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            predicted = torch.cat([forward(torch, layers, x_test[i:i + 1000]).argmax(1)
                                   for i in range(0, len(x_test), 1000)]).numpy()
        accuracies.append(float(np.mean(predicted == data.y_test)))
        print(f"  epoch {epoch + 1}: test accuracy {accuracies[-1]:.2%}  ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    return accuracies


def train_optviz(data, seed: int, epochs: int, init: str = "glorot") -> list[float]:
    run = train(data, "adam", model="cnn", epochs=epochs, batch_size=BATCH, seed=seed, lr=LR)
    if init == "torch":   # PyTorch's default layer init, U(±1/√fan_in) for weights and biases, from the run's stream
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[0])
        for p, fan_in in zip(run.model.params, (9, 9, 5408, 5408, 256, 256)):
            p[...] = rng.uniform(-1 / np.sqrt(fan_in), 1 / np.sqrt(fan_in), p.shape)
    accuracies = []
    for event in run:
        if event["epoch_end"]:
            accuracies.append(event["test_accuracy"])
            print(f"  epoch {event['epoch']}: test accuracy {accuracies[-1]:.2%}  ({event['epoch_seconds']:.0f} s)",
                  flush=True)
    return accuracies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("steps")
    s.add_argument("--steps", type=int, default=200)
    s.add_argument("--dropout", choices=("masks", "off"), default="masks")
    t = sub.add_parser("train")
    t.add_argument("--impl", choices=("torch", "optviz"), default="torch")
    t.add_argument("--init", choices=("glorot", "torch"), default="glorot")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    data = load_mnist(args.data_dir, download=False)
    if args.command == "steps":
        compare_steps(data, args.steps, args.dropout)
    else:
        print(f"{args.impl} CNN, init {args.init}, seed {args.seed}:", flush=True)
        if args.impl == "torch":
            accuracies = train_torch(data, args.seed, args.init, args.epochs)
        else:
            accuracies = train_optviz(data, args.seed, args.epochs, args.init)
        print(f"RESULT impl={args.impl} init={args.init} seed={args.seed} "
              + " ".join(f"e{i + 1}={a:.4f}" for i, a in enumerate(accuracies)))


if __name__ == "__main__":
    main()
