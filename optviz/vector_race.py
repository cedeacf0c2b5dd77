"""Runs of the optimizers that are not element-wise (optviz.second_order) on a surface, a Python loop per step.

    history = simulate(surface, optimizer, starts, steps, noise)      # points, gradients, traces, evaluations
    history = simulate(..., budget=300)   # as many steps as 300 gradient evaluations allow (a race by evaluations)

The surface is the `Objective`: its value, the gradient the race's step t sees (a data surface's mini-batch, plus
the step's gradient noise, at every point a step evaluates) and its Hessian (`Surface.hessian_at`: analytic where
the surface declares one, else central differences of the analytic gradient). The engine (optviz/engine.py) turns
a history into Trajectory objects as it does for the compiled loops; a run stops moving once it leaves the bound
or turns non-finite (the engine marks it diverged there).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .objective import Objective
from .second_order import VectorOptimizer
from .surfaces import Surface


class History(NamedTuple):
    """What a run recorded: points (steps+1, 2, rows), gradients (steps, 2, rows), traces {name: (steps, rows)
    or (steps, rows, 2)}, evaluations (steps+1, rows): the gradient evaluations used by the time each point was
    reached, and inner {name: (steps, rows, …)}: what the steps recorded per inner iteration."""

    points: np.ndarray
    grads: np.ndarray
    traces: dict[str, np.ndarray]
    evaluations: np.ndarray
    inner: dict[str, np.ndarray]


def surface_objective(surf: Surface, t: int, noise: np.ndarray | None = None) -> Objective:
    """The loss as step t sees it: the value, step t's gradient (and noise), the Hessian."""
    extra = 0.0 if noise is None else noise[t - 1]

    def grad(p):
        return np.array(surf.step_grad(p[0], p[1], t), dtype=float) + extra

    return Objective(lambda p: float(surf.value(p[0], p[1])), grad, lambda p: surf.hessian_at(p[0], p[1]))


def simulate(surf: Surface, opt: VectorOptimizer, starts: np.ndarray, steps: int, noise: np.ndarray | None = None,
             bound: float | None = None, budget: int | None = None) -> History:
    """Each start (rows, 2) stepped `steps` times, or, with a `budget`, until it has used that many gradient
    evaluations (at most `steps` steps; a run whose budget is spent stays where it is)."""
    bound = bound or surf.bound
    rows = len(starts)
    points = np.full((steps + 1, 2, rows), np.nan)
    grads = np.full((steps, 2, rows), np.nan)
    evaluations = np.zeros((steps + 1, rows), dtype=np.int64)
    traces: dict[str, np.ndarray] = {}
    inner: dict[str, np.ndarray] = {}
    points[0] = starts.T
    with np.errstate(all="ignore"):  # divergence is an outcome here, not an error
        for row, start in enumerate(starts):
            _run(surf, opt, start, steps, noise, bound, budget, row, points, grads, evaluations, traces, inner)
    return History(points, grads, traces, evaluations, inner)


def _run(surf, opt, start, steps, noise, bound, budget, row, points, grads, evaluations, traces, inner) -> None:
    params, state, used = np.array(start, dtype=float), opt.init(start), 0
    for t in range(1, steps + 1):
        if budget is not None and used >= budget:  # spent: it stays, and its count with it
            points[t:, :, row], evaluations[t:, row] = params, used
            return
        try:
            params, state, report = opt.step(params, state, surface_objective(surf, t, noise))
        except np.linalg.LinAlgError:  # a Hessian LAPACK cannot take (overflowing): diverged
            evaluations[t:, row] = used
            return
        used += report.evaluations
        points[t, :, row], grads[t - 1, :, row], evaluations[t:, row] = params, report.grad, used
        _keep(traces, report.trace, t, row, steps, points.shape[2])
        _keep(inner, report.inner or {}, t, row, steps, points.shape[2])
        if not (np.isfinite(params).all() and np.abs(params).max() <= bound):
            return  # diverged: what it had spent stands for the rest


def _keep(recorded: dict[str, np.ndarray], values: dict[str, np.ndarray], t: int, row: int, steps: int,
          rows: int) -> None:
    """Write step t's values into the recording (steps, rows, …), made on first sight, NaN where never written."""
    for name, value in values.items():
        if name not in recorded:
            recorded[name] = np.full((steps, rows) + np.shape(value), np.nan)
        recorded[name][t - 1, row] = value
