"""Figures of MNIST training: live curves, confusion matrix, per-layer optimizer statistics, the loss landscape."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .ticks import log_ticks

AXIS = dict(showline=True, linecolor="#888", mirror=True, zeroline=False)
CHANGE_COLOR = "#666"   # a change of hyperparameters, where no run's colour applies


def training_figure(histories: dict, *, names: dict | None = None, height: int = 380,
                    epochs: int | None = None, changes: dict | None = None) -> go.Figure:
    """Left: training loss against samples seen (log y); right: test accuracy after each epoch.

    histories: label -> list of training events (dicts with samples, loss, and test_accuracy at epoch ends).
    `epochs`, the planned number, fixes the accuracy panel's epoch axis from the start (before the first epoch
    ends it is otherwise an empty, meaningless range). changes: label -> changes of hyperparameters made
    mid-training (TrainingRun.changes: "samples", "hparams", "batch_size"), each a dotted line on the loss panel.
    """
    colors = palette(list(histories), names)
    data, losses = [], []
    for rank, (label, events) in enumerate(histories.items()):
        style = dict(color=colors[label], width=2.2)
        samples = np.array([e["samples"] for e in events], dtype=float)
        loss = np.array([e["loss"] for e in events], dtype=float)
        losses.append(loss)
        data.append(dict(type="scatter", x=f32(samples), y=f32(loss), mode="lines", name=label, legendgroup=label,
                         legendrank=rank, line=style,
                         hovertemplate=f"<b>{label}</b><br>%{{x:,.0f}} digits: loss %{{y:.4f}}<extra></extra>"))
        ends = [e for e in events if "test_accuracy" in e]
        data.append(dict(type="scatter", x=[e["epoch"] for e in ends], y=[100 * e["test_accuracy"] for e in ends],
                         mode="lines+markers", name=label, legendgroup=label, showlegend=False, xaxis="x2",
                         yaxis="y2", line=style, marker=dict(size=8),
                         hovertemplate=f"<b>{label}</b><br>epoch %{{x}}: %{{y:.2f}}%<extra></extra>"))
    layout = dict(height=height, font=FONT, plot_bgcolor="white", hovermode="closest",
                  xaxis=dict(AXIS, domain=[0, 0.55], title=dict(text="training digits seen")),
                  yaxis=dict(AXIS, type="log", title=dict(text="training loss"),
                             **log_ticks(np.concatenate(losses) if losses else [])),
                  xaxis2=dict(AXIS, domain=[0.65, 1], anchor="y2", title=dict(text="epoch"), dtick=1,
                              **({"range": [0.5, epochs + 0.5]} if epochs else {})),
                  yaxis2=dict(AXIS, anchor="x2", title=dict(text="test accuracy (%)"),
                              **({} if any("test_accuracy" in e for h in histories.values() for e in h)
                                 else {"range": [0, 100]})),
                  legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"), margin=dict(l=70, r=20, t=50, b=50),
                  uirevision="training")
    if changes:
        layout["shapes"], layout["annotations"] = change_marks(changes, colors, position="samples")
    return figure(data, layout)


def confusion_figure(matrix: np.ndarray, *, title: str = "", height: int = 420) -> go.Figure:
    """C[i, j] digits of class i predicted as j, with the diagonal's counts hidden in the colour so the
    mistakes stand out: colour is the share of each true class, log-compressed."""
    matrix = np.asarray(matrix, dtype=float)
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    off = np.where(np.eye(len(matrix), dtype=bool), np.nan, share)
    data = [dict(type="heatmap", z=f32(off), x=list(range(10)), y=list(range(10)), colorscale="Reds",
                 customdata=matrix.astype("i4"), showscale=False,
                 hovertemplate="true %{y} → predicted %{x}: %{customdata}<extra></extra>"),
            dict(type="heatmap", z=f32(np.where(np.eye(len(matrix), dtype=bool), 1.0, np.nan)), showscale=False,
                 colorscale=[[0, "#e8eefc"], [1, "#e8eefc"]], hoverinfo="skip")]
    text = [[str(int(v)) for v in row] for row in matrix]
    layout = dict(height=height, font=FONT, plot_bgcolor="white", title=dict(text=title, x=0.01),
                  xaxis=dict(AXIS, title=dict(text="predicted"), dtick=1, range=[-0.5, 9.5], constrain="domain"),
                  yaxis=dict(AXIS, title=dict(text="true"), dtick=1, range=[9.5, -0.5], scaleanchor="x",
                             constrain="domain"),
                  annotations=[dict(x=j, y=i, text=text[i][j], showarrow=False, font=dict(size=11))
                               for i in range(len(matrix)) for j in range(len(matrix)) if matrix[i, j]],
                  margin=dict(l=60, r=20, t=50, b=50))
    return figure(data[::-1], layout)


def layer_stats_figure(stats: dict, *, title: str = "", height: int = 380) -> go.Figure:
    """Per-layer optimizer statistics over steps: mean effective step α·m̂/(√v̂+ε), ‖m‖ and ‖v‖ (log y).

    Each panel is named above it rather than by a y-axis title, which would crowd into the gap between panels;
    the figure's title heads the legend, so the two cannot overlap.
    """
    panels = [("mean_effective_step", "mean |α·m̂/(√v̂+ε)|"), ("m_norm", "‖m‖"), ("v_norm", "‖v‖")]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    data, annotations = [], []
    layout = dict(height=height, font=FONT, plot_bgcolor="white", legend=titled_legend(title, y=1.1),
                  margin=dict(l=70, r=20, t=40, b=50))
    width = 1 / len(panels)
    for k, (key, name) in enumerate(panels):
        suffix = "" if k == 0 else str(k + 1)
        domain = [k * width + 0.05, (k + 1) * width - 0.02]
        annotations.append(dict(text=name, x=domain[0], y=1.0, xref="paper", yref="paper", xanchor="left",
                                yanchor="bottom", showarrow=False, font=dict(size=14)))
        layout[f"xaxis{suffix}"] = dict(AXIS, domain=domain, title=dict(text="step"), anchor=f"y{suffix}")
        shown = []
        for i, (layer, values) in enumerate(stats.items()):
            if key in values:
                positive = np.where(np.asarray(values[key]) > 0, values[key], np.nan)  # log axis: 0 is a gap
                shown.append(positive)
                data.append(dict(type="scatter", x=values["step"], y=f32(positive), mode="lines", name=layer,
                                 legendgroup=layer, showlegend=k == 0, xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                                 line=dict(color=colors[i % len(colors)], width=1.8)))
        layout[f"yaxis{suffix}"] = dict(AXIS, type="log", anchor=f"x{suffix}", exponentformat="power",
                                        **log_ticks(np.concatenate(shown) if shown else []))
    layout["annotations"] = annotations
    return figure(data, layout)


def landscape_figure(landscape, *, names: dict | None = None, height: int = 520) -> go.Figure:
    """The training loss on the plane of the trajectories' two principal directions, with each path on it."""
    colors = palette(list(landscape.paths), names)
    loss = np.asarray(landscape.loss, dtype=float)
    data = [dict(type="contour", x=f32(landscape.alpha), y=f32(landscape.beta), z=f32(np.log10(loss)),
                 colorscale="Blues", reversescale=True, ncontours=24, line=dict(width=0.5, color="#557"),
                 colorbar=dict(title=dict(text="log₁₀ loss", side="right")),
                 hovertemplate="α = %{x:.3g}, β = %{y:.3g}: log₁₀ loss %{z:.3f}<extra></extra>")]
    for label, path in landscape.paths.items():
        n = len(path)
        # the start (the weights every optimizer shares) as a ring, the end as a diamond, snapshots as dots
        symbols = ["circle-open"] + ["circle"] * (n - 2) + ["diamond"] if n > 1 else ["diamond"]
        sizes = [12] + [5] * (n - 2) + [11] if n > 1 else [11]
        steps = landscape.path_steps[label]
        text = [f"step {s}" + (" (start)" if i == 0 else " (end)" if i == n - 1 else "") for i, s in enumerate(steps)]
        data.append(dict(type="scatter", x=f32(path[:, 0]), y=f32(path[:, 1]), mode="lines+markers", name=label,
                         line=dict(color=colors[label], width=2.5),
                         marker=dict(size=sizes, symbol=symbols, line=dict(width=2, color=colors[label])),
                         text=text, hovertemplate=f"<b>{label}</b> %{{text}}<extra></extra>"))
    share = landscape.explained_variance
    title = (f"Training loss around the final weights of {landscape.origin} ({landscape.n_samples:,} digits)"
             " · ○ start  ◆ end")
    layout = dict(height=height, font=FONT, plot_bgcolor="white", legend=titled_legend(title),
                  xaxis=dict(AXIS, title=dict(text=f"direction 1 ({100 * share[0]:.0f}% of the movement)")),
                  yaxis=dict(AXIS, title=dict(text=f"direction 2 ({100 * share[1]:.0f}%)")),
                  margin=dict(l=70, r=20, t=40, b=50))
    return figure(data, layout)


def digit_grid(images: np.ndarray, columns: int = 8, scale: int = 1) -> np.ndarray:
    """Tile (n, h, w) images into one picture with 2-pixel white gaps, each image scaled to [0, 1] and enlarged
    `scale` times by repeating pixels (3×3 filters stay crisp squares instead of a browser's blur)."""
    images = np.asarray(images, dtype=float)
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w = images.shape
    rows = max(1, -(-n // columns))
    flat = images.reshape(n, -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    scaled = (images - low[:, None, None]) / np.where(high > low, high - low, 1.0)[:, None, None]
    tiles = np.ones((rows * columns, h + 2, w + 2))  # white padding right and below each image, and for empty slots
    tiles[:n, :h, :w] = scaled
    return tiles.reshape(rows, columns, h + 2, w + 2).transpose(0, 2, 1, 3).reshape(rows * (h + 2), columns * (w + 2))


def change_marks(changes: dict[str, list[dict]], colors: dict[str, str], axes=("x",),
                 position: str = "step") -> tuple[list, list]:
    """A dotted vertical line at each change (at its `position`: "step", or "samples" on a digits-seen axis) on
    every x axis given, and what changed, in words, at the top of the first; later ones a line lower, so that
    changes close together stay readable."""
    shapes, annotations = [], []
    for label, records in changes.items():
        for record in records:
            x = record[position]
            text = describe_change(record)
            for k, axis in enumerate(axes):
                shapes.append(dict(type="line", xref=axis, yref="paper", x0=x, x1=x, y0=0, y1=1,
                                   line=dict(color=colors.get(label, CHANGE_COLOR), width=1.4, dash="dot")))
                if k == 0:
                    annotations.append(dict(x=x, xref=axis, y=0.99 - 0.07 * (len(annotations) % 4), yref="paper",
                                            yanchor="top", xanchor="left", xshift=3,
                                            text=(f"{label}: " if label else "") + text, showarrow=False,
                                            font=dict(size=11, color=colors.get(label, CHANGE_COLOR)),
                                            bgcolor="rgba(255,255,255,0.8)"))
    return shapes, annotations


def describe_change(record: dict) -> str:
    """What a change record set, in words: its "text" where the caller wrote one (the UI names hyperparameters by
    their symbols, 'α → 0.3, batch → 128'), else by their names, 'lr → 0.3, batch → 128'."""
    if record.get("text"):
        return record["text"]
    parts = [f"{name} → {value:.3g}" if isinstance(value, float) else f"{name} → {value}"
             for name, value in record.get("hparams", {}).items()]
    if record.get("batch_size"):
        parts.append(f"batch → {record['batch_size']}")
    return ", ".join(parts)
