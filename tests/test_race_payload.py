"""The race viewer's data (optviz.figures.race_payload): everything the viewer draws, computed in Python."""

import base64
import json

import numpy as np
import pytest

import optviz
from optviz.figures import palette, race_payload
from optviz.figures.arrows import arrow_segments, arrow_vectors
from optviz.figures.race_payload import decode, plain_label

RACE = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]


@pytest.fixture(scope="module")
def races():
    return optviz.race("rosenbrock", RACE, steps=300)


@pytest.fixture(scope="module")
def payload(races):
    return race_payload(races)


def run(payload, label):
    return next(r for r in payload["runs"] if r["label"] == label)


def row_titles(payload):
    return [row["title"] for row in payload["rows"]]


def test_the_payload_is_json_and_grows_linearly_with_steps():
    sizes = {steps: len(json.dumps(race_payload(optviz.race("rosenbrock", RACE, steps=steps))))
             for steps in (1000, 2000)}
    assert sizes[2000] < 2.1 * sizes[1000] - 0.1e6  # the map is sent once, whatever the length
    assert sizes[1000] < 0.8e6  # a 6 × 1,000-step race with every state row: well under a megabyte


def test_paths_and_losses_are_the_trajectories_in_race_order(races, payload):
    assert [r["label"] for r in payload["runs"]] == RACE  # drawn in this order, the last on top
    for r, traj in zip(payload["runs"], races.values()):
        np.testing.assert_allclose(decode(r["path"]).reshape(-1, 2), traj.path, rtol=1e-6)
        np.testing.assert_allclose(decode(r["loss"]), traj.loss, rtol=1e-6)
    assert payload["steps"] == 300 and payload["start"] == list(races["adam"].path[0])


def test_the_hover_box_names_the_optimizer_once(races, payload):
    adam = run(payload, "adam")
    assert adam["hover"] == f"α = {races['adam'].optimizer.hparams['lr']:.3g}"   # the label already says Adam
    assert adam["name"].startswith("Adam, α = ")                                # the legend's tooltip: in full
    renamed = race_payload({"fast": races["adam"]})["runs"][0]
    assert renamed["hover"].startswith("Adam, α = ")


def test_the_effective_step_row_shows_where_epsilon_sits():
    def title(*placements, short=False):
        entries = [optviz.Entry("adam", {"eps_placement": p}, label=f"adam {p} {i}") for i, p in enumerate(placements)]
        rows = race_payload(optviz.race("rosenbrock", entries, steps=20))["rows"]
        return next(row["short" if short else "title"] for row in rows if row["key"] == "effective_step")

    assert title("outside").endswith("α·m̂ / (√v̂ + ε)")
    assert title("inside", "inside").endswith("α·m̂ / √(v̂ + ε)")
    assert title("keras").endswith("m / (√v + ε̂)")
    assert "ε where each optimizer places it" in title("outside", "keras")
    assert title("inside", short=True) == "α·m̂ / √(v̂ + ε)"  # what a narrow row keeps: the formula


def test_every_row_sends_its_symbols_for_a_row_too_narrow_for_its_title(payload):
    for row in payload["rows"]:
        assert row["short"] and row["short"] in row["title"] and len(row["short"]) < len(row["title"])
    short = {row["key"]: row["short"] for row in payload["rows"]}
    assert short["m_hat"] == "m̂ = m / (1 − β₁ᵗ)" and short["moment1"] == "(m, buf)"


def test_arrow_tips_are_the_scaled_arrows_at_every_step(races, payload):
    steps = np.arange(301)
    vectors = {label: arrow_vectors(traj, steps) for label, traj in races.items()}
    points = {label: traj.path[steps] for label, traj in races.items()}
    segments = arrow_segments(vectors, points, races["adam"].surface.window)
    for kind in ("gradient", "moment", "update"):
        np.testing.assert_allclose(decode(run(payload, "momentum")["arrows"][kind]).reshape(-1, 2),
                                   segments[("momentum", kind)][:, 1], rtol=1e-5)
    assert set(run(payload, "sgd")["arrows"]) == {"gradient", "update"}  # plain SGD has no momentum
    assert np.isnan(decode(run(payload, "adam")["arrows"]["update"])[-2:]).all()  # no step after the last
    assert [k["key"] for k in payload["arrow_kinds"]] == ["gradient", "moment", "update"]


def test_divergent_run_is_flagged_and_its_path_stops_there():
    races = optviz.race("rosenbrock", ["adam", "sgd"], steps=200, hparams={"sgd": {"lr": 0.01}})
    t = races["sgd"].diverged_at
    assert t is not None
    payload = race_payload(races)
    sgd = run(payload, "sgd")
    assert sgd["legend"] == f"sgd — diverged at step {t}" and sgd["diverged_at"] == t
    path = decode(sgd["path"]).reshape(-1, 2)
    assert np.isfinite(path[:t]).all() and np.isnan(path[t:]).all()  # a gap the viewer does not draw
    assert json.loads(json.dumps(payload, allow_nan=False))  # NaN lives only inside the encoded arrays


def test_state_rows_are_only_those_some_traced_optimizer_has():
    def rows(names, **kwargs):
        return row_titles(race_payload(optviz.race("quadratic", names, steps=30), **kwargs))

    assert rows(["sgd"]) == []
    assert rows(["sgd", "momentum"]) == ["first moment / velocity  (m, buf)"]
    # RMSProp keeps a velocity and a mean gradient, but without momentum or centering they stay zero
    assert [t.split("  ")[0] for t in rows(["rmsprop"])] == ["second moment / accumulator"]
    assert len(rows(["adam"])) == 6
    assert rows(["adam", "momentum"], traces=["momentum"]) == ["first moment / velocity  (m, buf)"]
    assert rows(["adam", "momentum"], traces=[]) == []


def test_state_lines_are_per_coordinate_and_log_rows_travel_as_log10(races, payload):
    first, second = payload["rows"][0], payload["rows"][1]
    momentum = [line for line in first["lines"] if payload["runs"][line["run"]]["label"] == "momentum"]
    assert [(line["part"], line["dash"]) for line in momentum] == [("x", "solid"), ("y", "dash")]
    np.testing.assert_allclose(decode(momentum[0]["values"]), races["momentum"].trace["buf"][:, 0], rtol=1e-6)
    assert not [line for line in first["lines"] if payload["runs"][line["run"]]["label"] == "sgd"]
    assert second["log"]
    adam_v = next(line for line in second["lines"] if payload["runs"][line["run"]]["label"] == "adam")
    np.testing.assert_allclose(decode(adam_v["values"]), np.log10(races["adam"].trace["v"][:, 0]), rtol=1e-5)


def test_row_ranges_hold_the_steady_runs_and_ticks_lie_inside(payload):
    for row in payload["rows"]:
        low, high = row["range"]
        assert low < high and row["ticks"]
        assert all(low <= value <= high for value, _ in row["ticks"])
    decades = [label for value, label in payload["rows"][1]["ticks"]]
    assert all(label in {"1", "10", "100", "1000", "10000"} or "10" in label for label in decades)


def test_tick_labels_are_plain_text_powers_for_tiny_and_huge_values():
    assert [plain_label(v) for v in (0, 0.5, 250, 1e-5, 2e-4, 1e6)] == ["0", "0.5", "250", "10⁻⁵", "2×10⁻⁴", "10⁶"]


def test_the_map_is_the_contour_picture_with_a_value_grid_for_hover(payload):
    m = payload["map"]
    assert base64.b64decode(m["picture"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    surface = optviz.surface("rosenbrock")
    assert m["window"] == list(surface.window) and m["minima"] == [[1.0, 1.0]]
    grid = decode(m["value_grid"]["values"]).reshape(m["value_grid"]["ny"], m["value_grid"]["nx"])
    x0, x1, y0, y1 = surface.window
    assert grid[0, 0] == pytest.approx(surface.value(x0, y0), rel=1e-6)  # row 0 is the window's bottom
    assert grid[-1, -1] == pytest.approx(surface.value(x1, y1), rel=1e-6)
    assert [v for v, _ in m["x_ticks"]] == [-2, -1, 0, 1, 2]


def test_colours_and_overrides(races):
    assert [r["color"] for r in race_payload(races)["runs"]] == list(palette(races).values())
    assert run(race_payload(races, colors={"adam": "#000000"}), "adam")["color"] == "#000000"


def test_path_only_recordings_still_play():
    races = optviz.race("himmelblau", ["adam", "momentum"], steps=50, record="path")
    payload = race_payload(races)
    assert payload["rows"] == [] and {"gradient", "update"} <= set(payload["runs"][0]["arrows"])


def test_the_start_step_is_clamped_to_the_race(races):
    assert race_payload(races, step=150)["step"] == 150
    assert race_payload(races, step=10_000)["step"] == 300


def test_unknown_trace_labels_and_batched_runs_are_rejected(races):
    with pytest.raises(ValueError, match="unknown labels"):
        race_payload(races, traces=["adamw"])
    batch = {"adam": optviz.run("quadratic", "adam", start=[(1.0, 1.0), (2.0, 2.0)], steps=10)}
    with pytest.raises(ValueError, match="single runs"):
        race_payload(batch)
