"""Sharpness: the top eigenvalue of the training loss's Hessian, and the largest one an optimizer's step can bear.

    tracker = SharpnessTracker(model, x_eval, y_eval, opt, state, every=25)
    tracker.measure(step)        # {"step", "sharpness", "threshold", "preconditioned", "iterations", "seconds", …}

Gradient descent on a quadratic with Hessian H is stable only while α·λ_max(H) < 2; heavy-ball momentum while
α·λ_max < 2(1 + μ). Trained networks drift to that edge: the sharpness rises until it reaches the threshold and then
hovers there, while the loss keeps falling, non-monotonically (Cohen et al., ICLR 2021). For Adam the same holds for
the preconditioned sharpness λ_max(P⁻¹H), P = (1 − β₁ᵗ)·(diag(√v̂) + ε) from the optimizer's own state, against
(2 + 2β₁)/((1 − β₁)α), 38/α at β₁ = 0.9 (Cohen et al., 2022).

* λ_max by Lanczos with full reorthogonalisation on exact Hessian-vector products (the networks'
  `hessian_operator`, Pearlmutter's R-operator: forward-over-backward, no differences), warm-started from the
  previous top eigenvector, so that a slowly moving eigenvector costs a few products; the recurrence in float64.
* The threshold is the catalogue's relation α·λ < bound (OptimizerSpec.stability), read for λ at the current α:
  2/α for SGD, 2(1 + μ)/((1 − τ)α) for heavy-ball momentum (less any L2 weight decay, which adds to every
  curvature), and for the Adam family, whose update θ ← θ − α·P⁻¹m is, with P frozen, momentum with dampening β₁ on
  P⁻¹H: (2 + 2β₁)/((1 − β₁)α). Optimizers whose stability the catalogue does not know get none.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..optimizers import Optimizer, effective_step
from ..params import LR, WEIGHT_DECAY

DEFAULT_EVERY = 250         # steps between two measurements in mini-batch training (see SharpnessSettings)
DEFAULT_DIGITS = 256        # the fixed evaluation batch
DEFAULT_ITERATIONS = 20     # Lanczos products at most per measurement
DEFAULT_TOLERANCE = 1e-3    # relative residual bound at which Lanczos stops
LIVE_TOLERANCE = 1e-2       # the same while training: a Ritz value's error is about residual²/gap, far below 1 %


@dataclass(frozen=True)
class SharpnessSettings:
    """How a trainer measures the sharpness: every `every` (K) steps, on its first `digits` training digits (a
    fixed batch), with at most `iterations` Lanczos products to a relative residual `tol`.

    A measurement costs about as much as 1 + (its iterations) gradients on `digits` digits: 14 iterations cold (the
    first), 5–10 warm-started while mini-batch noise moves the eigenvector, about 40 training steps of the tab's
    MLP at batch 64. The defaults keep the measurements within a quarter of the training time over a training of a
    few thousand steps (benchmarks/bench_sharpness.py, docs/benchmarks.md).
    """

    every: int = DEFAULT_EVERY
    digits: int = DEFAULT_DIGITS
    iterations: int = DEFAULT_ITERATIONS
    tol: float = LIVE_TOLERANCE

    def __post_init__(self):
        for name, low, high in (("every", 1, 10**7), ("digits", 1, 10**5), ("iterations", 2, 1000)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not low <= value <= high:
                label = {"every": "the sharpness interval K", "digits": "the sharpness's evaluation digits",
                         "iterations": "Lanczos iterations"}[name]
                raise ValueError(f"{label} must be a whole number from {low:,} to {high:,}, got {value!r}")
        if not 0 < self.tol < 1:
            raise ValueError(f"the Lanczos tolerance must be in (0, 1), got {self.tol!r}")


# ---------------------------------------------------------------------------------------------------------------
# The top eigenvalue

@dataclass(frozen=True)
class TopEigen:
    value: float            # the largest eigenvalue (algebraic: a larger negative one is not it)
    vector: np.ndarray      # its unit eigenvector, float64
    iterations: int         # Hessian-vector products made
    residual: float         # ‖A q − λ q‖ of the pair: some eigenvalue lies within it of `value`


def top_eigen(matvec: Callable[[np.ndarray], np.ndarray], start: np.ndarray, iterations: int = DEFAULT_ITERATIONS,
              tol: float = DEFAULT_TOLERANCE) -> TopEigen:
    """The largest eigenvalue of the symmetric operator `matvec` by Lanczos from `start`.

    Full reorthogonalisation (the basis kept in `start`'s dtype, float32 or float64; the recurrence in float64), so
    no spurious copies appear; stops after
    `iterations` products, or once the top Ritz pair's residual |β_{k+1} s_k| is at most tol·|λ|, or when the
    Krylov space is exhausted (then the value is exact).
    """
    n = start.size
    iterations = max(1, min(int(iterations), n))
    q = np.asarray(start, dtype=np.float64).reshape(-1)
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("the Lanczos start vector must be finite and non-zero")
    q = q / norm
    basis = np.empty((iterations, n), dtype=start.dtype if start.dtype == np.float32 else np.float64)
    alphas, betas = [], []
    value, ritz, residual = math.nan, np.zeros(1), math.inf
    for k in range(iterations):
        basis[k] = q
        w = np.asarray(matvec(basis[k]), dtype=np.float64)
        alpha = float(w @ q)
        w -= alpha * q
        if k:
            w -= betas[-1] * basis[k - 1]
        # twice is enough (Kahan–Parlett): w loses what it shares with the basis, to rounding (in the basis's
        # precision: a float32 basis is not copied to float64 for it)
        for _ in range(2):
            w -= (basis[:k + 1] @ w.astype(basis.dtype, copy=False)) @ basis[:k + 1]
        beta = float(np.linalg.norm(w))
        alphas.append(alpha)
        tridiagonal = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
        values, vectors = np.linalg.eigh(tridiagonal)
        value, ritz = float(values[-1]), vectors[:, -1]
        residual = abs(beta * ritz[-1])
        if not np.isfinite(value):
            raise FloatingPointError("the Hessian-vector products are not finite (has training diverged?)")
        if residual <= tol * abs(value) or beta <= 1e-12 * max(abs(value), 1e-300):
            break
        betas.append(beta)
        q = w / beta
    used = len(alphas)
    vector = ritz @ basis[:used].astype(np.float64)
    return TopEigen(value, vector / np.linalg.norm(vector), used, residual)


def preconditioner(opt: Optimizer, state) -> np.ndarray | None:
    """diag(P⁻¹) of an Adam-family optimizer at its state's step t, float64: the update is θ ← θ − α·P⁻¹m.

    P = (1 − β₁ᵗ)·(diag(√v̂) + ε) with ε placed as the optimizer places it, so P⁻¹ is exactly
    optviz.optimizers.effective_step with m = 1 and α = 1. None for an optimizer without these moments or before
    its first step (v = 0 preconditions nothing yet).
    """
    second = _second_moment(opt, state)
    t = int(state.step)
    if second is None or t < 1:
        return None
    v = np.asarray(getattr(state, second), dtype=np.float64).reshape(1, -1)
    return effective_step(np.ones_like(v), v, t, 1.0, opt.hparams)[0]


def _second_moment(opt: Optimizer, state) -> str | None:
    """The state's denominator moment (v, v_max or s) when the optimizer is of the Adam family, else None."""
    moments = opt.spec.moments(state._fields)  # by their roles in the catalogue
    return moments[1] if moments else None


# ---------------------------------------------------------------------------------------------------------------
# The stability threshold

@dataclass(frozen=True)
class Threshold:
    value: float | None     # the largest curvature the step bears (None: none is known for this rule)
    preconditioned: bool    # compare it with λ_max(P⁻¹H) rather than λ_max(H)
    formula: str            # how it reads, e.g. "2/α", "2(1+μ)/α", "(2+2β₁)/((1−β₁)α)"


def stability_threshold(opt: Optimizer, step: int) -> Threshold:
    """The sharpness the step at `step` + 1 bears (its learning rate α at that step), from the catalogue's relation
    α·λ < bound (OptimizerSpec.stability): bound/α, less any L2 weight decay (which adds to every curvature), or of
    the preconditioned Hessian for the Adam family; no threshold where the catalogue knows none."""
    stable = opt.spec.stability
    if stable is None:
        return Threshold(None, False, "")
    lr = float(np.asarray(opt.lr_at(step + 1)).reshape(-1)[0])
    value = float(stable.bound(opt.hparams)) / lr
    if not stable.preconditioned:   # an L2 decay adds to every curvature the step sees
        decay = next((p.name for p in opt.spec.params if p.role == WEIGHT_DECAY), None)
        value -= float(opt.hparams.get(decay, 0.0)) if decay else 0.0
    formula = stable.sharpness_rule.partition("<")[2].strip()
    return Threshold(value if math.isfinite(value) else None, stable.preconditioned, formula)


# ---------------------------------------------------------------------------------------------------------------
# Tracking it during training

class SharpnessTracker:
    """λ_max of the loss on a fixed evaluation batch, measured on request (every `every` steps by the trainers),
    each measurement warm-started from the last eigenvector, with the optimizer's threshold beside it.

    For the Adam family the measured quantity is the preconditioned sharpness λ_max(P⁻¹H) (as λ_max of the
    symmetric P^{−½}HP^{−½}), P from the optimizer's state at that moment; for the others λ_max(H).
    `optimizer` may be replaced between measurements (a hyperparameter changed mid-training).
    """

    def __init__(self, model, x: np.ndarray, y: np.ndarray, opt: Optimizer, state, *, every: int = DEFAULT_EVERY,
                 iterations: int = DEFAULT_ITERATIONS, tol: float = DEFAULT_TOLERANCE, seed: int = 0):
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
            raise ValueError(f"the sharpness interval K must be an integer ≥ 1, got {every!r}")
        if not isinstance(iterations, (int, np.integer)) or iterations < 2:
            raise ValueError(f"Lanczos iterations must be an integer ≥ 2, got {iterations!r}")
        if len(x) < 1 or len(x) != len(y):
            raise ValueError("the sharpness's evaluation batch needs at least one digit, with one label each")
        self.model, self.x, self.y = model, x, y
        self.optimizer, self.state = opt, state
        self.every, self.iterations, self.tol = int(every), int(iterations), tol
        self.records: list[dict] = []
        self.seconds = 0.0
        self._vector = np.random.default_rng(seed).standard_normal(model.n_params)

    def due(self, step: int) -> bool:
        return step % self.every == 0

    def measure(self, step: int) -> dict:
        """Measure now (the weights and the optimizer state of step `step`); the record is also kept in `records`."""
        start = time.perf_counter()
        threshold = stability_threshold(self.optimizer, step)
        hvp = self.model.hessian_operator(self.x, self.y)
        scale = preconditioner(self.optimizer, self.state) if threshold.preconditioned else None
        if threshold.preconditioned and scale is None:
            matvec = None   # Adam before its first step: no preconditioner yet
        elif scale is not None:
            root = np.sqrt(scale)
            matvec = lambda u: root * hvp(root * u)   # noqa: E731 (P^{−½} H P^{−½})
        else:
            matvec = hvp
        record = {"step": step, "threshold": threshold.value, "preconditioned": threshold.preconditioned,
                  "formula": threshold.formula, LR: float(np.asarray(self.optimizer.lr_at(step + 1)).reshape(-1)[0])}
        if matvec is None:
            record.update(sharpness=None, iterations=0)
        else:
            start_vector = self._vector.astype(self.model.dtype)
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    eigen = top_eigen(matvec, start_vector, self.iterations, self.tol)
                except FloatingPointError:
                    eigen = None
            if eigen is None:
                record.update(sharpness=None, iterations=self.iterations)
            else:
                self._vector = eigen.vector
                record.update(sharpness=eigen.value, iterations=eigen.iterations)
        seconds = time.perf_counter() - start
        self.seconds += seconds
        record["seconds"] = seconds
        self.records.append(record)
        return record
