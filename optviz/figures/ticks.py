"""Round tick values for axes that Plotly would label poorly: 1e-5, 0.9, 0.99, 0.2, 0.5 instead of digits."""

from __future__ import annotations

import math

import numpy as np


def round_values(low: float, high: float, scale: str, most: int) -> list[float]:
    """Round values in [low, high]: the coarsest ladder that gives at least three and at most `most` of them."""
    if scale in ("log", "decay"):
        # log: v = m·10ᵏ; decay: 1 − v = m·10⁻ᵏ, i.e. 0, 0.9, 0.99, … for m = 1
        gap = (lambda v: v) if scale == "log" else (lambda v: 1 - v)
        ends = sorted(np.log10([gap(low), gap(high)]))
        exponents = range(math.floor(ends[0]) - 1, math.ceil(ends[1]) + 1)
        for mantissas in ((1,), (1, 5), (1, 2, 5)):
            values = _inside(sorted(gap(m * 10.0 ** k) for k in exponents for m in mantissas), low, high)
            if len(values) >= 3:
                return values[::math.ceil(len(values) / most)]
    # linear, or a log or decay range too narrow for its own ladder: multiples of 1, 2 or 5 × 10ᵏ
    raw = (high - low) / (most - 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    multiples = np.arange(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1)
    return _inside(np.round(multiples * step, 12).tolist(), low, high)


def _inside(values: list[float], low: float, high: float) -> list[float]:
    """The values within [low, high], give or take rounding (relative to each end: log axes span decades)."""
    return [v for v in values if low - 1e-9 * abs(low) <= v <= high + 1e-9 * abs(high)]


def tick_label(value: float) -> str:
    """0.999, 250 and 0.001 as they are; smaller numbers as powers of ten, 10⁻⁵ or 2×10⁻⁴ (HTML that Plotly draws,
    like its own exponentformat="power")."""
    if value == 0 or abs(value) >= 1e-3:
        return f"{value:.6g}"
    exponent = math.floor(math.log10(abs(value)) + 1e-9)
    mantissa = f"{value / 10.0 ** exponent:.3g}"
    power = f"10<sup>{exponent}</sup>".replace("-", "−")
    return power if mantissa == "1" else f"{mantissa}×{power}"


def log_ticks(values) -> dict:
    """tickvals and ticktext for a log axis over the positive finite `values`: round values (1, 2, 5 × 10ᵏ or
    coarser), labelled as numbers. Plotly labels the minor ticks of a log axis spanning about a decade with bare
    digits (a "9" for 0.9 under a "1"); empty if there is too little to tick."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0 or values.min() == values.max():
        return {}
    ticks = round_values(float(values.min()), float(values.max()), "log", most=7)
    return dict(tickvals=ticks, ticktext=[tick_label(v) for v in ticks]) if len(ticks) >= 2 else {}
