"""An exported race plays in chromium whatever its labels say: no label can end the page's script or open a
comment, and none runs as code (no dialog fires)."""

import time

import pytest
from test_e2e_browser import browser  # noqa: F401  (a fixture)

import optviz
from optviz.engine import Entry
from optviz.figures.export import race_html

HOSTILE = ["<!--<script>", "</script>", "<!--", "]]>", "\"'`<img src=x onerror=alert(1)>", "nul\x00here",
           "<script>alert(1)</script>", "x" * 10_000]


@pytest.mark.parametrize("label", HOSTILE, ids=lambda label: repr(label[:16]))
def test_an_export_labelled_with_a_hostile_string_plays_and_fires_no_dialog(browser, tmp_path, label):  # noqa: F811
    races = optviz.race("rosenbrock", [Entry("adam", {"lr": 0.05}, None, label, {}),
                                       Entry("sgd", {"lr": 0.001}, None, "SGD", {})], steps=60)
    path = tmp_path / "race.html"
    path.write_text(race_html(races), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    problems = []
    page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(path.as_uri())
    page.locator(".rv-play").first.wait_for(timeout=20_000)
    page.locator(".rv-play").first.click()
    time.sleep(1.0)
    step = int(page.locator(".rv-step").first.text_content().split()[1].replace(",", ""))
    assert step > 0  # it plays
    legend = page.locator(".rv-legend").first.text_content()
    assert label.replace("\x00", "")[:40] in legend.replace("\x00", "").replace("\ufffd", "")  # shown as text
    assert problems == []
    page.close()
