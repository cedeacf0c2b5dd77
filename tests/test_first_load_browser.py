"""A first visit in a real browser: a clean console on every tab's first load, sidebar
buttons whose labels fit, the race settings hidden on the MNIST tab. Screenshots at 1280×720 and 1600×1000 land
in artifacts/.

A clean console: no page error, no console error, and no console warning except Chromium's own GPU and canvas
performance notes (they come from the headless browser's software rendering, not from the app).
"""

import math
import re
import time

import pytest
from test_e2e_browser import ARTIFACTS, browser, server, wait_for  # noqa: F401  (browser and server are fixtures)

SIZES = [(1280, 720), (1600, 1000)]
BROWSER_NOISE = re.compile(r"GL Driver Message|GPU stall|Canvas2D: Multiple readback|WebGL")


def open_page(chrome, url, size):
    """A fresh page (first load: nothing cached in the session) that records what the console says."""
    page = chrome.new_page(viewport={"width": size[0], "height": size[1]})
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error!r}"))
    page.on("console", lambda message: page.problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") and not BROWSER_NOISE.search(message.text) else None)
    page.goto(url)
    return page


def settled(page, text, timeout=60):
    wait_for(lambda: page.get_by_text(text).count() > 0, timeout=timeout)
    wait_for(lambda: page.locator('[data-testid="stStatusWidget"]').count() == 0, timeout=timeout)
    time.sleep(2.0)  # charts draw after the script run ends


FIRST_LOADS = [("", "Moments traced"), ("?tab=Sweeps+%26+basins", "Basins of attraction"), ("?tab=MNIST", "Train")]


@pytest.mark.parametrize("tab, marker", FIRST_LOADS)
def test_first_load_of_each_tab_leaves_a_clean_console(browser, server, tab, marker):  # noqa: F811
    page = open_page(browser, server + "/" + tab, SIZES[1])
    settled(page, marker)
    if not tab:  # the lesson with the most formulas and its own chart
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click(timeout=90_000)
        page.get_by_role("option", name=re.compile("Adam's non-convergence")).click(timeout=90_000)
        settled(page, "average regret")  # the lesson's own chart, below the race
    assert page.problems == []
    page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sidebar_buttons_show_whole_labels_and_the_mnist_tab_hides_the_race_settings(browser, server,  # noqa: F811
                                                                                     size):
    page = open_page(browser, server, size)
    settled(page, "Moments traced")
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first.click()
    settled(page, "More settings")  # the panel's rerun is over: a click during it can be lost
    page.locator('[data-testid="stSidebar"]').get_by_text("More settings").first.click()
    wait_for(lambda: page.get_by_role("button", name="Variant").count() > 0)
    page.get_by_role("button", name="Remove", exact=True).first.scroll_into_view_if_needed()
    time.sleep(0.5)
    cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stSidebar"] button p')]
        .filter(p => ['Defaults', 'Variant', 'Remove'].includes(p.textContent.trim()))
        .map(p => ({label: p.textContent.trim(), cut: p.scrollWidth > p.clientWidth + 1}))""")
    assert {b["label"] for b in cut} == {"Defaults", "Variant", "Remove"}
    assert not [b["label"] for b in cut if b["cut"]]  # "De…", "Va…", "Re…" before
    page.screenshot(path=str(ARTIFACTS / f"polish-sidebar-{size[0]}.png"))

    sidebar = page.locator('[data-testid="stSidebar"]')
    page.get_by_role("tab", name="MNIST").click()
    settled(page, "Train")
    assert not sidebar.is_visible()  # its race settings do nothing there
    page.screenshot(path=str(ARTIFACTS / f"polish-mnist-{size[0]}.png"))
    page.get_by_role("tab", name="Race explorer").click()
    settled(page, "Moments traced")
    assert sidebar.is_visible() and "rosenbrock" in page.url  # the same race, kept while hidden
    assert page.problems == []
    page.close()


def test_at_1280_the_results_table_shows_every_column_and_basin_maps_are_not_dwarfed(browser, server):  # noqa: F811
    page = open_page(browser, server + "/?opt=sgd%3Blr%3D0.1&opt=adam%3Blr%3D0.05&steps=200", SIZES[0])
    settled(page, "Moments traced")
    page.get_by_text("Results", exact=True).scroll_into_view_if_needed()
    time.sleep(1.0)
    overflow = page.evaluate("""() => {
        const table = [...document.querySelectorAll('[data-testid="stMarkdownContainer"] table')]
            .find(t => t.textContent.includes('final loss'));
        if (!table) return null;
        const box = table.closest('[data-testid="stMarkdownContainer"]');  // what is visible of it
        return Math.max(table.scrollWidth - box.clientWidth, table.getBoundingClientRect().right
                        - document.querySelector('[data-testid="stMain"]').getBoundingClientRect().right); }""")
    assert overflow is not None and overflow <= 1  # no column cut off behind a horizontal scroll
    page.screenshot(path=str(ARTIFACTS / "polish-results-1280.png"))

    page.get_by_role("tab", name="Sweeps & basins").click()
    settled(page, "Basins of attraction")
    page.get_by_role("tab", name="Basins of attraction").click()
    settled(page, "Each pixel is a start point")
    page.get_by_text("Each pixel is a start point").first.scroll_into_view_if_needed()
    time.sleep(1.5)
    sizes = page.evaluate("""() => {
        const chart = [...document.querySelectorAll('.js-plotly-plot')].find(el => el._fullLayout &&
            el._fullLayout.xaxis2 && el._fullLayout.coloraxis);
        if (!chart) return null;
        const map = chart.querySelector('.xy .nsewdrag').getBoundingClientRect();
        const bar = chart.querySelector('.colorbar .cbbg').getBoundingClientRect();
        return {map: [map.width, map.height], bar: bar.height}; }""")
    assert sizes is not None
    width, height = sizes["map"]
    assert width >= 250 and height >= 250  # each of the two maps
    assert sizes["bar"] <= 1.15 * height  # the colour bar no taller than the maps it explains
    page.screenshot(path=str(ARTIFACTS / "polish-basins-1280.png"))
    assert page.problems == []
    page.close()


def test_tuned_rates_applied_from_the_sweeps_tab_show_in_the_sidebar(browser, server):  # noqa: F811
    """The view's callbacks set the sidebar's widgets (here every entry's rate): the boxes show the new values."""
    from test_e2e_browser import adam_lr_in_address
    page = open_page(browser, server + "/?tab=Sweeps+%26+basins", SIZES[1])
    settled(page, "Basins of attraction")
    page.get_by_role("tab", name="Tune each optimizer for a fair race").click()
    settled(page, "Apply the tuned settings to the race", timeout=120)
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first.click()
    exact = page.locator('[data-testid="stSidebar"]').get_by_label("exact lr", exact=True).first
    wait_for(lambda: exact.count() > 0)
    before = exact.input_value()
    page.get_by_role("button", name="Apply the tuned settings to the race").click()
    wait_for(lambda: adam_lr_in_address(page) not in (None, before), timeout=60)
    wait_for(lambda: math.isclose(float(exact.input_value()), float(adam_lr_in_address(page)),
                                  rel_tol=1e-5))  # the box shows 6 digits
    assert page.problems == []
    page.close()


def test_removing_an_optimizer_from_its_panel_takes_it_out_of_the_list_above(browser, server):  # noqa: F811
    """The panel's buttons rerun the page, whose list of optimizers (and traced choice) name the entries; the
    removed optimizer's panel goes too."""
    page = open_page(browser, server + "/?opt=adam&opt=sgd", SIZES[1])
    settled(page, "Moments traced")
    sidebar = page.locator('[data-testid="stSidebar"]')
    chips = lambda: sidebar.locator('[data-testid="stMultiSelectTagsContainer"] > * > *').all_text_contents()  # noqa: E731
    assert [c.strip() for c in chips()] == ["Adam", "SGD"]
    sidebar.locator('[data-testid="stExpander"] summary', has_text="SGD").first.click()
    wait_for(lambda: sidebar.get_by_text("More settings").count() > 0)  # SGD's: the only panel open
    sidebar.get_by_text("More settings").last.click()
    wait_for(lambda: page.get_by_role("button", name="Remove", exact=True).count() > 0)
    page.get_by_role("button", name="Remove", exact=True).last.click()
    wait_for(lambda: [c.strip() for c in chips()] == ["Adam"])
    wait_for(lambda: sidebar.locator('[data-testid="stExpander"] summary', has_text="SGD").count() == 0)  # its panel
    wait_for(lambda: "opt=sgd" not in page.evaluate("location.href"))
    assert page.problems == []
    page.close()
