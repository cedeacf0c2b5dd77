"""MNIST figures: curves follow the events, the confusion matrix keeps its counts, digit tiles are exact."""

from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go

from optviz.figures.mnist import confusion_figure, digit_grid, landscape_figure, layer_stats_figure, training_figure


def events(losses, accuracies):
    out = [{"samples": 100 * (i + 1), "loss": loss, "epoch": 1} for i, loss in enumerate(losses)]
    for epoch, accuracy in enumerate(accuracies, 1):
        out.append({"samples": 1000 * epoch, "loss": losses[-1], "epoch": epoch, "test_accuracy": accuracy})
    return out


def test_training_figure_plots_loss_per_sample_and_accuracy_per_epoch():
    fig = training_figure({"Adam": events([2.0, 1.0, 0.5], [0.9, 0.95]), "SGD": events([2.3], [0.2])},
                          names={"Adam": "adam", "SGD": "sgd"})
    go.Figure(fig.to_dict())
    loss, accuracy = fig.data[0], fig.data[1]
    np.testing.assert_allclose(np.asarray(loss.y)[:3], [2.0, 1.0, 0.5])
    assert list(accuracy.x) == [1, 2] and list(accuracy.y) == [90.0, 95.0]
    assert fig.data[0].line.color != fig.data[2].line.color


def test_training_loss_axis_is_labelled_with_round_numbers_not_bare_digits():
    """Over about a decade Plotly labels a log axis's minor ticks with digits ("9" for 0.9); ours says 0.2, 0.5."""
    fig = training_figure({"Adam": events([2.4, 1.1, 0.6, 0.31, 0.16], [0.9]), "SGD": events([2.3, 2.2], [0.2])})
    axis = fig.layout.yaxis
    assert list(axis.tickvals) == [0.2, 0.5, 1.0, 2.0] and list(axis.ticktext) == ["0.2", "0.5", "1", "2"]
    narrow = training_figure({"Adam": events([0.052, 0.061, 0.089], [0.98])}).layout.yaxis
    assert list(narrow.ticktext) == ["0.06", "0.07", "0.08"]
    assert training_figure({"Adam": []}).layout.yaxis.tickvals is None   # nothing yet: Plotly's own ticks


def test_confusion_figure_keeps_every_count_and_colours_only_mistakes():
    matrix = np.diag(np.full(10, 90)) + np.eye(10, k=1, dtype=int) * 3
    fig = confusion_figure(matrix)
    go.Figure(fig.to_dict())
    mistakes = next(t for t in fig.data if t.customdata is not None)
    np.testing.assert_array_equal(np.asarray(mistakes.customdata), matrix)
    assert np.isnan(np.asarray(mistakes.z)[3, 3]) and np.asarray(mistakes.z)[3, 4] > 0
    assert len(fig.layout.annotations) == int((matrix > 0).sum())


def test_layer_stats_leave_zeros_out_of_the_log_axis():
    stats = {"W1": {"step": np.array([0, 25, 50]), "mean_effective_step": np.array([0.0, 1e-3, 5e-4]),
                    "m_norm": np.array([0.0, 2.0, 1.0]), "v_norm": np.array([0.0, 1e-4, 2e-4])}}
    fig = layer_stats_figure(stats)
    go.Figure(fig.to_dict())
    assert all(np.isnan(np.asarray(trace.y, float)[0]) for trace in fig.data)


def test_layer_stats_name_each_panel_above_it_and_head_the_legend_with_the_title():
    rng = np.random.default_rng(0)
    stats = {layer: {"step": np.arange(0, 1000, 25), "mean_effective_step": rng.uniform(1e-4, 4e-4, 40),
                     "m_norm": rng.uniform(0.01, 0.3, 40), "v_norm": rng.uniform(2e-5, 3e-3, 40)}
             for layer in ("W1", "b1", "W2", "b2")}
    layout = layer_stats_figure(stats, title="Optimizer state per layer · Adam").layout
    assert [a.text for a in layout.annotations] == ["mean |α·m̂/(√v̂+ε)|", "‖m‖", "‖v‖"]
    assert layout.legend.title.text == "Optimizer state per layer · Adam" and not layout.title.text
    for axis in (layout.yaxis, layout.yaxis2, layout.yaxis3):
        assert not axis.title.text                      # named by the annotation, not squeezed between panels
        assert len(axis.tickvals) >= 2 and all("<sup>" in t or float(t) for t in axis.ticktext)
    for left, right in ((layout.xaxis, layout.xaxis2), (layout.xaxis2, layout.xaxis3)):
        assert left.domain[1] < right.domain[0]


def test_landscape_paths_mark_their_shared_start_and_their_ends():
    grid = np.linspace(-1, 1, 5)
    paths = {"Adam": np.array([[1.0, 1.0], [0.5, 0.2], [0.0, 0.0]]), "SGD": np.array([[1.0, 1.0], [0.9, 0.8]])}
    landscape = SimpleNamespace(alpha=grid, beta=grid, loss=np.ones((5, 5)) + grid[:, None] ** 2, paths=paths,
                                path_steps={"Adam": [0, 10, 20], "SGD": [0, 20]}, explained_variance=(0.9, 0.05),
                                origin="Adam", n_samples=1000)
    fig = landscape_figure(landscape)
    go.Figure(fig.to_dict())
    adam, sgd = (t for t in fig.data if t.type == "scatter")
    assert list(adam.marker.symbol) == ["circle-open", "circle", "diamond"]
    assert list(sgd.marker.symbol) == ["circle-open", "diamond"]
    assert adam.text[0] == "step 0 (start)" and adam.text[-1] == "step 20 (end)"
    assert "start" in fig.layout.legend.title.text and not fig.layout.title.text


def test_digit_grid_tiles_each_image_scaled_with_white_gaps():
    images = np.arange(3 * 28 * 28, dtype=float).reshape(3, 28, 28)
    grid = digit_grid(images, columns=2)
    assert grid.shape == (60, 60)
    np.testing.assert_allclose(grid[:28, 30:58], (images[1] - images[1].min()) / np.ptp(images[1]))
    assert (grid[28:30] == 1).all() and (grid[30:, 30:] == 1).all()  # gaps and the empty fourth slot
