"""2-D loss surfaces: value and analytic gradient, vectorized over any shape of points.

    s = surface("rosenbrock", b=50)
    s.value(x, y); s.grad(x, y) -> (gx, gy); s.minima -> (k, 2); s.window; s.start
    data_surface("linear", read_table(data), "hours", "score")   # a model on a table's columns, over (w, b)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import numpy as np

from .datasets import SOURCE as DATA_SOURCE
from .datasets import (
    DataModel,
    Table,
    batch_rows,
    linear_model,
    linear_model_from,
    logistic_model,
    logistic_model_from,
)
from .params import Param, lookup, resolve_scalars
from .stationary import hessians, newton

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
    window: tuple[float, float, float, float] | Callable[..., tuple]  # x_min, x_max, y_min, y_max; or (**params) ->
    start: tuple[float, float] | Callable[..., tuple]  # or (**params) -> start, where they depend on the parameters
    params: tuple[Param, ...] = ()
    saddles: Callable[..., list] = lambda **p: []
    noisy: bool = False  # the gradient carries seeded noise (see Surface.gradient_noise)
    log_levels: bool = False  # values span decades: contour on a log scale
    model: Callable[..., DataModel] | None = None  # a loss that is a mean over data: (**params) -> its model
    per_entry: tuple[str, ...] = ()  # sampling parameters each race entry may set for itself (batch_size)
    axis_names: tuple[str, str] = ("x", "y")  # what the two coordinates are: a model's (w, b)
    hessian: Callable[..., np.ndarray] | None = None  # (**params) -> H, for surfaces whose Hessian is constant


def _landmarks(surf: Surface) -> tuple[np.ndarray, np.ndarray]:
    """The minima and saddles polished by Newton's method: once per built-in surface and parameters (a race makes
    its surface anew at every change, and the polish costs more than a short race)."""
    key = tuple(sorted(surf._shape_params.items()))
    if SPECS.get(surf.spec.name) is surf.spec and all(isinstance(v, (int, float, bool, str)) for _, v in key):
        return _built_in_landmarks(surf.spec.name, key)
    return _polished(surf)


@lru_cache(maxsize=256)  # two arrays of a few points per surface and parameters: a few kB in all
def _built_in_landmarks(name: str, key: tuple) -> tuple[np.ndarray, np.ndarray]:
    return _polished(_bare(SPECS[name], dict(key)))


def _bare(spec: SurfaceSpec, shape_params: dict) -> SimpleNamespace:
    """What _polished reads of a surface: its spec, parameters and gradient."""
    return SimpleNamespace(spec=spec, _shape_params=shape_params,
                           grad=lambda x, y: spec.grad(x, y, **shape_params))


def _polished(surf) -> tuple[np.ndarray, np.ndarray]:
    minima = newton(surf.grad, surf.spec.minima(**surf._shape_params))
    saddles = newton(surf.grad, surf.spec.saddles(**surf._shape_params))
    for array in (minima, saddles):
        array.setflags(write=False)  # shared by every surface with these parameters
    return minima, saddles


@dataclass(frozen=True)
class Surface:
    """A surface bound to its parameter values."""

    spec: SurfaceSpec
    params: dict[str, Any]
    minima: np.ndarray = field(init=False)
    saddles: np.ndarray = field(init=False)
    window: tuple[float, float, float, float] = field(init=False)
    start: tuple[float, float] = field(init=False)

    def __post_init__(self):
        shape_params = {k: v for k, v in self.params.items() if k not in SAMPLING_PARAMS}
        object.__setattr__(self, "_shape_params", shape_params)
        object.__setattr__(self, "model", self.spec.model(**shape_params) if self.spec.model else None)
        minima, saddles = _landmarks(self)
        object.__setattr__(self, "minima", minima)
        object.__setattr__(self, "saddles", saddles)
        for name in ("window", "start"):  # a data surface's depend on its data and parameters
            value = getattr(self.spec, name)
            object.__setattr__(self, name, tuple(value(**shape_params)) if callable(value) else value)

    name = property(lambda self: self.spec.name)
    title = property(lambda self: self.spec.title)
    axis_names = property(lambda self: self.spec.axis_names)

    @property
    def bound(self) -> float:
        """A run that leaves |x|, |y| ≤ bound has diverged: far outside any plot window."""
        return 100.0 * max(abs(v) for v in self.window)

    def value(self, x, y):
        return self.spec.value(x, y, **self._shape_params)

    def grad(self, x, y):
        return self.spec.grad(x, y, **self._shape_params)

    def hessian(self) -> np.ndarray | None:
        """The Hessian (2, 2) where it is the same at every point (quadratics, least squares), else None."""
        if self.spec.hessian is not None:
            return self.spec.hessian(**self._shape_params)
        return None if self.model is None else self.model.hessian()

    def hessian_at(self, x: float, y: float) -> np.ndarray:
        """The Hessian (2, 2) at (x, y): the surface's own where it is constant, else central differences of the
        analytic gradient (stationary.hessians, the one helper the landmarks are polished with)."""
        constant = self.hessian()
        if constant is not None:
            return np.array(constant, dtype=float)
        return hessians(self.grad, [(x, y)])[0]

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
        if not changes:
            return self
        return Surface(self.spec, resolve_scalars(self.spec.params, {**self.params, **changes}, f"surface {self.name}"))

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
# Data surfaces on any table: the same two models on columns a user picks

_L2 = Param("l2", r"\lambda", 0.0, "L2 penalty ½λ‖w‖²: makes the minimum exist even when the classes can be "
            "separated", low=0.0, high=10.0)
MODELS = {"linear": "linear_regression", "logistic": "logistic_regression"}  # a table's model -> its surface
LOSS_SCALE = 4.0  # the window shows where the loss is within LOSS_SCALE·(its typical size) of the minimum's


def data_surface(kind: str, table: Table, x: str, y: str, **params) -> Surface:
    """A model on two columns of a table, as a surface over its parameters (w, b), with the data surfaces'
    parameters: standardize, l2 (logistic), batch_size (1 … rows, full batch by default) and seed.

    kind "linear": ŷ = w·x + b, mean squared error, y any numeric column; kind "logistic": p = σ(w·x + b), mean
    cross-entropy + ½λw², y a column of labels 0 and 1. Raises ValueError naming the row and column of the first
    problem (a cell that is not a number, a constant column, a label that is not 0 or 1, one class only).
    """
    spec = _table_spec(kind, table, x, y)
    return Surface(spec, resolve_scalars(spec.params, params, f"surface {spec.title}"))


def _table_spec(kind: str, table: Table, x: str, y: str) -> SurfaceSpec:
    if kind not in MODELS:
        raise ValueError(f"kind must be 'linear' or 'logistic', got {kind!r}")
    build = linear_model_from if kind == "linear" else logistic_model_from
    build(table, x, y)  # validated once, up front: the messages name the row and column
    table = table.select(x, y)  # the spec keeps the two columns it uses, not the whole file

    @lru_cache(maxsize=2)  # the models of the last two settings of standardize and l2: ≤ 2.4 MB each (100,000 rows)
    def model(standardize: bool = True, l2: float = 0.0, data: str = "") -> DataModel:
        return build(table, x, y, standardize) if kind == "linear" else build(table, x, y, standardize, l2)

    identity = Param("data", "D", json.dumps([table.digest, x, y]), "the table (its SHA-256) and its columns",
                     kind="choice", choices=(json.dumps([table.digest, x, y]),))
    shape = (_STANDARDIZE,) if kind == "linear" else (_STANDARDIZE, _L2)
    if kind == "linear":
        title, latex = "Linear regression", r"f(w, b) = \frac1N \sum_{i=1}^N (w x_i + b - y_i)^2"
        what = f"Mean squared error of ŷ = w·x + b: {y} from {x}"
    else:
        title = "Logistic regression"
        latex = r"f(w, b) = \tfrac1N \textstyle\sum_i \log(1 + e^{-s_i z_i}) + \tfrac\lambda2 w^2,\quad z_i = w x_i + b"
        what = f"Mean cross-entropy of p = σ(w·x + b), s = ±1: {y} (0 or 1) from {x}"

    @lru_cache(maxsize=4)  # a window and start per model above: a few numbers each
    def frame(standardize: bool = True, l2: float = 0.0, data: str = "") -> tuple[tuple, tuple]:
        return _frame(model(standardize, l2, data))

    value = lambda x_, y_, **p: model(**p).value(x_, y_)
    grad = lambda x_, y_, **p: model(**p).grad(x_, y_)
    return SurfaceSpec(
        MODELS[kind], f"{title} ({table.name})",
        f"{what}, {table.n:,} rows of {table.name}. Each step's gradient is its mini-batch's mean.", latex, value, grad,
        lambda **p: _model_minima(model(**p)), lambda **p: frame(**p)[0], lambda **p: frame(**p)[1],
        shape + _data_params(table.n) + (identity,), model=model, per_entry=("batch_size",), axis_names=("w", "b"))


def _model_minima(model: DataModel) -> list:
    """The model's minimum: the normal equations (linear), Newton's method from 0 (logistic); none where the
    classes are separated by a threshold on x and nothing is penalised (the loss falls forever as |w| grows)."""
    if model.kind == "linear":
        x, y = model.inputs[:, 0], model.targets
        return [tuple(np.linalg.solve(model.hessian(), 2 * np.array([(x * y).mean(), y.mean()])))]
    if model.l2 == 0 and _separated(model):
        return []
    return [tuple(_logistic_fit(model))]


def _separated(model: DataModel) -> bool:
    x, labels = model.inputs[:, 0], model.targets
    ones, zeros = x[labels == 1], x[labels == 0]
    return bool(ones.min() > zeros.max() or zeros.min() > ones.max())


def _logistic_fit(model: DataModel, ridge: float = 0.0, steps: int = 100) -> np.ndarray:
    """Newton's method with halving steps from (0, 0) on the full data (plus ½·ridge·|θ|², for framing a surface
    whose minimum is at infinity)."""
    inputs, n = model.inputs, model.n
    penalty = np.diag([model.l2 + ridge, ridge])
    loss = lambda t: float(model.value(*t)) + 0.5 * ridge * float(t @ t)
    theta = np.zeros(2)
    for _ in range(steps):
        g = np.array(model.grad(*theta)) + ridge * theta
        p = 1 / (1 + np.exp(-np.clip(inputs @ theta, -500, 500)))
        hessian = (inputs.T * (p * (1 - p))) @ inputs / n + penalty
        step = np.linalg.solve(hessian, g)
        size, before = 1.0, loss(theta)
        while loss(theta - size * step) > before and size > 1e-8:
            size /= 2
        theta = theta - size * step
        if np.abs(size * step).max() < 1e-12 * max(1.0, np.abs(theta).max()):
            break
    return theta


def _frame(model: DataModel) -> tuple[tuple, tuple]:
    """The window and start of a model's map, from the data: around the minimum θ* (with a logistic model, also the
    origin, where every p = ½), as far as the loss's quadratic model ½dᵀHd reaches LOSS_SCALE × its typical size
    (the variance of y; log 2): half-widths √(2c(H⁻¹)ᵢᵢ), the bounding box of that ellipse. H is the Hessian of
    the linear model, or the logistic model's at the origin. The start lies along the valley, at 0.7 of the
    half-widths from θ* (linear), or beyond the origin, away from θ* (logistic)."""
    inputs, n = model.inputs, model.n
    if model.kind == "linear":
        hessian, scale = model.hessian(), model.targets.var()
    else:
        hessian, scale = 0.25 * inputs.T @ inputs / n + np.diag([model.l2, 0.0]), np.log(2.0)
    half = np.sqrt(2 * LOSS_SCALE * scale * np.diag(np.linalg.inv(hessian)))
    minima = _model_minima(model)
    if model.kind == "linear":
        centre = np.array(minima[0])
        along = np.array([-1.0, 1.0 if hessian[0, 1] >= -1e-9 * hessian[0, 0] else -1.0])  # x̄ = 0: either way
        start = centre + 0.7 * half * along
        low, high = centre - half, centre + half
    else:
        centre = np.array(minima[0]) if minima else _logistic_fit(model, ridge=0.01)
        away = np.where(centre >= 0, -1.0, 1.0)
        start = 0.25 * half * away
        low = np.minimum(centre - half, np.minimum(start, 0) - 0.25 * half)
        high = np.maximum(centre + half, np.maximum(start, 0) + 0.25 * half)
    window = tuple(float(f"{v:.3g}") for v in (low[0], high[0], low[1], high[1]))
    return window, tuple(float(f"{v:.3g}") for v in start)


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
        (_STANDARDIZE, _L2), ("w₁", "w₂")),
]}


def surface(name: str, **params) -> Surface:
    """A surface by name with validated parameters (defaults for those not given)."""
    spec = lookup(SPECS, name, "surface")
    return Surface(spec, resolve_scalars(spec.params, params, f"surface {name}"))
