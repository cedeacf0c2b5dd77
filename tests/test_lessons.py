"""Guided lessons: each loads like a link, and the race shows what its text tells the class to watch."""

import numpy as np
import pytest

import optviz
from optviz.counterexample import reddi_run
from optviz.scenarios import LESSONS
from optviz.ui.settings import from_query


def lesson_race(key):
    settings, warnings = from_query(LESSONS[key].query)
    assert warnings == []
    entries = [e.to_entry(label) for e, label in zip(settings.entries, settings.labels())]
    surface = optviz.surface(settings.surface, **settings.surface_params)
    return surface, optviz.race(surface, entries, start=settings.start, steps=settings.steps)


def distance_to_minimum(surface, point):
    return surface.nearest_minimum(np.asarray(point))[1]


def test_there_are_at_least_ten_lessons_each_with_text():
    assert len(LESSONS) >= 10
    for lesson in LESSONS.values():
        assert lesson.watch and lesson.why and lesson.title


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_lesson_loads_without_warnings_and_runs_without_divergence(key):
    _, races = lesson_race(key)
    assert all(traj.diverged_at is None for traj in races.values())


def test_valley_sgd_crawls_while_adam_arrives():
    _, races = lesson_race("valley")
    assert races["Adam"].final_loss < 1e-3 < races["SGD"].final_loss
    assert races["SGD with momentum"].final_loss < races["SGD"].final_loss


def test_saddle_sgd_stalls_while_momentum_and_adam_escape():
    surface, races = lesson_race("saddle")
    assert np.abs(races["SGD"].final).max() < 0.1  # still at the saddle
    for label in ["SGD with momentum", "Adam"]:
        assert distance_to_minimum(surface, races[label].final) < 0.05


def test_momentum_overshoots_and_nesterov_overshoots_less():
    _, races = lesson_race("nesterov")
    overshoot = {label: np.max(traj.path[:, 0]) for label, traj in races.items()}  # started at x = -2.5 < 0
    assert overshoot["SGD with momentum"] > 0.5
    assert overshoot["Nesterov momentum"] < overshoot["SGD with momentum"]
    assert overshoot["SGD"] < 0.05


def test_adagrad_steps_shrink_while_rmsprop_keeps_its_pace():
    _, races = lesson_race("adagrad")
    step = {label: np.linalg.norm(traj.trace["update"], axis=1) for label, traj in races.items()}
    assert step["AdaGrad"][-100:].mean() < 0.1 * step["AdaGrad"][:100].mean()
    assert races["RMSProp"].final_loss < races["AdaGrad"].final_loss


def test_bias_correction_first_step_is_lr_and_uncorrected_is_larger():
    _, races = lesson_race("bias")
    corrected = np.abs(np.diff(races["Adam (bias-corrected)"].path[:2], axis=0))
    uncorrected = np.abs(np.diff(races["Adam, no bias correction"].path[:2], axis=0))
    np.testing.assert_allclose(corrected, 0.02, rtol=1e-6)
    assert (uncorrected > 2.5 * corrected).all()


def test_small_beta2_keeps_adam_jumpy_and_large_epsilon_makes_it_sgd_like():
    _, races = lesson_race("epsilon")
    late = slice(-200, None)
    size = {label: np.linalg.norm(traj.trace["update"][late], axis=1).mean() for label, traj in races.items()}
    assert size["Adam β₂=0.9 ε=0"] > 5 * max(size["Adam (defaults)"], size["Adam ε=100, α=1"])
    # once the gradient is small, α·m̂/(√v̂ + ε) is within 5% of (α/ε)·m̂: SGD with momentum at rate α/ε
    sgd_like = races["Adam ε=100, α=1"].trace
    ratio = sgd_like["effective_step"][late] / (0.01 * sgd_like["m_hat"][late])
    assert np.all((ratio > 0.95) & (ratio <= 1.0))


def test_ill_conditioned_sgd_zigzags_and_adam_goes_straight():
    _, races = lesson_race("conditioning")
    # the stiff direction is x (φ = 0): count the reversals of the step across the valley
    flips = {label: int(np.sum(np.diff(np.sign(traj.trace["update"][:, 0])) != 0)) for label, traj in races.items()}
    assert flips["SGD"] > 100 and flips["Adam"] < 20


def test_noise_smaller_steps_stay_closer_and_momentum_smooths_them():
    surface, races = lesson_race("noise")
    late = slice(-500, None)
    spread = {label: distance_to_minimum(surface, traj.path[late]).mean() for label, traj in races.items()}
    step = {label: np.linalg.norm(traj.trace["update"][late], axis=1).mean() for label, traj in races.items()}
    assert spread["SGD α=0.02"] < 0.7 * spread["SGD"]
    assert abs(spread["SGD with momentum"] - spread["SGD"]) < 0.2 * spread["SGD"]
    assert step["SGD with momentum"] < step["SGD"] / 3
    assert step["Adam"] > 0.1 * 0.05


def test_counterexample_adam_goes_to_plus_one_and_amsgrad_to_minus_one():
    adam, amsgrad = reddi_run("adam"), reddi_run("amsgrad")
    assert adam.x[-500:].min() > 0.9 and amsgrad.x[-500:].max() < -0.9
    assert adam.regret[-1] > 0.5 > 0.05 > amsgrad.regret[-1]


def test_himmelblau_optimizers_end_in_different_minima():
    surface, races = lesson_race("himmelblau")
    ends = {int(surface.nearest_minimum(traj.final)[0]) for traj in races.values()}
    assert len(ends) >= 2
