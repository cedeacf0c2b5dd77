"""Under the finger (issue 27): how the race viewer follows a drag, in headless chromium at 1280×720.

Adam races five others for 1,000 steps on Rosenbrock, in the exported page (the app's own viewer and engine, with
no server to wait for: a drag sends nothing until it ends). Two gestures, each for FRAMES animation frames:

- α dragged: on every frame an input event moves Adam's α slider one position, at a random moment of the frame
  (as a hand's events arrive);
- the start point dragged: on every frame a pointermove moves it across the map.

Printed for each: the share of animation frames whose drawing changed (target ≥ 90 %), the frames per second, and
the median (and 90th percentile) time from an input event to the paint that shows it (target ≤ 16.7 ms, one frame):
from the event to the start of the next frame after the viewer's drawing, when the browser presents it. That time
is bimodal (an event just before a frame is presented by it, in a millisecond or two; the others wait a frame), so
its median jumps between the modes from run to run: the median time from the event to the end of the viewer's
drawing (the race raced again, its rows, arrows and canvases redrawn: the work a frame costs) is printed too. Also the
payload's size for 6 × 1,000 steps (target ≤ 1.5 MB) and what the viewer's JavaScript grew by since the drag came
(target ≤ 150 kB). No assertions: the machine is shared, read the figures.

    python benchmarks/bench_drag.py [--frames 240]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
import optviz  # noqa: E402
from optviz.figures.export import race_html  # noqa: E402
from optviz.figures.race_payload import race_payload  # noqa: E402
from optviz.figures.viewer_source import viewer_module  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 720}
RACERS = ["adam", "sgd", "momentum", "rmsprop", "adagrad", "nadam"]
STEPS = 1000
BEFORE_DRAG = "6963cbf"  # the commit before the viewer raced in the browser (the engine alone had been generated)

# One gesture: each animation frame schedules its input event at a random moment of the frame; a frame "changed" if
# the viewer drew a race of its own since the previous frame; input-to-paint runs from the event to the next frame.
GESTURE = """async ([kind, frames]) => {
  const v = window.__raceViewers[0];
  const canvas = v.dynamicCanvas.getBoundingClientRect(), m = v.box.map;
  const slider = v.sliders.find((s) => s.s.label.startsWith("α")).input;
  let position = Number(slider.value) - frames / 2;
  const move = (i) => {
    if (kind === "alpha") {
      slider.value = String(position + i);
      slider.dispatchEvent(new Event("input", { bubbles: true }));
    } else {
      const f = 0.2 + 0.6 * (i / frames);
      const at = { clientX: canvas.left + m.x + m.w * f, clientY: canvas.top + m.y + m.h * (0.3 + 0.3 * f),
                   pointerId: 1, bubbles: true };
      v.dynamicCanvas.dispatchEvent(new PointerEvent(i === 0 ? "pointerdown" : "pointermove", at));
    }
  };
  return await new Promise((done) => {
    const changed = [], paint = [], pending = [];
    let i = 0, seen = v.liveFrames, t0 = null;
    const frame = () => {
      const now = performance.now();  // (not the frame's timestamp, which may precede an event of its own frame)
      t0 ??= now;
      for (const at of pending.splice(0)) paint.push(now - at.event);
      changed.push(v.liveFrames !== seen);
      seen = v.liveFrames;
      if (i >= frames) {
        const up = new PointerEvent("pointerup", { pointerId: 1, bubbles: true });
        if (kind === "start") v.dynamicCanvas.dispatchEvent(up);
        done({ changed: changed.slice(1), paint, seconds: (now - t0) / 1000 });
        return;
      }
      const k = i++;
      setTimeout(() => {
        const at = { event: performance.now() };
        move(k);  // drawn at once, or by the next frame if this one drew already: the next frame presents it
        pending.push(at);
      }, Math.random() * 12);
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}"""


def measure(page, kind: str, frames: int) -> dict:
    result = page.evaluate(GESTURE, [kind, frames])
    changed, paint = result["changed"], sorted(result["paint"])
    drawn = page.evaluate("(n) => window.__raceViewers[0].inputToPaint.slice(-n)", frames)
    return dict(changed=sum(changed) / len(changed), fps=len(changed) / result["seconds"],
                median=statistics.median(paint), p90=paint[int(0.9 * (len(paint) - 1))], events=len(paint),
                drawn=statistics.median(drawn))


def js_growth() -> tuple[int, int]:
    """(bytes of the viewer's module now, bytes before the drag: viewer.js and streamlit.js at BEFORE_DRAG)."""
    old = sum(len(subprocess.run(["git", "show", f"{BEFORE_DRAG}:optviz/ui/race_viewer/{name}"], cwd=ROOT,
                                 capture_output=True, check=True).stdout) for name in ("viewer.js", "streamlit.js"))
    return len(viewer_module("streamlit.js").encode()), old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=240, help="animation frames per gesture")
    args = parser.parse_args()
    races = optviz.race("rosenbrock", RACERS, steps=STEPS)
    payload = len(json.dumps(race_payload(races)).encode())
    now, before = js_growth()
    print(f"payload for {len(RACERS)} × {STEPS:,} steps: {payload / 1e6:.2f} MB (target ≤ 1.5 MB)")
    print(f"viewer JavaScript: {now / 1e3:.1f} kB, {before / 1e3:.1f} kB before the drag: grew by "
          f"{(now - before) / 1e3:.1f} kB (target ≤ 150 kB)")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        path = Path(folder) / "race.html"
        path.write_text(race_html(races), encoding="utf-8")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(path.as_uri())
        page.wait_for_function("window.__raceViewers && window.__raceViewers[0].sliders")
        page.locator(".rv-focus").select_option(label="adam")
        measure(page, "alpha", 60)  # warm-up: the engine's functions compiled
        measure(page, "start", 60)
        for kind, title in (("alpha", "α dragged"), ("start", "start point dragged")):
            r = measure(page, kind, args.frames)
            print(f"{title:>20}: drawing changed on {r['changed']:.0%} of frames (target ≥ 90 %), {r['fps']:.0f} fps; "
                  f"input to paint median {r['median']:.1f} ms, 90th percentile {r['p90']:.1f} ms "
                  f"(target median ≤ 16.7 ms; {r['events']} events); input to the end of the viewer's drawing "
                  f"median {r['drawn']:.1f} ms")
        browser.close()
    print(f"load average of the machine during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
