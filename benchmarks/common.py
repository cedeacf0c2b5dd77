"""What the benchmarks share: the NumPy reference loops and the timer."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np


def naive_adam_rosenbrock(lr, beta1=0.9, beta2=0.999, eps=1e-8, *, start=(-1.5, 2.0), steps=500,
                          record=False) -> np.ndarray:
    """Textbook vectorized NumPy Adam on Rosenbrock (a=1, b=100) for N configurations at once: x and y as two
    arrays of N, fresh temporaries every step, no divergence or convergence checks. lr and beta1 are scalars or
    (N,) arrays. Returns the final points (N, 2), or the whole path (steps+1, N, 2) when `record`.

    This is the fastest plain formulation we know (≈ 70–80 M run-steps/s here, as issue #3 measured): an (N, 2)
    array with strided column views and np.stack runs at half that speed, and would flatter the engine."""
    n = np.broadcast_shapes(np.shape(lr), np.shape(beta1), (1,))[0]
    x, y = np.full(n, float(start[0])), np.full(n, float(start[1]))
    mx, my, vx, vy = (np.zeros(n) for _ in range(4))
    path = [np.stack([x, y], axis=1)]
    for t in range(1, steps + 1):
        r = y - x * x
        gx, gy = 2 * (x - 1) - 400 * x * r, 200 * r
        mx, my = beta1 * mx + (1 - beta1) * gx, beta1 * my + (1 - beta1) * gy
        vx, vy = beta2 * vx + (1 - beta2) * gx * gx, beta2 * vy + (1 - beta2) * gy * gy
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        x = x - lr * (mx / bc1) / (np.sqrt(vx / bc2) + eps)
        y = y - lr * (my / bc1) / (np.sqrt(vy / bc2) + eps)
        if record:
            path.append(np.stack([x, y], axis=1))
    return np.stack(path) if record else np.stack([x, y], axis=1)


def naive_adam_himmelblau(starts, lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8, *, steps=500) -> np.ndarray:
    """The naive NumPy Adam of naive_adam_rosenbrock on Himmelblau's surface from N starts (N, 2) at once, as a basin
    grid runs it. Returns the final points (N, 2)."""
    x, y = np.array(starts[:, 0], dtype=float), np.array(starts[:, 1], dtype=float)
    mx, my, vx, vy = (np.zeros(len(x)) for _ in range(4))
    for t in range(1, steps + 1):
        u, w = x * x + y - 11, x + y * y - 7
        gx, gy = 4 * x * u + 2 * w, 2 * u + 4 * y * w
        mx, my = beta1 * mx + (1 - beta1) * gx, beta1 * my + (1 - beta1) * gy
        vx, vy = beta2 * vx + (1 - beta2) * gx * gx, beta2 * vy + (1 - beta2) * gy * gy
        bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
        x = x - lr * (mx / bc1) / (np.sqrt(vx / bc2) + eps)
        y = y - lr * (my / bc1) / (np.sqrt(vy / bc2) + eps)
    return np.stack([x, y], axis=1)


RACE_DEFAULTS = {"adam": 1e-3, "sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "rmsprop": 1e-2, "adagrad": 1e-2}


def numpy_race(names=tuple(RACE_DEFAULTS), *, start=(-1.5, 2.0), steps=1000) -> dict[str, dict[str, np.ndarray]]:
    """A plain per-step NumPy race on Rosenbrock with torch's default settings: each optimizer's textbook rule on a
    2-vector, recording what optviz.race records (path, gradients, state after every step). Returns, per optimizer,
    {"path": (steps+1, 2), "grad": (steps, 2), state name: (steps, 2)}."""
    out = {}
    for name in names:
        lr, p = RACE_DEFAULTS[name], np.array(start, dtype=float)
        s = {"m": np.zeros(2), "v": np.zeros(2), "buf": np.zeros(2), "sum": np.zeros(2)}
        path, grads, trace = [p], [], {k: [] for k in _RACE_STATE[name]}
        for t in range(1, steps + 1):
            r = p[1] - p[0] * p[0]
            g = np.array([2 * (p[0] - 1) - 400 * p[0] * r, 200 * r])
            if name == "sgd":
                p = p - lr * g
            elif name in ("momentum", "nesterov"):
                s["buf"] = g if t == 1 else 0.9 * s["buf"] + g
                p = p - lr * (g + 0.9 * s["buf"] if name == "nesterov" else s["buf"])
            elif name == "adagrad":
                s["sum"] = s["sum"] + g * g
                p = p - lr * (g / (np.sqrt(s["sum"]) + 1e-10))
            elif name == "rmsprop":
                s["v"] = 0.99 * s["v"] + (1 - 0.99) * g * g
                p = p - lr * (g / (np.sqrt(s["v"]) + 1e-8))
            else:  # adam
                s["m"] = 0.9 * s["m"] + 0.1 * g
                s["v"] = 0.999 * s["v"] + 0.001 * g * g
                p = p - lr * (s["m"] / (1 - 0.9 ** t)) / (np.sqrt(s["v"] / (1 - 0.999 ** t)) + 1e-8)
            path.append(p)
            grads.append(g)
            for k in trace:
                trace[k].append(s[k])
        out[name] = {"path": np.array(path), "grad": np.array(grads), **{k: np.array(v) for k, v in trace.items()}}
    return out


_RACE_STATE = {"sgd": (), "momentum": ("buf",), "nesterov": ("buf",), "adagrad": ("sum",), "rmsprop": ("v",),
               "adam": ("m", "v")}


def inplace_adam_rosenbrock(lr, beta1=0.9, beta2=0.999, eps=1e-8, *, start=(-1.5, 2.0), steps=500) -> np.ndarray:
    """The floor of NumPy here: the same sweep in place, a (2, N) layout, every buffer allocated once, the bias
    corrections folded into two scalars, and nothing else (no checks, no recording, scalar β1 only).
    One step is 8 ufunc passes over N for the gradient and 12 over 2N for Adam; √ and ÷ are compute-bound."""
    lr = np.asarray(lr, float)
    n = max(lr.size, 1)
    p = np.empty((2, n))
    p[0], p[1] = start
    g, m, v, work = np.empty_like(p), np.zeros_like(p), np.zeros_like(p), np.empty_like(p)
    (x, y), (gx, gy), r, q, scale = p, g, np.empty(n), np.empty(n), np.empty(n)
    for t in range(1, steps + 1):
        np.multiply(x, x, out=r)
        np.subtract(y, r, out=r)                  # r = y − x²
        np.multiply(r, 200.0, out=gy)
        np.multiply(x, r, out=q)
        q *= -400.0
        np.subtract(x, 1.0, out=gx)
        gx *= 2.0
        gx += q                                   # ∂f/∂x = 2(x − 1) − 400 x r
        np.subtract(g, m, out=work)
        work *= 1 - beta1
        m += work
        v *= beta2
        np.multiply(g, g, out=work)
        work *= 1 - beta2
        v += work
        bc1, bc2_sqrt = 1 - beta1 ** t, math.sqrt(1 - beta2 ** t)
        np.sqrt(v, out=work)
        work += eps * bc2_sqrt
        np.divide(m, work, out=work)
        np.multiply(lr, bc2_sqrt / bc1, out=scale)
        work *= scale
        p -= work
    return p.T


def naive_rule_rosenbrock(name: str, lr: np.ndarray, *, start=(-1.5, 2.0), steps=500) -> np.ndarray:
    """Any element-wise optimizer's rule as a textbook vectorized NumPy loop on Rosenbrock (a=1, b=100), for N
    learning rates at once: the rule's own Python source applied to whole arrays (optviz's uncompiled twin, the
    same arithmetic; fresh temporaries every step), no divergence or convergence checks. Written once for every
    rule, so that each compiled sweep has its own naive reference. Returns the final points (N, 2)."""
    from optviz import optimizer
    from optviz.optimizers import _rows_at_once

    opt = optimizer(name, lr=np.asarray(lr, dtype=float))
    rows = len(opt.hyper_at(1)) if opt.batch is None else opt.batch
    params = np.tile(np.asarray(start, dtype=float), (len(lr), 1))
    state = opt.init(params)
    arrays = tuple(getattr(state, field).reshape(len(lr), -1) for field in opt.arrays)
    shared = getattr(state, opt.spec.shared).reshape(-1) if opt.spec.shared else np.ones(rows)
    step = _rows_at_once(opt.rule, opt.spec.prepare)
    lrs = np.broadcast_to(opt.lr_at(np.arange(1, steps + 1)[:, None]), (steps, len(lr)))
    for t in range(1, steps + 1):
        x, y = params[:, 0], params[:, 1]
        r = y - x * x
        grads = np.stack([2 * (x - 1) - 400 * x * r, 200 * r], axis=1)
        step(params, grads, arrays, shared, opt.hyper_at(t), lrs[t - 1], opt.sign, float(t))
    return params


def timed(fn, repeat: int) -> float:
    """Median wall time of `repeat` calls of fn(), in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def compiled_adam_rosenbrock():
    """The same sweep as one fused loop compiled by numba, if installed (a development reference, like PyTorch:
    optviz never imports it). Returns fn(lr, start, steps) -> final points (N, 2), compiled, or None."""
    try:
        import numba
    except ImportError:
        return None

    # error_model="numpy": no zero-division branch, so LLVM can vectorize √ and ÷
    @numba.njit(error_model="numpy", cache=False)
    def sweep(lr, beta1, beta2, eps, x0, y0, steps):
        n = lr.size
        x, y = np.full(n, x0), np.full(n, y0)
        mx, my, vx, vy = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        for t in range(1, steps + 1):
            bc1, bc2_sqrt = 1 - beta1 ** t, math.sqrt(1 - beta2 ** t)
            scale, eps_t = bc2_sqrt / bc1, eps * bc2_sqrt
            for i in range(n):
                r = y[i] - x[i] * x[i]
                gx, gy = 2 * (x[i] - 1) - 400 * x[i] * r, 200 * r
                mx[i] += (1 - beta1) * (gx - mx[i])
                my[i] += (1 - beta1) * (gy - my[i])
                vx[i] = beta2 * vx[i] + (1 - beta2) * gx * gx
                vy[i] = beta2 * vy[i] + (1 - beta2) * gy * gy
                x[i] -= lr[i] * scale * mx[i] / (math.sqrt(vx[i]) + eps_t)
                y[i] -= lr[i] * scale * my[i] / (math.sqrt(vy[i]) + eps_t)
        return np.stack((x, y), axis=1)

    def run(lr, beta1=0.9, beta2=0.999, eps=1e-8, *, start=(-1.5, 2.0), steps=500):
        return sweep(np.asarray(lr, float), beta1, beta2, eps, float(start[0]), float(start[1]), steps)

    run(np.ones(1), steps=1)  # compile outside the timing
    return run
