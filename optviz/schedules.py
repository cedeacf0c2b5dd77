"""Learning-rate schedules: plain functions of the step count, matching torch.optim.lr_scheduler.

A schedule maps (base learning rate, t) to the learning rate used at optimizer step t + 1, where t counts
scheduler steps from 0 exactly like torch's `last_epoch`. The base rate may be an array (one per configuration).
Every schedule can be preceded by a linear warm-up (torch's SequentialLR of LinearLR and the schedule).
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


def _steps_param(name: str, symbol: str, default: int, meaning: str, low: int = 1) -> Param:
    return Param(name, symbol, default, meaning, low=low, high=1e9, kind="int")


def _gamma(default: float) -> Param:
    return Param("gamma", r"\gamma", default, "multiplicative decay factor", low=0.0, high=1.0, low_open=True)


def _cosine(base, t, t_max, eta_min):
    return eta_min + (base - eta_min) * (1 + np.cos(np.pi * t / t_max)) / 2


def _linear(base, t, start_factor, end_factor, total_iters):
    return base * (start_factor + (end_factor - start_factor) * np.minimum(t, total_iters) / total_iters)


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
        main = SCHEDULES[self.name].factor(base, np.maximum(t - self.warmup, 0), **self.params)
        if not self.warmup:
            return main
        warm = _linear(base, np.minimum(t, self.warmup), self.warmup_start_factor, 1.0, self.warmup)
        return np.where(t < self.warmup, warm, main)

    def coefficients(self, t):
        """(a, b) with schedule(base, t) = a·base + b: every schedule here is affine in the base rate, so a batch of
        base rates (a sweep's lr axis) needs the schedule evaluated once per step, not once per configuration."""
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
    return Schedule(name, values, **warm)


def constant() -> Schedule:
    return Schedule()
