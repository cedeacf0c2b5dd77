"""The MNIST CNN: Conv2D(32, 3×3, ReLU) → MaxPool 2×2 → Dropout .25 → Dense 256 ReLU → Dropout .5 → Dense 10.

* The compiled convolution + ReLU + pooling equals a direct NumPy evaluation of the definition.
* Backpropagation (convolution, pooling, both dropouts with their masks held fixed) matches central
  differences in float64.
* Dropout is off at evaluation and scales kept units by 1/(1 − p) in training.
* Runs with one seed start from the same weights and see the same batches and masks, whatever the optimizer;
  they stream the MLP's events, learn real digits, and the landscape works on them.
"""

from __future__ import annotations

import numpy as np
import pytest

from optviz.mnist import CNN, MnistData, load_mnist_subset, loss_landscape, train
from optviz.mnist.cnn import DROPOUT, FLAT, conv_relu_pool
from optviz.mnist.landscape import _sample
from optviz.mnist.train import estimated_seconds, measured_speed

pytestmark = pytest.mark.filterwarnings("error")


def sparse_images(rng, n):
    """Random 'digits': mostly blank like MNIST, so the kernel's skipping of blank pixels is exercised."""
    x = rng.random((n, 784))
    x[x < 0.6] = 0
    return x


def reference_conv_relu_pool(images, K, c):
    """The definition, directly: every 3×3 patch · K + c, ReLU, then the max of each 2×2 window."""
    patches = np.lib.stride_tricks.sliding_window_view(images, (3, 3), axis=(1, 2))   # (n, 26, 26, 3, 3)
    z = patches.reshape(*patches.shape[:3], 9) @ K + c                               # (n, 26, 26, 32)
    a = np.maximum(z, 0)
    n = len(images)
    return a.reshape(n, 13, 2, 13, 2, -1).max(axis=(2, 4))


def test_compiled_convolution_relu_and_pooling_equal_the_definition():
    rng = np.random.default_rng(0)
    images = sparse_images(rng, 6).reshape(6, 28, 28)
    K, c = rng.standard_normal((9, 32)), rng.standard_normal(32) * 0.1
    pooled, winner = np.empty((6, 13, 13, 32)), np.empty((6, 13, 13, 32), dtype=np.uint8)
    conv_relu_pool(images, K, c, pooled, winner)
    np.testing.assert_allclose(pooled, reference_conv_relu_pool(images, K, c), rtol=1e-13, atol=1e-13)
    assert set(np.unique(winner)) == {0, 1, 2, 3}


def test_backprop_matches_central_differences_in_float64_with_fixed_dropout_masks():
    """Every filter weight and bias coordinate by coordinate; every parameter array along random directions
    (a directional derivative g·v involves all of the array's entries at once)."""
    rng = np.random.default_rng(1)
    model = CNN(seed=2, dtype=np.float64)
    # non-zero biases: with c = 0 a blank patch sits exactly on ReLU's kink, where differences are one-sided
    model.params[1][...] = rng.normal(0, 0.1, 32)
    model.params[3][...] = rng.normal(0, 0.1, 256)
    x, y = sparse_images(rng, 4), rng.integers(0, 10, 4)

    theta = model.flat.copy()

    def loss(a, b, offset):
        """The loss with θ[a:b] moved by `offset`, the masks held fixed."""
        model.flat[a:b] = theta[a:b] + offset
        model.dropout_rng = np.random.default_rng(3)
        value = model.loss_and_grad(x, y)[0]
        model.flat[a:b] = theta[a:b]
        return value

    loss(0, 0, 0)
    grad = model.flat_grad.copy()
    h = 1e-6
    starts = np.cumsum([0] + [int(np.prod(s)) for s in model.shapes])
    for name, a, b in zip(model.names, starts[:-1], starts[1:]):
        directions = np.eye(b - a) if name in ("K", "c") else rng.standard_normal((4, b - a))
        for v in directions:
            numeric = (loss(a, b, h * v) - loss(a, b, -h * v)) / (2 * h)
            assert grad[a:b] @ v == pytest.approx(numeric, rel=1e-5, abs=1e-9), name
    assert np.abs(grad[:288]).max() > 1e-3   # the filters' gradient is not trivially zero


def test_dropout_drops_its_share_and_scales_the_rest_in_training_only():
    model = CNN(seed=0)
    mask = np.empty((64, FLAT), dtype=np.float32)
    model._dropout_mask(mask, DROPOUT[0])
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.75)}
    assert np.mean(mask == 0) == pytest.approx(0.25, abs=0.01)
    x = sparse_images(np.random.default_rng(4), 10).astype(np.float32)
    before = model.dropout_rng.bit_generator.state
    np.testing.assert_array_equal(model.logits(x), model.logits(x))   # evaluation: deterministic, no masks drawn
    assert model.dropout_rng.bit_generator.state == before


def test_glorot_uniform_initialization_zero_biases_and_float32():
    model = CNN(seed=5)
    K, c, W1, b1, W2, b2 = model.params
    assert model.flat.dtype == np.float32 and model.n_params == 9 * 32 + 32 + FLAT * 256 + 256 + 256 * 10 + 10
    for w, fan_in, fan_out in ((K, 9, 288), (W1, FLAT, 256), (W2, 256, 10)):
        limit = np.sqrt(6 / (fan_in + fan_out))
        assert 0.95 * limit < np.abs(w).max() <= limit * (1 + 1e-6)   # (+ float32 rounding)
        assert np.std(w) == pytest.approx(limit / np.sqrt(3), rel=0.1)   # the std of U(−a, a) is a/√3
    assert not (c.any() or b1.any() or b2.any())
    np.testing.assert_allclose(model.flat, CNN(seed=5, dtype=np.float64).flat, rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# Training

@pytest.fixture(scope="module")
def digits():
    """400 training and 200 test digits of the shipped subset: enough to learn something in a second."""
    return load_mnist_subset().subset(400, 200)


def test_same_seed_same_start_batches_and_masks_for_every_optimizer(digits):
    runs = [train(digits, name, model="cnn", epochs=1, batch_size=64, eval_every=1, seed=7)
            for name in ("adam", "sgd", "adadelta")]
    np.testing.assert_array_equal(runs[0].model.flat, runs[1].model.flat)
    first = [next(run) for run in runs]   # the loss of the first batch, before any step
    assert first[0]["loss"] == first[1]["loss"] == first[2]["loss"]   # same weights, same batch, same masks
    masks = {run.model.dropout_rng.bit_generator.state["state"]["state"] for run in runs}
    assert len(masks) == 1
    other = train(digits, "adam", model="cnn", epochs=1, batch_size=64, eval_every=1, seed=8)
    assert next(other)["loss"] != first[0]["loss"]


def test_a_tiny_cnn_run_learns_and_streams_the_mlps_events(digits):
    cnn = train(digits, "adam", model="cnn", epochs=2, batch_size=32, eval_every=5, seed=0, lr=1e-3).run_to_end()
    mlp = train(digits, "adam", epochs=1, batch_size=32, eval_every=5, seed=0).run_to_end()
    assert [set(e) for e in cnn.history[:2]] == [set(e) for e in mlp.history[:2]]
    ends = [e for e in cnn.history if e["epoch_end"]]
    assert set(ends[-1]) == set(next(e for e in mlp.history if e["epoch_end"]))
    assert len(ends) == 2 and ends[-1]["test_accuracy"] > 0.6, ends
    assert cnn.first_layer_weights().shape == (32, 3, 3)
    assert cnn.confusion_matrix().sum() == 200


def test_the_landscape_of_cnn_runs(digits):
    runs = [train(digits, name, model="cnn", epochs=1, batch_size=64, seed=0, snapshots=5, **hp).run_to_end()
            for name, hp in (("adam", {}), ("sgd", {"lr": 0.05}))]
    scape = loss_landscape(runs, resolution=3, n_samples=50)
    assert scape.loss.shape == (3, 3) and np.isfinite(scape.loss).all()
    # the path's last point is the origin run's final weights: its loss there is the network's own, dropout off
    x, y = _sample(digits, 50, seed=0)
    assert scape.path_loss["adam"][-1] == pytest.approx(runs[0].model.evaluate(x, y)[0], rel=1e-5)


def test_bad_model_settings_are_refused_in_words(digits):
    with pytest.raises(ValueError, match="model must be 'mlp' or 'cnn'"):
        train(digits, "adam", model="resnet")
    with pytest.raises(ValueError, match="the CNN's layers are fixed"):
        train(digits, "adam", model="cnn", hidden=(64,))


def test_random_data_gives_chance_level_not_a_crash():
    rng = np.random.default_rng(0)
    data = MnistData(rng.random((128, 784), dtype=np.float32), rng.integers(0, 10, 128),
                     rng.random((32, 784), dtype=np.float32), rng.integers(0, 10, 32), "random")
    run = train(data, "sgd", model="cnn", epochs=1, batch_size=64, lr=0.01).run_to_end()
    assert np.isfinite(run.history[-1]["test_loss"])


def test_the_time_estimate_comes_from_a_measured_speed():
    training, evaluation = measured_speed("cnn", batch_size=16, steps=2)
    assert 0 < training < 1e6 and 0 < evaluation < 1e7
    # 5 runs × 2 epochs × (1,000 digits at 500/s + 200 at 1,000/s) = 10 × 2.2 s
    assert estimated_seconds((500.0, 1000.0), runs=5, epochs=2, n_train=1000, n_test=200) == pytest.approx(22.0)
