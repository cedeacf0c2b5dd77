"""The learning-rate range test: the rate rises exponentially from lr_min to lr_max, one batch a step, the pass stops
when the smoothed loss shoots up, the suggestion follows its stated rule, and the short grid's best is its lowest
loss. On 2,000 digits of the shipped subset and a small MLP, so it runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from optviz.mnist import load_mnist_subset
from optviz.mnist.lr_range import lr_range_test, smooth


@pytest.fixture(scope="module")
def data():
    return load_mnist_subset().subset(2000, 500)


@pytest.fixture(scope="module")
def sgd_test(data):
    return lr_range_test(data, "sgd", hidden=(32,), lr_min=1e-4, lr_max=30.0, steps=120, grid=4, grid_steps=60,
                         stop_factor=1.5)


def test_the_rate_rises_exponentially_from_lr_min(sgd_test):
    lrs = sgd_test.lrs
    assert lrs[0] == pytest.approx(1e-4)
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, (30.0 / 1e-4) ** (1 / 119), rtol=1e-9)


def test_the_pass_stops_once_the_loss_shoots_up(sgd_test):
    assert sgd_test.stopped_early and len(sgd_test.lrs) < 120
    assert sgd_test.smoothed[-1] > 1.5 * sgd_test.smoothed.min()
    assert np.all(sgd_test.smoothed[:-1] <= 1.5 * np.minimum.accumulate(sgd_test.smoothed)[:-1])


def test_the_smoothed_loss_is_the_bias_corrected_average():
    losses = np.array([3.0, 1.0, 2.0])
    beta = 0.5
    a1 = 0.5 * 3.0
    a2 = 0.5 * a1 + 0.5 * 1.0
    a3 = 0.5 * a2 + 0.5 * 2.0
    np.testing.assert_allclose(smooth(losses, beta), [a1 / 0.5, a2 / 0.75, a3 / 0.875])


def test_the_suggestion_is_a_tenth_of_the_minimum_and_says_so(sgd_test):
    best = int(np.nanargmin(sgd_test.smoothed))
    assert sgd_test.minimum_lr == pytest.approx(sgd_test.lrs[best])
    assert sgd_test.suggestion == pytest.approx(sgd_test.minimum_lr / 10)
    assert "minimum ÷ 10" in sgd_test.rule
    assert sgd_test.lrs[0] < sgd_test.steepest_lr <= sgd_test.minimum_lr


def test_the_steepest_rule_suggests_the_steepest_fall(data):
    result = lr_range_test(data, "adam", hidden=(32,), lr_min=1e-5, lr_max=1.0, steps=60, rule="steepest")
    assert result.suggestion == result.steepest_lr and "steepest" in result.rule


def test_the_grid_is_log_spaced_and_its_best_has_the_lowest_loss(sgd_test):
    np.testing.assert_allclose(sgd_test.grid_lrs, np.geomspace(1e-4, 30.0, 4))
    finite = np.isfinite(sgd_test.grid_losses)
    assert finite.any()
    assert sgd_test.best_grid_lr == sgd_test.grid_lrs[np.nanargmin(np.where(finite, sgd_test.grid_losses, np.nan))]
    assert sgd_test.grid_losses[-1] > sgd_test.grid_losses.min()   # α = 30 is far too large


def test_the_result_is_plain_json_with_a_diverged_loss_as_null(sgd_test):
    import dataclasses
    import json
    diverged = dataclasses.replace(sgd_test, grid_losses=np.array([1.0, np.inf, 0.5, np.nan]))
    text = json.dumps(diverged.as_dict())
    assert '"suggestion"' in text and '"rule"' in text
    assert json.loads(text)["grid"]["losses"] == [1.0, None, 0.5, None]


@pytest.mark.parametrize("kwargs, message", [
    ({"lr_min": 1.0, "lr_max": 0.1}, "0 < lr_min < lr_max"),
    ({"lr_min": 0.0}, "0 < lr_min < lr_max"),
    ({"steps": 5}, "steps must be a whole number from 10"),
    ({"grid": 1}, "grid takes 0"),
    ({"rule": "magic"}, "rule must be one of"),
    ({"lr": 0.1}, "sets the learning rate itself"),
    ({"momentum": 2.0}, "momentum must be a number in"),
])
def test_bad_settings_are_refused_in_words(data, kwargs, message):
    name = "momentum" if "momentum" in kwargs else "sgd"
    with pytest.raises(ValueError, match=message):
        lr_range_test(data, name, hidden=(8,), **kwargs)
