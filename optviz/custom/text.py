"""What may be typed: the text screened, parsed and checked against a whitelist, then spelled out again.

    checked = check("(1 - x)^2 + 100*(y - x**2)**2")  # or ValueError, saying what is wrong and where
    normalized(checked)  # "(1-x)**2+100*(y-x**2)**2": one spelling per syntax tree
    latex(checked.tree.body)  # the formula as typed, in LaTeX

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

Safety. Nothing here evaluates the text: `ast.parse` only parses, the tree is checked against the whitelist
above, and its constant parts are evaluated with NumPy, node by node. LaTeX is printed from the syntax tree (the
formula as typed).
"""

from __future__ import annotations

import ast
import keyword
import unicodedata
from typing import NamedTuple

import numpy as np

MAX_LENGTH = 300
MAX_PAREN_DEPTH = 20
MAX_NODES = 200
MAX_TREE_DEPTH = 100
MAX_LITERAL = 1e9  # in size; messages say 1e9
MAX_EXPONENT = 16

# The functions that may be typed, and what each means: constant parts are evaluated with these, as the
# compiled program (program.py) runs them.
NUMPY_FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
                   "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "atan": np.arctan,
                   "arctan": np.arctan}
FUNCTIONS = tuple(NUMPY_FUNCTIONS)
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


class Checked(NamedTuple):
    """An expression that passed every check that needs no SymPy."""

    tree: ast.Expression
    source: Source
    values: dict[ast.AST, float]  # the value of every constant node (no x or y)


def check(expression: str) -> Checked:
    """Every check that needs no SymPy: characters, length, nesting, syntax, size, the whitelist and the values
    of the constant parts."""
    screen(expression)
    source = Source(expression)
    tree = source.parse()
    _check_size(tree, source)
    checker = _Checker(source)
    if checker.check(tree.body) is not None:
        raise ValueError(f"the expression is a constant ({short(source.original)}): it must depend on x or y")
    return Checked(tree, source, checker.values)


def normalized(checked: Checked) -> str:
    """One spelling per syntax tree, without spaces: "(1-x)**2+100*(y-x**2)**2" (no keyword or string is left
    that would need one). If that spelling exceeds the length limit (1e9 is spelled 1000000000.0), the user's
    own text with its spaces tidied, so that the result is always accepted again."""
    compact = "".join(ast.unparse(checked.tree).split())
    return compact if len(compact) <= MAX_LENGTH else " ".join(checked.source.original.split())


# ---------------------------------------------------------------------------------------------------------------
# Screening the raw text: before any parser runs

def screen(text: str) -> None:
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


class Source:
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
        return short(self.original[start:end])

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


def short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_size(tree: ast.Expression, source: Source) -> None:
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

    def __init__(self, source: Source):
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
            return float(NUMPY_FUNCTIONS[name](value))


_BINARY_UFUNCS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide,
                  ast.Pow: np.power}


# ---------------------------------------------------------------------------------------------------------------
# LaTeX, from the checked syntax tree: linear, and the formula as it was typed

_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}
_LATEX_FUNCTIONS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "sinh": r"\sinh", "cosh": r"\cosh",
                    "tanh": r"\tanh", "log": r"\log", "atan": r"\arctan", "arctan": r"\arctan"}


def latex(node: ast.AST) -> str:
    """LaTeX for a checked expression node. (SymPy's printer reorders terms, and to order them it evaluates
    constants numerically, which took 1.6 s for pi**256.)"""
    if isinstance(node, ast.Constant):
        mantissa, _, exponent = repr(node.value).partition("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}" if exponent else mantissa
    if isinstance(node, ast.Name):
        return r"\pi" if node.id == "pi" else node.id
    if isinstance(node, ast.UnaryOp):
        inner = latex(node.operand)
        nested = _precedence(node.operand) <= 1 or isinstance(node.operand, ast.UnaryOp)
        operand = _parenthesized(inner) if nested else inner
        return operand if isinstance(node.op, ast.UAdd) else "-" + operand
    if isinstance(node, ast.Call):
        name, arg = node.func.id, latex(node.args[0])
        special = {"exp": f"e^{{{arg}}}", "sqrt": rf"\sqrt{{{arg}}}", "abs": rf"\left|{arg}\right|"}
        return special.get(name) or f"{_LATEX_FUNCTIONS[name]}{_parenthesized(arg)}"
    left, right, kind = latex(node.left), latex(node.right), type(node.op)
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
