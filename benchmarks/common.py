"""What the benchmarks share: the naive NumPy reference loop and the timer."""

from __future__ import annotations

import statistics
import time

import numpy as np


def naive_adam_rosenbrock(lr, beta1=0.9, beta2=0.999, eps=1e-8, *, start=(-1.5, 2.0), steps=500,
                          record=False) -> np.ndarray:
    """Textbook vectorized NumPy Adam on Rosenbrock (a=1, b=100) for N configurations at once: fresh temporaries
    every step, (N, 2) layout, no divergence or convergence checks. lr and beta1 are scalars or (N,) arrays.
    Returns the final points (N, 2), or the whole path (steps+1, N, 2) when `record`."""
    lr, beta1 = np.broadcast_arrays(np.asarray(lr, float), np.asarray(beta1, float))
    lr, beta1 = lr.reshape(-1, 1), beta1.reshape(-1, 1)
    p = np.tile(np.array(start, float), (len(lr), 1))
    m, v = np.zeros_like(p), np.zeros_like(p)
    path = [p]
    for t in range(1, steps + 1):
        x, y = p[:, 0], p[:, 1]
        r = y - x * x
        g = np.stack([2 * (x - 1) - 400 * x * r, 200 * r], axis=1)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        if record:
            path.append(p)
    return np.stack(path) if record else p


def timed(fn, repeat: int) -> float:
    """Median wall time of `repeat` calls of fn(), in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
