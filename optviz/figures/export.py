"""Exports of a race: a standalone HTML page that plays offline, and the trajectories as CSV."""

from __future__ import annotations

import csv
import html
import io

import numpy as np

from ..params import LR
from .data_panel import data_panel
from .embed import script_json
from .race_payload import race_payload
from .viewer_source import viewer_css, viewer_module


def race_html(races: dict, surface=None, **payload_options) -> str:
    """A complete HTML page that plays the race in the app's own viewer, offline: the viewer's JavaScript and CSS
    and the race's data are inlined, nothing is fetched (on a slide, from a file, with no network)."""
    payload_options.setdefault("data_panel", data_panel(races, surface))  # None unless the surface has data
    payload = race_payload(races, surface, **payload_options)
    js, css = viewer_module("streamlit.js"), viewer_css()  # the app's own viewer, as its component gets it
    data = script_json({"payload": payload, "options": {"min_height": 420}})
    title = html.escape(payload["title"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body {{ margin: 12px 16px; background: white; }}
{css}</style></head>
<body><div id="race"></div>
<script type="module">
{js}
mountRaceViewer({{data: {data}, parentElement: document.getElementById("race"), setTriggerValue() {{}}}});
</script></body></html>
"""


def trajectories_csv(races: dict) -> str:
    """One row per optimizer and step: position, loss, gradient, learning rate and every traced quantity.

    Columns are the union over the race; a quantity an optimizer does not have is left empty. Values keep full
    precision (repr), so the CSV reproduces the run exactly.
    """
    trace_names = list(dict.fromkeys(name for traj in races.values() for name in traj.trace))
    header = ["optimizer", "step", "x", "y", "loss", "grad_x", "grad_y", LR]
    for name in trace_names:
        header += [f"{name}_x", f"{name}_y"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for label, traj in races.items():
        steps = len(traj.path) - 1
        for t in range(steps + 1):
            row = [label, t, *_pair(traj.path[t]), _num(traj.loss[t])]
            row += [*_pair(traj.grad[t - 1]), _num(traj.lr[t - 1])] if t > 0 and traj.grad is not None else [""] * 3
            for name in trace_names:
                values = traj.trace.get(name)
                row += _pair(values[t - 1]) if values is not None and t > 0 else ["", ""]
            writer.writerow(row)
    return out.getvalue()


def _num(value) -> str:
    value = float(value)
    return repr(value) if np.isfinite(value) else ""


def _pair(value) -> list[str]:
    """Two columns from an x/y pair, or a scalar quantity (such as bc1) repeated in the x column only."""
    value = np.asarray(value, dtype=float)
    if value.ndim == 0 or value.size == 1:
        return [_num(value.reshape(-1)[0]), ""]
    return [_num(value[0]), _num(value[1])]
