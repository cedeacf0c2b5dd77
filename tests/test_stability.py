"""The analytic stability boundary of gradient descent and heavy-ball momentum, against what the sweeps measure."""

import numpy as np
import plotly.graph_objects as go
import pytest

import optviz
from optviz import figures, sweeps
from optviz.figures.sweeps import _as_index
from optviz.stability import boundary_curve, curvatures, lr_limit

QUADRATIC = optviz.surface("quadratic", condition=25.0, angle=30.0)


def heavy_ball_spectral_radius(lr, mu, lam):
    """Largest |root| of the heavy-ball recursion on one eigen-direction, from its 2×2 companion matrix."""
    matrix = np.array([[1 + mu - lr * lam, -mu], [1.0, 0.0]])
    return np.abs(np.linalg.eigvals(matrix)).max()


def test_gradient_descent_limit_is_two_over_the_largest_curvature():
    assert curvatures(QUADRATIC) == pytest.approx([1 / 25, 1.0])
    assert lr_limit(QUADRATIC, "sgd") == pytest.approx(2.0)
    assert lr_limit(QUADRATIC, "sgd", weight_decay=0.5) == pytest.approx(2 / 1.5)  # decay adds to every λ
    least_squares = optviz.surface("linear_regression", standardize=False)
    assert lr_limit(least_squares, "sgd") == pytest.approx(2 / np.linalg.eigvalsh(least_squares.hessian()).max())


def test_momentum_limit_agrees_with_the_spectral_radius_of_the_recursion():
    rng = np.random.default_rng(0)
    for mu, lam in zip(rng.uniform(0, 0.99, 200), rng.uniform(0.1, 5, 200)):
        surf = optviz.surface("quadratic", condition=1.0 / lam if lam < 1 else lam, angle=0.0)
        limit = lr_limit(surf, "momentum", momentum=mu)
        top = curvatures(surf).max()
        assert heavy_ball_spectral_radius(0.99 * limit, mu, top) < 1 < heavy_ball_spectral_radius(1.01 * limit, mu, top)


def test_momentum_limit_handles_dampening_and_the_ends_of_its_range():
    limits = lr_limit(QUADRATIC, "momentum", momentum=np.array([0.0, 0.5, 0.9, 1.0]))
    np.testing.assert_allclose(limits, [2.0, 3.0, 3.8, np.nan])  # μ = 1 is never stable
    assert lr_limit(QUADRATIC, "momentum", momentum=0.5, dampening=0.5) == pytest.approx(6.0)
    assert lr_limit(QUADRATIC, "momentum", momentum=0.0, dampening=0.5) == pytest.approx(2.0)  # torch: no velocity


@pytest.mark.parametrize("surf, optimizer", [
    (optviz.surface("rosenbrock"), "sgd"),                              # curvature changes from point to point
    (optviz.surface("linear_regression", batch_size=10), "sgd"),        # every mini-batch has its own Hessian
    (QUADRATIC, "adam"),                                                 # no closed form here
    (QUADRATIC, "nesterov"),
])
def test_no_limit_where_the_theory_does_not_apply(surf, optimizer):
    assert lr_limit(surf, optimizer) is None


def agreement(result, limits):
    """Cells away from the boundary (more than 5% in α): the share where measured divergence matches theory,
    and how many cells were compared."""
    lr = np.broadcast_to(result.x_values, result.shape)
    ratio = lr / limits
    clear = np.abs(ratio - 1) > 0.05
    predicted = ratio > 1
    return float((result.diverged[clear] == predicted[clear]).mean()), int(clear.sum())


def test_measured_divergence_of_a_momentum_sweep_matches_the_boundary():
    lrs, mus = np.geomspace(0.05, 20, 40), sweeps.axis_values("momentum", "momentum", 25)
    result = sweeps.sweep(QUADRATIC, "momentum", "lr", lrs, "momentum", mus, steps=500)
    limits = lr_limit(QUADRATIC, "momentum", momentum=result.y_values)[:, None]
    share, compared = agreement(result, limits)
    assert share == 1.0 and compared > 0.9 * result.diverged.size
    assert 0.2 < result.diverged.mean() < 0.8  # both sides of the boundary are on the grid


@pytest.mark.parametrize("surf", [optviz.surface("noisy_quadratic", condition=10.0, noise=0.3),
                                  optviz.surface("linear_regression", standardize=False)])
def test_measured_divergence_of_gradient_descent_matches_two_over_lambda_max(surf):
    limit = lr_limit(surf, "sgd")
    lrs = np.geomspace(limit / 20, limit * 20, 60)
    result = sweeps.sweep(surf, "sgd", "lr", lrs, "weight_decay", np.array([0.0]), steps=500)
    share, compared = agreement(result, np.array(limit))
    assert share == 1.0 and compared >= 55


def test_boundary_curve_follows_the_other_axis_and_is_none_without_a_learning_rate_axis():
    lrs, mus = sweeps.axis_values("momentum", "lr", 50), sweeps.axis_values("momentum", "momentum", 50)
    x, y = boundary_curve(QUADRATIC, "momentum", "lr", lrs, "momentum", mus, {"dampening": 0.0})
    assert y.min() == pytest.approx(mus.min()) and y.max() == pytest.approx(mus.max())
    np.testing.assert_allclose(x, 2 * (1 + y))
    swapped = boundary_curve(QUADRATIC, "momentum", "momentum", mus, "lr", lrs, {"dampening": 0.0})
    np.testing.assert_allclose(swapped[1], 2 * (1 + swapped[0]))
    assert boundary_curve(QUADRATIC, "momentum", "momentum", mus, "dampening", mus, {}) is None


@pytest.mark.parametrize("scale, values", [("log", np.geomspace(1e-3, 10, 30)),
                                            ("decay", 1 - np.geomspace(1, 1e-3, 30)),
                                            ("linear", np.linspace(0, 1, 30))])
def test_hyperparameter_values_map_onto_the_heatmaps_cell_indices(scale, values):
    np.testing.assert_allclose(_as_index(values, values, scale), np.arange(30), atol=1e-9)


def test_heatmap_and_sensitivity_chart_draw_the_theory():
    lrs, mus = sweeps.axis_values("momentum", "lr", 20), sweeps.axis_values("momentum", "momentum", 20)
    curve = boundary_curve(QUADRATIC, "momentum", "lr", lrs, "momentum", mus, {"dampening": 0.0})
    fig = figures.heatmap_figure(lrs, mus, np.ones((20, 20)), metric="final_loss", x_title="lr", y_title="momentum",
                                 x_scale="log", y_scale="decay", boundary=curve, boundary_name="theory")
    go.Figure(fig.to_dict())
    line = next(t for t in fig.data if t.name == "theory")
    lr_at_zero = 2.0  # μ = 0: the limit is GD's
    assert line.x[0] == pytest.approx(_as_index(np.array([lr_at_zero]), lrs, "log")[0], rel=1e-5)
    curves = {"SGD": (lrs, np.ones(20), lrs > 2)}
    fig = figures.sensitivity_figure(curves, limits={"2/λ_max": 2.0})
    go.Figure(fig.to_dict())
    assert list(next(t for t in fig.data if t.name == "2/λ_max").x) == [2.0, 2.0]
