"""Compiling optviz's loops with numba: scalar formulas inlined into loops, kernels cached on disk.

    @scalar                      # a formula on numbers, inlined wherever a kernel calls it
    def rule(p, g, ...): ...
    step = kernel(make_loop(rule))          # a compiled loop, cached on disk across processes

The loops are built by small factories that close over the formulas they apply (one loop source, many rules).
numba would key the disk cache of such a closure by a pickle of the functions it closes over, and that pickle
differs in every process, so a restarted server would compile everything again: `kernel` keys it instead by what
those functions compute (their bytecode and constants, and the functions they call). A read-only install cannot
write the cache and keeps compiled code in memory only.

A kernel compiles in seconds. Code that must answer at once runs it by `without_waiting`: its Python source,
calling the Python source of every formula it applies (`uncompiled`: the same rule, no second implementation),
while numba compiles it in the one compile thread of the process (`in_background`, `ready`); from then on the
compiled kernel runs.

`fastmath` stays off everywhere: it lets LLVM reassociate, and then a batched run no longer equals the same run made
alone, bit for bit. error_model="numpy" drops Python's zero-division checks (x/0 is inf or NaN, as in NumPy), so
LLVM can vectorize the divisions.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import queue
import threading
import types
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from concurrent.futures import wait as wait_for

import numpy as np
from llvmlite import binding as llvm
from numba import njit, typeof
from numba.core import types as numba_types
from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher
from numba.extending import intrinsic, overload
from numba.np.numpy_support import as_dtype

# LLVM unswitches a loop (a copy of it for each outcome of a test that no iteration changes) only when the loop is
# small, and its threshold (50) left the loops of rules that branch on a per-step constant (a power by square roots
# where the exponent allows it) scalar, at a fifth of their speed. llvmlite, numba's own binding to LLVM, raises it
# for every compile in the process: speed only (what a loop computes is the same), ASGD's and schedule-free's sweeps
# 4–6× faster, cold compiles about 10 % longer (docs/benchmarks.md).
llvm.set_option("optviz", "-unswitch-threshold=1000")

__all__ = ["by_name", "in_background", "in_precision_of", "kernel", "load", "one_minus", "per_step", "ready", "scalar",
           "scalar_twin", "store", "uncompiled", "without_waiting"]


def scalar(fn):
    """A formula on scalars, inlined into every compiled loop that calls it."""
    return njit(inline="always", error_model="numpy")(fn)


def per_step(fn):
    """A function of the hyperparameter row worked out once per step: compiled on its own (LLVM inlines it),
    since numba's own inlining of a function taking an array trips its parallel-loop analysis."""
    return njit(error_model="numpy")(fn)


def by_name(fn, names: Sequence[str]):
    """`fn(t, q, **hyperparameters)`, written with the hyperparameters it uses as named parameters, as the per-step
    function `(h, t, q)` the loops call with a row `h` of every hyperparameter in the order `names`: each of fn's
    parameters is taken from the row by its name, so no formula depends on where a hyperparameter sits (a parameter
    that is no hyperparameter keeps its default).

    The loops need a function of the row (numba compiles no keyword call from a dict), so one is written from the
    names: its source holds nothing but fn's parameter names, checked against `names`, and their places."""
    fn = getattr(fn, "named", fn)  # bound already (a spec copied with other hyperparameters): bind the original
    inner = fn.py_func if isinstance(fn, CPUDispatcher) else fn
    parameters = list(inspect.signature(inner).parameters.values())[2:]
    unknown = [p.name for p in parameters if p.name not in names and p.default is inspect.Parameter.empty]
    if unknown:
        raise ValueError(f"{inner.__qualname__} takes {', '.join(unknown)}, which the optimizer does not have "
                         f"(its hyperparameters: {', '.join(names)})")
    row = "".join(f", {p.name}=h[{list(names).index(p.name)}]" for p in parameters if p.name in names)
    source = f"def {inner.__name__}(h, t, q):\n    return inner(t, q{row})\n"
    namespace = {"inner": fn if isinstance(fn, CPUDispatcher) else njit(error_model="numpy")(fn)}
    exec(compile(source, inspect.getsourcefile(inner) or "<optviz>", "exec"), namespace)  # noqa: S102 (see above)
    bound = namespace[inner.__name__]
    bound.__module__, bound.__qualname__ = inner.__module__, f"{inner.__qualname__}.by_name"
    bound = per_step(bound)
    bound.named = fn
    return bound


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
    """The tuple `values` (or record: a namedtuple) with its floats cast to `array`'s dtype (booleans and integers
    kept as they are)."""
    cast_types = tuple(array.dtype if isinstance(t, numba_types.Float) else t for t in values.types)
    if isinstance(values, numba_types.BaseNamedTuple):
        result = numba_types.NamedTuple(cast_types, values.instance_class)
    else:
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


def _load4(arrays, index):
    return arrays[0][index], arrays[1][index], arrays[2][index], arrays[3][index]


def _load5(arrays, index):
    return arrays[0][index], arrays[1][index], arrays[2][index], arrays[3][index], arrays[4][index]


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


def _store4(arrays, index, values):
    arrays[0][index] = values[0]
    arrays[1][index] = values[1]
    arrays[2][index] = values[2]
    arrays[3][index] = values[3]


def _store5(arrays, index, values):
    arrays[0][index] = values[0]
    arrays[1][index] = values[1]
    arrays[2][index] = values[2]
    arrays[3][index] = values[3]
    arrays[4][index] = values[4]


@overload(load, inline="always")
def _load_impl(arrays, index):
    return (_load0, _load1, _load2, _load3, _load4, _load5)[len(arrays.types)]


@overload(store, inline="always")
def _store_impl(arrays, index, values):
    return (_store0, _store1, _store2, _store3, _store4, _store5)[len(arrays.types)]


# ---------------------------------------------------------------------------------------------------------------
# The disk cache

class _FingerprintCache(FunctionCache):
    """numba's per-function disk cache, with closures keyed by the code of what they close over."""

    def _index_key(self, sig, codegen):
        return sig, codegen.magic_tuple(), _fingerprint(self._py_func)

    def holds(self, magic: tuple) -> bool:
        """Whether the index lists this function compiled for this machine (`magic`), for some signature."""
        fingerprint = _fingerprint(self._py_func)
        return any(key[1:] == (magic, fingerprint) for key in self._cache_file._load_index())


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
    elif isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields"):  # a record
        digest.update(repr((value.__name__, value._fields)).encode())


# ---------------------------------------------------------------------------------------------------------------
# Not waiting for a compiler: a kernel runs as its Python source while the compile thread compiles it

LOAD_WAIT = 0.3  # seconds a caller waits for code the disk cache holds (a load takes 10–80 ms)


def without_waiting(dispatcher: CPUDispatcher, *example, meanwhile: Callable | None = None) -> Callable:
    """`dispatcher` (a kernel) for arguments of the types of `example`, if it is compiled for them (or comes from the
    disk cache within LOAD_WAIT); otherwise `meanwhile` (by default the kernel's uncompiled twin), which runs at once,
    while the compile thread compiles the kernel for those types, and the kernel itself from the first call after
    that compile is done. The same numbers either way."""
    signature = tuple(typeof(value) for value in example)

    def compiled() -> bool:
        return signature in dispatcher.overloads

    future = _ready((dispatcher, signature), [dispatcher], compiled, lambda: dispatcher.compile(signature))
    if future is None:
        return dispatcher
    python = _first_that_runs([meanwhile, uncompiled(dispatcher), dispatcher])
    return lambda *args: (dispatcher if future.done() else python)(*args)


def _first_that_runs(ways: list[Callable | None]) -> Callable:
    """The first of `ways` that can make the call, from the first call another could not: a formula numba compiles
    may not run in Python as it is (NumPy refuses to subtract booleans, numba does not), so the arrays at once,
    then the twin element by element, then the kernel itself (compiled now, if need be). A way that cannot take the
    formula fails at its first number, before it has stored anything."""
    ways = [way for way in ways if way is not None]

    def call(*args):
        while True:
            try:
                return ways[0](*args)
            except (TypeError, ValueError):
                if len(ways) == 1:
                    raise
                ways.pop(0)
    return call


def ready(kernels: Sequence[CPUDispatcher], compiled: Callable[[], bool], compile_with: Callable[[], object]) -> bool:
    """Whether these kernels can run compiled now: `compiled()` says so, or the disk cache holds them and
    `compile_with` (started in the compile thread once per set of kernels, e.g. a first call of the kernels on a tiny
    input) loads them within LOAD_WAIT. A cold compile is not waited for, nor one queued behind others: the caller
    runs something else meanwhile (e.g. `uncompiled` code)."""
    return _ready(tuple(kernels), kernels, compiled, compile_with) is None


def _ready(key, kernels, compiled, compile_with) -> Future | None:
    """None when compiled code can run now (see `ready`), else the future of the compile under way."""
    if compiled() or threading.current_thread() is _worker:  # the compile thread compiles: that is its job
        return None
    future, first_in_line = _submit(key, compile_with)
    if first_in_line and all(on_disk(kernel) for kernel in kernels):
        wait_for([future], timeout=LOAD_WAIT)
    return None if future.done() and compiled() else future


def on_disk(dispatcher: CPUDispatcher) -> bool:
    """Whether the disk cache holds the kernel's code compiled on this machine (for some argument types)."""
    cache = getattr(dispatcher, "_cache", None)
    return isinstance(cache, _FingerprintCache) and cache.holds(dispatcher.targetctx.codegen().magic_tuple())


_jobs: queue.SimpleQueue = queue.SimpleQueue()
_started: dict[Hashable, Future] = {}
_started_lock = threading.Lock()
_worker: threading.Thread | None = None
_unfinished = 0  # jobs queued or under way


def in_background(key: Hashable, job: Callable[[], object]) -> Future:
    """Run job() in the compile thread, once per key: a later call with the same key gets the first call's future.

    One thread compiles for the whole process, a job at a time, in the order asked (numba compiles one function at a
    time anyway, and the cores are left to the requests). It is a daemon: a process that exits does not wait for it.
    """
    return _submit(key, job)[0]


def _submit(key: Hashable, job: Callable[[], object]) -> tuple[Future, bool]:
    """The job's future, and whether this call queued it with no other job unfinished."""
    global _worker, _unfinished
    with _started_lock:
        if key in _started:
            return _started[key], False
        _started[key] = future = Future()
        _unfinished += 1
        _jobs.put((future, job))
        if _worker is None:
            _worker = threading.Thread(target=_work, name="optviz-compile", daemon=True)
            _worker.start()
        return future, _unfinished == 1


def _work() -> None:
    global _unfinished
    while True:
        future, job = _jobs.get()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(job())
        except Exception as error:  # kept in the future; the kernel's next call compiles (and raises) in its caller
            future.set_exception(error)
        with _started_lock:
            _unfinished -= 1


def uncompiled(fn: Callable, elementwise: bool = False) -> Callable:
    """The Python source of a compiled function (a kernel, a formula, or a plain function that calls them), calling
    the Python source of every formula it calls: it runs at once and compiles nothing. Names only numba can run
    (`load`, `store`, `in_precision_of`) and `math`, whose Python functions raise where numba's return inf or NaN
    (error_model="numpy"), are bound to equivalents that give the compiled code's numbers.

    elementwise=True: a scalar formula that applies to whole arrays at once, element by element the same arithmetic
    (its branches may test only constants): `max` and `min` are taken element by element, as Python and numba take
    them (max(a, b) is a unless b > a)."""
    if id(fn) in _PYTHON_EQUIVALENTS:
        return _PYTHON_EQUIVALENTS[id(fn)]
    if not isinstance(fn, (CPUDispatcher, types.FunctionType)):
        return fn
    key = id(fn), elementwise
    with _twins_lock:  # another thread must not find a twin under way (fn itself, which compiles when called)
        if key not in _TWINS:
            _TWINS[key] = fn, fn  # fn is kept, so that its id stays its own; a recursive call finds it under way
            _TWINS[key] = fn, _twin(fn.py_func if isinstance(fn, CPUDispatcher) else fn, elementwise)
        return _TWINS[key][1]


def _twin(fn: types.FunctionType, elementwise: bool) -> types.FunctionType:
    """fn with the twins of the functions it calls (by a global name or from its closure), or fn if there are none."""
    cells = [cell.cell_contents for cell in fn.__closure__ or ()]
    cell_twins = [uncompiled(value, elementwise) for value in cells]
    names = _names(fn.__code__)
    name_twins = {name: twin for name in names if name in fn.__globals__
                  and (twin := uncompiled(fn.__globals__[name], elementwise)) is not fn.__globals__[name]}
    if elementwise:
        name_twins.update({name: value for name, value in _ELEMENTWISE.items() if name in names})
    if not name_twins and all(twin is value for twin, value in zip(cell_twins, cells)):
        return fn
    twin = types.FunctionType(fn.__code__, {**fn.__globals__, **name_twins}, fn.__name__, fn.__defaults__,
                              tuple(types.CellType(value) for value in cell_twins) or None)
    twin.__kwdefaults__, twin.__qualname__ = fn.__kwdefaults__, fn.__qualname__
    return twin


def _max_elementwise(first, *others):
    for other in others:
        first = np.where(other > first, other, first)
    return first


def _min_elementwise(first, *others):
    for other in others:
        first = np.where(other < first, other, first)
    return first


def _load_python(arrays, index):
    return tuple([array[index] for array in arrays])


def _store_python(arrays, index, values):
    for array, value in zip(arrays, values):
        array[index] = value


def _in_precision_of_python(values, array):
    kind = array.dtype.type
    cast = [kind(value) if isinstance(value, (float, np.floating)) else value for value in values]
    return type(values)(*cast) if hasattr(values, "_fields") else tuple(cast)


_NUMPY_MATH = types.SimpleNamespace(**{
    **{name: getattr(math, name) for name in dir(math) if not name.startswith("_")},
    **{name: getattr(np, name) for name in ("sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos",
                                            "tan", "sinh", "cosh", "tanh", "hypot")}})
_PYTHON_EQUIVALENTS = {id(load): _load_python, id(store): _store_python, id(in_precision_of): _in_precision_of_python,
                       id(math): _NUMPY_MATH}
_ELEMENTWISE = {"max": _max_elementwise, "min": _min_elementwise}
_TWINS: dict[tuple[int, bool], tuple[Callable, Callable]] = {}
_twins_lock = threading.RLock()
