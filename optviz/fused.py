"""Fused loops: a built-in surface's gradient and an optimizer's rule, compiled together over every step of a batch.

One loop serves races, runs, sweeps, basins and tuning: steps outer and runs inner (so the inner loop runs over
contiguous arrays of runs), runs split in chunks that the cores share (`prange`), and only what the caller asks
for is written: the whole history (a race), the path (a recorded batch) or, for sweeps and basins, nothing but
each run's outcome, watched as it goes (first step out of bounds, first step near a minimum, last good point).
A run that has diverged is not stepped again when only its outcome is kept.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import prange

from .jit import kernel, load, scalar, scalar_twin, store
from .optimizers import Optimizer
from .surfaces import SPECS as SURFACES
from .surfaces import Surface

CHUNK = 256  # runs per piece of work: the state of a chunk stays in the core's cache for all the steps
NEVER = -1


def fusable(surf: Surface) -> bool:
    """Whether the surface's gradient is one of the built-in formulas (compiled into the loop). Typed surfaces and
    surfaces whose gradient changes from step to step (a data surface's mini-batches) are stepped in NumPy."""
    return (type(surf).step_grad is Surface.step_grad and getattr(surf, "model", None) is None
            and SURFACES.get(surf.name) is surf.spec)


def _loop(rule: Callable, prepare: Callable, grad: Callable) -> Callable:
    def run(position, state, shared, hyper, lr, coef, sign, noise, surface, bound, tol, minima,
            path, grads, traces, shared_trace, diverged, converged, last):
        steps, runs = coef.shape[0], position.shape[1]
        recording, full = path.shape[0] > 0, grads.shape[0] > 0
        per_row = hyper.shape[0] > 1
        chunks = (runs + CHUNK - 1) // CHUNK
        for chunk in prange(chunks):
            low, high = chunk * CHUNK, min(runs, (chunk + 1) * CHUNK)
            for r in range(low, high):
                if recording:
                    path[0, 0, r], path[0, 1, r] = position[0, r], position[1, r]
                else:
                    _watch(position, r, 0, bound, tol, minima, diverged, converged, last)
            q = shared[0]
            for t in range(1, steps + 1):
                step = float(t)
                c, q = prepare(hyper[0], step, q)
                if chunk == 0 and not per_row:
                    shared[0] = q
                    if shared_trace.shape[0] > 0:
                        shared_trace[t - 1, 0] = q
                for r in range(low, high):
                    if not recording and diverged[r] != NEVER:
                        continue
                    if per_row:
                        c, shared[r] = prepare(hyper[r], step, shared[r])
                        if shared_trace.shape[0] > 0:
                            shared_trace[t - 1, r] = shared[r]
                    alpha = coef[t - 1, 0] * (lr[r] if lr.size > 1 else lr[0]) + coef[t - 1, 1]
                    gx, gy = grad(position[0, r], position[1, r], surface)
                    if noise.shape[0] > 0:
                        gx, gy = gx + noise[t - 1, 0], gy + noise[t - 1, 1]
                    gx, gy = sign * gx, sign * gy
                    position[0, r], s = rule(position[0, r], gx, load(state, (0, r)), alpha, c)
                    store(state, (0, r), s)
                    if full:
                        store(traces, (t - 1, 0, r), s)
                    position[1, r], s = rule(position[1, r], gy, load(state, (1, r)), alpha, c)
                    store(state, (1, r), s)
                    if full:
                        store(traces, (t - 1, 1, r), s)
                        grads[t - 1, 0, r], grads[t - 1, 1, r] = gx, gy
                    if recording:
                        path[t, 0, r], path[t, 1, r] = position[0, r], position[1, r]
                    else:
                        _watch(position, r, t, bound, tol, minima, diverged, converged, last)
    return run


@scalar
def _watch(position, r, t, bound, tol, minima, diverged, converged, last):
    """The outcome of run r after step t: the first step out of bounds (or not finite), the first step within tol
    of a listed minimum, and the last point before divergence."""
    x, y = position[0, r], position[1, r]
    if not (abs(x) <= bound and abs(y) <= bound):
        diverged[r] = t
        return
    last[0, r], last[1, r] = x, y
    if converged[r] == NEVER:
        for k in range(minima.shape[0]):
            dx, dy = x - minima[k, 0], y - minima[k, 1]
            if dx * dx + dy * dy <= tol * tol:
                converged[r] = t
                break


_LOOPS: dict[tuple, Callable] = {}
_GRADS: dict[str, Callable] = {}


def _gradient(spec) -> Callable:
    """The surface's gradient formula compiled as grad(x, y, parameters), its parameters a tuple in spec order."""
    formula = scalar_twin(spec.grad)
    arity = sum(p.name not in ("noise", "seed") for p in spec.params)
    if arity == 0:
        return scalar(lambda x, y, p: formula(x, y))
    if arity == 1:
        return scalar(lambda x, y, p: formula(x, y, p[0]))
    if arity == 2:
        return scalar(lambda x, y, p: formula(x, y, p[0], p[1]))
    raise ValueError(f"surface {spec.name}: fused loops take surfaces of up to two parameters")


def compiled_loop(opt: Optimizer, surf: Surface, parallel: bool) -> Callable:
    """The fused loop of this optimizer's rule on this surface (compiled at its first call, then cached on disk)."""
    if surf.name not in _GRADS:
        _GRADS[surf.name] = _gradient(surf.spec)
    key = (opt.rule, opt.spec.prepare, surf.name, parallel)
    if key not in _LOOPS:
        _LOOPS[key] = kernel(_loop(opt.rule, opt.spec.prepare, _GRADS[surf.name]), parallel=parallel)
    return _LOOPS[key]


class FusedRun:
    """One optimizer's batch of runs on a built-in surface, stepped by the fused loop.

    After `run()`: with `record`, `path` (steps+1, 2, R), `grads` (steps, 2, R), `traces` {name: (steps, R, 2)}
    (and NAdam's μ-product, (steps, R) or (steps,)); without, `diverged`, `converged` (R,) and `last` (R, 2).
    """

    def __init__(self, opt: Optimizer, surf: Surface, starts: np.ndarray, steps: int, record, tol: float,
                 bound: float, noise: np.ndarray | None):
        self.opt, self.surf, self.steps, self.record = opt, surf, steps, record
        runs = len(starts)
        self.position = np.array(starts.T, dtype=np.float64, order="C")  # (2, R), a copy: the loop steps it
        state = opt.init(self.position.T)  # arrays shaped (R, 2) like the starts: their transposes are (2, R)
        self.state = tuple(np.ascontiguousarray(np.asarray(getattr(state, n)).T) for n in opt.arrays)
        self.shared = (np.asarray(getattr(state, opt.spec.shared), dtype=np.float64).reshape(-1).copy()
                       if opt.spec.shared else np.ones(len(opt.hyper)))
        self.lr = np.array(opt.hparams["lr"], dtype=np.float64).reshape(-1)
        a, b = opt.schedule.coefficients(np.arange(steps))
        self.coef = np.ascontiguousarray(np.broadcast_to(np.stack([a, b], axis=-1), (steps, 2)), dtype=np.float64)
        self.noise = np.zeros((0, 2)) if noise is None else np.ascontiguousarray(noise, dtype=np.float64)
        self.bound, self.tol = float(bound), float(tol)
        full = record is True
        self.path = np.empty((steps + 1 if record else 0, 2, runs))
        self.grads = np.empty((steps if full else 0, 2, runs))
        self.state_traces = tuple(np.empty((steps if full else 0, 2, runs)) for _ in opt.arrays)
        self.shared_trace = np.empty((steps if full and opt.spec.shared else 0, len(self.shared)))
        self.diverged = np.full(runs, NEVER, dtype=np.int64)
        self.converged = np.full(runs, NEVER, dtype=np.int64)
        self.last = self.position.copy()

    def run(self) -> FusedRun:
        surf, opt = self.surf, self.opt
        runs = self.position.shape[1]
        loop = compiled_loop(opt, surf, parallel=runs > CHUNK)
        parameters = tuple(float(v) for v in surf._shape_params.values())
        loop(self.position, self.state, self.shared, opt.hyper, self.lr, self.coef, opt.sign, self.noise,
             parameters, self.bound, self.tol, np.ascontiguousarray(surf.minima, dtype=np.float64).reshape(-1, 2),
             self.path, self.grads, self.state_traces, self.shared_trace, self.diverged, self.converged, self.last)
        return self

    @property
    def traces(self) -> dict[str, np.ndarray]:
        out = {name: np.moveaxis(trace, 1, 2) for name, trace in zip(self.opt.arrays, self.state_traces)}
        if self.opt.spec.shared:
            shared = self.shared_trace
            out[self.opt.spec.shared] = shared[:, 0] if shared.shape[1] == 1 else shared
        return out
