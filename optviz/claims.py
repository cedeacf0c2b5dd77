"""What a lesson claims, as numbers computed when it runs: the lesson's text never carries a number by hand.

A Claim is a computation (its numbers), a predicate on them (does the claim hold?) and a sentence that shows them:

    verdict = claim.check(races, surface)          # a claim about the lesson's race (the race drawn)
    verdict = claim.check()                        # a claim with a setting of its own (Wilson's problem, a sweep…)
    verdict = claim.check(p=0.7)                   # … with a part of that setting changed
    verdict.holds, verdict.numbers, verdict.sentence

The lessons (optviz.scenarios) name the runs and optimizers; the measures here take those names as arguments, so
this module names none. Besides the measures of a race, it holds the computations of four papers' settings:

- wilson_generalization: Wilson et al. (NeurIPS 2017) §3, a linearly separable problem on which gradient
  descent generalises and adaptive methods label every new point with the majority class;
- adam_step_trace: Kingma & Ba §2.1, Adam's step bounded by α·(1−β1)/√(1−β2) where 1−β1 > √(1−β2), else by α;
- damping_sweep: Goh, "Why Momentum Really Works": on a quadratic, β* = (1 − √(αλ))² converges fastest;
- edge_of_stability_runs: Cohen et al. (ICLR 2021): full-batch gradient descent's sharpness rises to 2/α and
  hovers there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .engine import run as run_optimizer
from .optimizers import optimizer as make_optimizer
from .stability import curvatures
from .surfaces import surface as make_surface

Progress = Callable[[float, str], None]  # (fraction done, what runs now)


@dataclass(frozen=True)
class Verdict:
    holds: bool
    numbers: dict[str, Any]
    sentence: str   # the claim in words, with its numbers
    seconds: float  # how long computing it took


@dataclass(frozen=True)
class Claim:
    """A lesson's claim: `numbers` computes it, `holds` tests the numbers, `sentence` shows them (str.format fields
    named as the numbers).

    With `on_race` the numbers come from the lesson's race: numbers(races, surface, **setting), races the
    optviz.race result drawn (so the claim follows the race the reader changed). Otherwise from a setting of the
    claim's own: numbers(**setting, progress=…), progress a callback (fraction, text) for the slow ones. `slow`
    marks a claim the app computes on request, with a progress bar, rather than on every view.
    """

    numbers: Callable[..., dict[str, Any]]
    holds: Callable[[dict[str, Any]], bool]
    sentence: str
    setting: Mapping[str, Any] = field(default_factory=dict)
    on_race: bool = True
    slow: bool = False

    def check(self, races: Mapping | None = None, surface=None, *, progress: Progress | None = None,
              **changes) -> Verdict:
        """Compute the numbers (with `changes` to the setting) and test them."""
        unknown = sorted(set(changes) - set(self.setting))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not part of this claim's setting ({', '.join(self.setting)})")
        setting = {**self.setting, **changes}
        start = time.perf_counter()
        if self.on_race:
            if races is None or surface is None:
                raise ValueError("this claim is about the lesson's race: pass its races and surface")
            try:
                numbers = self.numbers(races, surface, **setting)
            except LookupError:  # a link or the reader changed the race's optimizers or its surface
                raise ValueError("the claim is about the lesson's own race (its optimizers, on its surface), "
                                 "which this race is not") from None
        else:
            numbers = self.numbers(**setting, progress=progress)
        holds = bool(self.holds(numbers))
        return Verdict(holds, numbers, self.sentence.format(**numbers), time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------------------------
# Measures of a race (each run named by its label)

def distance_to_minimum(surface, point) -> float:
    """How far a point is from the nearest listed minimum."""
    return float(surface.nearest_minimum(np.asarray(point))[1])


def step_lengths(traj, steps: slice = slice(None)) -> np.ndarray:
    """The length of each step of a run (over `steps`)."""
    return np.linalg.norm(traj.trace["update"][steps], axis=1)


def mean_distance(surface, traj, steps: slice) -> float:
    """The mean distance to the nearest minimum over `steps` of the path."""
    return float(np.mean(surface.nearest_minimum(traj.path[steps])[1]))


def reversals(traj, axis: int) -> int:
    """How many times the step reverses its direction along one axis (a zig-zag counts every bounce)."""
    return int(np.sum(np.diff(np.sign(traj.trace["update"][:, axis])) != 0))


def steps_or_never(traj) -> float:
    """The step at which a run reached the minimum, or infinity if it never did."""
    return math.inf if traj.converged_at is None else float(traj.converged_at)


def epochs_to_fraction(traj, best: float, fraction: float) -> float:
    """Epochs until the loss gap to `best` first falls below `fraction` of its start (inf if never)."""
    gap = traj.loss - best
    below = np.flatnonzero(gap < fraction * gap[0])
    return float(traj.surface.epochs(below[0])) if below.size else math.inf


def when(value: float) -> str:
    """A step count, or "never"."""
    return "never" if not math.isfinite(value) else f"{value:,.0f}"


# ---------------------------------------------------------------------------------------------------------------
# Wilson, Roelofs, Stern, Srebro & Recht, "The marginal value of adaptive gradient methods in machine learning"
# (NeurIPS 2017), §3: a linearly separable problem where adaptive methods generalise badly.

def wilson_features(labels: np.ndarray, first: int, width: int) -> np.ndarray:
    """Wilson et al.'s features for examples numbered first, first+1, …: x₁ = y, x₂ = x₃ = 1, and features of the
    example's own, one for y = +1 and five for y = −1 (at columns 3 + 5i …), the rest 0 (`width` columns)."""
    x = np.zeros((len(labels), width))
    x[:, 0], x[:, 1], x[:, 2] = labels, 1.0, 1.0
    for row, label in enumerate(labels):
        own = 3 + 5 * (first + row)
        x[row, own:own + (1 if label > 0 else 5)] = 1.0
    return x


def wilson_problem(n: int, n_test: int, p: float, seed: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test): labels +1 with probability p, −1 otherwise. The test examples have their
    own features too, in columns no training example touches: every method's weights there stay at 0."""
    if not 0.5 < p < 1:
        raise ValueError(f"p, the share of the majority class, must be between 0.5 and 1, got {p!r}")
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n + n_test) < p, 1.0, -1.0)
    width = 3 + 5 * (n + n_test)
    return (wilson_features(y[:n], 0, width), y[:n], wilson_features(y[n:], n, width), y[n:])


class Trainer(NamedTuple):
    """An optimizer by name with its hyperparameters, on the full batch (batch_size None) or on random batches."""
    optimizer: str
    hparams: Mapping[str, Any]
    batch_size: int | None = None


def train_least_squares(x: np.ndarray, y: np.ndarray, trainer: Trainer, steps: int, seed: int) -> np.ndarray:
    """Weights w from 0 after `steps` steps of an optviz optimizer on the squared loss (1/2n)‖Xw − y‖²."""
    opt = make_optimizer(trainer.optimizer, **trainer.hparams)
    w = np.zeros(x.shape[1])
    state = opt.init(w)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        rows = slice(None) if trainer.batch_size is None else rng.integers(len(y), size=trainer.batch_size)
        xb, yb = x[rows], y[rows]
        opt.step_(w, xb.T @ (xb @ w - yb) / len(yb), state)
    return w


def wilson_generalization(runs: Mapping[str, Trainer], majority: Sequence[str], n: int = 50, n_test: int = 1000,
                          p: float = 0.6, steps: int = 3000, seed: int = 0,
                          progress: Progress | None = None) -> dict[str, Any]:
    """Every run of `runs` (label -> Trainer) trained on the same problem: its
    training loss and its test error (a tie, w·x = 0, counts as an error). `majority` names the runs expected at
    the majority-class solution, whose test error is the minority's share, ≈ 1 − p."""
    x, y, x_test, y_test = wilson_problem(n, n_test, p, seed)
    errors, losses = {}, {}
    for k, (label, trainer) in enumerate(runs.items()):
        if progress:
            progress(k / len(runs), label)
        w = train_least_squares(x, y, trainer, steps, seed)
        losses[label] = float(0.5 * np.mean((x @ w - y) ** 2))
        errors[label] = float(np.mean(np.sign(x_test @ w) != y_test))
    minority = float(np.mean(y_test < 0))
    others = [label for label in runs if label not in majority]
    return {"errors": errors, "losses": losses, "minority": minority, "majority": list(majority),
            "others": others, "p": p, "n": n, "n_test": n_test, "steps": steps,
            "others_text": ", ".join(f"{label} {errors[label]:.3f}" for label in others),
            "majority_text": ", ".join(f"{label} {errors[label]:.3f}" for label in majority),
            "worst_loss": max(losses.values())}


def wilson_holds(numbers: dict, tolerance: float = 0.05) -> bool:
    """The non-adaptive runs generalise (test error ≤ tolerance); each adaptive one errs on the minority, within
    `tolerance` of its share; every run has fitted the training set."""
    errors = numbers["errors"]
    return (all(errors[label] <= tolerance for label in numbers["others"])
            and all(abs(errors[label] - numbers["minority"]) <= tolerance for label in numbers["majority"])
            and numbers["worst_loss"] < 1e-3)


# ---------------------------------------------------------------------------------------------------------------
# Kingma & Ba, "Adam" (ICLR 2015) §2.1: the effective step is bounded by about α.

def adam_step_bound(lr: float, beta1: float, beta2: float) -> float:
    """Kingma & Ba's bound on |Δθ|: α·(1−β1)/√(1−β2) when 1−β1 > √(1−β2) (the worst case, a gradient that was 0
    at every step but this one), else α."""
    loose = lr * (1.0 - beta1) / math.sqrt(1.0 - beta2)
    return max(loose, lr)


def adam_step_trace(optimizer: str, lr: float, beta1: float, beta2: float, steps: int = 4000, sparse_at: int = 3000,
                    seed: int = 0, progress: Progress | None = None) -> dict[str, Any]:
    """|Δθ| per step of an Adam-family optimizer at (lr, beta1, beta2), its other settings its defaults, on two
    coordinates: a dense one,
    whose gradients are noisy around 1 (mean 1, σ 1), and a sparse one, whose gradient is 0 at every step but
    `sparse_at` (1 there): Kingma & Ba's worst case, where the step comes closest to α·(1−β1)/√(1−β2)."""
    if not 1 <= sparse_at <= steps:
        raise ValueError(f"sparse_at must be a step from 1 to steps = {steps}, got {sparse_at!r}")
    opt = make_optimizer(optimizer, lr=lr, beta1=beta1, beta2=beta2)
    rng = np.random.default_rng(seed)
    grads = np.zeros((steps, 2))
    grads[:, 0] = 1.0 + rng.standard_normal(steps)
    grads[sparse_at - 1, 1] = 1.0
    theta = np.zeros(2)
    state = opt.init(theta)
    moves = np.empty((steps, 2))
    for t in range(steps):
        before = theta.copy()
        opt.step_(theta, grads[t], state)
        moves[t] = np.abs(theta - before)
    bound = adam_step_bound(lr, beta1, beta2)
    return {"steps": steps, "sparse_at": sparse_at, "rate": lr, "beta_1": beta1, "beta_2": beta2,
            "bound": bound,
            "bound_over_lr": bound / lr, "loose": bound > lr, "dense": moves[:, 0], "sparse": moves[:, 1],
            "dense_max_over_lr": float(moves[:, 0].max() / lr), "sparse_max_over_lr": float(moves[:, 1].max() / lr),
            "max_over_bound": float(moves.max() / bound)}


def adam_bound_holds(numbers: dict) -> bool:
    """Every step within the bound, and the looser bound needed: the sparse coordinate's step goes beyond α."""
    return numbers["max_over_bound"] <= 1.0 + 1e-9 and numbers["sparse_max_over_lr"] > 1.0


# ---------------------------------------------------------------------------------------------------------------
# Goh, "Why Momentum Really Works" (Distill, 2017): critical damping.

def critical_momentum(lr: float, curvature: float) -> float:
    """β* = (1 − √(αλ))²: heavy ball is critically damped along curvature λ (the fastest for the slowest
    direction, while αλ_max ≤ 1)."""
    return (1.0 - math.sqrt(lr * curvature)) ** 2


def damping_sweep(surface: str, surface_params: Mapping, optimizer: str, knob: str, lr: float,
                  betas: Sequence[float], start: Sequence[float], steps: int, tol: float = 1e-6,
                  progress: Progress | None = None) -> dict[str, Any]:
    """Heavy ball at learning rate `lr` and each momentum of `betas` (the hyperparameter named `knob`), from
    `start` on a quadratic surface: the steps each takes to come within `tol` of the minimum, against β* for the
    smallest curvature λ of the surface's Hessian."""
    surf = make_surface(surface, **surface_params)
    eigenvalues = curvatures(surf)
    if eigenvalues is None:
        raise ValueError(f"{surface}: a damping sweep needs a surface with one Hessian everywhere (a quadratic)")
    grid = np.asarray(betas, dtype=float)
    traj = run_optimizer(surf, optimizer, np.tile(np.asarray(start, dtype=float), (len(grid), 1)), steps,
                         record="path", tol=tol, lr=lr, **{knob: grid})
    arrived = np.asarray(traj.converged_at, dtype=float)
    arrived[arrived < 0] = math.inf
    best = int(np.argmin(arrived))
    curvature = float(eigenvalues.min())
    beta_star = critical_momentum(lr, curvature)
    spacing = float(np.max(np.diff(np.sort(grid)))) if len(grid) > 1 else math.inf
    return {"betas": grid, "steps_to_converge": arrived, "best_beta": float(grid[best]),
            "best_steps": arrived[best], "beta_star": beta_star, "curvature": curvature, "rate": lr,
            "grid_step": spacing, "tol": tol, "gap": abs(float(grid[best]) - beta_star),
            "star_steps": float(arrived[int(np.argmin(np.abs(grid - beta_star)))])}


def damping_holds(numbers: dict) -> bool:
    """The sweep's fastest β is within one grid step of β*."""
    return math.isfinite(numbers["best_steps"]) and numbers["gap"] <= numbers["grid_step"] + 1e-12


# ---------------------------------------------------------------------------------------------------------------
# Cohen, Kaur, Li, Kolter & Talwalkar, "Gradient descent on neural networks typically occurs at the edge of
# stability" (ICLR 2021), on MNIST digits (optviz.mnist.fullbatch).

# how the sentence names a network's loss and initial weights (optviz.mnist.model.MLP's `loss` and `init`)
_LOSS_WORDS = {"mse": "squared loss", "cross_entropy": "cross-entropy"}
_INIT_WORDS = {"normal": "N(0, gain/fan_in) weights", "uniform": "U(±1/√fan_in) weights"}


def edge_of_stability_runs(runs: Sequence[tuple[float, int]], optimizer: str, n: int, hidden: Sequence[int],
                           activation: str, loss: str, init: str, every: int, tol: float, seed: int = 0,
                           band: float = 0.15, progress: Progress | None = None) -> dict[str, Any]:
    """Full-batch runs at each (α, steps) of `runs` on the first n digits of the shipped MNIST subset, an MLP with
    `hidden` layers, `activation`, `loss` and `init` (optviz.mnist.model.MLP): for each, the sharpness summary
    (optviz.mnist.fullbatch.edge_of_stability), the loss, its rises from reaching 2/α on, and the events and
    measurements to draw."""
    from .mnist import load_mnist_subset  # MNIST and the network load only when this lesson runs
    from .mnist.fullbatch import edge_of_stability, full_batch

    data = load_mnist_subset()
    total, done = sum(steps for _, steps in runs), 0
    results = []
    for lr, steps in runs:
        run = full_batch(data, optimizer, lr=lr, n=n, hidden=tuple(hidden), activation=activation, loss=loss,
                         init=init, steps=steps, sharpness_every=every, tol=tol, seed=seed)
        for event in run:
            if progress and event["step"] % 50 == 0:
                progress((done + event["step"]) / total, f"α = {lr:g}: step {event['step']:,} of {steps:,}")
        done += steps
        summary = edge_of_stability(run.curvature(), band)
        losses = np.array([event["loss"] for event in run.history])
        reached = summary["reached_step"]
        rises = int(np.sum(np.diff(losses[reached:]) > 0)) if reached is not None else 0
        results.append({"rate": lr, "steps": steps, "threshold": 2 / lr, "summary": summary, "loss": losses,
                        "rises": rises, "events": run.history, "curvature": run.curvature()})
    return {"runs": results, "band": band, "n": n, "hidden": "-".join(str(h) for h in (784, *hidden, 10)),
            "activation": activation, "loss": _LOSS_WORDS[loss], "init": _INIT_WORDS[init],
            "text": "; ".join(_eos_text(r, band) for r in results)}


def _rises_to_the_edge(result: dict, band: float) -> bool:
    """The sharpness starts below the band around 2/α, so that it has to rise to it: no catapult down to it."""
    s = result["summary"]
    return s["catapult_step"] is None and s["initial"] < (1 - band) * result["threshold"]


def _eos_text(result: dict, band: float) -> str:
    s = result["summary"]
    start = (f"α = {result['rate']:g}: sharpness {s['initial']:.1f} at the start "
             f"{'rises' if s['initial'] < result['threshold'] else 'comes down'}")
    if s["settled_step"] is None:
        reached = "never reached" if s["reached_step"] is None else f"reached at step {s['reached_step']:,}"
        return f"{start} to 2/α = {result['threshold']:g}: {reached}, not settled"
    return (f"{start} to within {100 * band:g} % of 2/α = {result['threshold']:g} (from step "
            f"{s['settled_step']:,} of {result['steps']:,}: {s['band_min']:.2f}–{s['band_max']:.2f}×), loss "
            f"{result['loss'][0]:.3f} → {result['loss'][-1]:.4f}, rising at {result['rises']} steps")


def edge_of_stability_holds(numbers: dict) -> bool:
    """Every run starts below 2/α and rises to it (no catapult), settles in the band and stays there for at least
    a third of the run, while its loss falls (to below a hundredth of its start) and rises at some steps on the
    way."""
    band = numbers["band"]
    for result in numbers["runs"]:
        s, loss = result["summary"], result["loss"]
        if not _rises_to_the_edge(result, band):
            return False
        if s["settled_step"] is None or result["steps"] - s["settled_step"] < result["steps"] / 3:
            return False
        if not (1 - band <= s["band_min"] and s["band_max"] <= 1 + band):
            return False
        if not (loss[-1] < 0.01 * loss[0] and loss[-1] < loss[s["reached_step"]] and result["rises"] > 0):
            return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# The lessons' races: each measure takes the labels of the runs it compares (the lesson names them)

def _listed(values: Mapping[str, float], form: str = ".2g") -> str:
    return ", ".join(f"{label} {format(value, form)}" for label, value in values.items())


def final_losses(races, surface, **labels: str) -> dict[str, Any]:
    """Each named run's final loss (as `key`: races[label].final_loss) and the race's length."""
    return {key: float(races[label].final_loss) for key, label in labels.items()} | {
        "steps": next(iter(races.values())).steps}


def final_distances(races, surface, **labels: str) -> dict[str, Any]:
    """Each named run's final distance to the nearest minimum, and the race's length."""
    return {key: distance_to_minimum(surface, races[label].final) for key, label in labels.items()} | {
        "steps": next(iter(races.values())).steps}


def saddle_escape(races, surface, stalls: str, escapes: Sequence[str]) -> dict[str, Any]:
    """How far the stalling run ended from the saddle at the origin, and how far each escaping one from a minimum."""
    distances = {label: distance_to_minimum(surface, races[label].final) for label in escapes}
    return {"stall_offset": float(np.abs(races[stalls].final).max()), "worst_escape": max(distances.values()),
            "escapes": _listed(distances), "steps": races[stalls].steps}


def overshoots(races, surface, **labels: str) -> dict[str, float]:
    """How far past the minimum (x = 0) each run went along x, from a start at x < 0."""
    return {key: float(np.max(races[label].path[:, 0])) for key, label in labels.items()}


def shrinking_steps(races, surface, shrinking: str, steady: str, window: int = 100) -> dict[str, Any]:
    """The shrinking run's mean step over the last `window` steps over that of the first; both runs' final loss."""
    steps = step_lengths(races[shrinking])
    return {"ratio": float(steps[-window:].mean() / steps[:window].mean()), "window": window,
            "shrinking_loss": float(races[shrinking].final_loss), "steady_loss": float(races[steady].final_loss)}


def first_steps(races, surface, corrected: str, uncorrected: str) -> dict[str, float]:
    """The corrected run's first step per coordinate over its α (1 with bias correction), and the uncorrected
    first step over the corrected one (the smaller of the coordinates)."""
    first = {label: np.abs(np.diff(races[label].path[:2], axis=0))[0] for label in (corrected, uncorrected)}
    per_lr = first[corrected] / float(races[corrected].lr[0])
    return {"corrected_over_lr_low": float(per_lr.min()), "corrected_over_lr_high": float(per_lr.max()),
            "uncorrected_ratio": float((first[uncorrected] / first[corrected]).min())}


def late_step_sizes(races, surface, window: int = 200, **labels: str) -> dict[str, Any]:
    """Each named run's mean step length over the last `window` steps."""
    return {key: float(step_lengths(races[label], slice(-window, None)).mean()) for key, label in labels.items()} | {
        "window": window}


def sgd_like_rate(traj, window: int = 200) -> tuple[float, float]:
    """The range of effective_step / m̂ over the last `window` steps: the rate of the SGD-with-momentum that Adam
    behaves like there (α/ε when ε ≫ √v̂)."""
    ratio = traj.trace["effective_step"][-window:] / traj.trace["m_hat"][-window:]
    return float(ratio.min()), float(ratio.max())


def zigzags(races, surface, axis: int = 0, **labels: str) -> dict[str, int]:
    """How often each named run's step reverses along `axis`."""
    return {key: reversals(races[label], axis) for key, label in labels.items()}


def noise_wander(races, surface, small: str, large: str, momentum: str, scaled: str,
                 window: int = 500) -> dict[str, float]:
    """Over the last `window` steps: each run's mean distance to the minimum (spread) and mean step length."""
    late = slice(-window, None)
    spread = {key: mean_distance(surface, races[label], late) for key, label in
              (("small", small), ("large", large), ("heavy", momentum))}
    step = {key: float(step_lengths(races[label], late).mean()) for key, label in
            (("large", large), ("heavy", momentum), ("scaled", scaled))}
    return ({"window": window, "scaled_lr": float(races[scaled].lr[-1])}
            | {f"spread_{k}": v for k, v in spread.items()} | {f"step_{k}": v for k, v in step.items()})


def settling(races, surface, online: Sequence[str], window: int = 100, **labels: str) -> dict[str, Any]:
    """The named runs' mean loss over the last `window` steps, and where each of `online` (optimizer names) ends
    on Reddi et al.'s online problem (optviz.counterexample), over its last 500 steps."""
    from .counterexample import reddi_run

    losses = {key: float(np.mean(races[label].loss[-window:])) for key, label in labels.items()}
    ends = [reddi_run(name).x[-500:] for name in online]
    return {**losses, "window": window, "first_low": float(ends[0].min()), "second_high": float(ends[1].max())}


def minima_reached(races, surface) -> dict[str, Any]:
    """Which minimum each run ends nearest to, and how many different ones."""
    ends = {label: int(surface.nearest_minimum(traj.final)[0]) for label, traj in races.items()}
    where = ", ".join(f"{label} at {tuple(round(float(v), 2) for v in surface.minima[k])}" for label, k in ends.items())
    return {"count": len(set(ends.values())), "runs": len(ends), "where": where}


def arrivals(races, surface, **labels: str) -> dict[str, Any]:
    """The step each named run reached the minimum (inf: never), as numbers and as words."""
    steps = {key: steps_or_never(races[label]) for key, label in labels.items()}
    return steps | {f"{key}_text": when(value) for key, value in steps.items()} | {
        "steps": next(iter(races.values())).steps}


def batch_sizes(races, surface, full: str, mini: str, single: str, fraction: float = 0.01,
                window: int = 100) -> dict[str, Any]:
    """Epochs each run takes to cut the loss gap to `fraction` of its start, and its mean distance to the minimum
    over the last `window` steps."""
    best = float(surface.value(*surface.minima[0]))
    named = {"full": full, "mini": mini, "single": single}
    epochs = {f"epochs_{k}": epochs_to_fraction(races[label], best, fraction) for k, label in named.items()}
    wander = {f"wander_{k}": mean_distance(surface, races[label], slice(-window, None)) for k, label in named.items()}
    return epochs | wander | {"percent": 100 * fraction}


# ---------------------------------------------------------------------------------------------------------------
# A rotated valley: the diagonal methods (Adam, RMSProp, AdaGrad) scale each coordinate on its own, which
# straightens an ill-conditioned bowl only when its axes are the coordinates'; Newton's step does not care.

def steps_by_angle(surface: str, surface_params: Mapping, angles: Sequence[float], runs: Mapping[str, tuple],
                   start: Sequence[float], steps: int, tol: float,
                   progress: Progress | None = None) -> dict[str, Any]:
    """For each run (key -> (optimizer, hyperparameters)) and each rotation angle of the bowl (the surface's
    `angle`), the first step whose loss is below `tol` (infinity if none within `steps`): `{key}_{angle}`, and
    `{key}_ratio`, the steps at the last angle over those at the first."""
    numbers: dict[str, Any] = {"tol": tol, "angles": tuple(angles), "first": angles[0], "last": angles[-1]}
    for angle in angles:
        surf = make_surface(surface, **{**surface_params, "angle": angle})
        for key, (name, hparams) in runs.items():
            loss = run_optimizer(surf, name, start, steps, **hparams).loss
            below = np.flatnonzero(loss < tol)
            numbers[f"{key}_{angle:g}"] = float(below[0]) if below.size else math.inf
    for key in runs:
        numbers[f"{key}_ratio"] = numbers[f"{key}_{angles[-1]:g}"] / numbers[f"{key}_{angles[0]:g}"]
    return numbers


def rotation_holds(numbers: dict, diagonal: Sequence[str], indifferent: str, slower: float = 1.5) -> bool:
    """Every diagonal method needs at least `slower` times the steps in the rotated bowl; the indifferent one the
    same number (and a finite one) at every angle."""
    first, last = numbers["first"], numbers["last"]
    same = numbers[f"{indifferent}_{first:g}"] == numbers[f"{indifferent}_{last:g}"] < math.inf
    return same and all(numbers[f"{key}_ratio"] >= slower for key in diagonal)
