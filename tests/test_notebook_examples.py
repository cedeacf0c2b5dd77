"""The example notebooks (examples/*.ipynb) run headless from top to bottom (nbclient, as CI runs them), and the HTML
export of an executed one (nbconvert) plays its races in chromium with the network cut off: each race is optviz's
standalone page, carried in the notebook's output as text/html, and fetches nothing."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from playwright.sync_api import sync_playwright
from test_e2e_browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.ipynb"))
SHOTS = ROOT / "artifacts" / "notebook"
WIDGET = "application/vnd.jupyter.widget-view+json"
# nbconvert's own page template links require.js and MathJax from a CDN (for widgets drawn from saved state, and
# for LaTeX); the races need neither, and offline those two are the only requests the page makes.
TEMPLATE_SCRIPTS = re.compile(r"^https://cdnjs\.cloudflare\.com/ajax/libs/(require\.js|mathjax)/")


def executed(path: Path, folder: Path, **options):
    """The notebook run by a fresh kernel in `folder` (optviz imported from this checkout)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        patch.setenv("OPTVIZ_WARMUP", "0")
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                       **options).execute()
    return notebook


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_an_example_notebook_runs_headless_and_shows_its_races(path, tmp_path):
    notebook = executed(path, tmp_path)
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    races = [output for output in outputs if WIDGET in output.get("data", {})]
    assert races and all("<iframe" in output["data"]["text/html"] for output in races)
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert {output["data"][WIDGET]["model_id"] for output in races} <= set(state)  # each view's model was saved


@pytest.fixture(scope="module")
def tour(tmp_path_factory):
    """The tour, run without saving widget state (JupyterLab saves none unless asked): nbconvert then shows each
    race's text/html, optviz's standalone page."""
    return executed(ROOT / "examples" / "tour.ipynb", tmp_path_factory.mktemp("tour"), store_widget_state=False)


def played_offline(page_html: str, folder: Path, shot: str) -> tuple[list[str], list[str]]:
    """Open the export with every network request refused, play its first race; the URLs it asked for, and the
    console's errors and uncaught exceptions."""
    export = folder / "tour.html"
    export.write_text(page_html, encoding="utf-8")
    requested, problems = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route(re.compile(r"^(https?|wss?)://"), lambda route: (requested.append(route.request.url),
                                                                       route.abort()))
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.goto(export.as_uri())
        frames = page.locator("iframe.optviz-race")
        assert frames.count() == 2  # the tour's two races
        race = frames.first.element_handle().content_frame()
        race.locator(".rv-play").click()
        race.wait_for_function("() => window.__raceViewers[0].step >= 20", timeout=30_000)
        assert race.evaluate("() => window.__raceViewers[0].runs.length") == 3
        frames.first.scroll_into_view_if_needed()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / shot))
        browser.close()
    return requested, problems


def test_an_html_export_plays_its_races_with_the_network_cut_off(tour, tmp_path):
    requested, problems = played_offline(HTMLExporter().from_notebook_node(tour)[0], tmp_path, "tour-export.png")
    assert [url for url in requested if not TEMPLATE_SCRIPTS.match(url)] == []  # the races asked for nothing
    assert [text for text in problems if "net::ERR_FAILED" not in text] == []  # but for nbconvert's two scripts


def test_an_html_export_without_nbconverts_cdn_scripts_fetches_nothing(tour, tmp_path):
    exporter = HTMLExporter(require_js_url="", mathjax_url="")  # as docs/notebook.md says
    requested, problems = played_offline(exporter.from_notebook_node(tour)[0], tmp_path, "tour-export-bare.png")
    assert requested == [] and problems == []
