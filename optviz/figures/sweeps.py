"""Figures of hyperparameter sweeps: heatmaps over two hyperparameters, learning-rate sensitivity, basins.

They take plain arrays, so any grid of results can be drawn; the sweeps module produces them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..surfaces import Surface
from ._plotly import FONT, f32, figure
from .colors import palette
from .surface import landmark_traces, map_axes

METRICS = {
    "final_loss": "final loss",
    "steps_to_tol": "steps to reach a minimum",
    "diverged": "diverged",
}
NEVER_COLOR = "#d9d9d9"  # cells that never converged or diverged: grey, outside the colour scale
DIVERGED_COLOR = "#3a3a3a"
BASIN_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d")


def _index_axis(title: str, values: np.ndarray, ticks: int = 7) -> dict:
    """An axis over cell indices labelled with the values: one layout serves log, decay (values near 1) and
    linear spacings alike, and a click reports the cell's index directly."""
    positions = np.unique(np.linspace(0, len(values) - 1, min(ticks, len(values))).round().astype(int))
    return dict(title=dict(text=title), tickvals=positions.tolist(), ticktext=[f"{values[i]:.3g}" for i in positions],
                showline=True, linecolor="#888", mirror=True, ticks="outside", zeroline=False, showgrid=False)


def heatmap_figure(x_values, y_values, grid, *, metric: str, x_title: str, y_title: str, title: str = "",
                   diverged=None, selected: tuple[int, int] | None = None, height: int = 560) -> go.Figure:
    """A (len(y), len(x)) grid of a sweep's metric over cell indices, with a transparent marker per cell to
    catch clicks (its x, y are the column and row).

    Final loss is coloured on a log scale; NaN cells (never converged) are grey and diverged cells dark, so the
    colour scale covers only meaningful values. `selected` (row, column) is outlined.
    """
    x_values, y_values, grid = np.asarray(x_values, float), np.asarray(y_values, float), np.asarray(grid, float)
    if grid.shape != (len(y_values), len(x_values)):
        raise ValueError(f"grid shape {grid.shape} does not match the axes ({len(y_values)}, {len(x_values)})")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    values, colorbar = grid, dict(title=dict(text=METRICS[metric], side="right"))
    if metric == "final_loss":
        values = _log_loss(grid)
        colorbar = dict(title=dict(text="final loss (log₁₀)", side="right"))
    rows, cols = len(y_values), len(x_values)
    custom = np.stack([np.broadcast_to(x_values, grid.shape), np.broadcast_to(y_values[:, None], grid.shape), grid],
                      axis=-1)
    data = [_flat(rows, cols, np.ones(grid.shape, bool), NEVER_COLOR, "no value")]
    if diverged is not None and metric != "diverged":
        data.append(_flat(rows, cols, np.asarray(diverged, bool), DIVERGED_COLOR, "diverged"))
    data.append(dict(type="heatmap", z=f32(values), colorscale="Greys" if metric == "diverged" else "Viridis",
                     colorbar=colorbar, zsmooth=False, hoverongaps=False, customdata=f32(custom),
                     hovertemplate=f"{x_title} = %{{customdata[0]:.4g}}<br>{y_title} = %{{customdata[1]:.4g}}<br>"
                                   f"{METRICS[metric]} = %{{customdata[2]:.4g}}<extra></extra>"))
    x, y = np.meshgrid(np.arange(cols), np.arange(rows))
    data.append(dict(type="scattergl", x=x.ravel().astype("i4"), y=y.ravel().astype("i4"), mode="markers",
                     hoverinfo="none", marker=dict(size=6, color="rgba(0,0,0,0)"), showlegend=False, name="cells"))
    shapes = []
    if selected is not None:
        i, j = selected
        shapes.append(dict(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                           line=dict(color="#ff2d55", width=3)))
    layout = dict(height=height, font=FONT, plot_bgcolor="white", title=dict(text=title, x=0.01), shapes=shapes,
                  xaxis=_index_axis(x_title, x_values), yaxis=_index_axis(y_title, y_values),
                  margin=dict(l=80, r=20, t=60, b=60), dragmode=False)
    return figure(data, layout)


def _log_loss(loss: np.ndarray) -> np.ndarray:
    """log10 of a loss grid; exact zeros (a run that landed on the minimum) take the smallest positive value's
    colour instead of vanishing from a log scale. NaN stays NaN."""
    positive = loss[np.isfinite(loss) & (loss > 0)]
    floor = positive.min() if positive.size else 1e-16
    return np.log10(np.where(loss >= 0, np.maximum(loss, floor), np.nan))


def _flat(rows: int, cols: int, mask: np.ndarray, color: str, name: str) -> dict:
    """A one-colour heatmap over the cells in `mask`: under the data it paints NaN cells instead of the page."""
    z = np.where(mask, 1.0, np.nan).astype("f4")
    return dict(type="heatmap", z=z, colorscale=[[0, color], [1, color]], showscale=False, name=name,
                hovertemplate=f"{name}<extra></extra>")


def sensitivity_figure(curves: dict, *, metric: str = "final_loss", height: int = 460) -> go.Figure:
    """Metric against the learning rate, one line per optimizer: how forgiving each one is.

    curves: label -> (learning rates, values, diverged mask); diverged points are left out of the line and
    marked with a cross in a strip above the plot.
    """
    if metric not in METRICS or metric == "diverged":
        raise ValueError("sensitivity_figure shows final_loss or steps_to_tol")
    colors = palette(list(curves))
    data = []
    for rank, (label, (lrs, values, diverged)) in enumerate(curves.items()):
        lrs, values, diverged = np.asarray(lrs, float), np.asarray(values, float), np.asarray(diverged, bool)
        shown = np.where(diverged | ~np.isfinite(values), np.nan, values)
        if metric == "final_loss":
            shown = np.where(shown > 0, shown, np.nan)
        data.append(dict(type="scatter", x=f32(lrs), y=f32(shown), mode="lines+markers", name=label,
                         legendrank=rank + 1, line=dict(color=colors[label], width=2.2), marker=dict(size=5),
                         hovertemplate=f"<b>{label}</b><br>α = %{{x:.3g}}: %{{y:.4g}}<extra></extra>"))
        if diverged.any():
            data.append(dict(type="scatter", x=f32(lrs[diverged]), y=np.zeros(int(diverged.sum()), "f4"),
                             yaxis="y2", mode="markers", name=f"{label} diverged", showlegend=False,
                             marker=dict(symbol="x-thin", size=9, line=dict(width=2, color=colors[label])),
                             hovertemplate=f"<b>{label}</b> diverged at α = %{{x:.3g}}<extra></extra>"))
    y_title = METRICS[metric]
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  title=dict(text="Learning-rate sensitivity (× along the top: diverged)", x=0.01),
                  xaxis=dict(title=dict(text="learning rate α"), type="log", exponentformat="power", showline=True,
                             linecolor="#888", mirror=True),
                  yaxis=dict(title=dict(text=y_title), type="log" if metric == "final_loss" else "linear",
                             exponentformat="power", showline=True, linecolor="#888", mirror=True,
                             domain=[0, 0.9]),
                  yaxis2=dict(domain=[0.93, 1], visible=False, range=[-1, 1]),
                  legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"), margin=dict(l=80, r=20, t=90, b=60))
    return figure(data, layout)


def basins_figure(surface: Surface, xs, ys, labels=None, loss=None, *, title: str = "",
                  height: int = 520) -> go.Figure:
    """Start points coloured by the minimum their run ends in (labels: index, -1 unsettled, -2 diverged),
    or by final loss (log) for surfaces with a single minimum."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    data = []
    if labels is not None:
        labels = np.asarray(labels)
        k = max(len(surface.minima), 1)
        colors = [DIVERGED_COLOR, NEVER_COLOR] + [BASIN_COLORS[i % len(BASIN_COLORS)] for i in range(k)]
        # labels -2..k-1 mapped to 0..k+1, with one flat band of the colour scale per value
        scale = []
        for i, color in enumerate(colors):
            scale += [[i / len(colors), color], [(i + 1) / len(colors), color]]
        names = ["diverged", "did not settle"] + [f"minimum ({m[0]:.3g}, {m[1]:.3g})" for m in surface.minima]
        text = np.array(names, dtype=object)[labels + 2]
        data.append(dict(type="heatmap", x=f32(xs), y=f32(ys), z=(labels + 2).astype("f4"), zmin=-0.5,
                         zmax=len(colors) - 0.5, colorscale=scale, showscale=False, text=text,
                         hovertemplate="start (%{x:.3g}, %{y:.3g}) → %{text}<extra></extra>"))
    else:
        values = _log_loss(np.asarray(loss, float))
        data.append(dict(type="heatmap", x=f32(xs), y=f32(ys), z=f32(values), colorscale="Viridis",
                         colorbar=dict(title=dict(text="final loss (log₁₀)", side="right")),
                         hovertemplate="start (%{x:.3g}, %{y:.3g}): log₁₀ loss %{z:.3g}<extra></extra>"))
    data += landmark_traces(surface)
    layout = dict(height=height, font=FONT, plot_bgcolor="white", title=dict(text=title, x=0.01),
                  **map_axes(surface), legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"),
                  margin=dict(l=60, r=20, t=80, b=50))
    return figure(data, layout)
