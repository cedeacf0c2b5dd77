"""Legend labels shared by every figure: a run that diverged says so, and where."""

from __future__ import annotations


def legend_label(label: str, traj) -> str:
    """`label`, flagged with the step of divergence when the run diverged ("sgd — diverged at step 37")."""
    if traj.diverged_at is not None:
        return f"{label} — diverged at step {traj.diverged_at}"
    return label


def hover_detail(label: str, traj) -> str:
    """What a path's hover box adds to its label: the optimizer's full name, unless the label already is that name,
    and the learning rate ("α = 0.1" for a run labelled "Adam"; "Adam, α = 0.1" for one labelled "fast")."""
    spec, lr = traj.optimizer.spec, traj.optimizer.hparams.get("lr")
    parts = [] if label.casefold() == spec.title.casefold() else [spec.title]
    if isinstance(lr, (int, float)):
        parts.append(f"α = {lr:.3g}")
    return ", ".join(parts)
