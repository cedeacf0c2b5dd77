"""Rules that read the whole parameter vector at once, on a 2-vector: Muon and Adafactor, as torch.optim 2.13
steps them (`_single_tensor_muon`, `_single_tensor_adafactor`).

    params, state, report = muon_step(params, state, objective, hparams, lr)

Muon orthogonalises its momentum by a Newton–Schulz iteration; torch treats the 2-D point as a 1×2 matrix, whose
one singular value the iteration drives towards 1: the step is the normalised momentum, times the iteration's
result. Adafactor's vector rule (no factoring for a vector) scales its step by the parameters' RMS and clips the
update's RMS at d. Both match torch to 1e-10 in float64 (Muon with torch's bfloat16 cast of the iteration removed,
as the reference tool patches it: in bfloat16 the step would carry 3 significant digits).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .objective import Objective, StepReport
from .params import Param
from .torch_arithmetic import axpy, dot, lerp, norm

# ---------------------------------------------------------------------------------------------------------------
# Muon

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # torch's DEFAULT_A, DEFAULT_B, DEFAULT_C
LR_ADJUSTMENTS = ("original", "match_rms_adamw")  # torch's adjust_lr_fn (None is "original")
MUON_PARAMS = (
    Param("weight_decay", r"\lambda", 0.1, "decoupled weight decay: θ ← θ(1 − αλ)", low=0.0),
    Param("momentum", r"\mu", 0.95, "momentum: how much of the previous buffer is kept", low=0.0),
    Param("nesterov", r"\text{nesterov}", True, "orthogonalise g + μ·(B − g) instead of B (Nesterov)", kind="bool"),
    Param("ns_a", "a", NS_COEFFICIENTS[0], "Newton–Schulz coefficient a (torch's ns_coefficients[0])"),
    Param("ns_b", "b", NS_COEFFICIENTS[1], "Newton–Schulz coefficient b (ns_coefficients[1])"),
    Param("ns_c", "c", NS_COEFFICIENTS[2], "Newton–Schulz coefficient c (ns_coefficients[2])"),
    Param("eps", r"\varepsilon", 1e-7, "the smallest norm the momentum is divided by", low=0.0, log=True),
    Param("ns_steps", "k", 5, "Newton–Schulz iterations", low=0, high=99, kind="int"),
    Param("adjust_lr_fn", r"\text{adjust lr}", "original", "how the rate is scaled to the matrix's shape: "
          "√max(1, A/B) (Keller Jordan's) or 0.2·√max(A, B) (Moonshot's, to match AdamW's RMS)", kind="choice",
          choices=LR_ADJUSTMENTS),
)


class MuonState(NamedTuple):
    step: int
    buf: np.ndarray  # the momentum buffer B


def muon_init(params: np.ndarray) -> MuonState:
    return MuonState(0, np.zeros_like(params))


def newton_schulz(update: np.ndarray, a: float, b: float, c: float, steps: int, eps: float) -> np.ndarray:
    """X ← G/max(‖G‖, ε);  k times: A = XXᵀ, X ← a·X + (b·A + c·A²)·X  — for the 1×2 matrix G, A is a number."""
    x = update / max(norm(update), eps)
    for _ in range(steps):
        gram = dot(x, x)
        x = a * x + (b * gram + c * (gram * gram)) * x
    return x


def muon_step(params: np.ndarray, state: MuonState, objective: Objective, hparams: dict, lr: float):
    """B ← B + (1−μ)(g − B);  U = NS(g + μ(B − g)) (Nesterov) or NS(B);  θ ← θ(1 − αλ) − α·s·U, s = √max(1, A/B) = 1
    for a 1×2 matrix (Moonshot's: 0.2·√max(A, B) = 0.2·√2)."""
    g = objective.grad(params)
    momentum = hparams["momentum"]
    buf = lerp(state.buf, g, 1 - momentum)
    update = lerp(g, buf, momentum) if hparams["nesterov"] else buf
    update = newton_schulz(update, hparams["ns_a"], hparams["ns_b"], hparams["ns_c"], hparams["ns_steps"],
                           hparams["eps"])
    rows, columns = 1, len(params)
    ratio = (math.sqrt(max(1, rows / columns)) if hparams["adjust_lr_fn"] == LR_ADJUSTMENTS[0]
             else 0.2 * math.sqrt(max(rows, columns)))
    params = params * (1 - lr * hparams["weight_decay"])
    params = axpy(-(lr * ratio), update, params)
    return params, MuonState(state.step + 1, buf), StepReport(1, 0, g, {"buf": buf})


# ---------------------------------------------------------------------------------------------------------------
# Adafactor

ADAFACTOR_PARAMS = (
    Param("beta2_decay", r"\hat\beta_2", -0.8, "the second moment's rate is 1 − β₂ = t^(β̂₂)", high=0.0),
    Param("eps1", r"\varepsilon_1", float(np.finfo(float).eps), "the smallest v the update divides by is ε₁² "
          "(torch's None: the parameters' machine epsilon)", low=0.0, log=True),
    Param("eps2", r"\varepsilon_2", 1e-3, "the smallest parameter RMS the step is scaled by", low=0.0, log=True),
    Param("d", "d", 1.0, "clipping threshold: the update's RMS is at most d", low=1.0),
    Param("weight_decay", r"\lambda", 0.0, "decoupled weight decay: θ ← θ(1 − αλ)", low=0.0),
    Param("maximize", r"\text{maximize}", False, "gradient ascent: step along +g (torch's maximize)", kind="bool"),
)


class AdafactorState(NamedTuple):
    step: int
    v: np.ndarray  # the second moment (a vector is not factored)


def adafactor_init(params: np.ndarray) -> AdafactorState:
    return AdafactorState(0, np.zeros_like(params))


def adafactor_step(params: np.ndarray, state: AdafactorState, objective: Objective, hparams: dict, lr: float):
    """ρ_t = min(α, 1/√t);  a = max(ε₂, RMS(θ))·ρ_t;  θ ← θ(1 − αλ);  v ← v + t^(β̂₂)(g² − v);
    u = g/√max(v, ε₁²);  θ ← θ − a/max(1, RMS(u)/d) · u."""
    g = objective.grad(params)
    g = -g if hparams["maximize"] else g
    t = state.step + 1
    rho = min(lr, 1 / (t ** 0.5))
    size = len(params) ** 0.5
    alpha = max(hparams["eps2"], norm(params) / size) * rho
    if hparams["weight_decay"] != 0:
        params = params * (1 - lr * hparams["weight_decay"])
    v = lerp(state.v, g * g, t ** hparams["beta2_decay"])
    update = 1 / np.sqrt(np.maximum(v, hparams["eps1"] * hparams["eps1"])) * g
    clip = max(1.0, norm(update) / (size * hparams["d"]))
    params = axpy(-alpha / clip, update, params)
    return params, AdafactorState(t, v), StepReport(1, 0, g, {"v": v})
