"""Legend labels shared by every figure: a run that diverged says so, and where."""

from __future__ import annotations


def legend_label(label: str, traj) -> str:
    """`label`, flagged with the step of divergence when the run diverged ("sgd — diverged at step 37")."""
    if traj.diverged_at is not None:
        return f"{label} — diverged at step {traj.diverged_at}"
    return label


def hover_title(label: str, traj) -> str:
    """Bold label, the optimizer's full name and learning rate: the first line of a path's hover box."""
    spec, lr = traj.optimizer.spec, traj.optimizer.hparams.get("lr")
    rate = f", α = {lr:.3g}" if isinstance(lr, (int, float)) else ""
    return f"<b>{label}</b> · {spec.title}{rate}"
