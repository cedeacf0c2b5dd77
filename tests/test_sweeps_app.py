"""The sweeps tab, driven through AppTest: the heatmap follows its controls, tuning feeds the race, a selected
cell joins the race, basins and sensitivity follow the race's optimizers, bad ranges are reported."""

import json

from streamlit.testing.v1 import AppTest
from tables import table_with, tables

from optviz.ui.settings import from_query
from optviz.ui.sweeps import SECTION_KEY

APP = "../app.py"


def start(query=None, section: str = "Sweep two hyperparameters") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.session_state["tab"] = "Sweeps & basins"  # only the open tab runs
    at.session_state[SECTION_KEY] = section  # and of its sections, only the open one
    return at.run()


def charts(at) -> dict:
    """Plotly charts by title."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec["layout"]
        title = layout.get("title") or layout.get("legend", {}).get("title", {})  # or a legend's heading
        out[title.get("text") if isinstance(title, dict) else title] = spec
    return out


def widget(at, kind, key):
    return next(w for w in getattr(at, kind) if w.key == key)


def race_entries(at):
    settings, _ = from_query(dict(at.query_params))
    return settings.entries


def test_the_heatmap_shows_the_chosen_grid():
    at = start()
    assert not at.exception
    assert "Adam on Rosenbrock: 50×50 settings × 500 steps · 0 diverged" in charts(at)
    widget(at, "select_slider", "sw.n").set_value(20).run()
    heatmap = next(spec for title, spec in charts(at).items() if title and "20×20" in title)
    z = next(trace for trace in heatmap["data"] if trace.get("colorscale") == "Viridis")["z"]
    assert len(z["shape"].split(",")) == 2 and z["shape"].replace(" ", "") == "20,20"


def test_switching_the_optimizer_offers_its_own_hyperparameters():
    at = start()
    widget(at, "selectbox", "sw.opt").select("rmsprop").run()
    assert not at.exception
    y_axis = widget(at, "selectbox", "sw.y.rmsprop")
    assert "alpha" in y_axis.options and "beta1" not in y_axis.options
    assert any(title and title.startswith("RMSProp on Rosenbrock") for title in charts(at))


def test_tuned_learning_rates_are_applied_to_the_race():
    at = start(section="Tune each optimizer for a fair race")
    table = table_with(at, "learning rate")
    tuned = dict(zip(table["optimizer"], table["learning rate"]))
    widget(at, "button", "tune.apply").click().run()
    entries = race_entries(at)
    assert float(f"{entries[0].hparams['lr']:.3g}") == tuned["Adam"]  # the table shows 3 digits
    assert float(f"{entries[1].hparams['lr']:.3g}") == tuned["SGD"]


def test_a_selected_cell_joins_the_race_with_its_settings():
    at = start()
    at.session_state["sw.cell.adam.lr.beta1.50"] = (10, 40)
    at.run()
    assert any("Selected:" in m.value for m in at.markdown)
    widget(at, "button", "sw.add").click().run()
    entries = race_entries(at)
    assert len(entries) == 3 and entries[2].optimizer == "adam"
    assert entries[2].label.startswith("Adam lr=")
    assert entries[2].hparams["beta1"] != entries[0].hparams["beta1"]
    assert [e.label for e in at.sidebar.expander if e.label.startswith("Adam lr=")] == [entries[2].label]  # listed


def test_only_the_open_section_of_the_sweeps_tab_runs():
    at = start()
    assert len(charts(at)) == 1 and not tables(at)  # the sweep's heatmap; no tuning table, no basin maps
    at.session_state[SECTION_KEY] = "Basins of attraction"
    at.run()
    assert not at.exception and all(title is None or "settings ×" not in title for title in charts(at))
    assert any(c.value.startswith("Each pixel") for c in at.caption)


def test_basins_and_sensitivity_follow_the_race_optimizers():
    at = start({"surface": "himmelblau", "opt": ["momentum", "rmsprop"]}, section="Basins of attraction")
    # the two basin maps are panels of one figure, each titled above itself
    titles = list(charts(at)) + [note["text"] for spec in charts(at).values()
                                 for note in spec["layout"].get("annotations", [])]
    assert any(t and t.startswith("SGD with momentum, α =") for t in titles)
    assert any(t and t.startswith("RMSProp, α =") for t in titles)
    at.session_state[SECTION_KEY] = "Learning-rate sensitivity"
    at.run()
    sensitivity = charts(at)["Learning-rate sensitivity (× along the top: diverged)"]
    assert {trace["name"] for trace in sensitivity["data"]} >= {"SGD with momentum", "RMSProp"}


def test_an_invalid_axis_range_is_reported_and_the_default_used():
    at = start()
    widget(at, "number_input", "sw.lo.adam.lr").set_value(-1.0).run()
    assert not at.exception
    assert any("lr" in e.value and "default range" in e.value for e in at.error)
    assert any(title and "50×50" in title for title in charts(at))


def test_a_selected_cell_plays_its_run_in_the_race_viewer():
    import json

    at = start()
    at.session_state["sw.cell.adam.lr.beta1.50"] = (10, 40)
    at.run()
    (viewer,) = at.get("bidi_component")
    payload = json.loads(viewer.proto.bytes)["payload"]
    assert len(payload["runs"]) == 1 and payload["runs"][0]["label"].startswith("Adam lr=")
