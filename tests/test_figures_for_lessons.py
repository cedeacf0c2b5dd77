"""Figures a class reads: the counterexample chart, basins side by side, the 3-D view, a surface that
is not finite everywhere."""

import io
import warnings
import zlib

import numpy as np
import plotly.graph_objects as go

import optviz
from optviz import figures, sweeps
from optviz.counterexample import reddi_run
from optviz.custom import custom_surface, not_finite_share
from optviz.figures.surface import _render_map


def test_counterexample_chart_titles_its_axes_with_subscripts_and_labels_few_round_steps():
    fig = figures.counterexample_figure({"Adam": reddi_run("adam"), "AMSGrad": reddi_run("amsgrad")})
    go.Figure(fig.to_dict())  # valid for Plotly
    titles = [fig.layout[axis].title.text for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2")]
    assert not any("_" in title for title in titles)
    assert "x<sub>t</sub>" in fig.layout.yaxis.title.text and "R<sub>t</sub>" in fig.layout.yaxis2.title.text
    assert list(fig.layout.xaxis2.tickvals) == [1, 10, 100, 1000]  # not a dozen minor labels
    assert "best point" in fig.layout.legend.title.text  # the title heads the legend: neither clips the other


def basin_results(optimizers=("adam", "sgd")):
    rates = {"adam": 0.1, "sgd": 2e-3}
    return [sweeps.basins("rosenbrock", name, 20, lr=rates[name], steps=100) for name in optimizers]


def test_basins_side_by_side_share_one_colour_scale():
    results = basin_results()
    panels = [(name, r.xs, r.ys, None, r.loss_grid) for name, r in zip(("Adam", "SGD"), results)]
    fig = figures.basins_panels_figure(results[0].surface, panels)
    go.Figure(fig.to_dict())
    losses = [t for t in fig.data if t.type == "heatmap" and t.coloraxis]
    assert len(losses) == 2 and {t.coloraxis for t in losses} == {"coloraxis"}
    both = np.concatenate([np.asarray(t.z, float).ravel() for t in losses])
    both = both[np.isfinite(both)]
    assert fig.layout.coloraxis.cmin <= both.min() + 1e-6 and fig.layout.coloraxis.cmax >= both.max() - 1e-6
    assert [a.text for a in fig.layout.annotations] == ["Adam", "SGD"]
    assert {t.xaxis for t in losses} == {"x", "x2"}


def test_3d_view_names_its_height_in_the_title_not_over_the_z_ticks():
    surface = optviz.surface("rosenbrock")
    races = optviz.race(surface, ["adam"], steps=20)
    fig = figures.surface_3d_figure(races)
    assert not fig.layout.scene.zaxis.title.text
    assert "log₁₀(f − f*)" in fig.layout.legend.title.text


def test_a_surface_that_overflows_is_hatched_there_and_said_to_be_not_finite():
    surface = custom_surface("exp(exp(exp(x)))*y")
    share = not_finite_share(surface)
    assert 0.2 < share < 0.5  # exp(exp(exp(x))) overflows for x > 1.88 of [-5, 5]
    assert not_finite_share(optviz.surface("rosenbrock")) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings in the server's log
        png = _render_map(surface, 200)
        races = optviz.race(surface, ["adam"], steps=20)
        fig = figures.surface_3d_figure(races)
    z = np.asarray(fig.data[0].z, float)
    assert np.isnan(z).any() and np.isfinite(z).any()  # a hole where f is not finite, not a cliff
    index = _png_indices(png)
    right = index[:, -30:]  # x close to 5: not finite
    assert len(np.unique(right)) == 2  # two alternating shades: stripes
    left = index[:, :30]
    assert not np.array_equal(np.unique(left), np.unique(right))


def _png_indices(png: bytes) -> np.ndarray:
    """The palette indices of an 8-bit indexed PNG written with filter 0 (as raster.png_indexed writes it)."""
    stream = io.BytesIO(png[8:])
    width = height = 0
    data = b""
    while True:
        length = int.from_bytes(stream.read(4), "big")
        tag, chunk = stream.read(4), stream.read(length)
        stream.read(4)
        if tag == b"IHDR":
            width, height = int.from_bytes(chunk[:4], "big"), int.from_bytes(chunk[4:8], "big")
        elif tag == b"IDAT":
            data += chunk
        elif tag == b"IEND":
            break
    rows = np.frombuffer(zlib.decompress(data), np.uint8).reshape(height, width + 1)
    return rows[:, 1:]
