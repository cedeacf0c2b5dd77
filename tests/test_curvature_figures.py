"""The curvature figures: valid Plotly, the threshold drawn beside the sharpness, changes marked on every chart, the
range test's suggestion and rule, and Adam's gauges per layer."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from optviz.figures.curvature import adam_gauges_figure, edge_of_stability_figure, lr_range_figure, sharpness_figure
from optviz.figures.mnist import describe_change, training_figure
from optviz.mnist.lr_range import RangeTest


def valid(fig):
    go.Figure(fig.to_dict())   # validates every property
    return fig


def records(threshold=10.0, preconditioned=False):
    return [{"step": 10 * k, "sharpness": 8.0 + k, "threshold": threshold if k < 3 else threshold / 2,
             "preconditioned": preconditioned, "formula": "2/α"} for k in range(5)]


def test_the_sharpness_chart_draws_each_threshold_dashed_and_crosses_above_it():
    change = {"step": 25, "hparams": {"lr": 0.4}, "batch_size": None, "text": "α → 0.4"}
    fig = valid(sharpness_figure({"SGD": records(), "Adam": records(3800.0, True)}, changes={"SGD": [change]},
                                 names={"SGD": "sgd", "Adam": "adam"}))
    names = [t.name for t in fig.data]
    assert names == ["SGD λ<sub>max</sub>(H)", "SGD 2/α", "Adam λ<sub>max</sub>(P⁻¹H)", "Adam 2/α"]
    threshold = fig.data[1]
    assert threshold.line.dash == "dash" and threshold.line.color == fig.data[0].line.color
    assert list(fig.data[0].marker.symbol) == ["circle"] * 3 + ["x"] * 2   # 11 and 12 exceed 5
    assert fig.layout.yaxis.type == "log"
    assert [s.x0 for s in fig.layout.shapes] == [25] and "α → 0.4" in fig.layout.annotations[0].text


def test_the_edge_of_stability_figure_has_loss_sharpness_and_threshold_and_marks_changes_on_both():
    events = [{"step": k, "loss": 1 / (k + 1)} for k in range(50)]
    change = {"step": 30, "hparams": {"lr": 0.3}, "batch_size": None, "text": "α → 0.3"}
    fig = valid(edge_of_stability_figure(events, records(), changes=[change]))
    assert [t.name for t in fig.data] == ["training loss", "sharpness λ<sub>max</sub>(H)",
                                          "stability threshold 2/α"]
    assert fig.layout.yaxis.type == "log" and {s.xref for s in fig.layout.shapes} == {"x", "x2"}


def test_the_training_figure_marks_changes_at_the_digits_seen():
    events = {"Adam": [{"samples": 64 * k, "loss": 1.0 / k, "epoch": 1} for k in range(1, 20)]}
    fig = valid(training_figure(events, changes={"Adam": [{"step": 5, "samples": 320, "hparams": {},
                                                           "batch_size": 128}]}))
    assert fig.layout.shapes[0].x0 == 320 and "batch → 128" in fig.layout.annotations[0].text


def test_changes_are_described_by_the_callers_text_or_by_their_names():
    assert describe_change({"hparams": {"lr": 0.2}, "batch_size": 256, "text": "α → 0.2"}) == "α → 0.2"
    named = describe_change({"hparams": {"lr": 0.2, "beta1": 0.5}, "batch_size": 256})
    assert named == "lr → 0.2, beta1 → 0.5, batch → 256"


def test_the_tab_names_a_change_by_the_catalogues_symbols():
    from optviz.ui.mnist_curvature import change_text
    text = change_text("adam", {"hparams": {"lr": 0.2, "beta1": 0.5}, "batch_size": 256})
    assert text == "α → 0.2, β₁ → 0.5, batch → 256"
    assert change_text("momentum", {"hparams": {"momentum": 0.5}, "batch_size": None}) == "μ → 0.5"


def test_the_range_test_figure_shows_the_suggestion_its_rule_and_the_grids_best():
    lrs = np.geomspace(1e-4, 1, 50)
    smoothed = 2.3 - np.exp(-((np.log10(lrs) + 1.5) ** 2))
    result = RangeTest("sgd", lrs, smoothed + 0.05, smoothed, 3e-3, "the smoothed loss's minimum ÷ 10", 3e-2, 1e-2,
                       False, grid_lrs=np.geomspace(1e-4, 1, 5), grid_losses=np.array([2.2, 1.9, 1.2, np.inf, np.nan]),
                       grid_steps=100, best_grid_lr=1e-2)
    fig = valid(lr_range_figure(result))
    assert fig.layout.xaxis.type == "log"
    texts = [a.text for a in fig.layout.annotations]
    assert "suggested α = 0.003" in texts and "grid's best α = 0.01" in texts
    assert any(t.startswith("rule: the smoothed loss's minimum ÷ 10") for t in texts)
    assert [s.x0 for s in fig.layout.shapes] == [3e-3, 1e-2]
    assert any(t.name == "grid: diverged" and len(t.x) == 2 for t in fig.data)


def test_the_gauges_show_three_panels_for_adam_and_two_otherwise():
    adam = {name: {"step": 10, "grad_norm": 0.5, "update_ratio": 1e-3, "sign_share": 0.25} for name in ("W1", "b1")}
    fig = valid(adam_gauges_figure(adam, title="Adam"))
    assert len(fig.data) == 3 and list(fig.data[2].x) == [25.0, 25.0] and fig.layout.shapes
    sgd = {name: {"step": 10, "grad_norm": 0.5, "update_ratio": 1e-3} for name in ("W1", "b1")}
    assert len(valid(adam_gauges_figure(sgd)).data) == 2
