"""Curvature of the MNIST networks: exact Hessian-vector products, the top eigenvalue, the stability thresholds.

* The MLP's (tanh or ReLU, squared error or cross-entropy) and a tiny CNN's Hessian-vector products equal their
  whole dense Hessians, built from central differences of the (separately tested) gradients, to 1e-6, in float64.
* Lanczos finds the dense Hessian's top eigenvalue to 1e-6, and Adam's preconditioned sharpness λ_max(P⁻¹H) that of
  the dense P⁻¹H, with P the very preconditioner of Adam's step.
* The thresholds, the catalogue's stability relations read for the sharpness, are the textbook ones (2/α,
  2(1+μ)/α, 38/α for Adam), and are where the optimizers' own steps on a quadratic turn from converging to diverging.
"""

from __future__ import annotations

import numpy as np
import pytest

from optviz.mnist import CNN, MLP
from optviz.mnist.curvature import SharpnessTracker, preconditioner, stability_threshold, top_eigen
from optviz.optimizers import optimizer

pytestmark = pytest.mark.filterwarnings("error")


def dense_hessian(model, x, y) -> np.ndarray:
    """H[:, j] = (∇L(θ + h e_j) − ∇L(θ − h e_j)) / 2h, symmetrised: independent of the R-operator."""
    theta, h = model.flat.copy(), 1e-5
    columns = []
    for j in range(model.n_params):
        model.flat[j] = theta[j] + h
        model.loss_and_grad(x, y)
        plus = model.flat_grad.copy()
        model.flat[j] = theta[j] - h
        model.loss_and_grad(x, y)
        model.flat[j] = theta[j]
        columns.append((plus - model.flat_grad) / (2 * h))
    hessian = np.stack(columns, axis=1)
    return (hessian + hessian.T) / 2


def operator_matrix(model, x, y) -> np.ndarray:
    hvp = model.hessian_operator(x, y)
    return np.stack([hvp(e) for e in np.eye(model.n_params)], axis=1)


def tiny_mlp(activation, loss, seed=1):
    rng = np.random.default_rng(seed)
    model = MLP((6, 5, 4, 3), seed=seed, dtype=np.float64, activation=activation, loss=loss)
    for b in model.biases:   # off ReLU's kink, and every bias term exercised
        b[...] = rng.normal(0, 0.3, b.shape)
    return model, rng.standard_normal((7, 6)), rng.integers(0, 3, 7)


def tiny_cnn():
    """2 filters, 3 hidden units: 1,077 parameters, a dense Hessian in a second. Dropout masks of ones, so the
    gradients differenced are those of the loss the Hessian operator is for (the network as evaluated)."""
    rng = np.random.default_rng(0)
    model = CNN(seed=2, dtype=np.float64, filters=2, hidden=3)
    model._dropout_mask = lambda mask, rate: (mask.fill(1), mask)[1]
    model.params[1][...] = rng.normal(0, 0.1, 2)
    model.params[3][...] = rng.normal(0, 0.1, 3)
    x = rng.random((3, 784))
    x[x < 0.6] = 0   # mostly blank, like MNIST
    return model, x, rng.integers(0, 10, 3)


@pytest.mark.parametrize("activation, loss", [("tanh", "mse"), ("tanh", "cross_entropy"), ("relu", "mse"),
                                              ("relu", "cross_entropy")])
def test_the_mlps_hessian_vector_products_are_its_dense_hessian(activation, loss):
    model, x, y = tiny_mlp(activation, loss)
    dense, exact = dense_hessian(model, x, y), operator_matrix(model, x, y)
    np.testing.assert_allclose(exact, dense, atol=1e-6 * np.abs(dense).max())
    np.testing.assert_allclose(exact, exact.T, atol=1e-12)


def test_the_cnns_hessian_vector_products_are_its_dense_hessian():
    model, x, y = tiny_cnn()
    dense, exact = dense_hessian(model, x, y), operator_matrix(model, x, y)
    np.testing.assert_allclose(exact, dense, atol=1e-6 * np.abs(dense).max())
    assert np.abs(dense[:20, :20]).max() > 1e-3   # the filters' block is not trivially zero


def test_the_operator_answers_for_the_weights_it_was_made_at():
    model, x, y = tiny_mlp("tanh", "mse")
    hvp, v = model.hessian_operator(x, y), np.random.default_rng(3).standard_normal(model.n_params)
    before = hvp(v)
    model.flat += 0.1
    np.testing.assert_array_equal(hvp(v), before)


@pytest.mark.parametrize("make", [lambda: tiny_mlp("tanh", "mse"), lambda: tiny_mlp("relu", "cross_entropy"),
                                  tiny_cnn], ids=["mlp-tanh-mse", "mlp-relu-ce", "cnn"])
def test_lanczos_finds_the_dense_hessians_top_eigenvalue(make):
    model, x, y = make()
    expected = np.linalg.eigvalsh(dense_hessian(model, x, y))[-1]
    start = np.random.default_rng(4).standard_normal(model.n_params)
    eigen = top_eigen(model.hessian_operator(x, y), start, iterations=200, tol=1e-12)
    assert eigen.value == pytest.approx(expected, rel=1e-6)


def test_the_top_eigenvalue_is_the_largest_not_the_largest_in_size():
    matrix = np.diag([-9.0, 1.0, 2.0, 3.0])
    eigen = top_eigen(lambda v: matrix @ v, np.ones(4), iterations=4, tol=1e-14)
    assert eigen.value == pytest.approx(3.0) and abs(eigen.vector[3]) == pytest.approx(1.0)


def test_adams_preconditioner_is_the_one_its_step_divides_by():
    """θ_t − θ_{t+1} = α·P⁻¹·m_{t+1}: the step taken, coordinate by coordinate (ε inside, outside or Keras's)."""
    rng = np.random.default_rng(5)
    for placement in ("outside", "inside", "keras"):
        opt = optimizer("adam", lr=0.01, eps=1e-3, eps_placement=placement)
        theta = rng.standard_normal(50)
        state = opt.init(theta)
        for _ in range(3):
            opt.step_(theta, rng.standard_normal(50), state)
        before, grad = theta.copy(), rng.standard_normal(50)
        opt.step_(theta, grad, state)
        np.testing.assert_allclose(before - theta, 0.01 * preconditioner(opt, state) * state.m, rtol=1e-9, atol=1e-15)


def test_the_preconditioned_sharpness_is_the_dense_p_inverse_h_top_eigenvalue():
    model, x, y = tiny_mlp("tanh", "mse")
    opt = optimizer("adam", lr=0.01)
    state = opt.init(model.flat)
    rng = np.random.default_rng(6)
    for _ in range(5):
        opt.step_(model.flat.copy(), rng.standard_normal(model.n_params), state)   # moments from some gradients
    scale = preconditioner(opt, state)
    expected = np.max(np.linalg.eigvals(scale[:, None] * dense_hessian(model, x, y)).real)
    tracker = SharpnessTracker(model, x, y, opt, state, every=1, iterations=model.n_params, tol=1e-13)
    record = tracker.measure(5)
    assert record["preconditioned"] and record["sharpness"] == pytest.approx(expected, rel=1e-6)
    assert record["threshold"] == pytest.approx(38 / 0.01)


@pytest.mark.parametrize("name, hparams, expected", [
    ("sgd", {"lr": 0.2}, 2 / 0.2),
    ("sgd", {"lr": 0.2, "weight_decay": 0.5}, 2 / 0.2 - 0.5),
    ("momentum", {"lr": 0.1, "momentum": 0.9}, 2 * 1.9 / 0.1),
    ("momentum", {"lr": 0.1, "momentum": 0.5, "dampening": 0.5}, 2 * 1.5 / (0.5 * 0.1)),
    ("adam", {"lr": 1e-3}, 38 / 1e-3),
    ("adam", {"lr": 1e-3, "beta1": 0.5}, (2 + 2 * 0.5) / ((1 - 0.5) * 1e-3)),
    ("adamw", {"lr": 1e-3, "beta1": 0.0}, 2 / 1e-3),
])
def test_thresholds_are_the_textbook_ones(name, hparams, expected):
    assert stability_threshold(optimizer(name, **hparams), 10).value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adadelta", "adamax", "lion", "nesterov"])
def test_rules_without_a_known_threshold_have_none(name):
    assert stability_threshold(optimizer(name), 10).value is None


@pytest.mark.parametrize("name, hparams", [("sgd", {"lr": 0.3}), ("sgd", {"lr": 0.3, "weight_decay": 0.4}),
                                           ("momentum", {"lr": 0.3, "momentum": 0.8}),
                                           ("momentum", {"lr": 0.3, "momentum": 0.6, "dampening": 0.3})])
def test_the_threshold_is_where_the_rules_own_steps_on_a_quadratic_start_to_diverge(name, hparams):
    """f(θ) = λθ²/2, gradient λθ, stepped by the optimizer itself: bounded just below the threshold, diverging just
    above (the catalogue's relation checked against the rule it describes)."""
    opt = optimizer(name, **hparams)
    limit = stability_threshold(opt, 10).value
    for curvature, bounded in ((0.99 * limit, True), (1.01 * limit, False)):
        theta = np.array([1.0])
        state = opt.init(theta)
        for _ in range(3000):
            opt.step_(theta, curvature * theta, state)
        assert (abs(theta[0]) < 1) == bounded, (name, curvature / limit)


def test_the_threshold_follows_a_schedule_and_the_step():
    from optviz.schedules import schedule
    opt = optimizer("sgd", schedule("step", step_size=10, gamma=0.5), lr=0.2)
    assert stability_threshold(opt, 0).value == pytest.approx(10)
    assert stability_threshold(opt, 10).value == pytest.approx(20)


def test_measurements_warm_start_from_the_last_eigenvector():
    model, x, y = tiny_mlp("tanh", "mse")
    tracker = SharpnessTracker(model, x, y, optimizer("sgd", lr=0.1), None, every=5, iterations=40, tol=1e-8)
    first, second = tracker.measure(0), tracker.measure(5)
    assert second["sharpness"] == pytest.approx(first["sharpness"], rel=1e-8)
    assert second["iterations"] <= 2 < first["iterations"]
    assert first["threshold"] == pytest.approx(20) and first["formula"] == "2/α"
    assert SharpnessTracker(model, x, y, optimizer("momentum", lr=0.1), None).measure(0)["formula"] == "2(1+μ)/α"
    assert tracker.due(10) and not tracker.due(11)


@pytest.mark.parametrize("every, message", [(0, "K must be an integer ≥ 1"), (2.5, "K must be an integer ≥ 1"),
                                            (True, "K must be an integer ≥ 1")])
def test_a_bad_interval_is_refused_in_words(every, message):
    model, x, y = tiny_mlp("tanh", "mse")
    with pytest.raises(ValueError, match=message):
        SharpnessTracker(model, x, y, optimizer("sgd"), None, every=every)


def test_bad_activation_or_loss_is_refused_in_words():
    with pytest.raises(ValueError, match="activation must be one of relu, tanh"):
        MLP((4, 3, 2), activation="sigmoid")
    with pytest.raises(ValueError, match="loss must be one of cross_entropy, mse"):
        MLP((4, 3, 2), loss="hinge")
