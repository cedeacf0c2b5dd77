"""python -m optviz serve: the balancer's configuration, the options it passes on, and the supervision of its
processes (restarts, stopping every process group, nothing left behind). The balancer's behaviour under a class
(spread, stickiness, failover) is in test_serve_load.py."""

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.load_test import Served, alive, free_port, own_settings, process_tree, student
from optviz import serve
from optviz.serve import ServeError

ROOT = Path(__file__).resolve().parents[1]


def test_the_balancer_config_sticks_by_its_own_cookie_and_checks_each_replica_s_health():
    config = serve.haproxy_config("0.0.0.0", 8501, {"r1": "127.0.0.1:40001", "r2": "127.0.0.1:40002"})
    assert "bind 0.0.0.0:8501" in config
    assert "server r1 127.0.0.1:40001 cookie r1" in config and "server r2 127.0.0.1:40002 cookie r2" in config
    assert f"cookie {serve.COOKIE} insert indirect nocache" in config
    assert "balance leastconn" in config and "balance source" not in config  # never by client address
    assert "http-check send meth GET uri /_stcore/health" in config and "default-server check" in config
    assert "timeout tunnel" in config  # an open websocket is not an idle request
    assert "$" not in config


def test_haproxy_accepts_the_rendered_config(tmp_path):
    path = tmp_path / "haproxy.cfg"
    servers = {"r1": f"127.0.0.1:{free_port()}", "r2": f"127.0.0.1:{free_port()}"}
    path.write_text(serve.haproxy_config("127.0.0.1", free_port(), servers))
    checked = subprocess.run([serve.find_haproxy(), "-c", "-f", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ALERT" not in checked.stderr and "WARNING" not in checked.stderr, checked.stderr


def test_the_deploy_guide_s_backend_for_several_machines_is_what_backends_writes():
    def directives(text: str) -> list[str]:
        lines = [line.split("#")[0].strip() for line in text.splitlines()]
        return [line for line in lines if line and not line.startswith(("server ", "$servers"))]

    template = serve.TEMPLATE.read_text().replace("$cookie", serve.COOKIE)
    guide = (ROOT / "docs" / "deploy.md").read_text()
    block = re.search(r"```\n(backend replicas\n.*?)```", guide, re.S).group(1)
    assert directives(block) == directives(template[template.index("\nbackend replicas"):])
    written = serve.haproxy_config("0.0.0.0", 8501, serve.parse_backends("10.0.0.11:8501,10.0.0.11:8502"))
    servers = [line.strip() for line in block.splitlines() if line.strip().startswith("server ")]
    assert servers and all(line in written for line in servers)


def test_a_config_haproxy_refuses_stops_serve_with_haproxy_s_reason(tmp_path):
    with pytest.raises(ServeError, match=r"HAProxy refused its configuration(.|\n)*unknown keyword 'bogus'"):
        serve.write_config(serve.find_haproxy(), tmp_path / "haproxy.cfg", "defaults\n    bogus 1\n")


def test_streamlit_options_pass_on_to_the_replicas_but_serve_keeps_the_port_and_address():
    assert serve.streamlit_options(["--theme.base", "dark", "--server.maxUploadSize=10"]) == [
        "--theme.base", "dark", "--server.maxUploadSize=10"]
    with pytest.raises(ServeError, match="use serve's --port"):
        serve.streamlit_options(["--server.port", "9000"])
    with pytest.raises(ServeError, match="use serve's --address"):
        serve.streamlit_options(["--server.address=0.0.0.0"])
    with pytest.raises(ServeError, match="--section.option|--server.maxUploadSize"):
        serve.streamlit_options(["--verbose"])
    with pytest.raises(ServeError, match="unexpected argument 'app.py'"):
        serve.streamlit_options(["app.py"])


def test_without_haproxy_serve_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(serve, "SBIN", ())
    with pytest.raises(ServeError, match=r"apt-get install haproxy.*\n.*--replicas 1"):
        serve.find_haproxy()


def test_training_slots_and_threads_are_shared_out_between_replicas_unless_the_teacher_sets_them(monkeypatch):
    monkeypatch.setattr(serve, "cores", lambda: 8)
    for name in ("OPTVIZ_MAX_TRAININGS", "OPTVIZ_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert serve.replica_environment(2)["OPTVIZ_MAX_TRAININGS"] == "4"
    assert serve.replica_environment(16)["OPTVIZ_MAX_TRAININGS"] == "1"
    shared = serve.replica_environment(4)
    assert shared["OPTVIZ_THREADS"] == shared["OPENBLAS_NUM_THREADS"] == shared["OMP_NUM_THREADS"] == "2"
    monkeypatch.setenv("OPTVIZ_MAX_TRAININGS", "3")
    assert serve.replica_environment(2)["OPTVIZ_MAX_TRAININGS"] == "3"


@pytest.mark.parametrize("threads", ["1", "3"])
def test_a_replica_shares_its_batches_over_the_threads_it_is_given(threads):
    code = "import optviz.fused as f; print(f.THREADS, len(f._shares(10**6)))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OPTVIZ_THREADS": threads},
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    assert out == [threads, threads]


@pytest.mark.parametrize("replicas", [1, 2])
def test_a_port_already_taken_is_refused_in_words(replicas):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "optviz", "serve", "--replicas", str(replicas), "--port",
                                 str(port), "--address", "127.0.0.1"], cwd=ROOT, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr


def test_a_replica_that_exits_is_restarted_after_a_delay_growing_with_crashes_in_a_row(monkeypatch, capsys):
    monkeypatch.setattr(serve, "RESTART_DELAYS", (0.2, 0.4))
    replica = serve.Replica("r1", [sys.executable, "-c", "raise SystemExit(3)"], port=free_port())
    replica.start(ROOT, dict(os.environ))
    pids, delays = [replica.process.pid], []
    while len(pids) < 3:
        replica.check(ROOT, dict(os.environ))
        if replica.restart_at is not None and len(delays) < len(pids):
            delays.append(replica.restart_at - time.monotonic())
        if replica.process.pid != pids[-1]:
            pids.append(replica.process.pid)
        time.sleep(0.02)
    assert len(set(pids)) == 3
    assert 0.1 < delays[0] <= 0.2 < delays[1] <= 0.4
    assert f"replica r1 (pid {pids[0]}) exited with code 3: restarting in" in capsys.readouterr().out
    replica.process.wait()


def test_stopping_a_process_group_ends_its_children_and_kills_what_ignores_sigterm():
    group = serve.start_group(["bash", "-c", "trap '' TERM; sleep 100 & sleep 100; wait"])
    time.sleep(0.5)
    members = process_tree(group.pid)
    assert len(members) >= 3  # bash and its two sleeps
    serve.stop_groups([group], grace=0.5)
    time.sleep(0.2)
    assert not [pid for pid in members if alive(pid)]


def test_a_process_started_by_serve_dies_with_serve_even_when_serve_is_killed():
    code = ("import sys; sys.path.insert(0, '.'); from optviz.serve import start_group;"
            "print(start_group(['sleep', '100']).pid, flush=True)")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.wait()  # the parent ended without stopping its child (as if killed)
    deadline = time.time() + 5
    while alive(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(child)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_stopping_serve_leaves_no_replica_or_balancer_running(sig):
    served = Served(free_port(), 2, max_trainings=1)
    tree = process_tree(served.pid)
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in tree]
    assert sum(b"streamlit" in c for c in commands) == 2 and sum(b"haproxy" in c for c in commands) == 1
    code, leftovers = served.stop(sig)
    assert leftovers == []
    assert code == (0 if sig == signal.SIGINT else -signal.SIGKILL)


def test_one_replica_is_plain_streamlit_without_a_balancer():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "optviz", "serve", "--replicas", "1", "--port", str(port),
                                "--address", "127.0.0.1"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while not serve.healthy(port) and time.time() < deadline:
            time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert response.headers["X-Optviz-Replica"] is None  # no balancer in front
        assert process_tree(process.pid) == [process.pid]  # serve became Streamlit itself
        assert b"streamlit" in Path(f"/proc/{process.pid}/cmdline").read_bytes()
    finally:
        process.terminate()
        assert process.wait(20) == 0


def test_ctrl_c_while_the_replicas_start_stops_them_too():
    process = subprocess.Popen([sys.executable, "-m", "optviz", "serve", "--replicas", "2", "--port", str(free_port()),
                                "--address", "127.0.0.1"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    while "replica r2 started" not in process.stdout.readline():
        pass
    tree = process_tree(process.pid)
    assert len(tree) == 3  # serve and two replicas, still starting; no balancer yet
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    deadline = time.time() + 15
    while any(alive(pid) for pid in tree) and time.time() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in tree if alive(pid)]


def test_backends_are_named_in_order_and_bad_ones_are_refused_in_words():
    assert serve.parse_backends("10.0.0.11:8501, 10.0.0.12:8502") == {"b1": "10.0.0.11:8501", "b2": "10.0.0.12:8502"}
    for bad in ("10.0.0.11", "10.0.0.11:http", ":8501", "host:70000", ","):
        with pytest.raises(ServeError, match="host:port"):
            serve.parse_backends(bad)
    config = serve.haproxy_config("0.0.0.0", 8501, serve.parse_backends("10.0.0.11:8501,10.0.0.12:8501"))
    assert "server b1 10.0.0.11:8501 cookie b1" in config and "server b2 10.0.0.12:8501 cookie b2" in config


def test_a_balancer_alone_spreads_a_class_over_replicas_elsewhere_and_sticks_to_them():
    """Replicas started with --no-balancer stand for other machines (their own ports), the front machine runs
    --backends: students spread over both, keep their replica, and a killed one's students go to the other while
    its own serve restarts it."""
    first = free_port()
    while serve.healthy(first + 1) or not _free(first + 1):
        first = free_port()
    replicas = Served(first, 2, max_trainings=1, more=("--no-balancer",))
    front = None
    try:
        assert serve.healthy(first) and serve.healthy(first + 1)
        assert f"--backends 127.0.0.1:{first},127.0.0.1:{first + 1}" in "".join(replicas.lines)
        front = Served(free_port(), 1, more=("--backends", f"127.0.0.1:{first},127.0.0.1:{first + 1}"))
        assert "b1 127.0.0.1" in "".join(front.lines) and "sticky by the cookie" in "".join(front.lines)
        students = asyncio.run(_seat(front.port, 4))
        assert {load.replica for load in students} == {"b1", "b2"}
        assert all(load.stayed for load in students)  # page and websocket on the replica the cookie names
        victim = students[0].replica
        os.killpg(replicas.replicas()[f"r{victim[1:]}"][0], signal.SIGKILL)
        again = asyncio.run(student(front.port, own_settings(999), replica=victim))
        assert again.finished and again.charts and again.replica != victim
    finally:
        for server in (front, replicas):
            if server is not None:
                code, leftovers = server.stop()
                assert code == 0 and leftovers == []


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


async def _seat(port: int, n: int):
    return await asyncio.gather(*(student(port, own_settings(500 + i)) for i in range(n)))
