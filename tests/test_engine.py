"""The trajectory engine: runs and races reproduce the optimizer's own steps, batches equal single runs,
divergence is recorded instead of raised."""

import ast
from pathlib import Path

import numpy as np
import pytest

import optviz
from optviz.engine import Entry
from optviz.optimizers import in_batches

START = (-1.5, 2.0)


def manual_run(surface_name, name, start, steps, grads=None, **hparams):
    """The reference: step() called by hand, one step at a time, with the surface's NumPy gradient (or `grads`)."""
    s, opt = optviz.surface(surface_name), optviz.optimizer(name, **hparams)
    p = np.array(start, dtype=float)
    state = opt.init(p)
    path, used, states = [p], [], []
    for t in range(steps):
        g = np.concatenate(s.grad(p[:1], p[1:])) if grads is None else grads[t]
        p, state = opt.step(p, g, state)
        path.append(p)
        used.append(g)
        states.append(state)
    return np.array(path), np.array(used), states


# schedule-free SGD's default α = 1 (its reference's, for networks) leaves Beale's valley at the first step
ON_BEALE = {"schedule_free_sgd": {"lr": 0.01}}


@pytest.mark.parametrize("name", list(in_batches()))  # the compiled loops' rules (the others: second_order's tests)
def test_run_follows_the_optimizers_own_step_exactly(name):
    """The fused loop applies the very rule step() applies: fed the same gradients, the same numbers, bit for bit.
    Its gradient is the surface's formula compiled, which may round differently from NumPy's in the last place."""
    hparams = ON_BEALE.get(name, {})
    traj = optviz.run("beale", name, start=(1.0, 1.0), steps=40, **hparams)
    path, _, states = manual_run("beale", name, (1.0, 1.0), 40, grads=traj.grad, **hparams)
    np.testing.assert_array_equal(traj.path, path)
    numpy_grad = np.column_stack(optviz.surface("beale").grad(path[:-1, 0], path[:-1, 1]))
    np.testing.assert_allclose(traj.grad, numpy_grad, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(traj.loss, optviz.surface("beale").value(path[:, 0], path[:, 1]))
    for field in states[0]._fields[1:]:
        recorded = np.array([getattr(s, field) for s in states])
        np.testing.assert_array_equal(traj.trace[field], recorded.reshape(traj.trace[field].shape))


@pytest.mark.parametrize("name", ["adam", "momentum", "nadam"])
def test_run_stays_close_to_stepping_with_numpy_gradients(name):
    path, _, _ = manual_run("beale", name, (1.0, 1.0), 40)
    np.testing.assert_allclose(optviz.run("beale", name, start=(1.0, 1.0), steps=40).path, path, rtol=1e-12)


def test_run_returns_arrays_of_the_documented_shapes():
    traj = optviz.run("rosenbrock", "adam", start=START, steps=500, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    assert traj.path.shape == (501, 2)
    assert traj.loss.shape == (501,)
    assert traj.grad.shape == (500, 2)
    assert traj.lr.shape == (500,)
    for name in ["m", "v", "m_hat", "v_hat", "effective_step", "update"]:
        assert traj.trace[name].shape == (500, 2), name
    assert traj.trace["bc1"].shape == (500,)
    assert traj.diverged_at is None
    np.testing.assert_array_equal(traj.path[0], START)


def test_adam_derived_traces_follow_their_formulas():
    traj = optviz.run("rosenbrock", "adam", start=START, steps=50, lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6)
    t = np.arange(1, 51)
    np.testing.assert_allclose(traj.trace["bc1"], 1 - 0.8 ** t)
    np.testing.assert_allclose(traj.trace["bc2"], 1 - 0.99 ** t)
    m_hat = traj.trace["m"] / (1 - 0.8 ** t)[:, None]
    v_hat = traj.trace["v"] / (1 - 0.99 ** t)[:, None]
    np.testing.assert_allclose(traj.trace["m_hat"], m_hat)
    np.testing.assert_allclose(traj.trace["effective_step"], 0.02 * m_hat / (np.sqrt(v_hat) + 1e-6))
    # without weight decay the effective step is exactly the update taken
    np.testing.assert_allclose(traj.trace["update"], -traj.trace["effective_step"], rtol=1e-12, atol=1e-15)


def test_adam_without_bias_correction_has_unit_correction_factors():
    traj = optviz.run("rosenbrock", "adam", start=START, steps=20, lr=0.02, bias_correction=False)
    np.testing.assert_array_equal(traj.trace["bc1"], 1.0)
    np.testing.assert_allclose(traj.trace["m_hat"], traj.trace["m"])
    first = optviz.run("rosenbrock", "adam", start=START, steps=1, lr=0.02)
    # with bias correction Adam's first step is ±lr per coordinate; without it, lr·(1−β1)/√(1−β2) ≈ 3.16·lr
    np.testing.assert_allclose(np.abs(first.path[1] - first.path[0]), 0.02, rtol=1e-6)
    np.testing.assert_allclose(np.abs(traj.path[1] - traj.path[0]), 0.02 * 0.1 / np.sqrt(0.001), rtol=1e-6)


def test_race_equals_separate_runs_and_labels_duplicates():
    entries = ["adam", "sgd", Entry("adam", {"lr": 0.05}, label="adam fast"), "adam", "momentum"]
    races = optviz.race("rosenbrock", entries, start=START, steps=120, hparams={"sgd": {"lr": 5e-4}})
    assert list(races) == ["adam", "sgd", "adam fast", "adam (2)", "momentum"]
    np.testing.assert_array_equal(races["sgd"].path, optviz.run("rosenbrock", "sgd", START, 120, lr=5e-4).path)
    np.testing.assert_array_equal(races["adam fast"].path, optviz.run("rosenbrock", "adam", START, 120, lr=0.05).path)
    np.testing.assert_array_equal(races["adam"].path, races["adam (2)"].path)
    np.testing.assert_array_equal(races["momentum"].trace["buf"],
                                  optviz.run("rosenbrock", "momentum", START, 120).trace["buf"])


@pytest.mark.parametrize("record", [True, "path", False])
def test_batched_hyperparameters_equal_individual_runs(record):
    lrs = np.array([1e-3, 3e-3, 1e-2, 3e-2, 0.3])
    betas = np.array([0.0, 0.5, 0.9, 0.95, 0.99])
    batch = optviz.run("rosenbrock", "adam", START, 300, lr=lrs, beta1=betas, record=record)
    for i in range(len(lrs)):
        single = optviz.run("rosenbrock", "adam", START, 300, lr=lrs[i], beta1=betas[i])
        np.testing.assert_array_equal(batch.final[i], single.final)
        assert batch.final_loss[i] == single.final_loss
        assert (batch.converged_at[i], batch.diverged_at[i]) == (single.converged_at or -1, single.diverged_at or -1)
        if record:
            np.testing.assert_array_equal(batch.path[:, i], single.path)


def test_batched_starts_equal_individual_runs():
    starts = np.array([[-1.0, 1.0], [0.0, -0.5], [2.0, 2.0]])
    batch = optviz.run("himmelblau", "momentum", starts, 200, lr=0.002, record=True)
    assert batch.path.shape == (201, 3, 2)
    assert batch.trace["buf"].shape == (200, 3, 2)
    for i, start in enumerate(starts):
        np.testing.assert_array_equal(batch.path[:, i], optviz.run("himmelblau", "momentum", start, 200,
                                                                  lr=0.002).path)


def test_divergence_is_recorded_not_raised_and_the_path_is_padded_with_nan():
    traj = optviz.run("rosenbrock", "sgd", START, 100, lr=0.1)
    t = traj.diverged_at
    assert t is not None and 1 <= t < 100
    assert np.isfinite(traj.path[:t]).all()
    assert np.isnan(traj.path[t:]).all() and np.isnan(traj.loss[t:]).all() and np.isnan(traj.grad[t - 1:]).all()
    np.testing.assert_array_equal(traj.final, traj.path[t - 1])


def test_leaving_the_bound_counts_as_divergence():
    traj = optviz.run("saddle_unbounded", "sgd", (0.0, 1.0), 2000, lr=0.1)
    path, _, _ = manual_run("saddle_unbounded", "sgd", (0.0, 1.0), traj.diverged_at, lr=0.1)
    bound = optviz.surface("saddle_unbounded").bound
    assert np.abs(path[-1]).max() > bound >= np.abs(path[-2]).max()
    np.testing.assert_array_equal(traj.path[: traj.diverged_at], path[:-1])


@pytest.mark.parametrize("record", [True, "path", False])
def test_outcomes_agree_across_record_modes(record):
    lrs = np.logspace(-4, 0, 60)
    full = optviz.run("rosenbrock", "momentum", START, 400, lr=lrs, record=True)
    other = optviz.run("rosenbrock", "momentum", START, 400, lr=lrs, record=record)
    np.testing.assert_array_equal(other.diverged_at, full.diverged_at)
    np.testing.assert_array_equal(other.converged_at, full.converged_at)
    np.testing.assert_array_equal(other.final, full.final)
    assert (full.diverged_at >= 0).any() and (full.diverged_at < 0).any()


def test_converged_at_is_the_first_step_within_tolerance_of_a_minimum():
    traj = optviz.run("quadratic", "sgd", (2.0, 0.0), 300, lr=0.5, tol=1e-3)
    distance = np.linalg.norm(traj.path, axis=1)
    assert distance[traj.converged_at] <= 1e-3 < distance[traj.converged_at - 1]


def test_race_contestants_see_the_same_gradient_noise():
    races = optviz.race("noisy_quadratic", ["sgd", "adam"], steps=50)
    noise = optviz.surface("noisy_quadratic").gradient_noise(50)
    for traj in races.values():
        exact = np.column_stack(optviz.surface("noisy_quadratic").grad(traj.path[:-1, 0], traj.path[:-1, 1]))
        np.testing.assert_allclose(traj.grad - exact, noise, atol=1e-15)


def test_scheduled_learning_rate_is_recorded_per_step():
    sched = optviz.schedule("step", step_size=10, gamma=0.5)
    traj = optviz.run("quadratic", "sgd", (2.0, 1.0), 30, schedule=sched, lr=0.1)
    np.testing.assert_allclose(traj.lr, 0.1 * 0.5 ** (np.arange(30) // 10))
    # and the steps taken use it: SGD's update is -lr * grad
    np.testing.assert_allclose(traj.trace["update"], -traj.lr[:, None] * traj.grad)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be an integer"),
    ({"steps": 2.5}, "steps must be an integer"),
    ({"start": (1.0, np.nan)}, "start must be a finite point"),
    ({"start": (1.0, 2.0, 3.0)}, "start must be a finite point"),
    ({"record": "everything"}, "record must be one of"),
    ({"tol": -1.0}, "tol must be a positive number"),
    ({"lr": np.ones(3), "start": np.zeros((4, 2))}, "hyperparameter arrays have length [3]"),
])
def test_invalid_run_settings_raise_value_errors(kwargs, message):
    with pytest.raises(ValueError) as error:
        optviz.run("rosenbrock", "adam", **kwargs)
    assert message in str(error.value)


def test_a_race_needs_an_optimizer():
    with pytest.raises(ValueError, match="at least one optimizer"):
        optviz.race("rosenbrock", [])


def test_convergence_to_any_of_several_minima_counts_the_earliest():
    starts = np.array([[2.9, 2.1], [-2.7, 3.0], [-3.7, -3.2], [3.5, -1.9], [0.0, 0.0]])
    traj = optviz.run("himmelblau", "adam", starts, 400, lr=0.02, tol=1e-2)
    index, distance = optviz.surface("himmelblau").nearest_minimum(traj.path)
    for run in range(len(starts)):
        within = np.flatnonzero(distance[:, run] <= 1e-2)
        assert traj.converged_at[run] == (within[0] if within.size else -1)
    assert (traj.converged_at[:4] >= 0).all()


@pytest.mark.parametrize("surface", ["rastrigin", "styblinski_tang",
                                     lambda: optviz.custom_surface("sin(x)*cos(y) + exp(-x**2) + log(1 + y**2)")])
def test_losses_evaluated_at_the_end_equal_losses_evaluated_step_by_step(surface, monkeypatch):
    """Races evaluate their losses once on the whole path, big batches step by step (a built-in surface's fused
    loop as it steps, by the compiled twin of the formula): the numbers are the same, to the last bits of the
    formula's evaluation, and a run alone has the losses of its cell in a batch."""
    from optviz import engine
    surf = surface() if callable(surface) else optviz.surface(surface)
    starts = np.random.default_rng(3).uniform(-2, 2, (40, 2))
    monkeypatch.setattr(engine, "LOSS_AT_END_POINTS", 0)
    each_step = optviz.run(surf, "adam", starts, 150, lr=0.02, record="path")
    monkeypatch.setattr(engine, "LOSS_AT_END_POINTS", 2**20)
    at_end = optviz.run(surf, "adam", starts, 150, lr=0.02, record="path")
    np.testing.assert_array_equal(at_end.path, each_step.path)
    np.testing.assert_array_equal(at_end.loss, each_step.loss)
    np.testing.assert_allclose(at_end.loss, surf.value(at_end.path[..., 0], at_end.path[..., 1]), rtol=1e-13)
    for i in (0, 17, 39):
        alone = optviz.run(surf, "adam", starts[i], 150, lr=0.02, record="path")
        np.testing.assert_array_equal(alone.loss, each_step.loss[:, i])


@pytest.mark.parametrize("placement", ["outside", "inside", "keras"])
@pytest.mark.parametrize("name", ["adam", "amsgrad", "adamw"])
def test_effective_step_follows_the_eps_placement(name, placement):
    """Without weight decay the effective step is exactly the update taken, wherever ε sits."""
    traj = optviz.run("rosenbrock", name, start=START, steps=30, lr=0.02, eps=1e-3, weight_decay=0.0,
                      eps_placement=placement)
    np.testing.assert_allclose(traj.trace["update"], -traj.trace["effective_step"], rtol=1e-11, atol=1e-15)


def test_the_rule_in_latex_follows_the_settings():
    spec = optviz.OPTIMIZERS["adam"]
    assert r"\sqrt{\hat v_t} + \varepsilon" in spec.rule_latex()
    assert r"\sqrt{\hat v_t + \varepsilon}" in spec.rule_latex({**spec.defaults, "eps_placement": "inside"})
    assert r"\hat\varepsilon" in spec.rule_latex({**spec.defaults, "eps_placement": "keras"})
    adamw = optviz.OPTIMIZERS["adamw"]
    assert r"\max_{s\le t} v_s" in adamw.rule_latex({**adamw.defaults, "amsgrad": True})
    assert r"\max" not in adamw.rule_latex()
    sgd = optviz.OPTIMIZERS["sgd"]
    assert r"\theta_{t-1} + \alpha" in sgd.rule_latex({**sgd.defaults, "maximize": True})


def test_a_batch_records_its_path_by_default_and_a_single_run_everything():
    batch = optviz.run("rosenbrock", "adam", START, 50, lr=np.array([0.01, 0.02]))
    assert batch.path.shape == (51, 2, 2) and batch.grad is None and not batch.trace
    single = optviz.run("rosenbrock", "adam", START, 50, lr=0.01)
    assert single.grad.shape == (50, 2) and "m" in single.trace


def test_a_recording_over_the_memory_budget_is_refused_in_words():
    lrs = np.full(10_000, 1e-3)
    with pytest.raises(ValueError, match=r"record='path' keeps only positions and losses"):
        optviz.run("rosenbrock", "adam", START, 5000, lr=lrs, record=True)
    with pytest.raises(ValueError, match=r"GB"):
        optviz.run("rosenbrock", "adam", START, 5000, lr=lrs, record="path")
    assert optviz.run("rosenbrock", "adam", START, 5000, lr=lrs[:10], record=False).final.shape == (10, 2)


FUSABLE = [name for name in optviz.SURFACES if optviz.surface(name).model is None]


def test_data_surfaces_are_not_fused_their_gradient_changes_every_step():
    from optviz.fused import fusable

    assert not fusable(optviz.surface("linear_regression", batch_size=4))
    assert not fusable(optviz.surface("logistic_regression"))
    assert fusable(optviz.surface("rosenbrock")) and len(FUSABLE) >= 10


@pytest.mark.parametrize("name", FUSABLE)
def test_the_compiled_gradient_and_value_of_every_built_in_surface_are_its_numpy_formulas(name):
    from optviz.fused import _compiled

    surf = optviz.surface(name)
    grad, value = _compiled(surf.spec.grad, surf.spec), _compiled(surf.spec.value, surf.spec)
    parameters = tuple(float(v) for v in surf._shape_params.values())
    x0, x1, y0, y1 = surf.window
    for x, y in np.random.default_rng(0).uniform((x0, y0), (x1, y1), size=(20, 2)):
        np.testing.assert_allclose(grad(x, y, parameters), surf.grad(x, y), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(value(x, y, parameters), surf.value(x, y), rtol=1e-13, atol=1e-13)


def test_a_surface_with_its_own_step_gradient_takes_the_generic_path():
    """Surfaces that compute their gradient per step (data surfaces override step_grad) are stepped with the
    compiled rule and the gradient from NumPy: the same numbers as the fused loop gets from the same gradients."""
    from optviz.fused import fusable
    from optviz.surfaces import Surface

    class Shifted(Surface):
        def step_grad(self, x, y, t):
            gx, gy = self.grad(x, y)
            return gx + 0.1 * np.cos(t), gy

    base = optviz.surface("himmelblau")
    shifted = Shifted(base.spec, base.params)
    assert fusable(base) and not fusable(shifted)
    traj = optviz.run(shifted, "adam", (0.0, -0.5), 60, lr=0.05)
    path, grads, _ = manual_run("himmelblau", "adam", (0.0, -0.5), 60, lr=0.05,
                                grads=[np.add(np.concatenate(base.grad(p[:1], p[1:])), [0.1 * np.cos(t + 1), 0])
                                       for t, p in enumerate(traj.path[:-1])])
    np.testing.assert_array_equal(traj.path, path)


def test_a_kernel_compiles_in_memory_when_no_cache_directory_is_writable(monkeypatch):
    import optviz.jit as jit

    def unwritable(py_func):
        raise RuntimeError("cannot cache function: no locator available")

    monkeypatch.setattr(jit, "_FingerprintCache", unwritable)

    def double(a):
        for i in range(a.size):
            a[i] *= 2

    compiled = jit.kernel(double)
    values = np.arange(3.0)
    compiled(values)
    np.testing.assert_array_equal(values, [0.0, 2.0, 4.0])


def test_the_disk_cache_key_is_the_same_in_every_process():
    """numba would key a closure by a pickle that differs per process, so a restarted server would recompile."""
    import subprocess
    import sys

    code = ("import optviz, optviz.jit as j; from optviz.fused import compiled_loop; "
            "print(j._fingerprint(compiled_loop(optviz.optimizer('adam'), optviz.surface('beale'), True).py_func))")
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(keys) == 1 and len(keys.pop().strip()) == 64


def test_warm_up_runs_once_in_the_background():
    from optviz.warmup import warm_up

    first = warm_up((("beale", "sgd"),))
    assert warm_up() is first
    first.result(timeout=120)


@pytest.mark.parametrize("record", ["path", False])
def test_configurations_sharing_their_constants_equal_single_runs(record):
    """Runs with equal hyperparameters other than lr share their per-step constants (NAdam's μ-product too)."""
    beta1 = np.repeat([0.8, 0.9, 0.95], 3)
    lrs = np.tile([1e-3, 5e-3, 2e-2], 3)
    batch = optviz.run("himmelblau", "nadam", (0.0, -0.5), 120, lr=lrs, beta1=beta1, record=record)
    for i in range(len(lrs)):
        single = optviz.run("himmelblau", "nadam", (0.0, -0.5), 120, lr=lrs[i], beta1=beta1[i])
        np.testing.assert_array_equal(batch.final[i], single.final)
        if record:
            np.testing.assert_array_equal(batch.path[:, i], single.path)


def test_every_configuration_of_a_sweep_sees_the_same_gradient_noise():
    lrs = np.array([0.01, 0.03, 0.1])
    batch = optviz.run("noisy_quadratic", "sgd", None, 80, lr=lrs, record=False)
    for i, lr in enumerate(lrs):
        np.testing.assert_array_equal(batch.final[i], optviz.run("noisy_quadratic", "sgd", None, 80, lr=lr).final)


def test_a_server_answers_a_new_pair_by_the_generic_path_while_its_fused_loop_compiles(monkeypatch):
    """The app's mode: a pair whose fused loop is not compiled yet is raced at once by the compiled rule with NumPy
    gradients, the loop compiles in the background, and the next request takes it; both give the same race."""
    from optviz import engine, fused, jit

    monkeypatch.setattr(jit, "LOAD_WAIT", 0.0)  # never wait: even a disk-cache load counts as "not yet"
    monkeypatch.setattr(fused, "_LOOPS", {})  # fresh dispatchers, compiled in no thread yet
    taken = []
    monkeypatch.setattr(engine, "FusedRun", type("Counted", (fused.FusedRun,), {
        "run": lambda self: taken.append(self) or fused.FusedRun.run(self)}))
    first = optviz.race("himmelblau", ["rmsprop"], steps=300, compile_in_background=True)["rmsprop"]
    jit.in_background(object(), lambda: None).result()  # the compile thread's jobs run in order: all done
    generic_steps = [r.steps for r in taken]
    second = optviz.race("himmelblau", ["rmsprop"], steps=300, compile_in_background=True)["rmsprop"]
    assert generic_steps == [1] and [r.steps for r in taken][-1] == 300  # the compile's one step, then the race
    np.testing.assert_allclose(first.path, second.path, rtol=1e-12, atol=0)
    np.testing.assert_allclose(first.trace["v"], second.trace["v"], rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------------------------------
# Layers: the fused loops below the engine, the warm-up above both

PACKAGE = Path(optviz.__file__).parent


def _source(module: str) -> Path | None:
    """The file of an optviz module or package, None if `module` names none (a function, a class)."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    return next((p for p in (path.with_suffix(".py"), path / "__init__.py") if p.is_file()), None)


def _imports(module: str) -> set[str]:
    """The optviz modules `module` imports anywhere in its source, inside functions too, with the packages they
    are in (importing optviz.mnist.train runs optviz/mnist/__init__.py), but not optviz itself, which every
    import runs."""
    path = _source(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]  # `from . import jit`: a module
        else:
            continue
        for name in names:
            if name.startswith("optviz.") and _source(name):
                parts = name.split(".")
                found.update(".".join(parts[:k]) for k in range(2, len(parts) + 1))
    return found


def _imports_transitively(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for name in _imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def test_the_fused_loops_import_neither_the_engine_nor_the_warm_up_above_them():
    assert "optviz.engine" not in _imports("optviz.fused")
    assert not {"optviz.engine", "optviz.warmup"} & _imports_transitively("optviz.fused")
    assert "optviz.warmup" not in _imports_transitively("optviz.engine")
    assert {"optviz.engine", "optviz.fused", "optviz.mnist.train"} <= _imports_transitively("optviz.warmup")


def test_every_parameter_of_a_fused_loop_is_taken_by_name_from_its_arguments():
    """The compiled loops take their parameters positionally; each is the LoopArgs field of its name (or the runs a
    thread steps, first and stop)."""
    from optviz.fused import LoopArgs, _parameters, compiled_loop

    fields = set(LoopArgs._fields)
    for race in (True, False):
        loop = compiled_loop(optviz.optimizer("nadam"), optviz.surface("himmelblau"), race)
        assert set(_parameters(loop)) - fields == (set() if race else {"first", "stop"})
