"""Races that do not wait for a compiler (issue #28): with compile_in_background=True a rule whose loop is not
compiled yet runs as its Python source, the same numbers, while the one compile thread compiles it.

* On a fresh install (an empty disk cache, no warm-up), 12 optimizers × 5,000 steps on a surface the warm-up does
  not cover are raced without compiling anything in the process: the compile thread is held for the whole race,
  so a race that waited for it would never return. Every optimizer of the catalogue (and the variants its switches
  select) gives the compiled path's numbers to 1e-12, in a race (element by element) and in a learning-rate sweep
  (the rule applied to whole arrays).
* A kernel runs as its Python source until the compile thread has compiled it, then compiled.
* Nothing starts on import; the app's start warms up, unless OPTVIZ_WARMUP=0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from numba import njit

import optviz
from optviz import jit
from optviz.optimizers import in_batches

ROOT = Path(__file__).resolve().parents[1]
SPECS = in_batches()  # the optimizers the compiled loops step
TWELVE = list(SPECS)[:12]  # sgd ... adamax
VARIANTS = [optviz.Entry(name) for name in SPECS] + [
    optviz.Entry("adamw", {"amsgrad": True}, label="adamw, amsgrad"),
    optviz.Entry("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}, label="rmsprop, centered"),
    optviz.Entry("rmsprop", {"eps_placement": "inside"}, label="rmsprop, eps inside"),
    optviz.Entry("adam", {"eps_placement": "inside", "weight_decay": 0.1}, label="adam, eps inside"),
    optviz.Entry("adam", {"eps_placement": "keras", "bias_correction": False}, label="adam, keras"),
    optviz.Entry("adam", {"maximize": True}, label="adam, maximize"),
    optviz.Entry("adagrad", {"eps_placement": "inside", "lr_decay": 0.01}, label="adagrad, eps inside"),
    optviz.Entry("nadam", {"decoupled_weight_decay": True, "weight_decay": 0.1}, label="nadam, decoupled"),
    optviz.Entry("radam", {"beta2": 0.5}, label="radam, never rectified"),
    optviz.Entry("momentum", {"momentum": 0.0, "dampening": 0.5}, label="momentum 0, dampened"),
    optviz.Entry("nesterov", {"weight_decay": 0.1}, label="nesterov, weight decay"),
    optviz.Entry("lion", {"weight_decay": 0.1, "lr": 0.01}, label="lion, weight decay"),
    optviz.Entry("sgd", {"lr": 0.01}, optviz.schedule("cosine", t_max=400, warmup=20), label="sgd, cosine"),
]
BATCH = {"lr": np.array([1e-3, 1e-2, 3e-2]), "beta1": np.array([0.8, 0.9, 0.95])}  # a constants row per run
LRS = np.array([1e-4, 1e-3, 1e-2, 0.1, 1.0])  # a sweep: one constants row, the rule applied to whole arrays


def sweeps(**options) -> dict:
    """A learning-rate sweep of every optimizer and variant."""
    return {entry.label or entry.optimizer: optviz.run("six_hump_camel", entry.optimizer, steps=300, record=True,
                                                       schedule=entry.schedule, **{**entry.hparams, "lr": LRS},
                                                       **options) for entry in VARIANTS}

# A fresh process with an empty disk cache and no warm-up; its compile thread waits on `hold` until the races are run.
COLD = r"""
import gc, json, sys, threading
import numpy as np
from numba.core.dispatcher import Dispatcher
import optviz
from optviz import jit
from tests.test_compile_in_background import BATCH, TWELVE, VARIANTS, flatten, sweeps

hold = threading.Event()
jit.in_background("hold", hold.wait)
races = {"twelve": optviz.race("rastrigin", TWELVE, steps=5000, compile_in_background=True),
         "variants": optviz.race("six_hump_camel", VARIANTS, steps=400, compile_in_background=True),
         "batch": {"nadam": optviz.run("six_hump_camel", "nadam", steps=300, compile_in_background=True, **BATCH)},
         "sweeps": sweeps(compile_in_background=True)}
compiled = sorted({d.py_func.__qualname__ for d in gc.get_objects() if isinstance(d, Dispatcher) and d.signatures})
hold.set()
np.savez(sys.argv[1], **flatten(races))
print(json.dumps({"compiled": compiled}))
"""


def flatten(races: dict) -> dict[str, np.ndarray]:
    """Every recorded array of every trajectory, under "race|label|name"."""
    out = {}
    for race, trajectories in races.items():
        for label, traj in trajectories.items():
            arrays = {"path": traj.path, "loss": traj.loss, "grad": traj.grad, "lr": traj.lr,
                      "diverged_at": np.array(-1 if traj.diverged_at is None else traj.diverged_at),
                      "converged_at": np.array(-1 if traj.converged_at is None else traj.converged_at),
                      **{f"trace {name}": value for name, value in traj.trace.items()}}
            out.update({f"{race}|{label}|{name}": value for name, value in arrays.items() if value is not None})
    return out


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """The cold process's recorded arrays and its report."""
    folder = tmp_path_factory.mktemp("cold")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(folder / "numba-cache"), "OPTVIZ_WARMUP": "0",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", COLD, str(folder / "races.npz")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with np.load(folder / "races.npz") as arrays:
        return dict(arrays), json.loads(done.stdout.splitlines()[-1])


def test_a_cold_race_of_twelve_optimizers_compiles_nothing_before_it_returns(cold):
    _, report = cold
    assert report["compiled"] == []


def test_a_cold_race_gives_the_compiled_numbers_for_every_optimizer_and_variant(cold):
    arrays, _ = cold
    compiled = flatten({"twelve": optviz.race("rastrigin", TWELVE, steps=5000),
                        "variants": optviz.race("six_hump_camel", VARIANTS, steps=400),
                        "batch": {"nadam": optviz.run("six_hump_camel", "nadam", steps=300, **BATCH)},
                        "sweeps": sweeps()})
    assert arrays.keys() == compiled.keys()
    assert {key.split("|")[1] for key in arrays if key.startswith("twelve|")} == set(TWELVE)
    for key, value in compiled.items():
        np.testing.assert_allclose(arrays[key], value, rtol=1e-12, atol=0, err_msg=key)


def test_a_kernel_runs_as_its_python_source_until_the_compile_thread_has_compiled_it(monkeypatch):
    @njit
    def double(x):
        for i in range(x.size):
            x[i] = 2 * x[i]

    python = jit.uncompiled(double)
    calls = []
    monkeypatch.setattr(jit, "uncompiled", lambda fn: lambda *args: calls.append(args) or python(*args))
    x, hold = np.ones(3), threading.Event()
    jit.in_background(object(), hold.wait)
    try:
        run = jit.without_waiting(double, x)
        run(x)
        assert not double.signatures and len(calls) == 1
    finally:
        hold.set()
    jit.in_background(object(), lambda: None).result(timeout=300)  # the jobs run in order: the compile is done
    run(x)
    assert double.signatures and len(calls) == 1
    np.testing.assert_array_equal(x, 4.0)


def _threads_after(code: str, cache: Path, **env: str) -> list[str]:
    """The names of the threads running after `code`, in a fresh process."""
    code += "\nimport json, threading; print(json.dumps(sorted(t.name for t in threading.enumerate())))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=300, env={**os.environ, "NUMBA_CACHE_DIR": str(cache), **env})
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_front_end_starts_nothing(tmp_path):
    assert _threads_after("import optviz.ui", tmp_path) == ["MainThread"]


def test_the_app_start_warms_up_in_the_background_unless_OPTVIZ_WARMUP_is_0(tmp_path):
    start = "import optviz.ui as ui; ui.start()"
    assert _threads_after(start, tmp_path, OPTVIZ_WARMUP="0") == ["MainThread"]
    assert _threads_after(start, tmp_path, OPTVIZ_WARMUP="1") == ["MainThread", "optviz-compile"]
