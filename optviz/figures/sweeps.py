"""Figures of hyperparameter sweeps: heatmaps over two hyperparameters, learning-rate sensitivity, basins.

They take plain arrays, so any grid of results can be drawn; the sweeps module produces them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..surfaces import Surface
from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .surface import landmark_traces, map_axes, minimum_value
from .ticks import round_values, tick_label

METRICS = {
    "final_loss": "final loss",
    "steps_to_tol": "steps to reach a minimum",
    "diverged": "diverged",
}
NEVER_COLOR = "#d9d9d9"  # cells that never converged or diverged: grey, outside the colour scale
# Red, which no colour scale here uses: charcoal read as the dark end of Viridis, the best final loss.
DIVERGED_COLOR = "#c0262d"
DIVERGED_SCALE = [[0, "#f2f2f2"], [1, DIVERGED_COLOR]]  # 0: did not diverge, 1: diverged
BASIN_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e377c2", "#72b7b2", "#b279a2", "#17becf", "#9d755d")


def _index_axis(title: str, values: np.ndarray, scale: str = "linear") -> dict:
    """An axis over cell indices: one layout serves log, decay (values near 1) and linear spacings alike, and a
    click reports the cell's index directly. Ticks sit at round values (see _round_ticks)."""
    positions, labels = _round_ticks(np.asarray(values, float), scale)
    # the range hugs the cells: left to autorange, the click targets' scatter pads a white margin inside the frame
    return dict(title=dict(text=title), tickvals=positions, ticktext=labels, range=[-0.5, len(values) - 0.5],
                showline=True, linecolor="#888", mirror=True, ticks="outside", zeroline=False, showgrid=False)


# the coordinate in which each kind of sweep axis is evenly spaced (optviz.sweeps.axis_values)
_SPACINGS = {"log": np.log10, "decay": lambda v: -np.log10(1 - v), "linear": lambda v: v}


def _round_ticks(values: np.ndarray, scale: str, most: int = 8) -> tuple[list[float], list[str]]:
    """Tick positions (fractional cell indices) and labels at round values inside the axis: powers of ten on a
    log axis, 0, 0.9, 0.99, … on a decay axis, multiples of 1, 2 or 5 × 10ᵏ on a linear one, each placed where
    it falls between the cells. Axes not evenly spaced in their scale get ticks at cells, labelled with their values.
    """
    spacing = _SPACINGS.get(scale, _SPACINGS["linear"])
    with np.errstate(all="ignore"):
        coordinate = spacing(values)
        steps = np.diff(coordinate)
        even = len(values) > 1 and np.isfinite(coordinate).all() and (steps > 0).all() \
            and np.ptp(steps) <= 1e-6 * steps.mean()
        ticks = round_values(values[0], values[-1], scale, most) if even else []
    if len(ticks) < 2:
        positions = np.unique(np.linspace(0, len(values) - 1, min(7, len(values))).round().astype(int))
        return positions.tolist(), [f"{values[i]:.3g}" for i in positions]
    positions = np.interp(spacing(np.array(ticks)), coordinate, np.arange(len(values)))
    return positions.round(6).tolist(), [tick_label(v) for v in ticks]


def heatmap_figure(x_values, y_values, grid, *, metric: str, x_title: str, y_title: str, title: str = "",
                   diverged=None, selected: tuple[int, int] | None = None, height: int = 560,
                   x_scale: str = "linear", y_scale: str = "linear", lowest: float | None = None,
                   boundary: tuple | None = None, boundary_name: str = "stability limit") -> go.Figure:
    """A (len(y), len(x)) grid of a sweep's metric over cell indices, with a transparent marker per cell to
    catch clicks (its x, y are the column and row).

    Final loss is coloured on a log scale; NaN cells (never converged) are grey and diverged cells dark, so the
    colour scale covers only meaningful values. `selected` (row, column) is outlined. `x_scale`, `y_scale`: how
    each axis is spaced ("log", "decay" or "linear", as optviz.sweeps.axis_scale says), for round ticks.
    `lowest`: the surface's lowest value f*; final losses are coloured by their distance above it.
    `boundary`: a curve (x values, y values) in hyperparameter values, e.g. optviz.stability.boundary_curve's,
    drawn over the cells as a dashed line named `boundary_name`.
    """
    x_values, y_values, grid = np.asarray(x_values, float), np.asarray(y_values, float), np.asarray(grid, float)
    if grid.shape != (len(y_values), len(x_values)):
        raise ValueError(f"grid shape {grid.shape} does not match the axes ({len(y_values)}, {len(x_values)})")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    values, colorbar = grid, dict(title=dict(text=METRICS[metric], side="right"))
    if metric == "final_loss":
        origin, name = _loss_origin(grid, lowest)
        values = _log_gap(grid, origin)
        colorbar = dict(title=dict(text=f"{name} (log₁₀)", side="right"))
    rows, cols = len(y_values), len(x_values)
    custom = np.stack([np.broadcast_to(x_values, grid.shape), np.broadcast_to(y_values[:, None], grid.shape), grid],
                      axis=-1)
    data = [_flat(rows, cols, np.ones(grid.shape, bool), NEVER_COLOR, "no value")]
    if diverged is not None and metric != "diverged":
        data.append(_flat(rows, cols, np.asarray(diverged, bool), DIVERGED_COLOR, "diverged"))
    data.append(dict(type="heatmap", z=f32(values), colorscale=DIVERGED_SCALE if metric == "diverged" else "Viridis",
                     colorbar=colorbar, zsmooth=False, hoverongaps=False, customdata=f32(custom),
                     hovertemplate=f"{x_title} = %{{customdata[0]:.4g}}<br>{y_title} = %{{customdata[1]:.4g}}<br>"
                                   f"{METRICS[metric]} = %{{customdata[2]:.4g}}<extra></extra>"))
    x, y = np.meshgrid(np.arange(cols), np.arange(rows))
    data.append(dict(type="scattergl", x=x.ravel().astype("i4"), y=y.ravel().astype("i4"), mode="markers",
                     hoverinfo="none", marker=dict(size=6, color="rgba(0,0,0,0)"), showlegend=False, name="cells"))
    if boundary is not None:
        data += _boundary_traces(_as_index(boundary[0], x_values, x_scale), _as_index(boundary[1], y_values, y_scale),
                                 boundary_name)
    shapes = []
    if selected is not None:
        i, j = selected
        shapes.append(dict(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5,
                           line=dict(color="#ff2d55", width=3)))
    layout = dict(height=height, font=FONT, plot_bgcolor="white", title=dict(text=title, x=0.01), shapes=shapes,
                  xaxis=_index_axis(x_title, x_values, x_scale), yaxis=_index_axis(y_title, y_values, y_scale),
                  margin=dict(l=80, r=20, t=60, b=60), dragmode=False,
                  # bottom right, level with the axis title: above the plot it ran into a long title
                  legend=dict(orientation="h", x=1, xanchor="right", y=-0.06, yanchor="top"))
    return figure(data, layout)


def _as_index(values, axis: np.ndarray, scale: str) -> np.ndarray:
    """Hyperparameter values as fractional cell indices of an axis spaced as `scale` says, extrapolated past
    its ends (the frame clips what lies outside). NaN stays NaN: a gap in a drawn curve."""
    spacing = _SPACINGS.get(scale, _SPACINGS["linear"])
    with np.errstate(all="ignore"):
        coordinate, wanted = spacing(np.asarray(axis, float)), spacing(np.asarray(values, float))
    if len(axis) < 2:
        return np.zeros_like(wanted)
    steps = np.diff(coordinate)
    if np.isfinite(coordinate).all() and (steps > 0).all() and np.ptp(steps) <= 1e-6 * steps.mean():
        return (wanted - coordinate[0]) / steps.mean()
    return np.interp(wanted, coordinate, np.arange(len(axis)), left=np.nan, right=np.nan)


def _boundary_traces(x, y, name: str) -> list[dict]:
    """A dashed dark line on a white halo: readable over every colour of the scale."""
    common = dict(type="scatter", x=f32(x), y=f32(y), mode="lines", hoverinfo="skip")
    return [dict(common, line=dict(color="white", width=5), showlegend=False, name=f"{name} halo"),
            dict(common, line=dict(color="#111", width=2.2, dash="dash"), name=name, showlegend=True)]


def _loss_origin(losses: np.ndarray, lowest: float | None) -> tuple[float, str]:
    """f*, the value final losses are counted from on a log scale, and the name of the quantity drawn.

    f* is the surface's lowest listed value `lowest` (0 if none is listed), or the lowest loss seen if that is
    lower (a custom surface's minima are found numerically). Surfaces whose minimum lies below 0 (six-hump camel,
    Styblinski–Tang, the bounded saddle) would otherwise lose their best runs from a log scale; where f* = 0 the
    quantity is the loss itself.
    """
    finite = losses[np.isfinite(losses)]
    origin = min(0.0 if lowest is None else float(lowest), float(finite.min()) if finite.size else 0.0)
    return (0.0, "final loss") if origin == 0 else (origin, f"final loss − f*, f* = {origin:.4g}")


def _log_gap(loss: np.ndarray, origin: float) -> np.ndarray:
    """log10(loss − f*); exact zeros (a run that landed on the minimum) take the smallest positive gap's colour
    instead of vanishing from a log scale. NaN stays NaN."""
    gap = loss - origin
    positive = gap[np.isfinite(gap) & (gap > 0)]
    floor = positive.min() if positive.size else 1e-16
    with np.errstate(invalid="ignore"):
        return np.log10(np.where(gap >= 0, np.maximum(gap, floor), np.nan))


def _flat(rows: int, cols: int, mask: np.ndarray, color: str, name: str) -> dict:
    """A one-colour heatmap over the cells in `mask`: under the data it paints NaN cells instead of the page."""
    z = np.where(mask, 1.0, np.nan).astype("f4")
    return dict(type="heatmap", z=z, colorscale=[[0, color], [1, color]], showscale=False, name=name,
                hovertemplate=f"{name}<extra></extra>")


def sensitivity_figure(curves: dict, *, metric: str = "final_loss", height: int = 460,
                       lowest: float | None = None, limits: dict[str, float] | None = None) -> go.Figure:
    """Metric against the learning rate, one line per optimizer: how forgiving each one is.

    curves: label -> (learning rates, values, diverged mask); diverged points are left out of the line and
    marked with a cross in a strip above the plot. Final losses are drawn on a log scale as their distance above
    `lowest`, the surface's lowest value f* (see _loss_origin). `limits`: name -> learning rate, each marked by
    a vertical dashed line (e.g. "2/λ_max", gradient descent's stability limit).
    """
    if metric not in METRICS or metric == "diverged":
        raise ValueError("sensitivity_figure shows final_loss or steps_to_tol")
    colors = palette(list(curves))
    data = []
    y_title = METRICS[metric]
    if metric == "final_loss":  # one f* for every curve: they share the surface
        kept = [np.where(np.asarray(d, bool), np.nan, np.asarray(v, float)) for _, v, d in curves.values()]
        origin, y_title = _loss_origin(np.concatenate(kept) if kept else np.zeros(0), lowest)
    for rank, (label, (lrs, values, diverged)) in enumerate(curves.items()):
        lrs, values, diverged = np.asarray(lrs, float), np.asarray(values, float), np.asarray(diverged, bool)
        shown = np.where(diverged | ~np.isfinite(values), np.nan, values)
        if metric == "final_loss":
            shown = np.where(shown - origin > 0, shown - origin, np.nan)
        data.append(dict(type="scatter", x=f32(lrs), y=f32(shown), mode="lines+markers", name=label,
                         legendrank=rank + 1, line=dict(color=colors[label], width=2.2), marker=dict(size=5),
                         hovertemplate=f"<b>{label}</b><br>α = %{{x:.3g}}: %{{y:.4g}}<extra></extra>"))
        if diverged.any():
            data.append(dict(type="scatter", x=f32(lrs[diverged]), y=np.zeros(int(diverged.sum()), "f4"),
                             yaxis="y2", mode="markers", name=f"{label} diverged", showlegend=False,
                             marker=dict(symbol="x-thin", size=9, line=dict(width=2, color=colors[label])),
                             hovertemplate=f"<b>{label}</b> diverged at α = %{{x:.3g}}<extra></extra>"))
    for name, lr in (limits or {}).items():  # on an axis of their own from 0 to 1: full height, any scale below
        data.append(dict(type="scatter", x=[float(lr), float(lr)], y=[0, 1], yaxis="y3", mode="lines", name=name,
                         line=dict(color="#444", width=1.8, dash="dash"),
                         hovertemplate=f"{name} = {float(lr):.4g}<extra></extra>"))
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  yaxis3=dict(domain=[0, 0.9], range=[0, 1], visible=False, overlaying="y"),
                  xaxis=dict(title=dict(text="learning rate α"), type="log", exponentformat="power", showline=True,
                             linecolor="#888", mirror=True),
                  yaxis=dict(title=dict(text=y_title), type="log" if metric == "final_loss" else "linear",
                             exponentformat="power", showline=True, linecolor="#888", mirror=True,
                             domain=[0, 0.9]),
                  yaxis2=dict(domain=[0.93, 1], visible=False, range=[-1, 1]),
                  legend=titled_legend("Learning-rate sensitivity (× along the top: diverged)", y=1.05),
                  margin=dict(l=80, r=20, t=40, b=60))
    return figure(data, layout)


def basins_figure(surface: Surface, xs, ys, labels=None, loss=None, *, title: str = "",
                  height: int = 520) -> go.Figure:
    """Start points coloured by the minimum their run ends in (labels: index, -1 unsettled, -2 diverged),
    or by final loss (log) for surfaces with a single minimum."""
    return basins_panels_figure(surface, [(title, xs, ys, labels, loss)], height=height)


def basins_panels_figure(surface: Surface, panels: list[tuple], *, height: int = 440) -> go.Figure:
    """Basin maps side by side, one per (title, xs, ys, labels, loss) panel (see basins_figure), in one figure.

    Final losses share one colour scale and one colour bar, so a colour means the same loss in every panel;
    one figure rather than one per panel also gives the maps the width a colour bar per panel took.
    """
    if not panels:
        raise ValueError("basins_panels_figure needs at least one panel")
    losses = [np.asarray(loss, float) for *_, labels, loss in panels if labels is None]
    origin, name = _loss_origin(np.concatenate([v.ravel() for v in losses]) if losses else np.zeros(0),
                                minimum_value(surface))
    gaps = [_log_gap(v, origin) for v in losses]
    finite = np.concatenate([g[np.isfinite(g)] for g in gaps]) if gaps else np.zeros(0)
    data, layout, annotations = [], {}, []
    n = len(panels)
    right = 0.9 if losses else 1.0  # room for the shared colour bar
    width = right / n
    for k, (title, xs, ys, labels, loss) in enumerate(panels):
        suffix = "" if k == 0 else str(k + 1)
        axes = (f"x{suffix}", f"y{suffix}")
        domain = (k * width + 0.03, (k + 1) * width - 0.03)  # equal widths: the maps are drawn the same size
        xaxis, yaxis = map_axes(surface, domain).values()
        yaxis.update(scaleanchor=axes[0], anchor=axes[0])
        xaxis.update(anchor=axes[1])
        if k:
            yaxis["title"] = dict(text="")  # the left map's "y" says it; here it would sit on the left map
        layout[f"xaxis{suffix}"], layout[f"yaxis{suffix}"] = xaxis, yaxis
        # placed on the map's own frame (which equal aspect shrinks), not on the figure's top edge
        annotations.append(dict(text=title, x=0.5, y=1.0, xref=f"{axes[0]} domain", yref=f"{axes[1]} domain",
                                xanchor="center", yanchor="bottom", yshift=4, showarrow=False, font=dict(size=15)))
        data += _basin_traces(surface, np.asarray(xs, float), np.asarray(ys, float), labels,
                              None if labels is not None else _log_gap(np.asarray(loss, float), origin), name, axes)
        data += [dict(t, showlegend=False) for t in landmark_traces(surface, axes)]  # ★ needs no legend
    if losses:
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        layout["coloraxis"] = dict(colorscale="Viridis", cmin=low, cmax=high,
                                   colorbar=dict(title=dict(text=f"{name} (log₁₀)", side="right"), len=0.85,
                                                 x=right + 0.01, xanchor="left"))
    layout.update(height=height, font=FONT, plot_bgcolor="white", annotations=annotations,
                  margin=dict(l=60, r=20, t=40, b=50))
    return figure(data, layout)


def _basin_traces(surface: Surface, xs: np.ndarray, ys: np.ndarray, labels, log_gap, name: str,
                  axes: tuple[str, str]) -> list[dict]:
    on = dict(xaxis=axes[0], yaxis=axes[1])
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
        return [dict(type="heatmap", x=f32(xs), y=f32(ys), z=(labels + 2).astype("f4"), zmin=-0.5,
                     zmax=len(colors) - 0.5, colorscale=scale, showscale=False, text=text, **on,
                     hovertemplate="start (%{x:.3g}, %{y:.3g}) → %{text}<extra></extra>")]
    # diverged starts (NaN loss) painted under the colours, as the heatmap of a sweep does
    return [dict(type="heatmap", x=f32(xs), y=f32(ys), z=np.where(np.isnan(log_gap), 1, np.nan).astype("f4"),
                 colorscale=[[0, DIVERGED_COLOR], [1, DIVERGED_COLOR]], showscale=False, name="diverged", **on,
                 hovertemplate="start (%{x:.3g}, %{y:.3g}) → diverged<extra></extra>"),
            dict(type="heatmap", x=f32(xs), y=f32(ys), z=f32(log_gap), coloraxis="coloraxis", hoverongaps=False,
                 **on, hovertemplate=f"start (%{{x:.3g}}, %{{y:.3g}}): log₁₀({name.split(',')[0]}) "
                                     "%{z:.3g}<extra></extra>")]
