"""Where gradient descent and momentum are stable on a quadratic: the theory drawn over the sweeps.

On a surface with a constant Hessian H (the quadratics; least squares with the full batch), with eigenvalues λ:

- gradient descent θ ← θ − α·Hθ converges iff 0 < α·λ < 2 for every λ: α < 2/λ_max;
- torch's SGD with momentum (b ← μ·b + g, θ ← θ − α·b) is Polyak's heavy ball,
  θ_{t+1} = θ_t − α·g_t + μ·(θ_t − θ_{t−1}), whose two roots per eigenvalue lie inside the unit circle iff
  0 ≤ μ < 1 and 0 < α·λ < 2(1 + μ): α < 2(1 + μ)/λ_max.

Weight decay adds wd to every eigenvalue; dampening τ scales the gradient entering the velocity by 1 − τ.

    lr_limit(surface("quadratic", condition=25), "momentum", momentum=np.array([0.0, 0.9]))  # → [2.0, 3.8]
"""

from __future__ import annotations

import numpy as np

from .optimizers import SPECS as OPTIMIZERS
from .params import LR, WEIGHT_DECAY
from .surfaces import Surface


def curvatures(surface: Surface) -> np.ndarray | None:
    """Eigenvalues of the surface's Hessian when it is the same everywhere and every step sees it exactly;
    None otherwise (a curved surface, or mini-batches: each batch has a Hessian of its own)."""
    hessian = surface.hessian()
    if hessian is None or (surface.model is not None and surface.params["batch_size"] < surface.model.n):
        return None
    return np.linalg.eigvalsh(hessian)


def known(optimizer: str) -> bool:
    """Whether the catalogue knows, in closed form, where the optimizer is stable on a quadratic's Hessian (the
    Adam family's relation is on the preconditioned Hessian, which changes with its state: not drawn here)."""
    stable = OPTIMIZERS[optimizer].stability
    return stable is not None and not stable.preconditioned


def lr_limit(surface: Surface, optimizer: str, **hparams):
    """The largest stable learning rate (exclusive) of `optimizer` on `surface`, for its hyperparameters
    (scalars or arrays, broadcast together); None where the theory does not apply: bound/(λ_max + wd), with its
    catalogue entry's bound (gradient descent's 2, the heavy ball's 2(1 + μ)/(1 − τ))."""
    lambdas = curvatures(surface)
    if lambdas is None or not known(optimizer):
        return None
    spec = OPTIMIZERS[optimizer]
    decay = next((p.name for p in spec.params if p.role == WEIGHT_DECAY), None)  # an L2 decay adds to every λ
    top = lambdas.max() + np.asarray(hparams.get(decay, 0.0) if decay else 0.0, dtype=float)
    return spec.stability.bound(hparams) / top


def gradient_descent_limit(surface: Surface):
    """2/λ_max: where plain gradient descent stops converging (None where the theory does not apply)."""
    lambdas = curvatures(surface)
    return None if lambdas is None else 2.0 / lambdas.max()


def boundary_curve(surface: Surface, optimizer: str, x_param: str, x_values, y_param: str, y_values,
                   fixed: dict, n: int = 200) -> tuple[np.ndarray, np.ndarray] | None:
    """The stability boundary over a sweep's two axes, as points (x, y) in hyperparameter values: the largest
    stable α for each value of the other axis, densely. None unless one axis is the learning rate and the theory
    applies (sgd or momentum on a constant-Hessian surface)."""
    if LR not in (x_param, y_param) or not known(optimizer):
        return None
    lr_is_x = x_param == LR
    other, values = (y_param, y_values) if lr_is_x else (x_param, x_values)
    dense = _dense(np.asarray(values, dtype=float), n)
    limits = lr_limit(surface, optimizer, **{**fixed, other: dense})
    if limits is None:
        return None
    limits = np.broadcast_to(limits, dense.shape)
    return (limits, dense) if lr_is_x else (dense, limits)


def _dense(values: np.ndarray, n: int) -> np.ndarray:
    """n values over the range of a sweep axis, spaced as the axis is: geometrically (log axes), geometrically
    in 1 − value (decay rates), or evenly."""
    low, high = values.min(), values.max()
    if _geometric(values):
        return np.geomspace(low, high, n)
    if high < 1 and _geometric(1 - values):
        return 1 - np.geomspace(1 - low, 1 - high, n)
    return np.linspace(low, high, n)


def _geometric(values: np.ndarray) -> bool:
    values = np.sort(values)
    if len(values) < 3 or values[0] <= 0:
        return False
    steps = np.diff(np.log(values))
    return bool(np.ptp(steps) <= 1e-6 * abs(steps.mean()))
