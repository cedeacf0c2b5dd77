"""Explorer settings survive a round trip through the URL; hostile links fall back to defaults with warnings."""

import pytest

from optviz.tuning import default_lr
from optviz.ui.settings import MAX_ENTRIES, EntrySettings, Settings, from_query


def rich_settings() -> Settings:
    settings = Settings.default("himmelblau")
    adam = EntrySettings.default("adam", "himmelblau")
    adam.hparams.update(lr=0.0123456789, beta1=0.85, eps=0.0, bias_correction=False)
    adam.schedule, adam.schedule_params, adam.label = "cosine", {"t_max": 300, "warmup": 12}, "Adam α=0.012, no bc"
    settings.entries = [adam, EntrySettings.default("rmsprop", "himmelblau"), EntrySettings.default("adam")]
    settings.start, settings.steps = (1 / 3, -2.5), 1234
    return settings


def test_settings_round_trip_through_the_query_exactly():
    settings = rich_settings()
    restored, warnings = from_query(settings.to_query())
    assert warnings == []
    assert restored == settings


def test_default_settings_use_learning_rates_suited_to_the_surface():
    settings = Settings.default("rosenbrock")
    assert [e.optimizer for e in settings.entries] == ["adam", "sgd"]
    assert settings.entries[0].hparams["lr"] == default_lr("rosenbrock", "adam")
    assert default_lr("rosenbrock", "adam") != default_lr("quadratic", "adam")


def test_labels_are_unique_and_fall_back_to_the_optimizer_title():
    settings = rich_settings()
    settings.entries.append(EntrySettings.default("adam"))
    assert settings.labels() == ["Adam α=0.012, no bc", "RMSProp", "Adam", "Adam (2)"]


def test_an_empty_query_gives_the_default_race_without_warnings():
    settings, warnings = from_query({})
    assert settings == Settings.default()
    assert warnings == []


HOSTILE = [
    {"surface": "__import__('os').system('rm -rf /')"},
    {"surface": ["rosenbrock", "nope"]},
    {"steps": "1e9"}, {"steps": "-5"}, {"steps": "ten"}, {"steps": "3.5"},
    {"start": "nan,1"}, {"start": "1"}, {"start": "1,2,3"}, {"start": "inf,0"}, {"start": "1e400,0"},
    {"sp": "b:-1"}, {"sp": "b:1e999"}, {"sp": "zz:1"}, {"sp": "b" * 5000},
    {"opt": "lambda: 0"}, {"opt": "adam;lr=0"}, {"opt": "adam;beta1=1"}, {"opt": "adam;eps=-1e-8"},
    {"opt": "adam;lr=nan"}, {"opt": "adam;bias_correction=maybe"}, {"opt": "adam;__class__=1"},
    {"opt": "adam;s=__import__"}, {"opt": "adam;s=step;s.gamma=2"}, {"opt": "adam;" + "x" * 5000},
    {"opt": ["adam"] * (MAX_ENTRIES + 5)},
    {"unknown": "1"}, {"opt": ""}, {"opt": "\x00\x01"},
]


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: repr(q)[:40])
def test_hostile_queries_fall_back_with_a_warning_never_an_exception(query):
    settings, warnings = from_query(query)
    # whatever came in, what comes out is valid and runs
    assert 1 <= settings.steps <= 5000
    assert 1 <= len(settings.entries) <= MAX_ENTRIES
    for entry in settings.entries:
        entry.build_schedule()
        assert len(entry.label) <= 40 and ";" not in entry.label
    assert warnings


def test_bad_values_keep_the_rest_of_the_entry():
    settings, warnings = from_query({"opt": "adam;lr=0.05;beta1=7;eps=0"})
    (adam,) = settings.entries
    assert adam.hparams["lr"] == 0.05 and adam.hparams["eps"] == 0.0
    assert adam.hparams["beta1"] == 0.9
    assert any("beta1" in w and "[0, 1)" in w for w in warnings)


def test_labels_from_links_are_cleaned_and_bounded():
    settings, _ = from_query({"opt": "adam;label=" + "<b>x</b>;&#" * 20})
    label = settings.entries[0].label
    assert len(label) <= 40 and not set(";&#") & set(label)


@pytest.mark.parametrize("surface, bound", [("rosenbrock", 300.0), ("quadratic", 300.0), ("beale", 450.0)])
def test_a_linked_start_beyond_the_typed_boxes_bound_falls_back_with_a_warning(surface, bound):
    """One bound for a typed start and a linked one: the surface's divergence bound (a start beyond it counted as
    diverged at step 0 and reached the viewer as NaN)."""
    settings, warnings = from_query({"surface": surface, "start": f"{bound * 1.01},2"})
    assert settings.start == Settings.default(surface).start
    assert any(f"{bound:g}" in w for w in warnings)
    inside, none = from_query({"surface": surface, "start": f"{bound},-{bound}"})
    assert inside.start == (bound, -bound) and none == []


def test_a_lesson_key_is_read_and_an_unknown_one_is_reported():
    from optviz.scenarios import LESSONS
    from optviz.ui.settings import lesson_from_query
    warnings = []
    assert lesson_from_query({"lesson": "saddle"}, LESSONS, warnings) == "saddle" and warnings == []
    assert lesson_from_query({"lesson": "<b>nope</b>"}, LESSONS, warnings) is None
    assert len(warnings) == 1 and "Unknown lesson" in warnings[0]
    assert from_query({"lesson": "saddle"})[1] == []  # a known key, not an unknown link parameter
