"""optviz's schedules give torch.optim.lr_scheduler's learning rates, step for step.

A schedule's value at t is the learning rate of optimizer step t + 1, t counting scheduler steps from 0 like
torch's `last_epoch`; a warm-up of W steps is torch's SequentialLR([LinearLR(w0, 1, W), schedule], [W]). The
expected values come from tests/fixtures/torch_references.npz (tools/make_torch_references.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from references import RTOL, SCHEDULED, SCHEDULES, assert_follows

import optviz

pytestmark = pytest.mark.filterwarnings("error")


def _schedule(record):
    return optviz.schedule(record["name"], warmup=record["warmup"],
                           warmup_start_factor=record["warmup_start_factor"], **record["params"])


def test_every_schedule_has_torch_references_with_and_without_warmup():
    names = {s["name"] for s in SCHEDULES}
    warmed = {s["name"] for s in SCHEDULES if s["warmup"]}
    assert names == set(optviz.SCHEDULES)
    assert warmed == set(optviz.SCHEDULES)


@pytest.mark.parametrize("record", SCHEDULES, ids=[s["id"] for s in SCHEDULES])
def test_lr_matches_torch_at_every_step(record):
    schedule = _schedule(record)
    expected = record["lrs"]
    np.testing.assert_allclose(schedule.values(record["base_lr"], len(expected)), expected, rtol=RTOL, atol=1e-15)
    opt = optviz.optimizer("sgd", lr=record["base_lr"], schedule=schedule)
    got = [opt.lr_at(step) for step in range(1, len(expected) + 1)]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("record", SCHEDULES, ids=[s["id"] for s in SCHEDULES])
def test_momentum_follows_torch_where_the_schedule_cycles_it_and_stays_put_elsewhere(record):
    """torch's SGD(momentum=0.5) under the same scheduler: the cyclic schedules cycle its momentum, the others leave
    it at 0.5; optviz's SGD with momentum gets the same value at every step."""
    opt = optviz.optimizer("momentum", lr=record["base_lr"], momentum=0.5, schedule=_schedule(record))
    column = [p.name for p in opt.spec.params].index("momentum")
    got = [opt.hyper_at(step)[0, column] for step in range(1, len(record["momenta"]) + 1)]
    np.testing.assert_allclose(got, record["momenta"], rtol=RTOL, atol=1e-15)


def test_the_cyclic_schedules_cycle_the_momentum_role_and_leave_an_optimizer_without_one_alone():
    cyclic = optviz.schedule("one_cycle", total_steps=50)
    adam = optviz.optimizer("adam", lr=0.01, schedule=cyclic)
    beta1 = [p.name for p in adam.spec.params].index("beta1")
    assert adam.hyper_at(1)[0, beta1] == 0.95 and adam.hyper_at(15)[0, beta1] == pytest.approx(0.85)
    adagrad = optviz.optimizer("adagrad", lr=0.01, schedule=cyclic)
    assert adagrad.hyper_at(15) is adagrad.hyper and adagrad.cycled_momentum(10).size == 0
    still = optviz.optimizer("adam", lr=0.01, schedule=optviz.schedule("one_cycle", cycle_momentum=False))
    assert still.cycled_momentum(10).size == 0


@pytest.mark.parametrize("name", ["momentum", "adam", "rmsprop"])
def test_a_race_cycles_the_momentum_as_the_step_by_step_optimizer_does(name):
    """The fused race loop and Optimizer.step_ read the cycled momentum alike (and it changes the path)."""
    cyclic = optviz.schedule("cyclic", max_lr=3e-3, step_size_up=15)
    race = optviz.run("rosenbrock", name, (-1.5, 2.0), 120, schedule=cyclic, lr=1e-3)
    opt, surface = optviz.optimizer(name, schedule=cyclic, lr=1e-3), optviz.surface("rosenbrock")
    point = np.array([-1.5, 2.0])
    state, path = opt.init(point), [point]
    for _ in range(120):
        point, state = opt.step(point, np.array(surface.grad(*point)), state)
        path.append(point)
    np.testing.assert_allclose(race.path, path, rtol=1e-13, atol=1e-15)
    plain = optviz.run("rosenbrock", name, (-1.5, 2.0), 120, lr=1e-3,
                       schedule=optviz.schedule("cyclic", max_lr=3e-3, step_size_up=15, cycle_momentum=False))
    assert np.abs(plain.path - race.path).max() > 1e-6


@pytest.mark.parametrize("case", SCHEDULED, ids=[case["id"] for case in SCHEDULED])
def test_optimizer_with_schedule_matches_torch_trajectory(case):
    opt = optviz.optimizer(case["optimizer"], schedule=_schedule(case["schedule"]), **case["hparams"])
    assert_follows(opt, case["trajectory"])


def test_scheduled_references_cover_adam_cosine_warmup_and_sgd_step():
    kinds = {(c["optimizer"], c["schedule"]["name"], c["schedule"]["warmup"] > 0) for c in SCHEDULED}
    assert ("adam", "cosine", True) in kinds
    assert ("sgd", "step", False) in kinds


def test_first_step_uses_the_base_rate_without_warmup_and_the_start_factor_with_it():
    assert optviz.schedule("cosine", t_max=10)(0.5, 0) == 0.5
    assert optviz.schedule("cosine", t_max=10, warmup=4, warmup_start_factor=0.2)(0.5, 0) == pytest.approx(0.1)
    # the main schedule starts from its own t = 0 once the warm-up is over
    assert optviz.schedule("step", step_size=1, gamma=0.5, warmup=3)(0.5, 3) == 0.5


def test_lr_at_is_one_based():
    opt = optviz.optimizer("sgd", lr=0.1, schedule=optviz.schedule("step", step_size=1, gamma=0.5))
    assert opt.lr_at(1) == 0.1
    assert opt.lr_at(2) == 0.05


def test_array_base_rate_gives_one_rate_per_configuration():
    schedule = optviz.schedule("cosine", t_max=20, eta_min=1e-3, warmup=5)
    base = np.array([0.1, 0.03, 0.5])
    for t in (0, 3, 5, 17, 40):
        np.testing.assert_allclose(schedule(base, t), [schedule(b, t) for b in base], rtol=1e-15)



@pytest.mark.parametrize("settings", [{"total_steps": 3}, {"total_steps": 20, "pct_start": 0.04},
                                      {"total_steps": 10, "pct_start": 0.6, "three_phase": True}])
def test_a_one_cycle_with_a_phase_of_no_steps_is_refused_in_words(settings):
    with pytest.raises(ValueError, match="leaves a phase without steps"):
        optviz.schedule("one_cycle", **settings)


def test_one_cycle_holds_its_last_rate_after_the_cycle():
    rates = optviz.schedule("one_cycle", total_steps=40).values(0.1, 60)
    assert np.all(rates[39:] == rates[39]) and rates[39] == pytest.approx(0.1 / 25 / 1e4)
