"""The data panel of a race on a data surface: the scatter, and each optimizer's line at every step."""

import json

import numpy as np
import pytest

import optviz
from optviz.figures.data_panel import clip_line, data_panel

WINDOW = (0.0, 4.0, -1.0, 1.0)


def segments(panel, k):
    return np.array([np.nan if v is None else v for v in panel["lines"][k]], dtype=float).reshape(-1, 4)


def on_edge(points, window, tol=1e-3):
    x0, x1, y0, y1 = window
    x, y = points[:, 0], points[:, 1]
    return (np.abs(x - x0) < tol) | (np.abs(x - x1) < tol) | (np.abs(y - y0) < tol) | (np.abs(y - y1) < tol)


def test_linear_regression_panel_has_the_data_and_each_fit_line_per_step_in_race_order():
    entries = [optviz.Entry("sgd", {"lr": 0.05}, label="one example", surface_params={"batch_size": 1}),
               optviz.Entry("adam", {"lr": 0.05}, label="Adam")]
    races = optviz.race("linear_regression", entries, steps=60)
    panel = data_panel(races)
    json.dumps(panel, allow_nan=False)  # plain JSON: no NaN, no NumPy types
    assert panel["x_label"] == "petal length (standardised)" and panel["y_label"] == "petal width (cm)"
    assert len(panel["points"]["x"]) == len(panel["points"]["y"]) == 150 and panel["points"]["cls"] is None
    assert [len(line) for line in panel["lines"]] == [61 * 4, 61 * 4]
    assert panel["epochs_per_step"] == [1 / 150, 1.0]
    x0, x1, y0, y1 = panel["window"]
    assert x0 < min(panel["points"]["x"]) and max(panel["points"]["y"]) < y1
    for k, traj in enumerate(races.values()):
        seg = segments(panel, k)
        w, b = traj.path[:, 0:1], traj.path[:, 1:2]
        ends = seg.reshape(-1, 2, 2)
        np.testing.assert_allclose(ends[..., 1], w * ends[..., 0] + b, atol=2e-3)  # on the fit ŷ = w·x + b
        assert ((ends[..., 0] >= x0 - 1e-3) & (ends[..., 0] <= x1 + 1e-3)).all()
        assert ((ends[..., 1] >= y0 - 1e-3) & (ends[..., 1] <= y1 + 1e-3)).all()
        assert on_edge(ends.reshape(-1, 2), panel["window"]).all()  # clipped, not shortened


def test_logistic_panel_draws_the_decision_boundary_through_the_centred_data():
    races = optviz.race("logistic_regression", ["sgd"], steps=40, hparams={"sgd": {"lr": 0.5}})
    panel = data_panel(races)
    assert sorted(set(panel["points"]["cls"])) == [0, 1] and panel["class_names"] == ["versicolor", "virginica"]
    ends = segments(panel, 0).reshape(-1, 2, 2)
    w = races["sgd"].path
    residual = w[:, None, 0] * ends[..., 0] + w[:, None, 1] * ends[..., 1]
    assert np.abs(residual).max() < 1e-2 * np.abs(w).max()


def test_a_diverged_run_has_no_line_after_it_diverged():
    races = optviz.race("linear_regression", ["sgd"], steps=40, hparams={"sgd": {"lr": 5.0}})
    at = races["sgd"].diverged_at
    assert at is not None
    lines = data_panel(races)["lines"][0]
    assert all(v is None for v in lines[4 * at:]) and all(v is not None for v in lines[:4])


def test_surfaces_without_data_have_no_panel():
    assert data_panel(optviz.race("rosenbrock", ["adam"], steps=3)) is None


@pytest.mark.parametrize("a, b, c, expected", [
    (0.0, 1.0, 0.5, [0.0, 0.5, 4.0, 0.5]),     # horizontal y = 0.5
    (1.0, 0.0, 3.0, [3.0, -1.0, 3.0, 1.0]),    # vertical x = 3
    (1.0, -1.0, 1.5, [0.5, -1.0, 2.5, 1.0]),    # y = x − 1.5 enters at the bottom, leaves at the top
    (2.0, -1.0, 0.5, [0.0, -0.5, 0.75, 1.0]),   # y = 2x − 0.5: from the left side to the top
    (0.0, 1.0, 2.0, [np.nan] * 4),             # y = 2 misses the window
    (0.0, 0.0, 0.0, [np.nan] * 4),             # no line at all
    (np.nan, 1.0, 0.0, [np.nan] * 4),          # a diverged run
])
def test_clip_line_keeps_the_part_inside_the_window(a, b, c, expected):
    np.testing.assert_allclose(clip_line(np.array(a), np.array(b), np.array(c), WINDOW), expected, atol=1e-12)
