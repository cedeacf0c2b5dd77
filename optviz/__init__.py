"""optviz: optimizer trajectories on 2-D loss surfaces, in NumPy.

optviz.widget(...) draws a race in a notebook (optviz/widget.py): loaded at its first use, so that importing optviz
imports neither anywidget nor ipywidgets (pip install 'optviz[notebook]' installs them).
"""

from .custom import custom_surface
from .engine import Entry, Trajectory, per_evaluation, race, run
from .objective import Objective
from .optimizers import (
    ACCUMULATOR,
    FIRST_MOMENT,
    INFINITY_NORM,
    MEAN_GRADIENT,
    RUNNING_MAX,
    SECOND_MOMENT,
    UPDATE_AVERAGE,
    VELOCITY,
    Optimizer,
)
from .optimizers import SPECS as OPTIMIZERS
from .params import Param
from .registry import register_optimizer, unregister_optimizer
from .schedules import SCHEDULES, schedule
from .second_order import SPECS as STEPPED_OPTIMIZERS
from .second_order import VectorOptimizer, optimizer
from .surfaces import SPECS as SURFACES
from .surfaces import Surface, surface

__all__ = ["ACCUMULATOR", "FIRST_MOMENT", "INFINITY_NORM", "MEAN_GRADIENT", "OPTIMIZERS", "RUNNING_MAX", "SCHEDULES",
           "SECOND_MOMENT", "STEPPED_OPTIMIZERS", "SURFACES", "UPDATE_AVERAGE", "VELOCITY", "Entry", "Objective",
           "Optimizer", "Param", "Surface", "Trajectory", "VectorOptimizer", "custom_surface", "optimizer",
           "per_evaluation", "race", "register_optimizer", "run", "schedule", "surface",
           "unregister_optimizer"]  # and widget, loaded on use


def __getattr__(name: str):
    if name == "widget":  # the module optviz/widget.py, callable as its function widget(...)
        import importlib

        return importlib.import_module(".widget", __name__)
    raise AttributeError(f"module 'optviz' has no attribute {name!r}")
