"""What a run did, in words worked out from its numbers: the only source of a claim about a race's outcome.

Lesson and welcome texts name runs in braces ("Adam {Adam}") and fill_outcomes() puts each run's outcome there,
so a text never says "reaches the minimum" of a run that does not: the words follow the race actually drawn,
whatever settings the user has changed since.

    fill_outcomes("SGD {SGD}.", races, surface)   # "SGD is still 2.3 from ★ after 500 steps."
"""

from __future__ import annotations

import re

MISSING = "is not in this race"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def outcome(traj, surface) -> str:
    """One run's outcome as a verb phrase: it diverges, reaches a minimum, or ends some distance from one."""
    unit = traj.unit  # a race aligned by evaluations counts gradient evaluations
    if traj.diverged_at is not None:
        return f"diverges at {unit} {traj.diverged_at:,}"
    if traj.converged_at is not None:
        return f"reaches ★ at {unit} {traj.converged_at:,}"
    spent = f"{traj.steps:,} {unit}s" if unit == "step" else f"{traj.steps:,} gradient {unit}s"
    if len(surface.minima) == 0:
        return f"ends at f = {float(traj.final_loss):.3g} after {spent}"
    distance = float(surface.nearest_minimum(traj.final)[1])
    return f"is still {distance:.2g} from ★ after {spent}"


def fill_outcomes(text: str, races: dict, surface) -> str:
    """`text` with each {label} replaced by that run's outcome (a run no longer in the race says so)."""
    return _PLACEHOLDER.sub(lambda m: outcome(races[m[1]], surface) if m[1] in races else MISSING, text)


def placeholders(text: str) -> list[str]:
    """The run labels a text names in braces."""
    return _PLACEHOLDER.findall(text)
