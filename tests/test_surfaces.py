"""Surfaces: analytic gradients agree with finite differences, listed minima and saddles are stationary and
where the mathematics puts them; Newton's method and the Hessian test (optviz.stationary) on their own."""

import numpy as np
import pytest

from optviz.stationary import classify, hessians, newton
from optviz.surfaces import SPECS, surface

NAMES = list(SPECS)
# Non-default parameters, to check that every parameter reaches both the value and the gradient.
VARIANTS = {
    "rosenbrock": {"a": -0.7, "b": 30.0},
    "quadratic": {"condition": 80.0, "angle": 35.0},
    "noisy_quadratic": {"condition": 3.0, "angle": -60.0, "noise": 1.0, "seed": 7},
    "rastrigin": {"amplitude": 3.0},
    "linear_regression": {"standardize": False, "batch_size": 7, "seed": 3},
    "logistic_regression": {"standardize": False, "l2": 0.3, "batch_size": 1},
}


def finite_difference_grad(s, x, y, h=1e-6):
    hx = h * np.maximum(1.0, np.abs(x))
    hy = h * np.maximum(1.0, np.abs(y))
    gx = (s.value(x + hx, y) - s.value(x - hx, y)) / (2 * hx)
    gy = (s.value(x, y + hy) - s.value(x, y - hy)) / (2 * hy)
    return gx, gy


@pytest.mark.parametrize("params", [{}, "variant"], ids=["defaults", "variant"])
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences_at_random_points(name, params):
    s = surface(name, **(VARIANTS.get(name, {}) if params == "variant" else {}))
    x0, x1, y0, y1 = s.window
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x, y = rng.uniform(x0, x1, 500), rng.uniform(y0, y1, 500)
    gx, gy = s.grad(x, y)
    fx, fy = finite_difference_grad(s, x, y)
    scale = 1.0 + np.abs(s.value(x, y))  # finite differences lose digits in proportion to |f|
    np.testing.assert_allclose(gx, fx, rtol=1e-6, atol=1e-7 * scale.max())
    np.testing.assert_allclose(gy, fy, rtol=1e-6, atol=1e-7 * scale.max())


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_keep_the_shape_of_the_points(name):
    s = surface(name)
    x = np.linspace(-1, 1, 24).reshape(2, 3, 4)
    assert np.shape(s.value(x, x)) == (2, 3, 4)
    assert [np.shape(g) for g in s.grad(x, x)] == [(2, 3, 4), (2, 3, 4)]
    assert np.ndim(s.value(0.5, -0.25)) == 0


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_have_zero_gradient_and_positive_curvature(name):
    s = surface(name, **VARIANTS.get(name, {}))
    for point in s.minima:
        assert np.abs(s.grad(*point)).max() < 1e-9
        assert np.linalg.eigvalsh(hessian(s, point)).min() > 0


@pytest.mark.parametrize("name", [n for n in NAMES if len(surface(n).saddles)])
def test_listed_saddles_have_zero_gradient_and_indefinite_curvature(name):
    s = surface(name)
    for point in s.saddles:
        assert np.abs(s.grad(*point)).max() < 1e-9
        eigenvalues = np.linalg.eigvalsh(hessian(s, point))
        assert eigenvalues.min() < 0 < eigenvalues.max()


def hessian(s, point, h=1e-5):
    cols = [(np.array(s.grad(*(point + e))) - np.array(s.grad(*(point - e)))) / (2 * h) for e in np.eye(2) * h]
    jac = np.column_stack(cols)
    return (jac + jac.T) / 2


# Known to 17 digits (mpmath's findroot on the gradient, 30 digits): the listed points are 6-digit approximations.
ANALYTIC_MINIMA = {
    "rosenbrock": [(1.0, 1.0)],
    "beale": [(3.0, 0.5)],
    "himmelblau": [(3.0, 2.0), (-2.8051180869527449, 3.131312518250573), (-3.7793102533777469, -3.2831859912861694),
                   (3.5844283403304917, -1.8481265269644036)],
    "six_hump_camel": [(0.089842013100318062, -0.71265640302073963), (-0.089842013100318062, 0.71265640302073963)],
    "saddle": [(0.0, 1.0), (0.0, -1.0)],
    "quadratic": [(0.0, 0.0)],
}
ANALYTIC_SADDLES = {
    "himmelblau": [(0.086677504555396352, 2.8842547011747761), (-3.0730257507643896, -0.081353044287967512),
                   (3.3851541836070209, 0.073851879837749288), (-0.12796134673068007, -1.9537149802445764)],
    "six_hump_camel": [(0.0, 0.0)],
    "saddle": [(0.0, 0.0)],
    "saddle_unbounded": [(0.0, 0.0)],
}


@pytest.mark.parametrize("name", ANALYTIC_MINIMA)
def test_listed_minima_are_polished_to_the_analytic_ones(name):
    np.testing.assert_allclose(surface(name).minima, ANALYTIC_MINIMA[name], rtol=0, atol=1e-9)


@pytest.mark.parametrize("name", ANALYTIC_SADDLES)
def test_listed_saddles_are_polished_to_the_analytic_ones(name):
    np.testing.assert_allclose(surface(name).saddles, ANALYTIC_SADDLES[name], rtol=0, atol=1e-9)


def test_minima_are_the_lowest_points_of_the_window_where_global():
    for name in ["rosenbrock", "beale", "rastrigin", "quadratic"]:
        s = surface(name)
        _, _, values = s.grid(301)
        assert s.value(*s.minima[0]) <= values.min() + 1e-12


def test_himmelblau_has_four_minima_of_equal_depth():
    s = surface("himmelblau")
    assert len(s.minima) == 4
    np.testing.assert_allclose(s.value(s.minima[:, 0], s.minima[:, 1]), 0.0, atol=1e-20)


def test_saddle_separates_two_minima_below_it():
    s = surface("saddle")
    assert s.value(*s.saddles[0]) == 0.0
    np.testing.assert_allclose(s.value(s.minima[:, 0], s.minima[:, 1]), -0.25)


def test_rosenbrock_minimum_follows_its_parameter_a():
    np.testing.assert_allclose(surface("rosenbrock", a=0.5).minima, [[0.5, 0.25]])


def test_quadratic_condition_number_is_the_ratio_of_curvatures():
    s = surface("quadratic", condition=40.0, angle=25.0)
    eigenvalues = np.linalg.eigvalsh(hessian(s, np.zeros(2)))
    assert eigenvalues.max() / eigenvalues.min() == pytest.approx(40.0)


def test_gradient_noise_is_reproducible_per_seed_and_shaped_like_the_hessian():
    s = surface("noisy_quadratic", noise=1.0, seed=3, condition=9.0, angle=0.0)
    a, b = s.gradient_noise(20_000), s.gradient_noise(20_000)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, surface("noisy_quadratic", noise=1.0, seed=4).gradient_noise(20_000))
    np.testing.assert_allclose(np.cov(a.T), np.diag([1.0, 1 / 9]), atol=0.03)


def test_exact_surfaces_and_zero_noise_have_no_gradient_noise():
    assert surface("rosenbrock").gradient_noise(10) is None
    assert surface("noisy_quadratic", noise=0.0).gradient_noise(10) is None


def test_nearest_minimum_picks_the_closest_listed_minimum():
    s = surface("himmelblau")
    index, distance = s.nearest_minimum(s.minima + 0.01)
    np.testing.assert_array_equal(index, np.arange(4))
    np.testing.assert_allclose(distance, np.sqrt(2) * 0.01)


@pytest.mark.parametrize("bad, message", [
    ({"name": "nope"}, "unknown surface 'nope'"),
    ({"name": "rosenbrock", "b": -1.0}, "b must be a number in (0, 10000]"),
    ({"name": "rosenbrock", "c": 1.0}, "no parameter 'c'"),
    ({"name": "quadratic", "condition": float("nan")}, "condition must be a number"),
    ({"name": "noisy_quadratic", "seed": 1.5}, "seed must be an integer"),
    ({"name": "rastrigin", "amplitude": [1.0, 2.0]}, "single numbers"),
])
def test_invalid_surface_parameters_raise_value_errors_naming_them(bad, message):
    bad = dict(bad)
    with pytest.raises(ValueError, match=None) as error:
        surface(bad.pop("name"), **bad)
    assert message in str(error.value)


# ---------------------------------------------------------------------------------------------------------------
# Stationary points (optviz.stationary): Newton's method and the Hessian test, vectorized over points

def test_newton_polishes_every_point_at_once_to_the_stationary_point_near_it():
    s = surface("himmelblau")
    rough = np.vstack([s.minima, s.saddles]) + np.random.default_rng(0).uniform(-0.05, 0.05, (8, 2))
    np.testing.assert_allclose(newton(s.grad, rough), np.vstack([s.minima, s.saddles]), atol=1e-12)
    assert newton(s.grad, []).shape == (0, 2)


def test_newton_leaves_a_point_where_the_gradient_is_not_finite():
    grad = lambda x, y: (np.log(x) + 0 * y, y)  # defined for x > 0 only; stationary at (1, 0)
    with np.errstate(invalid="ignore"):
        polished = newton(grad, [(-1.0, 3.0), (0.5, 0.5)])
    np.testing.assert_allclose(polished, [[-1.0, 3.0], [1.0, 0.0]], atol=1e-12)


def test_the_hessian_of_a_quadratic_is_its_matrix():
    s = surface("quadratic", condition=40.0, angle=25.0)
    points = np.random.default_rng(1).uniform(-3, 3, (5, 2))
    np.testing.assert_allclose(hessians(s.grad, points), np.broadcast_to(s.hessian(), (5, 2, 2)), atol=1e-8)


def test_the_hessian_test_tells_minima_saddles_and_maxima_apart():
    kinds = classify([np.diag([1.0, 2.0]), np.diag([-1.0, 2.0]), np.diag([-1.0, -2.0]), np.diag([1.0, 1e-9]),
                      np.full((2, 2), np.nan)])
    assert list(kinds) == ["minimum", "saddle", "maximum", "unknown", "unknown"]
    assert list(classify(hessians(surface("saddle").grad, [(0.0, 1.0), (0.0, 0.0)]))) == ["minimum", "saddle"]


def test_a_built_in_surface_s_landmarks_are_polished_once_per_parameters_and_shared_read_only():
    first, again = surface("himmelblau"), surface("himmelblau")
    assert first.minima is again.minima and not first.minima.flags.writeable
    other = surface("quadratic", condition=25.0)
    assert other.minima is not surface("quadratic", condition=4.0).minima
    np.testing.assert_allclose(other.minima, [[0.0, 0.0]], atol=1e-12)
