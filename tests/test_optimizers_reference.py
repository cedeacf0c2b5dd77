"""optviz's optimizers reproduce torch.optim (and, for the rules torch lacks, their papers) step by step.

The expected trajectories come from tests/fixtures/torch_references.npz, written by tools/make_torch_references.py
with torch 2.13.0 in float64: 80 steps from the same start on a Rosenbrock-like problem, the gradient recomputed
from the current parameters at every step.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from references import META, UNSCHEDULED, X0, assert_follows, gradient

import optviz

pytestmark = pytest.mark.filterwarnings("error")


def test_the_gradient_is_bit_for_bit_the_generators():
    np.testing.assert_array_equal(gradient(X0), np.array(META["grad_x0"]))


def test_every_optimizer_has_several_reference_settings():
    counts = defaultdict(int)
    for case in UNSCHEDULED:
        counts[case["optimizer"]] += 1
    assert set(counts) == set(optviz.OPTIMIZERS)
    assert min(counts.values()) >= 3, counts


@pytest.mark.parametrize("case", UNSCHEDULED, ids=[case["id"] for case in UNSCHEDULED])
def test_trajectory_matches_reference(case):
    opt = optviz.optimizer(case["optimizer"], **case["hparams"])
    assert_follows(opt, case["trajectory"])


@pytest.mark.parametrize("case", UNSCHEDULED[::7], ids=[case["id"] for case in UNSCHEDULED[::7]])
def test_pure_step_matches_reference_too(case):
    opt = optviz.optimizer(case["optimizer"], **case["hparams"])
    assert_follows(opt, case["trajectory"], in_place=False)


def _batches():
    """Per optimizer, its reference settings that share their switches, as one batch of hyperparameter arrays."""
    groups = defaultdict(list)
    for case in UNSCHEDULED:
        spec = optviz.OPTIMIZERS[case["optimizer"]]
        values = {**spec.defaults, **case["hparams"]}
        switches = tuple(sorted((k, v) for k, v in values.items() if isinstance(v, bool)))
        groups[case["optimizer"], switches].append((case, values))
    batches = []
    for (name, switches), members in groups.items():
        if len(members) < 2:
            continue
        hparams = dict(switches)
        for key, value in members[0][1].items():
            if not isinstance(value, bool):
                hparams[key] = np.array([values[key] for _, values in members], dtype=float)
        label = name + (":" + ",".join(f"{k}={v}" for k, v in switches) if switches else "")
        batches.append(pytest.param(name, hparams, np.stack([c["trajectory"] for c, _ in members], axis=1),
                                    id=f"{label} x{len(members)}"))
    return batches


@pytest.mark.parametrize(("name", "hparams", "expected"), _batches())
def test_batched_settings_match_reference(name, hparams, expected):
    """All settings of one optimizer stepped at once, as (N,) hyperparameter arrays over params (N, 2, 3)."""
    opt = optviz.optimizer(name, **hparams)
    n = expected.shape[1]
    assert_follows(opt, expected, x0=np.broadcast_to(X0, (n,) + X0.shape))
