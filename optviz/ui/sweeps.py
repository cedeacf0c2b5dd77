"""The hyperparameter tab: sweep heatmaps, tuning for a fair race, learning-rate sensitivity, basins.

Everything runs on the workspace's surface, start point and step count (set in the sidebar), and every
computation is one batched engine call, cached and shared across sessions.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial

import numpy as np
import streamlit as st

from .. import figures, stability, sweeps
from ..optimizers import SPECS as OPTIMIZERS
from ..optimizers import in_batches, one_at_a_time_note
from ..params import DECAY_RATE, LR, MOMENTUM
from ..scenarios import DEFAULT_OPTIMIZERS
from ..tuning import default_lr
from . import workspace
from .controls import number_text, plain, symbol_text, table
from .race import settled_values
from .race_viewer import race_settled, race_viewer
from .settings import EntrySettings, Settings

THEORY_CAPTION = (
    "Dashed: the stability boundary from theory. On a quadratic whose Hessian has eigenvalues λ, each "
    "eigen-direction is a one-dimensional problem: gradient descent multiplies its error by 1 − αλ per step, so it "
    "converges iff α < 2/λ_max; heavy-ball momentum (torch's SGD with momentum) iff 0 ≤ μ < 1 and "
    "α < 2(1 + μ)/λ_max — momentum lets the step overshoot further and still come back. The dark cells, runs the "
    "sweep measured to diverge, begin at the line.")
RESOLUTIONS = (20, 50, 100, 150, 200)
BASIN_RESOLUTIONS = (50, 100, 150, 200)
METRIC_NAMES = {"final_loss": "Final loss", "steps_to_tol": "Steps to reach a minimum", "diverged": "Diverged"}
SWEEP_COLOURS = {  # what the colours of a sweep's heatmap mean, per metric
    "final_loss": "Colour: final loss (dark purple lowest, yellow highest); red: diverged.",
    "steps_to_tol": "Colour: steps to reach a minimum (dark purple fewest); light grey: never reached one; red: "
                    "diverged.",
    "diverged": "Red: diverged; light grey: did not.",
}
OBJECTIVE_NAMES = {"final_loss": "lowest final loss", "steps_to_tol": "fewest steps to a minimum"}


def _sweepable(optimizer: str) -> list[str]:
    return [p.name for p in OPTIMIZERS[optimizer].params if p.kind == "float"]


def _race_hparams(settings: Settings, optimizer: str) -> dict:
    """The hyperparameters this optimizer has in the race (its first entry), else its defaults for the surface."""
    for entry in settings.entries:
        if entry.optimizer == optimizer:
            return dict(entry.hparams)
    return {**OPTIMIZERS[optimizer].defaults, LR: default_lr(settings.surface, optimizer, settings.expression)}


def _context(settings: Settings) -> str:
    """What every computation of this tab depends on besides its own controls: surface, start and steps, and a
    data surface's data (an upload by its SHA-256: two students' files never share a result)."""
    return json.dumps({"surface": settings.surface, "params": settings.surface_params, "start": settings.start,
                       "steps": settings.steps, "expression": settings.expression,
                       "data": [settings.data, list(settings.columns), settings.upload]}, sort_keys=True)


def _surface(context: str):
    c = json.loads(context)
    data, columns, upload = c["data"]
    return workspace.surface_for(Settings(c["surface"], c["params"], tuple(c["start"]), c["steps"], [],
                                          c["expression"], data, tuple(columns), upload))


# Bounds: a sweep or a basin map at the finest grid (200 × 200) holds 2 MB, a tuning or sensitivity table less:
# 32 entries of each, ≤ 64 MB apiece.
@st.cache_resource(max_entries=32, ttl=3600, show_spinner=False)
def _sweep(context: str, optimizer: str, x_param: str, x_range: tuple, y_param: str, y_range: tuple, n: int,
           fixed: str):
    c = json.loads(context)
    xs = sweeps.axis_values(optimizer, x_param, n, *x_range)
    ys = sweeps.axis_values(optimizer, y_param, n, *y_range)
    fixed_hparams = {k: v for k, v in json.loads(fixed).items() if k not in (x_param, y_param)}
    return sweeps.sweep(_surface(context), optimizer, x_param, xs, y_param, ys, start=tuple(c["start"]),
                        steps=c["steps"], **fixed_hparams)


@st.cache_resource(max_entries=32, ttl=3600, show_spinner=False)  # bounds: see _sweep's
def _tune(context: str, optimizers: tuple, objective: str, also: bool, given: str):
    c = json.loads(context)
    hparams = {name: {k: v for k, v in h.items() if k != LR} for name, h in json.loads(given).items()}
    return sweeps.tune(_surface(context), list(optimizers), start=tuple(c["start"]), steps=c["steps"],
                       objective=objective, also=MOMENTUM if also else None,
                       hparams=_without_also(hparams, also))


def _without_also(hparams: dict, also: bool) -> dict:
    """When β1/momentum (the hyperparameter in the role of a momentum) is tuned too, it must not also be fixed."""
    if not also:
        return hparams
    return {name: {k: v for k, v in h.items() if OPTIMIZERS[name].param(k).role != MOMENTUM}
            for name, h in hparams.items()}


@st.cache_resource(max_entries=32, ttl=3600, show_spinner=False)  # bounds: see _sweep's
def _sensitivity(context: str, optimizers: tuple, metric: str, given: str):
    c = json.loads(context)
    hparams = {name: {k: v for k, v in h.items() if k != LR} for name, h in json.loads(given).items()}
    return sweeps.lr_sensitivity(_surface(context), list(optimizers), start=tuple(c["start"]), steps=c["steps"],
                                 metric=metric, hparams=hparams)


@st.cache_resource(max_entries=32, ttl=3600, show_spinner=False)  # bounds: see _sweep's
def _basins(context: str, optimizer: str, n: int, hparams: str):
    c = json.loads(context)
    return sweeps.basins(_surface(context), optimizer, n, steps=c["steps"], **json.loads(hparams))


# ---------------------------------------------------------------------------------------------------------------

def _batched_names(settings: Settings, batched: list[str]) -> list[str]:
    """The race's optimizers that sweeps, basins and tuning can run (stepped in batches), in the race's order."""
    return [e.optimizer for e in settings.entries if e.optimizer in batched]


def _sweep_section(settings: Settings, context: str) -> None:
    batched = list(in_batches())
    names = _batched_names(settings, batched) or list(DEFAULT_OPTIMIZERS)
    cols = st.columns([1.2, 1, 1, 1])
    optimizer = cols[0].selectbox("Optimizer", batched, index=batched.index(names[0]),
                                  format_func=lambda n: OPTIMIZERS[n].title, key="sw.opt",
                                  help=one_at_a_time_note() or None)
    params = _sweepable(optimizer)
    x_param = cols[1].selectbox("x axis", params, index=0, key=f"sw.x.{optimizer}")
    y_choices = [p for p in params if p != x_param]
    if not y_choices:
        st.info(f"{OPTIMIZERS[optimizer].title} has a single continuous hyperparameter: see the sensitivity "
                "chart below.")
        return
    decays = [OPTIMIZERS[optimizer].param(p) for p in y_choices]  # a momentum first, then another decay rate
    y_default = next((p.name for role in (MOMENTUM, DECAY_RATE) for p in decays if p.role == role), y_choices[0])
    y_param = cols[2].selectbox("y axis", y_choices, index=y_choices.index(y_default), key=f"sw.y.{optimizer}")
    n = cols[3].select_slider("Cells per axis", RESOLUTIONS, value=50, key="sw.n")
    # a row of its own: beside the selects, its three labels were cut off at common window widths
    metric = st.segmented_control("Colour by", list(METRIC_NAMES), format_func=METRIC_NAMES.get,
                                  default="final_loss", key="sw.metric") or "final_loss"
    x_range, y_range = _range_controls(optimizer, x_param, y_param, _theory_lr_high(_surface(context), optimizer))
    fixed = _race_hparams(settings, optimizer)
    try:
        with st.spinner("Running the grid…"):
            result = _sweep(context, optimizer, x_param, x_range, y_param, y_range, n, json.dumps(fixed))
    except ValueError as error:
        st.error(plain(error))
        return
    cell_key = f"sw.cell.{optimizer}.{x_param}.{y_param}.{n}"
    selected = st.session_state.get(cell_key)
    spec = OPTIMIZERS[optimizer]
    x_title = f"{spec.param(x_param).name}"
    y_title = f"{spec.param(y_param).name}"
    diverged = result.diverged
    title = (f"{spec.title} on {result.surface.title}: {n}×{n} settings × {result.steps} steps · "
             f"{int(diverged.sum())} diverged")
    boundary = stability.boundary_curve(result.surface, optimizer, x_param, result.x_values, y_param,
                                        result.y_values, result.hparams)
    rule = spec.stability.rule if spec.stability else ""
    fig = figures.heatmap_figure(result.x_values, result.y_values, result.metric(metric), metric=metric,
                                 x_title=x_title, y_title=y_title, title=title, diverged=diverged,
                                 selected=selected, x_scale=sweeps.axis_scale(optimizer, x_param),
                                 y_scale=sweeps.axis_scale(optimizer, y_param),
                                 lowest=figures.minimum_value(result.surface), boundary=boundary,
                                 boundary_name=f"theory: stable iff {rule}")
    event = st.plotly_chart(fig, key=f"sw.chart.{cell_key}", on_select="rerun", selection_mode="points",
                            theme=None)
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points:
        cell = (int(round(points[0]["y"])), int(round(points[0]["x"])))
        if cell != selected and cell != st.session_state.get(_clicked_key(cell_key)):
            st.session_state[cell_key] = st.session_state[_clicked_key(cell_key)] = selected = cell
            st.session_state.pop(_dragged_key(cell_key), None)  # a cell clicked is that cell's setting
            st.rerun()
    st.caption(f"Click a cell to see that run. {SWEEP_COLOURS[metric]} Fixed hyperparameters are this "
               "optimizer's settings in the race (or its defaults).")
    if boundary is not None and _in_view(boundary, result, x_param):
        st.caption(THEORY_CAPTION)
    if selected is not None:
        _cell_details(result, selected, optimizer, cell_key)


def _in_view(boundary: tuple, result, x_param: str) -> bool:
    """Whether some of the boundary's learning rates lie on the heatmap's learning-rate axis."""
    lrs, axis = (boundary[0], result.x_values) if x_param == LR else (boundary[1], result.y_values)
    return bool(np.any((lrs >= axis.min()) & (lrs <= axis.max())))


def _theory_lr_high(surface, optimizer: str) -> float | None:
    """Where theory draws a stability boundary, a learning-rate axis long enough to show it: up to the round
    power of ten above 1.5 × the largest stable α (momentum μ → 1 doubles GD's 2/λ_max)."""
    limit = stability.gradient_descent_limit(surface)
    if limit is None or not stability.known(optimizer):
        return None
    with_momentum = any(p.role == MOMENTUM for p in OPTIMIZERS[optimizer].params)
    widest = 2 * float(limit) if with_momentum else float(limit)
    return float(10.0 ** np.ceil(np.log10(1.5 * widest)))


def _range_controls(optimizer: str, x_param: str, y_param: str, lr_high: float | None = None
                    ) -> tuple[tuple, tuple]:
    """Optional axis ranges; an invalid one is reported and the default range is used instead. `lr_high`: a
    default upper end for the learning rate, where theory has a boundary to show."""
    ranges = []
    with st.expander("Axis ranges"):
        cols = st.columns(2)
        for col, param in zip(cols, (x_param, y_param)):
            low, high = sweeps.axis_values(optimizer, param, 2)
            if param == LR and lr_high is not None:
                high = max(high, lr_high)
            a = col.number_input(f"{param} from", value=float(low), format="%.4g", key=f"sw.lo.{optimizer}.{param}")
            b = col.number_input(f"{param} to", value=float(high), format="%.4g", key=f"sw.hi.{optimizer}.{param}")
            try:
                sweeps.axis_values(optimizer, param, 2, a, b)
                ranges.append((a, b))
            except ValueError as error:
                col.error(f"{plain(error)}. Using the default range.")
                ranges.append((None, None))
    return ranges[0], ranges[1]


CELL_RACE = "sw.cellrace"  # the selected cell's race viewer
SETTLE_ERROR = "sw.settle_error"  # why the last value released in the cell's race could not be used, shown once


def _dragged_key(cell_key: str) -> str:
    """The session key of the setting dragged in the cell's race: {hyperparameter: value}, on top of the cell's."""
    return cell_key + ".dragged"


def _clicked_key(cell_key: str) -> str:
    """The cell last clicked: the chart's selection stays on it after a drag has moved to another cell."""
    return cell_key + ".clicked"


def _cell_details(result, cell: tuple[int, int], optimizer: str, cell_key: str) -> None:
    i, j = cell
    if not (0 <= i < result.shape[0] and 0 <= j < result.shape[1]):
        return
    dragged = st.session_state.get(_dragged_key(cell_key), {})
    config = {**result.config(i, j), **dragged}
    x, y = config[result.x_param], config[result.y_param]
    traj = result.trajectory(i, j, **dragged)
    outcome = (f"diverged at step {traj.diverged_at}" if traj.diverged_at is not None else
               f"final loss {float(traj.final_loss):.4g}, " + (f"reached a minimum at step {traj.converged_at}"
                                                             if traj.converged_at is not None else
                                                             "did not reach a minimum"))
    label = f"{OPTIMIZERS[optimizer].title} {result.x_param}={number_text(x)} {result.y_param}={number_text(y)}"
    st.markdown(f"**Selected:** {result.x_param} = {number_text(x)}, {result.y_param} = {number_text(y)} — "
                f"{outcome}.")
    off_grid = {name: value for name, value in dragged.items() if name not in (result.x_param, result.y_param)}
    if dragged:
        st.caption("Dragged in the race below: the nearest cell is marked on the map" + (
            f"; {', '.join(f'{n} = {number_text(v)}' for n, v in off_grid.items())} differ from the sweep's fixed "
            "values (add this setting to the race to sweep with them)" if off_grid else "") + ".")
    if error := st.session_state.pop(SETTLE_ERROR, None):
        st.error(f"The value from the race could not be used: {plain(error)}")
    st.button("Add this setting to the race", key="sw.add", on_click=workspace.add_to_race,
              args=(optimizer, config, label[:40]))
    cell = {label: traj}
    race_viewer(figures.race_payload(cell, result.surface, data_panel=figures.data_panel(cell, result.surface)),
                key=CELL_RACE, on_settle=partial(_on_cell_settle, result, cell_key))


def _on_cell_settle(result, cell_key: str) -> None:
    """What the reader released in the cell's race, checked value by value (race.settled_values): hyperparameters
    become the setting shown there, the cell nearest to it marked on the map; a start dragged or clicked moves the
    race's start (the sidebar and the link), and the sweep runs again from it."""
    state = st.session_state
    dragged = state.get(_dragged_key(cell_key), {})
    config = {**result.config(*state[cell_key]), **dragged}
    settings = workspace.read_settings()
    try:
        changes, start = settled_values(race_settled(CELL_RACE),
                                        replace(settings, entries=[EntrySettings(result.optimizer, config)]),
                                        result.surface.bound)
    except ValueError as error:
        state[SETTLE_ERROR] = str(error)
        return
    if changes:
        dragged = {**dragged, **{name: value for _, name, value in changes}}
        state[cell_key] = result.nearest({**config, **dragged})
        state[_dragged_key(cell_key)] = dragged
    if start is not None:
        workspace.set_start(*start)
        st.rerun()  # the start boxes, outside the view, show it too


def _tune_section(settings: Settings, context: str) -> None:
    st.caption("Compares optimizers at their own best learning rate instead of one shared α: one batched run "
               "over 61 learning rates (× 10 values of β₁ or momentum if asked) per optimizer.")
    batched = list(in_batches())
    names = list(dict.fromkeys(_batched_names(settings, batched)))
    cols = st.columns([2, 1, 1])
    chosen = cols[0].multiselect("Optimizers to tune", batched, default=names, key="tune.opts",
                                 format_func=lambda n: OPTIMIZERS[n].title, help=one_at_a_time_note() or None)
    objective = cols[1].radio("Objective", list(OBJECTIVE_NAMES), format_func=OBJECTIVE_NAMES.get, key="tune.obj")
    also = cols[2].toggle("Also tune β₁ / momentum", key="tune.also")
    if not chosen:
        return
    given = json.dumps({name: _race_hparams(settings, name) for name in chosen}, sort_keys=True)
    try:
        results = _tune(context, tuple(chosen), objective, also, given)
    except ValueError as error:
        st.error(plain(error))
        return
    rows, tuned = [], {}
    for name, result in results.items():
        if result.hparams is None:
            rows.append({"optimizer": OPTIMIZERS[name].title, "learning rate": None, "also": "",
                         OBJECTIVE_NAMES[objective]: "every setting diverged"})
            continue
        extra = {result.also: result.hparams[result.also]} if also and result.also else {}
        tuned[name] = {LR: result.hparams[LR], **extra}
        value = result.value
        rows.append({"optimizer": OPTIMIZERS[name].title, "learning rate": result.hparams[LR],
                     "also": ", ".join(f"{k} = {number_text(v)}" for k, v in extra.items()),
                     OBJECTIVE_NAMES[objective]: f"{value:.4g}" if np.isfinite(value) else
                     "never reached a minimum"})
    table(rows, {"learning rate": "{:.3g}"})
    in_race = {name: values for name, values in tuned.items() if name in names}
    st.button("Apply the tuned settings to the race", key="tune.apply", disabled=not in_race,
              on_click=workspace.apply_to_race, args=(in_race,),
              help="Sets each race entry of these optimizers to its tuned learning rate (and β₁ / momentum)")


def _sensitivity_section(settings: Settings, context: str) -> None:
    batched = list(in_batches())
    names = list(dict.fromkeys(_batched_names(settings, batched)))
    cols = st.columns([3, 1])
    chosen = cols[0].multiselect("Optimizers", batched, default=names, key="sens.opts",
                                 format_func=lambda n: OPTIMIZERS[n].title, help=one_at_a_time_note() or None)
    metric = cols[1].radio("Measure", ["final_loss", "steps_to_tol"], format_func=METRIC_NAMES.get,
                           key="sens.metric")
    if not chosen:
        return
    given = json.dumps({name: _race_hparams(settings, name) for name in chosen}, sort_keys=True)
    try:
        curves = _sensitivity(context, tuple(chosen), metric, given)
    except ValueError as error:  # e.g. more work a step than a large data set allows
        st.error(plain(error))
        return
    titled = {OPTIMIZERS[name].title: tuple(curve) for name, curve in curves.items()}
    limits = _stability_limits(_surface(context), chosen, json.loads(given))
    fig = figures.sensitivity_figure(titled, metric=metric, lowest=figures.minimum_value(_surface(context)),
                                     limits=limits)
    st.plotly_chart(fig, key="sens.chart", theme=None)
    if limits:
        st.caption("Dashed: the largest stable learning rate from theory. Gradient descent on a quadratic "
                   "diverges once α ≥ 2/λ_max (λ_max: the largest curvature); momentum μ moves the limit to "
                   "2(1 + μ)/λ_max. Adaptive methods rescale the gradient, so no such line applies to them.")


def _stability_limits(surface, chosen: list[str], hparams: dict[str, dict]) -> dict[str, float]:
    """GD's 2/λ_max, and each chosen optimizer's own largest stable α at its race settings where the catalogue
    knows it in closed form and it is another (momentum SGD's 2(1 + μ)/λ_max)."""
    gd = stability.gradient_descent_limit(surface)
    if gd is None:
        return {}
    limits = {f"2/λ_max = {number_text(float(gd))}": float(gd)}
    for name in chosen:
        own = {k: v for k, v in hparams[name].items() if k != LR}
        limit = stability.lr_limit(surface, name, **own)
        if limit is not None and np.isfinite(limit) and not np.isclose(limit, gd):
            spec = OPTIMIZERS[name]
            said = ", ".join(f"{symbol_text(p.symbol)} = {number_text(own[p.name])}" for p in spec.params
                             if p.role == MOMENTUM)
            bound = spec.stability.rule.split("<")[-1].strip()
            limits[f"{bound} = {number_text(float(limit))}" + (f" ({said})" if said else f" ({spec.title})")] = float(
                limit)
    return limits


def _basins_section(settings: Settings, context: str) -> None:
    batched = list(in_batches())
    names = _batched_names(settings, batched) + list(DEFAULT_OPTIMIZERS)
    cols = st.columns([1, 1, 1])
    left = cols[0].selectbox("Left", batched, index=batched.index(names[0]), key="basin.a",
                             format_func=lambda n: OPTIMIZERS[n].title, help=one_at_a_time_note() or None)
    right = cols[1].selectbox("Right", batched, index=batched.index(names[1]), key="basin.b",
                              format_func=lambda n: OPTIMIZERS[n].title)
    n = cols[2].select_slider("Start points per axis", BASIN_RESOLUTIONS, value=100, key="basin.n")
    panels = []
    with st.spinner("Running every start…"):
        for name in (left, right):
            hparams = _race_hparams(settings, name)
            try:
                result = _basins(context, name, n, json.dumps(hparams, sort_keys=True))
            except ValueError as error:  # e.g. more work a step than a large data set allows
                st.error(plain(error))
                return
            title = f"{OPTIMIZERS[name].title}, α = {number_text(hparams[LR])}"
            loss = result.loss_grid
            panels.append((title, result.xs, result.ys, None if loss is not None else result.labels, loss))
    fig = figures.basins_panels_figure(result.surface, panels)
    st.plotly_chart(fig, key=f"basin.chart.{left}.{right}", theme=None)
    if panels[0][3] is None:
        st.caption("Each pixel is a start point, coloured by its run's final loss on one scale shared by both "
                   "maps (dark purple: lowest); red: diverged; ★ minima, × saddle points. Hyperparameters are the "
                   "race's.")
    else:
        st.caption("Each pixel is a start point, coloured by the minimum its run ends in (light grey: did not "
                   "settle, red: diverged); ★ minima, × saddle points. Hyperparameters are the race's.")


def page() -> None:
    """The sweeps tab, drawn from the workspace's settings."""
    workspace.draw(render)


def render(settings: Settings) -> None:
    """Draw the sweeps tab for the sidebar's settings."""
    context = _context(settings)
    title = plain(workspace.surface_for(settings).title)
    st.caption(f"On **{title}** from ({settings.start[0]:g}, {settings.start[1]:g}) for {settings.steps} steps — "
               "change these in the sidebar.")
    # one section at a time, and only the open one runs: a student asking for a sweep waits for that sweep
    sections = st.tabs(list(SECTIONS), key=SECTION_KEY, on_change="rerun")
    for section, draw in zip(sections, SECTIONS.values()):
        if section.open:
            with section:
                draw(settings, context)


SECTIONS = {"Sweep two hyperparameters": _sweep_section, "Tune each optimizer for a fair race": _tune_section,
            "Learning-rate sensitivity": _sensitivity_section, "Basins of attraction": _basins_section}
SECTION_KEY = "sweeps.section"  # st.session_state[SECTION_KEY]: the open section's title
