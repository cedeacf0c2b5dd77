"""python -m optviz serve under faults: a replica killed, a replica hung, the balancer killed. The class is served
again by what is left, serve brings back what was lost, and nobody is left without a page. Behaviour only: the
times are printed by benchmarks/bench_faults.py, never asserted."""

import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks import bench_faults
from benchmarks.load_test import Served, alive, free_port
from optviz import serve

HEALTH_SERVER = """
import http.server, sys
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def test_a_replica_that_stops_answering_its_health_check_is_killed_and_started_again(monkeypatch, capsys):
    monkeypatch.setattr(serve, "HUNG_SECONDS", 1.5)
    monkeypatch.setattr(serve, "HEALTH_TIMEOUT", 0.5)
    monkeypatch.setattr(serve, "HEALTH_EVERY", 0.2)
    monkeypatch.setattr(serve, "RESTART_DELAYS", (0.1,))
    port = free_port()
    replica = serve.Replica("r1", [sys.executable, "-c", HEALTH_SERVER, str(port)], port=port)
    replica.start(None, dict(os.environ))
    first = replica.process.pid
    with ThreadPoolExecutor(1) as checks:
        def supervise_until(done, seconds=20.0):
            deadline = time.monotonic() + seconds
            while not done() and time.monotonic() < deadline:
                replica.check(None, dict(os.environ), checks)
                time.sleep(0.05)
            return done()

        assert supervise_until(lambda: replica.answered_at is not None)
        assert supervise_until(lambda: False, seconds=2.0) is False and replica.process.pid == first  # healthy: kept
        os.killpg(first, signal.SIGSTOP)  # it still accepts connections, but never answers
        assert supervise_until(lambda: replica.process.pid != first and replica.answered_at is not None)
    assert not alive(first)
    assert f"replica r1 (pid {first}) did not answer its health check for 2 s (hung): killed" in capsys.readouterr().out
    serve.stop_groups([replica.process], grace=2.0)


def test_a_process_serve_keeps_that_exits_is_started_again():
    balancer = serve.Supervised("HAProxy", [sys.executable, "-c", "import time; time.sleep(100)"])
    balancer.start(None, None)
    first = balancer.process.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while balancer.process.pid == first and time.monotonic() < deadline:
        balancer.check(None, None)
        time.sleep(0.05)
    assert balancer.process.pid != first and balancer.process.poll() is None
    serve.stop_groups([balancer.process], grace=2.0)


@pytest.fixture(scope="module")
def served():
    served = Served(free_port(), 2)
    yield served
    code, leftovers = served.stop()
    assert code == 0 and leftovers == []


@pytest.mark.parametrize("fault", ["kill", "hang", "balancer"])
def test_after_each_fault_every_stranded_student_is_served_again_and_serve_repairs_the_server(served, fault):
    students = bench_faults.seat_class(served, 4)
    victim = next(s.replica for s in students)  # a replica with students on it
    replaced = {"kill": "exited with code -9", "hang": "(hung): killed", "balancer": "HAProxy started"}[fault]
    said_before = sum(replaced in line for line in served.lines)
    recovery = bench_faults.run_fault(served, fault, students, victim)
    print(bench_faults.report(recovery, reference=1.0))
    assert recovery.stranded >= 1 and recovery.unserved == 0
    if fault != "balancer":  # the others took the victim's students while it was down
        assert victim not in recovery.replicas
    assert sum(replaced in line for line in served.lines) == said_before + 1, "".join(served.lines[-10:])
    assert served.process.poll() is None  # serve itself never went down
