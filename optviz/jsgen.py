"""The JavaScript engine, generated from the catalogue: the update rules and the built-in surfaces as one ES module.

    python -m optviz.jsgen            # (re)writes optviz/ui/race_viewer/engine.generated.js
    python -m optviz.jsgen --check    # exits 1 if that file is not what the catalogue generates now

The race viewer steps optimizers in the browser, under the reader's finger, with the very formulas of
optviz/optimizers.py: never a hand-kept twin. Each optimizer's rule (`*_rule`), its per-step `prepare` and the
helpers they call are translated from their Python source (the `py_func` of the compiled formula), statement by
statement: arithmetic (`**` as C's pow rounds it: $pow in HELPERS), math.sqrt and its kin, abs, max and min as
Python takes them, np.sign as numba takes it, tuples (arrays in JavaScript) and their unpacking, a record's fields
(`c.beta2`: the record becomes a plain object with the record's field names), `if`/`else`, `x if c else y`,
booleans, comparisons (== as Python's: True == 1), `one_minus(x)` as `1 - x`, the module's numeric constants, and
calls to other formulas and records. Anything else is refused with
`Untranslatable`, which names the construct, the function, and the file and line it is on.

The built-in surfaces' value and gradient are evaluated on SymPy symbols and printed by SymPy's JavaScript printer
(floats as Python prints them, so that each constant is the same double); a surface that is no closed formula (a
data surface's mean over a table) is left out, and listed in the module's header.

The diagnostics an optimizer's catalogue entry works out from its recorded state (m̂, v̂, the bias corrections, the
effective step: optimizers.moment_diagnostics) are formulas too, translated alike (DIAGNOSTICS).

The module ends with the loop that applies a rule to Float64Arrays (`step`, as Optimizer.step_ does), records a
race (`race`, as optviz.race records one run) and works out its diagnostics (`diagnose`), written by hand below
(RUNTIME) and copied in as it is.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import difflib
import inspect
import json
import math
import re
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy
from numba.core.registry import CPUDispatcher
from sympy.printing.jscode import JavascriptCodePrinter

from . import jit
from .optimizers import (
    ELEMENTWISE,
    MAXIMIZE,
    OptimizerSpec,
    bias_corrected,
    effective_step_of,
    moment_diagnostics,
    moment_prepare,
)
from .optimizers import SPECS as OPTIMIZERS
from .params import LR, Param
from .surfaces import SAMPLING_PARAMS, SurfaceSpec
from .surfaces import SPECS as SURFACES

PACKAGE = Path(__file__).resolve().parent
TARGET = PACKAGE / "ui" / "race_viewer" / "engine.generated.js"
COMMAND = "python -m optviz.jsgen"
SURFACES_BEGIN, RUNTIME_BEGIN = "// The built-in surfaces", "// The loops"  # where the module's sections begin


class Untranslatable(ValueError):
    """A formula the translator cannot turn into JavaScript; the message says what, where, and what it takes."""


# ---------------------------------------------------------------------------------------------------------------
# Python formulas to JavaScript functions, from their AST

# Words JavaScript reserves (or whose shadowing would break the module): a Python name among them gets a "$" suffix,
# a character no Python name has, so the renamed name meets no other.
_RESERVED = frozenset("""
    arguments await break case catch class const continue debugger default delete do else enum eval export extends
    false finally for function if implements import in instanceof interface let new null package private protected
    public return static super switch this throw true try typeof var void while with yield
    Infinity NaN undefined Math Number Object Array Float64Array
""".split())

# Functions of math and numpy that JavaScript's Math computes alike (sqrt exactly; the others to within the ulp or
# so that libm and V8 may differ by). np.sign is numba's: ±0 and NaN come back as they are.
_MATH = {"sqrt": "Math.sqrt", "exp": "Math.exp", "log": "Math.log", "log1p": "Math.log1p", "expm1": "Math.expm1",
         "sin": "Math.sin", "cos": "Math.cos", "tan": "Math.tan", "tanh": "Math.tanh", "atan": "Math.atan",
         "fabs": "Math.abs", "abs": "Math.abs", "absolute": "Math.abs", "sign": "$sign"}
_MATH_CONSTANTS = {"pi": "Math.PI", "e": "Math.E", "inf": "Infinity"}
_BUILTINS = {"abs": "Math.abs", "max": "$max", "min": "$min"}

# JavaScript precedences (MDN's table): what needs parentheses where
_TERNARY, _OR, _AND, _EQUALITY, _RELATIONAL = 2, 3, 4, 8, 9
_ADDITIVE, _MULTIPLICATIVE, _UNARY, _PRIMARY = 11, 12, 14, 17
_BINARY = {ast.Add: ("+", _ADDITIVE), ast.Sub: ("-", _ADDITIVE), ast.Mult: ("*", _MULTIPLICATIVE),
           ast.Div: ("/", _MULTIPLICATIVE)}
# == and != as Python's: True == 1, as a switch's 1.0 equals True in the hyperparameter row
_COMPARE = {ast.Lt: ("<", _RELATIONAL), ast.LtE: ("<=", _RELATIONAL), ast.Gt: (">", _RELATIONAL),
            ast.GtE: (">=", _RELATIONAL), ast.Eq: ("==", _EQUALITY), ast.NotEq: ("!=", _EQUALITY)}

_CONSTRUCTS = {  # what a refused node is, in words
    ast.For: "a for loop", ast.While: "a while loop", ast.With: "a with block", ast.Try: "a try block",
    ast.Raise: "a raise", ast.Assert: "an assert", ast.Import: "an import", ast.ImportFrom: "an import",
    ast.Global: "a global statement", ast.Nonlocal: "a nonlocal statement", ast.Delete: "a del statement",
    ast.FunctionDef: "a nested function", ast.ClassDef: "a class", ast.Lambda: "a lambda",
    ast.Subscript: "indexing (x[i])", ast.ListComp: "a list comprehension", ast.GeneratorExp: "a generator",
    ast.DictComp: "a dict comprehension", ast.SetComp: "a set comprehension", ast.Dict: "a dict", ast.Set: "a set",
    ast.List: "a list", ast.JoinedStr: "an f-string", ast.Starred: "unpacking with *", ast.NamedExpr: "the := operator",
    ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield", ast.FloorDiv: "floor division (//)",
    ast.Mod: "the remainder operator (%)", ast.MatMult: "matrix multiplication (@)", ast.BitAnd: "a bitwise and (&)",
    ast.BitOr: "a bitwise or (|)", ast.BitXor: "a bitwise xor (^)", ast.LShift: "a shift (<<)",
    ast.RShift: "a shift (>>)", ast.Invert: "a bitwise not (~)", ast.Is: "an identity test (is)",
    ast.IsNot: "an identity test (is not)", ast.In: "a membership test (in)", ast.NotIn: "a membership test (not in)",
}
_TAKES = ("the translator takes arithmetic (+ − × ÷ **), comparisons, and/or/not, x if c else y, tuples and their "
          "unpacking, a record's fields, if/else, return, math.sqrt and its kin, abs, max, min, np.sign, one_minus, "
          "numeric constants, and calls to other formulas and to records")


def _identifier(name: str) -> str:
    return f"{name}$" if name in _RESERVED else name


def _global_identifier(name: str) -> str:
    """A translated function's or constant's name in the module, clear of the names the module declares itself."""
    return f"{name}$" if name in _RESERVED | _declared() else name


def _declared() -> set[str]:
    """The names HELPERS and RUNTIME declare at the module's top level, and its exports."""
    return set(re.findall(r"^(?:export )?(?:function|const) (\$?\w+)", HELPERS + RUNTIME, re.M)) | {
        "OPTIMIZERS", "SURFACES"}


def _python(fn) -> types.FunctionType:
    """The plain Python function behind a compiled formula (or fn itself)."""
    return fn.py_func if isinstance(fn, CPUDispatcher) else fn


def _is_record(value) -> bool:
    return isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields")


def _number(value) -> str:
    """A Python number (or bool) as JavaScript source that reads back as the same double."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        if abs(int(value)) > 2**53:
            raise Untranslatable(f"the integer {value} is beyond a double's exact integers")
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


class Module:
    """The JavaScript functions and constants translated so far, in the order first met, by their JS names."""

    def __init__(self):
        self.functions: dict[str, tuple[types.FunctionType, str | None]] = {}
        self.constants: dict[str, str] = {}

    def function(self, fn) -> str:
        """fn's JavaScript name, translating fn (and, on the way, what it calls) the first time it is asked for."""
        py = _python(fn)
        name = _global_identifier(py.__name__)
        if name in self.functions:
            if self.functions[name][0] is not py:
                raise Untranslatable(f"two formulas are named {py.__name__} ({py.__module__}.{py.__qualname__} and "
                                     f"{self.functions[name][0].__qualname__}): JavaScript needs one name each")
            return name
        self.functions[name] = (py, None)  # under way: a recursive call finds its name
        self.functions[name] = (py, _Translator(py, self).function())
        return name

    def constant(self, name: str, value) -> str:
        js, text = _global_identifier(name), _number(value)
        if self.constants.get(js, text) != text:
            raise Untranslatable(f"two constants are named {name}, with the values {self.constants[js]} and {text}")
        self.constants[js] = text
        return js

    def source(self) -> str:
        constants = "".join(f"const {name} = {value};\n" for name, value in self.constants.items())
        return constants + "\n" + "\n".join(source for _, source in self.functions.values())


def translate(*functions: Callable) -> str:
    """JavaScript source of these formulas and of every formula they call (constants first)."""
    module = Module()
    for fn in functions:
        module.function(fn)
    return module.source()


class _Translator:
    """One Python function (a def of arithmetic on numbers) as one JavaScript function."""

    def __init__(self, fn: types.FunctionType, module: Module):
        self.fn, self.module = fn, module
        try:
            lines, self.first_line = inspect.getsourcelines(fn)
        except (OSError, TypeError) as error:
            raise Untranslatable(f"{fn.__qualname__}: its source cannot be read ({error})") from None
        self.file = _shown_path(inspect.getsourcefile(fn) or "<unknown>")
        tree = ast.parse(textwrap.dedent("".join(lines)))
        if not tree.body or not isinstance(tree.body[0], ast.FunctionDef):
            raise Untranslatable(f"{self.file}:{self.first_line}: {fn.__qualname__} is not written as a def "
                                 f"(a lambda or a built function): the translator reads a def's statements")
        self.node = tree.body[0]
        closure = inspect.getclosurevars(fn)
        self.outer = {**closure.builtins, **closure.globals, **closure.nonlocals}
        arguments = self.node.args
        for node in (arguments.vararg, arguments.kwarg, *arguments.kwonlyargs, *arguments.posonlyargs):
            if node is not None:
                self.refuse(node, "a parameter other than a plain positional one")
        self.parameters = [a.arg for a in arguments.args]
        self.locals = set(self.parameters) | {name for node in ast.walk(self.node) for name in self.assigned(node)}

    # -- where, and why not

    def refuse(self, node: ast.AST, what: str | None = None):
        what = what or _CONSTRUCTS.get(type(node), f"the construct {type(node).__name__}")
        line = self.first_line + getattr(node, "lineno", 1) - 1
        raise Untranslatable(f"{self.file}:{line}: in {self.fn.__qualname__}, {what} cannot be translated to "
                             f"JavaScript; {_TAKES}")

    @staticmethod
    def assigned(node: ast.AST) -> list[str]:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        names = []
        for target in targets:
            elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
            names += [e.id for e in elements if isinstance(e, ast.Name)]
        return names

    # -- the function and its statements

    def function(self) -> str:
        node, fn = self.node, self.fn
        doc = ast.get_docstring(node)
        # the module's path, the same from a checkout or an install, and no line number: an edit above would make
        # the generated module stale
        comment = [f"// {fn.__module__.replace('.', '/')}.py, {fn.__qualname__}"]
        comment += [f"// {line}".rstrip() for line in (doc or "").splitlines()]
        defaults = node.args.defaults
        first_default = len(self.parameters) - len(defaults)
        signature = inspect.signature(fn).parameters
        parameters = []
        for k, name in enumerate(self.parameters):
            text = _identifier(name)
            if k >= first_default:  # its value (a module's constant, OUTSIDE, is its number)
                default = signature[name].default
                if not isinstance(default, (int, float, bool, np.integer, np.floating, np.bool_)):
                    self.refuse(defaults[k - first_default], "a default that is not a number or a boolean")
                text += f" = {_number(default)}"
            parameters.append(text)
        body = node.body[1:] if doc is not None else node.body
        declared = sorted(self.locals - set(self.parameters))
        lines = [f"  let {', '.join(map(_identifier, declared))};"] if declared else []
        lines += self.block(body, "  ")
        signature = f"function {_global_identifier(fn.__name__)}({', '.join(parameters)}) {{"
        return "\n".join(comment + [signature, *lines, "}"])

    def block(self, statements: list[ast.stmt], indent: str) -> list[str]:
        lines = []
        for statement in statements:
            lines += self.statement(statement, indent)
        return lines

    def statement(self, node: ast.stmt, indent: str) -> list[str]:
        self.indent = indent  # where a record spread over several lines puts its fields
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1:
                self.refuse(node, "a chained assignment (a = b = …)")
            return [f"{indent}{self.target(node.targets[0])} = {self.expr(node.value)[0]};"]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            return [f"{indent}{self.target(node.target)} = {self.expr(node.value)[0]};"]
        if isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                self.refuse(node, "an augmented assignment to something other than a name")
            value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
            ast.copy_location(value, node)
            return [f"{indent}{self.target(node.target)} = {self.expr(value)[0]};"]
        if isinstance(node, ast.Return):
            if node.value is None:
                self.refuse(node, "a return without a value")
            return [f"{indent}return {self.expr(node.value)[0]};"]
        if isinstance(node, ast.If):
            lines = [f"{indent}if ({self.expr(node.test)[0]}) {{", *self.block(node.body, indent + "  ")]
            orelse = node.orelse
            while len(orelse) == 1 and isinstance(orelse[0], ast.If):  # elif
                lines += [f"{indent}}} else if ({self.expr(orelse[0].test)[0]}) {{",
                          *self.block(orelse[0].body, indent + "  ")]
                orelse = orelse[0].orelse
            if orelse:
                lines += [f"{indent}}} else {{", *self.block(orelse, indent + "  ")]
            return lines + [f"{indent}}}"]
        if isinstance(node, ast.Pass):
            return []
        if isinstance(node, ast.Expr):
            self.refuse(node, "an expression standing alone as a statement (a call for its side effect?)")
        self.refuse(node)

    def target(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return _identifier(node.id)
        if isinstance(node, (ast.Tuple, ast.List)):
            if not all(isinstance(e, ast.Name) for e in node.elts):
                self.refuse(node, "unpacking into something other than names")
            return "[" + ", ".join(_identifier(e.id) for e in node.elts) + "]"
        self.refuse(node, "an assignment to something other than a name or a tuple of names"
                    if not isinstance(node, ast.Subscript) else "an assignment into an array (x[i] = …)")

    # -- expressions: (JavaScript source, its precedence)

    def expr(self, node: ast.expr) -> tuple[str, int]:
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            self.refuse(node)
        return method(node)

    def operand(self, node: ast.expr, least: int) -> str:
        """node's source, in parentheses unless it binds at least as tightly as `least`."""
        text, precedence = self.expr(node)
        return text if precedence >= least else f"({text})"

    def expr_Constant(self, node: ast.Constant):
        if isinstance(node.value, (bool, int, float)):
            return _number(node.value), _PRIMARY
        self.refuse(node, f"the constant {node.value!r} (not a number or a boolean)")

    def expr_Name(self, node: ast.Name):
        if node.id in self.locals:
            return _identifier(node.id), _PRIMARY
        value = self.outer.get(node.id, getattr(builtins, node.id, None))
        if isinstance(value, (bool, int, float, np.floating, np.integer, np.bool_)):
            return self.module.constant(node.id, value), _PRIMARY
        what = "an unknown name" if value is None else f"a {type(value).__name__}"
        self.refuse(node, f"the name {node.id} ({what}, used as a value)")

    def expr_Attribute(self, node: ast.Attribute):
        base = node.value
        if isinstance(base, ast.Name) and base.id in self.locals:  # a record's field: c.beta2
            return f"{_identifier(base.id)}.{node.attr}", _PRIMARY
        module = self.module_of(base)
        if module is not None and node.attr in _MATH_CONSTANTS:
            return _MATH_CONSTANTS[node.attr], _PRIMARY
        self.refuse(node, f"the attribute {ast.unparse(node)} (only a record's fields and math's constants)")

    def module_of(self, node: ast.expr):
        """math or numpy, when `node` names one of them in the function's module, else None."""
        if isinstance(node, ast.Name) and node.id not in self.locals:
            value = self.outer.get(node.id)
            if value is math or value is np:
                return value
        return None

    def expr_Tuple(self, node: ast.Tuple):
        return "[" + ", ".join(self.expr(e)[0] for e in node.elts) + "]", _PRIMARY

    def expr_BinOp(self, node: ast.BinOp):
        if isinstance(node.op, ast.Pow):  # numba's ** on floats is C's pow: $pow (see HELPERS)
            return f"$pow({self.expr(node.left)[0]}, {self.expr(node.right)[0]})", _PRIMARY
        if type(node.op) not in _BINARY:
            self.refuse(node, _CONSTRUCTS.get(type(node.op)))
        symbol, precedence = _BINARY[type(node.op)]
        # left to right as Python: a right operand of the same precedence keeps its parentheses (a − (b − c), and
        # a + (b + c), which floating point does not reassociate)
        return f"{self.operand(node.left, precedence)} {symbol} {self.operand(node.right, precedence + 1)}", precedence

    def expr_UnaryOp(self, node: ast.UnaryOp):
        if isinstance(node.op, ast.Not):
            return f"!{self.operand(node.operand, _UNARY)}", _UNARY
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            symbol = "-" if isinstance(node.op, ast.USub) else "+"
            text = self.operand(node.operand, _UNARY)
            return f"{symbol}{'(' + text + ')' if text.startswith(('-', '+')) else text}", _UNARY
        self.refuse(node, _CONSTRUCTS.get(type(node.op)))

    def expr_BoolOp(self, node: ast.BoolOp):
        symbol, precedence = ("&&", _AND) if isinstance(node.op, ast.And) else ("||", _OR)
        parts = [self.operand(v, precedence + 1) for v in node.values]
        return f" {symbol} ".join(parts), precedence

    def expr_Compare(self, node: ast.Compare):
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators):  # a < b < c is a < b && b < c (b is pure arithmetic)
            if type(op) not in _COMPARE:
                self.refuse(node, _CONSTRUCTS.get(type(op)))
            symbol, precedence = _COMPARE[type(op)]
            parts.append(f"{self.operand(left, _RELATIONAL + 1)} {symbol} {self.operand(right, _RELATIONAL + 1)}")
            left = right
        return (parts[0], _EQUALITY) if len(parts) == 1 else (" && ".join(f"({p})" for p in parts), _AND)

    def expr_IfExp(self, node: ast.IfExp):
        test, yes, no = (self.operand(n, _TERNARY + 1) for n in (node.test, node.body, node.orelse))
        return f"{test} ? {yes} : {no}", _TERNARY

    def expr_Call(self, node: ast.Call):
        if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            self.refuse(node, "a call with *args or **kwargs")
        func = node.func
        if isinstance(func, ast.Attribute) and self.module_of(func.value) is not None:
            if func.attr not in _MATH or node.keywords:
                self.refuse(node, f"the function {ast.unparse(func)}")
            return f"{_MATH[func.attr]}({', '.join(self.expr(a)[0] for a in node.args)})", _PRIMARY
        if not isinstance(func, ast.Name) or func.id in self.locals:
            self.refuse(node, f"a call of {ast.unparse(func)} (not a named formula)")
        value = self.outer.get(func.id, getattr(builtins, func.id, None))
        if value is jit.one_minus and len(node.args) == 1 and not node.keywords:
            return f"1 - {self.operand(node.args[0], _ADDITIVE + 1)}", _ADDITIVE
        if value is getattr(builtins, func.id, None) and func.id in _BUILTINS and not node.keywords:
            if func.id != "abs" and len(node.args) < 2:
                self.refuse(node, f"{func.id} of one argument (an iterable)")
            return f"{_BUILTINS[func.id]}({', '.join(self.expr(a)[0] for a in node.args)})", _PRIMARY
        if _is_record(value):
            return self.record(node, value), _PRIMARY
        if isinstance(value, (CPUDispatcher, types.FunctionType)):
            name = self.module.function(value)
            return f"{name}({', '.join(self.arguments(node, _python(value)))})", _PRIMARY
        what = "an unknown name" if value is None else f"a {type(value).__name__}"
        self.refuse(node, f"a call of {func.id} ({what}: neither a formula nor a record)")

    def arguments(self, node: ast.Call, callee: types.FunctionType) -> list[str]:
        """The call's arguments in the callee's order, its defaults written out where the call leaves them."""
        parameters = list(inspect.signature(callee).parameters.values())
        given = {p.name: self.expr(a)[0] for p, a in zip(parameters, node.args)}
        if len(node.args) > len(parameters):
            self.refuse(node, f"a call of {callee.__name__} with {len(node.args)} arguments (it takes "
                        f"{len(parameters)})")
        for keyword in node.keywords:
            if keyword.arg in given or keyword.arg not in {p.name for p in parameters}:
                self.refuse(node, f"a call of {callee.__name__} with the argument {keyword.arg} twice or unknown")
            given[keyword.arg] = self.expr(keyword.value)[0]
        out = []
        for p in parameters:
            if p.name in given:
                out.append(given[p.name])
            elif p.default is not inspect.Parameter.empty:
                out.append(_number(p.default))
            else:
                self.refuse(node, f"a call of {callee.__name__} without its argument {p.name}")
        return out

    def record(self, node: ast.Call, record: type) -> str:
        """A record built by a call (positionally or by field name) as a plain object with the record's fields."""
        fields = list(record._fields)
        if len(node.args) > len(fields):
            self.refuse(node, f"a {record.__name__} of {len(node.args)} values (it has {len(fields)} fields)")
        values = dict(zip(fields, (self.expr(a)[0] for a in node.args)))
        for keyword in node.keywords:
            if keyword.arg not in fields or keyword.arg in values:
                self.refuse(node, f"a {record.__name__} with the field {keyword.arg} twice or unknown")
            values[keyword.arg] = self.expr(keyword.value)[0]
        defaults = getattr(record, "_field_defaults", {})
        missing = [f for f in fields if f not in values and f not in defaults]
        if missing:
            self.refuse(node, f"a {record.__name__} without its field {missing[0]}")
        values.update({f: _number(defaults[f]) for f in fields if f not in values})
        items = [f"{f}: {values[f]}" for f in fields]
        one_line = "{ " + ", ".join(items) + " }"
        if len(self.indent) + len(one_line) <= 90:
            return one_line
        return "{\n" + "".join(f"{self.indent}  {item},\n" for item in items) + self.indent + "}"


def _shown_path(path: str) -> str:
    """A source file's path relative to the checkout (optviz/optimizers.py), where it lies in it."""
    try:
        return Path(path).resolve().relative_to(PACKAGE.parent).as_posix()
    except ValueError:
        return path


# ---------------------------------------------------------------------------------------------------------------
# The catalogue's entries

def _hyper_value(param: Param, value):
    """A hyperparameter's default as JSON: a choice by name, a switch as a boolean (hyperRow makes them numbers, as
    OptimizerSpec.hyper_rows does)."""
    return bool(value) if param.kind == "bool" else value


def _row_number(param: Param, value) -> float:
    """A value as OptimizerSpec.hyper_rows writes it in the row: a choice its index, a switch 0 or 1."""
    if param.kind == "choice":
        return float(param.choices.index(value))
    return float(value)


# The diagnostics the module works out again from a recorded state, as formulas: a spec's diagnostics function ->
# (its per-step constants, of (t, hyperparameters…); (m̂, v̂) of a coordinate; its effective step)
DIAGNOSTICS = {moment_diagnostics: (moment_prepare, bias_corrected, effective_step_of)}


def optimizer_entry(spec: OptimizerSpec, module: Module) -> str:
    """One optimizer as the generated module describes it: its hyperparameters in spec order (the row the loops
    read), its state, its prepare bound by name to the row (as jit.by_name binds it), its rule, its variant, and its
    diagnostics' formulas with the state they read (`moments`: first moment and denominator, per layout)."""
    if spec.kind != ELEMENTWISE:
        raise Untranslatable(f"{spec.name}: its rule needs {spec.kind}; the generated loop steps element-wise rules")
    names = [p.name for p in spec.params]
    prepare = _python(getattr(spec.prepare, "named", spec.prepare))
    prepare_name, rule_name = module.function(prepare), module.function(spec.rule)
    fields = {
        "name": json.dumps(spec.name), "title": json.dumps(spec.title, ensure_ascii=False), "hyper": json.dumps(names),
        "defaults": json.dumps([_hyper_value(p, p.default) for p in spec.params]),
        "choices": json.dumps({p.name: list(p.choices) for p in spec.params if p.kind == "choice"}),
        "state": json.dumps(list(spec.state)), "shared": json.dumps(spec.shared),
        "fill": json.dumps(dict(spec.state_fill)),
        "prepare": f"(h, t, q) => {prepare_name}(t, q{_bound(spec, prepare, 2)})", "rule": rule_name,
        "variant": "null", "diagnostics": "null", "moments": json.dumps(spec.moments(spec.state)),
    }
    if spec.variant:
        switch, value, rule, state = spec.variant
        row_value = _number(_row_number(spec.param(switch), value))
        fields["variant"] = (f"{{ switch: {json.dumps(switch)}, value: {row_value}, rule: {module.function(rule)}, "
                             f"state: {json.dumps(list(state))}, moments: {json.dumps(spec.moments(state))} }}")
    if spec.diagnostics in DIAGNOSTICS:
        constants, corrected, step = (_python(fn) for fn in DIAGNOSTICS[spec.diagnostics])
        fields["diagnostics"] = (f"{{ prepare: (h, t) => {module.function(constants)}(t{_bound(spec, constants, 1)}), "
                                 f"corrected: {module.function(corrected)}, step: {module.function(step)} }}")
    return _entry(spec.name, fields)


def _bound(spec: OptimizerSpec, fn: types.FunctionType, skip: int) -> str:
    """fn's parameters after the first `skip`, as arguments taken by name from the row h (", h[1], h[3]"); one that is
    no hyperparameter of spec keeps its default."""
    names, out = [p.name for p in spec.params], ""
    for parameter in list(inspect.signature(fn).parameters.values())[skip:]:
        if parameter.name in names:
            out += f", h[{names.index(parameter.name)}]"
        elif parameter.default is not inspect.Parameter.empty:
            out += f", {_number(parameter.default)}"
        else:
            raise Untranslatable(f"{spec.name}: {fn.__name__} takes {parameter.name}, which is no hyperparameter")
    return out


# ---------------------------------------------------------------------------------------------------------------
# Surfaces, through SymPy

class _Printer(JavascriptCodePrinter):
    """SymPy's JavaScript printer, a float printed as Python prints it: the shortest text that reads back as the
    same double (SymPy's own prints 15 digits, which need not)."""

    def _print_Float(self, expr):
        return repr(float(expr))


_SYMPY_MATH = types.SimpleNamespace(
    pi=sympy.pi, e=sympy.E, sqrt=sympy.sqrt, exp=sympy.exp, log=sympy.log, sin=sympy.sin, cos=sympy.cos,
    tan=sympy.tan, tanh=sympy.tanh, arctan=sympy.atan, atan=sympy.atan, abs=sympy.Abs, absolute=sympy.Abs,
    fabs=sympy.Abs, radians=lambda degrees: degrees * sympy.pi / 180)


def _symbolic(fn: types.FunctionType, seen: dict | None = None) -> types.FunctionType:
    """fn with numpy and math bound to SymPy's functions, in fn and in the plain functions it calls."""
    seen = {} if seen is None else seen
    if id(fn) in seen:
        return seen[id(fn)]
    names = _code_names(fn.__code__)
    rebound = {}
    for name in names & set(fn.__globals__):
        value = fn.__globals__[name]
        if value is np or value is math:
            rebound[name] = _SYMPY_MATH
        elif isinstance(value, types.FunctionType):
            rebound[name] = value  # placeholder: replaced below, after fn's twin is known (recursion)
    twin = types.FunctionType(fn.__code__, {**fn.__globals__, **rebound}, fn.__name__, fn.__defaults__,
                              fn.__closure__)
    seen[id(fn)] = twin
    for name, value in rebound.items():
        if isinstance(value, types.FunctionType):
            twin.__globals__[name] = _symbolic(value, seen)
    return twin


def _code_names(code: types.CodeType) -> set[str]:
    """The global names a function's code (and the code nested in it) reads."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def _surface_parameters(spec: SurfaceSpec) -> list[Param]:
    return [p for p in spec.params if p.name not in SAMPLING_PARAMS]


def surface_expressions(spec: SurfaceSpec) -> tuple[sympy.Expr, tuple[sympy.Expr, sympy.Expr]]:
    """The surface's value and gradient as SymPy expressions of x, y and its parameters (by name)."""
    if spec.model is not None:
        raise Untranslatable(f"surface {spec.name}: its loss is a mean over a table's rows, not a closed formula")
    params = [p.name for p in _surface_parameters(spec)]
    if {"x", "y"} & set(params):
        raise Untranslatable(f"surface {spec.name}: a parameter named x or y would shadow the coordinates")
    x, y = sympy.symbols("x y", real=True)
    symbols = {name: sympy.Symbol(name, real=True) for name in params}
    try:
        value = sympy.sympify(_symbolic(spec.value)(x, y, **symbols))
        grad = tuple(sympy.sympify(g) for g in _symbolic(spec.grad)(x, y, **symbols))
    except (TypeError, AttributeError, ValueError, sympy.SympifyError) as error:
        raise Untranslatable(f"surface {spec.name}: its formulas do not evaluate on SymPy symbols ({error})") from None
    if len(grad) != 2:
        raise Untranslatable(f"surface {spec.name}: its gradient has {len(grad)} components, not 2")
    return value, grad


def _js_function(name: str, outputs: list[sympy.Expr], params: list[str]) -> str:
    """A JavaScript function of (x, y, p), p the parameters by name, returning one value or an array of them; common
    subexpressions (SymPy's cse) as local constants."""
    temporaries, reduced = sympy.cse(outputs, symbols=sympy.numbered_symbols("_t"), optimizations=None)
    printer = _Printer()
    lines = [f"function {name}(x, y, p) {{"]
    if params:
        lines.append(f"  const {', '.join(f'{_identifier(n)} = p.{n}' for n in params)};")
    lines += [f"  const {symbol} = {printer.doprint(expr)};" for symbol, expr in temporaries]
    printed = [printer.doprint(expr) for expr in reduced]
    lines.append(f"  return {printed[0] if len(printed) == 1 else '[' + ', '.join(printed) + ']'};")
    return "\n".join(lines + ["}"])


def surface_entry(spec: SurfaceSpec) -> tuple[str, str]:
    """(the functions, the SURFACES entry) of a built-in surface."""
    value, grad = surface_expressions(spec)
    params = [p.name for p in _surface_parameters(spec)]
    identifier = _identifier(spec.name)
    functions = (f"// surface {spec.name}: {spec.latex}\n" + _js_function(f"{identifier}_value", [value], params)
                 + "\n" + _js_function(f"{identifier}_grad", list(grad), params) + "\n")
    static = {"window": spec.window, "start": spec.start}
    fields = {
        "name": json.dumps(spec.name), "title": json.dumps(spec.title, ensure_ascii=False),
        "params": json.dumps(params), "defaults": json.dumps([p.default for p in _surface_parameters(spec)]),
        **{key: json.dumps(None if callable(v) else [float(c) for c in v]) for key, v in static.items()},
        "noisy": json.dumps(spec.noisy), "value": f"{identifier}_value", "grad": f"{identifier}_grad",
    }
    return functions, _entry(spec.name, fields)


def _entry(name: str, fields: dict[str, str]) -> str:
    """`name: {…},` in a JavaScript object literal, a field a line."""
    return f"  {name}: {{\n" + "".join(f"    {key}: {value},\n" for key, value in fields.items()) + "  },\n"


# ---------------------------------------------------------------------------------------------------------------
# The module

HEADER = """\
// GENERATED by `{command}` from optviz/optimizers.py and optviz/surfaces.py: do not edit by hand.
// tests/test_js_engine.py fails when this file is stale; run the command to regenerate it.
//
// optviz's engine in JavaScript: each optimizer's update rule, its per-step prepare and the helpers they call,
// translated from their Python source, and the built-in surfaces' value and gradient, printed by SymPy. A rule
// steps one number: rule(p, g, s, lr, c) -> [p, s], s the array of its state; prepare(h, t, q) -> [c, q] works out
// step t's constants c (an object with the record's field names) from the hyperparameter row h. step() and race()
// at the end apply them to Float64Arrays, as optviz.Optimizer.step_ and optviz.race do.
//
// diagnose() works out the diagnostics of a recorded state (m̂, v̂, the bias corrections, the effective step) by
// the diagnostics' formulas, translated alike.
//
// Not translated (yet): learning-rate schedules (race takes a learning rate per step), the noisy quadratic's noise
// (race takes it as options.noise), typed surfaces, and these built-in surfaces and optimizers (the server computes
// them):
{skipped}
"""

HELPERS = """\
// Python's max and min: the first argument unless a later one is greater (smaller); NaN as Python and numba take it
function $max(a, ...others) {
  for (const b of others) if (b > a) a = b;
  return a;
}
function $min(a, ...others) {
  for (const b of others) if (b < a) a = b;
  return a;
}
// np.sign as numba computes it: ±0 and NaN come back as they are
function $sign(x) {
  return x > 0 ? 1 : x < 0 ? -1 : x;
}
// Python's ** on floats: C's pow, which glibc rounds correctly but for about one case in a thousand, where V8's
// Math.pow is an ulp off in about one case in twelve. A whole exponent n ≥ 0 (β^t, the bias corrections) is worked
// out to ~100 bits by squaring in double-double arithmetic, then rounded once (correctly); any other exponent, or a
// result near the ends of the doubles' range, is Math.pow's.
const SPLIT = 134217729;  // 2^27 + 1: Veltkamp's split of a double into two halves whose products are exact
function $pow(x, y) {
  if (!(Number.isInteger(y) && y >= 0 && y < 2 ** 31 && Math.abs(x) > 1e-150 && Math.abs(x) < 1e150)) {
    return Math.pow(x, y);
  }
  let hi = 1, lo = 0, baseHi = x, baseLo = 0, n = y;
  for (;;) {
    if (n & 1) {  // (hi, lo) × (baseHi, baseLo)
      const p = hi * baseHi, a = SPLIT * hi, b = SPLIT * baseHi;
      const aHi = a - (a - hi), aLo = hi - aHi, bHi = b - (b - baseHi), bLo = baseHi - bHi;
      const e = aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo + (hi * baseLo + lo * baseHi);
      hi = p + e;
      lo = e - (hi - p);
    }
    n >>>= 1;
    if (n === 0) break;
    const p = baseHi * baseHi, a = SPLIT * baseHi, aHi = a - (a - baseHi), aLo = baseHi - aHi;
    const e = aHi * aHi - p + 2 * aHi * aLo + aLo * aLo + 2 * baseHi * baseLo;
    baseHi = p + e;
    baseLo = e - (baseHi - p);
  }
  return Math.abs(hi) > 1e-290 && Math.abs(hi) < 1e290 ? hi : Math.pow(x, y);
}
"""

RUNTIME = """\
// ---------------------------------------------------------------------------------------------------------------
// The loops (written by hand in optviz/jsgen.py and copied here): Optimizer.step_ and a recorded race

// the hyperparameters the loops read by name, as optviz.Optimizer does
const MAXIMIZE = {maximize};
const LR = {lr};

/** A hyperparameter's number in the row, as OptimizerSpec.hyper_rows writes it: a choice its index, a switch
 *  0 or 1. */
function rowNumber(spec, name, value) {
  const choices = spec.choices[name];
  if (choices) {
    const index = choices.indexOf(value);
    if (index < 0) throw new Error(`${spec.name}: ${name} must be one of ${choices.join(", ")}, got ${value}`);
    return index;
  }
  if (typeof value === "boolean") return Number(value);
  if (typeof value !== "number") throw new Error(`${spec.name}: ${name} must be a number, got ${value}`);
  return value;
}

/** The hyperparameter row (a Float64Array in spec order) of these settings, the defaults for those not given. */
export function hyperRow(spec, hparams = {}) {
  for (const name of Object.keys(hparams)) {
    if (!spec.hyper.includes(name)) {
      throw new Error(`${spec.name} has no hyperparameter ${name}; valid names: ${spec.hyper.join(", ")}`);
    }
  }
  return Float64Array.from(spec.hyper, (name, k) => rowNumber(spec, name, name in hparams ? hparams[name]
                                                                                         : spec.defaults[k]));
}

/** An optimizer bound to its settings, as optviz.optimizer(name, **hparams): its row h, the rule and state these
 *  settings select (the variant: AdamW with amsgrad), the state kept per number (`arrays`: all but the shared
 *  scalar), the gradient's sign (−1 to maximize) and the learning rate. */
export function optimizer(name, hparams = {}) {
  const spec = OPTIMIZERS[name];
  if (!spec) throw new Error(`unknown optimizer ${name}; choose one of: ${Object.keys(OPTIMIZERS).join(", ")}`);
  const h = hyperRow(spec, hparams), at = (what) => spec.hyper.indexOf(what);
  const chosen = spec.variant && h[at(spec.variant.switch)] === spec.variant.value ? spec.variant : spec;
  return {
    spec, h, rule: chosen.rule, state: chosen.state, arrays: chosen.state.filter((s) => s !== spec.shared),
    sign: at(MAXIMIZE) >= 0 && h[at(MAXIMIZE)] ? -1 : 1, lr: h[at(LR)], moments: chosen.moments,
  };
}

function startValue(opt, name) {
  const fill = opt.spec.fill[name];
  return fill ? 0 + opt.h[opt.spec.hyper.indexOf(fill)] : 0;
}

/** Zeroed state for a Float64Array of n numbers (AdaGrad's sum at its initial value): {step, arrays, shared}. */
export function init(opt, n) {
  const arrays = opt.arrays.map((name) => new Float64Array(n).fill(startValue(opt, name)));
  return { step: 0, arrays, shared: 1 };
}

/** One step in place, as Optimizer.step_: params and the state's arrays are overwritten. */
export function step(opt, params, grads, state, lr = opt.lr, t = state.step + 1) {
  const { rule, sign } = opt, arrays = state.arrays, k = arrays.length;
  state.step = t;
  const [c, q] = opt.spec.prepare(opt.h, t, state.shared);
  state.shared = q;
  const s = new Array(k);
  for (let i = 0; i < params.length; i++) {
    for (let j = 0; j < k; j++) s[j] = arrays[j][i];
    const [p, next] = rule(params[i], sign * grads[i], s, lr, c);
    params[i] = p;
    for (let j = 0; j < k; j++) arrays[j][i] = next[j];
  }
  return params;
}

/** A built-in surface with its parameters (the defaults for those not given): {grad(x, y), value(x, y), bound,
 *  window, start}; bound as Surface.bound, 100 × the window's largest coordinate. */
export function surface(name, params = {}) {
  const spec = SURFACES[name];
  if (!spec) throw new Error(`unknown surface ${name}; choose one of: ${Object.keys(SURFACES).join(", ")}`);
  for (const key of Object.keys(params)) {
    if (!spec.params.includes(key)) {
      throw new Error(`surface ${name} has no parameter ${key}; valid names: ${spec.params.join(", ") || "none"}`);
    }
  }
  const p = Object.fromEntries(spec.params.map((key, k) => [key, key in params ? params[key] : spec.defaults[k]]));
  const bound = spec.window ? 100 * Math.max(...spec.window.map(Math.abs)) : Infinity;
  return {
    spec, params: p, bound, window: spec.window, start: spec.start,
    grad: (x, y) => spec.grad(x, y, p), value: (x, y) => spec.value(x, y, p),
  };
}

/** The diagnostics of a recorded run, as the optimizer's diagnostics work them out (optviz/optimizers.py,
 *  moment_diagnostics): {bc1, bc2 (steps), m_hat, v_hat, effective_step (steps×2)} from its state {name: steps×2}
 *  (race's recording) and learning rate (a number or one per step); null for an optimizer without them. */
export function diagnose(opt, state, steps, lr = opt.lr) {
  const d = opt.spec.diagnostics;
  if (!d || !opt.moments) return null;
  const [m, v] = opt.moments.map((name) => state[name]);
  const bc1 = new Float64Array(steps), bc2 = new Float64Array(steps);
  const mHat = new Float64Array(2 * steps), vHat = new Float64Array(2 * steps), effective = new Float64Array(2 * steps);
  for (let t = 1; t <= steps; t++) {
    const c = d.prepare(opt.h, t), alpha = typeof lr === "number" ? lr : lr[t - 1];
    bc1[t - 1] = c.bc1;
    bc2[t - 1] = c.bc2;
    for (let i = 2 * t - 2; i < 2 * t; i++) {
      [mHat[i], vHat[i]] = d.corrected(m[i], v[i], c);
      effective[i] = d.step(m[i], v[i], alpha, c);
    }
  }
  return { m_hat: mHat, v_hat: vHat, bc1, bc2, effective_step: effective };
}

/** Optimizers racing from `start` for `steps` steps, everything recorded, as optviz.race records a run: per
 *  optimizer {path (steps+1)×2, loss (steps+1, when the surface has a value), grad steps×2 (the surface's gradient,
 *  noise included), state {name: steps×2}, shared (steps, or null), divergedAt, convergedAt (null: never)}, all
 *  NaN from the step the run diverged on. surface: {grad(x, y, t) -> [gx, gy], value?(x, y), bound?, minima?
 *  [[x, y], …], tol?}; options: {lr: a number or one per step (the optimizer's own by default), noise: steps×2
 *  added to the gradient}. */
export function race(opts, surf, start, steps, options = {}) {
  return opts.map((opt) => run(opt, surf, start, steps, options));
}

function run(opt, surf, start, steps, { lr = opt.lr, noise = null } = {}) {
  const { spec, h, rule, sign } = opt, names = opt.arrays, k = names.length;
  const path = new Float64Array(2 * (steps + 1)), grad = new Float64Array(2 * steps);
  const traces = names.map(() => new Float64Array(2 * steps));
  const shared = spec.shared ? new Float64Array(steps) : null;
  let x = start[0], y = start[1], q = 1;
  let sx = names.map((name) => startValue(opt, name)), sy = sx.slice();
  path[0] = x;
  path[1] = y;
  for (let t = 1; t <= steps; t++) {
    const prepared = spec.prepare(h, t, q), c = prepared[0];
    q = prepared[1];
    if (shared) shared[t - 1] = q;
    const g = surf.grad(x, y, t);
    let gx = g[0], gy = g[1];
    if (noise) {
      gx += noise[2 * t - 2];
      gy += noise[2 * t - 1];
    }
    const alpha = typeof lr === "number" ? lr : lr[t - 1];
    let out = rule(x, sign * gx, sx, alpha, c);
    x = out[0];
    sx = out[1];
    out = rule(y, sign * gy, sy, alpha, c);
    y = out[0];
    sy = out[1];
    grad[2 * t - 2] = gx;
    grad[2 * t - 1] = gy;
    for (let j = 0; j < k; j++) {
      traces[j][2 * t - 2] = sx[j];
      traces[j][2 * t - 1] = sy[j];
    }
    path[2 * t] = x;
    path[2 * t + 1] = y;
  }
  return outcome(surf, path, grad, Object.fromEntries(names.map((name, j) => [name, traces[j]])), shared, steps);
}

/** The first step out of bounds (or with a loss that is not finite) and the first near a listed minimum, as the
 *  engine's recorder finds them; the recording NaN from the divergence on (the gradients and state from the step
 *  that diverged). */
function outcome(surf, path, grad, state, shared, steps) {
  const bound = surf.bound ?? Infinity, tol = surf.tol ?? 1e-3, minima = surf.minima ?? [];
  let diverged = -1, converged = -1;
  for (let t = 0; t <= steps && diverged < 0; t++) {
    if (!(Math.abs(path[2 * t]) <= bound && Math.abs(path[2 * t + 1]) <= bound)) diverged = t;
  }
  let loss = null;
  if (surf.value) {
    loss = new Float64Array(steps + 1);
    for (let t = 0; t <= steps; t++) {
      loss[t] = surf.value(path[2 * t], path[2 * t + 1]);
      if (!Number.isFinite(loss[t]) && (diverged < 0 || t < diverged)) diverged = t;
    }
  }
  for (let t = 0; t <= steps && converged < 0; t++) {
    for (const [mx, my] of minima) {
      const dx = path[2 * t] - mx, dy = path[2 * t + 1] - my;
      if (dx * dx + dy * dy <= tol * tol) converged = t;
    }
  }
  if (diverged >= 0) {
    if (converged >= diverged) converged = -1;
    path.fill(NaN, 2 * diverged);
    if (loss) loss.fill(NaN, diverged);
    const dead = Math.max(0, diverged - 1);
    grad.fill(NaN, 2 * dead);
    for (const trace of Object.values(state)) trace.fill(NaN, 2 * dead);
    if (shared) shared.fill(NaN, dead);
  }
  return {
    path, loss, grad, state, shared, divergedAt: diverged < 0 ? null : diverged,
    convergedAt: converged < 0 ? null : converged,
  };
}
"""


def generate() -> str:
    """The module's source, from the catalogue as it is now."""
    module = Module()
    entries = "".join(optimizer_entry(spec, module) for spec in OPTIMIZERS.values() if spec.kind == ELEMENTWISE)
    skipped = [f"optimizer {spec.name}: its rule needs {spec.kind}, not one number at a time: the server steps it"
               for spec in OPTIMIZERS.values() if spec.kind != ELEMENTWISE]
    surface_functions, surface_entries = [], []
    for spec in SURFACES.values():
        try:
            functions, entry = surface_entry(spec)
        except Untranslatable as reason:
            skipped.append(str(reason))
            continue
        surface_functions.append(functions)
        surface_entries.append(entry)
    lines = [line for reason in skipped or ["none"] for line in textwrap.wrap(reason, 108)]
    header = HEADER.format(command=COMMAND, skipped="\n".join(f"//   {line}" for line in lines))
    return "\n".join([
        header, HELPERS, "// " + "-" * 111, "// The update rules, their prepares and helpers (optviz/optimizers.py)\n",
        module.source(), "\nexport const OPTIMIZERS = {\n" + entries + "};\n",
        "// " + "-" * 111, f"{SURFACES_BEGIN} (optviz/surfaces.py), printed by SymPy {sympy.__version__}'s "
        "JavaScript printer\n",
        "\n".join(surface_functions), "export const SURFACES = {\n" + "".join(surface_entries) + "};\n",
        RUNTIME.replace("{maximize}", json.dumps(MAXIMIZE.name)).replace("{lr}", json.dumps(LR)),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {_shown_path(str(TARGET))} is stale")
    args = parser.parse_args(argv)
    fresh = generate()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current == fresh:
            print(f"{_shown_path(str(TARGET))} is up to date")
            return 0
        diff = difflib.unified_diff(current.splitlines(), fresh.splitlines(), "checked in", "generated", lineterm="",
                                    n=1)
        print(f"{_shown_path(str(TARGET))} is stale: run `{COMMAND}` to regenerate it\n" + "\n".join(list(diff)[:40]),
              file=sys.stderr)
        return 1
    if current == fresh:
        print(f"{_shown_path(str(TARGET))} is up to date")
        return 0
    TARGET.write_text(fresh, encoding="utf-8")
    print(f"wrote {_shown_path(str(TARGET))} ({len(fresh.encode()) / 1000:.1f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
