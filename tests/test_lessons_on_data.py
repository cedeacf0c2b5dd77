"""The lessons on real data (batch sizes) and on where ε sits: each race shows what its text tells."""

import numpy as np
from test_lessons import lesson_race


def test_batch_lesson_full_batch_settles_single_examples_jitter_and_cost_fewer_epochs():
    surface, races = lesson_race("batch")
    full, mini, single = races["Full batch (150)"], races["Mini-batch (8)"], races["Single example (1)"]
    best = surface.value(*surface.minima[0])
    late = slice(-100, None)
    wander = {name: np.linalg.norm(t.path[late] - surface.minima[0], axis=1).mean()
              for name, t in [("full", full), ("mini", mini), ("single", single)]}
    assert wander["full"] < 1e-4 < wander["mini"] < wander["single"]  # glides and stops; jitter grows as B shrinks
    assert wander["single"] > 2 * wander["mini"]

    def epochs_to_one_percent(traj):
        gap = traj.loss - best
        return float(traj.surface.epochs(np.argmax(gap < 0.01 * gap[0])))

    assert epochs_to_one_percent(single) < 0.25 < epochs_to_one_percent(mini) < epochs_to_one_percent(full) == 22
    assert np.all(np.diff(full.loss[:40]) < 0)  # smooth: the full loss falls at every step
    assert np.any(np.diff(single.loss) > 0)     # a single example can make the full loss worse


def test_eps_placement_lesson_torch_arrives_first_keras_later_and_inside_crawls():
    surface, races = lesson_race("eps_placement")
    outside = races["ε outside the root (torch)"]
    keras = races["ε̂ before bias correction (Keras)"]
    inside = races["ε inside the root"]
    assert [t.optimizer.hparams["eps_placement"] for t in (outside, keras, inside)] == ["outside", "keras", "inside"]
    # along the steep x direction (|g| ≫ ε) the three move alike
    for other in (keras, inside):
        assert np.abs(other.path[:100, 0] - outside.path[:100, 0]).max() < 0.01
    # along the flat y direction (|g| ≈ ε) they part: torch's by step 200, Keras's near 430, inside never
    assert outside.converged_at <= 200 < 400 < keras.converged_at < 460
    assert inside.converged_at is None and inside.path[-1, 1] > 0.7
    # Keras's rule is torch's with ε / √(1 − β₂ᵗ): 30× larger ε at the first step, so a 10× shorter first y step
    first = {name: abs(t.path[1, 1] - t.path[0, 1]) for name, t in [("outside", outside), ("keras", keras)]}
    assert first["keras"] < 0.15 * first["outside"]
