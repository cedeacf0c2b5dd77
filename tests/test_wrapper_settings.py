"""A wrapper (SAM, Lookahead) is set like any optimizer: its own hyperparameters and those of the optimizer it
wraps, in the sidebar, in a link and in the race."""

from test_race_tab_app import race_data, start, widget
from test_race_tab_app import settings_in_url as url_settings

from optviz.optimizers import SPECS as OPTIMIZERS
from optviz.tuning import default_lr
from optviz.ui.settings import EntrySettings, from_query


def test_a_wrappers_settable_hyperparameters_are_its_own_then_its_inner_optimizers_by_their_flat_names():
    settable = [p.name for p in OPTIMIZERS["lookahead"].settable({"inner": "rmsprop"})]
    own = [p.name for p in OPTIMIZERS["lookahead"].params]
    assert settable[:len(own)] == own
    # RMSProp's smoothing constant is `alpha`, which Lookahead uses itself: it is inner_alpha
    assert settable[len(own):] == [("inner_" if p.name == "alpha" else "") + p.name
                                   for p in OPTIMIZERS["rmsprop"].params]
    adam = OPTIMIZERS["adam"]
    assert [p.name for p in adam.settable({"inner": "sgd"})] == [p.name for p in adam.params]  # not a wrapper


def test_a_link_sets_the_inner_optimizer_and_its_hyperparameters_and_the_race_steps_with_them():
    settings, warnings = from_query({"opt": ["sam;inner=adam;lr=0.05;beta1=0.8;rho=0.1",
                                             "lookahead;inner=rmsprop;alpha=0.4;inner_alpha=0.9"]})
    assert not warnings
    sam, lookahead = (entry.to_entry(label).build() for entry, label in zip(settings.entries, settings.labels()))
    assert sam.inner.spec.name == "adam" and sam.inner.hparams["lr"] == 0.05 and sam.inner.hparams["beta1"] == 0.8
    assert sam.hparams["rho"] == 0.1
    assert lookahead.hparams["alpha"] == 0.4 and lookahead.inner.hparams["alpha"] == 0.9
    again, warnings = from_query(settings.to_query())
    assert not warnings and [e.encode() for e in again.entries] == [e.encode() for e in settings.entries]


def test_a_hyperparameter_the_inner_optimizer_lacks_is_refused_in_words():
    settings, warnings = from_query({"opt": ["sam;inner=sgd;beta1=0.5;lr=oops"]})
    assert any("unknown parameter 'beta1'" in w for w in warnings)
    assert any("lr must be a number" in w for w in warnings)
    assert settings.entries[0].hparams["lr"] == default_lr("rosenbrock", "sgd")


def test_a_new_wrapper_starts_at_the_rate_suited_to_the_optimizer_it_wraps():
    entry = EntrySettings.default("sam", "rosenbrock")
    assert entry.hparams["lr"] == default_lr("rosenbrock", "sgd") == default_lr("rosenbrock", "sam")
    assert default_lr("rosenbrock", "lookahead") == default_lr("rosenbrock", "adam")


def test_the_sidebar_sets_the_inner_optimizer_and_its_rate_and_the_link_keeps_them():
    at = start({"opt": "sam"})
    assert widget(at, "selectbox", "x.0.h.inner").value == "sgd"
    assert widget(at, "select_slider", "x.0.h.lr").label == "α (lr)"  # the inner optimizer's rate, beside ρ
    widget(at, "selectbox", "x.0.h.inner").set_value("adam").run()
    assert not at.exception and widget(at, "select_slider", "x.0.h.beta2").value == 0.999
    widget(at, "select_slider", "x.0.h.lr").set_value(0.05).run()
    entry = url_settings(at).entries[0]
    assert entry.hparams["inner"] == "adam" and entry.hparams["lr"] == 0.05 and entry.hparams["beta2"] == 0.999
    assert not at.exception and not at.error


def test_a_race_that_counts_evaluations_travels_in_the_link_and_an_unknown_count_is_refused_in_words():
    settings, warnings = from_query({"opt": ["adam", "sam"], "steps": "40", "align": "evaluations"})
    assert not warnings and settings.align == "evaluations" and settings.to_query()["align"] == "evaluations"
    assert "align" not in from_query({"opt": "adam"})[0].to_query()  # the default stays out of the link
    settings, warnings = from_query({"align": "minutes"})
    assert settings.align == "steps" and any("Unknown alignment 'minutes'" in w for w in warnings)


def test_the_sidebar_counts_gradient_evaluations_once_a_racer_spends_two_a_step():
    at = start({"opt": "adam", "steps": "40"})
    assert not [w for w in at.sidebar.get("segmented_control") if w.key == "x.align"]  # one gradient a step each
    widget(at, "multiselect", "x.chosen").select("sam").run()
    assert [w.key for w in at.sidebar.get("segmented_control") if w.key == "x.align"] == ["x.align"]
    widget(at, "segmented_control", "x.align").set_value("evaluations").run()
    assert not at.exception and url_settings(at).align == "evaluations"
    story = next(m.value for m in at.markdown if m.value.startswith("**Free exploration:**"))
    assert "after 40 gradient evaluations" in story  # the outcomes count what the race counts
    drawn = race_data(at)["payload"]  # and so does the viewer: its title, its step counter and its hover text
    assert drawn["unit"] == "evaluation" and drawn["title"].endswith("40 gradient evaluations")
    widget(at, "segmented_control", "x.align").set_value("steps").run()
    assert url_settings(at).align == "steps" and "after 40 steps" in next(
        m.value for m in at.markdown if m.value.startswith("**Free exploration:**"))
