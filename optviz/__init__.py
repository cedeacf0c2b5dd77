"""optviz: optimizer trajectories on 2-D loss surfaces, in NumPy."""

from .custom import custom_surface
from .engine import Entry, Trajectory, race, run
from .optimizers import SPECS as OPTIMIZERS
from .optimizers import Optimizer, optimizer
from .schedules import SCHEDULES, schedule
from .surfaces import SPECS as SURFACES
from .surfaces import Surface, surface

__all__ = ["OPTIMIZERS", "SCHEDULES", "SURFACES", "Entry", "Optimizer", "Surface", "Trajectory", "custom_surface",
           "optimizer", "race", "run", "schedule", "surface"]
