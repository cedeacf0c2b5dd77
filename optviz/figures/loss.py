"""Loss curves: distance to the optimum per step, one line per optimizer, on a log axis."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .labels import legend_label
from .surface import minimum_value


def loss_figure(races: dict, *, colors: dict[str, str] | None = None, height: int = 420,
                epochs: bool = False) -> go.Figure:
    """f(θ_t) − f* against the step t, log y; f itself (and a linear axis if it goes ≤ 0) without a minimum.

    A value ≤ 0 (a run at the minimum to machine precision) is a gap on the log axis, not a plunge to −∞.
    epochs: on a data surface, against epochs instead (steps × batch size / examples): what each run cost.
    """
    if not races:
        raise ValueError("loss_figure needs at least one trajectory")
    colors = {**palette(races), **(colors or {})}
    surface = next(iter(races.values())).surface
    best = minimum_value(surface)
    curves = {label: np.asarray(traj.loss, dtype=float) - (best or 0.0) for label, traj in races.items()}
    log = best is not None or all(np.all(c[np.isfinite(c)] > 0) for c in curves.values())
    data = []
    for rank, (label, traj) in enumerate(races.items()):
        values = np.where(curves[label] > 0, curves[label], np.nan) if log else curves[label]
        dx = float(traj.surface.epochs(1)) if epochs else 1
        data.append(dict(type="scatter", x0=0, dx=dx, y=f32(values), mode="lines", name=legend_label(label, traj),
                         legendrank=rank + 1, line=dict(color=colors[label], width=2.2),
                         hovertemplate=f"<b>{label}</b><br>{'epoch %{x:.3g}' if epochs else 'step %{x}'}: "
                                       "%{y:.4g}<extra></extra>"))
    what = "f(θ) − f*" if best is not None else "f(θ)"
    layout = dict(height=height, font=FONT, hovermode="x unified", plot_bgcolor="white",
                  xaxis=dict(title=dict(text="epoch (examples seen ÷ data size)" if epochs else "step"),
                             type="log" if epochs else "linear", showline=True, linecolor="#888", mirror=True,
                             zeroline=False),
                  yaxis=dict(title=dict(text=what), type="log" if log else "linear", exponentformat="power",
                             showline=True, linecolor="#888", mirror=True),
                  legend=titled_legend(f"Loss · {surface.title}"), margin=dict(l=70, r=20, t=40, b=50))
    return figure(data, layout)
