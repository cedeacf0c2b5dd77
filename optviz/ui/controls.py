"""Streamlit controls generated from parameter specs: one mechanism for every optimizer, schedule and surface."""

from __future__ import annotations

import math
import re

import numpy as np
import streamlit as st

from ..figures.symbols import param_label, symbol_text  # noqa: F401 (symbol_text: the UI imports it from here)
from ..params import Param

# Values near 1 matter most for decay rates: 0.99 vs 0.999 is a tenfold change of memory.
DECAY_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999,
              0.9995, 0.9999, 1.0)
LOG_MANTISSAS = (1, 1.5, 2, 3, 5, 7)


def table(rows: list[dict], formats: dict[str, str] | None = None, note: str = "") -> None:
    """`rows` (dicts with the same keys) as a static table; `formats` maps a column to the format of its numbers
    ("{:.4g}"), which read right-aligned; a cell with no value reads "—". `note`: small grey text under it, in
    the same element.

    A Markdown table: one element the browser draws as plain HTML. The data grid of st.dataframe cost a quarter
    of a second of every redraw, st.table's Arrow table about 8 ms, a pandas Styler's formatting 15–25 ms of
    every run on the server.
    """
    formats, columns = formats or {}, list(rows[0]) if rows else []
    lines = ["| " + " | ".join(plain(column) for column in columns) + " |",
             "|" + "|".join("---:" if column in formats else "---" for column in columns) + "|"]
    lines += ["| " + " | ".join(plain(_cell_text(row.get(column), formats.get(column))) for column in columns) + " |"
              for row in rows]
    st.markdown("\n".join(lines) + (f"\n\n:small[:gray[{plain(note)}]]" if note else ""))


def _cell_text(value, number_format: str | None) -> str:
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "—"
    return number_format.format(value) if number_format else str(value)


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


SLIDER_DECADES = (3, 2)  # a log slider spans its reference value ÷ 10³ … × 10²: five decades, 30 notches
ZERO_OK_RANGE = (1e-10, 1e2)  # a log value that may be 0 (ε): from negligible to dominant, with 0 itself
ZERO_OK_MANTISSAS = (1, 3)


def _zero_allowed(param: Param) -> bool:
    """A log parameter that may be 0 (ε): its slider spans 0 and ZERO_OK_RANGE, every value of use."""
    return param.low == 0 and not param.low_open


def options_for(param: Param, current, reference: float | None = None) -> list | None:
    """The discrete choices of a slider for `param`, always including the current value; None for free input.

    A log slider spans five decades around `reference` (e.g. the learning rate suited to this optimizer on this
    surface; the default if not given), not the whole valid range: 1e-12 … 700 in 90 notches left a handful of
    useful ones. Values beyond it can be typed (see `param_control`).
    """
    if param.log:
        if _zero_allowed(param):
            low, high = ZERO_OK_RANGE
            mantissas = ZERO_OK_MANTISSAS
        else:
            center = reference if reference is not None else param.default
            low, high = center / 10.0 ** SLIDER_DECADES[0], center * 10.0 ** SLIDER_DECADES[1]
            mantissas = LOG_MANTISSAS
        grid = [m * 10.0 ** e for e in range(math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high)) + 1)
                for m in mantissas]
        grid = [v for v in grid if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        if _zero_allowed(param):
            grid.append(0.0)
    elif param.low == 0 and param.high == 1 and param.kind == "float":
        grid = list(DECAY_GRID)
    else:
        return None
    values = {float(f"{v:.6g}") for v in grid} | {float(current)}
    return sorted(v for v in values if param.contains(np.asarray(v)))


def bound_words(low: float, high: float, kind: str = "float", low_open: bool = False, high_open: bool = False) -> str:
    """A range in words, as a control says it: "1 to 5,000", "at least 0", "greater than 0"."""
    show = (lambda v: f"{int(v):,}") if kind == "int" else _bound_text
    has_low, has_high = math.isfinite(low), math.isfinite(high)
    if has_low and has_high and not (low_open or high_open):
        return f"{show(low)} to {show(high)}"
    parts = []
    if has_low:
        parts.append(f"{'greater than' if low_open else 'at least'} {show(low)}")
    if has_high:
        parts.append(f"{'less than' if high_open else 'at most'} {show(high)}")
    return ", ".join(parts) or "any number"


def _bound_text(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else number_text(value)


def _param_words(param: Param) -> str:
    return bound_words(param.low, param.high, param.kind, param.low_open, param.high_open)


def _note_key(key: str) -> str:
    return key + ".note"


def bounded_number(label: str, key: str, low: float, high: float, *, kind: str = "float", step=None,
                   format: str | None = None, help: str | None = None, container=None, unit: str = "",
                   notes=None):
    """A number box bound to st.session_state[key] that says its range and brings what is typed into it.

    Streamlit's own min/max turn the box red with an icon and no words; here a value beyond the range is set
    to the nearest bound, and a note under the box (or in `notes`, e.g. below a row of boxes) says so and why.
    """
    container = container or st
    notes = notes or container
    words = bound_words(low, high, kind)
    show = (lambda v: f"{int(v):,}" if float(v).is_integer() else f"{v:g}") if kind == "int" else (lambda v: f"{v:g}")

    def clamp() -> None:
        if key not in st.session_state:  # an earlier callback of the same run (a lesson) replaced every setting
            return
        value = st.session_state[key]
        if value is None:
            value = low if math.isfinite(low) else 0
        kept = min(max(value, low), high)
        if kind == "int":
            kept = int(round(kept))
        st.session_state[_note_key(key)] = (
            "" if kept == value else f"{label} must be {words}{unit}: {show(value)} was set to {show(kept)}.")
        st.session_state[key] = kept

    container.number_input(f"{label} ({words}{unit})", key=key, step=step, format=format, on_change=clamp,
                           help=help)
    if st.session_state.get(_note_key(key)):
        notes.warning(plain(st.session_state[_note_key(key)]))


def _typed_key(key: str) -> str:
    return key + ".typed"


def _parse_typed(text: str | None) -> float | None:
    try:
        return float(str(text).strip().replace("−", "-").replace("×10^", "e"))
    except ValueError:
        return None


def _exact_value(param: Param, key: str) -> None:
    """Callback of a log control's typing box: use the typed value if it is valid, else say why not."""
    text = st.session_state[_typed_key(key)]
    value = _parse_typed(text)
    try:
        if value is None:
            raise ValueError(f"{param.name} must be a number, e.g. 0.003 or 3e-3; got {text!r}")
        st.session_state[key] = param.validate(value)
        st.session_state[_note_key(key)] = ""
    except ValueError as error:
        st.session_state[_note_key(key)] = f"{error}. Keeping {number_text(st.session_state[key])}."


def _show_current(key: str) -> None:
    """Callback of a log slider: its typing box shows the value chosen."""
    st.session_state[_typed_key(key)] = _typed_text(st.session_state[key])
    st.session_state[_note_key(key)] = ""


def _typed_text(value: float) -> str:
    return f"{value:.6g}"


def param_control(param: Param, key: str, reference: float | None = None):
    """Draw the control for `param` bound to st.session_state[key] (which must hold a valid value).

    `reference` centres a log slider (e.g. the learning rate suited to the surface). A log slider that shows a
    window of five decades also gets a box to type an exact value, anywhere in the valid range; one that spans
    all useful values (ε: 0 and 10⁻¹⁰…100) needs none, and leaves it out (the browser redraws every element of
    an optimizer's settings on every change).
    """
    label = param_label(param)
    if param.kind == "bool":
        return st.toggle(label, key=key, help=param.help)
    if param.kind == "choice":
        return st.selectbox(label, param.choices, key=key, help=param.help, format_func=param.choice_title)
    if param.kind == "int":
        high = int(param.high) if math.isfinite(param.high) else math.inf
        return bounded_number(label, key, int(param.low), high, kind="int", step=1, help=param.help)
    options = options_for(param, st.session_state[key], reference)
    if options is not None and param.log and not _zero_allowed(param):
        return _log_control(param, key, label, options)
    if options is not None:
        return st.select_slider(label, options=options, key=key, format_func=number_text,
                                help=f"{param.help}. Range: {_param_words(param)}.")
    if math.isfinite(param.low) and math.isfinite(param.high):
        return st.slider(label, float(param.low), float(param.high), key=key, help=param.help)
    return bounded_number(label, key, param.low, param.high, format="%g", help=param.help)


def _log_control(param: Param, key: str, label: str, options: list):
    typed = _typed_key(key)
    shown = _parse_typed(st.session_state.get(typed))
    if shown is None or not math.isclose(shown, st.session_state[key], rel_tol=1e-5, abs_tol=0.0):
        st.session_state[typed] = _typed_text(st.session_state[key])  # the value was set elsewhere (a lesson, a reset)
    words = _param_words(param)
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")  # one block, not three columns
    value = row.select_slider(label, options=options, key=key, format_func=number_text, on_change=_show_current,
                              args=(key,), width="stretch", help=f"{param.help}. The slider spans the useful values; "
                                                                 f"type any value {words} in the box.")
    row.text_input(f"exact {param.name}", key=typed, on_change=_exact_value, args=(param, key), width=84,
                   label_visibility="collapsed", help=f"Type an exact value, {words} (e.g. 3e-4)")
    if st.session_state.get(_note_key(key)):
        st.warning(plain(st.session_state[_note_key(key)]))
    return value


def display_latex(latex: str) -> str:
    r"""`latex` for st.latex (KaTeX display mode), where a top-level \\ does nothing but log a warning: lines
    broken with \\ outside any environment become the rows of a gathered block."""
    if r"\\" not in latex or r"\begin{" in latex:
        return latex
    return r"\begin{gathered}" + latex + r"\end{gathered}"


BATCH_NAMES = {"surface": "As the surface", "full": "Full batch", "mini": "Mini-batch", "single": "Single example"}


def mini_batch(n: int) -> int:
    """The batch size "Mini-batch" stands for: 16 examples, or a quarter of a small data set."""
    return max(2, min(16, n // 4))


def batch_name(size: int | None, n: int) -> str:
    return "surface" if size is None else "full" if size == n else "single" if size == 1 else "mini"


def batch_size_control(key: str, n: int, inherit: int | None = None) -> None:
    """A batch size of 1…n as three named settings (full batch, mini-batch, single example) and its exact value,
    bound to st.session_state[key]. With `inherit` (the surface's batch size) a first setting "As the surface"
    stores None instead of a number."""
    state = st.session_state
    named, exact = key + ".named", key + ".exact"
    ensure_value(named, batch_name(state[key], n))
    ensure_value(exact, state[key] if state[key] is not None else inherit)
    options = [name for name in BATCH_NAMES if name != "surface" or inherit is not None]
    st.segmented_control("Batch size", options, key=named, format_func=BATCH_NAMES.get, on_change=_on_batch_name,
                         args=(key, n, inherit),
                         help=f"Examples per gradient: {n} is full-batch gradient descent, {mini_batch(n)} a "
                              "mini-batch, 1 stochastic gradient descent on single examples")
    if state[key] is not None:
        st.number_input("Examples per step", min_value=1, max_value=n, step=1, key=exact, on_change=_on_batch_exact,
                        args=(key, n), help=f"Any batch size from 1 to {n}; each epoch is a fresh permutation")


def _on_batch_name(key: str, n: int, inherit: int | None) -> None:
    state = st.session_state
    if key not in state or key + ".named" not in state:  # a lesson or link took the control away meanwhile
        return
    name = state[key + ".named"]
    if name is None:  # a click on the chosen segment clears it: keep the setting instead
        state[key + ".named"] = batch_name(state[key], n)
        return
    state[key] = {"surface": None, "full": n, "mini": mini_batch(n), "single": 1}[name]
    state[key + ".exact"] = state[key] if state[key] is not None else inherit


def _on_batch_exact(key: str, n: int) -> None:
    state = st.session_state
    if key not in state or key + ".exact" not in state:  # a lesson or link took the control away meanwhile
        return
    state[key] = int(state[key + ".exact"])
    state[key + ".named"] = batch_name(state[key], n)


def ensure_value(key: str, value) -> None:
    """Put `value` in session state for a control about to be drawn, unless the user already set one."""
    if key not in st.session_state:
        st.session_state[key] = value
