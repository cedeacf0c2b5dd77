"""Exports: an HTML page that needs no network, a CSV that reproduces the run, and the command line."""

import csv
import io

import numpy as np
import pytest

import optviz
from optviz.__main__ import main
from optviz.figures.export import race_html, trajectories_csv


@pytest.fixture(scope="module")
def races():
    return optviz.race("saddle", ["adam", "momentum", "sgd"], steps=60, hparams={"adam": {"lr": 0.05}})


def test_html_inlines_the_viewer_and_the_race_and_references_nothing_outside(races):
    html = race_html(races)
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "<script src=" not in html.replace(" ", "") and "http" not in html.replace("http-equiv", "")
    assert "export default function mountRaceViewer" in html and '"runs"' in html
    assert len(html) < 1_000_000  # the viewer and the data, no library


def test_the_exported_page_plays_offline_in_the_apps_viewer(races, tmp_path):
    """Opened from a file with every network request refused: it draws, plays and steps like the app."""
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "race.html"
    page_file.write_text(race_html(races), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox",
                                                                                  "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        requests, errors = [], []
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                   else (requests.append(route.request.url), route.abort()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(page_file.as_uri())
        page.wait_for_function("() => (window.__raceViewers || []).length && window.__raceViewers[0].drawnAt")
        page.keyboard.press("ArrowRight")
        assert page.locator(".rv-step").text_content() == "step 1 / 60"
        page.locator(".rv-play").click()
        page.wait_for_function("() => window.__raceViewers[0].step > 5")
        browser.close()
    assert requests == [] and errors == []


def test_csv_reproduces_every_step_exactly(races):
    rows = list(csv.DictReader(io.StringIO(trajectories_csv(races))))
    assert len(rows) == 3 * 61
    adam = [r for r in rows if r["optimizer"] == "adam"]
    path = np.array([[float(r["x"]), float(r["y"])] for r in adam])
    np.testing.assert_array_equal(path, races["adam"].path)
    m = np.array([[float(r["m_x"]), float(r["m_y"])] for r in adam[1:]])
    np.testing.assert_array_equal(m, races["adam"].trace["m"])
    sgd = [r for r in rows if r["optimizer"] == "sgd"]
    assert sgd[5]["m_x"] == "" and float(sgd[5]["lr"]) == races["sgd"].lr[4]


def test_csv_leaves_diverged_steps_empty():
    races = optviz.race("rosenbrock", ["sgd"], steps=20, hparams={"sgd": {"lr": 0.1}})
    rows = list(csv.DictReader(io.StringIO(trajectories_csv(races))))
    t = races["sgd"].diverged_at
    assert rows[t - 1]["x"] != "" and rows[t]["x"] == ""


def test_command_line_writes_html_and_csv(tmp_path, capsys):
    html, table = tmp_path / "race.html", tmp_path / "race.csv"
    assert main(["export", "--surface", "rosenbrock", "--optimizers", "adam", "sgd", "--out", str(html)]) == 0
    assert html.read_text().count("mountRaceViewer({data:") == 1
    assert main(["export", "--optimizers", "adam", "--set", "adam.lr=0.05", "--steps", "30", "--start", "0", "1",
                 "--out", str(table)]) == 0
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 31 and rows[0]["x"] == "0.0" and float(rows[1]["lr"]) == 0.05
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--set", "adam.lr=abc"], "not a number"),
    (["--set", "adam.lr=-1"], "lr must be a number in (0, ∞)"),
    (["--set", "lion.lr=0.1"], "not among --optimizers"),
    (["--set", "nonsense"], "OPTIMIZER.PARAM=VALUE"),
])
def test_command_line_reports_bad_settings_without_a_traceback(tmp_path, capsys, args, message):
    assert main(["export", "--optimizers", "adam", "sgd", *args, "--out", str(tmp_path / "x.html")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
