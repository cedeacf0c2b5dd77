"""Optimizers as pure functions over NumPy arrays of any shape.

    opt = optimizer("adam", lr=1e-3)
    state = opt.init(params)
    params, state = opt.step(params, grads, state)     # pure: inputs are left untouched
    params, state = opt.step_(params, grads, state)    # in place: updates the caller's buffers

Update rules follow torch.optim's documented algorithms and defaults (AdaBelief, Lion, QHM and QHAdam follow
their papers; `eps_placement="keras"` and `"inside"` follow Keras's documented Adam, RMSprop and Adagrad).
Hyperparameters may be 1-D arrays of length N that broadcast against the leading batch axis of `params`, so one
call steps N configurations.

Each rule is written once, as a formula on numbers (`*_rule`, the formula in its docstring), with the numbers that
change only from step to step (bias corrections, NAdam's μ, RAdam's ρ) worked out once per step by its `prepare`.
Compiled loops apply that one rule everywhere: `step_` over flat arrays here, and the engine's fused loops over
every step of a race, a sweep or a basin grid (optviz/engine.py).
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .jit import by_name, in_precision_of, kernel, load, one_minus, per_step, scalar, store, uncompiled, without_waiting
from .params import DECAY_RATE, LEARNING_RATE, LR, WEIGHT_DECAY, Param, lookup, resolve
from .params import MOMENTUM as MOMENTUM_ROLE
from .schedules import Schedule, constant

# ---------------------------------------------------------------------------------------------------------------
# Hyperparameter specs shared by several optimizers

def _lr(default: float) -> Param:
    return Param(LR, r"\alpha", default, "learning rate: the step size", low=0.0, low_open=True, log=True,
                 role=LEARNING_RATE)


def _beta(name: str, symbol: str, default: float, meaning: str, role: str = DECAY_RATE) -> Param:
    return Param(name, symbol, default, meaning, low=0.0, high=1.0, high_open=True, role=role)


def _eps(default: float) -> Param:
    return Param("eps", r"\varepsilon", default, "added to the denominator to avoid division by zero", low=0.0,
                 log=True)


def _weight_decay(default: float = 0.0, decoupled: bool = False) -> Param:
    how = "decoupled: θ ← θ(1 − αλ)" if decoupled else "L2 penalty: g ← g + λθ"
    return Param("weight_decay", r"\lambda", default, f"weight decay, {how}", low=0.0, role=WEIGHT_DECAY)


def _switch(name: str, meaning: str, default: bool = False) -> Param:
    return Param(name, r"\text{" + name.replace("_", " ") + "}", default, meaning, kind="bool")


BETA1 = _beta("beta1", r"\beta_1", 0.9, "decay rate of the first moment (mean of g)", MOMENTUM_ROLE)
BETA2 = _beta("beta2", r"\beta_2", 0.999, "decay rate of the second moment (mean of g²)")
MOMENTUM = _beta("momentum", r"\mu", 0.9, "momentum: how much of the previous velocity is kept", MOMENTUM_ROLE)
BIAS_CORRECTION = _switch("bias_correction", "divide the moments by 1−βᵗ so that m₀ = v₀ = 0 does not shrink the "
                          "first steps", default=True)
MAXIMIZE = _switch("maximize", "gradient ascent: step along +g (torch's maximize)")
DECOUPLED = _switch("decoupled_weight_decay", "decay the weights as AdamW does, θ ← θ(1 − αλ), instead of "
                    "adding λθ to the gradient")
AMSGRAD = _switch("amsgrad", "divide by the running maximum of v (AMSGrad)")

PLACEMENTS = ("outside", "inside", "keras")  # eps_placement's choices
OUTSIDE, INSIDE, KERAS = 0, 1, 2  # eps_placement, as the index of its choice
_PLACEMENT_HELP = ("where ε enters the denominator: outside the root (torch), inside it (√(v + ε)) or, for Adam, "
                   "Keras's ε̂ added to √v before bias correction")


_PLACEMENT_TITLES = {"outside": "outside: √v̂ + ε (torch)", "inside": "inside: √(v̂ + ε)",
                     "keras": "Keras: ε̂ added to √v before bias correction"}


def _eps_placement(*choices: str) -> Param:
    return Param("eps_placement", r"\varepsilon\ \text{placement}", "outside", _PLACEMENT_HELP, kind="choice",
                 choices=choices, choice_titles=tuple(_PLACEMENT_TITLES[choice] for choice in choices))


# ---------------------------------------------------------------------------------------------------------------
# Shared pieces of the formulas. `c` is the record of per-step constants a rule's prepare() returns.

@scalar
def _decay(p, g, lr, l2, decoupled):
    """θ ← θ(1 − αλ_d) (decoupled, AdamW's) and g ← g + λθ (L2, torch's weight_decay); one of λ, λ_d is 0."""
    return p * one_minus(lr * decoupled), g + l2 * p


@scalar
def _moments(m, v, g, one_minus_beta1, beta2, one_minus_beta2):
    """m ← m + (1−β1)(g − m) (torch's lerp: the EMA β1·m + (1−β1)·g);  v ← β2·v + (1−β2)·g²."""
    return m + one_minus_beta1 * (g - m), beta2 * v + one_minus_beta2 * g * g


@scalar
def _decay_kind(weight_decay, decoupled):
    """(λ, λ_d): the L2 and the decoupled share of the weight decay."""
    return (0.0, weight_decay) if decoupled else (weight_decay, 0.0)


@scalar
def _eps_split(eps, placement, bc2):
    """(ε_in, ε_out) of a denominator √(v + ε_in) + ε_out, for v whose bias correction is √(1−β2ᵗ) = √bc2:
    outside α·m̂/(√v̂ + ε) → (0, ε√bc2); inside α·m̂/√(v̂ + ε) → (ε·bc2, 0); Keras's α_t·m/(√v + ε̂) → (0, ε̂).
    (np.sqrt, so that effective_step can use this very formula on arrays through its py_func.)"""
    if placement == INSIDE:
        return eps * bc2, 0.0
    if placement == KERAS:
        return 0.0, eps
    return 0.0, eps * np.sqrt(bc2)


@per_step
def _no_prepare(t, q):
    return (), q


def constants(name: str, fields: str) -> type:
    """The record of per-step constants a rule's prepare hands the rule, read by name (c.beta2): a namedtuple,
    which the compiled loops pass on as a tuple and cast to the parameters' precision field by field."""
    return namedtuple(name, fields)


# ---------------------------------------------------------------------------------------------------------------
# Update rules: rule(p, g, state, lr, c) -> (p, state) for one number p with gradient g at step t; `state` is the
# tuple of the rule's state variables (in the order of its spec's `state`), `c` the record its prepare(t, q,
# **hyperparameters) worked out for step t: each prepare names the hyperparameters it reads, and gets them by name
# (jit.by_name), and the per-configuration scalar q (NAdam's μ-product, 1 elsewhere). lr comes on its own, since it
# may differ per run. The constants travel in float64 and are rounded to the parameters' dtype by the loop, so a
# decay rate's complement 1 − β is worked out in prepare, as torch works it out in Python: in float32, 1 − 0.999
# would come out 1.3e-5 too small, a bias that steers a float32 run off torch's.

SgdStep = constants("SgdStep", "weight_decay")


@dataclass(frozen=True)
class Stability:
    """Where an optimizer's steps are stable on a quadratic whose largest curvature is λ (plus any L2 weight decay):
    α·λ < bound(hparams), λ of the Hessian H, or of the preconditioned Hessian P⁻¹H when `preconditioned` (the
    Adam family, whose step is α·P⁻¹m). One relation, read both ways: the largest stable learning rate on a surface
    (bound/λ_max, drawn over the sweeps) and the sharpness a training hovers at (bound/α, the edge of stability)."""

    bound: Callable[[dict], Any]
    rule: str  # the relation in words, for α
    sharpness_rule: str  # and for λ
    preconditioned: bool = False


def _gradient_descent_bound(hparams):
    """Gradient descent θ ← θ − α·Hθ converges iff α·λ < 2 for every eigenvalue λ."""
    return 2.0


def _heavy_ball_bound(hparams):
    """torch's SGD with momentum (b ← μ·b + (1−τ)·g, θ ← θ − α·b) is Polyak's heavy ball, whose two roots per
    eigenvalue lie inside the unit circle iff 0 ≤ μ < 1 and α(1−τ)·λ < 2(1 + μ); NaN where μ ∉ [0, 1) (no stable
    α). With μ = 0 torch keeps no velocity, so dampening does not apply."""
    mu = np.asarray(hparams.get("momentum", 0.9), dtype=float)
    undamped = 1.0 - np.where(mu == 0, 0.0, np.asarray(hparams.get("dampening", 0.0), dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((mu >= 0) & (mu < 1), 2.0 * (1.0 + mu) / undamped, np.nan)


def _adam_bound(hparams):
    """Adam with an EMA first moment of decay β1, its preconditioner P frozen: stable iff α·λ_max(P⁻¹H) <
    (2 + 2β1)/(1 − β1), 38 at β1 = 0.9 (Cohen et al., 2022)."""
    beta1 = np.asarray(hparams.get("beta1", 0.9), dtype=float)
    return (2 + 2 * beta1) / (1 - beta1)


GRADIENT_DESCENT = Stability(_gradient_descent_bound, "α < 2/λ_max", "λ_max < 2/α")
HEAVY_BALL = Stability(_heavy_ball_bound, "α < 2(1+μ)/λ_max", "λ_max < 2(1+μ)/α")
PRECONDITIONED = Stability(_adam_bound, "α < (2+2β₁)/((1−β₁)·λ_max(P⁻¹H))", "λ_max(P⁻¹H) < (2+2β₁)/((1−β₁)α)",
                           preconditioned=True)


@per_step
def _sgd_prepare(t, q, weight_decay):
    return SgdStep(weight_decay), q


@scalar
def sgd_rule(p, g, s, lr, c):
    """g ← g + λθ;  θ ← θ − α·g."""
    g = g + c.weight_decay * p
    return p - lr * g, s


MomentumStep = constants("MomentumStep", "momentum undamped weight_decay first nesterov")


@per_step
def _momentum_prepare(t, q, momentum, weight_decay, dampening=0.0, nesterov=False):
    # torch keeps no velocity when μ = 0 (plain SGD), so its dampening must not apply there
    undamped = 1.0 if momentum == 0 else 1 - dampening
    return MomentumStep(momentum, undamped, weight_decay, t == 1, nesterov), q


@per_step
def _nesterov_prepare(t, q, momentum, weight_decay):
    return _momentum_prepare(t, q, momentum, weight_decay, 0.0, True)


@scalar
def momentum_rule(p, g, s, lr, c):
    """g ← g + λθ;  b ← g at t = 1, else b ← μ·b + (1−τ)·g;  θ ← θ − α·b, or θ − α·(g + μ·b) for Nesterov."""
    (b,) = s
    g = g + c.weight_decay * p
    b = g if c.first else c.momentum * b + c.undamped * g
    step = g + c.momentum * b if c.nesterov else b
    return p - lr * step, (b,)


AdagradStep = constants("AdagradStep", "weight_decay decay eps_in eps_out")


@per_step
def _adagrad_prepare(t, q, lr_decay, weight_decay, eps, eps_placement):
    eps_in, eps_out = (eps, 0.0) if eps_placement == INSIDE else (0.0, eps)
    return AdagradStep(weight_decay, 1 + (t - 1) * lr_decay, eps_in, eps_out), q


@scalar
def adagrad_rule(p, g, s, lr, c):
    """g ← g + λθ;  G ← G + g²;  θ ← θ − α/(1+(t−1)η) · g/(√(G + ε_in) + ε_out)  (ε outside: torch; inside: Keras)."""
    (total,) = s
    g = g + c.weight_decay * p
    total = total + g * g
    return p - lr / c.decay * (g / (math.sqrt(total + c.eps_in) + c.eps_out)), (total,)


RmspropStep = constants("RmspropStep", "alpha one_minus_alpha eps_in eps_out weight_decay momentum centered")


@per_step
def _rmsprop_prepare(t, q, alpha, eps, weight_decay, momentum, centered, eps_placement):
    eps_in, eps_out = (eps, 0.0) if eps_placement == INSIDE else (0.0, eps)
    return RmspropStep(alpha, 1 - alpha, eps_in, eps_out, weight_decay, momentum, centered != 0), q


@scalar
def rmsprop_rule(p, g, s, lr, c):
    """g ← g + λθ;  v ← ρ·v + (1−ρ)·g²;  centered: ḡ ← ḡ + (1−ρ)(g − ḡ), v̄ = v − ḡ², else v̄ = v;
    d = g/(√(v̄ + ε_in) + ε_out);  with momentum b ← μ·b + d, θ ← θ − α·b;  without, θ ← θ − α·d."""
    v, g_avg, b = s
    g = g + c.weight_decay * p
    v = c.alpha * v + c.one_minus_alpha * g * g
    spread = v
    if c.centered:
        g_avg = g_avg + c.one_minus_alpha * (g - g_avg)
        spread = v - g_avg * g_avg
    d = g / (math.sqrt(spread + c.eps_in) + c.eps_out)
    if c.momentum > 0:
        b = c.momentum * b + d
        d = b
    return p - lr * d, (v, g_avg, b)


AdadeltaStep = constants("AdadeltaStep", "rho one_minus_rho eps weight_decay")


@per_step
def _adadelta_prepare(t, q, rho, eps, weight_decay):
    return AdadeltaStep(rho, 1 - rho, eps, weight_decay), q


@scalar
def adadelta_rule(p, g, s, lr, c):
    """g ← g + λθ;  v ← ρ·v + (1−ρ)·g²;  Δ = √(u + ε)/√(v + ε) · g;  u ← ρ·u + (1−ρ)·Δ²;  θ ← θ − α·Δ."""
    v, u = s
    g = g + c.weight_decay * p
    v = c.rho * v + c.one_minus_rho * g * g
    delta = math.sqrt(u + c.eps) / math.sqrt(v + c.eps) * g
    u = c.rho * u + c.one_minus_rho * delta * delta
    return p - lr * delta, (v, u)


AdamStep = constants("AdamStep", "one_minus_beta1 beta2 one_minus_beta2 scale eps_in eps_out l2 decoupled")


@per_step
def _adam_prepare(t, q, beta1, beta2, eps, weight_decay, bias_correction, eps_placement, decoupled=False):
    bc1 = 1 - beta1 ** t if bias_correction else 1.0
    bc2 = 1 - beta2 ** t if bias_correction else 1.0
    eps_in, eps_out = _eps_split(eps, eps_placement, bc2)
    l2, decay = _decay_kind(weight_decay, decoupled)
    return AdamStep(1 - beta1, beta2, 1 - beta2, math.sqrt(bc2) / bc1, eps_in, eps_out, l2, decay), q


@per_step
def _adamw_prepare(t, q, beta1, beta2, eps, weight_decay, bias_correction, eps_placement):
    return _adam_prepare(t, q, beta1, beta2, eps, weight_decay, bias_correction, eps_placement, True)


@scalar
def adam_rule(p, g, s, lr, c):
    """θ ← θ(1 − αλ_d);  g ← g + λθ;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
    θ ← θ − α·κ·m/(√(v + ε_in) + ε_out),  κ = √(1−β2ᵗ)/(1−β1ᵗ): torch's α·m̂/(√v̂ + ε) with ε outside."""
    m, v = s
    p, g = _decay(p, g, lr, c.l2, c.decoupled)
    m, v = _moments(m, v, g, c.one_minus_beta1, c.beta2, c.one_minus_beta2)
    return p - lr * c.scale * m / (math.sqrt(v + c.eps_in) + c.eps_out), (m, v)


@scalar
def amsgrad_rule(p, g, s, lr, c):
    """Adam's rule with v in the denominator replaced by its running maximum: v_max ← max(v_max, v)."""
    m, v, v_max = s
    p, g = _decay(p, g, lr, c.l2, c.decoupled)
    m, v = _moments(m, v, g, c.one_minus_beta1, c.beta2, c.one_minus_beta2)
    v_max = max(v_max, v)
    return p - lr * c.scale * m / (math.sqrt(v_max + c.eps_in) + c.eps_out), (m, v, v_max)


# ---------------------------------------------------------------------------------------------------------------
# What a state variable is: its role decides the trace row it is drawn in, its title, and what diagnostics read

FIRST_MOMENT = "first moment"  # m: an average of g
VELOCITY = "velocity"  # a momentum buffer
MEAN_GRADIENT = "mean gradient"  # centered RMSProp's ḡ
SECOND_MOMENT = "second moment"  # an average of g² (AdaBelief's: of (g − m)²)
RUNNING_MAX = "running maximum"  # AMSGrad's maximum of v, which its step divides by
ACCUMULATOR = "accumulator"  # AdaGrad's sum of g²
INFINITY_NORM = "infinity norm"  # Adamax's u
UPDATE_AVERAGE = "update average"  # Adadelta's average of Δ²
PRODUCT = "product"  # NAdam's running product of μ
AVERAGED_ITERATE = "averaged iterate"  # the point an averaging method is evaluated at: ASGD's ax, schedule-free's x
ITERATE = "iterate"  # another sequence of points besides θ: schedule-free's z (the race can draw both)
STEP_SIZE = "step size"  # a step size of each coordinate's own: Rprop's Δ, ASGD's η, schedule-free's largest α so far
PREVIOUS_GRADIENT = "previous gradient"  # Rprop's and Adan's g of the step before
GRADIENT_DIFFERENCE = "gradient difference"  # Adan's average of g_t − g_{t−1}
WEIGHT_SUM = "weight sum"  # schedule-free's sum of the averaging weights
ROLES = (FIRST_MOMENT, VELOCITY, MEAN_GRADIENT, SECOND_MOMENT, RUNNING_MAX, ACCUMULATOR, INFINITY_NORM,
         UPDATE_AVERAGE, PRODUCT, AVERAGED_ITERATE, ITERATE, STEP_SIZE, PREVIOUS_GRADIENT, GRADIENT_DIFFERENCE,
         WEIGHT_SUM)
DENOMINATORS = (RUNNING_MAX, SECOND_MOMENT)  # what an Adam-family step divides by, the first found first

# the role of each state name the built-in rules use (a spec's `roles` says otherwise where a name means another
# thing: Adamax's u is an infinity norm, Adadelta's an update average)
STATE_ROLES = {"m": FIRST_MOMENT, "v": SECOND_MOMENT, "v_max": RUNNING_MAX, "buf": VELOCITY, "g_avg": MEAN_GRADIENT,
               "sum": ACCUMULATOR, "s": SECOND_MOMENT, "mu_product": PRODUCT, "ax": AVERAGED_ITERATE,
               "x_avg": AVERAGED_ITERATE, "z": ITERATE, "eta": STEP_SIZE, "step_size": STEP_SIZE, "lr_max": STEP_SIZE,
               "prev": PREVIOUS_GRADIENT, "diff": GRADIENT_DIFFERENCE, "weight_sum": WEIGHT_SUM}


# ---------------------------------------------------------------------------------------------------------------
# Diagnostics: quantities worked out from the recorded state (a race's traces, the MNIST statistics), once, here.
# The effective step is the Adam family's step per coordinate, by the same arithmetic as the rules above. Each is a
# formula on numbers, as the rules are: NumPy applies it to whole recordings (jit.uncompiled), and optviz.jsgen
# translates it for the race viewer, which works the diagnostics out again while the reader drags.

MomentStep = constants("MomentStep", "bc1 bc2 scale eps_in eps_out")


@per_step
def moment_prepare(t, beta1, beta2, eps, bias_correction=True, eps_placement=OUTSIDE):
    """The diagnostics' constants at step t: bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ (both 1 with bias_correction off),
    κ = √bc2/bc1 and _eps_split's (ε_in, ε_out), as _adam_prepare works them out. The switch (0 or 1) multiplies βᵗ
    instead of choosing a branch, so that one call takes a batch of runs whose switches differ; eps_placement is the
    index of its choice (PLACEMENTS)."""
    bc1 = 1 - beta1 ** t * bias_correction
    bc2 = 1 - beta2 ** t * bias_correction
    eps_in, eps_out = _eps_split(eps, eps_placement, bc2)
    return MomentStep(bc1, bc2, math.sqrt(bc2) / bc1, eps_in, eps_out)


@scalar
def bias_corrected(m, v, c):
    """(m̂, v̂) = (m/(1 − β1ᵗ), v/(1 − β2ᵗ)) of one coordinate."""
    return m / c.bc1, v / c.bc2


@scalar
def effective_step_of(m, v, lr, c):
    """α·κ·m/(√(v + ε_in) + ε_out) of one coordinate: adam_rule's step, weight decay aside."""
    return lr * c.scale * m / (math.sqrt(v + c.eps_in) + c.eps_out)


def moment_constants(hparams: dict[str, Any], t) -> MomentStep:
    """moment_prepare of these hyperparameters (read by name; arrays broadcast) at step t (an int or an array)."""
    placement = PLACEMENTS.index(hparams.get("eps_placement", "outside"))
    return uncompiled(moment_prepare)(t, hparams["beta1"], hparams["beta2"], hparams.get("eps", 0.0),
                                      np.asarray(hparams.get("bias_correction", True)), placement)


def bias_corrections(hparams: dict[str, Any], t):
    """(bc1, bc2) = (1 − β1ᵗ, 1 − β2ᵗ) at step t (an int or an array), or (1, 1) where bias_correction is off."""
    c = moment_constants(hparams, t)
    return c.bc1, c.bc2


def _per_coordinate(c: MomentStep, dtype) -> MomentStep:
    """The constants rounded to the moments' precision, as the rules round them, with an axis for the coordinates."""
    return MomentStep(*(np.asarray(x, dtype=dtype)[..., None] for x in c))


def effective_step(m: np.ndarray, v: np.ndarray, t, lr, hparams: dict[str, Any]) -> np.ndarray:
    """The step an Adam-family optimizer takes along each coordinate at step t, weight decay aside:

        outside (torch's):  α·m̂/(√v̂ + ε)
        inside:             α·m̂/√(v̂ + ε)
        keras (Keras's):    α·√(1−β2ᵗ)/(1−β1ᵗ) · m/(√v + ε̂)

    with m̂ = m/(1−β1ᵗ), v̂ = v/(1−β2ᵗ) (m̂ = m, v̂ = v when bias_correction is off) and v the denominator's state
    (DENOMINATORS: v_max for AMSGrad, s for AdaBelief). It is worked out as adam_rule works it out
    (effective_step_of), α·κ·m/(√(v + ε_in) + ε_out) with κ = √(1−β2ᵗ)/(1−β1ᵗ) and _eps_split's (ε_in, ε_out), so
    that for Adam, AMSGrad and AdamW it is the update taken. For NAdam, RAdam and QHAdam, whose rules differ, it is
    Adam's step from their moments: a yardstick to compare them by.

    m, v: (..., n), the coordinates along the last axis, float32 or float64 (the step comes in their precision);
    t, lr and any array hyperparameter broadcast against m.shape[:-1] (a race's (steps, runs)). hparams: the
    optimizer's, read by name: beta1, beta2, eps and, where the optimizer has them, bias_correction and
    eps_placement.
    """
    dtype = np.result_type(m, v, np.float32)
    c = _per_coordinate(moment_constants(hparams, t), dtype)
    return uncompiled(effective_step_of, elementwise=True)(m, v, np.asarray(lr, dtype=dtype)[..., None], c)


EFFECTIVE_STEP_FORMULAS = {"outside": "α·m̂ / (√v̂ + ε)", "inside": "α·m̂ / √(v̂ + ε)",
                           "keras": "α·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε̂)"}


def effective_step_formula(hparams: dict[str, Any]) -> str:
    """The effective step's formula as these hyperparameters place ε (effective_step)."""
    return EFFECTIVE_STEP_FORMULAS[hparams.get("eps_placement", "outside")]


def moment_diagnostics(spec: OptimizerSpec, trace: dict[str, np.ndarray], lr: np.ndarray,
                       hparams: dict[str, Any]) -> dict[str, np.ndarray]:
    """The Adam family's diagnostics from a recorded trace (state arrays (steps, ..., n)) and its learning rates lr
    (steps, ...): bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ, m̂ = m/bc1, v̂ = v/bc2 (v the denominator's state: v_max for
    AMSGrad, s for AdaBelief; bias_corrected) and the effective step per coordinate (effective_step_of). Without
    bias correction bc1 = bc2 = 1. Empty when the trace lacks the moments."""
    names = spec.moments(trace)
    if names is None:
        return {}
    first, second = (trace[name] for name in names)
    t = np.arange(1, len(lr) + 1, dtype=float).reshape((-1,) + (1,) * (lr.ndim - 1))
    c = moment_constants(hparams, t)
    bc1, bc2 = (np.broadcast_to(bc, lr.shape) for bc in (c.bc1, c.bc2))
    dtype = np.result_type(first, second, np.float32)
    coordinates = _per_coordinate(c, dtype)
    m_hat, v_hat = uncompiled(bias_corrected, elementwise=True)(first, second, coordinates)
    step = uncompiled(effective_step_of, elementwise=True)(first, second, np.asarray(lr, dtype)[..., None],
                                                           coordinates)
    return {"m_hat": m_hat, "v_hat": v_hat, "bc1": bc1, "bc2": bc2, "effective_step": step}


NadamStep = constants("NadamStep", "one_minus_beta1 beta2 one_minus_beta2 bc2 eps g_weight m_weight l2 decoupled")


@per_step
def _nadam_prepare(t, q, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay):
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    product = q * mu
    l2, decay = _decay_kind(weight_decay, decoupled_weight_decay != 0)
    g_weight = (1 - mu) / (1 - product)
    m_weight = mu_next / (1 - product * mu_next)
    return NadamStep(1 - beta1, beta2, 1 - beta2, 1 - beta2 ** t, eps, g_weight, m_weight, l2, decay), product


@scalar
def nadam_rule(p, g, s, lr, c):
    """θ ← θ(1 − αλ_d);  g ← g + λθ;  m, v as Adam;  μ_t = β1(1 − ½·0.96^{tψ});
    θ ← θ − α·[(1−μ_t)/(1−Πμ_{≤t}) · g + μ_{t+1}/(1−Πμ_{≤t+1}) · m] / (√(v/(1−β2ᵗ)) + ε)."""
    m, v = s
    p, g = _decay(p, g, lr, c.l2, c.decoupled)
    m, v = _moments(m, v, g, c.one_minus_beta1, c.beta2, c.one_minus_beta2)
    denom = math.sqrt(v / c.bc2) + c.eps
    p = p - lr * c.g_weight * (g / denom)
    return p - lr * c.m_weight * (m / denom), (m, v)


RadamStep = constants("RadamStep", "one_minus_beta1 beta2 one_minus_beta2 bc1 bc2_sqrt rect tractable eps l2 decoupled")


@per_step
def _radam_prepare(t, q, beta1, beta2, eps, weight_decay, decoupled_weight_decay):
    beta2_t = beta2 ** t
    bc2 = 1 - beta2_t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2_t / bc2
    # the variance is tractable once ρ_t > 5; before that (and always when β2 ≤ 2/3) RAdam is momentum SGD
    tractable = rho_t > 5
    rect = 1.0
    if tractable:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    l2, decay = _decay_kind(weight_decay, decoupled_weight_decay != 0)
    return RadamStep(1 - beta1, beta2, 1 - beta2, 1 - beta1 ** t, math.sqrt(bc2), rect, tractable, eps, l2,
                     decay), q


@scalar
def radam_rule(p, g, s, lr, c):
    """θ ← θ(1 − αλ_d);  g ← g + λθ;  m, v as Adam;  ρ_t = ρ∞ − 2tβ2ᵗ/(1−β2ᵗ);
    θ ← θ − α·m̂ · r_t·√(1−β2ᵗ)/(√v + ε) where ρ_t > 5, else θ ← θ − α·m̂."""
    m, v = s
    p, g = _decay(p, g, lr, c.l2, c.decoupled)
    m, v = _moments(m, v, g, c.one_minus_beta1, c.beta2, c.one_minus_beta2)
    step = m / c.bc1 * lr
    if c.tractable:
        step = step * (c.bc2_sqrt / (math.sqrt(v) + c.eps)) * c.rect
    return p - step, (m, v)


AdamaxStep = constants("AdamaxStep", "one_minus_beta1 beta2 eps weight_decay bc1")


@per_step
def _adamax_prepare(t, q, beta1, beta2, eps, weight_decay):
    return AdamaxStep(1 - beta1, beta2, eps, weight_decay, 1 - beta1 ** t), q


@scalar
def adamax_rule(p, g, s, lr, c):
    """g ← g + λθ;  m ← β1·m + (1−β1)·g;  u ← max(β2·u, |g| + ε);  θ ← θ − α/(1−β1ᵗ) · m/u."""
    m, u = s
    g = g + c.weight_decay * p
    m = m + c.one_minus_beta1 * (g - m)
    u = max(c.beta2 * u, abs(g) + c.eps)
    return p - lr / c.bc1 * (m / u), (m, u)


AdabeliefStep = constants("AdabeliefStep", "one_minus_beta1 beta2 one_minus_beta2 eps weight_decay bc1 bc2")


@per_step
def _adabelief_prepare(t, q, beta1, beta2, eps, weight_decay):
    return AdabeliefStep(1 - beta1, beta2, 1 - beta2, eps, weight_decay, 1 - beta1 ** t, 1 - beta2 ** t), q


@scalar
def adabelief_rule(p, g, s, lr, c):
    """θ ← θ(1 − αλ);  m ← β1·m + (1−β1)·g;  s ← β2·s + (1−β2)(g − m)² + ε;  θ ← θ − α·m̂/(√ŝ + ε)."""
    m, belief = s
    p = p * one_minus(lr * c.weight_decay)
    m = m + c.one_minus_beta1 * (g - m)
    surprise = g - m
    belief = c.beta2 * belief + c.one_minus_beta2 * surprise * surprise + c.eps
    return p - lr / c.bc1 * (m / (math.sqrt(belief / c.bc2) + c.eps)), (m, belief)


LionStep = constants("LionStep", "beta1 one_minus_beta1 one_minus_beta2 weight_decay")


@per_step
def _lion_prepare(t, q, beta1, beta2, weight_decay):
    return LionStep(beta1, 1 - beta1, 1 - beta2, weight_decay), q


@scalar
def lion_rule(p, g, s, lr, c):
    """θ ← θ(1 − αλ);  θ ← θ − α·sign(β1·m + (1−β1)·g);  m ← β2·m + (1−β2)·g."""
    (m,) = s
    p = p * one_minus(lr * c.weight_decay)
    p = p - lr * np.sign(c.beta1 * m + c.one_minus_beta1 * g)
    return p, (m + c.one_minus_beta2 * (g - m),)


QhmStep = constants("QhmStep", "one_minus_momentum nu one_minus_nu weight_decay")


@per_step
def _qhm_prepare(t, q, momentum, nu, weight_decay):
    return QhmStep(1 - momentum, nu, 1 - nu, weight_decay), q


@scalar
def qhm_rule(p, g, s, lr, c):
    """g ← g + λθ;  b ← β·b + (1−β)·g;  θ ← θ − α·[(1−ν)·g + ν·b]."""
    (b,) = s
    g = g + c.weight_decay * p
    b = b + c.one_minus_momentum * (g - b)
    return p - lr * (g * c.one_minus_nu + b * c.nu), (b,)


QhadamStep = constants("QhadamStep", "one_minus_beta1 beta2 one_minus_beta2 one_minus_nu1 one_minus_nu2 eps "
                                     "weight_decay m_weight v_weight")


@per_step
def _qhadam_prepare(t, q, beta1, beta2, nu1, nu2, eps, weight_decay):
    return QhadamStep(1 - beta1, beta2, 1 - beta2, 1 - nu1, 1 - nu2, eps, weight_decay, nu1 / (1 - beta1 ** t),
                      nu2 / (1 - beta2 ** t)), q


@scalar
def qhadam_rule(p, g, s, lr, c):
    """g ← g + λθ;  m, v as Adam;  θ ← θ − α·[(1−ν1)·g + ν1·m̂] / (√[(1−ν2)·g² + ν2·v̂] + ε)."""
    m, v = s
    g = g + c.weight_decay * p
    m, v = _moments(m, v, g, c.one_minus_beta1, c.beta2, c.one_minus_beta2)
    num = m * c.m_weight + g * c.one_minus_nu1
    den = math.sqrt(g * g * c.one_minus_nu2 + v * c.v_weight) + c.eps
    return p - lr * (num / den), (m, v)


@scalar
def _power(x, k):
    """xᵏ, by a product where k = 2 and by square roots where k = ¾ (the defaults of schedule-free's P and ASGD's κ):
    they vectorize where a power does not, within an ulp or two of it."""
    return x * x if k == 2 else (math.sqrt(x * math.sqrt(x)) if k == 0.75 else x ** k)


AsgdStep = constants("AsgdStep", "lambd alpha weight_decay t first mu averaging")


@per_step
def _asgd_prepare(t, q, lambd, alpha, t0, weight_decay):
    # torch works μ out at the end of a step for the next one: 1 before the first step, then 1/max(1, (t−1) − t0)
    mu = 1.0 if t == 1 else 1 / max(1.0, t - 1 - t0)
    return AsgdStep(lambd, alpha, weight_decay, t, t == 1, mu, mu != 1), q


@scalar
def asgd_rule(p, g, s, lr, c):
    """g ← g + λ_wd·θ;  θ ← θ(1 − λη) − η·g;  θ̄ ← θ while μ = 1, else θ̄ ← θ̄ + μ(θ − θ̄);
    then, for the next step, η ← α/(1 + λαt)^κ (η = α at t = 1) and μ ← 1/max(1, t − t0) (torch's ASGD)."""
    ax, eta = s
    eta = lr if c.first else eta
    g = g + c.weight_decay * p
    p = p * one_minus(c.lambd * eta) - eta * g
    ax = ax + (p - ax) * c.mu if c.averaging else p
    # η in float64 whatever θ's precision, as torch works it out in Python
    return p, (ax, lr / _power(1.0 + c.lambd * lr * c.t, c.alpha))


RpropStep = constants("RpropStep", "eta_minus eta_plus step_size_min step_size_max first")


@per_step
def _rprop_prepare(t, q, eta_minus, eta_plus, step_size_min, step_size_max):
    return RpropStep(eta_minus, eta_plus, step_size_min, step_size_max, t == 1), q


@scalar
def rprop_rule(p, g, s, lr, c):
    """σ = sign(g·g_prev);  Δ ← clamp(Δ·η₊ where σ > 0, Δ·η₋ where σ < 0, Δ where σ = 0;  Δ_min, Δ_max), Δ = α at
    t = 1;  g ← 0 where σ < 0;  θ ← θ − sign(g)·Δ;  g_prev ← g."""
    prev, step_size = s
    step_size = lr if c.first else step_size
    agree = np.sign(g * prev)
    # 1 or 0 each, so that the factor is exactly η₊, η₋ or 1 (no branch: the rule also runs on whole arrays)
    kept, flipped = max(agree, 0.0), max(-agree, 0.0)
    factor = kept * c.eta_plus + flipped * c.eta_minus + one_minus(kept + flipped)
    step_size = min(max(step_size * factor, c.step_size_min), c.step_size_max)
    g = g * one_minus(flipped)
    return p - np.sign(g) * step_size, (g, step_size)


AdanStep = constants("AdanStep", "one_minus_beta1 beta2 one_minus_beta2 beta3 one_minus_beta3 bc1 bc2 bc3_sqrt eps "
                                 "proximal decoupled first first_prev")


@per_step
def _adan_prepare(t, q, beta1, beta2, beta3, eps, weight_decay, weight_decouple, maximize):
    proximal, decay = _decay_kind(weight_decay, weight_decouple != 0)
    # the reference keeps −g₁ as the previous gradient before maximize turns g₁ round: in ascent g_prev = −g₁ at t = 1
    first_prev = -1.0 if maximize else 1.0
    return AdanStep(1 - beta1, beta2, 1 - beta2, beta3, 1 - beta3, 1 - beta1 ** t, 1 - beta2 ** t,
                    math.sqrt(1 - beta3 ** t), eps, proximal, decay, t == 1, first_prev), q


@scalar
def adan_rule(p, g, s, lr, c):
    """Δg = g − g_prev (g_prev = g at t = 1, −g in ascent, as the reference has it);  m ← β1·m + (1−β1)·g;
    d ← β2·d + (1−β2)·Δg;  v ← β3·v + (1−β3)(g + β2·Δg)²;  θ ← θ(1 − αλ_d);
    θ ← θ − α·(m/(1−β1ᵗ) + β2·d/(1−β2ᵗ))/(√v/√(1−β3ᵗ) + ε);  θ ← θ/(1 + αλ)
    (pytorch-optimizer's Adan: λ_d with weight_decouple, else the proximal λ)."""
    m, diff, v, prev = s
    prev = g * c.first_prev if c.first else prev
    change = g - prev
    m = m + c.one_minus_beta1 * (g - m)
    diff = diff + c.one_minus_beta2 * (change - diff)
    ahead = change * c.beta2 + g
    v = v * c.beta3 + c.one_minus_beta3 * ahead * ahead
    denom = math.sqrt(v) / c.bc3_sqrt + c.eps
    p = p * one_minus(lr * c.decoupled)
    p = p - lr / c.bc1 * (m / denom)
    p = p - lr * c.beta2 / c.bc2 * (diff / denom)
    return p / one_minus(-lr * c.proximal), (m, diff, v, g)


ScheduleFreeStep = constants("ScheduleFreeStep", "warmup step_weight weight_lr_power momentum x_weight "
                                                 "weight_decay beta2 one_minus_beta2 bc2 eps first")


@per_step
def _schedule_free_prepare(t, q, momentum, weight_decay, warmup_steps, r, weight_lr_power, beta2=0.0, eps=0.0):
    warmup = t / warmup_steps if t - 1 < warmup_steps else 1.0
    return ScheduleFreeStep(warmup, t ** r, weight_lr_power, momentum, 1 - 1 / momentum,
                            weight_decay, beta2, 1 - beta2, 1 - beta2 ** t, eps, t == 1), q


@per_step
def _schedule_free_adamw_prepare(t, q, beta1, beta2, eps, weight_decay, warmup_steps, r, weight_lr_power):
    return _schedule_free_prepare(t, q, beta1, weight_decay, warmup_steps, r, weight_lr_power, beta2, eps)


@scalar
def _lerp(a, b, weight):
    """a + w(b − a)."""
    return a + weight * (b - a)


@scalar
def _schedule_free_move(y, g, z, lr, lr_max, weight_sum, c):
    """Schedule-free's step from y along g:  α_t = α·min(1, t/W);  α_max ← max(α_max, α_t);  w = tʳ·α_maxᴾ;
    S ← S + w;  c = w/S;  y ← y + c(z − y) + α_t(β(1 − c) − 1)·g;  z ← z − α_t·g;  x = y + (1 − 1/β)(z − y)."""
    lr = lr * c.warmup
    lr_max = max(lr, lr_max)
    # a power per number would be most of the step's cost: _power takes P = 2 (the default) as a product
    weight = c.step_weight * _power(lr_max, c.weight_lr_power)
    weight_sum = weight_sum + weight
    ckp1 = weight / weight_sum
    y = _lerp(y, z, ckp1)
    y = y - lr * one_minus(c.momentum * one_minus(ckp1)) * g
    z = z - lr * g
    return y, (z, _lerp(y, z, c.x_weight), lr_max, weight_sum)


@scalar
def schedule_free_sgd_rule(p, g, s, lr, c):
    """θ is y, where the gradient is taken;  z = θ₀ at t = 1;  g ← g + λ·y;  then _schedule_free_move: y, z and the
    evaluated point x (the schedulefree package's SGDScheduleFree)."""
    z, _, lr_max, weight_sum = s
    z = p if c.first else z
    return _schedule_free_move(p, g + c.weight_decay * p, z, lr, lr_max, weight_sum, c)


@scalar
def schedule_free_adamw_rule(p, g, s, lr, c):
    """θ is y;  z = θ₀ at t = 1;  v ← β2·v + (1−β2)·g²;  g ← g/(√(v/(1−β2ᵗ)) + ε) + λ·y;  then _schedule_free_move
    (the schedulefree package's AdamWScheduleFree)."""
    z, _, v, lr_max, weight_sum = s
    z = p if c.first else z
    v = v * c.beta2 + c.one_minus_beta2 * g * g
    g = g / (math.sqrt(v / c.bc2) + c.eps) + c.weight_decay * p
    p, moved = _schedule_free_move(p, g, z, lr, lr_max, weight_sum, c)
    z, x, lr_max, weight_sum = moved
    return p, (z, x, v, lr_max, weight_sum)


# ---------------------------------------------------------------------------------------------------------------
# The compiled loop behind step_: one rule over flat arrays

def _step_loop(rule, prepare):
    """A compiled in-place step of `rule` over params (rows, size), rows being configurations (1 when unbatched).

    hyper (1 or rows, n): hyperparameter rows; lr (1 or rows,): this step's learning rates; shared (1 or rows,): the
    per-configuration scalar state; sign: −1 for gradient ascent. The step's constants come once per configuration,
    worked out in float64 and then rounded to the parameters' precision (torch turns its Python floats into the
    tensor's dtype alike), so that float32 parameters are stepped in float32.
    """
    def step(params, grads, state, shared, hyper, lr, sign, t):
        rows, size = params.shape
        per_row = hyper.shape[0] > 1
        c, q = prepare(hyper[0], t, shared[0])
        if not per_row:
            shared[0] = q
        for r in range(rows):
            if per_row:
                c, shared[r] = prepare(hyper[r], t, shared[r])
            constants = in_precision_of(c, params)
            alpha, direction = in_precision_of((lr[r] if lr.size > 1 else lr[0], sign), params)
            for i in range(size):
                params[r, i], s = rule(params[r, i], direction * grads[r, i], load(state, (r, i)), alpha, constants)
                store(state, (r, i), s)
    return kernel(step)


AT_ONCE = 8  # numbers from which uncompiled steps apply the rule to whole arrays (below, element by element is quicker)


def _rows_at_once(rule, prepare):
    """What _step_loop's kernel does to rows that share one hyperparameter row (a learning-rate sweep), uncompiled
    and at once: the rule's Python source applied to whole arrays, element by element the kernel's arithmetic (the
    same numbers, bit for bit). Stepper runs it while the kernel compiles: a loop over the elements in Python would
    take as long again for every row."""
    rule, prepare = uncompiled(rule, elementwise=True), uncompiled(prepare)
    cast, write = uncompiled(in_precision_of), uncompiled(store)

    def step(params, grads, state, shared, hyper, lr, sign, t):
        c, shared[0] = prepare(hyper[0], t, shared[0])
        constants, (direction,) = cast(c, params), cast((sign,), params)
        alpha = lr.astype(params.dtype)[:, None] if lr.size > 1 else cast((lr[0],), params)[0]
        params[...], s = rule(params, direction * grads, state, alpha, constants)
        write(state, ..., s)
    return step


# ---------------------------------------------------------------------------------------------------------------
# Specs

# What a rule needs, which the engines dispatch on: element-wise rules (every built-in one) are stepped number by
# number in the compiled loops; the others (whole vectors or matrices, the Hessian, several gradients per step)
# need engines of their own.
ELEMENTWISE, WHOLE_VECTOR, NEEDS_HESSIAN, EXTRA_GRADIENTS = "element-wise", "whole vector", "Hessian", "extra gradients"
KINDS = (ELEMENTWISE, WHOLE_VECTOR, NEEDS_HESSIAN, EXTRA_GRADIENTS)


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything the engine and the UI need to know about one optimizer."""

    name: str
    title: str
    params: tuple[Param, ...]
    state: tuple[str, ...]
    latex: str
    rule: Callable
    prepare: Callable = _no_prepare
    family: str = "sgd"  # "sgd", "adaptive" or "adam": which traces the UI shows
    state_fill: dict[str, str] = field(default_factory=dict)  # state name -> hyperparameter to fill it with
    shared: str | None = None  # a per-configuration scalar state (NAdam's μ-product), starting at 1
    # (switch, value, rule, state): the rule and state used instead when hyperparameter `switch` equals `value`
    variant: tuple | None = None
    # (hyperparameter, value, old, new): LaTeX edits that make `latex` show the rule a setting selects
    latex_edits: tuple[tuple[str, Any, str, str], ...] = ()
    roles: dict[str, str] = field(default_factory=dict)  # state name -> role, where STATE_ROLES does not say it
    color: str = "#636efa"  # its colour in every chart, unless two racers share it
    kind: str = ELEMENTWISE  # what its rule needs: the engines dispatch on it
    # (spec, trace, lr, hparams) -> {name: array}: quantities worked out from its recorded state
    diagnostics: Callable | None = None
    stability: Stability | None = None  # where its steps are stable on a quadratic, where known in closed form

    def __post_init__(self):  # the prepare as the loops call it: with the row of every hyperparameter
        object.__setattr__(self, "prepare", by_name(self.prepare, [p.name for p in self.params]))
        states = self.state + (self.variant[3] if self.variant else ())
        unknown = [name for name in states if self.role_of(name) not in ROLES]
        if unknown:
            raise ValueError(f"{self.name}: state {', '.join(unknown)} has no role (one of {', '.join(ROLES)})")
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")

    def role_of(self, name: str) -> str | None:
        return self.roles.get(name, STATE_ROLES.get(name))

    def with_role(self, roles: Sequence[str], names: Iterable[str]) -> str | None:
        """The first of `names` (recorded traces, a state's fields) whose role is roles[0], else roles[1], …"""
        names = list(names)
        return next((name for role in roles for name in names if self.role_of(name) == role), None)

    def moments(self, names: Iterable[str]) -> tuple[str, str] | None:
        """(first moment, denominator) among `names` for an optimizer with the moment diagnostics, else None."""
        names = list(names)
        first, second = self.with_role((FIRST_MOMENT,), names), self.with_role(DENOMINATORS, names)
        return (first, second) if self.diagnostics is not None and first and second else None

    def diagnose(self, trace: dict[str, np.ndarray], lr: np.ndarray, hparams: dict[str, Any]) -> dict:
        return {} if self.diagnostics is None else self.diagnostics(self, trace, lr, hparams)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def settable(self, hparams: dict[str, Any] | None = None) -> tuple[Param, ...]:
        """Every hyperparameter a user sets for this optimizer, given the values chosen so far (a wrapper's depend
        on the optimizer it wraps): its params."""
        return self.params

    def layout(self, hparams: dict[str, Any]) -> tuple[Callable, tuple[str, ...]]:
        """The rule and the state names for these hyperparameters (AdamW with amsgrad=True keeps v_max too)."""
        if self.variant and hparams.get(self.variant[0]) == self.variant[1]:
            return self.variant[2], self.variant[3]
        return self.rule, self.state

    def rule_latex(self, hparams: dict[str, Any] | None = None) -> str:
        """The update rule in LaTeX, as these hyperparameters select it (ε's placement, AMSGrad, maximize)."""
        latex = self.latex
        for name, value, old, new in self.latex_edits:
            if (hparams or self.defaults).get(name) == value:
                latex = latex.replace(old, new)
        return latex

    def hyper_rows(self, hparams: dict[str, Any]) -> np.ndarray:
        """Hyperparameters as rows of numbers in spec order (switches 0/1, choices their index): one row, or one
        per configuration when any hyperparameter other than lr is an array (lr is passed on its own)."""
        columns = [_number(p, hparams[p.name]) for p in self.params]
        rows = max((np.size(v) for p, v in zip(self.params, columns) if p.name != "lr"), default=1)
        out = np.empty((rows, len(columns)))
        for k, (p, value) in enumerate(zip(self.params, columns)):
            out[:, k] = value if p.name != "lr" or np.ndim(value) == 0 else value[0]
        return out


def _number(param: Param, value):
    if param.kind == "choice":
        return float(param.choices.index(value))
    return float(value) if isinstance(value, bool) else value


_STEP_LOOPS: dict[tuple, Callable] = {}


def _compiled_step(rule, prepare):
    key = (rule, prepare)
    if key not in _STEP_LOOPS:
        _STEP_LOOPS[key] = _step_loop(rule, prepare)
    return _STEP_LOOPS[key]


class BoundOptimizer:
    """What every optimizer bound to its hyperparameters shows, whatever its kind: its name, and a repr that reads
    as the call that builds it."""

    spec: OptimizerSpec
    hparams: dict[str, Any]

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams.items())
        return f"optimizer({self.spec.name!r}, {args})"


class Optimizer(BoundOptimizer):
    """An optimizer bound to its hyperparameters (and optionally a learning-rate schedule)."""

    def __init__(self, spec: OptimizerSpec, hparams: dict[str, Any], schedule: Schedule | None = None):
        if spec.kind != ELEMENTWISE:  # the one kind these loops step; the others need engines of their own
            raise ValueError(f"{spec.title} is raced one run at a time (its rule needs {spec.kind}): the compiled "
                             "loops of sweeps, basins and the MNIST trainers step rules applied number by number")
        self.spec = spec
        self.hparams = hparams
        self.schedule = schedule or constant()
        self.rule, state = spec.layout(hparams)
        self.State = _state_type(spec.name, state)
        self.arrays = tuple(name for name in state if name != spec.shared)  # the state shaped like the params
        sizes = {v.shape[0] for v in hparams.values() if isinstance(v, np.ndarray)}
        if len(sizes) > 1:
            raise ValueError(f"{spec.name}: hyperparameter arrays must all have the same length, got {sorted(sizes)}")
        self.batch = sizes.pop() if sizes else None
        self.hyper = spec.hyper_rows(hparams)
        self.cycled_column = self._cycled_column()
        self.sign = -1.0 if hparams.get("maximize") else 1.0
        self._step = _compiled_step(self.rule, spec.prepare)

    def init(self, params: np.ndarray):
        """Zeroed state shaped like `params` (AdaGrad's accumulator starts at its initial value)."""
        params = np.asarray(params)
        if self.batch is not None and (params.ndim == 0 or params.shape[0] != self.batch):
            raise ValueError(f"{self.spec.name}: hyperparameter arrays have length {self.batch}, but params have "
                             f"shape {params.shape}; the leading axis must match")
        arrays = {}
        for name in self.State._fields[1:]:
            if name == self.spec.shared:
                arrays[name] = np.ones(() if len(self.hyper) == 1 else len(self.hyper))
                continue
            arrays[name] = np.zeros_like(params, dtype=_float_dtype(params))
            fill = self.spec.state_fill.get(name)
            if fill:
                value = self.hparams[fill]
                arrays[name] += value.reshape((-1,) + (1,) * (params.ndim - 1)) if np.ndim(value) else value
        return self.State(step=np.zeros((), dtype=np.int64), **arrays)

    def _cycled_column(self) -> int:
        """The column of the hyperparameter the schedule cycles (the first with the momentum role: SGD's μ, Adam's
        β₁, where torch's cyclic schedules take 'momentum' or betas[0]); −1 when nothing is cycled."""
        if self.schedule.momentum(0) is None:
            return -1
        return next((k for k, p in enumerate(self.spec.params) if p.role == MOMENTUM_ROLE), -1)

    def cycled_momentum(self, steps: int) -> np.ndarray:
        """The cycled hyperparameter's value at each of `steps` optimizer steps ((0,) when nothing is cycled)."""
        return self.schedule.momentum(np.arange(steps)) if self.cycled_column >= 0 else np.zeros(0)

    def hyper_at(self, step: int) -> np.ndarray:
        """The hyperparameter rows of optimizer step `step` (1-based): the schedule's momentum where it cycles one."""
        if self.cycled_column < 0:
            return self.hyper
        hyper = self.hyper.copy()
        hyper[:, self.cycled_column] = self.schedule.momentum(step - 1)
        return hyper

    def lr_at(self, step):
        """The learning rate used at optimizer step `step` (1-based; an int or an array of steps)."""
        a, b = self.schedule.coefficients(np.asarray(step) - 1)
        return a * self.hparams["lr"] + b

    def step(self, params: np.ndarray, grads: np.ndarray, state):
        """One update; returns new (params, state) and leaves the inputs untouched."""
        params = np.array(params, dtype=_float_dtype(params), copy=True)
        state = self.State(*(np.array(a, copy=True) for a in state))
        return self.step_(params, np.asarray(grads), state)

    def step_(self, params: np.ndarray, grads: np.ndarray, state):
        """One update in place: `params` and the state's arrays are overwritten and returned."""
        t = state.step.item() + 1
        state.step[()] = t
        rows = self.batch or 1
        arrays = [params] + [getattr(state, name) for name in self.arrays]
        flat = [_as_rows(a, rows) for a in arrays]
        grads = np.asarray(grads, dtype=params.dtype)
        if grads.shape != params.shape:
            grads = np.broadcast_to(grads, params.shape).copy()
        grads = np.ascontiguousarray(grads).reshape(rows, -1)
        shared = (getattr(state, self.spec.shared).reshape(-1) if self.spec.shared
                  else np.ones(len(self.hyper)))
        lr = np.array(self.lr_at(t), dtype=np.float64).reshape(-1)
        self._step(flat[0], grads, tuple(flat[1:]), shared, self.hyper_at(t), lr, self.sign, float(t))
        for original, worked in zip(arrays, flat):
            if not np.shares_memory(original, worked):  # a non-contiguous caller's array: write the result back
                original[...] = worked.reshape(original.shape)
        return params, state


    def stepper(self, params: np.ndarray, grads: np.ndarray, state, steps: int,
                compile_in_background: bool = False) -> Callable[[int], None]:
        """step(t): what step_(params, grads, state) does at step t, for a loop over `steps` steps with these very
        (contiguous, same-dtype) arrays: views and learning rates are made once, not at every step. The engine's
        races and the MNIST trainer step this way. compile_in_background=True steps at once, by the rule's Python
        source while its loop is not compiled yet (the same numbers, slower), and compiles it in the background."""
        rows = self.batch or 1
        flat = [np.asarray(a).reshape(rows, -1) for a in (params, grads)]
        arrays = tuple(getattr(state, name).reshape(rows, -1) for name in self.arrays)
        if not all(np.shares_memory(a, b) for a, b in zip(flat + list(arrays), [params, grads] + [
                getattr(state, name) for name in self.arrays])):
            raise ValueError("stepper needs contiguous arrays: it steps them in place")
        shared = getattr(state, self.spec.shared).reshape(-1) if self.spec.shared else np.ones(len(self.hyper))
        lrs = np.ascontiguousarray(np.broadcast_to(self.lr_at(np.arange(1, steps + 1)[:, None]),
                                                   (steps, rows if self.batch else 1)), dtype=np.float64)

        loop = self._step
        if compile_in_background:  # many numbers with the same constants (a sweep) are stepped at once meanwhile
            at_once = _rows_at_once(self.rule, self.spec.prepare) if (
                len(self.hyper) == 1 and params.size >= AT_ONCE) else None
            loop = without_waiting(self._step, flat[0], flat[1], arrays, shared, self.hyper, lrs[0], self.sign, 1.0,
                                   meanwhile=at_once)

        def step(t: int) -> None:
            state.step[()] = t
            loop(flat[0], flat[1], arrays, shared, self.hyper_at(t), lrs[t - 1], self.sign, float(t))
        return step


def _as_rows(array: np.ndarray, rows: int) -> np.ndarray:
    """`array` as (rows, size), a view when it is contiguous (a copy otherwise, written back by step_)."""
    return np.ascontiguousarray(array).reshape(rows, -1)


def _float_dtype(params) -> np.dtype:
    dtype = np.asarray(params).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


_STATE_TYPES: dict[tuple, type] = {}


def _state_type(name: str, fields: tuple[str, ...]) -> type:
    key = (name, fields)
    if key not in _STATE_TYPES:
        title = "".join(part.capitalize() for part in name.split("_"))
        _STATE_TYPES[key] = namedtuple(f"{title}State", ("step",) + fields)
    return _STATE_TYPES[key]


# ---------------------------------------------------------------------------------------------------------------
# The catalogue

_DAMPENING = Param("dampening", r"\tau", 0.0, "dampening: the share of the gradient left out of the velocity",
                   low=0.0, high=1.0)
_NU = Param("nu", r"\nu", 0.7, "immediate discount: 0 is plain SGD, 1 is momentum", low=0.0, high=1.0)
_ADAM_STEP = r"\theta_t = \theta_{t-1} - \alpha \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}"
_ADAM_LATEX = (r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2"
               r"\\ \hat m_t = \frac{m_t}{1-\beta_1^t},\quad \hat v_t = v_t \big/ (1-\beta_2^t),\quad" + _ADAM_STEP)
_MAXIMIZE_EDIT = ("maximize", True, r"\theta_t = \theta_{t-1} -", r"\theta_t = \theta_{t-1} +")
_ADAM_EDITS = (
    ("eps_placement", "inside", r"\sqrt{\hat v_t} + \varepsilon", r"\sqrt{\hat v_t + \varepsilon}"),
    ("eps_placement", "keras", _ADAM_STEP,
     r"\theta_t = \theta_{t-1} - \alpha\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}"
     r" \frac{m_t}{\sqrt{v_t} + \hat\varepsilon}"),
    # each correction on its own, so that AMSGrad's max v is found too
    ("bias_correction", False, r"\frac{m_t}{1-\beta_1^t}", "m_t"),
    ("bias_correction", False, r" \big/ (1-\beta_2^t)", ""),
    _MAXIMIZE_EDIT,
)
_AMSGRAD_EDIT = ("amsgrad", True, r"\hat v_t = v_t", r"\hat v_t = \max_{s\le t} v_s")
_AMSGRAD_LATEX = _ADAM_LATEX.replace(*_AMSGRAD_EDIT[2:])
_ADAMW_LATEX = r"\theta_{t-1} \leftarrow (1-\alpha\lambda)\,\theta_{t-1},\quad " + _ADAM_LATEX


_SF_INTERPOLATION = "interpolation: the gradient is taken at y = (1 − β)z + βx"
_SF_MOMENTUM = Param("momentum", r"\beta", 0.9, _SF_INTERPOLATION, low=0.0, high=1.0, low_open=True, high_open=True,
                     role=MOMENTUM_ROLE)
_SF_BETA1 = replace(_SF_MOMENTUM, name="beta1", symbol=r"\beta_1")
_SCHEDULE_FREE_PARAMS = (
    Param("weight_decay", r"\lambda", 0.0, "weight decay, at y: g ← g + λy", low=0.0, role=WEIGHT_DECAY),
    Param("warmup_steps", "W", 0, "the reference's own linear warm-up of α over the first W steps (0: none)", low=0,
          high=1e9, kind="int"),
    Param("r", "r", 0.0, "power of the step count in the averaging weight w_t = t^r·α_max^P", low=0.0),
    Param("weight_lr_power", "P", 2.0, "power of the largest learning rate so far in the averaging weight", low=0.0),
)
_SCHEDULE_FREE_LATEX = (r"g_t = \nabla f(y_t),\quad y_t = (1-\beta) z_t + \beta x_t,\quad z_{t+1} = z_t - \alpha_t"
                        r" g_t,\quad x_{t+1} = (1-c_{t+1}) x_t + c_{t+1} z_{t+1},\quad c_{t+1} = \frac{w_t}"
                        r"{\sum_{i\le t} w_i},\quad w_t = t^r \alpha_{max}^P")


def _adam_params(lr: float, weight_decay: Param) -> tuple[Param, ...]:
    return (_lr(lr), BETA1, BETA2, _eps(1e-8), weight_decay)


def _adam_like(name: str, title: str, latex: str, weight_decay: Param, rule, state, decoupled: bool,
               variant=None, edits=()) -> OptimizerSpec:
    params = _adam_params(1e-3, weight_decay) + (BIAS_CORRECTION, MAXIMIZE, _eps_placement(*PLACEMENTS))
    return OptimizerSpec(name, title, params + ((AMSGRAD,) if variant else ()), state, latex, rule,
                         _adamw_prepare if decoupled else _adam_prepare, family="adam", variant=variant,
                         latex_edits=_ADAM_EDITS + edits, diagnostics=moment_diagnostics, stability=PRECONDITIONED)


SPECS: dict[str, OptimizerSpec] = {spec.name: spec for spec in [
    OptimizerSpec("sgd", "SGD", (_lr(1e-3), _weight_decay(), MAXIMIZE), (),
                  r"\theta_t = \theta_{t-1} - \alpha g_t", sgd_rule, _sgd_prepare, latex_edits=(_MAXIMIZE_EDIT,),
                  stability=GRADIENT_DESCENT),
    OptimizerSpec("momentum", "SGD with momentum", (_lr(1e-3), MOMENTUM, _DAMPENING, _weight_decay(), MAXIMIZE),
                  ("buf",), r"b_t = \mu b_{t-1} + (1-\tau) g_t,\quad \theta_t = \theta_{t-1} - \alpha b_t",
                  momentum_rule, _momentum_prepare, latex_edits=(_MAXIMIZE_EDIT,),
                  stability=HEAVY_BALL),
    OptimizerSpec("nesterov", "Nesterov momentum", (_lr(1e-3), MOMENTUM, _weight_decay(), MAXIMIZE), ("buf",),
                  r"b_t = \mu b_{t-1} + g_t,\quad \theta_t = \theta_{t-1} - \alpha (g_t + \mu b_t)",
                  momentum_rule, _nesterov_prepare, latex_edits=(_MAXIMIZE_EDIT,)),
    OptimizerSpec("adagrad", "AdaGrad",
                  (_lr(1e-2), Param("lr_decay", r"\eta", 0.0, "learning-rate decay: α/(1+(t−1)η)", low=0.0),
                   _weight_decay(), Param("initial_accumulator_value", r"G_0", 0.0,
                                          "starting value of the sum of squared gradients", low=0.0),
                   _eps(1e-10), MAXIMIZE, _eps_placement("outside", "inside")),
                  ("sum",),
                  r"G_t = G_{t-1} + g_t^2,\quad \theta_t = \theta_{t-1} - \frac{\alpha}{1+(t-1)\eta}"
                  r"\frac{g_t}{\sqrt{G_t}+\varepsilon}", adagrad_rule, _adagrad_prepare, family="adaptive",
                  state_fill={"sum": "initial_accumulator_value"},
                  latex_edits=(("eps_placement", "inside", r"\sqrt{G_t}+\varepsilon", r"\sqrt{G_t+\varepsilon}"),
                               _MAXIMIZE_EDIT)),
    OptimizerSpec("rmsprop", "RMSProp",
                  (_lr(1e-2), _beta("alpha", r"\rho", 0.99, "smoothing constant of the mean of g²"),
                   _eps(1e-8), _weight_decay(), _beta("momentum", r"\mu", 0.0, "momentum", MOMENTUM_ROLE),
                   _switch("centered", "divide by the variance estimate v − E[g]²"), MAXIMIZE,
                   _eps_placement("outside", "inside")),
                  ("v", "g_avg", "buf"),
                  r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad b_t = \mu b_{t-1} + \frac{g_t}{\sqrt{v_t}+"
                  r"\varepsilon},\quad \theta_t = \theta_{t-1} - \alpha b_t", rmsprop_rule, _rmsprop_prepare,
                  family="adaptive",
                  latex_edits=(("eps_placement", "inside", r"\sqrt{v_t}+\varepsilon", r"\sqrt{v_t+\varepsilon}"),
                               _MAXIMIZE_EDIT)),
    OptimizerSpec("adadelta", "Adadelta",
                  (_lr(1.0), Param("rho", r"\rho", 0.9, "decay rate of both running averages", low=0.0, high=1.0,
                                  role=DECAY_RATE),
                   _eps(1e-6), _weight_decay(), MAXIMIZE),
                  ("v", "u"),
                  r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad \Delta_t = \frac{\sqrt{u_{t-1}+\varepsilon}}"
                  r"{\sqrt{v_t+\varepsilon}} g_t,\quad u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad"
                  r"\theta_t = \theta_{t-1} - \alpha\Delta_t", adadelta_rule, _adadelta_prepare, family="adaptive",
                  roles={"u": UPDATE_AVERAGE},
                  latex_edits=(_MAXIMIZE_EDIT,)),
    _adam_like("adam", "Adam", _ADAM_LATEX, _weight_decay(), adam_rule, ("m", "v"), decoupled=False),
    _adam_like("amsgrad", "AMSGrad", _AMSGRAD_LATEX, _weight_decay(), amsgrad_rule, ("m", "v", "v_max"),
               decoupled=False),
    _adam_like("adamw", "AdamW", _ADAMW_LATEX, _weight_decay(1e-2, decoupled=True), adam_rule, ("m", "v"),
               decoupled=True, variant=("amsgrad", True, amsgrad_rule, ("m", "v", "v_max")),
               edits=(_AMSGRAD_EDIT,)),
    OptimizerSpec("nadam", "NAdam",
                  _adam_params(2e-3, _weight_decay()) + (
                      Param("momentum_decay", r"\psi", 4e-3, "momentum schedule: μ_t = β₁(1 − ½·0.96^{tψ})",
                            low=0.0), DECOUPLED, MAXIMIZE),
                  ("m", "v", "mu_product"),
                  r"\mu_t = \beta_1(1-\tfrac12 0.96^{t\psi}),\quad \theta_t = \theta_{t-1} - \alpha\left("
                  r"\frac{\mu_{t+1} m_t}{1-\prod_{i\le t+1}\mu_i} + \frac{(1-\mu_t) g_t}{1-\prod_{i\le t}\mu_i}"
                  r"\right)\Big/\left(\sqrt{\hat v_t}+\varepsilon\right)", nadam_rule, _nadam_prepare,
                  family="adam", shared="mu_product", latex_edits=(_MAXIMIZE_EDIT,),
                  diagnostics=moment_diagnostics),
    OptimizerSpec("radam", "RAdam", _adam_params(1e-3, _weight_decay()) + (DECOUPLED, MAXIMIZE), ("m", "v"),
                  r"\rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t},\quad \theta_t = \theta_{t-1} - "
                  r"\alpha \hat m_t \cdot \begin{cases} r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\varepsilon} & "
                  r"\rho_t > 5 \\ 1 & \text{otherwise}\end{cases}", radam_rule, _radam_prepare, family="adam",
                  latex_edits=(_MAXIMIZE_EDIT,), diagnostics=moment_diagnostics),
    OptimizerSpec("adamax", "Adamax", _adam_params(2e-3, _weight_decay()) + (MAXIMIZE,), ("m", "u"),
                  r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \varepsilon),\quad \theta_t = \theta_{t-1} - "
                  r"\frac{\alpha}{1-\beta_1^t}\frac{m_t}{u_t}", adamax_rule, _adamax_prepare, family="adam",
                  latex_edits=(_MAXIMIZE_EDIT,), roles={"u": INFINITY_NORM}),
    OptimizerSpec("adabelief", "AdaBelief", _adam_params(1e-3, _weight_decay(decoupled=True))[:3]
                  + (_eps(1e-16), _weight_decay(decoupled=True)), ("m", "s"),
                  r"s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \varepsilon,\quad \theta_t = "
                  r"\theta_{t-1} - \alpha \frac{\hat m_t}{\sqrt{\hat s_t} + \varepsilon}", adabelief_rule,
                  _adabelief_prepare, family="adam", diagnostics=moment_diagnostics),
    OptimizerSpec("lion", "Lion",
                  (_lr(1e-4), BETA1, _beta("beta2", r"\beta_2", 0.99, "decay rate of the momentum"),
                   _weight_decay(decoupled=True)), ("m",),
                  r"c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad \theta_t = \theta_{t-1} - \alpha\,"
                  r"\mathrm{sign}(c_t),\quad m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t", lion_rule, _lion_prepare),
    OptimizerSpec("qhm", "QHM",
                  (_lr(1e-3), _beta("momentum", r"\beta", 0.999, "decay rate of the momentum buffer", MOMENTUM_ROLE),
                   _NU,
                   _weight_decay()), ("buf",),
                  r"b_t = \beta b_{t-1} + (1-\beta) g_t,\quad \theta_t = \theta_{t-1} - \alpha[(1-\nu) g_t"
                  r" + \nu b_t]", qhm_rule, _qhm_prepare),
    OptimizerSpec("qhadam", "QHAdam",
                  (_lr(1e-3), _beta("beta1", r"\beta_1", 0.995, BETA1.help, MOMENTUM_ROLE), BETA2,
                   Param("nu1", r"\nu_1", 0.7, "immediate discount of the first moment", low=0.0, high=1.0),
                   Param("nu2", r"\nu_2", 1.0, "immediate discount of the second moment", low=0.0, high=1.0),
                   _eps(1e-8), _weight_decay()), ("m", "v"),
                  r"\theta_t = \theta_{t-1} - \alpha\frac{(1-\nu_1) g_t + \nu_1 \hat m_t}"
                  r"{\sqrt{(1-\nu_2) g_t^2 + \nu_2 \hat v_t} + \varepsilon}", qhadam_rule, _qhadam_prepare,
                  family="adam", diagnostics=moment_diagnostics),
    OptimizerSpec("asgd", "ASGD",
                  (_lr(1e-2), Param("lambd", r"\lambda_\eta", 1e-4, "decay term: shrinks θ by 1 − λη and the step "
                                    "size, η = α/(1 + λαt)^κ", low=0.0),
                   Param("alpha", r"\kappa", 0.75, "power of the step size's decay η = α/(1 + λαt)^κ", low=0.0),
                   Param("t0", "t_0", 1e6, "step at which averaging starts (before it, the average is the last θ)",
                         low=0.0),
                   _weight_decay(), MAXIMIZE),
                  ("ax", "eta"),
                  r"\eta_t = \frac{\alpha}{(1+\lambda_\eta\alpha (t-1))^{\kappa}},\quad \theta_t = \theta_{t-1}"
                  r"(1-\lambda_\eta\eta_t) - \eta_t g_t,\quad \bar\theta_t = \bar\theta_{t-1} + \mu_t(\theta_t - "
                  r"\bar\theta_{t-1}),\quad \mu_t = \frac{1}{\max(1,\, t-1-t_0)}", asgd_rule, _asgd_prepare,
                  state_fill={"eta": "lr"}, latex_edits=(("maximize", True, r"- \eta_t g_t", r"+ \eta_t g_t"),)),
    OptimizerSpec("rprop", "Rprop",
                  (_lr(1e-2), Param("eta_minus", r"\eta_-", 0.5, "factor the step size shrinks by when g changes "
                                    "sign", low=0.0, high=1.0, low_open=True, high_open=True),
                   Param("eta_plus", r"\eta_+", 1.2, "factor the step size grows by while g keeps its sign", low=1.0,
                         low_open=True),
                   Param("step_size_min", r"\Delta_{min}", 1e-6, "smallest step size", low=0.0, log=True),
                   Param("step_size_max", r"\Delta_{max}", 50.0, "largest step size", low=0.0, low_open=True,
                         log=True),
                   MAXIMIZE),
                  ("prev", "step_size"),
                  r"\Delta_t = \mathrm{clip}\big(\Delta_{t-1}\cdot\{\eta_+, \eta_-, 1\}_{\mathrm{sign}(g_t g_{t-1})"
                  r"= +, -, 0},\ \Delta_{min}, \Delta_{max}\big),\quad \theta_t = \theta_{t-1} - "
                  r"\mathrm{sign}(g_t)\Delta_t,\quad \Delta_0 = \alpha", rprop_rule, _rprop_prepare,
                  state_fill={"step_size": "lr"}, latex_edits=(_MAXIMIZE_EDIT,)),
    OptimizerSpec("adan", "Adan",
                  (_lr(1e-3), _beta("beta1", r"\beta_1", 0.98, BETA1.help, MOMENTUM_ROLE),
                   _beta("beta2", r"\beta_2", 0.92, "decay rate of the average gradient difference g_t − g_{t−1}"),
                   _beta("beta3", r"\beta_3", 0.99, "decay rate of the second moment of g + β₂(g_t − g_{t−1})"),
                   _eps(1e-8),
                   Param("weight_decay", r"\lambda", 0.0, "weight decay: θ ← θ/(1 + αλ) after the step (Adan's "
                         "proximal form), or θ ← θ(1 − αλ) before it with weight_decouple", low=0.0,
                         role=WEIGHT_DECAY),
                   _switch("weight_decouple", "decay the weights before the step, θ ← θ(1 − αλ), instead of dividing "
                           "them by 1 + αλ after it"), MAXIMIZE),
                  ("m", "diff", "v", "prev"),
                  r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad d_t = \beta_2 d_{t-1} + (1-\beta_2)(g_t - g_{t-1}),"
                  r"\quad v_t = \beta_3 v_{t-1} + (1-\beta_3)\big(g_t + \beta_2(g_t - g_{t-1})\big)^2"
                  r"\\ \theta_t = \theta_{t-1} - \alpha\frac{\hat m_t + \beta_2 \hat d_t}"
                  r"{\sqrt{\hat v_t} + \varepsilon}",
                  adan_rule, _adan_prepare, family="adaptive", latex_edits=(_MAXIMIZE_EDIT,)),
    OptimizerSpec("schedule_free_sgd", "Schedule-free SGD", (_lr(1.0), _SF_MOMENTUM) + _SCHEDULE_FREE_PARAMS,
                  ("z", "x_avg", "lr_max", "weight_sum"), _SCHEDULE_FREE_LATEX, schedule_free_sgd_rule,
                  _schedule_free_prepare),
    OptimizerSpec("schedule_free_adamw", "Schedule-free AdamW",
                  (_lr(0.0025), _SF_BETA1, BETA2, _eps(1e-8)) + _SCHEDULE_FREE_PARAMS,
                  ("z", "x_avg", "v", "lr_max", "weight_sum"),
                  _SCHEDULE_FREE_LATEX.replace(r"\alpha_t g_t", r"\alpha_t \frac{g_t}{\sqrt{\hat v_t} + \varepsilon}")
                  .replace(r"\beta", r"\beta_1"), schedule_free_adamw_rule, _schedule_free_adamw_prepare,
                  family="adaptive"),
]}

# Colours strong and dark enough to read on a projector over the pale contour background, one per optimizer, so
# that adding or removing a contestant repaints no other; the six of the classic race get the most distinct.
# The last ones are for optimizers a user registers (optviz.register_optimizer).
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#17becf", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#b68100",
          "#0d2a63", "#00a08b", "#af0038", "#6c7c32", "#fb00d1", "#511cfb", "#222a2a",
          "#750d86", "#862a16", "#1616a7", "#620042", "#6c4516", "#eb663b", "#3b5b00", "#a0522d", "#5e3c99",
          "#b2182b", "#2166ac", "#7f3b08", "#35978f", "#c51b7d")
_CLASSIC_FIRST = ("adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adamw", "amsgrad", "nadam", "radam",
                  "adamax", "adabelief", "adadelta", "lion", "qhm", "qhadam", "asgd", "rprop", "adan",
                  "schedule_free_sgd", "schedule_free_adamw")
_COLOR_OF = dict(zip(_CLASSIC_FIRST, COLORS))
SPECS = {name: replace(spec, color=_COLOR_OF[name]) for name, spec in SPECS.items()}


def in_batches() -> dict[str, OptimizerSpec]:
    """The optimizers the compiled loops step many runs of at once, by name: those with element-wise rules. Sweeps,
    basins, tuning and the MNIST trainers take these; the others are raced one run at a time (read at each call: a
    user's registered optimizer may join or leave)."""
    return {name: spec for name, spec in SPECS.items() if spec.kind == ELEMENTWISE}


def one_at_a_time_note() -> str:
    """Why the optimizers outside in_batches() are missing from a menu, in words (empty when there are none)."""
    titles = [spec.title for spec in SPECS.values() if spec.kind != ELEMENTWISE]
    if not titles:
        return ""
    return (f"{', '.join(titles[:-1])} and {titles[-1]} are raced one run at a time (their rules need the whole "
            "vector, the Hessian or extra gradients, not one number at a time): they are in the race, not here."
            if len(titles) > 1 else f"{titles[0]} is raced one run at a time: it is in the race, not here.")


def optimizer(name: str, schedule: Schedule | None = None, **hparams) -> Optimizer:
    """Build an optimizer by name, validating every hyperparameter against its spec."""
    spec = lookup(SPECS, name, "optimizer")
    return Optimizer(spec, resolve(spec.params, hparams, spec.name), schedule)


# The optimizers whose rules are not element-wise (Newton, L-BFGS, SAM, Lookahead, Muon, Adafactor, Prodigy): their
# catalogue entries live beside their steps, and join this one, so that every menu and link finds them by name.
from .second_order import SPECS as _STEPPED  # noqa: E402 (they build on the definitions above)

SPECS.update(_STEPPED)
