"""Compiling optviz's loops with numba: scalar formulas inlined into loops, kernels cached on disk.

    @scalar                      # a formula on numbers, inlined wherever a kernel calls it
    def rule(p, g, ...): ...
    step = kernel(make_loop(rule))          # a compiled loop, cached on disk across processes

The loops are built by small factories that close over the formulas they apply (one loop source, many rules).
numba would key the disk cache of such a closure by a pickle of the functions it closes over, and that pickle
differs in every process, so a restarted server would compile everything again: `kernel` keys it instead by what
those functions compute (their bytecode and constants, and the functions they call). A read-only install cannot
write the cache and keeps compiled code in memory only.

`fastmath` stays off everywhere: it lets LLVM reassociate, and then a batched run no longer equals the same run made
alone, bit for bit. error_model="numpy" drops Python's zero-division checks (x/0 is inf or NaN, as in NumPy), so
LLVM can vectorize the divisions.
"""

from __future__ import annotations

import hashlib
import types

from numba import njit
from numba.core import types as numba_types
from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype

__all__ = ["in_precision_of", "kernel", "load", "one_minus", "per_step", "scalar", "scalar_twin", "store"]


def scalar(fn):
    """A formula on scalars, inlined into every compiled loop that calls it."""
    return njit(inline="always", error_model="numpy")(fn)


def per_step(fn):
    """A function of the hyperparameter row worked out once per step: compiled on its own (LLVM inlines it),
    since numba's own inlining of a function taking an array trips its parallel-loop analysis."""
    return njit(error_model="numpy")(fn)


def kernel(fn):
    """Compile a loop (lazily, at its first call), caching the machine code on disk when the install allows it.
    The loop releases the GIL, so that threads can share out a batch."""
    dispatcher = njit(error_model="numpy", nogil=True)(fn)
    try:
        dispatcher._cache = _FingerprintCache(dispatcher.py_func)
    except RuntimeError:  # numba finds no writable cache directory: compile in memory, as without cache=True
        pass
    return dispatcher


def scalar_twin(fn):
    """`fn` (a plain Python function of NumPy scalars or arrays) compiled as a scalar formula, together with the
    plain Python functions it calls: the one definition serves NumPy callers and compiled loops alike."""
    names = fn.__code__.co_names
    helpers = {name: scalar_twin(value) for name, value in fn.__globals__.items()
               if name in names and isinstance(value, types.FunctionType)}
    if helpers:
        fn = types.FunctionType(fn.__code__, {**fn.__globals__, **helpers}, fn.__name__, fn.__defaults__,
                                fn.__closure__)
    return scalar(fn)


# ---------------------------------------------------------------------------------------------------------------
# Precision: a rule on float32 numbers computes in float32, as torch does, and at float32's speed (SIMD lanes twice
# as wide, no conversions). numba widens float32 to float64 wherever a float64 or an integer literal meets it, so the
# loops cast their per-step constants to the parameters' type and a rule writes 1 − x as one_minus(x) where x is
# small (1 − αλ); a complement 1 − β of a β near 1 comes with the per-step constants, worked out in float64.

def one_minus(x):
    """1 − x in x's own precision (a bare 1 − x is float64 in numba when x is float32)."""
    return 1 - x


@overload(one_minus, inline="always")
def _one_minus_impl(x):
    one = as_dtype(x).type(1)
    return lambda x: one - x


@intrinsic
def in_precision_of(typingctx, values, array):
    """The tuple `values` with its floats cast to `array`'s dtype (booleans and integers kept as they are)."""
    cast_types = tuple(array.dtype if isinstance(t, numba_types.Float) else t for t in values.types)
    result = numba_types.Tuple(cast_types)

    def codegen(context, builder, signature, args):
        items = [context.cast(builder, builder.extract_value(args[0], k), old, new)
                 for k, (old, new) in enumerate(zip(values.types, cast_types))]
        return context.make_tuple(builder, result, items)
    return result(values, array), codegen


# ---------------------------------------------------------------------------------------------------------------
# A rule's state is a tuple of numbers; in a loop, the same tuple of arrays indexed at one element.

def load(arrays, index):
    """(arrays[0][index], arrays[1][index], ...): one element's state, as the tuple a rule takes."""


def store(arrays, index, values):
    """arrays[k][index] = values[k] for each k: write back the tuple a rule returned."""


def _load0(arrays, index):
    return ()


def _load1(arrays, index):
    return (arrays[0][index],)


def _load2(arrays, index):
    return arrays[0][index], arrays[1][index]


def _load3(arrays, index):
    return arrays[0][index], arrays[1][index], arrays[2][index]


def _store0(arrays, index, values):
    pass


def _store1(arrays, index, values):
    arrays[0][index] = values[0]


def _store2(arrays, index, values):
    arrays[0][index] = values[0]
    arrays[1][index] = values[1]


def _store3(arrays, index, values):
    arrays[0][index] = values[0]
    arrays[1][index] = values[1]
    arrays[2][index] = values[2]


@overload(load, inline="always")
def _load_impl(arrays, index):
    return (_load0, _load1, _load2, _load3)[len(arrays.types)]


@overload(store, inline="always")
def _store_impl(arrays, index, values):
    return (_store0, _store1, _store2, _store3)[len(arrays.types)]


# ---------------------------------------------------------------------------------------------------------------
# The disk cache

class _FingerprintCache(FunctionCache):
    """numba's per-function disk cache, with closures keyed by the code of what they close over."""

    def _index_key(self, sig, codegen):
        return sig, codegen.magic_tuple(), _fingerprint(self._py_func)


def _fingerprint(fn) -> str:
    digest = hashlib.sha256()
    _digest_function(fn, digest, set())
    return digest.hexdigest()


def _digest_function(fn, digest, seen: set) -> None:
    if id(fn) in seen:
        return
    seen.add(id(fn))
    code = fn.__code__
    digest.update(f"{fn.__module__}.{fn.__qualname__}".encode())
    _digest_code(code, digest)
    cells = [cell.cell_contents for cell in fn.__closure__ or ()]
    referenced = [fn.__globals__.get(name) for name in sorted(_names(code))]
    for value in cells + referenced:
        _digest_value(value, digest, seen)


def _digest_code(code, digest) -> None:
    digest.update(code.co_code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _digest_code(const, digest)
        else:
            digest.update(repr(const).encode())
    digest.update(repr(code.co_names).encode())


def _names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _digest_value(value, digest, seen: set) -> None:
    if isinstance(value, CPUDispatcher):
        _digest_function(value.py_func, digest, seen)
    elif isinstance(value, types.FunctionType):
        _digest_function(value, digest, seen)
    elif isinstance(value, (int, float, bool, str, bytes, type(None))):
        digest.update(repr(value).encode())
    elif isinstance(value, tuple):
        for item in value:
            _digest_value(item, digest, seen)
