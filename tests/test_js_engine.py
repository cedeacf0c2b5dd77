"""The generated JavaScript engine (optviz/ui/race_viewer/engine.generated.js, written by `python -m optviz.jsgen`):
it is what the catalogue generates now, node steps every optimizer under every option that changes the math as
optviz steps it (to 1e-12 relative over 300 steps, fed the same gradients), its races diverge at the engine's
steps, its surfaces are the catalogue's, and what cannot be translated is refused in words."""

from __future__ import annotations

import base64
import functools
import inspect
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sympy

import optviz
from optviz import jsgen
from optviz.jsgen import RUNTIME_BEGIN, SURFACES_BEGIN, TARGET, Untranslatable, generate, translate
from optviz.optimizers import SPECS as CATALOGUE
from optviz.optimizers import in_batches, moment_diagnostics, sgd_rule
from optviz.params import LR

NODE = shutil.which("node")  # CI installs it (.ci/run); without it the parity tests fail, they never skip

STEPS = 300
START = (-1.5, 2.0)
TOLERANCE = 1e-12  # relative
FLOOR = 1e-4  # relative to what, where a coordinate passes near 0 (relative_difference)

RUNNER = """\
import { readFileSync, writeFileSync } from "node:fs";
const engine = await import(process.argv[2]);
const cases = JSON.parse(readFileSync(process.argv[3], "utf8"));

function decode(text) {
  const bytes = Buffer.from(text, "base64"), out = new Float64Array(bytes.length / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
const encode = (a) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64") : null);

function stepped({ name, hparams, start, grads, steps }) {  // engine.step, as Optimizer.step_ in a loop
  const opt = engine.optimizer(name, hparams), n = start.length, g = decode(grads);
  const params = Float64Array.from(start), state = engine.init(opt, n);
  const path = new Float64Array(steps * n), shared = new Float64Array(steps);
  const traces = opt.arrays.map(() => new Float64Array(steps * n));
  for (let t = 0; t < steps; t++) {
    engine.step(opt, params, g.subarray(t * n, (t + 1) * n), state);
    path.set(params, t * n);
    traces.forEach((trace, j) => trace.set(state.arrays[j], t * n));
    shared[t] = state.shared;
  }
  const state_ = Object.fromEntries(opt.arrays.map((s, j) => [s, encode(traces[j])]));
  return { row: encode(opt.h), path: encode(path), state: state_, shared: encode(shared), arrays: opt.arrays };
}

function raced({ name, hparams, start, grads, steps, surface, params }) {  // engine.race, open or closed loop
  const opt = engine.optimizer(name, hparams), surf = engine.surface(surface, params);
  const g = grads ? decode(grads) : null;
  const grad = g ? (x, y, t) => [g[2 * t - 2], g[2 * t - 1]] : surf.grad;
  const [run] = engine.race([opt], { ...surf, grad }, start, steps);
  const state = Object.fromEntries(Object.entries(run.state).map(([s, a]) => [s, encode(a)]));
  return { path: encode(run.path), loss: encode(run.loss), grad: encode(run.grad), state, shared: encode(run.shared),
           divergedAt: run.divergedAt };
}

function evaluated({ surface, params, points }) {  // a surface's value and gradient at points
  const surf = engine.surface(surface, params), xy = decode(points), n = xy.length / 2;
  const value = new Float64Array(n), grad = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    value[i] = surf.value(xy[2 * i], xy[2 * i + 1]);
    [grad[2 * i], grad[2 * i + 1]] = surf.grad(xy[2 * i], xy[2 * i + 1]);
  }
  return { value: encode(value), grad: encode(grad) };
}

function diagnosed({ name, hparams, state, steps, lr }) {  // engine.diagnose of a recorded state
  const opt = engine.optimizer(name, hparams);
  const recorded = Object.fromEntries(Object.entries(state).map(([s, a]) => [s, decode(a)]));
  const out = engine.diagnose(opt, recorded, steps, lr ? decode(lr) : opt.lr);
  return out && Object.fromEntries(Object.entries(out).map(([k, a]) => [k, encode(a)]));
}

const kinds = { stepped, raced, evaluated, diagnosed };
writeFileSync(process.argv[4], JSON.stringify(cases.map((c) => kinds[c.kind](c))));
"""


def _encode(array) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode()


def _decode(text: str | None):
    return None if text is None else np.frombuffer(base64.b64decode(text), dtype="<f8")


def relative_difference(js, py) -> float:
    """The largest |js − py| / max(|js|, |py|) over a recording (steps, coordinates): 0 where they are equal (NaN and
    ±inf included), inf where only one is NaN. Where a coordinate passes near 0, the denominator is at least
    FLOOR × the largest magnitude it takes: there, an ulp of a step (a pow that rounds the other way) would be
    relative to nothing."""
    js, py = np.asarray(js, dtype=float), np.asarray(py, dtype=float)
    assert js.size == py.size
    js, py = js.reshape(len(py), -1), py.reshape(len(py), -1)
    same = (js == py) | (np.isnan(js) & np.isnan(py))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = FLOOR * np.nanmax(np.where(np.isfinite(py), np.abs(py), np.nan), axis=0, initial=0.0)
        rel = np.abs(js - py) / np.maximum(np.maximum(np.abs(js), np.abs(py)), scale)
    rel = np.where(same, 0.0, np.where(np.isnan(rel), np.inf, rel))
    return float(rel.max(initial=0.0))


# ---------------------------------------------------------------------------------------------------------------
# The cases: every optimizer × the settings that change its math

def variations(spec) -> list[dict]:
    """The defaults; each setting that changes the math, alone (every other choice, every switch flipped, a
    non-zero value where the default is 0: weight decay, momentum, dampening, lr_decay, an initial accumulator);
    and all of them at once (decoupled weight decay needs a weight decay, centered RMSProp goes with momentum)."""
    alone, together = [], {}
    for p in spec.params:
        if p.name == LR:
            continue
        if p.kind == "choice":
            values = [c for c in p.choices if c != p.default]
        elif p.kind == "bool":
            values = [not p.default]
        elif p.default == 0:
            values = [5 if p.kind == "int" else 0.5 if p.high <= 1 else 0.1]  # a count (warm-up steps): a count
        else:
            continue
        alone += [{p.name: v} for v in values]
        together[p.name] = values[-1]
    return [{}] + alone + ([together] if len(together) > 1 else [])


def _label(name: str, hparams: dict) -> str:
    return name + "".join(f" {k}={v}" for k, v in hparams.items())


SPECS = in_batches()  # the element-wise rules, which the module translates; the server steps the others


# and momentum at μ = 0 with a dampening: torch keeps no velocity there, so the dampening must not apply
CASES = [(name, hparams) for name, spec in SPECS.items() for hparams in variations(spec)] + [
    ("momentum", {"momentum": 0.0, "dampening": 0.5})]
RNG = np.random.default_rng(27)
GRADS = RNG.standard_normal((STEPS, 2)) * [1.0, 3.0] + [0.3, -0.2]  # the same gradients for every case


# The diagnostics (m̂, v̂, the bias corrections, the effective step) of the optimizers that have them, under every
# setting that changes them (ε's placement, bias correction off, AMSGrad's v_max, AdaBelief's s), from the states
# optviz recorded: the default learning rate, or one per step (a schedule's)
# (and ε large enough for its placement to show, as it does not at 1e-8)
DIAGNOSED = [(name, hparams) for name, hparams in CASES if SPECS[name].diagnostics is not None] + [
    ("adam", {"eps": 0.5, "eps_placement": placement}) for placement in ("outside", "inside", "keras")] + [
    ("amsgrad", {"eps": 0.5, "eps_placement": "inside", "bias_correction": False})]
RATES = 1e-2 * (1.5 + np.cos(np.arange(STEPS) / 20))


def python_steps(name: str, hparams: dict) -> dict:
    """optviz's own steps (Optimizer.step_, float64) of the fixed gradients: params, state and the shared scalar."""
    opt = optviz.optimizer(name, **hparams)
    params = np.array(START, dtype=float)
    state = opt.init(params)
    path, traces, shared = [], {n: [] for n in opt.arrays}, []
    for g in GRADS:
        params, state = opt.step_(params, g, state)
        path.append(params.copy())
        for n in opt.arrays:
            traces[n].append(getattr(state, n).copy())
        shared.append(float(getattr(state, opt.spec.shared)) if opt.spec.shared else 1.0)
    return {"row": opt.hyper[0], "path": np.array(path), "state": {n: np.array(v) for n, v in traces.items()},
            "shared": np.array(shared)}


# Races on Rosenbrock, open loop (the engine's recorded gradients fed to node): the classic six and NAdam (its shared
# μ-product) at their defaults, and runs that diverge (sgd, momentum and nesterov steps too large for the valley's
# walls). Each optimizer's fused loop compiles at its first race (seconds, on a cold numba cache): a few suffice here,
# every rule's arithmetic is compared above.
CLASSIC = ("adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad", "nadam")
RACES = [(name, {}) for name in CLASSIC] + [
    ("sgd", {"lr": 0.01}), ("sgd", {"lr": 0.0021}), ("momentum", {"lr": 0.003}), ("nesterov", {"lr": 0.005}),
    ("adam", {"lr": 0.3}), ("rmsprop", {"lr": 0.1, "centered": True, "momentum": 0.5}),
]
# Closed loop (node's own gradient, by the translated surface) where the run is not chaotic: a quadratic bowl, one
# run converging, one diverging (α·λ_max = 2.5 > 2)
CLOSED = [("sgd", {"lr": 2.5}, "quadratic", {}), ("momentum", {"lr": 0.1}, "quadratic", {"angle": 30.0}),
          ("adam", {"lr": 0.05}, "quadratic", {"condition": 100.0})]


def engine_race(name: str, hparams: dict, surface: str = "rosenbrock", params: dict | None = None):
    """The engine's race of one optimizer (once per setting: the fixture and the test read the same)."""
    return _engine_race(name, json.dumps(hparams), surface, json.dumps(params or {}))


@functools.cache
def _engine_race(name: str, hparams: str, surface: str, params: str):
    surf = optviz.surface(surface, **json.loads(params))
    (traj,) = optviz.race(surf, [optviz.Entry(name, json.loads(hparams))], steps=STEPS).values()
    return surf, traj


def replayed_gradients(surf, traj) -> np.ndarray:
    """The gradients the run used: the engine's record, where the step that diverged (recorded as NaN) gets the
    gradient at the last point within bounds back, so that node must find the divergence itself."""
    grads = traj.grad.copy()
    if traj.diverged_at:
        last = traj.path[traj.diverged_at - 1]
        grads[traj.diverged_at - 1] = surf.grad(*last)
    return grads


SURFACE_PARAMS = [(name, {}) for name, spec in optviz.SURFACES.items() if spec.model is None] + [
    ("rosenbrock", {"a": -0.7, "b": 3.0}), ("quadratic", {"condition": 1000.0, "angle": -37.0}),
    ("rastrigin", {"amplitude": 2.5}),
]


def surface_points(name: str, params: dict) -> np.ndarray:
    surf = optviz.surface(name, **params)
    x0, x1, y0, y1 = surf.window
    points = np.random.default_rng(7).uniform([x0, y0], [x1, y1], (200, 2))
    return np.vstack([points, [surf.start], surf.minima.reshape(-1, 2)])


@pytest.fixture(scope="module")
def node_results(tmp_path_factory):
    """Every case run in one node process: steps, races and surface evaluations."""
    tmp = tmp_path_factory.mktemp("js_engine")
    cases = [{"kind": "stepped", "name": n, "hparams": h, "start": START, "grads": _encode(GRADS), "steps": STEPS}
             for n, h in CASES]
    for name, hparams in RACES:
        surf, traj = engine_race(name, hparams)
        cases.append({"kind": "raced", "name": name, "hparams": hparams, "start": traj.path[0].tolist(),
                      "grads": _encode(replayed_gradients(surf, traj)), "steps": STEPS, "surface": "rosenbrock",
                      "params": {}})
    for name, hparams, surface, params in CLOSED:
        start = optviz.surface(surface, **params).start  # the engine's race starts there
        cases.append({"kind": "raced", "name": name, "hparams": hparams, "start": start, "grads": None,
                      "steps": STEPS, "surface": surface, "params": params})
    for name, params in SURFACE_PARAMS:
        cases.append({"kind": "evaluated", "surface": name, "params": params,
                      "points": _encode(surface_points(name, params))})
    for k, (name, hparams) in enumerate(DIAGNOSED):
        state = {n: _encode(trace) for n, trace in python_steps(name, hparams)["state"].items()}
        cases.append({"kind": "diagnosed", "name": name, "hparams": hparams, "state": state, "steps": STEPS,
                      "lr": _encode(RATES) if k % 2 else None})
    (tmp / "cases.json").write_text(json.dumps(cases))
    (tmp / "runner.mjs").write_text(RUNNER)
    assert NODE, "the parity tests run the generated engine in node: apt-get install nodejs"
    subprocess.run([NODE, str(tmp / "runner.mjs"), TARGET.as_uri(), str(tmp / "cases.json"), str(tmp / "out.json")],
                   check=True, timeout=60)
    results = json.loads((tmp / "out.json").read_text())
    steps, rest = results[:len(CASES)], results[len(CASES):]
    races, rest = rest[:len(RACES) + len(CLOSED)], rest[len(RACES) + len(CLOSED):]
    surfaces, diagnosed = rest[:len(SURFACE_PARAMS)], rest[len(SURFACE_PARAMS):]
    return {"stepped": dict(zip([_label(n, h) for n, h in CASES], steps)),
            "raced": races, "evaluated": dict(zip([_label(n, p) for n, p in SURFACE_PARAMS], surfaces)),
            "diagnosed": diagnosed}


# ---------------------------------------------------------------------------------------------------------------
# The module is the catalogue's, now

def without_surfaces(source: str) -> str:
    """The module without its surfaces' section (SymPy's printing, which another SymPy may print otherwise)."""
    return source[:source.index(SURFACES_BEGIN)] + source[source.index(RUNTIME_BEGIN):]


def test_the_checked_in_module_is_what_the_catalogue_generates():
    checked_in, fresh = TARGET.read_text(encoding="utf-8"), generate()
    stale = (f"{TARGET.name} is stale: the rules or surfaces changed since it was generated. Run `python -m "
             f"optviz.jsgen` and commit {TARGET.relative_to(Path(jsgen.__file__).parents[1])}")
    if f"printed by SymPy {sympy.__version__}'s" not in checked_in:  # printed by another SymPy: the rest must agree
        assert without_surfaces(checked_in) == without_surfaces(fresh), stale
    else:
        assert checked_in == fresh, stale


def test_a_changed_rule_makes_the_module_stale(monkeypatch):
    changed = {**CATALOGUE, "adam": replace(CATALOGUE["adam"], rule=sgd_rule, state=())}
    monkeypatch.setattr(jsgen, "OPTIMIZERS", changed)
    assert generate() != TARGET.read_text(encoding="utf-8")


def plain_step(m, v, lr, c):  # a diagnostics' formula other than the catalogue's: α·m, no denominator
    return lr * m


def test_a_changed_diagnostics_formula_makes_the_module_stale(monkeypatch):
    prepare, corrected, _ = jsgen.DIAGNOSTICS[moment_diagnostics]
    monkeypatch.setattr(jsgen, "DIAGNOSTICS", {moment_diagnostics: (prepare, corrected, plain_step)})
    fresh = generate()
    assert "step: plain_step" in fresh and fresh != TARGET.read_text(encoding="utf-8")


def test_check_exits_1_naming_the_command_when_stale(monkeypatch, tmp_path, capsys):
    stale = tmp_path / "engine.generated.js"
    stale.write_text("// an old engine\n")
    monkeypatch.setattr(jsgen, "TARGET", stale)
    assert jsgen.main(["--check"]) == 1
    assert "run `python -m optviz.jsgen` to regenerate it" in capsys.readouterr().err
    assert stale.read_text() == "// an old engine\n"  # --check writes nothing


def test_the_module_is_marked_generated_and_imports_nothing():
    source = TARGET.read_text(encoding="utf-8")
    assert source.startswith("// GENERATED by `python -m optviz.jsgen`") and "do not edit by hand" in source
    assert "import " not in source and "require(" not in source and "http" not in source


def test_every_optimizer_and_every_closed_form_surface_is_in_the_module():
    source = TARGET.read_text(encoding="utf-8")
    for name, spec in CATALOGUE.items():
        translated = f"\n  {name}: {{\n    name: \"{name}\"," in source
        said = f"optimizer {name}: its rule needs {spec.kind}" in source.split(RUNTIME_BEGIN)[0]
        assert (translated, said) == ((True, False) if name in SPECS else (False, True)), name
    for name, spec in optviz.SURFACES.items():
        assert (f"\n  {name}: {{\n" in source) == (spec.model is None), name


# ---------------------------------------------------------------------------------------------------------------
# Parity with the Python engine

@pytest.mark.parametrize("name, hparams", CASES, ids=[_label(n, h) for n, h in CASES])
def test_node_steps_as_optviz_steps(node_results, name, hparams):
    js, py = node_results["stepped"][_label(name, hparams)], python_steps(name, hparams)
    np.testing.assert_array_equal(_decode(js["row"]), py["row"])  # the row, as hyper_rows writes it
    assert js["arrays"] == list(py["state"])
    worst = {"params": relative_difference(_decode(js["path"]), py["path"]),
             "shared": relative_difference(_decode(js["shared"]), py["shared"])}
    worst.update({n: relative_difference(_decode(js["state"][n]), trace) for n, trace in py["state"].items()})
    assert max(worst.values()) <= TOLERANCE, worst


@pytest.mark.parametrize("index", range(len(RACES)), ids=[_label(n, h) for n, h in RACES])
def test_node_replays_an_engine_race_to_the_same_path_state_and_divergence(node_results, index):
    name, hparams = RACES[index]
    _, traj = engine_race(name, hparams)
    js = node_results["raced"][index]
    assert js["divergedAt"] == traj.diverged_at
    worst = {"path": relative_difference(_decode(js["path"]), traj.path),
             "loss": relative_difference(_decode(js["loss"]), traj.loss)}
    worst.update({n: relative_difference(_decode(a), traj.trace[n]) for n, a in js["state"].items()})
    if js["shared"] is not None:
        worst["shared"] = relative_difference(_decode(js["shared"]), traj.trace[SPECS[name].shared])
    assert max(worst.values()) <= TOLERANCE, worst


def test_some_replayed_races_diverge():
    assert sum(engine_race(name, hparams)[1].diverged_at is not None for name, hparams in RACES) >= 3


@pytest.mark.parametrize("index", range(len(CLOSED)), ids=[_label(n, h) for n, h, _, _ in CLOSED])
def test_node_races_on_its_own_surface_gradient_as_the_engine_does(node_results, index):
    name, hparams, surface, params = CLOSED[index]
    _, traj = engine_race(name, hparams, surface, params)
    js = node_results["raced"][len(RACES) + index]
    assert js["divergedAt"] == traj.diverged_at
    # closed loop, the gradient's last bits (SymPy's arithmetic, not NumPy's) ride along: near the minimum at 0 a
    # coordinate's relative error grows as the coordinate shrinks, so the path is compared to its own scale
    path, scale = _decode(js["path"]).reshape(-1, 2), np.nanmax(np.abs(traj.path))
    assert np.array_equal(np.isnan(path), np.isnan(traj.path))
    assert np.nanmax(np.abs(path - traj.path)) <= TOLERANCE * scale


@pytest.mark.parametrize("name, params", SURFACE_PARAMS, ids=[_label(n, p) for n, p in SURFACE_PARAMS])
def test_a_translated_surface_has_the_catalogues_value_and_gradient(node_results, name, params):
    js, surf = node_results["evaluated"][_label(name, params)], optviz.surface(name, **params)
    points = surface_points(name, params)
    value, grad = surf.value(points[:, 0], points[:, 1]), np.stack(surf.grad(points[:, 0], points[:, 1]), axis=1)
    # SymPy orders and factors the arithmetic its own way: each result to within 1e-12 of the surface's scale
    # there (the value's magnitude, at least 1), as cancellations leave a few ulps of the terms
    scale = np.maximum(1.0, np.abs(value))
    assert np.max(np.abs(_decode(js["value"]) - value) / scale) <= TOLERANCE
    assert np.max(np.abs(_decode(js["grad"]).reshape(-1, 2) - grad) / scale[:, None]) <= TOLERANCE


@pytest.mark.parametrize("index", range(len(DIAGNOSED)), ids=[_label(n, h) for n, h in DIAGNOSED])
def test_node_works_out_the_moment_diagnostics_as_optviz_does(node_results, index):
    name, hparams = DIAGNOSED[index]
    opt, trace = optviz.optimizer(name, **hparams), python_steps(name, hparams)["state"]
    lr = RATES if index % 2 else np.full(STEPS, opt.hparams[LR])
    py, js = opt.spec.diagnose(trace, lr, opt.hparams), node_results["diagnosed"][index]
    assert set(js) == set(py) == {"m_hat", "v_hat", "bc1", "bc2", "effective_step"}
    worst = {key: relative_difference(_decode(js[key]), values) for key, values in py.items()}
    assert max(worst.values()) <= TOLERANCE, worst


def test_the_diagnosed_settings_change_the_diagnostics():
    """The cases above cover what moves m̂, v̂ or the effective step: each placement of ε (where it shows), bias
    correction off, AMSGrad's running maximum (AdamW's variant too) and AdaBelief's s as the denominators."""
    settings = {(name, key, str(value)) for name, hparams in DIAGNOSED for key, value in hparams.items()}
    assert {("adam", "bias_correction", "False"), ("adamw", "amsgrad", "True")} <= settings
    assert {"adabelief", "amsgrad", "nadam", "radam", "qhadam"} <= {name for name, _ in DIAGNOSED}
    steps = []
    for placement in ("outside", "inside", "keras"):
        opt = optviz.optimizer("adam", eps=0.5, eps_placement=placement)
        trace = python_steps("adam", {"eps": 0.5, "eps_placement": placement})["state"]
        steps.append(opt.spec.diagnose(trace, np.full(STEPS, 1e-2), opt.hparams)["effective_step"])
    assert not np.allclose(steps[0], steps[1]) and not np.allclose(steps[0], steps[2])


# ---------------------------------------------------------------------------------------------------------------
# What cannot be translated is refused, in words

def looping_rule(p, g, s, lr, c):
    for _ in range(3):
        p = p - lr * g
    return p, s


def indexing_rule(p, g, s, lr, c):
    return p - lr * g * s[0], s


def remainder_rule(p, g, s, lr, c):
    return p % 2.0, s


def printing_rule(p, g, s, lr, c):
    print(p)
    return p, s


def string_rule(p, g, s, lr, c):
    return p, "no state"


@pytest.mark.parametrize("rule, what", [
    (looping_rule, "a for loop"), (indexing_rule, r"indexing \(x\[i\]\)"),
    (remainder_rule, r"the remainder operator \(%\)"),
    (printing_rule, r"an expression standing alone as a statement \(a call for its side effect\?\)"),
    (string_rule, r"the constant 'no state' \(not a number or a boolean\)"),
])
def test_an_untranslatable_rule_is_refused_naming_the_construct_and_its_line(rule, what):
    lines, first = inspect.getsourcelines(rule)
    line = first + 1  # each offending construct is on the rule's first line of body
    with pytest.raises(Untranslatable, match=rf"^tests/test_js_engine.py:{line}: in {rule.__name__}, {what} cannot be "
                                             r"translated to JavaScript; the translator takes arithmetic"):
        translate(rule)


def test_a_translated_helper_keeps_pythons_order_of_operations():
    def helper(a, b, c):
        return a - (b - c), a / (b * c), -(a ** 2), (a + b) + c, a + (b + c)

    source = translate(helper)
    assert "return [a - (b - c), a / (b * c), -$pow(a, 2), a + b + c, a + (b + c)];" in source


def step(x):  # a formula named like the module's own step(): translated as step$
    return x


def clashing_helper(b):
    let = b + 1
    return step(let) * 2


def test_a_name_javascript_reserves_or_the_module_declares_is_renamed():
    source = translate(clashing_helper)
    assert "let let$;\n  let$ = b + 1;\n  return step$(let$) * 2;" in source and "function step$(x) {" in source
