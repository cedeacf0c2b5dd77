"""The charts of the lessons from papers: valid Plotly figures that draw the claim's numbers and what they are
compared with."""

import numpy as np
import plotly.graph_objects as go
import pytest

from optviz.figures.lessons import (
    adam_bound_figure,
    damping_figure,
    edge_of_stability_lesson_figures,
    generalization_figure,
)
from optviz.scenarios import LESSONS


@pytest.fixture(scope="module")
def numbers():
    return {key: LESSONS[key].claim.check().numbers for key in ("generalization", "adam_bound", "damping")}


def valid(fig) -> go.Figure:
    """The figure, once every property it was built with is validated (its numbers stay arrays, as sent)."""
    go.Figure(fig.to_dict())
    return fig


def test_wilsons_chart_has_a_bar_per_run_and_the_minority_share_as_its_guide(numbers):
    fig = valid(generalization_figure(numbers["generalization"]))
    bars = fig.data[0]
    assert list(bars.x) == ["GD", "SGD", "AdaGrad", "RMSProp", "Adam"]
    assert list(bars.y) == pytest.approx([100 * e for e in numbers["generalization"]["errors"].values()])
    assert fig.layout.shapes[0].y0 == pytest.approx(100 * numbers["generalization"]["minority"])


def test_adams_chart_draws_both_coordinates_under_the_bound_line(numbers):
    n = numbers["adam_bound"]
    fig = valid(adam_bound_figure(n))
    dense, sparse, alpha, bound = fig.data
    assert max(sparse.y) == pytest.approx(n["sparse_max_over_lr"], rel=1e-6)
    assert list(alpha.y) == [1, 1] and bound.y[0] == pytest.approx(n["bound_over_lr"])
    assert max(dense.y) <= bound.y[0] and max(sparse.y) <= bound.y[0]


def test_the_damping_chart_marks_the_fastest_beta_and_beta_star(numbers):
    n = numbers["damping"]
    fig = valid(damping_figure(n))
    assert fig.data[1].x[0] == pytest.approx(n["best_beta"])
    assert fig.layout.shapes[0].x0 == pytest.approx(n["beta_star"])


def test_the_edge_of_stability_charts_draw_each_rate_with_its_threshold():
    records = [{"step": s, "sharpness": 9.0 + s / 100, "threshold": 10.0, "preconditioned": False,
                "formula": "2/α"} for s in range(0, 200, 40)]
    run = {"rate": 0.2, "curvature": records, "loss": np.geomspace(1, 0.01, 200)}
    sharpness, loss = edge_of_stability_lesson_figures({"runs": [run, {**run, "rate": 0.4}]})
    valid(sharpness), valid(loss)
    assert [trace.name for trace in loss.data] == ["α = 0.2", "α = 0.4"]
    assert any(trace.name.endswith("2/α") for trace in sharpness.data)
