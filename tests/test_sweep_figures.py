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


def label_value(text: str) -> float:
    """The number a tick label shows: "0.99", "10<sup>−6</sup>" or "2×10<sup>−4</sup>"."""
    mantissa, _, power = text.replace("−", "-").partition("10<sup>")
    if not power:
        return float(text)
    return float(mantissa.rstrip("×") or 1) * 10.0 ** int(power.removesuffix("</sup>"))


def axis_ticks(axis):
    return list(axis.tickvals), list(axis.ticktext)


@pytest.mark.parametrize("optimizer, param, low, high, labels", [
    ("adam", "lr", None, None, ["10<sup>−6</sup>", "10<sup>−5</sup>", "10<sup>−4</sup>", "0.001", "0.01", "0.1", "1"]),
    ("adam", "beta2", None, None, ["0", "0.9", "0.99", "0.999", "0.9999"]),
    ("adam", "eps", None, None, ["10<sup>−12</sup>", "10<sup>−10</sup>", "10<sup>−8</sup>", "10<sup>−6</sup>",
                                 "10<sup>−4</sup>", "0.01", "1"]),
    ("adam", "lr", 1e-3, 3e-3, ["0.001", "0.0015", "0.002", "0.0025", "0.003"]),
    ("adam", "beta1", 0.8, 0.85, ["0.8", "0.81", "0.82", "0.83", "0.84", "0.85"]),
    ("adam", "weight_decay", None, None, ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
])
def test_heatmap_axes_are_ticked_at_round_values_where_they_fall_between_cells(optimizer, param, low, high, labels):
    values = sweeps.axis_values(optimizer, param, 37, low, high)
    scale = sweeps.axis_scale(optimizer, param)
    fig = figures.heatmap_figure(values, values, np.ones((37, 37)), metric="final_loss", x_title=param,
                                 y_title=param, x_scale=scale, y_scale=scale)
    positions, text = axis_ticks(fig.layout.xaxis)
    assert text == labels and axis_ticks(fig.layout.yaxis) == (positions, text)
    # each label sits where its value falls: between the two cells around it, in the axis's own spacing
    spacing = {"log": np.log10, "decay": lambda v: -np.log10(1 - v), "linear": lambda v: v}[scale]
    expected = np.interp(spacing(np.array([label_value(t) for t in text])), spacing(values), np.arange(37))
    np.testing.assert_allclose(positions, expected, atol=1e-5)
    assert positions[0] >= 0 and positions[-1] <= 36 and np.all(np.diff(positions) > 0)


def test_unevenly_spaced_axes_keep_ticks_at_cells_labelled_with_their_values():
    fig = figures.heatmap_figure([1, 2, 7], [0.1, 0.2, 0.3], np.ones((3, 3)), metric="final_loss", x_title="a",
                                 y_title="b", x_scale="linear", y_scale="linear")
    assert axis_ticks(fig.layout.xaxis) == ([0, 1, 2], ["1", "2", "7"])
    assert axis_ticks(fig.layout.yaxis)[1] == ["0.1", "0.15", "0.2", "0.25", "0.3"]


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


def viridis(fig):
    """The heatmap of values: on the shared colour axis (basins) or with a colour scale of its own (sweeps)."""
    return next(t for t in fig.data if t.type == "heatmap" and (t.coloraxis or len(t.colorscale or ()) > 2))


def test_basins_figure_uses_final_loss_for_a_single_minimum_and_paints_diverged_starts_dark():
    assert optviz.surface("rosenbrock").minima.shape == (1, 2)
    result = sweeps.basins("rosenbrock", "sgd", 20, lr=2e-3, steps=200)
    assert 0 < result.diverged.sum() < result.diverged.size
    fig = figures.basins_figure(result.surface, result.xs, result.ys, loss=result.loss_grid)
    assert fig.layout.coloraxis.colorbar.title.text == "final loss (log₁₀)"
    dark = next(t for t in fig.data if t.name == "diverged")
    np.testing.assert_array_equal(np.isfinite(np.asarray(dark.z, float)), result.diverged)
    np.testing.assert_array_equal(np.isnan(np.asarray(viridis(fig).z, float)), result.diverged)


def test_surfaces_below_zero_keep_their_best_runs_on_the_log_scale():
    """Six-hump camel's minima lie at f* = −1.0316: the runs that reach them have negative final losses, which
    a log scale of the loss itself would drop (they showed as grey "no value" cells)."""
    surface = optviz.surface("six_hump_camel")
    assert figures.minimum_value(surface) == pytest.approx(-1.0316285, abs=1e-6)
    lrs, betas = sweeps.axis_values("adam", "lr", 6), sweeps.axis_values("adam", "beta1", 4)
    result = sweeps.sweep(surface, "adam", "lr", lrs, "beta1", betas)
    loss = result.metric("final_loss")
    assert (loss < 0).any()
    fig = figures.heatmap_figure(lrs, betas, loss, metric="final_loss", x_title="lr", y_title="beta1",
                                 lowest=figures.minimum_value(surface))
    z = np.asarray(viridis(fig).z, float)
    np.testing.assert_array_equal(np.isfinite(z), np.isfinite(loss))
    gap = loss - figures.minimum_value(surface)
    assert np.nanargmin(z) == np.nanargmin(gap)
    assert viridis(fig).colorbar.title.text == "final loss − f*, f* = -1.032 (log₁₀)"
    curves = sweeps.lr_sensitivity(surface, ["adam"], steps=200)
    lrs, values, diverged = curves["adam"]
    shown = np.asarray(figures.sensitivity_figure(curves, lowest=figures.minimum_value(surface)).data[0].y, float)
    assert (values[~diverged] < 0).any()
    np.testing.assert_allclose(shown[~diverged], (values - figures.minimum_value(surface))[~diverged], rtol=1e-6)


def test_losses_below_the_listed_minimum_move_f_star_down_and_none_listed_means_zero():
    assert figures.minimum_value(optviz.surface("saddle_unbounded")) is None
    assert figures.minimum_value(optviz.surface("rosenbrock")) == 0
    fig = figures.heatmap_figure([1, 2], [1], np.array([[-3.0, 1.0]]), metric="final_loss", x_title="a",
                                 y_title="b", lowest=-1.0)
    assert viridis(fig).colorbar.title.text == "final loss − f*, f* = -3 (log₁₀)"
    assert np.isfinite(np.asarray(viridis(fig).z, float)).all()
    fig = figures.heatmap_figure([1, 2], [1], np.array([[2.0, 1.0]]), metric="final_loss", x_title="a", y_title="b")
    np.testing.assert_allclose(np.asarray(viridis(fig).z, float), np.log10([[2.0, 1.0]]), rtol=1e-6)
