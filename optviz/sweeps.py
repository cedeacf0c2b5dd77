"""Hyperparameter exploration: two-hyperparameter sweeps, learning-rate tuning and sensitivity, basins of attraction.

    res = sweep("rosenbrock", "adam", "lr", axis_values("adam", "lr", 100), "beta1", axis_values("adam", "beta1", 100))
    res.metric("steps_to_tol")          # (100, 100), rows follow beta1, columns lr
    optviz.run(res.surface, res.optimizer, res.start, res.steps, **res.config(i, j))   # one cell, full traces
    best = tune("rosenbrock", ["adam", "sgd", "momentum"], also="beta1")
    curves = lr_sensitivity("rosenbrock", ["adam", "sgd"])
    b = basins("himmelblau", "sgd", n=200, lr=0.01)   # b.labels: which minimum each start ends in

Every function makes ONE batched engine call per optimizer: the configurations (or start points) are the rows of
one array, and the engine guarantees that each row equals the same run made alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .engine import Trajectory, _as_surface, run
from .optimizers import SPECS, OptimizerSpec, in_batches
from .optimizers import optimizer as make_optimizer
from .params import LR, Param
from .schedules import Schedule
from .surfaces import Surface

MAX_AXIS = 200  # values per axis: 200×200 = 40,000 configurations is what one batched run does in well under 1 s
MAX_CONFIGS = MAX_AXIS * MAX_AXIS
METRICS = ("final_loss", "steps_to_tol", "diverged")
OBJECTIVES = ("final_loss", "steps_to_tol")
LRS = 10.0 ** (np.arange(-50, 11) / 10)  # 1e-5 ... 10, ten per decade: the grid of tune() and lr_sensitivity()


# ---------------------------------------------------------------------------------------------------------------
# Axis values

def axis_scale(optimizer: str, param: str) -> str:
    """How a sweep axis of this hyperparameter is spaced: "log", "decay" (log-spaced in 1 − value) or "linear"."""
    return _scale(_param(_spec(optimizer), param))


def axis_values(optimizer: str, param: str, n: int, low: float | None = None, high: float | None = None
                ) -> np.ndarray:
    """n increasing values of one hyperparameter for a sweep axis, from `low` to `high` (both included).

    Log-scale parameters (learning rates, ε) are geometrically spaced; ε-like ones whose valid range includes 0
    over a positive sub-range. Decay rates in [0, 1) (β1, β2, momentum, RMSProp's α, Adadelta's ρ) are spaced
    evenly in log(1 − value), so 0.9, 0.99, 0.999 are as far apart as 0 and 0.9, and 1 itself is never reached.
    Anything else is linear. Default bounds are centred on the spec's default.
    """
    spec = _spec(optimizer)
    p = _param(spec, param)
    _check_count(n, "n")
    scale = _scale(p)
    default_low, default_high = _default_range(p, scale)
    low = default_low if low is None else low
    high = default_high if high is None else high
    _check_bounds(spec, p, scale, low, high)
    if scale == "log":
        values = np.geomspace(low, high, n)
    elif scale == "decay":
        values = 1 - np.geomspace(1 - low, 1 - high, n)
    else:
        values = np.linspace(low, high, n)
    values[0], values[-1] = low, high  # exact ends: 1 − (1 − 0.999) need not be 0.999
    if not (np.diff(values) > 0).all():
        raise ValueError(f"{spec.name} {p.name}: the range [{low:g}, {high:g}] is too narrow for {n} distinct values")
    return values


def _spec(optimizer: str) -> OptimizerSpec:
    """The catalogue entry of an optimizer sweeps, basins and tuning can run: many runs at once take an element-wise
    rule (in_batches); the others are refused in words."""
    spec = SPECS.get(optimizer) if isinstance(optimizer, str) else None
    if spec is None:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of: {', '.join(SPECS)}")
    if spec.name not in in_batches():
        raise ValueError(f"{spec.title} is raced one run at a time (its rule needs {spec.kind}): sweeps, basins and "
                         f"tuning step many runs at once, which takes a rule applied number by number")
    return spec


def _param(spec: OptimizerSpec, name: str) -> Param:
    """The spec of a sweepable hyperparameter: a number (a flag such as bias_correction has no axis)."""
    numeric = [p.name for p in spec.params if p.kind == "float"]
    found = next((p for p in spec.params if p.name == name), None)
    if found is None or found.kind != "float":
        what = "cannot be swept (it is not a number)" if found else "is not one of its hyperparameters"
        raise ValueError(f"{spec.name}: {name!r} {what}; sweepable: {', '.join(numeric)}")
    return found


def _scale(p: Param) -> str:
    if p.log:
        return "log"
    if p.decays:
        return "decay"
    return "linear"


def _spacing(scale: str):
    """Where a value sits on an axis of this scale (axis_values): log, log(1 − value) or the value itself."""
    return {"log": np.log, "decay": lambda v: np.log1p(-v), "linear": lambda v: v}[scale]


def _decade(value: float) -> int:
    """The power of ten nearest below `value` (the tiny nudge keeps log10(0.09999999999999998) at -1)."""
    return math.floor(math.log10(value) + 1e-9)


def _default_range(p: Param, scale: str) -> tuple[float, float]:
    default = float(p.default)
    if scale == "log":
        e = _decade(default)
        if p.low == 0 and not p.low_open:  # ε-like: from far below the default up to where it dominates (1)
            low, high = 10.0 ** (e - 4), 1.0
        else:  # learning-rate-like: three decades either side of the default
            low, high = 10.0 ** (e - 3), 10.0 ** (e + 3)
        return max(low, p.low), min(high, p.high)
    if scale == "decay":
        # up to 1 − 10⁻³, or a decade closer to 1 than the default (β2 = 0.999 → 0.9999): the default is inside
        gap = min(-3, _decade(1 - default) - 1) if default < 1 else -3
        return _inside(p, p.low, 1 - 10.0 ** gap)
    low = p.low if math.isfinite(p.low) else default - 1
    high = p.high if math.isfinite(p.high) else (10 * default if default > 0 else 1.0)
    return _inside(p, low, high)


def _inside(p: Param, low: float, high: float) -> tuple[float, float]:
    """(low, high), an end the range excludes moved 1 % of the way in (Rprop's η₋ ∈ (0, 1): from 0.01)."""
    span = high - low
    return (low + 0.01 * span if p.low_open and low == p.low else low,
            high - 0.01 * span if p.high_open and high == p.high else high)


def _check_count(n, what: str, low: int = 2) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not low <= n <= MAX_AXIS:
        raise ValueError(f"{what} must be an integer in [{low}, {MAX_AXIS}], got {n!r}")


def _check_bounds(spec: OptimizerSpec, p: Param, scale: str, low, high) -> None:
    where = f"{spec.name} {p.name}"
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: sweep bounds must be numbers, got low={low!r}, high={high!r}") from None
    inside = p.contains(np.array([low, high]))
    if not (math.isfinite(low) and math.isfinite(high) and inside.all()):
        raise ValueError(f"{where}: sweep bounds must lie in {p.describe_range()}, got low={low:g}, high={high:g}")
    if not low < high:
        raise ValueError(f"{where}: sweep bounds need low < high, got low={low:g}, high={high:g}")
    if scale == "log" and low <= 0:
        raise ValueError(f"{where} is log-spaced: low must be > 0 (0 has no place on a log axis), got {low:g}")
    if scale == "decay" and high >= 1:
        raise ValueError(f"{where} is spaced in 1 − {p.name}: high must be < 1, got {high:g}")


# ---------------------------------------------------------------------------------------------------------------
# Outcomes shared by every result

def _metric(name: str, final_loss: np.ndarray, converged_at: np.ndarray, diverged_at: np.ndarray) -> np.ndarray:
    """A float grid for colouring: NaN marks cells with no value (diverged, or never reached tol)."""
    if name == "final_loss":
        return np.where(diverged_at >= 0, np.nan, final_loss)
    if name == "steps_to_tol":
        return np.where(converged_at >= 0, converged_at, np.nan)
    if name == "diverged":
        return (diverged_at >= 0).astype(float)
    raise ValueError(f"unknown metric {name!r}; choose one of: {', '.join(METRICS)}")


def _check_start(start) -> tuple[float, float] | None:
    """Sweeps run every configuration from one point; a batch of starts is what basins() is for."""
    if start is None:
        return None
    point = np.asarray(start, dtype=float)
    if point.shape != (2,) or not np.isfinite(point).all():
        raise ValueError(f"start must be one finite point (x, y), got {start!r}")
    return float(point[0]), float(point[1])


def _fixed_hparams(name: str, fixed: dict[str, Any], swept: tuple[str, ...]) -> dict[str, Any]:
    """Validate the fixed hyperparameters of a sweep and fill in the defaults; swept names are left out."""
    taken = sorted(set(fixed) & set(swept))
    if taken:
        raise ValueError(f"{name}: {taken[0]!r} is swept, so it cannot also be given a fixed value")
    arrays = sorted(k for k, v in fixed.items() if np.ndim(v) > 0)
    if arrays:
        raise ValueError(f"{name}: fixed hyperparameters must be single values, but {arrays[0]!r} is an array")
    resolved = make_optimizer(name, **fixed).hparams  # raises on unknown names and out-of-range values
    return {k: v for k, v in resolved.items() if k not in swept}


def _check_values(spec: OptimizerSpec, p: Param, values) -> np.ndarray:
    array = np.asarray(p.validate(values, spec.name), dtype=float).reshape(-1)
    if np.ndim(values) != 1 or not 1 <= len(array) <= MAX_AXIS:
        raise ValueError(f"{spec.name} {p.name}: give a 1-D array of 1 to {MAX_AXIS} values, "
                         f"got shape {np.shape(values)}")
    return array


def _batched_run(surf: Surface, name: str, grid: dict[str, np.ndarray], fixed: dict[str, Any], start, steps: int,
                 tol: float, bound, schedule) -> Trajectory:
    """The one engine call of a sweep: `grid` maps hyperparameter names to (N,) arrays, one row per config."""
    return run(surf, name, start, steps, record=False, tol=tol, bound=bound, schedule=schedule, **fixed, **grid)


# ---------------------------------------------------------------------------------------------------------------
# Two-hyperparameter sweeps

@dataclass(frozen=True, eq=False)
class SweepResult:
    """Outcomes of a grid of configurations: row i has y_values[i], column j has x_values[j].

    `final_loss` is the loss at the final point (the last in-bounds one for diverged runs); `metric()` gives the
    grids to colour, with NaN where there is no value.
    """

    surface: Surface
    optimizer: str
    x_param: str
    x_values: np.ndarray  # (nx,)
    y_param: str
    y_values: np.ndarray  # (ny,)
    hparams: dict[str, Any]  # every other hyperparameter, defaults filled in
    start: tuple[float, float]
    steps: int
    tol: float
    final: np.ndarray  # (ny, nx, 2)
    final_loss: np.ndarray  # (ny, nx)
    converged_at: np.ndarray  # (ny, nx): first step within tol of a listed minimum, -1 never
    diverged_at: np.ndarray  # (ny, nx): first step out of bounds or non-finite, -1 never
    bound: float | None = None
    schedule: Schedule | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.final_loss.shape

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    @property
    def steps_to_tol(self) -> np.ndarray:
        """Steps until the run first came within tol of a listed minimum; NaN where it never did."""
        return self.metric("steps_to_tol")

    def metric(self, name: str) -> np.ndarray:
        """"final_loss" (NaN where diverged), "steps_to_tol" (NaN where never) or "diverged" (1.0 or 0.0)."""
        return _metric(name, self.final_loss, self.converged_at, self.diverged_at)

    def config(self, i: int, j: int) -> dict[str, Any]:
        """Every hyperparameter of the cell in row i (y_values[i]) and column j (x_values[j])."""
        ny, nx = self.shape
        if not (_is_index(i, ny) and _is_index(j, nx)):
            raise ValueError(f"cell ({i!r}, {j!r}) is outside the {ny}×{nx} grid")
        values = {**self.hparams, self.x_param: float(self.x_values[j]), self.y_param: float(self.y_values[i])}
        return _in_spec_order(self.optimizer, values)

    def trajectory(self, i: int, j: int, record=True, **changed) -> Trajectory:
        """The run of one cell again, with full traces: its outcome is exactly the cell's; or with some of its
        hyperparameters `changed` (a setting near the cell)."""
        return run(self.surface, self.optimizer, self.start, self.steps, record=record, tol=self.tol,
                   bound=self.bound, schedule=self.schedule, **{**self.config(i, j), **changed})

    def nearest(self, values: dict[str, float]) -> tuple[int, int]:
        """The cell (row, column) nearest to the axes' hyperparameters in `values`, each measured as its axis is
        spaced (a learning rate by its ratio, a decay rate by 1 − β's ratio)."""
        def index(axis: np.ndarray, param: str) -> int:
            spaced = _spacing(axis_scale(self.optimizer, param))
            with np.errstate(divide="ignore", invalid="ignore"):
                gaps = np.abs(spaced(axis) - spaced(np.float64(values[param])))
            return int(np.nanargmin(np.where(np.isfinite(gaps), gaps, np.inf)))

        return index(self.y_values, self.y_param), index(self.x_values, self.x_param)


def _in_spec_order(optimizer: str, values: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters in the order of the optimizer's spec, the order the UI lists them in."""
    return {p.name: values[p.name] for p in SPECS[optimizer].params}


def _is_index(i, size: int) -> bool:
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool) and 0 <= i < size


def sweep(surface, optimizer: str, x_param: str, x_values, y_param: str, y_values, *, start=None, steps: int = 500,
          tol: float = 1e-3, bound: float | None = None, schedule: Schedule | None = None, **fixed) -> SweepResult:
    """Run every (x, y) pair of two hyperparameters as one batched run: len(y_values) × len(x_values) configs.

    Other hyperparameters are their defaults unless given in `fixed`. Values are validated against the spec.
    """
    spec = _spec(optimizer)
    if x_param == y_param:
        raise ValueError(f"{spec.name}: the two sweep axes must be different hyperparameters, both are {x_param!r}")
    px, py = _param(spec, x_param), _param(spec, y_param)
    xs, ys = _check_values(spec, px, x_values), _check_values(spec, py, y_values)
    hparams = _fixed_hparams(spec.name, fixed, (x_param, y_param))
    surf = _as_surface(surface)
    start = _check_start(start) or surf.start
    # row-major: configuration i·nx + j is cell (i, j), so the outcome arrays reshape straight into grids
    grid = {x_param: np.tile(xs, len(ys)), y_param: np.repeat(ys, len(xs))}
    out = _batched_run(surf, spec.name, grid, hparams, start, steps, tol, bound, schedule)
    shape = (len(ys), len(xs))
    return SweepResult(surf, spec.name, x_param, xs, y_param, ys, hparams, start, steps, tol,
                       out.final.reshape(shape + (2,)), out.final_loss.reshape(shape), out.converged_at.reshape(shape),
                       out.diverged_at.reshape(shape), bound, schedule)


# ---------------------------------------------------------------------------------------------------------------
# Learning-rate tuning and sensitivity

@dataclass(frozen=True, eq=False)
class TuneResult:
    """The best configuration of one optimizer on a learning-rate grid (optionally × one more hyperparameter).

    Grids have shape (len(lrs),), or (len(also_values), len(lrs)) when `also` was tuned jointly. `curve` is the
    objective per configuration (NaN where diverged, or where tol was never reached for "steps_to_tol").
    When every run diverged nothing wins: `hparams` and `index` are None and `value` is NaN.
    """

    optimizer: str
    objective: str
    hparams: dict[str, Any] | None  # the winner's full hyperparameters
    value: float  # the objective at the winner: final loss, or steps to tol (NaN if it never got there)
    index: tuple[int, ...] | None  # the winner's position in the grids
    lrs: np.ndarray
    also: str | None
    also_values: np.ndarray | None
    curve: np.ndarray
    final_loss: np.ndarray
    converged_at: np.ndarray
    diverged_at: np.ndarray

    @property
    def lr(self) -> float | None:
        return None if self.hparams is None else self.hparams[LR]

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0


class Curve(NamedTuple):
    """Metric against learning rate for one optimizer; `diverged` marks the rates whose run blew up."""

    lrs: np.ndarray
    values: np.ndarray
    diverged: np.ndarray


def tune(surface, optimizers, *, start=None, steps: int = 500, objective: str = "final_loss", also=None,
         lrs=None, also_n: int = 10, tol: float = 1e-3, bound: float | None = None, hparams: dict | None = None,
         **fixed) -> dict[str, TuneResult]:
    """Each optimizer's best learning rate on a log grid, from one batched run per optimizer.

    objective "final_loss": the lowest final loss. "steps_to_tol": the fewest steps to come within tol of a
    listed minimum, ties broken by final loss; runs that never get there rank after all that do (by final loss).
    Diverged runs never win, and exact ties go to the smaller learning rate: the more stable choice.

    `also` names a hyperparameter or a role (or several, e.g. ("beta1", "momentum"), or params.MOMENTUM: each
    optimizer's β1 or μ) tuned jointly with lr on `also_n` axis_values() for each optimizer that has it (the first
    listed that it has); the others tune lr alone.
    `fixed` applies to each optimizer that has the name; `hparams` maps an optimizer to settings of its own.
    """
    names = _optimizer_names(optimizers)
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of: {', '.join(OBJECTIVES)}")
    also_names = _also_names(also)
    lrs = _lr_grid(lrs)
    _check_count(also_n, "also_n")
    surf, start = _as_surface(surface), _check_start(start)
    shared, own = _shared_hparams(names, fixed), _own_hparams(names, hparams)
    results = {}
    for name in names:  # one batched run per optimizer: different optimizers are different update rules
        spec = SPECS[name]
        joint = next((p.name for a in also_names for p in spec.params if a in (p.name, p.role)), None)
        mine = {**shared[name], **own[name]}
        also_values = axis_values(name, joint, also_n) if joint else None
        results[name] = _tune_one(surf, spec, lrs, joint, also_values, mine, objective, start, steps, tol, bound)
    return results


def _tune_one(surf, spec, lrs, joint, also_values, given, objective, start, steps, tol, bound) -> TuneResult:
    swept = (LR,) + ((joint,) if joint else ())
    fixed = _fixed_hparams(spec.name, given, swept)
    shape = (len(also_values), len(lrs)) if joint else (len(lrs),)
    lr_grid = np.broadcast_to(lrs, shape)
    grid = {LR: lr_grid.ravel()}
    also_grid = np.zeros(shape)  # a constant tie-breaker when there is no second axis
    if joint:
        also_grid = np.broadcast_to(also_values[:, None], shape)
        grid[joint] = also_grid.ravel()
    out = _batched_run(surf, spec.name, grid, fixed, start, steps, tol, bound, None)
    final_loss, converged_at, diverged_at = (a.reshape(shape) for a in (out.final_loss, out.converged_at,
                                                                        out.diverged_at))
    best = _best(objective, final_loss, converged_at, diverged_at, lr_grid, also_grid)
    curve = _metric(objective, final_loss, converged_at, diverged_at)
    chosen = value = None
    if best is not None:
        chosen = _in_spec_order(spec.name, {**fixed, **{k: float(v.reshape(shape)[best]) for k, v in grid.items()}})
        value = float(curve[best])
    return TuneResult(spec.name, objective, chosen, math.nan if value is None else value, best, lrs, joint,
                      also_values, curve, final_loss, converged_at, diverged_at)


def _best(objective, final_loss, converged_at, diverged_at, lr, also) -> tuple[int, ...] | None:
    """The winning cell: lexicographic on (steps to tol,) final loss, lr, second hyperparameter; None if all
    diverged. Non-finite losses count as diverged: they can never be the best."""
    alive = (diverged_at < 0) & np.isfinite(final_loss)
    if not alive.any():
        return None
    keys = [np.ravel(also), np.ravel(lr), np.where(alive, final_loss, np.inf).ravel()]  # last key sorts first
    if objective == "steps_to_tol":
        keys.append(np.where(alive & (converged_at >= 0), converged_at, np.inf).ravel())
    first = int(np.lexsort(keys)[0])
    return tuple(int(i) for i in np.unravel_index(first, final_loss.shape))


def lr_sensitivity(surface, optimizers, lrs=None, *, start=None, steps: int = 500, metric: str = "final_loss",
                   hparams: dict | None = None, tol: float = 1e-3, bound: float | None = None) -> dict[str, Curve]:
    """How forgiving each optimizer is: `metric` against the learning rate, one batched run per optimizer.

    Values follow SweepResult.metric (NaN where diverged, or where tol was never reached). `hparams` maps an
    optimizer name to its other settings.
    """
    names = _optimizer_names(optimizers)
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    lrs = _lr_grid(lrs)
    surf, start = _as_surface(surface), _check_start(start)
    own = _own_hparams(names, hparams)
    curves = {}
    for name in names:
        fixed = _fixed_hparams(name, own[name], (LR,))
        out = _batched_run(surf, name, {LR: lrs}, fixed, start, steps, tol, bound, None)
        curves[name] = Curve(lrs, _metric(metric, out.final_loss, out.converged_at, out.diverged_at),
                             out.diverged_at >= 0)
    return curves


def _optimizer_names(optimizers) -> list[str]:
    names = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    if not names:
        raise ValueError("give at least one optimizer")
    for name in names:
        _spec(name)
    if len(set(names)) < len(names):
        raise ValueError(f"each optimizer may appear once, got {names}")
    return names


def _also_names(also) -> tuple[str, ...]:
    names = () if also is None else (also,) if isinstance(also, str) else tuple(also)
    known = {p.name for spec in SPECS.values() for p in spec.params if p.kind == "float"}
    for name in names:
        if name == LR:
            raise ValueError("also names the second hyperparameter to tune; lr is always tuned")
        if name not in known:
            raise ValueError(f"also: no optimizer has a hyperparameter {name!r}")
    return names


def _lr_grid(lrs) -> np.ndarray:
    if lrs is None:
        return LRS
    array = np.asarray(lrs, dtype=float)
    if array.ndim != 1 or not 1 <= len(array) <= MAX_CONFIGS:
        raise ValueError(f"lrs must be a 1-D array of 1 to {MAX_CONFIGS} learning rates, got shape {array.shape}")
    bad = ~(np.isfinite(array) & (array > 0))
    if bad.any():
        raise ValueError(f"learning rates must be positive numbers, got {array[bad][0]:g}")
    return array


def _own_hparams(names: list[str], hparams: dict | None) -> dict[str, dict[str, Any]]:
    """Per-optimizer settings, {name: {hyperparameter: value}}; a name outside the list is a mistake."""
    hparams = hparams or {}
    unknown = sorted(set(hparams) - set(names))
    if unknown:
        raise ValueError(f"hparams names {unknown[0]!r}, which is not among the optimizers: {', '.join(names)}")
    return {n: dict(hparams.get(n, {})) for n in names}


def _shared_hparams(names: list[str], fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Split settings shared by several optimizers: each gets those it has; a name none has is a mistake."""
    orphans = sorted(k for k in fixed if not any(k in SPECS[n].defaults for n in names))
    if orphans:
        raise ValueError(f"none of {', '.join(names)} has a hyperparameter {orphans[0]!r}")
    return {n: {k: v for k, v in fixed.items() if k in SPECS[n].defaults} for n in names}


# ---------------------------------------------------------------------------------------------------------------
# Basins of attraction

@dataclass(frozen=True, eq=False)
class BasinResult:
    """Where runs started on an n×n grid end up: row i starts at y = ys[i], column j at x = xs[j].

    labels: index of the listed minimum the final point lies within `tol` of, -1 "did not settle", -2 diverged.
    """

    surface: Surface
    optimizer: str
    hparams: dict[str, Any]
    window: tuple[float, float, float, float]
    xs: np.ndarray
    ys: np.ndarray
    steps: int
    tol: float  # the settling radius
    labels: np.ndarray  # (n, n) int
    final: np.ndarray  # (n, n, 2)
    final_loss: np.ndarray  # (n, n)
    converged_at: np.ndarray  # (n, n): first step within tol of a listed minimum, -1 never
    diverged_at: np.ndarray  # (n, n), -1 never
    bound: float | None = None
    schedule: Schedule | None = None

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    @property
    def loss_grid(self) -> np.ndarray | None:
        """Final loss (NaN where diverged) for surfaces with at most one listed minimum, where labels say little
        and the app colours by loss instead; None otherwise."""
        if len(self.surface.minima) > 1:
            return None
        return _metric("final_loss", self.final_loss, self.converged_at, self.diverged_at)

    def trajectory(self, i: int, j: int, record=True) -> Trajectory:
        """The run from the start in row i, column j again, with full traces."""
        n = len(self.xs)
        if not (_is_index(i, n) and _is_index(j, n)):
            raise ValueError(f"cell ({i!r}, {j!r}) is outside the {n}×{n} grid")
        return run(self.surface, self.optimizer, (float(self.xs[j]), float(self.ys[i])), self.steps, record=record,
                   tol=self.tol, bound=self.bound, schedule=self.schedule, **self.hparams)


def basins(surface, optimizer: str, n: int = 100, *, window=None, steps: int = 500, tol: float | None = None,
           bound: float | None = None, schedule: Schedule | None = None, **hparams) -> BasinResult:
    """Run the optimizer from every point of an n×n grid over `window` (default: the surface's) in one batch.

    A run settles in a minimum when its final point lies within `tol` of it; the default, settle_radius(), is
    5% of the window's larger side, and less than half the gap between any two listed minima.
    """
    spec = _spec(optimizer)
    _check_count(n, "n")
    surf = _as_surface(surface)
    window = _check_window(surf.window if window is None else window)
    radius = settle_radius(surf, window) if tol is None else tol
    if not (np.isscalar(radius) and np.isfinite(radius) and radius > 0):
        raise ValueError(f"tol (the settling radius) must be a positive number, got {tol!r}")
    fixed = _fixed_hparams(spec.name, hparams, ())
    xs, ys = np.linspace(window[0], window[1], n), np.linspace(window[2], window[3], n)
    x, y = np.meshgrid(xs, ys)  # row i is y = ys[i], as in every grid here
    out = run(surf, spec.name, np.column_stack([x.ravel(), y.ravel()]), steps, record=False, tol=radius,
              bound=bound, schedule=schedule, **fixed)
    index, distance = surf.nearest_minimum(out.final)
    labels = np.where(distance <= radius, index, -1)  # NaN distance (no minima) compares False: -1
    labels[out.diverged_at >= 0] = -2
    grid = (n, n)
    return BasinResult(surf, spec.name, fixed, window, xs, ys, steps, float(radius), labels.reshape(grid),
                       out.final.reshape(grid + (2,)), out.final_loss.reshape(grid), out.converged_at.reshape(grid),
                       out.diverged_at.reshape(grid), bound, schedule)


def settle_radius(surface, window=None) -> float:
    """5% of the window's larger side, capped at a quarter of the smallest gap between listed minima so that no
    final point is near two of them. Small enough to tell Rastrigin's global minimum from the ripples beside it."""
    surf = _as_surface(surface)
    x0, x1, y0, y1 = surf.window if window is None else window
    radius = 0.05 * max(x1 - x0, y1 - y0)
    minima = surf.minima
    if len(minima) > 1:
        gaps = np.linalg.norm(minima[:, None] - minima[None], axis=-1)
        radius = min(radius, 0.25 * gaps[np.triu_indices(len(minima), 1)].min())
    return float(radius)


def _check_window(window) -> tuple[float, float, float, float]:
    try:
        x0, x1, y0, y1 = (float(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"window must be (x_min, x_max, y_min, y_max), got {window!r}") from None
    if not (all(map(math.isfinite, (x0, x1, y0, y1))) and x0 < x1 and y0 < y1):
        raise ValueError(f"window must be finite with x_min < x_max and y_min < y_max, got {window!r}")
    return x0, x1, y0, y1
