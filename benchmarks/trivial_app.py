"""The yardstick of benchmarks/browser.py: a trivial Streamlit page (one slider, one small Plotly chart)."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

rate = st.slider("learning rate", 0.001, 0.1, 0.01, step=0.001, format="%.3f", key="lr")
steps = np.arange(50)
st.plotly_chart(go.Figure(go.Scatter(x=steps, y=np.exp(-rate * steps), mode="lines")), key="chart")
