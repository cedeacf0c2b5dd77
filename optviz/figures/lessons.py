"""The charts of lessons whose claim has a setting of its own (optviz.claims): Wilson et al.'s test errors, Adam's
step against Kingma & Ba's bound, the critical-damping sweep, and the edge of stability's three trainings. Each
takes the claim's numbers (Verdict.numbers). Plotly only."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .curvature import sharpness_figure
from .mnist import AXIS
from .ticks import log_ticks

GUIDE = dict(color="#555", width=1.6, dash="dash")  # a line the numbers are compared with
FLOOR = 1e-2  # Adam's chart shows steps from a hundredth of α up (the sparse coordinate's fade after its gradient)


def _layout(legend_title: str, height: int, **rest) -> dict:
    return dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                legend=titled_legend(legend_title), margin=dict(l=70, r=20, t=50, b=50), **rest)


def _level(y: float, text: str) -> tuple[dict, dict]:
    """A horizontal guide across the plot at y (a linear axis), and its label at the left end."""
    return (dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y, line=GUIDE),
            dict(xref="x domain", x=0.01, yref="y", y=y, text=text, showarrow=False, xanchor="left",
                 yanchor="bottom", font=dict(size=13, color="#333")))


def generalization_figure(numbers: dict, *, height: int = 360) -> go.Figure:
    """Each run's test error on Wilson et al.'s problem (bars), against the minority class's share (dashed): the
    error of labelling every new point with the majority class."""
    errors = numbers["errors"]
    colors = palette(list(errors))
    data = [dict(type="bar", x=list(errors), y=[100 * e for e in errors.values()], name="test error",
                 marker=dict(color=[colors[label] for label in errors]),
                 text=[f"{100 * e:.1f} %" for e in errors.values()], textposition="outside",
                 hovertemplate="<b>%{x}</b>: test error %{y:.1f} %<extra></extra>")]
    guide, label = _level(100 * numbers["minority"], f"majority class for all: {100 * numbers['minority']:.1f} %")
    top = 100 * max(max(errors.values()), numbers["minority"])
    layout = _layout("", height, xaxis=dict(AXIS), yaxis=dict(AXIS, range=[0, 1.25 * top + 1],
                                                              title=dict(text="test error (%)")),
                     shapes=[guide], annotations=[label], showlegend=False,
                     title=dict(text=f"Test error on new points after fitting the training set (p = {numbers['p']:g})",
                                font=dict(size=18), x=0.06))
    return figure(data, layout)


def adam_bound_figure(numbers: dict, *, height: int = 380) -> go.Figure:
    """|Δθ|/α per step on the dense and the sparse coordinate (log y), with α and Kingma & Ba's bound."""
    steps = np.arange(1, numbers["steps"] + 1)
    lines = {"dense gradients": numbers["dense"], "sparse gradient (0 but once)": numbers["sparse"]}
    colors = palette(list(lines))
    data, shown = [], []
    for label, moves in lines.items():
        ratio = moves / numbers["rate"]
        keep = ratio > FLOOR
        shown.append(ratio[keep])
        data.append(dict(type="scatter", x=f32(steps[keep]), y=f32(ratio[keep]), mode="lines", name=label,
                         line=dict(color=colors[label], width=1.6),
                         hovertemplate=f"<b>{label}</b><br>step %{{x}}: |Δθ| = %{{y:.3g}} α<extra></extra>"))
    bound = numbers["bound_over_lr"]
    # the guides are lines of the plot, not shapes: on a log axis shapes and annotations read y differently
    for level, label, dash in ((1.0, "α", "dot"), (bound, f"bound α·(1−β₁)/√(1−β₂) = {bound:.3g} α", "dash")):
        data.append(dict(type="scatter", x=[1, numbers["steps"]], y=[level, level], mode="lines", name=label,
                         line=dict(GUIDE, dash=dash), hoverinfo="skip"))
    values = np.concatenate(shown + [np.array([1.0, bound])])
    layout = _layout(f"Adam's step over α (β₁ = {numbers['beta_1']:g}, β₂ = {numbers['beta_2']:g})", height,
                     xaxis=dict(AXIS, title=dict(text="step")),
                     yaxis=dict(AXIS, type="log", title=dict(text="|Δθ| / α"), **log_ticks(values),
                                range=[np.log10(values.min()) - 0.1, np.log10(values.max()) + 0.15]))
    return figure(data, layout)


def damping_figure(numbers: dict, *, height: int = 360) -> go.Figure:
    """Steps to reach the minimum for each momentum β of the sweep, β* marked (a dashed vertical line)."""
    betas, arrived = numbers["betas"], numbers["steps_to_converge"]
    finite = np.isfinite(arrived)
    best = int(np.argmin(arrived))
    data = [dict(type="scatter", x=f32(betas[finite]), y=f32(arrived[finite]), mode="lines+markers",
                 name="steps to the minimum", line=dict(color="#1f77b4", width=2), marker=dict(size=7),
                 hovertemplate="β = %{x}: %{y:.0f} steps<extra></extra>"),
            dict(type="scatter", x=[float(betas[best])], y=[float(arrived[best])], mode="markers",
                 name=f"fastest: β = {betas[best]:.2f}", marker=dict(size=14, symbol="star", color="#d62728"),
                 hovertemplate="fastest: β = %{x}, %{y:.0f} steps<extra></extra>")]
    star = numbers["beta_star"]
    layout = _layout(f"Heavy ball at α = {numbers['rate']:g}: steps to come within {numbers['tol']:g} of the minimum",
                     height, xaxis=dict(AXIS, title=dict(text="momentum β")),
                     yaxis=dict(AXIS, type="log", title=dict(text="steps"), **log_ticks(arrived[finite])),
                     shapes=[dict(type="line", yref="y domain", y0=0, y1=1, x0=star, x1=star, line=GUIDE)],
                     annotations=[dict(yref="y domain", y=1, x=star, text=f"β* = (1 − √(αλ))² = {star:.3f}",
                                       showarrow=False, xanchor="left", yanchor="top", font=dict(size=13))])
    return figure(data, layout)


def edge_of_stability_lesson_figures(numbers: dict, *, height: int = 380) -> tuple[go.Figure, go.Figure]:
    """The three trainings: their sharpness against 2/α (optviz.figures.curvature.sharpness_figure) and their
    losses (log y)."""
    runs = {f"α = {run['rate']:g}": run for run in numbers["runs"]}
    sharpness = sharpness_figure({label: run["curvature"] for label, run in runs.items()}, height=height,
                                 title="Sharpness λ_max against 2/α (dashed)")
    colors = palette(list(runs))
    data, values = [], []
    for label, run in runs.items():
        loss = np.asarray(run["loss"], dtype=float)
        values.append(loss[np.isfinite(loss) & (loss > 0)])
        data.append(dict(type="scatter", x0=0, dx=1, y=f32(loss), mode="lines", name=label,
                         line=dict(color=colors[label], width=1.6),
                         hovertemplate=f"<b>{label}</b><br>step %{{x}}: loss %{{y:.4g}}<extra></extra>"))
    layout = _layout("Training loss (full batch)", height, xaxis=dict(AXIS, title=dict(text="step")),
                     yaxis=dict(AXIS, type="log", title=dict(text="loss"), **log_ticks(np.concatenate(values))))
    return sharpness, figure(data, layout)
