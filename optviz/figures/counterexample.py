"""The chart of Adam's non-convergence counterexample: the iterate x_t and the average regret, per optimizer."""

from __future__ import annotations

import plotly.graph_objects as go

from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .ticks import log_ticks


def counterexample_figure(runs: dict, *, height: int = 420) -> go.Figure:
    """runs: label -> OnlineRun. Left: x_t in [−1, 1] (the optimum is −1); right: R_t / t, which must go to 0."""
    colors = palette(list(runs), {label: run.optimizer for label, run in runs.items()})
    data = []
    for rank, (label, run) in enumerate(runs.items()):
        style = dict(color=colors[label], width=2.2)
        data.append(dict(type="scatter", x0=0, dx=1, y=f32(run.x), mode="lines", name=label, legendgroup=label,
                         legendrank=rank, line=style, hovertemplate=f"<b>{label}</b><br>t = %{{x}}: x = %{{y:.3f}}"
                                                                   "<extra></extra>"))
        data.append(dict(type="scatter", x0=1, dx=1, y=f32(run.regret), mode="lines", name=label, legendgroup=label,
                         showlegend=False, xaxis="x2", yaxis="y2", line=style,
                         hovertemplate=f"<b>{label}</b><br>t = %{{x}}: R/t = %{{y:.3g}}<extra></extra>"))
    axis = dict(showline=True, linecolor="#888", mirror=True, zeroline=False)
    steps = max(len(run.regret) for run in runs.values())
    # Plotly labels a log axis's minor ticks too (1 2 5 10 2 5 100 …: a dozen labels): round decades instead
    step_ticks = log_ticks([1, steps])
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  xaxis=dict(axis, domain=[0, 0.46], title=dict(text="step t")),
                  yaxis=dict(axis, range=[-1.1, 1.1], title=dict(text="iterate x<sub>t</sub>")),
                  xaxis2=dict(axis, **step_ticks, domain=[0.56, 1], anchor="y2", type="log",
                              title=dict(text="step t (log scale)")),
                  yaxis2=dict(axis, anchor="x2", title=dict(text="average regret R<sub>t</sub> / t")),
                  # the title heads the legend, so the two cannot overlap or clip each other
                  legend=titled_legend("Reddi et al.'s online problem: the best point is x = −1"),
                  margin=dict(l=70, r=20, t=40, b=50),
                  shapes=[dict(type="line", xref="x domain", x0=0, x1=1, y0=-1, y1=-1, yref="y",
                               line=dict(color="#999", dash="dot"))])
    return figure(data, layout)
