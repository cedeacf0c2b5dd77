"""Data surfaces in the app, through AppTest: the batch size control, per-entry batch sizes in the link, epochs."""

from test_race_tab_app import more_settings, race_data, results, settings_in_url, start, widget

from optviz.scenarios import LESSONS


def on_linear_regression():
    at = start({"surface": "linear_regression"})
    assert not at.exception and not at.error
    return at


def test_the_named_batch_sizes_set_the_surfaces_batch_size_and_its_exact_value():
    at = on_linear_regression()
    assert settings_in_url(at).surface_params["batch_size"] == 150  # full batch by default
    widget(at, "segmented_control", "x.sp.batch_size.named").set_value("single").run()
    assert not at.exception and settings_in_url(at).surface_params["batch_size"] == 1
    assert widget(at, "number_input", "x.sp.batch_size.exact").value == 1
    widget(at, "segmented_control", "x.sp.batch_size.named").set_value("mini").run()
    assert settings_in_url(at).surface_params["batch_size"] == 16
    widget(at, "number_input", "x.sp.batch_size.exact").set_value(40).run()
    assert settings_in_url(at).surface_params["batch_size"] == 40
    assert widget(at, "segmented_control", "x.sp.batch_size.named").value == "mini"
    assert {row["epochs"] for row in results(at).values()} == {float(f"{500 * 40 / 150:.3g}")}


def test_an_entry_can_race_at_its_own_batch_size_and_the_link_keeps_it():
    at = more_settings(on_linear_regression(), 1)  # SGD, the second entry
    widget(at, "segmented_control", "x.1.sp.batch_size.named").set_value("single").run()
    url = settings_in_url(at)
    assert [e.surface_params for e in url.entries] == [{}, {"batch_size": 1}]
    rows = results(at)
    assert rows["Adam"]["batch size"] == 150 and rows["SGD"]["batch size"] == 1
    again = start(dict(at.query_params))
    assert results(again)["SGD"]["final loss"] == rows["SGD"]["final loss"]
    widget(at, "segmented_control", "x.1.sp.batch_size.named").set_value("surface").run()
    assert [e.surface_params for e in settings_in_url(at).entries] == [{}, {}]


def test_a_link_with_a_batch_size_out_of_range_falls_back_with_a_warning():
    at = start({"surface": "linear_regression", "opt": ["sgd;sp.batch_size=900", "adam;sp.standardize=0"]})
    assert not at.exception
    assert "2 settings in the link could not be used" in at.warning[0].value  # one line; the list on demand
    text = " ".join(m.value for m in at.markdown)
    assert "batch\\_size must be an integer in \\[1, 150\\]" in text and "cannot set the surface parameter" in text


def test_the_batch_lesson_loads_its_three_batch_sizes():
    at = start()
    at.selectbox(key="lesson").select("batch").run()
    assert not at.exception and not at.error
    rows = results(at)
    assert [rows[label]["batch size"] for label in rows] == [1, 8, 150]  # the smooth full batch drawn on top
    shown = [float(f"{epochs:.3g}") for epochs in (200 / 150, 200 * 8 / 150, 200)]  # as the table shows them
    assert [rows[label]["epochs"] for label in rows] == shown
    assert LESSONS["batch"].title in " ".join(m.value for m in at.markdown)


def test_the_race_viewer_gets_the_data_panel_on_data_surfaces_only():
    at = on_linear_regression()
    panel = race_data(at)["payload"]["data_panel"]
    assert panel["x_label"] == "petal length (standardised)" and len(panel["lines"]) == 2  # Adam and SGD
    assert race_data(at)["payload"]["map"]["axis_names"] == ["w", "b"]
    assert race_data(start())["payload"]["data_panel"] is None


def test_the_eps_placement_lesson_loads_and_its_control_changes_the_race():
    at = start()
    at.selectbox(key="lesson").select("eps_placement").run()
    assert not at.exception and not at.error
    assert [e.hparams["eps_placement"] for e in settings_in_url(at).entries] == ["outside", "keras", "inside"]
    placement = widget(at, "selectbox", "x.0.h.eps_placement")
    assert placement.options == ["outside: √v̂ + ε (torch)", "inside: √(v̂ + ε)",
                                 "Keras: ε̂ added to √v before bias correction"]
    before = results(at)["ε outside the root (torch)"]["final loss"]
    placement.select("inside").run()
    assert settings_in_url(at).entries[0].hparams["eps_placement"] == "inside"
    assert results(at)["ε outside the root (torch)"]["final loss"] != before
