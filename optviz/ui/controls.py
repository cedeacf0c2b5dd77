"""Streamlit controls generated from parameter specs: one mechanism for every optimizer, schedule and surface."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import streamlit as st

from ..params import Param

# Values near 1 matter most for decay rates: 0.99 vs 0.999 is a tenfold change of memory.
DECAY_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999,
              0.9995, 0.9999, 1.0)
LOG_MANTISSAS = (1, 1.5, 2, 3, 5, 7)


def table(rows: list[dict], column_config: dict | None = None) -> None:
    """`rows` (dicts with the same keys) as a read-only table.

    Handed to Streamlit as an Arrow table (pyarrow comes with Streamlit): from a list of dicts Streamlit goes
    through pandas, which cost about a tenth of a page load's CPU on a busy server.
    """
    st.dataframe(pa.Table.from_pylist(rows), hide_index=True, column_config=column_config)


def number_text(value) -> str:
    """Compact display of a number: 0.001 → 1e-03, 0.9 → 0.9."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e4:
        return f"{value:.3g}".replace("e-0", "e-").replace("e+0", "e+")
    return f"{value:.4g}"


def latex_number(value) -> str:
    r"""A number for st.latex: 1e-08 → 10^{-8}, 3e-05 → 3\cdot10^{-5}."""
    text = number_text(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa}\cdot {power}"


def options_for(param: Param, current) -> list | None:
    """The discrete choices of a slider for `param`, always including the current value; None for free input."""
    if param.log:
        low = param.low if param.low > 0 else 1e-12
        high = param.high if math.isfinite(param.high) else 100.0
        grid = [m * 10.0 ** e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
                for m in LOG_MANTISSAS]
        if param.low == 0 and not param.low_open:
            grid.append(0.0)
    elif param.low == 0 and param.high == 1 and param.kind == "float":
        grid = list(DECAY_GRID)
    else:
        return None
    values = {float(f"{v:.6g}") for v in grid} | {float(current)}
    return sorted(v for v in values if param.contains(np.asarray(v)))


def param_control(param: Param, key: str):
    """Draw the control for `param` bound to st.session_state[key] (which must hold a valid value)."""
    label = f"${param.symbol}$ {param.name.replace('_', ' ')}"
    if param.kind == "bool":
        return st.toggle(label, key=key, help=param.help)
    if param.kind == "int":
        high = int(param.high) if math.isfinite(param.high) else None
        return st.number_input(label, min_value=int(param.low), max_value=high, step=1, key=key, help=param.help)
    options = options_for(param, st.session_state[key])
    if options is not None:
        return st.select_slider(label, options=options, key=key, format_func=number_text, help=param.help)
    if math.isfinite(param.low) and math.isfinite(param.high):
        return st.slider(label, float(param.low), float(param.high), key=key, help=param.help)
    return st.number_input(label, min_value=float(param.low) if math.isfinite(param.low) else None, key=key,
                           format="%g", help=param.help)


def ensure_value(key: str, value) -> None:
    """Put `value` in session state for a control about to be drawn, unless the user already set one."""
    if key not in st.session_state:
        st.session_state[key] = value
