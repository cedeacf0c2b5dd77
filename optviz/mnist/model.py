"""A multilayer perceptron in NumPy: affine layers with ReLU between them, softmax cross-entropy on top.

    z₁ = x W₁ + b₁,   a₁ = ReLU(z₁),   …,   z_L = a_{L−1} W_L + b_L,   p = softmax(z_L)
    loss = −(1/n) Σᵢ log p_{i, yᵢ}

Every array a step touches is allocated once: the parameters and their gradients are views into two flat
vectors (one copy makes a weight snapshot), and activations live in per-batch-size workspaces that each
product writes into with `out=`. A fresh (batch × 256) temporary on every step costs page faults that show
up in the epoch time at MNIST's size.

The products are BLAS matmuls. What lies between them is compiled passes (bias and ReLU; ReLU's derivative with the
bias gradient; the softmax's shift and normalisation), in the arrays' own dtype, with NumPy's arithmetic to the last
bit. The softmax's exp and row sums stay NumPy's: a compiled exp rounds differently, and Adam's first steps turn
such last-digit differences in near-cancelling gradients into visible ones (with NumPy's, the CNN follows PyTorch's
losses to 3e-7 over its first 50 steps).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit


class Network:
    """What the networks here share: evaluation built on `_forward`, flat parameter views, and workspaces.

    A subclass has `flat`, `params`, `grads`, `dtype`, `n_classes`, `eval_chunk`, `_forward(x, ws, n, train)` (the
    logits; dropout only when training), `_backward(x, ws, n)` (gradients from ∂loss/∂logits, left in the logits'
    buffer) and `_new_workspace(n)`.
    """

    @property
    def n_params(self) -> int:
        return self.flat.size

    def split(self, vector: np.ndarray) -> list[np.ndarray]:
        """Views of a flat vector shaped like the parameters, e.g. of a weight snapshot."""
        return _views(np.asarray(vector), [p.shape for p in self.params])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The output scores for every row of `x`, (N, classes), in chunks so the workspaces stay small."""
        x = np.ascontiguousarray(x, dtype=self.dtype)
        chunk = self.eval_chunk
        out = np.empty((len(x), self.n_classes), dtype=self.dtype)
        ws = self._workspace(min(chunk, len(x)) or 1)
        for start in range(0, len(x), chunk):
            rows = x[start:start + chunk]
            out[start:start + len(rows)] = self._forward(rows, ws, len(rows))
        return out

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """softmax(z_L) = exp(z − max z) / Σ exp(z − max z), row by row (the shift avoids overflow)."""
        z = self.logits(x)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """Mean cross-entropy on the batch (x, y), gradients written in `self.grads`; returns (loss, n correct).

        `x` is (n, inputs) of the network's dtype, `y` (n,) integer labels.
        """
        n = len(x)
        ws = self._workspace(n)
        loss, correct = ws.loss.softmax_cross_entropy_(self._forward(x, ws, n, train=True), y)
        self._backward(x, ws, n)
        return loss, correct

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.logits(x).argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) over (x, y)."""
        z = self.logits(x).astype(np.float64)
        return mean_cross_entropy(z, y), float(np.mean(z.argmax(axis=1) == y))

    def _workspace(self, n: int):
        """A workspace for at least n rows: the smallest one made so far that fits, else a new one for n."""
        fits = [capacity for capacity in self._workspaces if capacity >= n]
        if not fits:
            self._workspaces[n] = self._new_workspace(n)
            return self._workspaces[n]
        return self._workspaces[min(fits)]


class MLP(Network):
    """`sizes` = (inputs, hidden…, classes), e.g. (784, 256, 10). Parameters: W1, b1, W2, b2, …

    Weights are He-initialized, Wₗ ~ N(0, 2/fan_in), which keeps the variance of ReLU activations constant
    from layer to layer; biases start at 0. The draw is made in float64 and then cast, so a float32 and a
    float64 network built from the same seed hold the same weights up to rounding.
    """

    def __init__(self, sizes: Sequence[int], seed: int | np.random.Generator = 0, dtype=np.float32):
        self.sizes = tuple(int(n) for n in sizes)
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must be (inputs, hidden…, classes) with every size ≥ 1, got {sizes!r}")
        self.dtype = np.dtype(dtype)
        shapes = []
        for i, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            shapes += [(f"W{i}", (fan_in, fan_out)), (f"b{i}", (fan_out,))]
        self.names = [name for name, _ in shapes]
        self.flat = np.zeros(sum(int(np.prod(shape)) for _, shape in shapes), dtype=self.dtype)
        self.flat_grad = np.zeros_like(self.flat)
        self.params = _views(self.flat, [shape for _, shape in shapes])
        self.grads = _views(self.flat_grad, [shape for _, shape in shapes])
        self._init_weights(np.random.default_rng(seed))
        self._workspaces: dict[int, _Workspace] = {}

    eval_chunk = 1000

    @property
    def weights(self) -> list[np.ndarray]:
        return self.params[0::2]

    @property
    def biases(self) -> list[np.ndarray]:
        return self.params[1::2]

    @property
    def n_classes(self) -> int:
        return self.sizes[-1]

    def first_layer_pictures(self) -> np.ndarray:
        """W1 as one 28×28 picture per hidden unit, (hidden, 28, 28): what each unit responds to."""
        w1 = self.weights[0]
        side = math.isqrt(w1.shape[0])
        return np.ascontiguousarray(w1.T).reshape(w1.shape[1], side, side)

    def _init_weights(self, rng: np.random.Generator) -> None:
        for w in self.weights:
            w[...] = rng.standard_normal(w.shape) * np.sqrt(2.0 / w.shape[0])

    # -----------------------------------------------------------------------------------------------------------
    # Training (Network.loss_and_grad). Backpropagation, with δ = ∂loss/∂z:
    #     δ_L = (softmax(z_L) − onehot(y)) / n
    #     ∂W_l = a_{l−1}ᵀ δ_l,   ∂b_l = Σᵢ δ_l,   δ_{l−1} = (δ_l W_lᵀ) ⊙ [z_{l−1} > 0]

    def _forward(self, x: np.ndarray, ws: _Workspace, n: int, train: bool = False) -> np.ndarray:
        a = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = ws.acts[i][:n]
            np.matmul(a, w, out=z)
            if i < last:
                add_bias_relu_(z, b)   # in place: the pre-activation is not needed again
            else:
                z += b
            a = z
        return a

    def _backward(self, x: np.ndarray, ws: _Workspace, n: int) -> None:
        delta = ws.acts[-1][:n]   # holds ∂loss/∂z_L after the loss
        np.sum(delta, axis=0, out=self.grads[-1])
        for i in reversed(range(len(self.weights))):
            a_prev = x if i == 0 else ws.acts[i - 1][:n]
            np.matmul(a_prev.T, delta, out=self.grads[2 * i])
            if i == 0:
                break   # the gradient with respect to the input is not needed
            d = ws.deltas[i - 1][:n]
            np.matmul(delta, self.weights[i].T, out=d)
            relu_backward_(d, a_prev, self.grads[2 * i - 1])
            delta = d

    def _new_workspace(self, n: int) -> _Workspace:
        return _Workspace(self.sizes, n, self.dtype)


def mean_cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """−(1/n) Σᵢ log softmax(zᵢ)_{yᵢ} = (1/n) Σᵢ [m_i + log Σⱼ exp(z_ij − m_i) − z_{i yᵢ}], m_i = maxⱼ z_ij."""
    m = logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(logits - m).sum(axis=1)) + m[:, 0]
    return float(np.mean(log_sum - logits[np.arange(len(y)), y]))


class _Workspace:
    """Buffers for batches of up to `capacity` rows; a batch of n rows uses the first n (contiguous views)."""

    def __init__(self, sizes: tuple[int, ...], capacity: int, dtype: np.dtype):
        self.acts = [np.empty((capacity, n), dtype=dtype) for n in sizes[1:]]       # a_l, and z_L
        self.deltas = [np.empty((capacity, n), dtype=dtype) for n in sizes[1:-1]]   # δ of the hidden layers
        self.loss = LossScratch(capacity, dtype)


class LossScratch:
    """The loss's buffers for batches of up to `capacity` rows, and the loss itself."""

    def __init__(self, capacity: int, dtype: np.dtype):
        self.row_sum = np.empty((capacity, 1), dtype=dtype)
        self.picked = np.empty(capacity, dtype=dtype)

    def softmax_cross_entropy_(self, z: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """(mean cross-entropy of softmax(z) against labels y, rows whose first largest score is at the label);
        overwrites z with ∂loss/∂z = (softmax(z) − onehot(y))/n.

        Stable form: with m = maxⱼ zⱼ, log Σⱼ exp zⱼ = m + log Σⱼ exp(zⱼ − m), where no exp can overflow, so
        ℓᵢ = log Σⱼ exp(z_ij − mᵢ) − (z_{i yᵢ} − mᵢ). The exp and the row sums are NumPy's (see the module's note);
        the passes around them do what NumPy's calls did, to the last bit.
        """
        n = len(y)
        sums, picked = self.row_sum[:n], self.picked[:n]
        correct = _shift_rows_(z, y, picked)
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=sums)
        return _normalize_rows_(z, y, sums, picked), correct


def _views(flat: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Consecutive views of `flat` with the given shapes (writing to a view writes to `flat`)."""
    views, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        views.append(flat[start:start + size].reshape(shape))
        start += size
    return views


# ---------------------------------------------------------------------------------------------------------------
# The compiled passes between the products (rows are a batch's examples; each pass reads its arrays once)

@njit(cache=True, nogil=True, error_model="numpy")
def add_bias_relu_(z, b):
    """z ← ReLU(z + b), b added to every row. A NaN stays NaN, so that a diverging run is still seen as one."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z[i, j] + b[j]
            z[i, j] = 0 if value < 0 else value


@njit(cache=True, nogil=True, error_model="numpy")
def relu_backward_(delta, a, bias_grad):
    """δ ← δ ⊙ [a > 0] (ReLU′(z) read off the activation a = ReLU(z)), then ∂b = Σᵢ δᵢ, summed row by row."""
    bias_grad[:] = 0
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            if not a[i, j] > 0:
                delta[i, j] = 0
            bias_grad[j] += delta[i, j]


@njit(cache=True, nogil=True, error_model="numpy")
def _shift_rows_(z, y, picked):
    """z ← z − maxⱼ z_ij row by row, picked[i] ← the shifted z_{i yᵢ}; returns the rows whose first maximum is at yᵢ."""
    correct = 0
    for i in range(z.shape[0]):
        top = 0
        for j in range(1, z.shape[1]):
            if z[i, j] > z[i, top]:
                top = j
        correct += top == y[i]
        shift = z[i, top]
        for j in range(z.shape[1]):
            z[i, j] -= shift
        picked[i] = z[i, y[i]]
    return correct


@njit(cache=True, nogil=True, error_model="numpy")
def _normalize_rows_(z, y, sums, picked):
    """z ← (z/s − onehot(y))/n with s the row sums of exp(z − max); returns the mean of log s − picked, in float64."""
    n = z.shape[0]
    scale = z.dtype.type(1 / n)
    loss = 0.0
    for i in range(n):
        loss += math.log(sums[i, 0]) - picked[i]
        for j in range(z.shape[1]):
            z[i, j] /= sums[i, 0]
        z[i, y[i]] -= 1
        for j in range(z.shape[1]):
            z[i, j] *= scale
    return loss / n
