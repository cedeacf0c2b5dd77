"""Fused loops: a built-in surface's gradient and an optimizer's rule, compiled together over every step of a batch.

Two loops share one step (the gradients at every point, then the rule on each coordinate): the race loop records
everything (path, gradients, state) for a few runs; the batch loop serves runs, sweeps, basins and tuning. It goes
steps outer and runs inner (the inner loops walk contiguous arrays of runs and vectorize), shares the runs out
between the cores (threads: the loop releases the GIL), steps them CHUNK at a time so that a chunk's state stays in
cache through all the steps, and writes only what the caller asks for: the path, or nothing but each run's
outcome, watched as it goes (first step out of bounds, first step near a minimum, last good point). A run that
diverged is still stepped (to inf or NaN, harmlessly) so that the hot loop has no branch; its outcome was fixed at
the step it left the bound.

What a loop reads and writes is one record, `LoopArgs`, built once per optimizer's batch of runs; the loop takes
each parameter from the field of its name. This module compiles loops at their first use and knows nothing of the
engine above it or of warming up (`optviz.warmup`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from . import jit
from .jit import kernel, load, scalar, scalar_twin, store
from .optimizers import Optimizer
from .params import LR
from .surfaces import SPECS as SURFACES
from .surfaces import Surface

CHUNK = 256  # runs per piece of work: the state of a chunk stays in the core's cache for all the steps
NEVER = -1


def fusable(surf: Surface) -> bool:
    """Whether the surface's gradient is one of the built-in formulas (compiled into the loop). Typed surfaces and
    surfaces whose gradient changes from step to step (a data surface's mini-batches) are stepped in NumPy."""
    return (type(surf).step_grad is Surface.step_grad and getattr(surf, "model", None) is None
            and SURFACES.get(surf.name) is surf.spec)


def _gradients(grad: Callable) -> Callable:
    @scalar
    def gradients(xs, ys, gx, gy, sign, nx, ny, surface):
        """The surface's gradient at each point (plus the step's noise), turned round to maximize."""
        for i in range(xs.size):
            u, v = grad(xs[i], ys[i], surface)
            gx[i], gy[i] = sign * (u + nx), sign * (v + ny)
    return gradients


def _apply(rule: Callable) -> Callable:
    @scalar
    def apply(ps, gs, to, states, lrs, a, b, c):
        """The rule on one coordinate of each run, from ps to `to` (which may be ps), its learning rate a·lr + b
        (the schedule's factor and offset)."""
        for i in range(ps.size):
            to[i], s = rule(ps[i], gs[i], load(states, i), a * lrs[i] + b, c)
            store(states, i, s)
    return apply


@scalar
def _row_at(hyper, r, cycled, column, t):
    """Hyperparameter row r at step t, with the schedule's momentum in `column` where the schedule cycles one."""
    if cycled.shape[0] == 0:
        return hyper[r]
    row = hyper[r].copy()
    row[column] = cycled[t - 1]
    return row


def _race_loop(rule: Callable, prepare: Callable, grad: Callable) -> Callable:
    """Every step of a few runs with everything recorded: path, gradients, state (races, record=True)."""
    gradients = _gradients(grad)

    def run(position, state, shared, hyper, cycled, cycled_column, lr, coef, sign, noise, surface, path, grads,
            state_traces, shared_trace):
        per_row = hyper.shape[0] > 1
        x, y, state_x, state_y = position[0], position[1], load(state, 0), load(state, 1)
        gx, gy = np.empty_like(x), np.empty_like(y)
        path[0, 0], path[0, 1] = x, y
        for t in range(1, coef.shape[0] + 1):
            c, q = prepare(_row_at(hyper, 0, cycled, cycled_column, t), float(t), shared[0])
            if not per_row:
                shared[0] = shared_trace[t - 1, 0] = q
            nx, ny = (noise[t - 1, 0], noise[t - 1, 1]) if noise.shape[0] > 0 else (0.0, 0.0)
            gradients(x, y, gx, gy, sign, nx, ny, surface)
            for r in range(x.size):
                if per_row:
                    c, shared[r] = prepare(_row_at(hyper, r, cycled, cycled_column, t), float(t), shared[r])
                    shared_trace[t - 1, r] = shared[r]
                alpha = coef[t - 1, 0] * lr[r] + coef[t - 1, 1]
                # the rule on run r alone, not _apply over a one-run slice: a few runs need no vectorized loop, and
                # the slices made every race loop compile a third longer (a helper shared with _apply, for its
                # part, kept the batch loop's rules with a max or a branch from vectorizing)
                x[r], s = rule(x[r], gx[r], load(state_x, r), alpha, c)
                store(state_x, r, s)
                y[r], s = rule(y[r], gy[r], load(state_y, r), alpha, c)
                store(state_y, r, s)
                # the surface's gradient (noise included), as the generic path records it: maximize's sign (±1, so
                # exactly undone) belongs to the rule, whose formula reads θ + α·g
                grads[t - 1, 0, r], grads[t - 1, 1, r] = sign * gx[r], sign * gy[r]
                store(state_traces, (t - 1, 0, r), load(state_x, r))
                store(state_traces, (t - 1, 1, r), load(state_y, r))
            path[t, 0], path[t, 1] = x, y
    return run


def _batch_loop(rule: Callable, prepare: Callable, grad: Callable, value: Callable) -> Callable:
    """Every step of a batch of runs (a thread's share of it), watching their outcomes and recording their path
    and loss if asked (the loss while the point is at hand: afterwards it is a second pass over the whole path).

    A step is three loops over a chunk: the gradients, then the rule on every x, then on every y. Each is small
    enough for LLVM to vectorize (with both coordinates' rules in one loop, the rules that take a max, a sign or a
    branch stayed scalar: AMSGrad, Adamax, Rprop, ASGD, schedule-free at a third of their speed or less)."""
    gradients, apply = _gradients(grad), _apply(rule)

    @scalar
    def record_losses(xs, ys, losses, surface):
        for i in range(xs.size):
            losses[i] = value(xs[i], ys[i], surface)

    def run(position, state, shared, hyper, cycled, cycled_column, group, lr, coef, sign, noise, surface, bound, tol,
            minima, path, losses, diverged, converged, last, first, stop):
        recording, per_row = path.shape[0] > 0, hyper.shape[0] > 1
        x, y, state_x, state_y = position[0], position[1], load(state, 0), load(state, 1)
        for chunk in range((stop - first + CHUNK - 1) // CHUNK):
            low, high = first + chunk * CHUNK, min(stop, first + (chunk + 1) * CHUNK)
            # the chunk's runs as 1-D arrays indexed from 0: LLVM then sees distinct arrays walked in step, with no
            # negative index to wrap around, and vectorizes the loops over them
            part = slice(low, high)
            xs, ys, sx, sy, alphas = x[part], y[part], load(state_x, part), load(state_y, part), lr[part]
            dv, cv, last_x, last_y = diverged[part], converged[part], last[0][part], last[1][part]
            # two buffers, stepped from one into the other: the points one step back stay at hand for the last
            # good point of a run that diverges, without a copy
            other_x, other_y = xs.copy(), ys.copy()
            gx, gy = np.empty_like(xs), np.empty_like(ys)
            if recording:
                path[0, 0, part], path[0, 1, part] = xs, ys
                record_losses(xs, ys, losses[0, part], surface)
            _watch(xs, ys, xs, ys, 0, bound, tol, minima, dv, cv, last_x, last_y)
            q, row = shared[0], hyper[0].copy()  # the row of every run, the cycled momentum written in at each step
            for t in range(1, coef.shape[0] + 1):
                if cycled.shape[0] > 0:
                    row[cycled_column] = cycled[t - 1]
                c, q = prepare(row, float(t), q)
                if chunk == 0 and not per_row:
                    shared[0] = q
                a, b = coef[t - 1, 0], coef[t - 1, 1]
                nx, ny = (noise[t - 1, 0], noise[t - 1, 1]) if noise.shape[0] > 0 else (0.0, 0.0)
                from_x, from_y, to_x, to_y = (xs, ys, other_x, other_y) if t % 2 else (other_x, other_y, xs, ys)
                gradients(from_x, from_y, gx, gy, sign, nx, ny, surface)
                # the rule over each stretch of runs that share their constants: the whole chunk in sweeps and
                # basins; where each configuration has its own hyperparameters, each configuration's runs
                i = 0
                while i < high - low:
                    j = high - low
                    if per_row:
                        j = i + 1
                        while j < high - low and group[low + j] == group[low + i]:
                            j += 1
                        c, q_row = prepare(_row_at(hyper, low + i, cycled, cycled_column, t), float(t),
                                           shared[low + i])
                        shared[low + i:low + j] = q_row
                    runs = slice(i, j)
                    apply(from_x[runs], gx[runs], to_x[runs], load(sx, runs), alphas[runs], a, b, c)
                    apply(from_y[runs], gy[runs], to_y[runs], load(sy, runs), alphas[runs], a, b, c)
                    i = j
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


class LoopArgs(NamedTuple):
    """What a fused loop reads and writes, by name: built once per optimizer's batch of runs (`build`), and handed
    to the compiled loop by `_call`, which takes each of the loop's parameters from the field of the same name
    (never from a place in this tuple). Arrays over the runs end in an axis of R runs; the loop steps and records
    into them in place. A recording array with 0 along its first axis is not recorded."""

    # the runs, stepped in place
    position: np.ndarray  # (2, R): every run's point, its last point afterwards
    state: tuple  # the rule's state arrays (opt.arrays, in order), each (2, R)
    shared: np.ndarray  # the state of a hyperparameter row, shared by its runs (NAdam's μ-product): one per row
    # what steps them
    hyper: np.ndarray  # (1 or R, H): the hyperparameter rows the rule's per-step constants are worked out from
    cycled: np.ndarray  # (steps,): the value of hyperparameter column `cycled_column` at each step (a cyclic
    cycled_column: int  # schedule's momentum), overriding the rows; (0,) and −1 when the schedule cycles none
    group: np.ndarray  # (1 or R,) int64: runs of one group have equal rows and share those constants (batch loop)
    lr: np.ndarray  # (R,): every run's base learning rate
    coef: np.ndarray  # (steps, 2): the schedule, step t's learning rate coef[t − 1, 0]·lr + coef[t − 1, 1]
    sign: float  # 1.0, or −1.0 to maximize
    noise: np.ndarray  # (steps, 2): the gradient noise of each step, the same for every run; (0, 2) for none
    surface: tuple  # the surface's shape parameters, floats in its spec's order
    # what the batch loop watches
    bound: float  # a run beyond it in |x| or |y| (or not finite) has diverged
    tol: float  # a run within tol of a minimum has converged
    minima: tuple  # ((x, y), ...): a tuple, so that the loop over them unrolls; ((inf, inf),) for a surface with none
    # what is recorded
    path: np.ndarray  # (steps + 1, 2, R): every point (record=True or "path")
    losses: np.ndarray  # (steps + 1, R): the loss at every point (the batch loop, record="path")
    grads: np.ndarray  # (steps, 2, R): the surface's gradient each step used (the race loop)
    state_traces: tuple  # (steps, 2, R) for each state array (the race loop)
    shared_trace: np.ndarray  # (steps, rows): the shared state after each step (the race loop)
    diverged: np.ndarray  # (R,) int64: the first step out of bounds, NEVER if none (the batch loop)
    converged: np.ndarray  # (R,) int64: the first step within tol of a minimum, NEVER if none (the batch loop)
    last: np.ndarray  # (2, R): a diverged run's last point within bounds (the batch loop)

    @classmethod
    def build(cls, opt: Optimizer, surf: Surface, starts: np.ndarray, steps: int, record, tol: float,
              bound: float, noise: np.ndarray | None) -> LoopArgs:
        """The arguments of `opt`'s runs from `starts` (R, 2) on `surf`, recording what `record` asks for
        (True: everything, the race loop; "path": path and losses; False: the outcomes)."""
        runs, full = len(starts), record is True
        position = np.array(starts.T, dtype=np.float64, order="C")  # (2, R), a copy: the loop steps it
        state = opt.init(position.T)  # arrays shaped (R, 2) like the starts: their transposes are (2, R)
        shared = (np.asarray(getattr(state, opt.spec.shared), dtype=np.float64).reshape(-1).copy()
                  if opt.spec.shared else np.ones(len(opt.hyper)))
        a, b = opt.schedule.coefficients(np.arange(steps))
        # runs with equal hyperparameters (a sweep's row of learning rates) share their per-step constants
        group = (np.unique(opt.hyper, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64, copy=False)
                 if len(opt.hyper) > 1 else np.zeros(1, dtype=np.int64))
        minima = tuple(map(tuple, np.asarray(surf.minima, dtype=np.float64).reshape(-1, 2).tolist()))
        return cls(
            position=position,
            state=tuple(np.ascontiguousarray(np.asarray(getattr(state, n)).T) for n in opt.arrays),
            shared=shared,
            hyper=opt.hyper,
            cycled=np.ascontiguousarray(opt.cycled_momentum(steps), dtype=np.float64),
            cycled_column=max(opt.cycled_column, 0),
            group=group,
            lr=np.array(np.broadcast_to(opt.hparams[LR], runs), dtype=np.float64),
            coef=np.ascontiguousarray(np.broadcast_to(np.stack([a, b], axis=-1), (steps, 2)), dtype=np.float64),
            sign=opt.sign,
            noise=np.zeros((0, 2)) if noise is None else np.ascontiguousarray(noise, dtype=np.float64),
            surface=tuple(float(v) for v in surf._shape_params.values()),
            bound=float(bound),
            tol=float(tol),
            minima=minima or ((np.inf, np.inf),),
            path=np.empty((steps + 1 if record else 0, 2, runs)),
            losses=np.empty((steps + 1 if record == "path" else 0, runs)),  # the race loop leaves them to finish()
            grads=np.empty((steps if full else 0, 2, runs)),
            state_traces=tuple(np.empty((steps if full else 0, 2, runs)) for _ in opt.arrays),
            shared_trace=np.empty((steps if full else 0, len(shared))),
            diverged=np.full(runs, NEVER, dtype=np.int64),
            converged=np.full(runs, NEVER, dtype=np.int64),
            last=position.copy(),
        )


def _call(loop: Callable, args: LoopArgs, **share: int) -> None:
    """Run a compiled fused loop, each of its parameters taken from the field of `args` of the same name, and its
    last ones from `share` (the batch loop's `first` and `stop`: the runs a thread steps): the one place where the
    record becomes the loop's positional parameters."""
    names = _parameters(loop)
    fields = names[:len(names) - len(share)]
    loop(*attrgetter(*fields)(args), *(share[name] for name in names[len(fields):]))


def _parameters(loop: Callable) -> tuple[str, ...]:
    """The names of a compiled loop's parameters, in order."""
    code = loop.py_func.__code__
    return code.co_varnames[:code.co_argcount]


class FusedRun:
    """One optimizer's batch of runs on a built-in surface, stepped by the fused loop.

    `args` (LoopArgs) holds the runs; after `run()`, with `record`, their `path` (steps+1, 2, R), `grads`
    (steps, 2, R) and state traces, read as `traces`: {name: (steps, R, 2)} (and NAdam's μ-product, (steps, R) or
    (steps,)); without, their `position` at the end, `diverged`, `converged` (R,) and `last` (2, R).
    """

    def __init__(self, opt: Optimizer, surf: Surface, starts: np.ndarray, steps: int, record, tol: float,
                 bound: float, noise: np.ndarray | None):
        self.opt, self.surf, self.steps, self.record = opt, surf, steps, record
        self.args = LoopArgs.build(opt, surf, starts, steps, record, tol, bound, noise)

    def run(self) -> FusedRun:
        if self.record is True:
            _call(compiled_loop(self.opt, self.surf, race=True), self.args)
            return self
        loop = compiled_loop(self.opt, self.surf, race=False)
        runs = self.args.position.shape[1]
        shares = _shares(runs)
        if len(shares) == 1 or _POOL is None:
            _call(loop, self.args, first=0, stop=runs)
        else:
            list(_POOL.map(lambda share: _call(loop, self.args, first=share[0], stop=share[1]), shares))
        return self

    @property
    def traces(self) -> dict[str, np.ndarray]:
        out = {name: np.moveaxis(trace, 1, 2) for name, trace in zip(self.opt.arrays, self.args.state_traces)}
        if self.opt.spec.shared:
            shared = self.args.shared_trace
            out[self.opt.spec.shared] = shared[:, 0] if shared.shape[1] == 1 else shared
        return out

