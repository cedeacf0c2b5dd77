"""Learning-rate suggestions: the best α on a 1-2-5 grid, found with one batched run."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .custom import custom_surface
from .engine import _as_surface, run

LR_GRID = np.array([m * 10.0 ** e for e in range(-5, 2) for m in (1, 2, 5)])  # 1e-5 ... 50


def suggest_lr(surface, optimizer: str, start=None, steps: int = 500, rtol: float = 1e-3, **hparams) -> float:
    """A learning rate that teaches: the smallest grid rate whose final loss is within `rtol` of the initial gap
    of the best one, among runs that never leave the plot window's square.

    The best final loss alone favours wild rates that land near a minimum by luck; the smallest nearly-as-good
    rate gives a smooth path that still arrives.
    """
    surface = _as_surface(surface)
    sweep = run(surface, optimizer, start, steps, record=False, lr=LR_GRID,
                bound=max(abs(v) for v in surface.window), **hparams)
    gap = np.where(sweep.diverged_at >= 0, np.inf, sweep.final_loss)
    if not np.isfinite(gap).any():
        return float(LR_GRID[0])
    start_point = surface.start if start is None else start
    initial = surface.value(*start_point)
    good = gap <= gap.min() + rtol * abs(initial - gap.min())
    return float(LR_GRID[np.argmax(good)])


@lru_cache(maxsize=512)
def default_lr(surface_name: str, optimizer: str, expression: str = "") -> float:
    """suggest_lr for a surface with its default parameters and start: the learning rate a new race starts with.
    surface_name "custom" means the surface f(x, y) = expression."""
    if surface_name == "custom":
        return suggest_lr(custom_surface(expression), optimizer)
    return suggest_lr(surface_name, optimizer)
