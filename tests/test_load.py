"""The classroom load test's CI variant: five simulated students per scenario and one real browser page, all
served with charts and no exception. Behaviour only: timings are printed by the script, never asserted."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_five_students_at_once_are_all_served_in_every_scenario():
    result = subprocess.run([sys.executable, "benchmarks/load_test.py", "--students", "5", "--ci", "--browsers", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if "  5/5 " in line or " 5/5" in line]
    assert len(rows) == 4, result.stdout  # one line per scenario, every student served
    assert "real browser pages with the race drawn: 1/1" in result.stdout
