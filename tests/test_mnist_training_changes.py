"""Mid-training: the sharpness measured every K steps while training, hyperparameters and the batch size changed
between steps (recorded, and the threshold follows), and the per-layer gauges of Adam's steps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optviz.mnist import load_mnist_subset, train
from optviz.mnist.curvature import SharpnessSettings
from optviz.mnist.fullbatch import full_batch

SHARP = SharpnessSettings(every=20, digits=64, iterations=8)


@pytest.fixture(scope="module")
def data():
    return load_mnist_subset().subset(1280, 200)


def run_with_change(data, name, at_step, batch_size=64, **change):
    run = train(data, name, hidden=(32,), epochs=1, batch_size=batch_size, eval_every=5, sharpness=SHARP,
                lr=0.05 if name != "adam" else 1e-3)
    events = []
    for event in run:
        events.append(event)
        if event["step"] == at_step:
            run.change(**change)
    return run, events


def test_the_sharpness_is_measured_every_k_steps_from_step_0_and_not_counted_as_training(data):
    run, events = run_with_change(data, "sgd", at_step=-1)
    measured = [r for e in events for r in e.get("curvature", ())]
    assert [r["step"] for r in measured] == list(range(0, run.step + 1, 20))
    assert all(r["sharpness"] > 0 and r["threshold"] == pytest.approx(2 / 0.05) for r in measured)
    assert events[-1]["curvature_seconds"] == pytest.approx(sum(r["seconds"] for r in measured))
    assert run.curvature() == measured


def test_adam_is_measured_preconditioned_against_38_over_alpha(data):
    run, _ = run_with_change(data, "adam", at_step=-1)
    first, *later = run.curvature()
    assert first["sharpness"] is None   # no preconditioner before the first step
    assert all(r["preconditioned"] and r["sharpness"] > 0 for r in later)
    assert later[0]["threshold"] == pytest.approx(38 / 1e-3)


def test_a_new_learning_rate_applies_from_the_next_step_and_moves_the_threshold(data):
    run, events = run_with_change(data, "sgd", at_step=10, lr=0.2)
    assert run.changes == [{"step": 10, "samples": 640, "hparams": {"lr": 0.2}, "batch_size": None}]
    assert [e["lr"] for e in events if e["step"] <= 10] == [0.05] * 2
    assert all(e["lr"] == 0.2 for e in events if e["step"] > 10)
    assert any(e.get("change") for e in events if e["step"] > 10)
    thresholds = {r["step"]: r["threshold"] for r in run.curvature()}
    assert thresholds[0] == pytest.approx(40) and thresholds[20] == pytest.approx(10)


def test_a_changed_step_is_the_rule_at_the_new_rate():
    """After the change, one step moves the weights by exactly −α_new·g (SGD)."""
    data = load_mnist_subset().subset(256, 50)
    run = train(data, "sgd", hidden=(8,), epochs=1, batch_size=32, eval_every=1, lr=0.05)
    next(run)
    run.change(lr=0.3)
    before = run.model.flat.copy()
    x, y = run._x[:32], run._y[:32]
    run.model.loss_and_grad(x, y)
    run._apply_change()
    run._optimizer_step(run.step + 1)
    np.testing.assert_allclose(run.model.flat, before - np.float32(0.3) * run.model.flat_grad, rtol=1e-6)


def test_a_new_batch_size_applies_from_the_next_step(data):
    run = train(data, "momentum", hidden=(32,), epochs=2, batch_size=64, eval_every=1, lr=0.05)
    events = []
    for event in run:
        events.append(event)
        if event["step"] == 5:
            run.change(batch_size=128, momentum=0.5)
    samples = np.diff([e["samples"] for e in events])
    # 5 steps of 64, then 128 a step: the first epoch's 960 digits left end on a batch of 64
    assert list(samples[:4]) == [64] * 4 and list(samples[4:12]) == [128] * 7 + [64]
    assert set(samples[12:]) == {128}
    assert run.optimizer.hparams["momentum"] == 0.5 and run.state.step == run.step
    assert events[-1]["samples"] == 2 * 1280 and events[-1]["epoch_end"]


@pytest.mark.parametrize("change, message", [({"lr": -1.0}, "lr must be a number in"),
                                             ({"momentum": 1.5}, "momentum must be a number in"),
                                             ({"batch_size": 0}, "batch size must be a whole number from 1"),
                                             ({"batch_size": 10**6}, "batch size must be a whole number from 1")])
def test_a_bad_change_is_refused_in_words_and_changes_nothing(data, change, message):
    run = train(data, "momentum", hidden=(8,), epochs=1, lr=0.05)
    with pytest.raises(ValueError, match=message):
        run.change(**change)
    assert run._pending_change is None


def test_a_switch_that_changes_the_state_cannot_change_mid_training(data):
    run = train(data, "adamw", hidden=(8,), epochs=1)
    with pytest.raises(ValueError, match="cannot change mid-training"):
        run.change(amsgrad=True)


def test_full_batch_runs_take_changes_too_and_refuse_a_batch_size(data):
    run = full_batch(data, "sgd", lr=0.1, n=64, hidden=(8,), steps=30, sharpness_every=10)
    for event in run:
        if event["step"] == 12:
            run.change(lr=0.3)
    assert run.changes == [{"step": 13, "hparams": {"lr": 0.3}, "batch_size": None}]
    assert [r["threshold"] for r in run.curvature()] == pytest.approx([20, 20, 2 / 0.3])
    with pytest.raises(ValueError, match="no batch size"):
        run.change(batch_size=32)


def test_the_gauges_are_the_steps_own_numbers(data):
    run = train(data, "adam", hidden=(16,), epochs=1, batch_size=64, stats_every=4, eval_every=1, lr=1e-3)
    before, event = None, None
    while run.step < 4:
        if run.step == 3:
            before = [p.copy() for p in run.model.params]
        event = next(run)
    layers = event["layers"]
    assert set(layers) == {"W1", "b1", "W2", "b2"} and layers["W1"]["step"] == 4
    for name, old, new in zip(run.model.names, before, run.model.params):
        assert layers[name]["update_ratio"] == pytest.approx(np.linalg.norm(new - old) / np.linalg.norm(old),
                                                             rel=1e-4)
        assert 0 <= layers[name]["sign_share"] <= 1
    # a bias whose gradient keeps its sign: after 4 steps |m̂|/√v̂ is near 1 for most of b2's 10 coordinates
    m, v = run.states[3].m.astype(float), run.states[3].v.astype(float)
    bc1, bc2 = 1 - 0.9 ** 4, 1 - 0.999 ** 4
    expected = np.mean(np.abs(m / bc1) / np.sqrt(v / bc2) >= 0.9)
    assert layers["b2"]["sign_share"] == pytest.approx(expected)
    assert math.isnan(run.layer_stats()["W1"]["sign_share"][0])
