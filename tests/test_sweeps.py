"""Hyperparameter exploration: batched sweeps equal single runs cell by cell, axes are valid, tune() picks what an
explicit loop would, basins label known start points correctly, and mistakes raise clear ValueErrors."""

import re

import numpy as np
import pytest

import optviz
from optviz.optimizers import in_batches
from optviz.sweeps import (
    LRS,
    METRICS,
    axis_scale,
    axis_values,
    basins,
    lr_sensitivity,
    settle_radius,
    sweep,
    tune,
)

START = (-1.5, 2.0)
SWEEPABLE = [(name, p) for name, spec in in_batches().items() for p in spec.params if p.kind == "float"]


def single(surface, name, start=START, steps=300, tol=1e-3, **hparams):
    """One configuration run alone: the reference every batched cell must equal exactly."""
    return optviz.run(surface, name, start, steps, record=False, tol=tol, **hparams)


def assert_cell_equals(final, final_loss, converged_at, diverged_at, traj):
    np.testing.assert_array_equal(final, traj.final)
    assert final_loss == traj.final_loss
    assert converged_at == (-1 if traj.converged_at is None else traj.converged_at)
    assert diverged_at == (-1 if traj.diverged_at is None else traj.diverged_at)


# ---------------------------------------------------------------------------------------------------------------
# Axis values

@pytest.mark.parametrize("name, param", SWEEPABLE, ids=[f"{n}-{p.name}" for n, p in SWEEPABLE])
def test_axis_values_are_valid_increasing_and_spaced_by_scale(name, param):
    values = axis_values(name, param.name, 50)
    assert values.shape == (50,)
    assert (np.diff(values) > 0).all()
    assert param.contains(values).all() and np.isfinite(values).all()
    optviz.optimizer(name, **{param.name: values})  # the spec accepts every value
    scale = axis_scale(name, param.name)
    if scale == "log":
        assert param.log and values[0] > 0
        np.testing.assert_allclose(np.diff(np.log(values)), np.log(values[1] / values[0]), rtol=1e-9)
    elif scale == "decay":
        assert values[-1] < 1
        gaps = np.diff(np.log1p(-values))  # geometric in 1 − value, from 0 or, where 0 is excluded, just above it
        np.testing.assert_allclose(gaps, gaps[0], rtol=1e-6)
    else:
        np.testing.assert_allclose(np.diff(values), values[1] - values[0], rtol=1e-9)


def test_scales_follow_the_spec_log_flag_and_decay_names():
    assert axis_scale("adam", "lr") == axis_scale("adam", "eps") == "log"
    for name, param in [("adam", "beta1"), ("adam", "beta2"), ("momentum", "momentum"), ("rmsprop", "alpha"),
                        ("adadelta", "rho"), ("lion", "beta2")]:
        assert axis_scale(name, param) == "decay", (name, param)
    assert axis_scale("adam", "weight_decay") == axis_scale("qhm", "nu") == "linear"


def test_decay_axes_resolve_values_near_one_and_never_reach_it():
    beta1 = axis_values("adam", "beta1", 31)
    assert beta1[0] == 0 and beta1[-1] == 0.999
    # evenly spaced in log(1 − β): each decade toward 1 gets as many values as 0 ... 0.9
    np.testing.assert_allclose(beta1[[10, 20]], [0.9, 0.99], rtol=1e-12)
    assert axis_values("adam", "beta2", 5)[-1] == 0.9999  # the default 0.999 lies inside
    assert axis_values("adadelta", "rho", 10).max() < 1  # ρ = 1 is allowed by the spec, but not on the axis


def test_eps_is_log_spaced_over_a_positive_range_and_bounds_are_exact():
    eps = axis_values("adam", "eps", 9)
    assert eps[0] > 0 and eps[0] < 1e-8 < eps[-1]
    values = axis_values("adam", "beta1", 6, low=0.5, high=0.99)
    assert values[0] == 0.5 and values[-1] == 0.99
    lrs = axis_values("sgd", "lr", 3, 1e-3, 1e-1)
    np.testing.assert_allclose(lrs, [1e-3, 1e-2, 1e-1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=1), r"n must be an integer in \[2, 200\]"),
    (dict(n=201), r"n must be an integer in \[2, 200\]"),
    (dict(n=2.5), r"n must be an integer"),
    (dict(n=True), r"n must be an integer"),
    (dict(n=10, param="beta_1"), r"adam: 'beta_1' is not one of its hyperparameters; sweepable: lr, beta1"),
    (dict(n=10, param="bias_correction"), r"'bias_correction' cannot be swept"),
    (dict(n=10, high=1.0), r"adam beta1: sweep bounds must lie in \[0, 1\), got low=0, high=1"),
    (dict(n=10, low=-0.1), r"adam beta1: sweep bounds must lie in \[0, 1\)"),
    (dict(n=10, low=0.9, high=0.5), r"adam beta1: sweep bounds need low < high"),
    (dict(n=10, param="eps", low=0.0, high=1e-3), r"adam eps is log-spaced: low must be > 0"),
    (dict(n=10, param="lr", low=0.0, high=1.0), r"adam lr: sweep bounds must lie in \(0, ∞\)"),
    (dict(n=10, low="a"), r"sweep bounds must be numbers"),
])
def test_axis_values_rejects_bad_requests(kwargs, message):
    kwargs = {"param": "beta1", **kwargs}
    with pytest.raises(ValueError, match=message):
        axis_values("adam", **kwargs)


def test_axis_values_rejects_unknown_optimizers_and_closed_decay_ends():
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'"):
        axis_values("adamm", "lr", 10)
    with pytest.raises(ValueError, match="adadelta rho is spaced in 1 − rho: high must be < 1"):
        axis_values("adadelta", "rho", 10, high=1.0)


# ---------------------------------------------------------------------------------------------------------------
# Sweeps

def momentum_sweep(**kwargs):
    """SGD with momentum on Rosenbrock: the grid holds runs that converge, that stall and that diverge."""
    return sweep("rosenbrock", "momentum", "lr", np.geomspace(1e-5, 3e-3, 9), "momentum",
                 axis_values("momentum", "momentum", 7), start=START, steps=300, tol=5e-2, **kwargs)


def test_sweep_grid_holds_all_three_outcomes():
    result = momentum_sweep()
    assert result.shape == (7, 9)
    assert result.diverged.any() and (result.converged_at >= 0).any()
    assert ((result.converged_at < 0) & ~result.diverged).any()


@pytest.mark.parametrize("make", [momentum_sweep, lambda: sweep(
    "rosenbrock", "adam", "beta1", axis_values("adam", "beta1", 8), "lr", np.geomspace(1e-3, 1, 6), start=START,
    steps=300, tol=1e-2, beta2=0.99, eps=1e-6)])
def test_sweep_cells_equal_single_runs_exactly(make):
    result = make()
    ny, nx = result.shape
    cells = [(0, 0), (ny - 1, nx - 1), (0, nx - 1), (ny - 1, 0), (ny // 2, nx // 2)]
    cells += [tuple(np.argwhere(result.diverged)[0])] if result.diverged.any() else []
    cells += [tuple(np.argwhere(result.converged_at >= 0)[-1])] if (result.converged_at >= 0).any() else []
    for i, j in cells:
        config = result.config(i, j)
        assert config[result.x_param] == result.x_values[j] and config[result.y_param] == result.y_values[i]
        traj = single("rosenbrock", result.optimizer, steps=300, tol=result.tol, **config)
        assert_cell_equals(result.final[i, j], result.final_loss[i, j], result.converged_at[i, j],
                           result.diverged_at[i, j], traj)


def test_config_lists_every_hyperparameter_and_trajectory_reruns_the_cell():
    result = momentum_sweep(weight_decay=1e-3)
    config = result.config(2, 3)
    assert list(config) == [p.name for p in optviz.OPTIMIZERS["momentum"].params]
    assert config["weight_decay"] == 1e-3 and config["dampening"] == 0.0
    i, j = np.argwhere(~result.diverged)[-1]
    traj = result.trajectory(int(i), int(j))
    assert traj.path.shape == (301, 2) and "buf" in traj.trace
    np.testing.assert_array_equal(traj.path[-1], result.final[i, j])
    assert traj.loss[-1] == result.final_loss[i, j]


def test_metrics_mark_missing_values_with_nan():
    result = momentum_sweep()
    loss, steps, diverged = (result.metric(name) for name in METRICS)
    assert np.isnan(loss[result.diverged]).all() and np.isfinite(loss[~result.diverged]).all()
    np.testing.assert_array_equal(loss[~result.diverged], result.final_loss[~result.diverged])
    assert np.isnan(steps[result.converged_at < 0]).all()
    np.testing.assert_array_equal(steps[result.converged_at >= 0], result.converged_at[result.converged_at >= 0])
    np.testing.assert_array_equal(result.steps_to_tol, steps, strict=False)
    np.testing.assert_array_equal(diverged, result.diverged.astype(float))
    with pytest.raises(ValueError, match="unknown metric 'loss'; choose one of: final_loss, steps_to_tol, diverged"):
        result.metric("loss")


def test_sweep_of_the_largest_grid_runs_in_one_call():
    lrs, betas = axis_values("adam", "lr", 200), axis_values("adam", "beta1", 200)
    result = sweep("quadratic", "adam", "lr", lrs, "beta1", betas, steps=20)
    assert result.final.shape == (200, 200, 2)
    assert result.config(199, 0) == {**result.config(199, 0), "lr": lrs[0], "beta1": betas[199]}


@pytest.mark.parametrize("change, message", [
    (dict(y_param="lr"), r"the two sweep axes must be different hyperparameters, both are 'lr'"),
    (dict(x_param="learning_rate"), r"adam: 'learning_rate' is not one of its hyperparameters"),
    (dict(y_param="bias_correction"), r"'bias_correction' cannot be swept"),
    (dict(y_values=[0.5, 1.0]), r"adam beta1 must be a number in \[0, 1\), got 1"),
    (dict(x_values=np.geomspace(1e-4, 1, 201)), r"adam lr: give a 1-D array of 1 to 200 values"),
    (dict(x_values=[[0.1, 0.2]]), r"adam lr must be a number or a 1-D array"),
    (dict(x_values=0.1), r"adam lr: give a 1-D array of 1 to 200 values"),
    (dict(beta1=0.5), r"adam: 'beta1' is swept, so it cannot also be given a fixed value"),
    (dict(gamma=0.5), r"adam has no hyperparameter 'gamma'"),
    (dict(beta2=[0.9, 0.99]), r"fixed hyperparameters must be single values, but 'beta2' is an array"),
    (dict(start=np.zeros((4, 2))), r"start must be one finite point"),
    (dict(optimizer="adamm"), r"unknown optimizer 'adamm'"),
])
def test_sweep_rejects_bad_requests(change, message):
    args = dict(surface="rosenbrock", optimizer="adam", x_param="lr", x_values=[1e-3, 1e-2], y_param="beta1",
                y_values=[0.5, 0.9], steps=10)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        sweep(**args)


def test_config_rejects_cells_outside_the_grid():
    result = momentum_sweep()
    for i, j in [(7, 0), (0, 9), (-1, 0), (1.0, 2)]:
        with pytest.raises(ValueError, match="outside the 7×9 grid"):
            result.config(i, j)


# ---------------------------------------------------------------------------------------------------------------
# Tuning

def explicit_best(surface, name, grid, objective="final_loss", steps=300, tol=1e-3, **fixed):
    """The reference for tune(): a Python loop of single runs and a sort on the documented keys."""
    ranked = []
    for config in grid:
        traj = single(surface, name, steps=steps, tol=tol, **fixed, **config)
        loss = np.inf if traj.diverged_at is not None or not np.isfinite(traj.final_loss) else traj.final_loss
        reached = loss < np.inf and traj.converged_at is not None
        key = (loss,) if objective == "final_loss" else (traj.converged_at if reached else np.inf, loss)
        ranked.append((key + (config["lr"], config.get("beta1", 0.0)), config, traj))
    ranked.sort(key=lambda item: item[0])
    return ranked[0]


def test_tune_matches_an_explicit_loop_and_never_picks_a_diverged_rate():
    lrs = np.geomspace(1e-5, 1e-1, 13)  # SGD on Rosenbrock diverges from about 2e-3 on
    result = tune("rosenbrock", ["sgd"], start=START, steps=300, lrs=lrs)["sgd"]
    key, config, traj = explicit_best("rosenbrock", "sgd", [{"lr": lr} for lr in lrs])
    assert result.diverged.any() and not result.diverged[result.index]
    assert result.lr == config["lr"] and result.value == traj.final_loss
    assert result.hparams == {"lr": config["lr"], "weight_decay": 0.0, "maximize": False}
    np.testing.assert_array_equal(result.curve, np.where(result.diverged, np.nan, result.final_loss))
    assert result.curve.shape == lrs.shape and result.also is None


def test_tune_jointly_with_beta1_matches_an_explicit_loop():
    lrs = np.geomspace(1e-3, 1.0, 7)
    result = tune("rosenbrock", ["adam"], start=START, steps=300, lrs=lrs, also="beta1", also_n=5)["adam"]
    assert result.also == "beta1" and result.curve.shape == (5, 7)
    grid = [{"lr": lr, "beta1": b} for b in result.also_values for lr in lrs]
    _, config, traj = explicit_best("rosenbrock", "adam", grid)
    assert (result.hparams["lr"], result.hparams["beta1"]) == (config["lr"], config["beta1"])
    assert result.value == traj.final_loss
    assert result.hparams["beta2"] == 0.999 and result.hparams["bias_correction"] is True


def test_ties_go_to_the_smaller_learning_rate():
    # On a round bowl (H = I) SGD with α in {0.9, 1, 1.1} reaches exactly 0: α = 1 in one step, the others
    # by underflow. Final loss ties, so the smallest rate wins; steps to tol prefers the one-step α = 1.
    lrs = [1.1, 1.0, 0.9, 2.5]
    bowl = optviz.surface("quadratic", condition=1.0)
    results = {objective: tune(bowl, "sgd", start=(1.0, 1.0), steps=500, lrs=lrs, objective=objective)["sgd"]
               for objective in ("final_loss", "steps_to_tol")}
    assert results["final_loss"].final_loss[:3].tolist() == [0.0, 0.0, 0.0]
    assert results["final_loss"].lr == 0.9 and results["final_loss"].value == 0.0
    assert results["steps_to_tol"].lr == 1.0 and results["steps_to_tol"].value == 1.0
    assert results["steps_to_tol"].diverged[3]


def test_steps_to_tol_objective_matches_an_explicit_loop():
    lrs = np.geomspace(1e-5, 3e-3, 10)
    result = tune("rosenbrock", ["momentum"], start=START, steps=300, lrs=lrs, objective="steps_to_tol",
                  tol=5e-2, momentum=0.99)["momentum"]
    _, config, traj = explicit_best("rosenbrock", "momentum", [{"lr": lr} for lr in lrs], "steps_to_tol", tol=5e-2,
                                    momentum=0.99)
    assert result.lr == config["lr"] and result.value == traj.converged_at
    reached = result.converged_at >= 0
    assert reached.any() and (~reached).any()
    assert result.value == result.converged_at[reached].min()


def test_steps_to_tol_falls_back_to_final_loss_when_nothing_converges():
    lrs = np.geomspace(1e-5, 1e-3, 5)
    result = tune("rosenbrock", "sgd", start=START, steps=50, lrs=lrs, objective="steps_to_tol")["sgd"]
    assert (result.converged_at < 0).all() and np.isnan(result.value)
    assert result.index == (int(np.argmin(result.final_loss)),)


def test_when_every_run_diverges_nothing_wins():
    result = tune("rosenbrock", "sgd", start=START, steps=100, lrs=[0.5, 5.0])["sgd"]
    assert result.diverged.all()
    assert result.hparams is None and result.lr is None and result.index is None and np.isnan(result.value)


def test_tune_several_optimizers_applies_shared_and_own_settings():
    results = tune("rosenbrock", ["sgd", "adam", "momentum"], steps=100, also=("beta1", "momentum"), beta2=0.99,
                   hparams={"adam": {"eps": 1e-6}})
    assert list(results) == ["sgd", "adam", "momentum"]
    assert results["sgd"].also is None and results["sgd"].curve.shape == LRS.shape
    assert results["adam"].also == "beta1" and results["adam"].curve.shape == (10, len(LRS))
    assert results["momentum"].also == "momentum"
    assert results["adam"].hparams["beta2"] == 0.99 and results["adam"].hparams["eps"] == 1e-6
    assert "beta2" not in results["sgd"].hparams


@pytest.mark.parametrize("kwargs, message", [
    (dict(objective="loss"), r"unknown objective 'loss'; choose one of: final_loss, steps_to_tol"),
    (dict(also="beta_1"), r"also: no optimizer has a hyperparameter 'beta_1'"),
    (dict(also="lr"), r"lr is always tuned"),
    (dict(beta3=0.5), r"none of sgd, adam has a hyperparameter 'beta3'"),
    (dict(lr=0.1), r"sgd: 'lr' is swept, so it cannot also be given a fixed value"),
    (dict(also="beta1", beta1=0.5), r"adam: 'beta1' is swept"),
    (dict(lrs=[0.1, -1.0]), r"learning rates must be positive numbers, got -1"),
    (dict(lrs=[[0.1]]), r"lrs must be a 1-D array"),
    (dict(hparams={"lion": {}}), r"hparams names 'lion', which is not among the optimizers: sgd, adam"),
    (dict(optimizers=[]), r"give at least one optimizer"),
    (dict(optimizers=["sgd", "sgd"]), r"each optimizer may appear once"),
    (dict(also_n=1), r"also_n must be an integer in \[2, 200\]"),
])
def test_tune_rejects_bad_requests(kwargs, message):
    kwargs = {"optimizers": ["sgd", "adam"], "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=message):
        tune("rosenbrock", **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# Learning-rate sensitivity

def test_lr_sensitivity_curves_equal_single_runs():
    lrs = np.geomspace(1e-5, 1e-1, 9)
    curves = lr_sensitivity("rosenbrock", ["sgd", "adam"], lrs, start=START, steps=200,
                            hparams={"adam": {"beta1": 0.8}})
    assert list(curves) == ["sgd", "adam"]
    sgd = curves["sgd"]
    assert sgd.diverged.any() and np.isnan(sgd.values[sgd.diverged]).all()
    for k in (0, 4, 8):
        for name, extra in (("sgd", {}), ("adam", {"beta1": 0.8})):
            traj = single("rosenbrock", name, steps=200, lr=lrs[k], **extra)
            lr_values, values, diverged = curves[name]
            assert lr_values[k] == lrs[k] and diverged[k] == (traj.diverged_at is not None)
            if not diverged[k]:
                assert values[k] == traj.final_loss


def test_lr_sensitivity_default_grid_and_metrics():
    curves = lr_sensitivity("quadratic", "momentum", steps=200, metric="steps_to_tol")
    lrs, values, diverged = curves["momentum"]
    assert lrs is LRS and values.shape == LRS.shape
    assert np.isfinite(values).any() and np.isnan(values[diverged]).all()
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        lr_sensitivity("quadratic", "sgd", metric="speed")


# ---------------------------------------------------------------------------------------------------------------
# Basins of attraction

def test_himmelblau_starts_next_to_each_minimum_end_in_it():
    surf = optviz.surface("himmelblau")
    result = basins(surf, "sgd", 101, lr=0.01)
    assert result.labels.shape == (101, 101) and result.loss_grid is None
    for k, (mx, my) in enumerate(surf.minima):
        i, j = np.argmin(np.abs(result.ys - my)), np.argmin(np.abs(result.xs - mx))
        assert result.labels[i, j] == k, (k, result.xs[j], result.ys[i])
    assert set(np.unique(result.labels)) <= {-2, -1, 0, 1, 2, 3}
    assert set(np.unique(result.labels)) >= {0, 1, 2, 3}


def test_saddle_basins_split_at_the_saddle():
    result = basins("saddle", "sgd", 41, lr=0.05)  # an odd n puts a row exactly on y = 0
    upper, lower, middle = result.ys > 0, result.ys < 0, result.ys == 0
    assert middle.sum() == 1
    assert (result.labels[upper] == 0).all()  # minimum 0 is (0, 1)
    assert (result.labels[lower] == 1).all()  # minimum 1 is (0, -1)
    assert (result.labels[middle] == -1).all()  # on y = 0 the run stops at the saddle: it does not settle
    assert np.all(result.surface.minima[0] == (0.0, 1.0))


def test_basin_cells_equal_single_runs_and_diverged_starts_are_labelled():
    result = basins("himmelblau", "sgd", 24, steps=200, lr=0.03)
    assert result.diverged.any()
    np.testing.assert_array_equal(result.labels[result.diverged], -2)
    index, distance = result.surface.nearest_minimum(result.final)
    settled = ~result.diverged & (distance <= result.tol)
    np.testing.assert_array_equal(result.labels[settled], index[settled])
    np.testing.assert_array_equal(result.labels[~result.diverged & ~settled], -1)
    for i, j in [(0, 0), (23, 23), tuple(np.argwhere(result.diverged)[0]), tuple(np.argwhere(settled)[0])]:
        start = (result.xs[j], result.ys[i])
        traj = single("himmelblau", "sgd", start, steps=200, tol=result.tol, lr=0.03)
        assert_cell_equals(result.final[i, j], result.final_loss[i, j], result.converged_at[i, j],
                           result.diverged_at[i, j], traj)
        rerun = result.trajectory(int(i), int(j))
        np.testing.assert_array_equal(rerun.path[0], start)


def test_single_minimum_surfaces_give_a_final_loss_grid():
    result = basins("rosenbrock", "adam", 30, steps=200, lr=0.05)
    grid = result.loss_grid
    assert grid.shape == (30, 30)
    np.testing.assert_array_equal(grid[~result.diverged], result.final_loss[~result.diverged])
    assert set(np.unique(result.labels)) <= {-2, -1, 0}
    unbounded = basins("saddle_unbounded", "sgd", 10, steps=100, lr=0.1)
    assert unbounded.loss_grid is not None and set(np.unique(unbounded.labels)) <= {-2, -1}


def test_basins_window_and_settle_radius():
    result = basins("himmelblau", "adam", 5, window=(2.5, 3.5, 1.5, 2.5), steps=300, lr=0.05, tol=0.1)
    np.testing.assert_array_equal(result.xs, np.linspace(2.5, 3.5, 5))
    assert (result.labels == 0).all() and result.tol == 0.1
    assert settle_radius("himmelblau") == 0.5  # 5% of the 10-wide window
    assert settle_radius("rastrigin") < 0.6  # clear of the ripples' local minima near (±1, 0)
    camel = optviz.surface("six_hump_camel")
    gap = np.linalg.norm(camel.minima[0] - camel.minima[1])
    assert settle_radius(camel) <= gap / 4


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=1), r"n must be an integer in \[2, 200\]"),
    (dict(n=201), r"n must be an integer in \[2, 200\]"),
    (dict(window=(1, 0, 0, 1)), r"window must be finite with x_min < x_max"),
    (dict(window=(0, 1, 0)), r"window must be \(x_min, x_max, y_min, y_max\)"),
    (dict(tol=0.0), r"tol \(the settling radius\) must be a positive number"),
    (dict(gamma=0.5), r"sgd has no hyperparameter 'gamma'"),
    (dict(lr=np.array([0.1, 0.2])), r"fixed hyperparameters must be single values"),
    (dict(lr=-1.0), r"sgd lr must be a number in \(0, ∞\)"),
])
def test_basins_rejects_bad_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        basins("himmelblau", "sgd", **{"n": 4, "steps": 5, **kwargs})


@pytest.mark.parametrize("name", [n for n in optviz.OPTIMIZERS if n not in in_batches()])
def test_an_optimizer_raced_one_run_at_a_time_is_refused_by_sweeps_basins_and_tuning_in_words(name):
    title = optviz.OPTIMIZERS[name].title
    for attempt in (lambda: axis_values(name, "lr", 5), lambda: basins("quadratic", name, 4, steps=10),
                    lambda: tune("quadratic", [name], steps=10)):
        with pytest.raises(ValueError, match=re.escape(f"{title} is raced one run at a time")):
            attempt()


def test_the_cell_nearest_a_setting_is_found_as_each_axis_is_spaced_and_a_cell_runs_with_changes():
    result = sweep("rosenbrock", "adam", "lr", axis_values("adam", "lr", 10), "beta1", axis_values("adam", "beta1", 10),
                   steps=30)
    i, j = 4, 6
    lr, beta1 = result.x_values[j], result.y_values[i]
    assert result.nearest({"lr": lr * 1.3, "beta1": beta1}) == (i, j)  # by ratio: nearer lr than the next value up
    assert result.nearest({"lr": lr, "beta1": 1 - (1 - beta1) * 0.8}) == (i, j)  # by 1 − β₁'s ratio
    assert result.nearest({"lr": 1e-12, "beta1": 0.0}) == (0, 0)
    assert result.nearest({"lr": 1e3, "beta1": 0.9999999}) == (9, 9)
    changed = result.trajectory(i, j, lr=lr * 1.3)
    assert changed.optimizer.hparams["lr"] == lr * 1.3 and changed.optimizer.hparams["beta1"] == beta1
    assert not np.array_equal(changed.path, result.trajectory(i, j).path)
