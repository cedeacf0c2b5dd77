"""The sweeps tab's cell race, under the finger in chromium: a cell clicked on the heatmap races below it; its α
dragged there becomes the setting shown (the nearest cell marked), and a start clicked on its map becomes the race's
start (the sidebar and the address), from which the sweep runs again."""

import re
import urllib.parse

import pytest
import test_e2e_browser
from test_browser_matrix import idle
from test_e2e_browser import ARTIFACTS, address, wait_for

browser, server = test_e2e_browser.browser, test_e2e_browser.server  # fixtures: chromium, the app
CELL_VIEWER = ("window.__raceViewers.filter(v => v.root.isConnected && v.p && v.p.runs.length === 1 && "
               "v.p.runs[0].label.includes('lr=')).at(-1)")


@pytest.fixture
def page(browser, server):
    console = []
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(server + "/?opt=adam;lr=0.01&steps=200")
    page.get_by_role("tab", name="Sweeps & basins").click()
    wait_for(lambda: page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].some(el =>
        el.offsetParent && el._fullData && el._fullData.some(t => t.type === 'heatmap'))"""), timeout=120)
    idle(page)
    yield page
    page.close()
    assert not console, console


def selected(page) -> dict[str, float]:
    """The hyperparameters the "Selected:" line names."""
    line = page.locator("p").filter(has_text=re.compile(r"^Selected:")).first.inner_text()
    return {name: float(value) for name, value in re.findall(r"(\w+) = ([-\d.e]+)", line.split("—")[0])}


def click_cell(page, fx: float, fy: float) -> None:
    """Click the heatmap at a fraction of its plot area from the left and from the top; the cell's race shows."""
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".heatmaplayer")).first
    plot.scroll_into_view_if_needed()
    box = plot.locator(".nsewdrag").first.bounding_box()

    def clicked():  # a click while the chart is still being drawn is lost: a user clicks again
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        idle(page)
        return page.get_by_text(re.compile(r"^Selected:")).count() > 0

    wait_for(clicked, timeout=60, every=1)
    wait_for(lambda: page.evaluate(f"() => !!({CELL_VIEWER})?.box"), timeout=60)


def test_alpha_dragged_in_a_cells_race_becomes_the_setting_shown_and_the_nearest_cell_is_marked(page):
    click_cell(page, 0.5, 0.5)
    before = selected(page)
    slider = page.evaluate_handle(
        f"""() => ({CELL_VIEWER}).root.querySelector('.rv-tune input[aria-label="α (lr)"]')""").as_element()
    slider.scroll_into_view_if_needed()
    slider.focus()
    for _ in range(40):  # far enough to pass the next grid values of α
        slider.press("ArrowRight")
    dragged = page.evaluate(f"() => ({CELL_VIEWER}).overrides.hparams[0].lr")
    assert dragged > before["lr"]
    wait_for(lambda: page.get_by_text("Dragged in the race below").count() > 0, timeout=60)
    idle(page)
    shown = selected(page)
    assert shown["lr"] == pytest.approx(dragged, rel=1e-3) and shown["beta1"] == before["beta1"]
    # the cell's race is now the server's race of that setting, and nothing stays dragged in the browser
    wait_for(lambda: page.evaluate(f"() => !({CELL_VIEWER}).dragging()"))
    assert page.evaluate(f"() => ({CELL_VIEWER}).p.live.runs[0].hparams.lr") == pytest.approx(dragged, rel=1e-12)
    marked = page.evaluate("""() => {
        const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.offsetParent && e._fullData &&
            e._fullData.some(t => t.type === 'heatmap'));
        const heat = el._fullData.find(t => t.type === 'heatmap'), mark = el.layout.shapes[0];
        return mark ? {x: (mark.x0 + mark.x1) / 2, columns: heat.z[0].length} : null;
    }""")
    assert marked is not None and marked["x"] > marked["columns"] / 2  # the outline moved right with α
    page.screenshot(path=str(ARTIFACTS / "sweeps-cell-dragged.png"), full_page=True)


def test_a_start_clicked_on_a_cells_race_becomes_the_races_start_and_the_sweep_runs_from_it(page):
    click_cell(page, 0.3, 0.6)
    viewer = page.evaluate(f"""() => {{ const v = {CELL_VIEWER}, r = v.dynamicCanvas.getBoundingClientRect();
        v.dynamicCanvas.scrollIntoView({{block: 'center'}});
        return {{map: v.box.map}}; }}""")
    box = page.evaluate(f"() => ({CELL_VIEWER}).dynamicCanvas.getBoundingClientRect().toJSON()")
    page.mouse.click(box["x"] + viewer["map"]["x"] + viewer["map"]["w"] * 0.25,
                     box["y"] + viewer["map"]["y"] + viewer["map"]["h"] * 0.25)
    wait_for(lambda: "start=" in address(page) and urllib.parse.parse_qs(
        urllib.parse.urlsplit(address(page)).query)["start"][0] != "-1.5,2", timeout=60)
    start = [float(v) for v in urllib.parse.parse_qs(urllib.parse.urlsplit(address(page)).query)["start"][0].split(",")]
    x_box = page.locator('[data-testid="stSidebar"] input[aria-label^="start x"]')
    wait_for(lambda: float(x_box.input_value()) == pytest.approx(start[0], abs=1e-9))
    assert page.get_by_role("tab", name="Sweeps & basins").get_attribute("aria-selected") == "true"
