"""optviz.widget in Python, without a browser: what it sends the view, which settings run the race again, what lr
means beside hparams, the settings it refuses (in words), and its text/html for an export."""

import html
import json
import subprocess
import sys
from pathlib import Path

import pytest
import traitlets

import optviz
from optviz.figures.viewer_source import viewer_css, viewer_module
from optviz.tuning import default_lr
from optviz.widget import RaceWidget, SettingError

ROOT = Path(__file__).resolve().parents[1]


def sent(w: RaceWidget) -> tuple[dict, dict]:
    """The view's data: the map and {"payload", "options"}, as the JavaScript parses them."""
    return json.loads(w._map), json.loads(w._race)


def test_importing_optviz_imports_neither_anywidget_nor_ipywidgets():
    found = subprocess.run([sys.executable, "-c", "import sys, optviz; "
                            "print(sorted(m for m in ('anywidget', 'ipywidgets', 'traitlets') if m in sys.modules))"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_optviz_widget_is_callable_before_and_after_its_module_is_imported():
    assert isinstance(optviz.widget("quadratic", ["adam"], steps=5), RaceWidget)
    import optviz.widget as module  # binds optviz.widget to the module: still callable

    assert module is optviz.widget and isinstance(optviz.widget("quadratic", ["sgd"], steps=5), RaceWidget)


def test_the_view_gets_the_race_python_computed_with_its_map_apart():
    w = optviz.widget("himmelblau", ["sgd", "adam"], steps=40, start=(0.5, -1.0))
    the_map, race = sent(w)
    payload = race["payload"]
    assert "map" not in payload and the_map["picture"].startswith("data:image/png;base64,")
    assert [run["label"] for run in payload["runs"]] == ["sgd", "adam"] and payload["steps"] == 40
    assert payload["start"] == [0.5, -1.0]
    assert race["options"]["min_height"] == race["options"]["max_height"] == w.height
    assert race["options"]["page_keys"] is False  # JupyterLab keeps its keys
    assert list(w.races) == ["sgd", "adam"] and w.races["adam"].path.shape == (41, 2)


def test_the_widget_loads_the_shared_viewer_as_one_module_with_its_css():
    assert RaceWidget._esm == viewer_module("anywidget.js") and RaceWidget._css == viewer_css()


def test_lr_sets_every_racers_rate_but_one_that_gives_its_own():
    w = optviz.widget("rosenbrock", ["sgd", "momentum", "adam"], steps=20, hparams={"adam": {"lr": 0.05}})
    assert w.rates == {"sgd": default_lr("rosenbrock", "sgd"), "momentum": default_lr("rosenbrock", "momentum"),
                       "adam": 0.05}
    w.lr = 0.001
    assert w.rates == {"sgd": 0.001, "momentum": 0.001, "adam": 0.05}
    w.lr = None
    assert w.rates["sgd"] == default_lr("rosenbrock", "sgd")


def test_a_new_rate_sends_the_new_race_alone_and_a_new_surface_its_map_too(monkeypatch):
    w = optviz.widget("rosenbrock", ["sgd", "adam"], steps=30)
    keys = []
    monkeypatch.setattr(w, "send_state", lambda key=None: keys.extend([key] if isinstance(key, str) else key))
    w.lr = 0.0005
    assert sorted(keys) == ["_race", "lr"]  # the map stays where it is
    assert all(run["name"].endswith("α = 0.0005") for run in sent(w)[1]["payload"]["runs"])
    keys.clear()
    w.surface = "saddle"
    assert sorted(keys) == ["_map", "_race", "surface"]
    assert sent(w)[1]["payload"]["title"].startswith("Saddle") and sent(w)[0]["window"] == [-2.0, 2.0, -2.0, 2.0]


def test_each_setting_runs_the_race_again():
    w = optviz.widget("quadratic", ["sgd", "adam"], steps=10)
    changes = dict(surface="beale", optimizers=["adam", "rmsprop"], hparams={"adam": {"beta1": 0.5}}, lr=0.01,
                   steps=25, start=(1.0, 1.0), traced=["adam"], height=300)
    for name, value in changes.items():
        before = w._race
        setattr(w, name, value)
        assert w._race != before, name
    payload = sent(w)[1]["payload"]
    assert payload["steps"] == 25 and payload["start"] == [1.0, 1.0]
    assert {line["run"] for row in payload["rows"] for line in row["lines"]} == {0}  # only Adam's state drawn
    assert w.races["adam"].optimizer.hparams["beta1"] == 0.5


def test_traced_empty_draws_the_map_alone():
    assert sent(optviz.widget("saddle", ["sgd", "adam"], steps=10, traced=[]))[1]["payload"]["rows"] == []


def test_update_changes_several_settings_with_one_race(monkeypatch):
    w = optviz.widget("quadratic", ["sgd"], steps=10)
    races = []
    monkeypatch.setattr(RaceWidget, "draw", lambda self: races.append(self.settings()))
    w.update(surface="himmelblau", optimizers=["adam"], steps=50, lr=0.02)
    assert len(races) == 1 and races[0]["surface"] == "himmelblau" and races[0]["steps"] == 50


def test_a_refused_update_keeps_every_setting():
    w = optviz.widget("quadratic", ["sgd"], steps=10)
    race = w._race
    with pytest.raises(SettingError, match="steps must be a whole number from 1 to 5,000"):
        w.update(surface="himmelblau", steps=0)
    assert (w.surface, w.steps, w._race) == ("quadratic", 10, race)
    with pytest.raises(SettingError, match="no setting 'speed'"):
        w.update(speed=2)


@pytest.mark.parametrize(("setting", "value", "words"), [
    ("surface", "moon", "surface must be one of rosenbrock, saddle"),
    ("optimizers", [], "optimizers must name at least one optimizer"),
    ("optimizers", ["adam", "adamm"], "unknown optimizer 'adamm'; choose among sgd, momentum"),
    ("optimizers", ["adam", "adam"], "optimizers names 'adam' twice"),
    ("hparams", {"adam": {"beta1": 1.5}}, r"adam beta1 must be a number in \[0, 1\), got 1.5"),
    ("hparams", {"adam": {"momentum": 0.9}}, "adam has no hyperparameter 'momentum'; valid names: lr, beta1"),
    ("hparams", {"adma": {"lr": 0.1}}, "hparams names unknown optimizer 'adma'"),
    ("hparams", {"adam": 0.1}, r"hparams\['adam'\] must be a dict of hyperparameters"),
    ("lr", -0.1, r"lr must be a number in \(0, ∞\), got -0.1"),
    ("steps", 10**6, "steps must be a whole number from 1 to 5,000; got 1,000,000"),
    ("start", (float("nan"), 0.0), r"start must be a finite point \(x, y\)"),
    ("traced", ["adamm"], "traced names unknown optimizer 'adamm'"),
    ("height", 50, "height must be from 240 to 2000 px; got 50"),
])
def test_a_setting_the_race_cannot_take_is_refused_in_words_and_the_race_stays(setting, value, words):
    w = optviz.widget("quadratic", ["sgd", "adam"], steps=10)
    race, kept = w._race, getattr(w, setting)
    with pytest.raises(SettingError, match=words) as refused:
        setattr(w, setting, value)
    assert isinstance(refused.value, traitlets.TraitError) and isinstance(refused.value, ValueError)
    assert getattr(w, setting) == kept and w._race == race


def test_the_output_carries_the_standalone_race_page_for_an_export():
    w = optviz.widget("saddle", ["sgd", "adam"], steps=30)
    data, _ = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    frame = data["text/html"]
    assert frame.startswith('<iframe class="optviz-race"') and f"height: {w.height + 90}px" in frame
    page = html.unescape(frame.split('srcdoc="', 1)[1].split('"', 1)[0])
    assert page.startswith("<!doctype html>") and viewer_module("streamlit.js") in page
    assert "Saddle" in page and "https://" not in page and "http://" not in page  # nothing fetched


def test_a_value_released_in_the_view_becomes_the_widgets_setting_and_is_raced_once(monkeypatch):
    w = optviz.widget("rosenbrock", ["sgd", "adam"], steps=40, hparams={"sgd": {"lr": 1e-3}})
    raced = []
    monkeypatch.setattr(w, "draw", lambda: raced.append(w.settings()))
    w._from_view(w, {"settle": {"hparams": [{"run": 1, "name": "lr", "value": 0.02},
                                            {"run": 1, "name": "beta1", "value": 0.5}],
                                "start": {"x": -1.25, "y": 1.5}}}, [])
    assert w.refused == "" and len(raced) == 1  # one message, one race
    assert w.hparams == {"sgd": {"lr": 1e-3}, "adam": {"lr": 0.02, "beta1": 0.5}} and w.start == (-1.25, 1.5)


@pytest.mark.parametrize("settled, words", [
    ({"hparams": [{"run": 5, "name": "lr", "value": 0.1}]}, "one of the 2 racers"),
    ({"hparams": [{"run": 0, "name": "lr", "value": "fast"}]}, "must be a number"),
    ({"hparams": [{"run": 0, "name": "lr", "value": -1.0}]}, "lr"),
    ({"hparams": [{"run": 0, "name": "warp", "value": 1.0}]}, "warp"),
    ({"start": {"x": "left", "y": 0}}, "the start must be a point"),
])
def test_a_hostile_message_from_the_view_changes_nothing_and_says_why(settled, words):
    w = optviz.widget("rosenbrock", ["sgd", "adam"], steps=20)
    before, races = w.settings(), w.races
    w._from_view(w, {"settle": settled}, [])
    assert words in w.refused and w.settings() == before and w.races is races
