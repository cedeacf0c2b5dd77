"""Claims about a race's outcome are worked out from the race: reached, still some distance away, diverged."""

import pytest

import optviz
from optviz.outcomes import MISSING, fill_outcomes, outcome, placeholders
from optviz.scenarios import LESSONS, WELCOME
from optviz.ui.settings import from_query


def lesson_race(query):
    settings, _ = from_query(query)
    surface = optviz.surface(settings.surface, **settings.surface_params)
    entries = [e.to_entry(label) for e, label in zip(settings.entries, settings.labels())]
    return surface, optviz.race(surface, entries, start=settings.start, steps=settings.steps)


def test_each_kind_of_outcome_is_worded_from_the_numbers():
    surface = optviz.surface("rosenbrock")
    reached = optviz.race(surface, ["adam"], start=(-1.5, 2), steps=1500, hparams={"adam": {"lr": 0.05}})["adam"]
    assert outcome(reached, surface) == f"reaches ★ at step {reached.converged_at:,}"
    short = optviz.race(surface, ["sgd"], start=(-1.5, 2), steps=500, hparams={"sgd": {"lr": 0.001}})["sgd"]
    distance = float(surface.nearest_minimum(short.final)[1])
    assert outcome(short, surface) == f"is still {distance:.2g} from ★ after 500 steps" and distance > 0.5
    wild = optviz.race(surface, ["sgd"], start=(-1.5, 2), steps=50, hparams={"sgd": {"lr": 0.1}})["sgd"]
    assert outcome(wild, surface) == f"diverges at step {wild.diverged_at:,}"
    flat = optviz.surface("saddle_unbounded")
    run = optviz.race(flat, ["sgd"], steps=10)["sgd"]
    assert outcome(run, flat).startswith("ends at f = ") and "★" not in outcome(run, flat)


def test_a_run_not_in_the_race_is_said_to_be_missing():
    surface, races = lesson_race(WELCOME.query)
    assert fill_outcomes("Momentum {SGD with momentum}.", races, surface) == f"Momentum {MISSING}."


@pytest.mark.parametrize("lesson", [WELCOME, *LESSONS.values()], ids=lambda lesson: lesson.key)
def test_every_placeholder_of_a_lesson_names_one_of_its_runs(lesson):
    surface, races = lesson_race(lesson.query)
    assert set(placeholders(lesson.watch)) <= set(races)
    filled = fill_outcomes(lesson.watch, races, surface)
    assert "{" not in filled and MISSING not in filled


def test_the_welcome_note_no_longer_claims_a_minimum_its_race_does_not_reach():
    surface, races = lesson_race(WELCOME.query)
    note = fill_outcomes(WELCOME.watch, races, surface)
    assert races["Adam"].converged_at is None and "Adam" in note and "reaches ★" not in note
