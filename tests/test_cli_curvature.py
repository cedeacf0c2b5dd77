"""`optviz eos` and `optviz lr-find`: JSON with the steps, the sharpness, the threshold and the loss, and the range
test with its suggestion; bad values are refused in words with exit status 2. On the shipped subset (no download:
the cache and $OPTVIZ_MNIST_DIR point at empty folders)."""

from __future__ import annotations

import json

import pytest

from optviz.__main__ import main


@pytest.fixture(autouse=True)
def subset_only(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTVIZ_MNIST_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_eos_prints_steps_sharpness_threshold_and_loss_as_json(capsys):
    status = main(["eos", "--lr", "0.2", "--steps", "30", "--every", "10", "--n", "100", "--hidden", "16",
                   "--offline", "--json"])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    assert [m["step"] for m in report["measurements"]] == [0, 10, 20]
    assert all(m["threshold"] == pytest.approx(10.0) and m["sharpness"] > 0 for m in report["measurements"])
    assert len(report["loss"]) == 30 and report["measurements"][1]["loss"] == report["loss"][10]
    assert report["threshold_formula"] == "2/α" and not report["preconditioned"]
    assert report["settings"]["lr"] == 0.2 and "summary" in report and report["training_seconds"] > 0


def test_eos_takes_other_optimizers_and_their_hyperparameters(capsys):
    assert main(["eos", "--optimizer", "momentum", "--set", "momentum=0.5", "--lr", "0.1", "--steps", "12",
                 "--every", "6", "--n", "50", "--hidden", "8", "--offline", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["measurements"][0]["threshold"] == pytest.approx(2 * 1.5 / 0.1)
    assert report["threshold_formula"] == "2(1+μ)/α"


def test_eos_prints_a_table_without_json(capsys):
    assert main(["eos", "--steps", "10", "--every", "5", "--n", "50", "--hidden", "8", "--offline"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["step", "λ_max(H)", "threshold", "loss"] and "summary:" in out


def test_lr_find_prints_the_range_test_and_its_suggestion(capsys):
    assert main(["lr-find", "--steps", "40", "--hidden", "16", "--grid", "3", "--grid-steps", "20", "--offline",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["lrs"]) == len(report["losses"]) <= 40 and report["lrs"][0] == pytest.approx(1e-5)
    assert report["suggestion"] > 0 and "minimum ÷ 10" in report["rule"]
    assert len(report["grid"]["lrs"]) == 3 and report["grid"]["steps"] == 20


@pytest.mark.parametrize("argv, message", [
    (["eos", "--lr", "-1", "--offline"], "lr must be a number in"),
    (["eos", "--steps", "0", "--offline"], "steps must be a whole number"),
    (["eos", "--hidden", "a,b", "--offline"], "--hidden takes layer widths"),
    (["eos", "--set", "momentum", "--offline"], "--set takes PARAM=VALUE"),
    (["lr-find", "--lr-min", "1", "--lr-max", "0.1", "--offline"], "0 < lr_min < lr_max"),
])
def test_bad_values_are_refused_in_words(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
