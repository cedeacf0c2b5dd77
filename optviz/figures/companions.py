"""Companion paths: the other sequences of points an optimizer keeps besides θ, drawn thin beside its path on the map.

Which recorded quantity is a sequence of points, and how it is drawn, follows from its role in the catalogue
(the spec's role_of), never from the optimizer's name: an averaged iterate (ASGD's ax, schedule-free's x, the point
the model is evaluated at) dashed, another iterate (schedule-free's z) dotted, Lookahead's slow weights dashed, and
the point after each inner iteration of a step (L-BFGS) as dots joined by a thin line. θ itself, the solid path, is
the parameter the optimizer holds while it trains: where the gradient is taken (schedule-free's y, as the
schedulefree package keeps it in train mode; its eval() swaps in x).

A companion is a run of points with, per step k = 0..steps, how many of them have been reached by then (the
viewer draws those, up to the playhead): a per-step trace has one point per step (values after steps 1..k), an
inner iteration's iterates as many per step as the step's iterations (the first point is the start).

    companions(races["schedule_free_adamw"])   # [Companion("x_avg", …, dash "dash"), Companion("z", …)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..optimizers import AVERAGED_ITERATE, ITERATE
from ..second_order import ITERATES, SLOW_WEIGHTS


@dataclass(frozen=True)
class Style:
    """How a companion of this role is drawn, and what it is, in words ({name}: the recorded quantity)."""

    role: str
    dash: str  # the viewer's dashes: "solid", "dash", "dot"
    width: float  # a share of the path's width
    dots: bool  # a dot at every point
    meaning: str


STYLES = (
    Style(AVERAGED_ITERATE, "dash", 0.55, False,
          "{name}, dashed: the average, where the model is evaluated (the point its paper reports); the solid path "
          "is θ, the parameter it trains, where the gradient is taken"),
    Style(ITERATE, "dot", 0.55, False,
          "{name}, dotted: the iterate the plain gradient steps move; θ lies between it and the average"),
    Style(SLOW_WEIGHTS, "dash", 0.55, False,
          "{name}, dashed: the slow weights, which θ is pulled back to every k steps"),
    Style(ITERATES, "solid", 0.3, True,
          "{name}, dots: the point after each inner iteration of a step; the solid path joins the steps' ends"),
)
_BY_ROLE = {style.role: style for style in STYLES}


@dataclass(frozen=True)
class Companion:
    name: str  # the recorded quantity
    label: str  # what it is, in words
    points: np.ndarray  # (n, 2)
    reached: np.ndarray  # (steps + 1,) ints: how many of the points are reached by step k
    style: Style
    trace: str | None  # the per-step trace it is (the browser's engine records it by that name too), else None


def companions(traj) -> list[Companion]:
    """The companion paths of a recorded trajectory, in STYLES order: its per-step traces and per-iteration
    recordings whose role is a sequence of points."""
    spec, steps = traj.optimizer.spec, len(traj.path) - 1
    found = []
    for name, values in (traj.trace or {}).items():
        style = _BY_ROLE.get(spec.role_of(name))
        if style is not None and np.shape(values) == (steps, 2):
            found.append(Companion(name, style.meaning.format(name=name), np.asarray(values, dtype=float),
                                   np.arange(steps + 1), style, name))
    for name, values in (traj.inner or {}).items():
        style = _BY_ROLE.get(spec.role_of(name))
        if style is not None and np.ndim(values) == 3 and np.shape(values)[-1] == 2:
            points, reached = _inner_points(traj.path[0], np.asarray(values, dtype=float))
            found.append(Companion(name, style.meaning.format(name=name), points, reached, style, None))
    return sorted(found, key=lambda c: STYLES.index(c.style))


def _inner_points(start: np.ndarray, iterates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The start, then each step's inner iterates (steps, iterations, 2; NaN past a step's last) in order, and how
    many of them are reached by step k. A race by gradient evaluations (engine.per_evaluation) repeats a step's
    iterates while its point is held: they count once, where the point is reached."""
    repeated = np.zeros(len(iterates), dtype=bool)
    repeated[1:] = np.all((iterates[1:] == iterates[:-1]) | np.isnan(iterates[1:]) & np.isnan(iterates[:-1]),
                          axis=(1, 2))
    done = np.isfinite(iterates).all(axis=-1) & ~repeated[:, None]  # (steps, iterations)
    points = np.concatenate([np.asarray(start, dtype=float).reshape(1, 2), iterates[done]])
    reached = 1 + np.concatenate([[0], np.cumsum(done.sum(axis=1))])
    return points, reached
