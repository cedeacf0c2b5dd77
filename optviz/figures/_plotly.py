"""Building Plotly figures from plain dicts, fast, and keeping their JSON small.

Plotly's graph objects validate every property on construction: about 1.5 ms per trace and far more per
animation frame (a frame's traces are validated one by one), which would dominate a race figure's build.
Every figure here is assembled as plain dicts whose property names the tests check by validating the result
once (`go.Figure(fig.to_dict())`), and then wrapped without validation.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.basedatatypes import convert_to_base64

FONT = dict(family="Inter, 'Helvetica Neue', Arial, sans-serif", size=14, color="#222")


def titled_legend(title: str, y: float = 1.02) -> dict:
    """A horizontal legend above the plot, headed by the figure's title. In the legend, the title cannot overlap
    it: Plotly grows the top margin to fit however many lines the legend wraps onto (eight optimizers in half a
    page take three), but does not move a separate title out of its way."""
    return dict(orientation="h", x=0, xanchor="left", y=y, yanchor="bottom",
                title=dict(text=title, side="top", font=dict(size=18)))


def figure(data: list[dict], layout: dict, frames: list[dict] | None = None) -> go.Figure:
    """A go.Figure holding `data`, `layout` and `frames` as given, without per-property validation.

    The layout gets the plotly_white template as an object: without validation a template *name* would be sent
    to Plotly.js, which only understands template objects.
    """
    layout = {"template": pio.templates["plotly_white"], **layout}
    fig = go.Figure(data=data, layout=layout, _validate=False)
    if frames:
        attach_frames(fig, frames)
    return fig


class FrozenFigure(go.Figure):
    """A figure that will not change any more, converted to a dict once.

    Streamlit calls fig.to_dict() on every page load, and Plotly's deep copy with array encoding is the most
    expensive part of showing a big animated figure (≈ 0.1 s for a race); a cached figure shown to a whole class
    pays it once.
    """

    def to_dict(self):
        return self._frozen_dict


def freeze(fig: go.Figure) -> FrozenFigure:
    """Convert `fig` to its dict now, once, and make that its to_dict() for good.

    The same dict as fig.to_dict(), made without that method's deep copy: the arrays are base64-encoded in the
    figure's own containers. So `fig` is consumed: afterwards it is only good for showing, not for reading its
    traces or changing it.
    """
    res = {"data": fig._data, "layout": fig._layout}
    frames = [frame._props for frame in fig._frame_objs]
    if frames:
        res["frames"] = frames
    convert_to_base64(res)
    fig.__class__ = FrozenFigure
    fig._frozen_dict = res
    return fig


def attach_frames(fig: go.Figure, frames: list[dict]) -> None:
    """Give `fig` animation frames made of plain dicts, skipping Plotly's validation of every frame's traces.

    `fig.frames = frames` validates each frame's traces (hundreds of milliseconds for a few hundred frames);
    plotly's own to_dict() only reads each frame's `_props`, which an unvalidated go.Frame keeps as given.
    Should plotly's internals change, the slow, validated assignment still gives the same figure.
    """
    if hasattr(fig, "_frame_objs"):
        fig._frame_objs = tuple(go.Frame(frame, _validate=False) for frame in frames)
    else:  # pragma: no cover - only on a future plotly without _frame_objs
        fig.frames = frames


def f32(values) -> np.ndarray:
    """A float32 copy: Plotly sends NumPy arrays as base64 typed arrays, 4 bytes a number instead of ~19.

    A value beyond float32's range (a typed surface such as exp(exp(exp(x))) reaches 10³⁰⁸) becomes ±inf, which
    Plotly leaves undrawn, without an overflow warning in the server's log for every figure.
    """
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float32)


def rounded(values, decimals: int) -> list:
    """A nested list of numbers rounded to `decimals`, None where not finite.

    For the tiny arrays of animation frames: a 2-number list is shorter in JSON than a base64 typed array.
    """
    values = np.asarray(values, dtype=float)
    out = np.round(values, decimals).tolist()
    if np.isfinite(values).all():
        return out
    return _none_where(out, np.isfinite(values).tolist())


def _none_where(values, finite):
    if isinstance(values, list):
        return [_none_where(v, f) for v, f in zip(values, finite)]
    return values if finite else None


def decimals_for(span: float, digits: int = 4) -> int:
    """Decimal places that resolve 1/10**digits of `span`: 4 significant digits of a plot window."""
    return int(max(0, digits - np.floor(np.log10(span)))) if span > 0 and np.isfinite(span) else digits


def scale_fonts(layout, factor: float):
    """A copy of `layout` with every font size (font, tickfont, title fonts…) multiplied by `factor`."""
    if factor == 1:
        return layout
    if isinstance(layout, list):
        return [scale_fonts(item, factor) for item in layout]
    if not isinstance(layout, dict):
        return layout
    out = {key: scale_fonts(value, factor) for key, value in layout.items()}
    if "size" in out and ("family" in out or "color" in out or len(out) == 1):  # a font dict
        out["size"] = round(out["size"] * factor, 1)
    return out
