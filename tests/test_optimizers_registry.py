"""A user's own optimizer (optviz.register_optimizer): the worked example of docs/api.md, run as written, appears
everywhere a built-in one does, and computes what its formula says; a registration that cannot work is refused
in words."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import optviz
from optviz import FIRST_MOMENT, SECOND_MOMENT, Param, sweeps
from optviz.engine import Entry
from optviz.figures.export import race_html
from optviz.figures.race_payload import race_payload
from optviz.tuning import suggest_lr
from optviz.ui.settings import from_query

ROOT = Path(__file__).resolve().parents[1]
NAME = "clipped_adam"


@pytest.fixture(scope="module")
def registered():
    text = (ROOT / "docs" / "api.md").read_text()
    example = re.search(r"## Your own optimizer\n.*?```python\n(.*?)```", text, re.S).group(1)
    exec(compile(example, "docs/api.md", "exec"), {})  # as a reader would run it
    yield optviz.OPTIMIZERS[NAME]
    optviz.unregister_optimizer(NAME)


def test_with_a_clip_never_reached_it_is_adam_and_with_a_small_one_no_step_exceeds_it(registered):
    start, steps = (-1.5, 2.0), 300
    loose = optviz.race("rosenbrock", [Entry(NAME, {"lr": 0.02, "clip": 1e9}), Entry("adam", {"lr": 0.02})],
                        start=start, steps=steps)
    ours, adam = (t.path for t in loose.values())
    np.testing.assert_allclose(ours, adam, rtol=1e-12, atol=0)
    tight = optviz.run("rosenbrock", NAME, start=start, steps=steps, lr=0.02, clip=0.005)
    assert np.abs(np.diff(tight.path, axis=0)).max() <= 0.005 * (1 + 1e-12)
    assert not np.allclose(tight.path, adam)


def test_its_state_rows_and_diagnostics_come_from_the_roles_it_declared(registered):
    races = optviz.race("saddle", [Entry(NAME, {"lr": 0.05}), Entry("sgd", {"lr": 0.05})], steps=60)
    traj = races["Adam, step clipped"] if "Adam, step clipped" in races else races[NAME]
    assert {"m", "v", "m_hat", "v_hat", "effective_step"} <= set(traj.trace)
    np.testing.assert_allclose(traj.trace["m_hat"][0], traj.trace["m"][0] / (1 - 0.9))
    payload = race_payload(races, optviz.surface("saddle"), traces=list(races))
    text = str(payload)
    assert "moment1" in text and "effective_step" in text
    assert registered.color not in {spec.color for name, spec in optviz.OPTIMIZERS.items() if name != NAME}


def test_it_sweeps_draws_basins_and_gets_a_suggested_rate(registered):
    grid = sweeps.sweep("rosenbrock", NAME, "lr", sweeps.axis_values(NAME, "lr", 6),
                        "clip", sweeps.axis_values(NAME, "clip", 5), steps=100)
    assert grid.metric("final_loss").shape == (5, 6) and np.isfinite(grid.metric("final_loss")).any()
    basins = sweeps.basins("himmelblau", NAME, n=20, steps=100, lr=0.05)
    assert basins.labels.shape == (20, 20)
    lr = suggest_lr("rosenbrock", NAME)
    assert lr > 0 and math.isfinite(lr)


def test_a_link_names_it_and_its_hyperparameters_and_an_export_draws_it(registered):
    settings, warnings = from_query({"surface": "rosenbrock", "opt": [f"{NAME};lr=0.03;clip=0.01"]})
    assert warnings == [] and settings.entries[0].optimizer == NAME
    assert settings.entries[0].hparams["clip"] == 0.01
    assert f"{NAME};" in settings.to_query()["opt"][0]
    races = optviz.race("rosenbrock", [Entry(NAME, {"lr": 0.03})], steps=50)
    assert NAME in race_html(races, optviz.surface("rosenbrock")) or "Adam, step clipped" in race_html(races)


def test_it_trains_an_mnist_network_with_its_own_statistics(registered):
    from optviz import mnist

    data = mnist.load_mnist().subset(256)
    run = mnist.train(data, NAME, hidden=(32,), epochs=1, batch_size=64, seed=0, stats_every=1, lr=1e-3)
    events = list(run)
    assert events and all(math.isfinite(e["loss"]) for e in events if "loss" in e)
    assert "mean_effective_step" in run.layer_stats()["W1"]  # a first moment and a denominator: the Adam family's


def _rule(p, g, m, t, lr, beta1):
    return p - lr * m, beta1 * m + g


@pytest.mark.parametrize("change, message", [
    (dict(name="adam"), "already has an optimizer 'adam'"),
    (dict(name="my optimizer"), "must be a Python identifier"),
    (dict(params=[Param("beta1", "b", 0.9, "")]), "must include 'lr'"),
    (dict(state={"m": "momentum-ish"}), "state m has no known role"),
    (dict(rule=lambda p, g, m, t, lr, gamma: (p, m)), "takes gamma, which is neither"),
    (dict(rule=lambda p, g, m, *, t, lr: (p, m)), "must be plain ones"),
])
def test_a_registration_that_cannot_work_is_refused_in_words(change, message):
    arguments = dict(name="toy", rule=_rule, params=[Param("lr", "a", 0.1, ""), Param("beta1", "b", 0.9, "")],
                     state={"m": FIRST_MOMENT}, latex="x")
    arguments.update(change)
    name, rule = arguments.pop("name"), arguments.pop("rule")
    with pytest.raises(ValueError, match=re.escape(message)):
        optviz.register_optimizer(name, rule, **arguments)
    assert "toy" not in optviz.OPTIMIZERS


def test_a_registered_optimizer_can_be_registered_again_taken_out_and_a_built_in_one_cannot():
    params = [Param("lr", "a", 0.1, ""), Param("beta1", "b", 0.9, "")]
    optviz.register_optimizer("toy", _rule, params=params, state={"m": FIRST_MOMENT}, latex="x")
    first = optviz.run("saddle", "toy", steps=5).path
    optviz.register_optimizer("toy", lambda p, g, m, t, lr, beta1: (p - 2 * lr * g, m), params=params,
                              state={"m": FIRST_MOMENT}, latex="x")  # a notebook's cell run again, edited
    assert first.shape == (6, 2) and not np.allclose(optviz.run("saddle", "toy", steps=5).path, first)
    optviz.unregister_optimizer("toy")
    assert "toy" not in optviz.OPTIMIZERS
    with pytest.raises(ValueError, match="built-in"):
        optviz.unregister_optimizer("adam")
    assert SECOND_MOMENT in optviz.OPTIMIZERS["adam"].roles.values() or optviz.OPTIMIZERS["adam"].role_of("v")


def test_the_app_races_the_optimizers_of_the_modules_named_in_optviz_optimizers(monkeypatch):
    """A teacher names a module of optimizers in $OPTVIZ_OPTIMIZERS: the app loads it at start, offers its
    optimizer (here through a link) and says in words which module could not be loaded, without failing."""
    import sys

    from streamlit.testing.v1 import AppTest

    from optviz import ui

    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    monkeypatch.setenv(ui.USER_OPTIMIZERS, "fixtures.teacher_optimizers, no_such_module_of_optimizers")
    monkeypatch.setattr(ui, "_loaded", None)
    try:
        at = AppTest.from_file("../app.py", default_timeout=60)
        at.query_params["opt"] = ["signum;lr=0.01", "sgd;lr=0.001"]
        at.run()
        assert not at.exception
        assert any("no_such_module_of_optimizers" in w.value and "could not be loaded" in w.value for w in at.warning)
        settings, warnings = from_query(dict(at.query_params))
        assert warnings == [] and [e.optimizer for e in settings.entries] == ["signum", "sgd"]
        assert "Signum" in " ".join(str(t.value) for t in at.get("markdown")) or any(
            "Signum" in str(e.proto) for e in at.get("bidi_component"))
    finally:
        optviz.unregister_optimizer("signum")
        sys.modules.pop("fixtures.teacher_optimizers", None)


def test_the_engines_refuse_in_words_a_rule_of_a_kind_they_do_not_step():
    import dataclasses

    from optviz.optimizers import NEEDS_HESSIAN, Optimizer

    spec = dataclasses.replace(optviz.OPTIMIZERS["sgd"], name="newtonish", kind=NEEDS_HESSIAN)
    with pytest.raises(ValueError, match=r"is raced one run at a time \(its rule needs Hessian\)"):
        Optimizer(spec, spec.defaults)
    with pytest.raises(ValueError, match="kind 'quantum' is not one of"):
        dataclasses.replace(spec, kind="quantum")
