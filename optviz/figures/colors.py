"""One colour per optimizer, the same in every figure.

Colours are strong and dark enough to read on a projector over the pale contour background. Each optimizer of
the catalogue has a preferred colour, so adding or removing a contestant does not repaint the others; a second
run of the same optimizer ("adam (2)", or two labelled Adam entries) gets the first colour no one else in the
race uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..optimizers import COLORS
from ..optimizers import SPECS as OPTIMIZERS

PALETTE = COLORS  # the catalogue's: a contestant without a colour of its own takes the first free one


def palette(labels: Iterable[str] | Mapping, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Colour of each label: its optimizer's preferred colour when free, else the first unused palette colour.

    `labels` is a list of labels or a race (dict label -> Trajectory, whose optimizers' names are then used);
    `names` maps a label to its optimizer's name where the label alone does not tell ("adam (2)" is read as a
    second Adam). Past 16 contestants the palette repeats.
    """
    found = {}
    if isinstance(labels, Mapping):
        found = {label: getattr(getattr(value, "optimizer", None), "name", None) for label, value in labels.items()}
    labels = list(labels)
    guessed = {label: label.split(" (")[0] for label in labels}
    return _assign(labels, {**guessed, **{k: v for k, v in found.items() if v}, **dict(names or {})})


def _assign(labels: list[str], names: dict[str, str]) -> dict[str, str]:
    colors: dict[str, str] = {}
    taken: set[str] = set()
    for label in labels:  # first pass: preferred colours, first come first served
        spec = OPTIMIZERS.get(names.get(label, label))
        preferred = spec.color if spec is not None else None
        if preferred and preferred not in taken:
            colors[label] = preferred
            taken.add(preferred)
    free = [c for c in PALETTE if c not in taken]
    for i, label in enumerate(label for label in labels if label not in colors):
        colors[label] = free[i] if i < len(free) else PALETTE[(i - len(free)) % len(PALETTE)]
    return {label: colors[label] for label in labels}
