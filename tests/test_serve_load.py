"""The classroom load test's CI variant: five simulated students per scenario and one real browser page, all
served with charts and no exception. Behaviour only: timings are printed by the script, never asserted."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_five_students_at_once_are_all_served_in_every_scenario():
    result = subprocess.run([sys.executable, "benchmarks/load_test.py", "--students", "5", "--ci", "--browsers", "1",
                             "--max-trainings", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if "  5/5 " in line or " 5/5" in line]
    assert len(rows) == 4, result.stdout  # one line per page scenario, every student served
    assert "real browser pages with the race drawn: 1/1" in result.stdout
    # the training scenario: 4 trainings for the server's slots, the others served meanwhile, the queue bound
    # kept, one cancelled from the queue, and every slot free again once the training tabs closed
    training = re.search(r"4 trainings started, limit (\d+): at most (\d+) seen running at once \(the server said "
                         r"≤ (\d+).*?(\d+) cancelled from the queue; after the tabs closed: 0 running, 0 waiting",
                         result.stdout)
    assert training, result.stdout
    limit, seen, said, cancelled = map(int, training.groups())
    assert 1 <= seen <= limit and said <= limit and cancelled == 1
    assert re.search(r"\+ training\s+5 .* 1/1", result.stdout), result.stdout


def test_through_the_balancer_a_class_spreads_over_both_replicas_and_survives_losing_one():
    """python -m optviz serve --replicas 2: four students from one address spread over both replicas by the
    balancer's cookie and stay there; a killed replica's newcomers and returning students go to the other; serve
    restarts it and it takes new sessions again; SIGTERM leaves no process behind."""
    result = subprocess.run([sys.executable, "benchmarks/load_test.py", "--replicas", "2", "--students", "4", "--ci",
                             "--browsers", "1", "--max-trainings", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"balancer: 4/4 served; sessions per replica: r1 \d+% · r2 \d+%; page and websocket on the "
                     r"cookie's replica: 4/4; later requests on it: 4/4", out), out
    assert "real browser pages with the race drawn: 1/1" in out
    killed = re.search(r"replica (r\d) killed: newcomers 4/4 served, on (r\d) 100%; a student of \1 reloading "
                       r"served on (r\d)", out)
    assert killed and killed.group(2) == killed.group(3) != killed.group(1), out
    assert re.search(r"replica r\d restarted by serve and given new sessions again: after \d+ s", out), out
    assert "serve stopped by SIGTERM: exit code 0, processes left running: 0" in out
