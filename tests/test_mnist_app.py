"""The MNIST tab through AppTest: training starts in the background, the page updates while it runs, Stop stops
it within a second, results and diagnostics appear, the defaults choice and the classic comparison work in one
click, and bad input is reported."""

import time

import pytest
from streamlit.testing.v1 import AppTest
from tables import numbers, table_with, tables

from optviz.ui.mnist import parse_hidden

APP = "../app.py"


def start(model="mlp") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["tab"] = "MNIST"  # only the open tab runs
    at.session_state["mnist.model"] = model
    return at.run()


def widget(at, kind, key):
    return next(w for w in getattr(at, kind) if w.key == key)


def wait(predicate, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_the_tab_says_which_dataset_it_uses():
    at = start()
    assert not at.exception
    assert any(c.value.startswith("Dataset: ") and "train" in c.value for c in at.caption)


def test_training_runs_in_the_background_and_the_page_updates_live():
    at = start()
    widget(at, "number_input", "mnist.epochs").set_value(2).run()
    widget(at, "button", "mnist.train").click().run()
    job = at.session_state["mnist.job"]
    assert job.running  # the script run returned while training goes on
    assert wait(lambda: sum(map(len, job.snapshot().values())) >= 4)
    at.run()  # a live redraw: progress bar, stop button, and the curves so far
    assert not at.exception
    assert any(b.key == "mnist.stop" for b in at.button)
    first = sum(map(len, job.snapshot().values()))
    assert wait(lambda: sum(map(len, job.snapshot().values())) > first)  # still growing
    assert wait(lambda: job.seen() or not job.running, timeout=300)   # (seen: the page's heartbeat, as _live sends)
    at.run()
    table = table_with(at, "test accuracy")
    assert list(table["optimizer"]) == ["Adam", "SGD"]
    assert table["test accuracy"].max() > 50  # clearly better than chance (10%)


def test_stop_ends_training_within_a_second():
    at = start()
    widget(at, "number_input", "mnist.epochs").set_value(20).run()
    widget(at, "button", "mnist.train").click().run()
    job = at.session_state["mnist.job"]
    assert wait(lambda: sum(map(len, job.snapshot().values())) >= 2)
    job.stop()  # what the Stop button's callback does
    stopped_at = time.time()
    assert wait(lambda: not job.running, timeout=5)
    assert time.time() - stopped_at < 1.0
    at.run()
    assert not at.exception
    assert any("stopped" in w.value for w in at.warning)


@pytest.mark.parametrize("button, epochs", [("mnist.classic", 10), ("mnist.lesson", 2)])
def test_the_classic_comparison_starts_in_one_click_with_the_cnn_at_keras_defaults(button, epochs, caplog):
    at = start()
    widget(at, "button", button).click().run()
    job = at.session_state["mnist.job"]
    try:
        assert not at.exception
        # Streamlit logs (does not show) a widget both given a default and set through session state
        assert "Session State API" not in caplog.text
        c = job.config
        assert (c.model, c.batch_size, c.epochs) == ("cnn", 64, epochs)
        assert c.optimizers == ["adadelta", "adagrad", "adam", "rmsprop", "sgd"]
        adadelta, adagrad, adam, rmsprop, sgd = c.hparams
        assert (adadelta["lr"], adadelta["rho"], adadelta["eps"]) == (0.001, 0.95, 1e-7)
        assert (adagrad["lr"], adagrad["initial_accumulator_value"], adagrad["eps"]) == (0.001, 0.1, 1e-7)
        assert (adam["lr"], adam["eps"], rmsprop["lr"], rmsprop["alpha"], sgd["lr"]) == (0.001, 1e-7, 0.001, 0.9, 0.01)
        assert any(m.value.startswith("**Training CNN") for m in at.markdown)   # the live view replaced the settings
    finally:
        job.stop()
        wait(lambda: not job.running)


def test_the_tab_says_whose_defaults_are_in_use_and_switching_resets_them():
    at = start()
    assert any("Defaults in use: **PyTorch**" in c.value for c in at.caption)
    assert at.session_state["mnist.h.sgd.lr"] == 0.01   # torch has no default: the stated value
    at.session_state["mnist.defaults"] = "keras"
    at.run()
    at.session_state["mnist.opts"] = ["adam", "adadelta"]
    at.run()
    assert not at.exception
    assert any("Defaults in use: **Keras**" in c.value for c in at.caption)


def test_every_timing_is_said_before_it_starts():
    at = start()
    caption = next(c.value for c in at.caption if c.value.startswith("On this server now"))
    assert "classic comparison takes ≈" in caption and "lesson version ≈" in caption and "Train with these" in caption


def test_after_stop_the_tables_count_the_completed_epochs_like_the_chart():
    at = start()
    widget(at, "number_input", "mnist.epochs").set_value(20).run()
    widget(at, "button", "mnist.train").click().run()
    job = at.session_state["mnist.job"]
    assert wait(lambda: job.seen() or any(e.get("epoch_end") for e in job.snapshot()["Adam"]), timeout=300)
    job.stop()
    assert wait(lambda: not job.running)
    at.run()
    points = {label: sum("test_accuracy" in e for e in events) for label, events in job.snapshot().items()}
    summary = table_with(at, "epochs completed")
    assert dict(zip(summary["optimizer"], summary["epochs completed"])) == points
    by_epoch = numbers(next(t for t in tables(at) if "1" in t.columns and "training time (s)" in t.columns))
    for label, row in zip(by_epoch["optimizer"], by_epoch.itertuples(index=False)):
        filled = [v for v in row[1:-1] if v is not None and v == v]
        assert len(filled) == points[label]


@pytest.mark.parametrize("text, message", [("abc", "whole numbers"), ("1,2,3,4,5", "at most 4"),
                                           ("99999", "1 to 2048"), ("0", "1 to 2048")])
def test_bad_hidden_sizes_are_reported_and_training_is_disabled(text, message):
    at = start()
    widget(at, "text_input", "mnist.hidden").set_value(text).run()
    assert not at.exception
    assert any(message in e.value for e in at.error)
    assert widget(at, "button", "mnist.train").disabled


def test_hidden_sizes_parse():
    assert parse_hidden("512, 256") == (512, 256) and parse_hidden("") == () and parse_hidden("64;32") == (64, 32)
    assert parse_hidden("1024, 1024") == (1024, 1024)   # 1.86 M parameters: within the bound


@pytest.mark.parametrize("text", ["2048, 2048", "1500, 1500, 10"])
def test_networks_beyond_the_parameter_bound_are_refused(text):
    with pytest.raises(ValueError, match="parameters; the limit"):
        parse_hidden(text)


def test_no_text_a_student_types_names_a_folder_on_the_server():
    at = start()
    assert not at.exception
    for box in at.text_input:
        assert not any(word in (box.label or "").lower() for word in ("folder", "path", "directory")), box.label


def test_a_loading_failure_tells_no_server_path(monkeypatch):
    import optviz.ui.mnist as tab

    def broken():
        raise OSError("/srv/secret/mnist/train-images-idx3-ubyte.gz: damaged")

    monkeypatch.setattr(tab, "load_mnist", broken)
    tab._data.clear()
    try:
        at = start()
        assert not at.exception
        text = " ".join(e.value for e in at.error)
        assert "could not be loaded" in text and "/srv" not in text and "secret" not in text
    finally:
        tab._data.clear()
