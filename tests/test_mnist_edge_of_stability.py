"""The edge of stability, reproduced in CI in the lesson's setting (optviz.scenarios, "edge_of_stability"):
full-batch gradient descent on 250 digits of the shipped subset (pixels centred), a 784-100-100-10 tanh network
with PyTorch's uniform initialisation and the squared loss. The full size, 1,000 digits, is
benchmarks/bench_sharpness.py and `python -m optviz eos`; docs/benchmarks.md has its figures.

The network starts flat, its sharpness about 2: below 2/α for α = 0.1, 0.2 and 0.4 (20, 10 and 5), so at each
the sharpness rises to 2/α (progressive sharpening) instead of being catapulted down to it, as at 0.2 and 0.4 from
LeCun's initialisation (sharpness 12). There it stays within ±15 % of 2/α to the end, while the loss keeps
falling (for α = 0.2 and 0.4 with a rise at many steps). Rising fast, at α = 0.4 it first overshoots 2/α (to
1.8 × 2/α) until the instability it causes has grown enough to push it back: the band is checked from where the
sharpness settles.
"""

from __future__ import annotations

import numpy as np
import pytest

from optviz.mnist import load_mnist_subset
from optviz.mnist.fullbatch import edge_of_stability, full_batch
from optviz.scenarios import LESSONS

SETTING = LESSONS["edge_of_stability"].claim.setting
RUNS = SETTING["runs"]   # (α, steps)
BAND = SETTING["band"]


@pytest.fixture(scope="module")
def subset():
    return load_mnist_subset()


@pytest.mark.parametrize("lr, steps", RUNS, ids=[f"lr={lr}" for lr, _ in RUNS])
def test_the_sharpness_rises_to_two_over_alpha_and_stays_within_15_percent(subset, lr, steps):
    network = {key: SETTING[key] for key in ("n", "hidden", "activation", "loss", "init", "seed", "tol")}
    run = full_batch(subset, SETTING["optimizer"], lr=lr, steps=steps, sharpness_every=SETTING["every"], **network)
    run.run_to_end()
    summary = edge_of_stability(run.curvature(), BAND)
    threshold = 2 / lr
    assert summary["catapult_step"] is None                          # it starts below the band around 2/α
    assert summary["initial"] < (1 - BAND) * 2 / max(rate for rate, _ in RUNS)   # below every rate's band
    assert summary["peak"] >= (1 - BAND) * threshold                  # and rises to it,
    assert summary["settled_step"] is not None                       # settles within ±15 % of it
    assert steps - summary["settled_step"] >= steps / 3              # for the last third of the run or more
    assert 1 - BAND <= summary["band_min"] and summary["band_max"] <= 1 + BAND
    loss = np.array([event["loss"] for event in run.history])
    assert loss[-1] < 0.01 * loss[0] and loss[-1] < loss[summary["reached_step"]]   # the loss keeps falling,
    if lr >= 0.2:   # not monotonically: at the edge it rises at many steps
        assert np.sum(np.diff(loss[summary["reached_step"]:]) > 0) > 0.2 * (steps - summary["reached_step"])


def test_the_threshold_is_two_over_alpha_and_a_diverging_run_says_so(subset):
    run = full_batch(subset, "sgd", lr=5.0, n=100, hidden=(16,), steps=200, sharpness_every=5)
    events = list(run)
    assert events[0]["threshold"] == pytest.approx(2 / 5.0)
    assert events[-1].get("diverged") or events[-1]["loss"] > events[0]["loss"]


@pytest.mark.parametrize("kwargs, message", [({"n": 0}, "n must be a whole number from 1"),
                                             ({"n": 20_000}, "n must be a whole number from 1"),
                                             ({"activation": "sigmoid"}, "activation must be one of"),
                                             ({"loss": "hinge"}, "loss must be one of"),
                                             ({"steps": 0}, "steps must be a whole number"),
                                             ({"sharpness_every": 0}, "sharpness_every \\(K\\) must be"),
                                             ({"lr": -0.1}, "lr must be a number in")])
def test_bad_settings_are_refused_in_words(subset, kwargs, message):
    with pytest.raises(ValueError, match=message):
        full_batch(subset, "sgd", **kwargs)


def test_the_summary_separates_a_catapult_an_overshoot_and_the_band():
    def records(ratios):
        return [{"step": 10 * k, "sharpness": r * 10, "threshold": 10.0} for k, r in enumerate(ratios)]

    s = edge_of_stability(records([1.6, 0.9, 0.7, 0.9, 1.3, 1.1, 0.95, 1.05]))
    assert (s["catapult_step"], s["reached_step"], s["settled_step"]) == (10, 10, 50)
    assert s["arrival_peak"] == pytest.approx(1.3) and not s["within_band"]
    assert (s["band_min"], s["band_max"]) == pytest.approx((0.95, 1.1))
    strict = edge_of_stability(records([0.5, 0.8, 0.9, 1.1, 1.0]))
    assert strict["within_band"] and strict["catapult_step"] is None and strict["settled_step"] == 20
    never = edge_of_stability(records([0.5, 0.6, 0.7]))
    assert never["reached_step"] is None and not never["within_band"] and never["peak"] == pytest.approx(7.0)
