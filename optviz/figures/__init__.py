"""Plotly figures of races: the animated race figure, the 3-D surface, the loss curves, the contour map.

    races = optviz.race("rosenbrock", ["adam", "sgd", "momentum"], steps=1000)
    fig = race_figure(races)            # map + state rows, Play/Pause, speeds, step slider
    fig.layout.meta["frame_steps"]      # the step each slider position shows
    surface_3d_figure(races), loss_figure(races), contour_figure(races["adam"].surface)

Colours come from palette(): an optimizer has the same colour in every figure. This package uses Plotly and
NumPy only (no Streamlit), so the app, notebooks and tests can all use it. In Streamlit,
st.plotly_chart(fig, theme=None) keeps the figures' own styling (Streamlit's theme restyles axes and fonts).
The race figure's title is its legend's title (fig.layout.legend.title.text).
"""

from .colors import PALETTE, palette
from .counterexample import counterexample_figure
from .loss import loss_figure
from .race import frame_steps, race_figure
from .rows import ROWS
from .surface import contour_figure, minimum_value, surface_3d_figure
from .sweeps import basins_figure, basins_panels_figure, heatmap_figure, sensitivity_figure

__all__ = ["PALETTE", "ROWS", "basins_figure", "basins_panels_figure", "contour_figure", "counterexample_figure",
           "frame_steps", "heatmap_figure", "loss_figure", "minimum_value", "palette", "race_figure",
           "sensitivity_figure", "surface_3d_figure"]
