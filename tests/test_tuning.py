"""The learning rate a new race starts with: the smallest nearly-as-good grid rate among runs that stay near the
map, measured from the map's own window."""

import numpy as np

import optviz
from optviz.custom import custom_surface
from optviz.tuning import LR_GRID, near_window, suggest_lr


def test_near_window_widens_the_window_on_every_side_and_refuses_nan():
    window = (-1.0, 3.0, -1.0, 3.0)  # 4 wide: half of it is 2 on each side
    paths = np.array([[[2.9, 0.0], [4.9, 0.0], [-2.9, 4.9], [0.0, 0.0]],
                      [[5.1, 0.0], [0.0, 0.0], [-3.1, 0.0], [np.nan, 0.0]]])  # (steps + 1, N, 2)
    assert near_window(paths, window).tolist() == [False, True, False, False]
    assert near_window(paths[:1], window).tolist() == [True, True, True, True]


def test_an_off_centre_window_leaves_adam_its_useful_rates():
    """A typed Rosenbrock's window is (−1, 3)² and its start (2.28, 2.6) near the edge: the old square ±3 about
    the origin counted every rate above 1e-3 as diverged, and Adam's default race barely moved (loss 53)."""
    surface = custom_surface("(1-x)**2 + 100*(y-x**2)**2")
    lr = suggest_lr(surface, "adam")
    old = optviz.run(surface, "adam", steps=500, lr=1e-3).final_loss
    new = optviz.run(surface, "adam", steps=500, lr=lr).final_loss
    assert lr > 1e-3 and new < 1 < 50 < old


def test_the_suggestion_is_the_smallest_nearly_as_good_rate_among_runs_near_the_map():
    surface = optviz.surface("himmelblau")
    lr = suggest_lr(surface, "sgd")
    sweep = optviz.run(surface, "sgd", None, 500, record="path", lr=LR_GRID)
    usable = (sweep.diverged_at < 0) & near_window(sweep.path, surface.window)
    final = np.where(usable, sweep.final_loss, np.inf)
    initial = surface.value(*surface.start)
    good = final <= final.min() + 1e-3 * abs(initial - final.min())
    assert lr == LR_GRID[np.argmax(good)] and usable[list(LR_GRID).index(lr)]
