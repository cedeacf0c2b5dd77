"""JSON embedded in a page (the viewer's data, the exported HTML) can hold no NaN and end no script."""

import json
import math

import numpy as np

import optviz
from optviz.engine import Entry
from optviz.figures.embed import finite_or_none, script_json
from optviz.figures.export import race_html
from optviz.figures.race_payload import race_payload
from optviz.ui.race_viewer import viewer_data

HOSTILE = ["<!--<script>", "</script>", "<!--", "]]>", "\"'`", "a\x00b", "\u2028\u2029", "&amp;<b>", "x" * 10_000]


def test_non_finite_numbers_become_null_and_the_text_is_strict_json():
    value = {"a": [math.nan, math.inf, -math.inf, 1.5, np.float32("nan"), np.int64(3)], "b": (np.float64(2.0),)}
    text = script_json(value)
    assert json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c))) == {
        "a": [None, None, None, 1.5, None, 3], "b": [2.0]}
    assert finite_or_none({"x": float("nan")}) == {"x": None}


def test_hostile_strings_round_trip_and_cannot_end_a_script_or_open_a_comment():
    text = script_json({"labels": HOSTILE})
    for forbidden in ("<", ">", "&", "\u2028", "\u2029"):
        assert forbidden not in text
    assert json.loads(text)["labels"] == HOSTILE


def test_a_race_whose_start_is_not_finite_reaches_the_viewer_as_null_not_nan():
    races = optviz.race("rosenbrock", ["sgd"], start=(1e6, 1e6), steps=5)  # beyond the bound: diverged at once
    payload = race_payload(races)
    data = viewer_data(payload)
    for part in (data.map, data.rest):
        json.loads(part, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # no NaN, no Infinity


def test_an_exported_page_carries_hostile_labels_as_escapes_only():
    races = optviz.race("rosenbrock", [Entry("adam", {"lr": 0.05}, None, label, {})
                                       for label in ("</script><!--", "]]>&")], steps=20)
    page = race_html(races)
    script = page.split('<script type="module">', 1)[1].rsplit("</script>", 1)[0]
    assert "</script" not in script.lower() and "<!--" not in script
