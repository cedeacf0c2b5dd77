"""Models on a table's columns, and the surfaces over their (w, b): the same loss and gradient as the Iris models
on Iris's own columns, gradients that match finite differences, a map framed on the data, and the same surface
object in races, sweeps and basins."""

import numpy as np
import pytest

import optviz
from optviz import sweeps
from optviz.datasets import (
    DATA_FILE,
    EXACT_WORK,
    STEP_WORK,
    linear_model,
    linear_model_from,
    logistic_model_from,
    read_table,
)
from optviz.figures.data_panel import MAX_POINTS, data_panel
from optviz.figures.race_payload import race_payload
from optviz.figures.surface import SurfaceKey
from optviz.surfaces import data_surface

IRIS = read_table(DATA_FILE.read_bytes(), "Iris")
POINTS = np.random.default_rng(0).uniform(-3, 3, (25, 2))


def study(n=300, seed=1, separable=False) -> bytes:
    """A table of hours, score and passed with some overlap of the classes (none if `separable`)."""
    rng = np.random.default_rng(seed)
    hours = rng.uniform(0, 10, n).round(2)
    score = 30 + 6 * hours + rng.normal(0, 8, n)
    passed = (hours > 5) if separable else (score >= 60)
    rows = "".join(f"{h},{s:.1f},{int(p)}\n" for h, s, p in zip(hours, score, passed))
    return ("hours,score,passed\n" + rows).encode()


def finite_differences(loss, p, q, h=1e-6):
    return np.array([(loss(p + h, q) - loss(p - h, q)) / (2 * h), (loss(p, q + h) - loss(p, q - h)) / (2 * h)])


@pytest.mark.parametrize("standardize", [True, False])
def test_a_linear_model_on_the_iris_files_columns_is_the_iris_model(standardize):
    mine = linear_model_from(IRIS, "petal_length_cm", "petal_width_cm", standardize)
    iris = linear_model(standardize)
    np.testing.assert_array_equal(mine.inputs, iris.inputs)
    np.testing.assert_array_equal(mine.targets, iris.targets)
    p, q = POINTS.T
    np.testing.assert_array_equal(mine.value(p, q), iris.value(p, q))
    rows = np.arange(3, 150, 7)
    for got, want in zip(mine.grad(p, q, rows), iris.grad(p, q, rows)):
        np.testing.assert_array_equal(got, want)
    surface = data_surface("linear", IRIS, "petal_length_cm", "petal_width_cm", standardize=standardize)
    built_in = optviz.surface("linear_regression", standardize=standardize)
    np.testing.assert_allclose(surface.minima, built_in.minima, rtol=1e-12)
    np.testing.assert_array_equal(surface.hessian(), built_in.hessian())
    assert surface.model.input_names[0].startswith("petal_length_cm")  # named as the file names its columns


def test_the_logistic_model_is_the_textbook_cross_entropy_of_sigma_wx_plus_b():
    table = read_table(study())
    model = logistic_model_from(table, "hours", "passed", standardize=False, l2=0.3)
    x, y = table.numbers("hours"), table.numbers("passed")
    for w, b in POINTS:
        p = 1 / (1 + np.exp(-(w * x + b)))
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.15 * w * w  # the bias is not penalised
        assert model.value(w, b) == pytest.approx(loss, rel=1e-12)
        grad = [np.mean((p - y) * x) + 0.3 * w, np.mean(p - y)]
        np.testing.assert_allclose(model.grad(w, b), grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind, y", [("linear", "score"), ("logistic", "passed")])
@pytest.mark.parametrize("standardize", [True, False])
def test_a_batch_gradient_matches_finite_differences_of_that_batchs_loss(kind, y, standardize):
    table = read_table(study())
    surface = data_surface(kind, table, "hours", y, standardize=standardize, batch_size=7, seed=2,
                           **({"l2": 0.1} if kind == "logistic" else {}))
    model, rows = surface.model, surface.batch(5)
    batch = read_table(b"hours,y\n" + b"".join(f"{a},{b}\n".encode() for a, b in
                                               zip(table.numbers("hours")[rows], table.numbers(y)[rows])))
    for p, q in POINTS * [0.3, 3] if kind == "logistic" and not standardize else POINTS:
        expected = finite_differences(lambda a, b: _batch_loss(model, rows, a, b), p, q)
        np.testing.assert_allclose(surface.step_grad(p, q, 5), expected, rtol=1e-6, atol=1e-7)
    assert batch.n == 7


def _batch_loss(model, rows, p, q):
    sub = type(model)(model.kind, model.inputs[rows], model.targets[rows], model.input_names, model.target_name,
                      model.class_names, model.l2, model.bias)
    return float(sub.value(p, q))


@pytest.mark.parametrize("kind, y", [("linear", "score"), ("logistic", "passed")])
@pytest.mark.parametrize("standardize", [True, False])
def test_the_map_is_framed_on_the_data_around_the_minimum_with_the_start_on_it(kind, y, standardize):
    surface = data_surface(kind, read_table(study()), "hours", y, standardize=standardize)
    x0, x1, y0, y1 = surface.window
    (mw, mb), (sw, sb) = surface.minima[0], surface.start
    assert x0 < mw < x1 and y0 < mb < y1 and x0 < sw < x1 and y0 < sb < y1
    assert np.linalg.norm(surface.grad(mw, mb)) < 1e-9
    assert surface.value(sw, sb) > surface.value(mw, mb) + 0.1 * abs(surface.value(mw, mb))  # a race to run
    if kind == "logistic":
        assert x0 < 0 < x1 and y0 < 0 < y1  # the origin too, where every p = ½
    assert surface.axis_names == ("w", "b") and surface.params["batch_size"] == 300


def test_separated_classes_have_no_minimum_unless_penalised():
    table = read_table(study(separable=True))
    assert len(data_surface("logistic", table, "hours", "passed").minima) == 0
    penalised = data_surface("logistic", table, "hours", "passed", l2=0.1)
    assert len(penalised.minima) == 1 and np.linalg.norm(penalised.grad(*penalised.minima[0])) < 1e-9


def test_two_files_or_two_choices_of_columns_are_two_surfaces_for_every_cache():
    one, other = read_table(study(seed=1), "data.csv"), read_table(study(seed=2), "data.csv")
    keys = {SurfaceKey(data_surface("linear", table, "hours", y)) for table in (one, other) for y in ("score",)}
    keys.add(SurfaceKey(data_surface("linear", one, "score", "hours")))
    keys.add(SurfaceKey(data_surface("linear", read_table(study(seed=1), "renamed.csv"), "hours", "score")))
    assert len(keys) == 3  # the same bytes under another name are the same surface


def test_full_batch_mini_batch_and_single_examples_race_on_a_table_and_count_epochs():
    surface = data_surface("logistic", read_table(study()), "hours", "passed")
    entries = [optviz.Entry("sgd", {"lr": 0.5}, label=f"B={b}", surface_params={"batch_size": b})
               for b in (300, 16, 1)]
    races = optviz.race(surface, entries, steps=200)
    assert [races[f"B={b}"].surface.epochs(200) for b in (300, 16, 1)] == [200.0, 200 * 16 / 300, 200 / 300]
    assert all(traj.diverged_at is None for traj in races.values())
    assert races["B=300"].final_loss < surface.value(*surface.start)
    alone = optviz.run(surface.with_params(batch_size=16), "sgd", steps=200, lr=0.5)
    np.testing.assert_array_equal(races["B=16"].path, alone.path)


def test_sweeps_and_basins_run_on_the_same_table_surface():
    surface = data_surface("linear", read_table(study()), "hours", "score", batch_size=16)
    grid = sweeps.sweep(surface, "momentum", "lr", np.array([0.01, 0.05]), "momentum", np.array([0.0, 0.9]),
                        steps=50)
    assert grid.final_loss.shape == (2, 2) and np.isfinite(grid.final_loss).all()
    basins = sweeps.basins(surface, "sgd", 8, steps=30, lr=0.05)
    assert basins.surface is surface


def test_a_step_of_more_example_gradients_than_allowed_is_refused_in_words():
    surface = data_surface("logistic", read_table(study()), "hours", "passed")
    runs = STEP_WORK // 300 + 1
    with pytest.raises(ValueError, match=r"13,334 runs × 300 examples a step is more than the 4,000,000 "
                                         r"example-gradients a step may take on this model: use mini-batches"):
        surface.step_grad(np.zeros(runs), np.zeros(runs), 1)


def test_a_large_maps_loss_is_summarised_to_within_a_hundred_thousandth():
    """A map picture of 5,000 examples (720 × 400 points) takes the summary; fewer points, the exact loss."""
    model = logistic_model_from(read_table(study(n=5000, seed=3)), "hours", "passed")
    w, b = np.linspace(-3, 9, 720)[None, :], np.linspace(-5, 5, 400)[:, None]
    assert w.size * b.size * model.n > EXACT_WORK
    summary = model.value(w, b)[::10, ::12]
    some_w, some_b = w[:, ::12], b[::10]
    assert some_w.size * some_b.size * model.n <= EXACT_WORK
    np.testing.assert_allclose(summary, model.value(some_w, some_b), rtol=1e-5)


def test_the_data_panel_of_a_logistic_model_with_a_bias_is_x_and_the_label_with_each_threshold():
    table = read_table(study(), "grades.csv")
    races = optviz.race(data_surface("logistic", table, "hours", "passed"), ["sgd"], steps=30,
                        hparams={"sgd": {"lr": 0.5}})
    panel = data_panel(races)
    assert panel["title"] == "grades.csv: thresholds w·x + b = 0"
    assert panel["x_label"] == "hours (standardised)" and panel["y_label"] == "passed (0 or 1)"
    labels, y = np.array(panel["points"]["cls"]), np.array(panel["points"]["y"])
    assert set(labels) == {0, 1} and np.abs(y - labels).max() <= 0.06  # bands around 0 and 1
    ends = np.array([np.nan if v is None else v for v in panel["lines"][0]]).reshape(-1, 2, 2)
    w, b = races["sgd"].path[1:, 0], races["sgd"].path[1:, 1]
    shown = np.isfinite(ends[1:, 0, 0])  # (a threshold beyond the data draws no line)
    assert shown.sum() > 20
    np.testing.assert_allclose(ends[1:, 0, 0][shown], (-b / w)[shown], atol=1e-3)  # at the threshold x = −b/w
    np.testing.assert_allclose(ends[1:, 0, 0][shown], ends[1:, 1, 0][shown], atol=1e-3)  # vertical
    payload = race_payload(races, races["sgd"].surface, data_panel=panel)
    assert payload["data_panel"]["epochs_per_step"] == [1.0]  # full batch: a step is an epoch


def test_a_large_tables_panel_shows_an_even_share_of_its_examples():
    table = read_table(study(n=5000), "big.csv")
    races = optviz.race(data_surface("linear", table, "hours", "score", batch_size=50), ["sgd"], steps=5)
    panel = data_panel(races)
    assert len(panel["points"]["x"]) == MAX_POINTS
    assert panel["title"] == "big.csv: each optimizer's fit ŷ = w·x + b"
    assert panel["x_label"] == "hours (standardised) · 2,000 of 5,000 examples shown"
    assert race_payload(races, races["sgd"].surface, data_panel=panel)["data_panel"]["epochs_per_step"] == [0.01]
