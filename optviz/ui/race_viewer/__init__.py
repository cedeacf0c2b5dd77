"""The race viewer as a Streamlit component (custom components v2: inline JS and CSS in the page, no iframe).

The browser receives the compact payload of optviz.figures.race_payload and draws and plays it itself, so a
settings change costs a payload, not a figure rebuild. The same viewer.js and viewer.css play the standalone HTML
export (optviz.figures.export reads them as files: the figures layer imports nothing from here).

    race_viewer(race_payload(races), key="race", on_start=callback)   # callback reads race_click(key)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent
JS = (HERE / "viewer.js").read_text(encoding="utf-8")
CSS = (HERE / "viewer.css").read_text(encoding="utf-8")

_component = st.components.v2.component("optviz.race_viewer", js=JS, css=CSS)


def payload_json(payload: dict) -> bytes:
    """The payload as the bytes the viewer receives: serialise it once per race (and cache that), not per run."""
    return json.dumps(payload, separators=(",", ":")).encode()


def race_viewer(payload: dict | bytes, *, key: str, on_start: Callable[[], None] | None = None,
                presenting: bool = False, rows: bool = True):
    """Mount the viewer. `on_start` runs when the map is clicked (race_click(key) then holds the point); without
    it the map is not clickable.

    presenting: larger type and the race fitted into the window; rows: False draws the map alone.
    The component's data is the JSON of {"options": {...}, "payload": payload} as bytes (AppTest reads the race
    there, json.loads(element.proto.bytes)): Streamlit sends bytes as they are and identifies them by one hash,
    where a dict would be serialised twice on every run (once sorted, for its identity).
    """
    options = dict(font_scale=1.3 if presenting else 1.0, rows=rows, min_height=360 if presenting else 300,
                   bottom_margin=8 if presenting else 16, clickable=on_start is not None)
    body = payload if isinstance(payload, bytes) else payload_json(payload)
    data = b'{"options":' + json.dumps(options).encode() + b',"payload":' + body + b"}"
    return _component(key=key, data=data, on_start_change=on_start or (lambda: None))


def race_click(key: str) -> dict | None:
    """The point {"x", "y"} of the click that triggered this run, if any."""
    value = st.session_state.get(key)
    return None if value is None else value.get("start")
