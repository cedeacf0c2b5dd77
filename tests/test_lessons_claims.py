"""Every lesson's claim is computed when it runs: it holds with the lesson's settings, its sentence shows its
numbers, it fails when the setting is changed so that it should not hold, and `python -m optviz lessons --check`
recomputes them all and says so in its exit status."""

import json
import math
import os
import string
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from optviz.__main__ import main
from optviz.claims import adam_step_bound, critical_momentum, edge_of_stability_holds
from optviz.lesson_check import ALL, check_lesson, check_lessons, lesson_race
from optviz.scenarios import LESSONS

ROOT = Path(__file__).resolve().parents[1]
QUICK = [key for key, lesson in ALL.items() if not lesson.claim.slow]  # the slow one runs once, in the CLI's check


def fields(template: str) -> list[tuple[str, str]]:
    """The numbers a sentence shows: (name, format) of each field."""
    return [(name, spec) for _, name, spec, _ in string.Formatter().parse(template) if name]


def test_every_lesson_has_a_claim_whose_sentence_shows_computed_numbers():
    for key, lesson in ALL.items():
        assert lesson.claim is not None, key
        assert fields(lesson.claim.sentence), f"{key}: its sentence shows no computed number"


@pytest.mark.parametrize("key", QUICK)
def test_the_claim_holds_and_its_sentence_shows_its_numbers(key):
    lesson = ALL[key]
    verdict = check_lesson(lesson)
    assert verdict.holds, verdict.sentence
    assert "{" not in verdict.sentence
    for name, spec in fields(lesson.claim.sentence):
        assert format(verdict.numbers[name], spec) in verdict.sentence, name


def test_a_race_claim_follows_the_race_drawn_and_fails_when_sgd_no_longer_zigzags():
    lesson = LESSONS["conditioning"]
    calm = replace(lesson, query={**lesson.query, "opt": ["sgd;lr=0.5", "adam;lr=0.05"]})
    verdict = lesson.claim.check(*lesson_race(calm))
    assert not verdict.holds and verdict.numbers["sgd"] < 100
    assert f"reverses {verdict.numbers['sgd']} times" in verdict.sentence


def test_the_valley_claim_fails_when_sgd_gets_adams_speed():
    lesson = LESSONS["valley"]
    fast = replace(lesson, query={**lesson.query, "opt": ["adam;lr=0.05", "momentum;lr=0.0002;momentum=0.95",
                                                          "adam;lr=0.05;label=SGD"]})
    assert not lesson.claim.check(*lesson_race(fast)).holds


def test_wilson_gradient_methods_reach_zero_test_error_and_adaptive_ones_the_minority_share():
    verdict = LESSONS["generalization"].claim.check()
    numbers = verdict.numbers
    assert numbers["errors"]["GD"] == numbers["errors"]["SGD"] == 0.0
    for label in ("AdaGrad", "RMSProp", "Adam"):
        assert abs(numbers["errors"][label] - (1 - numbers["p"])) <= 0.05   # ≈ 1 − p, within 5 points
        assert numbers["errors"][label] == numbers["minority"]              # every new point labelled +1


def test_wilson_claim_fails_when_adam_is_expected_to_generalise():
    claim = LESSONS["generalization"].claim
    adam_only = {"Adam": claim.setting["runs"]["Adam"]}
    verdict = claim.check(runs=adam_only, majority=())
    assert not verdict.holds and verdict.numbers["errors"]["Adam"] > 0.3


def test_wilson_majority_share_follows_p():
    claim = LESSONS["generalization"].claim
    verdict = claim.check(p=0.75, steps=1500)
    assert verdict.holds
    assert abs(verdict.numbers["errors"]["Adam"] - 0.25) <= 0.05


def test_adams_step_stays_within_kingma_and_bas_bound_and_the_looser_bound_shows():
    numbers = LESSONS["adam_bound"].claim.check().numbers
    assert numbers["bound"] == pytest.approx(0.01 * 0.1 / math.sqrt(0.001))
    assert 1 < numbers["sparse_max_over_lr"] <= numbers["bound_over_lr"]
    assert numbers["max_over_bound"] > 0.9   # the worst case comes close to the bound


def test_adam_bound_claim_fails_where_the_bound_is_alpha_itself():
    verdict = LESSONS["adam_bound"].claim.check(beta2=0.9)   # 1 − β1 = 0.1 < √(1 − β2) ≈ 0.32: the bound is α
    assert adam_step_bound(0.01, 0.9, 0.9) == 0.01
    assert not verdict.holds
    assert verdict.numbers["max_over_bound"] <= 1 and verdict.numbers["sparse_max_over_lr"] <= 1


def test_the_damping_sweep_finds_beta_star_and_a_grid_far_from_it_does_not():
    claim = LESSONS["damping"].claim
    numbers = claim.check().numbers
    assert numbers["beta_star"] == pytest.approx(critical_momentum(0.5, 0.1))
    assert abs(numbers["best_beta"] - numbers["beta_star"]) <= 0.05
    far = claim.check(betas=(0.85, 0.9, 0.95))
    assert not far.holds and far.numbers["best_beta"] == 0.85


def test_critical_damping_is_faster_than_either_side():
    numbers = LESSONS["damping"].claim.check().numbers
    steps = dict(zip(np.round(numbers["betas"], 2), numbers["steps_to_converge"]))
    assert numbers["star_steps"] < steps[0.3] and numbers["star_steps"] < steps[0.9]


def test_the_edge_of_stability_predicate_refuses_a_catapult_a_band_too_wide_and_a_monotone_loss():
    def numbers(band_max=1.1, rises=10, initial=2.0, catapult_step=None):
        summary = {"initial": initial, "catapult_step": catapult_step, "settled_step": 200, "reached_step": 100,
                   "band_min": 0.95, "band_max": band_max}
        return {"band": 0.15, "runs": [{"steps": 1000, "threshold": 10.0, "summary": summary, "rises": rises,
                                        "loss": np.geomspace(1, 1e-3, 1000)}]}

    assert edge_of_stability_holds(numbers())
    assert not edge_of_stability_holds(numbers(band_max=1.2))
    assert not edge_of_stability_holds(numbers(rises=0))
    assert not edge_of_stability_holds(numbers(initial=12.0, catapult_step=40))   # it came down to 2/α = 10
    assert not edge_of_stability_holds(numbers(initial=9.0))   # it started within the band: nothing to rise


def test_a_claim_refuses_a_setting_it_does_not_have():
    with pytest.raises(ValueError, match="'lr_max' is not part of this claim's setting"):
        LESSONS["damping"].claim.check(lr_max=1.0)


def test_the_check_of_an_unknown_lesson_says_which_exist():
    with pytest.raises(ValueError, match="no lesson 'nope'; the lessons are welcome, valley"):
        check_lessons(["nope"])


def test_the_command_exits_1_and_says_which_claim_fails(monkeypatch, capsys):
    lesson = ALL["damping"]
    monkeypatch.setitem(ALL, "damping", replace(lesson, claim=replace(lesson.claim, setting={
        **lesson.claim.setting, "betas": (0.85, 0.9, 0.95)})))
    assert main(["lessons", "--check", "--only", "damping", "bias"]) == 1
    out = capsys.readouterr().out
    assert "damping            FAILS" in out and "bias               holds" in out
    assert "1 of 2 claims hold; failing: damping" in out


def test_the_command_lists_the_lessons_without_check(capsys):
    assert main(["lessons"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("valley")


@pytest.fixture(scope="module")
def whole_check():
    """`python -m optviz lessons --check --json`, every lesson (the edge of stability's three trainings too), with
    one BLAS thread as `optviz serve` gives each replica of two: on two busy cores a second thread makes the
    small matrix products of these trainings take turns, several times slower."""
    done = subprocess.run([sys.executable, "-m", "optviz", "lessons", "--check", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


def test_the_whole_check_holds_for_every_lesson_and_exits_0(whole_check):
    status, report, stderr = whole_check
    assert status == 0, stderr
    assert list(report) == list(ALL)
    assert all(entry["holds"] for entry in report.values()), [k for k, e in report.items() if not e["holds"]]


def test_the_edge_of_stability_claim_shows_each_rate_rising_into_the_band(whole_check):
    _, report, _ = whole_check
    entry = report["edge_of_stability"]
    assert entry["holds"]
    for lr, threshold in ((0.1, 20), (0.2, 10), (0.4, 5)):   # each rises from below 2/α, none comes down to it
        assert f"α = {lr:g}: sharpness" in entry["sentence"]
        assert f"rises to within 15 % of 2/α = {threshold:g} (from step" in entry["sentence"]
    assert entry["numbers"]["text"] in entry["sentence"]


def test_the_rotated_valley_slows_every_diagonal_method_and_not_newton():
    verdict = LESSONS["rotation"].claim.check()
    numbers = verdict.numbers
    assert verdict.holds, verdict.sentence
    assert numbers["newton_0"] == numbers["newton_45"] <= 2
    assert all(numbers[f"{key}_45"] >= 1.5 * numbers[f"{key}_0"] for key in ("adam", "rmsprop", "adagrad"))
    assert f"Adam {numbers['adam_0']:.0f} → {numbers['adam_45']:.0f}" in verdict.sentence


def test_the_rotation_claim_fails_for_a_method_that_is_not_diagonal_or_a_bowl_that_is_round():
    claim = LESSONS["rotation"].claim
    heavy_ball = dict(claim.setting["runs"], adam=("momentum", {"lr": 0.5, "momentum": 0.8}))
    verdict = claim.check(runs=heavy_ball)   # its step turns with the bowl: only the start's place in it differs
    assert not verdict.holds and verdict.numbers["adam_ratio"] < 1.5
    assert not claim.check(surface_params={"condition": 1.0}).holds   # a round bowl looks the same at every angle
