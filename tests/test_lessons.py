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


def test_amsgrad_race_adam_never_settles_while_amsgrad_converges():
    _, races = lesson_race("amsgrad")
    late = slice(-100, None)
    adam, amsgrad = races["Adam"], races["AMSGrad"]
    assert np.mean(adam.loss[late]) > 1e-6 > 1e-9 > np.mean(amsgrad.loss[late])
    adam_steps = np.linalg.norm(adam.trace["update"][late], axis=1)
    amsgrad_steps = np.linalg.norm(amsgrad.trace["update"][late], axis=1)
    assert adam_steps.mean() > 1000 * amsgrad_steps.mean()  # Adam keeps stepping; AMSGrad's steps die out


def test_himmelblau_optimizers_end_in_different_minima():
    surface, races = lesson_race("himmelblau")
    ends = {int(surface.nearest_minimum(traj.final)[0]) for traj in races.values()}
    assert len(ends) >= 2


def _dense(path, spacing):
    """The polyline through `path`, sampled every `spacing` at most (as a drawn line covers the gaps)."""
    path = path[np.isfinite(path).all(axis=1)]
    segments = np.diff(path, axis=0)
    counts = np.maximum(1, np.ceil(np.linalg.norm(segments, axis=1) / spacing).astype(int))
    return np.concatenate([path[:1]] + [start + step * np.arange(1, n + 1)[:, None] / n
                                        for start, step, n in zip(path, segments, counts)])


def visible_share(surface, paths: list, index: int, width: float = 0.01) -> float:
    """The share of path `index` (within the window) that lies farther than `width` (a fraction of the window)
    from every path drawn after it: paths are drawn in order, the last on top."""
    x0, x1, y0, y1 = surface.window
    scale = np.array([x1 - x0, y1 - y0])
    spacing = width / 4
    mine = _dense(paths[index], spacing * scale.max()) / scale
    mine = mine[((mine >= (x0, y0) / scale) & (mine <= (x1, y1) / scale)).all(axis=1)]
    later = [_dense(p, spacing * scale.max()) / scale for p in paths[index + 1:]]
    if not later:
        return 1.0
    later = np.concatenate(later)
    nearest = np.full(len(mine), np.inf)
    for chunk in range(0, len(later), 2000):
        gaps = np.linalg.norm(mine[:, None, :] - later[None, chunk:chunk + 2000, :], axis=2)
        nearest = np.minimum(nearest, gaps.min(axis=1))
    return float(np.mean(nearest > width))


@pytest.mark.parametrize("key", list(LESSONS))
def test_the_optimizer_a_lesson_is_about_is_drawn_last_and_every_path_shows(key):
    surface, races = lesson_race(key)
    labels = list(races)
    if LESSONS[key].focus is not None:
        assert labels[-1] == LESSONS[key].focus  # drawn on top
    paths = [traj.path for traj in races.values()]
    for index, label in enumerate(labels):
        assert visible_share(surface, paths, index) > 0.05, f"{label}'s path hides under the later ones"


@pytest.mark.parametrize("key", list(LESSONS))
def test_every_path_of_a_lesson_stays_on_its_map_clear_of_the_edge(key):
    """A projector shows the whole race: no point of any path leaves the map or sits on its edge, where the viewer
    clips the path and half its dot (the rotated valley's AdaGrad at α = 1 went to y = 3 on a map that ends at 3)."""
    surface, races = lesson_race(key)
    x0, x1, y0, y1 = surface.window
    for label, traj in races.items():
        x, y = np.asarray(traj.path).T
        clearance = np.minimum.reduce([(x - x0) / (x1 - x0), (x1 - x) / (x1 - x0), (y - y0) / (y1 - y0),
                                       (y1 - y) / (y1 - y0)])
        assert clearance.min() >= 0.02, f"{label} comes within {clearance.min():.1%} of the map's edge"


def test_visible_share_sees_a_path_hidden_under_a_later_one():
    surface, races = lesson_race("conditioning")
    path = races["Adam"].path
    assert visible_share(surface, [path, path + 1e-4], 0) == 0.0
    assert visible_share(surface, [path + 0.5, path], 0) > 0.9
