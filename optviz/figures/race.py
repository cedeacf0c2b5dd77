"""The race figure: the map with every path, the optimizer-state rows beside it, one shared animation.

Payload: the paths and state series go once into the base figure as float32 arrays. The animation frames
(at most `frames` of them, evenly spaced) touch only the small traces that move, selected by index: one
current-point marker per optimizer, its arrows, and a step cursor per state row. The JSON therefore grows
linearly with the number of steps, and a frame costs ~1 kB whatever the run's length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from ..surfaces import Surface
from ._plotly import FONT, decimals_for, f32, figure, rounded, scale_fonts, titled_legend
from .arrows import ARROW_KINDS, arrow_segments, arrow_vectors
from .colors import palette
from .labels import hover_title, legend_label
from .rows import ROWS, Line, Row, row_lines, row_range
from .surface import click_grid, landmark_traces, map_axes, map_image

SPEEDS = (0.5, 1, 2, 4)
PLAY_SECONDS = 10.0  # a whole race at 1×
MAP_DOMAIN, ROWS_DOMAIN = (0.0, 0.47), (0.56, 1.0)
ROW_GAP = 0.055  # between state rows, room for each row's title
TOP, BOTTOM = 100, 150  # margins in pixels: title and legend above; axis title, buttons and slider below
PATH_WIDTH, STATE_WIDTH = 2.6, 1.6


def frame_steps(steps: int, frames: int = 200) -> np.ndarray:
    """The steps the animation visits: evenly spaced over 0..steps, at most `frames`, the first and last included."""
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames!r}")
    return np.unique(np.linspace(0, steps, min(frames, steps + 1)).round().astype(int))


def race_figure(races: dict, surface: Surface | None = None, *, frames: int = 200, arrows: bool = True,
                traces: list[str] | None = None, colors: dict[str, str] | None = None, height: int | None = None,
                step: int = 0, title: str | None = None, font_scale: float = 1.0) -> go.Figure:
    """One animated figure of a race: map and paths on the left, optimizer state over the steps on the right.

    races: label -> Trajectory from optviz.race (recorded with record=True for the state rows and arrows).
    frames: at most this many animation frames, evenly spaced, always ending on the last step.
    arrows: draw −gradient, −first moment and update arrows at each optimizer's current point.
    traces: labels whose state to show in the rows (None: all; []: no rows, the map takes the full width).
    colors: label -> colour overrides; by default palette(races), shared with the other figures.
    step: the step the markers, arrows and cursors show before the animation starts.
    font_scale: every text size multiplied by it (1.4 for a projector).
    The steps of the frames are in `fig.layout.meta["frame_steps"]` (and frame_steps()): slider position i
    shows step frame_steps[i], and the frame for step s is named str(s).
    """
    surface, n = _check(races, surface)
    colors = {**palette(races), **(colors or {})}
    shown = list(races) if traces is None else _check_labels(traces, races)
    steps = frame_steps(n, frames)
    rows = _rows(races, shown)
    height = height or max(620, 170 + 120 * len(rows))

    data = [click_grid(surface)] + landmark_traces(surface)
    data += [_path_trace(label, traj, colors[label], rank) for rank, (label, traj) in enumerate(races.items())]
    data.append(_start_trace(races))
    for panel in rows:
        data += [_state_trace(line, colors[line.label], panel) for line in panel.lines]

    animated = _Animated(races, surface, steps, arrows, rows, colors)
    first = len(data)
    data += animated.traces(_snap(steps, step))
    indices = list(range(first, len(data)))
    frame_list = [dict(name=str(s), traces=indices, data=animated.frame(i)) for i, s in enumerate(steps)]

    layout = _layout(surface, rows, steps, height, title or _title(surface, races, n))
    layout["sliders"] = [_slider(steps, int(np.searchsorted(steps, _snap(steps, step))), height)]
    arrow_indices = animated.arrow_indices(first) if arrows else {}
    layout["updatemenus"] = _buttons(len(steps), height, arrow_indices)
    if arrow_indices:
        layout["annotations"].append(_arrow_key(arrow_indices, height))
    return figure(data, scale_fonts(layout, font_scale), frame_list)


def _check(races: dict, surface: Surface | None) -> tuple[Surface, int]:
    if not races:
        raise ValueError("race_figure needs at least one trajectory")
    lengths = {traj.path.shape for traj in races.values() if traj.path is not None}
    if len(lengths) != 1 or any(traj.path is None for traj in races.values()):
        raise ValueError("every trajectory needs a recorded path of the same length (run with record=True)")
    shape = lengths.pop()
    if len(shape) != 2:
        raise ValueError("race_figure draws single runs; a batched run has paths of shape (steps+1, N, 2)")
    return surface or next(iter(races.values())).surface, shape[0] - 1


def _check_labels(traces: list[str], races: dict) -> list[str]:
    unknown = [label for label in traces if label not in races]
    if unknown:
        raise ValueError(f"traces names unknown labels {unknown}; the race has {list(races)}")
    return [label for label in races if label in traces]


def _snap(steps: np.ndarray, step: int) -> int:
    """The frame step nearest to `step`."""
    return int(steps[np.argmin(np.abs(steps - step))])


def _title(surface: Surface, races: dict, n: int) -> str:
    count = len(races)
    return f"{surface.title} · {count} optimizer{'s' * (count != 1)} · {n:,} steps"


# ---------------------------------------------------------------------------------------------------------------
# Static traces: sent once

def _path_trace(label: str, traj, color: str, rank: int) -> dict:
    return dict(type="scatter", x=f32(traj.path[:, 0]), y=f32(traj.path[:, 1]), mode="lines",
                line=dict(color=color, width=PATH_WIDTH), name=legend_label(label, traj), legendgroup=label,
                legendrank=rank + 1, meta="path",
                hovertemplate=f"{hover_title(label, traj)}<br>step %{{pointNumber}}: (%{{x:.4f}}, %{{y:.4f}})"
                              "<extra></extra>")


def _start_trace(races: dict) -> dict:
    start = next(iter(races.values())).path[0]
    return dict(type="scatter", x=[float(start[0])], y=[float(start[1])], mode="markers", name="start",
                marker=dict(symbol="circle-open", size=13, color="#333", line=dict(width=2)), showlegend=False,
                meta="start", hovertemplate="start (%{x:.4g}, %{y:.4g})<extra></extra>")


@dataclass(frozen=True)
class _Panel:
    """A state row as drawn: its series, its fixed y range (log10 units on a log axis) and its axes' suffix."""

    row: Row
    lines: list[Line]
    yrange: list[float]
    log: bool
    axis: str  # the map is x/y, the rows x2/y2, x3/y3, ...


def _rows(races: dict, shown: list[str]) -> list[_Panel]:
    """A panel for each row some shown optimizer has, in ROWS order.

    The y range covers the runs that did not diverge (all runs if every one did): a diverging run's state
    explodes before it stops, and would otherwise flatten every other line of the row to zero.
    """
    out = []
    for row in ROWS:
        lines = [line for label in shown for line in row_lines(races[label], label, row)]
        if lines:
            steady = [line for line in lines if races[line.label].diverged_at is None] or lines
            out.append(_Panel(row, lines, *row_range(steady, row.log), axis=str(len(out) + 2)))
    return out


def _state_trace(line: Line, color: str, panel: _Panel) -> dict:
    values = np.where(line.values > 0, line.values, np.nan) if panel.log else line.values
    name = line.name if line.part == line.name else f"{line.name}<sub>{line.part}</sub>"
    axis = panel.axis
    return dict(type="scatter", x0=1, dx=1, y=f32(values), mode="lines", xaxis=f"x{axis}", yaxis=f"y{axis}",
                line=dict(color=color, width=STATE_WIDTH, dash=line.dash), legendgroup=line.label,
                showlegend=False, name=f"{line.label} {line.name}", meta="trace",
                hovertemplate=f"<b>{line.label}</b> {name} = %{{y:.4g}}<br>step %{{x}}<extra></extra>")


# ---------------------------------------------------------------------------------------------------------------
# Animated traces: markers, arrows, cursors

class _Animated:
    """The traces frames update, their values at every frame step precomputed as plain rounded lists."""

    def __init__(self, races: dict, surface: Surface, steps: np.ndarray, arrows: bool, rows, colors: dict):
        x0, x1, y0, y1 = surface.window
        self.decimals = decimals_for(min(x1 - x0, y1 - y0))
        self.steps, self.rows, self.colors, self.races = steps, rows, colors, races
        self.points = {label: traj.path[steps] for label, traj in races.items()}
        self.segments = {}
        if arrows:
            vectors = {label: arrow_vectors(traj, steps) for label, traj in races.items()}
            self.segments = arrow_segments(vectors, self.points, surface.window)
        # Per-frame values as lists, rounded once for all frames: x and y of each marker, ends of each arrow.
        self.marker_values = {label: rounded(p, self.decimals) for label, p in self.points.items()}
        self.arrow_values = {key: rounded(seg, self.decimals) for key, seg in self.segments.items()}
        self.step_values = steps.tolist()

    def arrow_keys(self) -> list[tuple[str, str]]:
        return [(label, kind.key) for label in self.races for kind in ARROW_KINDS
                if (label, kind.key) in self.segments]

    def arrow_indices(self, first: int) -> dict[str, list[int]]:
        """Trace indices of the arrows of each kind, given the index of the first animated trace."""
        start = first + len(self.races)
        by_kind: dict[str, list[int]] = {kind.key: [] for kind in ARROW_KINDS}
        for offset, (_, kind) in enumerate(self.arrow_keys()):
            by_kind[kind].append(start + offset)
        return {kind: indices for kind, indices in by_kind.items() if indices}

    def traces(self, step: int) -> list[dict]:
        """The animated traces as they stand at frame step `step`."""
        i = int(np.searchsorted(self.steps, step))
        out = []
        for label in self.races:
            x, y = self.marker_values[label][i]
            out.append(dict(type="scatter", x=[x], y=[y], mode="markers", legendgroup=label, showlegend=False,
                            name=label, meta="marker", marker=dict(size=12, color=self.colors[label],
                                                                   line=dict(color="white", width=1.5)),
                            hovertemplate=f"<b>{label}</b> now at (%{{x:.4f}}, %{{y:.4f}})<extra></extra>"))
        styles = {kind.key: kind for kind in ARROW_KINDS}
        for label, kind in self.arrow_keys():
            (ax, ay), (bx, by) = self.arrow_values[(label, kind)][i]
            color = self.colors[label]
            out.append(dict(type="scatter", x=[ax, bx], y=[ay, by], mode="lines+markers", legendgroup=label,
                            showlegend=False, name=f"{label} {styles[kind].title}", meta="arrow", hoverinfo="skip",
                            line=dict(color=color, width=2.2, dash=styles[kind].dash),
                            marker=dict(symbol="arrow", angleref="previous", size=[0, 11], color=color)))
        for panel in self.rows:
            ends = [10.0 ** v for v in panel.yrange] if panel.log else panel.yrange
            out.append(dict(type="scatter", x=[step, step], y=ends, mode="lines", xaxis=f"x{panel.axis}",
                            yaxis=f"y{panel.axis}", line=dict(color="#555", width=1.2), showlegend=False,
                            hoverinfo="skip", name="step", meta="cursor"))
        return out

    def frame(self, i: int) -> list[dict]:
        """What frame i changes, in the order of the animated traces: coordinates only."""
        data = []
        for label in self.races:
            x, y = self.marker_values[label][i]
            data.append({"x": [x], "y": [y]})
        for key in self.arrow_keys():
            (ax, ay), (bx, by) = self.arrow_values[key][i]
            data.append({"x": [ax, bx], "y": [ay, by]})
        step = self.step_values[i]
        data += [{"x": [step, step]} for _ in self.rows]
        return data


# ---------------------------------------------------------------------------------------------------------------
# Layout and controls

def _layout(surface: Surface, rows: list[_Panel], steps: np.ndarray, height: int, title: str) -> dict:
    layout = dict(map_axes(surface, MAP_DOMAIN if rows else (0.0, 1.0)), height=height, font=FONT,
                  legend=_legend(title, height, bool(rows)),
                  margin=dict(l=60, r=20, t=TOP, b=BOTTOM), hovermode="closest", plot_bgcolor="white",
                  uirevision=surface.name, meta={"frame_steps": steps.tolist()}, images=[map_image(surface)])
    size = (1 - ROW_GAP * (len(rows) - 1)) / len(rows) if rows else 0
    annotations = []
    for i, panel in enumerate(rows):
        top = 1 - i * (size + ROW_GAP)
        layout.update(_row_axes(panel, [top - size, top], i == len(rows) - 1, int(steps[-1])))
        annotations.append(dict(text=panel.row.title, x=ROWS_DOMAIN[0], y=top, xref="paper", yref="paper",
                                xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=13, color="#333")))
    if rows:
        annotations.append(dict(text="coordinates: x ───  y ╌╌╌", x=1, y=1, xref="paper", yref="paper",
                                xanchor="right", yanchor="bottom", showarrow=False, font=dict(size=12, color="#666")))
    layout["annotations"] = annotations
    return layout


def _legend(title: str, height: int, rows: bool) -> dict:
    """A horizontal legend above the panels, headed by the figure's title.

    The title lives in the legend so the two cannot overlap: Plotly grows the top margin to fit the legend,
    however many lines a large race wraps it onto, but would not move a separate title out of its way.
    """
    return {**titled_legend(title, y=1 + _plot_fraction(height, 24 if rows else 6)), "font": dict(size=14)}


def _row_axes(panel: _Panel, domain: list[float], bottom: bool, last_step: int) -> dict:
    """The x and y axes of a state row. All rows share the x range (zoom one, zoom all); only the bottom one
    shows step numbers."""
    frame = dict(showline=True, linecolor="#888", mirror=True)
    x = dict(frame, domain=list(ROWS_DOMAIN), anchor=f"y{panel.axis}", range=[0, last_step], zeroline=False,
             showticklabels=bottom, ticks="outside" if bottom else "")
    if panel.axis != "2":
        x["matches"] = "x2"
    if bottom:
        x["title"] = dict(text="step")
    y = dict(frame, domain=domain, anchor=f"x{panel.axis}", type="log" if panel.log else "linear",
             range=panel.yrange, nticks=4, exponentformat="power", zerolinecolor="#bbb", tickfont=dict(size=12))
    decades = panel.yrange[1] - panel.yrange[0]
    if panel.log and decades >= 1:  # whole decades only: Plotly's 2-and-5 minor labels crowd a short row
        y["dtick"] = max(1, int(np.ceil(decades / 3)))
    return {f"xaxis{panel.axis}": x, f"yaxis{panel.axis}": y}


def _plot_fraction(height: int, pixels: float) -> float:
    """`pixels` below the plot area as a fraction of the plot area's height (paper coordinates)."""
    return pixels / max(height - TOP - BOTTOM, 1)


def _animate_args(duration: float) -> dict:
    return dict(mode="immediate", fromcurrent=True, frame=dict(duration=duration, redraw=False),
                transition=dict(duration=0))


def _buttons(frame_count: int, height: int, arrow_indices: dict[str, list[int]]) -> list[dict]:
    """Play at each speed and Pause, bottom left; which arrows to draw, bottom right.

    The arrow choice is a dropdown rather than toggle buttons: Plotly keeps one active button per menu, so
    several toggles in one menu undo each other's state.
    """
    base = 1000 * PLAY_SECONDS / max(frame_count - 1, 1)
    play = [dict(label=f"▶ {speed:g}×", method="animate", args=[None, _animate_args(round(base / speed, 1))])
            for speed in SPEEDS]
    pause = dict(label="❚❚ Pause", method="animate", args=[[None], dict(mode="immediate", frame=dict(
        duration=0, redraw=False), transition=dict(duration=0))])
    style = dict(yanchor="top", bgcolor="white", bordercolor="#999", font=dict(size=13),
                 y=-_plot_fraction(height, 62), pad=dict(t=0, r=6))
    menus = [dict(style, type="buttons", direction="right", buttons=play + [pause], x=0, xanchor="left",
                  showactive=True, active=-1)]
    if arrow_indices:
        menus.append(dict(style, type="dropdown", direction="up", buttons=_arrow_choices(arrow_indices), x=1,
                          xanchor="right", active=0, showactive=True))
    return menus


def _arrow_choices(arrow_indices: dict[str, list[int]]) -> list[dict]:
    """Dropdown entries: every arrow, one kind only, or none, each setting `visible` on every arrow trace."""
    indices = [i for kind in arrow_indices.values() for i in kind]
    kind_of = {i: kind for kind, members in arrow_indices.items() for i in members}
    titles = {kind.key: kind.short for kind in ARROW_KINDS}

    def choice(label: str, shown) -> dict:
        return dict(label=label, method="restyle", args=[{"visible": [kind_of[i] in shown for i in indices]},
                                                           indices])

    return ([choice("arrows: all", set(arrow_indices))]
            + [choice(f"only {titles[kind]}", {kind}) for kind in arrow_indices]
            + [choice("arrows: none", set())])


def _arrow_key(arrow_indices: dict[str, list[int]], height: int) -> dict:
    """The dash style of each kind of arrow, beside the arrow dropdown."""
    glyphs = {"dot": "┈┈", "dash": "╌╌", "solid": "──"}
    parts = [f"{glyphs[kind.dash]} {kind.short}" for kind in ARROW_KINDS if kind.key in arrow_indices]
    return dict(text="arrows (length ∝ log size):  " + "   ".join(parts), x=1, xref="paper", xanchor="right",
                xshift=-150, y=-_plot_fraction(height, 70), yref="paper", yanchor="top", showarrow=False,
                font=dict(size=12, color="#555"))


def _slider(steps: np.ndarray, active: int, height: int) -> dict:
    jump = dict(mode="immediate", frame=dict(duration=0, redraw=False), transition=dict(duration=0))
    return dict(active=active, x=0, len=1, y=-_plot_fraction(height, 100), yanchor="top", pad=dict(t=0, b=0),
                currentvalue=dict(prefix="step ", font=dict(size=14, color="#222"), xanchor="left"),
                ticklen=0, minorticklen=0, font=dict(size=1, color="rgba(0,0,0,0)"),
                steps=[dict(label=str(s), method="animate", args=[[str(s)], jump]) for s in steps.tolist()])
