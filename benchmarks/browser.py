"""What a teacher waits for in the browser: optviz's race tab against a trivial Streamlit page, in one run.

Both pages are served the same way (`streamlit run`, this repository's .streamlit/config.toml, localhost) and
driven by Playwright in Debian's chromium (headless, software rendering), one after the other:

- first load: from navigation until the page is drawn (the race viewer's picture; the trivial page's chart) and
  idle (no DOM change for QUIET seconds); median of LOADS fresh browser contexts;
- a learning-rate change from the keyboard on the slider (a new value each time, so nothing is cached) until the
  new race is drawn and the page idle: median and max of CHANGES;
- playback (optviz only): frames per second while the 500-step default race plays at 1×, and how long 1× takes
  against its nominal 10 s.

    python benchmarks/browser.py

Targets (issue 13): a change ≤ 1.5× the trivial page's, first load ≤ 2×, ≥ 30 fps, 1× within 10 % of nominal.
The machine is shared: read the ratios, measured in the same run, rather than the absolute times.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from benchmarks.load_test import free_port, start_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 720}
LOADS, CHANGES, QUIET = 3, 5, 0.5

# Every DOM change stamps the time: "idle" is QUIET seconds without one.
WATCH = """
window.__lastChange = performance.now();
new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
VIEWER = "(window.__raceViewers || []).filter(v => v.box && v.root.offsetParent !== null).at(-1)"
DRAWN = {
    "optviz": f"(() => {{ const v = {VIEWER}; return v && v.picture && v.picture.complete ? v.drawnAt : null; }})()",
    "trivial": """(() => { const el = document.querySelector('.js-plotly-plot');
                   if (!el || !el._fullData) return null;
                   return window.__chartAt = window.__chartAt || performance.now(); })()""",
}


def serve(app: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    return start_server(port, app=app), f"http://127.0.0.1:{port}"


def settle(page, kind: str, since: float, changed=None, timeout: float = 60) -> float:
    """Seconds from `since` (page time, ms) until the page is drawn (and `changed` holds) and then idle."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        drawn = page.evaluate(DRAWN[kind])
        now, last = page.evaluate("[performance.now(), window.__lastChange]")
        if drawn is not None and (changed is None or changed()) and now - max(last, drawn) >= QUIET * 1000:
            return (max(last, drawn) - since) / 1000
        time.sleep(0.05)
    raise RuntimeError(f"{kind}: the page did not settle")


def first_load(browser, url: str, kind: str) -> float:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.add_init_script(WATCH)
    page.goto(url)
    seconds = settle(page, kind, 0.0)  # performance.now() counts from the navigation
    context.close()
    return seconds


def lr_changes(browser, url: str, kind: str) -> list[float]:
    """Seconds per learning-rate change, each to a value not seen before (ArrowLeft on the slider)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.add_init_script(WATCH)
    page.goto(url)
    settle(page, kind, 0.0)
    if kind == "optviz":
        page.locator('[data-testid="stSidebar"] [data-testid="stExpander"] summary', has_text="Adam").first.click()
        thumb = page.locator('[data-testid="stSidebar"] input[type="range"][aria-label$="(lr)"]').first
        state = f"(() => {{ const v = {VIEWER}; return v && v.p; }})()"
    else:
        thumb = page.locator('input[type="range"]').first
        # Streamlit replaces the chart's element while it redraws: no element, no value yet
        state = "(document.querySelector('.js-plotly-plot')?._fullData?.[0]?.y?.[5] ?? null)"
    thumb.focus()
    settle(page, kind, 0.0)
    redrawn = f"{state} !== null && {state} !== window.__before"
    times = []
    for _ in range(CHANGES):
        page.evaluate(f"window.__before = {state}; window.__chartAt = null")
        start = page.evaluate("performance.now()")
        thumb.press("ArrowLeft")
        times.append(settle(page, kind, start, changed=lambda: page.evaluate(redrawn)))
    context.close()
    return times


def playback(browser, url: str) -> tuple[float, float, float]:
    """(frames per second, seconds 1× took, nominal seconds) for the default race played from step 0."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.add_init_script(WATCH)
    page.goto(url)
    settle(page, "optviz", 0.0)
    page.evaluate(f"""() => {{ const v = {VIEWER}; v.seek(0); v.setSpeed(1); v.frames = 0; v.endedAt = null;
                               window.__playedAt = performance.now(); v.play(); }}""")
    nominal = page.evaluate(f"{VIEWER}.p.play_seconds")
    time.sleep(nominal * 0.9)
    while page.evaluate(f"{VIEWER}.endedAt") is None:
        time.sleep(0.05)
    frames, ended, started = page.evaluate(f"[{VIEWER}.frames, {VIEWER}.endedAt, window.__playedAt]")
    context.close()
    seconds = (ended - started) / 1000
    return frames / seconds, seconds, nominal


def measure(browser, app: str, kind: str) -> dict:
    proc, url = serve(app)
    try:
        first_load(browser, url, kind)  # warm the server (imports, compiled kernels): not counted
        loads = [first_load(browser, url, kind) for _ in range(LOADS)]
        changes = lr_changes(browser, url, kind)
        result = dict(load=statistics.median(loads), change=statistics.median(changes), change_max=max(changes))
        if kind == "optviz":
            result["fps"], result["played"], result["nominal"] = playback(browser, url)
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    only = sys.argv[1] if len(sys.argv) > 1 else None  # "optviz": skip the yardstick (while tuning only)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        optviz = measure(browser, "app.py", "optviz")
        if only == "optviz":
            print(optviz)
            return
        trivial = measure(browser, "benchmarks/trivial_app.py", "trivial")
        browser.close()
    print(f"Browser timings at {VIEWPORT['width']}×{VIEWPORT['height']}, headless chromium, this machine (shared):")
    print(f"  {'':44}{'optviz':>10}{'trivial':>10}{'ratio':>8}{'target':>9}")
    rows = [("first load until drawn and idle (median of 3)", "load", "≤ 2×"),
            ("α change until redrawn and idle (median of 5)", "change", "≤ 1.5×"),
            ("α change, slowest of 5", "change_max", "")]
    for title, key, target in rows:
        print(f"  {title:<44}{optviz[key]:>9.2f}s{trivial[key]:>9.2f}s{optviz[key] / trivial[key]:>7.2f}×{target:>9}")
    print(f"  playback at 1×: {optviz['fps']:.0f} fps (target ≥ 30); the {optviz['nominal']:g} s race took "
          f"{optviz['played']:.2f} s ({100 * (optviz['played'] / optviz['nominal'] - 1):+.1f} %, target ± 10 %)")


if __name__ == "__main__":
    main()
