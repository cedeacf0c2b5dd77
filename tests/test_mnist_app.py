"""The MNIST tab through AppTest: training starts in the background, the page updates while it runs, Stop stops
it within a second, results and diagnostics appear, and bad input is reported."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from optviz.ui.mnist import parse_hidden

APP = "../app.py"


def start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["mnist.dir"] = ""  # the offline subset, whatever the machine has
    at.session_state["tab"] = "MNIST"  # only the open tab runs
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
    assert wait(lambda: not job.running)
    at.run()
    table = next(df.value for df in at.dataframe if "test accuracy" in df.value.columns)
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


def test_the_classic_comparison_is_one_click():
    at = start()
    widget(at, "button", "mnist.classic").click().run()
    assert widget(at, "multiselect", "mnist.opts").value == ["adadelta", "adagrad", "adam", "rmsprop", "sgd"]


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
