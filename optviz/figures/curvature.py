"""Figures of curvature and learning rates on MNIST: the sharpness against the optimizer's stability threshold, the
edge of stability in full-batch training, the learning-rate range test, and gauges of Adam's steps per layer.
Plotly only."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .mnist import AXIS, CHANGE_COLOR, change_marks
from .ticks import log_ticks


def sharpness_figure(curvature: dict[str, list[dict]], *, changes: dict[str, list[dict]] | None = None,
                     names: dict | None = None, height: int = 360, title: str = "") -> go.Figure:
    """The sharpness of each run against its stability threshold, over steps (log y: Adam's thresholds are
    thousands, SGD's tens).

    curvature: label -> measurements {"step", "sharpness", "threshold", "preconditioned", "formula"}
    (SharpnessTracker's records); the threshold is drawn dashed in the run's colour, as the step function it is
    (it moves when α does). A measurement above its threshold is a cross: there α·λ exceeds what the step bears,
    so the run is unstable along that direction and the sharpness is pushed back down. changes: label -> records
    {"step", "hparams", "batch_size"}, each a dotted vertical line with what changed.
    """
    colors = palette(list(curvature), names)
    data, values = [], []
    for rank, (label, records) in enumerate(curvature.items()):
        color = colors[label]
        measured = [r for r in records if r.get("sharpness") is not None]
        steps = np.array([r["step"] for r in measured], dtype=float)
        sharp = np.array([r["sharpness"] for r in measured], dtype=float)
        bounds = np.array([r["threshold"] if r.get("threshold") is not None else np.nan for r in measured])
        what = "λ<sub>max</sub>(P⁻¹H)" if records and records[0].get("preconditioned") else "λ<sub>max</sub>(H)"
        above = sharp > bounds
        symbols = np.where(above, "x", "circle")
        values += [sharp[sharp > 0], bounds[np.isfinite(bounds) & (bounds > 0)]]
        data.append(dict(type="scatter", x=f32(steps), y=f32(sharp), mode="lines+markers", name=f"{label} {what}",
                         legendgroup=label, legendrank=2 * rank, line=dict(color=color, width=2.2),
                         marker=dict(size=np.where(above, 9, 5).tolist(), symbol=symbols.tolist(), color=color),
                         hovertemplate=f"<b>{label}</b><br>step %{{x}}: {what} = %{{y:.4g}}<extra></extra>"))
        if np.isfinite(bounds).any():
            formula = next((r.get("formula") for r in records if r.get("formula")), "") or "threshold"
            data.append(dict(type="scatter", x=f32(steps), y=f32(bounds), mode="lines", line_shape="hv",
                             name=f"{label} {formula}", legendgroup=label, legendrank=2 * rank + 1,
                             line=dict(color=color, width=1.6, dash="dash"),
                             hovertemplate=f"<b>{label}</b><br>step %{{x}}: {formula} = %{{y:.4g}}<extra></extra>"))
    shown = np.concatenate(values) if values else np.array([])
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  legend=titled_legend(title) if title else dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
                  xaxis=dict(AXIS, title=dict(text="step")),
                  yaxis=dict(AXIS, type="log", title=dict(text="sharpness · threshold (dashed)"),
                             **log_ticks(shown)),
                  margin=dict(l=70, r=20, t=50, b=50), uirevision="sharpness")
    layout["shapes"], layout["annotations"] = change_marks(changes or {}, colors)
    return figure(data, layout)


def edge_of_stability_figure(events: list[dict], curvature: list[dict], *, changes: list[dict] | None = None,
                             height: int = 420, title: str = "") -> go.Figure:
    """Full-batch training: left the loss (log y), right the sharpness and its threshold (2/α for gradient descent),
    with changes of hyperparameters marked on both."""
    steps = np.array([e["step"] for e in events], dtype=float)
    loss = np.array([e["loss"] for e in events], dtype=float)
    measured = [r for r in curvature if r.get("sharpness") is not None]
    m_steps = np.array([r["step"] for r in measured], dtype=float)
    sharp = np.array([r["sharpness"] for r in measured], dtype=float)
    bounds = np.array([r["threshold"] if r.get("threshold") is not None else np.nan for r in measured])
    formula = next((r.get("formula") for r in curvature if r.get("formula")), "") or "threshold"
    what = "λ<sub>max</sub>(P⁻¹H)" if curvature and curvature[0].get("preconditioned") else "λ<sub>max</sub>(H)"
    data = [dict(type="scatter", x=f32(steps), y=f32(loss), mode="lines", name="training loss",
                 line=dict(color="#1f77b4", width=1.8), hovertemplate="step %{x}: loss %{y:.4g}<extra></extra>"),
            dict(type="scatter", x=f32(m_steps), y=f32(sharp), mode="lines+markers", name=f"sharpness {what}",
                 xaxis="x2", yaxis="y2", line=dict(color="#d62728", width=2), marker=dict(size=4),
                 hovertemplate=f"step %{{x}}: {what} = %{{y:.4g}}<extra></extra>")]
    if np.isfinite(bounds).any():
        data.append(dict(type="scatter", x=f32(m_steps), y=f32(bounds), mode="lines", line_shape="hv",
                         name=f"stability threshold {formula}", xaxis="x2", yaxis="y2",
                         line=dict(color="#222", width=1.6, dash="dash"),
                         hovertemplate=f"step %{{x}}: {formula} = %{{y:.4g}}<extra></extra>"))
    finite = np.concatenate([sharp, bounds[np.isfinite(bounds)]])
    top = 1.15 * float(finite.max()) if finite.size else 1.0
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  legend=titled_legend(title) if title else dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
                  xaxis=dict(AXIS, domain=[0, 0.44], title=dict(text="step")),
                  yaxis=dict(AXIS, type="log", title=dict(text="training loss (full batch)"),
                             **log_ticks(loss[np.isfinite(loss) & (loss > 0)])),
                  xaxis2=dict(AXIS, domain=[0.56, 1], anchor="y2", title=dict(text="step")),
                  yaxis2=dict(AXIS, anchor="x2", range=[0, top], title=dict(text="sharpness")),
                  margin=dict(l=70, r=20, t=50, b=50), uirevision="eos")
    shapes, annotations = change_marks({"": changes or []}, {"": CHANGE_COLOR}, axes=("x", "x2"))
    layout["shapes"], layout["annotations"] = shapes, annotations
    return figure(data, layout)


def lr_range_figure(result, *, height: int = 400, title: str = "") -> go.Figure:
    """The range test's loss against α (log x): each step's batch loss faint, the smoothed loss bold, the
    suggestion and the rule that picked it, and the short grid's losses with its best α, if it was run."""
    lrs, losses, smoothed = (np.asarray(a, dtype=float) for a in (result.lrs, result.losses, result.smoothed))
    start = float(smoothed[0]) if len(smoothed) else 1.0
    data = [dict(type="scatter", x=f32(lrs), y=f32(losses), mode="lines", name="batch loss",
                 line=dict(color="#9ec5e8", width=1), hovertemplate="α = %{x:.3g}: loss %{y:.4g}<extra></extra>"),
            dict(type="scatter", x=f32(lrs), y=f32(smoothed), mode="lines", name="smoothed loss (range test)",
                 line=dict(color="#1f77b4", width=2.5),
                 hovertemplate="α = %{x:.3g}: smoothed loss %{y:.4g}<extra></extra>")]
    lines = [(result.suggestion, "#2ca02c", f"suggested α = {result.suggestion:.3g}")]
    tops = [start]
    if result.grid_lrs is not None:
        grid = np.asarray(result.grid_losses, dtype=float)
        finite = np.isfinite(grid)
        shown = np.where(finite, grid, np.nan)
        data.append(dict(type="scatter", x=f32(result.grid_lrs), y=f32(shown), mode="lines+markers",
                         name=f"grid: loss after {result.grid_steps} steps", line=dict(color="#ff7f0e", width=1.5),
                         marker=dict(size=9, symbol="diamond"),
                         hovertemplate="α = %{x:.3g}: loss %{y:.4g} after the grid's steps<extra></extra>"))
        if (~finite).any():
            data.append(dict(type="scatter", x=f32(np.asarray(result.grid_lrs)[~finite]),
                             y=[1.05 * start] * int((~finite).sum()), mode="markers", name="grid: diverged",
                             marker=dict(size=10, symbol="x", color="#d62728"),
                             hovertemplate="α = %{x:.3g}: diverged<extra></extra>"))
        if result.best_grid_lr is not None:
            lines.append((result.best_grid_lr, "#ff7f0e", f"grid's best α = {result.best_grid_lr:.3g}"))
        tops.append(float(np.nanmax(shown)) if finite.any() else start)
    shapes, annotations = [], []
    for k, (x, color, text) in enumerate(lines):
        shapes.append(dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                           line=dict(color=color, width=2, dash="dash")))
        annotations.append(dict(x=math.log10(x), xref="x", y=0.98 - 0.09 * k, yref="paper", text=text,
                                showarrow=False, xanchor="left", xshift=4, font=dict(color=color, size=13),
                                bgcolor="rgba(255,255,255,0.85)"))
    annotations.append(dict(x=0, xref="paper", y=-0.2, yref="paper", xanchor="left", showarrow=False,
                            text=f"rule: {result.rule}", font=dict(size=12, color="#444")))
    low = float(np.nanmin(np.concatenate([smoothed[np.isfinite(smoothed)], [start]])))
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  legend=titled_legend(title) if title else dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
                  xaxis=dict(AXIS, type="log", title=dict(text="learning rate α"), exponentformat="power"),
                  yaxis=dict(AXIS, title=dict(text="training loss"), range=[0, 1.15 * max(max(tops), low)]),
                  shapes=shapes, annotations=annotations, margin=dict(l=70, r=20, t=50, b=80))
    return figure(data, layout)


GAUGES = [("grad_norm", "gradient norm ‖g‖", "log"),
          ("update_ratio", "update / weight ‖Δθ‖/‖θ‖", "log"),
          ("sign_share", "sign-like steps: |m̂|/√v̂ ≥ 0.9", "share")]


def adam_gauges_figure(layers: dict[str, dict[str, float]], *, height: int = 300, title: str = "") -> go.Figure:
    """Per layer, at one step: the gradient's norm, the update-to-weight ratio (about 10⁻³ is the rule of thumb
    for healthy training, shaded), and the share of coordinates whose Adam step is sign-like (|m̂|/√v̂ close to 1:
    the step is α whatever the gradient's size). layers: name -> the latest statistics (TrainingRun's
    events' "layers"); the panels of statistics a run lacks (the sign share without Adam) are left out."""
    names = list(layers)
    panels = [g for g in GAUGES if any(np.isfinite(layers[n].get(g[0], np.nan)) for n in names)]
    width = 1 / max(1, len(panels))
    data, annotations, shapes = [], [], []
    layout = dict(height=height, font=FONT, plot_bgcolor="white", showlegend=False,
                  margin=dict(l=60, r=20, t=60 if title else 40, b=40))
    for k, (key, text, scale) in enumerate(panels):
        suffix = "" if k == 0 else str(k + 1)
        domain = [k * width + 0.06, (k + 1) * width - 0.02]
        raw = np.array([layers[n].get(key, np.nan) for n in names], dtype=float)
        values = 100 * raw if scale == "share" else raw
        label = ["–" if not np.isfinite(v) else f"{v:.1f}%" if scale == "share" else f"{v:.2g}" for v in values]
        data.append(dict(type="bar", orientation="h", x=f32(values), y=names, xaxis=f"x{suffix}",
                         yaxis=f"y{suffix}", marker=dict(color="#1f77b4"), text=label,
                         textposition="outside" if scale == "share" else "auto", cliponaxis=False,
                         hovertemplate=f"%{{y}}: {text} = %{{text}}<extra></extra>"))
        axis = dict(AXIS, domain=domain, anchor=f"y{suffix}")
        if scale == "share":
            axis.update(range=[0, 100], ticksuffix="%")
        else:
            positive = values[np.isfinite(values) & (values > 0)]
            low, high = (positive.min(), positive.max()) if positive.size else (1e-4, 1.0)
            if key == "update_ratio":   # the rule of thumb's band always in view
                low, high = min(low, 1e-4), max(high, 1e-2)
            ends = np.array([low / 2, high * 2])
            axis.update(type="log", exponentformat="power", range=np.log10(ends).tolist(), **log_ticks(ends))
        layout[f"xaxis{suffix}"] = axis
        layout[f"yaxis{suffix}"] = dict(AXIS, anchor=f"x{suffix}", autorange="reversed", showticklabels=k == 0)
        annotations.append(dict(text=text, x=domain[0], y=1.0, xref="paper", yref="paper", xanchor="left",
                                yanchor="bottom", showarrow=False, font=dict(size=13)))
        if key == "update_ratio":
            shapes.append(dict(type="rect", xref=f"x{suffix}", yref="paper", x0=3e-4, x1=3e-3, y0=0, y1=1,
                               fillcolor="rgba(44,160,44,0.12)", line=dict(width=0), layer="below"))
    if title:
        annotations.append(dict(text=title, x=0, y=1.18, xref="paper", yref="paper", xanchor="left",
                                showarrow=False, font=dict(size=16)))
    layout["annotations"], layout["shapes"] = annotations, shapes
    return figure(data, layout)
