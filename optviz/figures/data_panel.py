"""The data behind a data surface, for the race viewer: the examples as a scatter and, at every step, each
optimizer's fit line (linear regression) or decision boundary (logistic regression) clipped to the scatter.

    panel = data_panel(races, surface)   # plain JSON-ready dict, or None for a surface without data
    race_payload(races, surface, data_panel=panel)   # the race viewer draws it beside the map

Plain Python and NumPy: the viewer draws what this computes.
"""

from __future__ import annotations

import numpy as np

from ..surfaces import Surface

PAD = 0.08  # the scatter's window: the data's range, widened by this share on every side (as the viewer's)
MAX_POINTS = 2000  # a larger data set shows this many of its examples, evenly spread over its rows
JITTER = 0.06  # labels 0 and 1 drawn as bands of this half-height (seeded), so that stacked examples show


def data_panel(races: dict, surface: Surface | None = None) -> dict | None:
    """The data panel of a race on a data surface; None if the surface is not defined by data.

    {"title", "x_label", "y_label",
     "points": {"x": [...], "y": [...], "cls": [0/1 per point] or None},
     "lines": one list per optimizer in race order, (steps+1)·4 numbers x0, y0, x1, y1 per step: the segment of
              the model's line inside the window at that step, None × 4 where there is none (diverged, or the
              line misses the window),
     "window": [x_min, x_max, y_min, y_max], "class_names": [...],
     "epochs_per_step": per optimizer, batch size / examples (a step's cost in epochs)}
    """
    surface = surface or next(iter(races.values())).surface
    model = surface.model
    if model is None:
        return None
    x, y, cls = model.points()
    if model.kind == "linear":
        title = f"{model.data_name}: each optimizer's fit ŷ = w·x + b"
        x_label, y_label = model.input_names[0], model.target_name
    elif model.bias:
        title = f"{model.data_name}: thresholds w·x + b = 0"
        x_label, y_label = model.input_names[0], f"{model.target_name} (0 or 1)"
        y = y + JITTER * np.random.default_rng(0).uniform(-1, 1, len(y))
    else:
        title = f"{' vs '.join(model.class_names).capitalize()}: each optimizer's boundary"
        x_label, y_label = model.input_names
    if len(x) > MAX_POINTS:
        shown = np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int)
        x, y, cls = x[shown], y[shown], None if cls is None else cls[shown]
        x_label += f" · {MAX_POINTS:,} of {model.n:,} examples shown"
    cls = None if cls is None else cls.tolist()
    window = _window(x, y)
    digits = _digits(window)
    lines = []
    for traj in races.values():
        a, b, c = model.line(traj.path[:, 0], traj.path[:, 1])
        segments = np.round(clip_line(a, b, c, window), digits).reshape(-1)
        lines.append([float(v) if np.isfinite(v) else None for v in segments])
    return {"title": title, "x_label": x_label, "y_label": y_label,
            "points": {"x": np.round(x, 6).tolist(), "y": np.round(y, 6).tolist(), "cls": cls},
            "lines": lines, "window": [float(v) for v in window], "class_names": list(model.class_names),
            "epochs_per_step": [traj.surface.params["batch_size"] / model.n for traj in races.values()]}


def _window(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    dx, dy = np.ptp(x) or 1.0, np.ptp(y) or 1.0
    return (float(x.min() - PAD * dx), float(x.max() + PAD * dx), float(y.min() - PAD * dy),
            float(y.max() + PAD * dy))


def _digits(window) -> int:
    span = min(window[1] - window[0], window[3] - window[2])
    return int(max(0, 4 - np.floor(np.log10(span))))


def clip_line(a, b, c, window) -> np.ndarray:
    """The segments of the lines a·x + b·y = c (arrays of one shape) inside window (x0, x1, y0, y1): shape
    (..., 4) as x0, y0, x1, y1, NaN where a line misses the window or is undefined (a = b = 0, or not finite).

    Each line is first cut where it crosses the window's two sides it meets most steeply, then clipped to the
    other two (Liang–Barsky).
    """
    x_min, x_max, y_min, y_max = window
    a, b, c = (np.asarray(v, dtype=float) for v in (a, b, c))
    with np.errstate(all="ignore"):
        flat = np.abs(b) >= np.abs(a)  # closer to horizontal: cut at the left and right sides
        start = np.where(flat, x_min, (c - b * y_min) / a), np.where(flat, (c - a * x_min) / b, y_min)
        end = np.where(flat, x_max, (c - b * y_max) / a), np.where(flat, (c - a * x_max) / b, y_max)
        dx, dy = end[0] - start[0], end[1] - start[1]
        low, high = np.zeros(a.shape), np.ones(a.shape)
        missed = ~(np.isfinite(dx) & np.isfinite(dy))
        for p, q in ((-dx, start[0] - x_min), (dx, x_max - start[0]), (-dy, start[1] - y_min),
                     (dy, y_max - start[1])):
            ratio = q / p
            low = np.where(p < 0, np.maximum(low, ratio), low)
            high = np.where(p > 0, np.minimum(high, ratio), high)
            missed |= (p == 0) & (q < 0)
        missed |= low > high
        out = np.stack([start[0] + low * dx, start[1] + low * dy, start[0] + high * dx, start[1] + high * dy], -1)
    out[missed] = np.nan
    return out
