"""Write the torch reference trajectories that tests/test_optimizers_reference.py and tests/test_schedules.py check.

Requires torch==2.13.0 (the CPU build is enough), pytorch-optimizer 4.1.0, schedulefree 1.4.1, expecttest (for
torch's own test configurations) and NumPy. Run from the repository root:

    python3 tools/make_torch_references.py

and commit the file it writes, tests/fixtures/torch_references.npz. Neither optviz nor the test suite imports
torch: the fixture is the only bridge, so regenerate it (and look at the diff in the tests' results) only when
the reference torch version changes.

What the fixture holds (float64 throughout, torch's default dtype set to float64 so that torch's step counters
and NAdam's μ-product are float64 too):

* ``meta``: a JSON string with the problem, the torch version and one record per case (see `CASES` and
  `SCHEDULE_CASES` below).
* ``trajectories``: (number of optimizer cases, STEPS, 2, 3), the parameters after every step. Each case is
  one optimizer with one hyperparameter setting, optionally with a learning-rate schedule, run from X0 on the
  problem below. The gradient is recomputed from the current parameters at every step, so the trajectory tests
  the optimizer's whole feedback loop.
* ``long_trajectories``: the same over LONG_STEPS (300) steps, for the optimizers of issue 29 (ASGD, Rprop, Adan,
  schedule-free SGD and AdamW); a case's ``array`` says which of the two holds it. Their cases include every
  configuration of torch's own tests (optim_db) for ASGD and Rprop (``optim_db``: torch's description; those that
  ascend run on −f, ``objective`` −1), and ``optim_db_refused`` lists the configurations optviz cannot express.
* ``state_<case>_<name>``: for those optimizers, the state a user reads (READABLE) after every step, by optviz's
  name: ASGD's ax, Rprop's prev and step_size, Adan's moments, schedule-free's z and evaluated point x_avg.
* ``lr_<i>``: the learning rate torch's scheduler gives at each optimizer step for schedule case i, and
  ``momentum_<i>`` the momentum of the SGD(momentum=0.5) it drives (the cyclic schedules cycle it).

The problem is a Rosenbrock-like function of params x with shape (2, 3), rows u = x[0] and v = x[1]:

    f(x) = Σ (1 − u)² + 5 (v − u²)² + 0.05 (u⁴ + v⁴)

Its gradient is written out with +, −, × only (see `gradient`), so the NumPy twin in the tests computes it
bit for bit the same from the same parameters.

Optimizers that torch.optim has are run through torch.optim (single-tensor code path, foreach=False). The
others are written below in plain torch tensor ops straight from their papers:

* Adam without bias correction (torch has no switch): Kingma & Ba 2015, Algorithm 1 minus the m̂, v̂ lines.
* AdaBelief: Zhuang et al. 2020, Algorithm 2, with decoupled weight decay as in the authors' code.
* Lion: Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2 (with decoupled decay).
* QHM and QHAdam: Ma & Yarats 2019, "Quasi-hyperbolic momentum and Adam for deep learning", with L2 weight
  decay added to the gradient as in the authors' qhoptim.

Adan and schedule-free are run through their authors' packages' classes (PACKAGES: pytorch_optimizer.Adan,
schedulefree.SGDScheduleFree and AdamWScheduleFree, foreach=False, schedule-free in train mode).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

TORCH_VERSION = "2.13.0"
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch_references.npz"
STEPS = 80
LONG_STEPS = 300  # the optimizers of issue 29 (LONG) are checked over 300 steps
X0 = [[-1.2, 0.5, 1.5], [1.0, -0.3, 2.0]]
PROBLEM = "f = sum((1-u)^2 + 5 (v-u^2)^2 + 0.05 (u^4+v^4)), u = x[0], v = x[1]"


def gradient(x: torch.Tensor) -> torch.Tensor:
    """∇f for the problem above; the tests' NumPy version uses the same operations in the same order."""
    u, v = x[0], x[1]
    r = v - u * u
    gu = 2.0 * (u - 1.0) - 20.0 * u * r + 0.2 * u * u * u
    gv = 10.0 * r + 0.2 * v * v * v
    return torch.stack([gu, gv])


# ---------------------------------------------------------------------------------------------------------------
# Reference implementations of the rules torch.optim does not have. Each takes the parameter tensor and the
# hyperparameters, and has step(grad, lr) that updates the parameters in place.

class AdamNoBiasCorrection:
    """Adam (Kingma & Ba 2015, Alg. 1) without the bias correction: θ ← θ − α m/(√v + ε)."""

    def __init__(self, p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                 decoupled=False):
        self.p, self.lr, (self.b1, self.b2), self.eps, self.wd = p, lr, betas, eps, weight_decay
        self.amsgrad, self.decoupled = amsgrad, decoupled
        self.m, self.v, self.v_max = torch.zeros_like(p), torch.zeros_like(p), torch.zeros_like(p)

    def step(self, g, lr):
        if self.decoupled:
            self.p.mul_(1 - lr * self.wd)
        else:
            g = g + self.wd * self.p
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        v = self.v
        if self.amsgrad:
            self.v_max = torch.maximum(self.v_max, self.v)
            v = self.v_max
        self.p.sub_(lr * self.m / (torch.sqrt(v) + self.eps))


class AdaBelief:
    """Zhuang et al. 2020, Alg. 2: s_t = β2 s + (1−β2)(g − m_t)² + ε, θ ← θ − α m̂/(√ŝ + ε); decoupled decay."""

    def __init__(self, p, lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0):
        self.p, self.lr, (self.b1, self.b2), self.eps, self.wd = p, lr, betas, eps, weight_decay
        self.m, self.s, self.t = torch.zeros_like(p), torch.zeros_like(p), 0

    def step(self, g, lr):
        self.t += 1
        self.p.mul_(1 - lr * self.wd)
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.s = self.b2 * self.s + (1 - self.b2) * (g - self.m) ** 2 + self.eps
        m_hat = self.m / (1 - self.b1 ** self.t)
        s_hat = self.s / (1 - self.b2 ** self.t)
        self.p.sub_(lr * m_hat / (torch.sqrt(s_hat) + self.eps))


class Lion:
    """Chen et al. 2023: c = β1 m + (1−β1) g; θ ← θ − α(sign(c) + λθ); m ← β2 m + (1−β2) g."""

    def __init__(self, p, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        self.p, self.lr, (self.b1, self.b2), self.wd = p, lr, betas, weight_decay
        self.m = torch.zeros_like(p)

    def step(self, g, lr):
        c = self.b1 * self.m + (1 - self.b1) * g
        self.p.sub_(lr * (torch.sign(c) + self.wd * self.p))
        self.m = self.b2 * self.m + (1 - self.b2) * g


class QHM:
    """Ma & Yarats 2019, the QHM update: b ← β b + (1−β) g; θ ← θ − α[(1−ν) g + ν b]. L2 decay g ← g + λθ as in qhoptim.

    The paper gives no default step size; lr=1e-3 is optviz's choice. β = 0.999, ν = 0.7 are the paper's.
    """

    def __init__(self, p, lr=1e-3, momentum=0.999, nu=0.7, weight_decay=0.0):
        self.p, self.lr, self.beta, self.nu, self.wd = p, lr, momentum, nu, weight_decay
        self.b = torch.zeros_like(p)

    def step(self, g, lr):
        g = g + self.wd * self.p
        self.b = self.beta * self.b + (1 - self.beta) * g
        self.p.sub_(lr * ((1 - self.nu) * g + self.nu * self.b))


class QHAdam:
    """Ma & Yarats 2019, QHAdam: θ ← θ − α[(1−ν1) g + ν1 m̂] / (√[(1−ν2) g² + ν2 v̂] + ε); L2 decay as in qhoptim."""

    def __init__(self, p, lr=1e-3, betas=(0.995, 0.999), nus=(0.7, 1.0), eps=1e-8, weight_decay=0.0):
        self.p, self.lr, (self.b1, self.b2), (self.nu1, self.nu2) = p, lr, betas, nus
        self.eps, self.wd = eps, weight_decay
        self.m, self.v, self.t = torch.zeros_like(p), torch.zeros_like(p), 0

    def step(self, g, lr):
        self.t += 1
        g = g + self.wd * self.p
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        num = (1 - self.nu1) * g + self.nu1 * m_hat
        den = torch.sqrt((1 - self.nu2) * g * g + self.nu2 * v_hat) + self.eps
        self.p.sub_(lr * num / den)


PAPER = {"adam_no_bc": AdamNoBiasCorrection, "adabelief": AdaBelief, "lion": Lion, "qhm": QHM, "qhadam": QHAdam}

# optviz optimizer -> (torch.optim class, fixed constructor arguments)
TORCH = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adam": ("Adam", {}),
    "amsgrad": ("Adam", {"amsgrad": True}),
    "adamw": ("AdamW", {}),
    "nadam": ("NAdam", {}),
    "radam": ("RAdam", {}),
    "adamax": ("Adamax", {}),
    "asgd": ("ASGD", {}),
    "rprop": ("Rprop", {}),
}

# optviz optimizer -> (package, class, fixed constructor arguments): the reference implementations outside torch.optim,
# the packages' own classes (pytorch-optimizer 4.1.0, schedulefree 1.4.1), run as torch optimizers
PACKAGES = {
    "adan": ("pytorch_optimizer", "Adan", {"foreach": False}),
    "schedule_free_sgd": ("schedulefree", "SGDScheduleFree", {"foreach": False}),
    "schedule_free_adamw": ("schedulefree", "AdamWScheduleFree", {"foreach": False}),
}
LONG = {"asgd", "rprop", "adan", "schedule_free_sgd", "schedule_free_adamw"}


def _evaluated(opt, p):
    """schedulefree's eval() point, x = y + (1 − 1/β)(z − y), worked out as eval() does, out of place."""
    group = opt.param_groups[0]
    beta = group["momentum"] if "momentum" in group else group["betas"][0]
    return p.detach().lerp(opt.state[p]["z"], 1 - 1 / beta)


def _state(key, sign=1.0):
    return lambda opt, p: sign * opt.state[p][key]


# optviz state -> the reference's, recorded after every step for the optimizers of issue 29: what a user reads
READABLE = {
    "asgd": {"ax": _state("ax")},
    "rprop": {"prev": _state("prev"), "step_size": _state("step_size")},
    "adan": {"m": _state("exp_avg"), "diff": _state("exp_avg_diff"), "v": _state("exp_avg_sq"),
             "prev": _state("previous_grad", -1.0)},  # Adan keeps −g
    "schedule_free_sgd": {"z": _state("z"), "x_avg": _evaluated},
    "schedule_free_adamw": {"z": _state("z"), "x_avg": _evaluated, "v": _state("exp_avg_sq")},
}

# the references' betas, where optviz splits them into beta1, beta2, …; and the other tuples optviz splits
BETAS = {"lion": (0.9, 0.99), "qhadam": (0.995, 0.999), "adan": (0.98, 0.92, 0.99)}
TUPLES = {"etas": (("eta_minus", 0.5), ("eta_plus", 1.2)),
          "step_sizes": (("step_size_min", 1e-6), ("step_size_max", 50.0))}


def reference_for(name: str, hparams: dict) -> tuple[str, str, dict]:
    """(kind, class, kwargs): how to build the reference for optviz optimizer `name` with optviz `hparams`.

    optviz's beta1/beta2 become torch's betas tuple, nu1/nu2 QHAdam's nus; what is not given is left to the
    reference's own default (torch's or the paper's), so the "defaults" cases also check optviz's defaults.
    """
    kwargs = dict(hparams)
    if kwargs.pop("eps_placement", "outside") != "outside":
        raise ValueError("torch puts ε outside the root only; the other placements are checked in the tests")
    default = BETAS.get(name, (0.9, 0.999))
    if any(f"beta{i}" in kwargs for i in range(1, len(default) + 1)):
        kwargs["betas"] = tuple(kwargs.pop(f"beta{i}", beta) for i, beta in enumerate(default, 1))
    for joined, parts in TUPLES.items():
        if any(part in kwargs for part, _ in parts):
            kwargs[joined] = tuple(kwargs.pop(part, value) for part, value in parts)
    if "nu1" in kwargs or "nu2" in kwargs:
        kwargs["nus"] = (kwargs.pop("nu1", 0.7), kwargs.pop("nu2", 1.0))
    if name in TORCH and kwargs.pop("bias_correction", True) is False:
        if name not in ("adam", "amsgrad", "adamw"):
            raise ValueError(f"{name} has no bias_correction switch")
        extra = {"amsgrad": name == "amsgrad", "decoupled": name == "adamw"}
        if name == "adamw":
            kwargs.setdefault("weight_decay", 1e-2)  # AdamW's default
        return "paper", "adam_no_bc", {**extra, **kwargs}
    if name in PACKAGES:
        return "package", name, kwargs
    if name in TORCH:
        cls, fixed = TORCH[name]
        return "torch", cls, {**fixed, **kwargs}
    return "paper", name, kwargs


# ---------------------------------------------------------------------------------------------------------------
# The cases: (optviz optimizer name, optviz hyperparameters). Settings are kept out of the chaotic regime: a
# rounding difference in the first steps must stay a rounding difference after STEPS steps (for every case here a
# relative perturbation of x0 grows by less than ~3e3), or an rtol=1e-10 comparison would test luck, not rules.

CASES: list[tuple[str, dict]] = [
    ("sgd", {}),
    ("sgd", {"lr": 5e-3}),
    ("sgd", {"lr": 2e-3, "weight_decay": 0.5}),
    ("momentum", {}),
    ("momentum", {"lr": 2e-3, "momentum": 0.5, "dampening": 0.5}),
    ("momentum", {"momentum": 0.8, "dampening": 0.1, "weight_decay": 0.3}),
    ("momentum", {"lr": 2e-3, "momentum": 0.0, "dampening": 0.5}),  # no momentum: dampening must do nothing
    ("nesterov", {}),
    ("nesterov", {"lr": 2e-3, "momentum": 0.6}),
    ("nesterov", {"momentum": 0.95, "weight_decay": 0.2}),
    ("adagrad", {}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("adagrad", {"lr": 0.05, "initial_accumulator_value": 0.5, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.05, "eps": 0.0}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 3e-3, "alpha": 0.9, "eps": 1e-6}),
    ("rmsprop", {"lr": 1e-3, "momentum": 0.9}),
    ("rmsprop", {"lr": 3e-3, "centered": True}),
    ("rmsprop", {"lr": 1e-3, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 3e-3, "eps": 0.0}),
    ("adadelta", {}),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4}),
    ("adadelta", {"rho": 0.5, "eps": 1e-3, "weight_decay": 0.2}),
    ("adam", {}),
    ("adam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
    ("adam", {"lr": 0.01, "weight_decay": 0.3}),
    ("adam", {"lr": 0.01, "eps": 0.0}),
    ("adam", {"lr": 0.01, "bias_correction": False}),
    ("adam", {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "weight_decay": 0.1, "bias_correction": False}),
    ("amsgrad", {}),
    ("amsgrad", {"lr": 0.03, "beta1": 0.7, "beta2": 0.9}),
    ("amsgrad", {"lr": 0.01, "weight_decay": 0.2, "eps": 0.0}),
    ("amsgrad", {"lr": 0.01, "bias_correction": False}),
    ("adamw", {}),
    ("adamw", {"lr": 0.02, "weight_decay": 0.5}),
    ("adamw", {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.0, "eps": 1e-5}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1, "bias_correction": False}),
    ("nadam", {}),
    ("nadam", {"lr": 0.01, "momentum_decay": 0.02, "beta1": 0.95}),
    ("nadam", {"lr": 0.01, "beta2": 0.9, "weight_decay": 0.2}),
    ("nadam", {"lr": 0.01, "eps": 0.0, "momentum_decay": 0.0}),
    ("radam", {}),  # β2 = 0.999: ρ_t ≤ 5 for the first 5 steps, then rectified
    ("radam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.9}),  # ρ∞ = 19: un-rectified for longer
    ("radam", {"lr": 0.01, "beta2": 0.6}),  # ρ∞ = 4: ρ_t ≤ 5 at every step, momentum SGD throughout
    ("radam", {"lr": 0.01, "weight_decay": 0.2, "eps": 0.0}),
    ("adamax", {}),
    ("adamax", {"lr": 0.02, "beta1": 0.8, "beta2": 0.9}),
    ("adamax", {"lr": 0.01, "weight_decay": 0.2, "eps": 0.0}),
    ("adabelief", {}),
    ("adabelief", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8}),
    ("adabelief", {"lr": 0.01, "weight_decay": 0.3}),
    ("adabelief", {"lr": 0.01, "eps": 0.0}),
    ("lion", {}),
    ("lion", {"lr": 0.01, "beta1": 0.95, "beta2": 0.98}),
    ("lion", {"lr": 3e-3, "weight_decay": 0.5}),
    ("qhm", {}),
    ("qhm", {"lr": 5e-3, "momentum": 0.9, "nu": 0.5}),
    ("qhm", {"lr": 2e-3, "nu": 1.0, "momentum": 0.8, "weight_decay": 0.2}),
    ("qhm", {"lr": 2e-3, "nu": 0.0}),
    ("qhadam", {}),
    ("qhadam", {"lr": 0.01, "nu1": 0.8, "nu2": 0.5}),
    ("qhadam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1}),
    ("qhadam", {"lr": 0.01, "eps": 0.0, "nu2": 0.9}),
    # gradient ascent (torch's maximize): small steps, since ascent amplifies rounding differences
    ("sgd", {"lr": 1e-4, "maximize": True}),
    ("momentum", {"lr": 2e-5, "maximize": True}),
    ("nesterov", {"lr": 2e-5, "maximize": True, "weight_decay": 0.1}),
    ("adagrad", {"lr": 0.02, "maximize": True}),
    ("rmsprop", {"lr": 1e-3, "maximize": True, "centered": True}),
    ("adadelta", {"lr": 0.5, "maximize": True}),
    ("adam", {"lr": 0.005, "maximize": True}),
    ("amsgrad", {"lr": 0.005, "maximize": True}),
    ("adamw", {"lr": 0.005, "maximize": True}),
    ("nadam", {"lr": 0.005, "maximize": True}),
    ("radam", {"lr": 0.005, "maximize": True}),
    ("adamax", {"lr": 0.005, "maximize": True}),
    # AdamW with AMSGrad, NAdam and RAdam with decoupled weight decay
    ("adamw", {"lr": 0.02, "amsgrad": True}),
    ("adamw", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3, "beta2": 0.9}),
    ("adamw", {"lr": 0.01, "amsgrad": True, "maximize": True, "eps": 1e-4}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("nadam", {"lr": 0.01, "weight_decay": 0.5, "decoupled_weight_decay": True, "momentum_decay": 0.01}),
    ("radam", {"lr": 0.01, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("radam", {"lr": 0.02, "weight_decay": 0.5, "decoupled_weight_decay": True, "beta2": 0.9}),
    # ε outside the root, said explicitly: torch's placement
    ("adam", {"lr": 0.01, "eps": 1e-3, "eps_placement": "outside"}),
    # issue 29, over LONG_STEPS: ASGD (its average starts at t0), Rprop, Adan (its proximal and its decoupled weight
    # decay), schedule-free SGD and AdamW (their warm-up, weight powers and weight decay)
    ("asgd", {}),
    ("asgd", {"lr": 5e-3, "lambd": 0.1, "alpha": 0.5}),
    ("asgd", {"lr": 5e-3, "t0": 50}),
    ("asgd", {"lr": 5e-3, "t0": 20, "lambd": 0.01, "weight_decay": 0.2}),
    ("asgd", {"lr": 1e-5, "maximize": True}),
    ("rprop", {}),
    ("rprop", {"lr": 1e-3, "eta_minus": 0.3, "eta_plus": 1.5}),
    ("rprop", {"lr": 0.01, "step_size_min": 1e-3, "step_size_max": 0.05}),
    ("rprop", {"lr": 1e-5, "step_size_max": 1e-4, "maximize": True}),
    ("adan", {}),
    ("adan", {"lr": 0.01, "beta1": 0.9, "beta2": 0.9, "beta3": 0.999}),
    ("adan", {"lr": 0.01, "weight_decay": 0.1}),
    ("adan", {"lr": 0.01, "weight_decay": 0.1, "weight_decouple": True}),
    ("adan", {"lr": 0.01, "eps": 0.0}),
    ("adan", {"lr": 1e-4, "maximize": True}),
    ("schedule_free_sgd", {"lr": 5e-3}),  # its default α = 1 runs off to inf on this problem
    ("schedule_free_sgd", {"lr": 2e-3, "momentum": 0.5, "weight_decay": 0.1}),
    ("schedule_free_sgd", {"lr": 5e-3, "warmup_steps": 20}),
    ("schedule_free_sgd", {"lr": 5e-3, "r": 1.0, "weight_lr_power": 1.0}),
    ("schedule_free_adamw", {}),
    ("schedule_free_adamw", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "warmup_steps": 30}),
    ("schedule_free_adamw", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-6}),
    ("schedule_free_adamw", {"lr": 0.01, "r": 0.5, "weight_lr_power": 0.0}),
]

# optimizer + schedule runs: (optimizer, hparams, schedule name, schedule params, warmup, warmup_start_factor)
SCHEDULED_CASES = [
    ("adam", {"lr": 0.05}, "cosine", {"t_max": 50, "eta_min": 1e-3}, 10, 0.1),
    ("sgd", {"lr": 5e-3}, "step", {"step_size": 20, "gamma": 0.5}, 0, 0.1),
    ("momentum", {"lr": 2e-3}, "exponential", {"gamma": 0.97}, 5, 0.2),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01}, "linear", {"start_factor": 1.0, "end_factor": 0.1,
                                                          "total_iters": 40}, 0, 0.1),
    ("adamw", {"lr": 0.02}, "cosine", {"t_max": 30}, 0, 0.1),  # runs past t_max: the cosine comes back up
    ("rmsprop", {"lr": 5e-3}, "inverse_sqrt", {"timescale": 10}, 8, 0.05),
    ("lion", {"lr": 0.01}, "constant", {}, 15, 0.1),
    # the cyclic schedules also cycle the momentum (SGD's momentum, Adam's and NAdam's betas[0], RMSprop's momentum)
    ("momentum", {"lr": 1e-3}, "cyclic", {"max_lr": 6e-3, "step_size_up": 12, "step_size_down": 8}, 0, 0.1),
    ("adam", {"lr": 0.05}, "one_cycle", {"total_steps": 80}, 0, 0.1),
    ("nadam", {"lr": 0.03}, "one_cycle", {"total_steps": 80, "three_phase": True, "anneal_strategy": "linear"},
     0, 0.1),
    ("rmsprop", {"lr": 2e-3, "momentum": 0.5}, "cyclic", {"max_lr": 8e-3, "step_size_up": 10,
                                                          "mode": "triangular2"}, 0, 0.1),
    ("adam", {"lr": 2e-3}, "cyclic", {"max_lr": 0.02, "step_size_up": 15, "mode": "exp_range", "gamma": 0.99,
                                      "cycle_momentum": False}, 0, 0.1),
]

# ASGD's η and Rprop's first step size take the learning rate of the step before and of the first step
SCHEDULED_CASES += [
    ("asgd", {"lr": 0.01, "lambd": 0.05}, "cosine", {"t_max": 100}, 10, 0.1),
    ("rprop", {"lr": 0.01}, "exponential", {"gamma": 0.98}, 5, 0.2),
    ("schedule_free_adamw", {"lr": 0.02}, "cosine", {"t_max": 200, "eta_min": 1e-3}, 10, 0.1),
]

# lr sequences only: (schedule name, params, warmup, warmup_start_factor, base lr, steps)
SCHEDULE_CASES = [
    ("step", {"step_size": 30, "gamma": 0.5}, 0, 0.1, 0.1, 200),
    ("step", {"step_size": 7, "gamma": 0.9}, 0, 0.1, 1.0, 120),
    ("exponential", {"gamma": 0.98}, 0, 0.1, 0.1, 300),
    ("cosine", {"t_max": 100, "eta_min": 0.0}, 0, 0.1, 0.1, 300),
    ("cosine", {"t_max": 50, "eta_min": 1e-3}, 0, 0.1, 0.1, 180),
    ("cosine", {"t_max": 1, "eta_min": 0.0}, 0, 0.1, 0.1, 60),
    ("linear", {}, 0, 0.1, 0.1, 60),
    ("linear", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 40}, 0, 0.1, 0.1, 80),
    ("linear", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 50}, 0, 0.1, 0.1, 80),
    ("inverse_sqrt", {"timescale": 10}, 0, 0.1, 0.1, 150),
    ("constant", {}, 10, 0.1, 0.1, 60),
    ("step", {"step_size": 30, "gamma": 0.5}, 10, 0.1, 0.1, 200),
    ("exponential", {"gamma": 0.98}, 20, 0.01, 0.1, 200),
    ("cosine", {"t_max": 100, "eta_min": 0.0}, 10, 0.1, 0.1, 300),
    ("cosine", {"t_max": 50, "eta_min": 1e-3}, 25, 0.3, 0.1, 150),
    ("linear", {"start_factor": 0.5, "end_factor": 0.1, "total_iters": 40}, 10, 0.1, 0.1, 80),
    ("inverse_sqrt", {"timescale": 25}, 5, 0.5, 0.1, 150),
    ("cyclic", {"max_lr": 0.5, "step_size_up": 20}, 0, 0.1, 0.1, 150),
    ("cyclic", {"max_lr": 0.5, "step_size_up": 7, "step_size_down": 13, "mode": "triangular2"}, 0, 0.1, 0.1, 150),
    ("cyclic", {"max_lr": 0.5, "step_size_up": 10, "mode": "exp_range", "gamma": 0.98}, 0, 0.1, 0.1, 150),
    ("cyclic", {"max_lr": 0.05, "step_size_up": 10, "base_momentum": 0.6, "max_momentum": 0.95}, 0, 0.1, 0.1, 90),
    ("cyclic", {"max_lr": 0.5, "step_size_up": 20, "cycle_momentum": False}, 0, 0.1, 0.1, 80),
    ("one_cycle", {"total_steps": 200}, 0, 0.1, 0.1, 200),
    ("one_cycle", {"total_steps": 100, "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0,
                   "final_div_factor": 100.0}, 0, 0.1, 0.1, 100),
    ("one_cycle", {"total_steps": 120, "three_phase": True, "base_momentum": 0.7}, 0, 0.1, 1.0, 120),
    ("cyclic", {"max_lr": 0.5, "step_size_up": 20}, 10, 0.1, 0.1, 150),
    ("one_cycle", {"total_steps": 200}, 10, 0.2, 0.1, 200),
]

# optviz's defaults for the schedule parameters (only used to fill what a case leaves out)
SCHEDULE_DEFAULTS = {
    "step": {"step_size": 100, "gamma": 0.5},
    "exponential": {"gamma": 0.99},
    "cosine": {"t_max": 500, "eta_min": 0.0},
    "linear": {"start_factor": 1 / 3, "end_factor": 1.0, "total_iters": 5},
    "inverse_sqrt": {"timescale": 10},
    "constant": {},
    "cyclic": {"max_lr": 0.01, "step_size_up": 100, "step_size_down": 0, "mode": "triangular", "gamma": 1.0,
               "cycle_momentum": True, "base_momentum": 0.8, "max_momentum": 0.9},
    "one_cycle": {"total_steps": 500, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0,
                  "final_div_factor": 1e4, "three_phase": False, "cycle_momentum": True, "base_momentum": 0.85,
                  "max_momentum": 0.95},
}


def torch_scheduler(opt, name: str, params: dict, warmup: int, warmup_start_factor: float):
    """The torch scheduler equivalent to optviz.schedule(name, warmup, warmup_start_factor, **params), or None."""
    p = {**SCHEDULE_DEFAULTS[name], **params}
    sched = torch.optim.lr_scheduler
    if name == "constant" and not warmup:
        return None
    # built in the usual order: the warm-up ramp first, then the main schedule
    ramp = (sched.LinearLR(opt, start_factor=warmup_start_factor, end_factor=1.0, total_iters=warmup)
            if warmup else None)
    if name == "step":
        main = sched.StepLR(opt, step_size=p["step_size"], gamma=p["gamma"])
    elif name == "exponential":
        main = sched.ExponentialLR(opt, gamma=p["gamma"])
    elif name == "cosine":
        main = sched.CosineAnnealingLR(opt, T_max=p["t_max"], eta_min=p["eta_min"])
    elif name == "linear":
        main = sched.LinearLR(opt, start_factor=p["start_factor"], end_factor=p["end_factor"],
                              total_iters=p["total_iters"])
    elif name == "inverse_sqrt":  # no torch class: LambdaLR with the formula (checks the step indexing)
        main = sched.LambdaLR(opt, lambda t: 1.0 / math.sqrt(1.0 + t / p["timescale"]))
    elif name == "constant":
        main = sched.LambdaLR(opt, lambda t: 1.0)
    elif name == "cyclic":  # optviz's α is CyclicLR's base_lr (initial_lr: the rate before a warm-up changed it)
        base = opt.param_groups[0].get("initial_lr", opt.param_groups[0]["lr"])
        main = sched.CyclicLR(opt, base_lr=base, max_lr=p["max_lr"],
                              step_size_up=p["step_size_up"], step_size_down=p["step_size_down"] or None,
                              mode=p["mode"], gamma=p["gamma"], cycle_momentum=p["cycle_momentum"],
                              base_momentum=p["base_momentum"], max_momentum=p["max_momentum"])
    elif name == "one_cycle":  # optviz's α is OneCycleLR's max_lr, the peak
        peak = opt.param_groups[0].get("initial_lr", opt.param_groups[0]["lr"])
        main = sched.OneCycleLR(opt, max_lr=peak, total_steps=p["total_steps"],
                                pct_start=p["pct_start"], anneal_strategy=p["anneal_strategy"],
                                div_factor=p["div_factor"], final_div_factor=p["final_div_factor"],
                                three_phase=p["three_phase"], cycle_momentum=p["cycle_momentum"],
                                base_momentum=p["base_momentum"], max_momentum=p["max_momentum"])
    else:
        raise ValueError(name)
    if ramp is None:
        return main
    return sched.SequentialLR(opt, [ramp, main], milestones=[warmup])


def run_case(name: str, hparams: dict, schedule: tuple | None,
             objective: float = 1.0) -> tuple[np.ndarray, str, dict[str, np.ndarray]]:
    """The trajectory (STEPS, or LONG_STEPS for the optimizers in LONG, 2, 3), a description of the reference and
    the state a user reads (READABLE: optviz's name -> its values after every step).
    objective=−1 steps on −f (so that a configuration of torch's own tests that ascends, at its own learning rate,
    climbs −f to f's minimum instead of running off to inf)."""
    kind, cls, kwargs = reference_for(name, hparams)
    p = torch.tensor(X0, dtype=torch.float64, requires_grad=kind != "paper")
    if kind == "torch":
        opt = getattr(torch.optim, cls)([p], foreach=False, **kwargs)
        described = f"torch.optim.{cls}({_kwargs_text(kwargs)})"
    elif kind == "package":
        module, cls, fixed = PACKAGES[cls]
        opt = getattr(importlib.import_module(module), cls)([p], **fixed, **kwargs)
        if hasattr(opt, "train"):  # schedule-free steps in train mode, where the parameters are y
            opt.train()
        described = f"{module}.{cls}({_kwargs_text({**fixed, **kwargs})})"
    else:
        ref = PAPER[cls](p, **kwargs)
        # a parameterless torch optimizer carries the learning rate, so torch's schedulers can drive it
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=ref.lr)
        described = f"paper: {PAPER[cls].__name__}({_kwargs_text(kwargs)}) in tools/make_torch_references.py"
    scheduler = torch_scheduler(opt, *schedule) if schedule else None
    steps = LONG_STEPS if name in LONG else STEPS
    out = np.empty((steps,) + tuple(p.shape))
    readable = {state: np.empty_like(out) for state in READABLE.get(name, {})}
    for step in range(steps):
        with torch.no_grad():
            g = objective * gradient(p)
            if kind != "paper":
                p.grad = g
            else:
                ref.step(g, opt.param_groups[0]["lr"])
            opt.step()
            if scheduler is not None:
                scheduler.step()
        out[step] = p.detach().numpy()
        for state, values in readable.items():
            values[step] = READABLE[name][state](opt, p).detach().numpy()
    if not np.all(np.isfinite(out)):
        raise RuntimeError(f"{name} {hparams}: trajectory is not finite")
    return out, described, readable


# torch's own test configurations (torch.testing._internal.common_optimizers.optim_db) for the torch classes optviz
# added in issue 29, run on the problem above: (optviz optimizer, torch class)
OPTIM_DB = (("asgd", "ASGD"), ("rprop", "Rprop"))
_NOT_MATH = ("foreach", "differentiable", "capturable", "fused")  # how torch computes, not what


def optim_db_cases() -> tuple[list[tuple[str, dict, str]], list[str]]:
    """(optviz name, optviz hparams, torch's description) for every configuration of torch's own tests optviz can
    express, and the others, each with the reason."""
    from torch.testing._internal.common_optimizers import optim_db

    splits = {joined: [part for part, _ in parts] for joined, parts in TUPLES.items()}
    cases, refused = [], []
    for name, cls in OPTIM_DB:
        info = next(info for info in optim_db if info.optim_cls.__name__ == cls)
        for config in info.optim_inputs_func("cpu", torch.float64):
            kwargs = {k: v for k, v in config.kwargs.items() if k not in _NOT_MATH}
            if config.params is not None or any(isinstance(v, torch.Tensor) for v in kwargs.values()):
                refused.append(f"{cls} {config.desc}: parameter groups or a tensor learning rate")
                continue
            hparams = {}
            for key, value in kwargs.items():
                hparams.update(zip(splits[key], value) if key in splits else [(key, value)])
            cases.append((name, hparams, f"{cls} {config.desc}"))
    return cases, refused


def lr_sequence(name: str, params: dict, warmup: int, warmup_start_factor: float, base_lr: float,
                steps: int) -> tuple[np.ndarray, np.ndarray]:
    """torch's learning rate and SGD's momentum (which the cyclic schedules cycle) at each optimizer step."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr, momentum=0.5)
    scheduler = torch_scheduler(opt, name, params, warmup, warmup_start_factor)
    lrs, momenta = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()  # no gradient: nothing moves, but torch wants optimizer.step() before scheduler.step()
        if scheduler is not None:
            scheduler.step()
    return np.array(lrs, dtype=np.float64), np.array(momenta, dtype=np.float64)


def _kwargs_text(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def case_id(name: str, hparams: dict, schedule: tuple | None = None) -> str:
    text = name + ":" + (",".join(f"{k}={_num(v)}" for k, v in hparams.items()) or "defaults")
    if schedule:
        text += "+" + schedule_id(*schedule)
    return text


def schedule_id(name: str, params: dict, warmup: int, warmup_start_factor: float) -> str:
    text = name + "(" + ",".join(f"{k}={_num(v)}" for k, v in params.items()) + ")"
    if warmup:
        text += f"+warmup={warmup}" + (f",start={_num(warmup_start_factor)}" if warmup_start_factor != 0.1 else "")
    return text


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def main() -> None:
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        sys.exit(f"needs torch=={TORCH_VERSION}, found {torch.__version__}")
    torch.set_default_dtype(torch.float64)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch.optim")

    cases, trajectories, arrays = [], {"trajectories": [], "long_trajectories": []}, {}

    def add(case: dict, traj: np.ndarray, readable: dict[str, np.ndarray]) -> None:
        # the 80-step trajectories in one array, the 300-step ones in another; a case says which
        case["array"] = "long_trajectories" if len(traj) == LONG_STEPS else "trajectories"
        trajectories[case["array"]].append(traj)
        case["states"] = {state: f"state_{len(cases)}_{state}" for state in readable}
        arrays.update({case["states"][state]: values for state, values in readable.items()})
        cases.append(case)

    for name, hparams in CASES:
        traj, described, readable = run_case(name, hparams, None)
        add({"id": case_id(name, hparams), "optimizer": name, "hparams": hparams, "schedule": None,
             "reference": described}, traj, readable)
    db_cases, refused = optim_db_cases()
    for name, hparams, desc in db_cases:
        objective = -1.0 if hparams.get("maximize") else 1.0
        traj, described, readable = run_case(name, hparams, None, objective)
        add({"id": case_id(name, hparams) + f" [torch's test: {desc}]", "optimizer": name, "hparams": hparams,
             "schedule": None, "reference": described, "optim_db": desc, "objective": objective}, traj, readable)
    for name, hparams, sname, sparams, warmup, start in SCHEDULED_CASES:
        schedule = (sname, sparams, warmup, start)
        traj, described, readable = run_case(name, hparams, schedule)
        add({"id": case_id(name, hparams, schedule), "optimizer": name, "hparams": hparams,
             "schedule": {"name": sname, "params": sparams, "warmup": warmup, "warmup_start_factor": start},
             "reference": described}, traj, readable)

    schedules = []
    for i, (sname, sparams, warmup, start, base_lr, steps) in enumerate(SCHEDULE_CASES):
        schedules.append({"id": schedule_id(sname, sparams, warmup, start), "name": sname, "params": sparams,
                          "warmup": warmup, "warmup_start_factor": start, "base_lr": base_lr, "key": f"lr_{i}"})
        arrays[f"lr_{i}"], arrays[f"momentum_{i}"] = lr_sequence(sname, sparams, warmup, start, base_lr, steps)

    ids = [c["id"] for c in cases] + [s["id"] for s in schedules]
    if len(set(ids)) != len(ids):
        raise RuntimeError("case ids must be unique")
    x0 = torch.tensor(X0, dtype=torch.float64)
    meta = {
        "torch_version": torch.__version__,
        "generator": "tools/make_torch_references.py",
        "problem": PROBLEM,
        "x0": X0,
        "grad_x0": gradient(x0).tolist(),
        "steps": STEPS,
        "long_steps": LONG_STEPS,
        "cases": cases,
        "optim_db_refused": refused,
        "schedules": schedules,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, meta=np.array(json.dumps(meta, indent=1)),
                        **{key: np.stack(trajs) for key, trajs in trajectories.items()}, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KB): {len(cases)} optimizer cases ({len(db_cases)} of "
          f"torch's own tests), {len(schedules)} schedules")
    for reason in refused:
        print(f"  not expressible in optviz: {reason}")


if __name__ == "__main__":
    main()
