"""Race data benchmarks: the race viewer's payload beside a naive Plotly animation of the same race.

    python benchmarks/bench_figures.py [--repeat 5]

For a 6-optimizer race on Rosenbrock: engine time, payload build time, JSON size (what Streamlit sends to the
browser) and serialization time. The naive reference is the obvious Plotly animation: one go.Frame per step,
each redrawing every path up to that step; it has no optimizer-state rows, and is built at 500 steps only.
Times are medians of --repeat runs in this process. "Cold" builds render the surface's map again; "warm" ones
reuse it, as the app does while the surface stays the same. (What the browser then does with it:
benchmarks/browser.py.)
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
import optviz  # noqa: E402
from optviz.figures import race_payload  # noqa: E402
from optviz.figures import surface as figure_surface  # noqa: E402

RACE = ["adam", "sgd", "momentum", "nesterov", "rmsprop", "adagrad"]
SURFACE = "rosenbrock"


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median seconds of `repeat` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def cold_race_payload(races):
    figure_surface._map_picture.cache_clear()  # forget the rendered map: the first race on a surface
    importlib.import_module("optviz.figures.race_payload")._cached_map.cache_clear()  # and its hover grid
    return race_payload(races)


def naive_figure(races) -> go.Figure:
    """The obvious animation: a contour trace, and for every step a go.Frame carrying each path's whole prefix."""
    surface = next(iter(races.values())).surface
    xs, ys, z = surface.grid(150)
    paths = [traj.path for traj in races.values()]
    data = [go.Contour(x=xs, y=ys, z=np.log10(z - z.min() + 1e-3), showscale=False)]
    data += [go.Scatter(x=p[:1, 0], y=p[:1, 1], mode="lines", name=label) for label, p in zip(races, paths)]
    steps = len(paths[0])
    frames = [go.Frame(name=str(t), traces=list(range(1, len(paths) + 1)),
                       data=[go.Scatter(x=p[:t + 1, 0], y=p[:t + 1, 1]) for p in paths]) for t in range(steps)]
    slider = dict(steps=[dict(label=str(t), method="animate", args=[[str(t)], dict(mode="immediate")])
                         for t in range(steps)])
    play = dict(type="buttons", buttons=[dict(label="Play", method="animate", args=[None])])
    return go.Figure(data=data, layout=go.Layout(sliders=[slider], updatemenus=[play]), frames=frames)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"Race: {', '.join(RACE)} on {SURFACE} (median of {repeat})")
    header = (f"  {'':<34}{'engine':>9}{'build cold':>12}{'build warm':>12}{'to_json':>10}{'JSON':>10}"
              f"{'frames':>8}")
    print(header)
    for steps in (500, 1000):
        engine, races = timed(lambda steps=steps: optviz.race(SURFACE, RACE, steps=steps), repeat)
        cold, _ = timed(lambda races=races: cold_race_payload(races), repeat)
        warm, payload = timed(lambda races=races: race_payload(races), repeat)
        dump, text = timed(lambda payload=payload: json.dumps(payload), repeat)
        print(f"  {f'race_payload, {steps:,} steps, traces':<34}{engine * 1e3:7.1f}ms{cold * 1e3:10.1f}ms"
              f"{warm * 1e3:10.1f}ms{dump * 1e3:8.1f}ms{len(text) / 1e6:7.2f} MB{'—':>8}")
    steps = 500
    races = optviz.race(SURFACE, RACE, steps=steps)
    naive_repeat = max(1, min(repeat, 2))  # seconds per build
    build, fig = timed(lambda: naive_figure(races), naive_repeat)
    dump, text = timed(fig.to_json, naive_repeat)
    print(f"  {f'naive go.Frame prefixes, {steps} steps':<34}{'':>9}{build * 1e3:10.1f}ms{'':>12}"
          f"{dump * 1e3:8.1f}ms{len(text) / 1e6:7.2f} MB{len(fig.frames):>8}")


if __name__ == "__main__":
    main()
