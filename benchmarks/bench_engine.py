"""Engine benchmarks: a 10,000-configuration Adam sweep and a 6-optimizer race, each beside a naive reference.

    python benchmarks/bench_engine.py [--repeat 5]

Figures are medians of --repeat runs, measured in this process so ratios compare like with like. Each compiled loop
runs once before the timings (its compilation, or its load from the disk cache, is what bench_compile.py measures).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import optviz  # noqa: E402
from benchmarks.common import (  # noqa: E402
    compiled_adam_rosenbrock,
    inplace_adam_rosenbrock,
    naive_adam_rosenbrock,
    numpy_race,
    timed,
)

N, STEPS = 10_000, 500
START = (-1.5, 2.0)
LRS = np.logspace(-4, 0, N)
RACE = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]
RACE_ADAM_FAMILY = ["adam", "amsgrad", "adamw", "nadam", "radam", "adabelief"]


def naive_adam_sweep(record: bool):
    return naive_adam_rosenbrock(LRS, start=START, steps=STEPS, record=record)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    run_steps = N * STEPS

    for record in (False, "path", True):  # compile (or load) the loops outside the timings
        optviz.run("rosenbrock", "adam", START, 2, lr=LRS[:300], record=record)
    optviz.race("rosenbrock", RACE + RACE_ADAM_FAMILY, steps=2)

    print(f"Sweep: Adam on Rosenbrock, {N:,} learning rates x {STEPS} steps (median of {repeat})")
    sweep = {
        "naive NumPy loop, path recorded": lambda: naive_adam_sweep(record=True),
        "naive NumPy loop, final point only": lambda: naive_adam_sweep(record=False),
        "optviz.run, path recorded (record='path')":
            lambda: optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS, record="path"),
        "optviz.run, outcome only (record=False)":
            lambda: optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS, record=False),
        "in-place NumPy floor: no checks, no record": lambda: inplace_adam_rosenbrock(LRS, start=START, steps=STEPS),
    }
    with np.errstate(all="ignore"):  # the largest learning rates diverge, in the references too
        times = {name: timed(fn, repeat) for name, fn in sweep.items()}
    for name, seconds in times.items():
        print(f"  {name:<44} {seconds * 1e3:8.1f} ms  {run_steps / seconds / 1e6:7.1f} M run-steps/s")
    naive_rec, naive_final, ours_rec, ours_final, floor = list(times.values())
    print(f"  speed-up, both recording the path:          {naive_rec / ours_rec:5.2f}x   (target ≥ 2x)")
    print(f"  speed-up, outcome only vs naive final point: {naive_final / ours_final:5.2f}x   (target ≥ 6x)")
    print(f"  the in-place NumPy floor vs naive:           {naive_final / floor:5.2f}x")
    compiled = compiled_adam_rosenbrock()
    seconds = timed(lambda: compiled(LRS, start=START, steps=STEPS), repeat)
    print(f"  {'bare fused loop, one core, no checks (numba)':<44} {seconds * 1e3:8.1f} ms  "
          f"{run_steps / seconds / 1e6:7.1f} M run-steps/s   {naive_final / seconds:5.2f}x the naive loop")

    print(f"\nRace: 6 optimizers x 1,000 steps on Rosenbrock with full traces (median of {repeat})")
    ours = timed(lambda: optviz.race("rosenbrock", RACE, steps=1000), repeat)
    naive = timed(lambda: numpy_race(RACE, steps=1000), repeat)
    print(f"  {', '.join(RACE)}")
    print(f"    optviz.race: {ours * 1e3:6.1f} ms   plain per-step NumPy race recording the same traces: "
          f"{naive * 1e3:6.1f} ms   speed-up {naive / ours:5.2f}x   (target ≥ 5x)")
    ours = timed(lambda: optviz.race("rosenbrock", RACE_ADAM_FAMILY, steps=1000), repeat)
    print(f"  {', '.join(RACE_ADAM_FAMILY)}: optviz.race {ours * 1e3:6.1f} ms")


if __name__ == "__main__":
    main()
