"""How an optviz optimizer behaves, whatever its update rule.

* Hyperparameters are validated when the optimizer is built: a bad value raises ValueError naming the
  parameter and its valid range; unknown names and non-bool switches are refused; eps = 0 is allowed.
* `step` is pure (its inputs are left as they were); `step_` overwrites the caller's parameters and state.
* Hyperparameters may be (N,) arrays: params (N, ...) then step N configurations at once, each exactly as a
  separate run with the scalar values would.
* Parameters may have any shape; float32 parameters stay float32.
* The state is a named tuple: the step count first, then the rule's named arrays.
* The Adam family's effective step follows each ε placement's documented formula (torch's, ε inside the root,
  Keras's), with or without bias correction.

Agreement with torch's numbers is checked in test_optimizers_reference.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import optviz
from optviz.optimizers import ELEMENTWISE, SPECS, effective_step

pytestmark = pytest.mark.filterwarnings("error")  # an overflow or a NaN in a rule is a failure

# the element-wise rules, which optimizer() steps (the others have engines, and tests, of their own)
ELEMENT_WISE = {name: spec for name, spec in optviz.OPTIMIZERS.items() if spec.kind == ELEMENTWISE}
ALL = list(ELEMENT_WISE)
WITH_EPS = [name for name, spec in ELEMENT_WISE.items() if "eps" in spec.defaults]


def grad_of(x):
    """A smooth nonlinear elementwise gradient (of Σ 0.1x⁴ − 0.5x² + 0.3x)."""
    return 0.4 * x ** 3 - x + 0.3


def run(opt, params, steps=10, in_place=True):
    params = np.array(params, copy=True)
    state = opt.init(params)
    step = opt.step_ if in_place else opt.step
    for _ in range(steps):
        params, state = step(params, grad_of(params), state)
    assert np.all(np.isfinite(params)), f"{opt!r} diverged"
    return params, state


def start(shape=(2, 3), dtype=np.float64):
    return (np.linspace(-1.5, 1.7, math.prod(shape)) + 0.05).reshape(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------------------------
# Validation

INVALID = [
    ("adam", "lr", 0.0, "(0, ∞)"),
    ("sgd", "lr", -1e-3, "(0, ∞)"),
    ("adam", "beta1", 1.0, "[0, 1)"),
    ("adam", "beta2", -0.1, "[0, 1)"),
    ("lion", "beta2", 1.5, "[0, 1)"),
    ("rmsprop", "alpha", 1.0, "[0, 1)"),
    ("momentum", "momentum", 1.0, "[0, 1)"),
    ("momentum", "dampening", 1.5, "[0, 1]"),
    ("qhm", "nu", 1.1, "[0, 1]"),
    ("adam", "eps", -1e-8, "[0, ∞)"),
    ("adagrad", "eps", -1.0, "[0, ∞)"),
    ("adamw", "weight_decay", -0.1, "[0, ∞)"),
    ("adam", "lr", float("nan"), "(0, ∞)"),
    ("nadam", "beta1", float("nan"), "[0, 1)"),
    ("adam", "lr", float("inf"), "(0, ∞)"),
    ("rmsprop", "eps", float("inf"), "[0, ∞)"),
    ("adagrad", "weight_decay", -float("inf"), "[0, ∞)"),
    ("adam", "lr", np.array([0.1, -0.1]), "(0, ∞)"),  # one bad entry in a batch is enough
    ("adam", "lr", "fast", "(0, ∞)"),
]


@pytest.mark.parametrize(("name", "param", "value", "valid"), INVALID,
                         ids=[f"{n}-{p}={v!r}" for n, p, v, _ in INVALID])
def test_invalid_value_raises_naming_the_parameter_and_its_range(name, param, value, valid):
    with pytest.raises(ValueError) as error:
        optviz.optimizer(name, **{param: value})
    message = str(error.value)
    assert f"{param} must be" in message
    assert valid in message
    assert name in message


@pytest.mark.parametrize(("name", "param", "value"), [
    ("adam", "bias_correction", 1),
    ("amsgrad", "bias_correction", None),
    ("rmsprop", "centered", "yes"),
    ("rmsprop", "centered", 0.0),
])
def test_switches_must_be_bools(name, param, value):
    with pytest.raises(ValueError, match=f"{param} must be True or False"):
        optviz.optimizer(name, **{param: value})


def test_numpy_bools_are_bools():
    assert optviz.optimizer("rmsprop", centered=np.True_).hparams["centered"] is True


def test_unknown_optimizer_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'") as error:
        optviz.optimizer("adamm")
    assert all(name in str(error.value) for name in ALL)


@pytest.mark.parametrize(("name", "param"), [("adam", "momentum"), ("adam", "betas"), ("sgd", "nesterov"),
                                             ("lion", "eps")])
def test_unknown_hyperparameter_is_refused_with_the_valid_names(name, param):
    with pytest.raises(ValueError, match=f"no hyperparameter '{param}'") as error:
        optviz.optimizer(name, **{param: 0.5})
    assert "lr" in str(error.value)


@pytest.mark.parametrize("name", WITH_EPS)
def test_eps_zero_is_accepted(name):
    opt = optviz.optimizer(name, eps=0.0)
    assert opt.hparams["eps"] == 0.0
    run(opt, start(), steps=5)


def test_defaults_fill_what_is_not_given():
    opt = optviz.optimizer("adam", lr=0.01)
    assert opt.hparams == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
                           "bias_correction": True, "maximize": False, "eps_placement": "outside"}


def test_hyperparameter_arrays_must_be_one_dimensional_and_equally_long():
    with pytest.raises(ValueError, match="lr must be a number or a 1-D array"):
        optviz.optimizer("adam", lr=np.full((2, 2), 0.1))
    with pytest.raises(ValueError, match="same length"):
        optviz.optimizer("adam", lr=np.full(3, 0.1), beta1=np.full(4, 0.9))


def test_batch_length_must_match_the_leading_axis_of_params():
    opt = optviz.optimizer("adam", lr=np.full(3, 0.1))
    with pytest.raises(ValueError, match="leading axis"):
        opt.init(np.zeros((4, 2)))


# ---------------------------------------------------------------------------------------------------------------
# step is pure, step_ works in place

def _warm_state(opt, params):
    """A state after two steps, so that every buffer holds something nonzero."""
    _, state = run(opt, params, steps=2)
    return state


@pytest.mark.parametrize("name", ALL)
def test_step_leaves_its_inputs_untouched(name):
    opt = optviz.optimizer(name)
    params = start()
    grads = grad_of(params)
    state = _warm_state(opt, params)
    before = (params.copy(), grads.copy(), [a.copy() for a in state])

    new_params, new_state = opt.step(params, grads, state)

    np.testing.assert_array_equal(params, before[0])
    np.testing.assert_array_equal(grads, before[1])
    for old, kept in zip(state, before[2]):
        np.testing.assert_array_equal(old, kept)
    assert not np.shares_memory(new_params, params)
    assert not np.array_equal(new_params, params)
    assert int(new_state.step) == int(state.step) + 1
    for new, old in zip(new_state, state):
        assert not np.shares_memory(new, old)


@pytest.mark.parametrize("name", ALL)
def test_step_in_place_updates_the_callers_buffers(name):
    opt = optviz.optimizer(name)
    params = start()
    state = _warm_state(opt, params)
    before = params.copy()

    new_params, new_state = opt.step_(params, grad_of(params), state)

    assert new_params is params
    assert all(new is old for new, old in zip(new_state, state))
    assert not np.array_equal(params, before)
    assert int(state.step) == 3


@pytest.mark.parametrize("name", ALL)
def test_step_and_step_in_place_give_identical_results(name):
    opt = optviz.optimizer(name, lr=0.01)
    pure, pure_state = run(opt, start(), steps=15, in_place=False)
    in_place, in_place_state = run(opt, start(), steps=15, in_place=True)
    np.testing.assert_array_equal(pure, in_place)
    for a, b in zip(pure_state, in_place_state):
        np.testing.assert_array_equal(a, b)


def test_step_accepts_plain_python_numbers():
    opt = optviz.optimizer("adam", lr=0.1)
    params, state = opt.step(1.5, 0.2, opt.init(1.5))
    assert params.shape == () and params == pytest.approx(1.4)


# ---------------------------------------------------------------------------------------------------------------
# Batched hyperparameters: (N,) arrays over params (N, ...)

BATCHED = {
    "sgd": {"lr": [1e-3, 1e-2, 5e-2], "weight_decay": [0.0, 0.1, 0.5]},
    "momentum": {"lr": [1e-3, 1e-2, 5e-2], "momentum": [0.0, 0.5, 0.9], "dampening": [0.3, 0.0, 0.1]},
    "nesterov": {"lr": [1e-3, 1e-2, 5e-2], "momentum": [0.0, 0.5, 0.9]},
    "adagrad": {"lr": [1e-2, 0.1, 0.3], "lr_decay": [0.0, 0.1, 0.01]},
    "rmsprop": {"lr": [1e-3, 1e-2, 3e-2], "alpha": [0.5, 0.9, 0.99], "momentum": [0.0, 0.5, 0.9]},
    "adadelta": {"lr": [0.1, 0.5, 1.0], "rho": [0.5, 0.9, 0.95]},
    "adam": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9]},
    "amsgrad": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9]},
    "adamw": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9], "weight_decay": [0.0, 0.1, 0.01]},
    "nadam": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9], "momentum_decay": [0.004, 0.0, 0.1]},
    "radam": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9], "beta2": [0.6, 0.9, 0.999]},
    "adamax": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9]},
    "adabelief": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.3, 0.5, 0.9]},  # β1 = 0 makes g − m = 0: no belief
    "lion": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9]},
    "qhm": {"lr": [1e-3, 1e-2, 5e-2], "momentum": [0.0, 0.5, 0.9], "nu": [0.0, 0.7, 1.0]},
    "qhadam": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.0, 0.5, 0.9], "nu1": [0.0, 0.7, 1.0]},
    "asgd": {"lr": [1e-3, 1e-2, 5e-2], "lambd": [1e-4, 0.1, 1.0], "t0": [0.0, 5.0, 1e6]},
    "rprop": {"lr": [1e-3, 1e-2, 5e-2], "eta_minus": [0.1, 0.5, 0.9], "step_size_max": [0.01, 1.0, 50.0]},
    "adan": {"lr": [1e-3, 1e-2, 5e-2], "beta2": [0.0, 0.5, 0.92], "weight_decay": [0.0, 0.1, 0.01]},
    "schedule_free_sgd": {"lr": [1e-3, 1e-2, 5e-2], "momentum": [0.1, 0.5, 0.9], "warmup_steps": [0, 5, 50]},
    "schedule_free_adamw": {"lr": [1e-3, 1e-2, 5e-2], "beta1": [0.1, 0.5, 0.9], "r": [0.0, 1.0, 2.0]},
}


def test_every_optimizer_has_a_batched_case():
    assert set(BATCHED) == set(ALL)


@pytest.mark.parametrize("name", list(BATCHED))
def test_batched_hyperparameters_equal_separate_runs_row_by_row(name):
    arrays = {k: np.array(v) for k, v in BATCHED[name].items()}
    params = start((3, 2))
    batched, _ = run(optviz.optimizer(name, **arrays), params, steps=25)
    for i in range(3):
        alone, _ = run(optviz.optimizer(name, **{k: float(v[i]) for k, v in arrays.items()}), params[i], steps=25)
        np.testing.assert_allclose(batched[i], alone, rtol=1e-13, atol=1e-15, err_msg=f"row {i}")


def _alternatives(param):
    """Three valid values of one hyperparameter: its default and two others."""
    d = param.default
    others = {"lr": (3 * d, d / 3), "eps": (0.0, 1e-3), "weight_decay": (0.1, 0.0), "lr_decay": (0.1, 0.01),
              "initial_accumulator_value": (0.1, 1.0), "momentum_decay": (0.0, 0.1),
              "eta_plus": (1.5, 2.0)}.get(param.name, (0.5, 0.8))
    return [d, *others]


SINGLE = [(name, param.name, _alternatives(param)) for name, spec in ELEMENT_WISE.items()
          for param in spec.params if param.kind == "float"]


@pytest.mark.parametrize(("name", "param", "values"), SINGLE, ids=[f"{n}-{p}" for n, p, _ in SINGLE])
def test_each_hyperparameter_can_be_batched_alone(name, param, values):
    params = start((3, 2))
    batched, _ = run(optviz.optimizer(name, **{param: np.array(values)}), params, steps=25)
    for i, value in enumerate(values):
        alone, _ = run(optviz.optimizer(name, **{param: value}), params[i], steps=25)
        np.testing.assert_allclose(batched[i], alone, rtol=1e-13, atol=1e-15, err_msg=f"{param}={value}")


def test_batched_hyperparameters_broadcast_over_trailing_axes():
    lr = np.array([0.01, 0.1])
    params = start((2, 3, 4))
    batched, _ = run(optviz.optimizer("adam", lr=lr), params)
    for i in range(2):
        alone, _ = run(optviz.optimizer("adam", lr=float(lr[i])), params[i])
        np.testing.assert_allclose(batched[i], alone, rtol=1e-13)


def test_batched_with_a_schedule():
    lr = np.array([0.01, 0.1])
    schedule = optviz.schedule("cosine", t_max=8, warmup=3)
    batched, _ = run(optviz.optimizer("momentum", schedule=schedule, lr=lr), start((2, 3)))
    for i in range(2):
        alone, _ = run(optviz.optimizer("momentum", schedule=schedule, lr=float(lr[i])), start((2, 3))[i])
        np.testing.assert_allclose(batched[i], alone, rtol=1e-13)


# ---------------------------------------------------------------------------------------------------------------
# Shapes and dtypes

@pytest.mark.parametrize("shape", [(), (5,), (4, 3, 2)], ids=str)
@pytest.mark.parametrize("name", ALL)
def test_params_of_any_shape_step_elementwise(name, shape):
    opt = optviz.optimizer(name, lr=0.01)
    params = start(shape)
    result, state = run(opt, params)
    flat, _ = run(optviz.optimizer(name, lr=0.01), params.reshape(-1))
    assert result.shape == shape
    assert all(np.shape(a) == shape for field, a in zip(state._fields, state) if field not in ("step", "mu_product"))
    np.testing.assert_allclose(result.reshape(-1), flat, rtol=1e-15)


@pytest.mark.parametrize("in_place", [True, False], ids=["step_", "step"])
@pytest.mark.parametrize("name", ALL)
def test_float32_params_stay_float32(name, in_place):
    opt = optviz.optimizer(name, lr=0.01)
    params32, state = run(opt, start(dtype=np.float32), steps=8, in_place=in_place)
    params64, _ = run(optviz.optimizer(name, lr=0.01), start(), steps=8)
    assert params32.dtype == np.float32
    for field, array in zip(state._fields, state):
        if field not in ("step", "mu_product"):
            assert array.dtype == np.float32, field
    np.testing.assert_allclose(params32, params64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_float32_params_are_stepped_in_float32_arithmetic(weight_decay):
    """Adam on float32 equals its formula worked in float32 bit for bit, the step's constants (1 − β among them)
    rounded from float64 as torch rounds its Python floats; working in float64 and rounding at the end, or taking
    1 − β in float32, would differ in some elements."""
    rng = np.random.default_rng(3)
    params = rng.standard_normal(4_000).astype(np.float32)
    opt = optviz.optimizer("adamw", lr=0.01, weight_decay=weight_decay)
    state = opt.init(params)
    p, m, v = params.copy(), np.zeros_like(params), np.zeros_like(params)
    f32, one = np.float32, np.float32(1)
    for t in (1, 2, 3):
        grads = (rng.standard_normal(params.shape) * 0.1).astype(np.float32)
        opt.step_(params, grads, state)
        bc1, bc2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        p = p * (one - f32(0.01) * f32(weight_decay))
        m = m + f32(1 - 0.9) * (grads - m)   # torch's 1 − β, worked out in float64 and then rounded
        v = f32(0.999) * v + f32(1 - 0.999) * grads * grads
        p = p - f32(0.01) * f32(math.sqrt(bc2) / bc1) * m / (np.sqrt(v + f32(0)) + f32(1e-8 * math.sqrt(bc2)))
        np.testing.assert_array_equal(params, p)
        np.testing.assert_array_equal(state.m, m)
        np.testing.assert_array_equal(state.v, v)


def test_float32_params_stay_float32_with_float64_grads():
    opt = optviz.optimizer("adam")
    params = start(dtype=np.float32)
    state = opt.init(params)
    params, state = opt.step(params, grad_of(params.astype(np.float64)), state)
    params, state = opt.step_(params, grad_of(params.astype(np.float64)), state)
    assert params.dtype == np.float32 and state.m.dtype == np.float32


def test_integer_params_step_in_float64():
    opt = optviz.optimizer("sgd", lr=0.5)
    params, state = opt.step(np.array([1, 2]), np.array([1, 1]), opt.init(np.array([1, 2])))
    assert params.dtype == np.float64
    np.testing.assert_array_equal(params, [0.5, 1.5])


# ---------------------------------------------------------------------------------------------------------------
# State

@pytest.mark.parametrize("name", ALL)
def test_state_is_the_step_count_and_named_arrays(name):
    opt = optviz.optimizer(name)
    state = opt.init(start())
    assert state._fields == ("step",) + optviz.OPTIMIZERS[name].state
    assert int(state.step) == 0
    for k in range(1, 4):
        _, state = opt.step(start(), grad_of(start()), state)
        assert int(state.step) == k


def test_adam_state_holds_the_moments():
    beta1, beta2 = 0.8, 0.95
    opt = optviz.optimizer("adam", beta1=beta1, beta2=beta2)
    params = start()
    state = opt.init(params)
    assert state._fields == ("step", "m", "v")
    np.testing.assert_array_equal(state.m, 0)
    g = grad_of(params)
    _, state = opt.step(params, g, state)
    np.testing.assert_allclose(state.m, (1 - beta1) * g, rtol=1e-15)
    np.testing.assert_allclose(state.v, (1 - beta2) * g * g, rtol=1e-15)
    assert state._asdict()["m"] is state.m


def test_amsgrad_state_keeps_the_running_maximum_of_v():
    opt = optviz.optimizer("amsgrad", lr=0.1)
    params = start()
    state = opt.init(params)
    assert state._fields == ("step", "m", "v", "v_max")
    largest = np.zeros_like(params)
    for _ in range(20):
        params, state = opt.step_(params, grad_of(params), state)
        largest = np.maximum(largest, state.v)
        np.testing.assert_array_equal(state.v_max, largest)
    assert np.any(state.v_max > state.v)  # the gradients shrank, so the maximum is not just the current v


def test_adagrad_accumulator_starts_at_its_initial_value():
    state = optviz.optimizer("adagrad", initial_accumulator_value=0.25).init(start())
    np.testing.assert_array_equal(state.sum, 0.25)


# ---------------------------------------------------------------------------------------------------------------
# The Adam family's effective step (the race's traces and the MNIST statistics both take it from here)

def documented_effective_step(m, v, t, lr, beta1, beta2, eps, placement, bias_correction):
    """Each placement's formula as its documentation writes it: torch's α·m̂/(√v̂ + ε), ε inside the root
    α·m̂/√(v̂ + ε), and Keras's Adam lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ), step = lr_t·m/(√v + ε̂)."""
    bc1, bc2 = (1 - beta1 ** t, 1 - beta2 ** t) if bias_correction else (1.0, 1.0)
    m_hat, v_hat = m / bc1, v / bc2
    if placement == "outside":
        return lr * m_hat / (np.sqrt(v_hat) + eps)
    if placement == "inside":
        return lr * m_hat / np.sqrt(v_hat + eps)
    lr_t = lr * math.sqrt(bc2) / bc1
    return lr_t * m / (np.sqrt(v) + eps)


@pytest.mark.parametrize("bias_correction", [True, False], ids=["corrected", "uncorrected"])
@pytest.mark.parametrize("placement", ["outside", "inside", "keras"])
def test_effective_step_follows_each_eps_placements_documented_formula(placement, bias_correction):
    rng = np.random.default_rng(0)
    m, v = rng.normal(0, 1e-2, 50), rng.uniform(1e-6, 1e-3, 50)  # ε = 1e-2 is as large as √v: its place matters
    hparams = dict(beta1=0.8, beta2=0.99, eps=1e-2, eps_placement=placement, bias_correction=bias_correction)
    step = effective_step(m, v, 7, 0.03, hparams)
    np.testing.assert_allclose(step, documented_effective_step(m, v, 7, 0.03, 0.8, 0.99, 1e-2, placement,
                                                               bias_correction), rtol=1e-13)
    # without bias correction Keras's step is torch's; otherwise each placement gives its own step
    alike = {"outside", "keras"} if not bias_correction and placement != "inside" else {placement}
    for other in {"outside", "inside", "keras"} - alike:
        assert not np.allclose(step, documented_effective_step(m, v, 7, 0.03, 0.8, 0.99, 1e-2, other,
                                                               bias_correction), rtol=1e-3)


def test_effective_step_broadcasts_per_run_hyperparameters_over_steps_and_coordinates():
    """A race's traces are (steps, runs, coordinates); t varies by step, lr and β by run."""
    rng = np.random.default_rng(1)
    m, v = rng.normal(0, 1e-2, (6, 3, 2)), rng.uniform(1e-6, 1e-3, (6, 3, 2))
    t = np.arange(1, 7.0)[:, None]
    lr, beta1 = np.array([0.01, 0.02, 0.03]), np.array([0.5, 0.8, 0.9])
    step = effective_step(m, v, t, lr, dict(beta1=beta1, beta2=0.99, eps=1e-3))
    for k in range(6):
        for r in range(3):
            expected = documented_effective_step(m[k, r], v[k, r], k + 1, lr[r], beta1[r], 0.99, 1e-3, "outside",
                                                 True)
            np.testing.assert_allclose(step[k, r], expected, rtol=1e-13)


# ---------------------------------------------------------------------------------------------------------------
# Corner cases of the rules (torch's behaviour)

def test_momentum_zero_is_plain_sgd_whatever_the_dampening():
    damped, _ = run(optviz.optimizer("momentum", lr=0.01, momentum=0.0, dampening=0.5), start())
    plain, _ = run(optviz.optimizer("sgd", lr=0.01), start())
    np.testing.assert_allclose(damped, plain, rtol=1e-15)


def test_radam_with_small_beta2_is_bias_corrected_momentum_and_warns_nothing():
    # β2 ≤ 2/3 gives ρ∞ ≤ 5: the variance is never tractable, so every step is α m̂
    opt = optviz.optimizer("radam", lr=0.01, beta1=0.9, beta2=0.5)
    params = start()
    state = opt.init(params)
    m = np.zeros_like(params)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for t in range(1, 11):
            g = grad_of(params)
            m = 0.9 * m + 0.1 * g
            expected = params - 0.01 * m / (1 - 0.9 ** t)
            params, state = opt.step(params, g, state)
            np.testing.assert_allclose(params, expected, rtol=1e-13)


def test_a_prepare_reads_its_hyperparameters_by_name_wherever_they_sit():
    """Hyperparameters reach a rule's per-step constants by name: the same optimizer with its hyperparameters
    listed in reverse (as if one had been inserted) steps exactly alike."""
    import dataclasses

    from optviz.optimizers import Optimizer

    for name in ("adam", "rmsprop", "nadam", "momentum"):
        spec = SPECS[name]
        reordered = dataclasses.replace(spec, params=tuple(reversed(spec.params)))
        hparams = {**spec.defaults, "lr": 0.01, "weight_decay": 0.1}
        params = {k: np.array([1.0, -2.0, 0.5]) for k in ("given", "reordered")}
        runs = {"given": Optimizer(spec, hparams), "reordered": Optimizer(reordered, hparams)}
        states = {k: runs[k].init(params[k]) for k in runs}
        for t in range(5):
            grads = np.array([0.3, -0.1, 2.0]) * (t + 1)
            for k in runs:
                runs[k].step_(params[k], grads, states[k])
        assert np.array_equal(params["given"], params["reordered"]), name


def test_a_prepare_that_reads_a_hyperparameter_the_optimizer_lacks_is_refused_in_words():
    from optviz.jit import by_name

    def prepare(t, q, beta1, gamma):
        return (), q

    with pytest.raises(ValueError, match=r"takes gamma, which the optimizer does not have .*lr, beta1"):
        by_name(prepare, ["lr", "beta1"])


# ---------------------------------------------------------------------------------------------------------------
# While a rule's loop compiles, rows that share their hyperparameters (a learning-rate sweep) are stepped by the
# rule's Python source applied to whole arrays: the same numbers as the compiled loop's.

@pytest.mark.parametrize("name", ALL)
def test_a_rule_on_whole_arrays_steps_as_its_compiled_loop(name):
    from optviz.optimizers import _rows_at_once

    lr = SPECS[name].defaults["lr"] * np.array([1.0, 0.5, 2.0])
    opt = optviz.optimizer(name, lr=lr)
    at_once = _rows_at_once(opt.rule, opt.spec.prepare)
    compiled, (params, state) = start((3, 8)), (start((3, 8)), opt.init(start((3, 8))))
    compiled_state = opt.init(compiled)
    for t in range(1, 8):
        compiled, compiled_state = opt.step_(compiled, grad_of(compiled), compiled_state)
        arrays = tuple(getattr(state, n) for n in opt.arrays)
        shared = getattr(state, opt.spec.shared).reshape(-1) if opt.spec.shared else np.ones(1)
        at_once(params, grad_of(params), arrays, shared, opt.hyper, opt.lr_at(t), opt.sign, float(t))
        np.testing.assert_array_equal(params, compiled, err_msg=f"step {t}")
        for n in opt.arrays:
            np.testing.assert_array_equal(getattr(state, n), getattr(compiled_state, n), err_msg=f"{n}, step {t}")


EDITS = [(name, edit) for name, spec in ELEMENT_WISE.items() for edit in spec.latex_edits]


@pytest.mark.parametrize(("name", "edit"), EDITS, ids=[f"{n}-{e[0]}={e[1]}" for n, e in EDITS])
def test_each_setting_that_changes_the_rule_changes_its_formula(name, edit):
    """A LaTeX edit finds what it replaces: ascent shows +, ε inside the root shows it there, …"""
    spec = SPECS[name]
    setting, value, _, new = edit
    edited = spec.rule_latex({**spec.defaults, setting: value})
    assert edited != spec.rule_latex() and new in edited
