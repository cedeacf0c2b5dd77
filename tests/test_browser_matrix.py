"""The paths a teacher takes through the page, in chromium, driven as a user drives it: every surface picked from
the surface box (from the default page and from a surface with parameters), every lesson picked from the lesson
box at both projector sizes in normal and presentation mode, every tab, and links with extreme values for every
key. Each must draw with no exception, no component error and a clean console, with Play and the map on screen.

Screenshots of every lesson in presentation mode at 1280×720 land in artifacts/lessons/.
"""

import time
import urllib.parse

import pytest
from test_e2e_browser import ARTIFACTS, VIEWER, browser, server, wait_for  # noqa: F401  (fixtures)
from test_first_load_browser import BROWSER_NOISE

from optviz.optimizers import SPECS as OPTIMIZERS
from optviz.scenarios import LESSONS
from optviz.surfaces import SPECS as SURFACES

SIZES = [(1280, 720), (1600, 1000)]
# as the surface box shows them: a data surface by its model alone (the Data box below it names the data)
SURFACE_TITLES = [spec.title if spec.model is None else spec.title.partition(" (")[0]
                  for spec in SURFACES.values()] + ["Your own f(x, y)…"]
WITH_PARAMETERS = next(name for name, spec in SURFACES.items() if len(spec.params) > 1 and spec.model is None)


def open_page(chrome, url, size=SIZES[0]):
    page = chrome.new_page(viewport={"width": size[0], "height": size[1]})
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error!r}"))
    page.on("console", lambda message: page.problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning") and not BROWSER_NOISE.search(message.text) else None)
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(url)
    return page


def idle(page, timeout=90):
    """The script run is over and what it sent is drawn."""
    time.sleep(0.4)
    wait_for(lambda: page.locator('[data-testid="stStatusWidget"]').count() == 0, timeout=timeout)
    time.sleep(0.8)


def race_drawn(page, title_part="", presenting=None):
    """The visible race viewer's geometry once it shows a race whose title contains `title_part` (and, if given,
    drawn for presentation mode or not)."""
    def geometry():
        return page.evaluate(f"""([part, presenting]) => {{
            const v = {VIEWER};
            if (!v || !v.box || !v.p.title.includes(part)) return null;
            if (presenting !== null && !!v.options.map_first !== presenting) return null;
            const stage = v.stage.getBoundingClientRect(), play = v.playBtn.getBoundingClientRect();
            return {{title: v.p.title, top: stage.top, left: stage.left, map: v.box.map, height: v.h,
                     play: {{top: play.top, bottom: play.bottom}}}};
        }}""", [title_part, presenting])
    return wait_for(geometry, timeout=90)


def failures(page) -> list[str]:
    """What went wrong on the page: Python exceptions, component errors, console problems."""
    found = list(page.problems)
    exceptions = page.locator('[data-testid="stException"]')
    found += [f"exception: {text[:200]}" for text in exceptions.all_inner_texts()]
    body = page.locator("body").inner_text()
    found += [f"component error: {line[:200]}" for line in body.splitlines() if "Component Error" in line]
    return found


def assert_race_on_screen(page, size, whole_map: bool, presenting=None):
    """Play is on screen, and the map: whole (presentation mode) or at least its top half."""
    g = race_drawn(page, presenting=presenting)
    width, height = size
    top = g["top"] + g["map"]["y"]
    bottom = top + g["map"]["h"] if whole_map else top + g["map"]["h"] / 2
    fits = (0 <= g["play"]["top"] and g["play"]["bottom"] <= height and top >= 0 and bottom <= height
            and g["left"] + g["map"]["x"] + g["map"]["w"] <= width)
    if whole_map:  # on a projector the whole race, its rows' step axis too
        fits = fits and g["top"] + g["height"] <= height
    if not fits:  # what pushed it off, for whoever reads the failure (CI keeps artifacts/)
        (ARTIFACTS / "failures").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "failures" / f"off-screen-{width}x{height}-{g['title'][:40]}.png"),
                        full_page=True)
    assert fits, (g, size)


def pick(page, box: int, option: str, timeout: float = 90):
    """Choose `option` in the sidebar's `box`-th select box (0: lesson, 1: surface) by clicking, as a user does."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(box).click()
    page.get_by_role("option", name=option, exact=True).click()
    idle(page, timeout)


@pytest.mark.parametrize("title", SURFACE_TITLES)
@pytest.mark.parametrize("origin", ["", f"?surface={WITH_PARAMETERS}"], ids=["from-default", "from-parameters"])
def test_every_surface_picked_from_the_box_draws_its_race(browser, server, origin, title):  # noqa: F811
    page = open_page(browser, server + "/" + origin)
    race_drawn(page)
    idle(page)
    pick(page, 1, title)
    race_drawn(page, "" if title.startswith("Your own") else title)
    assert failures(page) == []
    assert_race_on_screen(page, SIZES[0], whole_map=False)
    page.close()


@pytest.fixture(scope="module")
def lesson_pages(browser):  # noqa: F811
    """One page per size and mode, reused across the lessons (a teacher goes from lesson to lesson)."""
    pages = {}
    yield pages
    for page in pages.values():
        page.close()


@pytest.mark.parametrize("key", list(LESSONS))
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("presenting", [False, True], ids=["normal", "presentation"])
def test_every_lesson_fits_with_play_and_the_map_on_screen(browser, server, lesson_pages, presenting, size,  # noqa: F811
                                                          key):
    lesson = LESSONS[key]
    page = lesson_pages.get((presenting, size))
    if page is None:
        page = lesson_pages[(presenting, size)] = open_page(browser, server, size)
        race_drawn(page)
        idle(page)
    if presenting:  # the sidebar is hidden: leave presentation mode to pick the lesson, as a teacher would
        toggle = page.get_by_text("Presentation mode").first
        if page.locator('[data-testid="stSidebar"]').first.is_hidden():
            toggle.click()
            idle(page)
    # a claim with a setting of its own is computed below the race at the lesson's first view in a process (its loops
    # compiled by the server's warm-up, which may still be at work on a fresh machine)
    first_view = 300 if lesson.claim is not None and not lesson.claim.on_race else 90
    pick(page, 0, lesson.title, timeout=first_view)
    # the lesson's race is drawn: its key in the address (written in the run that draws it), its title above it
    wait_for(lambda: "lesson=" + urllib.parse.quote(key) in page.evaluate("location.href"), timeout=first_view)
    main = page.locator('[data-testid="stMain"]')
    wait_for(lambda: main.get_by_text(lesson.title).count() > 0, timeout=first_view)
    idle(page, first_view)
    idle(page)
    if presenting:
        page.get_by_text("Presentation mode").first.click()
        idle(page)
        wait_for(lambda: page.locator('[data-testid="stSidebar"]').first.is_hidden())
    race_drawn(page, presenting=presenting)
    idle(page)
    assert failures(page) == []
    assert_race_on_screen(page, size, whole_map=presenting, presenting=presenting)
    assert main.get_by_text(lesson.title).first.is_visible()
    if presenting:  # α and the lesson's own setting are there, beside the race
        labels = ["(lr)"] + ([f"({lesson.knob.replace('_', ' ')})"] if lesson.knob
                             and lesson.knob != "bias_correction" else [])
        for label in labels:
            slider = main.locator(f'input[type="range"][aria-label$="{label}"]').first
            assert slider.count() and slider.is_visible(), label
        if lesson.knob == "bias_correction":
            assert main.get_by_text("bias correction").first.is_visible()
        if size == SIZES[0]:
            (ARTIFACTS / "lessons").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "lessons" / f"{key}-presentation-1280x720.png"))


def test_a_lesson_link_is_restored_on_load_and_a_bad_key_warns(browser, server):  # noqa: F811
    page = open_page(browser, server + "/?lesson=saddle")
    race_drawn(page, "Saddle")
    assert page.get_by_text(LESSONS["saddle"].title).first.is_visible()
    page.close()
    page = open_page(browser, server + "/?lesson=nope")
    race_drawn(page)
    wait_for(lambda: page.get_by_text("Unknown lesson").count() > 0)
    assert failures(page) == []
    page.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_tab_opens_cleanly_in_normal_and_presentation_mode(browser, server, size):  # noqa: F811
    page = open_page(browser, server, size)
    race_drawn(page)
    idle(page)
    for presenting in (False, True):
        if presenting:
            page.get_by_role("tab", name="Race explorer").click()
            idle(page)
            page.get_by_text("Presentation mode").first.click()
            idle(page)
            race_drawn(page, presenting=True)
        for tab, marker in (("Sweeps & basins", "Basins of attraction"), ("MNIST", "Train"),
                            ("Race explorer", "Presentation mode")):
            page.get_by_role("tab", name=tab).click()
            idle(page)
            wait_for(lambda marker=marker: page.get_by_text(marker).count() > 0, timeout=90)
            assert failures(page) == [], (tab, presenting)
        assert_race_on_screen(page, size, whole_map=presenting, presenting=presenting)
    page.close()


def test_the_race_does_not_move_when_the_first_change_is_made(browser, server):  # noqa: F811
    """The line above the race is always there: the welcome note gives way to the outcomes in the same place."""
    page = open_page(browser, server)
    before = race_drawn(page)
    idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first.click()
    idle(page)
    thumb = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label$="(lr)"]').first
    thumb.focus()
    thumb.press("ArrowLeft")
    idle(page)
    wait_for(lambda: page.get_by_text("Free exploration").count() > 0)
    after = race_drawn(page)
    assert abs(after["top"] - before["top"]) <= 2 and abs(after["map"]["h"] - before["map"]["h"]) <= 2
    assert failures(page) == []
    page.close()


EXTREME_LINKS = {
    "surface": "surface=%3C%2Fscript%3E",
    "sp": "surface=quadratic&sp=condition:1e308,angle:-1e308",
    "start": "start=9999,2",
    "start-huge": "start=1e300,-1e300",
    "start-nan": "start=nan,inf",
    "steps": "steps=99999999",
    "opt": "opt=adam;lr=1e300;beta1=0.9999999999;eps=1e-300&opt=sgd;lr=1e-300",
    "opt-many": "&".join(["opt=adam;lr=50"] * 40),
    "label": "opt=adam;label=%3C!--%3Cscript%3E&opt=sgd;label=%3C%2Fscript%3E",
    "f": "surface=custom&f=" + urllib.parse.quote("exp(exp(exp(x)))*1e308"),
    "lesson": "lesson=" + "x" * 3000,
    "tab": "tab=" + urllib.parse.quote("<img src=x onerror=alert(1)>"),
}


@pytest.mark.parametrize("key", list(EXTREME_LINKS))
def test_a_link_with_extreme_values_draws(browser, server, key):  # noqa: F811
    page = open_page(browser, server + "/?" + EXTREME_LINKS[key])
    race_drawn(page)
    idle(page)
    assert failures(page) == []
    assert_race_on_screen(page, SIZES[0], whole_map=False)
    page.close()



@pytest.mark.parametrize("name", [name for name in OPTIMIZERS if name != "adam"])
def test_every_optimizer_picked_from_the_box_races_with_adam(browser, server, name):  # noqa: F811
    """Each optimizer added from the sidebar's Optimizers box by clicking, as a teacher does: the race redraws with it
    (those the browser cannot step say so while dragging; sweeps and MNIST say why they leave them out)."""
    page = open_page(browser, server + "/?opt=adam")
    race_drawn(page)
    idle(page)
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first.click()
    page.keyboard.type(OPTIMIZERS[name].title[:4])  # the list is long: typed letters narrow it, as a user does
    page.get_by_role("option", name=OPTIMIZERS[name].title, exact=True).click()
    page.keyboard.press("Escape")
    idle(page)
    race_drawn(page, "2 optimizers")
    names = page.evaluate(f"() => {VIEWER}.p.runs.map(r => r.label)")
    assert OPTIMIZERS[name].title in names, names
    assert failures(page) == []
    page.close()
