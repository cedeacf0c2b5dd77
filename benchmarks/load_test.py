"""Load test: a class of students on one optviz server, simulated at Streamlit's protocol level.

    python benchmarks/load_test.py                     # N = 1, 10, 30, every scenario, plus 3 real browser pages
    python benchmarks/load_test.py --students 5 --ci --max-trainings 2   # the CI variant: behaviour, no timings
    python benchmarks/load_test.py --replicas 2 --students 30 60 --scenarios "own settings" "own sweeps"
                                   # one process vs `python -m optviz serve --replicas 2` (HAProxy), same run,
                                   # 3 rounds per row taking turns (--rounds)
    python benchmarks/load_test.py --replicas 2 --students 4 --ci        # the balancer's CI variant: behaviour

Each simulated student opens the app's websocket (/_stcore/stream), sends the BackMsg that asks for a script run
with a query string (the default page, or the student's own settings through the URL state), and reads
ForwardMsgs until the run finishes, counting charts and exceptions. In the "mnist training" scenario a few
students press Train in the MNIST tab (more than the server's K slots) and keep their live charts polling as a
browser does, one cancels from the queue, the others load race pages meanwhile; then the trainers close their
tabs and a newcomer checks that every slot is free again. Everything runs on 127.0.0.1, is bounded in count and
time, and stops by itself. Real browsers would mostly measure the browsers on a 2-core machine.

With --replicas N the same students also go through the load balancer of `python -m optviz serve` (all from
127.0.0.1, like a class behind one NAT address): each first fetches the page as a browser does, keeps the cookie the
balancer sets, and opens its websocket with it; the cookie names the replica, and the balancer's X-Optviz-Replica
header says which replica really answered each request. The --ci variant then kills a replica and watches new
sessions go to the others, the replica come back, and every process end on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from optviz.serve import COOKIE, free_port  # noqa: E402
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
    replica: str | None = None  # the replica the balancer's cookie names (None: one plain process)
    stayed: bool = True  # the page and the websocket were both answered by that replica


def own_settings(i: int) -> str:
    """A student's own race: a learning rate nobody else uses, so nothing comes from the cache."""
    return f"surface=rosenbrock&opt=adam%3Blr%3D{0.01 + 0.0007 * i:.4f}&opt=sgd%3Blr%3D0.001&steps=500"


SCENARIOS = {
    "default page": lambda i: "",
    "own settings": own_settings,
    "sweeps tab": lambda i: "tab=Sweeps+%26+basins",
    "own sweeps": lambda i: own_settings(i) + "&tab=Sweeps+%26+basins",
}


def connect(port: int, replica: str | None = None):
    """A browser tab's websocket to the app, with the balancer's cookie if it set one."""
    cookie = {"Cookie": f"{COOKIE}={replica}"} if replica else None
    return websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
                              open_timeout=RUN_TIMEOUT, additional_headers=cookie)


COOKIE_TEXT = re.compile(rf"^set-cookie:\s*{COOKIE}=(\w+)", re.IGNORECASE | re.MULTILINE)
SERVED_BY_TEXT = re.compile(r"^x-optviz-replica:\s*(\w+)", re.IGNORECASE | re.MULTILINE)


async def fetch(port: int, path: str = "/", replica: str | None = None) -> tuple[str | None, str | None]:
    """GET a page as a browser does, with the balancer's cookie if it has one: (the replica a new cookie names,
    the replica that answered), both None without a balancer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cookie = f"Cookie: {COOKIE}={replica}\r\n" if replica else ""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Connection: close\r\n\r\n".encode())
    head = (await asyncio.wait_for(reader.read(), RUN_TIMEOUT)).split(b"\r\n\r\n", 1)[0].decode("latin-1")
    writer.close()
    if not head.startswith("HTTP/1.1 200"):
        raise ConnectionError(f"GET {path}: {head.splitlines()[0] if head else 'no answer'}")
    named, served_by = COOKIE_TEXT.search(head), SERVED_BY_TEXT.search(head)
    return named and named.group(1), served_by and served_by.group(1)


async def student(port: int, query: str, replica: str | None = None) -> Load:
    """One page load as a browser does it: the page (which sets the balancer's cookie, if there is a balancer),
    then a script run through the websocket. A returning student brings the cookie of its `replica`."""
    start = time.perf_counter()
    charts = exceptions = 0
    named, page_by = await fetch(port, replica=replica)
    replica = named or replica  # a new cookie: the first visit, or the cookie's replica was dead
    async with connect(port, replica) as ws:
        stayed = page_by == replica == ws.response.headers.get("X-Optviz-Replica")
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
                return Load(time.perf_counter() - start, charts, exceptions, True, replica, stayed)
    return Load(time.perf_counter() - start, charts, exceptions, False, replica, stayed)


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
    if any((kind == "markdown" and proto.body.startswith("| ") and "test accuracy" in proto.body)  # results table
           or (kind == "selectbox" and proto.label == "Look inside") for kind, proto in elements):
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
    closed = time.perf_counter()
    await asyncio.sleep(jobs.DISCONNECT_GRACE_SECONDS)   # tabs closed: the slots must free themselves
    after = server_slots(await _mnist_page(port))
    # a running training notices between two of its progress events: on a loaded 2-core machine an event of a
    # 1,024-unit network can take seconds, so a newcomer looks again until FREED_WITHIN
    while after[1:] != (0, 0) and time.perf_counter() - closed < FREED_WITHIN:
        await asyncio.sleep(1.0)
        after = server_slots(await _mnist_page(port))
    return {"limit": limit, "trainers": trainers, "loads": list(loads), "after": after,
            "freed_after": time.perf_counter() - closed}


async def _mnist_page(port: int) -> list:
    async with connect(port) as ws:
        return await Page(ws, MNIST_QUERY).run()


CLASSES = iter(range(0, 10**6, 100))  # each class's students have their own numbers: no cache hits across classes


async def classroom(port: int, n: int, scenario: str) -> list[Load]:
    """n students load their page at the same moment."""
    first = next(CLASSES)
    queries = [SCENARIOS[scenario](first + i) for i in range(n)]
    results = await asyncio.gather(*(student(port, q) for q in queries), return_exceptions=True)
    return [r if isinstance(r, Load) else Load(RUN_TIMEOUT, 0, 1, False) for r in results]


def server_cpu_and_rss(pid: int) -> tuple[float, float]:
    """CPU seconds used so far and resident memory in MB of a server and every process under it, from /proc."""
    cpu = rss_kb = 0.0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            rss_kb += next(int(line.split()[1]) for line in Path(f"/proc/{each}/status").read_text().splitlines()
                           if line.startswith("VmRSS"))
        except (OSError, StopIteration):  # ended meanwhile
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICK
    return cpu, rss_kb / 1024


def process_tree(pid: int) -> list[int]:
    """pid and every live process descended from it."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, ppid = entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state != "Z":
            parents.setdefault(int(ppid), []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo += parents.get(tree[-1], [])
    return tree


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that will never reap it counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


REPLICA_TEXT = re.compile(r"replica (\w+) started: pid (\d+) on 127\.0\.0\.1:(\d+)")
READY_TEXT = "Ctrl-C stops them all"


class Served:
    """`python -m optviz serve` on 127.0.0.1: its replicas and balancer, and what it says on its terminal."""

    def __init__(self, port: int, replicas: int, max_trainings: int | None = None, start_seconds: float = 180.0,
                 more: tuple[str, ...] = ()):
        """`more`: further arguments of serve (--no-balancer, --backends …)."""
        env = {**os.environ, **({"OPTVIZ_MAX_TRAININGS": str(max_trainings)} if max_trainings else {})}
        self.port = port
        self.process = subprocess.Popen([sys.executable, "-m", "optviz", "serve", "--replicas", str(replicas),
                                         "--port", str(port), "--address", "127.0.0.1", *more], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.time() + start_seconds
        while not any(READY_TEXT in line for line in self.lines):
            if self.process.poll() is not None or time.time() > deadline:
                self.process.kill()
                raise RuntimeError("optviz serve did not start:\n" + "".join(self.lines))
            time.sleep(0.2)

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def replicas(self) -> dict[str, tuple[int, int]]:
        """Each replica's latest (pid, port), as serve announced them."""
        return {m.group(1): (int(m.group(2)), int(m.group(3))) for line in list(self.lines)
                for m in [REPLICA_TEXT.search(line)] if m}

    def stop(self, sig: int = signal.SIGTERM, seconds: float = 20.0) -> tuple[int | None, list[int]]:
        """Signal serve; returns its exit code and the processes of its tree still running `seconds` later."""
        tree = process_tree(self.pid)
        self.process.send_signal(sig)
        try:
            code = self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            code = None
        deadline = time.time() + seconds
        while any(alive(pid) for pid in tree) and time.time() < deadline:
            time.sleep(0.2)
        leftovers = [pid for pid in tree if alive(pid)]
        for pid in leftovers:  # never leave them running, even when the test fails
            os.kill(pid, signal.SIGKILL)
        return code, leftovers


def start_server(port: int, max_trainings: int | None = None, app: str = "app.py") -> subprocess.Popen:
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if max_trainings:
        env["OPTVIZ_MAX_TRAININGS"] = str(max_trainings)
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            # a session of its own, like serve's replicas: with the kernel's autogroup scheduling a
                            # session shares the CPU as one, and the students simulated here must not share its share
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the server did not start")


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
FREED_WITHIN = 30.0  # seconds after the training tabs closed by which every slot must be free


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
          f"{after[1]} running, {after[2]} waiting ({result['freed_after']:.1f} s after they closed); "
          f"CPU {server_cpu_and_rss(pid)[0] - cpu_before:.1f} s")
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
        failures.append(f"{TRAINING}, N={n}: slots still taken {FREED_WITHIN:.0f} s after every training tab "
                        f"closed: {after}")
    return failures


# ---------------------------------------------------------------------------------------------------------------
# Several replicas behind the balancer of `python -m optviz serve`


def served_with_chart(loads: list[Load]) -> int:
    return sum(load.finished and load.exceptions == 0 and load.charts > 0 for load in loads)


def shares(loads: list[Load]) -> dict[str, float]:
    """The fraction of sessions each replica served."""
    counts = collections.Counter(load.replica for load in loads)
    return {name: counts[name] / len(loads) for name in sorted(counts, key=str)}


def spread_text(loads: list[Load]) -> str:
    return " · ".join(f"{name} {share:.0%}" for name, share in shares(loads).items())


async def later_requests(port: int, loads: list[Load]) -> int:
    """How many students' later requests (the page again, a static check, the health check) all reached the
    replica their cookie names."""
    paths = ("/", "/_stcore/host-config", "/_stcore/health")
    answers = await asyncio.gather(*(fetch(port, path, load.replica) for load in loads for path in paths))
    by_student = [answers[k * len(paths):(k + 1) * len(paths)] for k in range(len(loads))]
    return sum(all(by == load.replica for _, by in got) for load, got in zip(loads, by_student))


def warm_up(served: Served) -> None:
    """Each replica's first script run (imports, the default page's cache), straight to its internal port."""
    async def each() -> None:
        await asyncio.gather(*(student(port, "") for _, port in served.replicas().values()))

    asyncio.run(each())


def compare(args) -> list[str]:
    """The same classes on one plain Streamlit process and through the balancer with args.replicas replicas. Both
    servers are up for the whole run; each class goes to one and then the other, in turns that alternate which
    goes first, args.rounds times: the machine's load drifts alike over both, and the ratio is the median over the
    rounds of p95 through the balancer / p95 of one process."""
    one_port, balanced_port, failures = free_port(), free_port(), []
    one, served = start_server(one_port, args.max_trainings), None
    try:
        served = Served(balanced_port, args.replicas, args.max_trainings)
        asyncio.run(classroom(one_port, 1, "default page"))
        warm_up(served)
        print(f"one Streamlit process (pid {one.pid}) vs python -m optviz serve --replicas {args.replicas} "
              f"(pid {served.pid}, HAProxy); all students from 127.0.0.1; simultaneous page loads, {args.rounds} "
              f"rounds per row: medians over the rounds, and the rounds' range of the ratio; cores: CPU-s per wall-s "
              f"of one/serve while its class loaded; per replica: the sessions' spread")
        print(f"{'scenario':<14} {'N':>3}  {'p95 one':>8} {'p95 serve':>9} {'ratio':>6} {'(range)':>11}  "
              f"{'cores':>7}  {'per replica':<16} {'on its replica':>14}  {'RSS MB one/serve':>16}  served one/serve")
        for scenario in args.scenarios:
            for n in args.students:
                rounds = [compare_round((one_port, one.pid), (balanced_port, served.pid), n, scenario, r % 2 == 0)
                          for r in range(args.rounds)]
                one_loads = [load for (one_round, _), _ in rounds for load in one_round]
                loads = [load for _, (serve_round, _) in rounds for load in serve_round]
                p95s = [(percentile([x.seconds for x in a], 0.95), percentile([x.seconds for x in b], 0.95))
                        for (a, _), (b, _) in rounds]
                ratios = sorted(b / a for a, b in p95s)
                cores = f"{statistics.median(c for (_, c), _ in rounds):.1f}/" \
                        f"{statistics.median(c for _, (_, c) in rounds):.1f}"
                rss = f"{server_cpu_and_rss(one.pid)[1]:.0f}/{server_cpu_and_rss(served.pid)[1]:.0f}"
                total = n * args.rounds
                print(f"{scenario:<14} {n:>3}  {statistics.median(a for a, _ in p95s):7.2f}s "
                      f"{statistics.median(b for _, b in p95s):8.2f}s {statistics.median(ratios):5.2f}× "
                      f"{f'{ratios[0]:.2f}–{ratios[-1]:.2f}':>11}  {cores:>7}  {spread_text(loads):<16} "
                      f"{sum(x.stayed for x in loads):>7}/{total:<6}  {rss:>16}  "
                      f"{served_with_chart(one_loads)}/{total} {served_with_chart(loads)}/{total}")
                failures += balanced_failures(f"{scenario}, N={n}", loads, args.replicas)
                if served_with_chart(one_loads) < total:
                    failures.append(f"{scenario}, N={n}: {total - served_with_chart(one_loads)} students of the one "
                                    f"process not served with a chart")
        failures += browser_check(balanced_port, args.browsers)
        down = sum(" is DOWN" in line for line in served.lines)
        print(f"the balancer's health checks called a replica down {down} times")
    finally:
        one.terminate()
        one.wait(timeout=20)
        if served:
            served.stop()
    return failures


def compare_round(one: tuple[int, int], balanced: tuple[int, int], n: int, scenario: str,
                  first_one: bool) -> tuple[tuple[list, float], tuple[list, float]]:
    """One class on the one process and another through the balancer, one after the other; for each, its loads and
    the cores its server used meanwhile (CPU seconds of the whole process tree / wall seconds)."""
    def measured(port: int, pid: int) -> tuple[list, float]:
        cpu, start = server_cpu_and_rss(pid)[0], time.perf_counter()
        loads = asyncio.run(classroom(port, n, scenario))
        return loads, (server_cpu_and_rss(pid)[0] - cpu) / (time.perf_counter() - start)

    if first_one:
        return measured(*one), measured(*balanced)
    serve_round = measured(*balanced)
    return measured(*one), serve_round


def balanced_failures(what: str, loads: list[Load], replicas: int) -> list[str]:
    """Every student served with a chart, on the replica its cookie names, and no replica left idle."""
    failures = []
    if served_with_chart(loads) < len(loads):
        failures.append(f"{what}: {len(loads) - served_with_chart(loads)} students not served with a chart")
    if not all(load.stayed for load in loads):
        failures.append(f"{what}: a page or websocket reached another replica than its cookie names")
    if len(loads) >= replicas and len(shares(loads)) < replicas:
        failures.append(f"{what}: sessions on {sorted(shares(loads))} only, of {replicas} replicas")
    return failures


def browser_check(port: int, pages: int) -> list[str]:
    if not pages:
        return []
    drawn = browsers(port, pages)
    print(f"real browser pages with the race drawn: {sum(drawn)}/{len(drawn)}")
    return [] if all(drawn) else ["a real browser page did not draw the race"]


def balancer_behaviour(args) -> list[str]:
    """The balancer's CI variant: a class spread over the replicas and kept on them, a replica killed (new and
    returning students go to the others) and restarted (back in rotation), and nothing left after SIGTERM."""
    n, port = args.students[0], free_port()
    served = Served(port, args.replicas, args.max_trainings)
    try:
        warm_up(served)
        loads = asyncio.run(classroom(port, n, "own settings"))
        kept = asyncio.run(later_requests(port, loads))
        print(f"balancer: {served_with_chart(loads)}/{n} served; sessions per replica: {spread_text(loads)}; page "
              f"and websocket on the cookie's replica: {sum(x.stayed for x in loads)}/{n}; later requests on it: "
              f"{kept}/{n}")
        failures = balanced_failures(f"through the balancer, N={n}", loads, args.replicas)
        if kept < n:
            failures.append(f"{n - kept} students' later requests reached another replica")
        failures += browser_check(port, args.browsers)
        failures += kill_and_restart(served, loads[0].replica, n)
    finally:
        code, leftovers = served.stop()
    print(f"serve stopped by SIGTERM: exit code {code}, processes left running: {len(leftovers)}")
    if code != 0 or leftovers:
        failures.append(f"after SIGTERM serve exited with {code} and left {leftovers} running")
    return failures


def kill_and_restart(served: Served, victim: str, n: int) -> list[str]:
    """Kill the replica `victim`: newcomers and a student of it reloading are served by the others; serve restarts
    it and the balancer sends new sessions to it again."""
    pid = served.replicas()[victim][0]
    os.killpg(pid, signal.SIGKILL)
    killed = time.time()
    newcomers = asyncio.run(classroom(served.port, n, "own settings"))
    returning = asyncio.run(student(served.port, own_settings(next(CLASSES)), replica=victim))
    print(f"replica {victim} killed: newcomers {served_with_chart(newcomers)}/{n} served, on {spread_text(newcomers)}; "
          f"a student of {victim} reloading served on {returning.replica}")
    failures = []
    if served_with_chart(newcomers) < n or any(load.replica == victim for load in newcomers):
        failures.append(f"with {victim} dead, newcomers went to {spread_text(newcomers)}, "
                        f"{served_with_chart(newcomers)}/{n} served")
    if served_with_chart([returning]) < 1 or returning.replica == victim:
        failures.append(f"a student of the dead {victim} reloading was not served by another replica")
    back = asyncio.run(back_in_rotation(served, victim, pid))
    print(f"replica {victim} restarted by serve and given new sessions again: "
          f"{f'after {back - killed:.0f} s' if back else 'no'}")
    if not back:
        failures.append(f"{victim} did not come back into rotation within {RESTART_SECONDS:.0f} s")
    return failures


RESTART_SECONDS = 120.0


async def back_in_rotation(served: Served, name: str, old_pid: int) -> float | None:
    """When a new session first reached the restarted replica (None: not within RESTART_SECONDS)."""
    deadline = time.time() + RESTART_SECONDS
    while time.time() < deadline:
        if served.replicas()[name][0] != old_pid and name in [(await fetch(served.port))[1] for _ in range(2)]:
            return time.time()
        await asyncio.sleep(0.5)
    return None


def one_process(args) -> list[str]:
    """Every scenario on one Streamlit process, the training scenario included."""
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
                served = served_with_chart(loads)
                median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
                print(f"{scenario:<14} {n:>3}  {median:6.2f}s {p95:6.2f}s "
                      f"{max(latencies):6.2f}s  {(cpu_after - cpu_before) / n:10.3f}  {rss:7.0f}  {served:>3}/{n:<3}  "
                      f"{min(load.charts for load in loads)}–{max(load.charts for load in loads)}")
                if served < n:
                    failures.append(f"{scenario}, N={n}: {n - served} students not served with a chart")
        failures += browser_check(port, args.browsers)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--scenarios", nargs="+", choices=[*SCENARIOS, TRAINING],
                        help="default: all; with --replicas, own settings and own sweeps")
    parser.add_argument("--browsers", type=int, default=3, help="real Chromium pages as a sanity check (0: none)")
    parser.add_argument("--max-trainings", type=int, help="the server's K (default: its own, the core count)")
    parser.add_argument("--ci", action="store_true", help="assert behaviour (all served, no exception); no timings")
    parser.add_argument("--rounds", type=int, default=3, help="with --replicas: classes per row and server, taking "
                        "turns (the ratio is their median)")
    parser.add_argument("--replicas", type=int, default=1, help="with N > 1: one process vs python -m optviz serve "
                        "--replicas N (HAProxy); with --ci, the balancer's behaviour")
    args = parser.parse_args()
    if max(args.students) > 60:
        parser.error("at most 60 simulated students: this is a classroom, not a stress test")
    if args.replicas > 1:
        args.scenarios = args.scenarios or ["own settings", "own sweeps"]
        if TRAINING in args.scenarios:
            parser.error(f"--replicas compares page loads: leave {TRAINING!r} out of --scenarios")
        failures = balancer_behaviour(args) if args.ci else compare(args)
    else:
        args.scenarios = args.scenarios or [*SCENARIOS, TRAINING]
        failures = one_process(args)
    for failure in failures:
        print("FAILED:", failure)
    if args.ci:
        print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
