"""The Plotly figures: what they show, what their animation frames touch, and how big they get."""

import base64
import json
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import pytest

import optviz
from optviz.figures import PALETTE, contour_figure, frame_steps, loss_figure, palette, race_figure, surface_3d_figure

RACE = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]
ANIMATED = {"marker", "arrow", "cursor"}


@pytest.fixture(scope="module")
def races():
    return optviz.race("rosenbrock", RACE, steps=300)


@pytest.fixture(scope="module")
def fig(races):
    return race_figure(races)


@pytest.fixture(scope="module")
def diverging():
    """SGD with a large step leaves Rosenbrock within a few steps; Adam does not."""
    return optviz.race("rosenbrock", ["adam", "sgd"], steps=200, hparams={"sgd": {"lr": 0.01}})


def roles(fig):
    return [trace.meta for trace in fig.data]


def by_role(fig, role):
    return [trace for trace in fig.data if trace.meta == role]


def json_size(fig):
    return len(fig.to_json())


# ---------------------------------------------------------------------------------------------------------------
# Payload and animation frames

def test_payload_grows_linearly_with_steps():
    sizes = {}
    for steps in (1000, 2000):
        sizes[steps] = json_size(race_figure(optviz.race("rosenbrock", RACE, steps=steps)))
    assert sizes[2000] < 2.5 * sizes[1000]
    assert sizes[1000] < 1.5e6


def test_frames_are_bounded_evenly_spaced_and_end_on_the_last_step(races):
    fig = race_figure(races, frames=50)
    steps = [int(frame.name) for frame in fig.frames]
    assert len(steps) == 50
    assert steps[0] == 0 and steps[-1] == 300
    assert steps == fig.layout.meta["frame_steps"] == frame_steps(300, 50).tolist()
    assert np.ptp(np.diff(steps)) <= 1  # evenly spaced up to rounding


def test_frame_steps_are_every_step_when_there_are_fewer_steps_than_frames():
    assert frame_steps(7, 200).tolist() == list(range(8))
    assert frame_steps(1, 200).tolist() == [0, 1]
    with pytest.raises(ValueError):
        frame_steps(10, 1)


def test_frames_only_touch_markers_arrows_and_cursors(fig):
    kinds = roles(fig)
    touched = fig.frames[0].traces
    assert {kinds[i] for i in touched} == ANIMATED
    assert [i for i, kind in enumerate(kinds) if kind in ANIMATED] == list(touched)
    for frame in fig.frames:
        assert list(frame.traces) == list(touched)
        data = frame.to_plotly_json()["data"]
        assert len(data) == len(touched)
        assert all(set(item) <= {"x", "y"} for item in data)  # coordinates only: no styles resent per frame


def test_frames_move_the_markers_along_the_paths(races, fig):
    markers = [i for i, kind in enumerate(roles(fig)) if kind == "marker"]
    for frame in fig.frames[::37]:
        step = int(frame.name)
        data = dict(zip(frame.traces, frame.to_plotly_json()["data"]))
        for index, traj in zip(markers, races.values()):
            np.testing.assert_allclose([data[index]["x"][0], data[index]["y"][0]], traj.path[step], atol=1e-3)


def test_cursors_sit_on_the_frames_step(fig):
    cursors = [i for i, kind in enumerate(roles(fig)) if kind == "cursor"]
    frame = fig.frames[-1]
    data = dict(zip(frame.traces, frame.to_plotly_json()["data"]))
    assert all(data[i]["x"] == [300, 300] for i in cursors)


def test_only_scatter_traces_so_the_map_survives_the_animation(fig):
    # Plotly.js animations with redraw=False drop every non-scatter trace of the subplots they touch: the
    # contour map must be a layout image.
    assert {trace.type for trace in fig.data} == {"scatter"}
    image = fig.layout.images[0]
    assert image.source.startswith("data:image/png;base64,")
    assert base64.b64decode(image.source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    x0, x1, y0, y1 = optviz.surface("rosenbrock").window
    assert (image.x, image.y, image.sizex, image.sizey) == (x0, y1, x1 - x0, y1 - y0)


def test_animation_controls(fig):
    play = fig.layout.updatemenus[0].buttons
    durations = [button.args[1]["frame"]["duration"] for button in play if button.args[0] is None]
    assert len(durations) == 4 and durations == sorted(durations, reverse=True)  # 0.5×, 1×, 2×, 4×
    assert all(button.args[1]["frame"]["redraw"] is False for button in play if button.args[0] is None)
    slider = fig.layout.sliders[0]
    assert [step.args[0][0] for step in slider.steps] == [frame.name for frame in fig.frames]


# ---------------------------------------------------------------------------------------------------------------
# What the race figure shows

def test_paths_are_the_trajectories_paths(races, fig):
    paths = by_role(fig, "path")
    assert len(paths) == len(races)
    for trace, traj in zip(paths, races.values()):
        assert trace.x.dtype == np.float32  # sent as a compact typed array
        np.testing.assert_allclose(trace.x, traj.path[:, 0], rtol=1e-6)
        np.testing.assert_allclose(trace.y, traj.path[:, 1], rtol=1e-6)


def test_divergent_run_is_flagged_and_drawn_up_to_divergence(diverging):
    sgd = diverging["sgd"]
    assert sgd.diverged_at is not None
    fig = race_figure(diverging)
    names = [trace.name for trace in by_role(fig, "path")]
    assert names == ["adam", f"sgd — diverged at step {sgd.diverged_at}"]
    path = by_role(fig, "path")[1]
    assert np.isfinite(path.x[: sgd.diverged_at]).all() and np.isnan(path.x[sgd.diverged_at:]).all()
    assert [trace.name for trace in loss_figure(diverging).data][1] == names[1]
    assert json.loads(fig.to_json())  # NaN is valid in the typed arrays and None in the frames


def row_titles(fig):
    return [a.text for a in fig.layout.annotations if a.yanchor == "bottom" and a.xanchor == "left"]


def test_state_rows_are_only_those_some_optimizer_has():
    def rows(names, **kwargs):
        return row_titles(race_figure(optviz.race("quadratic", names, steps=30), **kwargs))

    assert rows(["sgd"]) == []
    assert rows(["sgd", "momentum"]) == ["first moment / velocity  (m, buf)"]
    # RMSProp keeps a velocity and a mean gradient, but without momentum or centering they stay zero
    assert [t.split("  ")[0] for t in rows(["rmsprop"])] == ["second moment / accumulator"]
    assert len(rows(["adam"])) == 6
    assert rows(["adam", "momentum"], traces=["momentum"]) == ["first moment / velocity  (m, buf)"]
    assert rows(["adam", "momentum"], traces=[]) == []


def test_state_lines_are_per_coordinate_in_the_optimizers_colour(races, fig):
    colors = palette(races)
    lines = by_role(fig, "trace")
    momentum = [t for t in lines if t.legendgroup == "momentum"]
    assert [t.line.dash for t in momentum] == ["solid", "dash"]  # x solid, y dashed
    assert {t.line.color for t in momentum} == {colors["momentum"]}
    np.testing.assert_allclose(momentum[0].y, races["momentum"].trace["buf"][:, 0], rtol=1e-6)
    assert not [t for t in lines if t.legendgroup == "sgd"]  # plain SGD keeps no state


def test_no_rows_gives_the_map_the_full_width(races):
    fig = race_figure(races, traces=[])
    assert list(fig.layout.xaxis.domain) == [0.0, 1.0]
    assert "cursor" not in roles(fig)


def test_arrows_start_at_the_current_point_and_can_be_left_out(races):
    fig = race_figure(races, step=150, frames=101)
    kinds = roles(fig)
    marker = fig.data[kinds.index("marker")]
    arrows = by_role(fig, "arrow")
    assert len(arrows) == 6 + 6 + 3  # gradient and update for all, momentum for adam, momentum and nesterov
    assert (arrows[0].x[0], arrows[0].y[0]) == (marker.x[0], marker.y[0])
    np.testing.assert_allclose([marker.x[0], marker.y[0]], races["adam"].path[150], atol=1e-3)
    bare = race_figure(races, arrows=False)
    assert "arrow" not in roles(bare) and len(bare.layout.updatemenus) == 1


def test_path_only_recordings_still_animate():
    races = optviz.race("himmelblau", ["adam", "momentum"], steps=50, record="path")
    fig = race_figure(races)
    assert row_titles(fig) == []
    assert {"marker", "arrow"} <= set(roles(fig))
    assert json.loads(fig.to_json())


def test_unknown_trace_labels_and_batched_runs_are_rejected(races):
    with pytest.raises(ValueError, match="unknown labels"):
        race_figure(races, traces=["adamw"])
    batch = {"adam": optviz.run("quadratic", "adam", start=[(1.0, 1.0), (2.0, 2.0)], steps=10)}
    with pytest.raises(ValueError, match="single runs"):
        race_figure(batch)


# ---------------------------------------------------------------------------------------------------------------
# Colours

def test_colours_are_the_same_in_every_figure(races):
    colors = palette(races)
    assert len(set(colors.values())) == len(races)
    figures = [race_figure(races), loss_figure(races), surface_3d_figure(races)]
    for fig in figures:
        lines = [t for t in fig.data if t.type in ("scatter", "scatter3d") and t.mode == "lines"
                 and t.meta in (None, "path")]
        assert [t.line.color for t in lines] == list(colors.values())


def test_an_optimizer_keeps_its_colour_when_the_race_changes():
    full = palette(RACE)
    assert palette(["momentum", "adam"]) == {"momentum": full["momentum"], "adam": full["adam"]}
    second = palette(["adam", "adam (2)"])
    assert second["adam"] == full["adam"] and second["adam (2)"] != full["adam"]


def test_palette_stays_distinct_for_large_races():
    labels = [f"run {i}" for i in range(16)]
    assert len(set(palette(labels).values())) == 16 == len(PALETTE)
    races = optviz.race("quadratic", list(optviz.OPTIMIZERS), steps=5)
    assert len(set(palette(races).values())) == len(races)


def test_colour_overrides_apply(races):
    fig = race_figure(races, colors={"adam": "#000000"})
    assert by_role(fig, "path")[0].line.color == "#000000"


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

def test_figures_serialize_and_pass_plotlys_validation(races, fig):
    for figure in (fig, loss_figure(races), surface_3d_figure(races), contour_figure(races["adam"].surface)):
        text = figure.to_json()
        go.Figure(json.loads(text))  # the full schema check the fast build skips


def test_figures_package_does_not_import_streamlit():
    code = "import sys, optviz.figures; assert 'streamlit' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_frozen_figure_converts_to_a_dict_once_and_stays_the_same():
    from optviz.figures._plotly import freeze

    races = optviz.race("rosenbrock", ["adam", "sgd"], steps=50)
    frozen = freeze(race_figure(races))
    assert frozen.to_dict() is frozen.to_dict()
    fresh = race_figure(races)
    assert json.dumps(frozen.to_dict(), sort_keys=True) == json.dumps(fresh.to_dict(), sort_keys=True)
    assert json.loads(frozen.to_json()) == json.loads(race_figure(races).to_json())


def test_log_state_rows_label_at_most_four_whole_decades():
    """The moment rows are short: Plotly's own log ticks (2s and 5s, or every decade) crowd their labels."""
    races = optviz.race("beale", ["adam", "adagrad", "rmsprop"], start=(-1, 1.5), steps=300)
    layout = race_figure(races).layout
    logs = [layout[name] for name in layout if name.startswith("yaxis") and layout[name].type == "log"]
    assert logs
    for axis in logs:
        low, high = axis.range
        labels = int(np.floor(high / axis.dtick) - np.ceil(low / axis.dtick)) + 1
        assert float(axis.dtick).is_integer() and 1 <= labels <= 4, (axis.range, axis.dtick)
