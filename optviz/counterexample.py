"""Adam's non-convergence counterexample (Reddi, Kale & Kumar, ICLR 2018, section 3).

An online problem on the interval [−1, 1]: at step t the loss is f_t(x) = C·x when t ≡ 1 (mod 3) and −x
otherwise, with C > 2. Over a period the loss is (C − 2)·x, so the best fixed point is x = −1. With β1 = 0 and
β2 = 1/(1 + C²), Adam drifts to x = +1; AMSGrad, whose second moment never decreases, goes to −1. The same
optimizer implementations as everywhere else take the steps; each iterate is projected back onto [−1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .optimizers import optimizer
from .schedules import schedule


@dataclass(frozen=True)
class OnlineRun:
    optimizer: str
    x: np.ndarray  # (steps + 1,) iterates, x[0] the start
    regret: np.ndarray  # (steps,) average regret R_t / t against the best fixed point x = −1


def online_gradient(t: np.ndarray | int, c: float) -> np.ndarray:
    """∂f_t/∂x: C once every three steps (t ≡ 1 mod 3, counting from t = 1), −1 otherwise."""
    return np.where(np.asarray(t) % 3 == 1, c, -1.0)


def reddi_run(name: str, *, c: float = 3.0, steps: int = 3000, lr: float = 0.5, start: float = 1.0) -> OnlineRun:
    """Run `name` (adam or amsgrad) on the online problem with β1 = 0, β2 = 1/(1 + C²) and α_t = α/√t."""
    if not (np.isfinite(c) and c > 2):
        raise ValueError(f"C must be a number greater than 2, got {c!r}")
    if not (isinstance(steps, int) and 1 <= steps <= 100_000):
        raise ValueError(f"steps must be an integer in [1, 100000], got {steps!r}")
    # α/√t from the paper, as torch's inverse-square-root form α/√(1 + t') with t' = t − 1
    opt = optimizer(name, lr=lr, beta1=0.0, beta2=1.0 / (1.0 + c * c), schedule=schedule("inverse_sqrt",
                                                                                         timescale=1))
    x = np.array([start], dtype=float)
    state = opt.init(x)
    xs = np.empty(steps + 1)
    xs[0] = start
    for t in range(1, steps + 1):
        opt.step_(x, online_gradient(t, c).reshape(1), state)
        np.clip(x, -1.0, 1.0, out=x)  # the projection onto the feasible set
        xs[t] = x[0]
    t = np.arange(1, steps + 1)
    losses = online_gradient(t, c) * xs[:-1]  # f_t(x_t): linear losses
    best = online_gradient(t, c) * -1.0
    return OnlineRun(name, xs, np.cumsum(losses - best) / t)
