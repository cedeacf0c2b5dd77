"""Two-parameter models fitted to a small real data set: the loss is a mean over examples, so a mini-batch's
gradient is a real sample of the full gradient.

    model = linear_model(standardize=True)     # ŷ = w·x + b on Iris petals, mean squared error
    model.value(w, b)                           # the full-data loss, vectorized over any shape of (w, b)
    model.grad(w, b, rows)                      # the mean gradient over the examples `rows` (all when None)
    batch_rows(150, batch_size=16, seed=0, t=1) # the examples of step t: epochs of seeded permutations

The data: Fisher's Iris petals (optviz/data/iris_petals.csv, CC BY 4.0; source in optviz/data/README.md).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_FILE = Path(__file__).parent / "data" / "iris_petals.csv"
SOURCE = "Fisher's Iris data (1936), UCI Machine Learning Repository, CC BY 4.0"


@lru_cache(maxsize=1)
def iris_petals() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Petal length (cm), petal width (cm) and species name of Iris's 150 flowers, read once."""
    with open(DATA_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    length = np.array([float(r["petal_length_cm"]) for r in rows])
    width = np.array([float(r["petal_width_cm"]) for r in rows])
    species = np.array([r["species"] for r in rows])
    for array in (length, width, species):
        array.setflags(write=False)
    return length, width, species


def batch_rows(n: int, batch_size: int, seed: int, t: int) -> np.ndarray:
    """The examples of step t (1-based): each epoch is a permutation of the n examples, seeded by (seed, epoch),
    cut into batches of `batch_size`; the last batch of an epoch is smaller when batch_size does not divide n, as
    with PyTorch's DataLoader(shuffle=True, drop_last=False)."""
    per_epoch = -(-n // batch_size)
    epoch, index = divmod(t - 1, per_epoch)
    return _epoch_order(n, seed, epoch)[index * batch_size:(index + 1) * batch_size]


@lru_cache(maxsize=1024)  # ≤ 1024 permutations of the data surfaces' 150 examples: 1.2 MB
def _epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    order = np.random.default_rng([seed, epoch]).permutation(n)
    order.setflags(write=False)
    return order


@dataclass(frozen=True, eq=False)
class DataModel:
    """A two-parameter model and its data: `inputs` (n, k) as the model sees them, `targets` (n,).

    kind "linear": ŷ = w·x + b (k = 1), loss mean (ŷ − y)².
    kind "logistic": p = σ(w₁x₁ + w₂x₂) (k = 2, features centred), y ∈ {0, 1}, loss mean cross-entropy
    + ½λ(w₁² + w₂²).
    """

    kind: str
    inputs: np.ndarray
    targets: np.ndarray
    input_names: tuple[str, ...]
    target_name: str
    class_names: tuple[str, ...] = ()
    l2: float = 0.0

    @property
    def n(self) -> int:
        return len(self.targets)

    def value(self, p, q):
        """Full-data loss at parameters (p, q) = (w, b) or (w₁, w₂), any shape."""
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if self.kind == "linear":
            # the mean of (p·x + q − y)² expanded in the data's moments: no (points × examples) temporary
            x, y = self.inputs[:, 0], self.targets
            xx, x1, xy, y1, yy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()
            return p * p * xx + q * q + yy + 2 * p * q * x1 - 2 * p * xy - 2 * q * y1
        margin = (2 * self.targets - 1) * self._scores(p, q, self.inputs)
        return np.logaddexp(0.0, -margin).mean(axis=-1) + 0.5 * self.l2 * (p * p + q * q)

    def grad(self, p, q, rows: np.ndarray | None = None):
        """Mean gradient over the examples `rows` (every example when None), for (p, q) of any shape."""
        inputs = self.inputs if rows is None else self.inputs[rows]
        targets = self.targets if rows is None else self.targets[rows]
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if self.kind == "linear":
            # linear in (w, b): four batch means make the gradient of every run at once
            x = inputs[:, 0]
            xx, x1, xy, y1 = (x * x).mean(), x.mean(), (x * targets).mean(), targets.mean()
            return 2 * (p * xx + q * x1 - xy), 2 * (p * x1 + q - y1)
        # d/dz log(1 + e^(−s·z)) = −s·σ(−s·z) = σ(z) − y, with s = 2y − 1 and z = w·x
        error = _sigmoid_(self._scores(p, q, inputs))
        error -= targets
        grad = error @ inputs / len(targets)  # (..., 2): one matrix product for every run at once
        return grad[..., 0] + self.l2 * p, grad[..., 1] + self.l2 * q

    @staticmethod
    def _scores(p, q, inputs):
        """z = w₁x₁ + w₂x₂ for every example at every point (p, q): shape (*p.shape, examples)."""
        p, q = np.broadcast_arrays(p, q)
        weights = np.stack([p.ravel(), q.ravel()], axis=1)
        return (weights @ inputs.T).reshape(p.shape + (len(inputs),))

    def hessian(self) -> np.ndarray | None:
        """The constant Hessian of the full-data loss (linear model), None where it depends on the point."""
        if self.kind != "linear":
            return None
        design = np.column_stack([self.inputs[:, 0], np.ones(self.n)])
        return 2 * design.T @ design / self.n

    def line(self, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's line at parameters p, q (arrays of the same shape) as a·X + b·Y = c over the data panel's
        coordinates: the fit ŷ = w·x + b, or the decision boundary w₁x₁ + w₂x₂ = 0."""
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if self.kind == "linear":
            return p, -np.ones_like(p), -q  # w·X − Y = −b
        return p, q, np.zeros_like(p)


def _sigmoid_(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e^(−z)) in place; |z| clipped at 500 (σ is 0 or 1 to double precision long before), so exp
    never overflows. exp is several times cheaper than tanh here."""
    np.clip(z, -500.0, 500.0, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@lru_cache(maxsize=4)  # a model of 150 examples: a few kB each
def linear_model(standardize: bool) -> DataModel:
    """Petal width (cm) from petal length of all 150 flowers; length in cm, or standardised (mean 0, sd 1)."""
    length, width, _ = iris_petals()
    x = (length - length.mean()) / length.std() if standardize else length
    name = "petal length (standardised)" if standardize else "petal length (cm)"
    return DataModel("linear", _read_only(x[:, None].copy()), width, (name,), "petal width (cm)")


@lru_cache(maxsize=16)  # a model of 150 examples: a few kB each
def logistic_model(standardize: bool, l2: float) -> DataModel:
    """Versicolor (0) vs virginica (1) from petal length and width of those 100 flowers, both centred, and
    scaled to sd 1 when standardised: without a bias the boundary passes through the data's mean."""
    length, width, species = iris_petals()
    keep = species != "setosa"
    features = np.column_stack([length[keep], width[keep]])
    features = features - features.mean(axis=0)
    if standardize:
        features = features / features.std(axis=0)
    unit = "standardised" if standardize else "cm, centred"
    labels = (species[keep] == "virginica").astype(float)
    return DataModel("logistic", _read_only(features), _read_only(labels),
                     (f"petal length ({unit})", f"petal width ({unit})"), "species",
                     ("versicolor", "virginica"), l2)
