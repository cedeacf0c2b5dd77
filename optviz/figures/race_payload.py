"""The race as compact data for the browser's race viewer (optviz/ui/race_viewer): everything it draws, computed here.

The viewer draws and animates what Python computed; only while the reader drags a slider or the start point does it
race again, with the engine generated from the same rules, as the "live" field describes (live_race). This payload
holds, per optimizer, the path, the loss, the three arrows' tips at every step and its companion paths (other
sequences of points it keeps, such as an average or L-BFGS's inner iterations: companions.py), and per state row
the series, its range and its ticks, already in drawing units (log10 for a log row). The map comes as the contour
picture plus a coarse grid of f for the hover readout (the viewer interpolates it bilinearly).

Arrays travel as base64 of little-endian float32 (`{"f32": "..."}`, NaN for "nothing here"): a 6 × 1,000-step
race with its state rows is ~0.5 MB of JSON instead of ~2 MB of decimal text, and the browser decodes it into
Float32Arrays without parsing a number. decode() reads one back.

    payload = race_payload(optviz.race("rosenbrock", ["adam", "sgd"]))
    decode(payload["runs"][0]["path"]).reshape(-1, 2)   # Adam's (steps+1, 2) path
"""

from __future__ import annotations

import base64
import math
from functools import lru_cache

import numpy as np

from ..surfaces import Surface
from .arrows import ARROW_KINDS, arrow_segments, arrow_vectors
from .colors import palette
from .companions import companions
from .labels import full_name, hover_detail, legend_label
from .live_race import live_race
from .rows import ROWS, row_lines, row_range
from .surface import SurfaceKey, map_image, value_scale
from .ticks import round_values

PLAY_SECONDS = 10.0  # a whole race at 1×, whatever its length
SPEEDS = (0.5, 1, 2, 4)
HOVER_GRID = 160  # f sampled on HOVER_GRID² points for the hover readout: 100 kB, ~0.1 % error between them
MAP_TICKS = 6
ROW_TICKS = 4
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def race_payload(races: dict, surface: Surface | None = None, *, traces: list[str] | None = None,
                 colors: dict[str, str] | None = None, title: str | None = None, step: int = 0,
                 data_panel: dict | None = None, centres: dict[str, dict[str, float]] | None = None) -> dict:
    """The race viewer's data: JSON-serialisable, arrays as base64 float32.

    races: label -> Trajectory recorded with record=True, all of the same length. Drawn in this order, the last
    on top (a lesson lists its taught optimizer last).
    traces: labels whose state rows to show (None: all; []: no rows, the map alone).
    colors: label -> colour overrides of palette(races).
    step: the step shown before playing.
    data_panel: an optional scatter beside the map (a data-defined surface's points and each optimizer's fit
    line at every step); see data_panel_payload().
    centres: label -> hyperparameter -> the value its log slider centres on (see live_race).
    """
    surface, steps = _check(races, surface)
    unit = next(iter(races.values())).unit  # what the scrubber counts: steps, or gradient evaluations
    colors = {**palette(races), **(colors or {})}
    shown = list(races) if traces is None else _check_labels(traces, races)
    every_step = np.arange(steps + 1)
    tips = _arrow_tips(races, surface, every_step)
    payload = dict(
        title=title or _title(surface, races, steps, unit), steps=steps, step=int(np.clip(step, 0, steps)),
        unit=unit,
        play_seconds=PLAY_SECONDS, speeds=list(SPEEDS), map=_map(surface),
        start=[float(v) for v in next(iter(races.values())).path[0]],
        arrow_kinds=[dict(key=k.key, title=k.title, short=k.short, dash=k.dash) for k in ARROW_KINDS
                     if any(k.key in by_kind for by_kind in tips.values())],
        runs=[_run(label, traj, colors[label], tips[label]) for label, traj in races.items()],
        rows=_rows(races, shown, list(races)), step_ticks=_ticks(0, steps, "linear", 6),
        data_panel=data_panel_payload(data_panel, len(races), steps) if data_panel else None,
        live=live_race(races, surface, centres),
    )
    return payload


def encode(values) -> dict:
    """A float array as {"f32": base64 of its little-endian float32 bytes}; infinities become NaN (a gap)."""
    array = np.asarray(values, dtype="<f4").ravel()
    array = np.where(np.isfinite(array), array, np.float32("nan")).astype("<f4")
    return {"f32": base64.b64encode(array.tobytes()).decode("ascii")}


def decode(field: dict) -> np.ndarray:
    """The flat float32 array of an encode()d field."""
    return np.frombuffer(base64.b64decode(field["f32"]), dtype="<f4")


def _check(races: dict, surface: Surface | None) -> tuple[Surface, int]:
    if not races:
        raise ValueError("a race needs at least one trajectory")
    if any(traj.path is None for traj in races.values()):
        raise ValueError("every trajectory needs a recorded path (run with record=True)")
    shapes = {traj.path.shape for traj in races.values()}
    if len(shapes) != 1:
        raise ValueError(f"every trajectory needs a path of the same length, got shapes {sorted(shapes)}")
    shape = shapes.pop()
    if len(shape) != 2:
        raise ValueError("the race viewer draws single runs; a batched run has paths of shape (steps+1, N, 2)")
    return surface or next(iter(races.values())).surface, shape[0] - 1


def _check_labels(traces: list[str], races: dict) -> list[str]:
    unknown = [label for label in traces if label not in races]
    if unknown:
        raise ValueError(f"traces names unknown labels {unknown}; the race has {list(races)}")
    return [label for label in races if label in traces]


def _title(surface: Surface, races: dict, steps: int, unit: str = "step") -> str:
    count = len(races)
    counted = f"{steps:,} steps" if unit == "step" else f"{steps:,} gradient {unit}s"
    return f"{surface.title} · {count} optimizer{'s' * (count != 1)} · {counted}"


# ---------------------------------------------------------------------------------------------------------------
# The map: picture, hover grid, ticks, landmarks

def _map(surface: Surface) -> dict:
    """The map part of the payload, the same for every race on this surface: the last few are kept (as the
    pictures are, surface.map_image), so a learning-rate change does not sample the surface again."""
    return _cached_map(SurfaceKey(surface))


# As many as surface.map_image keeps pictures (16), since each of these holds one of them: ~0.3 MB apiece with its
# hover grid.
@lru_cache(maxsize=16)
def _cached_map(surface: SurfaceKey) -> dict:
    return _render_map(surface.surface)


def _render_map(surface: Surface) -> dict:
    """The contour picture over the window, f on a grid for the hover readout, ticks, minima and saddles."""
    x0, x1, y0, y1 = surface.window
    xs, ys = np.linspace(x0, x1, HOVER_GRID), np.linspace(y0, y1, HOVER_GRID)
    with np.errstate(all="ignore"):
        values = surface.value(xs[None, :], ys[:, None])  # row j is y = ys[j]
    return dict(window=[float(v) for v in surface.window], picture=map_image(surface)["source"],
                value_grid=dict(nx=HOVER_GRID, ny=HOVER_GRID, values=encode(values)),
                scale=value_scale(surface).label, x_ticks=_ticks(x0, x1, "linear", MAP_TICKS),
                y_ticks=_ticks(y0, y1, "linear", MAP_TICKS), minima=np.asarray(surface.minima, float).tolist(),
                saddles=np.asarray(surface.saddles, float).tolist(), axis_names=list(surface.axis_names))


def _ticks(low: float, high: float, scale: str, most: int) -> list[list]:
    """[value, label] pairs of round values in [low, high]; on a "log10" axis the values are exponents."""
    if scale == "log10":
        values = round_values(10.0 ** low, 10.0 ** high, "log", most)
        return [[math.log10(v), plain_label(v)] for v in values]
    values = round_values(low, high, "linear", most)
    if len(values) < 2:  # a short row around 0 would show "0" alone: a finer ladder gives it a scale
        values = round_values(low, high, "linear", 2 * most)
    return [[v, plain_label(v)] for v in values]


def plain_label(value: float) -> str:
    """A tick label in plain text: 0.5, 250, 10⁻⁵, 2×10⁻⁴ (the canvas draws no HTML)."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.6g}"
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    mantissa = f"{value / 10.0 ** exponent:.3g}"
    power = "10" + str(exponent).translate(SUPERSCRIPT)
    return power if mantissa == "1" else f"{mantissa}×{power}"


# ---------------------------------------------------------------------------------------------------------------
# Each optimizer: path, loss, arrows

def _arrow_tips(races: dict, surface: Surface, steps: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """label -> kind -> (len(steps), 2) arrow tips; each arrow starts at the run's point at that step."""
    vectors = {label: arrow_vectors(traj, steps) for label, traj in races.items()}
    points = {label: traj.path[steps] for label, traj in races.items()}
    tips: dict[str, dict[str, np.ndarray]] = {label: {} for label in races}
    for (label, kind), segment in arrow_segments(vectors, points, surface.window).items():
        tips[label][kind] = segment[:, 1]
    return tips


def _run(label: str, traj, color: str, tips: dict[str, np.ndarray]) -> dict:
    return dict(label=label, legend=legend_label(label, traj), name=full_name(traj), hover=hover_detail(label, traj),
                color=color,
                diverged_at=traj.diverged_at, path=encode(traj.path), loss=encode(traj.loss),
                arrows={kind: encode(tip) for kind, tip in tips.items()},
                companions=[_companion(c) for c in companions(traj)])


def _companion(companion) -> dict:
    """{name, label, points: (n, 2) flat, reached: per step k how many points are drawn, style: {dash, width (a
    share of the path's), dots}, trace: the per-step trace it is, or None}."""
    style = companion.style
    return dict(name=companion.name, label=companion.label, points=encode(companion.points),
                reached=encode(companion.reached), style=dict(dash=style.dash, width=style.width, dots=style.dots),
                trace=companion.trace)


# ---------------------------------------------------------------------------------------------------------------
# State rows

def _rows(races: dict, shown: list[str], order: list[str]) -> list[dict]:
    """A row for each quantity some shown optimizer has, in ROWS order; series at steps 1..steps.

    The y range covers the runs that did not diverge (all runs if every one did): a diverging run's state
    explodes before it stops and would flatten every other line of the row. Log rows travel as log10.
    """
    out = []
    for row in ROWS:
        lines = [line for label in shown for line in row_lines(races[label], label, row)]
        if not lines:
            continue
        steady = [line for line in lines if races[line.label].diverged_at is None] or lines
        (low, high), log = row_range(steady, row.log)
        series = []
        for line in lines:
            values = line.values
            if log:
                with np.errstate(all="ignore"):
                    values = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)
            series.append(dict(run=order.index(line.label), part=line.part, name=line.name, dash=line.dash,
                               values=encode(values)))
        title, short = row.titles_for([races[label] for label in dict.fromkeys(line.label for line in lines)])
        out.append(dict(key=row.key, title=title, short=short, log=log, range=[low, high],
                        ticks=_ticks(low, high, "log10" if log else "linear", ROW_TICKS), lines=series))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The optional data panel (data-defined surfaces)

def data_panel_payload(panel: dict, runs: int, steps: int) -> dict:
    """Check and encode a data panel: {"title", "x_label", "y_label", "points": {"x", "y", "cls" or None},
    "lines": one flat array per optimizer (race order) of (steps+1)·4 values x0, y0, x1, y1 per step,
    "epochs_per_step": per optimizer, the epochs one of its steps costs (batch size / examples): step k of run i
    is epoch k·epochs_per_step[i]}.

    The panel's ranges and ticks come from the points (lines are clipped to them), so the viewer only draws.
    """
    points = panel["points"]
    x, y = np.asarray(points["x"], float), np.asarray(points["y"], float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"data panel points need x and y of one length, got {x.shape} and {y.shape}")
    cls = points.get("cls")
    if cls is not None and len(cls) != len(x):
        raise ValueError(f"data panel cls has {len(cls)} entries for {len(x)} points")
    lines = [np.asarray(line, float).reshape(-1) for line in panel.get("lines", [])]
    if len(lines) != runs or any(line.size != (steps + 1) * 4 for line in lines):
        raise ValueError(f"data panel lines need one array of (steps+1)·4 = {(steps + 1) * 4} values per "
                         f"optimizer ({runs}), got sizes {[line.size for line in lines]}")
    (x_low, x_high), (y_low, y_high) = (_padded(x), _padded(y))
    return dict(title=str(panel.get("title", "")), x_label=str(panel.get("x_label", "")),
                y_label=str(panel.get("y_label", "")), x=encode(x), y=encode(y),
                cls=None if cls is None else [int(c) for c in cls], lines=[encode(line) for line in lines],
                x_range=[x_low, x_high], y_range=[y_low, y_high],
                x_ticks=_ticks(x_low, x_high, "linear", 7), y_ticks=_ticks(y_low, y_high, "linear", 7),
                epochs_per_step=[float(e) for e in panel.get("epochs_per_step", [])])


def _padded(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.08 * (high - low) or 0.5
    return low - pad, high + pad
