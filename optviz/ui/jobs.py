"""Training jobs that run in a background thread, so the page stays responsive and redraws while they train.

Plain Python (no Streamlit): the tab polls a job for its events, and a job stops on request, when its page
is gone (its `connected` check has said so for a few seconds: the student closed the tab), when nobody has
polled it for a while (the fallback when there is no such check), or when it ends.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..mnist import train
from ..mnist.curvature import SharpnessSettings
from ..mnist.fullbatch import full_batch
from ..second_order import optimizer as make_optimizer  # element-wise rules, and Muon (on the hidden matrices)

HEARTBEAT_SECONDS = 30.0  # a job nobody has looked at for this long is abandoned (its student closed the tab)
DISCONNECT_GRACE_SECONDS = 3.0  # a page disconnected this long is gone (shorter gaps: a reconnecting browser)
EVENT_EVERY = 10  # batches between progress events: a few per second per optimizer, for smooth live curves


class TrainingSlots:
    """At most `limit` trainings run at once in this server process; the others wait in arrival order.

    A waiting job learns its place in the queue, can be cancelled, and starts by itself when a slot frees.
    """

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"the number of simultaneous trainings must be at least 1, got {limit}")
        self.limit = limit
        self._changed = threading.Condition()
        self._running: list[TrainingJob] = []
        self._waiting: list[TrainingJob] = []

    def acquire(self, job: TrainingJob) -> bool:
        """Block until `job` may run; False if it was cancelled or abandoned while waiting."""
        with self._changed:
            self._waiting.append(job)
            while not (self._waiting[0] is job and len(self._running) < self.limit):
                if job.cancelled():
                    self._waiting.remove(job)
                    self._changed.notify_all()
                    return False
                self._changed.wait(timeout=0.2)
            self._waiting.pop(0)
            self._running.append(job)
            self._changed.notify_all()
            return True

    def release(self, job: TrainingJob) -> None:
        with self._changed:
            if job in self._running:
                self._running.remove(job)
            self._changed.notify_all()

    def ahead_of(self, job: TrainingJob) -> int:
        """How many trainings must start before this one (0 when it is running or next)."""
        with self._changed:
            return self._waiting.index(job) if job in self._waiting else 0

    def counts(self) -> tuple[int, int]:
        """(running, waiting) right now."""
        with self._changed:
            return len(self._running), len(self._waiting)


SLOTS = TrainingSlots(int(os.environ.get("OPTVIZ_MAX_TRAININGS", 0)) or os.cpu_count() or 1)


@dataclass
class JobConfig:
    labels: list[str]
    optimizers: list[str]
    hparams: list[dict]
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    seed: int
    model: str = "mlp"             # "mlp" (with `hidden`) or "cnn"
    train_digits: int | None = None   # train on the first this many training digits (None: all)
    sharpness: SharpnessSettings | None = None   # measure the sharpness while training (None: not)
    # full-batch training (optviz.mnist.fullbatch.full_batch's keyword arguments: n, hidden, activation, loss,
    # steps, sharpness_every, seed) instead of mini-batch epochs; None: mini-batch
    full_batch: dict | None = None


@dataclass
class TrainingJob:
    """Several optimizers trained round-robin on identical data order and initial weights (same seed)."""

    data: object
    config: JobConfig
    events: dict[str, list[dict]] = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    error: str | None = None
    stopped: bool = False
    finished: bool = False
    started_at: float = 0.0
    finished_at: float = 0.0

    slots: TrainingSlots | None = None  # None: the server-wide SLOTS
    connected: Callable[[], bool] | None = None  # is the student's page still connected? (None: unknown)

    def __post_init__(self):
        self.slots = self.slots or SLOTS
        if self.config.train_digits is not None:
            self.data = self.data.subset(self.config.train_digits)
        self.waiting = True
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.last_seen = time.time()
        self._disconnected_since: float | None = None
        # Settings are checked now, on the student's page; the networks are only built once a slot is free, so
        # that a long queue holds no weights.
        self._optimizers = {label: make_optimizer(name, **hparams)
                            for label, name, hparams in zip(self.config.labels, self.config.optimizers,
                                                            self.config.hparams)}
        self.events = {label: [] for label in self._optimizers}
        self._thread = threading.Thread(target=self._work, name="optviz-training", daemon=True)

    def start(self) -> TrainingJob:
        self.started_at = time.time()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def cancelled(self) -> bool:
        """Stopped by its student, or abandoned: its page has been disconnected for DISCONNECT_GRACE_SECONDS, or
        nobody has polled it for HEARTBEAT_SECONDS."""
        return self._stop.is_set() or self._page_gone() or time.time() - self.last_seen > HEARTBEAT_SECONDS

    def _page_gone(self) -> bool:
        if self.connected is None or self.connected():
            self._disconnected_since = None
            return False
        now = time.time()
        self._disconnected_since = self._disconnected_since or now
        return now - self._disconnected_since > DISCONNECT_GRACE_SECONDS

    def ahead(self) -> int:
        """Trainings that will start before this one (0 once it runs)."""
        return self.slots.ahead_of(self) if self.waiting else 0

    def seen(self) -> None:
        """The page is still watching: keep going."""
        self.last_seen = time.time()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def snapshot(self) -> dict[str, list[dict]]:
        """A consistent copy of every run's events so far."""
        with self._lock:
            return {label: list(events) for label, events in self.events.items()}

    def progress(self) -> tuple[float, float | None]:
        """Fraction of all the work done (digits seen, or full-batch steps), and the seconds left at the pace so far
        (None before any step)."""
        c = self.config
        events = self.snapshot().values()
        if c.full_batch is not None:
            done = sum(e[-1]["step"] + 1 if e else 0 for e in events) / c.full_batch["steps"]
        else:   # digits rather than steps: a batch size changed mid-training changes the number of steps
            done = sum(e[-1]["samples"] if e else 0 for e in events) / (c.epochs * len(self.data.y_train))
        fraction = min(1.0, done / len(self._optimizers))
        elapsed = (self.finished_at or time.time()) - self.started_at
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        return fraction, eta

    def change(self, label: str, batch_size: int | None = None, **hparams) -> None:
        """Change a running optimizer's hyperparameters (and, mini-batch, the batch size) from its next step on;
        ValueError in words if they are invalid or the training is not running."""
        run = self.runs.get(label)
        if run is None or not self.running or self.waiting:
            raise ValueError("the training is not running: changes apply to a training in progress")
        run.change(batch_size=batch_size, **hparams)

    def _make_runs(self) -> dict:
        c = self.config
        if c.full_batch is not None:
            return {label: full_batch(self.data, name, **c.full_batch, **hparams)
                    for label, name, hparams in zip(c.labels, c.optimizers, c.hparams)}
        hidden = c.hidden if c.model == "mlp" else None
        return {label: train(self.data, opt, hidden=hidden, model=c.model, epochs=c.epochs, batch_size=c.batch_size,
                             seed=c.seed, label=label, eval_every=EVENT_EVERY, sharpness=c.sharpness)
                for label, opt in self._optimizers.items()}

    def _work(self) -> None:
        if not self.slots.acquire(self):
            self.waiting, self.stopped, self.finished, self.finished_at = False, True, True, time.time()
            return
        self.started_at = time.time()
        try:
            self.runs = self._make_runs()
            self.waiting = False
            active = dict(self.runs)
            while active and not self.cancelled():
                for label in list(active):
                    event = next(active[label], None)
                    if event is None:
                        del active[label]
                        continue
                    with self._lock:
                        self.events[label].append(event)
                    if self.cancelled():  # after every event, not every round: a closed tab frees its slot in seconds
                        break
            self.stopped = bool(active)
        except Exception as error:  # shown on the page instead of dying silently in a thread
            self.error = f"{type(error).__name__}: {error}"
        finally:
            for run in self.runs.values():
                run.close()
            self.slots.release(self)
            self.waiting, self.finished, self.finished_at = False, True, time.time()
