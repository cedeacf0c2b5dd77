"""End to end in a real browser: Debian's chromium, driven by Playwright, against `streamlit run app.py`.

Screenshots land in artifacts/ (the README's picture is one of them).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not start: " + proc.stdout.read().decode(errors="replace")[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def console():
    """Console errors and uncaught exceptions of every page these tests open."""
    return []


def open_page(browser, url, console, width=1280, height=720):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("console", lambda m: m.type == "error" and console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(url)
    return page


@pytest.fixture(scope="module")
def page(browser, server, console):
    """The app at a projector's 1280×720, as a class would first see it."""
    page = open_page(browser, server, console)
    wait_for(lambda: viewer(page))
    yield page
    page.close()


def plots(page):
    """Data of every visible Plotly chart: a list of trace lists."""
    return page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .filter(el => el.offsetParent !== null && el._fullData)
        .map(el => el._fullData.map(t => ({type: t.type, name: t.name, meta: t.meta,
                                           x: t.x ? Array.from(t.x).slice(-3) : null})))""")


def wait_for(predicate, timeout=45.0, every=0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting for the page")


VIEWER = "(window.__raceViewers || []).filter(v => v.box && v.root.offsetParent !== null).at(-1)"


def viewer(page):
    """The visible race viewer's state: step, steps, playing, runs with their first points, start, boxes."""
    return page.evaluate(f"""() => {{
        const v = {VIEWER};
        if (!v) return null;
        return {{step: v.step, steps: v.n, playing: !!v.clock, start: v.p.start, box: v.box,
                 runs: v.runs.map(r => ({{label: r.label, color: r.color, last: Array.from(r.xy.slice(-2))}}))}};
    }}""")


def step_counter(page) -> int:
    text = page.locator(".rv-step").first.text_content()  # "step 30 / 500"
    return int(text.split()[1].replace(",", ""))


def canvas_origin(page):
    box = page.locator(".rv-dynamic").first.bounding_box()
    return box["x"], box["y"]


def test_the_race_is_drawn_path_by_path_in_its_colours(page):
    """The static canvas shows each optimizer's colour on its path: at a point halfway along it, some pixel of
    the 3×3 around it (the line is anti-aliased) has the run's colour."""
    patches = page.evaluate(f"""() => {{
        const v = {VIEWER}, ctx = v.staticCanvas.getContext('2d'), dpr = window.devicePixelRatio || 1;
        return v.runs.map((r, i) => {{
            const k = Math.floor(r.xy.length / 4) * 2, [x, y] = [v.screen[i][k], v.screen[i][k + 1]];
            return Array.from(ctx.getImageData(Math.round(x * dpr) - 1, Math.round(y * dpr) - 1, 3, 3).data);
        }});
    }}""")
    runs = viewer(page)["runs"]
    assert [r["label"] for r in runs] == ["Adam", "SGD"]
    for run, patch in zip(runs, patches):
        expected = [int(run["color"][i:i + 2], 16) for i in (1, 3, 5)]
        pixels = [patch[i:i + 3] for i in range(0, len(patch), 4)]
        assert min(max(abs(a - b) for a, b in zip(rgb, expected)) for rgb in pixels) < 25, (run["label"], pixels)
    page.screenshot(path=str(ARTIFACTS / "race-1280x720.png"))


def test_the_play_control_map_and_legend_are_on_the_first_screen_at_1280x720(page):
    for selector in (".rv-play", ".rv-scrub", ".rv-legend", ".rv-step", ".rv-arrows"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 720 and box["x"] + box["width"] <= 1280, selector
    x, y = canvas_origin(page)
    m = viewer(page)["box"]["map"]
    assert y + m["y"] >= 0 and y + m["y"] + m["h"] <= 720 and m["w"] > 250


def test_arrow_keys_step_and_space_plays_and_pauses(page):
    page.locator(".rv-play").first.focus()
    page.evaluate("document.activeElement.blur()")
    start = step_counter(page)
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert step_counter(page) == start + 3
    page.keyboard.press("ArrowLeft")
    assert step_counter(page) == start + 2
    page.keyboard.press(" ")
    assert viewer(page)["playing"]
    page.keyboard.press(" ")
    assert not viewer(page)["playing"]


def test_play_advances_the_step_counter_at_about_the_nominal_rate(page):
    """1× plays the whole race in 10 s: the counter's pace, measured over 2 s, is within a loose band of that."""
    page.keyboard.press("Home")
    page.locator(".rv-speed", has_text="1×").first.click()
    page.locator(".rv-play").first.click()
    t0, s0 = time.monotonic(), step_counter(page)
    time.sleep(2.0)
    t1, s1 = time.monotonic(), step_counter(page)
    page.locator(".rv-play").first.click()  # pause
    paused = step_counter(page)
    time.sleep(0.5)
    assert step_counter(page) == paused
    nominal = viewer(page)["steps"] / 10.0  # steps per second
    assert 0.6 * nominal <= (s1 - s0) / (t1 - t0) <= 1.4 * nominal
    page.screenshot(path=str(ARTIFACTS / "race-playing.png"))


def test_hovering_the_map_shows_f_there_and_a_nearby_optimizers_step(page):
    x, y = canvas_origin(page)
    m = viewer(page)["box"]["map"]
    px, py = m["x"] + m["w"] * 0.5, m["y"] + m["h"] * 0.5  # Rosenbrock's window centre (0, 1): f = 1 + 100 = 101
    page.mouse.move(x + px, y + py)
    tip = page.locator(".rv-tip").first
    wait_for(lambda: tip.is_visible(), timeout=5)
    text = tip.text_content()
    value = float(text.split("=")[1].split("click")[0].split("●")[0].strip())
    assert abs(value - 101) < 2, text
    point = page.evaluate(f"""() => {{ const v = {VIEWER}; const s = Math.floor(v.runs[0].xy.length / 4);
        return [v.screen[0][2 * s], v.screen[0][2 * s + 1], s]; }}""")
    page.mouse.move(x + point[0], y + point[1])
    wait_for(lambda: "Adam" in tip.text_content(), timeout=5)
    # the mouse sits on a whole pixel: a neighbouring step less than a pixel away may be the nearer one
    shown = int(tip.text_content().split("step ")[1].split(":")[0].replace(",", ""))
    assert abs(shown - point[2]) <= 1 and "loss" in tip.text_content()


def address(page) -> str:
    """The address bar now (page.url only catches up when Playwright next talks to the page)."""
    return page.evaluate("location.href")


def test_a_click_on_the_map_moves_the_start_there(page):
    before = address(page)
    x, y = canvas_origin(page)
    m = viewer(page)["box"]["map"]
    page.mouse.click(x + m["x"] + m["w"] * 0.75, y + m["y"] + m["h"] * 0.25)  # map's upper right
    wait_for(lambda: address(page) != before and "start=" in address(page), timeout=20)
    sx, sy = (float(v) for v in address(page).split("start=")[1].split("&")[0].replace("%2C", ",").split(","))
    assert abs(sx - 1.0) < 0.05 and abs(sy - 2.0) < 0.05  # Rosenbrock's window is [-2, 2] × [-1, 3]
    wait_for(lambda: abs(viewer(page)["start"][0] - sx) < 1e-3)
    start_x = page.locator('[data-testid="stSidebar"]').locator('input[aria-label^="start x"]')  # the sidebar too
    wait_for(lambda: abs(float(start_x.input_value()) - sx) < 1e-3)


def adam_lr_in_address(page) -> str | None:
    """Adam's learning rate as the address bar holds it (opt=adam;lr=…)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(address(page)).query)
    for entry in query.get("opt", []):
        fields = dict(field.split("=", 1) for field in entry.split(";")[1:] if "=" in field)
        if entry.split(";")[0] == "adam":
            return fields.get("lr")
    return None


def lower_adams_alpha(page, clicks: int) -> None:
    summary = page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first
    if not summary.evaluate("s => s.parentElement.open"):
        summary.click()
    thumb = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label$="(lr)"]').first  # Adam's α
    thumb.focus()
    for _ in range(clicks):
        thumb.press("ArrowLeft")


def test_changing_alpha_changes_the_drawn_path_and_the_address(page):
    before, lr = viewer(page)["runs"][0]["last"], adam_lr_in_address(page)
    step = step_counter(page)
    lower_adams_alpha(page, 2)
    wait_for(lambda: viewer(page)["runs"][0]["last"] != before)
    wait_for(lambda: adam_lr_in_address(page) not in (None, lr))
    assert float(adam_lr_in_address(page)) < float(lr)
    assert step_counter(page) == step  # the arrow keys moved the slider, not the race
    exact = page.locator('[data-testid="stSidebar"]').get_by_label("exact lr", exact=True).first  # drawn anew too
    wait_for(lambda: exact.input_value() == adam_lr_in_address(page))



def sent_elements(frames: list) -> list[tuple[str, str]]:
    """(kind, label) of every element the server sent in these websocket frames (labels of widgets, else "")."""
    sent = []
    for frame in frames:
        message = ForwardMsg.FromString(frame if isinstance(frame, bytes) else frame.encode())
        if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
            kind = message.delta.new_element.WhichOneof("type")
            sent.append((kind, getattr(getattr(message.delta.new_element, kind), "label", "")))
    return sent


def sent_race_data(frames: list) -> list[dict]:
    """The data of every race viewer the server sent in these websocket frames (race_viewer's JSON)."""
    found = []
    for frame in frames:
        message = ForwardMsg.FromString(frame if isinstance(frame, bytes) else frame.encode())
        if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element" \
                and message.delta.new_element.WhichOneof("type") == "bidi_component":
            found.append(json.loads(message.delta.new_element.bidi_component.bytes))
    return found


def test_an_alpha_change_sends_the_optimizers_settings_and_the_race_not_the_start_and_steps(browser, server,
                                                                                               console):
    """The race redraws at once because a learning-rate change reruns only a fragment: its optimizer's settings
    and the open tab; the start and steps boxes above them stay as they are in the browser, and the map (sent
    once) is not sent again."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    frames = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: frames.append(frame)))
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(server)
    wait_for(lambda: viewer(page))
    lower_adams_alpha(page, 0)
    time.sleep(1.0)
    before = viewer(page)["runs"][0]["last"]
    frames.clear()
    lower_adams_alpha(page, 1)
    wait_for(lambda: viewer(page)["runs"][0]["last"] != before)
    wait_for(lambda: any(ForwardMsg.FromString(f).WhichOneof("type") == "script_finished" for f in frames))
    sent = sent_elements(frames)
    assert ("bidi_component", "") in sent  # the race
    (race_data,) = sent_race_data(frames)
    assert "map" not in race_data and race_data["map_id"]  # the map's ~185 kB stayed in the page, named by its id
    assert any(kind == "slider" and label.endswith("(lr)") for kind, label in sent)  # Adam's settings
    assert not any(label.startswith(("start x", "start y", "Steps")) for _, label in sent)
    page.evaluate("window.__raceMaps.clear()")  # as if the page had let the map go: it asks for it again
    before = viewer(page)["runs"][0]["last"]
    lower_adams_alpha(page, 1)
    wait_for(lambda: viewer(page)["runs"][0]["last"] != before)
    page.close()


def test_opening_the_download_menu_asks_the_server_for_nothing_and_its_page_plays_offline(browser, server,
                                                                                         console, tmp_path):
    page = open_page(browser, server, console)
    sent = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda frame: sent.append(frame)))
    page.reload()
    wait_for(lambda: viewer(page))
    time.sleep(1.0)  # the page's own first messages are sent
    before = len(sent)
    page.get_by_test_id("stPopover").filter(has_text="Download").first.click()
    button = page.get_by_role("button", name="Download HTML")
    button.wait_for(timeout=5_000)
    time.sleep(0.5)
    assert len(sent) == before  # no rerun asked for: the buttons were drawn with the page
    with page.expect_download() as download:
        button.click()
    exported = tmp_path / "race.html"
    download.value.save_as(exported)
    page.goto(exported.as_uri())
    page.locator(".rv-play").first.click()
    wait_for(lambda: step_counter(page) > 0, timeout=10)
    page.close()


def show_step_120_with_a_hover(page):
    """Mid-race, the mouse on Adam's path where it is farthest from every other path: markers, arrows, cursors and
    the hover box in the picture."""
    page.keyboard.press("Home")
    for _ in range(12):
        page.keyboard.press("Shift+ArrowRight")
    x, y = canvas_origin(page)
    point = page.evaluate(f"""() => {{
        const v = {VIEWER}, own = v.screen[0], others = v.screen.slice(1);
        let best = null, bestGap = -1;
        for (let i = 0; i + 1 < own.length; i += 2) {{
            if (!Number.isFinite(own[i]) || !Number.isFinite(own[i + 1])) continue;
            let gap = Infinity;
            for (const other of others)
                for (let j = 0; j + 1 < other.length; j += 2)
                    gap = Math.min(gap, Math.hypot(own[i] - other[j], own[i + 1] - other[j + 1]));
            if (gap > bestGap) {{ bestGap = gap; best = [own[i], own[i + 1]]; }}
        }}
        return best;
    }}""")
    page.mouse.move(x + point[0], y + point[1])
    wait_for(lambda: "Adam" in page.locator(".rv-tip").first.text_content(), timeout=5)


@pytest.mark.parametrize("width, height", [(1280, 720), (1600, 1000)])
def test_screenshots_normal_and_presentation(browser, server, console, width, height):
    """The whole race on one screen, in both modes; the pictures go to artifacts/ (the README's is one)."""
    page = open_page(browser, server, console, width, height)
    wait_for(lambda: viewer(page))
    show_step_120_with_a_hover(page)
    page.screenshot(path=str(ARTIFACTS / f"race-{width}x{height}.png"))
    page.get_by_text("Presentation mode").first.click()
    wait_for(lambda: page.locator('[data-testid="stSidebar"]').first.is_hidden() and viewer(page))
    time.sleep(1.0)
    show_step_120_with_a_hover(page)
    header = page.locator('[data-testid="stHeader"]')
    assert header.count() == 0 or header.first.is_hidden()
    x, y = canvas_origin(page)
    box = viewer(page)["box"]
    bottom = max(b["y"] + b["h"] for b in [box["map"], *box["rows"]])
    assert y + bottom <= height and page.locator(".rv-play").first.bounding_box()["y"] >= 0
    page.screenshot(path=str(ARTIFACTS / f"race-presentation-{width}x{height}.png"))
    page.close()


def test_the_console_stays_clean(page, console):
    assert console == []


def test_the_sweeps_tab_shows_a_heatmap(page):
    page.set_viewport_size({"width": 1500, "height": 1100})
    page.get_by_role("tab", name="Sweeps & basins").click()
    wait_for(lambda: any(any(t["type"] == "heatmap" for t in p) for p in plots(page)))
    page.screenshot(path=str(ARTIFACTS / "sweeps.png"), full_page=True)


def test_a_sidebar_change_on_the_sweeps_tab_keeps_that_tab_open_and_in_the_address(page):
    """Start, steps and the optimizers rerun only the settings and the open tab (a fragment): the tab stays."""
    page.get_by_role("tab", name="Sweeps & basins").click()
    wait_for(lambda: "tab=" in address(page) and page.get_by_text("change these in the sidebar").count() > 0)
    lr = adam_lr_in_address(page)
    lower_adams_alpha(page, 1)
    wait_for(lambda: adam_lr_in_address(page) not in (None, lr))
    assert "tab=" in address(page)
    assert page.get_by_role("tab", name="Sweeps & basins").get_attribute("aria-selected") == "true"


def loss_points(page) -> int:
    """Points on the live MNIST loss curves so far."""
    return page.evaluate("""() => {
        const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.offsetParent &&
            e.layout && e.layout.uirevision === 'training');
        return el ? el._fullData.filter(t => t.xaxis === 'x').reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : 0;
    }""")


def test_mnist_trains_live_on_the_offline_subset_and_stops(page):
    page.get_by_role("tab", name="MNIST").click()
    wait_for(lambda: page.get_by_text("Dataset:").count() > 0)
    assert "subset shipped with optviz" in page.get_by_text("Dataset:").first.text_content()  # no download here
    epochs = page.get_by_label("Epochs")
    epochs.fill("20")
    epochs.press("Enter")
    time.sleep(1.0)
    page.get_by_role("button", name="Train", exact=True).click()
    first = wait_for(lambda: loss_points(page) >= 2)
    wait_for(lambda: loss_points(page) > first)  # the curves grow while training runs
    page.screenshot(path=str(ARTIFACTS / "mnist-training.png"))
    page.get_by_role("button", name="Stop").click()
    wait_for(lambda: page.get_by_text("Training stopped").count() > 0, timeout=15)
    page.screenshot(path=str(ARTIFACTS / "mnist-stopped.png"), full_page=True)
