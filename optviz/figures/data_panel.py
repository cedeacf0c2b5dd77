"""The data behind a data surface, for the race viewer: the examples as a scatter and, at every step, each
optimizer's fit line (linear regression) or decision boundary (logistic regression) clipped to the scatter.

    panel = data_panel(races, surface)   # plain JSON-ready dict, or None for a surface without data
    data_figure(panel, colors)           # the same as a small animated Plotly figure

Plain Python and NumPy: the viewer draws what this computes.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..surfaces import Surface
from ._plotly import FONT, figure, rounded, titled_legend
from .colors import palette

PAD = 0.08  # the scatter's window: the data's range, widened by this share on every side
CLASS_COLORS = ("#4c78a8", "#e45756")


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
    if model.kind == "linear":
        x, y, cls = model.inputs[:, 0], model.targets, None
        title = "Iris petals: each optimizer's fit ŷ = w·x + b"
        x_label, y_label = model.input_names[0], model.target_name
    else:
        x, y, cls = model.inputs[:, 0], model.inputs[:, 1], model.targets.astype(int).tolist()
        title = f"{' vs '.join(model.class_names).capitalize()}: each optimizer's boundary"
        x_label, y_label = model.input_names
    window = _window(x, y)
    digits = _digits(window)
    lines = []
    for traj in races.values():
        a, b, c = model.line(traj.path[:, 0], traj.path[:, 1])
        lines.append([v for segment in rounded(clip_line(a, b, c, window), digits) for v in segment])
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


def data_figure(panel: dict, labels: list[str], colors: dict[str, str] | None = None, *,
                frame_steps: np.ndarray | None = None, height: int = 420) -> go.Figure:
    """The panel as a Plotly figure: the scatter, and every optimizer's line animated over `frame_steps`
    (default: every step) with a step slider; for the app until the race viewer draws the panel itself."""
    colors = colors or palette(labels)
    lines = [np.array(line, dtype=float).reshape(-1, 4) for line in panel["lines"]]
    steps = np.arange(len(lines[0])) if frame_steps is None else np.asarray(frame_steps)
    points = panel["points"]
    data = []
    if points["cls"] is None:
        data.append(_scatter(points["x"], points["y"], "#666", "examples"))
    else:
        cls = np.array(points["cls"])
        for k, name in enumerate(panel["class_names"]):
            data.append(_scatter(np.array(points["x"])[cls == k], np.array(points["y"])[cls == k],
                                 CLASS_COLORS[k % 2], name))
    first = len(data)
    data += [_segment(line[steps[-1]], label, colors[label]) for line, label in zip(lines, labels)]
    frames = [dict(name=str(s), traces=list(range(first, len(data))),
                   data=[_segment(line[s], label, colors[label]) for line, label in zip(lines, labels)])
              for s in steps]
    # the step shows above the slider; a label under each of a hundred ticks would be a smudge
    slider = dict(active=len(steps) - 1, x=0.0, len=1.0, pad=dict(t=30), currentvalue=dict(prefix="step "),
                  ticklen=0, font=dict(color="rgba(0,0,0,0)"),
                  steps=[dict(method="animate", label=str(s), args=[[str(s)], dict(mode="immediate",
                         frame=dict(duration=0, redraw=False), transition=dict(duration=0))]) for s in steps])
    x0, x1, y0, y1 = panel["window"]
    axis = dict(showline=True, linecolor="#888", mirror=True, zeroline=False)
    layout = dict(height=height, font=FONT, plot_bgcolor="white", sliders=[slider],
                  legend=titled_legend(panel["title"]), margin=dict(l=60, r=20, t=80, b=40),
                  xaxis=dict(title=dict(text=panel["x_label"]), range=[x0, x1], **axis),
                  yaxis=dict(title=dict(text=panel["y_label"]), range=[y0, y1], **axis))
    return figure(data, layout, frames)


def _scatter(x, y, color: str, name: str) -> dict:
    return dict(type="scatter", x=np.asarray(x, float), y=np.asarray(y, float), mode="markers", name=name,
                marker=dict(size=6, color=color, opacity=0.7, line=dict(width=0)),
                hovertemplate="(%{x:.3g}, %{y:.3g})<extra>" + name + "</extra>")


def _segment(segment: np.ndarray, label: str, color: str) -> dict:
    x0, y0, x1, y1 = (None if not np.isfinite(v) else float(v) for v in segment)
    return dict(type="scatter", x=[x0, x1], y=[y0, y1], mode="lines", name=label, line=dict(color=color, width=2.5),
                hoverinfo="skip")
