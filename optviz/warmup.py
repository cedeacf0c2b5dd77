"""Warming up: the compiled loops a server's first page needs, compiled (or loaded from the disk cache) before it asks.

    warm_up()     # in the compile thread, once per process: what the app's start calls (optviz.ui.start)
    warm_all()    # every (surface, optimizer) pair into the disk cache, in this thread: a deployment step

The policy sits above the engines it warms (`engine`, and through it `fused`, and `mnist`): they compile their loops
at first use and know nothing of it. Importing this module starts nothing.
"""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np

from . import jit
from .engine import run
from .mnist.train import compile_passes
from .optimizers import in_batches, optimizer
from .scenarios import DEFAULT_OPTIMIZERS, LESSONS
from .surfaces import SPECS as SURFACES

DEFAULT_PAGE = tuple(("rosenbrock", name) for name in DEFAULT_OPTIMIZERS)  # the race explorer's first page
TRAINERS = DEFAULT_OPTIMIZERS  # the MNIST tab's defaults: their float32 step_ loops


def warm_up(pairs=DEFAULT_PAGE) -> Future:
    """Compile (or load from the disk cache) the race and batch loops of these (surface, optimizer) pairs, the
    MNIST tab's step_ loops and compiled passes, and every rule's loop on the generic path, in the compile thread
    (optviz.jit.in_background), once per process: the first page a server shows finds them ready. Its future."""
    return jit.in_background("warm-up", lambda: _warm(pairs))


def warm_all() -> None:
    """Compile every (surface, optimizer) pair's loops into the disk cache, in this thread: a deployment step
    (a few minutes of CPU) after which every server started from this install is warm for every pair."""
    _warm([(surface, name) for surface in SURFACES for name in in_batches()])


def _warm(pairs) -> None:
    for surface, name in pairs:
        run(surface, name, steps=2)  # the race loop
        run(surface, name, steps=2, record=False, lr=np.array([1e-3, 1e-2]))  # the batch loop
    for name in TRAINERS:  # so that a training started (and perhaps cancelled) at once is not held by a compile
        opt, params = optimizer(name), np.zeros(2, dtype=np.float32)
        opt.step_(params, params.copy(), opt.init(params))
    compile_passes()
    for name in in_batches():  # every compiled rule on the generic path, which a new pair takes while its loop compiles
        run("linear_regression", name, steps=2)
    for lesson in LESSONS.values():  # the claims with settings of their own, so that their first view compiles
        if lesson.claim is not None and not lesson.claim.on_race and not lesson.claim.slow:  # nothing: a long
            lesson.claim.check()  # compile in a page's run holds the GIL from the server's websockets
