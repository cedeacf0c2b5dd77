"""Framework defaults: Keras's documented values, applied through optviz's one implementation of each rule, give
the updates of Keras's documented algorithm; the PyTorch entry is torch's defaults plus a stated SGD rate.

The references below are plain-Python recursions written from keras/src/optimizers/<name>.py (Keras 3), one
scalar at a time, in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optviz.mnist.defaults import FRAMEWORKS, framework_hparams, offered
from optviz.optimizers import SPECS, optimizer

STEPS, SIZE = 60, 5


def gradient(theta: list[float]) -> list[float]:
    """The gradient of a non-convex function (Σ θ⁴/4 − θ² + cᵢθ), so each trajectory feeds back on itself."""
    return [x ** 3 - 2 * x + 0.3 * (i + 1) for i, x in enumerate(theta)]


def keras_adadelta(theta, lr, rho, epsilon):
    acc_g, acc_d = [0.0] * len(theta), [0.0] * len(theta)
    for _ in range(STEPS):
        for i, g in enumerate(gradient(theta)):
            acc_g[i] = rho * acc_g[i] + (1 - rho) * g * g
            delta = -math.sqrt(acc_d[i] + epsilon) * g / math.sqrt(acc_g[i] + epsilon)
            acc_d[i] = rho * acc_d[i] + (1 - rho) * delta * delta
            theta[i] += lr * delta
    return theta


def keras_adagrad(theta, lr, initial_accumulator_value, epsilon):
    acc = [initial_accumulator_value] * len(theta)
    for _ in range(STEPS):
        for i, g in enumerate(gradient(theta)):
            acc[i] += g * g
            theta[i] -= lr * g / math.sqrt(acc[i] + epsilon)
    return theta


def keras_adam(theta, lr, beta_1, beta_2, epsilon):
    m, v = [0.0] * len(theta), [0.0] * len(theta)
    for t in range(1, STEPS + 1):
        alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        for i, g in enumerate(gradient(theta)):
            m[i] += (g - m[i]) * (1 - beta_1)
            v[i] += (g * g - v[i]) * (1 - beta_2)
            theta[i] -= m[i] * alpha / (math.sqrt(v[i]) + epsilon)
    return theta


def keras_rmsprop(theta, lr, rho, epsilon):
    v = [0.0] * len(theta)
    for _ in range(STEPS):
        for i, g in enumerate(gradient(theta)):
            v[i] = rho * v[i] + (1 - rho) * g * g
            theta[i] -= lr * g / math.sqrt(v[i] + epsilon)
    return theta


def keras_sgd(theta, lr):
    for _ in range(STEPS):
        for i, g in enumerate(gradient(theta)):
            theta[i] -= lr * g
    return theta


# Keras's documented defaults (keras.io/api/optimizers; keras/src/optimizers/*.py signatures), in Keras's names
KERAS = {
    "adadelta": (keras_adadelta, dict(lr=0.001, rho=0.95, epsilon=1e-7)),
    "adagrad": (keras_adagrad, dict(lr=0.001, initial_accumulator_value=0.1, epsilon=1e-7)),
    "adam": (keras_adam, dict(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)),
    "rmsprop": (keras_rmsprop, dict(lr=0.001, rho=0.9, epsilon=1e-7)),
    "sgd": (keras_sgd, dict(lr=0.01)),
}


def optviz_trajectory(name: str, hparams: dict, start: np.ndarray) -> np.ndarray:
    opt = optimizer(name, **hparams)
    theta = start.copy()
    state = opt.init(theta)
    for _ in range(STEPS):
        theta, state = opt.step_(theta, np.array(gradient(theta.tolist())), state)
    return theta


@pytest.mark.parametrize("name", list(KERAS))
def test_keras_preset_updates_follow_kerass_documented_algorithm(name):
    start = np.linspace(-1.5, 2.0, SIZE)
    reference, keras_defaults = KERAS[name]
    expected = reference(start.tolist(), **keras_defaults)
    hparams, unsupported = framework_hparams("keras", name)
    assert not unsupported
    actual = optviz_trajectory(name, hparams, start)
    assert np.abs(actual - start).max() > 1e-5   # it moved (Adadelta at lr 1e-3 barely): not trivially equal
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-14)


def test_the_classic_five_all_have_keras_values():
    assert sorted(offered("keras")) == sorted(KERAS)
    for name, (_, keras_defaults) in KERAS.items():
        hparams, _ = framework_hparams("keras", name)
        assert hparams["lr"] == keras_defaults["lr"]
        if "epsilon" in keras_defaults:
            assert hparams["eps"] == keras_defaults["epsilon"] == 1e-7


def test_pytorch_entry_is_optviz_defaults_with_a_stated_sgd_rate_and_muons_rate_scaling():
    for name in offered("pytorch"):
        hparams, unsupported = framework_hparams("pytorch", name)
        stated = {"sgd": {"lr": 0.01}, "muon": {"adjust_lr_fn": "match_rms_adamw"}}.get(name, {})
        assert hparams == {**SPECS[name].defaults, **stated} and not unsupported
    assert "no default learning rate" in FRAMEWORKS["pytorch"].notes["sgd"]
    assert "reuse AdamW's learning rate" in FRAMEWORKS["pytorch"].notes["muon"]


def test_an_unknown_framework_is_refused_in_words():
    with pytest.raises(ValueError, match="framework must be one of pytorch, keras"):
        framework_hparams("jax", "adam")
