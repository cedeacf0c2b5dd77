"""Load test: a class of students on one optviz server, simulated at Streamlit's protocol level.

    python benchmarks/load_test.py                     # N = 1, 10, 30, every scenario, plus 3 real browser pages
    python benchmarks/load_test.py --students 5 --ci   # the CI variant: asserts behaviour only, no timings

Each simulated student opens the app's websocket (/_stcore/stream), sends the BackMsg that asks for a script run
with a query string (the default page, or the student's own settings through the URL state), and reads
ForwardMsgs until the run finishes, counting charts and exceptions. Everything runs on 127.0.0.1, is bounded in
count and time, and stops by itself. Real browsers would mostly measure the browsers on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 60.0  # seconds one page load may take before it counts as failed
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    seconds: float
    charts: int
    exceptions: int
    finished: bool


OFFSET = 0.0

def own_settings(i: int) -> str:
    """A student's own race: a learning rate nobody else uses, so nothing comes from the cache."""
    return f"surface=rosenbrock&opt=adam%3Blr%3D{0.01 + 0.0007 * i + OFFSET:.4f}&opt=sgd%3Blr%3D0.001&steps=500"


SCENARIOS = {
    "default page": lambda i: "",
    "own settings": own_settings,
    "sweeps tab": lambda i: "tab=Sweeps+%26+basins",
    "own sweeps": lambda i: own_settings(i) + "&tab=Sweeps+%26+basins",
}


async def student(port: int, query: str) -> Load:
    """One page load through the websocket, as a browser does it."""
    start = time.perf_counter()
    charts = exceptions = 0
    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, open_timeout=RUN_TIMEOUT) as ws:
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
                charts += element == "plotly_chart"
                exceptions += element == "exception"
            elif kind == "script_finished":
                return Load(time.perf_counter() - start, charts, exceptions, True)
    return Load(time.perf_counter() - start, charts, exceptions, False)


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


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
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
    """A few real pages beside the simulated students: does the race chart render?"""
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    drawn = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        for _ in range(pages):
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            try:
                page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                                       ".some(e => e._fullData && e._fullData.length > 5)", timeout=45_000)
                drawn.append(True)
            except Exception:
                drawn.append(False)
            page.close()
        browser.close()
    return drawn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--browsers", type=int, default=3, help="real Chromium pages as a sanity check (0: none)")
    parser.add_argument("--ci", action="store_true", help="assert behaviour (all served, no exception); no timings")
    args = parser.parse_args()
    if max(args.students) > 60:
        parser.error("at most 60 simulated students: this is a classroom, not a stress test")

    port = free_port()
    server = start_server(port)
    failures = []
    try:
        asyncio.run(classroom(port, 1, "default page"))  # warm up: imports and the first cache fill
        print(f"optviz on 127.0.0.1:{port}, pid {server.pid}; simultaneous page loads per scenario")
        print(f"{'scenario':<14} {'N':>3}  {'median':>7} {'p95':>7} {'max':>7}  {'CPU-s/load':>10}  {'RSS MB':>7}  "
              f"{'served':>7}  charts")
        for scenario in args.scenarios:
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
