"""Companion paths on the race map (optviz/figures/companions.py): the other sequences of points an optimizer keeps
besides θ travel in the payload with the trajectory's own numbers, chosen by their catalogue role, and the viewer
draws them up to the playhead, from the browser's own race while a slider is dragged. Prodigy's distance estimate
d gets a state row."""

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

import optviz
from optviz.figures.export import race_html
from optviz.figures.race_payload import decode, race_payload
from optviz.figures.viewer_source import viewer_module

VIEWER = Path(__file__).resolve().parents[1] / "optviz" / "ui" / "race_viewer"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "companions"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]
STEPS = 60


@pytest.fixture(scope="module")
def races():
    return optviz.race("rosenbrock", ["schedule_free_adamw", "lbfgs", "asgd", "prodigy", "adam"], steps=STEPS,
                       hparams={"schedule_free_adamw": {"lr": 0.05}, "asgd": {"lr": 1e-3, "t0": 10},
                                "lbfgs": {"max_iter": 5}})


@pytest.fixture(scope="module")
def payload(races):
    return race_payload(races)


def _run(payload, label):
    return next(run for run in payload["runs"] if run["label"] == label)


def _companion(payload, label, name):
    return next(c for c in _run(payload, label)["companions"] if c["name"] == name)


def test_schedule_free_carries_its_average_dashed_and_its_iterate_dotted_as_recorded(races, payload):
    traj = races["schedule_free_adamw"]
    average, iterate = _run(payload, "schedule_free_adamw")["companions"]
    assert (average["name"], average["style"]["dash"], average["trace"]) == ("x_avg", "dash", "x_avg")
    assert (iterate["name"], iterate["style"]["dash"], iterate["trace"]) == ("z", "dot", "z")
    for companion in (average, iterate):
        points = decode(companion["points"]).reshape(-1, 2)
        np.testing.assert_array_equal(points, traj.trace[companion["name"]].astype(np.float32))
        np.testing.assert_array_equal(decode(companion["reached"]), np.arange(STEPS + 1))
    # the average is not the path (θ = y, where the gradient is taken), and the label says which is which
    assert np.abs(traj.trace["x_avg"] - traj.path[1:]).max() > 1e-3
    assert "where the model is evaluated" in average["label"] and "where the gradient is taken" in average["label"]


def test_asgd_carries_its_average_ax_as_recorded(races, payload):
    ax = _companion(payload, "asgd", "ax")
    points = decode(ax["points"]).reshape(-1, 2)
    np.testing.assert_array_equal(points, races["asgd"].trace["ax"].astype(np.float32))
    assert ax["style"]["dash"] == "dash"
    # averaging from step t0 = 10 on: the average leaves the path there
    assert np.abs(points[:10] - races["asgd"].path[1:11]).max() < 1e-6
    assert np.abs(points[20:] - races["asgd"].path[21:]).max() > 1e-4


def test_lbfgs_carries_every_inner_iterate_and_each_step_ends_at_its_point(races, payload):
    traj = races["lbfgs"]
    (inner,) = _run(payload, "lbfgs")["companions"]
    points, reached = decode(inner["points"]).reshape(-1, 2), decode(inner["reached"]).astype(int)
    iterates = traj.inner["iterates"]
    done = np.isfinite(iterates).all(axis=-1)
    expected = np.concatenate([traj.path[:1], iterates[done]]).astype(np.float32)
    np.testing.assert_array_equal(points, expected)
    assert inner["style"]["dots"] and inner["trace"] is None
    assert reached[0] == 1 and reached[-1] == len(points)
    assert np.all(np.diff(reached) == done.sum(axis=1))  # each step adds its own inner iterations
    # the point reached last by step k is the racer's point at step k (the step's last inner iteration)
    for k in range(1, STEPS + 1):
        np.testing.assert_allclose(points[reached[k] - 1], traj.path[k].astype(np.float32))
    assert done.sum(axis=1).max() > 1  # some step had several inner iterations to show


def test_in_a_race_by_evaluations_each_inner_iterate_comes_once_where_its_step_is_reached():
    """engine.per_evaluation repeats a step's recording while its point is held: the companion draws it once."""
    by_steps = optviz.race("rosenbrock", ["lbfgs"], steps=60, hparams={"lbfgs": {"max_iter": 5}})["lbfgs"]
    by_evaluations = optviz.race("rosenbrock", ["lbfgs"], steps=60, align="evaluations",
                                 hparams={"lbfgs": {"max_iter": 5}})["lbfgs"]
    (inner,) = race_payload({"lbfgs": by_evaluations})["runs"][0]["companions"]
    points, reached = decode(inner["points"]).reshape(-1, 2), decode(inner["reached"]).astype(int)
    steps_taken = int(np.searchsorted(by_steps.evaluations, by_evaluations.evaluations[-1]))
    iterates = by_steps.inner["iterates"][:steps_taken]
    expected = np.concatenate([by_steps.path[:1], iterates[np.isfinite(iterates).all(axis=-1)]])
    np.testing.assert_allclose(points, expected.astype(np.float32))
    for k in range(61):  # the point reached last by evaluation k is the racer's point there
        np.testing.assert_allclose(points[reached[k] - 1], by_evaluations.path[k].astype(np.float32))


def test_optimizers_without_another_sequence_of_points_carry_no_companions(payload):
    assert _run(payload, "adam")["companions"] == [] and _run(payload, "prodigy")["companions"] == []


def test_prodigys_distance_estimate_is_a_log_row_of_its_recorded_d(races, payload):
    (row,) = [row for row in payload["rows"] if row["key"] == "distance"]
    labels = [run["label"] for run in payload["runs"]]
    (line,) = row["lines"]
    assert row["log"] and labels[line["run"]] == "prodigy"
    np.testing.assert_allclose(decode(line["values"]), np.log10(races["prodigy"].trace["d"]), rtol=1e-6)
    assert races["prodigy"].trace["d"][-1] > races["prodigy"].trace["d"][0]  # it grows: the row has something to say


# ---------------------------------------------------------------------------------------------------------------
# The viewer

@pytest.fixture(scope="module")
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.set_content(f"<html><head><style>{(VIEWER / 'viewer.css').read_text()}</style></head><body></body></html>")
        page.evaluate("""async (source) => {
            const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
            window.rv = await import(url);
        }""", viewer_module("streamlit.js"))
        page.errors = errors
        yield page
        browser.close()


# Dynamic layers of viewers of several races at one step: how many pixels differ between the first and each other.
VERSUS = """([races, step]) => {
    const layers = races.map(([payload, drag]) => {
        const root = document.createElement('div');
        root.style.width = '1200px';
        document.body.append(root);
        rv.default({data: {payload, options: {rows: false}}, parentElement: root, setTriggerValue() {}});
        const v = window.__raceViewers.at(-1), c = v.dynamicCanvas;
        v.arrowChoice = 'none';
        if (drag) { v.overrides.hparams[drag.run] = {[drag.name]: drag.value}; v.recompute(); }
        v.seek(step);
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        v.destroy();
        return data;
    });
    return layers.slice(1).map((other) => {
        let n = 0;
        for (let i = 0; i < other.length; i += 4) n += other[i + 3] !== layers[0][i + 3] || other[i] !== layers[0][i];
        return n;
    });
}"""


def _bare(payload):
    """The payload without its companions."""
    return {**payload, "runs": [{**run, "companions": []} for run in payload["runs"]]}


def test_the_viewer_draws_companions_up_to_the_playhead_and_names_them_in_the_legend(page, races):
    payload = race_payload({label: races[label] for label in ("schedule_free_adamw", "lbfgs", "asgd")})
    (early,), (late,) = (page.evaluate(VERSUS, [[[payload, None], [_bare(payload), None]], k]) for k in (5, STEPS))
    assert 0 < early < late  # drawn, and more of them as the playhead moves on
    sf, lbfgs, asgd = page.evaluate("""(payload) => {
        const root = document.createElement('div');
        document.body.append(root);
        rv.default({data: {payload, options: {}}, parentElement: root, setTriggerValue() {}});
        const v = window.__raceViewers.at(-1);
        const titles = Array.from(v.legendEl.querySelectorAll('.rv-chip'), (c) => c.title);
        v.destroy();
        return titles;
    }""", payload)
    assert "x_avg, dashed" in sf and "z, dotted" in sf and "iterates, dots" in lbfgs and "ax, dashed" in asgd
    assert page.errors == []


def test_while_a_slider_is_dragged_the_companions_follow_the_browsers_race(page):
    """Schedule-free's rule runs in the browser: dragging its rate to 0.2 draws its average and iterate from the
    engine's recording (the same names) as the server's race at 0.2 draws them, not the stale ones."""
    def payload(lr):
        return race_payload(optviz.race("rosenbrock", ["schedule_free_adamw"], steps=STEPS, hparams={
            "schedule_free_adamw": {"lr": lr}}))
    slow, fast = payload(0.05), payload(0.2)
    drag = {"run": 0, "name": "lr", "value": 0.2}
    as_server, without = page.evaluate(VERSUS, [[[fast, None], [slow, drag], [_bare(fast), None]], STEPS])
    assert without > 200  # what the companions draw
    assert as_server < 0.02 * without  # the same drawing, but for a pixel's rounding here and there
    assert page.errors == []


def test_the_exported_page_draws_the_companions(page, races, tmp_path):
    """The exported HTML plays in the same viewer: its companions are drawn (a screenshot at 1280×720 is kept)."""
    chosen = {label: races[label] for label in ("schedule_free_adamw", "lbfgs", "asgd")}
    path = tmp_path / "race.html"
    path.write_text(race_html(chosen), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_function("window.__raceViewers && window.__raceViewers.length && window.__raceViewers[0].drawnAt")
    page.evaluate("() => { const v = window.__raceViewers[0]; v.arrowChoice = v.arrowsEl.value = 'none'; v.seek(40); }")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "exported-race-step40.png"))
    drawn = page.evaluate("""() => {
        const v = window.__raceViewers[0], c = v.dynamicCanvas;
        const pixels = () => c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        v.arrowChoice = 'none';
        v.seek(40);
        const counts = v.runs.map((r) => r.companions.length), shown = pixels();
        v.runs.forEach((r) => { r.companions = []; });
        v.drawFrame();
        const bare = pixels();
        let differing = 0;
        for (let i = 0; i < shown.length; i++) if (shown[i] !== bare[i]) differing++;
        return {counts, differing};
    }""")
    assert drawn["counts"] == [2, 1, 1] and drawn["differing"] > 0
    assert page.errors == []
