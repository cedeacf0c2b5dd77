"""Full-batch training on a fixed subset of MNIST, the setting where the edge of stability shows plainly.

    run = full_batch(data, "sgd", lr=0.2, steps=1500)      # 784-100-10 tanh MLP, squared loss, 1,000 digits
    for event in run:                                       # one dict per step
        event["step"], event["loss"], event.get("sharpness"), event.get("threshold")
    run.curvature()                                         # every sharpness measurement so far

Every step's gradient is the mean over the same n digits, so "SGD" is gradient descent, and its sharpness rises
until it reaches 2/α and then hovers there while the loss keeps falling, non-monotonically (Cohen et al., ICLR
2021; see optviz.mnist.curvature). The network is float64, so the measured curvature is that of the very loss
being trained. The defaults are Cohen et al.'s kind of setting: the first 1,000 training digits, each pixel
centred on its mean over them, a 784-100-10 tanh network and the squared loss (1/2n) Σᵢ ‖zᵢ − onehot(yᵢ)‖².

Hyperparameters can change between steps (`change`): α, momentum or β₁, ε… — each change is recorded with its
step, so charts can mark it, and the threshold follows at once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

import numpy as np

from ..optimizers import Optimizer
from ..optimizers import optimizer as make_optimizer
from ..scenarios import EDGE_OF_STABILITY
from .curvature import DEFAULT_ITERATIONS, LIVE_TOLERANCE, SharpnessTracker
from .model import MLP
from .train import Events

N_CLASSES = 10
MAX_DIGITS = 10_000       # the subset shipped with optviz has 10,000 training digits
# steps between sharpness measurements: at 50 they cost 10–26 % of the training time (a full-batch step is cheap
# next to a measurement, which re-converges after every oscillation at the edge); 10 draws the oscillations
DEFAULT_EVERY = 50


def full_batch(data, optimizer: str = EDGE_OF_STABILITY[0], *, n: int = 1000, hidden: Sequence[int] = (100,),
               activation: str = "tanh", loss: str = "mse", init: str = "normal", centre: bool = True,
               steps: int = 1500, sharpness_every: int | None = DEFAULT_EVERY, iterations: int = DEFAULT_ITERATIONS,
               tol: float = LIVE_TOLERANCE, seed: int = 0, **hparams) -> FullBatchRun:
    """A full-batch run to iterate (one event per step): `optimizer` by name with `**hparams` (validated as
    everywhere in optviz; lr is the learning rate α) on the first `n` training digits, the network an MLP with
    `hidden` layers, `activation`, `loss` and `init` (optviz.mnist.model.MLP), float64.

    `sharpness_every` = K measures the sharpness every K steps (None: never); `iterations` and `tol` bound each
    measurement's Lanczos iterations. Events: "step", "loss", "accuracy" (on the n digits, at the weights the
    step started from), "seconds" (training time so far, measurements excluded), "curvature_seconds"; at a
    measurement also "sharpness", "threshold", "preconditioned", "formula"; after a change of hyperparameters
    "change" (see FullBatchRun.change); "diverged": True once the loss is not finite (the run then ends).
    """
    n, steps = _count("n", n, 1, MAX_DIGITS), _count("steps", steps, 1, 10**7)
    if len(data.y_train) < n:
        raise ValueError(f"n must be at most the {len(data.y_train):,} training digits available, got {n:,}")
    hidden = tuple(_count("hidden layer width", h, 1, 4096) for h in hidden)
    if sharpness_every is not None:
        _count("sharpness_every (K)", sharpness_every, 1, 10**7)
    opt = make_optimizer(optimizer, **hparams)
    x = np.array(data.x_train[:n], dtype=np.float64)
    if centre:
        x -= x.mean(axis=0)
    y = np.ascontiguousarray(data.y_train[:n], dtype=np.intp)
    model = MLP((x.shape[1], *hidden, N_CLASSES), seed=seed, dtype=np.float64, activation=activation, loss=loss,
                init=init)
    return FullBatchRun(model, x, y, opt, steps, sharpness_every, iterations, tol)


def _count(name: str, value, low: int, high: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, got {value!r}")
    return int(value)


class FullBatchRun(Events):
    """Gradient steps of one optimizer on the mean loss over fixed digits: an iterator of per-step events."""

    def __init__(self, model: MLP, x: np.ndarray, y: np.ndarray, opt: Optimizer, steps: int,
                 sharpness_every: int | None, iterations: int, tol: float):
        self.model, self.x, self.y = model, x, y
        self.optimizer, self.steps = opt, steps
        self.state = opt.init(model.flat)
        self.step = 0
        self.seconds = 0.0
        self.history: list[dict] = []
        self.changes: list[dict] = []   # {"step", "hparams", "batch_size"}: what changed before that step
        self._pending: tuple[Optimizer, dict] | None = None
        self.tracker = (SharpnessTracker(model, x, y, opt, self.state, every=sharpness_every, iterations=iterations,
                                         tol=tol) if sharpness_every else None)
        self._events = self._run()

    @property
    def label(self) -> str:
        return self.optimizer.name

    def change(self, batch_size: int | None = None, **hparams) -> None:
        """From the next step on, these hyperparameters (α as lr, momentum, β₁…; the others kept), checked at once
        (ValueError in words) and applied by the loop before its next step; recorded in `changes` and in that
        step's event ("change"). The optimizer's state carries over (momentum, moments, step count). Safe to call
        from another thread. The batch is every digit: `batch_size` is refused."""
        if batch_size is not None:
            raise ValueError("full-batch training has no batch size to change: every step sees all the digits")
        if not hparams:
            return
        old = self.optimizer
        new = make_optimizer(old.spec.name, old.schedule, **{**old.hparams, **hparams})
        if new.State._fields != old.State._fields:
            raise ValueError(f"{', '.join(hparams)}: a switch that changes what {old.spec.title} keeps in its state "
                             "cannot change mid-training")
        self._pending = (new, dict(hparams))

    def _apply_change(self) -> dict:
        (new, hparams), self._pending = self._pending, None
        self.optimizer = new
        if self.tracker is not None:
            self.tracker.optimizer = new
        record = {"step": self.step, "hparams": hparams, "batch_size": None}
        self.changes.append(record)
        return record

    def curvature(self) -> list[dict]:
        """Every sharpness measurement so far (optviz.mnist.curvature.SharpnessTracker's records)."""
        return list(self.tracker.records) if self.tracker else []

    def _run(self) -> Iterator[dict]:
        model = self.model
        while self.step < self.steps:
            event = {"optimizer": self.label, "step": self.step}
            if self._pending is not None:
                event["change"] = [self._apply_change()]
            if self.tracker is not None and self.tracker.due(self.step):
                record = self.tracker.measure(self.step)
                event.update(sharpness=record["sharpness"], threshold=record["threshold"],
                             preconditioned=record["preconditioned"], formula=record["formula"])
            t0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                loss, correct = model.loss_and_grad(self.x, self.y)
                if math.isfinite(loss):
                    self.optimizer.step_(model.flat, model.flat_grad, self.state)
            self.seconds += time.perf_counter() - t0
            event.update(loss=loss, accuracy=correct / len(self.y), lr=self._lr(), seconds=self.seconds,
                         curvature_seconds=self.tracker.seconds if self.tracker else 0.0)
            if not math.isfinite(loss):
                event["diverged"] = True
                self.history.append(event)
                yield event
                return
            self.step += 1
            self.history.append(event)
            yield event

    def _lr(self) -> float:
        return float(np.asarray(self.optimizer.lr_at(self.step + 1)).reshape(-1)[0])


def edge_of_stability(records: Sequence[dict], band: float = 0.15) -> dict:
    """What a sharpness trace shows about the edge of stability, from measurements {"step", "sharpness",
    "threshold"} (the tracker's records), as ratios r = sharpness/threshold:

    - "initial": the first sharpness; "catapult_step": when a run starts above the band (r > 1 + band: α too large
      for the initial weights, e.g. 7.8 against 2/0.4 = 5), the first measurement back within it: gradient descent
      first throws the weights to a flatter region, in a few steps (the catapult); None if it started below;
    - "reached_step": from then on, the first measurement with r ≥ 1 − band (None if never);
    - "settled_step": the first measurement from which every later one stays within the band, |r − 1| ≤ band (None
      if the last is outside), and "arrival_peak", the largest r between reaching and settling: a sharpness that
      rises fast overshoots the threshold before the instability it causes has grown enough to push it back;
    - "band_min", "band_max": the range of r from settling on; "within_band": the strict reading, every
      measurement from reaching on within the band (settled_step == reached_step);
    - "peak", "peak_step": the largest sharpness after any catapult.
    """
    measured = [r for r in records if r.get("sharpness") is not None and r.get("threshold")]
    keys = ("initial", "catapult_step", "reached_step", "settled_step", "arrival_peak", "band_min", "band_max",
            "peak", "peak_step")
    summary = dict.fromkeys(keys) | {"within_band": False}
    if not measured:
        return summary
    steps = [int(r["step"]) for r in measured]
    values = np.array([r["sharpness"] for r in measured])
    ratios = values / np.array([r["threshold"] for r in measured])
    start = 0
    if ratios[0] > 1 + band:
        start = next((k for k, ratio in enumerate(ratios) if ratio <= 1 + band), len(ratios))
        summary["catapult_step"] = steps[start] if start < len(steps) else None
    summary["initial"] = float(values[0])
    if start < len(values):
        top = start + int(np.argmax(values[start:]))
        summary.update(peak=float(values[top]), peak_step=steps[top])
    reached = next((k for k in range(start, len(ratios)) if ratios[k] >= 1 - band), None)
    if reached is None:
        return summary
    inside = np.abs(ratios - 1) <= band
    outside_after = [k for k in range(reached, len(ratios)) if not inside[k]]
    settled = reached if not outside_after else outside_after[-1] + 1
    summary["reached_step"] = steps[reached]
    if settled < len(ratios):
        summary.update(settled_step=steps[settled], arrival_peak=float(ratios[reached:settled + 1].max()),
                       band_min=float(ratios[settled:].min()), band_max=float(ratios[settled:].max()),
                       within_band=settled == reached)
    return summary
