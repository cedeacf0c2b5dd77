"""The page around the tabs: its CSS, the registry of tabs (TABS) and main(), which draws the page (app.py calls it).

Every tab works from the workspace's settings (the sidebar); only the open tab runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from . import mnist, race, sweeps, workspace

# Less empty space above the tabs: the race, its controls and legend fit one screen
PAGE_CSS = "<style>.block-container { padding-top: 3.2rem !important; padding-bottom: 2rem; }</style>"


@dataclass(frozen=True)
class Tab:
    """One tab: its title (also its value in a link, ?tab=…), the function that draws it, and the session-state
    keys of its widgets that it does not draw on every run, kept while it is closed (Streamlit drops a widget's
    value on a run that does not draw it)."""

    title: str
    page: Callable[[], None]
    keep: tuple[str, ...] = ()


def _mnist_page() -> None:
    """The MNIST tab: the race settings do nothing there, so the sidebar is hidden (still drawn: they keep their
    values)."""
    workspace.hide_sidebar()
    workspace.draw()
    mnist.render()


TABS = (
    Tab("Race explorer", race.page, keep=race.VIEW_OPTIONS),
    Tab("Sweeps & basins", sweeps.page),
    Tab("MNIST", _mnist_page),
)


def main() -> None:
    """Draw the page: the sidebar's lesson and surface, the tabs, and the open tab (the others do not run: a page
    load computes one tab's figures, not all three)."""
    st.html(PAGE_CSS)
    state = st.session_state
    for key in (key for tab in TABS for key in tab.keep):
        if key in state:
            state[key] = state[key]
    workspace.sidebar()  # lesson and surface; each tab draws start, steps and optimizers through the workspace
    boxes = st.tabs([tab.title for tab in TABS], key=workspace.TAB, on_change="rerun", bind="query-params")
    for tab, box in zip(TABS, boxes):
        if box.open:
            with box:
                tab.page()
