"""The plain program compiled to NumPy: a closure per node calling NumPy ufuncs, constants folded.

    program = Program(plain)   # plain = (steps, outputs), as symbolic.analyse returns it
    f, gx, gy = program(x, y); (f,) = program(x, y, "value")   # at points of any (broadcastable) shape

The plain program is data: steps [(slot, node)] computing the shared subexpressions into slots 2, 3, ... (x and y
are slots 0 and 1), and outputs [f, df/dx, df/dy]; a node is ("var", slot), ("num", value), ("add"|"mul", parts),
("pow", base, exponent) or ("call", name, argument), with a name of CALLS. No generated code is ever executed:
each node becomes a closure. A program is bounded by MAX_PROGRAM operations, which keeps landmarks and runs
quick.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .text import NUMPY_FUNCTIONS

MAX_PROGRAM = 3000  # NumPy operations for value and gradient together: keeps landmarks and runs quick

CALLS = {**NUMPY_FUNCTIONS, "sign": np.sign}  # a plain program's functions: those typed, and sign (abs's derivative)
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
            return _apply(CALLS[node[1]], _compile(node[2], counter))
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


class Program:
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
