"""Sweep benchmarks: lr × β1 Adam grids on Rosenbrock beside a naive NumPy loop, a basin grid, tune().

    python benchmarks/bench_sweeps.py [--repeat 5]
    python benchmarks/bench_sweeps.py --every-optimizer [--repeat 3]   # each element-wise rule's sweep against Adam's

Figures are medians of --repeat runs, measured in this process so that ratios compare like with like. The grid
timings include everything the app waits for: validation, the batched run, and every metric grid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from benchmarks.common import (  # noqa: E402
    naive_adam_himmelblau,
    naive_adam_rosenbrock,
    naive_rule_rosenbrock,
    timed,
)
from optviz import OPTIMIZERS, run  # noqa: E402
from optviz.optimizers import ELEMENTWISE  # noqa: E402
from optviz.params import LR  # noqa: E402
from optviz.sweeps import METRICS, axis_values, basins, sweep, tune  # noqa: E402

STEPS = 500
START = (-1.5, 2.0)
LRS = np.logspace(-4, 0, 10_000)  # a learning-rate sweep, as benchmarks/bench_engine.py times Adam's
TARGETS = {100: 0.15, 200: 0.6}  # seconds for an n×n lr × β1 grid
TUNED = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]


def adam_grid(n: int) -> dict:
    """A sweep of n learning rates × n values of β1, with every metric grid computed."""
    result = sweep("rosenbrock", "adam", "lr", axis_values("adam", "lr", n, 1e-4, 1.0), "beta1",
                   axis_values("adam", "beta1", n), start=START, steps=STEPS)
    return {name: result.metric(name) for name in METRICS}


def naive_adam_grid(n: int = 100) -> np.ndarray:
    """The naive reference over the same n×n grid (final point only, no checks)."""
    lr = np.tile(axis_values("adam", "lr", n, 1e-4, 1.0), n)
    beta1 = np.repeat(axis_values("adam", "beta1", n), n)
    return naive_adam_rosenbrock(lr, beta1, start=START, steps=STEPS)


def optimizer_grid(name: str, n: int = 100, steps: int = STEPS) -> dict:
    """n learning rates × n values of the optimizer's first other numeric hyperparameter, each axis over its
    default range, with every metric grid computed: the same work for every optimizer."""
    other = next(p.name for p in OPTIMIZERS[name].params if p.name != LR and p.kind == "float")
    result = sweep("rosenbrock", name, LR, axis_values(name, LR, n), other, axis_values(name, other, n),
                   start=START, steps=steps)
    return {metric: result.metric(metric) for metric in METRICS}


def every_optimizer(repeat: int) -> None:
    """Each element-wise optimizer's 100 × 100 sweep (10,000 runs × STEPS steps on Rosenbrock) beside Adam's."""
    names = [name for name, spec in OPTIMIZERS.items() if spec.kind == ELEMENTWISE]
    for name in names:
        optimizer_grid(name, 2, 2)  # compile (or load) the loops outside the timings
    seconds = {name: timed(lambda name=name: optimizer_grid(name), repeat) for name in names}
    with np.errstate(all="ignore"):  # the largest rates diverge, in the naive loops too
        outcome = {name: timed(lambda name=name: run("rosenbrock", name, START, STEPS, lr=LRS, record=False), repeat)
                   for name in names}
        naive = {name: timed(lambda name=name: naive_rule_rosenbrock(name, LRS, start=START, steps=STEPS), repeat)
                 for name in names}
    print(f"Sweeps of 100 × 100 = 10,000 runs × {STEPS} steps on Rosenbrock (lr × the first other hyperparameter, "
          f"metrics included; median of {repeat}), relative to Adam's; and {len(LRS):,} learning rates × {STEPS} "
          "steps, outcome only, against the rule's own source as a naive NumPy loop (target ≥ 6×)")
    for name in names:
        speed_up = naive[name] / outcome[name]
        print(f"  {name:<22} {seconds[name] * 1e3:8.1f} ms   {seconds[name] / seconds['adam']:5.2f} × Adam    "
              f"outcome {outcome[name] * 1e3:6.1f} ms, naive {naive[name] * 1e3:6.1f} ms: {speed_up:5.2f}x "
              f"{'met' if speed_up >= 6 else 'NOT met'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--every-optimizer", action="store_true",
                        help="time each element-wise optimizer's 10,000-run sweep against Adam's, and nothing else")
    args = parser.parse_args()
    repeat = args.repeat
    if args.every_optimizer:
        every_optimizer(repeat)
        return

    adam_grid(2)  # compile (or load) the loops outside the timings
    print(f"Adam on Rosenbrock, lr × β1 grids × {STEPS} steps, outcome and metrics (median of {repeat})")
    for n, target in TARGETS.items():
        seconds = timed(lambda n=n: adam_grid(n), repeat)
        verdict = "met" if seconds <= target else "MISSED"
        print(f"  sweep {n}×{n} = {n * n:>6,} configs   {seconds * 1e3:8.1f} ms   "
              f"{n * n * STEPS / seconds / 1e6:6.1f} M run-steps/s   target {target * 1e3:.0f} ms: {verdict}")
    naive = timed(naive_adam_grid, repeat)
    print(f"  naive NumPy loop, 100×100 = 10,000 configs, final point only   {naive * 1e3:8.1f} ms   "
          f"{10_000 * STEPS / naive / 1e6:6.1f} M run-steps/s")

    print(f"\nBasins: 200×200 starts on Himmelblau × {STEPS} steps (median of {repeat})")
    for name, hparams in (("sgd", {"lr": 0.01}), ("adam", {"lr": 0.05})):
        basins("himmelblau", name, 4, steps=2, **hparams)  # compile (or load) outside the timing
        seconds = timed(lambda name=name, hparams=hparams: basins("himmelblau", name, 200, steps=STEPS, **hparams),
                        repeat)
        label = f"{name} ({', '.join(f'{k}={v:g}' for k, v in hparams.items())})"
        print(f"  {label:<50} {seconds * 1e3:8.1f} ms")
    grid = basins("himmelblau", "adam", 200, steps=2, lr=0.05)
    x, y = np.meshgrid(grid.xs, grid.ys)
    starts = np.column_stack([x.ravel(), y.ravel()])
    naive = timed(lambda: naive_adam_himmelblau(starts, lr=0.05, steps=STEPS), repeat)
    print(f"  {'naive NumPy Adam loop on the same 40,000 starts':<50} {naive * 1e3:8.1f} ms   "
          f"speed-up {naive / seconds:5.2f}x   (target ≥ 5x)")

    print(f"\ntune() on Rosenbrock × {STEPS} steps, {len(TUNED)} optimizers: {', '.join(TUNED)} (median of {repeat})")
    lr_only = timed(lambda: tune("rosenbrock", TUNED, steps=STEPS), repeat)
    joint = timed(lambda: tune("rosenbrock", TUNED, steps=STEPS, also=("beta1", "momentum")), repeat)
    print(f"  {'lr alone (61 rates)':<50} {lr_only * 1e3:8.1f} ms")
    print(f"  {'lr × beta1 or momentum (61 × 10 where it applies)':<50} {joint * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
