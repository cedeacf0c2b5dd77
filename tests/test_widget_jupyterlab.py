"""optviz.widget in a real JupyterLab (the one requirements-dev.txt installs), driven by Debian's chromium: the tour
notebook from examples/ run cell by cell draws its race on the canvas, Play plays it, a setting changed in Python
redraws it, and with the kernel shut down the race still plays; Adam's moments draws Adam's state beside the map.
The browser's console stays clean throughout. Screenshots (1600×1000) land in artifacts/notebook/.

The server is this test's own: a free port, a temporary root holding copies of the examples, no token, its settings
and workspaces in the same temporary folder; it is always shut down, with its kernels.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright
from test_e2e_browser import ARGS, CHROMIUM, free_port

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "notebook"
STARTUP = 90  # s: a cold JupyterLab on a loaded 2-core machine starts in 3-15 s
RUN_ALL = 120  # s: a notebook's kernel started and every cell run (the first races on a fresh machine compile)
NOTEBOOK = "window.jupyterapp.shell.currentWidget"  # the notebook panel in front
VIEWER = f"window.__raceViewers.find(v => {NOTEBOOK}.node.contains(v.root) && v.drawnAt)"  # its first race


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free port, serving a temporary folder with the examples; its URL."""
    home = tmp_path_factory.mktemp("lab")
    (home / "root").mkdir()
    for notebook in (ROOT / "examples").glob("*.ipynb"):
        shutil.copy(notebook, home / "root" / notebook.name)
    quiet = home / "settings" / "@jupyterlab" / "apputils-extension"
    quiet.mkdir(parents=True)  # no news or update checks: nothing fetched from outside
    (quiet / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false",
                                                                        "checkForUpdates": False}))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "OPTVIZ_WARMUP": "0"}
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={home / 'root'}", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", f"--LabApp.user_settings_dir={home / 'settings'}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}"],
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("JupyterLab did not start:\n" + (home / "lab.log").read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)  # the server shuts its kernels down on its way out
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def console():
    """Errors, warnings and uncaught exceptions in the page's console."""
    return []


@pytest.fixture(scope="module")
def page(lab, console):
    """JupyterLab at 1600×1000 with the tour open and every cell run."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        page.on("console", lambda m: m.type in ("error", "warning") and console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"uncaught: {e}"))
        page.goto(f"{lab}/lab/tree/tour.ipynb")
        run_all(page)
        page.evaluate("window.jupyterapp.commands.execute('application:toggle-left-area')")  # room for the race
        yield page
        browser.close()


def run_all(page):
    """Run every cell of the notebook in front once its kernel is connected; wait until each has run."""
    page.wait_for_function(f"() => window.jupyterapp && {NOTEBOOK} && {NOTEBOOK}.sessionContext?.session?.kernel"
                           "?.connectionStatus === 'connected'")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    until(page, f"""() => {{
        const nb = {NOTEBOOK};
        return nb.sessionContext.session.kernel.status === 'idle'
            && nb.content.widgets.every(c => c.model.type !== 'code' || c.model.executionCount !== null)
            && !!({VIEWER});
    }}""")


def until(page, predicate: str, timeout: float = RUN_ALL) -> None:
    """Wait until `predicate` holds in the page; on a timeout, say where the notebook stood."""
    try:
        page.wait_for_function(predicate, timeout=timeout * 1000)
    except PlaywrightTimeout:
        state = page.evaluate(f"""() => {{
            const nb = {NOTEBOOK};
            return {{kernel: nb?.sessionContext?.session?.kernel?.status,
                    viewers: (window.__raceViewers || []).length,
                    cells: nb?.content?.widgets.map(c => [c.model.type, c.model.executionCount,
                                                          c.model.outputs?.length]),
                    errors: nb?.content?.widgets.flatMap(c => c.model.outputs ? c.model.outputs.toJSON() : [])
                        .filter(o => o.output_type === 'error').map(o => `${{o.ename}}: ${{o.evalue}}`)}};
        }}""")
        raise AssertionError(f"waited {timeout} s for {predicate!r}; the notebook: {state}") from None


def step_shown(page) -> int:
    text = page.evaluate(f"() => {VIEWER}.stepEl.textContent")  # "step 1,234 / 5,000"
    return int(text.split()[1].replace(",", ""))


def drawing(page) -> dict:
    """What the first race's canvases hold: a sample of the map's pixels, the last-drawn path's pixel halfway, the
    marker's pixel at the step shown, a digest of the whole static canvas, and the runs' names."""
    into_view(page)
    return page.evaluate(f"""() => {{
        const v = {VIEWER}, dpr = window.devicePixelRatio || 1, b = v.box.map;
        const copy = (canvas) => {{  // read from a copy: reading the viewer's canvases would slow them down
            const c = document.createElement('canvas');
            [c.width, c.height] = [canvas.width, canvas.height];
            const ctx = c.getContext('2d', {{willReadFrequently: true}});
            ctx.drawImage(canvas, 0, 0);
            return ctx.getImageData(0, 0, c.width, c.height);
        }};
        const still = copy(v.staticCanvas), moving = copy(v.dynamicCanvas);
        const at = (image, x, y) => {{
            const i = 4 * (Math.round(y * dpr) * image.width + Math.round(x * dpr));
            return Array.from(image.data.slice(i, i + 4));
        }};
        const map = [];
        for (let i = 1; i < 20; i++) {{
            for (let j = 1; j < 20; j++) map.push(at(still, b.x + i * b.w / 20, b.y + j * b.h / 20));
        }}
        const last = v.runs.length - 1, k = Math.floor(v.step), xy = v.screen[last];
        const inside = (i) => xy[2 * i] > b.x + 12 && xy[2 * i] < b.x + b.w - 12 && xy[2 * i + 1] > b.y + 12
                              && xy[2 * i + 1] < b.y + b.h - 12;
        let s = Math.floor(v.n / 2);
        while (s > 1 && !inside(s)) s--;  // a point of the path well inside the map
        let digest = 0;
        for (let i = 0; i < still.data.length; i += 7) digest = (digest * 31 + still.data[i]) % 1000000007;
        return {{map, color: v.runs[last].color, path: at(still, xy[2 * s], xy[2 * s + 1]),
                marker: at(moving, xy[2 * k], xy[2 * k + 1]), digest,
                names: v.runs.map(r => r.name), rows: v.box.rows.length}};
    }}""")


def rgb(color: str) -> list[int]:
    return [int(color[i:i + 2], 16) for i in (1, 3, 5)]


def near(pixel, color, tolerance=40) -> bool:
    return pixel[3] > 200 and max(abs(a - b) for a, b in zip(pixel[:3], rgb(color))) <= tolerance


def into_view(page) -> None:
    """Scroll the notebook to the first race's cell and wait until it is drawn there: JupyterLab hides the cells far
    from the view (display: none), and a hidden race is drawn once shown."""
    page.evaluate(f"""() => {{
        const nb = {NOTEBOOK}, race = {VIEWER};
        return nb.content.scrollToItem(nb.content.widgets.findIndex((cell) => cell.node.contains(race.root)), 'start');
    }}""")
    until(page, f"() => (v => v.stage.clientWidth > 0 && !v.stale)({VIEWER})", timeout=10)


def shot(page, name: str) -> None:
    into_view(page)
    page.screenshot(path=str(SHOTS / name))


def test_the_tour_run_in_jupyterlab_paints_its_race_on_the_canvas(page):
    drawn = drawing(page)
    assert all(pixel[3] == 255 for pixel in drawn["map"])  # the map's picture covers the map
    assert len({tuple(pixel) for pixel in drawn["map"]}) > 20  # contours and shading, not a blank fill
    assert near(drawn["path"], drawn["color"])  # the last optimizer's path, in its colour
    assert near(drawn["marker"], drawn["color"])  # and its marker, on the dynamic layer
    assert drawn["rows"] == 7  # the loss chart and the six moment rows beside the map
    shot(page, "tour.png")


def test_play_in_jupyterlab_advances_the_step_counter(page):
    assert step_shown(page) == 0
    page.locator(".rv-play").first.click()
    page.wait_for_function(f"() => {VIEWER}.step >= 30")
    assert step_shown(page) >= 30
    page.locator(".rv-play").first.click()  # pause
    page.wait_for_function(f"() => !{VIEWER}.clock")
    shot(page, "tour-playing.png")


def test_keys_pressed_in_the_race_step_it_and_no_other_keys_do(page):
    page.locator(".rv-dynamic").first.click(position={"x": 5, "y": 5})  # the race takes the focus
    cell = page.evaluate(f"() => {NOTEBOOK}.content.activeCellIndex")
    page.keyboard.press("End")
    assert step_shown(page) == 300
    for key in ("Home", "ArrowRight", "Shift+ArrowRight"):
        page.keyboard.press(key)
    assert step_shown(page) == 11
    page.keyboard.press("ArrowDown")  # not the race's: JupyterLab's (the next cell)
    assert page.evaluate(f"() => {NOTEBOOK}.content.activeCellIndex") == cell + 1 and step_shown(page) == 11
    page.locator(".jp-MarkdownCell").nth(1).click()  # a paragraph (← on a heading folds it): the notebook's keys
    page.keyboard.press("End")
    page.keyboard.press("Home")
    assert step_shown(page) == 11


def test_a_setting_changed_in_python_redraws_the_race(page):
    before = drawing(page)
    page.evaluate(f"""() => {NOTEBOOK}.sessionContext.session.kernel
        .requestExecute({{code: 'w.update(hparams={{}}, lr=0.001)'}}).done""")
    page.wait_for_function(f"() => {VIEWER}.runs.every(r => r.name.endsWith('α = 0.001'))")
    after = drawing(page)
    assert after["digest"] != before["digest"] and near(after["path"], after["color"])
    assert after["names"] == ["SGD, α = 0.001", "SGD with momentum, α = 0.001", "Adam, α = 0.001"]
    shot(page, "tour-lr-changed.png")


def test_a_slider_released_in_jupyterlab_becomes_the_kernels_setting_and_its_race(page):
    slider = page.evaluate_handle(f"""() => {VIEWER}.root.querySelector('.rv-tune input[aria-label="α (lr)"]')"""
                                  ).as_element()  # Adam's, the racer in focus
    slider.focus()
    slider.press("ArrowRight")  # the notebook's own keys (a cell's ←/→) leave the slider its arrow keys
    dragged = page.evaluate(f"() => {VIEWER}.overrides.hparams[2].lr")
    assert dragged > 0.001
    # the kernel keeps it (w.hparams) and races again: the new race names Adam's new rate, the others' stay
    page.wait_for_function(f"() => {VIEWER}.runs[2].name !== 'Adam, α = 0.001' && !{VIEWER}.dragging()")
    names = drawing(page)["names"]
    assert names[:2] == ["SGD, α = 0.001", "SGD with momentum, α = 0.001"]
    assert float(names[2].removeprefix("Adam, α = ")) == pytest.approx(dragged, rel=5e-3)
    shot(page, "tour-dragged.png")


def test_with_the_kernel_shut_down_the_race_still_scrubs_and_plays(page):
    page.evaluate(f"() => {NOTEBOOK}.sessionContext.session.kernel.shutdown()")
    page.wait_for_function(f"() => (k => !k || k.status === 'dead')({NOTEBOOK}.sessionContext.session?.kernel)")
    scrub = page.locator(".rv-scrub").first
    scrub.evaluate("(el) => { el.value = 120; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    assert step_shown(page) == 120
    scrub.evaluate("(el) => { el.value = 0; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.locator(".rv-play").first.click()
    page.wait_for_function(f"() => {VIEWER}.step >= 30")
    drawn = drawing(page)
    assert near(drawn["path"], drawn["color"])
    shot(page, "tour-kernel-gone.png")


def test_adams_moments_draws_adams_state_beside_the_map(page):
    page.evaluate("window.jupyterapp.commands.execute('docmanager:open', {path: 'adam_moments.ipynb'})")
    page.wait_for_function(f"() => {NOTEBOOK}?.context?.path === 'adam_moments.ipynb'")
    run_all(page)
    drawn = drawing(page)
    assert drawn["rows"] == 7 and near(drawn["path"], drawn["color"])  # the loss and six moment rows
    assert drawn["names"][-1].startswith("Adam")
    shot(page, "adam-moments.png")


def test_the_console_stays_clean(page, console):
    assert console == []
