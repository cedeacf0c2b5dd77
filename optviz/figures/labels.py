"""Legend labels shared by every figure: a run that diverged says so, and where."""

from __future__ import annotations

from ..params import LR


def legend_label(label: str, traj) -> str:
    """`label`, flagged with the step of divergence when the run diverged ("sgd — diverged at step 37")."""
    if traj.diverged_at is not None:
        return f"{label} — diverged at step {traj.diverged_at}"
    return label


def full_name(traj) -> str:
    """The optimizer's full name and learning rate: "Adam, α = 0.1"."""
    return ", ".join(filter(None, [traj.optimizer.spec.title, _rate(traj)]))


def hover_detail(label: str, traj) -> str:
    """What a path's hover box adds to its label: the full name, or only the learning rate when the label already is
    the optimizer's name ("α = 0.1" for a run labelled "Adam"; "Adam, α = 0.1" for one labelled "fast")."""
    return _rate(traj) if label.casefold() == traj.optimizer.spec.title.casefold() else full_name(traj)


def _rate(traj) -> str:
    lr = traj.optimizer.hparams.get(LR)
    return f"α = {lr:.3g}" if isinstance(lr, (int, float)) else ""
