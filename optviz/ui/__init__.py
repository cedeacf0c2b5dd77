"""The Streamlit front end: the tabs (explorer, sweeps, mnist) and `start`, what a server does at its first page."""

import os

from ..fused import warm_up

WARMUP = "OPTVIZ_WARMUP"  # 0: no warm-up at start (a cold server, as in tests of the first race)


def start() -> None:
    """Warm the default page's compiled loops in the background (optviz.fused.warm_up, once per process), unless
    $OPTVIZ_WARMUP is 0. The app calls it at every run; only the first call starts anything."""
    if os.environ.get(WARMUP, "1").strip() != "0":
        warm_up()
