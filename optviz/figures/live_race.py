"""What the browser needs to race again under the reader's finger: each run's optimizer and settings, the surface by
name, and the sliders of each numeric hyperparameter, described here so that the race viewer draws what Python says.

The viewer steps the generated engine (optviz/ui/race_viewer/engine.generated.js) while a slider or the start
point is dragged. What the engine cannot reproduce is named here, in words, and stays the server's: a data surface
or a typed formula (no closed formula in the engine), an optimizer registered at run time, and the learning rate
of a run whose schedule changes it (its per-step rates are sent, so its other settings and the start still drag), and
a run whose schedule cycles its momentum.
The noisy quadratic's noise depends on its seed alone: it travels as numbers, so the browser adds the very same.

    live = live_race(races, surface)   # the race payload's "live" field
"""

from __future__ import annotations

import base64
import math

import numpy as np

from ..optimizers import ELEMENTWISE
from ..optimizers import SPECS as OPTIMIZERS
from ..params import DECAY_RATE, LR, Param
from ..surfaces import SAMPLING_PARAMS
from ..surfaces import SPECS as SURFACES
from .arrows import LENGTH, MAX_SCALE, MIN_SCALE, PER_DECADE
from .rows import ROWS, row_lines
from .symbols import param_label

POSITIONS = 1000  # positions of every slider: fine enough to feel continuous
DIGITS = 4  # significant digits of a dragged value: what the URL and the sidebar show, and what both engines run
LOG_DECADES = (3, 2)  # a log slider spans its centre ÷ 10³ … × 10², as the sidebar's
ZERO_LOG_SPAN = (1e-10, 1e2)  # a log value that may be 0 (ε): 0 and this span, as the sidebar's
DECAY_GAP = 1e-4  # a decay rate's slider runs in 1 − value from 1 to this: 0 … 0.9999
OPEN_END = 1e-3  # an open end of a linear range, kept this share of the range away
START_DECIMALS = 3  # a dragged start point's decimals: a pixel is coarser than that
SERVER = "computed on the server"
STALE = "updated on release"  # a state row of a run the browser cannot race (the server's, until the release)
DIVERGED = "{label} — diverged at step {step}"  # as labels.legend_label writes it
FOCUS = "racer whose settings the sliders change"
LOSS_TITLES = {"log": "loss f(θ), log scale", "linear": "loss f(θ)"}  # the viewer's loss chart, as it scales it


def live_race(races: dict, surface, centres: dict[str, dict[str, float]] | None = None) -> dict:
    """The payload's "live" field: {surface: {name, params, bound, tol, minima} or null, server: why not (words,
    empty when the browser computes it), noise: the gradient noise, runs: per run {optimizer, hparams, lr (its
    rates per step when a schedule changes them), server, server_params (name -> why the browser cannot drag it),
    moment (the state the moment arrow shows), sliders}, arrows: the arrows' scaling, digits, and the words the
    viewer shows (loss_titles: its loss chart's, log or linear)}.

    centres: label -> hyperparameter -> the value a log slider centres on (the learning rate suited to the surface);
    the parameter's default otherwise.
    """
    steps = len(next(iter(races.values())).path) - 1
    why = surface_reason(surface)
    return dict(
        surface=None if why else dict(name=surface.name, params=_shape_params(surface), bound=surface.bound,
                                      tol=1e-3, minima=np.asarray(surface.minima, float).tolist()),
        server=why, noise=_f64(surface.gradient_noise(steps)) if not why else None,
        runs=[_run(traj, (centres or {}).get(label, {})) for label, traj in races.items()],
        arrows=dict(length=LENGTH, min_scale=MIN_SCALE, max_scale=MAX_SCALE, per_decade=PER_DECADE),
        digits=DIGITS, start_decimals=START_DECIMALS, note=SERVER, stale=STALE, diverged=DIVERGED, focus_label=FOCUS,
        loss_titles=LOSS_TITLES,
    )


def surface_reason(surface) -> str:
    """Why the browser cannot race on `surface`, in words; empty if it can."""
    if surface.model is not None:
        return f"{surface.title} is a mean over a table's rows: the browser has no closed formula for it"
    if SURFACES.get(surface.name) is not surface.spec:
        return f"{surface.title} is typed, not built in: the browser's engine has the built-in surfaces only"
    return ""


def _shape_params(surface) -> dict:
    return {name: float(value) for name, value in surface.params.items() if name not in SAMPLING_PARAMS}


def _run(traj, centres: dict[str, float]) -> dict:
    spec, hparams = traj.optimizer.spec, traj.optimizer.hparams
    if spec.kind != ELEMENTWISE:
        return _server_run(spec, f"{spec.title}'s rule needs {spec.kind}, not one number at a time: the browser's "
                           "engine steps element-wise rules")
    if OPTIMIZERS.get(spec.name) is not spec:
        return _server_run(spec, f"{spec.title} is registered at run time: the browser's engine has the catalogue's "
                           "optimizers only")
    if traj.optimizer.schedule.momentum(np.arange(1)) is not None:
        return _server_run(spec, f"{spec.title}'s schedule cycles its momentum, which the browser does not compute")
    scheduled = not traj.optimizer.schedule.is_constant
    sliders = [slider(p, hparams[p.name], centres.get(p.name)) for p in spec.params]
    return dict(optimizer=spec.name, hparams={name: _plain(value) for name, value in hparams.items()},
                lr=_f64(traj.lr) if scheduled else None, server="", moment=_moment(traj),
                server_params={LR: f"{spec.title}'s learning rate follows a schedule, which the browser does not "
                               "compute"} if scheduled else {},
                sliders=[s for s in sliders if s is not None])


def _server_run(spec, why: str) -> dict:
    return dict(optimizer=spec.name, hparams={}, lr=None, server=why, moment=None, server_params={}, sliders=[])


def _moment(traj) -> str | None:
    """The state the moment arrow shows (rows.first_moment's), by name."""
    lines = row_lines(traj, "", ROWS[0])
    return lines[0].name if lines else None


def _plain(value):
    return value if isinstance(value, (bool, str)) else float(value)


def slider(param: Param, value: float, centre: float | None = None) -> dict | None:
    """A slider of POSITIONS positions for a numeric hyperparameter, or None for one a slider cannot span (a switch,
    a choice, an integer, an unbounded linear range): {name, label, scale: "linear" | "log" | "decay", low, high,
    zero (a log slider's first position is 0), positions}. Every position is a valid value."""
    if param.kind != "float":
        return None
    zero = False
    if param.log and param.low == 0 and not param.low_open:
        (low, high), zero, scale = ZERO_LOG_SPAN, True, "log"
    elif param.log:
        centre = centre or param.default
        low, high = centre / 10.0 ** LOG_DECADES[0], centre * 10.0 ** LOG_DECADES[1]
        if not low <= value <= high:  # a value set elsewhere (a link, the box): the slider centres on it
            low, high = value / 10.0 ** LOG_DECADES[0], value * 10.0 ** LOG_DECADES[1]
        low, high, scale = _log_clip(param, low), _log_clip(param, high), "log"
    elif param.decays and param.role == DECAY_RATE:
        low, high, scale = 0.0, 1.0 - DECAY_GAP, "decay"
    elif math.isfinite(param.low) and math.isfinite(param.high):
        low, high, scale = _inside_low(param), _inside_high(param), "linear"
    else:
        return None
    return dict(name=param.name, label=param_label(param), scale=scale, low=low, high=high, zero=zero,
                positions=POSITIONS)


def _log_clip(param: Param, value: float) -> float:
    """`value` within the range of a log parameter, an open end kept a factor 1 + OPEN_END away."""
    low = param.low * (1 + OPEN_END) if param.low_open else param.low
    high = param.high / (1 + OPEN_END) if param.high_open else param.high
    return min(max(value, low), high)


def _inside_low(param: Param) -> float:
    width = param.high - param.low if math.isfinite(param.high - param.low) else abs(param.low) or 1.0
    return param.low + OPEN_END * width if param.low_open else param.low


def _inside_high(param: Param) -> float:
    width = param.high - param.low if math.isfinite(param.high - param.low) else abs(param.high) or 1.0
    return param.high - OPEN_END * width if param.high_open else param.high


def _f64(values) -> dict | None:
    """Float64 numbers as {"f64": base64 of their little-endian bytes}: exact, for the browser's engine."""
    if values is None:
        return None
    return {"f64": base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode("ascii")}
