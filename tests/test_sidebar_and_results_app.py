"""The sidebar, the lessons and the results as a new user meets them, through AppTest."""

import math

import pytest
from streamlit.testing.v1 import AppTest
from tables import tables
from test_race_tab_app import APP, more_settings, results, start, widget
from test_race_tab_app import settings_in_url as url_settings

from optviz.optimizers import SPECS as OPTIMIZERS
from optviz.scenarios import LESSONS
from optviz.ui.controls import bound_words, display_latex, options_for
from optviz.ui.settings import from_query


@pytest.mark.parametrize("key", ["saddle", "amsgrad"])
def test_a_lesson_traces_the_moments_of_every_contestant(key):
    at = start()
    widget(at, "button_group", "traced").set_value(["Adam"]).run()  # a choice left over from before
    widget(at, "selectbox", "lesson").set_value(key).run()
    assert not at.exception
    labels = from_query(LESSONS[key].query)[0].labels()
    assert widget(at, "button_group", "traced").value == labels


def test_the_first_screen_says_what_to_look_at_and_a_changed_race_says_each_runs_outcome_in_its_place():
    at = start()
    note = next(m.value for m in at.markdown if "What to look at" in m.value)
    assert "{" not in note and "from ★ after 500 steps" in note  # the outcomes are the race's, not hand-written
    assert [e.optimizer for e in url_settings(at).entries] == ["adam", "sgd"]
    widget(at, "multiselect", "x.chosen").select("momentum").run()
    assert not any("What to look at" in m.value for m in at.markdown)
    line = next(m.value for m in at.markdown if m.value.startswith("**Free exploration:**"))
    assert "SGD with momentum" in line and "after 500 steps" in line


def test_a_new_racer_is_traced_and_the_others_keep_the_users_choice():
    at = start()
    widget(at, "button_group", "traced").set_value(["SGD"]).run()
    widget(at, "multiselect", "x.chosen").select("momentum").run()
    assert widget(at, "button_group", "traced").value == ["SGD", "SGD with momentum"]


def test_a_switch_and_a_parameter_named_by_its_symbol_are_labelled_once():
    at = more_settings(start(), 0)
    toggle = widget(at, "toggle", "x.0.h.bias_correction")
    assert toggle.label == "bias correction"
    assert widget(at, "select_slider", "x.sp.b").label == "b"
    assert widget(at, "select_slider", "x.0.h.lr").label == "α (lr)"  # what a screen reader reads: no LaTeX
    assert widget(at, "select_slider", "x.0.h.beta2").label == "β₂ (beta2)"


def test_a_typed_surface_caption_is_shown_as_typed():
    at = start({"surface": "custom", "f": "x**2 + y**2"})
    captions = [c.value for c in at.sidebar.caption]
    described = next(c for c in captions if "Typed by hand" in c)
    assert r"x\*\*2" in described and "**" not in described.replace(r"\*\*", "")


def test_steps_beyond_the_maximum_are_brought_back_with_a_note_in_words():
    at = start()
    steps = widget(at, "number_input", "x.steps")
    assert "5,000" in steps.label
    steps.set_value(99999).run()
    assert not at.exception
    assert widget(at, "number_input", "x.steps").value == 5000
    assert url_settings(at).steps == 5000
    assert any("5,000" in w.value and "99999" in w.value.replace(",", "") for w in at.sidebar.warning)


def test_a_start_outside_the_window_says_where_the_window_is():
    at = start()
    widget(at, "number_input", "x.start_x").set_value(5.0).run()
    assert not at.exception
    messages = [w.value for w in at.warning] + [w.value for w in at.sidebar.warning]
    assert any("outside the map" in m and "x ∈ [-2, 2], y ∈ [-1, 3]" in m for m in messages)


def test_a_start_far_beyond_the_bound_is_brought_to_it():
    at = start()
    widget(at, "number_input", "x.start_x").set_value(1e6).run()
    assert not at.exception
    x = url_settings(at).start[0]
    assert x == 300.0  # Rosenbrock: 100 × the window's largest coordinate
    assert any("outside the map" in w.value for w in at.warning)
    assert any("must be -300 to 300" in w.value for w in at.sidebar.warning)


def test_results_say_why_a_cell_has_no_number_and_star_the_best_run():
    at = start({"opt": ["sgd;lr=0.1", "adam;lr=0.05", "sgd;lr=0.0001;label=slow"], "steps": "200"})
    rows = results(at)
    assert all(row.notna().all() for row in rows.values())  # no empty cell reading "None"
    assert rows["slow"]["reached at step"] == "not reached"
    assert rows["Adam"]["diverged at step"] == "never"
    assert int(rows["SGD"]["diverged at step"]) > 0
    stars = [label for label, row in rows.items() if row["best"] == "★"]
    assert stars == ["Adam"]


def test_a_surface_without_minimum_has_no_distance_column_and_says_why():
    at = start({"surface": "saddle_unbounded", "opt": "adam", "steps": "50"})
    assert "to minimum" not in next(t for t in tables(at) if "final loss" in t.columns).columns
    assert any("has no minimum" in c.value for c in at.caption)


def test_the_learning_rate_slider_spans_five_decades_around_the_rate_suited_to_the_surface():
    at = start()
    slider = widget(at, "select_slider", "x.0.h.lr")
    values = [float(v) for v in slider.options]
    assert 20 <= len(values) <= 40
    assert min(values) >= 1e-5 and max(values) <= 10  # Adam on Rosenbrock: suited rate 0.1
    widget(at, "selectbox", "x.surface").select("himmelblau").run()
    assert [float(v) for v in widget(at, "select_slider", "x.0.h.lr").options] != values


def test_epsilon_slider_reaches_zero_and_large_values_in_few_notches():
    eps = OPTIMIZERS["adam"].param("eps")
    values = options_for(eps, 1e-8)
    assert 0.0 in values and 100.0 in values and 1e-8 in values and len(values) <= 30


def test_an_exact_value_can_be_typed_and_a_bad_one_is_refused_in_words():
    at = start()
    widget(at, "text_input", "x.0.h.lr.typed").input("0.0123").run()
    assert not at.exception
    assert url_settings(at).entries[0].hparams["lr"] == 0.0123
    assert widget(at, "select_slider", "x.0.h.lr").value == 0.0123
    widget(at, "text_input", "x.0.h.lr.typed").input("-1").run()
    assert not at.exception
    assert url_settings(at).entries[0].hparams["lr"] == 0.0123
    assert any("lr must be" in w.value and "0.0123" in w.value for w in at.sidebar.warning)
    widget(at, "text_input", "x.0.h.lr.typed").input("fast").run()
    assert any("must be a number" in w.value for w in at.sidebar.warning)


def test_moving_the_slider_updates_the_typed_value():
    at = start()
    widget(at, "select_slider", "x.0.h.lr").set_value(0.02).run()
    assert widget(at, "text_input", "x.0.h.lr.typed").value == "0.02"


def test_bounds_in_words():
    assert bound_words(1, 5000, "int") == "1 to 5,000"
    assert bound_words(0, math.inf) == "at least 0"
    assert bound_words(0, math.inf, low_open=True) == "greater than 0"
    assert bound_words(-math.inf, math.inf) == "any number"


def test_multi_line_rules_render_as_rows_not_a_katex_warning():
    adam = OPTIMIZERS["adam"].latex
    assert display_latex(adam).startswith(r"\begin{gathered}") and display_latex(adam).endswith(r"\end{gathered}")
    assert display_latex(r"\theta_t = \theta_{t-1} - \alpha g_t") == r"\theta_t = \theta_{t-1} - \alpha g_t"
    at = start()
    at.session_state["details"] = "Update rules"  # the tab below the race that typesets the rules
    at.run()
    rule = next(element.value for element in at.latex if "m_t" in element.value)
    assert r"\begin{gathered}" in rule


def test_the_step_inspector_says_a_run_diverged_instead_of_none():
    at = start({"opt": ["sgd;lr=0.1", "adam;lr=0.05"], "steps": "200"})
    at.session_state["details"] = "Every quantity at one step"
    at.run()
    widget(at, "slider", "x.inspect").set_value(150).run()
    table = next(t for t in tables(at) if "quantity" in t.columns)
    diverged = table[table["optimizer"] == "SGD"]
    assert len(diverged) == 1 and diverged["quantity"].iloc[0].startswith("— diverged at step")
    assert not (table == "—").any().any()  # every cell says something


def test_the_amsgrad_lesson_draws_its_counterexample_chart():
    at = start()
    widget(at, "selectbox", "lesson").set_value("amsgrad").run()
    assert not at.exception
    assert any(chart.proto.id and "online problem" in chart.proto.spec for chart in at.get("plotly_chart"))


def test_sweep_captions_name_the_colours_of_the_chosen_colouring():
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["tab"] = "Sweeps & basins"
    at.run()
    sweep = next(c.value for c in at.caption if c.value.startswith("Click a cell"))
    assert "dark purple lowest" in sweep and "red: diverged" in sweep and "dark: diverged" not in sweep
    at.session_state["sweeps.section"] = "Basins of attraction"
    at.run()
    basins = next(c.value for c in at.caption if c.value.startswith("Each pixel"))
    assert "one scale shared by both maps" in basins


def test_defaults_and_lessons_refresh_the_typed_value():
    at = start()
    widget(at, "text_input", "x.0.h.lr.typed").input("0.0123").run()
    next(b for b in more_settings(at, 0).button if b.key == "x.0.reset").click().run()
    assert widget(at, "text_input", "x.0.h.lr.typed").value == "0.1"  # Adam's suited rate on Rosenbrock
    widget(at, "selectbox", "lesson").set_value("valley").run()
    assert widget(at, "text_input", "x.0.h.lr.typed").value == "0.05"  # the lesson's Adam


def test_a_log_slider_showing_a_window_has_an_exact_box_and_one_spanning_every_value_has_none():
    at = start()
    boxes = {w.key for w in at.text_input}
    assert {"x.0.h.lr.typed", "x.sp.b.typed"} <= boxes  # five decades around the suited rate; Rosenbrock's b
    assert "x.0.h.eps.typed" not in boxes  # ε: 0 and 1e-10 … 100, every value of use, on the slider
    eps = next(p for p in OPTIMIZERS["adam"].params if p.name == "eps")
    assert {0.0, 1e-10, 1e-8, 1e-7, 100.0} <= set(options_for(eps, eps.default))


def test_the_results_table_says_what_its_columns_mean_under_it():
    at = start()
    (results_element,) = [m for m in at.markdown if "final loss" in m.value and m.value.startswith("| ")]
    note = results_element.value.split("\n\n")[1]
    assert note.startswith(":small[:gray[") and "★ the lowest final loss" in note and "reached" in note


def test_presentation_mode_and_the_traced_choice_survive_a_visit_to_another_tab():
    at = start()
    widget(at, "toggle", "present").set_value(True).run()
    at.session_state["tab"] = "MNIST"
    at.run()
    at.session_state["tab"] = "Race explorer"
    at.run()
    assert not at.exception
    assert widget(at, "toggle", "present").value is True
