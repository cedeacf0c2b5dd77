"""Figures of races: the race viewer's data, and Plotly figures of the 3-D surface, the loss curves, the map.

    races = optviz.race("rosenbrock", ["adam", "sgd", "momentum"], steps=1000)
    race_payload(races)                 # map, paths, arrows, state rows: what the app's race viewer draws
    race_html(races)                    # the same viewer, standalone and offline (figures.export)
    surface_3d_figure(races), loss_figure(races), contour_figure(races["adam"].surface)

Colours come from palette(): an optimizer has the same colour in every figure. This package uses Plotly and
NumPy only (no Streamlit), so the app, notebooks and tests can all use it. In Streamlit,
st.plotly_chart(fig, theme=None) keeps the figures' own styling (Streamlit's theme restyles axes and fonts).
"""

from .colors import PALETTE, palette
from .counterexample import counterexample_figure
from .data_panel import data_panel
from .loss import loss_figure
from .race_payload import race_payload
from .rows import ROWS
from .surface import contour_figure, minimum_value, surface_3d_figure
from .sweeps import basins_figure, basins_panels_figure, heatmap_figure, sensitivity_figure

__all__ = ["PALETTE", "ROWS", "basins_figure", "basins_panels_figure", "contour_figure", "counterexample_figure",
           "data_panel", "heatmap_figure", "loss_figure", "minimum_value", "palette", "race_payload",
           "sensitivity_figure", "surface_3d_figure"]
