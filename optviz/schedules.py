"""Learning-rate schedules: plain functions of the step count, matching torch.optim.lr_scheduler.

A schedule maps (base learning rate, t) to the learning rate used at optimizer step t + 1, where t counts
scheduler steps from 0 exactly like torch's `last_epoch`. The base rate may be an array (one per configuration).
Every schedule can be preceded by a linear warm-up to its starting rate (torch's SequentialLR of LinearLR and the
schedule).

The cyclic schedules (CyclicLR, OneCycleLR) also cycle the momentum, as torch does by default: the optimizer's
hyperparameter with the momentum role (SGD's μ, Adam's β₁) follows `Schedule.momentum(t)` instead of its own
value. An optimizer without one keeps its rule (torch would refuse it; a race of several optimizers should not).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .params import Param, lookup, resolve_scalars


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    title: str
    params: tuple[Param, ...]
    latex: str
    factor: Callable  # (base_lr, t, **params) -> lr
    momentum: Callable | None = None  # (t, **params) -> momentum, or None when params switch the cycling off
    # (base_lr, **params) -> the rate a warm-up rises to: torch's initial_lr, the base rate but for OneCycleLR's α/d
    warmup_target: Callable | None = None
    check: Callable | None = None  # (**params) -> what is wrong with them together, in words, or None


def _steps_param(name: str, symbol: str, default: int, meaning: str, low: int = 1) -> Param:
    return Param(name, symbol, default, meaning, low=low, high=1e9, kind="int")


def _gamma(default: float) -> Param:
    return Param("gamma", r"\gamma", default, "multiplicative decay factor", low=0.0, high=1.0, low_open=True)


def _cosine(base, t, t_max, eta_min):
    return eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2


def _linear(base, t, start_factor, end_factor, total_iters):
    return base * (start_factor + (end_factor - start_factor) * np.minimum(t, total_iters) / total_iters)


def _cyclic_share(t, step_size_up, step_size_down, mode, gamma):
    """CyclicLR's share of the way from the base to the maximum at step t: a triangle wave of period up + down,
    halved every cycle (triangular2) or scaled by γᵗ (exp_range)."""
    total = float(step_size_up + (step_size_down or step_size_up))
    ratio = step_size_up / total
    cycle = np.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    share = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
    if mode == "triangular2":
        return share * (1 / 2.0 ** (cycle - 1))
    return share * (gamma ** t if mode == "exp_range" else 1.0)


def _cyclic(base, t, max_lr, step_size_up, step_size_down, mode, gamma, **momentum):
    return base + (max_lr - base) * _cyclic_share(t, step_size_up, step_size_down, mode, gamma)


def _cyclic_momentum(t, step_size_up, step_size_down, mode, gamma, cycle_momentum, base_momentum, max_momentum,
                     **lr):
    if not cycle_momentum:
        return None
    return max_momentum - (max_momentum - base_momentum) * _cyclic_share(t, step_size_up, step_size_down, mode, gamma)


def _anneal(start, end, share, strategy):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (np.cos(np.pi * share) + 1)
    return (end - start) * share + start


def _one_cycle_phases(total_steps, pct_start, three_phase):
    """(last step, index of the starting level, index of the ending level) of each phase, as OneCycleLR lays them
    out; the levels are (initial, peak, final)."""
    if three_phase:
        return ((pct_start * total_steps - 1, 0, 1), (2 * pct_start * total_steps - 2, 1, 0), (total_steps - 1, 0, 2))
    return (pct_start * total_steps - 1, 0, 1), (total_steps - 1, 1, 2)


def _one_cycle_value(t, levels, total_steps, pct_start, anneal_strategy, three_phase):
    """OneCycleLR's interpolation between `levels` at step t; from the cycle's last step on, its last value (torch
    refuses to go on: its final scheduler step, total_steps, is computed after the last optimizer step and never
    used)."""
    t = np.minimum(t, total_steps - 1)
    out, start, done = np.zeros(np.shape(t)), 0.0, np.zeros(np.shape(t), dtype=bool)
    phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    for i, (end, first, last) in enumerate(phases):
        here = ~done & ((t <= end) | (i == len(phases) - 1))
        out = np.where(here, _anneal(levels[first], levels[last], (t - start) / (end - start), anneal_strategy), out)
        done, start = done | here, end
    return out


def _one_cycle(base, t, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor, three_phase,
               **momentum):
    """The learning rate rises from α/div_factor to α (the peak: torch's max_lr), then falls to
    α/(div_factor·final_div_factor)."""
    initial = np.asarray(base) / div_factor
    levels = (initial, np.asarray(base), initial / final_div_factor)
    return _one_cycle_value(t, levels, total_steps, pct_start, anneal_strategy, three_phase)


def _one_cycle_momentum(t, total_steps, pct_start, anneal_strategy, three_phase, cycle_momentum, base_momentum,
                        max_momentum, **lr):
    if not cycle_momentum:
        return None
    levels = (max_momentum, base_momentum, max_momentum)
    return _one_cycle_value(t, levels, total_steps, pct_start, anneal_strategy, three_phase)


def _check_one_cycle(total_steps, pct_start, three_phase, **others):
    rising = pct_start * total_steps
    last_phase = total_steps - 2 * rising + 1 if three_phase else total_steps - rising  # its length in steps
    if rising <= 1 or last_phase <= 0:
        return (f"one_cycle: pct_start·total_steps = {rising:g} leaves a phase without steps; each phase needs "
                f"at least one (raise total_steps or move pct_start towards the middle)")
    return None


def _momentum_params(base: float, peak: float) -> tuple[Param, ...]:
    return (Param("cycle_momentum", "", True, "cycle the momentum (μ or β₁) against the learning rate, as torch does",
                  kind="bool"),
            Param("base_momentum", r"\mu_{lo}", base, "the momentum where the learning rate peaks", low=0.0, high=1.0),
            Param("max_momentum", r"\mu_{hi}", peak, "the momentum where the learning rate is lowest", low=0.0,
                  high=1.0))


SCHEDULES: dict[str, ScheduleSpec] = {s.name: s for s in [
    ScheduleSpec("constant", "Constant", (), r"\alpha_t = \alpha", lambda base, t: base + 0 * t),
    ScheduleSpec("step", "Step decay (StepLR)",
                 (_steps_param("step_size", "s", 100, "steps between decays"), _gamma(0.5)),
                 r"\alpha_t = \alpha\,\gamma^{\lfloor t/s \rfloor}",
                 lambda base, t, step_size, gamma: base * gamma ** (t // step_size)),
    ScheduleSpec("exponential", "Exponential (ExponentialLR)", (_gamma(0.99),), r"\alpha_t = \alpha\,\gamma^t",
                 lambda base, t, gamma: base * gamma ** t),
    ScheduleSpec("cosine", "Cosine annealing (CosineAnnealingLR)",
                 (_steps_param("t_max", "T", 500, "steps of one half cosine"),
                  Param("eta_min", r"\eta_{min}", 0.0, "learning rate at the bottom of the cosine", low=0.0)),
                 r"\alpha_t = \eta_{min} + \tfrac12(\alpha - \eta_{min})(1 + \cos(\pi t / T))", _cosine),
    ScheduleSpec("linear", "Linear (LinearLR)",
                 (Param("start_factor", "f_0", 1 / 3, "factor at step 0", low=0.0, high=1.0, low_open=True),
                  Param("end_factor", "f_1", 1.0, "factor after the ramp", low=0.0, high=1.0),
                  _steps_param("total_iters", "T", 5, "length of the ramp")),
                 r"\alpha_t = \alpha\,(f_0 + (f_1 - f_0)\min(t, T)/T)", _linear),
    ScheduleSpec("inverse_sqrt", "Inverse square root",
                 (_steps_param("timescale", r"\tau", 10, "steps before the decay sets in"),),
                 r"\alpha_t = \alpha / \sqrt{1 + t/\tau}",
                 lambda base, t, timescale: base / np.sqrt(1 + t / timescale)),
    ScheduleSpec("cyclic", "Cyclic (CyclicLR)",
                 (Param("max_lr", r"\alpha_{max}", 0.01, "the learning rate at the top of each cycle", low=0.0,
                        low_open=True, log=True),
                  _steps_param("step_size_up", "s_u", 100, "steps from the base α up to the top"),
                  _steps_param("step_size_down", "s_d", 0, "steps from the top back down (0: as many as up)", low=0),
                  Param("mode", "", "triangular", "the cycles' heights", kind="choice",
                        choices=("triangular", "triangular2", "exp_range"),
                        choice_titles=("triangular: every cycle the same", "triangular2: each cycle half as high",
                                       "exp_range: heights shrink by γᵗ")),
                  Param("gamma", r"\gamma", 1.0, "exp_range's decay per step", low=0.0, high=1.0, low_open=True))
                 + _momentum_params(0.8, 0.9),
                 r"\alpha_t = \alpha + (\alpha_{max} - \alpha)\,\mathrm{tri}(t)", _cyclic, _cyclic_momentum),
    ScheduleSpec("one_cycle", "One cycle (OneCycleLR)",
                 (_steps_param("total_steps", "T", 500, "steps of the whole cycle (then the rate stays at its end)"),
                  Param("pct_start", "p", 0.3, "the share of the cycle spent rising", low=0.0, high=1.0,
                        low_open=True, high_open=True),
                  Param("anneal_strategy", "", "cos", "how the rate moves between levels", kind="choice",
                        choices=("cos", "linear"), choice_titles=("cos: half cosines", "linear: straight lines")),
                  Param("div_factor", "d", 25.0, "the start is α/d (α is the peak)", low=1.0),
                  Param("final_div_factor", "d_f", 1e4, "the end is α/(d·d_f)", low=1.0, log=True),
                  Param("three_phase", "", False, "come back down to α/d before the final fall", kind="bool"))
                 + _momentum_params(0.85, 0.95),
                 r"\alpha_t:\ \tfrac{\alpha}{d} \nearrow \alpha \searrow \tfrac{\alpha}{d\,d_f}", _one_cycle,
                 _one_cycle_momentum, lambda base, div_factor, **others: base / div_factor, _check_one_cycle),
]}

WARMUP_PARAMS = (
    _steps_param("warmup", "W", 0, "linear warm-up steps before the schedule (0: none)", low=0),
    Param("warmup_start_factor", "w_0", 0.1, "learning-rate factor at the first warm-up step", low=0.0, high=1.0,
          low_open=True),
)


@dataclass(frozen=True)
class Schedule:
    """A schedule bound to its parameters; call it as schedule(base_lr, t)."""

    name: str = "constant"
    params: dict[str, Any] = field(default_factory=dict)
    warmup: int = 0
    warmup_start_factor: float = 0.1

    @property
    def is_constant(self) -> bool:
        return self.name == "constant" and self.warmup == 0

    def __call__(self, base, t):
        """The learning rate at scheduler step t (an int, or an array of steps that broadcasts against base)."""
        spec = SCHEDULES[self.name]
        main = spec.factor(base, np.maximum(t - self.warmup, 0), **self.params)
        if not self.warmup:
            return main
        target = spec.warmup_target(base, **self.params) if spec.warmup_target else base
        warm = _linear(target, np.minimum(t, self.warmup), self.warmup_start_factor, 1.0, self.warmup)
        return np.where(t < self.warmup, warm, main)

    def momentum(self, t):
        """The momentum at scheduler step t where the schedule cycles it (the cyclic ones), else None."""
        cycled = SCHEDULES[self.name].momentum
        if cycled is None:
            return None
        values = cycled(np.maximum(t - self.warmup, 0), **self.params)
        return None if values is None else np.broadcast_to(values, np.shape(t)).astype(float)

    def coefficients(self, t):
        """(a, b) with schedule(base, t) = a·base + b: every schedule here is affine in the base rate, so a batch of
        base rates (a sweep's lr axis) needs the schedule evaluated once per step, not once per configuration."""
        if self.is_constant:  # every race without a schedule: nothing to evaluate
            return np.ones(np.shape(t)), np.zeros(np.shape(t))
        b = self(0.0, t)
        return self(1.0, t) - b, b

    def values(self, base: float, steps: int) -> np.ndarray:
        """The learning rate at each of `steps` optimizer steps."""
        return np.broadcast_to(self(base, np.arange(steps)), (steps,)).astype(float)


def schedule(name: str = "constant", warmup: int = 0, warmup_start_factor: float = 0.1, **params) -> Schedule:
    """Build a validated schedule, e.g. schedule("cosine", t_max=500, warmup=20)."""
    spec = lookup(SCHEDULES, name, "schedule")
    values = resolve_scalars(spec.params, params, f"schedule {name}")
    warm = resolve_scalars(WARMUP_PARAMS, {"warmup": warmup, "warmup_start_factor": warmup_start_factor}, "warm-up")
    problem = spec.check(**values) if spec.check else None
    if problem:
        raise ValueError(problem)
    return Schedule(name, values, **warm)


def constant() -> Schedule:
    return Schedule()
