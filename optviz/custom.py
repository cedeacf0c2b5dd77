"""Custom surfaces typed by the user: f(x, y) parsed safely, differentiated exactly, compiled to NumPy.

    s = custom_surface("(1 - x)**2 + 100*(y - x**2)**2")
    s.value(x, y); s.grad(x, y) -> (gx, gy); s.minima; s.saddles; s.window; s.start; s.spec.latex
    s.params["expression"]  # normalized text, "(1-x)**2+100*(y-x**2)**2": custom_surface(it) is the same surface

What may be typed (anything else raises ValueError with a message saying what is wrong and where):
  - numbers (123, 0.5, 1e-3; at most 1e9 in size), the variables x and y, the constants pi and e;
  - + - * / ** and unary minus/plus; ^ is accepted as a synonym of ** (there is no XOR). Rejected: // % @,
    the bit operators, comparisons, and/or/not, conditionals, strings, lists, attributes, indexing, lambdas...;
  - calls with one argument of sin cos tan sinh cosh tanh exp log (natural) sqrt abs atan (alias arctan).
Limits: at most 300 ASCII characters (no control characters, no '#' or '\\'); parentheses nested at most 20
deep, checked by scanning the characters before any parser runs; at most 200 syntax-tree nodes, at most 100
deep. Powers: an exponent may not itself contain a power (no towers such as 9**9**9); an exponent without x or
y must lie in [-16, 16]; exponents with x or y (2**x, x**y) are allowed, since they can only overflow to inf as
exp can. Every constant part (no x or y) must be a finite real number: 1/0, log(0), sqrt(-1), exp(1000) are
rejected. An expression must depend on x or y (x - x does not).

Safety. No user text ever reaches eval, exec, sympify, parse_expr or lambdify. `ast.parse` only parses; the
tree is checked against the whitelist above, its constant parts are evaluated with NumPy, and it is turned into
SymPy node by node. SymPy differentiates (diff) and shares common subexpressions between value and gradient
(cse); the result comes back as plain tuples, compiled into closures calling NumPy ufuncs. No generated code
is ever executed. LaTeX is printed from the syntax tree (the formula as typed).

Time. Static limits do not bound SymPy: asked whether tanh(u) is real it expanded a 16th power (15 s for a
38-character input); sorting terms it evaluates constants numerically (11 s); folding ((exp(16))**-2)**pi it
never finished; a power with a fractional exponent sent it reasoning about branches (13 s). So (1) SymPy sees
only x, y (without assumptions), integers, floats, + * and integer powers, and inert functions and powers that
know nothing but their derivative: every constant part reaches it as one number; and (2) the
SymPy phase runs in a helper Python process, started once, which is killed (and restarted when next needed)
if an answer takes over ANALYSIS_SECONDS. The NumPy phase is bounded by MAX_PROGRAM operations.

Landmarks. Stationary points are searched from a grid over [-5, 5]² and polished by Newton's method on the exact
gradient; a positive-definite Hessian makes a minimum, an indefinite one a saddle. The window frames the minima
with a margin (the default square when there are none), and the start is a deterministic point of fairly high
loss away from the minima. Outside a function's domain (log or sqrt of a negative) values are NaN, silently:
the engine treats a non-finite loss as divergence.
"""

from __future__ import annotations

import ast
import atexit
import functools
import json
import keyword
import os
import queue
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from .surfaces import Surface, SurfaceSpec

if TYPE_CHECKING:
    import sympy

MAX_LENGTH = 300
MAX_PAREN_DEPTH = 20
MAX_NODES = 200
MAX_TREE_DEPTH = 100
MAX_LITERAL = 1e9  # in size; messages say 1e9
MAX_EXPONENT = 16
MAX_CONSTANT_BITS = 512  # exact coefficients SymPy folds, as in (1e9*x)**16: well inside float range (2**1024)
MAX_PROGRAM = 3000  # NumPy operations for value and gradient together: keeps landmarks and runs quick
ANALYSIS_SECONDS = 5.0  # the worst accepted inputs take well under a second

DEFAULT_SQUARE = (-5.0, 5.0, -5.0, 5.0)  # where minima are searched, and the window when there are none
SEARCH_GRID = 101
SEARCH_BOX = 10.0  # stationary points found by Newton's method are kept if |x|, |y| ≤ this
MAX_CANDIDATES = 48  # starting points of Newton's method, per kind (low f, low |∇f|)
MAX_LANDMARKS = 25  # minima (and saddles) listed at most, the lowest first

FUNCTIONS = ("sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "log", "sqrt", "abs", "atan", "arctan")
CONSTANTS = ("pi", "e")
_ALLOWED_FUNCTIONS = ", ".join(FUNCTIONS)
_REJECTED_OPERATORS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
                       ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}
# What a rejected construct is called in a message; anything else by its Python name.
_CONSTRUCTS = {
    ast.Attribute: "attribute access ('.')", ast.Subscript: "indexing ('[...]')", ast.Lambda: "lambda",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets",
    ast.Dict: "dictionaries", ast.Compare: "comparisons (<, ==, ...)", ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "conditional expressions ('if ... else')", ast.NamedExpr: "assignments (':=')",
    ast.JoinedStr: "strings", ast.FormattedValue: "strings", ast.Starred: "starred arguments ('*')",
    ast.Await: "'await'", ast.Yield: "'yield'", ast.YieldFrom: "'yield'", ast.Slice: "slices",
}


def custom_surface(expression: str) -> Surface:
    """The surface f(x, y) typed as `expression`, e.g. "x**2 + 10*sin(y)"; ValueError with a clear message if bad.

    Cached by text: the app asks again on every rerun, and an expression that failed fails again at once.
    """
    if not isinstance(expression, str):
        raise ValueError(f"the expression must be text, got {type(expression).__name__}")
    _screen(expression)  # before the cache, so that huge strings are never kept as keys
    outcome = _outcome(expression)
    if isinstance(outcome, str):
        raise ValueError(outcome)
    return outcome


def normalize_expression(expression: str) -> str:
    """The normalized text of an acceptable expression (as stored in params["expression"]), or ValueError.

    Runs the checks that need no SymPy: an expression that passes may still be rejected by custom_surface (x - x).
    """
    tree, source, _ = _check(expression)
    return _normalized(tree, source)


@functools.lru_cache(maxsize=128)  # a typed surface is a few kB of NumPy closures: ≤ 1 MB for 128
def _outcome(expression: str) -> Surface | str:
    """The Surface, or the message of a failure found after the syntax checks (those raise, and are not cached)."""
    tree, source, _ = _check(expression)
    answer = _analyse_with_deadline(expression)
    if answer[0] == "unavailable":  # the helper could not run: worth another try later, so not cached
        raise ValueError(answer[1])
    if answer[0] == "error":
        return answer[1]
    try:
        return _surface(_normalized(tree, source), answer[1], "f(x, y) = " + _latex(tree.body))
    except ValueError as error:
        return str(error)


def _check(expression: str) -> tuple[ast.Expression, _Source, dict]:
    """Every check that needs no SymPy: characters, length, nesting, syntax, size, the whitelist and the values
    of the constant parts. Returns the tree, the source, and the value of every constant node."""
    _screen(expression)
    source = _Source(expression)
    tree = source.parse()
    _check_size(tree, source)
    checker = _Checker(source)
    if checker.check(tree.body) is not None:
        raise ValueError(f"the expression is a constant ({_short(source.original)}): it must depend on x or y")
    return tree, source, checker.values


def _normalized(tree: ast.Expression, source: _Source) -> str:
    """One spelling per syntax tree, without spaces: "(1-x)**2+100*(y-x**2)**2" (no keyword or string is left
    that would need one). If that spelling exceeds the length limit (1e9 is spelled 1000000000.0), the user's
    own text with its spaces tidied, so that the result is always accepted again."""
    compact = "".join(ast.unparse(tree).split())
    return compact if len(compact) <= MAX_LENGTH else " ".join(source.original.split())


# ---------------------------------------------------------------------------------------------------------------
# Screening the raw text: before any parser runs

def _screen(text: str) -> None:
    """Reject text that is too long, not plain ASCII, empty or too deeply nested, scanning characters only."""
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression too long ({len(text)} characters; at most {MAX_LENGTH})")
    for column, char in enumerate(text, 1):
        if ord(char) > 127:  # fullwidth and Cyrillic look-alikes: Python's parser would quietly map some to x
            name = unicodedata.name(char, "unnamed character")
            raise ValueError(f"only ASCII characters are allowed: found {char!r} (U+{ord(char):04X} {name}) "
                             f"at column {column}")
        if char in "#\\" or (not char.isprintable() and char not in " \t"):
            shown = f"'{char}'" if char.isprintable() else f"control character U+{ord(char):04X}"
            raise ValueError(f"{shown} at column {column} is not allowed in an expression")
    if not text.strip():
        raise ValueError("the expression is empty: type a formula in x and y, e.g. x**2 + y**2")
    depth = 0
    for column, char in enumerate(text, 1):
        depth += (char in "([{") - (char in ")]}")
        if depth > MAX_PAREN_DEPTH:
            raise ValueError(f"nesting too deep: more than {MAX_PAREN_DEPTH} levels of parentheses at column "
                             f"{column}")


class _Source:
    """The text as parsed (stripped, ^ spelled **), with the way back to the user's columns for messages."""

    def __init__(self, original: str):
        self.original = original
        lead = len(original) - len(original.lstrip())
        pieces, self.columns = [], []
        for index, char in enumerate(original.strip(), lead):
            piece = "**" if char == "^" else char
            pieces.append(piece)
            self.columns += [index] * len(piece)
        self.text = "".join(pieces)

    def column(self, offset: int | None) -> int:
        """The user's 1-based column of a 0-based offset into the parsed text."""
        if offset is None or offset >= len(self.columns):
            return len(self.original.rstrip()) + 1
        return self.columns[max(offset, 0)] + 1

    def where(self, node: ast.AST) -> str:
        return f"at column {self.column(getattr(node, 'col_offset', None))}"

    def segment(self, node: ast.AST) -> str:
        """The user's own text of a node, shortened for messages."""
        start, end = self.columns[node.col_offset], self.columns[node.end_col_offset - 1] + 1
        return _short(self.original[start:end])

    def parse(self) -> ast.Expression:
        """Parse only: ast.parse builds a syntax tree and never evaluates anything."""
        try:
            return ast.parse(self.text, mode="eval")
        except SyntaxError as error:
            raise ValueError(self._syntax_message(error)) from None

    def _syntax_message(self, error: SyntaxError) -> str:
        """Python's complaint, translated: where it is, and the likely fix for the usual slips."""
        reason = (error.msg or "invalid syntax").split(".")[0]
        offset = error.offset - 1 if error.offset else len(self.text)
        column = self.column(offset)
        if "decimal literal" in reason:
            return f"a number runs into a name at column {column}: write 2*x, not 2x"
        if offset >= len(self.text) or column > len(self.original.rstrip()):
            return f"the expression ends too early ({reason}): is an operand or a ')' missing?"
        if reason != "invalid syntax":
            return f"cannot read the expression at column {column}: {reason}"
        token = _token_at(self.text, offset)
        before = self.text[:offset].rstrip()
        if token == "=":
            return f"'=' at column {column} is not allowed: type only the formula, e.g. x**2 + y**2"
        if token in keyword.kwlist:
            return f"'{token}' at column {column} is not allowed: Python keywords are not part of a formula"
        if before and (before[-1].isalnum() or before[-1] in "_.)") and (token[0].isalnum() or token[0] in "_.("):
            return f"an operator is missing at column {column}: write x*y, not x y"
        # the user's own character, not the parsed text's: ^ is read as **, and "unexpected '*'" in x^^2 puzzled
        return f"cannot read the expression at column {column}: unexpected '{_token_at(self.original, column - 1)}'"


def _token_at(text: str, offset: int) -> str:
    """The name or number starting at offset, or the single character there."""
    end = offset
    while end < len(text) and (text[end].isalnum() or text[end] in "_."):
        end += 1
    return text[offset:max(end, offset + 1)]


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_size(tree: ast.Expression, source: _Source) -> None:
    """Bound the node count, then the depth of the tree, iteratively: before any recursive walk starts."""
    nodes, stack = [], [(tree.body, 1)]
    while stack and len(nodes) <= MAX_NODES:
        node, depth = stack.pop()
        nodes.append((node, depth))
        stack += [(child, depth + 1) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
    if len(nodes) > MAX_NODES:
        raise ValueError(f"expression too complex: more than {MAX_NODES} numbers, names and operations")
    node, depth = max(nodes, key=lambda item: item[1])
    if depth > MAX_TREE_DEPTH:
        raise ValueError(f"nesting too deep: more than {MAX_TREE_DEPTH} operations inside one another "
                         f"({source.where(node)})")


class _Checker:
    """The whitelist: walks the syntax tree and rejects, with a message naming it, the first foreign construct.

    It also evaluates every constant part (no x or y) with NumPy: a constant exponent must be small, a constant
    must be a finite real number. `check` returns a node's value, or None if it depends on x or y.
    """

    def __init__(self, source: _Source):
        self.source = source
        self.values: dict[ast.AST, float] = {}  # every constant node's value: SymPy gets numbers, not formulas

    def error(self, node: ast.AST, message: str) -> ValueError:
        return ValueError(f"{message} ({self.source.where(node)})")

    def check(self, node: ast.AST) -> float | None:
        kind = type(node)
        if kind is ast.Constant:
            value = self.constant(node)
        elif kind is ast.Name:
            value = self.name(node)
        elif kind is ast.UnaryOp:
            value = self.unary(node)
        elif kind is ast.BinOp:
            value = self.binary(node)
        elif kind is ast.Call:
            value = self.call(node)
        else:
            raise self.error(node, f"{_CONSTRUCTS.get(kind, kind.__name__)} cannot be used in an expression")
        if value is not None:
            if not np.isfinite(value):
                raise self.error(node, f"{self.source.segment(node)} is not a finite real number (division by zero, "
                                       "log(0), sqrt of a negative number or an overflow)")
            self.values[node] = value
        return value

    def constant(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:  # bool first: it is an int
            shown = "..." if value is Ellipsis else value
            raise self.error(node, f"'{shown}' is not allowed: only numbers, x, y, pi and e")
        if isinstance(value, complex):
            raise self.error(node, "complex numbers are not allowed")
        if isinstance(value, (str, bytes)):
            raise self.error(node, "strings and bytes are not allowed")
        if not isinstance(value, (int, float)):
            raise self.error(node, f"{type(value).__name__} values are not allowed")
        if not abs(value) <= MAX_LITERAL:  # also catches inf, from 1e999
            raise self.error(node, f"number {self.source.segment(node)} too large (at most 1e9 in size)")
        return float(value)

    def name(self, node: ast.Name) -> float | None:
        if node.id in ("x", "y"):
            return None
        if node.id in CONSTANTS:
            return {"pi": np.pi, "e": np.e}[node.id]
        if node.id in FUNCTIONS:
            raise self.error(node, f"function '{node.id}' needs an argument in parentheses, e.g. {node.id}(x)")
        hint = " (names are case-sensitive)" if node.id.lower() in ("x", "y") + CONSTANTS else ""
        raise self.error(node, f"unknown name '{node.id}': use x and y, and the constants pi and e{hint}")

    def unary(self, node: ast.UnaryOp) -> float | None:
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise self.error(node, f"operator '{_REJECTED_OPERATORS[type(node.op)]}' is not allowed")
        value = self.check(node.operand)
        return value if value is None or isinstance(node.op, ast.UAdd) else -value

    def binary(self, node: ast.BinOp) -> float | None:
        kind = type(node.op)
        if kind not in _BINARY_UFUNCS:
            raise self.error(node, f"operator '{_REJECTED_OPERATORS.get(kind, '?')}' is not allowed; "
                                   "allowed: + - * / ** (or ^)")
        if kind is ast.Pow and any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow)
                                   for n in ast.walk(node.right)):
            raise self.error(node, "power towers are not allowed: an exponent may not contain another power "
                                   "(use exp(...) instead)")
        left, right = self.check(node.left), self.check(node.right)
        if kind is ast.Pow and right is not None and not abs(right) <= MAX_EXPONENT:
            raise self.error(node, f"exponent too large: {self.source.segment(node.right)} "
                                   f"(constant exponents must be in [-{MAX_EXPONENT}, {MAX_EXPONENT}])")
        if kind is ast.Pow and right is None and left is not None and left <= 0:  # (-2)**y is complex
            raise self.error(node, f"{self.source.segment(node)}: a power with x or y in the exponent needs a "
                                   "positive base")
        if kind is ast.Div and right == 0:
            raise self.error(node, f"division by zero in {self.source.segment(node)}")
        if left is None or right is None:
            return None
        with np.errstate(all="ignore"):  # an overflow is reported as such, by check()
            return float(_BINARY_UFUNCS[kind](left, right))

    def call(self, node: ast.Call) -> float | None:
        if not isinstance(node.func, ast.Name):
            self.check(node.func)  # an attribute or a lambda being called: say that
            raise self.error(node, f"only the functions {_ALLOWED_FUNCTIONS} can be called, by name")
        name = node.func.id
        if name not in FUNCTIONS:
            if name in ("x", "y") + CONSTANTS:
                raise self.error(node, f"'{name}' is not a function (write {name}*(...) for a product)")
            raise self.error(node, f"function '{name}' is not allowed; allowed: {_ALLOWED_FUNCTIONS}")
        if node.keywords:
            raise self.error(node, f"{name}() takes no keyword arguments")
        if len(node.args) != 1:
            raise self.error(node, f"{name}() takes exactly one argument ({len(node.args)} given)")
        value = self.check(node.args[0])
        if value is None:
            return None
        with np.errstate(all="ignore"):
            return float(_CALL_UFUNCS[name](value))


_BINARY_UFUNCS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                  ast.Pow: np.power}


# ---------------------------------------------------------------------------------------------------------------
# LaTeX, from the checked syntax tree: linear, and the formula as it was typed

_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}
_LATEX_FUNCTIONS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "sinh": r"\sinh", "cosh": r"\cosh",
                    "tanh": r"\tanh", "log": r"\log", "atan": r"\arctan", "arctan": r"\arctan"}


def _latex(node: ast.AST) -> str:
    """LaTeX for a checked expression node. (SymPy's printer reorders terms, and to order them it evaluates
    constants numerically, which took 1.6 s for pi**256.)"""
    if isinstance(node, ast.Constant):
        mantissa, _, exponent = repr(node.value).partition("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}" if exponent else mantissa
    if isinstance(node, ast.Name):
        return r"\pi" if node.id == "pi" else node.id
    if isinstance(node, ast.UnaryOp):
        inner = _latex(node.operand)
        nested = _precedence(node.operand) <= 1 or isinstance(node.operand, ast.UnaryOp)
        operand = _parenthesized(inner) if nested else inner
        return operand if isinstance(node.op, ast.UAdd) else "-" + operand
    if isinstance(node, ast.Call):
        name, arg = node.func.id, _latex(node.args[0])
        special = {"exp": f"e^{{{arg}}}", "sqrt": rf"\sqrt{{{arg}}}", "abs": rf"\left|{arg}\right|"}
        return special.get(name) or f"{_LATEX_FUNCTIONS[name]}{_parenthesized(arg)}"
    left, right, kind = _latex(node.left), _latex(node.right), type(node.op)
    if kind is ast.Div:
        return rf"\frac{{{left}}}{{{right}}}"
    if kind is ast.Pow:
        atom = isinstance(node.left, ast.Name) or (isinstance(node.left, ast.Constant) and node.left.value >= 0
                                                   and "e" not in repr(node.left.value))
        return f"{left if atom else _parenthesized(left)}^{{{right}}}"
    if _precedence(node.left) < _PRECEDENCE[kind]:
        left = _parenthesized(left)
    if _precedence(node.right) <= _PRECEDENCE[kind] - (kind is ast.Add) or right.startswith("-"):
        right = _parenthesized(right)  # a - (b + c), a (b - c), a (-b); but a + b + c
    if kind is ast.Mult:
        return f"{left} \\cdot {right}" if right[0].isdigit() else f"{left} {right}"
    return f"{left} {'+' if kind is ast.Add else '-'} {right}"


def _precedence(node: ast.AST) -> int:
    """How tightly a node's LaTeX binds: a fraction is as compact as a name."""
    if isinstance(node, ast.BinOp):
        return 5 if isinstance(node.op, ast.Div) else _PRECEDENCE[type(node.op)]
    return 3 if isinstance(node, ast.UnaryOp) else 5


def _parenthesized(tex: str) -> str:
    return rf"\left({tex}\right)"


# ---------------------------------------------------------------------------------------------------------------
# The SymPy phase (in the helper process): build, differentiate, share subexpressions

_OPERATIONS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
               ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}


@functools.lru_cache(maxsize=1)
def _sympy() -> SimpleNamespace:
    """SymPy, the symbols x and y, and the functions: imported on first use, which is in the helper process
    (the caller never needs SymPy, whose import costs a quarter of a second)."""
    import sympy

    class Inert(sympy.Function):
        """A real function of one argument that SymPy knows only by its derivative.

        SymPy's own sin, tanh, exp... simplify and reason about their arguments on construction and on every
        assumption query, at a cost no static limit bounds; these do neither. `derivative` gives f'(u).
        """

        nargs = 1
        derivative: Callable = None

        @classmethod
        def eval(cls, arg):
            return None  # never rewrite: sin(u) stays sin(u)

        def _eval_evalf(self, prec):
            return None  # nor evaluate with mpmath, as SymPy does for Float arguments

        def fdiff(self, argindex=1):
            return type(self).derivative(self.args[0])

    class Power(sympy.Function):
        """a**b for an exponent other than a constant integer, known only by its derivative. SymPy's own Pow
        reasons about branches there (re, arg, floor) and expands polynomials doing so: 13 s for one input."""

        nargs = 2

        @classmethod
        def eval(cls, base, exponent):
            return None

        def _eval_evalf(self, prec):
            return None

        def fdiff(self, argindex=1):
            base, exponent = self.args
            return exponent * Power(base, exponent - 1) if argindex == 1 else self * f["log"](base)

    def inert(name: str, derivative: Callable) -> type:
        return type(name, (Inert,), {"derivative": staticmethod(derivative), "__module__": __name__})

    f: dict[str, type] = {}
    f.update({
        "sin": inert("sin", lambda u: f["cos"](u)),
        "cos": inert("cos", lambda u: -f["sin"](u)),
        "tan": inert("tan", lambda u: 1 + f["tan"](u) ** 2),
        "sinh": inert("sinh", lambda u: f["cosh"](u)),
        "cosh": inert("cosh", lambda u: f["sinh"](u)),
        "tanh": inert("tanh", lambda u: 1 - f["tanh"](u) ** 2),
        "exp": inert("exp", lambda u: f["exp"](u)),
        "log": inert("log", lambda u: 1 / u),
        "atan": inert("atan", lambda u: 1 / (1 + u ** 2)),
        "abs": inert("abs", lambda u: f["sign"](u)),
        "sign": inert("sign", lambda u: sympy.Integer(0)),
    })
    x, y = sympy.Symbol("x"), sympy.Symbol("y")  # no assumptions: nothing for SymPy to reason about
    undefined = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo, sympy.I)
    return SimpleNamespace(sympy=sympy, x=x, y=y, Inert=Inert, Power=Power, undefined=undefined,
                           functions={**f, "arctan": f["atan"], "sqrt": lambda u: Power(u, sympy.Float(0.5))})


def _analyse(expression: str) -> tuple:
    """("ok", program) or ("error", message): the SymPy phase for an expression, run in the helper process.

    `program` is plain data, (steps, outputs): steps [(slot, node)] and outputs [f, df/dx, df/dy], the nodes
    nested tuples (see _plain). Any failure becomes a message.
    """
    try:
        kit = _sympy()
        tree, source, values = _check(expression)
        expr = _Builder(source, values, kit).build(tree.body)
        if not expr.free_symbols:
            raise ValueError(f"the expression is a constant ({_short(source.original)}): it must depend on x "
                             "or y")
        gradient = [kit.sympy.diff(expr, kit.x), kit.sympy.diff(expr, kit.y)]
        if any(g.has(*kit.undefined) for g in gradient):
            raise ValueError("the gradient is not a finite real function (is there a power of zero or of a negative "
                             "number with x or y in the exponent?)")
        replacements, outputs = kit.sympy.cse([expr, *gradient])
        slots = {kit.x: 0, kit.y: 1}
        steps = []
        for symbol, value in replacements:
            steps.append((len(slots), _plain(value, slots, kit)))
            slots[symbol] = len(slots)
        return "ok", (steps, [_plain(output, slots, kit) for output in outputs])
    except ValueError as error:
        return "error", str(error)
    except Exception as error:  # RecursionError, MemoryError, a SymPy limit: say so, do not crash the caller
        return "error", f"the expression could not be analysed ({type(error).__name__}); try simplifying it"


class _Builder:
    """The SymPy expression of a checked syntax tree, every constant part given to SymPy as one number.

    SymPy gets no pi, no sqrt(2), no 1/3 to reason about exactly: sorting terms (in cse) it evaluates such
    constants numerically, expanding powers on the way (11 s for one 300-character input), and it folds
    constant powers exactly (((exp(16))**-2)**pi never finished). Integers stay exact, so x**2 is a square;
    other powers, sqrt included, are inert Powers.
    """

    def __init__(self, source: _Source, values: dict, kit: SimpleNamespace):
        self.source, self.values, self.kit = source, values, kit

    def build(self, node: ast.AST) -> sympy.Expr:
        sympy = self.kit.sympy
        if node in self.values:
            value = self.values[node]
            return sympy.Integer(int(value)) if value.is_integer() and abs(value) <= MAX_LITERAL else \
                sympy.Float(value)
        if isinstance(node, ast.Name):
            return self.kit.x if node.id == "x" else self.kit.y
        if isinstance(node, ast.UnaryOp):
            expr = -self.build(node.operand) if isinstance(node.op, ast.USub) else self.build(node.operand)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and not self.integer(node.right):
            base, exponent = self.build(node.left), self.build(node.right)
            if base.is_Number and base <= 0 and exponent.free_symbols:  # as _Checker, once SymPy has simplified
                raise self.error(node, f"{self.source.segment(node)}: a power with x or y in the exponent needs a "
                                       "positive base")
            expr = self.kit.Power(base, exponent)
        elif isinstance(node, ast.BinOp):
            expr = _OPERATIONS[type(node.op)](self.build(node.left), self.build(node.right))
        else:  # a call: _check let nothing else through
            expr = self.kit.functions[node.func.id](self.build(node.args[0]))
        return self.checked(expr, node)

    def integer(self, node: ast.AST) -> bool:
        """Whether a node is a constant integer: the exponents SymPy's own Pow handles quickly."""
        return node in self.values and self.values[node].is_integer()

    def checked(self, expr: sympy.Expr, node: ast.AST) -> sympy.Expr:
        """What SymPy folds by itself must stay finite and small: (x-x)**-1 is zoo, (1e9*x)**16**... huge."""
        if expr.has(*self.kit.undefined):
            raise self.error(node, f"{self.source.segment(node)} is not a finite real number")
        coefficient = expr.as_coeff_Mul()[0]
        if coefficient.is_Rational and max(abs(coefficient.p).bit_length(), coefficient.q.bit_length()) > \
                MAX_CONSTANT_BITS:
            raise self.error(node, f"constant too large in {self.source.segment(node)}")
        return expr

    def error(self, node: ast.AST, message: str) -> ValueError:
        return ValueError(f"{message} ({self.source.where(node)})")


def _plain(expr: sympy.Expr, slots: dict, kit: SimpleNamespace) -> tuple:
    """expr as nested tuples: ("var", slot), ("num", value), ("add"|"mul", parts), ("pow", base, exponent),
    ("call", name, argument). Only the node kinds that the builder and SymPy's diff and cse produce are known."""
    if expr in slots:
        return "var", slots[expr]
    if expr.is_Number:
        return "num", float(expr)
    if expr.is_Add or expr.is_Mul:
        return "add" if expr.is_Add else "mul", tuple(_plain(arg, slots, kit) for arg in expr.args)
    if expr.is_Pow or isinstance(expr, kit.Power):
        return "pow", *(_plain(arg, slots, kit) for arg in expr.args)
    name = type(expr).__name__  # SymPy's own log comes from diff of x**y: x**y * (log(x) + ...)
    if isinstance(expr, (kit.Inert, kit.sympy.log)) and name in _UFUNCS and len(expr.args) == 1:
        return "call", name, _plain(expr.args[0], slots, kit)
    raise ValueError(f"the expression could not be analysed (its gradient holds {name}); try simplifying it")


# ---------------------------------------------------------------------------------------------------------------
# Running the SymPy phase under a deadline: in a helper process, killed when it overruns

def _analyse_with_deadline(expression: str) -> tuple:
    """_analyse in the helper process, which is killed if the answer takes over ANALYSIS_SECONDS."""
    return _HELPER.ask(expression, ANALYSIS_SECONDS)


class _Helper:
    """A child Python process answering _analyse questions, one JSON line each way.

    A fresh interpreter (not fork: the caller may have threads, as Streamlit has; not multiprocessing: it would
    re-run the caller's main script), started on first use and again after being killed for overrunning.
    Questions are asked one at a time: the app's sessions share it.
    """

    STARTUP_SECONDS = 60.0  # importing NumPy and SymPy on a slow machine; not part of the deadline

    def __init__(self):
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.answers: queue.Queue = queue.Queue()

    def ask(self, expression: str, seconds: float) -> tuple:
        if self.owner != os.getpid():  # a forked copy of the caller: the helper and its pipes are the parent's
            self.__init__()
        with self.lock:
            try:
                self._ensure_running()
                self.process.stdin.write(json.dumps(expression) + "\n")
                self.process.stdin.flush()
                answer = self.answers.get(timeout=seconds)
            except queue.Empty:
                self.stop()
                return "error", (f"the expression is too costly to analyse (over {seconds:g} seconds): "
                                 "try simplifying it")
            except OSError as error:
                self.stop()
                return "unavailable", f"the expression could not be analysed now (no helper process: {error})"
            if answer is None:  # the helper died: out of memory, or killed from outside
                self.stop()
                return "unavailable", "the expression could not be analysed now (the analysis stopped unexpectedly)"
            return tuple(answer)

    def _ensure_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.answers = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
             "from optviz.custom import _serve; _serve()", json.dumps(sys.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, encoding="utf-8")
        threading.Thread(target=_read_answers, args=(self.process.stdout, self.answers), daemon=True).start()
        try:
            ready = self.answers.get(timeout=self.STARTUP_SECONDS)
        except queue.Empty:
            ready = None
        if ready != "ready":
            self.stop()
            raise OSError("it did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            try:
                self.process.stdin.close()  # its stdout is closed by its reader, which now sees the end
            except OSError:  # a question still buffered for the dead process: nothing to do about it
                pass
            self.process = None


def _read_answers(stream, answers: queue.Queue) -> None:
    """The helper's answers, parsed, into the queue; None when it ends (a reader per helper process)."""
    with stream:
        try:
            for line in stream:
                answers.put(json.loads(line))
        except (OSError, ValueError):
            pass
    answers.put(None)


def _serve() -> None:
    """The helper's main loop: an expression per line in, an _analyse answer per line out."""
    out, sys.stdout = sys.stdout, sys.stderr  # nothing but answers may reach the parent's pipe
    out.write(json.dumps("ready") + "\n")
    out.flush()
    for line in sys.stdin:
        out.write(json.dumps(_analyse(json.loads(line))) + "\n")
        out.flush()


_HELPER = _Helper()
atexit.register(_HELPER.stop)


# ---------------------------------------------------------------------------------------------------------------
# Compiling the plain program to NumPy: a closure per node, constants folded

_UFUNCS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
           "exp": np.exp, "log": np.log, "atan": np.arctan, "abs": np.abs, "sign": np.sign}
_CALL_UFUNCS = {**_UFUNCS, "arctan": np.arctan, "sqrt": np.sqrt}  # by the names typed
_POWERS = {2.0: np.square, -1.0: np.reciprocal, 0.5: np.sqrt, -0.5: lambda b: np.reciprocal(np.sqrt(b))}


def _compile(node: tuple, counter: list) -> Callable | float:
    """A function env -> values for a plain node, or a float when the node is constant (folded here, once).

    `counter` collects one entry per operation, to bound the program's size.
    """
    counter.append(None)
    if len(counter) > MAX_PROGRAM:
        raise ValueError("expression too complex: value and gradient need more than "
                         f"{MAX_PROGRAM} operations")
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "var":
        slot = node[1]
        return lambda env: env[slot]
    with np.errstate(all="ignore"):  # folding constants may overflow: inf is the honest answer
        if kind == "call":
            return _apply(_UFUNCS[node[1]], _compile(node[2], counter))
        if kind == "pow":
            base, exponent = _compile(node[1], counter), _compile(node[2], counter)
            if isinstance(exponent, float) and exponent in _POWERS:
                return _apply(_POWERS[exponent], base)
            return _apply2(np.power, base, exponent)
        return _fold(np.add if kind == "add" else np.multiply, [_compile(part, counter) for part in node[1]])


def _apply(function: Callable, arg: Callable | float) -> Callable | float:
    if not callable(arg):
        return float(function(arg))
    return lambda env: function(arg(env))


def _apply2(function: Callable, a: Callable | float, b: Callable | float) -> Callable | float:
    if not callable(a) and not callable(b):
        return float(function(a, b))
    if not callable(b):
        return lambda env: function(a(env), b)
    if not callable(a):
        return lambda env: function(a, b(env))
    return lambda env: function(a(env), b(env))


def _fold(ufunc, parts: list) -> Callable | float:
    """a + b + c or a * b * c, left to right, with the constant parts combined into one number first."""
    constant = float(ufunc.reduce([p for p in parts if not callable(p)] or [ufunc.identity]))
    variable = [p for p in parts if callable(p)]
    if not variable:
        return constant
    if constant != ufunc.identity:
        variable.append(constant)
    first, rest = variable[0], variable[1:]

    def run(env):
        total = first(env)
        for part in rest:
            total = ufunc(total, part(env) if callable(part) else part)
        return total

    return run


class _Program:
    """Value and gradient as one straight-line program over shared subexpressions; runs only what is asked."""

    def __init__(self, plain: tuple):
        steps, outputs = plain
        counter: list = []
        self.slots = 2 + len(steps)
        self.steps = [(slot, _as_function(_compile(node, counter)), _slots_used(node)) for slot, node in steps]
        self.outputs = [_as_function(_compile(node, counter)) for node in outputs]
        needs = [_slots_used(node) for node in outputs]
        self.plans = {"value": self._plan(needs[:1]), "all": self._plan(needs)}

    def _plan(self, needs: list[set]) -> list:
        """The steps the outputs depend on, in order: value() skips the gradient's own work."""
        wanted, keep = set().union(*needs), []
        for slot, fn, used in reversed(self.steps):
            if slot in wanted:
                keep.append((slot, fn))
                wanted |= used
        return keep[::-1]

    def __call__(self, x, y, plan: str = "all") -> list:
        """The outputs (only the value for plan="value") at points x, y of any (broadcastable) shape."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        shape = np.broadcast_shapes(x.shape, y.shape)
        env = [x, y] + [None] * (self.slots - 2)
        with np.errstate(all="ignore"):  # NaN outside a function's domain is an answer, not an error
            for slot, fn in self.plans[plan]:
                env[slot] = fn(env)
            outputs = self.outputs[:1] if plan == "value" else self.outputs
            return [_shaped(fn(env), shape) for fn in outputs]


def _as_function(compiled: Callable | float) -> Callable:
    return compiled if callable(compiled) else lambda env: compiled


def _slots_used(node: tuple) -> set:
    """The variables and shared subexpressions a plain node reads, iteratively."""
    used, stack = set(), [node]
    while stack:
        item = stack.pop()
        if item[0] == "var":
            used.add(item[1])
        elif item[0] in ("add", "mul"):
            stack.extend(item[1])
        elif item[0] == "pow":
            stack += [item[1], item[2]]
        elif item[0] == "call":
            stack.append(item[2])
    return used


def _shaped(values, shape: tuple) -> np.ndarray:
    """Float values of exactly `shape` (constants broadcast), 0-d results as NumPy scalars."""
    values = np.asarray(values, dtype=float)
    if values.shape != shape:
        values = np.array(np.broadcast_to(values, shape))
    return values[()] if values.ndim == 0 else values


# ---------------------------------------------------------------------------------------------------------------
# The Surface: landmarks, window, start

def _surface(text: str, plain: tuple, latex: str) -> Surface:
    """Compile the program, find the landmarks and frame them."""
    program = _Program(plain)
    value = lambda x, y, expression=None: program(x, y, "value")[0]
    grad = lambda x, y, expression=None: tuple(program(x, y)[1:])
    with np.errstate(all="ignore"):  # the search runs where the surface overflows or leaves its domain, too
        minima, saddles = _stationary_points(program)
        window = _window(minima)
        inside = lambda points: [tuple(p) for p in points if _in_window(p, window)]
        spec = SurfaceSpec(
            "custom", "Custom surface", _description(text, len(minima)), latex, value, grad,
            lambda expression=None: [tuple(p) for p in minima], window, _start(program, window, minima),
            saddles=lambda expression=None: inside(saddles), log_levels=_spans_decades(program, window))
        surface = Surface(spec, {"expression": text})
    for array in (surface.minima, surface.saddles):  # shared by every caller through the cache
        array.flags.writeable = False
    return surface


def _description(text: str, minima: int) -> str:
    found = {0: "no minimum found", 1: "1 minimum found"}.get(minima, f"{minima} minima found")
    return f"Typed by hand: f(x, y) = {text} ({found})."


def _grid(window, n: int) -> tuple[np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = window
    return np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))


def _stationary_points(program: _Program) -> tuple[np.ndarray, np.ndarray]:
    """Minima and saddles, (k, 2) each, lowest first: Newton's method from the grid's promising points.

    Raises ValueError if value and gradient are finite nowhere on the default square.
    """
    xs, ys = _grid(DEFAULT_SQUARE, SEARCH_GRID)
    f, gx, gy = program(xs, ys)
    if not (np.isfinite(f) & np.isfinite(gx) & np.isfinite(gy)).any():
        raise ValueError("the surface is not finite anywhere on [-5, 5]² (e.g. the log or sqrt of a negative "
                         "number, or an overflow)")
    slope = np.hypot(gx, gy)
    starts = np.concatenate([_local_minima(f, xs, ys), _local_minima(slope, xs, ys),
                             _lowest(f, xs, ys)])  # the lowest grid point, edge or not: minima just outside
    grad = lambda p: np.stack(program(p[:, 0], p[:, 1])[1:], axis=-1)
    points = _newton_many(grad, starts)
    typical = float(np.median(slope[np.isfinite(slope)]))
    points = points[(np.abs(points) <= SEARCH_BOX).all(axis=1)]
    points = points[np.abs(grad(points)).max(axis=1, initial=0.0) <= 1e-8 * (1.0 + typical)]
    hessians = _hessians(grad, points)
    finite = _moderate(hessians)
    points, hessians = points[finite], hessians[finite]
    curvature = np.linalg.eigvalsh(hessians) if len(points) else np.empty((0, 2))
    scale = np.abs(curvature).max(axis=1, initial=0.0)
    is_minimum = curvature[:, 0] > 1e-6 * scale
    is_saddle = (curvature[:, 0] < -1e-6 * scale) & (curvature[:, 1] > 1e-6 * scale)
    return _distinct(program, points[is_minimum]), _distinct(program, points[is_saddle])


def _local_minima(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Interior grid points no higher than their 8 neighbours, the lowest MAX_CANDIDATES of them, as (k, 2)."""
    v = np.where(np.isfinite(values), values, np.inf)
    centre = v[1:-1, 1:-1]
    lowest = np.isfinite(centre)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dx or dy:
                lowest &= centre <= v[1 + dy: v.shape[0] - 1 + dy, 1 + dx: v.shape[1] - 1 + dx]
    rows, cols = np.nonzero(lowest)
    order = np.argsort(centre[rows, cols], kind="stable")[:MAX_CANDIDATES]
    return np.column_stack([xs[1:-1, 1:-1][rows, cols][order], ys[1:-1, 1:-1][rows, cols][order]])


def _lowest(values: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    v = np.where(np.isfinite(values), values, np.inf)
    index = np.unravel_index(np.argmin(v), v.shape)
    return np.array([[xs[index], ys[index]]]) if np.isfinite(v[index]) else np.empty((0, 2))


def _hessians(grad: Callable, points: np.ndarray) -> np.ndarray:
    """Symmetrized Hessians (k, 2, 2) at points (k, 2), by central differences of the exact gradient."""
    h = 1e-6 * np.maximum(1.0, np.abs(points).max(axis=1, initial=0.0))[:, None]
    columns = [(grad(points + h * e) - grad(points - h * e)) / (2 * h) for e in np.eye(2)]
    jac = np.stack(columns, axis=-1)
    return (jac + np.swapaxes(jac, -1, -2)) / 2


def _newton_many(grad: Callable, points: np.ndarray, steps: int = 60) -> np.ndarray:
    """Newton's method from many points at once; a point whose gradient or Hessian turns non-finite is dropped."""
    p = np.array(points, dtype=float).reshape(-1, 2)
    for _ in range(steps):
        g, jac = grad(p), _hessians(grad, p)
        alive = np.isfinite(p).all(axis=1) & _moderate(g) & _moderate(jac)
        p, g, jac = p[alive], g[alive], jac[alive]
        if not len(p):
            break
        delta = np.einsum("kij,kj->ki", np.linalg.pinv(jac), g)  # pinv: a flat direction must not blow up
        p = p - delta
        if not np.abs(delta).max() >= 1e-14 * max(1.0, np.abs(p).max()):
            break
    return p[np.isfinite(p).all(axis=1)]


def _moderate(arrays: np.ndarray) -> np.ndarray:
    """Which of the stacked vectors or matrices LAPACK may see: finite, and far from overflowing its norms."""
    return (np.abs(arrays) <= 1e150).all(axis=tuple(range(1, np.ndim(arrays))))


def _distinct(program: _Program, points: np.ndarray) -> np.ndarray:
    """Points sorted by value with near-duplicates removed, at most MAX_LANDMARKS of them."""
    if not len(points):
        return np.empty((0, 2))
    values = program(points[:, 0], points[:, 1], "value")[0]
    kept = []
    for i in np.argsort(values, kind="stable"):
        p = points[i]
        if all(np.abs(p - q).max() > 1e-6 * (1.0 + np.abs(p).max()) for q in kept):
            kept.append(p)
    return np.array(kept[:MAX_LANDMARKS]).reshape(-1, 2)


def _window(minima: np.ndarray) -> tuple[float, float, float, float]:
    """The minima's bounding box with a margin, neither side under half the other, rounded out to halves."""
    if not len(minima):
        return DEFAULT_SQUARE
    low, high = minima.min(axis=0), minima.max(axis=0)
    margin = max(0.25 * float((high - low).max()), 2.0)
    low, high = low - margin, high + margin
    span = high - low
    widen = np.maximum(span.max() / 2 - span, 0.0) / 2  # a window far longer than wide hides half the picture
    low, high = np.floor((low - widen) * 2) / 2, np.ceil((high + widen) * 2) / 2
    return float(low[0]), float(high[0]), float(low[1]), float(high[1])


def _in_window(point, window) -> bool:
    x0, x1, y0, y1 = window
    return bool(x0 <= point[0] <= x1 and y0 <= point[1] <= y1)


def _start(program: _Program, window, minima: np.ndarray) -> tuple[float, float]:
    """A deterministic start: well inside the window, far from the minima, at fairly high loss.

    Among grid points at least half as far from the minima as the farthest one, the one whose value is closest to
    the two-thirds quantile of theirs: high enough to make a journey, not a cliff top.
    Where the surface is finite only on a sliver, a finer grid over the whole window finds it.
    """
    x0, x1, y0, y1 = window
    inner = (x0 + 0.1 * (x1 - x0), x1 - 0.1 * (x1 - x0), y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0))
    for area, n in ((inner, 21), (window, SEARCH_GRID)):
        xs, ys = _grid(area, n)
        f, gx, gy = program(xs, ys)
        ok = np.isfinite(f) & np.isfinite(gx) & np.isfinite(gy)
        if ok.any():
            break
    else:
        if len(minima):
            return float(minima[0, 0]), float(minima[0, 1])
        raise ValueError("the surface is not finite anywhere in its window")
    if len(minima):  # at least half as far from every minimum as the farthest candidate is
        distance = np.min(np.hypot(xs[..., None] - minima[:, 0], ys[..., None] - minima[:, 1]), axis=-1)
        ok &= distance >= distance[ok].max() / 2
    target = np.quantile(f[ok], 2 / 3)
    index = np.argmin(np.where(ok, np.abs(f - target), np.inf))
    return float(np.round(xs.flat[index], 6)), float(np.round(ys.flat[index], 6))


def _spans_decades(program: _Program, window) -> bool:
    """Log-scaled contours when the values above the lowest span more than three decades (as the figures judge)."""
    f = program(*_grid(window, 60), "value")[0]
    finite = f[np.isfinite(f)]
    if finite.size < 2:
        return False
    p05, p95 = np.percentile(finite - finite.min(), [5, 95])
    return bool(p95 > 1e3 * max(p05, 1e-300))


def not_finite_share(surface, n: int = 120) -> float:
    """The share of the surface's window where f is not a finite number: it overflows there (exp(exp(x)) for
    x ≳ 6.5), or is undefined (log of a negative number). The map hatches that region."""
    with np.errstate(all="ignore"):
        values = surface.grid(n)[2]
    return float(np.mean(~np.isfinite(values)))
