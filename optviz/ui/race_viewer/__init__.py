"""The race viewer as a Streamlit component (custom components v2: inline JS and CSS in the page, no iframe).

The browser receives the compact payload of optviz.figures.race_payload and draws and plays it itself, so a
settings change costs a payload, not a figure rebuild. The drawing is viewer.js's, shared by every host: here with
streamlit.js as the component's entry (one module, optviz.figures.viewer_source), which also plays the standalone
HTML export (optviz.figures.export), and with anywidget.js in a notebook (optviz.widget).

    race_viewer(race_payload(races), key="race", on_settle=callback)   # callback reads race_settled(key)

The map (its picture and the value grid of the hover readout, over half of a race's bytes) reaches a page once:
a learning-rate change on the same surface sends the paths alone, and the page keeps the maps it has, by id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NamedTuple

import streamlit as st

from ...figures.embed import script_json
from ...figures.viewer_source import viewer_css, viewer_module

JS = viewer_module("streamlit.js")
CSS = viewer_css()

PRESENTING_FONT_SCALE = 1.4  # the viewer's 12 px tick labels at 16.8 px: legible from the back of a room
PRESENTING_PATH_WIDTH = 3.8  # px, against 2.6 on a laptop screen

_component = st.components.v2.component("optviz.race_viewer", js=JS, css=CSS)


class ViewerData(NamedTuple):
    """A payload serialised for the viewer: its map apart (with an id of its content) from the rest."""
    map_id: str
    map: bytes
    rest: bytes


def viewer_data(payload: dict) -> ViewerData:
    """Serialise a payload once per race (and cache that), not per run."""
    rest = {name: value for name, value in payload.items() if name != "map"}
    map_json = _json(payload["map"])
    return ViewerData(hashlib.sha1(map_json).hexdigest()[:16], map_json, _json(rest))


def _json(value) -> bytes:
    return script_json(value).encode()


def race_viewer(payload: dict | ViewerData, *, key: str, on_settle: Callable[[], None] | None = None,
                presenting: bool = False, rows: bool = True, scene: str = ""):
    """Mount the viewer. `on_settle` runs when the reader releases a hyperparameter's slider or the start point
    after dragging (or clicks the map): race_settled(key) then holds what was settled, in one message. Without it
    the viewer still races under the finger, and nothing comes back.

    presenting: larger type (ticks of 16 px and more), wider paths, the race fitted into the window and the map
    the largest thing in it; rows: False draws the map alone. scene: a new value starts the race at its first
    step (a new lesson or surface); the same one keeps the step shown (a hyperparameter changed).
    The component's data is the JSON of {"options": {...}, "payload": payload without its map, "map_id": …,
    "map": the map, left out if this page has it} as bytes (AppTest reads the race there,
    json.loads(element.proto.bytes)): Streamlit sends bytes as they are and identifies them by one hash, where a
    dict would be serialised twice on every run (once sorted, for its identity).
    """
    data = payload if isinstance(payload, ViewerData) else viewer_data(payload)
    options = dict(font_scale=PRESENTING_FONT_SCALE if presenting else 1.0, rows=rows,
                   min_height=360 if presenting else 300, bottom_margin=8 if presenting else 16,
                   clickable=on_settle is not None, scene=scene,
                   path_width=PRESENTING_PATH_WIDTH if presenting else None, map_first=presenting)
    sent = st.session_state.setdefault(_maps_key(key), set())  # the maps this page holds (a session is a page)
    known = data.map_id in sent
    sent.add(data.map_id)
    body = (b'{"options":' + _json(options) + b',"payload":' + data.rest + b',"map_id":' + _json(data.map_id)
            + (b"" if known else b',"map":' + data.map) + b"}")
    return _component(key=key, data=body, on_settle_change=on_settle or (lambda: None),
                      on_missing_map_change=lambda: _forget_maps(key))


def _maps_key(key: str) -> str:
    return f"{key}.maps"


def _forget_maps(key: str) -> None:
    """The page lacks a map it was sent (the viewer keeps a few): the rerun this triggers sends it again."""
    st.session_state[_maps_key(key)] = set()


def race_settled(key: str):
    """What the reader settled in the viewer, as the browser sent it (to be checked: see race.settled_values): a
    dict {"hparams": [{"run", "name", "value"}], "start": {"x", "y"} or None}, or None."""
    value = st.session_state.get(key)
    return None if value is None else value.get("settle")
