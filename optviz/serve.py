"""Serve a class: N Streamlit replicas of the app behind HAProxy, each browser kept on its replica by a cookie.

    python -m optviz serve                                # one replica per core, on port 8501
    python -m optviz serve --replicas 2 --port 8501 --theme.base dark   # Streamlit options pass through

One Streamlit server runs every student's script in one Python process, so a class queues behind one interpreter
lock while the other cores idle. Here each replica is a plain `streamlit run app.py` on an internal loopback port,
in its own process group, and the balancer in front is HAProxy, configured from `haproxy.cfg.template`. A replica
that dies is restarted, and so is one that stops answering its health checks (hung): killed, then started again.
The balancer's own checks take a replica out of rotation meanwhile and back in once it answers, and its students
are sent to the others at once. If HAProxy itself dies it is started again; the replicas, and their students'
sessions, live on. Ctrl-C or SIGTERM stops the balancer, then every replica's process group. `--replicas 1` is
plain Streamlit.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from string import Template

TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
APP = Path(__file__).resolve().parents[1] / "app.py"
COOKIE = "optviz_replica"  # the balancer's cookie; its value names the replica (r1, r2, …)
HEALTH = "/_stcore/health"
OWNED = {"server.port": "--port", "server.address": "--address", "server.headless": None}
INSTALL = "sudo apt-get install haproxy"
SBIN = ("/usr/sbin", "/usr/local/sbin")  # where Debian puts haproxy; not on every user's PATH
START_SECONDS = 120.0  # how long replicas may take to answer their health check at start (a busy 2-core machine)
STOP_SECONDS = 10.0  # how long a process group may take to stop on SIGTERM before it is killed
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # after the 1st, 2nd, … crash in a row
STABLE_SECONDS = 60.0  # a replica up this long has its crash count reset
SUPERVISE_EVERY = 0.25  # seconds between serve's looks at its processes
HEALTH_EVERY = 1.0  # seconds between serve's health checks of a replica
HEALTH_TIMEOUT = 3.0  # a check unanswered this long failed
HUNG_SECONDS = 6.0  # a replica that answered no check this long is hung: killed and restarted


class ServeError(RuntimeError):
    """Something the teacher must fix before serving: the message says what and how."""


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def find_haproxy() -> str:
    """The haproxy executable; Debian installs it in /usr/sbin, which a user's PATH often lacks."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN])
    found = shutil.which("haproxy", path=path)
    if not found:
        raise ServeError(f"several replicas need the HAProxy load balancer, which is not installed: {INSTALL}\n"
                         f"(or serve one process: python -m optviz serve --replicas 1)")
    return found


def haproxy_config(address: str, port: int, servers: dict[str, str]) -> str:
    """The balancer's configuration: the template with the public address and a server line per replica, each
    named (r1, b2, …: the cookie's value) and at its host:port."""
    servers = "\n".join(f"    server {name} {where} cookie {name}" for name, where in servers.items())
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        address=address, port=port, cookie=COOKIE, servers=servers)


def write_config(haproxy: str, path: Path, text: str) -> Path:
    """Write the balancer's configuration and have HAProxy check it."""
    path.write_text(text, encoding="utf-8")
    checked = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True)
    if checked.returncode:
        raise ServeError(f"HAProxy refused its configuration {path}:\n{checked.stdout}{checked.stderr}")
    return path


def streamlit_options(tokens: list[str]) -> list[str]:
    """Options serve does not know itself, checked as Streamlit's `--section.option VALUE` and passed to every
    replica; serve sets the port, address and headless mode of the replicas itself."""
    if tokens and not tokens[0].startswith("--"):
        raise ServeError(f"unexpected argument {tokens[0]!r}: serve passes only Streamlit's --section.option VALUE on")
    for token in tokens:
        key = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if key is not None and "." not in key:
            raise ServeError(f"unknown option {token}: Streamlit's options look like --server.maxUploadSize 50")
        if key in OWNED:
            instead = f"; use serve's {OWNED[key]}" if OWNED[key] else ""
            raise ServeError(f"{token} is set by serve itself{instead}")
    return tokens


def streamlit_command(app: Path, address: str, port: int, options: list[str]) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
            "--server.address", address, "--server.port", str(port), *options]


def replica_environment(replicas: int) -> dict[str, str]:
    """The replicas' environment: the machine's cores shared out, as MNIST training slots (K per replica, unless
    the teacher set OPTVIZ_MAX_TRAININGS: then that many per replica) and as threads of the compiled sweeps and of
    BLAS (each replica its share of the cores, not all of them: replicas would otherwise take turns)."""
    share = str(max(1, cores() // replicas))
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    for name in ("OPTVIZ_MAX_TRAININGS", "OPTVIZ_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        env.setdefault(name, share)
    return env


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def check_port_free(address: str, port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as error:
            reason = f"{error.strerror} (another server on that port?)"
            raise ServeError(f"cannot listen on {address}:{port}: {reason}") from None


def _die_with_parent() -> None:
    """In the child before exec: a process group of its own (Ctrl-C reaches serve alone, which stops everything
    in order), and SIGTERM when serve dies, even by SIGKILL, so no replica outlives it."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (AttributeError, OSError):
        pass


def start_group(command: list[str], cwd: Path | None = None, env: dict | None = None, **streams) -> subprocess.Popen:
    """Start a command as the leader of its own process group."""
    parent = os.getpid()

    def prepare() -> None:
        _die_with_parent()
        if os.getppid() != parent:  # serve died before the child could ask to die with it
            os._exit(1)

    return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, preexec_fn=prepare, **streams)


def stop_groups(processes: list[subprocess.Popen], grace: float = STOP_SECONDS) -> None:
    """SIGTERM to each process group, SIGKILL to those still there after `grace` seconds."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _signal_group(process, signal.SIGKILL)  # the leader's stragglers too, if any
        process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def healthy(port: int, timeout: float = 2.0, host: str = "127.0.0.1") -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{HEALTH}", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class Supervised:
    """A process serve keeps running: restarted when it exits, after a delay growing with crashes in a row."""

    name: str
    command: list[str]
    quiet: bool = False  # drop its stdout (a replica's banner names an internal port, not the class's address)
    process: subprocess.Popen | None = None
    started: float = 0.0
    crashes: int = 0  # in a row, without STABLE_SECONDS of uptime between
    restart_at: float | None = None

    def start(self, cwd: Path | None, env: dict | None) -> None:
        stdout = subprocess.DEVNULL if self.quiet else None
        self.process = start_group(self.command, cwd=cwd, env=env, stdout=stdout)
        self.started, self.restart_at = time.monotonic(), None
        say(f"{self.title} started: pid {self.process.pid}{self.where}")

    @property
    def title(self) -> str:
        return self.name

    @property
    def where(self) -> str:
        return ""

    def check(self, cwd: Path | None, env: dict | None) -> None:
        """Start it again when its restart is due; notice that it exited; reset its crash count once stable."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start(cwd, env)
            return
        code = self.process.poll()
        if code is not None:
            self.restart_later(f"exited with code {code}")
        elif now - self.started > STABLE_SECONDS:
            self.crashes = 0

    def restart_later(self, why: str) -> None:
        """Kill what is left of its process group and schedule the restart."""
        _signal_group(self.process, signal.SIGKILL)
        self.process.wait()
        delay = RESTART_DELAYS[min(self.crashes, len(RESTART_DELAYS) - 1)]
        self.crashes += 1
        self.restart_at = time.monotonic() + delay
        say(f"{self.title} (pid {self.process.pid}) {why}: restarting in {delay:.0f} s{self.meanwhile}")

    @property
    def meanwhile(self) -> str:
        return ""


@dataclass
class Replica(Supervised):
    """One `streamlit run` on an internal port, health-checked: one that stops answering is killed and restarted.

    A replica answers its check from Streamlit's event loop, which a class's script runs share with it; a busy
    replica is slow, a hung one (stopped, deadlocked) never answers. HUNG_SECONDS without an answer tells them apart
    on this 2-core machine with 30 students loading pages (the slowest answer seen there took under a second)."""

    port: int = 0
    host: str = "127.0.0.1"  # where serve reaches it: its own address, or loopback when it listens on all
    quiet: bool = True
    answered_at: float | None = None  # its last answer to a check; None until it first answers
    probe: Future | None = None
    probe_at: float = 0.0

    @property
    def title(self) -> str:
        return f"replica {self.name}"

    @property
    def where(self) -> str:
        return f" on {self.host}:{self.port}"

    @property
    def meanwhile(self) -> str:
        return "; its students reconnect to the other replicas meanwhile"

    def start(self, cwd: Path | None, env: dict | None) -> None:
        super().start(cwd, env)
        self.answered_at, self.probe = None, None

    def check(self, cwd: Path | None, env: dict | None, checks: Executor | None = None) -> None:
        super().check(cwd, env)
        if checks is None or self.restart_at is not None:
            return
        now = time.monotonic()
        if self.probe is not None and self.probe.done():
            if self.probe.result():
                self.answered_at = now
            self.probe = None
        if self.probe is None and now >= self.probe_at:
            self.probe = checks.submit(healthy, self.port, HEALTH_TIMEOUT, self.host)
            self.probe_at = now + HEALTH_EVERY
        if self.answered_at is not None and now - self.answered_at > HUNG_SECONDS:
            self.restart_later(f"did not answer its health check for {HUNG_SECONDS:.0f} s (hung): killed")
        elif self.answered_at is None and now - self.started > START_SECONDS:
            self.restart_later(f"did not answer its health check within {START_SECONDS:.0f} s of starting: killed")


def public_url(address: str, port: int) -> str:
    """The address to give the class: on every interface, the machine's name."""
    host = socket.gethostname() if address in ("", "0.0.0.0", "::") else address
    return f"http://{host}:{port}/"


def say(message: str) -> None:
    print(f"optviz serve: {message}", flush=True)


class Stop:
    """Set by Ctrl-C, SIGTERM or SIGHUP: the supervision loop ends and everything is stopped in order. A plain flag:
    a signal handler that took a lock could deadlock against the code it interrupted."""

    def __init__(self) -> None:
        self.requested = False
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._request)

    def _request(self, *_) -> None:
        self.requested = True

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True once a stop was requested."""
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        return self.requested


def wait_healthy(replicas: list[Replica], stop: Stop) -> bool:
    """Wait until every replica answers its health check; False if a stop was asked for meanwhile."""
    deadline = time.monotonic() + START_SECONDS
    waiting = list(replicas)
    while waiting:
        for replica in list(waiting):
            code = replica.process.poll()
            if code is not None:
                raise ServeError(f"replica {replica.name} exited with code {code} while starting (its log is above)")
            if healthy(replica.port, host=replica.host):
                waiting.remove(replica)
        if waiting and stop.wait(0.3):
            return False
        if waiting and time.monotonic() > deadline:
            names = ", ".join(r.name for r in waiting)
            raise ServeError(f"replica {names} did not answer {HEALTH} within {START_SECONDS:.0f} s")
    return True


def local_host(address: str) -> str:
    """Where this machine reaches a server listening on `address`."""
    return "127.0.0.1" if address in ("", "0.0.0.0") else "::1" if address == "::" else address


def parse_backends(text: str) -> dict[str, str]:
    """--backends "10.0.0.11:8501,10.0.0.12:8501" → {"b1": "10.0.0.11:8501", "b2": "10.0.0.12:8501"}."""
    backends = {}
    for i, item in enumerate(filter(None, (part.strip() for part in text.split(",")))):
        host, colon, port = item.rpartition(":")
        if not (colon and host and port.isdigit() and 1 <= int(port) <= 65535):
            raise ServeError(f"--backends takes host:port pairs separated by commas, e.g. 10.0.0.11:8501,"
                             f"10.0.0.12:8501; {item!r} is not one")
        backends[f"b{i + 1}"] = f"{host}:{int(port)}"
    if not backends:
        raise ServeError("--backends names no replica: give host:port pairs separated by commas")
    return backends


def wait_listening(address: str, port: int, seconds: float = 10.0) -> None:
    """Until the balancer accepts connections: the address is announced once it works."""
    host = local_host(address)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1.0).close()
            return
        except OSError:
            time.sleep(0.05)
    raise ServeError(f"HAProxy did not listen on {address}:{port} within {seconds:.0f} s (its messages are above)")


def serve(app: Path, replicas: int, address: str, port: int, options: list[str], *, balancer: bool = True,
          backends: dict[str, str] | None = None) -> int:
    """Run until Ctrl-C or SIGTERM; returns the exit code. Three shapes: replicas behind a balancer on this
    machine (the default); replicas alone on ports port, port + 1, … for a balancer elsewhere (balancer=False);
    a balancer alone in front of replicas on other machines (backends)."""
    if backends is None and not app.is_file():
        raise ServeError(f"{app} is not a file: serve runs a Streamlit script, by default optviz's app.py")
    if replicas == 1 and balancer and backends is None:  # plain Streamlit: nothing to balance or supervise
        check_port_free(address, port)
        os.chdir(app.parent)
        command = streamlit_command(app, address, port, options)
        os.execvpe(command[0], command, {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
    haproxy = find_haproxy() if balancer else None
    if backends is not None:
        fleet = []
        check_port_free(address, port)
    elif balancer:
        check_port_free(address, port)
        fleet = [Replica(f"r{i + 1}", streamlit_command(app, "127.0.0.1", p, options), port=p)
                 for i, p in enumerate(free_port() for _ in range(replicas))]
    else:
        for p in range(port, port + replicas):
            check_port_free(address, p)
        fleet = [Replica(f"r{i + 1}", streamlit_command(app, address, port + i, options), port=port + i,
                         host=local_host(address)) for i in range(replicas)]
    servers = backends if backends is not None else {r.name: f"127.0.0.1:{r.port}" for r in fleet}
    return supervise(app, fleet, haproxy, servers, address, port)


def supervise(app: Path, fleet: list[Replica], haproxy: str | None, servers: dict[str, str], address: str,
              port: int) -> int:
    """Start the replicas, then the balancer (if any), and keep them all running until a stop is asked for."""
    env = replica_environment(max(1, len(fleet)))
    stop = Stop()
    folder = Path(tempfile.mkdtemp(prefix="optviz-serve-"))
    balancer = None
    checks = ThreadPoolExecutor(max_workers=max(1, len(fleet)), thread_name_prefix="health")
    try:
        for replica in fleet:
            replica.start(app.parent, env)
        if not wait_healthy(fleet, stop):
            return 0
        if haproxy:
            config = write_config(haproxy, folder / "haproxy.cfg", haproxy_config(address, port, servers))
            balancer = Supervised("HAProxy", [haproxy, "-db", "-f", str(config)])
            balancer.start(None, None)
            wait_listening(address, port)
        say(announcement(app, fleet, servers, address, port, env, balanced=balancer is not None))
        while not stop.wait(SUPERVISE_EVERY):
            if balancer:
                balancer.check(None, None)
            for replica in fleet:
                replica.check(app.parent, env, checks)
        say("stopping")
        return 0
    finally:
        checks.shutdown(wait=False, cancel_futures=True)
        # the balancer first, so nobody is sent to a replica that is going away
        processes = [balancer and balancer.process, *(r.process for r in fleet)]
        stop_groups([p for p in processes if p is not None])
        shutil.rmtree(folder, ignore_errors=True)


def announcement(app: Path, fleet: list[Replica], servers: dict[str, str], address: str, port: int, env: dict,
                 balanced: bool) -> str:
    """What serve tells the teacher once everything answers."""
    stop = "Ctrl-C stops them all."
    if not fleet:
        answering = [name for name, where in servers.items()
                     if healthy(int(where.rpartition(":")[2]), 1.0, where.rpartition(":")[0])]
        listed = ", ".join(f"{name} {where}" + ("" if name in answering else " (not answering yet)")
                           for name, where in servers.items())
        return (f"HAProxy at {public_url(address, port)} in front of {len(servers)} replicas elsewhere: {listed}; "
                f"sticky by the cookie {COOKIE}, each health-checked every second. {stop}")
    trainings = f"MNIST trainings at once per replica: {env['OPTVIZ_MAX_TRAININGS']}"
    if balanced:
        return (f"{len(fleet)} replicas of {app.name} behind HAProxy at {public_url(address, port)} (sticky by the "
                f"cookie {COOKIE}); {trainings}. {stop}")
    host = socket.gethostname() if address in ("", "0.0.0.0", "::") else address
    pairs = ",".join(f"{host}:{r.port}" for r in fleet)
    urls = ", ".join(public_url(address, r.port) for r in fleet)
    return (f"{len(fleet)} replicas of {app.name} without a balancer, at {urls}; {trainings}. On the front "
            f"machine: optviz serve --backends {pairs}. {stop}")
