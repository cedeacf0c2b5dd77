"""The Streamlit front end. Importing it (the app's first run) warms the default page's compiled loops."""

from ..fused import warm_up

warm_up()
