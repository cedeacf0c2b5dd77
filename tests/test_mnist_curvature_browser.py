"""The curvature views in a real browser at 1280×720 (Debian's chromium, Playwright): the edge of stability in
full-batch training, with α raised past 2/λ mid-run and the change marked; the sharpness and Adam's gauges while
training; the learning-rate range test. Screenshots land in artifacts/curvature/."""

from __future__ import annotations

import pytest
from test_e2e_browser import ARTIFACTS, browser, open_page, server, wait_for  # noqa: F401 (fixtures)

SHOTS = ARTIFACTS / "curvature"


@pytest.fixture(scope="module")
def console():
    return []


@pytest.fixture
def mnist(browser, server, console):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, server + "/?tab=MNIST", console)
    wait_for(lambda: page.get_by_text("Dataset:").count() > 0, timeout=90)
    yield page
    page.close()


def number(page, label: str, value) -> None:
    box = page.get_by_role("spinbutton", name=label, exact=True).first
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(700)


def scroll_to_chart(page, index: int = 0) -> None:
    """Bring the index-th visible chart to the top of the window (in the page's script: a live fragment redraws the
    charts twice a second, so a handle to one goes stale)."""
    page.evaluate("""(i) => { const plots = [...document.querySelectorAll('.js-plotly-plot')]
        .filter(el => el.offsetParent !== null); if (plots[i]) plots[i].scrollIntoView({block: "start"}); }""", index)
    page.wait_for_timeout(500)


def charts(page) -> list[list[str]]:
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .filter(el => el.offsetParent !== null && el._fullData).map(el => el._fullData.map(t => t.name))""")


def progress(page) -> int:
    text = page.locator('[data-testid="stProgress"]').first.inner_text() if page.locator(
        '[data-testid="stProgress"]').count() else ""
    return int(text.split("%")[0]) if "%" in text else -1


def test_the_edge_of_stability_with_a_rate_raised_past_two_over_lambda(mnist, console):
    page = mnist
    page.get_by_text("Edge of stability (full batch)").click()
    wait_for(lambda: page.get_by_text("Run full-batch training").count() > 0)
    number(page, "α (0.0001 to 10)", 0.1)
    number(page, "Steps (10 to 5,000)", 400)
    number(page, "Digits (10 to 10,000)", 250)
    number(page, "Sharpness every K steps (1 to 1,000)", 10)
    hidden = page.get_by_role("textbox", name="Hidden layers")
    hidden.fill("100, 100")
    hidden.press("Enter")
    page.wait_for_timeout(700)
    page.get_by_text("Run full-batch training").click()
    wait_for(lambda: progress(page) >= 50, timeout=120)
    page.get_by_text("Change hyperparameters now").click()
    number(page, "α", 0.3)
    page.get_by_role("button", name="Apply").click()
    wait_for(lambda: page.get_by_text("from the next step on").count() > 0)
    page.wait_for_timeout(2500)   # the chart's next redraw, with the change marked
    scroll_to_chart(page, 0)
    page.screenshot(path=str(SHOTS / "eos-live-1280.png"))
    wait_for(lambda: page.get_by_text("Sharpness ").count() > 0
             and page.get_by_text("Trained Gradient descent").count() > 0, timeout=180)
    page.wait_for_timeout(1500)
    scroll_to_chart(page, 0)
    page.screenshot(path=str(SHOTS / "eos-1280.png"))
    names = [name for trace in charts(page) for name in trace]
    assert "training loss" in names and any(n.startswith("stability threshold") for n in names)
    assert not console


def test_training_shows_the_sharpness_against_the_threshold_and_adams_gauges(mnist, console):
    page = mnist
    page.get_by_text("Track the sharpness").click()
    number(page, "Every K steps (1 to 10,000)", 25)
    number(page, "Epochs", 20)   # long enough to be still running when the change lands; stopped below
    hidden = page.get_by_role("textbox", name="Hidden layers")
    hidden.fill("64")
    hidden.press("Enter")
    page.wait_for_timeout(700)
    page.get_by_role("button", name="Train", exact=True).click()
    wait_for(lambda: progress(page) >= 2, timeout=360)  # a fresh clone compiles the curvature loops first
    page.get_by_text("Change hyperparameters now").click()
    number(page, "α", 0.003)
    page.get_by_role("button", name="Apply").click()
    wait_for(lambda: page.get_by_text("from the next step on").count() > 0)
    wait_for(lambda: progress(page) >= 8, timeout=300)  # past the first epoch's validation
    page.get_by_role("button", name="Stop", exact=True).click()
    wait_for(lambda: page.get_by_text("Validation accuracy").count() > 0, timeout=120)
    page.wait_for_timeout(1500)
    scroll_to_chart(page, 1)
    page.screenshot(path=str(SHOTS / "sharpness-1280.png"))
    scroll_to_chart(page, 2)
    page.screenshot(path=str(SHOTS / "gauges-1280.png"))
    names = [name for trace in charts(page) for name in trace]
    assert any("λ<sub>max</sub>(P⁻¹H)" in n for n in names if n)
    assert not console


def test_the_range_test_suggests_a_rate(mnist, console):
    page = mnist
    page.get_by_text("Learning-rate range test").click()
    wait_for(lambda: page.get_by_text("Run the range test").count() > 0)
    number(page, "Grid rates (0 to 15)", 4)
    number(page, "Grid steps (10 to 2,000)", 100)
    page.get_by_text("Run the range test").click()
    wait_for(lambda: page.get_by_text("Suggested α").count() > 0, timeout=240)
    page.wait_for_timeout(1500)
    scroll_to_chart(page, 0)
    page.screenshot(path=str(SHOTS / "lr-range-1280.png"))
    assert page.get_by_text("Train SGD with α").count() > 0
    assert not console
