"""The Plotly figures and the colours every figure shares (the race viewer's data: test_race_payload.py)."""

import json
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest

import optviz
from optviz.figures import PALETTE, contour_figure, loss_figure, palette, race_payload, surface_3d_figure

RACE = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]


@pytest.fixture(scope="module")
def races():
    return optviz.race("rosenbrock", RACE, steps=300)


# ---------------------------------------------------------------------------------------------------------------
# Colours

def test_colours_are_the_same_in_every_figure(races):
    colors = palette(races)
    assert len(set(colors.values())) == len(races)
    assert [run["color"] for run in race_payload(races)["runs"]] == list(colors.values())
    for fig in [loss_figure(races), surface_3d_figure(races)]:
        lines = [t for t in fig.data if t.type in ("scatter", "scatter3d") and t.mode == "lines"
                 and t.meta in (None, "path")]
        assert [t.line.color for t in lines] == list(colors.values())


def test_an_optimizer_keeps_its_colour_when_the_race_changes():
    full = palette(RACE)
    assert palette(["momentum", "adam"]) == {"momentum": full["momentum"], "adam": full["adam"]}
    second = palette(["adam", "adam (2)"])
    assert second["adam"] == full["adam"] and second["adam (2)"] != full["adam"]


def test_palette_stays_distinct_for_large_races():
    labels = [f"run {i}" for i in range(len(PALETTE))]
    assert len(set(palette(labels).values())) == len(PALETTE) >= len(optviz.OPTIMIZERS)
    races = optviz.race("quadratic", list(optviz.OPTIMIZERS), steps=5)
    assert len(set(palette(races).values())) == len(races)


# ---------------------------------------------------------------------------------------------------------------
# The other figures

def test_loss_figure_is_distance_to_the_minimum_on_a_log_axis(races):
    fig = loss_figure(races)
    assert fig.layout.yaxis.type == "log"
    adam = races["adam"]
    np.testing.assert_allclose(fig.data[0].y[:10], adam.loss[:10] - 0.0, rtol=1e-6)  # Rosenbrock's f* = 0


def test_loss_figure_without_a_minimum_shows_the_loss_itself():
    races = optviz.race("saddle_unbounded", ["sgd"], steps=40, hparams={"sgd": {"lr": 0.05}})
    fig = loss_figure(races)
    assert fig.layout.yaxis.type == "linear"  # x² − y² goes negative
    np.testing.assert_allclose(fig.data[0].y[:5], races["sgd"].loss[:5], rtol=1e-6)


def test_surface_3d_paths_stay_above_the_surface(races):
    fig = surface_3d_figure(races)
    surface, *paths = fig.data
    assert surface.type == "surface" and len(paths) == len(races)
    assert surface.z.shape == (80, 80)


@pytest.mark.parametrize("name", list(optviz.SURFACES))
def test_contour_map_renders_for_every_surface(name):
    fig = contour_figure(optviz.surface(name))
    assert fig.layout.images[0].source.startswith("data:image/png;base64,")


# ---------------------------------------------------------------------------------------------------------------
# Serialization

def test_figures_serialize_and_pass_plotlys_validation(races):
    for figure in (loss_figure(races), surface_3d_figure(races), contour_figure(races["adam"].surface)):
        text = figure.to_json()
        go.Figure(json.loads(text))  # the full schema check the fast build skips


def test_figures_package_does_not_import_streamlit():
    code = "import sys, optviz.figures; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
