"""Arrows at each optimizer's current point: where the gradient, the momentum and the actual step point.

At step t the arrows show the decision made there: −∇f at θ_t, minus the first moment (or velocity) after the
update and the update θ_{t+1} − θ_t itself, all starting from θ_t. Their directions are exact. Their lengths
grow with the log of their magnitudes, relative to the median magnitude of that kind of arrow over the race:
steps and gradients span many decades (AdaGrad's first steps are a million times SGD's on Rosenbrock), so
true lengths would be either invisible or off the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rows import first_moment


@dataclass(frozen=True)
class ArrowKind:
    key: str
    title: str
    short: str  # for the key and the arrow menu
    dash: str


ARROW_KINDS = (
    ArrowKind("gradient", "−gradient", "−∇f", "dot"),
    ArrowKind("moment", "−first moment / velocity", "−momentum", "dash"),
    ArrowKind("update", "update taken", "update", "solid"),
)
LENGTH = 0.08  # an arrow of median magnitude, as a fraction of the window's shorter side
MIN_SCALE, MAX_SCALE = 0.25, 2.0  # of LENGTH
PER_DECADE = 0.5  # of LENGTH added per decade above the median


def arrow_vectors(traj, steps: np.ndarray) -> dict[str, np.ndarray]:
    """Raw vectors (len(steps), 2) of each kind the run has, NaN where there is none (after the last step)."""
    n = traj.path.shape[0] - 1
    points = traj.path[steps]
    inside = steps < n  # the last point has no next update and no recorded moment
    k = np.minimum(steps, n - 1)
    if traj.grad is not None and n > 0:
        grad = np.where(inside[:, None], traj.grad[k], np.nan)
    else:
        grad = np.full_like(points, np.nan)
    missing = ~np.isfinite(grad).all(axis=1)
    if missing.any():  # the last point, or a run recorded without gradients: the surface's exact gradient
        with np.errstate(all="ignore"):
            gx, gy = traj.surface.grad(points[missing, 0], points[missing, 1])
        grad[missing] = np.column_stack([gx, gy])
    update = np.full_like(points, np.nan)
    update[inside] = traj.path[steps[inside] + 1] - points[inside]
    vectors = {"gradient": -grad, "update": update}
    moment = first_moment(traj)
    if moment is not None:
        vectors["moment"] = np.where(inside[:, None], -moment[k], np.nan)
    return vectors


def arrow_segments(vectors: dict[str, dict[str, np.ndarray]], points: dict[str, np.ndarray], window,
                   ) -> dict[tuple[str, str], np.ndarray]:
    """Segments (len(steps), 2 ends, 2 coordinates) keyed by (label, kind), scaled for display.

    `vectors` maps label -> kind -> raw vectors, `points` label -> the arrows' starts.
    """
    x0, x1, y0, y1 = window
    base = LENGTH * min(x1 - x0, y1 - y0)
    segments = {}
    for kind in ARROW_KINDS:
        found = {label: v[kind.key] for label, v in vectors.items() if kind.key in v}
        if not found:
            continue
        norms = {label: np.hypot(v[:, 0], v[:, 1]) for label, v in found.items()}
        pooled = np.concatenate(list(norms.values()))
        pooled = pooled[np.isfinite(pooled) & (pooled > 0)]
        reference = float(np.median(pooled)) if len(pooled) else 1.0
        for label, v in found.items():
            norm = norms[label]
            with np.errstate(all="ignore"):
                scale = np.clip(1 + PER_DECADE * np.log10(norm / reference), MIN_SCALE, MAX_SCALE)
                direction = v / norm[:, None]
            direction[~(norm > 0)] = np.nan  # no arrow for a zero vector
            start = points[label]
            segments[(label, kind.key)] = np.stack([start, start + direction * (base * scale)[:, None]], axis=1)
    return segments
