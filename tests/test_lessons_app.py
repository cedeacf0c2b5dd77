"""Every lesson opens in the app without an exception and shows its claim, computed, with its chart; the edge of
stability runs on request with a progress bar. Driven through Streamlit's AppTest."""

from dataclasses import replace

import pytest
from test_race_tab_app import start, widget

from optviz import scenarios
from optviz.scenarios import LESSONS
from optviz.ui import lessons

# words of each chart's title or legend, in ASCII: the figure's spec is JSON, which escapes the rest
OWN_CHARTS = {"generalization": "Test error", "adam_bound": "sparse gradient", "damping": "steps to come within"}


def open_lesson(key):
    at = start()
    widget(at, "selectbox", "lesson").set_value(key).run(timeout=180)
    assert not at.exception, at.exception
    return at


def claim_lines(at) -> list[str]:
    return [m.value for m in at.markdown if "**The claim" in m.value]


@pytest.mark.parametrize("key", [key for key, lesson in LESSONS.items() if not lesson.claim.slow])
def test_a_lesson_shows_its_claim_holding_with_its_numbers(key):
    at = open_lesson(key)
    lines = claim_lines(at)
    assert len(lines) == 1 and "**The claim holds" in lines[0], lines
    assert "{" not in lines[0]
    if key in OWN_CHARTS:
        assert any(OWN_CHARTS[key] in chart.proto.spec for chart in at.get("plotly_chart"))


def test_a_changed_race_says_its_claim_no_longer_holds():
    at = open_lesson("conditioning")
    widget(at, "text_input", "x.0.h.lr.typed").set_value("0.5").run()   # SGD no longer zig-zags
    lines = claim_lines(at)
    assert len(lines) == 1 and "**The claim does not hold in this race:**" in lines[0]


def test_the_edge_of_stability_waits_for_its_button_then_trains_with_a_progress_bar(monkeypatch):
    lesson = LESSONS["edge_of_stability"]
    short = replace(lesson.claim, setting={**lesson.claim.setting, "runs": ((0.4, 60),), "n": 50,
                                           "hidden": (16,), "every": 20})
    monkeypatch.setitem(scenarios.LESSONS, "edge_of_stability", replace(lesson, claim=short))
    finished = lessons._finished()   # the process's computed slow claims: this short run must not stay there
    finished.pop("edge_of_stability", None)
    at = open_lesson("edge_of_stability")
    assert claim_lines(at) == []
    assert any(c.value.startswith("The claim and its charts appear") for c in at.caption)
    widget(at, "button", "lesson_run").click().run(timeout=180)
    assert not at.exception
    lines = claim_lines(at)
    assert len(lines) == 1 and "α = 0.4: sharpness" in lines[0]
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any("Sharpness" in spec for spec in specs) and any("Training loss" in spec for spec in specs)
    finished.pop("edge_of_stability")


def test_a_link_to_a_lesson_with_other_optimizers_says_the_claim_is_about_the_lessons_race():
    at = start({"lesson": "valley", "opt": ["lion;lr=0.001", "qhm;lr=0.001"]})
    assert not at.exception, at.exception
    assert not claim_lines(at)
    assert any("lesson's own race" in c.value and "choose the lesson again" in c.value for c in at.caption)
