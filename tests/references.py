"""The torch reference fixture, read with NumPy only (torch is never imported by the tests).

tests/fixtures/torch_references.npz is written by tools/make_torch_references.py; its docstring describes the
problem, the cases and which reference (torch.optim or a paper's algorithm) each case follows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "torch_references.npz"

with np.load(FIXTURE) as _data:
    META = json.loads(str(_data["meta"]))
    ARRAYS = {key: _data[key] for key in _data.files if key != "meta"}
    LRS = {s["key"]: _data[s["key"]] for s in META["schedules"]}
    MOMENTA = {s["key"]: _data[s["key"].replace("lr_", "momentum_")] for s in META["schedules"]}

X0 = np.array(META["x0"], dtype=np.float64)
STEPS = META["steps"]


def _with_trajectories(cases: list[dict]) -> list[dict]:
    """The cases, each with its trajectory (from the array of its length, 80 or 300 steps, in the cases' order) and
    the reference's state a user reads, by optviz's name, after every step (for the optimizers of issue 29)."""
    taken = dict.fromkeys(ARRAYS, 0)
    out = []
    for case in cases:
        key = case.get("array", "trajectories")
        states = {name: ARRAYS[array] for name, array in case.get("states", {}).items()}
        out.append(dict(case, trajectory=ARRAYS[key][taken[key]], states=states))
        taken[key] += 1
    return out


CASES = _with_trajectories(META["cases"])
UNSCHEDULED = [case for case in CASES if case["schedule"] is None]
SCHEDULED = [case for case in CASES if case["schedule"] is not None]
SCHEDULES = [dict(s, lrs=LRS[s["key"]], momenta=MOMENTA[s["key"]]) for s in META["schedules"]]

# Reference and optviz differ only in rounding. Coordinates that pass close to 0 (Lion moves in steps of exactly
# ±lr, so some land within 1e-16 of 0) need an absolute floor; 1e-14 is far below any step size used here.
RTOL = 1e-10
ATOL = 1e-14


def gradient(x: np.ndarray) -> np.ndarray:
    """∇f of the fixture's problem, with the same operations in the same order as the generator's torch version.

    f(x) = Σ (1 − u)² + 5 (v − u²)² + 0.05 (u⁴ + v⁴) with u = x[..., 0, :], v = x[..., 1, :].
    """
    u, v = x[..., 0, :], x[..., 1, :]
    r = v - u * u
    gu = 2.0 * (u - 1.0) - 20.0 * u * r + 0.2 * u * u * u
    gv = 10.0 * r + 0.2 * v * v * v
    return np.stack([gu, gv], axis=-2)


def assert_follows(opt, expected: np.ndarray, x0: np.ndarray = X0, in_place: bool = True,
                   objective: float = 1.0) -> None:
    """Run `opt` from x0 on the problem (on −f with objective=−1) and compare the parameters after every step with
    `expected`."""
    params = np.array(x0, dtype=np.float64)
    state = opt.init(params)
    step = opt.step_ if in_place else opt.step
    for t, want in enumerate(expected, start=1):
        params, state = step(params, objective * gradient(params), state)
        np.testing.assert_allclose(params, want, rtol=RTOL, atol=ATOL, err_msg=f"{opt!r}: differs at step {t}")
