"""The race viewer as a Streamlit component (custom components v2: inline JS and CSS in the page, no iframe).

The browser receives the compact payload of optviz.figures.race_payload and draws and plays it itself, so a
settings change costs a payload, not a figure rebuild. The same viewer.js and viewer.css play the standalone HTML
export (optviz.figures.export reads them as files: the figures layer imports nothing from here).

    race_viewer(race_payload(races), key="race", on_start=callback)   # callback reads race_click(key)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent
JS = (HERE / "viewer.js").read_text(encoding="utf-8")
CSS = (HERE / "viewer.css").read_text(encoding="utf-8")

_component = st.components.v2.component("optviz.race_viewer", js=JS, css=CSS)


def race_viewer(payload: dict, *, key: str, on_start: Callable[[], None] | None = None,
                presenting: bool = False, rows: bool = True):
    """Mount the viewer. `on_start` runs when the map is clicked (race_click(key) then holds the point); without
    it the map is not clickable.

    presenting: larger type and the race fitted into the window; rows: False draws the map alone.
    The component's data is {"payload": payload, "options": {...}}: AppTest reads the race from there.
    """
    options = dict(font_scale=1.3 if presenting else 1.0, rows=rows, min_height=360 if presenting else 300,
                   bottom_margin=8 if presenting else 16, clickable=on_start is not None)
    return _component(key=key, data={"payload": payload, "options": options},
                      on_start_change=on_start or (lambda: None))


def race_click(key: str) -> dict | None:
    """The point {"x", "y"} of the click that triggered this run, if any."""
    value = st.session_state.get(key)
    return None if value is None else value.get("start")
