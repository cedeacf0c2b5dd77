"""Sweep figures: grids drawn cell for cell, zero losses kept on the log scale, clicks caught, divergence shown."""

import numpy as np
import plotly.graph_objects as go
import pytest

import optviz
from optviz import figures, sweeps


def heatmap_trace(fig):
    return next(t for t in fig.data if t.type == "heatmap" and t.colorscale and len(t.colorscale) > 2)


def test_heatmap_has_one_cell_and_one_click_target_per_configuration():
    grid = np.arange(12, dtype=float).reshape(3, 4) + 1
    fig = figures.heatmap_figure([1, 2, 3, 4], [0.1, 0.2, 0.3], grid, metric="final_loss", x_title="lr",
                                 y_title="beta1")
    go.Figure(fig.to_dict())  # every property valid
    np.testing.assert_allclose(np.asarray(heatmap_trace(fig).z), np.log10(grid), rtol=1e-6)
    clicks = next(t for t in fig.data if t.type == "scattergl")
    assert len(clicks.x) == 12 and set(np.asarray(clicks.y)) == {0, 1, 2}


def test_exact_zero_loss_is_coloured_like_the_smallest_loss_not_dropped():
    grid = np.array([[0.0, 1e-6], [1.0, np.nan]])
    z = np.asarray(heatmap_trace(figures.heatmap_figure([1, 2], [1, 2], grid, metric="final_loss", x_title="a",
                                                         y_title="b")).z)
    assert z[0, 0] == pytest.approx(-6) and np.isnan(z[1, 1])


def test_selected_cell_is_outlined_and_diverged_cells_painted():
    diverged = np.array([[True, False], [False, False]])
    fig = figures.heatmap_figure([1, 2], [1, 2], np.ones((2, 2)), metric="steps_to_tol", x_title="a", y_title="b",
                                 diverged=diverged, selected=(1, 0))
    (rect,) = fig.layout.shapes
    assert (rect.x0, rect.x1, rect.y0, rect.y1) == (-0.5, 0.5, 0.5, 1.5)
    painted = next(t for t in fig.data if t.name == "diverged")
    assert np.isfinite(np.asarray(painted.z)).sum() == 1


def test_heatmap_rejects_mismatched_grids_and_unknown_metrics():
    with pytest.raises(ValueError, match="does not match"):
        figures.heatmap_figure([1, 2], [1], np.ones((2, 2)), metric="final_loss", x_title="a", y_title="b")
    with pytest.raises(ValueError, match="unknown metric"):
        figures.heatmap_figure([1], [1], np.ones((1, 1)), metric="speed", x_title="a", y_title="b")


def test_sensitivity_marks_diverged_rates_apart_from_the_curve():
    curves = sweeps.lr_sensitivity("rosenbrock", ["sgd", "adam"], steps=200)
    fig = figures.sensitivity_figure({name: tuple(curve) for name, curve in curves.items()})
    go.Figure(fig.to_dict())
    line = next(t for t in fig.data if t.name == "sgd")
    crosses = next(t for t in fig.data if t.name == "sgd diverged")
    assert len(crosses.x) == int(curves["sgd"].diverged.sum()) > 0
    assert np.isnan(np.asarray(line.y, float)[curves["sgd"].diverged]).all()


def test_basins_figure_colours_each_start_by_its_minimum():
    result = sweeps.basins("himmelblau", "sgd", 30, lr=0.01, steps=300)
    fig = figures.basins_figure(result.surface, result.xs, result.ys, labels=result.labels)
    go.Figure(fig.to_dict())
    z = np.asarray(fig.data[0].z)
    np.testing.assert_array_equal(z, result.labels + 2)
    assert set(np.unique(result.labels)) >= {0, 1, 2, 3}
    assert any(t.name == "minimum" for t in fig.data)


def test_basins_figure_uses_final_loss_for_a_single_minimum():
    result = sweeps.basins("rosenbrock", "adam", 20, lr=0.05, steps=200)
    fig = figures.basins_figure(result.surface, result.xs, result.ys, loss=result.loss_grid)
    assert fig.data[0].colorbar.title.text == "final loss (log₁₀)"
    assert optviz.surface("rosenbrock").minima.shape == (1, 2)
