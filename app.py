"""optviz: the Streamlit app. Run with `streamlit run app.py`."""

import streamlit as st

import optviz

st.set_page_config(page_title="optviz", page_icon="🧭", layout="wide")
st.title("optviz")
st.write("Optimizer trajectories on 2-D loss surfaces. The interactive explorer is on its way; the engine is ready:")
races = optviz.race("rosenbrock", ["adam", "sgd", "momentum"], steps=500, hparams={"adam": {"lr": 0.05}})
st.table({label: {"final loss": f"{t.final_loss:.3g}", "steps to minimum": t.converged_at or "—"}
          for label, t in races.items()})
