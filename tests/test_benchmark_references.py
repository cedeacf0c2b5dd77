"""The benchmarks' reference loops compute the same sweep as optviz.run: a speed ratio means nothing otherwise."""

import numpy as np
import pytest

import optviz
from benchmarks.common import inplace_adam_rosenbrock, naive_adam_rosenbrock, naive_rule_rosenbrock
from optviz.optimizers import in_batches

LRS = np.logspace(-4, -1, 40)
START, STEPS = (-1.5, 2.0), 150


@pytest.fixture(scope="module")
def engine_final():
    return optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS, record=False).final


def test_naive_reference_matches_the_engine(engine_final):
    np.testing.assert_allclose(naive_adam_rosenbrock(LRS, start=START, steps=STEPS), engine_final, rtol=1e-12)


def test_naive_reference_path_ends_at_its_final_point():
    path = naive_adam_rosenbrock(LRS[:5], start=START, steps=STEPS, record=True)
    assert path.shape == (STEPS + 1, 5, 2)
    np.testing.assert_array_equal(path[0], np.tile(START, (5, 1)))
    np.testing.assert_array_equal(path[-1], naive_adam_rosenbrock(LRS[:5], start=START, steps=STEPS))


def test_naive_reference_takes_a_beta1_grid():
    beta1 = np.linspace(0.5, 0.95, len(LRS))
    expected = optviz.run("rosenbrock", "adam", START, STEPS, lr=LRS, beta1=beta1, record=False).final
    np.testing.assert_allclose(naive_adam_rosenbrock(LRS, beta1, start=START, steps=STEPS), expected, rtol=1e-12)


def test_inplace_floor_matches_the_engine(engine_final):
    np.testing.assert_allclose(inplace_adam_rosenbrock(LRS, start=START, steps=STEPS), engine_final, rtol=1e-12)


def test_numpy_race_reference_records_what_the_engine_records():
    from benchmarks.common import RACE_DEFAULTS, numpy_race

    reference = numpy_race(steps=200)
    races = optviz.race("rosenbrock", list(RACE_DEFAULTS), start=START, steps=200)
    for name, recorded in reference.items():
        for key, values in recorded.items():
            got = races[name].path if key == "path" else races[name].grad if key == "grad" else races[name].trace[key]
            np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-12, err_msg=f"{name} {key}")


def test_naive_basin_reference_matches_the_engine():
    from benchmarks.common import naive_adam_himmelblau
    from optviz.sweeps import basins

    grid = basins("himmelblau", "adam", n=12, steps=150, lr=0.05)
    x, y = np.meshgrid(grid.xs, grid.ys)
    final = naive_adam_himmelblau(np.column_stack([x.ravel(), y.ravel()]), lr=0.05, steps=150)
    np.testing.assert_allclose(final.reshape(12, 12, 2), grid.final, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(in_batches()))
def test_every_rules_naive_loop_runs_the_engines_sweep(name):
    """The naive NumPy loop each compiled sweep is timed against takes the same steps: where no run left the surface's
    bound (the engine stops those, the naive loop does not), the same final points, bit for bit."""
    lrs = np.logspace(-5, -2, 30)
    with np.errstate(all="ignore"):
        naive = naive_rule_rosenbrock(name, lrs, start=START, steps=STEPS)
        engine = optviz.run("rosenbrock", name, START, STEPS, lr=lrs, record=False)
    kept = engine.diverged_at < 0
    assert kept.sum() >= 10
    np.testing.assert_array_equal(naive[kept], engine.final[kept])
