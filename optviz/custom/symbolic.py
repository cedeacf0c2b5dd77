"""The SymPy phase: a checked expression built in SymPy, differentiated exactly, returned as a plain program.

    analyse("sin(x) + y**2") -> ("ok", program) or ("error", message)  # run in the helper process (helper.py)

SymPy builds the expression node by node from the checked syntax tree (text.py), differentiates it (diff) and
shares common subexpressions between value and gradient (cse); the result comes back as plain data, nested
tuples, which program.py compiles. No user text ever reaches sympify, parse_expr or lambdify, and no code is
generated.

Time. Static limits do not bound SymPy: asked whether tanh(u) is real it expanded a 16th power (15 s for a
38-character input); sorting terms it evaluates constants numerically (11 s); folding ((exp(16))**-2)**pi it
never finished; a power with a fractional exponent sent it reasoning about branches (13 s). So SymPy sees
only x, y (without assumptions), integers, floats, + * and integer powers, and inert functions and powers that
know nothing but their derivative: every constant part reaches it as one number. The deadline (helper.py) is
the backstop.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .program import CALLS
from .text import MAX_LITERAL, Source, check, short

if TYPE_CHECKING:
    import sympy

MAX_CONSTANT_BITS = 512  # exact coefficients SymPy folds, as in (1e9*x)**16: well inside float range (2**1024)

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


def analyse(expression: str) -> tuple:
    """("ok", program) or ("error", message): the SymPy phase for an expression, run in the helper process.

    `program` is plain data, (steps, outputs): steps [(slot, node)] and outputs [f, df/dx, df/dy], the nodes
    nested tuples (program.py describes them). Any failure becomes a message.
    """
    try:
        kit = _sympy()
        checked = check(expression)
        expr = _Builder(checked.source, checked.values, kit).build(checked.tree.body)
        if not expr.free_symbols:
            raise ValueError(f"the expression is a constant ({short(checked.source.original)}): it must depend "
                             "on x or y")
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

    def __init__(self, source: Source, values: dict, kit: SimpleNamespace):
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
            if base.is_Number and base <= 0 and exponent.free_symbols:  # as text.check, once SymPy has simplified
                raise self.error(node, f"{self.source.segment(node)}: a power with x or y in the exponent needs a "
                                       "positive base")
            expr = self.kit.Power(base, exponent)
        elif isinstance(node, ast.BinOp):
            expr = _OPERATIONS[type(node.op)](self.build(node.left), self.build(node.right))
        else:  # a call: check() let nothing else through
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
    if isinstance(expr, (kit.Inert, kit.sympy.log)) and name in CALLS and len(expr.args) == 1:
        return "call", name, _plain(expr.args[0], slots, kit)
    raise ValueError(f"the expression could not be analysed (its gradient holds {name}); try simplifying it")
