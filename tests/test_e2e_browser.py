"""End to end in a real browser: Debian's chromium, driven by Playwright, against `streamlit run app.py`.

Screenshots land in artifacts/ (the README's picture is one of them).
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

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
def page(server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(server)
        yield page
        browser.close()


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


def race_chart(page):
    return next((p for p in plots(page) if any(t["meta"] == "marker" for t in p)), None)


def current_step(page) -> int:
    """The step the race figure's slider shows (Plotly moves it as the animation plays)."""
    return page.evaluate("""() => {
        const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.offsetParent && e.layout.sliders);
        const slider = el._fullLayout.sliders[0];
        return Number(slider.steps[slider.active].label.replace('step', '').trim() || slider.active);
    }""")


def test_the_race_is_drawn(page):
    chart = wait_for(lambda: race_chart(page))
    names = {t["name"] for t in chart}
    assert {"Adam", "SGD"} <= names
    page.screenshot(path=str(ARTIFACTS / "race.png"))


def test_a_click_on_the_map_moves_the_start_there(page):
    wait_for(lambda: race_chart(page))
    before = page.url
    area = next(box for box in (el.bounding_box() for el in page.locator(".js-plotly-plot .nsewdrag").all()) if box)
    for _ in range(3):  # the chart wires its click handler a moment after it is drawn
        time.sleep(1.5)
        page.mouse.click(area["x"] + area["width"] * 0.75, area["y"] + area["height"] * 0.25)  # map's upper right
        try:
            wait_for(lambda: page.url != before and "start=" in page.url, timeout=8)
            break
        except AssertionError:
            continue
    assert page.url != before
    x, y = (float(v) for v in page.url.split("start=")[1].split("&")[0].replace("%2C", ",").split(","))
    assert x > 0.5 and y > 1.5  # Rosenbrock's window is [-2, 2] × [-1, 3]


def test_play_advances_the_animation(page):
    wait_for(lambda: race_chart(page))
    assert current_step(page) == 0
    page.get_by_text("▶ 2×").first.click()
    wait_for(lambda: current_step(page) > 0, timeout=15)
    page.get_by_text("❚❚ Pause").first.click()
    paused = current_step(page)
    time.sleep(1.0)
    assert 0 < current_step(page) <= paused + 3  # paused (a frame in flight may still land)
    page.screenshot(path=str(ARTIFACTS / "race-playing.png"))


def test_changing_alpha_changes_the_chart(page):
    before = wait_for(lambda: race_chart(page))
    adam_before = next(t for t in before if t["name"] == "Adam")["x"]
    assert adam_before  # the path's last points
    page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first.click()
    thumb = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label$=" lr"]').first  # Adam's α
    thumb.focus()
    thumb.press("ArrowLeft")
    thumb.press("ArrowLeft")

    def changed():
        chart = race_chart(page)
        return chart and next(t for t in chart if t["name"] == "Adam")["x"] != adam_before

    wait_for(changed)
    assert "lr%3D" in page.url or "lr=" in page.url


def test_the_sweeps_tab_shows_a_heatmap(page):
    page.get_by_role("tab", name="Sweeps & basins").click()
    wait_for(lambda: any(any(t["type"] == "heatmap" for t in p) for p in plots(page)))
    page.screenshot(path=str(ARTIFACTS / "sweeps.png"), full_page=True)


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
