"""Custom surfaces typed by the user: f(x, y) parsed safely, differentiated exactly, compiled to NumPy.

    s = custom_surface("(1 - x)**2 + 100*(y - x**2)**2")
    s.value(x, y); s.grad(x, y) -> (gx, gy); s.minima; s.saddles; s.window; s.start; s.spec.latex
    s.params["expression"]  # normalized text, "(1-x)**2+100*(y-x**2)**2": custom_surface(it) is the same surface

A typed formula passes through a module per job:
  - text.py: what may be typed. The text is screened, parsed (only parsed) and checked against a whitelist, its
    constant parts evaluated with NumPy; the normalized text and the LaTeX are spelled from the syntax tree.
  - symbolic.py: SymPy builds the expression, differentiates it and shares subexpressions between value and
    gradient; the result is a plain program, nested tuples.
  - helper.py: runs that SymPy phase in a helper process, killed if it takes over ANALYSIS_SECONDS.
  - program.py: compiles the plain program into closures calling NumPy ufuncs.
  - surface.py: the Surface, with its minima and saddles (optviz.stationary), window and start.
Anything not accepted raises ValueError with a message saying what is wrong and where. No user text ever reaches
eval, exec, sympify, parse_expr or lambdify, and no generated code is ever executed.
"""

from __future__ import annotations

import functools

from ..surfaces import Surface
from . import helper, text
from .surface import not_finite_share, typed_surface
from .text import CONSTANTS, FUNCTIONS, MAX_LENGTH

__all__ = ["CONSTANTS", "FUNCTIONS", "MAX_LENGTH", "custom_surface", "normalize_expression", "not_finite_share"]


def custom_surface(expression: str) -> Surface:
    """The surface f(x, y) typed as `expression`, e.g. "x**2 + 10*sin(y)"; ValueError with a clear message if bad.

    Cached by text: the app asks again on every rerun, and an expression that failed fails again at once.
    """
    if not isinstance(expression, str):
        raise ValueError(f"the expression must be text, got {type(expression).__name__}")
    text.screen(expression)  # before the cache, so that huge strings are never kept as keys
    outcome = _outcome(expression)
    if isinstance(outcome, str):
        raise ValueError(outcome)
    return outcome


def normalize_expression(expression: str) -> str:
    """The normalized text of an acceptable expression (as stored in params["expression"]), or ValueError.

    Runs the checks that need no SymPy: an expression that passes may still be rejected by custom_surface (x - x).
    """
    return text.normalized(text.check(expression))


@functools.lru_cache(maxsize=128)  # a typed surface is a few kB of NumPy closures: ≤ 1 MB for 128
def _outcome(expression: str) -> Surface | str:
    """The Surface, or the message of a failure found after the syntax checks (those raise, and are not cached)."""
    checked = text.check(expression)
    answer = helper.analyse_with_deadline(expression)
    if answer[0] == "unavailable":  # the helper could not run: worth another try later, so not cached
        raise ValueError(answer[1])
    if answer[0] == "error":
        return answer[1]
    try:
        return typed_surface(text.normalized(checked), answer[1], "f(x, y) = " + text.latex(checked.tree.body))
    except ValueError as error:
        return str(error)
