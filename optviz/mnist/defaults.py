"""Whose defaults: each framework's documented hyperparameters, as data, for the optimizers of the MNIST tab.

    hparams, unsupported = framework_hparams("keras", "adam")   # {"lr": 0.001, "eps": 1e-07, ...}, ()
    run = train(data, "adam", model="cnn", **hparams)

optviz's own defaults are torch.optim's, so the PyTorch entry only fills what torch leaves open: SGD has no default
learning rate in torch.optim, and optviz's 1e-3 leaves a network at chance level for epochs in front of a class,
so the stated value is 0.01 (Keras's default, which does learn visibly). Muon, which the trainers apply to the hidden
weight matrices while AdamW steps the rest at Muon's rate (optviz.mnist.hidden_matrices), takes adjust_lr_fn
"match_rms_adamw" instead of torch's "original": torch's documentation says that with it Muon reuses AdamW's rate.

The Keras entry is keras.optimizers as documented (keras.io/api/optimizers and the docstrings and `__init__`
signatures of keras-team/keras, keras/src/optimizers/{adadelta,adagrad,adam,rmsprop,sgd}.py, Keras 3):
    Adadelta  learning_rate 0.001, rho 0.95, epsilon 1e-7         Δ = √(u + ε)/√(v + ε)·g: torch's rule
    Adagrad   learning_rate 0.001, initial_accumulator_value 0.1, epsilon 1e-7
                                                                  θ −= α·g/√(G + ε): ε inside the root
    Adam      learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7
                                                                  θ −= α√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε̂): ε̂ added to √v
                                                                  before the bias correction
    RMSprop   learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered False
                                                                  θ −= α·g/√(v + ε): ε inside the root
    SGD       learning_rate 0.01, momentum 0, nesterov False      torch's rule
Where Keras's update differs from torch's beyond the values, the difference is the option `eps_placement` of the
same rule in optviz.optimizers ("inside": √(· + ε), "keras": Adam's ε̂), not a second implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..optimizers import SPECS
from .hidden_matrices import trained


@dataclass(frozen=True)
class Framework:
    title: str
    hparams: dict[str, dict[str, object]]   # optimizer -> its hyperparameters where they differ from optviz's
    offered: tuple[str, ...] | None = None  # the optimizers this framework has; None: all of optviz's
    notes: dict[str, str] = field(default_factory=dict)   # optimizer -> what the tab says about its values


FRAMEWORKS = {
    "pytorch": Framework(
        "PyTorch",
        {"sgd": {"lr": 0.01}, "muon": {"adjust_lr_fn": "match_rms_adamw"}},
        notes={"sgd": "torch.optim.SGD has no default learning rate: 0.01 is used (Keras's default)",
               "muon": "adjust_lr_fn is match_rms_adamw (torch's default: original), which torch's documentation "
                       "says lets Muon reuse AdamW's learning rate: AdamW steps the other arrays at the same rate"},
    ),
    "keras": Framework(
        "Keras",
        {
            "adadelta": {"lr": 0.001, "rho": 0.95, "eps": 1e-7},
            "adagrad": {"lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7, "eps_placement": "inside"},
            "adam": {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "eps_placement": "keras"},
            "rmsprop": {"lr": 0.001, "alpha": 0.9, "eps": 1e-7, "momentum": 0.0, "centered": False,
                        "eps_placement": "inside"},
            "sgd": {"lr": 0.01},
        },
        offered=("adadelta", "adagrad", "adam", "rmsprop", "sgd"),
        notes={"adadelta": "Keras's default learning rate is 0.001, and it starts slowly; Keras's documentation "
                           "says that 1.0 matches the original paper",
               "adagrad": "Keras starts the accumulator at 0.1, so its first steps are small"},
    ),
}


def framework_hparams(framework: str, optimizer: str) -> tuple[dict[str, object], tuple[str, ...]]:
    """(hyperparameters, unsupported): `framework`'s values for `optimizer`, over optviz's defaults, and the
    names of any of its options that this build of optviz.optimizers does not have (they are left out)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}, got {framework!r}")
    spec = SPECS[optimizer]
    chosen = FRAMEWORKS[framework].hparams.get(optimizer, {})
    known = {p.name for p in spec.params}
    hparams = {**spec.defaults, **{k: v for k, v in chosen.items() if k in known}}
    return hparams, tuple(k for k in chosen if k not in known)


def offered(framework: str) -> list[str]:
    """The optimizers a framework has that the trainers step (element-wise rules and Muon: hidden_matrices.trained),
    in optviz's order."""
    chosen = FRAMEWORKS[framework].offered
    return [name for name in trained() if chosen is None or name in chosen]
