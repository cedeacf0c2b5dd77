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
