"""The training loss on the plane that best holds the optimizers' trajectories (Li et al., 2018, §7).

    scape = loss_landscape([adam_run, sgd_run])     # after training
    scape.alpha, scape.beta, scape.loss              # loss[j, i] at θ* + alpha[i]·d₁ + beta[j]·d₂
    scape.paths["adam"]                              # (k, 2): each weight snapshot projected on the plane

Li et al. ("Visualizing the Loss Landscape of Neural Nets") centre the plot on the final weights θ* and take
as directions the first two principal components of the trajectory's offsets θᵢ − θ*: the plane in which the
path moves most. Here the offsets of every run given are pooled (they share the architecture, and with the
same seed the starting point), θ* is the first run's final weights, and the loss is the mean cross-entropy
over a fixed sample of training digits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .model import MLP, mean_cross_entropy
from .train import TrainingRun


@dataclass(frozen=True, eq=False)
class Landscape:
    """The loss on a grid of the plane θ* + α d₁ + β d₂, and each run's path projected onto it."""

    alpha: np.ndarray                  # (R,) coordinates along d₁
    beta: np.ndarray                   # (R,) coordinates along d₂
    loss: np.ndarray                   # (R, R): loss[j, i] at (alpha[i], beta[j]), ready for a contour plot
    paths: dict[str, np.ndarray]       # label -> (k, 2): snapshots projected, (θᵢ − θ*)·d₁, (θᵢ − θ*)·d₂
    path_steps: dict[str, np.ndarray]  # label -> (k,): the step of each snapshot
    path_loss: dict[str, np.ndarray]   # label -> (k,): the true loss of each snapshot (off the plane) on the sample
    explained_variance: np.ndarray     # (2,): share of the offsets' variance along d₁ and d₂
    origin: str                        # the run whose final weights θ* sit at (0, 0)
    n_samples: int                     # training digits the loss is averaged over


def loss_landscape(runs: Sequence[TrainingRun] | Mapping[str, TrainingRun], data=None, *, resolution: int = 25,
                   n_samples: int = 1000, seed: int = 0, margin: float = 0.2,
                   progress: Callable[[int, int], None] | None = None) -> Landscape:
    """Evaluate the loss on a `resolution`² grid spanning every projected path (plus `margin` of its extent).

    `data` defaults to the first run's; `n_samples` training digits are drawn once with `seed`, the same for
    every grid point. `progress(done, total)` is called as grid rows and path points are evaluated.
    """
    labelled = _labelled(runs)
    if not labelled:
        raise ValueError("loss_landscape needs at least one training run")
    sizes = {run.model.sizes for run in labelled.values()}
    if len(sizes) > 1:
        raise ValueError(f"the runs have different architectures {sorted(sizes)}: a shared plane needs one")
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    data = data if data is not None else next(iter(labelled.values())).data
    x, y = _sample(data, n_samples, seed)

    trajectories = {label: run.snapshots() for label, run in labelled.items()}
    origin_label = next(iter(labelled))
    origin = trajectories[origin_label][1][-1]
    offsets = {label: w - origin for label, (_, w) in trajectories.items()}
    directions, explained = principal_directions(list(offsets.values()))
    paths = {label: offset @ directions for label, offset in offsets.items()}
    del offsets   # as large as the snapshots: not kept while the grid is evaluated

    alpha, beta = (_axis(np.concatenate([p[:, k] for p in paths.values()]), resolution, margin) for k in (0, 1))
    total = resolution * resolution + sum(len(p) for p in paths.values())
    report = progress or (lambda done, total: None)
    model = _like(next(iter(labelled.values())).model)
    plane = (_PlaneLoss if isinstance(model, MLP) else _WeightsPlaneLoss)(model, origin, directions, x, y)
    loss = np.empty((resolution, resolution))
    for j, b in enumerate(beta):
        loss[j] = plane.row(alpha, b)
        report((j + 1) * resolution, total)

    done = resolution * resolution
    path_loss = {}
    for label, (_, weights) in trajectories.items():
        path_loss[label] = np.empty(len(weights))
        for i, w in enumerate(weights):
            model.flat[...] = w
            path_loss[label][i] = mean_cross_entropy(model.logits(x).astype(np.float64), y)
            done += 1
        report(done, total)
    return Landscape(alpha, beta, loss, paths, {label: steps for label, (steps, _) in trajectories.items()},
                     path_loss, explained, origin_label, len(y))


def principal_directions(offsets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The top two principal directions (P, 2), orthonormal, of the rows of the offsets, and their variance shares.

    With A the offsets stacked (n, P), n ≪ P, and H = I − 11ᵀ/n the centring matrix, the principal directions
    are dₖ = Aᵀ H uₖ / √λₖ where (λₖ, uₖ) are the top eigenpairs of the centred Gram matrix H A Aᵀ H (n × n):
    products with A instead of an SVD of the P-wide matrix, taken block by block so A is never copied whole.
    """
    sizes = [len(block) for block in offsets]
    n = sum(sizes)
    if n < 3:
        raise ValueError(f"the trajectories have {n} snapshots; a plane needs at least 3")
    gram = np.block([[(a @ b.T).astype(np.float64) for b in offsets] for a in offsets])
    centring = np.eye(n) - 1.0 / n
    centred = centring @ gram @ centring
    eigenvalues, eigenvectors = np.linalg.eigh(centred)
    top = np.argsort(eigenvalues)[::-1][:2]
    lam = eigenvalues[top]
    if lam[1] <= lam[0] * 1e-12:
        raise ValueError("the trajectories move along a single direction: a plane needs two (train longer?)")
    coefficients = (centring @ eigenvectors[:, top] / np.sqrt(lam)).astype(np.float32)
    rows = np.cumsum([0, *sizes])
    directions = sum(block.T @ coefficients[start:stop] for block, start, stop in zip(offsets, rows, rows[1:]))
    q, r = np.linalg.qr(directions.astype(np.float64))   # re-orthonormalize what float32 rounding bent,
    q *= np.sign(np.diag(r))                              # keeping each direction's orientation
    return q.astype(np.float32), lam / np.trace(centred)


class _PlaneLoss:
    """Loss at θ* + α d₁ + β d₂, using that the first layer is linear in its weights:

        x(W* + α D₁ + β D₂) + (b* + α c₁ + β c₂) = Z₀ + α Z₁ + β Z₂,   Zₖ = x Wₖ + bₖ computed once,

    so a grid point costs two passes over (n × hidden) and the later, smaller layers, instead of the big
    (n × 784)·(784 × hidden) product. The later layers' weights are mixed per point into preallocated buffers.
    """

    def __init__(self, model: MLP, origin: np.ndarray, directions: np.ndarray, x: np.ndarray, y: np.ndarray):
        self.y = y
        layers = [model.split(v) for v in (origin, directions[:, 0], directions[:, 1])]
        self.z = [x @ w[0] + w[1] for w in layers]   # Z₀, Z₁, Z₂: (n, hidden) each
        self.later = list(zip(*(w[2:] for w in layers)))   # per later parameter: (origin, d₁, d₂)
        self.mixed = [np.empty_like(origin_p) for origin_p, _, _ in self.later]
        self.acts = [np.empty((len(x), n), dtype=model.dtype) for n in model.sizes[1:]]
        self.z_row = np.empty_like(self.z[0])

    def row(self, alpha: np.ndarray, b: float) -> np.ndarray:
        """The loss at (a, b) for every a in `alpha`."""
        # Python floats, not NumPy float64 scalars: those would make every float32 product a float64 loop
        b = float(b)
        np.multiply(self.z[2], b, out=self.z_row)
        self.z_row += self.z[0]
        return np.array([self._at(a, b) for a in np.asarray(alpha, dtype=float).tolist()])

    def _at(self, a: float, b: float) -> float:
        h = self.acts[0]
        np.multiply(self.z[1], a, out=h)
        h += self.z_row
        for (p0, p1, p2), mixed in zip(self.later, self.mixed):
            np.multiply(p1, a, out=mixed)
            mixed += p0
            mixed += b * p2   # a temporary, but a small one: later layers are (hidden × hidden) at most
        for k in range(1, len(self.acts)):
            np.maximum(h, 0, out=h)
            w, bias = self.mixed[2 * (k - 1)], self.mixed[2 * (k - 1) + 1]
            np.matmul(h, w, out=self.acts[k])
            self.acts[k] += bias
            h = self.acts[k]
        return mean_cross_entropy(h.astype(np.float64), self.y)


class _WeightsPlaneLoss:
    """Loss at θ* + α d₁ + β d₂ by setting the weights and evaluating the network (dropout off): for models
    without the MLP's shortcut (the CNN's first layer is followed by pooling, and costs little anyway)."""

    def __init__(self, model, origin: np.ndarray, directions: np.ndarray, x: np.ndarray, y: np.ndarray):
        self.model, self.origin, self.x, self.y = model, origin, x, y
        self.d1, self.d2 = np.ascontiguousarray(directions[:, 0]), np.ascontiguousarray(directions[:, 1])
        self.row_origin = np.empty_like(origin)

    def row(self, alpha: np.ndarray, b: float) -> np.ndarray:
        np.multiply(self.d2, float(b), out=self.row_origin)
        self.row_origin += self.origin
        return np.array([self._at(a) for a in np.asarray(alpha, dtype=float).tolist()])

    def _at(self, a: float) -> float:
        w = self.model.flat
        np.multiply(self.d1, a, out=w)
        w += self.row_origin
        return mean_cross_entropy(self.model.logits(self.x).astype(np.float64), self.y)


def _like(model):
    """A fresh network of the same architecture (its weights are overwritten point by point)."""
    return MLP(model.sizes) if isinstance(model, MLP) else type(model)()


def _labelled(runs) -> dict[str, TrainingRun]:
    if isinstance(runs, Mapping):
        return dict(runs)
    labelled: dict[str, TrainingRun] = {}
    for run in runs:
        label, k = run.label, 2
        while label in labelled:   # two Adam runs: "adam", "adam 2"
            label, k = f"{run.label} {k}", k + 1
        labelled[label] = run
    return labelled


def _sample(data, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed sample of `n` training digits (all of them if there are fewer), in their original order."""
    n_train = len(data.y_train)
    rows = np.sort(np.random.default_rng(seed).choice(n_train, size=min(n, n_train), replace=False))
    return np.ascontiguousarray(data.x_train[rows], dtype=np.float32), np.asarray(data.y_train[rows])


def _axis(coords: np.ndarray, resolution: int, margin: float) -> np.ndarray:
    """`resolution` points covering the coordinates and 0 (θ*), widened by `margin` of their extent each side."""
    lo, hi = min(coords.min(), 0.0), max(coords.max(), 0.0)
    pad = margin * (hi - lo) if hi > lo else 1.0
    return np.linspace(lo - pad, hi + pad, resolution)
