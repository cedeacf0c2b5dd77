"""The race explorer, driven through Streamlit's AppTest: controls change the computed race, the URL holds the
settings, hostile links fall back to defaults with a warning."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest
from tables import table_with

from optviz.figures.race_payload import decode
from optviz.ui.settings import MAX_ENTRIES, from_query
from optviz.ui.workspace import open_key

APP = "../app.py"


def start(query=None, opened=True) -> AppTest:
    """The app on a link; `opened`: every optimizer's settings open in the sidebar (closed ones draw no widgets)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for entry_id in range(MAX_ENTRIES if opened else 0):
        at.session_state[open_key(entry_id)] = True
    return at.run()


def results(at) -> dict:
    """The results table, optimizer label -> row."""
    return {row["optimizer"]: row for _, row in table_with(at, "final loss").iterrows()}


def settings_in_url(at):
    settings, warnings = from_query(dict(at.query_params))
    assert warnings == []
    return settings


def more_settings(at, entry_id: int) -> AppTest:
    """Open an optimizer's "More settings" (label, weight decay, switches, schedule, batch size)."""
    return widget(at, "toggle", f"x.{entry_id}.more").set_value(True).run()


def widget(at, kind, key):
    return next(w for w in getattr(at, kind) if w.key == key)


def test_default_page_races_adam_and_sgd_without_errors():
    at = start()
    assert not at.exception and not at.error
    assert list(results(at)) == ["Adam", "SGD"]
    assert settings_in_url(at).surface == "rosenbrock"


def test_changing_the_surface_recomputes_the_race_and_moves_the_start():
    at = start()
    before = results(at)
    widget(at, "selectbox", "x.surface").select("himmelblau").run()
    after = results(at)
    assert not at.exception
    assert after["Adam"]["final loss"] != before["Adam"]["final loss"]
    url = settings_in_url(at)
    assert url.surface == "himmelblau" and url.start == (0.0, -0.5)


def test_adding_and_removing_optimizers_changes_the_contestants():
    at = start()
    widget(at, "multiselect", "x.chosen").select("momentum").run()
    assert list(results(at)) == ["Adam", "SGD", "SGD with momentum"]
    widget(at, "multiselect", "x.chosen").unselect("sgd").run()
    assert list(results(at)) == ["Adam", "SGD with momentum"]
    assert [e.optimizer for e in settings_in_url(at).entries] == ["adam", "momentum"]


def test_a_variant_of_adam_races_beside_the_original():
    at = more_settings(start(), 0)
    variant = next(b for b in at.button if b.key == "x.0.dup")
    variant.click().run()
    assert list(results(at)) == ["Adam", "SGD", "Adam variant"]
    widget(at, "toggle", "x.2.h.bias_correction").set_value(False).run()
    rows = results(at)
    assert rows["Adam variant"]["final loss"] != rows["Adam"]["final loss"]
    entries = settings_in_url(at).entries
    assert entries[2].hparams["bias_correction"] is False and entries[0].hparams["bias_correction"] is True


@pytest.mark.parametrize("param, value", [("lr", 0.01), ("beta1", 0.5), ("beta2", 0.9), ("eps", 0.1)])
def test_changing_an_adam_hyperparameter_changes_its_trajectory_only(param, value):
    at = start()
    before = results(at)
    widget(at, "select_slider", f"x.0.h.{param}").set_value(value).run()
    after = results(at)
    assert not at.exception
    assert after["Adam"]["final loss"] != before["Adam"]["final loss"]
    assert after["SGD"]["final loss"] == before["SGD"]["final loss"]
    assert settings_in_url(at).entries[0].hparams[param] == value


def test_epsilon_can_be_set_to_zero():
    at = start()
    widget(at, "select_slider", "x.0.h.eps").set_value(0.0).run()
    assert not at.exception and settings_in_url(at).entries[0].hparams["eps"] == 0.0


def test_a_shared_link_reproduces_the_race():
    first = start()
    widget(first, "select_slider", "x.0.h.lr").set_value(0.03).run()
    widget(first, "multiselect", "x.chosen").select("rmsprop").run()
    link = dict(first.query_params)
    second = start(link)
    assert not second.warning
    assert results(second) .keys() == results(first).keys()
    for label, row in results(first).items():
        assert results(second)[label]["final loss"] == row["final loss"]


@pytest.mark.parametrize("query", [
    {"surface": "evil()", "steps": "-3"},
    {"opt": ["adam;lr=-1", "nope;x=1"], "start": "abc"},
    {"sp": "b:0", "opt": "sgd;s=whatever;s.gamma=5"},
])
def test_hostile_links_show_a_warning_and_the_app_keeps_working(query):
    at = start(query)
    assert not at.exception and not at.error
    assert at.warning and "could not be used" in at.warning[0].value
    assert results(at)


def test_divergent_runs_are_flagged_not_raised():
    at = start({"opt": "sgd;lr=0.1", "steps": "200"})
    assert not at.exception
    assert int(results(at)["SGD"]["diverged at step"]) > 0
    assert any("Diverged" in w.value for w in at.warning)


def race_data(at) -> dict:
    """What the race viewer component was given: {"payload": race_payload(...), "options": {...}, "map_id": …};
    the payload's "map" only where this run sent it (a page gets each map once)."""
    (viewer,) = at.get("bidi_component")
    data = json.loads(viewer.proto.bytes)
    if "map" in data:
        data["payload"]["map"] = data["map"]
    return data


def adam_path(at):
    run = next(r for r in race_data(at)["payload"]["runs"] if r["label"] == "Adam")
    return decode(run["path"]).reshape(-1, 2)


def test_the_race_viewer_receives_every_path_with_its_colour_and_state_rows():
    at = start()
    payload = race_data(at)["payload"]
    assert [r["label"] for r in payload["runs"]] == ["Adam", "SGD"]
    assert payload["steps"] == 500 and adam_path(at).shape == (501, 2)
    assert adam_path(at)[0].tolist() == [-1.5, 2.0]  # Rosenbrock's default start
    assert {row["key"] for row in payload["rows"]} >= {"moment1", "moment2"}


def test_changing_alpha_sends_a_new_path_to_the_viewer():
    at = start()
    before = adam_path(at)
    widget(at, "select_slider", "x.0.h.lr").set_value(0.01).run()
    assert not np.array_equal(adam_path(at), before)


def test_map_only_sends_no_state_rows():
    at = start()
    widget(at, "toggle", "map_only").set_value(True).run()
    assert race_data(at)["options"]["rows"] is False


def test_presentation_mode_enlarges_the_race_and_hides_sidebar_and_toolbar():
    at = start()
    assert race_data(at)["options"]["font_scale"] == 1.0
    widget(at, "toggle", "present").set_value(True).run()
    assert not at.exception
    assert race_data(at)["options"]["font_scale"] > 1.2
    css = " ".join(h.proto.body for h in at.get("html"))
    assert "stSidebar" in css and "stHeader" in css and "stToolbar" in css


def test_a_typed_surface_races_and_travels_in_the_link():
    at = start()
    widget(at, "selectbox", "x.surface").select("custom").run()
    widget(at, "text_input", "x.expr").input("(x-1)**2 + 3*(y+2)**2").run()
    assert not at.exception and not at.error
    url = settings_in_url(at)
    assert url.surface == "custom" and url.expression == "(x-1)**2 + 3*(y+2)**2"
    assert results(at)["Adam"]["to minimum"] < 1.0  # the minimum (1, -2) was found
    again = start(dict(at.query_params))
    assert not again.warning and results(again)["Adam"]["final loss"] == results(at)["Adam"]["final loss"]


def test_a_bad_formula_is_reported_and_the_last_good_one_kept():
    at = start()
    widget(at, "selectbox", "x.surface").select("custom").run()
    before = results(at)
    widget(at, "text_input", "x.expr").input("__import__('os').system('ls')").run()
    assert not at.exception
    assert any("cannot be used" in e.value or "not allowed" in e.value for e in at.error)
    assert results(at)["Adam"]["final loss"] == before["Adam"]["final loss"]


def test_messages_show_typed_formulas_as_typed_not_as_markdown():
    """x**2 + y**2 in an error would render as "x" + bold "2 + y" + "2", and __import__ as a bold "import"."""
    at = start()
    widget(at, "selectbox", "x.surface").select("custom").run()
    widget(at, "text_input", "x.expr").input("__import__('os')").run()
    (error,) = at.sidebar.error
    assert r"\_\_import\_\_" in error.value and "__import__" not in error.value
    warned = start({"surface": "custom", "f": "x**2 + y**"})
    (warning,) = warned.warning
    assert r"x\*\*2 + y\*\*" in warning.value and "**" not in warning.value
    assert "missing? Using Rosenbrock." in warning.value   # the reason's own "?" ends its sentence, no "?."


def test_a_link_with_a_hostile_formula_falls_back_with_a_warning():
    at = start({"surface": "custom", "f": "9**9**9"})
    assert not at.exception
    assert any("Custom surface" in w.value for w in at.warning)
    assert settings_in_url(at).surface == "rosenbrock"


def test_only_the_open_tab_is_computed():
    at = start()
    assert not any(b.key == "mnist.train" for b in at.button)  # the MNIST tab did not run
    at.session_state["tab"] = "MNIST"
    at.run()
    assert any(b.key == "mnist.train" for b in at.button)
    assert not any(b.key == "dl_html" for b in at.get("download_button"))


def test_a_closed_optimizer_draws_no_widgets_and_keeps_its_settings():
    at = start({"opt": ["adam;lr=0.03;beta1=0.8", "sgd;lr=0.001"]}, opened=False)
    assert not any(w.key and w.key.startswith("x.0.") for w in at.select_slider)  # closed: nothing drawn
    at.session_state[open_key(0)] = True
    at.run()
    widget(at, "select_slider", "x.0.h.lr").set_value(0.02).run()
    at.session_state[open_key(0)] = False  # closed again: its widgets go, their values stay
    at.run()
    at.run()
    adam = settings_in_url(at).entries[0]
    assert adam.hparams["lr"] == 0.02 and adam.hparams["beta1"] == 0.8
    at.session_state[open_key(0)] = True
    at.run()
    assert widget(at, "select_slider", "x.0.h.lr").value == 0.02
    assert widget(at, "select_slider", "x.0.h.beta1").value == 0.8



def test_more_settings_hold_the_rest_and_open_by_themselves_where_something_is_set():
    at = start({"opt": ["adam", "adam;label=mine", "sgd;weight_decay=0.01"]})
    drawn = {w.key for w in at.toggle} | {w.key for w in at.select_slider} | {w.key for w in at.text_input}
    assert {"x.0.h.lr", "x.0.h.beta1", "x.0.h.beta2", "x.0.h.eps"} <= drawn  # the rule's constants, always
    assert "x.0.h.bias_correction" not in drawn and "x.0.label" not in drawn  # closed: nothing set
    assert {"x.1.label", "x.1.h.bias_correction"} <= drawn  # a label is set: open
    assert "x.2.sched" in {w.key for w in at.selectbox}  # a weight decay is set: open
    widget(at, "toggle", "x.1.more").set_value(False).run()
    at.run()
    assert settings_in_url(at).entries[1].label == "mine"  # closed, the values stay


def test_the_download_menu_offers_the_race_as_a_page_and_as_a_table_without_a_rerun_to_open_it():
    at = start()
    # in the closed menu from the first run: opening it asks the server for nothing
    assert [b.proto.label for b in at.get("download_button")] == ["Download HTML", "Download CSV"]


def test_a_page_gets_each_map_once_and_a_new_surface_sends_its_own():
    at = start()
    first = race_data(at)
    assert "map" in first["payload"] and first["payload"]["map"]["window"] == [-2.0, 2.0, -1.0, 3.0]
    widget(at, "select_slider", "x.0.h.lr").set_value(0.02).run()
    again = race_data(at)
    assert "map" not in again["payload"] and again["map_id"] == first["map_id"]  # the paths alone
    assert not np.array_equal(adam_path(at), decode(next(r for r in first["payload"]["runs"]
                                                         if r["label"] == "Adam")["path"]).reshape(-1, 2))
    widget(at, "selectbox", "x.surface").select("himmelblau").run()
    other = race_data(at)
    assert other["map_id"] != first["map_id"] and "map" in other["payload"]


@pytest.mark.parametrize("name", ["cyclic", "one_cycle"])
def test_a_cyclic_schedule_is_chosen_from_the_menu_and_cycles_the_rate_in_the_race(name):
    at = more_settings(start(), 0)
    widget(at, "selectbox", "x.0.sched").select(name).run()
    assert not at.exception and not at.error
    entry = settings_in_url(at).entries[0]
    assert entry.schedule == name
    drawn = {w.key.rsplit(".", 1)[-1] for kind in ("number_input", "select_slider", "toggle", "selectbox")
             for w in getattr(at, kind) if w.key and w.key.startswith("x.0.s.")}
    assert {"cycle_momentum", "base_momentum", "max_momentum"} <= drawn


def test_a_one_cycle_whose_phase_has_no_steps_is_refused_in_words_and_the_race_goes_on():
    at = more_settings(start(), 0)
    widget(at, "selectbox", "x.0.sched").select("one_cycle").run()
    widget(at, "number_input", "x.0.s.total_steps").set_value(2).run()
    assert not at.exception
    assert any("leaves a phase without steps" in w.value for kind in ("warning", "error") for w in getattr(at, kind))
    assert list(results(at)) == ["Adam", "SGD"]
