"""A typed surface's Surface: its program compiled, its landmarks found and framed.

    typed_surface("x**2+y**2", plain, latex)  # a Surface named "custom", its params {"expression": text}
    not_finite_share(surface)  # the share of the window where f is not a finite number

Landmarks. Stationary points are searched from a grid over [-5, 5]² and polished by Newton's method on the exact
gradient; a positive-definite Hessian makes a minimum, an indefinite one a saddle (optviz.stationary). The window
frames the minima with a margin (the default square when there are none), and the start is a deterministic
point of fairly high loss away from the minima. Outside a function's domain (log or sqrt of a negative) values
are NaN, silently: the engine treats a non-finite loss as divergence.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..stationary import classify, gradients, hessians, newton
from ..surfaces import Surface, SurfaceSpec
from .program import Program

DEFAULT_SQUARE = (-5.0, 5.0, -5.0, 5.0)  # where minima are searched, and the window when there are none
SEARCH_GRID = 101
SEARCH_BOX = 10.0  # stationary points found by Newton's method are kept if |x|, |y| ≤ this
MAX_CANDIDATES = 48  # starting points of Newton's method, per kind (low f, low |∇f|)
MAX_LANDMARKS = 25  # minima (and saddles) listed at most, the lowest first


def typed_surface(text: str, plain: tuple, latex: str) -> Surface:
    """The Surface of a plain program (symbolic.analyse), its normalized text and LaTeX: the program compiled,
    its landmarks found and framed."""
    program = Program(plain)
    value = lambda x, y, expression=None: program(x, y, "value")[0]
    grad = lambda x, y, expression=None: tuple(program(x, y)[1:])
    with np.errstate(all="ignore"):  # the search runs where the surface overflows or leaves its domain, too
        minima, saddles = _stationary_points(program, grad)
        window = _window(minima)
        inside = lambda points: [tuple(p) for p in points if _in_window(p, window)]
        spec = SurfaceSpec(
            "custom", "Custom surface", _description(text, len(minima)), latex, value, grad,
            lambda expression=None: [tuple(p) for p in minima], window, _start(program, window, minima),
            saddles=lambda expression=None: inside(saddles), log_levels=_spans_decades(program, window))
        surface = Surface(spec, {"expression": text})
    for array in (surface.minima, surface.saddles):  # shared by every caller through the cache
        array.flags.writeable = False
    return surface


def _description(text: str, minima: int) -> str:
    found = {0: "no minimum found", 1: "1 minimum found"}.get(minima, f"{minima} minima found")
    return f"Typed by hand: f(x, y) = {text} ({found})."


def _grid(window, n: int) -> tuple[np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = window
    return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def _stationary_points(program: Program, grad: Callable) -> tuple[np.ndarray, np.ndarray]:
    """Minima and saddles, (k, 2) each, lowest first: Newton's method from the grid's promising points, kept where
    the gradient vanishes, told apart by the Hessian (optviz.stationary).

    Raises ValueError if value and gradient are finite nowhere on the default square.
    """
    xs, ys = _grid(DEFAULT_SQUARE, SEARCH_GRID)
    f, gx, gy = program(xs, ys)
    if not (np.isfinite(f) & np.isfinite(gx) & np.isfinite(gy)).any():
        raise ValueError("the surface is not finite anywhere on [-5, 5]² (e.g. the log or sqrt of a negative "
                         "number, or an overflow)")
    slope = np.hypot(gx, gy)
    starts = np.concatenate([_local_minima(f, xs, ys), _local_minima(slope, xs, ys),
                             _lowest(f, xs, ys)])  # the lowest grid point, edge or not: minima just outside
    points = newton(grad, starts)
    typical = float(np.median(slope[np.isfinite(slope)]))
    points = points[(np.abs(points) <= SEARCH_BOX).all(axis=1)]
    points = points[np.abs(gradients(grad, points)).max(axis=1, initial=0.0) <= 1e-8 * (1.0 + typical)]
    kinds = classify(hessians(grad, points))
    return _distinct(program, points[kinds == "minimum"]), _distinct(program, points[kinds == "saddle"])


def _local_minima(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Interior grid points no higher than their 8 neighbours, the lowest MAX_CANDIDATES of them, as (k, 2)."""
    v = np.where(np.isfinite(values), values, np.inf)
    centre = v[1:-1, 1:-1]
    lowest = np.isfinite(centre)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                lowest &= centre <= v[1 + dy: v.shape[0] - 1 + dy, 1 + dx: v.shape[1] - 1 + dx]
    rows, cols = np.nonzero(lowest)
    order = np.argsort(centre[rows, cols], kind="stable")[:MAX_CANDIDATES]
    return np.column_stack([xs[1:-1, 1:-1][rows, cols][order], ys[1:-1, 1:-1][rows, cols][order]])


def _lowest(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    v = np.where(np.isfinite(values), values, np.inf)
    index = np.unravel_index(np.argmin(v), v.shape)
    return np.array([[xs[index], ys[index]]]) if np.isfinite(v[index]) else np.empty((0, 2))


def _distinct(program: Program, points: np.ndarray) -> np.ndarray:
    """Points sorted by value with near-duplicates removed, at most MAX_LANDMARKS of them."""
    if not len(points):
        return np.empty((0, 2))
    values = program(points[:, 0], points[:, 1], "value")[0]
    kept = []
    for i in np.argsort(values, kind="stable"):
        p = points[i]
        if all(np.abs(p - q).max() > 1e-6 * (1.0 + np.abs(p).max()) for q in kept):
            kept.append(p)
    return np.array(kept[:MAX_LANDMARKS]).reshape(-1, 2)


def _window(minima: np.ndarray) -> tuple[float, float, float, float]:
    """The minima's bounding box with a margin, neither side under half the other, rounded out to halves."""
    if not len(minima):
        return DEFAULT_SQUARE
    low, high = minima.min(axis=0), minima.max(axis=0)
    margin = max(0.25 * float((high - low).max()), 2.0)
    low, high = low - margin, high + margin
    span = high - low
    widen = np.maximum(span.max() / 2 - span, 0.0) / 2  # a window far longer than wide hides half the picture
    low, high = np.floor((low - widen) * 2) / 2, np.ceil((high + widen) * 2) / 2
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def _in_window(point, window) -> bool:
    x0, x1, y0, y1 = window
    return bool(x0 <= point[0] <= x1 and y0 <= point[1] <= y1)


def _start(program: Program, window, minima: np.ndarray) -> tuple[float, float]:
    """A deterministic start: well inside the window, far from the minima, at fairly high loss.

    Among grid points at least half as far from the minima as the farthest one, the one whose value is closest to
    the two-thirds quantile of theirs: high enough to make a journey, not a cliff top.
    Where the surface is finite only on a sliver, a finer grid over the whole window finds it.
    """
    x0, x1, y0, y1 = window
    inner = (x0 + 0.1 * (x1 - x0), x1 - 0.1 * (x1 - x0), y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0))
    for area, n in ((inner, 21), (window, SEARCH_GRID)):
        xs, ys = _grid(area, n)
        f, gx, gy = program(xs, ys)
        ok = np.isfinite(f) & np.isfinite(gx) & np.isfinite(gy)
        if ok.any():
            break
    else:
        if len(minima):
            return float(minima[0, 0]), float(minima[0, 1])
        raise ValueError("the surface is not finite anywhere in its window")
    if len(minima):  # at least half as far from every minimum as the farthest candidate is
        distance = np.min(np.hypot(xs[..., None] - minima[:, 0], ys[..., None] - minima[:, 1]), axis=-1)
        ok &= distance >= distance[ok].max() / 2
    target = np.quantile(f[ok], 2 / 3)
    index = np.argmin(np.where(ok, np.abs(f - target), np.inf))
    return float(np.round(xs.flat[index], 6)), float(np.round(ys.flat[index], 6))


def _spans_decades(program: Program, window) -> bool:
    """Log-scaled contours when the values above the lowest span more than three decades (as the figures judge)."""
    f = program(*_grid(window, 60), "value")[0]
    finite = f[np.isfinite(f)]
    if finite.size < 2:
        return False
    p05, p95 = np.percentile(finite - finite.min(), [5, 95])
    return bool(p95 > 1e3 * max(p05, 1e-300))


def not_finite_share(surface, n: int = 120) -> float:
    """The share of the surface's window where f is not a finite number: it overflows there (exp(exp(x)) for
    x ≳ 6.5), or is undefined (log of a negative number). The map hatches that region."""
    with np.errstate(all="ignore"):
        values = surface.grid(n)[2]
    return float(np.mean(~np.isfinite(values)))
