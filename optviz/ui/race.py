"""The race tab: the race viewer on the workspace's settings, how the race is shown (presentation mode, map only,
the moments traced), the line that says what it shows, downloads, and the details below it (results, loss, one
step, update rules)."""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from .. import figures
from ..datasets import Table
from ..engine import race
from ..figures.export import race_html, trajectories_csv
from ..figures.live_race import START_DECIMALS
from ..figures.race_payload import race_payload
from ..optimizers import SPECS as OPTIMIZERS
from ..outcomes import fill_outcomes, outcome
from ..params import LR
from ..scenarios import LESSONS, WELCOME
from ..schedules import SCHEDULES
from ..second_order import INNER
from . import lessons
from .controls import display_latex, ensure_value, latex_number, number_text, param_control, plain, table
from .race_viewer import ViewerData, race_settled, race_viewer, viewer_data
from .settings import UPLOAD, Settings, from_query
from .workspace import (
    TRACED,
    TUNE,
    canonical,
    draw,
    entry_params,
    lesson_settings,
    read_settings,
    session_upload,
    set_start,
    start_outside_message,
    state_key,
    suited_lr,
    surface_for,
)

RACE_KEY = "race"  # the race viewer's component key: its clicks are read from st.session_state[RACE_KEY]
# The line above the race keeps two lines whatever it says (the welcome note is two at 1280 px, a race's outcomes
# often one): the race below keeps its place when the note gives way.
STORY_CSS = "<style>.st-key-story { min-height: 3.4em; }</style>"
# A projector shows the race, not the app's chrome: no sidebar, no header bar (toolbar and menu), little padding.
# (config.toml sets client.toolbarMode = "minimal" for everyone: a classroom server has no Deploy button.)
PRESENTATION_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"] { display: none !important; }
.block-container { max-width: 100% !important; padding: 0.5rem 1.5rem 1rem 1.5rem !important; }
html, .stMarkdown, .stCaption, [data-testid="stWidgetLabel"] p { font-size: 1.3rem !important; }
</style>"""
VIEW_OPTIONS = ("present", "map_only", TRACED)  # how the race is shown: race_options()' widgets


def page() -> None:
    """The race tab: how the race is shown, above it, and the race drawn from the workspace's settings (in
    presentation mode the sidebar is hidden: the racer's controls stand beside the race)."""
    st.html(STORY_CSS)
    draw(render, above=race_options, racers_in_page=_presenting())


def race_options() -> None:
    """How the race is shown, in one row above it: drawn outside the view, so a change of an optimizer's setting
    does not redraw them (one row that sizes itself, not columns: every block is an element to redraw)."""
    options = st.container(horizontal=True, gap="medium", vertical_alignment="center")
    presenting = options.toggle("Presentation mode", key="present",
                                help="Large text, no sidebar or toolbar, the race fitted to the window, and the "
                                     "learning rate and the lesson's own setting above the race: for a projector")
    if presenting:
        st.html(PRESENTATION_CSS)
    map_only = options.toggle("Map only", key="map_only", help="The map alone, without the state rows")
    if not presenting:  # on a projector the choice is the whole race or the map alone: one line of controls
        labels = _traced_choices()
        traced = [label for label in st.session_state[TRACED] or [] if label in labels]
        shown = "all" if len(traced) == len(labels) > 1 else ", ".join(traced) if len(traced) <= 2 else \
            f"{len(traced)} of {len(labels)}"
        # one line however many racers (pills in a row pushed the race down), and inside it pills that wrap: a
        # multiselect's chips were cut at the box's edge ("dam", "(1)")
        box = options.popover(f"Moments traced: {shown or 'none'}", disabled=map_only, key="traced_box",
                              help="Whose moment estimates are traced beside the map")
        box.pills("Trace moments of", labels, selection_mode="multi", key=TRACED)


def _traced_choices() -> list[str]:
    """The race's labels, and the choice of traced ones kept across changes of the race: a new racer is traced,
    one that left is dropped, the others keep the user's choice."""
    state, labels = st.session_state, read_settings().labels()
    before = state.get(TRACED_OF)
    if TRACED not in state or before is None:
        state[TRACED] = labels
    elif before != labels:
        state[TRACED] = [label for label in labels if label in (state[TRACED] or []) or label not in before]
    state[TRACED_OF] = labels
    return labels


TRACED_OF = "traced_of"  # the labels the choice of traced racers was made among


def render(settings: Settings) -> None:
    """Draw the race explorer tab for the sidebar's settings."""
    labels = settings.labels()
    if not settings.entries:
        st.info("Choose at least one optimizer in the sidebar.")
        return
    upload = session_upload() if settings.data == UPLOAD else None
    try:
        too_much = race_cost_note(settings, surface_for(settings))
        if too_much:
            raise ValueError(too_much)
        surface, races = _race(canonical(settings), upload)
    except ValueError as error:
        st.error(f"These settings cannot run: {plain(error)}")
        return
    _story(settings, races, surface)
    state = st.session_state  # the choices of race_options(), drawn above
    presenting, map_only = _presenting(), state.get("map_only", False)
    x0, x1, y0, y1 = surface.window
    if not (x0 <= settings.start[0] <= x1 and y0 <= settings.start[1] <= y1):
        st.warning(start_outside_message(surface, settings.start))

    traced = labels if presenting else [label for label in state.get(TRACED) or [] if label in labels]
    race_box = st.container()
    if presenting:  # the racer's controls beside the race, not above it: the height is the map's
        race_box, controls = st.columns([4, 1], gap="medium")
        with controls:
            _presentation_controls(labels)
    with race_box:
        if error := state.pop(SETTLE_ERROR, None):
            st.error(f"The value from the race could not be used: {plain(error)}")
        centres = {label: {LR: suited_lr(entry.optimizer, entry.hparams.get(INNER))}
                   for label, entry in zip(labels, settings.entries)}
        race_viewer(_race_payload(canonical(settings), tuple(traced), upload, centres), key=RACE_KEY,
                    on_settle=_on_settle, presenting=presenting, rows=not map_only, scene=_scene(settings))
    lesson = LESSONS.get(state.get("lesson") or "")
    if lesson is not None:  # below the race: the race comes first
        lessons.below_race(lesson, races, surface)

    # drawn closed on every run, so that opening the menu costs no rerun; the files are made on a click
    _downloads(st.popover("Download", help="The race as a page that plays offline, or every step as a table"),
               races, surface)

    diverged = [label for label, t in races.items() if t.diverged_at is not None]
    if diverged:
        st.warning("Diverged: " + ", ".join(f"{plain(label)} at step {races[label].diverged_at}" for label in diverged))

    _details(races, surface, settings, labels)


def _scene(settings: Settings) -> str:
    """What makes a race a new one, not the same race with other hyperparameters: the lesson, the surface, the
    number of steps and who races. A new scene starts at step 0; a hyperparameter change keeps the step shown."""
    return json.dumps([st.session_state.get("lesson"), settings.surface, settings.surface_params,
                       settings.expression, settings.data, settings.columns, settings.upload, settings.steps,
                       settings.align, [entry.optimizer for entry in settings.entries]])


def _presenting() -> bool:
    return bool(st.session_state.get("present", False))


def _presentation_controls(labels: list[str]) -> None:
    """On a projector the sidebar is hidden: the learning rate and the lesson's own hyperparameter of one racer
    (the lesson's, unless the teacher picks another) stand beside the race."""
    state = st.session_state
    ids = state[state_key("ids")]
    lesson = LESSONS.get(state.get("lesson") or "")
    knob = lesson.knob if lesson is not None else None
    if state.get(TUNE) not in ids:
        state[TUNE] = _tuned_entry(ids, labels, lesson)
    names = dict(zip(ids, labels))
    entry_id = state[TUNE]
    spec, settable = OPTIMIZERS[state[state_key(entry_id, "opt")]], entry_params(entry_id)
    params = [p for p in settable if p.name == LR] + [p for p in settable if p.name == knob]
    st.selectbox("Tune", ids, key=TUNE, format_func=names.get, help="Whose settings these controls change")
    for param in params:
        key = state_key(entry_id, "h", param.name)
        ensure_value(key, param.default)
        param_control(param, key, suited_lr(spec.name, state.get(state_key(entry_id, "h", INNER)))
                      if param.name == LR else None)


def _tuned_entry(ids: list[int], labels: list[str], lesson) -> int:
    """The entry a lesson is about (its focus), else the first that has the lesson's hyperparameter."""
    state = st.session_state
    knob = lesson.knob if lesson is not None else None
    having = [i for i in ids
              if knob is None or any(p.name == knob for p in OPTIMIZERS[state[state_key(i, "opt")]].params)]
    focus = ids[labels.index(lesson.focus)] if lesson is not None and lesson.focus in labels else None
    return focus if focus in having else (having or ids)[0]


SETTLE_ERROR = "race.settle_error"  # why the last value released in the race could not be used, shown once


def _on_settle() -> None:
    """What the reader released in the race (a hyperparameter's slider, the start point dragged or clicked), checked
    value by value and put where the sidebar's widgets, and so the URL, take it from: one rerun."""
    state = st.session_state
    try:
        settings = read_settings()
        changes, start = settled_values(race_settled(RACE_KEY), settings, surface_for(settings).bound)
    except ValueError as error:
        state[SETTLE_ERROR] = str(error)
        return
    ids = state[state_key("ids")]
    for run, name, value in changes:
        state[state_key(ids[run], "h", name)] = value
    if start is not None:
        set_start(*start)
        st.rerun()  # the start boxes, outside the view, show it too


def settled_values(value, settings: Settings, bound: float) -> tuple[list[tuple[int, str, float]],
                                                                   tuple[float, float] | None]:
    """The browser's message checked: ([(run index, hyperparameter, value)], start or None). Raises ValueError in
    words for anything but numbers in range for hyperparameters the runs have, and a start within ±bound (the start
    boxes' range; rounded to START_DECIMALS): a page's message is input like any other."""
    if not isinstance(value, dict):
        raise ValueError(f"expected the settled values, got {value!r}")
    changes = []
    for item in value.get("hparams") or []:
        if not isinstance(item, dict) or not isinstance(item.get("run"), int) or isinstance(item.get("run"), bool):
            raise ValueError(f"a change must name its run by number, got {item!r}")
        run, name, number = item["run"], item.get("name"), item.get("value")
        if not 0 <= run < len(settings.entries):
            raise ValueError(f"run {run} is not in this race of {len(settings.entries)}")
        spec = OPTIMIZERS[settings.entries[run].optimizer]
        settable = spec.settable(settings.entries[run].hparams)
        param = next((p for p in settable if p.name == name and p.kind == "float"), None)
        if param is None:
            raise ValueError(f"{spec.title} has no numeric hyperparameter {name!r}")
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ValueError(f"{spec.title}'s {name} must be a number, got {number!r}")
        changes.append((run, name, param.validate(float(number), spec.title)))
    start = value.get("start")
    if start is not None:
        point = [start.get(axis) if isinstance(start, dict) else None for axis in "xy"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in point):
            raise ValueError(f"the start must be a finite point (x, y), got {start!r}")
        if max(abs(v) for v in point) > bound:
            raise ValueError(f"the start must lie within ±{bound:g} on both axes, got ({point[0]:g}, {point[1]:g})")
        start = (round(float(point[0]), START_DECIMALS), round(float(point[1]), START_DECIMALS))
    return changes, start


def _story(settings: Settings, races: dict, surface) -> None:
    """One line above the race that says what it shows, its outcomes worked out from the race itself (a lesson's
    text, the welcome note, or each run's outcome), and the rest on demand. It is always there, so that the race
    below does not move when the settings change."""
    state = st.session_state
    key = state.get("lesson")
    lesson = LESSONS[key] if key else WELCOME if canonical(settings) == _welcome_settings() else None
    # on a projector the line is a lesson's title alone, with no second line kept for it (see PAGE_CSS)
    box = st.container(key="story_title" if state.get("present") else "story")
    if lesson is None:
        box.markdown("**Free exploration:** " + _outcomes_line(races, surface))
        return
    title = "What to look at" if lesson is WELCOME else lesson.title
    watch = fill_outcomes(lesson.watch, races, surface)
    why = f"**Why:** {lesson.why}"
    if key and canonical(settings) != _lesson_canonical(key):
        why += ("\n\nYou have changed the lesson's settings since: its outcomes are this race's, the rest describes "
                "the original race.")
    if state.get("present") and lesson is not WELCOME:  # on a projector the map comes first: the rest on demand
        box.markdown(f"**{title}**", help=f"**Watch:** {watch}\n\n{why}")
    else:
        box.markdown(f"**{title}:** {watch}", help=why)


SUMMARISED_RUNS = 3  # free exploration names the outcomes of the first few runs; Results lists them all


def _outcomes_line(races: dict, surface) -> str:
    shown = list(races)[:SUMMARISED_RUNS]
    line = "; ".join(f"{plain(label)} {outcome(races[label], surface)}" for label in shown)
    more = len(races) - len(shown)
    return line + (f"; and {more} more (see Results)." if more else ".")


@st.cache_resource(max_entries=len(LESSONS), show_spinner=False)  # one short text per lesson
def _lesson_canonical(key: str) -> str:
    return canonical(lesson_settings(key))


@st.cache_resource(max_entries=1, show_spinner=False)
def _welcome_settings() -> str:
    return canonical(from_query(WELCOME.query)[0])


def _downloads(box, races, surface) -> None:
    box.download_button("Download HTML", lambda: race_html(races, surface), file_name="optviz-race.html",
                        mime="text/html", key="dl_html", on_click="ignore",
                        help="A standalone page with the animation that plays offline, e.g. on a slide")
    box.download_button("Download CSV", lambda: trajectories_csv(races), file_name="optviz-race.csv",
                        mime="text/csv", key="dl_csv", on_click="ignore",
                        help="Every step of every optimizer: position, loss, gradient, lr and state")


DETAILS = ["Results", "Loss", "Every quantity at one step", "Update rules"]


def _details(races, surface, settings: Settings, labels: list[str]) -> None:
    """Below the race, one view at a time: only the open tab runs, so the race reaches the screen first (the
    loss chart alone brings Plotly.js, seconds of a projector laptop's first load)."""
    # a switch, not tabs: one element instead of five for the browser to redraw on each change
    shown = st.segmented_control("Details", DETAILS, key="details", default=DETAILS[0], required=True,
                                 label_visibility="collapsed")
    if shown == "Results":
        _results_table(races, surface)
    elif shown == "Loss":
        _loss_chart(races, surface)
    elif shown == "Every quantity at one step":
        _step_inspector(races, settings.steps)
    else:
        _equations(settings, labels)


def _results_table(races, surface) -> None:
    """One row per run; the best (lowest final loss among runs that did not diverge) is starred, and a cell with
    no number says why."""
    finite = {label: traj.final_loss for label, traj in races.items()
              if traj.diverged_at is None and np.isfinite(traj.final_loss)}
    best = min(finite.values()) if finite else None
    has_minima = len(surface.minima) > 0
    rows = []
    for label, traj in races.items():
        row = {"best": "★" if best is not None and finite.get(label) == best else "",
               "optimizer": label, "final loss": traj.final_loss}
        if has_minima:
            row["to minimum"] = float(surface.nearest_minimum(traj.final)[1])
        row["reached at step"] = "not reached" if traj.converged_at is None else f"{traj.converged_at:,}"
        row["diverged at step"] = "never" if traj.diverged_at is None else f"{traj.diverged_at:,}"
        if surface.model is not None:  # what the steps cost: a full-batch step is an epoch
            row["batch size"] = traj.surface.params["batch_size"]
            row["epochs"] = float(traj.surface.epochs(traj.steps))
        rows.append(row)
    table(rows, {"final loss": "{:.4g}", "to minimum": "{:.3g}", "epochs": "{:.3g}"},
          note="★ the lowest final loss among runs that did not diverge. Final loss: f(θ) after the last step"
               + (". To minimum: the distance from the last point to the nearest minimum; reached: the first step "
                  "within 10⁻³ of one" if has_minima else "")
               + ". Diverged: the step at which the run left the plot far behind.")
    if not has_minima:
        st.caption(f"{plain(surface.title)} has no minimum: there is no distance to one, and none is reached.")


def _loss_chart(races, surface) -> None:
    """Loss against steps; on a data surface against epochs too, what the steps cost."""
    epochs = surface.model is not None and st.toggle(
        "Against epochs", value=True, key="loss_epochs",
        help="Epochs = examples seen ÷ data size: what the steps cost. A full-batch step is a whole epoch; "
             "single-example SGD makes one step per example.")
    st.plotly_chart(figures.loss_figure(races, epochs=epochs), key="loss_chart", theme=None)


def _step_inspector(races, steps: int) -> None:
    t = st.slider("Inspect step t", 1, steps, value=min(steps, 10), key=state_key("inspect"))
    rows = []
    for label, traj in races.items():
        if traj.diverged_at is not None and t >= traj.diverged_at:
            rows.append({"optimizer": label, "quantity": f"— diverged at step {traj.diverged_at}", "x": "", "y": ""})
            continue
        quantities = {"θ (position)": traj.path[t], "g (gradient)": traj.grad[t - 1]}
        quantities.update({name: values[t - 1] for name, values in traj.trace.items()})
        for name, value in quantities.items():
            value = np.broadcast_to(value, (2,)) if np.ndim(value) < 2 else value
            rows.append({"optimizer": label, "quantity": name, "x": f"{float(value[0]):.6g}",
                         "y": f"{float(value[1]):.6g}"})
    table(rows)  # text cells: a diverged run's row has no numbers


def _equations(settings: Settings, labels: list[str]) -> None:
    for entry, label in zip(settings.entries, labels):
        spec = OPTIMIZERS[entry.optimizer]
        st.markdown(f"**{plain(label)}**")
        st.latex(display_latex(spec.rule_latex(entry.hparams)))
        values = ", ".join(f"{p.symbol} = {latex_number(entry.hparams[p.name])}" for p in spec.params
                           if p.kind not in ("bool", "choice"))
        switches = [f"{p.name.replace('_', ' ')} {number_text(entry.hparams[p.name])}" for p in spec.params
                    if p.kind in ("bool", "choice")]
        st.latex(values + (r"\quad \text{" + ", ".join(switches) + "}" if switches else ""))
        if entry.schedule != "constant" or entry.schedule_params:
            st.latex(SCHEDULES[entry.schedule].latex)


# ---------------------------------------------------------------------------------------------------------------
# Computation, cached per settings and shared by every session: the URL encoding is the cache key.

# A race on a logistic model may take this many example-gradients (steps × the batch sizes of its runs): about
# 10 s here. Linear models cost next to nothing per example (four means a batch).
RACE_WORK = 300_000_000


def race_cost_note(settings: Settings, surface) -> str:
    """Why a race is refused, in words, if it asks a logistic model for more than RACE_WORK example-gradients."""
    model = surface.model
    if model is None or model.kind != "logistic" or not settings.entries:
        return ""
    sizes = [entry.surface_params.get("batch_size", surface.params["batch_size"]) for entry in settings.entries]
    work = settings.steps * sum(sizes)
    if work <= RACE_WORK:
        return ""
    return (f"{len(sizes)} runs × {settings.steps:,} steps on batches of up to {max(sizes):,} examples make "
            f"{work:,} example-gradients, more than the {RACE_WORK:,} a race may take on this server. Use "
            "mini-batches, fewer steps or fewer optimizers.")


# Bounds: the largest race a link allows (12 optimizers × 5,000 steps, recorded) holds 7 MB and its viewer data
# 5 MB, so 24 entries each keep a replica within ≈ 300 MB however many distinct links its students open; the
# default race is 0.1 MB.
RACES_KEPT = 24


@st.cache_resource(max_entries=RACES_KEPT, ttl=3600, show_spinner=False)
def _race(key: str, _upload: Table | None = None):
    """The race for a canonical settings string (read-only results shared across sessions); `_upload`: the
    session's uploaded table, which the key names by its SHA-256."""
    settings, _ = from_query(json.loads(key), _upload)
    surface = surface_for(settings)
    entries = [e.to_entry(label) for e, label in zip(settings.entries, settings.labels())]
    # a new pair's race at once, by the generic path, while its fused loop compiles for the next one
    return surface, race(surface, entries, start=settings.start, steps=settings.steps, compile_in_background=True,
                         align=settings.align)


# Bounds: one viewer payload per race kept above (at most 5 MB each, see RACES_KEPT)
@st.cache_resource(max_entries=RACES_KEPT, ttl=3600, show_spinner=False)
def _race_payload(key: str, traced: tuple[str, ...], _upload: Table | None = None,
                  _centres: dict | None = None) -> ViewerData:
    """The race viewer's data for these settings as JSON, made once and shared by every session (`_centres`, where
    the learning rates' sliders centre, follow from the settings, which `key` is)."""
    surface, races = _race(key, _upload)
    return viewer_data(race_payload(races, surface, traces=list(traced), centres=_centres,
                                     data_panel=figures.data_panel(races, surface)))
