"""optviz: optimizer trajectories on 2-D loss surfaces. Run with `streamlit run app.py`."""

import streamlit as st

from optviz.ui import shell, start, user_optimizers

st.set_page_config(page_title="optviz · optimizer trajectories", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")
start()  # the warm-up of the compiled loops, in the background, once per server ($OPTVIZ_WARMUP=0: none)
for problem in user_optimizers():  # the teacher's own optimizers ($OPTVIZ_OPTIMIZERS), loaded once per server
    st.warning(problem)
shell.main()  # the tabs (optviz.ui.shell.TABS), drawn from the settings in the sidebar and the link
