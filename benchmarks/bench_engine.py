"""Engine benchmarks: a 10,000-configuration Adam sweep and a 6-optimizer race, each beside a naive reference.

    python benchmarks/bench_engine.py [--repeat 5]

Figures are medians of --repeat runs, measured in this process so ratios compare like with like.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import optviz  # noqa: E402
from benchmarks.common import compiled_adam_rosenbrock, inplace_adam_rosenbrock, naive_adam_rosenbrock, timed  # noqa: E402

N, STEPS = 10_000, 500
START = (-1.5, 2.0)
LRS = np.logspace(-4, 0, N)
RACE = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]
RACE_ADAM_FAMILY = ["adam", "amsgrad", "adamw", "nadam", "radam", "adabelief"]


def naive_adam_sweep(record: bool):
    return naive_adam_rosenbrock(LRS, start=START, steps=STEPS, record=record)


def naive_race(names, steps=1000):
    """One optimizer after another through the public step(), NumPy calls on 2-element arrays."""
    surf = optviz.surface("rosenbrock")
    paths = {}
    for name in names:
        opt = optviz.optimizer(name)
        p = np.array(START)
        state = opt.init(p)
        path = [p]
        for _ in range(steps):
            p, state = opt.step(p, np.array(surf.grad(p[0], p[1])), state)
            path.append(p)
        paths[name] = np.array(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    run_steps = N * STEPS

    print(f"Sweep: Adam on Rosenbrock, {N:,} learning rates x {STEPS} steps (median of {repeat})")
    sweep = {
        "naive NumPy loop, path recorded": lambda: naive_adam_sweep(record=True),
        "naive NumPy loop, final point only": lambda: naive_adam_sweep(record=False),
        "optviz.run, path recorded (record='path')":
            lambda: optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS, record="path"),
        "optviz.run, outcome only (record=False)":
            lambda: optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS, record=False),
        "in-place NumPy floor: no checks, no record": lambda: inplace_adam_rosenbrock(LRS, start=START, steps=STEPS),
        "optviz.run, full state traces (record=True)":
            lambda: optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS),
    }
    with np.errstate(all="ignore"):  # the largest learning rates diverge, in the references too
        times = {name: timed(fn, repeat) for name, fn in sweep.items()}
    for name, seconds in times.items():
        print(f"  {name:<44} {seconds * 1e3:8.1f} ms  {run_steps / seconds / 1e6:7.1f} M run-steps/s")
    naive_rec, naive_final, ours_rec, ours_final, floor = list(times.values())[:5]
    print(f"  speed-up, both recording the path:          {naive_rec / ours_rec:5.2f}x   (target ≥ 2x)")
    print(f"  speed-up, outcome only vs naive final point: {naive_final / ours_final:5.2f}x")
    print(f"  the in-place floor vs naive final point:     {naive_final / floor:5.2f}x   (what NumPy allows here)")
    compiled = compiled_adam_rosenbrock()
    if compiled is None:
        print("  (numba is not installed: no compiled reference; pip install numba to see the machine's ceiling)")
    else:
        seconds = timed(lambda: compiled(LRS, start=START, steps=STEPS), repeat)
        print(f"  {'compiled fused loop (numba, reference only)':<44} {seconds * 1e3:8.1f} ms  "
              f"{run_steps / seconds / 1e6:7.1f} M run-steps/s   {naive_final / seconds:5.2f}x the naive loop")

    print(f"\nRace: 6 optimizers x 1,000 steps on Rosenbrock with full traces (median of {repeat})")
    for names in (RACE, RACE_ADAM_FAMILY):
        ours = timed(lambda names=names: optviz.race("rosenbrock", names, steps=1000), repeat)
        naive = timed(lambda names=names: naive_race(names), repeat)
        print(f"  {', '.join(names)}")
        print(f"    optviz.race (lockstep, in place): {ours * 1e3:6.1f} ms   "
              f"naive per-optimizer step() loop, no traces: {naive * 1e3:6.1f} ms")


if __name__ == "__main__":
    main()
