"""The trajectory engine: optimizers racing on a surface, one run or thousands at once.

    traj = run("rosenbrock", "adam", start=(-1.5, 2.0), steps=500, lr=0.01)
    traj.path, traj.loss, traj.grad, traj.lr, traj.trace["m"], traj.diverged_at
    races = race("saddle", ["adam", "sgd", "momentum"], steps=300, hparams={"sgd": {"lr": 0.05}})

All optimizers of a race advance in lockstep and share one surface evaluation per step; a batch of N starts
or N hyperparameter settings is one array of N rows. Divergence never raises: a run that leaves the surface's
bound or becomes non-finite is padded with NaN from that step on, and `diverged_at` says where.

The engine dispatches on each optimizer's kind (its spec's `kind`): element-wise rules go through the compiled
loops below; the others (Newton, SAM, Lookahead, L-BFGS: optviz.second_order) evaluate the surface themselves,
step by step (optviz.vector_race), and count the gradients they evaluate. `traj.evaluations` says how many each
point had cost, and race(..., align="evaluations") gives every contestant the same number of gradient
evaluations instead of the same number of steps, each trajectory indexed by evaluations (per_evaluation).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .fused import NEVER, FusedRun, fusable, ready
from .optimizers import ELEMENTWISE, Optimizer
from .schedules import Schedule
from .second_order import VectorOptimizer
from .second_order import optimizer as make_optimizer
from .surfaces import Surface
from .surfaces import surface as make_surface
from .vector_race import simulate as simulate_vectors

CHUNK = 50  # steps between divergence/convergence checks when only the outcome is recorded
LOSS_AT_END_POINTS = 2**20  # up to this many recorded points (races), losses are evaluated once at the end
MEMORY_BUDGET = 2**29  # bytes a recorded run may take (512 MiB): more is refused instead of swapping
ALIGNMENTS = ("steps", "evaluations")  # what `steps` counts in a race: steps, or gradient evaluations


@dataclass(frozen=True)
class Entry:
    """One contestant of a race: an optimizer with its settings and a label for the legend.

    `surface_params` set the race surface's sampling parameters for this contestant alone (a data surface's
    batch_size: one optimizer at three batch sizes races as three entries); the loss itself is shared.
    """

    optimizer: str
    hparams: dict[str, Any] = field(default_factory=dict)
    schedule: Schedule | None = None
    label: str | None = None
    surface_params: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Optimizer | VectorOptimizer:
        return make_optimizer(self.optimizer, schedule=self.schedule, **self.hparams)


@dataclass
class Trajectory:
    """One optimizer's run (or batch of runs) on a surface.

    Batched runs (N starts or N hyperparameter settings) have an extra axis of length N after the step axis;
    their `diverged_at` and `converged_at` are arrays with -1 for "never".
    """

    label: str
    optimizer: Optimizer | VectorOptimizer
    surface: Surface
    final: np.ndarray  # (2,) or (N, 2): last finite position
    final_loss: np.ndarray
    diverged_at: Any  # first step whose position or loss is non-finite or out of bounds; None if never
    converged_at: Any  # first step within `tol` of a listed minimum; None if never
    path: np.ndarray | None = None  # (steps+1, 2)
    loss: np.ndarray | None = None  # (steps+1,)
    grad: np.ndarray | None = None  # (steps, 2): the gradient each step used (noise included)
    lr: np.ndarray | None = None  # (steps,): learning rate after the schedule
    trace: dict[str, np.ndarray] = field(default_factory=dict)  # state and derived quantities after each step
    evaluations: np.ndarray | None = None  # (steps+1,): the gradient evaluations spent by the time of each point
    # what each step recorded per inner iteration (L-BFGS: "iterates" (steps, max_iter, 2) and "evaluations"
    # (steps, max_iter), NaN past a step's last iteration)
    inner: dict[str, np.ndarray] = field(default_factory=dict)
    unit: str = "step"  # what one point of the path counts: a step, or a gradient "evaluation" (per_evaluation)

    @property
    def steps(self) -> int:
        return 0 if self.grad is None else len(self.grad)


def run(surface, optimizer, start=None, steps: int = 500, *, schedule: Schedule | None = None,
        record=None, tol: float = 1e-3, bound: float | None = None, compile_in_background: bool = False,
        **hparams) -> Trajectory:
    """Run one optimizer from `start` (2,) or a batch of starts (N, 2), hyperparameters scalars or (N,) arrays.

    record=True keeps path, loss, gradients, learning rates and state traces; "path" only path and loss;
    False only the outcome (final point and loss, convergence and divergence steps), as sweeps need. The default
    is True for one run and "path" for a batch; a recording over MEMORY_BUDGET raises ValueError.
    A run has diverged once |x| or |y| exceeds `bound` (default: the surface's, far outside its window).
    compile_in_background: as race's.
    """
    opt = optimizer if isinstance(optimizer, (Optimizer, VectorOptimizer)) else make_optimizer(
        optimizer, schedule=schedule, **hparams)
    return _simulate(_as_surface(surface), [(opt.name, opt)], start, steps, record, tol, bound,
                     compile_in_background=compile_in_background)[0]


def race(surface, optimizers: Iterable, start=None, steps: int = 500, *, hparams: dict | None = None,
         record=True, tol: float = 1e-3, compile_in_background: bool = False, align: str = "steps"
         ) -> dict[str, Trajectory]:
    """Race several optimizers from the same start: names, Entry objects or Optimizer objects.

    align="steps" gives every contestant `steps` steps; align="evaluations" gives each `steps` gradient
    evaluations instead, and indexes every trajectory by them (per_evaluation): point k is where it stood after k
    evaluations, so SAM (two per step) moves every other point and L-BFGS holds while its line search evaluates.
    Every trajectory's `evaluations` counts them.

    `hparams` maps an optimizer name (or an entry's label) to settings applied on top of that entry's own.
    Labels are unique: a second "adam" is labelled "adam (2)" unless its Entry names it.
    compile_in_background=True (the app) races at once, the same numbers, on a fresh install too: a pair whose
    fused loop is not compiled yet by the generic path, each rule whose loop there is not compiled yet by its Python
    source, while those loops compile in the background for the next race.
    """
    surf = _as_surface(surface)
    contestants, surfaces = [], []
    for item in optimizers:
        if isinstance(item, (Optimizer, VectorOptimizer)):
            label, opt, own = item.name, item, {}
        else:
            entry = Entry(item) if isinstance(item, str) else item
            extra = (hparams or {}).get(entry.label or entry.optimizer, {})
            opt = Entry(entry.optimizer, {**entry.hparams, **extra}, entry.schedule).build()
            label, own = entry.label or entry.optimizer, entry.surface_params
        contestants.append((_unique(label, [c[0] for c in contestants]), opt))
        surfaces.append(_entry_surface(surf, own, label))
    if not contestants:
        raise ValueError("a race needs at least one optimizer")
    if align not in ALIGNMENTS:
        raise ValueError(f"align must be one of {', '.join(ALIGNMENTS)}, got {align!r}")
    by_evaluations = align == "evaluations"
    runs = _simulate(surf, contestants, start, steps, record, tol, surfaces=surfaces,
                     compile_in_background=compile_in_background, budget=steps if by_evaluations else None)
    if by_evaluations and record is not False:
        runs = [per_evaluation(traj, steps) for traj in runs]
    return {traj.label: traj for traj in runs}


def per_evaluation(traj: Trajectory, evaluations: int) -> Trajectory:
    """The run indexed by gradient evaluations instead of steps: point k is the last point it had reached after k
    evaluations (a step that overran k is not taken yet), for k = 0 … `evaluations`. What a step recorded (its
    gradient, rate, traces, inner iterates) follows the step that point was reached by (NaN before the first);
    diverged_at and converged_at count evaluations. One run (not a batch), recorded with its evaluations."""
    if traj.evaluations is None or traj.path is None or traj.path.ndim != 2:
        raise ValueError("per_evaluation takes one recorded run (record=True or \"path\") and its evaluations")
    spent = traj.evaluations[np.searchsorted(traj.evaluations, np.arange(evaluations + 1), side="right") - 1]
    reached = np.searchsorted(traj.evaluations, spent)  # the step that spent them, not a point held after it
    by_step = np.maximum(reached - 1, 0)

    def step_wise(values: np.ndarray) -> np.ndarray:
        taken = np.asarray(values, dtype=float)[by_step[1:]]
        taken[reached[1:] == 0] = np.nan
        return taken

    def at_evaluations(step):
        frame = None if step is None else int(np.searchsorted(reached, step))
        return frame if frame is not None and frame <= evaluations else None

    last = int(reached[-1])
    return replace(traj, path=traj.path[reached], loss=traj.loss[reached], evaluations=traj.evaluations[reached],
                   final=traj.path[last] if traj.diverged_at is None else traj.final,
                   final_loss=float(traj.loss[last]) if traj.diverged_at is None else traj.final_loss,
                   diverged_at=at_evaluations(traj.diverged_at), converged_at=at_evaluations(traj.converged_at),
                   grad=None if traj.grad is None else step_wise(traj.grad),
                   lr=None if traj.lr is None else step_wise(traj.lr),
                   trace={name: step_wise(v) for name, v in traj.trace.items()},
                   inner={name: step_wise(v) for name, v in traj.inner.items()}, unit="evaluation")


def _entry_surface(surf: Surface, params: dict[str, Any], label: str) -> Surface:
    """The race surface with an entry's own sampling parameters (only those its spec lets an entry set)."""
    refused = sorted(set(params) - set(surf.spec.per_entry))
    if refused:
        allowed = ", ".join(surf.spec.per_entry) or "none"
        raise ValueError(f"{label}: a race entry cannot set the surface parameter {refused[0]!r} on {surf.title} "
                         f"(it may set: {allowed})")
    return surf.with_params(**params)


def _unique(label: str, taken: list[str]) -> str:
    candidate, n = label, 1
    while candidate in taken:
        n += 1
        candidate = f"{label} ({n})"
    return candidate


def _as_surface(surface) -> Surface:
    return surface if isinstance(surface, Surface) else make_surface(surface)


def _validate_run(surf: Surface, start, steps, tol) -> tuple[np.ndarray, bool]:
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or not 1 <= steps <= 1_000_000:
        raise ValueError(f"steps must be an integer in [1, 1000000], got {steps!r}")
    if not (np.isscalar(tol) and np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    starts = np.array(surf.start if start is None else start, dtype=float)
    batched = starts.ndim == 2
    starts = starts.reshape(-1, 2) if starts.shape[-1:] == (2,) and starts.ndim in (1, 2) else None
    if starts is None or not np.isfinite(starts).all():
        raise ValueError(f"start must be a finite point (x, y) or an array of points (N, 2), got {start!r}")
    return starts, batched


def _simulate(surf: Surface, contestants: list[tuple[str, Optimizer | VectorOptimizer]], start, steps: int, record,
              tol: float, bound: float | None = None, surfaces: list[Surface] | None = None,
              compile_in_background: bool = False, budget: int | None = None) -> list[Trajectory]:
    """Run the contestants on `surf`, dispatching on their kind: the element-wise ones in lockstep through the
    compiled loops, the others each by its own steps (`budget`: gradient evaluations each of those may spend);
    `surfaces` (one per contestant, the same loss) may give some of them their own gradient sampling, e.g. their
    own batch size. The trajectories come back in the contestants' order."""
    surfaces = surfaces or [surf] * len(contestants)
    vector = [opt.spec.kind != ELEMENTWISE for _, opt in contestants]  # stepped by their own steps
    runs: list[Trajectory | None] = [None] * len(contestants)
    if not all(vector):
        chosen = [i for i, v in enumerate(vector) if not v]
        done = _simulate_elementwise(surf, [contestants[i] for i in chosen], start, steps, record, tol, bound,
                                     [surfaces[i] for i in chosen], compile_in_background)
        for i, traj in zip(chosen, done):
            if record is not False:  # an element-wise rule evaluates one gradient per step
                traj.evaluations = np.broadcast_to(np.arange(steps + 1).reshape((-1,) + (1,) * (traj.path.ndim - 2)),
                                                   traj.path.shape[:-1])
            runs[i] = traj
    for i in (i for i, v in enumerate(vector) if v):
        runs[i] = _simulate_stepped(surfaces[i], contestants[i], start, steps, record, tol, bound, budget)
    return runs


def _simulate_stepped(surf: Surface, contestant: tuple[str, VectorOptimizer], start, steps: int, record, tol: float,
                      bound: float | None, budget: int | None) -> Trajectory:
    """One contestant that is not element-wise, by its own steps (vector_race), recorded as the fused loops'."""
    starts, batched = _validate_run(surf, start, steps, tol)
    if bound is not None and not (np.isscalar(bound) and bound > 0):
        raise ValueError(f"bound must be a positive number, got {bound!r}")
    if record is not None and record not in RECORD_MODES:
        raise ValueError(f"record must be one of {RECORD_MODES}, got {record!r}")
    record = ("path" if batched else True) if record is None else record
    _check_memory([contestant], len(starts), steps, record)
    bound = bound or surf.bound
    history = simulate_vectors(surf, contestant[1], starts, steps, surf.gradient_noise(steps), bound, budget)
    recorder = _Recorder.recorded(surf, tol, record or "path", bound, history.points, history.grads,
                                  [history.traces])
    with np.errstate(all="ignore"):
        (traj,) = recorder.finish([contestant], [slice(0, len(starts))], batched)
    if record is False:
        traj.path = traj.loss = None
    else:
        _squeeze_into(traj, batched, evaluations=history.evaluations,
                      **({"inner": history.inner} if record is True else {}))
    return traj


def _simulate_elementwise(surf: Surface, contestants: list[tuple[str, Optimizer]], start, steps: int, record,
                          tol: float, bound: float | None = None, surfaces: list[Surface] | None = None,
                          compile_in_background: bool = False) -> list[Trajectory]:
    """Run the element-wise contestants in lockstep on `surf` (see _simulate)."""
    starts, batched = _validate_run(surf, start, steps, tol)
    if bound is not None and not (np.isscalar(bound) and bound > 0):
        raise ValueError(f"bound must be a positive number, got {bound!r}")
    if record is not None and record not in RECORD_MODES:
        raise ValueError(f"record must be one of {RECORD_MODES}, got {record!r}")
    n = len(starts)
    sizes = {opt.batch for _, opt in contestants if opt.batch not in (None, 1)}
    if sizes and (len(sizes) > 1 or (n != 1 and sizes != {n})):
        raise ValueError(f"hyperparameter arrays have length {sorted(sizes)}, but there are {n} start points")
    if sizes and n == 1:
        n, batched = sizes.pop(), True
        starts = np.repeat(starts, n, axis=0)
    if record is None:
        record = "path" if batched else True
    _check_memory(contestants, n, steps, record)
    bound = bound or surf.bound
    if fusable(surf) and (not compile_in_background or ready(
            [opt for _, opt in contestants], surf, record is True,
            lambda: _simulate_fused(surf, contestants, starts, n, batched, 1, record, tol, bound))):
        return _simulate_fused(surf, contestants, starts, n, batched, steps, record, tol, bound)
    # The generic path (typed surfaces, gradients computed per step): the gradient from NumPy, then each
    # contestant's compiled rule (in the background, its Python source until it is compiled). C order, so that each
    # contestant's block of rows is one contiguous array.
    position = np.array(np.tile(starts, (len(contestants), 1)), order="C")
    blocks = [slice(i * n, (i + 1) * n) for i in range(len(contestants))]
    states = [opt.init(position[b]) for (_, opt), b in zip(contestants, blocks)]
    recorder = _Recorder(surf, states, position, steps, tol, record, bound)
    noise = surf.gradient_noise(steps)
    grad = np.empty_like(position)
    steppers = [opt.stepper(position[b], grad[b], state, steps, compile_in_background)
                for (_, opt), b, state in zip(contestants, blocks, recorder.states)]
    gradients = _gradient_groups(surf, surfaces or [surf] * len(contestants), blocks, position, grad)
    with np.errstate(all="ignore"):  # divergence is an outcome here, not an error
        for t in range(1, steps + 1):
            for step_grad, x, y, grad_x, grad_y in gradients:
                grad_x[...], grad_y[...] = step_grad(x, y, t)
            if noise is not None:
                grad += noise[t - 1]
            for step in steppers:
                step(t)
            recorder.record(t, position, grad)
        runs = recorder.finish(contestants, blocks, batched)
    for traj, own in zip(runs, surfaces or []):
        traj.surface = own  # its batch size, for counting epochs
    return runs


def _gradient_groups(surf: Surface, surfaces: list[Surface], blocks: list[slice], position, grad) -> list[tuple]:
    """(step_grad, x, y, grad_x, grad_y) views: one call for every row when all contestants share the race's
    surface (the usual case), else one per contestant."""
    def views(rows):
        return position[rows, 0], position[rows, 1], grad[rows, 0], grad[rows, 1]

    if all(s is surf for s in surfaces):
        return [(surf.step_grad, *views(slice(None)))]
    return [(s.step_grad, *views(rows)) for s, rows in zip(surfaces, blocks)]


RECORD_MODES = (True, "path", False)


def _check_memory(contestants, runs: int, steps: int, record) -> None:
    """Refuse a recording that would not fit MEMORY_BUDGET: every step of every run keeps its point and loss, and
    with record=True its gradient, state and the derived traces (about 16 + 2·state numbers)."""
    if record is False:
        return
    per_point = 4 + (12 + 2 * max(len(opt.State._fields) for _, opt in contestants) if record is True else 0)
    needed = 8 * per_point * runs * len(contestants) * (steps + 1)
    if needed > MEMORY_BUDGET:
        raise ValueError(f"recording {'everything' if record is True else 'the path'} of {runs * len(contestants):,} "
                         f"runs × {steps:,} steps would take about {needed / 2**30:.1f} GB, more than the "
                         f"{MEMORY_BUDGET / 2**30:.1f} GB allowed: record='path' keeps only positions and losses, "
                         f"record=False only each run's outcome, or use fewer runs or steps")


def _simulate_fused(surf: Surface, contestants, starts, n: int, batched: bool, steps: int, record, tol: float,
                    bound: float) -> list[Trajectory]:
    """Each contestant's runs in one compiled loop (the noisy quadratic's noise is drawn once and shared by all)."""
    with np.errstate(all="ignore"):  # divergence is an outcome here, not an error
        return _fused_trajectories(surf, contestants, starts, n, batched, steps, record, tol, bound)


def _fused_trajectories(surf, contestants, starts, n, batched, steps, record, tol, bound) -> list[Trajectory]:
    noise = surf.gradient_noise(steps)
    done = [FusedRun(opt, surf, starts, steps, record, tol, bound, noise).run() for _, opt in contestants]
    runs = [r.args for r in done]  # each contestant's LoopArgs, stepped and recorded
    blocks = [slice(i * n, (i + 1) * n) for i in range(len(contestants))]
    if record is False:
        diverged, converged = np.concatenate([r.diverged for r in runs]), np.concatenate([r.converged for r in runs])
        # the runs that never diverged end where they stopped; the others at their last good point
        last = np.concatenate([np.where(r.diverged[:, None] == NEVER, r.position.T, r.last.T) for r in runs])
        final_loss = surf.value(last[:, 0], last[:, 1])
        return [_trajectory(label, opt, surf, batched, block, last, final_loss, diverged, converged)
                for (label, opt), block in zip(contestants, blocks)]
    def joined(arrays, axis=2):
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=axis)

    recorder = _Recorder.recorded(surf, tol, record, bound, joined([r.path for r in runs]),
                                  joined([r.grads for r in runs]), [r.traces for r in done])
    if record == "path":  # the batch loop watched the outcomes and took the losses as it went: no second pass
        recorder.diverged = np.concatenate([r.diverged for r in runs])
        recorder.converged = np.concatenate([r.converged for r in runs])
        recorder.losses = joined([r.losses for r in runs], axis=1)
        recorder.watched = recorder.loss_each_step = True
    return recorder.finish(contestants, blocks, batched)


class _Recorder:
    """Watches a run: first divergence and convergence steps always; path, gradients and state on request.

    record=True keeps everything, "path" the positions and losses, False only the outcome (what sweeps need).
    Positions are buffered as (steps, 2, rows) and checked in one vectorized pass per chunk of steps; without
    a recorded path the buffer is a rolling chunk of CHUNK steps.
    """

    def __init__(self, surf: Surface, states, position, steps: int, tol: float, record, bound: float):
        self.surf, self.tol, self.mode, self.states, self.bound = surf, tol, record, states, bound
        rows = len(position)
        self.points = np.empty((steps + 1 if record else min(CHUNK, steps) + 1, 2, rows))
        self.points[0] = position.T
        self.filled, self.checked = 1, 0  # buffer rows written; steps checked before the buffer's first row
        self.diverged, self.converged = np.full(rows, -1), np.full(rows, -1)
        self.last_good = position.copy()
        # A few runs: one call on the whole path at the end beats a call per step on a few numbers. Many runs or
        # very long ones: a call per step on arrays still in cache beats temporaries the size of the whole path.
        self.loss_each_step = bool(record) and rows * (steps + 1) > LOSS_AT_END_POINTS
        if self.loss_each_step:
            self.losses = np.empty((steps + 1, rows))
            self.losses[0] = surf.value(position[:, 0], position[:, 1])
        if record is True:
            self.grads = np.empty((steps, 2, rows))
            self._pack_states(steps)

    @classmethod
    def recorded(cls, surf: Surface, tol: float, record, bound: float, points, grads, traces) -> _Recorder:
        """A recorder over a history recorded elsewhere (the fused loops): points (steps+1, 2, rows), gradients
        (steps, 2, rows) and one {name: trace} per contestant, ready for finish()."""
        self = cls.__new__(cls)
        self.surf, self.tol, self.mode, self.bound = surf, tol, record, bound
        self.points, self.grads, self.traces = points, grads, traces
        rows = points.shape[2]
        self.diverged, self.converged = np.full(rows, -1), np.full(rows, -1)
        self.last_good = points[0].T.copy()
        self.loss_each_step, self.watched = False, False
        return self

    def _pack_states(self, steps: int) -> None:
        """Make every state array a view into one flat arena, so one copy per step records all of them."""
        self.arena = np.concatenate([np.ravel(a) for s in self.states for a in s[1:]] or [np.empty(0)])
        self.arena_trace = np.empty((steps, self.arena.size))
        packed, self.traces, offset = [], [], 0
        for state in self.states:
            views, trace = {}, {}
            for name in state._fields[1:]:
                shape = np.shape(getattr(state, name))
                size = int(np.prod(shape))
                views[name] = self.arena[offset:offset + size].reshape(shape)
                trace[name] = self.arena_trace[:, offset:offset + size].reshape((steps,) + shape)
                offset += size
            packed.append(state._replace(**views))
            self.traces.append(trace)
        self.states = packed

    def record(self, t: int, position: np.ndarray, grad: np.ndarray) -> None:
        self.points[self.filled] = position.T
        self.filled += 1
        if self.loss_each_step:
            self.losses[t] = self.surf.value(position[:, 0], position[:, 1])
        if self.mode is True:
            self.grads[t - 1] = grad.T
            self.arena_trace[t - 1] = self.arena
        elif self.mode is False and self.filled == len(self.points):
            self._check_chunk()

    def _check_chunk(self) -> None:
        """Check the buffered steps, then keep the last one as the first row of the next chunk."""
        self._check(self.points[: self.filled], self.checked)
        if self.mode is False:
            self.checked += self.filled - 1
            self.points[0] = self.points[self.filled - 1]
            self.filled = 1

    def _check(self, points: np.ndarray, first_step: int) -> None:
        """First divergence and convergence steps from points (k, 2, rows) taken at steps first_step, ...

        Each run's bounding box over the chunk (four reductions; NaN propagates through them) tells which runs
        left the bound or came near a minimum somewhere in it; only those few are searched step by step.
        """
        x, y = points[:, 0], points[:, 1]
        low_x, high_x, low_y, high_y = x.min(axis=0), x.max(axis=0), y.min(axis=0), y.max(axis=0)
        extent = np.maximum(np.maximum(-low_x, high_x), np.maximum(-low_y, high_y))
        suspects = np.flatnonzero(~(extent <= self.bound) & (self.diverged < 0))
        if suspects.size:
            chunk = points[:, :, suspects]
            first = np.argmax(~(np.abs(chunk) <= self.bound).all(axis=1), axis=0)
            self.diverged[suspects] = first_step + first
            before = first - 1  # the last good point, where it lies in this chunk
            in_chunk = before >= 0
            self.last_good[suspects[in_chunk]] = chunk[before[in_chunk], :, np.flatnonzero(in_chunk)]
        alive = self.diverged < 0
        self.last_good[alive] = points[-1].T[alive]
        tol, never = self.tol, len(points)
        first = np.full(len(extent), never)
        for mx, my in self.surf.minima:  # the first step near any minimum: the earliest over all of them
            close = (low_x <= mx + tol) & (high_x >= mx - tol) & (low_y <= my + tol) & (high_y >= my - tol)
            candidates = np.flatnonzero(close & (self.converged < 0))
            if candidates.size:
                dx, dy = x[:, candidates] - mx, y[:, candidates] - my
                near = dx * dx + dy * dy <= tol * tol
                steps = np.where(near.any(axis=0), np.argmax(near, axis=0), never)
                first[candidates] = np.minimum(first[candidates], steps)
        found = first < never
        self.converged[found] = first_step + first[found]

    def finish(self, contestants, blocks, batched: bool) -> list[Trajectory]:
        if self.mode is False:
            if self.filled > 1:
                self._check_chunk()
            self._drop_convergence_after_divergence()
            final_loss = self.surf.value(self.last_good[:, 0], self.last_good[:, 1])
            return [_trajectory(label, opt, self.surf, batched, block, self.last_good, final_loss, self.diverged,
                                self.converged) for (label, opt), block in zip(contestants, blocks)]
        if not getattr(self, "watched", False):
            self._check(self.points, 0)
        if not self.loss_each_step:
            self.losses = self.surf.value(self.points[:, 0], self.points[:, 1])
        path, loss = np.moveaxis(self.points, 1, 2), self.losses  # (steps+1, rows, 2), (steps+1, rows)
        self._diverged_where_loss_is_not_finite(loss)
        self._drop_convergence_after_divergence()
        steps, rows = len(path) - 1, path.shape[1]
        after = np.arange(steps + 1)[:, None] >= np.where(self.diverged < 0, steps + 1, self.diverged)
        dead = np.flatnonzero(self.diverged >= 0)
        if dead.size:  # NaN from the divergence step on, touching only the runs that diverged
            for array in (path, loss):
                part = array[:, dead]
                part[after[:, dead]] = np.nan
                array[:, dead] = part
        last = np.where(self.diverged < 0, steps, self.diverged - 1)
        final, final_loss = path[last, np.arange(rows)], loss[last, np.arange(rows)]
        out = []
        for i, ((label, opt), block) in enumerate(zip(contestants, blocks)):
            traj = _trajectory(label, opt, self.surf, batched, block, final, final_loss, self.diverged, self.converged)
            arrays = {"path": path[:, block], "loss": loss[:, block]}
            if self.mode is True:
                arrays.update(self._traces(opt, i, block, after[1:, block]))
            _squeeze_into(traj, batched, **arrays)
            out.append(traj)
        return out

    def _traces(self, opt: Optimizer | VectorOptimizer, index: int, block: slice, dead: np.ndarray) -> dict:
        grad = np.moveaxis(self.grads, 1, 2)[:, block]
        grad[dead] = np.nan  # (only full recordings come here: races and small batches, so a plain mask will do)
        steps = len(grad)
        lr = np.broadcast_to(opt.lr_at(np.arange(1, steps + 1)[:, None]), (steps, block.stop - block.start))
        trace = self.traces[index]
        for values in trace.values():
            if values.shape[:2] == dead.shape:
                values[dead] = np.nan
        path = np.moveaxis(self.points, 1, 2)[:, block]
        trace["update"] = np.diff(path, axis=0)
        trace.update(derived_traces(opt, trace, lr))
        return dict(grad=grad, lr=lr.astype(float), trace=trace)  # Trajectory's fields

    def _diverged_where_loss_is_not_finite(self, loss: np.ndarray) -> None:
        """A finite point can still have a non-finite loss (overflow): that step counts as divergence too."""
        columns = np.flatnonzero(~np.isfinite(loss).all(axis=0))
        if columns.size:
            first = np.argmax(~np.isfinite(loss[:, columns]), axis=0)
            known = self.diverged[columns]
            self.diverged[columns] = np.where(known < 0, first, np.minimum(known, first))

    def _drop_convergence_after_divergence(self) -> None:
        late = (self.diverged >= 0) & (self.converged >= self.diverged)
        self.converged[late] = -1


def _trajectory(label, opt, surf, batched, block, final, final_loss, diverged, converged) -> Trajectory:
    def outcome(steps):
        steps = steps[block]
        return steps if batched else (None if steps[0] < 0 else int(steps[0]))

    return Trajectory(label, opt, surf, final[block] if batched else final[block][0],
                      final_loss[block] if batched else float(final_loss[block][0]),
                      outcome(diverged), outcome(converged))


def _squeeze_into(traj: Trajectory, batched: bool, **arrays) -> None:
    """Store the recorded arrays, dropping the run axis of a single run."""
    def squeeze(a):
        return a if batched or a.ndim < 2 else a[:, 0]

    for name, value in arrays.items():
        setattr(traj, name, {k: squeeze(v) for k, v in value.items()} if isinstance(value, dict) else squeeze(value))


def derived_traces(opt: Optimizer | VectorOptimizer, trace: dict[str, np.ndarray],
                   lr: np.ndarray) -> dict[str, np.ndarray]:
    """What the optimizer's catalogue entry works out from its recorded state (its diagnostics: the Adam family's
    bias-corrected moments and effective step)."""
    return opt.spec.diagnose(trace, lr, opt.hparams)
