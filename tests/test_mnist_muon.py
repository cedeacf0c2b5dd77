"""Muon in the MNIST trainers: it steps the hidden weight matrices and AdamW the other arrays (optviz.mnist.
hidden_matrices), matching torch.optim.Muon + torch.optim.AdamW on a small MLP (tests/fixtures/mnist_muon_reference.npz,
written by tools/make_mnist_muon_reference.py with torch's Newton–Schulz iteration patched from bfloat16 to float64)."""

import json
from pathlib import Path

import numpy as np
import pytest

from optviz.mnist.data import MnistData
from optviz.mnist.defaults import framework_hparams, offered
from optviz.mnist.hidden_matrices import hidden_matrices, trained, trained_note
from optviz.mnist.train import train
from optviz.optimizers import in_batches

FIXTURE = np.load(Path(__file__).parent / "fixtures" / "mnist_muon_reference.npz")
META = json.loads(str(FIXTURE["meta"]))


def _digits() -> MnistData:
    x = FIXTURE["x"] / 255.0
    y = FIXTURE["y"]
    return MnistData(x, y, x[:16], y[:16], "the reference's digits", "mnist-subset")


def _reference_run(**hparams):
    """The trainer on the reference's network, digits, batches and initial weights, in float64."""
    run = train(_digits(), "muon", hidden=tuple(META["sizes"][1:-1]), epochs=META["epochs"],
                batch_size=META["batch_size"], seed=META["seed"], eval_every=1, dtype=np.float64, **hparams)
    run.model.flat[:] = FIXTURE["initial"]
    return run


def _largest_relative_difference(run, expected: np.ndarray) -> float:
    """max over the parameter arrays of max|Δ| / max|reference|."""
    return max(float(np.abs(a - b).max() / np.abs(b).max())
               for a, b in zip(run.model.params, run.model.split(expected)))


@pytest.mark.parametrize("index", range(len(META["cases"])), ids=[json.dumps(c) for c in META["cases"]])
def test_the_trainer_matches_torchs_muon_on_the_hidden_matrices_and_adamw_on_the_rest(index):
    run = _reference_run(**META["cases"][index])
    assert run.optimizer.arrays() == {"matrix": ["W2", "W3"], "partner": ["W1", "b1", "b2", "b3", "W4", "b4"]}
    expected = iter(FIXTURE["weights"][index])
    differences = []
    for event in run:
        if event["step"] in META["checked"]:
            differences.append(_largest_relative_difference(run, next(expected)))
    assert run.step == META["checked"][-1] and len(differences) == len(META["checked"])
    assert max(differences) < 1e-10
    assert np.abs(run.model.flat - FIXTURE["initial"]).max() > 1e-3  # it moved: not trivially equal


def test_the_hidden_matrices_are_the_2d_weights_between_the_first_and_the_last():
    assert hidden_matrices([(784, 6), (6,), (6, 8), (8,), (8, 4), (4,), (4, 10), (10,)]) == [2, 4]
    assert hidden_matrices([(784, 256), (256,), (256, 10), (10,)]) == []
    cnn = train(_digits(), "muon", model="cnn", epochs=1, batch_size=16)
    assert cnn.optimizer.arrays() == {"matrix": ["W1"], "partner": ["K", "c", "b1", "W2", "b2"]}


def test_a_network_without_hidden_matrices_is_refused_in_words():
    with pytest.raises(ValueError, match="784-16-10 has none: its first layer reads the pixels"):
        train(_digits(), "muon", hidden=(16,))


def test_the_arrays_beside_the_hidden_matrices_take_adamws_step_at_torchs_defaults_and_muons_rate():
    def one_step(name, **hparams):
        run = train(_digits(), name, hidden=(6, 8), epochs=1, batch_size=16, eval_every=1, **hparams)
        next(run)
        return run.model.params

    muon = one_step("muon", lr=0.01)
    adamw = one_step("adamw", lr=0.01, weight_decay=0.01)
    for index, (a, b) in enumerate(zip(muon, adamw)):
        assert np.array_equal(a, b) == (index != 2)  # all but W2 (index 2) bit for bit


def test_a_change_mid_training_reaches_both_parts():
    run = _reference_run(lr=0.01)
    next(run)
    run.change(lr=0.002, nesterov=False, ns_steps=2)
    next(run)
    assert run.optimizer.hparams["nesterov"] is False and run.optimizer.hparams["ns_steps"] == 2
    assert run.optimizer.partner.lr_at(1) == 0.002 == run.optimizer.lr_at(1)


def test_the_trainers_offer_muon_and_the_sweeps_do_not():
    assert "muon" in trained() and "muon" not in in_batches() and set(in_batches()) < set(trained())
    assert "muon" in offered("pytorch") and "muon" not in offered("keras")
    assert "Muon steps the hidden weight matrices only" in trained_note()
    assert "Newton's method" in trained_note() and "Muon, " not in trained_note()


def test_the_tabs_muon_defaults_to_moonshots_rate_scaling_so_one_rate_suits_adamw_too():
    hparams, unsupported = framework_hparams("pytorch", "muon")
    assert hparams["adjust_lr_fn"] == "match_rms_adamw" and not unsupported
