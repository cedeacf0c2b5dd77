"""What an optimizer that is not element-wise is given and gives back at each step: the loss to evaluate
(`Objective`) and what it evaluated (`StepReport`), so that a race can count gradient evaluations."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np


class Objective(NamedTuple):
    """The loss an optimizer steps on, at a point p (2,): value(p) -> float, grad(p) -> (2,), hessian(p) -> (2, 2)
    (None where the loss has none)."""

    value: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    hessian: Callable[[np.ndarray], np.ndarray] | None = None


class StepReport(NamedTuple):
    """What one step evaluated and where it went: `evaluations` gradients (a value-and-gradient evaluation counts
    once, as torch's L-BFGS counts it), `hessians` Hessians; `grad` the gradient the update used (SAM's: the one at
    the perturbed point); `trace` the quantities the race records, by name (their roles: the spec's `traces`), each a
    number or an (x, y) pair; `inner` what it records per inner iteration (L-BFGS's iterates), or None."""

    evaluations: int
    hessians: int
    grad: np.ndarray
    trace: dict[str, np.ndarray]
    inner: dict[str, np.ndarray] | None = None
