"""Stationary points of a surface: polished by Newton's method, and told apart by their curvature.

    newton(grad, points)      # (k, 2): each point polished by Newton's method on the gradient
    hessians(grad, points)    # (k, 2, 2): central differences of the analytic gradient, symmetrized
    classify(hessians)        # (k,): "minimum", "saddle", "maximum" or "unknown", by the eigenvalues

`grad` is a surface's gradient, grad(x, y) -> (df/dx, df/dy), vectorized over points: every function here takes
all k points at once. The built-in surfaces (`surfaces.py`) polish the approximate minima and saddles they list;
typed surfaces (`optviz.custom`) search theirs from a grid, polish them and classify what they find.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

NEWTON_STEPS = 60  # quadratic convergence: a start within reach is polished in a handful of steps
NEWTON_TOLERANCE = 1e-14  # a point stops when its step is below this, relative to max(1, |p|∞)
HESSIAN_STEP = 1e-6  # central differences with h = HESSIAN_STEP·max(1, |p|∞)
CURVATURE_TOLERANCE = 1e-6  # an eigenvalue within this of zero, relative to the largest |λ|, is neither sign


def newton(grad: Callable, points, steps: int = NEWTON_STEPS) -> np.ndarray:
    """Points (k, 2) polished by Newton's method, p ← p − H⁺∇f(p), all at once; a (k, 2) array, in order.

    H is `hessians` and H⁺ its pseudo-inverse: a flat direction must not blow the step up. Each point stops on its
    own, when its step is under NEWTON_TOLERANCE·max(1, |p|∞), or where its gradient or Hessian is not a moderate
    number (outside a typed function's domain, or overflowing), keeping its last point. So a point returned need
    not be stationary: a search checks the gradient there.
    """
    p = _as_points(points).copy()
    moving = np.isfinite(p).all(axis=1)
    for _ in range(steps):
        if not moving.any():
            break
        q = p[moving]
        g, h = gradients(grad, q), hessians(grad, q)
        ok = moderate(g) & moderate(h)
        delta = np.zeros_like(q)
        if ok.any():
            delta[ok] = np.einsum("kij,kj->ki", np.linalg.pinv(h[ok]), g[ok])
        new = q - delta
        ok &= np.isfinite(new).all(axis=1)
        p[moving] = np.where(ok[:, None], new, q)
        moving[moving] = ok & (np.abs(delta).max(axis=1) >= NEWTON_TOLERANCE * np.maximum(1.0, np.abs(new).max(axis=1)))
    return p


def hessians(grad: Callable, points) -> np.ndarray:
    """Hessians (k, 2, 2) at points (k, 2): H[:, j] = (∇f(p + h·e_j) − ∇f(p − h·e_j)) / 2h, then (H + Hᵀ)/2."""
    p = _as_points(points)
    h = HESSIAN_STEP * np.maximum(1.0, np.abs(p).max(axis=1, initial=0.0))[:, None]
    columns = [(gradients(grad, p + h * e) - gradients(grad, p - h * e)) / (2 * h) for e in np.eye(2)]
    jacobian = np.stack(columns, axis=-1)
    return (jacobian + np.swapaxes(jacobian, -1, -2)) / 2


def classify(hessians: np.ndarray) -> np.ndarray:
    """What stationary point each Hessian (k, 2, 2) makes, by its eigenvalues λ₁ ≤ λ₂, as strings (k,).

    "minimum" when λ₁ > τ, "saddle" when λ₁ < −τ < τ < λ₂, "maximum" when λ₂ < −τ, with τ = CURVATURE_TOLERANCE·
    max|λ|; "unknown" when an eigenvalue is within τ of zero (second derivatives cannot tell) or the Hessian is
    not a moderate number.
    """
    hessians = np.asarray(hessians, dtype=float).reshape(-1, 2, 2)
    kinds = np.full(len(hessians), "unknown")
    known = np.flatnonzero(moderate(hessians))
    if not len(known):
        return kinds
    low, high = np.linalg.eigvalsh(hessians[known]).T
    tolerance = CURVATURE_TOLERANCE * np.maximum(np.abs(low), np.abs(high))
    kinds[known[low > tolerance]] = "minimum"
    kinds[known[(low < -tolerance) & (high > tolerance)]] = "saddle"
    kinds[known[high < -tolerance]] = "maximum"
    return kinds


def gradients(grad: Callable, points) -> np.ndarray:
    """The gradient at points (k, 2), as (k, 2) (a constant component filled in for every point)."""
    p = _as_points(points)
    return np.stack([np.broadcast_to(np.asarray(g, dtype=float), len(p)) for g in grad(p[:, 0], p[:, 1])], axis=-1)


def moderate(arrays: np.ndarray) -> np.ndarray:
    """Which of the stacked vectors or matrices LAPACK may see: finite, and far from overflowing its norms."""
    return (np.abs(arrays) <= 1e150).all(axis=tuple(range(1, np.ndim(arrays))))


def _as_points(points) -> np.ndarray:
    return np.asarray(points, dtype=float).reshape(-1, 2)
