"""Write the reference training that tests/test_mnist_muon.py checks optviz's MNIST trainer against: torch.optim.Muon
on a small MLP's hidden weight matrices and torch.optim.AdamW on its other arrays, as torch's documentation advises.

Requires torch==2.13.0 (the development venv: /work/refvenv). Run from the repository root:

    /work/refvenv/bin/python tools/make_mnist_muon_reference.py

and commit the file it writes, tests/fixtures/mnist_muon_reference.npz. Neither optviz nor the tests import torch:
the fixture is the only bridge.

The network is the MLP SIZES (784-6-8-4-10, ReLU, softmax cross-entropy), float64 throughout, on the first DIGITS
training digits of the MNIST subset shipped with optviz (their pixels and labels are stored in the fixture), in
batches of BATCH for EPOCHS epochs. Its hidden weight matrices are W2 and W3 (optviz.mnist.hidden_matrices); torch
holds them in its (out, in) layout, Wᵀ of optviz's (in, out): W2ᵀ is 8×6, taller than wide (Newton–Schulz then
iterates on its transpose), W3ᵀ 4×8. Muon steps them with each case's hyperparameters, AdamW (foreach=False) the
rest (W1, W4 and the biases) at torch's defaults with Muon's learning rate. Both sides start from the same weights
(He-normal, biases small and non-zero, drawn here and stored) and see the digits in the order optviz's trainer
takes them for seed SEED: every epoch a permutation from the second stream of np.random.SeedSequence(SEED).spawn(3)
(optviz/mnist/train.py's TrainingRun); the test fails if that ever changes.

torch's Newton–Schulz iteration is PATCHED to run in float64: torch casts the momentum to bfloat16 before iterating
(_zeropower_via_newtonschulz), which would round every step to 3 significant digits; the patch is
make_second_order_references.py's `_newton_schulz_in_float64`, torch's function with that one cast removed.

What the fixture holds: ``meta`` (JSON: torch's version, sizes, digits, batch size, epochs, seed, and per case the
optviz hyperparameters of Muon), ``x`` (DIGITS, 784) uint8 pixels, ``y`` (DIGITS,) labels, ``initial`` the flat
initial parameters in optviz's order and layout (W1, b1, W2, b2, …, each W (in, out) row-major), and
``weights`` (cases, len(CHECKED), n_params) the flat parameters after each step of CHECKED.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torch.optim._muon as torch_muon
from make_second_order_references import _newton_schulz_in_float64

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "mnist_muon_reference.npz"
SUBSET = ROOT / "optviz" / "mnist" / "subset"
SIZES, DIGITS, BATCH, EPOCHS, SEED = (784, 6, 8, 4, 10), 64, 16, 8, 3
CHECKED = (1, 2, 8, 32)  # the steps after which the parameters are stored (all of them would take 2 MB)
HIDDEN = (1, 2)  # the weight layers Muon steps (0-based): W2 and W3
CASES = [  # Muon's hyperparameters in optviz's spelling; the rest at torch's defaults
    {"lr": 0.01},
    {"lr": 0.003, "momentum": 0.9, "nesterov": False, "ns_steps": 3, "adjust_lr_fn": "match_rms_adamw",
     "weight_decay": 0.0},
    {"lr": 0.005, "weight_decay": 0.5, "adjust_lr_fn": "match_rms_adamw", "ns_a": 2.0, "ns_b": -1.5, "ns_c": 0.5},
]


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The first DIGITS training digits of the shipped subset: (uint8 pixels (DIGITS, 784), labels)."""
    with gzip.open(SUBSET / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)[:DIGITS]
    with gzip.open(SUBSET / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:DIGITS]
    return x.copy(), y.astype(np.int64)


def initial_weights() -> list[np.ndarray]:
    """[W1, b1, W2, b2, …] in optviz's layout: W (in, out) ~ N(0, 2/in), b ~ N(0, 0.01²)."""
    rng = np.random.default_rng(0)
    arrays = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        arrays += [rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in), rng.standard_normal(fan_out) * 0.01]
    return arrays


def batches() -> list[np.ndarray]:
    """The digits' indices, batch by batch, in the order optviz's trainer takes them for SEED."""
    order_rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(3)[1])
    out = []
    for _ in range(EPOCHS):
        order = order_rng.permutation(DIGITS)
        out += [order[start:start + BATCH] for start in range(0, DIGITS, BATCH)]
    return out


def muon_keywords(hparams: dict) -> dict:
    kwargs = dict(hparams)
    coefficients = [kwargs.pop(k, d) for k, d in zip(("ns_a", "ns_b", "ns_c"), (
        torch_muon.DEFAULT_A, torch_muon.DEFAULT_B, torch_muon.DEFAULT_C))]
    return {**kwargs, "ns_coefficients": tuple(coefficients)}


def run_case(hparams: dict, x: torch.Tensor, y: torch.Tensor, start: list[np.ndarray]) -> np.ndarray:
    """The flat parameters (optviz's order and layout) after each step of CHECKED of Muon + AdamW."""
    weights = [torch.tensor(start[2 * i].T if i in HIDDEN else start[2 * i], requires_grad=True)
               for i in range(len(SIZES) - 1)]  # Muon's in torch's (out, in) layout
    biases = [torch.tensor(b, requires_grad=True) for b in start[1::2]]
    muon = torch.optim.Muon([weights[i] for i in HIDDEN], **muon_keywords(hparams))
    rest = [w for i, w in enumerate(weights) if i not in HIDDEN] + biases
    adamw = torch.optim.AdamW(rest, lr=hparams["lr"], foreach=False)  # betas, eps, weight decay: torch's defaults
    path = []
    for step, batch in enumerate(batches(), start=1):
        a = x[batch]
        for i, (w, b) in enumerate(zip(weights, biases)):
            a = a @ (w.T if i in HIDDEN else w) + b
            a = F.relu(a) if i < len(weights) - 1 else a
        loss = F.cross_entropy(a, y[batch])
        muon.zero_grad()
        adamw.zero_grad()
        loss.backward()
        muon.step()
        adamw.step()
        if step in CHECKED:
            path.append(np.concatenate([t.detach().numpy().reshape(-1) for t in _optviz_order(weights, biases)]))
    return np.array(path)


def _optviz_order(weights, biases) -> list[torch.Tensor]:
    return [t for i, (w, b) in enumerate(zip(weights, biases)) for t in ((w.T if i in HIDDEN else w), b)]


def main() -> None:
    torch.set_default_dtype(torch.float64)
    torch_muon._zeropower_via_newtonschulz = _newton_schulz_in_float64
    pixels, labels = digits()
    x, y = torch.tensor(pixels / 255.0), torch.tensor(labels)
    start = initial_weights()
    weights = np.array([run_case(hparams, x, y, start) for hparams in CASES])
    meta = {"torch": torch.__version__, "sizes": SIZES, "digits": DIGITS, "batch_size": BATCH, "epochs": EPOCHS,
            "seed": SEED, "checked": CHECKED, "cases": CASES}
    np.savez_compressed(OUT, meta=json.dumps(meta), x=pixels, y=labels,
                        initial=np.concatenate([a.reshape(-1) for a in start]), weights=weights)
    print(f"wrote {OUT} ({len(CASES)} cases, the parameters after steps {CHECKED})")


if __name__ == "__main__":
    main()
