"""Load test: a class of students on one optviz server, simulated at Streamlit's protocol level.

    python benchmarks/load_test.py                     # N = 1, 10, 30, every scenario, plus 3 real browser pages
    python benchmarks/load_test.py --students 5 --ci --max-trainings 2   # the CI variant: behaviour, no timings

Each simulated student opens the app's websocket (/_stcore/stream), sends the BackMsg that asks for a script run
with a query string (the default page, or the student's own settings through the URL state), and reads
ForwardMsgs until the run finishes, counting charts and exceptions. In the "mnist training" scenario a few
students press Train in the MNIST tab (more than the server's K slots) and keep their live charts polling as a
browser does, one cancels from the queue, the others load race pages meanwhile; then the trainers close their
tabs and a newcomer checks that every slot is free again. Everything runs on 127.0.0.1, is bounded in count and
time, and stops by itself. Real browsers would mostly measure the browsers on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from optviz.ui import jobs  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 60.0  # seconds one page load may take before it counts as failed
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    seconds: float
    charts: int
    exceptions: int
    finished: bool


def own_settings(i: int) -> str:
    """A student's own race: a learning rate nobody else uses, so nothing comes from the cache."""
    return f"surface=rosenbrock&opt=adam%3Blr%3D{0.01 + 0.0007 * i:.4f}&opt=sgd%3Blr%3D0.001&steps=500"


SCENARIOS = {
    "default page": lambda i: "",
    "own settings": own_settings,
    "sweeps tab": lambda i: "tab=Sweeps+%26+basins",
    "own sweeps": lambda i: own_settings(i) + "&tab=Sweeps+%26+basins",
}


def connect(port: int):
    """A browser tab's websocket to the app."""
    return websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                              open_timeout=RUN_TIMEOUT)


async def student(port: int, query: str) -> Load:
    """One page load through the websocket, as a browser does it."""
    start = time.perf_counter()
    charts = exceptions = 0
    async with connect(port) as ws:
        request = BackMsg()
        request.rerun_script.query_string = query
        await ws.send(request.SerializeToString())
        deadline = start + RUN_TIMEOUT
        while time.perf_counter() < deadline:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(ws.recv(), deadline - time.perf_counter()))
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element.WhichOneof("type")
                charts += element in ("plotly_chart", "bidi_component")  # a Plotly chart or the race viewer
                exceptions += element == "exception"
            elif kind == "script_finished":
                return Load(time.perf_counter() - start, charts, exceptions, True)
    return Load(time.perf_counter() - start, charts, exceptions, False)


# ---------------------------------------------------------------------------------------------------------------
# MNIST training: a few students train while the others keep loading pages

MNIST_QUERY = "tab=MNIST"
TRAIN_SECONDS = 12.0  # how long the training students watch their trainings before closing their tabs
RUNNING_TEXT = re.compile(r"(\d+) of \d+ trainings are running")
SLOTS_TEXT = re.compile(r"at most (\d+) trainings at once.*now (\d+) running, (\d+) waiting")


class Page:
    """One browser tab at the protocol level: script runs with widget values, and the fragment reruns that
    st.fragment(run_every=…) asks the browser for."""

    def __init__(self, ws, query: str):
        self.ws, self.query = ws, query
        self.fragment: str | None = None  # the auto-rerunning fragment the server announced, if any
        self.interval = 0.5

    async def run(self, widgets: list[WidgetState] = (), fragment: str | None = None) -> list:
        """Ask for a run and return its new elements, (type, proto) pairs, up to the end of the run (reruns the
        script asks for itself, e.g. st.rerun when a training ends, are read through)."""
        request = BackMsg()
        request.rerun_script.query_string = self.query
        request.rerun_script.widget_states.widgets.extend(widgets)
        if fragment:
            request.rerun_script.fragment_id, request.rerun_script.is_auto_rerun = fragment, True
        await self.ws.send(request.SerializeToString())
        elements, deadline, finished = [], time.perf_counter() + RUN_TIMEOUT, False
        while True:
            message = ForwardMsg()
            try:
                # once a run has finished, a moment's silence ends the call; a fragment that calls
                # st.rerun(scope="app") finishes first and its full rerun follows at once
                wait = 0.3 if finished else deadline - time.perf_counter()
                message.ParseFromString(await asyncio.wait_for(self.ws.recv(), wait))
            except TimeoutError:
                if finished:
                    return elements
                raise
            kind = message.WhichOneof("type")
            if kind == "auto_rerun":
                self.fragment, self.interval = message.auto_rerun.fragment_id, message.auto_rerun.interval
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                elements.append((element.WhichOneof("type"), getattr(element, element.WhichOneof("type"))))
            elif kind == "script_finished":
                finished = message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN


def widget_id(elements: list, kind: str, label: str) -> str:
    return next(proto.id for k, proto in elements if k == kind and proto.label == label)


def training_state(elements: list) -> tuple[str, int | None]:
    """What a training student's page shows: ("waiting", places ahead), ("running", None), ("cancelled", None),
    ("done", None) or ("none", None)."""
    # A call's elements may come from a fragment run and the full rerun it asked for when the training ended:
    # what the full run shows (results, a cancellation) wins over the fragment's last progress bar.
    texts = [proto.body for kind, proto in elements if kind in ("alert", "markdown")]
    if any("cancelled before it started" in text for text in texts):
        return "cancelled", None
    if any(kind == "dataframe" or (kind == "selectbox" and proto.label == "Look inside") for kind, proto in elements):
        return "done", None
    for text in texts:
        if text.startswith("Waiting for a free slot"):
            ahead = re.search(r"(\d+) ahead of you", text)
            return "waiting", int(ahead.group(1)) if ahead else 0
    if any(kind == "progress" for kind, _ in elements):
        return "running", None
    return "none", None


def server_slots(elements: list) -> tuple[int, int, int] | None:
    """(limit, running, waiting) from the MNIST tab's caption."""
    for kind, proto in elements:
        match = SLOTS_TEXT.search(proto.body) if kind == "markdown" else None
        if match:
            return tuple(int(g) for g in match.groups())
    return None


@dataclass
class Trainer:
    """What one training student saw: (seconds since the start, state, places ahead) at every page update."""

    timeline: list[tuple[float, str, int | None]]
    cancelled: bool = False
    server_running: list[int] = field(default_factory=list)  # "R of K trainings are running", while waiting


async def trainer(port: int, t0: float, cancel: list[bool]) -> Trainer:
    """Open the MNIST tab, press Train (20 epochs of a 1024-unit network: long enough to hold a slot), watch the
    live fragment as a browser does for TRAIN_SECONDS, then close the tab. The first student who sees others
    ahead of them in the queue presses Cancel (`cancel`, shared, says whether that has happened)."""
    seen = Trainer([])
    async with connect(port) as ws:
        page = Page(ws, MNIST_QUERY)
        elements = await page.run()
        settings = [WidgetState(id=widget_id(elements, "number_input", "Epochs"), int_value=20),
                    WidgetState(id=widget_id(elements, "text_input", "Hidden layers"), string_value="1024")]
        train = WidgetState(id=widget_id(elements, "button", "Train"), trigger_value=True)
        elements = await page.run([*settings, train])
        while True:
            state, ahead = training_state(elements)
            seen.timeline.append((time.perf_counter() - t0, state, ahead))
            seen.server_running += [int(m.group(1)) for kind, proto in elements if kind == "alert"
                                    for m in [RUNNING_TEXT.search(proto.body)] if m]
            if time.perf_counter() - t0 > TRAIN_SECONDS or state not in ("waiting", "running") or not page.fragment:
                return seen
            await asyncio.sleep(page.interval)
            clicks = []
            if not cancel[0] and state == "waiting" and ahead:   # not next in line: no slot can come meanwhile
                clicks = [WidgetState(id=widget_id(elements, "button", "Cancel"), trigger_value=True)]
                cancel[0] = seen.cancelled = True
            try:
                elements = await page.run([*settings, *clicks], fragment=page.fragment)
            except TimeoutError:
                seen.timeline.append((time.perf_counter() - t0, "no answer", None))
                return seen


def most_at_once(trainers: list[Trainer]) -> int:
    """The most trainings seen running at the same moment: overlaps of the spans from each student's first to
    last "running" update (spans inside the true running times, so a breach of the limit shows)."""
    spans = []
    for seen in trainers:
        times = [t for t, state, _ in seen.timeline if state == "running"]
        if times:
            spans.append((min(times), max(times)))
    return max((sum(a <= t <= b for a, b in spans) for t, _ in spans), default=0)


async def training_classroom(port: int, n: int) -> dict:
    """A few students start trainings (more than the server's slots, one cancels from the queue) while the
    others load their pages; then the trainers close their tabs and a newcomer checks the slots are free."""
    limit = server_slots(await _mnist_page(port))[0]
    n_trainers = 1 if n == 1 else min(n - 1, limit + 2)
    t0 = time.perf_counter()
    cancel = [False]
    training = asyncio.gather(*(trainer(port, t0, cancel) for _ in range(n_trainers)))
    await asyncio.sleep(3.0)   # the trainings are under way when the others arrive
    others = [student(port, SCENARIOS["default page" if i % 2 else "own settings"](1000 + i))
              for i in range(n - n_trainers)]
    loads, trainers = await asyncio.gather(asyncio.gather(*others), training)
    await asyncio.sleep(jobs.DISCONNECT_GRACE_SECONDS + 2.0)   # tabs closed: the slots must free themselves
    after = server_slots(await _mnist_page(port))
    return {"limit": limit, "trainers": trainers, "loads": list(loads), "after": after}


async def _mnist_page(port: int) -> list:
    async with connect(port) as ws:
        return await Page(ws, MNIST_QUERY).run()


async def classroom(port: int, n: int, scenario: str) -> list[Load]:
    """n students load their page at the same moment."""
    queries = [SCENARIOS[scenario](i) for i in range(n)]
    results = await asyncio.gather(*(student(port, q) for q in queries), return_exceptions=True)
    return [r if isinstance(r, Load) else Load(RUN_TIMEOUT, 0, 1, False) for r in results]


def server_cpu_and_rss(pid: int) -> tuple[float, float]:
    """CPU seconds used so far and resident memory in MB, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS"))
    return cpu, rss_kb / 1024


def start_server(port: int, max_trainings: int | None = None, app: str = "app.py") -> subprocess.Popen:
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if max_trainings:
        env["OPTVIZ_MAX_TRAININGS"] = str(max_trainings)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def browsers(port: int, pages: int) -> list[bool]:
    """A few real pages beside the simulated students: does the race viewer draw the race?"""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    drawn = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for _ in range(pages):
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            try:
                page.wait_for_function("() => (window.__raceViewers || []).some(v => v.drawnAt && v.runs.length)",
                                       timeout=45_000)
                drawn.append(True)
            except Exception:
                drawn.append(False)
            page.close()
        browser.close()
    return drawn


TRAINING = "mnist training"


def report_training(pid: int, port: int, n: int) -> list[str]:
    """Run the training scenario with n students, print its line and notes, return what failed."""
    cpu_before, _ = server_cpu_and_rss(pid)
    result = asyncio.run(training_classroom(port, n))
    _, rss = server_cpu_and_rss(pid)
    limit, trainers, loads, after = result["limit"], result["trainers"], result["loads"], result["after"]
    failures = []
    if loads:
        latencies = [load.seconds for load in loads]
        served = sum(load.finished and load.exceptions == 0 and load.charts > 0 for load in loads)
        print(f"{'+ training':<14} {n:>3}  {statistics.median(latencies):6.2f}s {percentile(latencies, 0.95):6.2f}s "
              f"{max(latencies):6.2f}s  {'—':>10}  {rss:7.0f}  {served:>3}/{len(loads):<3}  (the others' page loads)")
        if served < len(loads):
            failures.append(f"{TRAINING}, N={n}: {len(loads) - served} students not served while trainings ran")
    states = [[state for _, state, _ in seen.timeline] for seen in trainers]
    at_once, said = most_at_once(trainers), max((r for seen in trainers for r in seen.server_running), default=0)
    queued = sum("waiting" in s for s in states)
    positions = sorted({ahead for seen in trainers for _, state, ahead in seen.timeline if state == "waiting"})
    cancelled = [seen for seen in trainers if seen.cancelled]
    print(f"{'':<14} {'':>3}  {len(trainers)} trainings started, limit {limit}: at most {at_once} seen running at "
          f"once (the server said ≤ {said} while students waited), {queued} queued (places ahead seen: "
          f"{positions}), {len(cancelled)} cancelled from the queue; after the tabs closed: "
          f"{after[1]} running, {after[2]} waiting; CPU {server_cpu_and_rss(pid)[0] - cpu_before:.1f} s")
    if at_once > limit or said > limit:
        failures.append(f"{TRAINING}, N={n}: more than {limit} trainings ran at once")
    if not all("running" in s or "waiting" in s for s in states):
        failures.append(f"{TRAINING}, N={n}: a training neither ran nor queued: {states}")
    if len(trainers) > limit and not queued:
        failures.append(f"{TRAINING}, N={n}: {len(trainers)} trainings for {limit} slots, but none queued")
    if any(seen.timeline[-1][1] == "no answer" for seen in trainers):
        failures.append(f"{TRAINING}, N={n}: a training page got no answer for {RUN_TIMEOUT:.0f} s")
    if len(trainers) > limit + 1 and not cancelled:
        failures.append(f"{TRAINING}, N={n}: nobody could cancel from the queue")
    if any(seen.timeline[-1][1] != "cancelled" for seen in cancelled):
        failures.append(f"{TRAINING}, N={n}: a training cancelled from the queue did not say so")
    if after[1:] != (0, 0):
        failures.append(f"{TRAINING}, N={n}: slots still taken after every training tab closed: {after}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--scenarios", nargs="+", default=[*SCENARIOS, TRAINING], choices=[*SCENARIOS, TRAINING])
    parser.add_argument("--browsers", type=int, default=3, help="real Chromium pages as a sanity check (0: none)")
    parser.add_argument("--max-trainings", type=int, help="the server's K (default: its own, the core count)")
    parser.add_argument("--ci", action="store_true", help="assert behaviour (all served, no exception); no timings")
    args = parser.parse_args()
    if max(args.students) > 60:
        parser.error("at most 60 simulated students: this is a classroom, not a stress test")

    port = free_port()
    server = start_server(port, args.max_trainings)
    failures = []
    try:
        asyncio.run(classroom(port, 1, "default page"))  # warm up: imports and the first cache fill
        print(f"optviz on 127.0.0.1:{port}, pid {server.pid}; simultaneous page loads per scenario")
        print(f"{'scenario':<14} {'N':>3}  {'median':>7} {'p95':>7} {'max':>7}  {'CPU-s/load':>10}  {'RSS MB':>7}  "
              f"{'served':>7}  charts")
        for scenario in args.scenarios:
            if scenario == TRAINING:
                for n in args.students:
                    failures += report_training(server.pid, port, n)
                continue
            for n in args.students:
                cpu_before, _ = server_cpu_and_rss(server.pid)
                loads = asyncio.run(classroom(port, n, scenario))
                cpu_after, rss = server_cpu_and_rss(server.pid)
                latencies = [load.seconds for load in loads]
                served = sum(load.finished and load.exceptions == 0 and load.charts > 0 for load in loads)
                median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
                print(f"{scenario:<14} {n:>3}  {median:6.2f}s {p95:6.2f}s "
                      f"{max(latencies):6.2f}s  {(cpu_after - cpu_before) / n:10.3f}  {rss:7.0f}  {served:>3}/{n:<3}  "
                      f"{min(load.charts for load in loads)}–{max(load.charts for load in loads)}")
                if served < n:
                    failures.append(f"{scenario}, N={n}: {n - served} students not served with a chart")
        if args.browsers:
            drawn = browsers(port, args.browsers)
            print(f"real browser pages with the race drawn: {sum(drawn)}/{len(drawn)}")
            if not all(drawn):
                failures.append("a real browser page did not draw the race")
    finally:
        server.terminate()
        server.wait(timeout=20)
    for failure in failures:
        print("FAILED:", failure)
    if args.ci:
        print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
