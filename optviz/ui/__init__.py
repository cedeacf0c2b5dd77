"""The Streamlit front end: the page (shell), the settings the tabs share (workspace), the tabs (race, sweeps,
mnist); `start` and `user_optimizers`, what a server does at its first page."""

import logging
import os

from ..registry import import_user_optimizers
from ..warmup import warm_up

WARMUP = "OPTVIZ_WARMUP"  # 0: no warm-up at start (a cold server, as in tests of the first race)
USER_OPTIMIZERS = "OPTVIZ_OPTIMIZERS"  # modules that register the teacher's own optimizers, imported at start
_loaded: list[str] | None = None  # what loading them said, once per process


def start() -> None:
    """Warm the default page's compiled loops in the background (optviz.warmup.warm_up, once per process), unless
    $OPTVIZ_WARMUP is 0. The app calls it at every run; only the first call starts anything."""
    if os.environ.get(WARMUP, "1").strip() != "0":
        warm_up()


def user_optimizers() -> list[str]:
    """Import the modules named in $OPTVIZ_OPTIMIZERS once per process (their optimizers join the catalogue);
    the messages of those that failed, for the page to show."""
    global _loaded
    if _loaded is None:
        _loaded = import_user_optimizers(os.environ.get(USER_OPTIMIZERS, ""))
        for message in _loaded:
            logging.getLogger("optviz").error(message)
    return _loaded
