"""Fault benchmark: how long a class waits when a replica dies, a replica hangs, or the balancer dies.

    python benchmarks/bench_faults.py                    # 2 replicas, 10 students, every fault
    python benchmarks/bench_faults.py --students 4 --faults hang

`python -m optviz serve --replicas 2` on 127.0.0.1; the students (simulated at Streamlit's protocol level, as in
load_test.py: the page, then a script run through the websocket, with the balancer's cookie) load their pages.
Then a fault, and at once every student it strands reloads, again and again as a browser's user would, until a
page is served with its chart. "Served again" is the time from the fault to that page; the reference is a
reload without a fault, measured in the same run. Targets (issue #28): a killed replica's students ≤ 3 s, a hung
replica's ≤ 10 s, everyone after HAProxy is killed ≤ 5 s, and nobody left without a page.

  kill     SIGKILL to a replica's process group: HAProxy's connection fails, it redispatches to the other replica.
  hang     SIGSTOP to a replica's process group: it still accepts connections but never answers; serve's health
           check finds it hung and kills it, HAProxy sends its students to the other replica.
  balancer SIGKILL to HAProxy: serve starts it again; the replicas (and their sessions) live on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from benchmarks.load_test import CLASSES, RUN_TIMEOUT, Load, Served, own_settings, student  # noqa: E402
from optviz.serve import free_port  # noqa: E402

TARGETS = {"kill": 3.0, "hang": 10.0, "balancer": 5.0}  # seconds until every stranded student is served again
RELOAD_EVERY = 0.25  # seconds between a stranded student's reloads (a page that failed at once)
GIVE_UP = 90.0  # a student not served within this is left without a page
BALANCER_TEXT = re.compile(r"HAProxy started: pid (\d+)")


@dataclass
class Recovery:
    fault: str
    stranded: int
    served_after: list[float]  # seconds from the fault, one per student served again
    replicas: list[str]  # who served each

    @property
    def unserved(self) -> int:
        return self.stranded - len(self.served_after)

    @property
    def worst(self) -> float:
        return max(self.served_after, default=float("inf"))


def balancer_pid(served: Served) -> int:
    return int([m.group(1) for line in list(served.lines) for m in [BALANCER_TEXT.search(line)] if m][-1])


async def reload_until_served(port: int, replica: str, faulted: float) -> tuple[float, str] | None:
    """A stranded student reloading until a page with its chart is served: (seconds after the fault, by whom)."""
    query = own_settings(next(CLASSES))
    while time.perf_counter() - faulted < GIVE_UP:
        try:
            load = await asyncio.wait_for(student(port, query, replica=replica), RUN_TIMEOUT)
            if load.finished and load.charts and not load.exceptions:
                return time.perf_counter() - faulted, load.replica
        except Exception:  # refused, reset, timed out, a 50x: the student reloads
            pass
        await asyncio.sleep(RELOAD_EVERY)
    return None


async def recover(port: int, students: list[Load], faulted: float) -> list:
    return await asyncio.gather(*(reload_until_served(port, s.replica, faulted) for s in students))


def seat_class(served: Served, n: int) -> list[Load]:
    """n students load their pages; each keeps the replica its cookie names."""
    loads = asyncio.run(_seat(served.port, n))
    missing = [load for load in loads if not (load.finished and load.charts)]
    if missing:
        raise RuntimeError(f"{len(missing)} of {n} students got no page before any fault")
    return loads


async def _seat(port: int, n: int) -> list[Load]:
    return list(await asyncio.gather(*(student(port, own_settings(next(CLASSES))) for _ in range(n))))


def inflict(served: Served, fault: str, victim: str) -> float:
    """Cause the fault; returns when (perf_counter)."""
    if fault == "balancer":
        os.kill(balancer_pid(served), signal.SIGKILL)
    else:
        os.killpg(served.replicas()[victim][0], signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
    return time.perf_counter()


def run_fault(served: Served, fault: str, students: list[Load], victim: str = "r1") -> Recovery:
    """One fault, its stranded students reloading until served, then the server whole again (the replica or
    balancer restarted by serve and answering)."""
    before = (served.replicas()[victim][0], balancer_pid(served))
    stranded = students if fault == "balancer" else [s for s in students if s.replica == victim]
    faulted = inflict(served, fault, victim)
    results = asyncio.run(recover(served.port, stranded, faulted))
    wait_whole(served, fault, victim, before)
    served_again = [r for r in results if r]
    return Recovery(fault, len(stranded), [r[0] for r in served_again], [r[1] for r in served_again])


def wait_whole(served: Served, fault: str, victim: str, before: tuple[int, int], seconds: float = 180.0) -> None:
    """Until serve has replaced what the fault took (a new pid) and the class is seated on both replicas again."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        now = (served.replicas()[victim][0], balancer_pid(served))
        replaced = now[1] != before[1] if fault == "balancer" else now[0] != before[0]
        if replaced and {load.replica for load in asyncio.run(_seat(served.port, 4))} >= set(served.replicas()):
            return
        time.sleep(1.0)
    raise RuntimeError(f"after the {fault} fault serve did not bring the server back:\n" + "".join(served.lines[-20:]))


def reference_reload(served: Served, students: list[Load]) -> float:
    """The median time of a reload without a fault (same students, same cookies)."""
    faulted = time.perf_counter()
    results = asyncio.run(recover(served.port, students, faulted))
    return statistics.median(r[0] for r in results if r)


def report(recovery: Recovery, reference: float) -> str:
    target = TARGETS[recovery.fault]
    worst = recovery.worst
    verdict = "ok" if worst <= target and not recovery.unserved else "MISSED"
    return (f"{recovery.fault:9s} {recovery.stranded:3d} stranded · served again after median "
            f"{statistics.median(recovery.served_after or [float('inf')]):5.2f} s, worst {worst:5.2f} s "
            f"(target ≤ {target:.0f} s; {worst / reference:5.1f}× a normal reload) · by "
            f"{'/'.join(sorted(set(recovery.replicas)))} · left without a page: {recovery.unserved}  [{verdict}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--faults", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    args = parser.parse_args()
    served = Served(free_port(), 2)
    try:
        students = seat_class(served, args.students)
        reference = reference_reload(served, students)
        print(f"2 replicas, {args.students} students; a reload without a fault: median {reference:.2f} s")
        missed = 0
        for fault in args.faults:
            recovery = run_fault(served, fault, students)
            print(report(recovery, reference), flush=True)
            missed += recovery.worst > TARGETS[fault] or recovery.unserved > 0
            students = seat_class(served, args.students)  # a fresh class for the next fault
        return 1 if missed else 0
    finally:
        served.stop()


if __name__ == "__main__":
    raise SystemExit(main())
