"""2-D loss surfaces: value and analytic gradient, vectorized over any shape of points.

    s = surface("rosenbrock", b=50)
    s.value(x, y); s.grad(x, y) -> (gx, gy); s.minima -> (k, 2); s.window; s.start
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .datasets import SOURCE as DATA_SOURCE
from .datasets import DataModel, batch_rows, linear_model, logistic_model
from .params import Param, lookup, resolve_scalars
from .stationary import newton

SAMPLING_PARAMS = frozenset({"noise", "seed", "batch_size"})  # how gradients are sampled, not the loss itself


@dataclass(frozen=True)
class SurfaceSpec:
    name: str
    title: str
    description: str
    latex: str
    value: Callable  # (x, y, **params) -> f
    grad: Callable  # (x, y, **params) -> (df/dx, df/dy)
    minima: Callable[..., list]  # (**params) -> approximate minima, refined by Newton's method
    window: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    start: tuple[float, float]
    params: tuple[Param, ...] = ()
    saddles: Callable[..., list] = lambda **p: []
    noisy: bool = False  # the gradient carries seeded noise (see Surface.gradient_noise)
    log_levels: bool = False  # values span decades: contour on a log scale
    model: Callable[..., DataModel] | None = None  # a loss that is a mean over data: (**params) -> its model
    per_entry: tuple[str, ...] = ()  # sampling parameters each race entry may set for itself (batch_size)
    axis_names: tuple[str, str] = ("x", "y")  # what the two coordinates are: a model's (w, b)
    hessian: Callable[..., np.ndarray] | None = None  # (**params) -> H, for surfaces whose Hessian is constant


@dataclass(frozen=True)
class Surface:
    """A surface bound to its parameter values."""

    spec: SurfaceSpec
    params: dict[str, Any]
    minima: np.ndarray = field(init=False)
    saddles: np.ndarray = field(init=False)

    def __post_init__(self):
        shape_params = {k: v for k, v in self.params.items() if k not in SAMPLING_PARAMS}
        object.__setattr__(self, "_shape_params", shape_params)
        object.__setattr__(self, "model", self.spec.model(**shape_params) if self.spec.model else None)
        object.__setattr__(self, "minima", newton(self.grad, self.spec.minima(**self._shape_params)))
        object.__setattr__(self, "saddles", newton(self.grad, self.spec.saddles(**self._shape_params)))

    name = property(lambda self: self.spec.name)
    title = property(lambda self: self.spec.title)
    window = property(lambda self: self.spec.window)
    start = property(lambda self: self.spec.start)
    axis_names = property(lambda self: self.spec.axis_names)

    @property
    def bound(self) -> float:
        """A run that leaves |x|, |y| ≤ bound has diverged: far outside any plot window."""
        return 100.0 * max(abs(v) for v in self.spec.window)

    def value(self, x, y):
        return self.spec.value(x, y, **self._shape_params)

    def grad(self, x, y):
        return self.spec.grad(x, y, **self._shape_params)

    def hessian(self) -> np.ndarray | None:
        """The Hessian (2, 2) where it is the same at every point (quadratics, least squares), else None."""
        if self.spec.hessian is not None:
            return self.spec.hessian(**self._shape_params)
        return None if self.model is None else self.model.hessian()

    def step_grad(self, x, y, t: int):
        """The gradient an optimizer sees at step t (1-based), before any gradient noise.

        The exact gradient, except on a surface defined by data: there, the mean gradient over step t's
        mini-batch (batch_rows), the same examples for every run, so every optimizer of a race and every
        configuration of a sweep sees the same batch sequence.
        """
        if self.model is None:
            return self.grad(x, y)
        return self.model.grad(x, y, self.batch(t))

    def batch(self, t: int) -> np.ndarray:
        """Indices of the examples in step t's mini-batch (data surfaces only)."""
        return batch_rows(self.model.n, self.params["batch_size"], self.params["seed"], t)

    def epochs(self, steps) -> float | np.ndarray:
        """How many passes over the data `steps` steps make (data surfaces): steps × batch size / examples.
        A full-batch step costs as many gradients as an epoch of single-example steps."""
        return np.asarray(steps) * self.params["batch_size"] / self.model.n

    def with_params(self, **changes) -> Surface:
        """The same surface with some parameters changed (validated), e.g. another batch size."""
        return surface(self.name, **{**self.params, **changes}) if changes else self

    def gradient_noise(self, steps: int) -> np.ndarray | None:
        """Noise added to the gradient at steps 1..steps, shape (steps, 2), or None for exact gradients.

        Noise ~ N(0, σ²H) as in the noisy quadratic model (Zhang et al., 2019). It depends only on the seed and
        the step, so every optimizer in a race, and every configuration in a sweep, sees the same sequence.
        """
        if not self.spec.noisy or self.params["noise"] == 0:
            return None
        rng = np.random.default_rng(self.params["seed"])
        root = _hessian_root(self.params["condition"], self.params["angle"])
        return self.params["noise"] * rng.standard_normal((steps, 2)) @ root.T

    def nearest_minimum(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest listed minimum and the distance to it, for points of shape (..., 2)."""
        if len(self.minima) == 0:
            shape = np.shape(points)[:-1]
            return np.full(shape, -1), np.full(shape, np.nan)
        diff = np.asarray(points)[..., None, :] - self.minima
        dist = np.sqrt(np.einsum("...kd,...kd->...k", diff, diff))
        index = np.argmin(np.where(np.isnan(dist), np.inf, dist), axis=-1)
        return index, np.take_along_axis(dist, index[..., None], axis=-1)[..., 0]

    def grid(self, n: int = 200, window=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates and values on an n×n grid over the window, for contour plots."""
        x0, x1, y0, y1 = window or self.window
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        return xs, ys, self.value(*np.meshgrid(xs, ys))


# ---------------------------------------------------------------------------------------------------------------
# Quadratics: f = ½ pᵀHp with H = R(φ) diag(1, 1/κ) R(φ)ᵀ

def _hessian(condition: float, angle: float) -> tuple[float, float, float]:
    """Entries (h_xx, h_xy, h_yy) of H, with eigenvalues 1 and 1/κ and the stiff axis rotated by φ degrees."""
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    low = 1.0 / condition
    return c * c + low * s * s, (1.0 - low) * c * s, s * s + low * c * c


def _hessian_root(condition: float, angle: float) -> np.ndarray:
    """A matrix L with L Lᵀ = H."""
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return np.array([[c, -s], [s, c]]) @ np.diag([1.0, 1.0 / np.sqrt(condition)])


def _quadratic_hessian(condition, angle) -> np.ndarray:
    hxx, hxy, hyy = _hessian(condition, angle)
    return np.array([[hxx, hxy], [hxy, hyy]])


def _quadratic_value(x, y, condition, angle):
    hxx, hxy, hyy = _hessian(condition, angle)
    return 0.5 * (hxx * x * x + 2 * hxy * x * y + hyy * y * y)


def _quadratic_grad(x, y, condition, angle):
    hxx, hxy, hyy = _hessian(condition, angle)
    return hxx * x + hxy * y, hxy * x + hyy * y


_CONDITION = Param("condition", r"\kappa", 25.0, "condition number: ratio of the largest to smallest curvature",
                   low=1.0, high=1e6, log=True)
_ANGLE = Param("angle", r"\varphi", 0.0, "rotation of the valley, in degrees", low=-90.0, high=90.0)
_NOISE = Param("noise", r"\sigma", 0.3, "gradient noise scale: noise ~ N(0, σ²H)", low=0.0, high=10.0)
_SEED = Param("seed", "s", 0, "random seed of the gradient noise", low=0, high=2**32 - 1, kind="int")
_STANDARDIZE = Param("standardize", r"\text{standardise}", True, "features scaled to mean 0 and standard deviation 1; "
                     "off, the raw scales make a long narrow valley", kind="bool")


def _data_params(n: int) -> tuple[Param, ...]:
    return (Param("batch_size", "B", n, f"examples per gradient: {n} is full-batch gradient descent, 1 is SGD on "
                  "single examples", low=1, high=n, kind="int"),
            Param("seed", "s", 0, "random seed of the batch order (a new permutation every epoch)", low=0,
                  high=2**32 - 1, kind="int"))


def _least_squares(standardize):
    """The linear model's exact minimum: the normal equations H·(w, b) = 2·(E[xy], E[y])."""
    model = linear_model(standardize)
    x, y = model.inputs[:, 0], model.targets
    return [tuple(np.linalg.solve(model.hessian(), 2 * np.array([(x * y).mean(), y.mean()])))]


def _data_surface(name, title, description, latex, model, minima, window, start, params, axis_names
                  ) -> SurfaceSpec:
    value = lambda x, y, **p: model(**p).value(x, y)
    grad = lambda x, y, **p: model(**p).grad(x, y)
    return SurfaceSpec(name, title, description, latex, value, grad, minima, window, start,
                       params + _data_params(model(**{q.name: q.default for q in params}).n), model=model,
                       per_entry=("batch_size",), axis_names=axis_names)


# ---------------------------------------------------------------------------------------------------------------
# The classics

def _rosenbrock_grad(x, y, a, b):
    r = y - x * x
    return 2 * (x - a) - 4 * b * x * r, 2 * b * r


def _beale_value(x, y):
    u, v, w = _beale_terms(x, y)
    return u * u + v * v + w * w


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3


def _beale_grad(x, y):
    t1, t2, t3 = _beale_terms(x, y)
    gx = 2 * (t1 * (y - 1) + t2 * (y ** 2 - 1) + t3 * (y ** 3 - 1))
    gy = 2 * x * (t1 + 2 * t2 * y + 3 * t3 * y ** 2)
    return gx, gy


def _himmelblau_grad(x, y):
    u, w = x * x + y - 11, x + y * y - 7
    return 4 * x * u + 2 * w, 2 * u + 4 * y * w


def _rastrigin_value(x, y, amplitude):
    tau = 2 * np.pi
    return 2 * amplitude + x * x - amplitude * np.cos(tau * x) + y * y - amplitude * np.cos(tau * y)


def _rastrigin_grad(x, y, amplitude):
    tau = 2 * np.pi
    return 2 * x + amplitude * tau * np.sin(tau * x), 2 * y + amplitude * tau * np.sin(tau * y)


def _camel_value(x, y):
    x2, y2 = x * x, y * y
    return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (4 * y2 - 4) * y2


def _camel_grad(x, y):
    x2 = x * x
    return 8 * x - 8.4 * x2 * x + 2 * x2 * x2 * x + y, x + 16 * y * y * y - 8 * y


SPECS: dict[str, SurfaceSpec] = {s.name: s for s in [
    SurfaceSpec(
        "rosenbrock", "Rosenbrock", "A long, curved, nearly flat valley: easy to find, hard to follow to the end.",
        r"f(x, y) = (a - x)^2 + b\,(y - x^2)^2",
        lambda x, y, a, b: (a - x) ** 2 + b * (y - x * x) ** 2, _rosenbrock_grad,
        lambda a, b: [(a, a * a)], (-2.0, 2.0, -1.0, 3.0), (-1.5, 2.0),
        (Param("a", "a", 1.0, "position of the minimum: (a, a²)", low=-1.5, high=1.5),
         Param("b", "b", 100.0, "steepness of the valley walls", low=0.0, high=1e4, low_open=True, log=True)),
        log_levels=True),
    SurfaceSpec(
        "saddle", "Saddle (bounded)", "A saddle point at the origin between two minima at (0, ±1).",
        r"f(x, y) = x^2 + \tfrac14 y^4 - \tfrac12 y^2",
        lambda x, y: x * x + y ** 4 / 4 - y * y / 2, lambda x, y: (2 * x, y ** 3 - y),
        lambda: [(0.0, 1.0), (0.0, -1.0)], (-2.0, 2.0, -2.0, 2.0), (-1.8, 1e-3),
        saddles=lambda: [(0.0, 0.0)]),
    SurfaceSpec(
        "saddle_unbounded", "Saddle (unbounded)", "The textbook saddle: no minimum at all; every escape diverges.",
        r"f(x, y) = x^2 - y^2",
        lambda x, y: x * x - y * y, lambda x, y: (2 * x, -2 * y),
        lambda: [], (-2.0, 2.0, -2.0, 2.0), (-1.8, 1e-3), saddles=lambda: [(0.0, 0.0)]),
    SurfaceSpec(
        "quadratic", "Ill-conditioned quadratic", "A narrow elliptic bowl: curvature differs by a factor κ.",
        r"f(p) = \tfrac12 p^\top H p,\quad H = R_\varphi \operatorname{diag}(1, 1/\kappa) R_\varphi^\top",
        _quadratic_value, _quadratic_grad, lambda condition, angle: [(0.0, 0.0)], (-3.0, 3.0, -3.0, 3.0),
        (-2.5, 2.0), (_CONDITION, _ANGLE), hessian=_quadratic_hessian),
    SurfaceSpec(
        "noisy_quadratic", "Noisy quadratic", "The quadratic bowl seen through noisy gradients, as in mini-batch "
        "training; every optimizer sees the same noise.",
        r"f(p) = \tfrac12 p^\top H p,\quad \tilde g_t = H p_t + \sigma\,\xi_t,\ \xi_t \sim \mathcal N(0, H)",
        _quadratic_value, _quadratic_grad, lambda condition, angle: [(0.0, 0.0)], (-3.0, 3.0, -3.0, 3.0),
        (-2.5, 2.0), (Param("condition", r"\kappa", 10.0, _CONDITION.help, low=1.0, high=1e6, log=True),
                      Param("angle", r"\varphi", 30.0, _ANGLE.help, low=-90.0, high=90.0), _NOISE, _SEED),
        noisy=True, hessian=_quadratic_hessian),
    SurfaceSpec(
        "beale", "Beale", "Flat plateaus and sharp ridges around a minimum at (3, ½).",
        r"f = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        _beale_value, _beale_grad,
        lambda: [(3.0, 0.5)], (-4.5, 4.5, -4.5, 4.5), (-1.0, 1.5), log_levels=True),
    SurfaceSpec(
        "himmelblau", "Himmelblau", "Four minima of equal depth: which one a run ends in depends on the path.",
        r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        lambda x, y: (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2, _himmelblau_grad,
        lambda: [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
        (-5.0, 5.0, -5.0, 5.0), (0.0, -0.5), saddles=lambda: [(0.086678, 2.884255), (-3.073026, -0.081353),
                                                              (3.385154, 0.073852), (-0.127961, -1.953715)],
        log_levels=True),
    SurfaceSpec(
        "rastrigin", "Rastrigin", "A bowl covered in regularly spaced local minima: a trap for small steps.",
        r"f(x, y) = 2A + x^2 - A\cos 2\pi x + y^2 - A\cos 2\pi y", _rastrigin_value, _rastrigin_grad,
        lambda amplitude: [(0.0, 0.0)], (-5.12, 5.12, -5.12, 5.12), (3.2, -2.7),
        (Param("amplitude", "A", 10.0, "depth of the ripples", low=0.0, high=50.0),)),
    SurfaceSpec(
        "six_hump_camel", "Six-hump camel", "Six local minima, two of them global, around a saddle at the origin.",
        r"f(x, y) = (4 - 2.1x^2 + \tfrac13 x^4)x^2 + xy + (4y^2 - 4)y^2", _camel_value, _camel_grad,
        lambda: [(0.089842, -0.712656), (-0.089842, 0.712656)], (-2.0, 2.0, -1.2, 1.2), (-1.5, -0.8),
        saddles=lambda: [(0.0, 0.0)]),
    SurfaceSpec(
        "styblinski_tang", "Styblinski–Tang", "Four basins of different depths: the global minimum is the deepest.",
        r"f(x, y) = \tfrac12 (x^4 - 16x^2 + 5x) + \tfrac12 (y^4 - 16y^2 + 5y)",
        lambda x, y: 0.5 * (x ** 4 - 16 * x * x + 5 * x + y ** 4 - 16 * y * y + 5 * y),
        lambda x, y: (2 * x ** 3 - 16 * x + 2.5, 2 * y ** 3 - 16 * y + 2.5),
        lambda: [(-2.903534, -2.903534), (-2.903534, 2.746803), (2.746803, -2.903534), (2.746803, 2.746803)],
        (-5.0, 5.0, -5.0, 5.0), (0.3, 0.4)),
    _data_surface(
        "linear_regression", "Linear regression (Iris)", "Mean squared error of ŷ = w·x + b, petal width from "
        f"petal length of 150 irises ({DATA_SOURCE}). Each step's gradient is its mini-batch's mean.",
        r"f(w, b) = \frac1N \sum_{i=1}^N (w x_i + b - y_i)^2",
        lambda standardize: linear_model(standardize), _least_squares, (-1.0, 2.5, -1.5, 3.0), (-0.5, 2.5),
        (_STANDARDIZE,), ("w", "b")),
    _data_surface(
        "logistic_regression", "Logistic regression (Iris)", "Mean cross-entropy of p = σ(w₁x₁ + w₂x₂), "
        f"s = ±1: virginica vs versicolor from their petal length and width ({DATA_SOURCE}). Each step's gradient is "
        "its mini-batch's mean.",
        r"f(w) = \tfrac1N \textstyle\sum_i \log(1 + e^{-s_i w^\top x_i}) + \tfrac\lambda2 \lVert w \rVert^2",
        logistic_model, lambda standardize, l2: [(1.0, 1.0)], (-3.0, 11.0, -3.0, 13.0), (-2.0, -2.0),
        (_STANDARDIZE, Param("l2", r"\lambda", 0.0, "L2 penalty ½λ‖w‖²: makes the minimum exist even when the "
                             "classes can be separated", low=0.0, high=10.0)), ("w₁", "w₂")),
]}


def surface(name: str, **params) -> Surface:
    """A surface by name with validated parameters (defaults for those not given)."""
    spec = lookup(SPECS, name, "surface")
    return Surface(spec, resolve_scalars(spec.params, params, f"surface {name}"))
