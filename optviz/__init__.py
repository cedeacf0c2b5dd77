"""optviz: optimizer trajectories on 2-D loss surfaces, in NumPy."""

from .optimizers import SPECS as OPTIMIZERS, Optimizer, optimizer
from .schedules import SCHEDULES, schedule

__all__ = ["OPTIMIZERS", "SCHEDULES", "Optimizer", "optimizer", "schedule"]
