"""The data-surface lessons: each race shows what its text tells the class to watch."""

import numpy as np
from test_lessons import lesson_race


def test_batch_lesson_full_batch_settles_single_examples_jitter_and_cost_fewer_epochs():
    surface, races = lesson_race("batch")
    full, mini, single = races["Full batch (150)"], races["Mini-batch (16)"], races["Single example (1)"]
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
