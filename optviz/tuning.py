"""Learning-rate suggestions: the best α on a 1-2-5 grid, found with one batched run."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .custom import custom_surface
from .engine import _as_surface, run
from .optimizers import SPECS, in_batches
from .params import LR
from .second_order import INNER

LR_GRID = np.array([m * 10.0 ** e for e in range(-5, 2) for m in (1, 2, 5)])  # 1e-5 ... 50


MAP_MARGIN = 0.5  # a tuned run may leave the map by half the map's size on any side, no further


def suggest_lr(surface, optimizer: str, start=None, steps: int = 500, rtol: float = 1e-3,
               compile_in_background: bool = False, **hparams) -> float:
    """A learning rate that teaches: the smallest grid rate whose final loss is within `rtol` of the initial gap
    of the best one, among runs that stay near the map (within MAP_MARGIN of its window on every side).

    The best final loss alone favours wild rates that land near a minimum by luck; the smallest nearly-as-good
    rate gives a smooth path that still arrives. "Near the map" is measured from the window itself: a square
    ±max|window| about the origin left no room on the far side of a window that is not centred there (a typed
    Rosenbrock's (−1, 3)², whose start sits near its edge), and Adam's useful rates counted as diverged.
    compile_in_background: as engine.race's.
    """
    surface = _as_surface(surface)
    sweep = run(surface, optimizer, start, steps, record="path", lr=LR_GRID,
                compile_in_background=compile_in_background, **hparams)
    gap = np.where((sweep.diverged_at >= 0) | ~near_window(sweep.path, surface.window), np.inf, sweep.final_loss)
    if not np.isfinite(gap).any():
        return float(LR_GRID[0])
    start_point = surface.start if start is None else start
    initial = surface.value(*start_point)
    good = gap <= gap.min() + rtol * abs(initial - gap.min())
    return float(LR_GRID[np.argmax(good)])


def near_window(paths: np.ndarray, window, margin: float = MAP_MARGIN) -> np.ndarray:
    """For paths of shape (steps + 1, N, 2): whether each stays within `window` widened by `margin` times its
    width and height on every side (a NaN point, after divergence, does not)."""
    x0, x1, y0, y1 = window
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    with np.errstate(invalid="ignore"):
        inside = ((paths[..., 0] >= x0 - dx) & (paths[..., 0] <= x1 + dx)
                  & (paths[..., 1] >= y0 - dy) & (paths[..., 1] <= y1 + dy))
    return inside.all(axis=0)


def tuned_by(optimizer: str, inner: str | None = None) -> str | None:
    """Whose grid of learning rates suits `optimizer`: its own if the compiled loops step it (a grid of rates at
    once), a wrapper's inner optimizer's (`inner`, else the default one: it takes the steps), or None: the others
    are raced one run at a time, and keep their reference's default rate."""
    if optimizer in in_batches():
        return optimizer
    wrapped = inner or SPECS[optimizer].defaults.get(INNER)
    return wrapped if wrapped in in_batches() else None


@lru_cache(maxsize=512)  # a float per (surface, optimizer, typed formula)
def default_lr(surface_name: str, optimizer: str, expression: str = "") -> float:
    """suggest_lr for a surface with its default parameters and start: the learning rate a new race starts with,
    at once (its runs' loops compile in the background). surface_name "custom" means the surface f(x, y) =
    expression."""
    tuned = tuned_by(optimizer)
    if tuned is None:
        return float(SPECS[optimizer].defaults[LR])
    if tuned != optimizer:
        return default_lr(surface_name, tuned, expression)
    surface = custom_surface(expression) if surface_name == "custom" else surface_name
    return suggest_lr(surface, optimizer, compile_in_background=True)
