"""Sharpness benchmarks: what measuring it costs while training, and the edge of stability at full size.

    python benchmarks/bench_sharpness.py                 # overhead: sharpness time / training time, per K
    python benchmarks/bench_sharpness.py --eos           # and full-batch gradient descent at α = 0.1, 0.2, 0.4
    python benchmarks/bench_sharpness.py --eos --hidden 200,200 --eos-steps 3000

Overhead: the MNIST tab's default training (784-256-10 MLP, batch 64, or the CNN) with the sharpness measured every K
steps on 256 fixed training digits (optviz.mnist.curvature.SharpnessSettings), for Adam (the preconditioned
sharpness) and SGD; the ratio printed is the measurements' time over the training time (which leaves them out), both
timed in the same run, so a burst of load on this shared machine hits both. Edge of stability: full-batch gradient
descent on the first --n training digits (pixels centred), tanh, squared loss, the sharpness every --every steps, and
what it did (optviz.mnist.fullbatch.edge_of_stability). Needs MNIST as bench_mnist.py finds it (the source is printed);
targets are printed, not asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
from benchmarks.bench_mnist import blas_threads, default_data_dir  # noqa: E402
from optviz.mnist import load_mnist, train  # noqa: E402
from optviz.mnist.curvature import DEFAULT_EVERY, SharpnessSettings  # noqa: E402
from optviz.mnist.fullbatch import edge_of_stability, full_batch  # noqa: E402

TARGET = 0.25   # the measurements may cost at most a quarter of the training time at the default K


def overhead(data, model: str, name: str, lr: float, every: int, steps: int, batch: int = 64) -> tuple[float, float]:
    """(training seconds, sharpness seconds) over `steps` steps measured every `every`."""
    hidden = (256,) if model == "mlp" else None
    epochs = -(-steps // -(-len(data.y_train) // batch))
    run = train(data, name, hidden, model=model, epochs=epochs, batch_size=batch, eval_every=25, lr=lr,
                sharpness=SharpnessSettings(every=every), snapshots=3)
    for event in run:
        if event["step"] >= steps:
            break
    run.close()
    return event["seconds"], event["curvature_seconds"]


def overheads(data, model: str, steps: int, ks: list[int]) -> None:
    print(f"\n{model.upper()}, batch 64, {steps:,} steps; sharpness on 256 digits (≤ {TARGET:.0%} at K = "
          f"{DEFAULT_EVERY})")
    print(f"{'optimizer':>10} {'K':>5} {'training s':>11} {'sharpness s':>12} {'ratio':>7}")
    for name, lr in (("adam", 1e-3), ("sgd", 0.05)):
        for k in ks:
            training, sharpness = overhead(data, model, name, lr, k, steps)
            mark = "  ← default" if k == DEFAULT_EVERY else ""
            print(f"{name:>10} {k:>5} {training:>11.1f} {sharpness:>12.1f} {sharpness / training:>7.2f}{mark}",
                  flush=True)


def eos(data, n: int, hidden: tuple[int, ...], steps: int, every: int, lrs: list[float], init: str) -> None:
    print(f"\nEdge of stability: gradient descent on {n:,} digits, 784-{'-'.join(map(str, hidden))}-10 tanh ({init} "
          f"init), squared loss, {steps:,} steps, sharpness every {every}")
    for lr in lrs:
        start = time.perf_counter()
        run = full_batch(data, "sgd", lr=lr, n=n, hidden=hidden, init=init, steps=steps, sharpness_every=every)
        run.run_to_end()
        wall = time.perf_counter() - start
        s = edge_of_stability(run.curvature())
        loss = np.array([e["loss"] for e in run.history])
        ups = int(np.sum(np.diff(loss) > 0))
        last = run.history[-1]
        print(f"α = {lr}: 2/α = {2 / lr:g}; sharpness {s['initial']:.2f} at the start"
              + (f", catapult back within 15 % by step {s['catapult_step']}" if s["catapult_step"] is not None else "")
              + (f", reached 85 % at step {s['reached_step']}" if s["reached_step"] is not None else ", never reached")
              + (f", arrival peak {s['arrival_peak']:.2f}×, settled at step {s['settled_step']}, then "
                 f"{s['band_min']:.2f}–{s['band_max']:.2f}× 2/α" if s["settled_step"] is not None else "")
              + f"; strict band: {s['within_band']}; peak {s['peak']:.2f} at step {s['peak_step']}")
        print(f"        loss {loss[0]:.3f} → {loss[-1]:.4f}, rose at {ups} of {len(loss) - 1} steps; {wall:.0f} s "
              f"(training {last['seconds']:.0f} s, sharpness {last['curvature_seconds']:.0f} s)", flush=True)
        trace = run.curvature()
        print("        " + " ".join(f"{r['step']}:{r['sharpness']:.2f}" for r in trace[::max(1, len(trace) // 20)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--steps", type=int, default=3000, help="mini-batch steps per overhead measurement")
    parser.add_argument("--k", default=f"100,{DEFAULT_EVERY},500", help="the intervals K to time")
    parser.add_argument("--cnn", action="store_true", help="the CNN's overhead too (slow)")
    parser.add_argument("--eos", action="store_true", help="the full-batch edge of stability at three α")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--hidden", default="100")
    parser.add_argument("--init", default="normal", choices=["normal", "uniform"])
    parser.add_argument("--eos-steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--lrs", default="0.1,0.2,0.4")
    args = parser.parse_args()
    data = load_mnist(args.data_dir, download=False)
    print(f"data: {data.source}; BLAS threads: {blas_threads()}")
    ks = [int(k) for k in args.k.split(",")]
    overheads(data, "mlp", args.steps, ks)
    if args.cnn:
        overheads(data, "cnn", max(args.steps // 3, DEFAULT_EVERY * 3), [DEFAULT_EVERY])
    if args.eos:
        eos(data, args.n, tuple(int(h) for h in args.hidden.split(",")), args.eos_steps, args.every,
            [float(lr) for lr in args.lrs.split(",")], args.init)


if __name__ == "__main__":
    main()
