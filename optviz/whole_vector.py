"""Rules that read the whole parameter vector at once, on a 2-vector: Muon and Adafactor, as torch.optim 2.13
steps them (`_single_tensor_muon`, `_single_tensor_adafactor`), and Prodigy as its authors' prodigyopt 1.1.2 does.

    params, state, report = muon_step(params, state, objective, hparams, lr)

Muon orthogonalises its momentum by a Newton–Schulz iteration on a matrix (muon_update, one A×B matrix, which the
MNIST trainers apply to a network's hidden weight matrices: optviz.mnist.hidden_matrices); torch treats the 2-D point
as a 1×2 matrix, whose one singular value the iteration drives towards 1: the step is the normalised momentum, times
the iteration's result. Adafactor's vector rule (no factoring for a vector) scales its step by the parameters' RMS
and clips the update's RMS at d. Prodigy is Adam whose rate is scaled by d, its running estimate of the distance to the
solution, from sums over the whole vector (recorded, so that a race can draw d over time). All three match their
references to 1e-10 in float64 (Muon with torch's bfloat16 cast of the iteration removed, as the reference tool
patches it: in bfloat16 the step would carry 3 significant digits).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .objective import Objective, StepReport
from .params import DECAY_RATE, MOMENTUM, WEIGHT_DECAY, Param
from .torch_arithmetic import addcdiv, addcmul, axpy, dot, lerp, norm

# ---------------------------------------------------------------------------------------------------------------
# Muon

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # torch's DEFAULT_A, DEFAULT_B, DEFAULT_C
LR_ADJUSTMENTS = ("original", "match_rms_adamw")  # torch's adjust_lr_fn (None is "original")
# What steps a network's other arrays (first and last layers, biases), as torch's docs advise: AdamW at its defaults
MUON_PARTNER = "adamw"
MUON_PARTNER_HPARAMS = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}
MUON_PARAMS = (
    Param("weight_decay", r"\lambda", 0.1, "decoupled weight decay: θ ← θ(1 − αλ)", low=0.0, role=WEIGHT_DECAY),
    Param("momentum", r"\mu", 0.95, "momentum: how much of the previous buffer is kept", low=0.0, role=MOMENTUM),
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
    """X ← G/max(‖G‖_F, ε);  k times: A = XXᵀ, X ← a·X + (b·A + c·A²)·X  — on the (r, c) matrix G, or on Gᵀ when
    r > c (the Gram matrix A is then the smaller one) and transposed back, as torch's _zeropower_via_newtonschulz.
    A vector is a 1×n matrix (the 2-D point a 1×2 one: A is a number, the point's one singular value driven
    towards 1). The result has G's shape."""
    x = np.atleast_2d(update)
    tall = x.shape[0] > x.shape[1]
    x = x.T if tall else x
    x = x / max(_frobenius(x), eps)
    for _ in range(steps):
        gram = _gram(x)
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return (x.T if tall else x).reshape(update.shape)


# The 2-D point's 1×2 matrix rounded as torch's CPU kernels round two numbers (optviz.torch_arithmetic), so that its
# chaotic runs match torch's to the last bit; a bigger matrix by NumPy's BLAS (to rounding, as torch's own BLAS).

def _frobenius(x: np.ndarray) -> float:
    """‖X‖_F."""
    flat = x.reshape(-1)
    return norm(flat) if flat.size == 2 else math.sqrt(float(np.dot(flat, flat)))


def _gram(x: np.ndarray) -> np.ndarray:
    """XXᵀ."""
    return np.array([[dot(x[0], x[0])]]) if x.shape == (1, 2) else x @ x.T


def lr_ratio(rows: int, columns: int, adjust_lr_fn: str) -> float:
    """s, by which Muon scales its rate for an A×B matrix (torch's _adjust_lr; A = rows = a layer's outputs in
    torch's (out, in) layout): √max(1, A/B) ("original", Keller Jordan's) or 0.2·√max(A, B) ("match_rms_adamw",
    Moonshot's: the update's RMS then matches AdamW's, so AdamW's rate and weight decay carry over)."""
    if adjust_lr_fn == LR_ADJUSTMENTS[0]:
        return math.sqrt(max(1, rows / columns))
    return 0.2 * math.sqrt(max(rows, columns))


def muon_update(param: np.ndarray, grad: np.ndarray, buf: np.ndarray, hparams: dict, lr: float):
    """B ← B + (1−μ)(g − B);  U = NS(g + μ(B − g)) (Nesterov) or NS(B);  θ ← θ(1 − αλ) − α·s·U, s = lr_ratio(A, B)
    — torch's _single_tensor_muon on one A×B matrix θ (torch's (out, in) layout); returns the new (θ, B), its
    inputs untouched."""
    momentum, shape = hparams["momentum"], param.shape
    g, buf = grad.reshape(-1), lerp(buf.reshape(-1), grad.reshape(-1), 1 - momentum)
    update = lerp(g, buf, momentum) if hparams["nesterov"] else buf
    update = newton_schulz(update.reshape(shape), hparams["ns_a"], hparams["ns_b"], hparams["ns_c"],
                           hparams["ns_steps"], hparams["eps"])
    ratio = lr_ratio(*shape, hparams["adjust_lr_fn"])
    decayed = param.reshape(-1) * (1 - lr * hparams["weight_decay"])
    return axpy(-(lr * ratio), update.reshape(-1), decayed).reshape(shape), buf.reshape(shape)


def muon_step(params: np.ndarray, state: MuonState, objective: Objective, hparams: dict, lr: float):
    """muon_update on the 2-D point as a 1×2 matrix: s = √max(1, 1/2) = 1 (Moonshot's: 0.2·√2)."""
    g = objective.grad(params)
    new, buf = muon_update(params.reshape(1, 2), g.reshape(1, 2), state.buf.reshape(1, 2), hparams, lr)
    buf = buf.reshape(-1)
    return new.reshape(-1), MuonState(state.step + 1, buf), StepReport(1, 0, g, {"buf": buf})


# ---------------------------------------------------------------------------------------------------------------
# Adafactor

ADAFACTOR_PARAMS = (
    Param("beta2_decay", r"\hat\beta_2", -0.8, "the second moment's rate is 1 − β₂ = t^(β̂₂)", high=0.0),
    Param("eps1", r"\varepsilon_1", float(np.finfo(float).eps), "the smallest v the update divides by is ε₁² "
          "(torch's None: the parameters' machine epsilon)", low=0.0, log=True),
    Param("eps2", r"\varepsilon_2", 1e-3, "the smallest parameter RMS the step is scaled by", low=0.0, log=True),
    Param("d", "d", 1.0, "clipping threshold: the update's RMS is at most d", low=1.0),
    Param("weight_decay", r"\lambda", 0.0, "decoupled weight decay: θ ← θ(1 − αλ)", low=0.0, role=WEIGHT_DECAY),
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


# ---------------------------------------------------------------------------------------------------------------
# Prodigy (prodigyopt 1.1.2, the authors' reference class)

UNBOUNDED = float(np.finfo(float).max)  # Prodigy's growth_rate=inf: d·UNBOUNDED ≥ any d_max, as d·∞ is
PRODIGY_PARAMS = (
    Param("beta1", r"\beta_1", 0.9, "decay rate of the first moment", low=0.0, high=1.0, high_open=True,
          role=MOMENTUM),
    Param("beta2", r"\beta_2", 0.999, "decay rate of the second moment", low=0.0, high=1.0, high_open=True,
          role=DECAY_RATE),
    Param("beta3", r"\beta_3", math.sqrt(0.999), "decay rate of d's sums (the reference's None: √β₂)", low=0.0,
          high=1.0, high_open=True, role=DECAY_RATE),
    Param("eps", r"\varepsilon", 1e-8, "added to the denominator, times d", low=0.0, low_open=True, log=True),
    Param("weight_decay", r"\lambda", 0.0, "weight decay", low=0.0, role=WEIGHT_DECAY),
    Param("decouple", r"\text{decouple}", True, "decay the weights as AdamW does instead of adding λθ to g",
          kind="bool"),
    Param("use_bias_correction", r"\text{bias correction}", False, "scale the rate by √(1−β₂ᵏ⁺¹)/(1−β₁ᵏ⁺¹)",
          kind="bool"),
    Param("safeguard_warmup", r"\text{safeguard warmup}", False, "leave α out of the sum s (for warm-up)",
          kind="bool"),
    Param("d0", "d_0", 1e-6, "the first estimate of the distance to the solution", low=0.0, low_open=True,
          log=True),
    Param("d_coef", "c_d", 1.0, "scales every estimate of d", low=0.0, low_open=True),
    Param("growth_rate", r"\gamma_d", UNBOUNDED, "the most d may grow per step (unbounded by default)", low=1.0),
)


class ProdigyState(NamedTuple):
    step: int  # the reference's k: steps that updated (a zero gradient at the start leaves k as it was)
    d: float  # the estimate of the distance to the solution, by which the rate is scaled
    d_max: float
    d_numerator: float
    m: np.ndarray
    v: np.ndarray
    s: np.ndarray
    p0: np.ndarray


def prodigy_fill(hparams: dict) -> dict:
    """The reference's defaults that follow from others: β₃ = √β₂ unless given; growth_rate ∞ as UNBOUNDED."""
    filled = dict(hparams)
    if filled.get("beta3") is None:
        filled["beta3"] = math.sqrt(filled.get("beta2", PRODIGY_PARAMS[1].default))
    if filled.get("growth_rate") == math.inf:
        filled["growth_rate"] = UNBOUNDED
    return filled


def prodigy_init(params: np.ndarray, d0: float) -> ProdigyState:
    zeros = np.zeros_like(params)
    return ProdigyState(0, d0, d0, 0.0, zeros, zeros, zeros, params.copy())


def prodigy_step(params: np.ndarray, state: ProdigyState, objective: Objective, hparams: dict, lr: float):
    """dlr = d·α·bc;  r ← β₃·r + (d/d₀)·dlr·gᵀ(θ₀ − θ);  m ← β₁m + d(1−β₁)g;  v ← β₂v + d²(1−β₂)g²;
    s ← β₃s + (d/d₀)·dlr·g;  d ← min(max(d_max, c_d·r/‖s‖₁), d·γ_d) (d₀ grows to d̂ at once);
    θ ← θ − dlr·m/(√v + d·ε)  — prodigyopt 1.1.2's Prodigy.step, one parameter group."""
    g = objective.grad(params)
    h = hparams
    beta1, beta2, beta3, d, d0, k = h["beta1"], h["beta2"], h["beta3"], state.d, h["d0"], state.step
    bias = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1)) if h["use_bias_correction"] else 1
    dlr = d * lr * bias
    grad = axpy(h["weight_decay"], params, g) if h["weight_decay"] != 0 and not h["decouple"] else g
    delta_numerator = (d / d0) * dlr * dot(grad, state.p0 - params)
    m = axpy(d * (1 - beta1), grad, state.m * beta1) if beta1 > 0 else state.m
    v = addcmul(state.v * beta2, grad, grad, d * d * (1 - beta2))
    s = axpy((d / d0) * d if h["safeguard_warmup"] else (d / d0) * dlr, grad, state.s * beta3)
    d_denom = float(np.abs(s).sum())
    report = StepReport(1, 0, g, {"m": m, "v": v, "d": np.float64(d)})
    if d_denom == 0:  # the reference returns before d and θ move (its moments updated, k kept)
        return params, state._replace(m=m, v=v, s=s), report
    numerator = state.d_numerator * beta3 + delta_numerator
    d_hat = h["d_coef"] * numerator / d_denom
    d_max = state.d_max
    if d == d0:
        d = max(d, d_hat)
    d_max = max(d_max, d_hat)
    d = min(d_max, d * h["growth_rate"])
    denom = np.sqrt(v) + d * h["eps"]
    if h["weight_decay"] != 0 and h["decouple"]:
        params = axpy(-h["weight_decay"] * dlr, params, params)
    params = addcdiv(params, m, denom, -dlr) if beta1 > 0 else addcdiv(params, grad, denom, -dlr * d)
    new = ProdigyState(k + 1, d, d_max, numerator, m, v, s, state.p0)
    return params, new, report._replace(trace={"m": m, "v": v, "d": np.float64(d)})
