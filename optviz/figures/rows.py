"""The optimizer-state panels beside the map: one row per quantity, only the rows some optimizer has.

A state row takes each optimizer's state by its role in the catalogue (the first role it has a state for, e.g.
AMSGrad's running maximum, the one its step divides by, before its second moment); a diagnostic row takes the
quantities the catalogue's diagnostics work out (m̂, v̂, the effective step). At most one quantity per optimizer
and row, drawn per coordinate: x solid, y dashed, in the optimizer's colour; a quantity of the whole vector (a
number per step, such as Prodigy's distance estimate d) is one solid line. Quantities that stay exactly zero
(RMSProp's velocity without momentum, its mean gradient when not centered) are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..optimizers import (
    ACCUMULATOR,
    FIRST_MOMENT,
    INFINITY_NORM,
    MEAN_GRADIENT,
    RUNNING_MAX,
    SECOND_MOMENT,
    UPDATE_AVERAGE,
    VELOCITY,
    effective_step_formula,
)
from ..second_order import DISTANCE

COORDINATE_DASH = ("solid", "dash")


@dataclass(frozen=True)
class Row:
    key: str
    words: str  # what the row shows, in words
    symbols: str = ""  # and in symbols: all of its title that a row too narrow for the whole keeps
    names: tuple[str, ...] = ()  # diagnostics' names; an optimizer shows the first it has
    roles: tuple[str, ...] = ()  # or states' roles; an optimizer shows its state of the first role it has
    log: bool = False  # positive quantities spanning decades
    pair: bool = False  # the row shows two scalar series (names[0] solid, names[1] dashed), not one per coordinate
    # hparams -> the symbols the title shows (the effective step's formula, as each optimizer places ε), and what
    # the title adds for runs whose formulas differ
    formula: Callable[[dict], str] | None = None
    mixed: str = ""

    def titles_for(self, trajectories) -> tuple[str, str]:
        """The title, and its symbols alone: with the formula these runs share (where ε sits, when they all place
        it alike)."""
        symbols = self.symbols
        if self.formula is not None:
            formulas = {self.formula(traj.optimizer.hparams) for traj in trajectories}
            if len(formulas) > 1:
                return f"{self.words}  {symbols}, {self.mixed}", symbols
            symbols = formulas.pop()
        return f"{self.words}  {symbols}", symbols


ROWS = (
    Row("moment1", "first moment / velocity", "(m, buf)", roles=(FIRST_MOMENT, VELOCITY, MEAN_GRADIENT)),
    Row("moment2", "second moment / accumulator", "(v, v_max, sum, s, u)",
        roles=(RUNNING_MAX, SECOND_MOMENT, ACCUMULATOR, INFINITY_NORM, UPDATE_AVERAGE), log=True),
    Row("m_hat", "bias-corrected first moment", "m̂ = m / (1 − β₁ᵗ)", ("m_hat",)),
    Row("v_hat", "bias-corrected second moment", "v̂ = v / (1 − β₂ᵗ)", ("v_hat",), log=True),
    Row("effective_step", "effective step", "α·m̂ / (√v̂ + ε)", ("effective_step",), formula=effective_step_formula,
        mixed="ε where each optimizer places it"),
    Row("bias_corrections", "bias correction", "1 − β₁ᵗ (solid),  1 − β₂ᵗ (dashed)", ("bc1", "bc2"), pair=True),
    Row("distance", "distance estimate", "d  (the step scales with d·α)", roles=(DISTANCE,), log=True),
)


@dataclass(frozen=True)
class Line:
    """One series of a row: values at steps 1..steps."""

    label: str  # the optimizer's race label
    name: str  # the recorded quantity, "m"
    part: str  # "x", "y", or the quantity for pair rows
    values: np.ndarray
    dash: str


def row_lines(traj, label: str, row: Row) -> list[Line]:
    """The series `traj` contributes to `row`: none, one per coordinate, or the row's pair."""
    trace = traj.trace or {}
    if row.pair:
        present = [name for name in row.names if _informative(trace.get(name))]
        return [Line(label, name, name, np.asarray(trace[name], dtype=float), COORDINATE_DASH[i])
                for i, name in enumerate(row.names) if name in present]
    informative = [n for n in trace if _informative(trace[n])]
    if row.roles:
        spec = traj.optimizer.spec
        name = next((n for role in row.roles for n in informative if spec.role_of(n) == role), None)
    else:
        name = next((n for n in row.names if n in informative), None)
    if name is None:
        return []
    values = np.asarray(trace[name], dtype=float)
    if values.ndim == 1:  # a quantity of the whole vector
        return [Line(label, name, name, values, COORDINATE_DASH[0])]
    return [Line(label, name, axis, values[:, i], COORDINATE_DASH[i]) for i, axis in enumerate("xy")]


def _informative(values) -> bool:
    """Recorded per step, with some finite non-zero value."""
    if values is None or np.ndim(values) not in (1, 2):
        return False
    values = np.asarray(values, dtype=float)
    return bool(np.any(np.isfinite(values) & (values != 0)))


def first_moment(traj) -> np.ndarray | None:
    """The (steps, 2) first moment or velocity the moment arrow shows, if the optimizer keeps one."""
    lines = row_lines(traj, "", ROWS[0])
    return np.asarray(traj.trace[lines[0].name], dtype=float) if lines else None


def row_range(lines: list[Line], log: bool) -> tuple[list[float], bool]:
    """A padded y range over every line of a row (log10 units on a log axis) and whether the axis is log.

    The range is fixed rather than autoranged so the step cursor can span it exactly. A log row with nothing
    positive falls back to linear.
    """
    values = np.concatenate([line.values for line in lines])
    values = values[np.isfinite(values)]
    if log and np.any(values > 0):
        positive = np.log10(values[values > 0])
        lo, hi = float(positive.min()), float(positive.max())
        pad = 0.05 * (hi - lo) or 0.5
        return [lo - pad, hi + pad], True
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    pad = 0.06 * (hi - lo) or max(abs(hi) * 0.1, 1e-12)
    return [lo - pad, hi + pad], False
