"""The race raced again in the browser while the reader drags (optviz/ui/race_viewer/live.js with the generated
engine, as the app's component gets them), against what Python draws: sliders as Python describes them
(optviz.figures.live_race), the race the server would send for the dragged values, its arrows and state rows; and the
values coming back, checked in Python (optviz.ui.race.settled_values)."""

import math

import numpy as np
import pytest
import test_race_viewer_js

import optviz
from optviz.figures.live_race import POSITIONS, live_race, slider
from optviz.figures.race_payload import decode, race_payload
from optviz.optimizers import SPECS
from optviz.params import LR
from optviz.schedules import schedule
from optviz.ui.race import settled_values
from optviz.ui.settings import from_query

js = test_race_viewer_js.js  # a fixture: the viewer's module in chromium as window.rv
RACERS = ["adam", "sgd", "momentum", "rmsprop", "adagrad", "nadam"]


def params_of(name):
    return {p.name: p for p in SPECS[name].params}


def test_every_numeric_hyperparameter_of_the_catalogue_gets_a_slider_of_valid_values_it_labels_by_symbol():
    for spec in SPECS.values():
        for param in spec.params:
            s = slider(param, param.default)
            if param.kind != "float" or s is None:
                continue
            assert s["positions"] >= 200 and s["label"].endswith(f"({param.name.replace('_', ' ')})")
            assert param.validate(s["low"]) == s["low"] and param.validate(s["high"]) == s["high"]
    assert slider(params_of("adam")[LR], 1e-3)["label"] == "α (lr)"
    assert slider(params_of("adam")["bias_correction"], True) is None  # a switch is no slider


def test_a_sliders_positions_map_to_distinct_valid_rounded_values_and_back(js):
    for name, hp in [("adam", LR), ("adam", "beta1"), ("adam", "beta2"), ("adam", "eps"), ("rmsprop", "momentum")]:
        param = params_of(name)[hp]
        s = slider(param, param.default)
        values = js("(s) => Array.from({length: s.positions + 1}, (_, i) => rv.sliderValue(s, i, 4))", s)
        assert len(set(values)) >= 200, hp  # fine enough to feel continuous
        shown = [1 - v for v in values] if s["scale"] == "decay" else values  # a decay rate is rounded in 1 − value
        assert all(param.contains(np.asarray(v)) for v in values), hp
        assert all(abs(v - float(f"{v:.4g}")) <= 1e-12 * abs(v) for v in shown), hp
        back = js("([s, values]) => values.map(v => rv.sliderPosition(s, v))", [s, values])
        assert max(abs(b - i) for i, b in enumerate(back)) <= 2, hp  # rounding to 4 digits moves a position or so
    eps = slider(params_of("adam")["eps"], 1e-8)
    assert js("(s) => rv.sliderValue(s, 0, 4)", eps) == 0  # ε's slider offers exactly 0


def test_a_learning_rate_far_from_its_centre_gets_a_slider_around_itself():
    lr = params_of("adam")[LR]
    assert slider(lr, 1e-3, centre=1e-2)["low"] == pytest.approx(1e-5)
    s = slider(lr, 0.5, centre=1e-4)  # set by a link: the slider spans it
    assert s["low"] <= 0.5 <= s["high"]


@pytest.mark.parametrize("surface, start, hparams", [
    ("rosenbrock", None, {"lr": 0.0123}),
    ("himmelblau", [0.3, -1.2], {"beta1": 0.5}),
    ("noisy_quadratic", [1.0, -0.5], {"lr": 0.02}),  # its noise travels as numbers
])
def test_the_browsers_race_for_dragged_values_is_the_race_the_server_then_sends(js, surface, start, hparams):
    """The drag's last frame and the server's answer to its release are the same race: no jump on screen."""
    before = optviz.race(surface, RACERS, steps=300)
    payload = race_payload(before)
    kwargs = {"start": start} if start else {}
    after = optviz.race(surface, RACERS, steps=300, hparams={"adam": hparams}, **kwargs)
    computed = js("""([payload, start, hparams]) => {
        const live = new rv.LiveRace(payload);
        return live.compute({start, hparams: {0: hparams}}).map(r => ({path: Array.from(r.path),
            loss: Array.from(r.loss), diverged: r.divergedAt}));
    }""", [payload, start, hparams])
    for got, traj in zip(computed, after.values()):
        path = np.asarray(got["path"]).reshape(-1, 2)
        np.testing.assert_allclose(path, traj.path, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got["loss"], traj.loss, rtol=1e-12, atol=1e-12)
        assert got["diverged"] == traj.diverged_at


def test_a_diverging_dragged_rate_stops_the_path_where_the_server_does_and_says_so(js):
    before = optviz.race("rosenbrock", ["sgd"], steps=200)
    after = optviz.race("rosenbrock", ["sgd"], steps=200, hparams={"sgd": {"lr": 0.05}})
    got = js("""(payload) => new rv.LiveRace(payload).compute({start: null, hparams: {0: {lr: 0.05}}})[0].divergedAt""",
             race_payload(before))
    assert got == after["sgd"].diverged_at is not None
    assert race_payload(before)["live"]["diverged"].format(label="sgd", step=got) == f"sgd — diverged at step {got}"


def test_arrows_and_state_rows_drawn_from_the_browsers_race_are_the_servers(js):
    races = optviz.race("rosenbrock", RACERS, steps=300)
    payload = race_payload(races)
    drawn = js("""(payload) => {
        const live = new rv.LiveRace(payload), results = live.compute({start: null, hparams: {}});
        const vectors = results.map((r, i) =>
            rv.arrowVectors(r, live.surface, payload.live.runs[i].moment, payload.steps));
        const tips = rv.arrowTips(vectors, results.map(r => r.path), payload.map.window, payload.live.arrows);
        const rows = payload.rows.slice(0, 2).map(row => {
            const lines = row.lines.map(l => rv.stateLine(results[l.run].state[l.name], l.part, row.log));
            const range = rv.rowRange(lines, row.log);
            return {range, ticks: rv.roundTicks(range[0], range[1], row.log, 4), lines: lines.map(l => Array.from(l))};
        });
        return {tips: tips.map(t => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Array.from(v)]))), rows};
    }""", payload)
    for run, tips in zip(payload["runs"], drawn["tips"]):
        assert set(tips) == set(run["arrows"])
        for kind, values in tips.items():
            np.testing.assert_allclose(np.asarray(values, float), decode(run["arrows"][kind]), rtol=1e-5, atol=1e-5)
    for row, got in zip(payload["rows"], drawn["rows"]):
        assert got["range"] == pytest.approx(row["range"], rel=1e-5)
        assert [t[1] for t in got["ticks"]] == [t[1] for t in row["ticks"]]
        for line, values in zip(row["lines"], got["lines"]):
            np.testing.assert_allclose(np.asarray(values, float), decode(line["values"]), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name, hparams", [
    ("adam", {"beta1": 0.7, "eps": 0.05, "eps_placement": "keras"}), ("amsgrad", {"lr": 0.02}),
    ("adam", {"bias_correction": False}), ("adabelief", {"beta2": 0.99}),
])
def test_the_moment_diagnostics_rows_drawn_from_the_browsers_race_are_the_servers(js, name, hparams):
    """m̂, v̂, the effective step and the bias corrections, worked out in the browser by the translated formulas
    (engine.diagnose) from its race for dragged values, are the rows the server then sends."""
    dragged = {k: v for k, v in hparams.items() if k in ("lr", "beta1", "beta2", "eps")}
    before = optviz.race("rosenbrock", [optviz.Entry(name, {k: v for k, v in hparams.items() if k not in dragged})],
                         steps=300)
    after = race_payload(optviz.race("rosenbrock", [optviz.Entry(name, hparams)], steps=300))
    keys = ["m_hat", "v_hat", "effective_step", "bias_corrections"]
    drawn = js("""([payload, hparams, keys]) => {
        const [result] = new rv.LiveRace(payload).compute({start: null, hparams: {0: hparams}});
        return payload.rows.filter(row => keys.includes(row.key)).map(row => row.lines.map(l =>
            Array.from(rv.stateLine(rv.recorded(result, l.name), l.part, row.log, payload.steps))));
    }""", [race_payload(before), dragged, keys])
    rows = [row for row in after["rows"] if row["key"] in keys]
    assert [row["key"] for row in rows] == keys and len(drawn) == len(rows)
    for row, lines in zip(rows, drawn):
        for line, values in zip(row["lines"], lines):
            np.testing.assert_allclose(np.asarray(values, float), decode(line["values"]), rtol=1e-6,
                                       equal_nan=True, err_msg=row["key"])


def test_the_loss_chart_is_each_runs_loss_on_a_log_scale_where_every_loss_is_positive(js):
    races = optviz.race("rosenbrock", ["adam", "sgd"], steps=200)
    row = js("""(payload) => {
        const runs = payload.runs.map(r => ({lossValues: rv.decodeF32(r.loss), diverged_at: r.diverged_at}));
        const row = rv.lossRow(runs, payload.live.loss_titles);
        return {...row, lines: row.lines.map(l => Array.from(l.v))};
    }""", race_payload(races))
    assert row["log"] and row["first"] == 0 and row["title"] == "loss f(θ), log scale"
    for line, traj in zip(row["lines"], races.values()):
        np.testing.assert_allclose(line, np.log10(traj.loss.astype(np.float32)), rtol=1e-6)
    low, high = row["range"]
    assert low < min(map(min, row["lines"])) and high > max(map(max, row["lines"]))
    negative = optviz.race("styblinski_tang", ["sgd"], steps=50)  # f < 0 on its way down: a linear axis
    assert not js("""(payload) => rv.lossRow([{lossValues: rv.decodeF32(payload.runs[0].loss), diverged_at: null}],
        payload.live.loss_titles).log""", race_payload(negative))


def test_what_the_browser_cannot_race_is_named_in_words():
    cyclic = optviz.optimizer("sgd", schedule=schedule("cosine", t_max=100))
    races = optviz.race("rosenbrock", [cyclic, "adam"], steps=50)
    live = live_race(races, races["adam"].surface)
    assert live["runs"][0]["lr"] is not None and "schedule" in live["runs"][0]["server_params"][LR]
    assert live["runs"][1]["lr"] is None and not live["runs"][1]["server_params"]
    data = optviz.race("linear_regression", ["adam"], steps=5)
    assert "table's rows" in live_race(data, data["adam"].surface)["server"]


def settings_of(query):
    return from_query(query)[0]


RACE = {"surface": ["rosenbrock"], "opt": ["adam;lr=0.01", "sgd"]}


def test_settled_values_in_range_come_back_as_numbers_and_a_start_rounded_to_the_pixel():
    changes, start = settled_values({"hparams": [{"run": 0, "name": "beta1", "value": 0.5},
                                                 {"run": 1, "name": LR, "value": 3e-3}],
                                     "start": {"x": 0.12345, "y": -0.5}}, settings_of(RACE), 300.0)
    assert changes == [(0, "beta1", 0.5), (1, LR, 3e-3)] and start == (0.123, -0.5)


@pytest.mark.parametrize("value, words", [
    ({"hparams": [{"run": 0, "name": LR, "value": math.nan}]}, "lr must be a number in"),
    ({"hparams": [{"run": 0, "name": LR, "value": -1}]}, r"lr must be a number in \(0, ∞\), got -1"),
    ({"hparams": [{"run": 0, "name": "beta1", "value": 1.5}]}, r"beta1 must be a number in \[0, 1\)"),
    ({"hparams": [{"run": 5, "name": LR, "value": 0.1}]}, "run 5 is not in this race of 2"),
    ({"hparams": [{"run": 1, "name": "beta1", "value": 0.5}]}, "SGD has no numeric hyperparameter 'beta1'"),
    ({"hparams": [{"run": 0, "name": "bias_correction", "value": 0}]}, "no numeric hyperparameter"),
    ({"hparams": [{"run": 0, "name": LR, "value": "0.1"}]}, "must be a number, got '0.1'"),
    ({"hparams": [], "start": {"x": math.inf, "y": 0}}, r"the start must be a finite point \(x, y\)"),
    ({"hparams": [], "start": {"x": None, "y": 0}}, "the start must be a finite point"),
    ({"hparams": [], "start": {"x": 301, "y": 0}}, r"the start must lie within ±300 on both axes, got \(301, 0\)"),
    ("nonsense", "expected the settled values"),
])
def test_a_settled_value_out_of_range_or_not_finite_is_refused_in_words(value, words):
    with pytest.raises(ValueError, match=words):
        settled_values(value, settings_of(RACE), 300.0)


def test_a_6_by_1000_race_payload_stays_within_1_5_megabytes():
    import json
    payload = race_payload(optviz.race("rosenbrock", RACERS, steps=1000))
    assert len(json.dumps(payload)) <= 1_500_000
    assert len(payload["live"]["runs"][0]["sliders"]) == 4 and POSITIONS >= 200
