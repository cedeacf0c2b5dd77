"""A multilayer perceptron in NumPy: affine layers with ReLU (or tanh) between them, softmax cross-entropy (or the
squared error) on top.

    z₁ = x W₁ + b₁,   a₁ = σ(z₁),   …,   z_L = a_{L−1} W_L + b_L,   p = softmax(z_L)
    loss = −(1/n) Σᵢ log p_{i, yᵢ}        or, with loss="mse",   loss = (1/2n) Σᵢ ‖z_{L,i} − onehot(yᵢ)‖²

Its exact Hessian-vector products (`hessian_operator`, Pearlmutter's R-operator: forward-over-backward) are
what optviz.mnist.curvature measures the sharpness with.

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
from collections.abc import Callable, Sequence

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

    loss = "cross_entropy"   # or "mse" (the MLP's choice): what loss_and_grad and evaluate measure

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """The mean loss on the batch (x, y), gradients written in `self.grads`; returns (loss, n correct).

        `x` is (n, inputs) of the network's dtype, `y` (n,) integer labels.
        """
        n = len(x)
        ws = self._workspace(n)
        z = self._forward(x, ws, n, train=True)
        loss, correct = (ws.loss.squared_error_(z, y) if self.loss == "mse" else ws.loss.softmax_cross_entropy_(z, y))
        self._backward(x, ws, n)
        return loss, correct

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.logits(x).argmax(axis=1)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(mean loss, accuracy) over (x, y): the cross-entropy, or the squared error for loss="mse"."""
        z = self.logits(x).astype(np.float64)
        loss = mean_squared_error(z, y) if self.loss == "mse" else mean_cross_entropy(z, y)
        return loss, float(np.mean(z.argmax(axis=1) == y))

    def _workspace(self, n: int):
        """A workspace for at least n rows: the smallest one made so far that fits, else a new one for n."""
        fits = [capacity for capacity in self._workspaces if capacity >= n]
        if not fits:
            self._workspaces[n] = self._new_workspace(n)
            return self._workspaces[n]
        return self._workspaces[min(fits)]


ACTIVATIONS = ("relu", "tanh")
LOSSES = ("cross_entropy", "mse")
INITS = ("normal", "uniform")


class MLP(Network):
    """`sizes` = (inputs, hidden…, classes), e.g. (784, 256, 10). Parameters: W1, b1, W2, b2, …

    `activation` "relu" or "tanh" between the layers, `loss` "cross_entropy" (softmax on top) or "mse"
    ((1/2n) Σᵢ ‖zᵢ − onehot(yᵢ)‖², the squared loss of the edge-of-stability experiments).

    Weights are drawn in float64 and then cast, so a float32 and a float64 network built from the same seed hold
    the same weights up to rounding. With init="normal" biases start at 0, ReLU networks are He-initialized,
    Wₗ ~ N(0, 2/fan_in), which keeps the variance of ReLU activations constant from layer to layer, and tanh networks
    LeCun-initialized, Wₗ ~ N(0, 1/fan_in), the same for tanh (whose slope at 0 is 1). init="uniform" is PyTorch's
    nn.Linear default, Wₗ and bₗ ~ U(±1/√fan_in): smaller weights, a flatter start (the edge-of-stability
    experiments' setting).
    """

    def __init__(self, sizes: Sequence[int], seed: int | np.random.Generator = 0, dtype=np.float32,
                 activation: str = "relu", loss: str = "cross_entropy", init: str = "normal"):
        self.sizes = tuple(int(n) for n in sizes)
        if len(self.sizes) < 2 or min(self.sizes) < 1:
            raise ValueError(f"sizes must be (inputs, hidden…, classes) with every size ≥ 1, got {sizes!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
        self.activation, self.loss, self.init = activation, loss, init
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
        if self.init == "uniform":
            for w, b in zip(self.weights, self.biases):
                bound = 1 / np.sqrt(w.shape[0])
                w[...] = rng.uniform(-bound, bound, w.shape)
                b[...] = rng.uniform(-bound, bound, b.shape)
            return
        gain = 2.0 if self.activation == "relu" else 1.0
        for w in self.weights:
            w[...] = rng.standard_normal(w.shape) * np.sqrt(gain / w.shape[0])

    # -----------------------------------------------------------------------------------------------------------
    # Training (Network.loss_and_grad). Backpropagation, with δ = ∂loss/∂z:
    #     δ_L = (softmax(z_L) − onehot(y)) / n, or (z_L − onehot(y)) / n for the squared error
    #     ∂W_l = a_{l−1}ᵀ δ_l,   ∂b_l = Σᵢ δ_l,   δ_{l−1} = (δ_l W_lᵀ) ⊙ σ′(z_{l−1})
    # with σ′ read off the activation a = σ(z): [a > 0] for ReLU, 1 − a² for tanh.

    def _forward(self, x: np.ndarray, ws: _Workspace, n: int, train: bool = False) -> np.ndarray:
        a = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = ws.acts[i][:n]
            np.matmul(a, w, out=z)
            if i < last:   # in place: the pre-activation is not needed again
                (add_bias_relu_ if self.activation == "relu" else add_bias_tanh_)(z, b)
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
            (relu_backward_ if self.activation == "relu" else tanh_backward_)(d, a_prev, self.grads[2 * i - 1])
            delta = d

    # -----------------------------------------------------------------------------------------------------------
    # Curvature: H·v by Pearlmutter's R-operator, R{f} = d/dε f(θ + εv) at ε = 0, applied to the forward pass and
    # then to backpropagation (forward-over-backward; exact, no differences). With ρ = σ′(z), and
    # σ″ = 0 for ReLU (almost everywhere), −2a(1 − a²) for tanh:
    #     R{z_l} = R{a_{l−1}} W_l + a_{l−1} V_l + V_{b_l},   R{a_l} = ρ_l ⊙ R{z_l},   R{a_0} = R{x} = 0
    #     R{δ_L} = ∇²_z loss · R{z_L}:  R{z_L}/n (squared error),  (p ⊙ R{z} − p (pᵀR{z}))/n (softmax cross-entropy)
    #     H_{W_l} v = R{a_{l−1}}ᵀ δ_l + a_{l−1}ᵀ R{δ_l},   H_{b_l} v = Σᵢ R{δ_l}
    #     R{δ_{l−1}} = (R{δ_l} W_lᵀ + δ_l V_lᵀ) ⊙ ρ_{l−1} + (δ_l W_lᵀ) ⊙ σ″_{l−1} ⊙ R{z_{l−1}}

    def hessian_operator(self, x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        """v ↦ H v, H the Hessian of the mean loss on (x, y) at the current weights, v and H v flat vectors.

        The forward and backward passes at these weights are made once, here, so every product costs one
        R-pass (about one gradient's worth of products); the operator holds the weights of the moment it was made
        (a copy) and keeps answering for them while training moves on. In the network's dtype.
        """
        x = np.ascontiguousarray(x, dtype=self.dtype)
        weights = [w.copy() for w in self.weights]
        acts, slopes, curves = [x], [], []
        for i, (w, b) in enumerate(zip(weights, self.biases)):
            z = acts[-1] @ w + b
            if i == len(weights) - 1:
                logits = z
                break
            a = np.maximum(z, 0) if self.activation == "relu" else np.tanh(z)
            slopes.append((a > 0).astype(self.dtype) if self.activation == "relu" else 1 - a * a)
            curves.append(None if self.activation == "relu" else -2 * a * slopes[-1])
            acts.append(a)
        loss_curvature, delta = _output_curvature(self.loss, logits, y)
        deltas, back = [delta], []   # δ_L … δ_1, and δ_l W_lᵀ before ρ (σ″'s term needs it)
        for i in reversed(range(1, len(weights))):
            back.append(deltas[-1] @ weights[i].T)
            deltas.append(back[-1] * slopes[i - 1])
        deltas, back = deltas[::-1], back[::-1]   # deltas[l] = δ of layer l + 1; back[l] = δ_{l+2} W_{l+2}ᵀ

        def hvp(v: np.ndarray) -> np.ndarray:
            vs = self.split(np.asarray(v, dtype=self.dtype))
            vw, vb = vs[0::2], vs[1::2]
            out = np.empty(self.n_params, dtype=self.dtype)
            hw, hb = self.split(out)[0::2], self.split(out)[1::2]
            r_acts, r_z = [None], []
            for i in range(len(weights)):
                rz = acts[i] @ vw[i] + vb[i]
                if r_acts[i] is not None:
                    rz += r_acts[i] @ weights[i]
                r_z.append(rz)
                if i < len(weights) - 1:
                    r_acts.append(slopes[i] * rz)
            r_delta = loss_curvature(r_z[-1])
            for i in reversed(range(len(weights))):
                np.matmul(acts[i].T, r_delta, out=hw[i])
                if r_acts[i] is not None:
                    hw[i] += r_acts[i].T @ deltas[i]
                np.sum(r_delta, axis=0, out=hb[i])
                if i == 0:
                    break
                r_back = r_delta @ weights[i].T + deltas[i] @ vw[i].T
                r_delta = r_back * slopes[i - 1]
                if curves[i - 1] is not None:
                    r_delta += back[i - 1] * curves[i - 1] * r_z[i - 1]
            return out
        return hvp

    def _new_workspace(self, n: int) -> _Workspace:
        return _Workspace(self.sizes, n, self.dtype)


def _output_curvature(loss: str, logits: np.ndarray, y: np.ndarray):
    """(u ↦ ∇²_z loss · u, δ = ∂loss/∂z) for the mean loss over the rows of `logits` (in their dtype)."""
    n = len(y)
    rows = np.arange(n)
    if loss == "mse":
        delta = logits.copy()
        delta[rows, y] -= 1
        return (lambda u: u / n), delta / n
    p = logits - logits.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    delta = p.copy()
    delta[rows, y] -= 1
    return (lambda u: (p * u - p * np.sum(p * u, axis=1, keepdims=True)) / n), delta / n


def mean_squared_error(logits: np.ndarray, y: np.ndarray) -> float:
    """(1/2n) Σᵢ ‖zᵢ − onehot(yᵢ)‖²: the squared loss on one-hot targets."""
    error = np.array(logits, dtype=np.float64)
    error[np.arange(len(y)), y] -= 1
    return float(0.5 * np.mean(np.sum(error * error, axis=1)))


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

    def squared_error_(self, z: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """(the mean squared error (1/2n) Σᵢ ‖zᵢ − onehot(yᵢ)‖², rows whose first largest score is at the label);
        overwrites z with ∂loss/∂z = (z − onehot(y))/n."""
        correct = _count_correct(z, y)
        return _squared_error_rows_(z, y), correct


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
def add_bias_tanh_(z, b):
    """z ← tanh(z + b), b added to every row."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = math.tanh(z[i, j] + b[j])


@njit(cache=True, nogil=True, error_model="numpy")
def tanh_backward_(delta, a, bias_grad):
    """δ ← δ ⊙ (1 − a²) (tanh′(z) read off the activation a = tanh(z)), then ∂b = Σᵢ δᵢ, summed row by row."""
    bias_grad[:] = 0
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            delta[i, j] *= 1 - a[i, j] * a[i, j]
            bias_grad[j] += delta[i, j]


@njit(inline="always", error_model="numpy")
def _top(z, i):
    """The column of row i's first largest score."""
    top = 0
    for j in range(1, z.shape[1]):
        if z[i, j] > z[i, top]:
            top = j
    return top


@njit(cache=True, nogil=True, error_model="numpy")
def _count_correct(z, y):
    """Rows whose first largest score is at the label."""
    correct = 0
    for i in range(z.shape[0]):
        correct += _top(z, i) == y[i]
    return correct


@njit(cache=True, nogil=True, error_model="numpy")
def _squared_error_rows_(z, y):
    """z ← (z − onehot(y))/n; returns (1/2n) Σ of the squared differences, in float64."""
    n = z.shape[0]
    scale = z.dtype.type(1 / n)
    total = 0.0
    for i in range(n):
        z[i, y[i]] -= 1
        for j in range(z.shape[1]):
            total += float(z[i, j]) * float(z[i, j])
            z[i, j] *= scale
    return 0.5 * total / n


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
        top = _top(z, i)
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
