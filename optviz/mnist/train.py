"""Training an MLP or the CNN on MNIST with any optviz optimizer, as a stream of progress events.

    run = train(data, "adam", epochs=5, lr=1e-3)
    for event in run:                      # dicts, every `eval_every` batches and at each epoch's end
        print(event["step"], event["loss"], event.get("test_accuracy"))
        if stop_requested:
            break                          # stopping costs nothing: no thread, no file, no pending work
    run.confusion_matrix(), run.misclassified(), run.first_layer_weights(), run.layer_stats(), run.snapshots()

The parameters are updated by the same optimizer implementation as the 2-D races, `optviz.optimizer(...)`,
through its in-place `step_`, with one optimizer state per parameter array (W1, b1, W2, b2, …). Muon steps the
hidden weight matrices only, and AdamW the rest, as torch's documentation advises (optviz.mnist.hidden_matrices).

Fair comparisons: the seed alone fixes the initial weights, the order of the digits in every epoch and the
CNN's dropout masks, so runs with the same seed and different optimizers see exactly the same data (and drop
the same units) from exactly the same start.
Several runs stream side by side with zip: `for adam_event, sgd_event in zip(adam_run, sgd_run): ...`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence

import numpy as np
from numba import njit

from ..optimizers import BoundOptimizer, Optimizer, bias_corrections, effective_step
from ..params import LR
from ..scenarios import TRAINING_OPTIMIZER
from ..schedules import SCHEDULES, Schedule
from ..schedules import schedule as make_schedule
from ..second_order import optimizer as make_optimizer
from .cnn import CNN
from .curvature import SharpnessSettings, SharpnessTracker
from .hidden_matrices import HiddenMatricesAndAdamW
from .model import MLP

# Keyword arguments of train(). With Adam at lr 1e-3, batch 128, 5 epochs (benchmarks/bench_mnist.py):
PRESETS = {
    "default": {"hidden": (256,)},                             # 784-256-10: ≥ 97.5% test accuracy
    "two-layer": {"hidden": (512, 256), "schedule": "cosine"},   # 784-512-256-10: ≥ 98%; without the cosine
}                                                              # decay its accuracy wobbles around 97.8%
N_CLASSES = 10
SNAPSHOT_BYTES = 64 * 2**20   # memory for one run's weight snapshots
FLUSH_EVERY = 16   # steps between two flushes of the optimizer state's subnormal numbers to zero
SIGN_LIKE = 0.9    # |m̂|/√v̂ at least this: a coordinate whose Adam step is as large as α, like sign descent's


def train(data, optimizer: str | Optimizer = TRAINING_OPTIMIZER, hidden: Sequence[int] | None = None, epochs: int = 5,
          batch_size: int = 128, seed: int = 0, eval_every: int = 25, *, model: str = "mlp",
          schedule: Schedule | str | None = None, snapshots: int = 40, stats_every: int = 25,
          label: str | None = None, sharpness: SharpnessSettings | int | None = None, dtype=np.float32,
          **hparams) -> TrainingRun:
    """A training run to iterate: yields a progress dict every `eval_every` batches and at each epoch's end.

    `model` is "mlp" (784-`hidden`-10, `hidden` by default (256,)) or "cnn" (the fixed convolutional network
    of optviz.mnist.cnn, which takes no `hidden`).

    Every event has: "optimizer" (the label), "epoch" (1-based), "step" (optimizer steps so far),
    "samples" (digits seen so far), "loss" and "batch_accuracy" (means over the batches since the last
    event), "samples_per_second" (over those batches, training time only), "seconds" (training time so
    far) and "epoch_end". An epoch's last event also has "test_loss", "test_accuracy" and "epoch_seconds"
    (that epoch's training time, evaluation excluded). If the loss stops being finite the run yields one
    more event with "diverged": True and ends.

    `optimizer` is a name from optviz.OPTIMIZERS (with `schedule` and `**hparams`, validated as everywhere
    in optviz) or a ready `Optimizer`: an element-wise one, or Muon, which steps the hidden weight matrices while
    AdamW steps the other arrays (optviz.mnist.hidden_matrices; ValueError in words for a network without any).
    `schedule` may be a name from optviz.SCHEDULES: then a cosine or linear schedule spans the whole run (t_max or
    total_iters = every step of every epoch).

    `snapshots` weight vectors are kept evenly over the planned steps (plus the initial weights) for the loss
    landscape: fewer, down to 3, for a network so big that they would take more than SNAPSHOT_BYTES.
    Per-layer statistics are recorded every `stats_every` steps (each record costs a few passes over the
    weights, so not on every step); the latest is in every event as "layers".

    `sharpness` (a SharpnessSettings, or K alone) measures the sharpness every K steps on a fixed batch of
    training digits (optviz.mnist.curvature; λ_max(P⁻¹H) for the Adam family), at step 0 too: the events then
    carry "curvature" (the measurements since the last event) and "curvature_seconds" (their time so far, which
    "seconds" leaves out). `TrainingRun.change` changes α, momentum, β₁… or the batch size mid-run.

    `dtype` is the network's (float32; float64 for comparisons with a reference to the last digits).
    """
    epochs, batch_size = _positive("epochs", epochs), _positive("batch_size", batch_size)
    if isinstance(optimizer, BoundOptimizer):
        if hparams or schedule is not None:
            raise ValueError("give hyperparameters and schedule to optviz.optimizer(), not to train(), when "
                             "passing a ready Optimizer")
        opt = optimizer
    else:
        if isinstance(schedule, str):
            total_steps = epochs * math.ceil(len(data.y_train) / batch_size)
            schedule = _whole_run_schedule(schedule, total_steps)
        opt = make_optimizer(optimizer, schedule, **hparams)
    if isinstance(sharpness, (int, np.integer)) and not isinstance(sharpness, bool):
        sharpness = SharpnessSettings(every=int(sharpness))
    elif sharpness is not None and not isinstance(sharpness, SharpnessSettings):
        raise ValueError(f"sharpness must be None, an interval K or a SharpnessSettings, got {sharpness!r}")
    return TrainingRun(data, opt, _architecture(model, hidden), epochs, batch_size, seed, eval_every, snapshots,
                       stats_every, label or opt.name, sharpness=sharpness, dtype=dtype)


def _architecture(model: str, hidden: Sequence[int] | None) -> tuple[int, ...] | str:
    """What TrainingRun builds: the MLP's hidden widths, or "cnn"."""
    if model == "cnn":
        if hidden is not None:
            raise ValueError("the CNN's layers are fixed: give hidden only with model='mlp'")
        return "cnn"
    if model != "mlp":
        raise ValueError(f"model must be 'mlp' or 'cnn', got {model!r}")
    return tuple((256,) if hidden is None else hidden)


def measured_speed(model: str = "mlp", hidden: Sequence[int] | None = None, batch_size: int = 64,
                   steps: int = 12) -> tuple[float, float]:
    """(training digits per second, evaluation digits per second) on this machine now, from a few Adam steps on
    random digits after one warm-up step. The optimizers' own costs differ by less than a shared server's noise,
    so one measurement serves for all of them."""
    rng = np.random.default_rng(0)
    n_train, n_test = batch_size * (steps + 1), 500
    data = _Digits(rng.random((n_train, 784), dtype=np.float32), rng.integers(0, 10, n_train),
                   rng.random((n_test, 784), dtype=np.float32), rng.integers(0, 10, n_test))
    run = train(data, TRAINING_OPTIMIZER, hidden, model=model, epochs=1, batch_size=batch_size, snapshots=3)
    batches = np.arange(n_train).reshape(steps + 1, batch_size)
    run._train_batch(batches[0])
    seconds = []
    for batch in batches[1:]:   # the median step: one burst of another process's load does not count
        start = time.perf_counter()
        run._train_batch(batch)
        seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    run.model.evaluate(data.x_test, data.y_test)
    return batch_size / float(np.median(seconds)), n_test / (time.perf_counter() - start)


def estimated_seconds(speed: tuple[float, float], runs: int, epochs: int, n_train: int, n_test: int) -> float:
    """How long `runs` trainings of `epochs` epochs take at `speed` (from measured_speed), each epoch ending
    with an evaluation of the test digits."""
    training, evaluation = speed
    return runs * epochs * (n_train / training + n_test / evaluation)


class _Digits:
    def __init__(self, x_train, y_train, x_test, y_test):
        self.x_train, self.y_train, self.x_test, self.y_test = x_train, y_train, x_test, y_test


def _whole_run_schedule(name: str, total_steps: int) -> Schedule:
    """A schedule by name whose length parameter, if it has one, is the run's length."""
    spec = SCHEDULES.get(name)
    lengths = {p.name for p in spec.params} & {"t_max", "total_iters"} if spec else set()
    return make_schedule(name, **dict.fromkeys(lengths, max(total_steps, 1)))


def _positive(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
    return int(value)


class Events:
    """The iterator protocol of a run, delegated to the generator self._events, so that a run's loop reads top to
    bottom."""

    _events: Iterator[dict]

    def __iter__(self) -> Iterator[dict]:
        return self

    def __next__(self) -> dict:
        return next(self._events)

    def close(self) -> None:
        """Stop the run for good (optional: simply no longer iterating stops it too)."""
        self._events.close()

    def run_to_end(self):
        """Consume every event (for scripts and tests); returns the run."""
        for _ in self:
            pass
        return self


class TrainingRun(Events):
    """One optimizer training one network: an iterator of progress events, plus what the run has learned.

    Nothing is computed until iteration starts; stopping the iteration early leaves a usable run (its
    model, statistics and snapshots are those of the last completed step).
    """

    def __init__(self, data, opt: BoundOptimizer, hidden: tuple[int, ...] | str, epochs: int, batch_size: int,
                 seed: int, eval_every: int, snapshots: int, stats_every: int, label: str, *,
                 sharpness: SharpnessSettings | None = None, dtype=np.float32):
        self.data = data
        self.label = label
        self.epochs = _positive("epochs", epochs)
        self.batch_size = _positive("batch_size", batch_size)
        self.eval_every = _positive("eval_every", eval_every)
        self.stats_every = _positive("stats_every", stats_every)
        _positive("snapshots", snapshots)
        if hidden != "cnn" and any(not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a sequence of layer widths ≥ 1, got {hidden!r}")
        self.seed = seed
        # independent streams: initial weights, order of the digits, dropout masks (the CNN's)
        init_seq, order_seq, dropout_seq = np.random.SeedSequence(seed).spawn(3)
        self._order_rng = np.random.default_rng(order_seq)
        init_rng = np.random.default_rng(init_seq)
        self.model = (CNN(init_rng, dtype, dropout_rng=np.random.default_rng(dropout_seq)) if hidden == "cnn" else
                      MLP((data.x_train.shape[1], *hidden, N_CLASSES), seed=init_rng, dtype=dtype))
        self.optimizer = opt = _for_network(opt, self.model)
        # One state over the flat parameter vector: the rules are elementwise, so this is the same update as one
        # state per array, made in one call per step instead of one per array; `states` views it per array.
        self.state = opt.init(self.model.flat)
        self.states = _split_state(self.state, self.model)
        self._x = np.ascontiguousarray(data.x_train, dtype=self.model.dtype)
        self._y = np.ascontiguousarray(data.y_train, dtype=np.intp)
        self._x_batch = np.empty((self.batch_size, self._x.shape[1]), dtype=self.model.dtype)
        self._y_batch = np.empty(self.batch_size, dtype=np.intp)
        self.steps_per_epoch = math.ceil(len(self._y) / self.batch_size)
        # the optimizer's step for these very arrays, its learning rates for every step worked out once
        self._planned_steps = self.epochs * self.steps_per_epoch
        self._optimizer_step = opt.stepper(self.model.flat, self.model.flat_grad, self.state, self._planned_steps)
        # {"step", "samples", "hparams", "batch_size"}: made before optimizer step "step" + 1
        self.changes: list[dict] = []
        self._pending_change: dict | None = None
        self._new_changes: list[dict] = []
        self.tracker = None
        if sharpness is not None:
            digits = min(sharpness.digits, len(self._y))
            self.tracker = SharpnessTracker(self.model, self._x[:digits], self._y[:digits], opt, self.state,
                                            every=sharpness.every, iterations=sharpness.iterations,
                                            tol=sharpness.tol, seed=seed)
        self._new_curvature: list[dict] = []
        # a big network keeps fewer snapshots, so that they stay within SNAPSHOT_BYTES (and never below 3: the
        # loss landscape needs two directions of change)
        snapshots = max(3, min(snapshots, SNAPSHOT_BYTES // self.model.flat.nbytes))
        self.snapshot_every = max(1, math.ceil(self.epochs * self.steps_per_epoch / snapshots))
        self.step = 0
        self.samples = 0
        self.history: list[dict] = []
        self.diverged_at: int | None = None
        self.finished = False
        self._snapshots = _Snapshots(self.model)
        self._stats = _LayerStats(self.model, opt, self.states)
        self._events = self._run()

    # -----------------------------------------------------------------------------------------------------------
    # Changes mid-training

    def change(self, batch_size: int | None = None, **hparams) -> None:
        """From the next step on: these hyperparameters (α as lr, momentum, β₁…; the others kept) and/or this batch
        size. Checked at once (ValueError in words), applied by the training loop before its next step, and recorded
        in `changes` and in the next event ("change"). The optimizer's state carries over (momentum, moments, step
        count), and so does a schedule: α is its new base rate. Safe to call from another thread."""
        if batch_size is not None:
            if (not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool)
                    or not 1 <= batch_size <= len(self._y)):
                raise ValueError(f"batch size must be a whole number from 1 to {len(self._y):,} (the training "
                                 f"digits), got {batch_size!r}")
            batch_size = int(batch_size)
        new = None
        if hparams:
            old = self.optimizer
            new = _for_network(make_optimizer(old.spec.name, old.schedule, **{**old.hparams, **hparams}), self.model)
            if new.State._fields != old.State._fields:
                raise ValueError(f"{', '.join(hparams)}: a switch that changes what {old.spec.title} keeps in its "
                                 "state cannot change mid-training")
        if new is None and batch_size is None:
            return
        self._pending_change = {"optimizer": new, "hparams": dict(hparams), "batch_size": batch_size}

    def _apply_change(self) -> None:
        change, self._pending_change = self._pending_change, None
        if change["batch_size"] is not None and change["batch_size"] != self.batch_size:
            self.batch_size = change["batch_size"]
            if self.batch_size > len(self._x_batch):
                self._x_batch = np.empty((self.batch_size, self._x.shape[1]), dtype=self.model.dtype)
                self._y_batch = np.empty(self.batch_size, dtype=np.intp)
            self.steps_per_epoch = math.ceil(len(self._y) / self.batch_size)
        if change["optimizer"] is not None:
            self.optimizer = change["optimizer"]
            self._stats.opt = self.optimizer
            if self.tracker is not None:
                self.tracker.optimizer = self.optimizer
        # the learning rates of every step still to come, for the new rate or the new number of steps
        remaining = len(self._y) * (self.epochs - self._epoch) + self._left_in_epoch
        self._planned_steps = self.step + math.ceil(remaining / self.batch_size) + self.epochs + 1
        self._optimizer_step = self.optimizer.stepper(self.model.flat, self.model.flat_grad, self.state,
                                                      self._planned_steps)
        record = {"step": self.step, "samples": self.samples, "hparams": change["hparams"],
                  "batch_size": change["batch_size"]}
        self.changes.append(record)
        self._new_changes.append(record)

    def __repr__(self) -> str:
        return (f"TrainingRun({self.label!r}, {'-'.join(map(str, self.model.sizes))}, step {self.step}/"
                f"{self.epochs * self.steps_per_epoch})")


    # -----------------------------------------------------------------------------------------------------------
    # Training

    def _run(self) -> Iterator[dict]:
        self._snapshots.take(0)
        self._stats.record(0)
        self._measure_curvature()
        total_seconds = 0.0
        self._epoch, self._left_in_epoch = 0, 0
        for epoch in range(1, self.epochs + 1):
            order = self._order_rng.permutation(len(self._y))
            window = _Window()
            epoch_seconds = 0.0
            start = 0
            self._epoch = epoch
            while start < len(order):
                self._left_in_epoch = len(order) - start
                if self._pending_change is not None:
                    self._apply_change()
                t0 = time.perf_counter()
                loss, correct, n = self._train_batch(order[start:start + self.batch_size])
                seconds = time.perf_counter() - t0
                start += n
                window.add(loss, correct, n, seconds)
                epoch_seconds += seconds
                total_seconds += seconds
                if self.tracker is not None and self.tracker.due(self.step) and math.isfinite(loss):
                    self._measure_curvature()
                last = start >= len(order)
                if not math.isfinite(loss):
                    self.diverged_at = self.step
                    yield self._event(epoch, window, total_seconds, diverged=True)
                    return
                if last or window.batches == self.eval_every:
                    event = self._event(epoch, window, total_seconds)
                    if last:
                        test_loss, test_accuracy = self.model.evaluate(self.data.x_test, self.data.y_test)
                        event.update(epoch_end=True, test_loss=test_loss, test_accuracy=test_accuracy,
                                     epoch_seconds=epoch_seconds)
                    window = _Window()
                    yield event
        self.finished = True

    def _measure_curvature(self) -> None:
        if self.tracker is not None:
            self._new_curvature.append(self.tracker.measure(self.step))

    def curvature(self) -> list[dict]:
        """Every sharpness measurement so far (SharpnessTracker's records): step, sharpness, threshold, …"""
        return list(self.tracker.records) if self.tracker else []

    def _train_batch(self, indices: np.ndarray) -> tuple[float, int, int]:
        """One optimizer step on the digits `indices`: (loss, n correct, n)."""
        n = len(indices)
        x, y = self._x_batch[:n], self._y_batch[:n]
        # take() into preallocated rows; mode="clip" because with the default mode NumPy buffers `out`
        np.take(self._x, indices, axis=0, out=x, mode="clip")
        np.take(self._y, indices, out=y, mode="clip")
        # a diverging run overflows: that is detected from the loss and reported as an event, so NumPy's warnings
        # would only be noise
        if (self.step + 1) % self.stats_every == 0:
            self._stats.before_step()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, correct = self.model.loss_and_grad(x, y)
            self._optimizer_step(self.step + 1)
        self.step += 1
        if self.step % FLUSH_EVERY == 0:
            _flush_subnormals(self.state)
        self.samples += n
        if self.step % self.stats_every == 0:
            self._stats.record(self.step)
        if self.step % self.snapshot_every == 0:
            self._snapshots.take(self.step)
        return loss, correct, n

    def _event(self, epoch: int, window: _Window, seconds: float, diverged: bool = False) -> dict:
        event = {"optimizer": self.label, "epoch": epoch, "step": self.step, "samples": self.samples,
                 "loss": window.loss, "batch_accuracy": window.accuracy,
                 "samples_per_second": window.samples_per_second, "seconds": seconds, "epoch_end": False,
                 LR: float(np.asarray(self.optimizer.lr_at(max(self.step, 1))).reshape(-1)[0]),
                 "batch_size": self.batch_size, "layers": self._stats.latest()}
        if self.tracker is not None:
            event["curvature"], self._new_curvature = self._new_curvature, []
            event["curvature_seconds"] = self.tracker.seconds
        if self._new_changes:
            event["change"], self._new_changes = self._new_changes, []
        if diverged:
            event["diverged"] = True
        self.history.append(event)
        return event

    # -----------------------------------------------------------------------------------------------------------
    # What the run has learned (valid at any point: before, during or after training)

    def probabilities(self, x: np.ndarray | None = None) -> np.ndarray:
        """Softmax outputs (N, 10) on `x` (default: the test digits)."""
        return self.model.probabilities(self.data.x_test if x is None else x)

    def predict(self, x: np.ndarray | None = None) -> np.ndarray:
        """Predicted digits (N,) on `x` (default: the test digits)."""
        return self.model.predict(self.data.x_test if x is None else x)

    def confusion_matrix(self) -> np.ndarray:
        """(10, 10) counts on the test set: row = true digit, column = predicted digit."""
        return confusion_matrix(self.data.y_test, self.predict())

    def misclassified(self) -> np.ndarray:
        """Indices of the wrongly classified test digits, most confidently wrong first."""
        probs = self.probabilities()
        predicted = probs.argmax(axis=1)
        wrong = np.flatnonzero(predicted != self.data.y_test)
        confidence = probs[wrong, predicted[wrong]]
        return wrong[np.argsort(-confidence, kind="stable")]

    def first_layer_weights(self) -> np.ndarray:
        """The first layer as pictures: the MLP's W1 as one 28×28 picture per hidden unit, (hidden, 28, 28), the
        CNN's filters as 3×3 pictures, (32, 3, 3): what each unit responds to."""
        return self.model.first_layer_pictures()

    def layer_stats(self) -> dict[str, dict[str, np.ndarray]]:
        """Per parameter array (W1, b1, …), statistics over time, each with "step": when they were taken.

        For every optimizer: weight_norm ‖θ‖₂, grad_norm ‖g‖₂ (of the last batch) and update_ratio ‖Δθ‖/‖θ‖ of
        that step (NaN at step 0). For the Adam family, from the optimizer state: m_norm ‖m‖₂, v_norm ‖v‖₂ (v_max for
        AMSGrad, s for AdaBelief), mean_effective_step, the mean of |α_t m̂/(√v̂ + ε)| over the coordinates, ε placed
        as eps_placement puts it (optviz.optimizers.effective_step): the typical size of one coordinate's step, and
        sign_share, the share of coordinates with |m̂|/√v̂ ≥ SIGN_LIKE (0.9), whose step is sign-like (≈ α).
        """
        return self._stats.as_arrays()

    def snapshots(self) -> tuple[np.ndarray, np.ndarray]:
        """(steps (k,), weights (k, n_params)): the flattened parameters every `snapshot_every` steps, from
        the initial weights to the current ones."""
        return self._snapshots.as_arrays(self.step)


def _for_network(opt: BoundOptimizer, model: MLP | CNN) -> Optimizer | HiddenMatricesAndAdamW:
    """What steps the network: an element-wise optimizer itself; one with a matrix rule (Muon) on the hidden weight
    matrices, AdamW on the rest (ValueError in words for the others, or a network without hidden matrices)."""
    return opt if isinstance(opt, (Optimizer, HiddenMatricesAndAdamW)) else HiddenMatricesAndAdamW(opt, model)


def _split_state(state, model: MLP | CNN) -> list:
    """Per-array views (W1, b1, …) of an optimizer state over the flat parameter vector; the step is shared."""
    flat = model.flat.size
    views = {name: model.split(a) if np.shape(a) == (flat,) else [a] * len(model.params)
             for name, a in zip(state._fields, state)}
    return [type(state)(*parts) for parts in zip(*views.values())]


def compile_passes() -> None:
    """Compile (or load from the disk cache) the passes a float32 training step runs besides the optimizer's rule:
    bias and ReLU, the softmax's passes, ReLU's derivative and the flush of subnormal moments."""
    model = MLP((4, 3, 2))
    model.loss_and_grad(np.zeros((2, 4), dtype=model.dtype), np.zeros(2, dtype=np.intp))
    _flush_subnormals((0, np.zeros(2, dtype=model.dtype)))


def _flush_subnormals(state) -> None:
    """Set the state's subnormal numbers (0 < |x| < the smallest normal float) to zero.

    A moment whose gradient stays 0 (W1's rows for pixels that are blank in most digits) decays geometrically
    through the subnormal range, and arithmetic on subnormals takes a slow path on x86: it cost this trainer
    about a fifth of its optimizer time. Zero is what flush-to-zero hardware modes (and GPUs, and
    torch.set_flush_denormal) give, and the weights cannot tell the difference: such a moment's share of a step
    is far below the rounding of any weight.
    """
    for a in state[1:]:
        if a.ndim == 1:   # the arrays shaped like the flat parameters, not the step or a shared scalar
            _flush_below_(a, np.finfo(a.dtype).tiny)


@njit(cache=True, nogil=True)
def _flush_below_(a, tiny):
    """a[i] ← 0 where |a[i]| < tiny."""
    for i in range(a.size):
        if abs(a[i]) < tiny:
            a[i] = 0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """C[i, j] = number of digits of class i predicted as j."""
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


class _Window:
    """Sums over the batches since the last event."""

    def __init__(self):
        self.batches = self.samples = self.correct = 0
        self.loss_sum = self.seconds = 0.0

    def add(self, loss: float, correct: int, n: int, seconds: float) -> None:
        self.batches += 1
        self.samples += n
        self.correct += correct
        self.loss_sum += loss
        self.seconds += seconds

    @property
    def loss(self) -> float:
        return self.loss_sum / self.batches

    @property
    def accuracy(self) -> float:
        return self.correct / self.samples

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else math.inf


class _Snapshots:
    """Copies of the flat parameter vector, tagged with their step."""

    def __init__(self, model: MLP):
        self.model = model
        self.steps: list[int] = []
        self.weights: list[np.ndarray] = []

    def take(self, step: int) -> None:
        self.steps.append(step)
        self.weights.append(self.model.flat.copy())

    def as_arrays(self, current_step: int) -> tuple[np.ndarray, np.ndarray]:
        steps, weights = list(self.steps), list(self.weights)
        if steps[-1] != current_step:   # end on the current weights, wherever the run stopped
            steps.append(current_step)
            weights.append(self.model.flat.copy())
        return np.array(steps), np.stack(weights)


class _LayerStats:
    """Norms, update sizes and effective steps per parameter array, recorded every few steps (a few passes over the
    weights each)."""

    def __init__(self, model: MLP, opt: Optimizer, states: list):
        self.model, self.opt, self.states = model, opt, states
        fields = states[0]._fields
        moments = opt.spec.moments(fields)  # the Adam family's first moment and denominator, by their roles
        self.first, self.second = moments or (None, None)
        self.adam = moments is not None
        keys = ["weight_norm", "grad_norm", "update_ratio"]
        if self.adam:
            keys += ["m_norm", "v_norm", "mean_effective_step", "sign_share"]
        self.steps: list[int] = []
        self.values = {name: {key: [] for key in keys} for name in model.names}
        self._before: np.ndarray | None = None

    def before_step(self) -> None:
        """Keep the weights before the step that will be recorded, for its update-to-weight ratio."""
        self._before = self.model.flat.copy()

    def record(self, step: int) -> None:
        self.steps.append(step)
        before = self.model.split(self._before) if self._before is not None else [None] * len(self.model.params)
        for name, p, g, state, old in zip(self.model.names, self.model.params, self.model.grads, self.states, before):
            row = self.values[name]
            row["weight_norm"].append(_norm(p))
            row["grad_norm"].append(_norm(g))
            old_norm = _norm(old) if old is not None else 0.0
            row["update_ratio"].append(_norm(p - old) / old_norm if old_norm > 0 else math.nan)
            if self.adam:
                first, second = getattr(state, self.first), getattr(state, self.second)
                row["m_norm"].append(_norm(first))
                row["v_norm"].append(_norm(second))
                row["mean_effective_step"].append(self._mean_effective_step(first, second, step) if step else 0.0)
                row["sign_share"].append(self._sign_share(first, second, step) if step else math.nan)
        self._before = None

    def latest(self) -> dict[str, dict[str, float]]:
        """The last record, per array: {name: {key: value}} (with "step")."""
        if not self.steps:
            return {}
        return {name: {"step": self.steps[-1], **{key: values[-1] for key, values in row.items()}}
                for name, row in self.values.items()}

    def _mean_effective_step(self, m: np.ndarray, v: np.ndarray, t: int) -> float:
        """mean |effective step| over the array's coordinates (optviz.optimizers.effective_step)."""
        step = effective_step(m.reshape(-1), v.reshape(-1), t, float(self.opt.lr_at(t)), self.opt.hparams)
        return float(np.mean(np.abs(step), dtype=np.float64))

    def _sign_share(self, m: np.ndarray, v: np.ndarray, t: int) -> float:
        """The share of coordinates whose |m̂|/√v̂ ≥ SIGN_LIKE: there Adam's step is about α·sign(m), whatever the
        gradient's size (coordinates never touched, v = 0, left out)."""
        bc1, bc2 = bias_corrections(self.opt.hparams, t)
        m, v = m.reshape(-1), v.reshape(-1)
        touched = np.count_nonzero(v)
        if not touched:
            return math.nan
        # |m̂|/√v̂ ≥ s as m²·bc2/(bc1²·s²) ≥ v: no square root, no division per coordinate, no float64 copies (the
        # gauges are taken every few steps of a training, on every weight)
        scaled = m * m
        scaled *= bc2 / (bc1 * bc1 * SIGN_LIKE * SIGN_LIKE)
        return np.count_nonzero((scaled >= v) & (v > 0)) / touched

    def as_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        steps = np.array(self.steps)
        return {name: {"step": steps, **{key: np.array(values) for key, values in row.items()}}
                for name, row in self.values.items()}


def _norm(a: np.ndarray) -> float:
    """‖a‖₂ as √(a·a): one BLAS dot, no temporary."""
    flat = a.reshape(-1)
    return math.sqrt(max(float(np.dot(flat, flat)), 0.0))
