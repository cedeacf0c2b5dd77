"""The surface itself: the contour map (the race figure's left panel) and a 3-D view.

Surfaces whose values span decades (Rosenbrock's walls are 10⁶ times its valley floor) are drawn on a log
scale, log10(f − f* + δ), or every contour would crowd the walls and the valley would be one flat colour.
The map is a picture under the plot (see raster.py for why), with the minima and saddles as markers on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from ..surfaces import Surface
from ._plotly import FONT, f32, figure, titled_legend
from .colors import palette
from .labels import legend_label
from .raster import ALPHA_STEPS, colorscale_rgb, data_uri, palette_image, png_indexed, shaded_levels

MAP_PIXELS = 720  # the longer side of the map picture: sharp on a projector, 100–250 kB for most surfaces
SURFACE_GRID = 80
LEVELS = 22
MAX_BANDS = 32  # 32 bands × 8 line shades fill a 256-colour palette
# Pale blue-grey: coloured paths stay the most visible thing on the map.
MAP_SCALE = [[0.0, "#ffffff"], [0.5, "#e8eef5"], [1.0, "#c3d0e1"]]
SURFACE_SCALE = [[0.0, "#f4f7fb"], [0.5, "#b9cbe0"], [1.0, "#5f7fa6"]]
MINIMUM_STYLE = dict(symbol="star", size=18, color="#ffd400", line=dict(color="#333", width=1.2))
SADDLE_STYLE = dict(symbol="x-thin", size=13, color="#333", line=dict(color="#333", width=2.5))


@dataclass(frozen=True)
class Scale:
    """How values are shown: log10(f − floor + offset) when `log`, f itself otherwise."""

    log: bool
    floor: float = 0.0
    offset: float = 1.0

    def __call__(self, values):
        values = np.asarray(values, dtype=float)
        if not self.log:
            return values
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log10(np.maximum(values - self.floor, 0.0) + self.offset)

    @property
    def label(self) -> str:
        return "log₁₀(f − f*)" if self.log else "f"


def value_scale(surface: Surface, values: np.ndarray | None = None) -> Scale:
    """Log scale if the surface asks for one or its values over the window span more than three decades."""
    if values is None:
        values = surface.grid(120)[2]
    finite = values[np.isfinite(values)]
    floor = float(min([finite.min(), *_minimum_values(surface)]))
    spread = finite - floor
    p05, p95 = np.percentile(spread, [5, 95])
    if not (surface.spec.log_levels or p95 > 1e3 * max(p05, 1e-300)):
        return Scale(False)
    # δ a millionth of the largest value: about six decades of contours, the deepest ones ringing the minimum.
    return Scale(True, floor, max(float(spread.max()) * 1e-6, 1e-12))


def _minimum_values(surface: Surface) -> list[float]:
    if not len(surface.minima):
        return []
    return [float(v) for v in surface.value(surface.minima[:, 0], surface.minima[:, 1])]


def minimum_value(surface: Surface) -> float | None:
    """f at the deepest listed minimum, None for a surface without one."""
    values = _minimum_values(surface)
    return min(values) if values else None


# ---------------------------------------------------------------------------------------------------------------
# The map

class SurfaceKey:
    """A surface as the key of a functools.lru_cache: hashed and compared by its name and parameter values (a
    Surface itself does not hash, holding a dict and arrays), carrying the surface along to be drawn on a miss."""

    __slots__ = ("surface", "key")

    def __init__(self, surface: Surface):
        self.surface = surface
        self.key = (surface.name, tuple(sorted(surface.params.items())))

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, SurfaceKey) and self.key == other.key


def map_image(surface: Surface, pixels: int = MAP_PIXELS) -> dict:
    """The contour map as a layout image stretched over the surface's window, below every trace.

    Rendering takes ~30–100 ms, so the last few maps are kept: redrawing a race on the same surface is free.
    """
    x0, x1, y0, y1 = surface.window
    return dict(source=_map_picture(SurfaceKey(surface), pixels), xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0,
                sizey=y1 - y0, xanchor="left", yanchor="top", sizing="stretch", layer="below")


# 16 maps: every surface a session has drawn lately, with room to spare (a lesson uses one or two, the catalogue a
# dozen), at 100–250 kB of data URI each: a few MB at most.
@lru_cache(maxsize=16)
def _map_picture(surface: SurfaceKey, pixels: int) -> str:
    """The map picture as a data URI (see map_image)."""
    return data_uri(_render_map(surface.surface, pixels))


def _render_map(surface: Surface, pixels: int) -> bytes:
    """Filled bands and level lines over the window, one value per pixel centre, as PNG bytes."""
    x0, x1, y0, y1 = surface.window
    width, height = _picture_size(x1 - x0, y1 - y0, pixels)
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y1 - (np.arange(height) + 0.5) * (y1 - y0) / height  # the picture's first row is the window's top
    with np.errstate(all="ignore"):
        z = value_scale(surface)(surface.value(xs[None, :], ys[:, None]))
    undefined = ~np.isfinite(z)  # f overflows or is undefined there: hatched, not a band of its own
    z = np.where(undefined, np.nan, z)
    start, size, bands = _levels(z)
    band, coverage = shaded_levels(np.nan_to_num(z, nan=start), start, size)
    band_rgb = colorscale_rgb(MAP_SCALE, (np.arange(bands) + 0.5) / bands)
    index, colors = palette_image(band, coverage, band_rgb)
    index[undefined] = _hatch(index.shape)[undefined]
    return png_indexed(index, colors)


def _hatch(shape: tuple[int, int], period: int = 8) -> np.ndarray:
    """Palette indices of diagonal stripes: the lowest band, plain and under a full-strength level line."""
    rows, cols = np.indices(shape)
    return np.where((rows + cols) % period < period // 2, ALPHA_STEPS - 1, 0).astype(np.uint8)


def _picture_size(width: float, height: float, pixels: int) -> tuple[int, int]:
    if width >= height:
        return pixels, max(1, round(pixels * height / width))
    return max(1, round(pixels * width / height)), pixels


def _levels(z: np.ndarray) -> tuple[float, float, int]:
    """First level, spacing and number of bands: about LEVELS round-numbered levels over z's range."""
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        return lo if np.isfinite(lo) else 0.0, 1.0, 1
    size = _nice((hi - lo) / LEVELS)
    while (hi - np.floor(lo / size) * size) / size >= MAX_BANDS:
        size = _nice(size * 1.01)
    start = float(np.floor(lo / size) * size)
    return start, size, int(np.floor((hi - start) / size)) + 1


def _nice(step: float) -> float:
    """The 1-2-2.5-5 number nearest above `step`, so contour levels fall on round values."""
    if not (step > 0 and np.isfinite(step)):
        return 1.0
    magnitude = 10.0 ** np.floor(np.log10(step))
    return float(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step * 0.999))


def landmark_traces(surface: Surface, axes: tuple[str, str] = ("x", "y")) -> list[dict]:
    """Minima as stars and saddles as crosses, in the legend once each."""
    traces = []
    for points, name, style in ((surface.minima, "minimum", MINIMUM_STYLE), (surface.saddles, "saddle",
                                                                                 SADDLE_STYLE)):
        if len(points):
            traces.append(dict(type="scatter", x=points[:, 0].tolist(), y=points[:, 1].tolist(), mode="markers",
                               marker=style, name=name, legendrank=1000, meta=name, xaxis=axes[0], yaxis=axes[1],
                               hovertemplate=f"{name} (%{{x:.4g}}, %{{y:.4g}})<extra></extra>"))
    return traces


def click_grid(surface: Surface, n: int = 60, axes: tuple[str, str] = ("x", "y")) -> dict:
    """Invisible markers covering the map, so a click anywhere on it reports a point (the map is a picture).

    hoverinfo "none" keeps click events while showing no hover label; "skip" would swallow the clicks too.
    """
    x0, x1, y0, y1 = surface.window
    x, y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    return dict(type="scatter", x=f32(x.ravel()), y=f32(y.ravel()), mode="markers", name="click to start here",
                marker=dict(size=9, color="rgba(0,0,0,0)"), hoverinfo="none", showlegend=False, meta="click",
                xaxis=axes[0], yaxis=axes[1])


def map_axes(surface: Surface, domain=(0.0, 1.0)) -> dict:
    """x and y axes of the map: the surface's window at equal aspect, so gradients look perpendicular to contours.

    constrain="domain" shrinks the panel rather than widening the range past the picture.
    """
    x0, x1, y0, y1 = surface.window
    common = dict(showgrid=False, zeroline=False, mirror=True, showline=True, linecolor="#888", ticks="outside",
                  constrain="domain")
    x_name, y_name = surface.axis_names
    return dict(xaxis=dict(common, domain=list(domain), range=[x0, x1], title=dict(text=x_name)),
                yaxis=dict(common, range=[y0, y1], scaleanchor="x", scaleratio=1, title=dict(text=y_name)))


def contour_figure(surface: Surface, *, height: int = 600) -> go.Figure:
    """The surface's contour map with its minima and saddles: the race figure's left panel, alone."""
    layout = dict(map_axes(surface), height=height, font=FONT, images=[map_image(surface)],
                  title=dict(text=surface.title, x=0.01), plot_bgcolor="white",
                  legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom"), margin=dict(l=60, r=20, t=80, b=50))
    return figure(landmark_traces(surface), layout)


# ---------------------------------------------------------------------------------------------------------------
# 3-D

def surface_3d_figure(races: dict, surface: Surface | None = None, *, n: int = SURFACE_GRID, colors=None,
                      height: int = 650) -> go.Figure:
    """The surface in 3-D over its window, each race's path lifted just above it.

    Points outside the window are left out: the surface is only drawn there, and a run heading off to infinity
    would squash the view.
    """
    surface = surface or next(iter(races.values())).surface
    with np.errstate(all="ignore"):
        xs, ys, values = surface.grid(n)
        scale = value_scale(surface)
        z = scale(values)
    # where f overflows or is undefined (or lies beyond float32, what Plotly is sent) the surface has a hole
    z = np.where(np.abs(z) <= np.finfo(np.float32).max, z, np.nan)
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    colors = {**palette(races), **(colors or {})}
    data = [dict(type="surface", x=f32(xs), y=f32(ys), z=f32(z), colorscale=SURFACE_SCALE, showscale=False,
                 opacity=0.92, name=surface.title, contours=dict(z=dict(show=True, color="#7b8da8", width=1,
                                                                         start=lo, end=hi, size=(hi - lo) / 12)),
                 hovertemplate=f"x = %{{x:.3f}}, y = %{{y:.3f}}<br>{scale.label} = %{{z:.3g}}<extra></extra>")]
    data += [_path_3d(label, traj, surface, scale, (xs, ys, z), colors[label]) for label, traj in races.items()]
    x0, x1, y0, y1 = surface.window
    # The height's name goes in the title: as the z axis's own title Plotly draws it over the tick labels.
    # The camera sits close enough for the surface to fill the view from any of its windows' aspect ratios.
    scene = dict(xaxis=dict(title=dict(text="x"), range=[x0, x1]), yaxis=dict(title=dict(text="y"), range=[y0, y1]),
                 zaxis=dict(title=dict(text=""), nticks=5), aspectmode="manual",
                 aspectratio=dict(x=1, y=(y1 - y0) / (x1 - x0), z=0.6),
                 camera=dict(eye=dict(x=-0.9, y=-1.35, z=0.85), center=dict(x=0, y=0, z=-0.3)),
                 domain=dict(x=[0, 1], y=[0, 1]))
    layout = dict(scene=scene, height=height, font=FONT,
                  legend=titled_legend(f"{surface.title} in 3-D · height: {scale.label}"),
                  margin=dict(l=0, r=0, t=60, b=0))
    return figure(data, layout)


def _path_3d(label: str, traj, surface: Surface, scale: Scale, grid, color: str) -> dict:
    """A path as a 3-D line just above the surface as drawn, so the surface does not hide it.

    "As drawn": the mesh is flat between grid points, and a narrow valley (Rosenbrock's, on a log scale) runs
    well below the mesh there, so a path at its true height would vanish under it. The line follows the higher
    of the true height and the mesh's, plus 1.5% of the height range.
    """
    xs, ys, z = grid
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    x0, x1, y0, y1 = surface.window
    path = np.array(traj.path, dtype=float)
    outside = ~((path[:, 0] >= x0) & (path[:, 0] <= x1) & (path[:, 1] >= y0) & (path[:, 1] <= y1))
    path[outside] = np.nan
    with np.errstate(all="ignore"):
        true = scale(surface.value(path[:, 0], path[:, 1]))
        height = np.fmax(true, _bilinear(xs, ys, z, path[:, 0], path[:, 1]))
    height = np.clip(height, lo, hi) + 0.015 * (hi - lo)
    return dict(type="scatter3d", x=f32(path[:, 0]), y=f32(path[:, 1]), z=f32(height), mode="lines",
                line=dict(color=color, width=6), name=legend_label(label, traj),
                hovertemplate=f"<b>{label}</b> step %{{pointNumber}}<br>x = %{{x:.4f}}, y = %{{y:.4f}}<extra></extra>")


def _bilinear(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """z (len(ys), len(xs)) on a regular grid, interpolated at points (px, py) inside it; NaN points stay NaN."""
    fx = np.interp(px, xs, np.arange(len(xs)))
    fy = np.interp(py, ys, np.arange(len(ys)))
    finite = np.isfinite(fx) & np.isfinite(fy)
    i = np.clip(np.floor(np.where(finite, fx, 0)).astype(int), 0, len(xs) - 2)
    j = np.clip(np.floor(np.where(finite, fy, 0)).astype(int), 0, len(ys) - 2)
    tx, ty = fx - i, fy - j
    top = z[j, i] * (1 - tx) + z[j, i + 1] * tx
    bottom = z[j + 1, i] * (1 - tx) + z[j + 1, i + 1] * tx
    return np.where(finite, top * (1 - ty) + bottom * ty, np.nan)
