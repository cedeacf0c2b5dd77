"""The settings every tab works from: the lesson, the surface and its data, the start, the steps and the racers,
held in session state, drawn in the sidebar and kept in the URL; the caches they share; and how another tab sends
settings back to the race (add_to_race, apply_to_race).

A tab draws itself from these settings through draw(): the sidebar's racers and the tab's own page are one
fragment, so that a racer's setting reruns them alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import streamlit as st

from ..custom import custom_surface, not_finite_share
from ..datasets import BUNDLED, MAX_BYTES, MAX_ROWS, Table, bundled_table, read_table
from ..engine import ALIGNMENTS
from ..optimizers import EXTRA_GRADIENTS
from ..optimizers import SPECS as OPTIMIZERS
from ..params import LR, WEIGHT_DECAY
from ..scenarios import LESSONS, WELCOME
from ..schedules import SCHEDULES, WARMUP_PARAMS
from ..second_order import INNER
from ..surfaces import SPECS as SURFACES
from ..surfaces import data_surface
from ..tuning import default_lr, suggest_lr, tuned_by
from .controls import (
    batch_size_control,
    bounded_number,
    ensure_value,
    number_text,
    param_control,
    plain,
    wrapped_formula,
)
from .settings import (
    CUSTOM,
    DATA_KINDS,
    DEFAULT_EXPRESSION,
    MAX_ENTRIES,
    MAX_STEPS,
    UPLOAD,
    EntrySettings,
    Settings,
    data_choices,
    default_columns,
    from_query,
    lesson_from_query,
    validate_surface,
)

PREFIX = "x."  # every session-state key of the settings starts with it
TAB = "tab"  # the open tab's parameter in the link: it belongs to the tabs (shell.py binds it), not to the settings
VIEW = "view"  # the fragment of the optimizers' settings and the open tab
# What a lesson sets in the race's view (race.py draws it): whose moments are traced, whose settings presentation
# mode shows beside the race.
TRACED = "traced"
TUNE = "tune"
# On a tab the settings do not apply to (MNIST) the sidebar is hidden (still drawn, so they keep their values).
HIDE_SIDEBAR_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"]
{ display: none; }
</style>"""


# ---------------------------------------------------------------------------------------------------------------
# Session state <-> Settings. Widget values are the source of truth once drawn; `_load` seeds them.

def state_key(*parts) -> str:
    """The session-state key of a setting: PREFIX and its parts (state_key(3, "h", "lr") = "x.3.h.lr")."""
    return PREFIX + ".".join(str(p) for p in parts)


def _load(settings: Settings) -> None:
    """Seed every widget of the tab from `settings` (first visit, a link, or a reset)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(PREFIX)]:
        del st.session_state[key]
    state = st.session_state
    state[state_key("surface")] = settings.surface
    state[state_key("expr")] = state[state_key("expr_ok")] = settings.expression or DEFAULT_EXPRESSION
    _write_data(settings.data, settings.columns, settings.upload)
    for name, value in settings.surface_params.items():
        state[state_key("sp", name)] = value
    state[state_key("start_x")], state[state_key("start_y")] = settings.start
    state[state_key("steps")] = settings.steps
    state[state_key("align")] = settings.align
    state[state_key("ids")] = []
    state[state_key("next_id")] = 0
    for entry in settings.entries:
        _add_entry(entry)


def _add_entry(entry: EntrySettings) -> None:
    state = st.session_state
    entry_id = state[state_key("next_id")]
    state[state_key("next_id")] = entry_id + 1
    state[state_key("ids")] = state[state_key("ids")] + [entry_id]
    _write_entry(entry_id, entry)


def _write_entry(entry_id: int, entry: EntrySettings) -> None:
    state = st.session_state
    state[state_key(entry_id, "opt")] = entry.optimizer
    state[state_key(entry_id, "label")] = entry.label
    for name, value in entry.hparams.items():
        state[state_key(entry_id, "h", name)] = value
    state[state_key(entry_id, "sched")] = entry.schedule
    state[state_key(entry_id, "sp", "batch_size")] = entry.surface_params.get("batch_size")
    for param in SCHEDULES[entry.schedule].params + WARMUP_PARAMS:
        state[state_key(entry_id, "s", param.name)] = entry.schedule_params.get(param.name, param.default)


def _read_entry(entry_id: int) -> EntrySettings:
    state = st.session_state
    spec = OPTIMIZERS[state[state_key(entry_id, "opt")]]
    sched = state.get(state_key(entry_id, "sched"), "constant")
    sched_params = {}
    for param in SCHEDULES[sched].params + WARMUP_PARAMS:
        value = state.get(state_key(entry_id, "s", param.name), param.default)
        if value != param.default:
            sched_params[param.name] = value
    hparams = _read_hparams(entry_id, spec.params)
    if len(settable := spec.settable(hparams)) > len(spec.params):  # a wrapper's: its inner optimizer's too
        hparams = _read_hparams(entry_id, settable)
    own_batch = state.get(state_key(entry_id, "sp", "batch_size"))
    surface = SURFACES.get(state[state_key("surface")])
    own = {"batch_size": own_batch} if own_batch is not None and surface and surface.per_entry else {}
    return EntrySettings(spec.name, hparams, sched, sched_params, state.get(state_key(entry_id, "label"), ""), own)


def entry_params(entry_id: int) -> tuple:
    """The hyperparameters an entry sets (a wrapper's: with those of the optimizer it wraps now)."""
    spec = OPTIMIZERS[st.session_state[state_key(entry_id, "opt")]]
    return spec.settable(_read_hparams(entry_id, spec.params))


def _read_hparams(entry_id: int, params) -> dict:
    state = st.session_state
    return {p.name: state.get(state_key(entry_id, "h", p.name), p.default) for p in params}


def read_settings() -> Settings:
    state = st.session_state
    surface = state[state_key("surface")]
    params = {p.name: state[state_key("sp", p.name)] for p in SURFACES[surface].params} if surface in SURFACES else {}
    expression = state[state_key("expr_ok")] if surface == CUSTOM else ""
    start = (float(state[state_key("start_x")]), float(state[state_key("start_y")]))
    entries = [_read_entry(i) for i in state[state_key("ids")]]
    return Settings(surface, params, start, int(state[state_key("steps")]), entries, expression, *_read_data(),
                    align=state.get(state_key("align"), ALIGNMENTS[0]))


def _read_data() -> tuple[str, tuple[str, ...], str]:
    """The data the race is on (data, columns, upload digest): what the Data controls last applied."""
    state = st.session_state
    return state.get(state_key("data"), ""), tuple(state.get(state_key("cols"), ())), state.get(state_key("upload"), "")


def _write_data(data: str, columns: tuple[str, ...], upload: str) -> None:
    """Apply data to the race, and show it in the Data controls."""
    state = st.session_state
    state[state_key("data")], state[state_key("cols")], state[state_key("upload")] = data, tuple(columns), upload
    state[state_key("data_pick")] = data
    if columns:
        state[state_key("col_x")], state[state_key("col_y")] = columns


# ---------------------------------------------------------------------------------------------------------------
# Callbacks: they run before the script, so they may rewrite widget values.

def _on_surface_change() -> None:
    """A new surface starts from its default start, with learning rates suited to it. Its parameters' state is
    created here, with the surface: its widgets are drawn only after this callback."""
    state = st.session_state
    surface = state[state_key("surface")]
    fresh = Settings.default(surface, state[state_key("expr_ok")] if surface == CUSTOM else "")
    for name, value in fresh.surface_params.items():
        state[state_key("sp", name)] = value
    settings = read_settings()
    settings.data, settings.columns, settings.upload = "", (), ""  # its own data (an upload stays in the session)
    state[UPLOAD_ERROR] = ""
    for entry in settings.entries:
        entry.hparams[LR] = default_lr(settings.surface, entry.optimizer, settings.expression)
        entry.surface_params = {}  # a batch size belongs to its data set
    settings.surface_params, settings.start = fresh.surface_params, fresh.start
    _load(settings)


def _on_expression_change() -> None:
    """A typed f(x, y) is used once it parses; until then the last good one stays, and the error is shown."""
    state = st.session_state
    text = state[state_key("expr")]
    try:
        surface = custom_surface(text)
    except ValueError as error:
        state[state_key("expr_error")] = str(error)
        return
    state[state_key("expr_error")] = ""
    state[state_key("expr_ok")] = text
    state[state_key("start_x")], state[state_key("start_y")] = surface.start
    for entry_id in state[state_key("ids")]:
        state[state_key(entry_id, "h", LR)] = default_lr(CUSTOM, state[state_key(entry_id, "opt")], text)


def _on_lesson_change() -> None:
    """Load the chosen lesson's race: a lesson is written exactly like a shared link."""
    key = st.session_state["lesson"]
    if key:
        _load(lesson_settings(key))
        _open_lesson(key)


def lesson_settings(key: str) -> Settings:
    return from_query(LESSONS[key].query)[0]


def _open_lesson(key: str) -> None:
    """Everything a lesson's text talks about is shown, so the moments of every contestant are traced; its race
    starts at step 0 and its own hyperparameter is the one presentation mode offers."""
    labels = lesson_settings(key).labels()
    st.session_state[TRACED] = labels
    st.session_state.pop(TUNE, None)


def _on_optimizers_change() -> None:
    """The multiselect adds an entry per new optimizer and removes every entry of a deselected one."""
    state = st.session_state
    chosen = state[state_key("chosen")]
    surface = state[state_key("surface")]
    kept = [i for i in state[state_key("ids")] if state[state_key(i, "opt")] in chosen]
    state[state_key("ids")] = kept
    present = {state[state_key(i, "opt")] for i in kept}
    for name in chosen:
        if name not in present and len(state[state_key("ids")]) < MAX_ENTRIES:
            entry = EntrySettings.default(name, surface)
            entry.hparams[LR] = suited_lr(name)
            _add_entry(entry)


def _duplicate(entry_id: int) -> None:
    if len(st.session_state[state_key("ids")]) < MAX_ENTRIES:
        entry = _read_entry(entry_id)
        entry.label = f"{entry.label or OPTIMIZERS[entry.optimizer].title} variant"
        _add_entry(entry)
    st.rerun()  # the optimizers' list above the settings shows the entries too: the page reruns


def _remove(entry_id: int) -> None:
    st.session_state[state_key("ids")] = [i for i in st.session_state[state_key("ids")] if i != entry_id]
    st.rerun()


def _on_label_change() -> None:
    st.rerun()  # the labels name the race's choice of traced optimizers too


def _reset(entry_id: int) -> None:
    entry = EntrySettings.default(st.session_state[state_key(entry_id, "opt")], st.session_state[state_key("surface")])
    entry.hparams[LR] = suited_lr(entry.optimizer)
    entry.label = st.session_state.get(state_key(entry_id, "label"), "")
    _write_entry(entry_id, entry)


def _on_data_pick() -> None:
    """The Data choice: the surface's own, a bundled table, or the uploaded file (if one is in the session; else
    the race stays where it is until a file comes)."""
    state = st.session_state
    spec = SURFACES.get(state[state_key("surface")])
    if spec is None or spec.model is None:  # a lesson or link moved the race off its data meanwhile: nothing to do
        return
    pick = state[state_key("data_pick")]
    state[UPLOAD_ERROR] = ""
    if pick == UPLOAD:
        if (table := session_upload()) is not None:
            _apply_data(UPLOAD, table)
        return
    _apply_data(pick, bundled_table(pick) if pick else None)


def _on_upload() -> None:
    """A file in the uploader: read in memory and, if a model fits it, the race moves onto it; else the reason in
    words, and the race stays on its data."""
    state = st.session_state
    file = state.get(UPLOADER)
    if file is None:  # the file was taken out of the uploader: the data stay in the session
        return
    name, data = _file_name(file.name), file.getvalue()
    try:
        table = read_table(data, name)
    except ValueError as error:
        state[UPLOAD_ERROR] = f"{name}: {error} {_still_on()}"
        return
    _apply_data(UPLOAD, table, uploaded=(name, data))


def _on_columns_change() -> None:
    state = st.session_state
    spec = SURFACES.get(state[state_key("surface")])
    if spec is None or spec.model is None or state_key("col_x") not in state:  # moved off its data meanwhile
        return
    data, _, _ = _read_data()
    _apply_data(data, _data_table(data), (state[state_key("col_x")], state[state_key("col_y")]))


def _apply_data(data: str, table: Table | None, columns: tuple[str, ...] | None = None,
                uploaded: tuple[str, bytes] | None = None) -> None:
    """Put the race on this data (table None: the surface's own) and these columns (or the first that fit): a
    full batch of its rows, its start and learning rates suited to it. If the model cannot be fitted to them, the
    race stays on its data and the reason is shown in words (naming the row and column)."""
    state = st.session_state
    name = state[state_key("surface")]
    before = _read_data()
    try:
        if table is not None:
            columns = tuple(columns or default_columns(name, data, table))
            validate_surface(Settings(name, {}, (0.0, 0.0), 1, [], "", data, columns, table.digest), table)
    except ValueError as error:
        state[UPLOAD_ERROR] = f"{table.name}: {error} {_still_on()}"
        if before[1]:
            state[state_key("col_x")], state[state_key("col_y")] = before[1]
        if data != UPLOAD:  # a bundled table always fits; an upload's choice stays open for the next file
            state[state_key("data_pick")] = before[0]
        return
    if uploaded is not None:
        state[UPLOADED] = (*uploaded, table.digest)
    state[UPLOAD_ERROR] = ""
    _write_data(data, columns or (), table.digest if data == UPLOAD else "")
    settings = read_settings()
    fresh = surface_for(replace(settings, surface_params={}))
    settings.surface_params["batch_size"] = fresh.params["batch_size"]  # a full batch of the new data
    settings.start = fresh.start
    for entry in settings.entries:
        entry.hparams[LR] = suited_lr(entry.optimizer)
        entry.surface_params = {}  # a batch size belongs to its data set
    _load(settings)


def _data_table(data: str) -> Table | None:
    return session_upload() if data == UPLOAD else bundled_table(data) if data else None


def _file_name(name: str) -> str:
    """An uploaded file's name as titles show it: printable, at most 60 characters."""
    clean = "".join(ch for ch in str(name) if ch.isprintable()).strip() or "your file"
    return clean if len(clean) <= 60 else clean[:59] + "…"


OWN_DATA = {"linear_regression": "Iris petals (150 flowers)",
            "logistic_regression": "Iris: versicolor vs virginica (100 flowers)"}


def _data_title(surface: str, data: str) -> str:
    """A Data choice in words (the same words whatever is uploaded: a choice's label is part of its widget)."""
    if data == UPLOAD:
        return "Upload a CSV…"
    return BUNDLED[data].title if data else OWN_DATA.get(surface, "Its own")


def _data_name(surface: str, data: str) -> str:
    """The data in use, in words: the Data choice's title, or the uploaded file's name."""
    held = st.session_state.get(UPLOADED)
    return f"your file {held[0]}" if data == UPLOAD and held else _data_title(surface, data)


def _still_on() -> str:
    return f"The race stays on {_data_name(st.session_state[state_key('surface')], _read_data()[0])}."


# ---------------------------------------------------------------------------------------------------------------
# For the tabs: they work on these settings, and can send settings back to the race.

def add_to_race(optimizer: str, hparams: dict, label: str) -> None:
    """Callback: a new race entry with these hyperparameters (e.g. a sweep cell)."""
    if len(st.session_state[state_key("ids")]) < MAX_ENTRIES:
        entry = EntrySettings.default(optimizer)
        entry.hparams.update(hparams)
        entry.label = label
        _add_entry(entry)
        st.rerun()  # the optimizers' list, outside the view, shows it


def apply_to_race(settings_by_optimizer: dict[str, dict]) -> None:
    """Callback: set the hyperparameters of every race entry of these optimizers (e.g. tuned learning rates)."""
    state = st.session_state  # (the view, which reruns, draws them)
    for entry_id in state[state_key("ids")]:
        for name, value in settings_by_optimizer.get(state[state_key(entry_id, "opt")], {}).items():
            state[state_key(entry_id, "h", name)] = value


def set_start(x: float, y: float) -> None:
    """Move the start point (e.g. where the map was clicked); the start boxes show it at the next run."""
    st.session_state[state_key("start_x")], st.session_state[state_key("start_y")] = x, y


def surface_for(settings: Settings):
    """The bound surface of these settings (cached and shared, read-only; on uploaded data, keyed by the file's
    SHA-256, so that two students' files never mix)."""
    params = json.dumps(settings.surface_params, sort_keys=True)
    if settings.data == UPLOAD:
        return _uploaded_surface(settings.surface, params, settings.columns, settings.upload, session_upload())
    return _surface(settings.surface, params, settings.expression, settings.data, tuple(settings.columns))


# Bounds: a surface or a share is a few kB; 64 of each is nothing.
@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)
def _surface(name: str, params: str, expression: str = "", data: str = "", columns: tuple[str, ...] = ()):
    return validate_surface(Settings(name, json.loads(params), (0.0, 0.0), 1, [], expression, data, columns))


# Bounds: a surface on an uploaded file keeps its two columns and models, ≤ 8 MB at 100,000 rows; 16 of them.
@st.cache_resource(max_entries=16, ttl=3600, show_spinner=False)
def _uploaded_surface(name: str, params: str, columns: tuple[str, ...], digest: str, _table: Table | None):
    """A surface on an uploaded table, keyed by the file's SHA-256 (the table itself is not hashed again)."""
    settings = Settings(name, json.loads(params), (0.0, 0.0), 1, [], "", UPLOAD, columns, digest)
    return validate_surface(settings, _table)


UPLOADED = "upload.file_bytes"  # the session's uploaded file, (name, bytes, SHA-256): in its memory only


UPLOAD_ERROR = "upload.error"  # what was wrong with the last file or choice of columns, in words


UPLOADER = "upload.widget"  # the file uploader (outside PREFIX: a reload of the settings leaves it alone)


def session_upload() -> Table | None:
    """This session's uploaded table, parsed once per file content and shared by SHA-256 (None before any)."""
    held = st.session_state.get(UPLOADED)
    if held is None:
        return None
    name, data, digest = held
    return _parsed(digest, name, data)


# Bounds: a parsed file is ≤ 20 MB of numbers (5 MB of text); 8 of them, ≤ 160 MB.
@st.cache_resource(max_entries=8, ttl=3600, show_spinner=False)
def _parsed(digest: str, name: str, _data: bytes) -> Table:
    """read_table, once per file content (the digest is the key: the bytes are not hashed again)."""
    return read_table(_data, name)


@st.cache_resource(max_entries=64, ttl=3600, show_spinner=False)  # one float per typed formula
def _not_finite_share(expression: str) -> float:
    share = not_finite_share(custom_surface(expression))
    return share if share == 0 else max(share, 0.01)  # a sliver still reads "1%", not "0%"


def canonical(settings: Settings) -> str:
    """A stable text for the settings: the cache key of everything computed from them (an upload's SHA-256 and
    columns included)."""
    return json.dumps(settings.cache_key(), sort_keys=True)


# ---------------------------------------------------------------------------------------------------------------
# Drawing

def sidebar() -> None:
    """The top of the sidebar every tab works from (lesson, surface); draw() draws the rest.

    The first run of a session reads the link; what it could not use is reported once, above the tabs.
    """
    state = st.session_state
    if state_key("surface") not in state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        warnings: list[str] = []
        lesson = lesson_from_query(query, LESSONS, warnings)
        # a bare address opens the welcome race, whose lesson shows at a glance; `lesson=` alone, that lesson
        linked = query if set(query) - {TAB, "lesson"} else LESSONS[lesson].query if lesson else WELCOME.query
        settings, more = from_query(linked)
        _load(settings)
        if lesson:
            state["lesson"] = lesson
            _open_lesson(lesson)
        state["explorer_warnings"] = warnings + more
    if warnings := state.get("explorer_warnings"):
        # one line, the list on demand: a long list pushed the race below a projector's window
        row = st.container(horizontal=True, vertical_alignment="center", gap="small")
        many = len(warnings) > 1
        row.warning(f"{len(warnings)} settings in the link could not be used and were replaced by defaults."
                    if many else f"A setting in the link could not be used: {plain(warnings[0])}", width="stretch")
        if many:
            with row.popover("Which", width="content", key="link_warnings"):
                st.markdown("\n".join(f"- {plain(w)}" for w in warnings))
        if row.button("Dismiss", key="dismiss_warnings", width="content"):
            state["explorer_warnings"] = []
            st.rerun()
    _surface_sidebar()


def draw(page: Callable[[Settings], None] | None = None, above: Callable[[], None] | None = None,
         racers_in_page: bool = False) -> None:
    """The rest of the sidebar (start, steps, optimizers) and the open tab drawn from its settings (`page`; None
    draws the settings alone, so they keep their values while another tab shows). `above`: the tab's own controls,
    drawn before the view; `racers_in_page`: the sidebar is hidden and the page draws a racer's controls itself.

    A change of the start, the steps or the choice of optimizers reruns the page; a change of an optimizer's
    setting reruns only the view, a fragment that draws those settings and the open tab. (Not a fragment inside
    a fragment: an outer fragment's rerun left the inner one's sidebar elements behind, a removed optimizer's
    panel among them.)
    """
    _race_sidebar()
    if above is not None:  # the open tab's own controls, kept out of the view
        above()
    _view(page, racers_in_page)
    if _read_data()[0] == UPLOAD:
        st.sidebar.caption("The address bar holds every setting, but your uploaded data is not in the link: the file "
                           "stays in this session on the server. Shared, the link opens on the surface's own data.")
    else:
        st.sidebar.caption("The address bar holds every setting: copy it to share this exact race.")


@st.fragment(key=VIEW)
def _view(page: Callable[[Settings], None] | None, racers_in_page: bool) -> None:
    """Each optimizer's settings (in the sidebar) and the open tab drawn from all settings, kept in the URL.

    A fragment of its own, so that a learning-rate change (or any optimizer's setting) reruns what it changes
    and not the start and steps boxes above it: the browser redraws every element a run sends (~2 ms each).
    """
    before = read_settings()  # read again below: drawing an entry's controls fills in values it lacked
    surface = surface_for(before)
    for entry_id, label in zip(st.session_state[state_key("ids")], before.labels()):
        if racers_in_page:  # kept as they are: the page draws the controls it shows
            _keep_values(entry_id)
        else:
            _entry_controls(entry_id, label, surface)
    settings = read_settings()
    query = settings.to_query()
    if st.session_state.get("lesson"):
        query["lesson"] = st.session_state["lesson"]
    _keep_in_url(query)
    if page is not None:
        page(settings)


def _keep_in_url(query: dict) -> None:
    """The address bar holds the settings; the open tab's parameter belongs to the tabs (bound to them)."""
    params = st.query_params
    for key in [key for key in params if key not in query and key != TAB]:
        del params[key]
    params.update(query)


def hide_sidebar() -> None:
    """Hide the race settings, for a tab they do not apply to."""
    st.html(HIDE_SIDEBAR_CSS)


def _surface_sidebar() -> None:
    """The lesson and the surface: a change here reruns the whole page."""
    state = st.session_state
    st.sidebar.selectbox("Lesson", [None, *LESSONS], key="lesson", on_change=_on_lesson_change,
                         format_func=lambda key: "Free exploration" if key is None else LESSONS[key].title,
                         help="Guided lessons: each sets up a race and says what to watch")
    st.sidebar.header("Surface")
    st.sidebar.selectbox("Loss surface", [*SURFACES, CUSTOM], key=state_key("surface"), on_change=_on_surface_change,
                         format_func=_surface_title,
                         label_visibility="collapsed")
    if state[state_key("surface")] == CUSTOM:
        st.sidebar.text_input("f(x, y) =", key=state_key("expr"), on_change=_on_expression_change, max_chars=300,
                              help="Numbers, x, y, + − * / ** and sin cos tan sinh cosh tanh exp log sqrt abs atan; "
                                   "pi and e. Press Enter to apply.")
        if state.get(state_key("expr_error")):
            st.sidebar.error(plain(state[state_key("expr_error")]))
    if state[state_key("surface")] in DATA_KINDS:
        _data_controls()
    surface = surface_for(read_settings())
    spec = surface.spec
    st.sidebar.latex(r"\small " + wrapped_formula(spec.latex))  # the sidebar is narrow
    st.sidebar.caption(plain(spec.description))  # a typed formula is part of it
    if state[state_key("surface")] == CUSTOM and (share := _not_finite_share(state[state_key("expr_ok")])) > 0:
        st.sidebar.warning(f"f is not a finite number on {share:.0%} of the map: it overflows or is undefined "
                           "there. That region is hatched; a run that enters it stops and counts as diverged.")
    if surface.model is not None:
        with st.sidebar:
            batch_size_control(state_key("sp", "batch_size"), surface.model.n)
    if spec.params and spec.name in SURFACES:
        with st.sidebar.expander("Surface parameters"):
            for param in SURFACES[spec.name].params:  # (a data surface on a table: the same, its data aside)
                if param.name == "batch_size" and surface.model is not None:
                    continue  # drawn above, with its named settings
                ensure_value(state_key("sp", param.name), param.default)
                param_control(param, state_key("sp", param.name))


def _data_controls() -> None:
    """A data surface's data: its own, a bundled table or the user's CSV file, and the model's two columns."""
    state = st.session_state
    surface = state[state_key("surface")]
    data, columns, _ = _read_data()
    ensure_value(state_key("data_pick"), data)
    st.sidebar.selectbox("Data", data_choices(surface) + [UPLOAD], key=state_key("data_pick"), on_change=_on_data_pick,
                         format_func=lambda key: _data_title(surface, key),
                         help="The data the model is fitted to: its own, a table shipped with optviz, or a CSV file "
                              "of yours (it stays in this session on the server: never written to disk, never in "
                              "the link)")
    picked = state[state_key("data_pick")]
    if picked == UPLOAD:
        st.sidebar.file_uploader(
            "Your CSV file", type="csv", key=UPLOADER, on_change=_on_upload, max_upload_size=MAX_BYTES // 2**20,
            help=f"A header row naming the columns, then rows of numbers; at most {MAX_BYTES // 2**20} MB and "
                 f"{MAX_ROWS:,} rows. It stays in this session on the server: never written to disk, never in the "
                 "link.")
    table = _data_table(data) if picked == data else None
    if table is not None:  # the model's two columns (a widget forgets its value while not drawn: seeded again)
        logistic = DATA_KINDS[surface] == "logistic"
        ensure_value(state_key("col_x"), columns[0])
        ensure_value(state_key("col_y"), columns[1])
        left, right = st.sidebar.columns(2)
        left.selectbox("x", table.names, key=state_key("col_x"), on_change=_on_columns_change,
                       help="The model's input: a column of numbers")
        right.selectbox("label" if logistic else "y", table.names, key=state_key("col_y"), on_change=_on_columns_change,
                        help="What the model predicts: a column of labels 0 and 1" if logistic else
                             "What the model predicts: a column of numbers")
    if picked == data == UPLOAD and table is not None:
        st.sidebar.caption(f"On {_data_name(surface, data)}: {table.n:,} rows, {len(table.names)} columns. Another "
                           "file replaces it.")
    elif picked == UPLOAD and not state.get(UPLOAD_ERROR):
        st.sidebar.caption(f"Until a file fits, the race stays on {_data_name(surface, data)}.")
    if state.get(UPLOAD_ERROR):
        st.sidebar.error(plain(state[UPLOAD_ERROR]))


def _surface_title(name: str) -> str:
    """A surface in the surface choice: a data surface by its model alone, the Data choice below names the data."""
    if name not in SURFACES:
        return "Your own f(x, y)…"
    return SURFACES[name].title.partition(" (")[0] if name in DATA_KINDS else SURFACES[name].title


def _race_sidebar() -> None:
    """Start, steps and the choice of optimizers, drawn by the workspace (each optimizer's settings: the view)."""
    state = st.session_state
    surface = surface_for(read_settings())
    _start_controls(surface)
    bounded_number("Steps", state_key("steps"), 1, MAX_STEPS, kind="int", step=50, container=st.sidebar)
    if surface.model is not None:
        st.sidebar.caption(_epochs_text(surface, int(state[state_key("steps")])))
    _align_control()

    st.sidebar.header("Optimizers")
    ids = state[state_key("ids")]
    state[state_key("chosen")] = list(dict.fromkeys(state[state_key(i, "opt")] for i in ids))
    st.sidebar.multiselect("Optimizers", list(OPTIMIZERS), key=state_key("chosen"), on_change=_on_optimizers_change,
                           format_func=lambda name: OPTIMIZERS[name].title, label_visibility="collapsed",
                           max_selections=MAX_ENTRIES)


ALIGN_TITLES = {"steps": "steps", "evaluations": "gradient evaluations"}


def _align_control() -> None:
    """Whether "Steps" counts steps or gradient evaluations: shown once a racer spends more than one gradient a
    step (SAM, L-BFGS), or while the race counts evaluations (so that it can be switched back)."""
    state = st.session_state
    costly = [OPTIMIZERS[state[state_key(i, "opt")]].title for i in state[state_key("ids")]
              if OPTIMIZERS[state[state_key(i, "opt")]].kind == EXTRA_GRADIENTS]
    ensure_value(state_key("align"), ALIGNMENTS[0])
    if not costly and state[state_key("align")] == ALIGNMENTS[0]:
        return
    st.sidebar.segmented_control(
        "Steps counts", ALIGNMENTS, key=state_key("align"), format_func=ALIGN_TITLES.get, required=True,
        help="Steps: every racer takes that many steps. Gradient evaluations: every racer spends that many "
             "gradients, and the race shows where each stood after each evaluation: "
             f"{', '.join(costly) or 'SAM and L-BFGS'} spend more than one a step, so they take fewer steps.")


def _epochs_text(surface, steps: int) -> str:
    n, size = surface.model.n, surface.params["batch_size"]
    return (f"{steps} steps of {size} example{'s' if size > 1 else ''} = {number_text(surface.epochs(steps))} "
            f"epochs: a full-batch step costs {n} gradients, an epoch of single examples makes {n} steps.")


def _start_controls(surface) -> None:
    """Start x and y, within the divergence bound, and where the map's window is; a start off the map says so."""
    state = st.session_state
    x0, x1, y0, y1 = surface.window
    bound = surface.bound
    left, right = st.sidebar.columns(2)
    notes = st.sidebar.container()  # below both boxes: a half-width note wraps a word a line
    x_name, y_name = surface.axis_names
    for column, axis, name in ((left, "x", x_name), (right, "y", y_name)):
        bounded_number(f"start {name}", state_key(f"start_{axis}"), -bound, bound, step=0.1, format="%.4g",
                       container=column, notes=notes)
    window = f"{x_name} ∈ [{x0:g}, {x1:g}], {y_name} ∈ [{y0:g}, {y1:g}]"
    x, y = float(state[state_key("start_x")]), float(state[state_key("start_y")])
    if x0 <= x <= x1 and y0 <= y <= y1:
        st.sidebar.caption(f"…or click on the contour to start there. The map shows {window}; a run that goes "
                           f"beyond ±{bound:g} has diverged.")
    else:
        st.sidebar.warning(start_outside_message(surface, (x, y)))


def start_outside_message(surface, start) -> str:
    """What a start off the map means, in words: where the map is, and that the path begins outside it."""
    x0, x1, y0, y1 = surface.window
    x_name, y_name = surface.axis_names
    return (f"The start ({start[0]:g}, {start[1]:g}) is outside the map, which shows {x_name} ∈ [{x0:g}, {x1:g}], "
            f"{y_name} ∈ [{y0:g}, {y1:g}]: the path begins off the map. Click on the contour or type a start "
            "inside it.")


def _entry_controls(entry_id: int, label: str, surface) -> None:
    state = st.session_state
    spec = OPTIMIZERS[state[state_key(entry_id, "opt")]]
    # A closed entry draws no widgets (a page redraws every widget on every run, ~3 ms each in the browser): six
    # optimizers would otherwise put ~90 of them in the sidebar. Opening one reruns the settings.
    box = st.sidebar.expander(label, key=open_key(entry_id), on_change="rerun")
    if not box.open:
        _keep_values(entry_id)
        return
    with box:
        reference = suited_lr(spec.name, state.get(state_key(entry_id, "h", INNER)))
        params = entry_params(entry_id)
        for param in params:
            ensure_value(state_key(entry_id, "h", param.name), param.default)
        for param in filter(_in_formula, params):
            param_control(param, state_key(entry_id, "h", param.name), reference if param.name == LR else None)
        ensure_value(state_key(entry_id, "more"), _customised(_read_entry(entry_id), spec))
        if st.toggle("More settings", key=state_key(entry_id, "more"),
                     help="Label, " + ("batch size, " if surface.model is not None else "") + "weight decay, switches "
                          "(such as bias correction), learning-rate schedule; Defaults, Variant and Remove"):
            _more_controls(entry_id, params, surface)
        else:  # the values behind the closed section stay as they are (the widgets above are drawn already)
            _keep_values(entry_id, drawn=[state_key(entry_id, "more")] + [state_key(entry_id, "h", p.name)
                                                                     for p in params if _in_formula(p)])


def suited_lr(optimizer: str, inner: str | None = None) -> float:
    """The learning rate suited to this optimizer (a wrapper: around `inner`) on the chosen surface and data: where
    its slider is centred."""
    tuned = tuned_by(optimizer, inner)
    if tuned is None:
        return float(OPTIMIZERS[optimizer].defaults[LR])
    optimizer = tuned
    state = st.session_state
    name = state[state_key("surface")]
    data, columns, upload = _read_data()
    if data and name in DATA_KINDS:
        surface = surface_for(Settings(name, {}, (0.0, 0.0), 1, [], "", data, columns, upload))
        return _data_lr(name, data, columns, upload, optimizer, surface, _data_table(data))
    return default_lr(name, optimizer, state[state_key("expr_ok")] if name == CUSTOM else "")


LR_ROWS = 1000  # a logistic model on more rows is tuned on this many of them, evenly spread (about 1 s)


# Bounds: one float per (surface, data, columns, optimizer).
@st.cache_resource(max_entries=512, ttl=3600, show_spinner=False)
def _data_lr(name: str, data: str, columns: tuple[str, ...], upload: str, optimizer: str, _surface,
             _table: Table) -> float:
    """suggest_lr on a data surface at its defaults (a full batch); a logistic model of many rows on LR_ROWS of
    them, evenly spread, whose loss has much the same shape."""
    if _surface.model.kind == "logistic" and _table.n > LR_ROWS:
        rows = np.linspace(0, _table.n - 1, LR_ROWS).round().astype(int)
        _surface = data_surface("logistic", _table.take(rows), *columns)
    return suggest_lr(_surface, optimizer, compile_in_background=True)


BUTTONS = ("reset", "dup", "remove")  # each entry's buttons, by the last part of their keys


def _in_formula(param) -> bool:
    """A constant of the update rule (α, β₁, ρ, ε, …) or the optimizer a wrapper wraps, always shown; weight decay,
    switches and choices wait under "More settings" (fewer widgets to redraw on every change, and a shorter
    sidebar)."""
    return (param.kind == "float" and param.role != WEIGHT_DECAY) or param.name == INNER


def _customised(entry: EntrySettings, spec) -> bool:
    """Whether anything under "More settings" differs from its default: then the section starts open."""
    return bool(entry.label or entry.schedule != "constant" or entry.surface_params
                or any(entry.hparams[p.name] != p.default for p in spec.settable(entry.hparams)
                       if not _in_formula(p)))


def _more_controls(entry_id: int, params, surface) -> None:
    state = st.session_state
    title = OPTIMIZERS[state[state_key(entry_id, "opt")]].title
    st.text_input("Label", key=state_key(entry_id, "label"), max_chars=40, placeholder=title,
                  on_change=_on_label_change)
    if surface.model is not None:
        ensure_value(state_key(entry_id, "sp", "batch_size"), None)
        batch_size_control(state_key(entry_id, "sp", "batch_size"), surface.model.n,
                           inherit=surface.params["batch_size"])
    for param in params:
        if not _in_formula(param):
            param_control(param, state_key(entry_id, "h", param.name))
    st.selectbox("Learning-rate schedule", list(SCHEDULES), key=state_key(entry_id, "sched"),
                 format_func=lambda name: SCHEDULES[name].title)
    for param in SCHEDULES[state[state_key(entry_id, "sched")]].params + WARMUP_PARAMS:
        ensure_value(state_key(entry_id, "s", param.name), param.default)
        param_control(param, state_key(entry_id, "s", param.name))
    try:
        _read_entry(entry_id).build_schedule()
    except ValueError as error:  # each value in its range, but not together: the race takes a constant rate meanwhile
        st.warning(f"{error}. Until then this optimizer's learning rate stays constant.")
    # a row that wraps: three equal columns cut the labels to "De…", "Va…", "Re…" in a narrow sidebar
    with st.container(horizontal=True, gap="small"):
        st.button("Defaults", key=state_key(entry_id, "reset"), on_click=_reset, args=(entry_id,), width="content",
                  help="Reset every hyperparameter to its default (learning rate suited to this surface)")
        st.button("Variant", key=state_key(entry_id, "dup"), on_click=_duplicate, args=(entry_id,), width="content",
                  help="Add a copy of this optimizer to compare another setting side by side")
        st.button("Remove", key=state_key(entry_id, "remove"), on_click=_remove, args=(entry_id,), width="content",
                  help="Take this optimizer out of the race")


def open_key(entry_id: int) -> str:
    """The session-state key of whether an entry's settings are open (outside PREFIX: a lesson or a link that
    reloads the settings leaves the sidebar as the user arranged it)."""
    return f"open.{entry_id}"


def _keep_values(entry_id: int, drawn: list[str] = ()) -> None:
    """Keep the values of an entry whose widgets are not drawn this run (Streamlit forgets a widget's value when
    the widget is not drawn): written back, they are plain session state until the entry opens again. `drawn`:
    the keys of widgets drawn this run (with their own keys: a log slider's box), which must not be written."""
    state = st.session_state
    prefix = state_key(entry_id, "")
    skip = [*drawn, *(state_key(entry_id, button) for button in BUTTONS)]  # a button's state is not a setting
    for key in [key for key in state if isinstance(key, str) and key.startswith(prefix)]:
        if not any(key == widget or key.startswith(widget + ".") for widget in skip):
            state[key] = state[key]
