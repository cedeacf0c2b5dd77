"""optviz: optimizer trajectories on 2-D loss surfaces, in NumPy."""

from .optimizers import SPECS as OPTIMIZERS, Optimizer, optimizer
from .schedules import SCHEDULES, schedule
from .surfaces import SPECS as SURFACES, Surface, surface
from .engine import Entry, Trajectory, race, run

__all__ = ["OPTIMIZERS", "SCHEDULES", "SURFACES", "Entry", "Optimizer", "Surface", "Trajectory", "optimizer", "race",
           "run", "schedule", "surface"]
