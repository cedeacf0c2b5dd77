"""Write the reference trajectories of SAM, Lookahead, L-BFGS, Muon, Adafactor and Prodigy that
tests/test_optimizers_second_order.py checks.

Requires torch==2.13.0, pytorch-optimizer==4.1.0 and prodigyopt==1.1.2 (the development venv: /work/refvenv).
Run from the repository root:

    /work/refvenv/bin/python tools/make_second_order_references.py

and commit the file it writes, tests/fixtures/second_order_references.npz. Neither optviz nor the tests import
torch: the fixture is the only bridge.

Each case is one optimizer with one setting, run for STEPS steps from a start on a surface of optviz's, the loss
and gradient written with the same operations in the same order as optviz/surfaces.py (so that both sides
evaluate them bit for bit alike); float64 throughout (torch's default dtype set to float64). One step is one
step() call of the reference class:

* SAM (pytorch_optimizer.SAM, foreach=False): the gradient at θ computed first, then step(closure), as its
  docstring shows; its inner optimizer is the torch.optim class of the same name as optviz's inner.
* Lookahead (pytorch_optimizer.Lookahead around a torch.optim optimizer, pullback_momentum="none").
* L-BFGS (torch.optim.LBFGS): step(closure); its state's func_evals after every step is recorded too.
* Muon (torch.optim.Muon) on the point as a 1×2 matrix, torch's Newton–Schulz iteration PATCHED to run in float64:
  torch casts the momentum to bfloat16 before iterating (_zeropower_via_newtonschulz), which would round the step
  to 3 significant digits; `_newton_schulz_in_float64` is torch's function with that one cast removed.
* Adafactor (torch.optim.Adafactor, foreach=False) on the point as a vector (not factored).
* Prodigy (prodigyopt 1.1.2's Prodigy, the authors' class; pip install --no-deps prodigyopt==1.1.2).

Besides the cases below, every configuration of torch's own optimizer tests (torch.testing._internal.
common_optimizers.optim_db) for LBFGS, Adafactor and Muon runs on Rosenbrock, in optviz's spelling (a tensor lr as
the same number; Muon's ns_coefficients as ns_a, ns_b, ns_c); each case's ``optim_db`` names torch's description.

What the fixture holds: ``meta`` (JSON: versions, STEPS, and per case the optviz optimizer name, its hyperparameters
in optviz's spelling, the surface and its parameters, the start, and for torch's own configurations its
description), ``trajectories`` (cases, STEPS+1, 2) the
parameters after every step, ``evaluations`` (cases, STEPS+1) the gradient evaluations spent by then.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import torch.optim._muon as torch_muon
from prodigyopt import Prodigy
from pytorch_optimizer import SAM, Lookahead

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "second_order_references.npz"
STEPS = 300
ROSENBROCK = ("rosenbrock", {"a": 1.0, "b": 100.0}, (-1.5, 2.0))
HIMMELBLAU = ("himmelblau", {}, (0.0, -0.5))
INNER = {"sgd": torch.optim.SGD, "momentum": torch.optim.SGD, "adam": torch.optim.Adam,
         "rmsprop": torch.optim.RMSprop, "adamw": torch.optim.AdamW}
INNER_DEFAULTS = {"momentum": {"momentum": 0.9}}  # optviz's momentum is torch's SGD with momentum 0.9 by default

CASES = [  # (optviz name, optviz hyperparameters, surface)
    ("sam", {"inner": "sgd", "lr": 1e-3}, ROSENBROCK),
    ("sam", {"inner": "adam", "lr": 1e-2, "rho": 0.05}, ROSENBROCK),
    ("sam", {"inner": "adam", "lr": 1e-2, "rho": 0.3, "adaptive": True}, ROSENBROCK),
    ("sam", {"inner": "momentum", "lr": 2e-3, "rho": 0.1}, HIMMELBLAU),
    ("lookahead", {"inner": "adam", "lr": 1e-2, "k": 5, "alpha": 0.5}, ROSENBROCK),
    ("lookahead", {"inner": "momentum", "lr": 1e-3, "k": 3, "alpha": 0.8}, ROSENBROCK),
    ("lookahead", {"inner": "rmsprop", "lr": 1e-2, "k": 6, "alpha": 0.3, "inner_alpha": 0.9}, HIMMELBLAU),
    ("lookahead", {"inner": "adamw", "lr": 3e-2, "k": 1, "alpha": 0.5, "weight_decay": 0.1}, ROSENBROCK),
    ("lbfgs", {"lr": 0.1, "max_iter": 1}, HIMMELBLAU),
    ("lbfgs", {"lr": 0.05, "max_iter": 4, "history_size": 3}, ROSENBROCK),
    ("lbfgs", {"lr": 0.2}, ROSENBROCK),
    ("lbfgs", {"lr": 1.0, "max_iter": 2, "line_search_fn": "strong_wolfe"}, ROSENBROCK),
    ("lbfgs", {"lr": 1.0, "max_iter": 3, "history_size": 2, "line_search_fn": "strong_wolfe"}, HIMMELBLAU),
    ("lbfgs", {"lr": 0.5, "max_iter": 1, "max_eval": 3, "line_search_fn": "strong_wolfe"}, ROSENBROCK),
    ("muon", {"lr": 0.02}, ROSENBROCK),
    ("muon", {"lr": 0.01, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "ns_steps": 3}, ROSENBROCK),
    ("muon", {"lr": 0.05, "adjust_lr_fn": "match_rms_adamw", "ns_a": 2.0, "ns_b": -1.5, "ns_c": 0.5}, HIMMELBLAU),
    ("adafactor", {}, ROSENBROCK),
    ("adafactor", {"lr": 0.05, "d": 1.5, "weight_decay": 0.01, "beta2_decay": -0.5}, HIMMELBLAU),
    ("adafactor", {"lr": 0.1, "eps2": 0.1, "eps1": 1e-3}, ROSENBROCK),
    ("prodigy", {}, ROSENBROCK),
    ("prodigy", {"lr": 0.5, "weight_decay": 0.01, "use_bias_correction": True}, HIMMELBLAU),
    ("prodigy", {"beta1": 0.0, "decouple": False, "weight_decay": 1e-3, "safeguard_warmup": True, "d0": 1e-4,
                 "growth_rate": 1.05}, ROSENBROCK),
    ("prodigy", {"beta3": 0.9, "d_coef": 0.5, "beta2": 0.99}, HIMMELBLAU),
]


OPTIM_DB = (("lbfgs", "LBFGS"), ("adafactor", "Adafactor"), ("muon", "Muon"))  # (optviz name, torch class)


def optim_db_cases() -> list[tuple[str, dict, tuple, str]]:
    """(optviz name, hyperparameters, surface, torch's description) for each of torch's own configurations."""
    from torch.testing._internal.common_optimizers import optim_db

    cases = []
    for name, cls in OPTIM_DB:
        info = next(info for info in optim_db if info.optim_cls.__name__ == cls)
        for config in info.optim_inputs_func("cpu", torch.float64):
            hparams = {k: float(v) if isinstance(v, torch.Tensor) else v for k, v in config.kwargs.items()}
            for k, v in zip(("ns_a", "ns_b", "ns_c"), hparams.pop("ns_coefficients", ())):
                hparams[k] = v
            cases.append((name, hparams, ROSENBROCK, f"{cls}: {config.desc}"))
    return cases


def loss_and_gradient(surface: str, params: dict, p: torch.Tensor) -> tuple[float, torch.Tensor]:
    """The surface's value and gradient at p, in optviz/surfaces.py's operations and order."""
    x, y = p[0], p[1]
    if surface == "rosenbrock":
        a, b = params["a"], params["b"]
        r = y - x * x
        return float((a - x) ** 2 + b * (y - x * x) ** 2), torch.stack([2 * (x - a) - 4 * b * x * r, 2 * b * r])
    u, v = x * x + y - 11, x + y * y - 7
    value = (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
    return float(value), torch.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v])


def _newton_schulz_in_float64(grad, ns_coefficients, ns_steps, eps):
    """torch.optim._muon._zeropower_via_newtonschulz without its cast to bfloat16 (the one change)."""
    a, b, c = ns_coefficients
    ortho_grad = grad.clone()
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    ortho_grad.div_(ortho_grad.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram_matrix = ortho_grad @ ortho_grad.T
        gram_update = torch.addmm(gram_matrix, gram_matrix, gram_matrix, beta=b, alpha=c)
        ortho_grad = torch.addmm(ortho_grad, gram_update, ortho_grad, beta=a)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    return ortho_grad


def torch_optimizer(name: str, hparams: dict, p: torch.Tensor) -> torch.optim.Optimizer:
    """Muon, Adafactor or Prodigy with optviz's hyperparameters in the reference's spelling."""
    kwargs = dict(hparams)
    if name == "prodigy":
        kwargs["betas"] = (kwargs.pop("beta1", 0.9), kwargs.pop("beta2", 0.999))
        return Prodigy([p], **kwargs)
    if name == "muon":
        coefficients = [kwargs.pop(k, d) for k, d in zip(("ns_a", "ns_b", "ns_c"), (
            torch_muon.DEFAULT_A, torch_muon.DEFAULT_B, torch_muon.DEFAULT_C))]
        return torch.optim.Muon([p], ns_coefficients=tuple(coefficients), **kwargs)
    kwargs["eps"] = (kwargs.pop("eps1", None), kwargs.pop("eps2", 1e-3))
    return torch.optim.Adafactor([p], foreach=False, **kwargs)


def inner_optimizer(hparams: dict) -> tuple[type, dict]:
    """The torch.optim class and keywords of a wrapper's inner optimizer, from optviz's flat hyperparameters."""
    name = hparams["inner"]
    own = {"inner", "rho", "adaptive", "k", "alpha"}
    flat = {k.removeprefix("inner_"): v for k, v in hparams.items() if k not in own}
    kwargs = {**INNER_DEFAULTS.get(name, {}), **flat, "foreach": False}
    for first, second in (("beta1", "beta2"),):
        if first in kwargs or second in kwargs:
            kwargs["betas"] = (kwargs.pop(first, 0.9), kwargs.pop(second, 0.999))
    return INNER[name], kwargs


def run_case(name: str, hparams: dict, surface: tuple) -> tuple[np.ndarray, np.ndarray]:
    surface_name, surface_params, start = surface
    as_matrix = name == "muon"  # torch's Muon takes 2-D parameters only: the point as a 1×2 matrix
    p = torch.tensor([start] if as_matrix else start, dtype=torch.float64, requires_grad=True)

    def closure():
        with torch.no_grad():
            value, grad = loss_and_gradient(surface_name, surface_params, p.detach().reshape(-1))
        p.grad = grad.reshape(p.shape).clone()
        return torch.tensor(value)

    if name == "sam":
        cls, kwargs = inner_optimizer(hparams)
        kwargs.pop("foreach")
        opt = SAM([p], cls, rho=hparams.get("rho", 0.05), adaptive=hparams.get("adaptive", False), foreach=False,
                  **kwargs)
        per_step = 2
    elif name == "lookahead":
        cls, kwargs = inner_optimizer(hparams)
        opt = Lookahead(cls([p], **kwargs), k=hparams.get("k", 5), alpha=hparams.get("alpha", 0.5))
        per_step = 1
    elif name == "lbfgs":
        opt = torch.optim.LBFGS([p], **hparams)
    else:
        opt, per_step = torch_optimizer(name, hparams, p), 1
    path, evaluations = [p.detach().numpy().reshape(-1).copy()], [0]
    for _ in range(STEPS):
        if name == "lbfgs":
            opt.step(closure)
            evaluations.append(opt.state[p]["func_evals"])
        else:
            closure()
            opt.step(closure)
            evaluations.append(evaluations[-1] + per_step)
        path.append(p.detach().numpy().reshape(-1).copy())
    return np.array(path), np.array(evaluations)


def main() -> None:
    torch.set_default_dtype(torch.float64)
    torch_muon._zeropower_via_newtonschulz = _newton_schulz_in_float64
    cases = [(*case, None) for case in CASES] + optim_db_cases()
    trajectories, evaluations = zip(*(run_case(name, hparams, surface) for name, hparams, surface, _ in cases))
    meta = {"torch": torch.__version__, "pytorch_optimizer": version("pytorch_optimizer"),
            "prodigyopt": version("prodigyopt"), "steps": STEPS,
            "cases": [{"optimizer": name, "hparams": hparams, "surface": surface[0], "surface_params": surface[1],
                       "start": list(surface[2]), "optim_db": desc} for name, hparams, surface, desc in cases]}
    np.savez_compressed(OUT, meta=json.dumps(meta), trajectories=np.array(trajectories),
                        evaluations=np.array(evaluations))
    print(f"wrote {OUT} ({len(cases)} cases, {len(cases) - len(CASES)} of them torch's own configurations)")


if __name__ == "__main__":
    main()
