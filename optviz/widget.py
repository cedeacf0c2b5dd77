"""The race viewer in a notebook (JupyterLab 4, Notebook 7, anywhere anywidget runs): the app's own viewer, with
its drawing, Play, scrubbing and moment rows, as a widget whose settings are Python attributes.

    w = optviz.widget("rosenbrock", ["sgd", "momentum", "adam"], steps=300)
    w                                   # a cell's last line: the race, drawn
    w.lr = 0.01                         # every racer's α, except those that set their own: run again and redrawn
    w.hparams = {"adam": {"lr": 0.05, "beta1": 0.5}}
    w.update(surface="himmelblau", steps=500)      # several settings, one race
    w.races["adam"].trace["m"]          # what is drawn, as numbers (optviz.engine.race's trajectories)

Python runs the race (optviz.engine.race) and computes everything drawn (optviz.figures.race_payload); the browser
only draws it: anywidget.js hands the JSON to viewer.js, the app's drawing code. So a view keeps playing with the
kernel gone, and the notebook's HTML export (nbconvert) shows the race in optviz's standalone page
(optviz.figures.export.race_html), which plays offline. The settings are synced traits: the view can set them too
(a start dragged on the map, say), and Python validates and runs the race again.

Needs anywidget: pip install 'optviz[notebook]'. `import optviz` does not import it; `optviz.widget` does.
"""

from __future__ import annotations

import html
import math
import sys
import types
from contextlib import contextmanager

try:
    import anywidget
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("optviz.widget needs anywidget: pip install 'optviz[notebook]'") from error
import traitlets

from .engine import race
from .figures.data_panel import data_panel
from .figures.embed import script_json
from .figures.export import race_html
from .figures.race_payload import race_payload
from .figures.viewer_source import viewer_css, viewer_module
from .optimizers import SPECS as OPTIMIZERS
from .optimizers import optimizer as make_optimizer
from .params import LR
from .scenarios import NOTEBOOK_RACE
from .surfaces import SPECS as SURFACES
from .surfaces import surface as make_surface
from .tuning import default_lr
from .ui.settings import MAX_STEPS

HEIGHTS = (240, 2000)  # px of the drawing: the viewer's controls and legend come on top
FALLBACK_CHROME = 90  # px above the drawing in the exported page (title, legend, controls, margins)


class SettingError(traitlets.TraitError, ValueError):
    """A setting the widget cannot race: says which and why, in words. A TraitError (what traitlets raises) and a
    ValueError (what optviz raises for a bad setting elsewhere)."""


class RaceWidget(anywidget.AnyWidget):
    """A race drawn by the app's viewer. Each setting is a trait: assigning one runs the race again and redraws it.

    surface: a name from optviz.SURFACES.
    optimizers: names from optviz.OPTIMIZERS, drawn in this order (the last on top), each once.
    hparams: {optimizer: {hyperparameter: value}} on top of each one's defaults (torch's names: lr, beta1, ...).
    lr: every racer's learning rate α, except one whose hparams give its own; None (the default): each optimizer's
        suggested rate on this surface (optviz.tuning.default_lr, the app's default too).
    steps: 1 to the app's MAX_STEPS.  start: (x, y), or None for the surface's own start.
    traced: the optimizers whose state (moments, steps) is drawn in rows beside the map; None: all; []: none.
    height: px of the drawing.
    """

    _esm = viewer_module("anywidget.js")
    _css = viewer_css()

    surface = traitlets.Unicode("rosenbrock").tag(sync=True)
    optimizers = traitlets.List(traitlets.Unicode(), default_value=list(NOTEBOOK_RACE)).tag(sync=True)
    hparams = traitlets.Dict().tag(sync=True)
    lr = traitlets.Float(None, allow_none=True).tag(sync=True)
    steps = traitlets.Int(300).tag(sync=True)
    start = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=None, allow_none=True).tag(sync=True)
    traced = traitlets.List(traitlets.Unicode(), default_value=None, allow_none=True).tag(sync=True)
    height = traitlets.Int(460).tag(sync=True)

    # What the view draws, as JSON bytes: the map (picture and hover grid, sent again only with a new surface) and
    # {"payload": the race without its map, "options": the viewer's}. Written by Python alone.
    _map = traitlets.Bytes(b"").tag(sync=True)
    _race = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, **settings):
        self._holding = 0
        self.races: dict = {}  # label -> optviz.engine.Trajectory: the race drawn
        self.refused = ""  # why the last value released in the view was not kept, in words ("" if it was)
        super().__init__(**settings)  # the first race is run by open(), so that the view's first state has it
        self.on_msg(self._from_view)

    # --- validation: a setting is refused before it is kept ---------------------------------------------------

    @traitlets.validate("surface")
    def _valid_surface(self, proposal):
        name = proposal["value"]
        if name not in SURFACES:
            raise SettingError(f"surface must be one of {', '.join(SURFACES)}; got {name!r}")
        return name

    @traitlets.validate("optimizers")
    def _valid_optimizers(self, proposal):
        names = list(proposal["value"])
        if not names:
            raise SettingError("optimizers must name at least one optimizer")
        unknown = [name for name in names if name not in OPTIMIZERS]
        if unknown:
            raise SettingError(f"unknown optimizer {unknown[0]!r}; choose among {', '.join(OPTIMIZERS)}")
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise SettingError(f"optimizers names {twice[0]!r} twice; each races once (variants of one optimizer: "
                               "optviz.race with optviz.Entry)")
        return names

    @traitlets.validate("hparams")
    def _valid_hparams(self, proposal):
        hparams = proposal["value"]
        for name, values in hparams.items():
            if name not in OPTIMIZERS:
                raise SettingError(f"hparams names unknown optimizer {name!r}; choose among {', '.join(OPTIMIZERS)}")
            if not isinstance(values, dict):
                raise SettingError(f"hparams[{name!r}] must be a dict of hyperparameters, such as {{'lr': 0.01}}; "
                                   f"got {values!r}")
            _check(name, values)
        return {name: dict(values) for name, values in hparams.items()}

    @traitlets.validate(LR)
    def _valid_lr(self, proposal):
        lr = proposal["value"]
        if lr is not None:
            for name in self.optimizers:
                _check(name, {LR: lr})
        return lr

    @traitlets.validate("steps")
    def _valid_steps(self, proposal):
        steps = proposal["value"]
        if not 1 <= steps <= MAX_STEPS:
            raise SettingError(f"steps must be a whole number from 1 to {MAX_STEPS:,}; got {steps:,}")
        return steps

    @traitlets.validate("start")
    def _valid_start(self, proposal):
        start = proposal["value"]
        if start is not None and not all(math.isfinite(v) for v in start):
            raise SettingError(f"start must be a finite point (x, y), or None for the surface's own; got {start}")
        return start

    @traitlets.validate("traced")
    def _valid_traced(self, proposal):
        traced = proposal["value"]
        unknown = [name for name in traced or [] if name not in OPTIMIZERS]
        if unknown:
            raise SettingError(f"traced names unknown optimizer {unknown[0]!r}; choose among the racing optimizers "
                               "(an optimizer traced but not racing is left out)")
        return traced

    @traitlets.validate("height")
    def _valid_height(self, proposal):
        height = proposal["value"]
        if not HEIGHTS[0] <= height <= HEIGHTS[1]:
            raise SettingError(f"height must be from {HEIGHTS[0]} to {HEIGHTS[1]} px; got {height}")
        return height

    # --- the race --------------------------------------------------------------------------------------------

    @traitlets.observe("surface", "optimizers", "hparams", LR, "steps", "start", "traced", "height")
    def _setting_changed(self, change):
        if self._race and not self._holding:  # before the first race (in __init__), open() runs it
            self.draw()

    def update(self, **settings) -> RaceWidget:
        """Change several settings at once, with one race: w.update(surface="himmelblau", lr=0.01). Either all of
        them are kept or, if one is refused, none."""
        unknown = sorted(set(settings) - set(self.settings()))
        if unknown:
            raise SettingError(f"no setting {unknown[0]!r}; the settings are {', '.join(self.settings())}")
        with self._one_race(), self.hold_trait_notifications():
            for name, value in settings.items():
                setattr(self, name, value)
        return self

    @contextmanager
    def _one_race(self):
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
        if not self._holding:
            self.draw()

    def _from_view(self, _widget, content, _buffers) -> None:
        """What the reader released in the view (a racer's slider, the start dragged or clicked): kept as the
        settings (hparams, start), checked as any assignment is, and raced once. A value refused leaves every
        setting as it was and says why in `refused`."""
        settled = content.get("settle") if isinstance(content, dict) else None
        if settled is None:
            return
        try:
            self.update(**self._settled(settled))
            self.refused = ""
        except (SettingError, ValueError, TypeError) as error:
            self.refused = str(error)

    def _settled(self, settled) -> dict:
        """The view's message as settings: {"hparams": [{"run", "name", "value"}], "start": {"x", "y"} or None}."""
        if not isinstance(settled, dict):
            raise SettingError(f"expected the settled values, got {settled!r}")
        hparams = {name: dict(values) for name, values in self.hparams.items()}
        for item in settled.get("hparams") or []:
            run = item.get("run") if isinstance(item, dict) else None
            if not isinstance(run, int) or isinstance(run, bool) or not 0 <= run < len(self.optimizers):
                raise SettingError(f"a change must name one of the {len(self.optimizers)} racers by number, got "
                                   f"{item!r}")
            value = item.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SettingError(f"{item.get('name')!r} must be a number, got {value!r}")
            hparams.setdefault(self.optimizers[run], {})[str(item.get("name"))] = float(value)
        changes = {"hparams": hparams} if settled.get("hparams") else {}
        start = settled.get("start")
        if start is not None:
            point = start if isinstance(start, dict) else {}
            if not all(isinstance(point.get(a), (int, float)) and not isinstance(point.get(a), bool) for a in "xy"):
                raise SettingError(f"the start must be a point {{x, y}}, got {start!r}")
            changes["start"] = (float(point["x"]), float(point["y"]))
        return changes

    def settings(self) -> dict:
        """The settings, as optviz.widget takes them."""
        return {name: getattr(self, name) for name in
                ("surface", "optimizers", "hparams", LR, "steps", "start", "traced", "height")}

    @property
    def rates(self) -> dict[str, float]:
        """Each racer's learning rate α in the race drawn: its own (hparams), else lr, else the suggested one."""
        return {label: float(traj.optimizer.hparams[LR]) for label, traj in self.races.items()}

    def hyperparameters(self) -> dict[str, dict]:
        """What each optimizer races with, on top of its defaults: hparams, with lr (or the suggested α) where
        hparams give none."""
        chosen = {}
        for name in self.optimizers:
            own = dict(self.hparams.get(name, {}))
            if LR not in own:
                own[LR] = self.lr if self.lr is not None else default_lr(self.surface, name)
            chosen[name] = own
        return chosen

    def draw(self) -> None:
        """Run the race of the current settings and send it to the view (done by every change of a setting)."""
        surface = make_surface(self.surface)
        try:
            races = race(surface, self.optimizers, start=self.start, steps=self.steps,
                         hparams=self.hyperparameters(), compile_in_background=True)
        except ValueError as error:
            raise SettingError(str(error)) from error
        traced = None if self.traced is None else [name for name in self.traced if name in races]
        payload = race_payload(races, surface, traces=traced, data_panel=data_panel(races, surface))
        map_json = script_json(payload.pop("map")).encode()
        options = dict(min_height=self.height, max_height=self.height, bottom_margin=0, page_keys=False, clickable=True,
                       scene=script_json([self.surface, self.optimizers]))  # a new start keeps the step shown
        self.races = races
        with self.hold_sync():  # one message; the map only when it changed (traitlets compares the bytes)
            self._map = map_json
            self._race = script_json({"payload": payload, "options": options}).encode()

    def open(self):
        """The first race, before the comm opens: the view's first state is the race, not an empty one."""
        if not self._race:
            self.draw()
        super().open()

    # --- outside a live notebook: the standalone page --------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        """The widget's view, and as text/html optviz's standalone page of the race in an iframe: what an export
        of the notebook (nbconvert to HTML) or a viewer without the widget's JavaScript shows. It plays offline."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        return {**data, "text/html": self.standalone_html()}, metadata

    def standalone_html(self) -> str:
        """The race drawn now, as an iframe holding optviz.figures.export.race_html's page."""
        surface = next(iter(self.races.values())).surface
        traced = None if self.traced is None else [name for name in self.traced if name in self.races]
        page = race_html(self.races, surface, traces=traced)
        return (f'<iframe class="optviz-race" title="{html.escape(_title(self))}" srcdoc="{html.escape(page)}" '
                f'style="width: 100%; height: {self.height + FALLBACK_CHROME}px; border: 0"></iframe>')


def widget(surface: str = "rosenbrock", optimizers=NOTEBOOK_RACE, **settings) -> RaceWidget:
    """A race in the notebook: optviz.widget("himmelblau", ["sgd", "adam"], lr=0.01, steps=500). The settings are
    RaceWidget's (hparams, lr, steps, start, traced, height); invalid ones raise SettingError, saying why."""
    return RaceWidget(surface=surface, optimizers=list(optimizers), **settings)


def _check(name: str, values: dict) -> None:
    """Refuse hyperparameters the optimizer would refuse, with its own words."""
    try:
        make_optimizer(name, **values)
    except (ValueError, TypeError) as error:
        raise SettingError(str(error)) from error


def _title(w: RaceWidget) -> str:
    return f"optviz race: {w.surface}, {', '.join(w.optimizers)}"


class _CallableModule(types.ModuleType):
    """This module, callable as its function: optviz.widget(...) is widget(...), whichever of the two the name
    optviz.widget holds (importing optviz.widget binds it to the module)."""

    def __call__(self, *args, **kwargs) -> RaceWidget:
        return widget(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
