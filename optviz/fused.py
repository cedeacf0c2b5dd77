"""Fused loops: a built-in surface's gradient and an optimizer's rule, compiled together over every step of a batch.

Two loops share one step (`advance`): the race loop records everything (path, gradients, state) for a few runs;
the batch loop serves runs, sweeps, basins and tuning. It goes steps outer and runs inner (the inner loop walks
contiguous arrays of runs and vectorizes), shares the runs out between the cores (threads: the loop releases the
GIL), steps them CHUNK at a time so that a chunk's state stays in cache through all the steps, and writes only
what the caller asks for: the path, or nothing but each run's outcome, watched as it goes (first step out of
bounds, first step near a minimum, last good point). A run that diverged is still stepped (to inf or NaN,
harmlessly) so that the hot loop has no branch; its outcome was fixed at the step it left the bound.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from . import jit
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


def _advance(rule: Callable, grad: Callable) -> Callable:
    @scalar
    def advance(x, y, to_x, to_y, state_x, state_y, r, alpha, c, sign, nx, ny, surface):
        """One step of run r from (x, y) to (to_x, to_y), which may be the same arrays: the gradient at the point
        (plus the step's noise), then the rule on each coordinate."""
        gx, gy = grad(x[r], y[r], surface)
        gx, gy = sign * (gx + nx), sign * (gy + ny)
        to_x[r], s = rule(x[r], gx, load(state_x, r), alpha, c)
        store(state_x, r, s)
        to_y[r], s = rule(y[r], gy, load(state_y, r), alpha, c)
        store(state_y, r, s)
        return gx, gy
    return advance


def _race_loop(rule: Callable, prepare: Callable, grad: Callable) -> Callable:
    """Every step of a few runs with everything recorded: path, gradients, state (races, record=True)."""
    advance = _advance(rule, grad)

    def run(position, state, shared, hyper, lr, coef, sign, noise, surface, path, grads, traces, shared_trace):
        per_row = hyper.shape[0] > 1
        x, y, state_x, state_y = position[0], position[1], load(state, 0), load(state, 1)
        path[0, 0], path[0, 1] = x, y
        for t in range(1, coef.shape[0] + 1):
            c, q = prepare(hyper[0], float(t), shared[0])
            if not per_row:
                shared[0] = shared_trace[t - 1, 0] = q
            nx, ny = (noise[t - 1, 0], noise[t - 1, 1]) if noise.shape[0] > 0 else (0.0, 0.0)
            for r in range(x.size):
                if per_row:
                    c, shared[r] = prepare(hyper[r], float(t), shared[r])
                    shared_trace[t - 1, r] = shared[r]
                alpha = coef[t - 1, 0] * lr[r] + coef[t - 1, 1]
                gx, gy = advance(x, y, x, y, state_x, state_y, r, alpha, c, sign, nx, ny, surface)
                # the surface's gradient (noise included), as the generic path records it: maximize's sign (±1, so
                # exactly undone) belongs to the rule, whose formula reads θ + α·g
                grads[t - 1, 0, r], grads[t - 1, 1, r] = sign * gx, sign * gy
                store(traces, (t - 1, 0, r), load(state_x, r))
                store(traces, (t - 1, 1, r), load(state_y, r))
            path[t, 0], path[t, 1] = x, y
    return run


def _batch_loop(rule: Callable, prepare: Callable, grad: Callable, value: Callable) -> Callable:
    """Every step of a batch of runs (a thread's share of it), watching their outcomes and recording their path
    and loss if asked (the loss while the point is at hand: afterwards it is a second pass over the whole path)."""
    advance = _advance(rule, grad)

    @scalar
    def record_losses(xs, ys, losses, surface):
        for i in range(xs.size):
            losses[i] = value(xs[i], ys[i], surface)

    def run(position, state, shared, hyper, group, lr, coef, sign, noise, surface, bound, tol, minima, path,
            losses, diverged, converged, last, first, stop):
        recording, per_row = path.shape[0] > 0, hyper.shape[0] > 1
        x, y, state_x, state_y = position[0], position[1], load(state, 0), load(state, 1)
        for chunk in range((stop - first + CHUNK - 1) // CHUNK):
            low, high = first + chunk * CHUNK, min(stop, first + (chunk + 1) * CHUNK)
            # the chunk's runs as 1-D arrays indexed from 0: LLVM then sees distinct arrays walked in step, with no
            # negative index to wrap around, and vectorizes the loop over them
            part = slice(low, high)
            xs, ys, sx, sy, alphas = x[part], y[part], load(state_x, part), load(state_y, part), lr[part]
            dv, cv, last_x, last_y = diverged[part], converged[part], last[0][part], last[1][part]
            # two buffers, stepped from one into the other: the points one step back stay at hand for the last
            # good point of a run that diverges, without a copy
            other_x, other_y = xs.copy(), ys.copy()
            if recording:
                path[0, 0, part], path[0, 1, part] = xs, ys
                record_losses(xs, ys, losses[0, part], surface)
            _watch(xs, ys, xs, ys, 0, bound, tol, minima, dv, cv, last_x, last_y)
            q = shared[0]
            for t in range(1, coef.shape[0] + 1):
                c, q = prepare(hyper[0], float(t), q)
                if chunk == 0 and not per_row:
                    shared[0] = q
                a, b = coef[t - 1, 0], coef[t - 1, 1]
                nx, ny = (noise[t - 1, 0], noise[t - 1, 1]) if noise.shape[0] > 0 else (0.0, 0.0)
                from_x, from_y, to_x, to_y = (xs, ys, other_x, other_y) if t % 2 else (other_x, other_y, xs, ys)
                if per_row:  # constants per configuration: once per stretch of runs with the same hyperparameters
                    i = 0
                    while i < high - low:
                        j = i + 1
                        while j < high - low and group[low + j] == group[low + i]:
                            j += 1
                        c, q_row = prepare(hyper[low + i], float(t), shared[low + i])
                        for k in range(i, j):
                            shared[low + k] = q_row
                            advance(from_x, from_y, to_x, to_y, sx, sy, k, a * alphas[k] + b, c, sign, nx, ny,
                                    surface)
                        i = j
                else:  # the hot loop of sweeps and basins: the same constants for every run
                    for i in range(high - low):
                        advance(from_x, from_y, to_x, to_y, sx, sy, i, a * alphas[i] + b, c, sign, nx, ny, surface)
                if recording:
                    path[t, 0, part], path[t, 1, part] = to_x, to_y
                    record_losses(to_x, to_y, losses[t, part], surface)
                _watch(to_x, to_y, from_x, from_y, t, bound, tol, minima, dv, cv, last_x, last_y)
            if coef.shape[0] % 2:
                xs[:], ys[:] = other_x, other_y
    return run


@scalar
def _watch(xs, ys, before_x, before_y, t, bound, tol, minima, diverged, converged, last_x, last_y):
    """The outcomes of a chunk of runs after step t: the first step out of bounds (or not finite), the first step
    within tol of a listed minimum, and the last point before divergence (before_x, before_y: the points at step
    t − 1). Events are rare: a read-only pass that vectorizes (no branches, the minima an unrolled tuple) asks
    whether any run has one, and only then are the runs gone through one by one."""
    events = 0
    for i in range(xs.size):
        events += _event(xs[i], ys[i], bound, tol, minima, diverged[i], converged[i])
    if events == 0:
        return
    for i in range(xs.size):
        if _event(xs[i], ys[i], bound, tol, minima, diverged[i], converged[i]):
            if abs(xs[i]) <= bound and abs(ys[i]) <= bound:
                converged[i] = t
            else:
                diverged[i] = t
                last_x[i], last_y[i] = before_x[i], before_y[i]


@scalar
def _event(x, y, bound, tol, minima, diverged, converged):
    """Whether a live run has just left the bound, or come near a minimum for the first time."""
    inside = (abs(x) <= bound) & (abs(y) <= bound)
    near = False
    for k in range(len(minima)):
        dx, dy = x - minima[k][0], y - minima[k][1]
        near = near | (dx * dx + dy * dy <= tol * tol)
    return (diverged == NEVER) & (~inside | (near & (converged == NEVER)))


_LOOPS: dict[tuple, Callable] = {}
_FORMULAS: dict[str, tuple[Callable, Callable]] = {}


def _compiled(fn: Callable, spec) -> Callable:
    """A formula of the surface (its value or its gradient) compiled as fn(x, y, parameters), its parameters a
    tuple in spec order."""
    formula = scalar_twin(fn)
    arity = sum(p.name not in ("noise", "seed") for p in spec.params)
    if arity == 0:
        return scalar(lambda x, y, p: formula(x, y))
    if arity == 1:
        return scalar(lambda x, y, p: formula(x, y, p[0]))
    if arity == 2:
        return scalar(lambda x, y, p: formula(x, y, p[0], p[1]))
    raise ValueError(f"surface {spec.name}: fused loops take surfaces of up to two parameters")


def compiled_loop(opt: Optimizer, surf: Surface, race: bool) -> Callable:
    """The fused loop of this optimizer's rule on this surface, the race loop (everything recorded) or the batch
    loop (path or outcomes): compiled at its first call, then cached on disk."""
    if surf.name not in _FORMULAS:
        _FORMULAS[surf.name] = _compiled(surf.spec.grad, surf.spec), _compiled(surf.spec.value, surf.spec)
    grad, value = _FORMULAS[surf.name]
    key = (opt.rule, opt.spec.prepare, surf.name, race)
    if key not in _LOOPS:
        loop = _race_loop(opt.rule, opt.spec.prepare, grad) if race else \
            _batch_loop(opt.rule, opt.spec.prepare, grad, value)
        _LOOPS[key] = kernel(loop)
    return _LOOPS[key]


# ---------------------------------------------------------------------------------------------------------------
# Not waiting for a compiler: a server answers a new pair at once by the generic path while its loop compiles

def ready(opts: list[Optimizer], surf: Surface, race: bool, compile_with: Callable[[], object]) -> bool:
    """Whether the fused loops of these optimizers on this surface can run now: compiled in this process, or
    loaded from the disk cache within a moment. Otherwise `compile_with` compiles them in the compile thread
    (once; optviz.jit.ready) and the caller takes the generic path meanwhile: a cold compile takes seconds, the
    generic path steps a race in a fraction of one.
    """
    loops = [compiled_loop(opt, surf, race) for opt in opts]
    return jit.ready(loops, lambda: all(loop.signatures for loop in loops), compile_with)


# a batch is shared out over this many threads: every core, unless a supervisor shares the cores out over
# replicas (optviz.serve sets OPTVIZ_THREADS), where threads beyond a replica's share would only take turns
THREADS = max(1, int(os.environ.get("OPTVIZ_THREADS") or os.cpu_count() or 1))
_POOL = ThreadPoolExecutor(THREADS, thread_name_prefix="optviz-fused") if THREADS > 1 else None


def _shares(runs: int) -> list[tuple[int, int]]:
    """Contiguous ranges of whole chunks, one per thread (a single range for a race or a small batch)."""
    chunks = -(-runs // CHUNK)
    per_thread = -(-chunks // min(THREADS, chunks))
    return [(low * CHUNK, min(runs, (low + per_thread) * CHUNK)) for low in range(0, chunks, per_thread)]


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
        self.lr = np.array(np.broadcast_to(opt.hparams["lr"], runs), dtype=np.float64)
        a, b = opt.schedule.coefficients(np.arange(steps))
        self.coef = np.ascontiguousarray(np.broadcast_to(np.stack([a, b], axis=-1), (steps, 2)), dtype=np.float64)
        self.noise = np.zeros((0, 2)) if noise is None else np.ascontiguousarray(noise, dtype=np.float64)
        self.bound, self.tol = float(bound), float(tol)
        full = record is True
        self.path = np.empty((steps + 1 if record else 0, 2, runs))
        self.losses = np.empty((steps + 1 if record == "path" else 0, runs))  # the race loop leaves them to finish()
        self.grads = np.empty((steps if full else 0, 2, runs))
        self.state_traces = tuple(np.empty((steps if full else 0, 2, runs)) for _ in opt.arrays)
        self.shared_trace = np.empty((steps if full else 0, len(self.shared)))
        self.diverged = np.full(runs, NEVER, dtype=np.int64)
        self.converged = np.full(runs, NEVER, dtype=np.int64)
        self.last = self.position.copy()

    def run(self) -> FusedRun:
        surf, opt = self.surf, self.opt
        runs = self.position.shape[1]
        parameters = tuple(float(v) for v in surf._shape_params.values())
        common = (self.position, self.state, self.shared, opt.hyper, self.lr, self.coef, opt.sign, self.noise,
                  parameters)
        if self.record is True:
            compiled_loop(opt, surf, race=True)(*common, self.path, self.grads, self.state_traces,
                                                self.shared_trace)
            return self
        # a tuple, so that the loop over minima unrolls; a surface without minima gets one that is never reached
        minima = tuple((float(mx), float(my)) for mx, my in surf.minima) or ((np.inf, np.inf),)
        loop = compiled_loop(opt, surf, race=False)
        # runs with equal hyperparameters (a sweep's row of learning rates) share their per-step constants
        group = (np.unique(opt.hyper, axis=0, return_inverse=True)[1].reshape(-1) if len(opt.hyper) > 1
                 else np.zeros(1, dtype=np.int64))
        common = common[:4] + (group.astype(np.int64),) + common[4:]
        args = common + (self.bound, self.tol, minima, self.path, self.losses, self.diverged, self.converged,
                         self.last)
        shares = _shares(runs)
        if len(shares) == 1 or _POOL is None:
            loop(*args, 0, runs)
        else:
            list(_POOL.map(lambda share: loop(*args, *share), shares))
        return self

    @property
    def traces(self) -> dict[str, np.ndarray]:
        out = {name: np.moveaxis(trace, 1, 2) for name, trace in zip(self.opt.arrays, self.state_traces)}
        if self.opt.spec.shared:
            shared = self.shared_trace
            out[self.opt.spec.shared] = shared[:, 0] if shared.shape[1] == 1 else shared
        return out


# ---------------------------------------------------------------------------------------------------------------
# Warming up

DEFAULT_PAGE = (("rosenbrock", "adam"), ("rosenbrock", "sgd"))  # the race explorer's defaults (optviz/ui/settings)
TRAINERS = ("adam", "sgd")  # the MNIST tab's defaults: their float32 step_ loops


def warm_up(pairs=DEFAULT_PAGE) -> Future:
    """Compile (or load from the disk cache) the race and batch loops of these (surface, optimizer) pairs, the
    MNIST tab's step_ loops and compiled passes, and every rule's loop on the generic path, in the compile thread
    (optviz.jit.in_background), once per process: the first page a server shows finds them ready. Its future."""
    return jit.in_background("warm-up", lambda: _warm(pairs))


def warm_all() -> None:
    """Compile every (surface, optimizer) pair's loops into the disk cache, in this thread: a deployment step
    (a few minutes of CPU) after which every server started from this install is warm for every pair."""
    from .optimizers import SPECS as OPTIMIZERS

    _warm([(surface, name) for surface in SURFACES for name in OPTIMIZERS])


def _warm(pairs) -> None:
    from .engine import run  # the engine imports this module
    from .optimizers import SPECS as OPTIMIZERS
    from .optimizers import optimizer

    for surface, name in pairs:
        run(surface, name, steps=2)  # the race loop
        run(surface, name, steps=2, record=False, lr=np.array([1e-3, 1e-2]))  # the batch loop
    for name in TRAINERS:  # so that a training started (and perhaps cancelled) at once is not held by a compile
        opt, params = optimizer(name), np.zeros(2, dtype=np.float32)
        opt.step_(params, params.copy(), opt.init(params))
    from .mnist.train import compile_passes
    compile_passes()
    for name in OPTIMIZERS:  # every rule on the generic path, which a new pair takes while its loop compiles
        run("linear_regression", name, steps=2)
