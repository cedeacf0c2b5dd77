"""optviz: optimizer trajectories on 2-D loss surfaces. Run with `streamlit run app.py`."""

import streamlit as st

from optviz.ui import explorer, mnist, sweeps

st.set_page_config(page_title="optviz · optimizer trajectories", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")

race_tab, sweeps_tab, mnist_tab = st.tabs(["Race explorer", "Sweeps & basins", "MNIST"])
with race_tab:
    explorer.render()
with sweeps_tab:
    sweeps.render()
with mnist_tab:
    mnist.render()
