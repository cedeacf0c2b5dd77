"""The optimizers that are not element-wise (issue 29): Newton's method, SAM, Lookahead, L-BFGS (optviz/lbfgs.py),
Muon, Adafactor and Prodigy (optviz/whole_vector.py): their catalogue entries, bound to hyperparameters.

    opt = optimizer("lookahead", inner="adam", k=5, alpha=0.5, lr=1e-3, beta1=0.9)
    state = opt.init(params)                                   # params: a 2-vector
    params, state, report = opt.step(params, state, objective)  # pure: inputs are left untouched

Each step needs more than one gradient (Newton the Hessian as well, SAM a second gradient, L-BFGS a line search),
or the whole vector (Muon's orthogonalisation, Adafactor's RMS, Prodigy's sums), so a step is given an
`Objective` (the loss, its gradient and Hessian at a point) instead of a gradient, and reports how many gradients
it evaluated (`StepReport`): a race can be aligned by gradient evaluations. The formulas are NumPy on a 2-vector, a
Python loop per step: a race on a surface steps a few runs, not thousands. Their entries (`SPECS`) join
optviz.optimizers' catalogue, where every menu and link finds them; the sweeps, basins and the generated browser
engine step element-wise rules only (optviz.optimizers.in_batches) and say so in words; the MNIST trainers step those
and Muon, whose `matrix_rule` steps a network's hidden weight matrices (optviz.mnist.hidden_matrices).

Wrappers (SAM, Lookahead) take the inner optimizer by name and its hyperparameters flat, beside their own; an
inner hyperparameter whose name the wrapper uses itself (RMSProp's `alpha` inside Lookahead) is `inner_alpha`.
Update rules follow the reference implementations named in each docstring; L-BFGS is in optviz/lbfgs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from .lbfgs import LBFGS_PARAMS, LINE_SEARCHES, lbfgs_init, lbfgs_step
from .objective import Objective, StepReport
from .optimizers import (
    ELEMENTWISE,
    EXTRA_GRADIENTS,
    FIRST_MOMENT,
    NEEDS_HESSIAN,
    ROLES,
    SECOND_MOMENT,
    VELOCITY,
    WHOLE_VECTOR,
    BoundOptimizer,
    Optimizer,
    OptimizerSpec,
    _lr,
    _switch,
)
from .optimizers import SPECS as ELEMENTWISE_SPECS
from .optimizers import optimizer as elementwise_optimizer
from .params import LR, Param, lookup, resolve
from .schedules import Schedule, constant
from .torch_arithmetic import lerp, norm
from .whole_vector import (
    ADAFACTOR_PARAMS,
    LR_ADJUSTMENTS,
    MUON_PARAMS,
    PRODIGY_PARAMS,
    adafactor_init,
    adafactor_step,
    muon_init,
    muon_step,
    muon_update,
    prodigy_fill,
    prodigy_init,
    prodigy_step,
)

# What the recorded state of these optimizers is (their trace rows), as OptimizerSpec's roles say it for the
# element-wise ones
CURVATURE = "curvature"  # Newton's: the Hessian's eigenvalues λ₁ ≤ λ₂ where it stepped
PERTURBATION = "perturbation"  # SAM's ε: where the second gradient was taken, relative to θ
SLOW_WEIGHTS = "slow weights"  # Lookahead's φ, which the fast weights are pulled back to every k steps
ITERATES = "inner iterates"  # L-BFGS: the point after each inner iteration of a step (NaN past the last)
EVALUATIONS = "evaluations"  # L-BFGS: the gradient evaluations each inner iteration had used by its end
DISTANCE = "distance estimate"  # Prodigy's d: how far it reckons the solution is, by which it scales its rate
VECTOR_ROLES = (CURVATURE, PERTURBATION, SLOW_WEIGHTS, ITERATES, EVALUATIONS, DISTANCE)

INNER = "inner"  # a wrapper's hyperparameter naming the optimizer it wraps
INNER_PREFIX = "inner_"  # an inner hyperparameter whose name the wrapper uses itself


# ---------------------------------------------------------------------------------------------------------------
# The formulas

def hessian_inverse_step(h: np.ndarray, g: np.ndarray, damping: float, saddle_free: bool) -> np.ndarray:
    """(H + δI)⁻¹g, with |H| = V|Λ|Vᵀ in place of H when saddle_free (Dauphin et al., 2014): along a direction
    of negative curvature the step then goes downhill instead of towards the saddle. The pseudo-inverse where
    H + δI is singular: no step along a flat direction (as stationary.newton polishes)."""
    eigenvalues, vectors = np.linalg.eigh(h)
    if saddle_free:
        eigenvalues = np.abs(eigenvalues)
    shifted = eigenvalues + damping
    inverse = np.divide(1.0, shifted, out=np.zeros_like(shifted), where=shifted != 0)
    return vectors @ (inverse * (vectors.T @ g))


def sam_perturbation(p: np.ndarray, g: np.ndarray, rho: float, adaptive: bool, perturb_eps: float) -> np.ndarray:
    """ε = ρ·w⊙g/(‖|w|⊙g‖ + ε₀), w = θ² when adaptive (ASAM) else 1 — pytorch_optimizer 4.1.0's SAM.first_step,
    whose norm is rounded to float32 (get_global_gradient_norm returns a float32 tensor) and whose ρ/‖·‖ is
    torch's reciprocal-times-ρ in float32: mirrored here, so that float64 runs match it to 1e-10."""
    weighted = g * np.abs(p) if adaptive else g
    length = np.float32(norm(weighted))
    grad_norm = np.sqrt(length * length) + np.float32(perturb_eps)
    scale = float((np.float32(1.0) / grad_norm) * np.float32(rho))
    return (p * p if adaptive else 1.0) * g * scale


# ---------------------------------------------------------------------------------------------------------------
# The steps: step(opt, params, state, objective) -> (params, state, report); state a NamedTuple with `step`

class NewtonState(NamedTuple):
    step: int


class WrapperState(NamedTuple):
    step: int
    inner: Any  # the inner optimizer's state (its NamedTuple)
    extra: np.ndarray  # SAM's last perturbation, Lookahead's slow weights
    counter: int = 0  # Lookahead's steps since the last pull-back


def _newton_init(opt: VectorOptimizer, params: np.ndarray) -> NewtonState:
    return NewtonState(0)


def _newton_step(opt: VectorOptimizer, params, state: NewtonState, objective: Objective):
    """θ ← θ − α·(H + δI)⁻¹·g, or with |H| = V|Λ|Vᵀ for H when saddle_free; one step with α = 1 lands on a
    quadratic's minimum."""
    if objective.hessian is None:
        raise ValueError(f"{opt.spec.title} needs the Hessian, and this loss has none")
    t = state.step + 1
    hp = opt.hparams
    g, curvature = objective.grad(params), objective.hessian(params)
    direction = hessian_inverse_step(curvature, g, hp["damping"], hp["saddle_free"])
    new = params - opt.lr_at(t) * direction
    return new, NewtonState(t), StepReport(1, 1, g, {"curvature": np.linalg.eigvalsh(curvature)})


def _sam_init(opt: VectorOptimizer, params: np.ndarray) -> WrapperState:
    return WrapperState(0, opt.inner.init(params), np.zeros_like(params))  # no perturbation yet


def _lookahead_init(opt: VectorOptimizer, params: np.ndarray) -> WrapperState:
    return WrapperState(0, opt.inner.init(params), params.copy())  # the slow weights start at θ₀


def _inner_trace(opt: VectorOptimizer, inner_state) -> dict[str, np.ndarray]:
    return {name: np.array(getattr(inner_state, name)) for name in opt.inner.arrays}


def _sam_step(opt: VectorOptimizer, params, state: WrapperState, objective: Objective):
    """g = ∇f(θ);  ε = ρ·w⊙g/(‖|w|⊙g‖ + ε₀) (w = θ² when adaptive, else 1);  θ ← inner step at θ with ∇f(θ + ε)
    — pytorch_optimizer 4.1.0's SAM (two gradient evaluations per step)."""
    hp = opt.hparams
    g = objective.grad(params)
    eps = sam_perturbation(params, g, hp["rho"], hp["adaptive"], hp["perturb_eps"])
    sharp = objective.grad(params + eps)
    new, inner = opt.inner.step(params, sharp, state.inner)
    trace = {**_inner_trace(opt, inner), "perturbation": eps}
    return new, state._replace(step=state.step + 1, inner=inner, extra=eps), StepReport(2, 0, sharp, trace)


def _lookahead_step(opt: VectorOptimizer, params, state: WrapperState, objective: Objective):
    """θ ← inner step;  every k-th step φ ← φ + α(θ − φ) (torch's lerp), θ ← φ — pytorch_optimizer 4.1.0's
    Lookahead (pullback_momentum="none"); φ₀ = θ₀."""
    hp = opt.hparams
    g = objective.grad(params)
    new, inner = opt.inner.step(params, g, state.inner)
    counter, slow = state.counter + 1, state.extra
    if counter >= hp["k"]:
        counter = 0
        new = lerp(new, slow, 1.0 - hp["alpha"])
        slow = new.copy()
    trace = {**_inner_trace(opt, inner), "slow": slow}
    return new, WrapperState(state.step + 1, inner, slow, counter), StepReport(1, 0, g, trace)


def _torch_step(step: Callable) -> Callable:
    """A rule of whole_vector.py as a spec's step: given the hyperparameters and this step's learning rate."""
    def stepped(opt: VectorOptimizer, params, state, objective: Objective):
        return step(params, state, objective, opt.hparams, opt.lr_at(state.step + 1))
    return stepped


def _fresh(init: Callable) -> Callable:
    """A state that depends on the parameters only, as a spec's init."""
    return lambda opt, params: init(params)


def _lbfgs_step(opt: VectorOptimizer, params, state, objective: Objective):
    t = state.step + 1
    return lbfgs_step(params, state._replace(step=t), objective, opt.hparams, opt.lr_at(t))


def _lbfgs_init(opt: VectorOptimizer, params):
    return lbfgs_init(params)


# ---------------------------------------------------------------------------------------------------------------
# The catalogue entries

@dataclass(frozen=True)
class VectorSpec(OptimizerSpec):
    """An optimizer stepped by this module: `init(opt, params)` and `step(opt, params, state, objective)` above,
    `traces` the quantities recorded every step (a number or an (x, y) pair) and their roles (VECTOR_ROLES, ROLES;
    a wrapper records its inner optimizer's state too), `per_iteration` those recorded per inner iteration
    (Trajectory.inner), `wraps` True for a wrapper, whose `inner` hyperparameter names an element-wise optimizer."""

    init: Callable | None = None
    step: Callable | None = None
    traces: dict[str, str] = field(default_factory=dict)
    per_iteration: dict[str, str] = field(default_factory=dict)  # what a step records per inner iteration
    wraps: bool = False
    fill: Callable[[dict], dict] | None = None  # defaults that follow from other hyperparameters (Prodigy's β₃)
    # (θ, g, its state array, hparams, lr) -> (θ, state array): its rule on one weight matrix, by which the MNIST
    # trainers step a network's hidden weight matrices (Muon's; optviz.mnist.hidden_matrices)
    matrix_rule: Callable | None = None

    def role_of(self, name: str) -> str | None:
        """A recorded quantity's role: its traces' and inner iterations' as declared here, else (a wrapper's inner
        state) the state's."""
        return {**self.traces, **self.per_iteration}.get(name) or super().role_of(name)

    def settable(self, hparams: dict[str, Any] | None = None) -> tuple[Param, ...]:
        """Its own hyperparameters, and a wrapper's inner optimizer's after them (the one `hparams` names, else the
        default): by the flat names optimizer() takes (`inner_alpha` where the wrapper has an `alpha` too)."""
        if not self.wraps:
            return self.params
        chosen = (hparams or {}).get(INNER)
        inner = ELEMENTWISE_SPECS[chosen if chosen in self.param(INNER).choices else self.defaults[INNER]]
        own = {p.name for p in self.params}
        return self.params + tuple(replace(p, name=INNER_PREFIX + p.name if p.name in own else p.name,
                                           help=f"{inner.title} (inner): {p.help}") for p in inner.params)

    def __post_init__(self):
        super().__post_init__()
        unknown = [name for name, role in {**self.traces, **self.per_iteration}.items()
                   if role not in VECTOR_ROLES + ROLES]
        if unknown:
            raise ValueError(f"{self.name}: trace {', '.join(unknown)} has no role (one of "
                             f"{', '.join(VECTOR_ROLES + ROLES)})")
        if self.kind == ELEMENTWISE:
            raise ValueError(f"{self.name}: an element-wise rule belongs in optviz.optimizers' catalogue")


def _unused_rule(*args):
    raise TypeError("this optimizer is stepped as a whole vector (optviz.second_order), not element-wise")


def _inner_param(default: str, what: str) -> Param:
    names = tuple(name for name, spec in ELEMENTWISE_SPECS.items() if spec.kind == ELEMENTWISE)
    return Param(INNER, r"\text{inner}", default, f"the optimizer {what}, by name (any element-wise one)",
                 kind="choice", choices=names, choice_titles=tuple(ELEMENTWISE_SPECS[n].title for n in names))


_INT = dict(kind="int", high=1e9)

_SPECS = [
    VectorSpec(
        "newton", "Newton's method",
        (replace(_lr(1.0), help="learning rate: the share of the Newton step taken (1: the whole step)"),
         Param("damping", r"\delta", 0.0, "damping: δ added to every curvature, (H + δI)⁻¹g", low=0.0),
         _switch("saddle_free", "use |H| = V|Λ|Vᵀ: away from a saddle along negative curvature, not towards it")),
        (), r"\theta_t = \theta_{t-1} - \alpha\,(H_t + \delta I)^{-1} g_t", _unused_rule,
        latex_edits=(("saddle_free", True, "(H_t + \\delta I)", "(|H_t| + \\delta I)"),),
        color="#0072e5", kind=NEEDS_HESSIAN, init=_newton_init, step=_newton_step,
        traces={"curvature": CURVATURE}),
    VectorSpec(
        "sam", "SAM (sharpness-aware)",
        (_inner_param("sgd", "that takes the step, with the gradient at the perturbed point"),
         Param("rho", r"\rho", 0.05, "radius of the neighbourhood the second gradient is taken in", low=0.0),
         _switch("adaptive", "scale the perturbation by θ² (ASAM)"),
         Param("perturb_eps", r"\varepsilon_0", 1e-12, "added to the gradient norm to avoid division by zero",
               low=0.0, log=True)),
        (), r"\varepsilon_t = \rho \frac{g_t}{\lVert g_t \rVert + \varepsilon_0},\quad \theta_t = "
            r"\mathrm{inner}\big(\theta_{t-1},\ \nabla f(\theta_{t-1} + \varepsilon_t)\big)", _unused_rule,
        latex_edits=(("adaptive", True, r"\rho \frac{g_t}{\lVert g_t \rVert + \varepsilon_0}",
                      r"\rho \frac{\theta^2 g_t}{\lVert |\theta| g_t \rVert + \varepsilon_0}"),),
        color="#c0396b", kind=EXTRA_GRADIENTS, init=_sam_init, step=_sam_step,
        traces={"perturbation": PERTURBATION}, wraps=True),
    VectorSpec(
        "lookahead", "Lookahead",
        (_inner_param("adam", "that takes the fast steps"),
         Param("k", "k", 5, "fast steps between two pull-backs of the slow weights", low=1, **_INT),
         Param("alpha", r"\alpha_s", 0.5, "how far the slow weights move towards the fast ones", low=0.0,
               high=1.0)),
        (), r"\theta_t = \mathrm{inner}(\theta_{t-1}, g_t);\ \text{every } k:\ \phi \leftarrow \phi + \alpha_s"
            r"(\theta_t - \phi),\ \theta_t \leftarrow \phi", _unused_rule,
        color="#1f7a5c", kind=WHOLE_VECTOR, init=_lookahead_init, step=_lookahead_step,
        traces={"slow": SLOW_WEIGHTS}, wraps=True),
    VectorSpec(
        "lbfgs", "L-BFGS", (_lr(1.0),) + LBFGS_PARAMS, (),
        r"d_t = -H_t g_t\ \text{(two-loop recursion over the last } m\text{ pairs } s, y),\quad "
        r"\theta_t = \theta_{t-1} + \alpha_t d_t", _unused_rule,
        color="#a016ce", kind=EXTRA_GRADIENTS, init=_lbfgs_init, step=_lbfgs_step,
        per_iteration={"iterates": ITERATES, "evaluations": EVALUATIONS}),
    VectorSpec(
        "muon", "Muon", (_lr(1e-3),) + MUON_PARAMS, (),
        r"B_t = \mu B_{t-1} + g_t,\quad O_t = \mathrm{NS}_k(g_t + \mu B_t),\quad"
        r"\theta_t = \theta_{t-1}(1 - \alpha\lambda) - \alpha O_t", _unused_rule,
        latex_edits=(("nesterov", False, r"\mathrm{NS}_k(g_t + \mu B_t)", r"\mathrm{NS}_k(B_t)"),
                     ("adjust_lr_fn", LR_ADJUSTMENTS[1], r"- \alpha O_t", r"- 0.2\sqrt{2}\,\alpha O_t")),
        color="#5b3f8c", kind=WHOLE_VECTOR, init=_fresh(muon_init), step=_torch_step(muon_step),
        traces={"buf": VELOCITY}, matrix_rule=muon_update),
    VectorSpec(
        "adafactor", "Adafactor", (_lr(1e-2),) + ADAFACTOR_PARAMS, (),
        r"v_t = v_{t-1} + t^{\hat\beta_2}(g_t^2 - v_{t-1}),\quad u_t = \frac{g_t}{\sqrt{v_t}},\quad"
        r"\theta_t = \theta_{t-1} - \frac{\max(\varepsilon_2, \mathrm{RMS}(\theta_{t-1}))\min(\alpha, 1/\sqrt t)}"
        r"{\max(1, \mathrm{RMS}(u_t)/d)} u_t", _unused_rule,
        latex_edits=(("maximize", True, r"\theta_t = \theta_{t-1} -", r"\theta_t = \theta_{t-1} +"),),
        color="#7a5c00", kind=WHOLE_VECTOR, init=_fresh(adafactor_init), step=_torch_step(adafactor_step),
        traces={"v": SECOND_MOMENT}),
    VectorSpec(
        "prodigy", "Prodigy", (_lr(1.0),) + PRODIGY_PARAMS, (),
        r"d_t = \max\Big(d_{t-1}, \frac{\sum_i \beta_3^{t-i} d_i \alpha\, g_i^\top(\theta_0 - \theta_i)}"
        r"{\lVert s_t \rVert_1}\Big),\quad \theta_t = \theta_{t-1} - d\alpha \frac{m_t}{\sqrt{v_t} + d\varepsilon}",
        _unused_rule, color="#a34900", kind=WHOLE_VECTOR,
        init=lambda opt, params: prodigy_init(params, opt.hparams["d0"]), step=_torch_step(prodigy_step),
        traces={"m": FIRST_MOMENT, "v": SECOND_MOMENT, "d": DISTANCE}, fill=prodigy_fill),
]
SPECS: dict[str, VectorSpec] = {spec.name: spec for spec in _SPECS}


# ---------------------------------------------------------------------------------------------------------------
# Bound to hyperparameters

class VectorOptimizer(BoundOptimizer):
    """An optimizer of this module bound to its hyperparameters (and optionally a learning-rate schedule)."""

    batch = None  # one configuration at a time: hyperparameter arrays (sweeps) are refused

    def __init__(self, spec: VectorSpec, hparams: dict[str, Any], schedule: Schedule | None = None,
                 inner: Optimizer | None = None):
        self.spec, self.hparams, self.schedule, self.inner = spec, hparams, schedule or constant(), inner
        arrays = [name for name, value in hparams.items() if isinstance(value, np.ndarray)]
        if arrays:
            raise ValueError(f"{spec.title} steps one configuration at a time: {arrays[0]} must be a single value "
                             f"(sweeps and basins step element-wise optimizers only)")
        names = ("step",) + tuple(spec.traces) + (inner.arrays if inner else ())
        self.State = NamedTuple(f"{type(self).__name__}Trace", [(n, Any) for n in names])  # what a race records

    @property
    def lr(self) -> float:
        return (self.inner.hparams if self.inner else self.hparams)[LR]

    def lr_at(self, step):
        """The learning rate at optimizer step `step` (1-based; an int or an array of steps)."""
        if self.inner is not None:
            return self.inner.lr_at(step)
        a, b = self.schedule.coefficients(np.asarray(step) - 1)
        return a * self.hparams[LR] + b

    def init(self, params) -> Any:
        return self.spec.init(self, _vector(params))

    def step(self, params, state, objective: Objective) -> tuple[np.ndarray, Any, StepReport]:
        """One step from `params` (a 2-vector); returns new (params, state, report), the inputs untouched."""
        return self.spec.step(self, _vector(params).copy(), state, objective)


def _vector(params) -> np.ndarray:
    params = np.asarray(params, dtype=float)
    if params.shape != (2,):
        raise ValueError(f"these optimizers step one 2-D point (a vector of 2 numbers), got shape {params.shape}")
    return params


def _split(spec: VectorSpec, hparams: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the wrapper's own hyperparameters, the inner optimizer's) from the flat keywords of a wrapper."""
    own_names = {p.name for p in spec.params}
    own = {k: v for k, v in hparams.items() if k in own_names}
    inner = {k.removeprefix(INNER_PREFIX) if k.startswith(INNER_PREFIX) else k: v
             for k, v in hparams.items() if k not in own_names}
    return own, inner


_TORCH_NONES = {"line_search_fn": LINE_SEARCHES[0], "adjust_lr_fn": LR_ADJUSTMENTS[0],
                "eps1": ADAFACTOR_PARAMS[1].default}


def optimizer(name: str, schedule: Schedule | None = None, **hparams) -> Optimizer | VectorOptimizer:
    """Any optimizer by name: an element-wise one as optviz.optimizers builds it, one of this module's bound to
    its validated hyperparameters (a wrapper's inner optimizer built from the keywords that are not its own)."""
    if name not in SPECS:
        if name not in ELEMENTWISE_SPECS:
            lookup({**ELEMENTWISE_SPECS, **SPECS}, name, "optimizer")  # raises, naming every optimizer
        return elementwise_optimizer(name, schedule, **hparams)
    spec = SPECS[name]
    if spec.fill is not None:
        hparams = spec.fill(hparams)
    for name, value in _TORCH_NONES.items():  # torch's None where a Param needs a value
        if name in hparams and hparams[name] is None:
            hparams = {**hparams, name: value}
    if not spec.wraps:
        return VectorOptimizer(spec, resolve(spec.params, hparams, spec.name), schedule)
    own, inner_hparams = _split(spec, hparams)
    own = resolve(spec.params, own, spec.name)
    inner_name = own[INNER]
    if ELEMENTWISE_SPECS.get(inner_name) is None or ELEMENTWISE_SPECS[inner_name].kind != ELEMENTWISE:
        raise ValueError(f"{spec.title} wraps an element-wise optimizer; {inner_name!r} is not one")
    try:
        inner = elementwise_optimizer(inner_name, schedule, **inner_hparams)
    except ValueError as error:
        raise ValueError(f"{spec.name} (inner {inner_name}): {error}") from None
    flat = {(INNER_PREFIX + k if k in own else k): v for k, v in inner.hparams.items()}
    return VectorOptimizer(spec, {**own, **flat}, schedule, inner)
