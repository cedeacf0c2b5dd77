"""Every lesson's claim recomputed: the race from the lesson's link (as the app reads it) or the claim's own setting.

    python -m optviz lessons --check          # one line per lesson: holds or fails, and its numbers
    check_lessons()                           # {key: Verdict}, the welcome race's included

This sits above the UI's plain-Python settings (optviz.ui.settings reads a lesson's link as it reads any link), as
the command line does: the lessons and their claims (optviz.scenarios, optviz.claims) know nothing of links.
"""

from __future__ import annotations

from collections.abc import Iterable

from .claims import Progress, Verdict
from .engine import race
from .scenarios import LESSONS, WELCOME, Lesson
from .surfaces import surface as make_surface
from .ui.settings import from_query

ALL = {WELCOME.key: WELCOME, **LESSONS}  # every lesson with a claim, the first screen's too


def lesson_race(lesson: Lesson) -> tuple[dict, object]:
    """(races, surface): the lesson's race as its link describes it (a link that warns is an error here)."""
    settings, warnings = from_query(lesson.query)
    if warnings:
        raise ValueError(f"lesson {lesson.key!r}: its link is not clean: {'; '.join(warnings)}")
    entries = [entry.to_entry(label) for entry, label in zip(settings.entries, settings.labels())]
    surf = make_surface(settings.surface, **settings.surface_params)
    return race(surf, entries, start=settings.start, steps=settings.steps), surf


def check_lesson(lesson: Lesson, progress: Progress | None = None) -> Verdict:
    """The lesson's claim, computed now."""
    if lesson.claim is None:
        raise ValueError(f"lesson {lesson.key!r} has no claim")
    if lesson.claim.on_race:
        return lesson.claim.check(*lesson_race(lesson))
    return lesson.claim.check(progress=progress)


def check_lessons(keys: Iterable[str] | None = None) -> dict[str, Verdict]:
    """The claims of the lessons named (all by default), in order."""
    chosen = list(ALL) if keys is None else list(keys)
    unknown = [key for key in chosen if key not in ALL]
    if unknown:
        raise ValueError(f"no lesson {unknown[0]!r}; the lessons are {', '.join(ALL)}")
    return {key: check_lesson(ALL[key]) for key in chosen}
