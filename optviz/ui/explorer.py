"""The trajectory explorer tab: sidebar controls, the animated race, moment traces, equations and results."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import streamlit as st

from .. import figures
from ..counterexample import reddi_run
from ..custom import custom_surface, not_finite_share
from ..datasets import BUNDLED, MAX_BYTES, MAX_ROWS, Table, bundled_table, read_table
from ..engine import race
from ..figures.export import race_html, trajectories_csv
from ..figures.race_payload import race_payload
from ..optimizers import SPECS as OPTIMIZERS
from ..outcomes import fill_outcomes, outcome
from ..scenarios import LESSONS, WELCOME
from ..schedules import SCHEDULES, WARMUP_PARAMS
from ..surfaces import SPECS as SURFACES
from ..surfaces import data_surface
from ..tuning import default_lr, suggest_lr
from .controls import (
    batch_size_control,
    bounded_number,
    display_latex,
    ensure_value,
    latex_number,
    number_text,
    param_control,
    plain,
    table,
    wrapped_formula,
)
from .race_viewer import ViewerData, race_click, race_viewer, viewer_data
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

PREFIX = "x."  # every session-state key of this tab starts with it
# Less empty space above the tabs; and the line above the race keeps two lines whatever it says (the welcome note
# is two at 1280 px, a race's outcomes often one): the race below keeps its place when the note gives way.
PAGE_CSS = """<style>.block-container { padding-top: 3.2rem !important; padding-bottom: 2rem; }
.st-key-story { min-height: 3.4em; }</style>"""
RACE_KEY = "race"  # the race viewer's component key: its clicks are read from st.session_state[RACE_KEY]
VIEW = "view"  # the fragment of the optimizers' settings and the open tab
# A projector shows the race, not the app's chrome: no sidebar, no header bar (toolbar and menu), little padding.
# (config.toml sets client.toolbarMode = "minimal" for everyone: a classroom server has no Deploy button.)
# On the MNIST tab the sidebar's race settings do nothing: hidden (still drawn, so they keep their values).
HIDE_SIDEBAR_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"]
{ display: none; }
</style>"""
PRESENTATION_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"] { display: none !important; }
.block-container { max-width: 100% !important; padding: 0.5rem 1.5rem 1rem 1.5rem !important; }
html, .stMarkdown, .stCaption, [data-testid="stWidgetLabel"] p { font-size: 1.3rem !important; }
</style>"""


# ---------------------------------------------------------------------------------------------------------------
# Session state <-> Settings. Widget values are the source of truth once drawn; `_load` seeds them.

def _key(*parts) -> str:
    return PREFIX + ".".join(str(p) for p in parts)


def _load(settings: Settings) -> None:
    """Seed every widget of the tab from `settings` (first visit, a link, or a reset)."""
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(PREFIX)]:
        del st.session_state[key]
    state = st.session_state
    state[_key("surface")] = settings.surface
    state[_key("expr")] = state[_key("expr_ok")] = settings.expression or DEFAULT_EXPRESSION
    _write_data(settings.data, settings.columns, settings.upload)
    for name, value in settings.surface_params.items():
        state[_key("sp", name)] = value
    state[_key("start_x")], state[_key("start_y")] = settings.start
    state[_key("steps")] = settings.steps
    state[_key("ids")] = []
    state[_key("next_id")] = 0
    for entry in settings.entries:
        _add_entry(entry)


def _add_entry(entry: EntrySettings) -> None:
    state = st.session_state
    entry_id = state[_key("next_id")]
    state[_key("next_id")] = entry_id + 1
    state[_key("ids")] = state[_key("ids")] + [entry_id]
    _write_entry(entry_id, entry)


def _write_entry(entry_id: int, entry: EntrySettings) -> None:
    state = st.session_state
    state[_key(entry_id, "opt")] = entry.optimizer
    state[_key(entry_id, "label")] = entry.label
    for name, value in entry.hparams.items():
        state[_key(entry_id, "h", name)] = value
    state[_key(entry_id, "sched")] = entry.schedule
    state[_key(entry_id, "sp", "batch_size")] = entry.surface_params.get("batch_size")
    for param in SCHEDULES[entry.schedule].params + WARMUP_PARAMS:
        state[_key(entry_id, "s", param.name)] = entry.schedule_params.get(param.name, param.default)


def _read_entry(entry_id: int) -> EntrySettings:
    state = st.session_state
    spec = OPTIMIZERS[state[_key(entry_id, "opt")]]
    sched = state.get(_key(entry_id, "sched"), "constant")
    sched_params = {}
    for param in SCHEDULES[sched].params + WARMUP_PARAMS:
        value = state.get(_key(entry_id, "s", param.name), param.default)
        if value != param.default:
            sched_params[param.name] = value
    hparams = {p.name: state.get(_key(entry_id, "h", p.name), p.default) for p in spec.params}
    own_batch = state.get(_key(entry_id, "sp", "batch_size"))
    surface = SURFACES.get(state[_key("surface")])
    own = {"batch_size": own_batch} if own_batch is not None and surface and surface.per_entry else {}
    return EntrySettings(spec.name, hparams, sched, sched_params, state.get(_key(entry_id, "label"), ""), own)


def _read() -> Settings:
    state = st.session_state
    surface = state[_key("surface")]
    params = {p.name: state[_key("sp", p.name)] for p in SURFACES[surface].params} if surface in SURFACES else {}
    expression = state[_key("expr_ok")] if surface == CUSTOM else ""
    start = (float(state[_key("start_x")]), float(state[_key("start_y")]))
    entries = [_read_entry(i) for i in state[_key("ids")]]
    return Settings(surface, params, start, int(state[_key("steps")]), entries, expression, *_read_data())


def _read_data() -> tuple[str, tuple[str, ...], str]:
    """The data the race is on (data, columns, upload digest): what the Data controls last applied."""
    state = st.session_state
    return state.get(_key("data"), ""), tuple(state.get(_key("cols"), ())), state.get(_key("upload"), "")


def _write_data(data: str, columns: tuple[str, ...], upload: str) -> None:
    """Apply data to the race, and show it in the Data controls."""
    state = st.session_state
    state[_key("data")], state[_key("cols")], state[_key("upload")] = data, tuple(columns), upload
    state[_key("data_pick")] = data
    if columns:
        state[_key("col_x")], state[_key("col_y")] = columns


# ---------------------------------------------------------------------------------------------------------------
# Callbacks: they run before the script, so they may rewrite widget values.

def _on_surface_change() -> None:
    """A new surface starts from its default start, with learning rates suited to it. Its parameters' state is
    created here, with the surface: its widgets are drawn only after this callback."""
    state = st.session_state
    surface = state[_key("surface")]
    fresh = Settings.default(surface, state[_key("expr_ok")] if surface == CUSTOM else "")
    for name, value in fresh.surface_params.items():
        state[_key("sp", name)] = value
    settings = _read()
    settings.data, settings.columns, settings.upload = "", (), ""  # its own data (an upload stays in the session)
    state[UPLOAD_ERROR] = ""
    for entry in settings.entries:
        entry.hparams["lr"] = default_lr(settings.surface, entry.optimizer, settings.expression)
        entry.surface_params = {}  # a batch size belongs to its data set
    settings.surface_params, settings.start = fresh.surface_params, fresh.start
    _load(settings)


def _on_expression_change() -> None:
    """A typed f(x, y) is used once it parses; until then the last good one stays, and the error is shown."""
    state = st.session_state
    text = state[_key("expr")]
    try:
        surface = custom_surface(text)
    except ValueError as error:
        state[_key("expr_error")] = str(error)
        return
    state[_key("expr_error")] = ""
    state[_key("expr_ok")] = text
    state[_key("start_x")], state[_key("start_y")] = surface.start
    for entry_id in state[_key("ids")]:
        state[_key(entry_id, "h", "lr")] = default_lr(CUSTOM, state[_key(entry_id, "opt")], text)


def _on_lesson_change() -> None:
    """Load the chosen lesson's race: a lesson is written exactly like a shared link."""
    key = st.session_state["lesson"]
    if key:
        _load(_lesson_settings(key))
        _open_lesson(key)


def _lesson_settings(key: str) -> Settings:
    return from_query(LESSONS[key].query)[0]


def _open_lesson(key: str) -> None:
    """Everything a lesson's text talks about is shown, so the moments of every contestant are traced; its race
    starts at step 0 and its own hyperparameter is the one presentation mode offers."""
    labels = _lesson_settings(key).labels()
    st.session_state["traced"] = labels
    st.session_state.pop(TUNE, None)


def _on_optimizers_change() -> None:
    """The multiselect adds an entry per new optimizer and removes every entry of a deselected one."""
    state = st.session_state
    chosen = state[_key("chosen")]
    surface = state[_key("surface")]
    kept = [i for i in state[_key("ids")] if state[_key(i, "opt")] in chosen]
    state[_key("ids")] = kept
    present = {state[_key(i, "opt")] for i in kept}
    for name in chosen:
        if name not in present and len(state[_key("ids")]) < MAX_ENTRIES:
            entry = EntrySettings.default(name, surface)
            entry.hparams["lr"] = _suited_lr(name)
            _add_entry(entry)


def _duplicate(entry_id: int) -> None:
    if len(st.session_state[_key("ids")]) < MAX_ENTRIES:
        entry = _read_entry(entry_id)
        entry.label = f"{entry.label or OPTIMIZERS[entry.optimizer].title} variant"
        _add_entry(entry)
    st.rerun()  # the optimizers' list above the settings shows the entries too: the page reruns


def _remove(entry_id: int) -> None:
    st.session_state[_key("ids")] = [i for i in st.session_state[_key("ids")] if i != entry_id]
    st.rerun()


def _on_label_change() -> None:
    st.rerun()  # the labels name the race's choice of traced optimizers too


def _reset(entry_id: int) -> None:
    entry = EntrySettings.default(st.session_state[_key(entry_id, "opt")], st.session_state[_key("surface")])
    entry.hparams["lr"] = _suited_lr(entry.optimizer)
    entry.label = st.session_state.get(_key(entry_id, "label"), "")
    _write_entry(entry_id, entry)


def _on_data_pick() -> None:
    """The Data choice: the surface's own, a bundled table, or the uploaded file (if one is in the session; else
    the race stays where it is until a file comes)."""
    state = st.session_state
    pick = state[_key("data_pick")]
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
    data, _, _ = _read_data()
    _apply_data(data, _data_table(data), (state[_key("col_x")], state[_key("col_y")]))


def _apply_data(data: str, table: Table | None, columns: tuple[str, ...] | None = None,
                uploaded: tuple[str, bytes] | None = None) -> None:
    """Put the race on this data (table None: the surface's own) and these columns (or the first that fit): a
    full batch of its rows, its start and learning rates suited to it. If the model cannot be fitted to them, the
    race stays on its data and the reason is shown in words (naming the row and column)."""
    state = st.session_state
    name = state[_key("surface")]
    before = _read_data()
    try:
        if table is not None:
            columns = tuple(columns or default_columns(name, data, table))
            validate_surface(Settings(name, {}, (0.0, 0.0), 1, [], "", data, columns, table.digest), table)
    except ValueError as error:
        state[UPLOAD_ERROR] = f"{table.name}: {error} {_still_on()}"
        if before[1]:
            state[_key("col_x")], state[_key("col_y")] = before[1]
        if data != UPLOAD:  # a bundled table always fits; an upload's choice stays open for the next file
            state[_key("data_pick")] = before[0]
        return
    if uploaded is not None:
        state[UPLOADED] = (*uploaded, table.digest)
    state[UPLOAD_ERROR] = ""
    _write_data(data, columns or (), table.digest if data == UPLOAD else "")
    settings = _read()
    fresh = surface_for(replace(settings, surface_params={}))
    settings.surface_params["batch_size"] = fresh.params["batch_size"]  # a full batch of the new data
    settings.start = fresh.start
    for entry in settings.entries:
        entry.hparams["lr"] = _suited_lr(entry.optimizer)
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
    return f"The race stays on {_data_name(st.session_state[_key('surface')], _read_data()[0])}."


def _on_map_click() -> None:
    """A click on the map moves the start point there (three decimals: a pixel is coarser than that)."""
    point = race_click(RACE_KEY)
    if point and all(isinstance(point.get(axis), (int, float)) for axis in "xy"):
        st.session_state[_key("start_x")] = round(float(point["x"]), 3)
        st.session_state[_key("start_y")] = round(float(point["y"]), 3)
        st.rerun()  # the start boxes, outside the view, show it too


# ---------------------------------------------------------------------------------------------------------------
# For the other tabs: they work on the explorer's surface, start and optimizers, and can send settings back.

def add_to_race(optimizer: str, hparams: dict, label: str) -> None:
    """Callback: a new race entry with these hyperparameters (e.g. a sweep cell)."""
    if len(st.session_state[_key("ids")]) < MAX_ENTRIES:
        entry = EntrySettings.default(optimizer)
        entry.hparams.update(hparams)
        entry.label = label
        _add_entry(entry)
        st.rerun()  # the optimizers' list, outside the view, shows it


def apply_to_race(settings_by_optimizer: dict[str, dict]) -> None:
    """Callback: set the hyperparameters of every race entry of these optimizers (e.g. tuned learning rates)."""
    state = st.session_state  # (the view, which reruns, draws them)
    for entry_id in state[_key("ids")]:
        for name, value in settings_by_optimizer.get(state[_key(entry_id, "opt")], {}).items():
            state[_key(entry_id, "h", name)] = value


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
# Computation, cached per settings and shared by every session: the URL encoding is the cache key.

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
    return surface, race(surface, entries, start=settings.start, steps=settings.steps, compile_in_background=True)


@st.cache_resource(max_entries=RACES_KEPT, ttl=3600, show_spinner=False)
def _race_payload(key: str, traced: tuple[str, ...], _upload: Table | None = None) -> ViewerData:
    """The race viewer's data for these settings as JSON, made once and shared by every session."""
    surface, races = _race(key, _upload)
    return viewer_data(race_payload(races, surface, traces=list(traced),
                                     data_panel=figures.data_panel(races, surface)))


# ---------------------------------------------------------------------------------------------------------------
# Drawing

def _surface_sidebar() -> None:
    """The lesson and the surface: a change here reruns the whole page."""
    state = st.session_state
    st.sidebar.selectbox("Lesson", [None, *LESSONS], key="lesson", on_change=_on_lesson_change,
                         format_func=lambda key: "Free exploration" if key is None else LESSONS[key].title,
                         help="Guided lessons: each sets up a race and says what to watch")
    st.sidebar.header("Surface")
    st.sidebar.selectbox("Loss surface", [*SURFACES, CUSTOM], key=_key("surface"), on_change=_on_surface_change,
                         format_func=_surface_title,
                         label_visibility="collapsed")
    if state[_key("surface")] == CUSTOM:
        st.sidebar.text_input("f(x, y) =", key=_key("expr"), on_change=_on_expression_change, max_chars=300,
                              help="Numbers, x, y, + − * / ** and sin cos tan sinh cosh tanh exp log sqrt abs atan; "
                                   "pi and e. Press Enter to apply.")
        if state.get(_key("expr_error")):
            st.sidebar.error(plain(state[_key("expr_error")]))
    if state[_key("surface")] in DATA_KINDS:
        _data_controls()
    surface = surface_for(_read())
    spec = surface.spec
    st.sidebar.latex(r"\small " + wrapped_formula(spec.latex))  # the sidebar is narrow
    st.sidebar.caption(plain(spec.description))  # a typed formula is part of it
    if state[_key("surface")] == CUSTOM and (share := _not_finite_share(state[_key("expr_ok")])) > 0:
        st.sidebar.warning(f"f is not a finite number on {share:.0%} of the map: it overflows or is undefined "
                           "there. That region is hatched; a run that enters it stops and counts as diverged.")
    if surface.model is not None:
        with st.sidebar:
            batch_size_control(_key("sp", "batch_size"), surface.model.n)
    if spec.params and spec.name in SURFACES:
        with st.sidebar.expander("Surface parameters"):
            for param in SURFACES[spec.name].params:  # (a data surface on a table: the same, its data aside)
                if param.name == "batch_size" and surface.model is not None:
                    continue  # drawn above, with its named settings
                ensure_value(_key("sp", param.name), param.default)
                param_control(param, _key("sp", param.name))


def _data_controls() -> None:
    """A data surface's data: its own, a bundled table or the user's CSV file, and the model's two columns."""
    state = st.session_state
    surface = state[_key("surface")]
    data, columns, _ = _read_data()
    ensure_value(_key("data_pick"), data)
    st.sidebar.selectbox("Data", data_choices(surface) + [UPLOAD], key=_key("data_pick"), on_change=_on_data_pick,
                         format_func=lambda key: _data_title(surface, key),
                         help="The data the model is fitted to: its own, a table shipped with optviz, or a CSV file "
                              "of yours (it stays in this session on the server: never written to disk, never in "
                              "the link)")
    picked = state[_key("data_pick")]
    if picked == UPLOAD:
        st.sidebar.file_uploader(
            "Your CSV file", type="csv", key=UPLOADER, on_change=_on_upload, max_upload_size=MAX_BYTES // 2**20,
            help=f"A header row naming the columns, then rows of numbers; at most {MAX_BYTES // 2**20} MB and "
                 f"{MAX_ROWS:,} rows. It stays in this session on the server: never written to disk, never in the "
                 "link.")
    table = _data_table(data) if picked == data else None
    if table is not None:  # the model's two columns (a widget forgets its value while not drawn: seeded again)
        logistic = DATA_KINDS[surface] == "logistic"
        ensure_value(_key("col_x"), columns[0])
        ensure_value(_key("col_y"), columns[1])
        left, right = st.sidebar.columns(2)
        left.selectbox("x", table.names, key=_key("col_x"), on_change=_on_columns_change,
                       help="The model's input: a column of numbers")
        right.selectbox("label" if logistic else "y", table.names, key=_key("col_y"), on_change=_on_columns_change,
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
    surface = surface_for(_read())
    _start_controls(surface)
    bounded_number("Steps", _key("steps"), 1, MAX_STEPS, kind="int", step=50, container=st.sidebar)
    if surface.model is not None:
        st.sidebar.caption(_epochs_text(surface, int(state[_key("steps")])))

    st.sidebar.header("Optimizers")
    ids = state[_key("ids")]
    state[_key("chosen")] = list(dict.fromkeys(state[_key(i, "opt")] for i in ids))
    st.sidebar.multiselect("Optimizers", list(OPTIMIZERS), key=_key("chosen"), on_change=_on_optimizers_change,
                           format_func=lambda name: OPTIMIZERS[name].title, label_visibility="collapsed",
                           max_selections=MAX_ENTRIES)


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
        bounded_number(f"start {name}", _key(f"start_{axis}"), -bound, bound, step=0.1, format="%.4g",
                       container=column, notes=notes)
    window = f"{x_name} ∈ [{x0:g}, {x1:g}], {y_name} ∈ [{y0:g}, {y1:g}]"
    x, y = float(state[_key("start_x")]), float(state[_key("start_y")])
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
    spec = OPTIMIZERS[state[_key(entry_id, "opt")]]
    # A closed entry draws no widgets (a page redraws every widget on every run, ~3 ms each in the browser): six
    # optimizers would otherwise put ~90 of them in the sidebar. Opening one reruns the settings.
    box = st.sidebar.expander(label, key=open_key(entry_id), on_change="rerun")
    if not box.open:
        _keep_values(entry_id)
        return
    with box:
        reference = _suited_lr(spec.name)
        for param in spec.params:
            ensure_value(_key(entry_id, "h", param.name), param.default)
        for param in filter(_in_formula, spec.params):
            param_control(param, _key(entry_id, "h", param.name), reference if param.name == "lr" else None)
        ensure_value(_key(entry_id, "more"), _customised(_read_entry(entry_id), spec))
        if st.toggle("More settings", key=_key(entry_id, "more"),
                     help="Label, " + ("batch size, " if surface.model is not None else "") + "weight decay, switches "
                          "(such as bias correction), learning-rate schedule; Defaults, Variant and Remove"):
            _more_controls(entry_id, spec, surface)
        else:  # the values behind the closed section stay as they are (the widgets above are drawn already)
            _keep_values(entry_id, drawn=[_key(entry_id, "more")] + [_key(entry_id, "h", p.name)
                                                                     for p in spec.params if _in_formula(p)])


def _suited_lr(optimizer: str) -> float:
    """The learning rate suited to this optimizer on the chosen surface and data: where its slider is centred."""
    state = st.session_state
    name = state[_key("surface")]
    data, columns, upload = _read_data()
    if data and name in DATA_KINDS:
        surface = surface_for(Settings(name, {}, (0.0, 0.0), 1, [], "", data, columns, upload))
        return _data_lr(name, data, columns, upload, optimizer, surface, _data_table(data))
    return default_lr(name, optimizer, state[_key("expr_ok")] if name == CUSTOM else "")


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


BUTTONS = ("reset", "dup", "remove")  # each entry's buttons, by the last part of their keys


def _in_formula(param) -> bool:
    """A constant of the update rule (α, β₁, ρ, ε, …), always shown; weight decay, switches and choices wait under
    "More settings" (fewer widgets to redraw on every change, and a shorter sidebar)."""
    return param.kind == "float" and param.name != "weight_decay"


def _customised(entry: EntrySettings, spec) -> bool:
    """Whether anything under "More settings" differs from its default: then the section starts open."""
    return bool(entry.label or entry.schedule != "constant" or entry.surface_params
                or any(entry.hparams[p.name] != p.default for p in spec.params if not _in_formula(p)))


def _more_controls(entry_id: int, spec, surface) -> None:
    state = st.session_state
    st.text_input("Label", key=_key(entry_id, "label"), max_chars=40, placeholder=spec.title,
                  on_change=_on_label_change)
    if surface.model is not None:
        ensure_value(_key(entry_id, "sp", "batch_size"), None)
        batch_size_control(_key(entry_id, "sp", "batch_size"), surface.model.n, inherit=surface.params["batch_size"])
    for param in spec.params:
        if not _in_formula(param):
            param_control(param, _key(entry_id, "h", param.name))
    st.selectbox("Learning-rate schedule", list(SCHEDULES), key=_key(entry_id, "sched"),
                 format_func=lambda name: SCHEDULES[name].title)
    for param in SCHEDULES[state[_key(entry_id, "sched")]].params + WARMUP_PARAMS:
        ensure_value(_key(entry_id, "s", param.name), param.default)
        param_control(param, _key(entry_id, "s", param.name))
    # a row that wraps: three equal columns cut the labels to "De…", "Va…", "Re…" in a narrow sidebar
    with st.container(horizontal=True, gap="small"):
        st.button("Defaults", key=_key(entry_id, "reset"), on_click=_reset, args=(entry_id,), width="content",
                  help="Reset every hyperparameter to its default (learning rate suited to this surface)")
        st.button("Variant", key=_key(entry_id, "dup"), on_click=_duplicate, args=(entry_id,), width="content",
                  help="Add a copy of this optimizer to compare another setting side by side")
        st.button("Remove", key=_key(entry_id, "remove"), on_click=_remove, args=(entry_id,), width="content",
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
    prefix = _key(entry_id, "")
    skip = [*drawn, *(_key(entry_id, button) for button in BUTTONS)]  # a button's state is not a setting
    for key in [key for key in state if isinstance(key, str) and key.startswith(prefix)]:
        if not any(key == widget or key.startswith(widget + ".") for widget in skip):
            state[key] = state[key]


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
    t = st.slider("Inspect step t", 1, steps, value=min(steps, 10), key=_key("inspect"))
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
    return canonical(_lesson_settings(key))


@st.cache_resource(max_entries=1, show_spinner=False)
def _welcome_settings() -> str:
    return canonical(from_query(WELCOME.query)[0])


@st.cache_resource(max_entries=1, show_spinner=False)
def _counterexample_figure():
    runs = {spec.title: reddi_run(spec.name) for spec in (OPTIMIZERS["adam"], OPTIMIZERS["amsgrad"])}
    return figures.counterexample_figure(runs)


VIEW_OPTIONS = ("present", "map_only", "traced")  # how the race is shown: race_options()' widgets


def sidebar() -> None:
    """The top of the sidebar every tab works from (lesson, surface); workspace() draws the rest.

    The first run of a session reads the link; what it could not use is reported once, above the tabs.
    """
    state = st.session_state
    for key in VIEW_OPTIONS:  # drawn on the race tab alone: kept while another tab shows (Streamlit would drop them)
        if key in state:
            state[key] = state[key]
    if _key("surface") not in state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        warnings: list[str] = []
        lesson = lesson_from_query(query, LESSONS, warnings)
        # a bare address opens the welcome race, whose lesson shows at a glance; `lesson=` alone, that lesson
        linked = query if set(query) - {"tab", "lesson"} else LESSONS[lesson].query if lesson else WELCOME.query
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


def workspace(render: Callable[[Settings], None] | None = None, above: Callable[[], None] | None = None) -> None:
    """The rest of the sidebar (start, steps, optimizers) and the open tab drawn from its settings (`render`;
    None draws the settings alone, so they keep their values while another tab shows).

    A change of the start, the steps or the choice of optimizers reruns the page; a change of an optimizer's
    setting reruns only the view, a fragment that draws those settings and the open tab. (Not a fragment inside
    a fragment: an outer fragment's rerun left the inner one's sidebar elements behind, a removed optimizer's
    panel among them.)
    """
    _race_sidebar()
    if above is not None:  # the open tab's own controls, kept out of the view
        above()
    _view(render)
    if _read_data()[0] == UPLOAD:
        st.sidebar.caption("The address bar holds every setting, but your uploaded data is not in the link: the file "
                           "stays in this session on the server. Shared, the link opens on the surface's own data.")
    else:
        st.sidebar.caption("The address bar holds every setting: copy it to share this exact race.")


@st.fragment(key=VIEW)
def _view(draw: Callable[[Settings], None] | None) -> None:
    """Each optimizer's settings (in the sidebar) and the open tab drawn from all settings, kept in the URL.

    A fragment of its own, so that a learning-rate change (or any optimizer's setting) reruns what it changes
    and not the start and steps boxes above it: the browser redraws every element a run sends (~2 ms each).
    """
    before = _read()  # read again below: drawing an entry's controls fills in values it lacked
    surface = surface_for(before)
    in_page = draw is render and _presenting()  # the sidebar is hidden: render() draws a racer's controls
    for entry_id, label in zip(st.session_state[_key("ids")], before.labels()):
        if in_page:
            _keep_values(entry_id)
        else:
            _entry_controls(entry_id, label, surface)
    settings = _read()
    query = settings.to_query()
    if st.session_state.get("lesson"):
        query["lesson"] = st.session_state["lesson"]
    _keep_in_url(query)
    if draw is not None:
        draw(settings)


def _keep_in_url(query: dict) -> None:
    """The address bar holds the settings; the open tab's parameter belongs to the tabs (bound to them)."""
    params = st.query_params
    for key in [key for key in params if key not in query and key != "tab"]:
        del params[key]
    params.update(query)


def hide_sidebar() -> None:
    """Hide the race settings, for a tab they do not apply to."""
    st.html(HIDE_SIDEBAR_CSS)


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
        traced = [label for label in st.session_state["traced"] or [] if label in labels]
        shown = "all" if len(traced) == len(labels) > 1 else ", ".join(traced) if len(traced) <= 2 else \
            f"{len(traced)} of {len(labels)}"
        # one line however many racers (pills in a row pushed the race down), and inside it pills that wrap: a
        # multiselect's chips were cut at the box's edge ("dam", "(1)")
        box = options.popover(f"Moments traced: {shown or 'none'}", disabled=map_only, key="traced_box",
                              help="Whose moment estimates are traced beside the map")
        box.pills("Trace moments of", labels, selection_mode="multi", key="traced")


def _traced_choices() -> list[str]:
    """The race's labels, and the choice of traced ones kept across changes of the race: a new racer is traced,
    one that left is dropped, the others keep the user's choice."""
    state, labels = st.session_state, _read().labels()
    before = state.get(TRACED_OF)
    if "traced" not in state or before is None:
        state["traced"] = labels
    elif before != labels:
        state["traced"] = [label for label in labels if label in (state["traced"] or []) or label not in before]
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

    traced = labels if presenting else [label for label in state.get("traced") or [] if label in labels]
    race_box = st.container()
    if presenting:  # the racer's controls beside the race, not above it: the height is the map's
        race_box, controls = st.columns([4, 1], gap="medium")
        with controls:
            _presentation_controls(labels)
    with race_box:
        race_viewer(_race_payload(canonical(settings), tuple(traced), upload), key=RACE_KEY, on_start=_on_map_click,
                    presenting=presenting, rows=not map_only, scene=_scene(settings))
    lesson = LESSONS.get(state.get("lesson") or "")
    if lesson is not None and lesson.chart == "counterexample":  # below the race: the race comes first
        st.plotly_chart(_counterexample_figure(), key="lesson_chart", theme=None)

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
                       [entry.optimizer for entry in settings.entries]])


def _presenting() -> bool:
    return bool(st.session_state.get("present", False))


TUNE = "tune"  # the race entry whose settings presentation mode shows beside the race


def _presentation_controls(labels: list[str]) -> None:
    """On a projector the sidebar is hidden: the learning rate and the lesson's own hyperparameter of one racer
    (the lesson's, unless the teacher picks another) stand beside the race."""
    state = st.session_state
    ids = state[_key("ids")]
    lesson = LESSONS.get(state.get("lesson") or "")
    knob = lesson.knob if lesson is not None else None
    if state.get(TUNE) not in ids:
        state[TUNE] = _tuned_entry(ids, labels, lesson)
    names = dict(zip(ids, labels))
    entry_id = state[TUNE]
    spec = OPTIMIZERS[state[_key(entry_id, "opt")]]
    params = [p for p in spec.params if p.name == "lr"] + [p for p in spec.params if p.name == knob]
    st.selectbox("Tune", ids, key=TUNE, format_func=names.get, help="Whose settings these controls change")
    for param in params:
        key = _key(entry_id, "h", param.name)
        ensure_value(key, param.default)
        param_control(param, key, _suited_lr(spec.name) if param.name == "lr" else None)


def _tuned_entry(ids: list[int], labels: list[str], lesson) -> int:
    """The entry a lesson is about (its focus), else the first that has the lesson's hyperparameter."""
    state = st.session_state
    knob = lesson.knob if lesson is not None else None
    having = [i for i in ids if knob is None or any(p.name == knob for p in OPTIMIZERS[state[_key(i, "opt")]].params)]
    focus = ids[labels.index(lesson.focus)] if lesson is not None and lesson.focus in labels else None
    return focus if focus in having else (having or ids)[0]


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

