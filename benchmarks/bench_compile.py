"""Compile cost: each compiled loop's first call in a fresh process, with an empty disk cache and then a filled one.

    python benchmarks/bench_compile.py

A fresh server compiles a loop the first time it needs it (a few per (surface, optimizer) pair: the race loop, the
batch loop of sweeps and learning-rate suggestions, and step_ and the passes between the matmuls for the MNIST
trainer); the disk cache then serves
every later process. Each measurement runs in its own Python process with NUMBA_CACHE_DIR pointing at a temporary
directory, so nothing left by earlier runs is reused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import time, numpy as np
t0 = time.perf_counter()
import optviz
from optviz.tuning import default_lr
imported = time.perf_counter() - t0

def first(label, fn):
    t0 = time.perf_counter(); fn(); print(f"{label}\t{time.perf_counter() - t0:.3f}")

print(f"import optviz (numba included)\t{imported:.3f}")
opt = optviz.optimizer("adam")
p = np.zeros(1000, dtype=np.float32)
first("step_ loop: Adam, float32 (MNIST trainer)", lambda: opt.step_(p, p, opt.init(p)))
from optviz.mnist.model import MLP
from optviz.mnist.train import _flush_subnormals
mlp, digits, labels = MLP((784, 256, 10)), np.zeros((8, 784), dtype=np.float32), np.zeros(8, dtype=np.intp)
first("MNIST passes: bias+ReLU, softmax, ReLU backward (float32)", lambda: mlp.loss_and_grad(digits, labels))
first("MNIST flush of subnormal moments (float32)", lambda: _flush_subnormals(opt.init(p)))
first("race loop: Adam on Rosenbrock", lambda: optviz.run("rosenbrock", "adam", steps=2))
first("batch loop: Adam on Rosenbrock", lambda: optviz.run("rosenbrock", "adam", steps=2, lr=np.ones(3), record=False))
first("race loop: SGD on Rosenbrock", lambda: optviz.run("rosenbrock", "sgd", steps=2))
first("batch loop: SGD on Rosenbrock", lambda: optviz.run("rosenbrock", "sgd", steps=2, lr=np.ones(3), record=False))
first("first race of a fresh pair: RMSProp on Himmelblau, 500 steps, suggested lr",
      lambda: optviz.race("himmelblau", [optviz.Entry("rmsprop", {"lr": default_lr("himmelblau", "rmsprop")})]))
first("the same race again", lambda: optviz.race("himmelblau", [optviz.Entry("rmsprop", {"lr": 0.01})]))
"""


def probe(cache: str) -> list[tuple[str, float]]:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    return [(label, float(seconds)) for label, seconds in (line.split("\t") for line in out.splitlines())]


def main():
    with tempfile.TemporaryDirectory() as cache:
        cold, warm = probe(cache), probe(cache)
    print(f"{'first call in a fresh process':<76} {'empty cache':>12} {'disk cache':>11}")
    for (label, seconds), (_, cached) in zip(cold, warm):
        print(f"  {label:<74} {seconds:10.2f} s {cached:9.2f} s")
    print("target: the first race of a fresh (surface, optimizer) pair within 1.5 s, compilation included")


if __name__ == "__main__":
    main()
