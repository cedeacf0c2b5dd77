"""Muon on a network's hidden weight matrices and AdamW on its other arrays, as torch's documentation of
torch.optim.Muon advises: how the MNIST trainers step an optimizer whose rule is for a matrix (issue 29).

    hidden_matrices([p.shape for p in model.params])   # MLP 784-512-256-10: [2] (W2); the CNN: [2] (its W1)
    opt = HiddenMatricesAndAdamW(optviz.optimizer("muon", adjust_lr_fn="match_rms_adamw"), model)
    state = opt.init(model.flat)
    step = opt.stepper(model.flat, model.flat_grad, state, steps)   # then step(1), step(2), … after each gradient

Which arrays. torch: "Muon is an optimizer for 2D parameters of neural network hidden layers. Other parameters, such
as bias, and embedding, should be optimized by a standard method such as AdamW"; Keller Jordan's Muon, whose
constants torch uses, leaves the input layer and the classifier head to AdamW too. So the hidden weight matrices are
the 2-D weights of the layers that are neither the first (it reads the pixels, as an embedding reads the tokens) nor
the last (it gives the ten scores):
  * an MLP 784-h₁-…-hₖ-10: W2 … Wₖ, the matrices between two hidden layers; with one hidden layer there are none,
    and the trainer refuses Muon in words rather than stepping everything by AdamW;
  * the CNN: its dense W1 (5408×256). Its 3×3 kernels K, stored as the 9×32 matrix torch's (32, 1, 3, 3) kernel
    flattens to (Muon's usual treatment of a convolution), are its first layer, and W2 is its last: AdamW.
A matrix is stepped in torch's (out, in) layout, Wᵀ of optviz's (in, out): its shape sets Muon's rate scaling.

The other arrays (first layer, output layer, every bias): torch.optim.AdamW at its defaults, ADAMW_HPARAMS, with
Muon's learning rate and schedule. One rate for both parts is what Muon's adjust_lr_fn="match_rms_adamw" is for
(Moonshot's scaling: the update's RMS is AdamW's, so AdamW's rate and weight decay carry over); torch's own example
pairs Muon at 0.02 with AdamW at 3e-4 instead. The state is one flat vector per quantity, like the element-wise
rules': Muon's momentum buffer `buf` (zero outside the hidden matrices) and AdamW's `m`, `v` (zero inside them). A
schedule that cycles the momentum (one-cycle) cycles AdamW's β₁ only: Muon's μ stays as set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..optimizers import SPECS, OptimizerSpec, in_batches
from ..second_order import VectorOptimizer, optimizer
from ..whole_vector import MUON_PARTNER, MUON_PARTNER_HPARAMS

PARTNER, ADAMW_HPARAMS = MUON_PARTNER, MUON_PARTNER_HPARAMS  # the catalogue's: AdamW at torch's defaults


def hidden_matrices(shapes: Sequence[tuple[int, ...]]) -> list[int]:
    """The indices of a network's hidden weight matrices among its parameters' shapes (in layer order): the 2-D ones
    but the first and the last."""
    matrices = [i for i, shape in enumerate(shapes) if len(shape) == 2]
    return matrices[1:-1]


def trained() -> dict[str, OptimizerSpec]:
    """The optimizers the MNIST trainers step, by name: the element-wise ones (optviz.optimizers.in_batches) and those
    with a rule for one matrix (Muon), which step the hidden weight matrices while AdamW steps the rest."""
    stepped = in_batches()
    return {name: spec for name, spec in SPECS.items() if name in stepped or getattr(spec, "matrix_rule", None)}


def trained_note() -> str:
    """Which arrays Muon steps, and why the optimizers the trainers do not step are missing, in words."""
    matrix = [spec.title for spec in trained().values() if getattr(spec, "matrix_rule", None)]
    absent = [spec.title for name, spec in SPECS.items() if name not in trained()]
    words = [f"{' and '.join(matrix)} steps the hidden weight matrices only, as torch's documentation advises: an "
             "MLP's W2 … Wₖ between two hidden layers (so it needs two hidden layers or more, e.g. 512, 256), the "
             "CNN's dense 5408×256 layer; AdamW (torch's defaults, the same learning rate) steps the first layer, the "
             "output layer and the biases. adjust_lr_fn = match_rms_adamw lets one rate suit both."] if matrix else []
    if absent:
        words.append(f"{', '.join(absent)} are raced one run at a time (their rules need the whole vector, the "
                     "Hessian or extra gradients): they are in the race, not here.")
    return " ".join(words)


def no_hidden_matrix(sizes: Sequence) -> str:
    """Why an optimizer for matrices has nothing to step in the network of these layer sizes, in words."""
    return (f"Muon steps hidden weight matrices, those between two hidden layers, and {'-'.join(map(str, sizes))} has "
            "none: its first layer reads the pixels and its last gives the scores, which torch's documentation "
            "leaves to AdamW. Give two hidden layers or more (e.g. 512, 256), or take the CNN.")


class HiddenMatricesState(NamedTuple):
    step: np.ndarray  # the optimizer steps so far, shared by both parts
    buf: np.ndarray  # Muon's momentum buffer over the flat parameters (zero outside the hidden matrices)
    m: np.ndarray  # AdamW's moments over the flat parameters (zero inside the hidden matrices)
    v: np.ndarray


class HiddenMatricesAndAdamW:
    """An optimizer with a matrix rule (Muon) bound to a network: it steps the hidden weight matrices, AdamW at
    ADAMW_HPARAMS with its learning rate and schedule the other arrays. Read as the trainers read an Optimizer:
    `spec`, `hparams`, `schedule`, `name` and `lr_at` are the matrix optimizer's; `init`, `stepper` and `State` step
    the whole network."""

    State = HiddenMatricesState

    def __init__(self, opt: VectorOptimizer, model):
        self.spec, self.hparams, self.schedule, self.model = opt.spec, opt.hparams, opt.schedule, model
        self.lr_at = opt.lr_at
        if getattr(opt.spec, "matrix_rule", None) is None:
            raise ValueError(f"{opt.spec.title} is raced one run at a time (its rule needs {opt.spec.kind}): the "
                             "MNIST trainers step element-wise rules, and Muon's on the hidden weight matrices")
        self.matrices = hidden_matrices([p.shape for p in model.params])
        if not self.matrices:
            raise ValueError(no_hidden_matrix(model.sizes))
        self.partner = optimizer(PARTNER, opt.schedule, lr=opt.lr, **ADAMW_HPARAMS)

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"HiddenMatricesAndAdamW({self.spec.name!r} on {self.arrays()['matrix']}, {PARTNER} on the rest)"

    def arrays(self) -> dict[str, list[str]]:
        """The parameter arrays by name: {"matrix": those the matrix rule steps, "partner": AdamW's}."""
        names = self.model.names
        return {"matrix": [names[i] for i in self.matrices],
                "partner": [n for i, n in enumerate(names) if i not in self.matrices]}

    def init(self, params: np.ndarray) -> HiddenMatricesState:
        return HiddenMatricesState(np.zeros((), dtype=np.int64), *(np.zeros_like(params) for _ in range(3)))

    def stepper(self, params: np.ndarray, grads: np.ndarray, state: HiddenMatricesState, steps: int):
        """step(t): one step of both parts at optimizer step t, in place, for these flat parameters and gradients."""
        split = self.model.split
        theta, g, buf = split(params), split(grads), split(state.buf)
        moments = {name: split(getattr(state, name)) for name in self.partner.arrays}
        partner_steps = [self.partner.stepper(theta[i], g[i], self.partner.State(
            state.step, **{name: views[i] for name, views in moments.items()}), steps)
            for i in range(len(theta)) if i not in self.matrices]
        lrs = np.asarray(self.lr_at(np.arange(1, steps + 1)), dtype=np.float64).reshape(-1)
        rule = self.spec.matrix_rule

        def step(t: int) -> None:
            state.step[()] = t
            for partner_step in partner_steps:
                partner_step(t)
            for i in self.matrices:  # in torch's (out, in) layout: the transposed views
                new, moved = rule(theta[i].T, g[i].T, buf[i].T, self.hparams, float(lrs[t - 1]))
                theta[i].T[...], buf[i].T[...] = new, moved
        return step
