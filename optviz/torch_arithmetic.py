"""Vector arithmetic on 2-vectors rounded as torch's CPU kernels round it, so that the optimizers ported from
torch (optviz.lbfgs, optviz.whole_vector, optviz.second_order) match it to the last bit in float64: a chaotic run
(L-BFGS or Muon near a minimum) drifts away from the reference after a few dozen steps otherwise.

    axpy(α, x, y)   # y.add(x, alpha=α): one fused multiply-add per element
    dot(x, y)       # x.dot(y): x₀y₀ + x₁y₁, no fused multiply-add (NumPy's @ fuses)
    norm(x)         # x.norm(): √fma(x₁, x₁, x₀²)
    lerp(a, b, w)   # a.lerp(b, w): from the nearer end, fused
    addcmul(s, a, b, value)   # s.addcmul(a, b, value=v): fma(v·a, b, s)
    addcdiv(s, a, b, value)   # s.addcdiv(a, b, value=v): s + v·a/b, unfused
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def _fused_multiply_add(typingctx, a, b, c):
    """a·b + c rounded once (LLVM's llvm.fma: the instruction, or a correctly rounded library call)."""
    def codegen(context, builder, signature, args):
        double = args[0].type
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(double, [double] * 3), "llvm.fma.f64")
        return builder.call(fma, args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@njit(cache=True)
def fma(a: float, b: float, c: float) -> float:
    """a·b + c, rounded once."""
    return _fused_multiply_add(a, b, c)


@njit(cache=True)
def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y + α·x, each element one fused multiply-add: torch's y.add(x, alpha=α) on the CPU."""
    out = np.empty_like(y)
    for i in range(len(y)):
        out[i] = _fused_multiply_add(alpha, x[i], y[i])
    return out


@njit(cache=True)
def addcmul(start: np.ndarray, x: np.ndarray, y: np.ndarray, value: float) -> np.ndarray:
    """start + v·x·y, as torch's addcmul: fma(v·x, y, start) per element."""
    out = np.empty_like(start)
    for i in range(len(start)):
        out[i] = _fused_multiply_add(value * x[i], y[i], start[i])
    return out


def addcdiv(start: np.ndarray, x: np.ndarray, y: np.ndarray, value: float) -> np.ndarray:
    """start + v·x/y, as torch's addcdiv: (v·x)/y added, unfused."""
    return start + value * x / y


def dot(x: np.ndarray, y: np.ndarray) -> float:
    """x·y as torch's CPU dot sums two products: x₀y₀ + x₁y₁ (no fused multiply-add)."""
    return float(x[0] * y[0] + x[1] * y[1])


def norm(x: np.ndarray) -> float:
    """‖x‖ as torch's CPU norm works it out for two numbers: √fma(x₁, x₁, x₀²)."""
    return math.sqrt(fma(float(x[1]), float(x[1]), float(x[0] * x[0])))


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """start + w·(end − start), as torch's lerp works it out: from the nearer end, fused,
    fma(w, end − start, start) for w < ½, else fma(−(1 − w), end − start, end)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    if weight < 0.5:
        return axpy(weight, end - start, start)
    return axpy(-(1 - weight), end - start, end)
