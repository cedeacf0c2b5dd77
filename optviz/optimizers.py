"""Optimizers as pure functions over NumPy arrays of any shape.

    opt = optimizer("adam", lr=1e-3)
    state = opt.init(params)
    params, state = opt.step(params, grads, state)     # pure: inputs are left untouched
    params, state = opt.step_(params, grads, state)    # in place: updates the caller's buffers

Update rules follow torch.optim's documented algorithms and defaults (AdaBelief, Lion, QHM and QHAdam follow
their papers). Hyperparameters may be 1-D arrays of length N that broadcast against the leading batch axis of
`params`, so one call steps N configurations. Every rule updates its state in place with preallocated scratch
buffers: temporaries the size of the parameters are what make a NumPy optimizer slow.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from .params import Param, lookup, resolve
from .schedules import Schedule, constant

# ---------------------------------------------------------------------------------------------------------------
# Hyperparameter specs shared by several optimizers

def _lr(default: float) -> Param:
    return Param("lr", r"\alpha", default, "learning rate: the step size", low=0.0, low_open=True, log=True)


def _beta(name: str, symbol: str, default: float, meaning: str) -> Param:
    return Param(name, symbol, default, meaning, low=0.0, high=1.0, high_open=True)


def _eps(default: float) -> Param:
    return Param("eps", r"\varepsilon", default, "added to the denominator to avoid division by zero", low=0.0,
                 log=True)


def _weight_decay(default: float = 0.0, decoupled: bool = False) -> Param:
    how = "decoupled: θ ← θ(1 − αλ)" if decoupled else "L2 penalty: g ← g + λθ"
    return Param("weight_decay", r"\lambda", default, f"weight decay, {how}", low=0.0)


BETA1 = _beta("beta1", r"\beta_1", 0.9, "decay rate of the first moment (mean of g)")
BETA2 = _beta("beta2", r"\beta_2", 0.999, "decay rate of the second moment (mean of g²)")
MOMENTUM = _beta("momentum", r"\mu", 0.9, "momentum: how much of the previous velocity is kept")
BIAS_CORRECTION = Param("bias_correction", r"\text{bias correction}", True,
                        "divide the moments by 1−βᵗ so that m₀ = v₀ = 0 does not shrink the first steps",
                        kind="bool")


# ---------------------------------------------------------------------------------------------------------------
# Specs

@dataclass(frozen=True)
class OptimizerSpec:
    """Everything the engine and the UI need to know about one optimizer."""

    name: str
    title: str
    params: tuple[Param, ...]
    state: tuple[str, ...]
    latex: str
    rule: Callable
    family: str = "sgd"  # "sgd", "adaptive" or "adam": which traces the UI shows
    scratch: int = 2
    state_fill: dict[str, str] = field(default_factory=dict)  # state name -> hyperparameter to fill it with

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


class Hyper:
    """Hyperparameters shaped for one parameter array: `h.lr`, `h.beta1`, ...; `h.pow(name, t)` = value**t.

    Array-valued hyperparameters are reshaped to (N, 1, ..., 1) so they broadcast against params (N, ...).
    `pow` raises only the distinct values: a 200×200 β1×β2 grid needs 200 powers per step, not 40,000.
    """

    def __init__(self, values: dict[str, Any], ndim: int):
        self._distinct = {}
        self._batch_shape = (-1,) + (1,) * (ndim - 1)
        for name, value in values.items():
            if isinstance(value, np.ndarray):
                distinct, inverse = np.unique(value, return_inverse=True)
                self._distinct[name] = (distinct, inverse.reshape(self._batch_shape))
                value = value.reshape(self._batch_shape)
            setattr(self, name, value)

    def shape(self, value):
        """Reshape a per-configuration array (N,) to broadcast like the hyperparameters; scalars pass through."""
        return value.reshape(self._batch_shape) if isinstance(value, np.ndarray) and value.ndim == 1 else value

    def pow(self, name: str, exponent: float):
        if name not in self._distinct:
            return getattr(self, name) ** exponent
        distinct, inverse = self._distinct[name]
        # Python's pow, as torch uses: NumPy's vectorized pow can differ in the last bit, and then a batched run
        # would not reproduce the same run made alone (or in another batch).
        powers = np.array([value ** exponent for value in distinct.tolist()])
        return powers[inverse]


class Optimizer:
    """An optimizer bound to its hyperparameters (and optionally a learning-rate schedule)."""

    def __init__(self, spec: OptimizerSpec, hparams: dict[str, Any], schedule: Schedule | None = None):
        self.spec = spec
        self.hparams = hparams
        self.schedule = schedule or constant()
        self._constant_lr = self.schedule.is_constant
        self.State = _state_type(spec)
        self._cache: dict[tuple, tuple[Hyper, list[np.ndarray]]] = {}
        sizes = {v.shape[0] for v in hparams.values() if isinstance(v, np.ndarray)}
        if len(sizes) > 1:
            raise ValueError(f"{spec.name}: hyperparameter arrays must all have the same length, got {sorted(sizes)}")
        self.batch = sizes.pop() if sizes else None

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hparams.items())
        return f"optimizer({self.spec.name!r}, {args})"

    def init(self, params: np.ndarray):
        """Zeroed state shaped like `params` (AdaGrad's accumulator starts at its initial value)."""
        params = np.asarray(params)
        if self.batch is not None and (params.ndim == 0 or params.shape[0] != self.batch):
            raise ValueError(f"{self.spec.name}: hyperparameter arrays have length {self.batch}, but params have "
                             f"shape {params.shape}; the leading axis must match")
        hyper = self._hyper(params.ndim)
        arrays = {}
        for name in self.spec.state:
            fill = self.spec.state_fill.get(name)
            if name == "mu_product":  # NAdam's running product of momentum coefficients, one per configuration
                arrays[name] = np.ones(np.broadcast_shapes(np.shape(hyper.beta1), np.shape(hyper.momentum_decay)))
            else:
                arrays[name] = np.zeros_like(params, dtype=_float_dtype(params))
                if fill:
                    arrays[name] += getattr(hyper, fill)
        return self.State(step=np.zeros((), dtype=np.int64), **arrays)

    def lr_at(self, step):
        """The learning rate used at optimizer step `step` (1-based; an int or an array of steps)."""
        if self._constant_lr:
            return self.hparams["lr"]
        return self.schedule(self.hparams["lr"], step - 1)

    def step(self, params: np.ndarray, grads: np.ndarray, state):
        """One update; returns new (params, state) and leaves the inputs untouched."""
        params = np.array(params, dtype=_float_dtype(params), copy=True)
        state = self.State(*(np.array(a, copy=True) for a in state))
        return self.step_(params, np.asarray(grads), state)

    def step_(self, params: np.ndarray, grads: np.ndarray, state):
        """One update in place: `params` and the state's arrays are overwritten and returned."""
        t = state.step.item() + 1
        state.step[()] = t
        hyper, work = self._prepared(params)
        lr = hyper.lr if self._constant_lr else _plain(hyper.shape(self.lr_at(t)))
        self.spec.rule(params, grads, state, hyper, t, lr, work)
        return params, state

    def _hyper(self, ndim: int) -> Hyper:
        return Hyper(self.hparams, max(ndim, 1))

    def _prepared(self, params: np.ndarray) -> tuple[Hyper, list[np.ndarray]]:
        """Hyperparameters shaped for `params` and scratch buffers like it, made once per shape and dtype."""
        key = (params.shape, params.dtype)
        if key not in self._cache:
            work = [np.empty_like(params) for _ in range(self.spec.scratch)]
            self._cache[key] = (self._hyper(params.ndim), work)
        return self._cache[key]


def _float_dtype(params) -> np.dtype:
    dtype = np.asarray(params).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


_STATE_TYPES: dict[str, type] = {}


def _state_type(spec: OptimizerSpec) -> type:
    if spec.name not in _STATE_TYPES:
        title = "".join(part.capitalize() for part in spec.name.split("_"))
        _STATE_TYPES[spec.name] = namedtuple(f"{title}State", ("step",) + spec.state)
    return _STATE_TYPES[spec.name]


# ---------------------------------------------------------------------------------------------------------------
# In-place building blocks. `out` is a scratch buffer shaped like the parameters.

def _plain(value):
    """A 0-d array or NumPy scalar as a Python float. NumPy's own float64 scalars are strongly typed: one of them
    in `float32_array * c` computes in float64 and costs several times more; a Python float keeps float32."""
    return value if isinstance(value, np.ndarray) and value.ndim else float(value)  # (np.ndim costs 0.7 µs)


def _sqrt(value):
    """√value, a Python float for a scalar (see _plain), elementwise for arrays."""
    return np.sqrt(value) if isinstance(value, np.ndarray) and value.ndim else math.sqrt(value)


def _is_zero(value) -> bool:
    return not isinstance(value, np.ndarray) and value == 0


def _is_one(value) -> bool:
    return not isinstance(value, np.ndarray) and value == 1


def _l2(g, p, weight_decay, out):
    """g + λθ (torch's coupled weight decay); returns g itself when λ = 0."""
    if _is_zero(weight_decay):
        return g
    np.multiply(p, weight_decay, out=out)
    out += g
    return out


def _decay_weights(p, lr, weight_decay):
    """θ ← θ(1 − αλ) (decoupled weight decay, as in AdamW)."""
    if not _is_zero(weight_decay):
        p *= 1 - lr * weight_decay


def _lerp(avg, x, weight, out):
    """avg ← avg + w(x − avg), torch's lerp_: the EMA avg ← (1−w)·avg + w·x."""
    np.subtract(x, avg, out=out)
    out *= weight
    avg += out


def _ema_square(avg, x, beta, out):
    """avg ← β·avg + (1−β)·x²."""
    avg *= beta
    np.multiply(x, x, out=out)
    out *= 1 - beta
    avg += out


def _add_scaled_ratio(p, num, den, scale, out):
    """θ ← θ − scale · num/den."""
    np.divide(num, den, out=out)
    out *= scale
    p -= out


# ---------------------------------------------------------------------------------------------------------------
# Update rules: rule(p, g, s, h, t, lr, w) updates p and the state s in place at step t (1-based).

def _sgd(p, g, s, h, t, lr, w, *, nesterov=False):
    g = _l2(g, p, h.weight_decay, w[0])
    if s._fields[1:]:  # momentum variants keep a velocity
        buf = s.buf
        if t == 1:
            buf[...] = g
        else:
            buf *= h.momentum
            undamped = _undamped(h)
            buf += g if _is_one(undamped) else np.multiply(g, undamped, out=w[1])
        if nesterov:
            g = np.add(np.multiply(buf, h.momentum, out=w[1]), g, out=w[1])
        else:
            g = buf
    np.multiply(g, lr, out=w[1])
    p -= w[1]


def _undamped(h):
    """1 − τ, the share of g added to the velocity. torch's nesterov has no dampening, and with μ = 0 torch keeps
    no velocity at all (plain SGD), so the dampening must not apply there: 1 − τ becomes 1 where μ = 0."""
    dampening = getattr(h, "dampening", 0.0)
    if _is_zero(dampening):
        return 1.0
    return 1 - np.where(np.equal(h.momentum, 0), 0.0, dampening)


def _adagrad(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    total = s.sum
    total += np.multiply(g, g, out=w[1])
    std = np.sqrt(total, out=w[1])
    std += h.eps
    _add_scaled_ratio(p, g, std, lr / (1 + (t - 1) * h.lr_decay), std)


def _rmsprop(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    _ema_square(s.v, g, h.alpha, w[1])
    if h.centered:
        _lerp(s.g_avg, g, 1 - h.alpha, w[1])
        np.multiply(s.g_avg, s.g_avg, out=w[1])
        np.subtract(s.v, w[1], out=w[1])
        avg = np.sqrt(w[1], out=w[1])
    else:
        avg = np.sqrt(s.v, out=w[1])
    avg += h.eps
    if _is_zero(h.momentum):
        _add_scaled_ratio(p, g, avg, lr, avg)
        return
    buf = s.buf
    buf *= h.momentum
    buf += np.divide(g, avg, out=avg)
    p -= np.multiply(buf, lr, out=avg)


def _adadelta(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    _ema_square(s.v, g, h.rho, w[1])
    delta = w[1]
    np.add(s.u, h.eps, out=delta)
    np.sqrt(delta, out=delta)
    std = np.add(s.v, h.eps, out=w[2])
    np.sqrt(std, out=std)
    delta /= std
    delta *= g
    _ema_square(s.u, delta, h.rho, w[2])
    delta *= lr
    p -= delta


def _adam(p, g, s, h, t, lr, w, *, amsgrad=False, decoupled=False):
    if decoupled:
        _decay_weights(p, lr, h.weight_decay)
    else:
        g = _l2(g, p, h.weight_decay, w[0])
    _lerp(s.m, g, 1 - h.beta1, w[1])
    _ema_square(s.v, g, h.beta2, w[1])
    v = s.v
    if amsgrad:
        np.maximum(s.v_max, s.v, out=s.v_max)
        v = s.v_max
    if h.bias_correction:
        bc1, bc2_sqrt = 1 - h.pow("beta1", t), _sqrt(1 - h.pow("beta2", t))
    else:
        bc1 = bc2_sqrt = 1.0
    # torch's α/(1−β₁ᵗ) · m/(√v/√(1−β₂ᵗ) + ε), with √(1−β₂ᵗ) moved from the denominator into the two scalars:
    # the same number up to rounding, and one pass over the parameters fewer
    denom = np.sqrt(v, out=w[1])
    denom += h.eps * bc2_sqrt
    _add_scaled_ratio(p, s.m, denom, lr * (bc2_sqrt / bc1), w[1])  # one pass over an lr array, not two


def _adamax(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    _lerp(s.m, g, 1 - h.beta1, w[1])
    u = s.u
    u *= h.beta2
    bound = np.abs(g, out=w[1])
    bound += h.eps
    np.maximum(u, bound, out=u)
    _add_scaled_ratio(p, s.m, s.u, lr / (1 - h.pow("beta1", t)), w[1])


def _nadam(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    mu = h.beta1 * (1 - 0.5 * 0.96 ** (t * h.momentum_decay))
    mu_next = h.beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * h.momentum_decay))
    s.mu_product[...] *= mu
    _lerp(s.m, g, 1 - h.beta1, w[1])
    _ema_square(s.v, g, h.beta2, w[1])
    denom = np.divide(s.v, 1 - h.pow("beta2", t), out=w[1])
    np.sqrt(denom, out=denom)
    denom += h.eps
    w2 = w[2]
    product = _plain(s.mu_product)
    _add_scaled_ratio(p, g, denom, lr * (1 - mu) / (1 - product), w2)
    _add_scaled_ratio(p, s.m, denom, lr * mu_next / (1 - product * mu_next), w2)


def _radam(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    _lerp(s.m, g, 1 - h.beta1, w[1])
    _ema_square(s.v, g, h.beta2, w[1])
    bc1 = 1 - h.pow("beta1", t)
    beta2_t = h.pow("beta2", t)
    bc2 = 1 - beta2_t
    rho_inf = 2 / (1 - h.beta2) - 1
    rho_t = rho_inf - 2 * t * beta2_t / bc2
    step = np.divide(s.m, bc1, out=w[2])
    step *= lr
    # The rectifier is defined once the variance is tractable (ρ_t > 5); before that RAdam takes momentum-SGD steps.
    tractable = rho_t > 5
    if np.ndim(tractable) == 0 and not tractable:
        p -= step
        return
    # where ρ_t ≤ 5 (and always when ρ∞ ≤ 5, i.e. β2 ≤ 2/3) the rectifier is NaN or infinite; those entries are
    # replaced below, so the warnings are noise
    with np.errstate(divide="ignore", invalid="ignore"):
        rect = _plain(np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)))
    adaptive = np.sqrt(s.v, out=w[1])
    adaptive += h.eps
    np.divide(_sqrt(bc2), adaptive, out=adaptive)
    adaptive *= rect
    # where not tractable the adaptive factor is 1: plain bias-corrected momentum
    np.copyto(adaptive, 1.0, where=~np.broadcast_to(tractable, adaptive.shape))
    step *= adaptive
    p -= step


def _adabelief(p, g, s, h, t, lr, w):
    _decay_weights(p, lr, h.weight_decay)
    _lerp(s.m, g, 1 - h.beta1, w[1])
    np.subtract(g, s.m, out=w[0])
    belief = s.s
    _ema_square(belief, w[0], h.beta2, w[1])
    belief += h.eps
    denom = np.divide(s.s, 1 - h.pow("beta2", t), out=w[1])
    np.sqrt(denom, out=denom)
    denom += h.eps
    _add_scaled_ratio(p, s.m, denom, lr / (1 - h.pow("beta1", t)), w[1])


def _lion(p, g, s, h, t, lr, w):
    _decay_weights(p, lr, h.weight_decay)
    c = np.multiply(s.m, h.beta1, out=w[0])
    c += np.multiply(g, 1 - h.beta1, out=w[1])
    np.sign(c, out=c)
    c *= lr
    p -= c
    _lerp(s.m, g, 1 - h.beta2, w[1])


def _qhm(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    _lerp(s.buf, g, 1 - h.momentum, w[1])
    step = np.multiply(g, 1 - h.nu, out=w[1])
    step += np.multiply(s.buf, h.nu, out=w[2])
    step *= lr
    p -= step


def _qhadam(p, g, s, h, t, lr, w):
    g = _l2(g, p, h.weight_decay, w[0])
    _lerp(s.m, g, 1 - h.beta1, w[1])
    _ema_square(s.v, g, h.beta2, w[1])
    num = np.multiply(s.m, h.nu1 / (1 - h.pow("beta1", t)), out=w[1])
    num += np.multiply(g, 1 - h.nu1, out=w[2])
    den = np.multiply(g, g, out=w[2])
    den *= 1 - h.nu2
    den += np.multiply(s.v, h.nu2 / (1 - h.pow("beta2", t)), out=w[3])
    np.sqrt(den, out=den)
    den += h.eps
    _add_scaled_ratio(p, num, den, lr, w[1])


# ---------------------------------------------------------------------------------------------------------------
# The catalogue

_DAMPENING = Param("dampening", r"\tau", 0.0, "dampening: the share of the gradient left out of the velocity",
                   low=0.0, high=1.0)
_NU = Param("nu", r"\nu", 0.7, "immediate discount: 0 is plain SGD, 1 is momentum", low=0.0, high=1.0)
_ADAM_LATEX = (r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2"
               r"\\ \hat m_t = \frac{m_t}{1-\beta_1^t},\quad \hat v_t = \frac{v_t}{1-\beta_2^t},\quad"
               r"\theta_t = \theta_{t-1} - \alpha \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}")


def _adam_params(lr: float, weight_decay: Param) -> tuple[Param, ...]:
    return (_lr(lr), BETA1, BETA2, _eps(1e-8), weight_decay)


SPECS: dict[str, OptimizerSpec] = {spec.name: spec for spec in [
    OptimizerSpec("sgd", "SGD", (_lr(1e-3), _weight_decay()), (),
                  r"\theta_t = \theta_{t-1} - \alpha g_t", _sgd),
    OptimizerSpec("momentum", "SGD with momentum", (_lr(1e-3), MOMENTUM, _DAMPENING, _weight_decay()), ("buf",),
                  r"b_t = \mu b_{t-1} + (1-\tau) g_t,\quad \theta_t = \theta_{t-1} - \alpha b_t", _sgd),
    OptimizerSpec("nesterov", "Nesterov momentum", (_lr(1e-3), MOMENTUM, _weight_decay()), ("buf",),
                  r"b_t = \mu b_{t-1} + g_t,\quad \theta_t = \theta_{t-1} - \alpha (g_t + \mu b_t)",
                  partial(_sgd, nesterov=True)),
    OptimizerSpec("adagrad", "AdaGrad",
                  (_lr(1e-2), Param("lr_decay", r"\eta", 0.0, "learning-rate decay: α/(1+(t−1)η)", low=0.0),
                   _weight_decay(), Param("initial_accumulator_value", r"G_0", 0.0,
                                          "starting value of the sum of squared gradients", low=0.0),
                   _eps(1e-10)),
                  ("sum",),
                  r"G_t = G_{t-1} + g_t^2,\quad \theta_t = \theta_{t-1} - \frac{\alpha}{1+(t-1)\eta}"
                  r"\frac{g_t}{\sqrt{G_t}+\varepsilon}", _adagrad, family="adaptive",
                  state_fill={"sum": "initial_accumulator_value"}),
    OptimizerSpec("rmsprop", "RMSProp",
                  (_lr(1e-2), Param("alpha", r"\rho", 0.99, "smoothing constant of the mean of g²", low=0.0,
                                    high=1.0, high_open=True),
                   _eps(1e-8), _weight_decay(), Param("momentum", r"\mu", 0.0, "momentum", low=0.0, high=1.0,
                                                      high_open=True),
                   Param("centered", r"\text{centered}", False, "divide by the variance estimate v − E[g]²",
                         kind="bool")),
                  ("v", "g_avg", "buf"),
                  r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad b_t = \mu b_{t-1} + \frac{g_t}{\sqrt{v_t}+"
                  r"\varepsilon},\quad \theta_t = \theta_{t-1} - \alpha b_t", _rmsprop, family="adaptive"),
    OptimizerSpec("adadelta", "Adadelta",
                  (_lr(1.0), Param("rho", r"\rho", 0.9, "decay rate of both running averages", low=0.0, high=1.0),
                   _eps(1e-6), _weight_decay()),
                  ("v", "u"),
                  r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad \Delta_t = \frac{\sqrt{u_{t-1}+\varepsilon}}"
                  r"{\sqrt{v_t+\varepsilon}} g_t,\quad u_t = \rho u_{t-1} + (1-\rho)\Delta_t^2,\quad"
                  r"\theta_t = \theta_{t-1} - \alpha\Delta_t", _adadelta, family="adaptive", scratch=3),
    OptimizerSpec("adam", "Adam", _adam_params(1e-3, _weight_decay()) + (BIAS_CORRECTION,), ("m", "v"),
                  _ADAM_LATEX, _adam, family="adam"),
    OptimizerSpec("amsgrad", "AMSGrad", _adam_params(1e-3, _weight_decay()) + (BIAS_CORRECTION,),
                  ("m", "v", "v_max"),
                  _ADAM_LATEX.replace(r"\hat v_t = \frac{v_t}", r"\hat v_t = \frac{\max_{s\le t} v_s}"),
                  partial(_adam, amsgrad=True), family="adam"),
    OptimizerSpec("adamw", "AdamW", _adam_params(1e-3, _weight_decay(1e-2, decoupled=True)) + (BIAS_CORRECTION,),
                  ("m", "v"),
                  _ADAM_LATEX.replace(r"\theta_t = \theta_{t-1}", r"\theta_t = \theta_{t-1}(1-\alpha\lambda)"),
                  partial(_adam, decoupled=True), family="adam"),
    OptimizerSpec("nadam", "NAdam",
                  _adam_params(2e-3, _weight_decay()) + (
                      Param("momentum_decay", r"\psi", 4e-3, "momentum schedule: μ_t = β₁(1 − ½·0.96^{tψ})",
                            low=0.0),),
                  ("m", "v", "mu_product"),
                  r"\mu_t = \beta_1(1-\tfrac12 0.96^{t\psi}),\quad \theta_t = \theta_{t-1} - \alpha\left("
                  r"\frac{\mu_{t+1} m_t}{1-\prod_{i\le t+1}\mu_i} + \frac{(1-\mu_t) g_t}{1-\prod_{i\le t}\mu_i}"
                  r"\right)\Big/\left(\sqrt{\hat v_t}+\varepsilon\right)", _nadam, family="adam", scratch=3),
    OptimizerSpec("radam", "RAdam", _adam_params(1e-3, _weight_decay()), ("m", "v"),
                  r"\rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t},\quad \theta_t = \theta_{t-1} - "
                  r"\alpha \hat m_t \cdot \begin{cases} r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\varepsilon} & "
                  r"\rho_t > 5 \\ 1 & \text{otherwise}\end{cases}", _radam, family="adam", scratch=3),
    OptimizerSpec("adamax", "Adamax", _adam_params(2e-3, _weight_decay()), ("m", "u"),
                  r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \varepsilon),\quad \theta_t = \theta_{t-1} - "
                  r"\frac{\alpha}{1-\beta_1^t}\frac{m_t}{u_t}", _adamax, family="adam"),
    OptimizerSpec("adabelief", "AdaBelief", _adam_params(1e-3, _weight_decay(decoupled=True))[:3]
                  + (_eps(1e-16), _weight_decay(decoupled=True)), ("m", "s"),
                  r"s_t = \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \varepsilon,\quad \theta_t = "
                  r"\theta_{t-1} - \alpha \frac{\hat m_t}{\sqrt{\hat s_t} + \varepsilon}", _adabelief,
                  family="adam"),
    OptimizerSpec("lion", "Lion",
                  (_lr(1e-4), BETA1, _beta("beta2", r"\beta_2", 0.99, "decay rate of the momentum"),
                   _weight_decay(decoupled=True)), ("m",),
                  r"c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad \theta_t = \theta_{t-1} - \alpha\,"
                  r"\mathrm{sign}(c_t),\quad m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t", _lion),
    OptimizerSpec("qhm", "QHM",
                  (_lr(1e-3), _beta("momentum", r"\beta", 0.999, "decay rate of the momentum buffer"), _NU,
                   _weight_decay()), ("buf",),
                  r"b_t = \beta b_{t-1} + (1-\beta) g_t,\quad \theta_t = \theta_{t-1} - \alpha[(1-\nu) g_t"
                  r" + \nu b_t]", _qhm, scratch=3),
    OptimizerSpec("qhadam", "QHAdam",
                  (_lr(1e-3), _beta("beta1", r"\beta_1", 0.995, BETA1.help), BETA2,
                   Param("nu1", r"\nu_1", 0.7, "immediate discount of the first moment", low=0.0, high=1.0),
                   Param("nu2", r"\nu_2", 1.0, "immediate discount of the second moment", low=0.0, high=1.0),
                   _eps(1e-8), _weight_decay()), ("m", "v"),
                  r"\theta_t = \theta_{t-1} - \alpha\frac{(1-\nu_1) g_t + \nu_1 \hat m_t}"
                  r"{\sqrt{(1-\nu_2) g_t^2 + \nu_2 \hat v_t} + \varepsilon}", _qhadam, family="adam", scratch=4),
]}


def optimizer(name: str, schedule: Schedule | None = None, **hparams) -> Optimizer:
    """Build an optimizer by name, validating every hyperparameter against its spec."""
    spec = lookup(SPECS, name, "optimizer")
    return Optimizer(spec, resolve(spec.params, hparams, spec.name), schedule)

