"""A parameter's symbol and label in plain Unicode (β₁, "α (lr)"): what a control or a screen reader shows, the
same in the app's widgets and in the race viewer's sliders (which Python describes to the browser)."""

from __future__ import annotations

import re
import unicodedata

from ..params import Param


def param_label(param: Param) -> str:
    """The control's label: the symbol and the name, each once: a switch's symbol is its name in words (bias
    correction), and some parameters are named by their symbol (Rosenbrock's a and b). Plain Unicode, not LaTeX:
    a screen reader reads the label as it is written ("α (lr)", not "$\\alpha$ lr")."""
    name = param.name.replace("_", " ")
    if param.kind == "bool":
        return name
    symbol = symbol_text(param.symbol)
    return symbol if symbol == param.name else f"{symbol} ({name})"


def _greek(command: str) -> str:
    """A LaTeX Greek letter in Unicode (\\epsilon ϵ and \\varepsilon ε, \\phi ϕ and \\varphi φ, as LaTeX draws them);
    any other command as its name."""
    lunate = {"epsilon": "LUNATE EPSILON SYMBOL", "phi": "PHI SYMBOL"}
    name = lunate.get(command) or f"SMALL LETTER {command.removeprefix('var').upper().replace('LAMBDA', 'LAMDA')}"
    try:
        return unicodedata.lookup(f"GREEK {name}")
    except KeyError:
        return command
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def symbol_text(latex: str) -> str:
    r"""A parameter's LaTeX symbol in Unicode: \beta_1 → β₁, \eta_{min} → η_min, \text{standardise} → standardise."""
    text = re.sub(r"\\text\{([^}]*)\}", r"\1", latex)
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _greek(m[1]), text)
    text = re.sub(r"_\{?(\d+)\}?", lambda m: m[1].translate(_SUBSCRIPTS), text)
    text = re.sub(r"_\{([^}]*)\}", r"_\1", text)
    return text.replace("\\ ", " ").strip()
