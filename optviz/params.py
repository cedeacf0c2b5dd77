"""Hyperparameter specs: one description per tunable number, used for validation and for building UI controls."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

# The roles a hyperparameter may play, by which the engines, sweeps and tuning find it in any optimizer
LR = "lr"  # the learning rate's name in every optimizer: the engines pass it on its own (a schedule scales it)
LEARNING_RATE = "learning rate"
MOMENTUM = "momentum"  # the decay rate of a velocity or first moment (β1, μ): tuned jointly with the learning rate
DECAY_RATE = "decay rate"  # another decay rate in [0, 1) (β2, ρ): swept in 1 − value
WEIGHT_DECAY = "weight decay"  # the pull of the weights towards 0 (λ, L2 or decoupled), on top of the rule


@dataclass(frozen=True)
class Param:
    """A tunable value with its valid range.

    `low`/`high` bound the range; `*_open` says whether that end is excluded. `log` asks for a log-scale
    control; with `low == 0` and `low_open=False` the control must also offer exactly 0 (as for ε).
    `kind` is "float", "int", "bool" or "choice" (one of the strings in `choices`); bools and choices have no range.
    """

    name: str
    symbol: str
    default: Any
    help: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    log: bool = False
    kind: str = "float"
    choices: tuple[str, ...] = ()
    choice_titles: tuple[str, ...] = ()  # what each choice means, where its short name (the link's) does not say it
    role: str = ""  # what it is to the engines, sweeps and UI: LEARNING_RATE, MOMENTUM, DECAY_RATE, WEIGHT_DECAY

    @property
    def decays(self) -> bool:
        """A decay rate in [0, 1], swept geometrically in 1 − value."""
        return self.role in (MOMENTUM, DECAY_RATE) and self.low == 0 and self.high == 1

    def choice_title(self, choice: str) -> str:
        return dict(zip(self.choices, self.choice_titles)).get(choice, choice)

    def describe_range(self) -> str:
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        left = "(" if self.low_open or self.low == -math.inf else "["
        right = ")" if self.high_open or self.high == math.inf else "]"
        return f"{left}{_fmt_bound(self.low)}, {_fmt_bound(self.high)}{right}"

    def contains(self, values: np.ndarray) -> np.ndarray:
        above = values > self.low if self.low_open else values >= self.low
        below = values < self.high if self.high_open else values <= self.high
        return above & below

    def validate(self, value: Any, owner: str = "") -> Any:
        """Return `value` as a float, int, bool, choice or 1-D float array; raise ValueError naming the range."""
        where = f"{owner} " if owner else ""
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ValueError(f"{where}{self.name} must be True or False, got {value!r}")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise ValueError(f"{where}{self.name} must be {self.describe_range()}, got {value!r}")
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{where}{self.name} must be a number in {self.describe_range()}, got {value!r}") from None
        if array.ndim > 1 or array.size == 0:
            raise ValueError(f"{where}{self.name} must be a number or a 1-D array of numbers, got shape {array.shape}")
        bad = ~np.isfinite(array) | ~self.contains(array)
        if self.kind == "int":
            bad |= array != np.round(array)
        if bad.any():
            first = float(array.reshape(-1)[np.argmax(bad.reshape(-1))])
            kind = "an integer" if self.kind == "int" else "a number"
            raise ValueError(f"{where}{self.name} must be {kind} in {self.describe_range()}, got {first:g}")
        if array.ndim == 0:
            return int(array) if self.kind == "int" else float(array)
        return array


def _fmt_bound(x: float) -> str:
    if x == math.inf:
        return "∞"
    if x == -math.inf:
        return "-∞"
    return f"{x:g}"


def resolve(specs: tuple[Param, ...], given: dict[str, Any], owner: str, what: str = "hyperparameter"
            ) -> dict[str, Any]:
    """Validate `given` against `specs`, fill defaults, and reject unknown names."""
    known = {p.name: p for p in specs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(known) or "none"
        raise ValueError(f"{owner} has no {what} {unknown[0]!r}; valid names: {names}")
    return {name: spec.validate(given.get(name, spec.default), owner) for name, spec in known.items()}


def lookup(registry: dict, name: str, kind: str):
    """registry[name], or a ValueError listing the valid names."""
    if name not in registry:
        raise ValueError(f"unknown {kind} {name!r}; choose one of: {', '.join(registry)}")
    return registry[name]


def resolve_scalars(specs: tuple[Param, ...], given: dict[str, Any], owner: str) -> dict[str, Any]:
    """resolve() for settings that take single numbers only (surfaces, schedules): no per-run arrays."""
    values = resolve(specs, given, owner, "parameter")
    if any(isinstance(v, np.ndarray) for v in values.values()):
        raise ValueError(f"{owner}: parameters must be single numbers")
    return values
