"""The race viewer's own logic (optviz/ui/race_viewer/viewer.js), run in chromium: frame timing, the nearest point
under the mouse, the hover value, the stage layout, tick thinning, key handling, the payload's decoding; and the
viewer drawing a data panel from a synthetic payload."""

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

import optviz
from optviz.figures.race_payload import encode, race_payload
from optviz.figures.viewer_source import viewer_module

VIEWER = Path(__file__).resolve().parents[1] / "optviz" / "ui" / "race_viewer"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def js():
    """A blank page with the viewer imported as window.rv, as the app's component gets it (viewer.js and its
    Streamlit entry in one module); js(expression) evaluates there."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.set_content(f"<html><head><style>{(VIEWER / 'viewer.css').read_text()}</style></head>"
                         "<body><div id='race'></div></body></html>")
        page.evaluate("""async (source) => {
            const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
            window.rv = await import(url);
        }""", viewer_module("streamlit.js"))

        def run(expression, arg=None):
            return page.evaluate(expression, arg)

        run.page, run.errors = page, errors
        yield run
        browser.close()


def test_the_clock_plays_the_race_in_its_nominal_time_at_each_speed(js):
    for speed in (0.5, 1, 2, 4):
        # 500 steps in 10 s at 1×: after t ms the clock shows 500·speed·t/10,000 steps, and stops at the last
        shown = js("""(speed) => {
            const clock = {t0: 1000, step0: 0, rate: rv.playRate(500, 10, speed), last: 500};
            return [0, 1000, 5000, 10000 / speed, 60000].map(t => rv.stepAt(clock, 1000 + t));
        }""", speed)
        assert shown == pytest.approx([0, 50 * speed, min(500, 250 * speed), 500, 500])


def test_the_clock_counts_time_not_frames_and_resumes_from_where_it_stood(js):
    # frames at irregular times land where the wall clock says, from step 120 on
    steps = js("""() => {
        const clock = {t0: 0, step0: 120, rate: rv.playRate(1000, 10, 1), last: 1000};
        return [16, 50, 51, 400, -5].map(t => rv.stepAt(clock, t));
    }""")
    assert steps == pytest.approx([121.6, 125, 125.1, 160, 120])


def test_the_nearest_point_is_found_within_the_radius_and_the_later_wins_a_tie(js):
    xy = [0, 0, 10, 0, 20, 0, float("nan"), float("nan"), 10, 0]
    assert js("([xy]) => rv.nearestPoint(new Float32Array(xy), 11, 1, 5)", [xy])["index"] == 4  # ties: later
    assert js("([xy]) => rv.nearestPoint(new Float32Array(xy), 19, 0, 5)", [xy])["index"] == 2
    assert js("([xy]) => rv.nearestPoint(new Float32Array(xy), 50, 50, 5)", [xy])["index"] == -1
    assert js("([xy]) => rv.nearestPoint(new Float32Array(xy), 0, 3, 5).d2", [xy]) == pytest.approx(9)


def test_the_hover_value_interpolates_the_grid_and_is_nan_outside_the_window(js):
    x, y = np.linspace(-2, 2, 5), np.linspace(-1, 3, 9)
    grid = (x[None, :] ** 2 + 3 * y[:, None]).astype(np.float32)  # linear in y, quadratic in x
    args = [grid.ravel().tolist(), [-2, 2, -1, 3]]
    at = lambda px, py: js("([g, w, x, y]) => rv.gridValue(new Float32Array(g), 5, 9, w, x, y)", [*args, px, py])
    assert at(1.0, 0.5) == pytest.approx(1 + 1.5)  # on grid points: exact
    assert at(0.5, 0.25) == pytest.approx(0.5 + 0.75, rel=1e-6)  # between x = 0 and 1: chord of x², exact in y
    assert at(2.0, 3.0) == pytest.approx(4 + 9)
    assert js("([g, w]) => Number.isNaN(rv.gridValue(new Float32Array(g), 5, 9, w, 2.1, 0))", args)


def test_encoded_arrays_decode_to_the_same_float32_values_with_nan_for_gaps(js):
    values = [1.5, -2.25e-7, np.inf, np.nan, 3e8]
    decoded = js("(field) => Array.from(rv.decodeF32(field)).map(v => Number.isNaN(v) ? 'nan' : v)", encode(values))
    assert decoded[:2] == pytest.approx([1.5, np.float32(-2.25e-7)]) and decoded[2:4] == ["nan", "nan"]
    assert decoded[4] == pytest.approx(3e8)


def test_the_layout_keeps_the_maps_aspect_and_gives_each_row_its_share(js):
    box = js("() => rv.stageLayout(1000, 600, 2, 3, false)")
    m = box["map"]
    assert m["w"] / m["h"] == pytest.approx(2) and m["y"] + m["h"] <= 600 and m["x"] + m["w"] < box["rows"][0]["x"]
    heights = {round(r["h"], 6) for r in box["rows"]}
    assert len(box["rows"]) == 3 and len(heights) == 1 and box["rows"][-1]["y"] + box["rows"][-1]["h"] <= 600
    tops = [r["y"] for r in box["rows"]]
    assert tops == sorted(tops) and all(b - a > r["h"] for a, b, r in zip(tops, tops[1:], box["rows"]))  # no overlap
    alone = js("() => rv.stageLayout(1000, 600, 1, 0, false)")
    assert alone["rows"] == [] and alone["map"]["w"] == pytest.approx(alone["map"]["h"]) and alone["map"]["h"] > m["h"]
    panel = js("() => rv.stageLayout(1000, 600, 1, 2, true)")
    assert panel["panel"]["y"] + panel["panel"]["h"] < panel["rows"][0]["y"]


def test_rows_too_flat_for_one_column_share_two_on_a_projectors_short_stage(js):
    """A lesson's seven rows on a 1280×720 projector in presentation mode (the stage measured there: 953 × 403 px,
    font scale 1.4) would be 12 px each in one column: two columns side by side make them readable; a 1600×1000
    stage (1209 × 683) keeps one."""
    short = js("() => rv.stageLayout(953, 403, 1, 7, false, 1.4, true)")
    rows, m = short["rows"], short["map"]
    columns = sorted({round(r["x"]) for r in rows})
    assert len(columns) == 2 and all(r["h"] >= 30 * 1.4 for r in rows)
    assert all(r["w"] <= m["w"] and r["x"] > m["x"] + m["w"] and r["x"] + r["w"] <= 953 for r in rows)
    assert all(r["y"] + r["h"] <= 403 for r in rows)
    for x in columns:  # top to bottom in each column, without overlap, the step axis under the last
        column = [r for r in rows if round(r["x"]) == x]
        assert all(b["y"] > a["y"] + a["h"] for a, b in zip(column, column[1:]))
        assert [r["bottom"] for r in column] == [False] * (len(column) - 1) + [True]
    assert columns[1] > columns[0] + rows[0]["w"]  # room for the second column's value ticks
    tall = js("() => rv.stageLayout(1209, 683, 1, 7, false, 1.4, true)")
    assert len({r["x"] for r in tall["rows"]}) == 1 and [r["bottom"] for r in tall["rows"]] == [False] * 6 + [True]
    assert all(r["h"] >= 30 * 1.4 for r in tall["rows"])


def test_crowded_ticks_are_thinned_to_every_other(js):
    ticks = [[v, str(v)] for v in range(6)]
    assert js("([t]) => rv.spaced(t, v => v * 20, 14).length", [ticks]) == 6
    assert js("([t]) => rv.spaced(t, v => v * 10, 14).map(t => t[0])", [ticks]) == [0, 2, 4]


def test_keys_in_text_fields_and_sliders_are_left_alone_but_not_on_toggles(js):
    kinds = js("""() => {
        const make = (html) => { const d = document.createElement('div'); d.innerHTML = html; return d.firstChild; };
        return ['<input type="text">', '<input type="number">', '<textarea></textarea>', '<div role="slider"></div>',
                '<input type="checkbox">', '<button>b</button>', '<div></div>'].map(h => rv.typing(make(h)));
    }""")
    assert kinds == [True, True, True, True, False, False, False]


def test_the_viewer_draws_a_data_panel_with_each_optimizers_line_at_the_current_step(js):
    """A synthetic data panel (the shape a data-defined surface sends): points by class, one fit line per run."""
    races = optviz.race("quadratic", ["adam", "sgd"], steps=20)
    t = np.arange(21)
    lines = [np.column_stack([np.zeros(21), 0.1 + 0.01 * t * (i + 1), np.ones(21), 0.3 - 0.005 * t]).ravel()
             for i in range(2)]  # x0, y0, x1, y1 of each run's line at every step
    panel = {"title": "data", "x_label": "x₁", "y_label": "x₂", "lines": lines,
             "points": {"x": [0.1, 0.5, 0.9], "y": [0.2, 0.4, 0.1], "cls": [0, 1, 1]}}
    payload = race_payload(races, data_panel=panel)
    drawn = js("""(payload) => {
        const root = document.getElementById('race');
        rv.default({data: {payload, options: {}}, parentElement: root, setTriggerValue() {}});
        const v = window.__raceViewers.at(-1);
        v.seek(7);
        const ctx = v.dynamicCanvas.getContext('2d'), dpr = window.devicePixelRatio || 1;
        const seg = v.panel.segs[1].subarray(28, 32), P = v.panel;  // SGD's line at step 7, drawn last
        const [x, y] = [(P.sx(seg[0]) + P.sx(seg[2])) / 2, (P.sy(seg[1]) + P.sy(seg[3])) / 2];
        const pixel = ctx.getImageData(Math.round(x * dpr), Math.round(y * dpr), 1, 1).data;
        return {box: v.box.panel, pixel: Array.from(pixel), color: v.runs[1].color,
                step: v.root.querySelector('.rv-step').textContent};
    }""", payload)
    assert drawn["box"]["w"] > 50 and drawn["step"] == "step 7 / 20"
    expected = [int(drawn["color"][i:i + 2], 16) for i in (1, 3, 5)]
    assert drawn["pixel"][3] > 0 and max(abs(a - b) for a, b in zip(drawn["pixel"][:3], expected)) < 60
    js.page.screenshot(path=str(Path(__file__).resolve().parents[1] / "artifacts" / "race-data-panel.png"))
    assert js.errors == []


def test_on_a_data_surface_the_step_counter_says_the_epoch_each_run_has_reached(js):
    """Python sends each run's epochs per step (batch size / examples); the counter shows step k's epoch, a range
    when the runs' batches differ."""
    races = optviz.race("quadratic", ["adam", "sgd"], steps=20)
    lines = [np.zeros(21 * 4)] * 2
    shown = {}
    for per_step in ([0.25, 0.25], [0.25, 1 / 150]):
        panel = {"lines": lines, "points": {"x": [0.0, 1.0], "y": [0.0, 1.0]}, "epochs_per_step": per_step}
        shown[tuple(per_step)] = js("""(payload) => {
            const root = document.getElementById('race');
            rv.default({data: {payload, options: {}}, parentElement: root, setTriggerValue() {}});
            const v = window.__raceViewers.at(-1);
            v.seek(12);
            return v.root.querySelector('.rv-step').textContent;
        }""", race_payload(races, data_panel=panel))
    assert shown[(0.25, 0.25)] == "step 12 / 20 · epoch 3"
    assert shown[(0.25, 1 / 150)] == "step 12 / 20 · epochs 0.08–3"
    assert js("() => rv.epochsText(0, [0.5])") == "epoch 0" and js.errors == []


def test_a_race_aligned_by_gradient_evaluations_counts_them_in_its_counter_and_title(js):
    races = optviz.race("rosenbrock", ["adam", optviz.optimizer("sam", inner="adam", lr=1e-3)], steps=30,
                        align="evaluations")
    shown = js("""(payload) => {
        const root = document.getElementById('race');
        rv.default({data: {payload, options: {}}, parentElement: root, setTriggerValue() {}});
        const v = window.__raceViewers.at(-1);
        v.seek(12);
        return [v.root.querySelector('.rv-step').textContent, v.titleEl.textContent];
    }""", race_payload(races))
    assert shown == ["evaluation 12 / 30", "Rosenbrock · 2 optimizers · 30 gradient evaluations"]
    assert js.errors == []


def test_a_data_panel_with_lines_of_the_wrong_length_is_refused():
    races = optviz.race("quadratic", ["adam"], steps=5)
    with pytest.raises(ValueError, match=r"\(steps\+1\)·4 = 24"):
        race_payload(races, data_panel={"points": {"x": [0], "y": [0]}, "lines": [np.zeros(20)]})


def test_a_new_race_with_the_same_contestants_rebuilds_no_controls_but_a_divergence_is_flagged(js):
    """A learning-rate change sends a new race: paths change, the controls and legend (DOM the browser would lay
    out again) are kept, unless what they show changed, such as a run that now diverges."""
    def payload(sgd_lr):
        return race_payload(optviz.race("quadratic", ["adam", "sgd"], steps=50, hparams={"sgd": {"lr": sgd_lr}}))
    calm, slower, diverging = payload(0.01), payload(0.02), payload(5.0)
    kept = js("""([calm, slower, diverging]) => {
        const root = document.createElement('div');
        document.body.append(root);
        const show = (payload) => rv.default({data: {payload, options: {}}, parentElement: root, setTriggerValue() {}});
        show(calm);
        const v = window.__raceViewers.at(-1), speeds = v.speedsEl.firstChild, chip = v.legendEl.firstChild;
        const path = Array.from(v.runs[1].xy.slice(-2));
        show(slower);
        const same = [v.speedsEl.firstChild === speeds, v.legendEl.firstChild === chip,
                      Array.from(v.runs[1].xy.slice(-2)).join() !== path.join(),
                      v.legendEl.children[1].title.startsWith('SGD, α = 0.02')];  // its tooltip names the new rate
        show(diverging);
        return [...same, v.legendEl.firstChild !== chip, v.legendEl.querySelectorAll('.rv-diverged').length];
    }""", [calm, slower, diverging])
    assert kept == [True, True, True, True, True, 1]


def test_the_viewer_keeps_the_maps_it_was_sent_and_asks_for_one_it_lacks(js):
    got = js("""() => {
        window.__raceMaps = new Map();
        const runs = {runs: []};
        const sent = rv.withMap({payload: runs, map_id: 'a', map: {window: [0, 1, 0, 1]}});
        const kept = rv.withMap({payload: runs, map_id: 'a'});
        const lacking = rv.withMap({payload: runs, map_id: 'b'});
        const inline = rv.withMap({payload: {map: {window: [2, 3, 2, 3]}}});  // the export: the map inlined
        for (let i = 0; i < 9; i++) rv.withMap({payload: runs, map_id: 'm' + i, map: {window: [i]}});
        return [sent.map.window, kept.map.window, lacking, inline.map.window, rv.withMap({payload: runs, map_id: 'a'}),
                window.__raceMaps.size];
    }""")
    assert got == [[0, 1, 0, 1], [0, 1, 0, 1], None, [2, 3, 2, 3], None, 8]  # the oldest of 10 maps let go
