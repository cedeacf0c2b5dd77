"""What a race costs with the optimizers that are not element-wise (optviz.second_order), stepped by a Python loop
per step, beside Adam in the compiled loops.

    python benchmarks/bench_second_order.py [--surface rosenbrock] [--steps 500] [--repeat 3]

Prints, per optimizer, the best of `repeat` one-run races of `steps` steps in milliseconds, the gradient
evaluations it spent, and its time as a multiple of Adam's (after one warm-up race each, so compiling is left out).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import optviz  # noqa: E402


def best_time(surface: str, name: str, steps: int, repeat: int) -> tuple[float, int]:
    optviz.run(surface, name, steps=steps)  # warm-up: compiles what needs compiling
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        traj = optviz.run(surface, name, steps=steps)
        times.append(time.perf_counter() - start)
    return min(times), int(traj.evaluations[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surface", default="rosenbrock")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    reference, _ = best_time(args.surface, "adam", args.steps, args.repeat)
    print(f"{args.steps} steps on {args.surface}; Adam (compiled): {reference * 1e3:.2f} ms")
    for name in optviz.STEPPED_OPTIMIZERS:
        seconds, evaluations = best_time(args.surface, name, args.steps, args.repeat)
        print(f"{name:>10}: {seconds * 1e3:8.1f} ms  {evaluations:6d} gradient evaluations  "
              f"{seconds / reference:7.1f}× Adam")


if __name__ == "__main__":
    main()
