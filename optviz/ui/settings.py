"""Explorer settings and their round trip through the URL. Plain Python: no Streamlit here.

A link such as

    ?surface=rosenbrock&sp=a:1,b:100&start=-1.5,2&steps=500
    &opt=adam;lr=0.05;beta1=0.9;label=Adam fast&opt=sgd;lr=0.002;s=step;s.step_size=100

reproduces a race exactly: every number is written in its shortest exact form. Reading is forgiving: whatever
is unknown, malformed or out of range falls back to its default and is reported in a warning, never raised.

On a data surface a bundled table is in the link by its short key and columns (`data=study&cols=hours,passed`);
an uploaded file is not: the link says `data=upload` and nothing more (the file stays in its session on the
server), and opening it falls back to the surface's own data with a warning. cache_key() is the full identity,
the upload's SHA-256 and columns included, for the server's caches only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..custom import custom_surface
from ..datasets import BUNDLED, Table, bundled_table, suggest_columns
from ..engine import ALIGNMENTS, Entry
from ..optimizers import SPECS as OPTIMIZERS
from ..params import LR, Param
from ..scenarios import DEFAULT_OPTIMIZERS
from ..schedules import SCHEDULES, WARMUP_PARAMS, Schedule, schedule
from ..surfaces import MODELS, SurfaceSpec, data_surface
from ..surfaces import SPECS as SURFACES
from ..surfaces import surface as make_surface
from ..tuning import default_lr

MAX_ENTRIES = 12
MAX_STEPS = 5000
MAX_LABEL = 40
MAX_QUERY_VALUE = 2000  # characters in one query value; longer ones are ignored
SCHEDULE = "s"  # an entry's learning-rate schedule in a link (s=step), and its parameters (s.step_size=100)
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_STEPS = 500
CUSTOM = "custom"  # the surface a user types as f(x, y)
DEFAULT_EXPRESSION = "(x**2 - 1)**2 + (y - x)**2 / 2"
UPLOAD = "upload"  # the data of a data surface: a file the user uploaded
DATA_KINDS = {surface: kind for kind, surface in MODELS.items()}  # a data surface -> the model its tables fit


@dataclass
class EntrySettings:
    """One contestant: an optimizer, its hyperparameters (all of them), its schedule and its legend label."""

    optimizer: str
    hparams: dict[str, Any]
    schedule: str = "constant"
    schedule_params: dict[str, Any] = field(default_factory=dict)  # includes warmup and warmup_start_factor
    label: str = ""
    surface_params: dict[str, Any] = field(default_factory=dict)  # its own batch size on a data surface

    @classmethod
    def default(cls, optimizer: str, surface: str | None = None, expression: str = "") -> EntrySettings:
        """torch's defaults (a wrapper's and its inner optimizer's), but with a learning rate suited to `surface`
        when one is given."""
        hparams = {p.name: p.default for p in OPTIMIZERS[optimizer].settable()}
        if surface is not None:
            hparams[LR] = default_lr(surface, optimizer, expression)
        return cls(optimizer, hparams)

    def build_schedule(self) -> Schedule:
        return schedule(self.schedule, **self.schedule_params)

    def to_entry(self, label: str) -> Entry:
        return Entry(self.optimizer, dict(self.hparams), self.build_schedule(), label, dict(self.surface_params))

    def encode(self) -> str:
        parts = [self.optimizer] + [f"{k}={_fmt(v)}" for k, v in self.hparams.items()]
        if self.schedule != "constant" or self.schedule_params:
            parts.append(f"{SCHEDULE}={self.schedule}")
            parts += [f"{SCHEDULE}.{k}={_fmt(v)}" for k, v in self.schedule_params.items()]
        parts += [f"sp.{k}={_fmt(v)}" for k, v in self.surface_params.items()]
        if self.label:
            parts.append(f"label={_clean_label(self.label)}")
        return ";".join(parts)


@dataclass
class Settings:
    surface: str
    surface_params: dict[str, Any]
    start: tuple[float, float]
    steps: int
    entries: list[EntrySettings]
    expression: str = ""  # f(x, y) of a custom surface
    data: str = ""  # a data surface's data: "" its own (Iris), a bundled table's key (BUNDLED), or UPLOAD
    columns: tuple[str, ...] = ()  # the table's x and y (label) columns
    upload: str = ""  # the uploaded file's SHA-256: in cache keys, never in a link
    align: str = ALIGNMENTS[0]  # what `steps` counts: every racer's steps, or its gradient evaluations

    @classmethod
    def default(cls, surface: str = DEFAULT_SURFACE, expression: str = "") -> Settings:
        """The default race on `surface` (for CUSTOM, on f(x, y) = expression; ValueError if it is not valid)."""
        if surface == CUSTOM:
            params, start = {}, custom_surface(expression).start
        else:
            spec = SURFACES[surface]
            params, start, expression = {p.name: p.default for p in spec.params}, spec.start, ""
        return cls(surface, params, start, DEFAULT_STEPS,
                   [EntrySettings.default(name, surface, expression) for name in DEFAULT_OPTIMIZERS], expression)

    def labels(self) -> list[str]:
        """Legend labels, unique: an entry without a label is named after its optimizer, numbered if repeated."""
        out: list[str] = []
        for entry in self.entries:
            base = entry.label or OPTIMIZERS[entry.optimizer].title
            label, n = base, 1
            while label in out:
                n += 1
                label = f"{base} ({n})"
            out.append(label)
        return out

    def to_query(self) -> dict[str, str | list[str]]:
        query: dict[str, str | list[str]] = {
            "surface": self.surface,
            "start": f"{_fmt(self.start[0])},{_fmt(self.start[1])}",
            "steps": str(self.steps),
            "opt": [entry.encode() for entry in self.entries],
        }
        if self.surface_params:
            query["sp"] = ",".join(f"{k}:{_fmt(v)}" for k, v in self.surface_params.items())
        if self.surface == CUSTOM:
            query["f"] = self.expression
        if self.data:
            query["data"] = self.data
        if self.data in BUNDLED and tuple(self.columns) != _bundled_columns(self.surface, self.data):
            query["cols"] = ",".join(self.columns)
        if self.align != ALIGNMENTS[0]:
            query["align"] = self.align
        return query

    def cache_key(self) -> dict:
        """The link's parameters and the uploaded file's identity (its SHA-256 and columns): what everything
        computed from these settings depends on, for the server's caches (never a link)."""
        query = self.to_query()
        if self.data == UPLOAD:
            query.update(cols=",".join(self.columns), upload=self.upload)
        return query


def from_query(query: Mapping[str, Any], upload: Table | None = None) -> tuple[Settings, list[str]]:
    """Settings from URL query parameters (values: str or list of str) and a warning for each value ignored.

    `upload`: the session's uploaded table, which a cache key (Settings.cache_key) may name by its SHA-256; a link
    never does, so without it `data=upload` falls back to the surface's own data."""
    warnings: list[str] = []
    settings = Settings.default()
    name = _last(query, "surface")
    if name == CUSTOM:
        expression = _last(query, "f") or ""
        try:
            settings = Settings.default(CUSTOM, expression[:MAX_QUERY_VALUE])
        except ValueError as error:
            reason = str(error) if str(error).endswith((".", "?", "!")) else f"{error}."
            warnings.append(f"Custom surface {_show(expression)}: {reason} Using {SURFACES[DEFAULT_SURFACE].title}.")
    elif name is not None:
        if name in SURFACES:
            settings = Settings.default(name)
        else:
            warnings.append(f"Unknown surface {_show(name)}: using {SURFACES[DEFAULT_SURFACE].title}.")
    if (data := _last(query, "data")) is not None:
        _parse_data(data, _last(query, "cols"), _last(query, "upload"), upload, settings, warnings)
    spec = surface_spec(settings, upload)
    if spec is not None:
        settings.surface_params = {p.name: p.default for p in _settable(spec)}
    if spec is not None and (raw := _last(query, "sp")) is not None:
        settings.surface_params = _parse_params(raw, ",", ":", _settable(spec), settings.surface_params,
                                                f"surface {spec.title}", warnings)
    if (raw := _last(query, "start")) is not None:
        settings.start = _parse_start(raw, settings.start, start_bound(settings, upload), warnings)
    if (raw := _last(query, "steps")) is not None:
        settings.steps = _parse_steps(raw, warnings)
    if (raw := _last(query, "align")) is not None:
        if raw in ALIGNMENTS:
            settings.align = raw
        else:
            warnings.append(f"Unknown alignment {_show(raw)}: the race counts {ALIGNMENTS[0]} (or "
                            f"{', '.join(ALIGNMENTS[1:])}).")
    if "opt" in query:
        values = _all(query, "opt")
        if len(values) > MAX_ENTRIES:
            warnings.append(f"Only the first {MAX_ENTRIES} optimizers of the link are used.")
        entries = [_parse_entry(v, settings, spec, warnings) for v in values[:MAX_ENTRIES]]
        entries = [e for e in entries if e is not None]
        if entries:
            settings.entries = entries
        else:
            warnings.append("The link names no valid optimizer: showing the default race.")
    known = {"surface", "sp", "start", "steps", "align", "opt", "f", "tab", "lesson", "data",
             "cols"}  # tab: Streamlit's
    if upload is not None:
        known.add("upload")
    for key in sorted(set(query) - known):
        warnings.append(f"Ignored unknown link parameter {_show(key)}.")
    return settings, warnings


def _parse_entry(raw: str, settings: Settings, surface: SurfaceSpec | None, warnings: list[str]
                 ) -> EntrySettings | None:
    if len(raw) > MAX_QUERY_VALUE:
        warnings.append("Ignored an optimizer entry that is too long.")
        return None
    name, _, rest = raw.partition(";")
    name = name.strip()
    if name not in OPTIMIZERS:
        warnings.append(f"Unknown optimizer {_show(name)} ignored.")
        return None
    spec = OPTIMIZERS[name]
    hparams, sched_params, surface_params, label, sched = {}, {}, {}, "", "constant"
    for part in filter(None, rest.split(";")):
        key, _, value = part.partition("=")
        key = key.strip()
        if key == "label":
            label = _clean_label(value)
        elif key == SCHEDULE:
            if value in SCHEDULES:
                sched = value
            else:
                warnings.append(f"{spec.title}: unknown schedule {_show(value)}; using a constant learning rate.")
        elif key.startswith(SCHEDULE + "."):
            sched_params[key[len(SCHEDULE) + 1:]] = value
        elif key.startswith("sp."):
            surface_params[key[3:]] = value
        else:
            hparams[key] = value
    entry = EntrySettings.default(name, settings.surface, settings.expression)
    own = {p.name for p in spec.params}  # first: a wrapper's choice of inner optimizer says which others it takes
    entry.hparams = _parse_params_dict({k: v for k, v in hparams.items() if k in own}, spec.params, entry.hparams,
                                       spec.title, warnings)
    settable = spec.settable(entry.hparams)
    defaults = {p.name: entry.hparams.get(p.name, p.default) for p in settable}
    entry.hparams = _parse_params_dict({k: v for k, v in hparams.items() if k not in own}, settable[len(own):],
                                       defaults, spec.title, warnings)
    entry.label = label
    sched_specs = SCHEDULES[sched].params + WARMUP_PARAMS
    defaults = {p.name: p.default for p in sched_specs}
    parsed = _parse_params_dict(sched_params, sched_specs, defaults, f"{spec.title} schedule", warnings)
    entry.schedule = sched
    entry.schedule_params = {k: v for k, v in parsed.items() if k in sched_params}
    try:
        entry.build_schedule()
    except ValueError as error:
        warnings.append(f"{spec.title}: {error}; using a constant learning rate.")
        entry.schedule, entry.schedule_params = "constant", {}
    entry.surface_params = _parse_entry_surface_params(surface_params, settings, surface, spec.title, warnings)
    return entry


def _parse_entry_surface_params(given: dict[str, str], settings: Settings, surface: SurfaceSpec | None, owner: str,
                                warnings: list[str]) -> dict:
    """An entry's own sampling parameters (a data surface's batch_size), those its surface lets an entry set."""
    allowed = tuple(p for p in surface.params if p.name in surface.per_entry) if surface else ()
    for key in sorted(set(given) - {p.name for p in allowed}):
        warnings.append(f"{owner}: a race entry cannot set the surface parameter {_show(key)} here; ignored.")
        del given[key]
    parsed = _parse_params_dict(given, allowed, settings.surface_params, owner, warnings)
    return {k: parsed[k] for k in given}


def _parse_params(raw: str, sep: str, kv: str, specs, defaults, owner: str, warnings: list[str]) -> dict:
    if len(raw) > MAX_QUERY_VALUE:
        warnings.append(f"Ignored {owner} parameters: too long.")
        return dict(defaults)
    given = {}
    for part in filter(None, raw.split(sep)):
        key, _, value = part.partition(kv)
        given[key.strip()] = value
    return _parse_params_dict(given, specs, defaults, owner, warnings)


def _parse_params_dict(given: dict[str, str], specs: tuple[Param, ...], defaults: dict, owner: str,
                       warnings: list[str]) -> dict:
    """Each given value parsed and validated against its spec; anything wrong keeps the default, with a warning."""
    by_name = {p.name: p for p in specs}
    out = dict(defaults)
    for key, text in given.items():
        param = by_name.get(key)
        if param is None:
            warnings.append(f"{owner}: unknown parameter {_show(key)} ignored.")
            continue
        try:
            out[key] = param.validate(_parse_value(text, param))
        except ValueError as error:
            warnings.append(f"{owner}: {error}; using {_fmt(defaults.get(key, param.default))}.")
    return out


def _parse_value(text: str, param: Param):
    text = text.strip()
    if param.kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{param.name} must be true or false, got {_show(text)}")
    if param.kind == "choice":
        if text in param.choices:
            return text
        raise ValueError(f"{param.name} must be one of {', '.join(param.choices)}, got {_show(text)}")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{param.name} must be a number, got {_show(text)}") from None


def lesson_from_query(query: Mapping[str, Any], lessons: Mapping[str, Any], warnings: list[str]) -> str | None:
    """The lesson a link names (`lesson=key`), if it names a known one; an unknown key is reported."""
    key = _last(query, "lesson")
    if key is None or key in lessons:
        return key
    warnings.append(f"Unknown lesson {_show(key)}: showing the link's race as free exploration.")
    return None


def start_bound(settings: Settings, upload: Table | None = None) -> float:
    """How far from the origin a start may be: the surface's divergence bound, the same for a typed start and a
    linked one (a start beyond it would count as diverged before the first step)."""
    try:
        return validate_surface(settings, upload).bound
    except ValueError:
        return validate_surface(Settings.default()).bound


def _parse_start(raw: str, default: tuple[float, float], bound: float, warnings: list[str]) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in raw.split(","))
    except ValueError:
        warnings.append(f"Start point {_show(raw)} is not two finite numbers: using the surface's default start.")
        return default
    if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > bound:
        warnings.append(f"Start point {_show(raw)} must be two numbers from {-bound:g} to {bound:g}: using the "
                        "surface's default start.")
        return default
    return x, y


def _parse_steps(raw: str, warnings: list[str]) -> int:
    try:
        steps = int(raw)
        if not 1 <= steps <= MAX_STEPS:
            raise ValueError
        return steps
    except ValueError:
        warnings.append(f"Steps must be a whole number from 1 to {MAX_STEPS}, got {_show(raw)}: using "
                        f"{DEFAULT_STEPS}.")
        return DEFAULT_STEPS


def _last(query: Mapping[str, Any], key: str) -> str | None:
    values = _all(query, key)
    return values[-1] if values else None


def _all(query: Mapping[str, Any], key: str) -> list[str]:
    value = query.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _fmt(value) -> str:
    """Shortest text that reads back to exactly the same number."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, str)):
        return str(value)
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _clean_label(text: str) -> str:
    """Labels travel inside ';'-separated URL values: drop separators and control characters, bound the length."""
    return "".join(ch for ch in text if ch.isprintable() and ch not in ";&#").strip()[:MAX_LABEL]


def _show(text: str, limit: int = 40) -> str:
    """Quote user text for a message, shortened and stripped of anything unprintable."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return repr(clean if len(clean) <= limit else clean[:limit] + "…")


def validate_surface(settings: Settings, upload: Table | None = None):
    """The bound surface of these settings (raises ValueError with a readable message). `upload`: the session's
    uploaded table, for settings on uploaded data."""
    if settings.surface == CUSTOM:
        return custom_surface(settings.expression)
    if settings.data and settings.surface in DATA_KINDS:
        return data_surface(DATA_KINDS[settings.surface], data_table(settings, upload), *settings.columns,
                            **settings.surface_params)
    return make_surface(settings.surface, **settings.surface_params)


def data_table(settings: Settings, upload: Table | None = None) -> Table:
    """The table of settings on a bundled table or an upload (ValueError if the upload is not this session's)."""
    if settings.data == UPLOAD:
        if upload is None or upload.digest != settings.upload:
            raise ValueError("The uploaded file is no longer in this session: upload it again.")
        return upload
    return bundled_table(settings.data)


def data_choices(surface: str) -> list[str]:
    """The data a data surface offers besides an upload: "" (its own, Iris) and the bundled tables that fit its
    model."""
    kind = DATA_KINDS.get(surface)
    return [""] + [key for key, bundled in BUNDLED.items() if kind and getattr(bundled, kind)] if kind else []


def _bundled_columns(surface: str, key: str) -> tuple[str, str] | None:
    kind = DATA_KINDS.get(surface)
    return getattr(BUNDLED[key], kind) if kind and key in BUNDLED else None


def default_columns(surface: str, data: str, table: Table) -> tuple[str, str]:
    """The columns a model on this table starts from: a bundled table's own, else the first that fit (ValueError
    saying why none do)."""
    return _bundled_columns(surface, data) or suggest_columns(table, DATA_KINDS[surface])


def surface_spec(settings: Settings, upload: Table | None = None) -> SurfaceSpec | None:
    """The spec of the settings' surface, whose parameters a link may set: a built-in's, a data surface's on its
    table (its batch size ranges over that table's rows), None for a typed f(x, y)."""
    if settings.surface == CUSTOM:
        return None
    if settings.data:
        return validate_surface(replace(settings, surface_params={}), upload).spec
    return SURFACES.get(settings.surface)


def _settable(spec: SurfaceSpec) -> tuple[Param, ...]:
    """A surface's parameters that settings hold (not the identity of a data surface's table)."""
    return tuple(p for p in spec.params if p.name != "data")


def _parse_data(data: str, cols: str | None, digest: str | None, upload: Table | None, settings: Settings,
                warnings: list[str]) -> None:
    """The link's data (a bundled table's key, or an upload named by a cache key) and columns, into settings."""
    title = SURFACES[settings.surface].title if settings.surface in SURFACES else "this surface"
    if settings.surface not in DATA_KINDS:
        warnings.append(f"Ignored data {_show(data)}: {title} is not defined by data.")
        return
    if data not in data_choices(settings.surface) + [UPLOAD]:
        known = ", ".join(repr(k) for k in data_choices(settings.surface)[1:])
        warnings.append(f"Unknown data {_show(data)} for {title}" + (f" (it offers {known})" if known else "")
                        + ": using its own data.")
        return
    if data == UPLOAD and (upload is None or digest != upload.digest):
        warnings.append("This link's race was on a file uploaded to the server. Uploaded files are never put in "
                        f"a link: showing {title} instead. Upload the file again to see it.")
        return
    if not data:
        return
    table = upload if data == UPLOAD else bundled_table(data)
    columns = tuple(cols.split(",")) if cols else default_columns(settings.surface, data, table)
    try:
        surface = data_surface(DATA_KINDS[settings.surface], table, *columns)
    except (ValueError, TypeError) as error:  # TypeError: not two columns
        warnings.append(f"Columns {_show(cols or '')} of {table.name}: {error} Using its first columns.")
        columns = default_columns(settings.surface, data, table)
        surface = data_surface(DATA_KINDS[settings.surface], table, *columns)
    settings.data, settings.columns, settings.start = data, tuple(columns), surface.start
    settings.upload = upload.digest if data == UPLOAD else ""
