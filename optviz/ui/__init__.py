"""The Streamlit front end. Importing it (the app's first run) warms the default page's compiled loops."""

from .. import fused

fused.COMPILE_IN_BACKGROUND = True  # a class sees a new pair's race at once, not after its loop compiles
fused.warm_up()
