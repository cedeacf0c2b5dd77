"""Building Plotly figures from plain dicts, fast, and keeping their JSON small.

Plotly's graph objects validate every property on construction: about 1.5 ms per trace and far more per
figure, which would dominate building a figure with many traces.
Every figure here is assembled as plain dicts whose property names the tests check by validating the result
once (`go.Figure(fig.to_dict())`), and then wrapped without validation. (The race itself is not a Plotly figure:
race_payload.py feeds the app's own viewer.)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

FONT = dict(family="Inter, 'Helvetica Neue', Arial, sans-serif", size=14, color="#222")


def titled_legend(title: str, y: float = 1.02) -> dict:
    """A horizontal legend above the plot, headed by the figure's title. In the legend, the title cannot overlap
    it: Plotly grows the top margin to fit however many lines the legend wraps onto (eight optimizers in half a
    page take three), but does not move a separate title out of its way."""
    return dict(orientation="h", x=0, xanchor="left", y=y, yanchor="bottom",
                title=dict(text=title, side="top", font=dict(size=18)))


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A go.Figure holding `data` and `layout` as given, without per-property validation.

    The layout gets the plotly_white template as an object: without validation a template *name* would be sent
    to Plotly.js, which only understands template objects.
    """
    layout = {"template": pio.templates["plotly_white"], **layout}
    return go.Figure(data=data, layout=layout, _validate=False)


def f32(values) -> np.ndarray:
    """A float32 copy: Plotly sends NumPy arrays as base64 typed arrays, 4 bytes a number instead of ~19.

    A value beyond float32's range (a typed surface such as exp(exp(exp(x))) reaches 10³⁰⁸) becomes ±inf, which
    Plotly leaves undrawn, without an overflow warning in the server's log for every figure.
    """
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float32)
