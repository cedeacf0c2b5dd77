"""The MNIST tab's curvature views through AppTest: the sharpness while training (K settable, checked), the
full-batch edge-of-stability mode with its live chart and summary, changes mid-training, and the learning-rate range
test with its one click to train at the suggested rate."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_mnist_app import wait, widget

APP = "../app.py"


def start(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["tab"] = "MNIST"
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_tracking_the_sharpness_offers_k_and_an_out_of_range_k_is_brought_back_with_a_note():
    at = start()
    assert not any(w.key == "mnist.sharp.every" for w in at.number_input)
    widget(at, "toggle", "mnist.sharp").set_value(True).run()
    every = widget(at, "number_input", "mnist.sharp.every")
    assert every.value == 250 and "1 to 10,000" in every.label
    every.set_value(0).run()
    assert not at.exception
    assert at.session_state["mnist.sharp.every"] == 1
    assert any("must be 1 to 10,000" in w.value for w in at.warning)


def test_training_with_the_sharpness_draws_it_against_the_threshold_and_takes_a_change():
    at = start(**{"mnist.sharp": True, "mnist.sharp.every": 20, "mnist.sharp.digits": 64, "mnist.hidden": "32",
                  "mnist.epochs": 20, "mnist.opts": ["sgd"]})
    widget(at, "button", "mnist.train").click().run()
    job = at.session_state["mnist.job"]
    try:
        assert wait(lambda: sum(len(e) for e in job.snapshot().values()) >= 3)
        job.change("SGD", lr=0.05)
        assert wait(lambda: any(e.get("change") for e in job.snapshot()["SGD"]))
        at.run()
        assert not at.exception
        keys = {c.key for c in at.get("plotly_chart")}
        assert "mnist.curvature.live" in keys
    finally:
        job.stop()
        wait(lambda: not job.running)
    at.run()
    assert not at.exception
    charts = {c.key for c in at.get("plotly_chart")}
    assert {"mnist.final", "mnist.curvature.final", "mnist.gauges.final"} <= charts


def test_a_change_with_a_bad_value_is_refused_in_words():
    at = start(**{"mnist.hidden": "16", "mnist.epochs": 20, "mnist.opts": ["momentum"]})
    widget(at, "button", "mnist.train").click().run()
    job = at.session_state["mnist.job"]
    try:
        assert wait(lambda: job.runs and not job.waiting)
        for change, message in (({"lr": -1.0}, "lr must be"), ({"momentum": 1.0}, "momentum must be")):
            try:
                job.change("SGD with momentum", **change)
            except ValueError as error:
                assert message in str(error)
            else:
                raise AssertionError(f"{change} was accepted")
    finally:
        job.stop()
        wait(lambda: not job.running)


def test_the_edge_of_stability_mode_trains_full_batch_and_says_what_the_sharpness_did():
    at = start(**{"mnist.mode": "eos", "mnist.eos.steps": 60, "mnist.eos.n": 100, "mnist.eos.hidden": "16",
                  "mnist.eos.every": 10})
    assert not at.exception
    widget(at, "button", "mnist.eos_go").click().run()
    job = at.session_state["mnist.job"]
    assert wait(lambda: not job.running, timeout=120)
    at.run()
    assert not at.exception
    assert any(c.key == "mnist.eos_final" for c in at.get("plotly_chart"))
    summary = next(c.value for c in at.caption if c.value.startswith("Sharpness"))
    assert "2/α" in summary and "training" in summary
    assert len(job.snapshot()["Gradient descent"]) == 60


def test_the_edge_of_stability_mode_refuses_bad_layers_in_words():
    at = start(**{"mnist.mode": "eos"})
    widget(at, "text_input", "mnist.eos.hidden").set_value("ten").run()
    assert any("whole numbers" in e.value for e in at.error)
    assert widget(at, "button", "mnist.eos_go").disabled


def test_the_range_test_suggests_a_rate_and_one_click_trains_with_it():
    at = start(**{"mnist.mode": "range", "mnist.hidden": "16", "mnist.lr.steps": 40, "mnist.lr.grid": 2,
                  "mnist.lr.grid_steps": 20, "mnist.lr.opt": "adam"})
    widget(at, "button", "mnist.lr_go").click().run()
    assert not at.exception
    result = at.session_state["mnist.lr_result"]
    assert any(c.key == "mnist.lr_chart" for c in at.get("plotly_chart"))
    assert any(c.value.startswith(f"Suggested α = {result.suggestion:.3g}") for c in at.caption)
    widget(at, "button", "mnist.lr_train").click().run()
    job = at.session_state["mnist.job"]
    try:
        assert job.config.optimizers == ["adam"] and job.config.hparams[0]["lr"] == result.suggestion
        assert at.session_state["mnist.mode"] == "train"
    finally:
        job.stop()
        wait(lambda: not job.running)


def test_a_range_with_its_ends_swapped_is_refused_in_words():
    at = start(**{"mnist.mode": "range", "mnist.lr.min": 1.0, "mnist.lr.max": 0.1})
    assert any("must be smaller" in e.value for e in at.error)
    assert not any(b.key == "mnist.lr_go" for b in at.button)
