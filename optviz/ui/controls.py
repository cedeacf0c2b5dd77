"""Streamlit controls generated from parameter specs: one mechanism for every optimizer, schedule and surface."""

from __future__ import annotations

import math
import re

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
    if isinstance(value, str):  # a choice, such as eps_placement
        return value
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e4:
        return f"{value:.3g}".replace("e-0", "e-").replace("e+0", "e+")
    return f"{value:.4g}"


_MARKDOWN = re.compile(r"([\\`*_\[\]<>$~|:#])")


def plain(text) -> str:
    """Text (a typed formula, a link's values, an error quoting them) escaped for st.error and st.warning, which
    read Markdown: x**2 + y**2 must not turn bold, __import__ must keep its underscores, a $ must not open LaTeX."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def latex_number(value) -> str:
    r"""A number for st.latex: 1e-08 → 10^{-8}, 3e-05 → 3\cdot10^{-5}."""
    text = number_text(value)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa}\cdot {power}"


def wrapped_formula(latex: str, width: int = 26) -> str:
    r"""A formula broken into lines of about `width` characters for a narrow column, as an aligned block.

    Lines break before a + or − outside every bracket (nothing is split inside parentheses or a \left…\right
    pair), and always after a ",\quad" that separates two statements; continuation lines are indented under the
    right-hand side of the first "=". A formula that fits, or has nowhere to break, is returned as it is.
    """
    pieces = _top_level_pieces(latex)
    if _visible_length(latex) <= width or len(pieces) < 2:
        return latex
    lines, current = [], ""
    for piece in pieces:
        if current and (current.endswith(_STATEMENT_ENDS) or _visible_length(current + piece) > width):
            lines.append(current.removesuffix(r"\quad").removesuffix(r"\ "))
            current = piece.lstrip()
        else:
            current += piece
    lines.append(current)
    first, *rest = lines
    head, equals, tail = first.partition("=")
    if not equals:
        return latex
    body = [head + "&=" + tail]
    for line in rest:
        continues = line[:1] in "+-" or "=" not in line
        body.append(r"&\quad " + line if continues else line.replace("=", "&=", 1))
    return r"\begin{aligned}" + r" \\ ".join(body) + r"\end{aligned}"


_STATEMENT_ENDS = (r",\quad", r",\ ")


def _top_level_pieces(latex: str) -> list[str]:
    r"""`latex` cut before each " + " and " - " and after each ",\quad" or ",\ " that stand outside every bracket
    and to the right of the first relation (= or ∼)."""
    pieces, depth, start, i = [], 0, 0, 0
    while i < len(latex):
        ahead = latex[i:]
        if ahead.startswith((r"\left", "(", "{", "[")):
            depth += 1
        elif ahead.startswith((r"\right", ")", "}", "]")):
            depth -= 1
        elif depth == 0 and ("=" in latex[:i] or r"\sim" in latex[:i]):
            if ahead.startswith((" + ", " - ")):
                pieces.append(latex[start:i])
                start = i
            elif ahead.startswith(_STATEMENT_ENDS):
                end = i + len(next(e for e in _STATEMENT_ENDS if ahead.startswith(e)))
                pieces.append(latex[start:end])
                start = i = end
                continue
        i += 5 if ahead.startswith(r"\left") else 6 if ahead.startswith(r"\right") else 1
    pieces.append(latex[start:])
    return [piece for piece in pieces if piece.strip()]


def _visible_length(latex: str) -> int:
    """Roughly how many characters a formula shows: commands count as the glyphs they draw, markup as none."""
    text = re.sub(r"\\[dt]?frac\s*\{?(\w)\}?\{?(\w)\}?", "½", latex)
    text = re.sub(r"\\operatorname\{(\w+)\}", r"\1", text)
    text = re.sub(r"\\(left|right|mathcal|mathrm|tilde|hat|bar|quad|,|;|!|\s)", "", text)
    text = re.sub(r"\\(sin|cos|tan|exp|log|sinh|cosh|tanh|sqrt|diag)", "sin", text)
    text = re.sub(r"\\[A-Za-z]+", "x", text)   # a Greek letter or a symbol
    text = re.sub(r"[{}^_\s&]", "", text)
    return len(text) + len(re.findall(r"[-+=]|\\sim", latex))   # binary operators are drawn with space around


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
    if param.kind == "choice":
        return st.selectbox(label, param.choices, key=key, help=param.help)
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
