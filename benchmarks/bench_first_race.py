"""The first race on a fresh install (issue #28): 12 optimizers × 5,000 steps on a surface the warm-up does not cover.

    python benchmarks/bench_first_race.py [--surface rastrigin] [--steps 5000] [--quick]

Each measurement runs in a fresh Python process with an empty disk cache (NUMBA_CACHE_DIR a new temporary
directory) and no warm-up (OPTVIZ_WARMUP=0): the app's race (compile_in_background=True: rules whose loops are not
compiled yet run as their Python source while the compile thread compiles them), the app's first look at a new
surface (a learning-rate suggestion per optimizer, then the race), the same race once everything is compiled, the same
race in a restarted server (a fresh process with the disk cache the first one filled) and, unless --quick, a race
that waits for numba (compile_in_background=False, what the app did before). The reference,
measured in the same process before the race, is the plain per-step NumPy race of benchmarks/common.py (six textbook
optimizers on Rosenbrock, the same number of steps): the first race is printed in seconds and as a multiple of it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 2.0  # seconds: "the first race of any surface and any set of optimizers on a fresh install"

PROBE = r"""
import json, sys, time
surface, steps, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
import optviz
from optviz import jit
from optviz.optimizers import SPECS
from optviz.tuning import default_lr
from benchmarks.common import numpy_race

names, out = list(SPECS)[:12], {}

def timed(label, fn):
    t0 = time.perf_counter()
    result = fn()
    out[label] = time.perf_counter() - t0
    return result

if mode == "app":
    timed("reference", lambda: numpy_race(steps=steps))  # first: nothing else runs in the process yet
    timed("first race", lambda: optviz.race(surface, names, steps=steps, compile_in_background=True))
    timed("compile", lambda: jit.in_background("done", lambda: None).result())  # the jobs run in order
    timed("compiled race", lambda: optviz.race(surface, names, steps=steps, compile_in_background=True))
elif mode == "new surface":
    lrs = timed("suggestions", lambda: {name: default_lr(surface, name) for name in names})
    timed("first race", lambda: optviz.race(surface, [optviz.Entry(name, {"lr": lrs[name]}) for name in names],
                                            steps=steps, compile_in_background=True))
elif mode == "restart":
    timed("first race", lambda: optviz.race(surface, names, steps=steps, compile_in_background=True))
else:
    timed("first race", lambda: optviz.race(surface, names, steps=steps))
print(json.dumps(out))
"""


def probe(surface: str, steps: int, mode: str, cache: str) -> dict[str, float]:
    """The timings of one fresh process with this disk cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "OPTVIZ_WARMUP": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROBE, surface, str(steps), mode], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--surface", default="rastrigin", help="a surface the warm-up does not cover")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="skip the race that waits for numba (about a minute)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        app = probe(args.surface, args.steps, "app", first)  # leaves `first` filled: it waits for the compiles
        restarted = probe(args.surface, args.steps, "restart", first)
        new_surface = probe(args.surface, args.steps, "new surface", second)
    print(f"12 optimizers × {args.steps:,} steps on {args.surface}, a fresh process with an empty cache each (but one)")
    print(f"  first race, compile_in_background=True (the app)      {app['first race']:7.2f} s "
          f"= {app['first race'] / app['reference']:.1f} × the plain NumPy race ({app['reference']:.2f} s)")
    print(f"  new surface: 12 learning-rate suggestions, then race   {sum(new_surface.values()):7.2f} s "
          f"({new_surface['suggestions']:.2f} s + {new_surface['first race']:.2f} s)")
    print(f"  the same race once compiled ({app['compile']:3.0f} s later)               {app['compiled race']:7.2f} s")
    print(f"  a restarted server: the same race from the disk cache   {restarted['first race']:7.2f} s")
    if not args.quick:
        with tempfile.TemporaryDirectory() as cache:
            waiting = probe(args.surface, args.steps, "wait", cache)
        print(f"  first race, compile_in_background=False (waits)       {waiting['first race']:7.2f} s")
    print(f"target: the first race within {BUDGET:.0f} s on a fresh install (issue #28)")


if __name__ == "__main__":
    main()
