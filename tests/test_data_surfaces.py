"""Surfaces defined by data: a loss that is a mean over examples, and each step's gradient a mini-batch's mean."""

import csv
from pathlib import Path

import numpy as np
import pytest

import optviz
from optviz.datasets import batch_rows

DATA = Path(optviz.__file__).parent / "data" / "iris_petals.csv"
DATA_SURFACES = ["linear_regression", "logistic_regression"]


def read_iris():
    """The shipped CSV read independently of optviz.datasets."""
    with open(DATA, newline="") as f:
        rows = list(csv.DictReader(f))
    return (np.array([float(r["petal_length_cm"]) for r in rows]), np.array([float(r["petal_width_cm"]) for r in rows]),
            np.array([r["species"] for r in rows]))


def full_gradient(name, params, standardize=True, l2=0.0):
    """Textbook gradients of the two models, written from their formulas."""
    length, width, species = read_iris()
    if name == "linear_regression":
        x = (length - length.mean()) / length.std() if standardize else length
        design = np.column_stack([x, np.ones_like(x)])
        return 2 * design.T @ (design @ params - width) / len(x)
    keep = species != "setosa"
    features = np.column_stack([length[keep], width[keep]])
    features = features - features.mean(axis=0)
    if standardize:
        features /= features.std(axis=0)
    labels = (species[keep] == "virginica").astype(float)
    prob = 1 / (1 + np.exp(-features @ params))
    return features.T @ (prob - labels) / len(labels) + l2 * params


def test_the_shipped_data_is_iris_with_its_licence_stated():
    length, width, species = read_iris()
    assert len(length) == 150 and sorted(set(species)) == ["setosa", "versicolor", "virginica"]
    assert (np.unique(species, return_counts=True)[1] == 50).all()
    assert abs(length.mean() - 3.758) < 1e-3 and abs(width.mean() - 1.1993) < 1e-3  # Fisher's published means
    readme = (DATA.parent / "README.md").read_text()
    assert "CC BY 4.0" in readme and "Fisher" in readme


@pytest.mark.parametrize("batch_size", [1, 16, 50, 150])
def test_every_epoch_is_a_permutation_cut_into_batches_with_a_smaller_last_one(batch_size):
    n, per_epoch = 150, -(-150 // batch_size)
    for epoch in range(3):
        batches = [batch_rows(n, batch_size, 0, epoch * per_epoch + j + 1) for j in range(per_epoch)]
        assert sorted(np.concatenate(batches).tolist()) == list(range(n))
        assert [len(b) for b in batches[:-1]] == [batch_size] * (per_epoch - 1)
        assert len(batches[-1]) == n - (per_epoch - 1) * batch_size  # 150 = 9·16 + 6


def test_same_seed_gives_the_same_batches_and_other_seeds_or_epochs_differ():
    first = [batch_rows(150, 16, 4, t) for t in range(1, 30)]
    again = [batch_rows(150, 16, 4, t) for t in range(1, 30)]
    other = [batch_rows(150, 16, 5, t) for t in range(1, 30)]
    assert all((a == b).all() for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    epoch1, epoch2 = (np.concatenate(first[:10]), np.concatenate(first[10:20]))
    assert not np.array_equal(epoch1, epoch2)  # a fresh permutation every epoch


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("name", DATA_SURFACES)
def test_full_batch_is_plain_gradient_descent_on_the_full_loss(name, standardize):
    surf = optviz.surface(name, standardize=standardize)
    lr = 0.02 if standardize or name == "logistic_regression" else 0.05
    traj = optviz.run(surf, "sgd", steps=200, lr=lr)
    theta = np.array(surf.start, dtype=float)
    path = [theta]
    for _ in range(200):
        theta = theta - lr * full_gradient(name, theta, standardize)
        path.append(theta)
    np.testing.assert_allclose(traj.path, np.array(path), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(traj.loss, surf.value(traj.path[:, 0], traj.path[:, 1]), rtol=1e-14)


@pytest.mark.parametrize("batch_size", [10, 16, 1])
@pytest.mark.parametrize("name", DATA_SURFACES)
def test_an_epochs_batch_gradients_average_to_the_full_gradient(name, batch_size):
    surf = optviz.surface(name, batch_size=batch_size, seed=3, l2=0.1) if name == "logistic_regression" else \
        optviz.surface(name, batch_size=batch_size, seed=3)
    point = np.array([0.3, -0.7])
    per_epoch = -(-surf.model.n // batch_size)
    second_epoch = range(per_epoch + 1, 2 * per_epoch + 1)
    grads = np.array([surf.step_grad(point[0], point[1], t) for t in second_epoch])
    sizes = np.array([len(surf.batch(t)) for t in second_epoch])  # the last batch weighs less when it is smaller
    mean = (grads * sizes[:, None]).sum(axis=0) / sizes.sum()
    np.testing.assert_allclose(mean, surf.grad(*point), rtol=1e-12, atol=1e-15)
    expected = full_gradient(name, point, l2=0.1 if name == "logistic_regression" else 0.0)
    np.testing.assert_allclose(mean, expected, rtol=1e-12, atol=1e-15)
    assert not np.allclose(grads[0], expected)  # a single batch is a sample, not the full gradient


@pytest.mark.parametrize("name", DATA_SURFACES)
def test_a_batch_gradient_matches_finite_differences_of_that_batchs_loss(name):
    surf = optviz.surface(name, batch_size=7, seed=1, standardize=False)
    rows = surf.batch(5)
    model = surf.model

    def batch_loss(p, q):
        sub = type(model)(model.kind, model.inputs[rows], model.targets[rows], model.input_names, model.target_name,
                          model.class_names, model.l2)
        return sub.value(p, q)

    rng = np.random.default_rng(0)
    for p, q in rng.uniform(-2, 2, (20, 2)):
        h = 1e-6
        fd = [(batch_loss(p + h, q) - batch_loss(p - h, q)) / (2 * h),
              (batch_loss(p, q + h) - batch_loss(p, q - h)) / (2 * h)]
        np.testing.assert_allclose(surf.step_grad(p, q, 5), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", DATA_SURFACES)
def test_step_gradient_is_vectorized_over_runs(name):
    surf = optviz.surface(name, batch_size=5)
    x, y = np.linspace(-1, 2, 9), np.linspace(3, -1, 9)
    gx, gy = surf.step_grad(x, y, 4)
    assert gx.shape == gy.shape == (9,)
    singles = np.array([surf.step_grad(a, b, 4) for a, b in zip(x, y)])
    np.testing.assert_allclose(np.column_stack([gx, gy]), singles, rtol=1e-14)


def test_two_identical_optimizers_in_one_race_take_identical_paths():
    races = optviz.race(optviz.surface("logistic_regression", batch_size=1, seed=2), ["sgd", "sgd", "adam"],
                        steps=300, hparams={"sgd": {"lr": 0.3}})
    np.testing.assert_array_equal(races["sgd"].path, races["sgd (2)"].path)
    assert not np.array_equal(races["sgd"].path, races["adam"].path)


def test_every_configuration_of_a_sweep_sees_the_same_batches_as_a_single_run():
    surf = optviz.surface("linear_regression", batch_size=8, seed=5)
    lrs = np.array([0.003, 0.03, 0.1])
    batched = optviz.run(surf, "momentum", steps=120, lr=lrs, momentum=0.8, record="path")
    for i, lr in enumerate(lrs):
        alone = optviz.run(surf, "momentum", steps=120, lr=float(lr), momentum=0.8, record="path")
        np.testing.assert_array_equal(batched.path[:, i], alone.path)


def test_race_entries_can_have_their_own_batch_size_and_epochs_count_the_gradients():
    entries = [optviz.Entry("sgd", {"lr": 0.05}, label=f"B={b}", surface_params={"batch_size": b})
               for b in (150, 16, 1)]
    races = optviz.race("linear_regression", entries, steps=300)
    alone = optviz.run(optviz.surface("linear_regression", batch_size=16), "sgd", steps=300, lr=0.05)
    np.testing.assert_array_equal(races["B=16"].path, alone.path)
    assert [races[f"B={b}"].surface.epochs(300) for b in (150, 16, 1)] == [300.0, 32.0, 2.0]
    np.testing.assert_array_equal(races["B=150"].loss, optviz.run("linear_regression", "sgd", steps=300, lr=0.05).loss)


def test_an_entry_cannot_change_the_loss_itself():
    with pytest.raises(ValueError, match="cannot set the surface parameter 'standardize'"):
        optviz.race("linear_regression", [optviz.Entry("sgd", surface_params={"standardize": False})], steps=5)
    with pytest.raises(ValueError, match="cannot set the surface parameter 'batch_size' on Rosenbrock"):
        optviz.race("rosenbrock", [optviz.Entry("sgd", surface_params={"batch_size": 3})], steps=5)


def test_the_documented_example_reaches_the_least_squares_fit_by_single_examples():
    surf = optviz.surface("linear_regression", batch_size=1, seed=0)
    traj = optviz.run(surf, "sgd", steps=300, lr=0.05)
    assert traj.diverged_at is None
    assert np.linalg.norm(traj.final - surf.minima[0]) < 0.1
    length, width, _ = read_iris()
    slope, intercept = np.polyfit((length - length.mean()) / length.std(), width, 1)
    np.testing.assert_allclose(surf.minima[0], [slope, intercept], rtol=1e-10)


@pytest.mark.parametrize("bad, message", [
    ({"batch_size": 0}, r"batch_size must be an integer in \[1, 150\]"),
    ({"batch_size": 151}, r"batch_size must be an integer in \[1, 150\]"),
    ({"batch_size": 2.5}, r"batch_size must be an integer"),
    ({"seed": -1}, r"seed must be an integer"),
])
def test_invalid_sampling_parameters_are_refused_with_their_range(bad, message):
    with pytest.raises(ValueError, match=message):
        optviz.surface("linear_regression", **bad)


def test_unstandardised_features_make_the_narrow_valley():
    def condition(standardize):
        eigenvalues = np.linalg.eigvalsh(optviz.surface("linear_regression", standardize=standardize).model.hessian())
        return eigenvalues.max() / eigenvalues.min()

    assert condition(True) == pytest.approx(1.0)
    assert condition(False) > 100
