"""optviz: optimizer trajectories on 2-D loss surfaces. Run with `streamlit run app.py`."""

import streamlit as st

from optviz.ui import explorer, mnist, start, sweeps, user_optimizers

st.set_page_config(page_title="optviz · optimizer trajectories", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")
start()  # the warm-up of the compiled loops, in the background, once per server ($OPTVIZ_WARMUP=0: none)
for problem in user_optimizers():  # the teacher's own optimizers ($OPTVIZ_OPTIMIZERS), loaded once per server
    st.warning(problem)

st.html(explorer.PAGE_CSS)  # less empty space above the tabs: the race, its controls and legend fit one screen
explorer.sidebar()  # lesson and surface; the workspace draws start, steps and optimizers, kept in the URL
# Only the open tab runs: a page load computes one tab's figures, not all three.
race_tab, sweeps_tab, mnist_tab = st.tabs(["Race explorer", "Sweeps & basins", "MNIST"], key="tab",
                                          on_change="rerun", bind="query-params")
for tab, render, above in ((race_tab, explorer.render, explorer.race_options), (sweeps_tab, sweeps.render, None)):
    if tab.open:
        with tab:
            explorer.workspace(render, above)
if mnist_tab.open:
    explorer.hide_sidebar()  # the race settings do nothing here
    explorer.workspace()  # drawn (hidden) all the same, so they keep their values
    with mnist_tab:
        mnist.render()
