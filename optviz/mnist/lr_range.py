"""The learning-rate range test (Smith, "Cyclical learning rates for training neural networks", 2017).

    result = lr_range_test(data, "sgd", lr_min=1e-5, lr_max=10, steps=200, grid=7)
    result.suggestion, result.rule          # e.g. 0.12, "the smoothed loss's minimum ÷ 10 (α = 1.2 there)"
    result.lrs, result.losses, result.smoothed, result.grid_lrs, result.grid_losses, result.best_grid_lr

One pass of training in which the learning rate rises exponentially from lr_min to lr_max, one batch per step:
α_k = lr_min·(lr_max/lr_min)^(k/(steps − 1)). The loss first barely moves (α too small), then falls faster and
faster, then becomes ragged and shoots up (α too large); the pass stops once the smoothed loss exceeds
`stop_factor` times its best. The smoothed loss is the bias-corrected exponential average
ℓ̄_k = (β ℓ̄'_{k−1} + (1 − β) ℓ_k)/(1 − βᵏ), β = `smoothing`, plotted against α on a log axis.

The suggestion, by `rule`:
- "minimum/10" (default): the α at the smoothed loss's minimum, divided by 10 — the minimum is already at the
  edge of what the network tolerates, a tenth of it is still steep and safe;
- "steepest": the α where the smoothed loss falls fastest against log α.

A short grid (`grid` rates log-spaced over the same range, `grid_steps` steps each from the same start, the loss
measured after them on `eval_digits` training digits) is the slow, direct way to the same question: its best α
sits beside the suggestion in the chart. The training is optviz.mnist.train's, with the same optimizers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..optimizers import optimizer as make_optimizer
from ..params import LR
from ..scenarios import RANGE_TEST_OPTIMIZER
from ..schedules import Schedule
from .train import train

RULES = {"minimum/10": "the smoothed loss's minimum ÷ 10", "steepest": "the steepest fall of the smoothed loss"}


@dataclass(frozen=True)
class _Rising(Schedule):
    """α·γᵗ with γ > 1: the range test's exponential ramp (the catalogue's exponential schedule only decays)."""

    gamma: float = 1.0

    @property
    def is_constant(self) -> bool:
        return False

    def __call__(self, base, t):
        return base * self.gamma ** np.asarray(t, dtype=float)


@dataclass(frozen=True)
class RangeTest:
    optimizer: str
    lrs: np.ndarray             # the learning rate of each step taken
    losses: np.ndarray          # that step's batch loss
    smoothed: np.ndarray        # the bias-corrected exponential average of the losses
    suggestion: float           # the suggested learning rate
    rule: str                   # how it was picked, in words
    minimum_lr: float           # α at the smoothed loss's minimum
    steepest_lr: float          # α where the smoothed loss falls fastest
    stopped_early: bool         # the loss shot up (or stopped being finite) before lr_max
    grid_lrs: np.ndarray | None = None      # the short grid's learning rates
    grid_losses: np.ndarray | None = None   # the loss after grid_steps steps at each (inf: diverged)
    grid_steps: int = 0
    best_grid_lr: float | None = None

    def as_dict(self) -> dict:
        """JSON-ready: lists and floats (a diverged grid run's loss as None)."""
        def floats(values):
            return None if values is None else [float(v) if math.isfinite(v) else None for v in values]

        return {"optimizer": self.optimizer, "lrs": floats(self.lrs), "losses": floats(self.losses),
                "smoothed": floats(self.smoothed), "suggestion": self.suggestion, "rule": self.rule,
                "minimum_lr": self.minimum_lr, "steepest_lr": self.steepest_lr, "stopped_early": self.stopped_early,
                "grid": None if self.grid_lrs is None else {
                    "lrs": floats(self.grid_lrs), "losses": floats(self.grid_losses), "steps": self.grid_steps,
                    "best_lr": self.best_grid_lr}}


def lr_range_test(data, optimizer: str = RANGE_TEST_OPTIMIZER, *, model: str = "mlp",
                  hidden: Sequence[int] | None = None,
                  lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 200, batch_size: int = 64, seed: int = 0,
                  smoothing: float = 0.9, stop_factor: float = 4.0, rule: str = "minimum/10", grid: int = 0,
                  grid_steps: int = 200, eval_digits: int = 2000,
                  progress: Callable[[float], None] | None = None, **hparams) -> RangeTest:
    """The range test of `optimizer` (with `**hparams`, lr aside) on the network `model`/`hidden`, as train() builds
    it from `seed`; and, with `grid` ≥ 2, the short grid. `progress(fraction)` is called as it goes."""
    if not (isinstance(lr_min, (int, float)) and isinstance(lr_max, (int, float)) and 0 < lr_min < lr_max
            and math.isfinite(lr_max)):
        raise ValueError(f"the range needs 0 < lr_min < lr_max, finite, got {lr_min!r} and {lr_max!r}")
    steps = _count("steps", steps, 10, 100_000)
    grid = _count("grid", grid, 0, 50)
    if grid == 1:
        raise ValueError("grid takes 0 (no grid) or at least 2 learning rates")
    grid_steps = _count("grid_steps", grid_steps, 1, 100_000)
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
    if not stop_factor > 1:
        raise ValueError(f"stop_factor must be > 1, got {stop_factor!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if LR in hparams:
        raise ValueError("the range test sets the learning rate itself: give lr_min and lr_max, not lr")
    report = progress or (lambda fraction: None)
    total = steps + grid * grid_steps

    gamma = (lr_max / lr_min) ** (1 / (steps - 1))
    opt = make_optimizer(optimizer, _Rising(gamma=gamma), lr=lr_min, **hparams)
    lrs, losses = [], []
    average, best_smoothed = 0.0, math.inf
    for event in _steps(data, opt, model, hidden, steps, batch_size, seed):
        lrs.append(float(opt.lr_at(event["step"])))
        losses.append(event["loss"])
        report(len(losses) / total)
        average = smoothing * average + (1 - smoothing) * event["loss"]
        smoothed_now = average / (1 - smoothing ** len(losses))
        best_smoothed = min(best_smoothed, smoothed_now)
        if not math.isfinite(smoothed_now) or (len(losses) > 5 and smoothed_now > stop_factor * best_smoothed):
            break
    lrs, losses = np.array(lrs), np.array(losses)
    smoothed = smooth(losses, smoothing)
    finite = np.isfinite(smoothed)
    best = int(np.nanargmin(np.where(finite, smoothed, np.nan)))
    minimum_lr = float(lrs[best])
    steepest_lr = _steepest(lrs[:best + 1], smoothed[:best + 1])
    suggestion = minimum_lr / 10 if rule == "minimum/10" else steepest_lr
    words = (f"{RULES[rule]} (the minimum is at α = {minimum_lr:.3g})" if rule == "minimum/10"
             else RULES[rule])
    result = dict(optimizer=optimizer, lrs=lrs, losses=losses, smoothed=smoothed, suggestion=float(suggestion),
                  rule=words, minimum_lr=minimum_lr, steepest_lr=steepest_lr, stopped_early=len(lrs) < steps)
    if grid:
        grid_lrs = np.geomspace(lr_min, lr_max, grid)
        grid_losses = []
        for k, lr in enumerate(grid_lrs):
            run = _grid_run(data, optimizer, model, hidden, float(lr), grid_steps, batch_size, seed, hparams,
                            lambda done, k=k: report((steps + k * grid_steps + done) / total))
            grid_losses.append(_trained_loss(run, data, eval_digits))
        grid_losses = np.array(grid_losses)
        best_grid = float(grid_lrs[np.argmin(grid_losses)]) if np.isfinite(grid_losses).any() else None
        result.update(grid_lrs=grid_lrs, grid_losses=grid_losses, grid_steps=grid_steps, best_grid_lr=best_grid)
    report(1.0)
    return RangeTest(**result)


def smooth(losses: np.ndarray, beta: float) -> np.ndarray:
    """ℓ̄_k = a_k/(1 − βᵏ), a_k = β a_{k−1} + (1 − β) ℓ_k: the bias-corrected exponential average."""
    out = np.empty(len(losses))
    average = 0.0
    for k, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out[k - 1] = average / (1 - beta ** k)
    return out


def _steepest(lrs: np.ndarray, smoothed: np.ndarray) -> float:
    """α where d ℓ̄ / d log α is most negative (central differences); the smallest α when there is one point."""
    if len(lrs) < 3:
        return float(lrs[0])
    slope = np.gradient(smoothed, np.log(lrs))
    return float(lrs[int(np.argmin(slope))])


def _steps(data, opt, model: str, hidden, steps: int, batch_size: int, seed: int):
    """train()'s events, one per batch, for `steps` steps (as many epochs as that takes)."""
    epochs = math.ceil(steps / math.ceil(len(data.y_train) / batch_size))
    run = train(data, opt, hidden, model=model, epochs=epochs, batch_size=batch_size, seed=seed, eval_every=1,
                snapshots=3, stats_every=10**9)
    try:
        for event in run:
            yield event
            if event["step"] >= steps:
                return
    finally:
        run.close()


def _grid_run(data, optimizer: str, model: str, hidden, lr: float, steps: int, batch_size: int, seed: int,
              hparams: dict, report: Callable[[int], None]):
    opt = make_optimizer(optimizer, lr=lr, **hparams)
    epochs = math.ceil(steps / math.ceil(len(data.y_train) / batch_size))
    run = train(data, opt, hidden, model=model, epochs=epochs, batch_size=batch_size, seed=seed, eval_every=10,
                snapshots=3, stats_every=10**9)
    for event in run:
        report(event["step"])
        if event["step"] >= steps or event.get("diverged"):
            break
    run.close()
    return run


def _trained_loss(run, data, digits: int) -> float:
    if run.diverged_at is not None:
        return math.inf
    with np.errstate(all="ignore"):
        loss, _ = run.model.evaluate(data.x_train[:digits], data.y_train[:digits])
    return loss if math.isfinite(loss) else math.inf


def _count(name: str, value, low: int, high: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, got {value!r}")
    return int(value)
