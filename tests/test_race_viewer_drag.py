"""Under the finger, in chromium: a racer's hyperparameter dragged by keyboard or pointer, or the start point dragged on
the map, redraws the race on every frame from the browser's own engine, with no websocket message until the gesture
ends; on release one message settles the value, and the URL, the sidebar and the server's race agree with the screen;
a reload keeps it. The exported page drags offline. Screenshots at 1280×720 and 1600×1000 land in artifacts/drag/."""

import time
import urllib.parse

import pytest
import test_e2e_browser
from test_e2e_browser import ARTIFACTS, address, wait_for

import optviz
from optviz.figures.export import race_html
from optviz.params import LR

browser, server = test_e2e_browser.browser, test_e2e_browser.server  # fixtures: chromium, the app
SHOTS = ARTIFACTS / "drag"
VIEWER = test_e2e_browser.VIEWER


@pytest.fixture
def console():
    return []


@pytest.fixture
def page(browser, server, console):
    """The app at 1280×720, with the frames its page sends on the websocket counted (page.sent)."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    page.sent = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda frame: page.sent.append(frame)))
    page.goto(server)
    wait_for(lambda: state(page) and state(page)["sliders"])
    yield page
    page.close()
    assert not console, console


def state(page):
    """The visible viewer: its racers' last points, the overrides still standing, frames drawn from the browser's own
    race, the start drawn, the focused racer's sliders (label, position, value shown), the note."""
    return page.evaluate(f"""() => {{
        const v = {VIEWER};
        if (!v || !v.p) return null;
        return {{last: v.runs.map(r => Array.from(r.xy.slice(-2))), dragging: v.dragging(), frames: v.liveFrames,
                 start: v.startPoint(), focus: v.focus, labels: v.p.runs.map(r => r.label),
                 sliders: (v.sliders || []).map(s => [s.s.label, Number(s.input.value), s.out.textContent]),
                 note: v.noteEl ? v.noteEl.textContent : "", map: v.box.map}};
    }}""")


def rows(page):
    """The viewer's rows (the loss chart first) by key: whether each says it is updated on release, and each line's
    first and last values."""
    return page.evaluate(f"""() => Object.fromEntries({VIEWER}.rows.map(r => [r.key,
        {{stale: !!r.stale, lines: r.lines.map(l => [...l.v.slice(0, 5), ...l.v.slice(-5)])}}]))""")


def flat(points):
    return [v for point in points for v in point]


def focus_racer(page, label):
    page.locator(".rv-focus").first.select_option(label=label)
    wait_for(lambda: state(page)["labels"][state(page)["focus"]] == label)


def alpha(page):
    return page.locator('.rv-tune input[aria-label="α (lr)"]').first


def query_entries(page) -> dict[str, dict[str, str]]:
    """optimizer -> its fields in the address bar (opt=adam;lr=…)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(address(page)).query)
    return {entry.split(";")[0]: dict(f.split("=", 1) for f in entry.split(";")[1:] if "=" in f)
            for entry in query.get("opt", [])}


def test_arrow_keys_on_a_racers_alpha_redraw_every_path_with_no_message_then_settle_it_in_the_url(page):
    focus_racer(page, "Adam")
    before, lr = state(page), query_entries(page)["adam"].get(LR)
    page.sent.clear()
    slider = alpha(page)
    slider.focus()
    for _ in range(8):
        slider.press("ArrowRight")  # each well within the quiet time after which a release is sent
    during = state(page)
    assert during["frames"] > before["frames"] and during["last"] != before["last"]  # drawn from the browser's race
    assert page.sent == []  # nothing went to the server during the gesture
    shown = float(during["sliders"][0][2])
    wait_for(lambda: query_entries(page)["adam"].get(LR) not in (None, lr), timeout=20)
    assert float(query_entries(page)["adam"][LR]) == pytest.approx(shown, rel=1e-3) and shown > float(lr)
    wait_for(lambda: not state(page)["dragging"], timeout=20)  # the server's race replaced the browser's ...
    assert flat(state(page)["last"]) == pytest.approx(flat(during["last"]), rel=1e-5, abs=1e-5)  # ... the same race
    summary = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first
    if not summary.evaluate("s => s.parentElement.open"):
        summary.click()
    exact = page.locator('[data-testid="stSidebar"]').get_by_label("exact lr", exact=True).first  # the sidebar's box
    wait_for(lambda: exact.input_value() == query_entries(page)["adam"][LR], timeout=10)
    page.reload()  # the released state is the link's
    wait_for(lambda: state(page) and state(page)["sliders"])
    assert float(query_entries(page)["adam"][LR]) == pytest.approx(shown, rel=1e-3)
    focus_racer(page, "Adam")
    assert float(state(page)["sliders"][0][2]) == pytest.approx(shown, rel=1e-3)


def test_dragging_alpha_with_the_pointer_changes_the_drawing_on_the_way_and_sends_one_message_on_release(page):
    focus_racer(page, "Adam")
    box = alpha(page).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.5, y)
    page.mouse.down()
    page.sent.clear()
    seen = []
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.5 - 0.03 * i), y)
        page.wait_for_timeout(20)
        seen.append(state(page)["last"])
    assert page.sent == []
    assert len({str(s) for s in seen}) >= 8  # the paths moved with the pointer
    page.mouse.up()
    wait_for(lambda: state(page) and len(page.sent) >= 1, timeout=10)  # (Playwright hands events over in its calls)
    wait_for(lambda: not state(page)["dragging"], timeout=20)
    shown = float(state(page)["sliders"][0][2])
    assert float(query_entries(page)["adam"][LR]) == pytest.approx(shown, rel=1e-3)


def test_dragging_recomputes_the_loss_chart_and_the_moment_diagnostics_with_no_message(page):
    focus_racer(page, "Adam")
    before = rows(page)
    assert {"loss", "m_hat", "v_hat", "effective_step", "bias_corrections"} <= set(before)
    page.sent.clear()
    slider = alpha(page)
    slider.focus()
    for _ in range(6):
        slider.press("ArrowRight")
    beta1 = page.locator('.rv-tune input[aria-label^="β₁"]').first
    beta1.focus()
    beta1.press("ArrowLeft")  # 1 − β₁ᵗ moves with β₁ alone
    during = rows(page)
    assert page.sent == []  # worked out in the browser, not asked of the server
    for key in ("loss", "m_hat", "v_hat", "effective_step", "bias_corrections"):
        assert not during[key]["stale"] and during[key]["lines"] != before[key]["lines"], key
    wait_for(lambda: not state(page)["dragging"], timeout=30)  # the server's rows replace them: the same numbers
    settled = rows(page)
    for key in ("m_hat", "effective_step", "bias_corrections"):
        assert flat(settled[key]["lines"]) == pytest.approx(flat(during[key]["lines"]), rel=1e-4, abs=1e-6), key


def test_a_release_while_a_rerun_is_in_flight_settles_the_last_value(page):
    focus_racer(page, "Adam")
    slider = alpha(page)
    slider.focus()
    slider.press("ArrowLeft")
    wait_for(lambda: state(page) and len(page.sent) >= 1, timeout=10)  # the first release is on its way: a rerun runs
    for _ in range(5):
        slider.press("ArrowLeft")
    last = float(state(page)["sliders"][0][2])
    wait_for(lambda: not state(page)["dragging"], timeout=30)
    assert float(query_entries(page)["adam"][LR]) == pytest.approx(last, rel=1e-3)
    assert float(state(page)["sliders"][0][2]) == pytest.approx(last, rel=1e-3)


def test_dragging_the_start_point_redraws_every_frame_and_the_url_gets_it_on_release(page):
    s = state(page)
    canvas = page.locator(".rv-dynamic").first.bounding_box()
    m = s["map"]
    x0, y0 = canvas["x"] + m["x"], canvas["y"] + m["y"]
    page.mouse.move(x0 + m["w"] * 0.2, y0 + m["h"] * 0.3)
    page.sent.clear()
    page.mouse.down()
    starts, paths = [], []
    for i in range(12):
        page.mouse.move(x0 + m["w"] * (0.2 + 0.04 * i), y0 + m["h"] * 0.3)
        page.wait_for_timeout(20)
        starts.append(state(page)["start"])
        paths.append(state(page)["last"])
    assert page.sent == []
    assert len({str(p) for p in starts}) >= 10 and len({str(p) for p in paths}) >= 8
    page.mouse.up()
    final = state(page)["start"]
    wait_for(lambda: "start=" in address(page) and not state(page)["dragging"], timeout=30)
    sx, sy = (float(v) for v in urllib.parse.parse_qs(urllib.parse.urlsplit(address(page)).query)["start"][0]
              .split(","))
    assert (sx, sy) == pytest.approx(final, abs=1e-9)
    start_x = page.locator('[data-testid="stSidebar"]').locator('input[aria-label^="start x"]')
    wait_for(lambda: abs(float(start_x.input_value()) - sx) < 1e-9)


def test_the_map_and_play_stay_on_one_screen_with_the_sliders(browser, server, console):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in [(1280, 720), (1600, 1000)]:
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("pageerror", lambda e: console.append(str(e)))
        page.goto(server)
        wait_for(lambda page=page: state(page) and state(page)["sliders"])
        focus_racer(page, "Adam")
        alpha(page).focus()
        for _ in range(20):
            alpha(page).press("ArrowRight")
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / f"drag-{width}x{height}.png"))
        for element in (".rv-play", ".rv-stage", ".rv-tune"):
            box = page.locator(element).first.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= height + 1, (element, width, box)
        page.close()
    assert not console


def test_an_exported_race_drags_offline(browser, tmp_path, console):
    path = tmp_path / "race.html"
    path.write_text(race_html(optviz.race("rosenbrock", ["adam", "sgd", "rmsprop"], steps=400)), encoding="utf-8")
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    requests = []
    page.on("request", lambda r: r.url.startswith("http") and requests.append(r.url))
    page.goto(path.as_uri())
    wait_for(lambda: state(page) and state(page)["sliders"])
    before = state(page)
    slider = page.locator('.rv-tune input[aria-label="α (lr)"]').first
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    page.wait_for_timeout(100)
    after = state(page)
    assert after["frames"] > before["frames"] and after["last"] != before["last"]
    m = after["map"]
    canvas = page.locator(".rv-dynamic").first.bounding_box()
    page.mouse.move(canvas["x"] + m["x"] + m["w"] * 0.6, canvas["y"] + m["y"] + m["h"] * 0.6)
    page.mouse.down()
    page.mouse.move(canvas["x"] + m["x"] + m["w"] * 0.7, canvas["y"] + m["y"] + m["h"] * 0.5, steps=5)
    page.mouse.up()
    page.wait_for_timeout(100)
    moved = state(page)
    assert moved["start"] != before["start"] and moved["last"] != after["last"]
    assert not requests and not console
    context.close()


def test_a_race_the_browser_cannot_compute_says_so_while_dragging(browser, tmp_path, console):
    path = tmp_path / "data.html"
    path.write_text(race_html(optviz.race("linear_regression", ["adam"], steps=50)), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(path.as_uri())
    wait_for(lambda: state(page) and state(page)["sliders"])
    before = state(page)
    slider = page.locator('.rv-tune input[aria-label="α (lr)"]').first
    slider.focus()
    slider.press("ArrowRight")
    time.sleep(0.1)
    after = state(page)
    assert after["note"].startswith("computed on the server") and after["last"] == before["last"]
    assert not console
    page.close()
