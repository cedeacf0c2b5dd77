"""The small convolutional network of the classic optimizer comparison, in NumPy and numba, float32.

    Conv2D(32 filters 3×3, ReLU) → MaxPool 2×2 → Dropout 0.25 → Flatten → Dense 256 ReLU → Dropout 0.5 → Dense 10
    softmax, cross-entropy

Layout is channels-last (NHWC), as in Keras, so a flattened pooled map is (13, 13, 32) row-major. The two dense
layers are BLAS matmuls. The convolution is the first layer, so its input gradient is never needed; it is fused
with ReLU and max-pooling into one compiled pass that keeps, per pooled cell and channel, which of the four
positions won (the first maximum, as argmax does). Its backward pass then visits only those winners: the
weight gradient ∂K[k, c] = Σ x[n, i+di, j+dj] · ∂z[n, i, j, c] has at most a quarter of its terms non-zero.
Both kernels compute exactly the convolution (no approximation), in the arrays' own dtype (float32 for
training, float64 for the gradient check).

Dropout is inverted dropout (kept units scaled by 1/(1 − p), as torch and Keras do), so evaluation simply
leaves it out. Its masks come from `self.dropout_rng`: the same seed gives the same masks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .model import LossScratch, Network, _output_curvature, _views, add_bias_relu_, relu_backward_

SIDE, KERNEL, FILTERS, HIDDEN, CLASSES = 28, 3, 32, 256, 10
CONV_SIDE = SIDE - KERNEL + 1      # 26: a 'valid' 3×3 convolution
POOL_SIDE = CONV_SIDE // 2         # 13
FLAT = POOL_SIDE * POOL_SIDE * FILTERS   # 5,408 inputs to the first dense layer
DROPOUT = (0.25, 0.5)              # after the pooling, after the dense layer


class CNN(Network):
    """Parameters: K (9, 32) the 3×3 filters as rows dy·3+dx, c (32,) their biases, then W1, b1, W2, b2.

    Weights are Glorot-uniform, U(±√(6/(fan_in + fan_out))), Keras's default for Conv2D and Dense (for the
    convolution fan_in = 9·1 and fan_out = 9·32, receptive field times channels); biases start at 0. Drawn in
    float64 then cast, so networks of either dtype from one seed hold the same weights up to rounding.

    `filters` and `hidden` (32 and 256) make a smaller network of the same shape: the curvature tests compare a
    tiny one's Hessian-vector products with its whole dense Hessian.
    """

    names = ["K", "c", "W1", "b1", "W2", "b2"]
    n_classes, eval_chunk = CLASSES, 500

    def __init__(self, seed: int | np.random.Generator = 0, dtype=np.float32,
                 dropout_rng: int | np.random.Generator = 1, *, filters: int = FILTERS, hidden: int = HIDDEN):
        if not (isinstance(filters, int) and isinstance(hidden, int) and filters >= 1 and hidden >= 1):
            raise ValueError(f"filters and hidden must be integers ≥ 1, got {filters!r} and {hidden!r}")
        self.filters, self.hidden, self.flat_size = filters, hidden, POOL_SIDE * POOL_SIDE * filters
        # the architecture, and the parameters' shapes and (fan_in, fan_out) (None: a bias)
        self.sizes = (f"conv{filters}x3x3", "maxpool2", "dropout0.25", self.flat_size, "dropout0.5", hidden, CLASSES)
        self.shapes = [(KERNEL * KERNEL, filters), (filters,), (self.flat_size, hidden), (hidden,), (hidden, CLASSES),
                       (CLASSES,)]
        self.fans = [(KERNEL * KERNEL, KERNEL * KERNEL * filters), None, (self.flat_size, hidden), None,
                     (hidden, CLASSES), None]
        self.dtype = np.dtype(dtype)
        self.flat = np.zeros(sum(int(np.prod(s)) for s in self.shapes), dtype=self.dtype)
        self.flat_grad = np.zeros_like(self.flat)
        self.params = _views(self.flat, self.shapes)
        self.grads = _views(self.flat_grad, self.shapes)
        rng = np.random.default_rng(seed)
        for p, fans in zip(self.params, self.fans):
            if fans is not None:
                limit = np.sqrt(6.0 / sum(fans))
                p[...] = rng.uniform(-limit, limit, p.shape)
        self.dropout_rng = np.random.default_rng(dropout_rng)
        self._workspaces: dict[int, _Workspace] = {}

    def first_layer_pictures(self) -> np.ndarray:
        """The 32 filters as 3×3 pictures, (32, 3, 3): what each feature map looks for."""
        return np.ascontiguousarray(self.params[0].T).reshape(self.filters, KERNEL, KERNEL)

    # -----------------------------------------------------------------------------------------------------------
    # Training (Network.loss_and_grad: fresh dropout masks on every batch; the accuracy counted has dropout on).
    # Backpropagation, with δ = ∂loss/∂(pre-activation) and m₁, m₂ the scaled dropout masks:
    #     δ₃ = (softmax(z₃) − onehot(y)) / n;   ∂W2 = h₂ᵀδ₃, ∂b2 = Σδ₃
    #     δ₂ = (δ₃ W2ᵀ) ⊙ m₂ ⊙ [z₂ > 0];        ∂W1 = h₁ᵀδ₂, ∂b1 = Σδ₂   (h₁ = pooled ⊙ m₁, h₂ = ReLU(z₂) ⊙ m₂)
    #     ∂pooled = (δ₂ W1ᵀ) ⊙ m₁, routed to each window's winner where it is > 0;  ∂K, ∂c from the patches

    def _forward(self, x: np.ndarray, ws: _Workspace, n: int, train: bool = False) -> np.ndarray:
        K, c, W1, b1, W2, b2 = self.params
        images = x.reshape(n, SIDE, SIDE)
        pooled, winner = ws.pooled[:n], ws.winner[:n]
        conv_relu_pool(images, K, c, pooled, winner)
        h1 = pooled.reshape(n, self.flat_size)
        if train:
            h1 *= self._dropout_mask(ws.mask1[:n], DROPOUT[0])
        z2 = ws.h2[:n]
        np.matmul(h1, W1, out=z2)
        add_bias_relu_(z2, b1)
        if train:
            z2 *= self._dropout_mask(ws.mask2[:n], DROPOUT[1])
        z3 = ws.z3[:n]
        np.matmul(z2, W2, out=z3)
        z3 += b2
        return z3

    def _dropout_mask(self, mask: np.ndarray, rate: float) -> np.ndarray:
        """mask ← [u ≥ rate] / (1 − rate), u uniform on [0, 1): kept units are scaled so the mean is unchanged."""
        self.dropout_rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, rate, out=mask)   # 1.0 or 0.0, in place
        mask *= 1 / (1 - rate)
        return mask

    def _backward(self, x: np.ndarray, ws: _Workspace, n: int) -> None:
        dK, dc, dW1, db1, dW2, db2 = self.grads
        _, _, W1, _, W2, _ = self.params
        delta3 = ws.z3[:n]   # holds ∂loss/∂z₃ after the loss
        h2 = ws.h2[:n]
        flat = self.flat_size
        h1 = ws.pooled[:n].reshape(n, flat)
        np.matmul(h2.T, delta3, out=dW2)
        np.sum(delta3, axis=0, out=db2)
        delta2 = ws.delta2[:n]
        np.matmul(delta3, W2.T, out=delta2)
        # h₂ = ReLU(z₂)·m₂ is > 0 exactly where both factors are, so m₂ ⊙ [z₂ > 0] = m₂ ⊙ [h₂ > 0]
        delta2 *= ws.mask2[:n]
        relu_backward_(delta2, h2, db1)
        np.matmul(h1.T, delta2, out=dW1)
        dpooled = ws.dpooled[:n]
        np.matmul(delta2, W1.T, out=dpooled.reshape(n, flat))
        dpooled.reshape(n, flat)[...] *= ws.mask1[:n]
        conv_backward(x.reshape(n, SIDE, SIDE), ws.pooled[:n], ws.winner[:n], dpooled, dK, dc)

    def _new_workspace(self, n: int) -> _Workspace:
        return _Workspace(n, self.dtype, self.filters, self.hidden)

    # -----------------------------------------------------------------------------------------------------------
    # Curvature: H·v by Pearlmutter's R-operator (forward-over-backward, exact), for the loss without dropout (the
    # network as evaluated: a Hessian of the training loss with fresh dropout masks would be another matrix at
    # every call). ReLU and max-pooling are piecewise linear, so their second derivatives vanish (almost
    # everywhere) and the routing (which window position won, which units pass) is that of the current weights:
    #     R{pooled} = [pooled > 0] · (V_c + Σ x · V_K) at each window's winner (the input x does not depend on θ)
    #     R{z₂} = R{h₁} W1 + h₁ V1 + V_b1,   R{h₂} = [h₂ > 0] ⊙ R{z₂},   R{z₃} = R{h₂} W2 + h₂ V2 + V_b2
    #     R{δ₃} = (p ⊙ R{z₃} − p (pᵀR{z₃}))/n;   H_W2 v = R{h₂}ᵀδ₃ + h₂ᵀR{δ₃},  H_b2 v = Σ R{δ₃}
    #     R{δ₂} = (R{δ₃} W2ᵀ + δ₃ V2ᵀ) ⊙ [h₂ > 0];   H_W1 v = R{h₁}ᵀδ₂ + h₁ᵀR{δ₂},  H_b1 v = Σ R{δ₂}
    #     R{∂pooled} = R{δ₂} W1ᵀ + δ₂ V1ᵀ, and H_K v, H_c v: the convolution's backward pass applied to it

    def hessian_operator(self, x: np.ndarray, y: np.ndarray):
        """v ↦ H v, H the Hessian of the mean cross-entropy on (x, y) without dropout at the current weights.

        The forward and backward passes are made once, here (the weights copied), so every product costs one
        R-pass, about two gradients' worth; in the network's dtype.
        """
        n, flat = len(x), self.flat_size
        images = np.ascontiguousarray(x, dtype=self.dtype).reshape(n, SIDE, SIDE)
        K, c, W1, b1, W2, b2 = (p.copy() for p in self.params)
        pooled = np.empty((n, POOL_SIDE, POOL_SIDE, self.filters), dtype=self.dtype)
        winner = np.empty(pooled.shape, dtype=np.uint8)
        conv_relu_pool(images, K, c, pooled, winner)
        h1 = pooled.reshape(n, flat)
        h2 = np.maximum(h1 @ W1 + b1, 0)
        passes = (h2 > 0).astype(self.dtype)
        loss_curvature, delta3 = _output_curvature("cross_entropy", h2 @ W2 + b2, y)
        delta2 = (delta3 @ W2.T) * passes
        r_pooled = np.empty_like(pooled)

        def hvp(v: np.ndarray) -> np.ndarray:
            vK, vc, vW1, vb1, vW2, vb2 = self.split(np.asarray(v, dtype=self.dtype))
            out = np.empty(self.n_params, dtype=self.dtype)
            hK, hc, hW1, hb1, hW2, hb2 = self.split(out)
            conv_at_winners(images, vK, vc, pooled, winner, r_pooled)
            r_h1 = r_pooled.reshape(n, flat)
            r_h2 = (r_h1 @ W1 + h1 @ vW1 + vb1) * passes
            r_delta3 = loss_curvature(r_h2 @ W2 + h2 @ vW2 + vb2)
            np.matmul(r_h2.T, delta3, out=hW2)
            hW2 += h2.T @ r_delta3
            np.sum(r_delta3, axis=0, out=hb2)
            r_delta2 = (r_delta3 @ W2.T + delta3 @ vW2.T) * passes
            np.matmul(r_h1.T, delta2, out=hW1)
            hW1 += h1.T @ r_delta2
            np.sum(r_delta2, axis=0, out=hb1)
            r_dpooled = (r_delta2 @ W1.T + delta2 @ vW1.T).reshape(pooled.shape)
            conv_backward(images, pooled, winner, r_dpooled, hK, hc)
            return out
        return hvp


class _Workspace:
    """Buffers for batches of up to `capacity` digits; a batch of n uses the first n (contiguous views)."""

    def __init__(self, capacity: int, dtype: np.dtype, filters: int = FILTERS, hidden: int = HIDDEN):
        self.pooled = np.empty((capacity, POOL_SIDE, POOL_SIDE, filters), dtype=dtype)
        self.winner = np.empty((capacity, POOL_SIDE, POOL_SIDE, filters), dtype=np.uint8)
        self.dpooled = np.empty_like(self.pooled)
        self.mask1 = np.empty((capacity, POOL_SIDE * POOL_SIDE * filters), dtype=dtype)
        self.h2 = np.empty((capacity, hidden), dtype=dtype)
        self.delta2 = np.empty_like(self.h2)
        self.mask2 = np.empty_like(self.h2)
        self.z3 = np.empty((capacity, CLASSES), dtype=dtype)
        self.loss = LossScratch(capacity, dtype)


# ---------------------------------------------------------------------------------------------------------------
# The compiled convolution. Loops run image → pooled cell → window position → tap → channel, the channel
# innermost and contiguous, so that the 32 channels of one position are computed together (SIMD).

@njit(cache=True, nogil=True)
def conv_relu_pool(images, K, c, pooled, winner):
    """pooled[n, p, q, ch] = ReLU(max over the 2×2 window (i, j) = (2p + a, 2q + b) of z[n, i, j, ch]),
    z[n, i, j, ch] = c[ch] + Σ_{dy,dx} images[n, i+dy, j+dx] · K[3·dy + dx, ch];
    winner[n, p, q, ch] = 2a + b of the window's first maximum of z (ReLU after the max equals max after ReLU)."""
    n_images, n_pool, channels = images.shape[0], pooled.shape[1], K.shape[1]
    z = np.empty(channels, dtype=pooled.dtype)
    best = np.empty(channels, dtype=pooled.dtype)
    for n in range(n_images):
        for p in range(n_pool):
            for q in range(n_pool):
                for w in range(4):
                    i, j = 2 * p + w // 2, 2 * q + w % 2
                    for ch in range(channels):
                        z[ch] = c[ch]
                    for dy in range(3):
                        for dx in range(3):
                            pixel = images[n, i + dy, j + dx]
                            if pixel != 0:   # MNIST is mostly blank: skip the taps that add nothing
                                row = 3 * dy + dx
                                for ch in range(channels):
                                    z[ch] += pixel * K[row, ch]
                    if w == 0:
                        for ch in range(channels):
                            best[ch] = z[ch]
                            winner[n, p, q, ch] = 0
                    else:
                        for ch in range(channels):
                            if z[ch] > best[ch]:
                                best[ch] = z[ch]
                                winner[n, p, q, ch] = w
                for ch in range(channels):
                    pooled[n, p, q, ch] = max(best[ch], 0)


@njit(cache=True, nogil=True)
def conv_backward(images, pooled, winner, dpooled, dK, dc):
    """∂K[3·dy + dx, ch] = Σ images[n, i+dy, j+dx] · ∂z[n, i, j, ch] and ∂c[ch] = Σ ∂z[n, i, j, ch], where ∂z is
    ∂pooled at each window's winner (i, j) if the pooled value is > 0 (ReLU passes it), and 0 elsewhere."""
    n_images, n_pool, channels = images.shape[0], pooled.shape[1], dK.shape[1]
    dK[...] = 0
    dc[...] = 0
    for n in range(n_images):
        for p in range(n_pool):
            for q in range(n_pool):
                for ch in range(channels):
                    g = dpooled[n, p, q, ch]
                    if g == 0 or pooled[n, p, q, ch] <= 0:
                        continue
                    w = winner[n, p, q, ch]
                    i, j = 2 * p + w // 2, 2 * q + w % 2
                    dc[ch] += g
                    for dy in range(3):
                        for dx in range(3):
                            dK[3 * dy + dx, ch] += images[n, i + dy, j + dx] * g


@njit(cache=True, nogil=True)
def conv_at_winners(images, VK, Vc, pooled, winner, out):
    """out[n, p, q, ch] = Vc[ch] + Σ_{dy,dx} images[n, i+dy, j+dx] · VK[3·dy + dx, ch] at the window's winner (i, j),
    where pooled[n, p, q, ch] > 0 (ReLU passes it), else 0: the derivative of the pooled map along (VK, Vc)."""
    n_images, n_pool, channels = images.shape[0], pooled.shape[1], VK.shape[1]
    for n in range(n_images):
        for p in range(n_pool):
            for q in range(n_pool):
                for ch in range(channels):
                    if pooled[n, p, q, ch] <= 0:
                        out[n, p, q, ch] = 0
                        continue
                    w = winner[n, p, q, ch]
                    i, j = 2 * p + w // 2, 2 * q + w % 2
                    value = Vc[ch]
                    for dy in range(3):
                        for dx in range(3):
                            value += images[n, i + dy, j + dx] * VK[3 * dy + dx, ch]
                    out[n, p, q, ch] = value
