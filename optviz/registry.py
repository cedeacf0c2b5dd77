"""Your own optimizer in the catalogue: one element-wise rule, written as a plain Python function of numbers.

    def clipped_adam(p, g, m, v, t, lr, beta1, beta2, eps, clip):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        step = lr * (m / (1 - beta1 ** t)) / (math.sqrt(v / (1 - beta2 ** t)) + eps)
        return p - max(-clip, min(clip, step)), m, v

    register_optimizer("clipped_adam", clipped_adam, title="Adam, step clipped", params=[...],
                       state={"m": FIRST_MOMENT, "v": SECOND_MOMENT}, latex=r"...")

(the whole example, run by the tests, is in docs/api.md: "Your own optimizer").

The rule's parameters are read by name: p (the number stepped), g (its gradient), the state variables named in
`state` (their starting value 0), t (the step: 1, 2, …), lr, and any hyperparameter of `params`; it returns the
new p and the new state variables, in the order of `state`. From then on the optimizer is everywhere a built-in
one is: races, traces (its state rows by their roles; the Adam family's diagnostics when it has a first moment, a
second moment and β1, β2, ε), sweeps, basins, tuning, the MNIST trainers, links, exports. The rule is compiled
(numba) like the built-in ones, so it must use what numba compiles: arithmetic, math, min, max, abs, if.

This is a Python API: nothing typed in the browser defines code. To see your optimizer in the app, register it in
a module the app imports (OPTVIZ_OPTIMIZERS=module.name, as the deploy doc says).
"""

from __future__ import annotations

import importlib
import inspect
import keyword
from collections.abc import Callable, Iterable

from .jit import scalar
from .optimizers import (
    COLORS,
    DENOMINATORS,
    ELEMENTWISE,
    FIRST_MOMENT,
    ROLES,
    SPECS,
    OptimizerSpec,
    constants,
    moment_diagnostics,
)
from .params import Param

LR = "lr"  # the one hyperparameter every optimizer has: the engines pass it on its own (a schedule scales it)
STEP = "t"
NUMBER, GRADIENT = "p", "g"
MOMENT_PARAMS = ("beta1", "beta2", "eps")  # what the Adam family's diagnostics read


def register_optimizer(name: str, rule: Callable, *, params: Iterable[Param], state: dict[str, str], latex: str,
                       title: str | None = None, color: str | None = None) -> OptimizerSpec:
    """Add the optimizer `name` with the element-wise `rule` to the catalogue (see the module's docstring) and
    return its spec; registering a name again replaces what it was registered with. ValueError, in words, for a
    built-in name or one that is not an identifier, a rule whose parameters the optimizer does not provide, a
    state without a role, or hyperparameters without `lr`."""
    params = tuple(params)
    _check(name, rule, params, state)
    hyper = [p.name for p in params if p.name != LR]
    record = constants(f"{_title_case(name)}Step", " ".join([STEP, *hyper]))
    spec = OptimizerSpec(
        name, title or name, params, tuple(state), latex, _rule(rule, record, tuple(state)), _prepare(record, hyper),
        roles=dict(state), color=color or _free_color(), kind=ELEMENTWISE,
        family="adam" if _has_moments(state, hyper) else "sgd",
        diagnostics=moment_diagnostics if _has_moments(state, hyper) else None)
    SPECS[name] = spec
    from .tuning import default_lr  # the tuner's memory of a name registered before is stale now

    default_lr.cache_clear()
    return spec


def import_user_optimizers(modules: str) -> list[str]:
    """Import the modules named in `modules` (comma-separated, e.g. $OPTVIZ_OPTIMIZERS), whose code registers its
    optimizers; returns a message in words for each module that failed (the others, and the app, go on)."""
    failures = []
    for module in filter(None, (part.strip() for part in modules.split(","))):
        try:
            importlib.import_module(module)
        except Exception as error:  # a teacher's module: whatever it raises, the class keeps its app
            failures.append(f"the optimizers of {module!r} could not be loaded: {type(error).__name__}: {error}")
    return failures


def unregister_optimizer(name: str) -> None:
    """Take a registered optimizer out of the catalogue again (the built-in ones stay)."""
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is a built-in optimizer; only registered ones can be taken out")
    SPECS.pop(name, None)


BUILT_IN = frozenset(SPECS)


def _check(name: str, rule: Callable, params: tuple[Param, ...], state: dict[str, str]) -> None:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"an optimizer's name must be a Python identifier (letters, digits, _), got {name!r}")
    if name in BUILT_IN:  # one registered before is replaced: a notebook's cell run again redefines it
        raise ValueError(f"the catalogue already has an optimizer {name!r} of its own: choose another name")
    names = [p.name for p in params]
    if LR not in names:
        raise ValueError(f"{name}: its hyperparameters must include {LR!r}, the learning rate")
    if len(set(names)) < len(names):
        raise ValueError(f"{name}: a hyperparameter is listed twice in {names}")
    bad_roles = {s: role for s, role in state.items() if role not in ROLES}
    if bad_roles:
        raise ValueError(f"{name}: state {', '.join(bad_roles)} has no known role (one of {', '.join(ROLES)})")
    given = {NUMBER, GRADIENT, STEP, *state, *names}
    wanted = list(inspect.signature(rule).parameters.values())
    if any(p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in wanted):
        raise ValueError(f"{name}: the rule's parameters must be plain ones (no *args, keyword-only or **kwargs)")
    unknown = [p.name for p in wanted if p.name not in given]
    if unknown:
        raise ValueError(f"{name}: the rule takes {', '.join(unknown)}, which is neither p, g, t, a state variable "
                         f"({', '.join(state) or 'none'}) nor a hyperparameter ({', '.join(names)})")
    if {NUMBER, GRADIENT} - {p.name for p in wanted}:
        raise ValueError(f"{name}: the rule must take p (the number) and g (its gradient)")


def _rule(formula: Callable, record: type, state: tuple[str, ...]) -> Callable:
    """The catalogue's rule(p, g, s, lr, c) calling `formula` with its parameters by name: the source written here
    holds nothing but the names checked above."""
    source_of = {NUMBER: NUMBER, GRADIENT: GRADIENT, LR: LR, **{s: f"s[{i}]" for i, s in enumerate(state)}}
    arguments = ", ".join(source_of.get(p, f"c.{p}") for p in inspect.signature(formula).parameters)
    new_state = ", ".join(f"out[{i + 1}]" for i in range(len(state)))
    body = (f"def rule(p, g, s, lr, c):\n    out = formula({arguments})\n"
            f"    return out[0], ({new_state}{',' if len(state) == 1 else ''})\n")
    return _compiled(body, "rule", {"formula": scalar(formula)}, scalar)


def _prepare(record: type, hyper: list[str]) -> Callable:
    """prepare(t, q, **hyperparameters): the record of the step and every hyperparameter but lr, by name."""
    names = ", ".join(hyper)
    body = f"def prepare(t, q{', ' if hyper else ''}{names}):\n    return Record(t{', ' if hyper else ''}{names}), q\n"
    return _compiled(body, "prepare", {"Record": record}, lambda fn: fn)


def _compiled(source: str, name: str, namespace: dict, wrap: Callable) -> Callable:
    exec(compile(source, __file__, "exec"), namespace)  # noqa: S102 (checked names only: see _check)
    return wrap(namespace[name])


def _has_moments(state: dict[str, str], hyper: list[str]) -> bool:
    return (FIRST_MOMENT in state.values() and any(role in state.values() for role in DENOMINATORS)
            and all(p in hyper for p in MOMENT_PARAMS))


def _free_color() -> str:
    taken = {spec.color for spec in SPECS.values()}
    return next((c for c in COLORS if c not in taken), COLORS[len(SPECS) % len(COLORS)])


def _title_case(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
