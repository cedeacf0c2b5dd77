"""optviz's optimizers reproduce torch.optim (and, for the rules torch lacks, their papers) step by step.

The expected trajectories come from tests/fixtures/torch_references.npz, written by tools/make_torch_references.py
with torch 2.13.0 in float64: 80 steps (300 for ASGD, Rprop, Adan and schedule-free) from the same start on a
Rosenbrock-like problem, the gradient recomputed from the current parameters at every step. Adan and schedule-free
follow their authors' packages (pytorch-optimizer 4.1.0, schedulefree 1.4.1); ASGD and Rprop also follow every
configuration of torch's own optimizer tests (optim_db).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from references import ATOL, CASES, META, RTOL, STEPS, UNSCHEDULED, X0, assert_follows, gradient

import optviz
from optviz.optimizers import ELEMENTWISE

pytestmark = pytest.mark.filterwarnings("error")


def test_the_gradient_is_bit_for_bit_the_generators():
    np.testing.assert_array_equal(gradient(X0), np.array(META["grad_x0"]))


def test_every_optimizer_has_several_reference_settings():
    counts = defaultdict(int)
    for case in UNSCHEDULED:
        counts[case["optimizer"]] += 1
    assert set(counts) == {name for name, spec in optviz.OPTIMIZERS.items() if spec.kind == ELEMENTWISE}
    assert min(counts.values()) >= 3, counts


@pytest.mark.parametrize("case", UNSCHEDULED, ids=[case["id"] for case in UNSCHEDULED])
def test_trajectory_matches_reference(case):
    opt = optviz.optimizer(case["optimizer"], **case["hparams"])
    assert_follows(opt, case["trajectory"], objective=case.get("objective", 1.0))


@pytest.mark.parametrize("case", UNSCHEDULED[::7], ids=[case["id"] for case in UNSCHEDULED[::7]])
def test_pure_step_matches_reference_too(case):
    opt = optviz.optimizer(case["optimizer"], **case["hparams"])
    assert_follows(opt, case["trajectory"], in_place=False, objective=case.get("objective", 1.0))


def _batches():
    """Per optimizer, its reference settings that share their switches, as one batch of hyperparameter arrays."""
    groups = defaultdict(list)
    for case in UNSCHEDULED:
        spec = optviz.OPTIMIZERS[case["optimizer"]]
        values = {**spec.defaults, **case["hparams"]}
        switches = tuple(sorted((k, v) for k, v in values.items() if isinstance(v, (bool, str))))
        groups[case["optimizer"], switches, case.get("objective", 1.0)].append((case, values))
    batches = []
    for (name, switches, objective), members in groups.items():
        if len(members) < 2:
            continue
        hparams = dict(switches)
        for key, value in members[0][1].items():
            if not isinstance(value, (bool, str)):
                hparams[key] = np.array([values[key] for _, values in members], dtype=float)
        label = name + (":" + ",".join(f"{k}={v}" for k, v in switches) if switches else "")
        label += " on -f" if objective < 0 else ""
        batches.append(pytest.param(name, hparams, np.stack([c["trajectory"] for c, _ in members], axis=1),
                                    objective, id=f"{label} x{len(members)}"))
    return batches


@pytest.mark.parametrize(("name", "hparams", "expected", "objective"), _batches())
def test_batched_settings_match_reference(name, hparams, expected, objective):
    """All settings of one optimizer stepped at once, as (N,) hyperparameter arrays over params (N, 2, 3)."""
    opt = optviz.optimizer(name, **hparams)
    n = expected.shape[1]
    assert_follows(opt, expected, x0=np.broadcast_to(X0, (n,) + X0.shape), objective=objective)


WITH_STATE = [case for case in CASES if case["states"]]


@pytest.mark.parametrize("case", WITH_STATE, ids=[case["id"] for case in WITH_STATE])
def test_the_state_a_user_reads_is_the_references(case):
    """ASGD's average ax, Rprop's step sizes, Adan's moments, schedule-free's z and the point x its eval() puts in
    the parameters, x = y + (1 − 1/β)(z − y): the reference's after every step, learning-rate schedule or not."""
    schedule = case["schedule"] and optviz.schedule(case["schedule"]["name"], case["schedule"]["warmup"],
                                                    case["schedule"]["warmup_start_factor"],
                                                    **case["schedule"]["params"])
    opt = optviz.optimizer(case["optimizer"], schedule=schedule or None, **case["hparams"])
    params = np.array(X0)
    state = opt.init(params)
    for t in range(1, len(case["trajectory"]) + 1):
        params, state = opt.step_(params, case.get("objective", 1.0) * gradient(params), state)
        for name, values in case["states"].items():
            np.testing.assert_allclose(getattr(state, name), values[t - 1], rtol=RTOL, atol=ATOL,
                                       err_msg=f"{name}, step {t}")


def test_torchs_own_configurations_are_all_expressed_and_checked():
    """Every configuration of torch's optimizer tests (optim_db) for ASGD and Rprop is a reference case here."""
    from_torch = {case["optim_db"] for case in UNSCHEDULED if "optim_db" in case}
    assert META["optim_db_refused"] == []
    assert {desc.split()[0] for desc in from_torch} == {"ASGD", "Rprop"}
    assert len(from_torch) >= 12


# ---------------------------------------------------------------------------------------------------------------
# Where ε sits: torch puts it outside the root (checked against torch above); "inside" and Keras's ε̂ are checked
# against plain-Python float64 recursions of their documented formulas, one number at a time.

def _adam_reference(p, g, s, t, h, decoupled):
    """Adam as documented: torch's α·m̂/(√v̂ + ε), √(v̂ + ε) inside, or Keras's α_t·m/(√v + ε̂) with
    α_t = α·√(1−β2ᵗ)/(1−β1ᵗ); AMSGrad divides by max(v) instead of v."""
    lr, b1, b2, eps, wd = h["lr"], h["beta1"], h["beta2"], h["eps"], h["weight_decay"]
    if decoupled:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    s["v_max"] = max(s["v_max"], s["v"])
    v = s["v_max"] if h.get("amsgrad") else s["v"]
    bc1, bc2 = (1 - b1 ** t, 1 - b2 ** t) if h.get("bias_correction", True) else (1.0, 1.0)
    if h["eps_placement"] == "keras":
        return p - lr * math.sqrt(bc2) / bc1 * s["m"] / (math.sqrt(v) + eps)
    return p - lr * (s["m"] / bc1) / math.sqrt(v / bc2 + eps)


def _rmsprop_reference(p, g, s, t, h, decoupled):
    """Keras's RMSprop: v ← ρv + (1−ρ)g²; ḡ ← ρḡ + (1−ρ)g if centered; d = g/√(v − ḡ² + ε); b ← μb + d;
    θ ← θ − α·b (Keras folds α into b, which is the same rule for a constant α)."""
    rho, eps = h["alpha"], h["eps"]
    g = g + h["weight_decay"] * p
    s["v"] = rho * s["v"] + (1 - rho) * g * g
    s["g_avg"] = rho * s["g_avg"] + (1 - rho) * g if h["centered"] else 0.0
    s["buf"] = h["momentum"] * s["buf"] + g / math.sqrt(s["v"] - s["g_avg"] ** 2 + eps)
    return p - h["lr"] * s["buf"]


def _adagrad_reference(p, g, s, t, h, decoupled):
    """Keras's Adagrad (with torch's lr decay and L2 decay): G ← G + g²;  θ ← θ − α/(1+(t−1)η) · g/√(G + ε)."""
    g = g + h["weight_decay"] * p
    s["sum"] += g * g
    return p - h["lr"] / (1 + (t - 1) * h["lr_decay"]) * g / math.sqrt(s["sum"] + h["eps"])


PLACEMENT_CASES = [
    ("adam", {"lr": 0.01, "eps": 1e-3, "eps_placement": "inside"}),
    ("adam", {"lr": 0.01, "eps": 1e-7, "eps_placement": "keras"}),
    ("adam", {"lr": 0.02, "eps": 1e-2, "beta2": 0.9, "weight_decay": 0.1, "eps_placement": "keras"}),
    ("adam", {"lr": 0.01, "eps": 1e-2, "bias_correction": False, "eps_placement": "inside"}),
    ("amsgrad", {"lr": 0.02, "eps": 1e-3, "beta2": 0.9, "eps_placement": "keras"}),
    ("amsgrad", {"lr": 0.01, "eps": 1e-3, "eps_placement": "inside"}),
    ("adamw", {"lr": 0.01, "eps": 1e-4, "weight_decay": 0.1, "eps_placement": "inside"}),
    ("adamw", {"lr": 0.01, "eps": 1e-2, "amsgrad": True, "eps_placement": "keras"}),
    ("rmsprop", {"lr": 3e-3, "alpha": 0.9, "eps": 1e-3, "eps_placement": "inside"}),
    ("rmsprop", {"lr": 1e-3, "eps": 1e-4, "centered": True, "momentum": 0.5, "eps_placement": "inside"}),
    ("adagrad", {"lr": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-3, "eps_placement": "inside"}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05, "eps": 1e-7, "weight_decay": 0.1, "eps_placement": "inside"}),
]
_REFERENCES = {"adam": _adam_reference, "amsgrad": _adam_reference, "adamw": _adam_reference,
               "rmsprop": _rmsprop_reference, "adagrad": _adagrad_reference}


def _placement_trajectory(name, hparams):
    h = {**optviz.OPTIMIZERS[name].defaults, **hparams, "amsgrad": name == "amsgrad" or hparams.get("amsgrad")}
    flat = X0.reshape(-1).tolist()
    states = [{"m": 0.0, "v": 0.0, "v_max": 0.0, "g_avg": 0.0, "buf": 0.0,
               "sum": h.get("initial_accumulator_value", 0.0)} for _ in flat]
    out = []
    for t in range(1, STEPS + 1):
        grads = gradient(np.array(flat).reshape(X0.shape)).reshape(-1).tolist()
        flat = [_REFERENCES[name](p, g, s, t, h, name == "adamw") for p, g, s in zip(flat, grads, states)]
        out.append(np.array(flat).reshape(X0.shape))
    return np.array(out)


@pytest.mark.parametrize(("name", "hparams"), PLACEMENT_CASES,
                         ids=[f"{n}:{','.join(f'{k}={v}' for k, v in h.items())}" for n, h in PLACEMENT_CASES])
def test_eps_placement_follows_its_documented_formula(name, hparams):
    assert_follows(optviz.optimizer(name, **hparams), _placement_trajectory(name, hparams))


def test_eps_placements_are_different_rules():
    finals = {where: _placement_trajectory("adam", {"lr": 0.01, "eps": 1e-2, "eps_placement": where})[-1]
              for where in ("inside", "keras")}
    outside = optviz.optimizer("adam", lr=0.01, eps=1e-2)
    params, state = np.array(X0), outside.init(X0)
    for _ in range(STEPS):
        params, state = outside.step(params, gradient(params), state)
    assert not np.allclose(finals["inside"], finals["keras"], rtol=1e-6)
    assert not np.allclose(finals["inside"], params, rtol=1e-6)
