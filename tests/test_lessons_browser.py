"""A lesson's claim and chart in chromium at a projector's 1280×720: the lessons from papers draw their computed
claim and chart under the race with a clean console, and the edge of stability trains on request behind a progress
bar. Screenshots land in artifacts/lessons/ (claim-<lesson>-1280x720.png)."""

import pytest
from test_browser_matrix import failures, idle, open_page, race_drawn
from test_e2e_browser import ARTIFACTS, browser, server, wait_for  # noqa: F401  (fixtures)

from optviz.scenarios import LESSONS

SHOTS = ARTIFACTS / "lessons"


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """The app's server with one BLAS thread, as `optviz serve` gives each replica of two (set before the server
    fixture starts it): on two busy cores a second thread makes the trainings' small products take turns."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENBLAS_NUM_THREADS", "1")
        yield


def claim_on_screen(page, timeout=300):
    """The claim's line, scrolled into view, once it is drawn."""
    line = page.get_by_text("The claim holds").first
    wait_for(lambda: line.count() > 0 and line.is_visible(), timeout=timeout)
    line.scroll_into_view_if_needed()
    return line


def charts_drawn(page, count: int) -> None:
    """At least `count` Plotly charts, scrolled to and drawn (Plotly draws a chart once it is near the view)."""
    boxes = page.locator('[data-testid="stPlotlyChart"]')
    wait_for(lambda: boxes.count() >= count, timeout=120)
    boxes.nth(count - 1).scroll_into_view_if_needed()
    wait_for(lambda: page.locator(".js-plotly-plot").count() >= count, timeout=120)
    boxes.first.scroll_into_view_if_needed()


@pytest.mark.parametrize("key", ["generalization", "damping", "adam_bound"])
def test_a_paper_lesson_draws_its_claim_and_chart_under_the_race(browser, server, key):  # noqa: F811
    page = open_page(browser, f"{server}/?lesson={key}")
    race_drawn(page)
    idle(page)
    claim_on_screen(page)
    charts_drawn(page, 1)
    idle(page)
    assert failures(page) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"claim-{key}-1280x720.png"))
    page.close()


def test_the_edge_of_stability_trains_behind_a_progress_bar_then_shows_its_claim(browser, server):  # noqa: F811
    page = open_page(browser, f"{server}/?lesson=edge_of_stability")
    race_drawn(page)
    idle(page)
    assert page.get_by_text(LESSONS["edge_of_stability"].title).first.is_visible()
    page.get_by_role("button", name="Run the lesson's trainings").click()
    bar = page.locator('[data-testid="stProgress"]').first
    wait_for(lambda: bar.count() > 0 and "step" in bar.inner_text(), timeout=120)
    bar.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "claim-edge_of_stability-progress-1280x720.png"))
    claim_on_screen(page, timeout=1200)   # three trainings on a shared, loaded machine
    charts_drawn(page, 2)
    idle(page)
    assert failures(page) == []
    page.screenshot(path=str(SHOTS / "claim-edge_of_stability-1280x720.png"))
    page.close()
