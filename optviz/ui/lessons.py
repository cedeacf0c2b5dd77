"""Below a lesson's race: its claim, computed now (holds or not, with the numbers), and the lesson's own chart.

A claim about the race is worked out from the race drawn, so it follows the reader's changes. A claim with a
setting of its own (Wilson's problem, the damping sweep, Adam's bound) is computed once per process and shared:
its numbers do not depend on the race. The edge of stability trains on MNIST three times, so it runs on request,
with a progress bar.
"""

from __future__ import annotations

import streamlit as st

from .. import figures
from ..claims import Verdict
from ..counterexample import reddi_run
from ..figures.lessons import (
    adam_bound_figure,
    damping_figure,
    edge_of_stability_lesson_figures,
    generalization_figure,
)
from ..optimizers import SPECS as OPTIMIZERS
from ..scenarios import COUNTEREXAMPLE, LESSONS, Lesson
from .controls import plain

CHARTS = {"generalization": generalization_figure, "adam_bound": adam_bound_figure, "critical_damping": damping_figure}
RUN_KEY = "lesson_run"  # the button that starts a slow claim's computation


def below_race(lesson: Lesson, races: dict, surface) -> None:
    """The lesson's claim and chart, under its race."""
    if lesson.chart == "counterexample":
        st.plotly_chart(_counterexample_figure(), key="lesson_chart", theme=None)
    claim = lesson.claim
    if claim is None:
        return
    if claim.on_race:
        try:
            _verdict_line(claim.check(races, surface), about_race=True)
        except ValueError as error:
            st.caption(f"{plain(error)[:1].upper()}{plain(error)[1:]}: choose the lesson again to see it.")
        return
    verdict = _slow(lesson) if claim.slow else _own_verdict(lesson.key)
    if verdict is None:
        return
    _verdict_line(verdict, about_race=False)
    if lesson.chart in CHARTS:
        st.plotly_chart(CHARTS[lesson.chart](verdict.numbers), key="lesson_chart", theme=None)
    elif lesson.chart == "edge_of_stability":
        sharpness, loss = edge_of_stability_lesson_figures(verdict.numbers)
        left, right = st.columns(2)
        left.plotly_chart(sharpness, key="lesson_sharpness", theme=None)
        right.plotly_chart(loss, key="lesson_loss", theme=None)


def _verdict_line(verdict: Verdict, *, about_race: bool) -> None:
    where = " in this race" if about_race else ""  # else: the claim's own setting, whatever the race
    # Material icons come with Streamlit's own font: an emoji needs a font the reader's machine may lack
    if verdict.holds:
        st.markdown(f":green[:material/check_circle:] **The claim holds{where}:** {verdict.sentence}",
                    help=_timing(verdict))
    else:
        st.markdown(f":red[:material/cancel:] **The claim does not hold{where}:** {verdict.sentence}",
                    help=_timing(verdict))


def _timing(verdict: Verdict) -> str:
    return (f"Computed from the numbers when the lesson ran, in {verdict.seconds:.1f} s; "
            "`python -m optviz lessons --check` recomputes every lesson's claim.")


# one verdict per lesson, its numbers a few arrays of a few thousand floats: well under a MB in all
@st.cache_resource(max_entries=len(LESSONS), show_spinner="Computing the lesson's claim…")
def _own_verdict(key: str) -> Verdict:
    """A claim with a setting of its own, the same for everyone: computed once per process."""
    return LESSONS[key].claim.check()


@st.cache_resource(max_entries=1, show_spinner=False)  # one dict, at most one verdict per lesson: a few kB
def _finished() -> dict[str, Verdict]:
    """The slow claims computed so far in this process (deterministic, so shared by every session)."""
    return {}


def _slow(lesson: Lesson) -> Verdict | None:
    """A slow claim's verdict once computed; until then a button that computes it with a progress bar."""
    done = _finished().get(lesson.key)
    if done is not None:
        return done
    if not st.button("Run the lesson's trainings", key=RUN_KEY, type="primary",
                     help="Full-batch gradient descent on MNIST digits at three learning rates, the sharpness "
                          "measured as it trains; the time it takes here is in the README"):
        st.caption("The claim and its charts appear when the trainings have run.")
        return None
    bar = st.progress(0.0, text="Starting…")
    verdict = lesson.claim.check(progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0),
                                                                              text=text))
    bar.empty()
    _finished()[lesson.key] = verdict
    return verdict


@st.cache_resource(max_entries=1, show_spinner=False)
def _counterexample_figure():
    runs = {spec.title: reddi_run(spec.name) for spec in (OPTIMIZERS[name] for name in COUNTEREXAMPLE)}
    return figures.counterexample_figure(runs)
