"""Training jobs share a bounded number of slots: extra jobs queue in order, can be cancelled, start by themselves
when a slot frees, and leave the queue when nobody watches them any more."""

import time

import pytest

from optviz.mnist import load_mnist_subset
from optviz.ui import jobs
from optviz.ui.jobs import JobConfig, TrainingJob, TrainingSlots


@pytest.fixture(scope="module")
def data():
    return load_mnist_subset().subset(600, 100)


def config(epochs=5000):
    return JobConfig(["Adam"], ["adam"], [{}], (16,), epochs, 64, 0)


def wait(predicate, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_at_most_k_trainings_run_and_the_rest_wait_in_order(data):
    slots = TrainingSlots(1)
    first = TrainingJob(data, config(), slots=slots).start()
    second = TrainingJob(data, config(), slots=slots).start()
    third = TrainingJob(data, config(), slots=slots).start()
    assert wait(lambda: not first.waiting)
    time.sleep(0.3)
    assert second.waiting and third.waiting
    assert (second.ahead(), third.ahead()) == (0, 1)
    assert slots.counts() == (1, 2)
    first.stop()
    assert wait(lambda: not second.waiting)  # starts by itself
    assert third.waiting and third.ahead() == 0
    second.stop()
    third.stop()
    assert wait(lambda: first.finished and second.finished and third.finished)
    assert slots.counts() == (0, 0)


def test_a_cancelled_waiting_job_leaves_the_queue_without_running(data):
    slots = TrainingSlots(1)
    running = TrainingJob(data, config(), slots=slots).start()
    queued = TrainingJob(data, config(), slots=slots).start()
    assert wait(lambda: not running.waiting)
    queued.stop()
    assert wait(lambda: queued.finished)
    assert queued.stopped and not any(queued.snapshot().values())
    assert slots.counts() == (1, 0)
    running.stop()
    assert wait(lambda: running.finished)


def test_a_job_nobody_watches_is_abandoned_and_frees_its_slot(data, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.3)
    slots = TrainingSlots(1)
    job = TrainingJob(data, config(), slots=slots).start()
    assert wait(lambda: job.finished, timeout=10)  # no seen() calls: the tab was closed
    assert job.stopped and slots.counts() == (0, 0)


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        TrainingSlots(0)


def test_closing_the_page_frees_the_slot_after_a_short_grace(data, monkeypatch):
    monkeypatch.setattr(jobs, "DISCONNECT_GRACE_SECONDS", 0.3)
    page = {"connected": True}
    slots = TrainingSlots(1)
    job = TrainingJob(data, config(), slots=slots, connected=lambda: page["connected"]).start()
    queued = TrainingJob(data, config(), slots=slots, connected=lambda: True).start()
    assert wait(lambda: not job.waiting)
    page["connected"] = False   # the student closes the tab; the heartbeat (30 s) is not what ends it
    started = time.time()
    assert wait(lambda: job.finished, timeout=10) and job.stopped
    assert time.time() - started < 5
    assert wait(lambda: not queued.waiting)   # the freed slot goes to the next in line
    queued.stop()
    assert wait(lambda: queued.finished)


def test_a_page_that_reconnects_within_the_grace_keeps_its_training(data, monkeypatch):
    monkeypatch.setattr(jobs, "DISCONNECT_GRACE_SECONDS", 1.0)
    page = {"connected": True}
    job = TrainingJob(data, config(), slots=TrainingSlots(1), connected=lambda: page["connected"]).start()
    assert wait(lambda: not job.waiting)
    page["connected"] = False
    time.sleep(0.4)
    page["connected"] = True
    time.sleep(1.2)   # longer than the grace in total, but never disconnected for that long at a stretch
    assert job.running and not job.cancelled()
    job.stop()
    assert wait(lambda: job.finished)


def test_a_queued_job_holds_no_network_until_it_gets_a_slot(data):
    slots = TrainingSlots(1)
    running = TrainingJob(data, config(), slots=slots).start()
    queued = TrainingJob(data, config(), slots=slots).start()
    assert wait(lambda: not running.waiting)
    assert running.runs and not queued.runs   # weights exist for the running job only
    running.stop()
    assert wait(lambda: not queued.waiting) and list(queued.runs) == ["Adam"]
    queued.stop()
    assert wait(lambda: queued.finished)


def test_bad_settings_are_refused_on_the_page_not_in_the_thread(data):
    bad = JobConfig(["Adam"], ["adam"], [{"lr": -1.0}], (16,), 1, 64, 0)
    with pytest.raises(ValueError, match="lr"):
        TrainingJob(data, bad, slots=TrainingSlots(1))


def test_a_cnn_job_on_the_first_digits_trains_every_optimizer_alike(data):
    config = JobConfig(["Adam", "SGD"], ["adam", "sgd"], [{}, {"lr": 0.01}], (), 1, 64, 0, model="cnn",
                       train_digits=128)
    job = TrainingJob(data, config, slots=TrainingSlots(1)).start()
    assert wait(lambda: job.seen() or job.finished, timeout=120) and not job.error and not job.stopped
    assert len(job.data.y_train) == 128 and len(job.data.y_test) == len(data.y_test)
    runs = list(job.runs.values())
    assert all(run.model.n_params == runs[0].model.n_params and run.finished for run in runs)
    assert [e["step"] for e in job.snapshot()["Adam"]][-1] == 2   # 128 digits in batches of 64
