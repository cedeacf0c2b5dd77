"""Guided lessons: each one is a race (written as the explorer's link parameters) and what to watch in it.

A lesson's `query` uses the same format as a shared link, so loading a lesson and opening a link are one
mechanism, and every lesson is checked by the same validation as any URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

from . import claims
from .claims import Claim, Trainer

DEFAULT_OPTIMIZERS = ("adam", "sgd")  # a new race's racers (each with a learning rate suited to its surface)
NOTEBOOK_RACE = ("sgd", "momentum", "adam")  # optviz.widget's racers unless given: plain, heavy ball, adaptive
TRAINING_OPTIMIZER = "adam"  # optviz.mnist.train's unless given
CLASSIC_COMPARISON = ("adadelta", "adagrad", "adam", "rmsprop", "sgd")  # the MNIST tab's classic: CNN, Keras defaults
# the edge of stability: gradient descent (the default, for `optviz eos` too), its momentum forms, and Adam
EDGE_OF_STABILITY = ("sgd", "momentum", "nesterov", "adam")
RANGE_TEST_OPTIMIZER = "sgd"  # the learning-rate range test's unless given (`optviz lr-find`, the MNIST tab)
# The chart of the lesson with chart="counterexample": these optimizers on Reddi et al.'s online problem
COUNTEREXAMPLE = ("adam", "amsgrad")


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    watch: str  # what to look at, in one or two sentences
    why: str  # why it happens
    query: dict[str, object] = field(default_factory=dict)
    chart: str | None = None  # a lesson with its own chart instead of (or besides) the race
    # The label of the optimizer the lesson is about. Paths are drawn in entry order, the last on top, so it
    # comes last: where paths overlap, the one the text talks about is the one seen.
    focus: str | None = None
    # The hyperparameter the lesson turns on besides α: presentation mode puts its control above the race.
    knob: str | None = None
    # What the lesson claims, computed when it runs (optviz.claims): its numbers, whether it holds, in words
    claim: Claim | None = None


def _epsilon_numbers(races, surface, jumpy: str, default: str, sgd_like: str) -> dict:
    """The epsilon lesson's late step sizes, and the rate of the SGD that Adam with a large ε behaves like (the
    range of its effective step over m̂) beside α/ε."""
    numbers = claims.late_step_sizes(races, surface, jumpy=jumpy, default=default, sgd_like=sgd_like)
    traj = races[sgd_like]
    low, high = claims.sgd_like_rate(traj, numbers["window"])
    return numbers | {"rate_low": low, "rate_high": high, "rate": float(traj.lr[-1]) / traj.optimizer.hparams["eps"]}


# The first screen: a race whose lesson shows at a glance, with a line saying what to look at. SGD (drawn last,
# on top) stops on the valley's flank, far from the minimum; Adam follows the valley to the ★.
WELCOME = Lesson(
    "welcome", "Adam vs SGD in Rosenbrock's curved valley",
    "Adam (red) follows the curved valley towards the minimum ★ and {Adam}; SGD (blue) reaches the flat valley "
    "floor, then crawls: it {SGD}. The sidebar's lessons show more.",
    "The valley floor is almost flat, so SGD's steps, proportional to the gradient, become tiny there; Adam divides "
    "each coordinate by its own gradient scale, so its steps keep their size.",
    {"surface": "rosenbrock", "start": "-1.5,2", "steps": "500", "opt": ["adam;lr=0.1", "sgd;lr=0.001"]},
    focus="SGD",
    claim=Claim(claims.final_distances, lambda n: n["adam"] < 0.1 * n["sgd"],
                "After {steps:,} steps Adam is {adam:.2g} from ★, SGD {sgd:.2g}: Adam ends more than 10 times closer.",
                {"adam": "Adam", "sgd": "SGD"}))

LESSONS: dict[str, Lesson] = {lesson.key: lesson for lesson in [
    Lesson(
        "valley", "Rosenbrock's curved valley: Adam vs SGD vs momentum",
        "All three find the valley floor within a few steps. Then SGD crawls along it and {SGD}; momentum builds "
        "up speed and {SGD with momentum}; Adam follows the bend with steps of nearly constant size and {Adam}.",
        "The valley is steep across (curvature ≈ 1000) and flat along (≈ 1): SGD's learning rate must suit the "
        "steep direction, so it is tiny along the valley. Momentum accumulates the small, consistent gradient "
        "along the floor; Adam divides each coordinate by its own gradient scale √v̂.",
        {"surface": "rosenbrock", "start": "-1.5,2", "steps": "1500",
         "opt": ["adam;lr=0.05", "momentum;lr=0.0002;momentum=0.95", "sgd;lr=0.001"]}, focus="SGD",
        knob="momentum",
        claim=Claim(claims.final_losses, lambda n: n["adam"] < 1e-3 < n["sgd"] and n["momentum"] < n["sgd"],
                    "After {steps:,} steps the loss is {adam:.2g} for Adam (below 10⁻³), {momentum:.2g} for momentum "
                    "and {sgd:.2g} for SGD.", {"adam": "Adam", "momentum": "SGD with momentum", "sgd": "SGD"})),
    Lesson(
        "saddle", "Escaping a saddle point",
        "Starting almost exactly on the ridge line (y = 0.001), SGD slides into the saddle at the origin and "
        "stalls there: it {SGD}. Momentum and Adam leave it towards a minimum at (0, ±1): momentum "
        "{SGD with momentum}, Adam {Adam}.",
        "At the saddle the gradient vanishes, so SGD's steps do too; the escape direction grows only from the tiny "
        "initial offset. Momentum keeps its velocity through the flat region, and Adam's normalisation turns a "
        "tiny but consistent gradient in y into a full-size step.",
        {"surface": "saddle", "start": "-1.8,0.001", "steps": "300",
         "opt": ["adam;lr=0.05", "momentum;lr=0.01;momentum=0.9", "sgd;lr=0.01"]}, focus="SGD",
        knob="momentum",
        claim=Claim(claims.saddle_escape, lambda n: n["stall_offset"] < 0.1 and n["worst_escape"] < 0.05,
                    "After {steps:,} steps SGD is within {stall_offset:.2g} of the saddle (under 0.1) in both "
                    "coordinates; the others' distances to a minimum: {escapes} (all under 0.05).",
                    {"stalls": "SGD", "escapes": ("SGD with momentum", "Adam")})),
    Lesson(
        "nesterov", "Momentum overshoot and Nesterov's correction",
        "With heavy momentum (μ = 0.95) the ball overshoots the minimum and spirals in; Nesterov's look-ahead "
        "damps the oscillation. Plain SGD at the same learning rate creeps in without overshooting.",
        "Momentum adds the previous velocity to every step, so the ball keeps going after the gradient reverses. "
        "Nesterov evaluates the correction g + μb with the freshly updated velocity, a look-ahead that brakes "
        "earlier.",
        {"surface": "quadratic", "sp": "condition:10,angle:20", "start": "-2.5,2", "steps": "200",
         "opt": ["momentum;lr=0.05;momentum=0.95", "sgd;lr=0.05", "nesterov;lr=0.05;momentum=0.95"]},
        focus="Nesterov momentum", knob="momentum",
        claim=Claim(claims.overshoots,
                    lambda n: n["heavy"] > 0.5 and n["nesterov"] < n["heavy"] and n["plain"] < 0.05,
                    "From x = −2.5 towards the minimum at x = 0, momentum goes as far as x = {heavy:.2f}, Nesterov "
                    "to {nesterov:.2f} and SGD to {plain:.2g}.",
                    {"heavy": "SGD with momentum", "nesterov": "Nesterov momentum", "plain": "SGD"})),
    Lesson(
        "adagrad", "AdaGrad's ever-shrinking steps vs RMSProp's moving average",
        "Both start fast; AdaGrad's steps keep shrinking (watch its accumulator grow in the state rows) and it "
        "{AdaGrad}, while RMSProp keeps a steady pace and {RMSProp}.",
        "AdaGrad divides by the square root of the sum of all past squared gradients, which never decreases. "
        "RMSProp uses an exponential moving average instead, which forgets old gradients.",
        {"surface": "rosenbrock", "start": "-1.5,2", "steps": "1500",
         "opt": ["rmsprop;lr=0.005", "adagrad;lr=0.5"]}, focus="AdaGrad",
        claim=Claim(claims.shrinking_steps, lambda n: n["ratio"] < 0.1 and n["steady_loss"] < n["shrinking_loss"],
                    "AdaGrad's last {window} steps are {ratio:.2g} times as long as its first {window} (under a "
                    "tenth); its final loss is {shrinking_loss:.2g}, RMSProp's {steady_loss:.2g}.",
                    {"shrinking": "AdaGrad", "steady": "RMSProp"})),
    Lesson(
        "bias", "Bias correction on vs off: Adam's first steps",
        "With bias correction Adam's very first step has length α in each coordinate. Without it the first steps "
        "are larger, then the two runs slowly become alike; compare the bias-correction row.",
        "The moments start at m₀ = v₀ = 0, so early on m_t and v_t are biased towards 0 by factors 1−β₁ᵗ and "
        "1−β₂ᵗ. Uncorrected, m is shrunk by 1−β₁ᵗ ≈ 0.1 but √v by √(1−β₂ᵗ) ≈ 0.03: the ratio is too big.",
        {"surface": "rosenbrock", "start": "-1.5,2", "steps": "150",
         "opt": ["adam;lr=0.02;bias_correction=0;label=Adam, no bias correction",
                 "adam;lr=0.02;label=Adam (bias-corrected)"]}, focus="Adam (bias-corrected)",
        knob="bias_correction",
        claim=Claim(claims.first_steps, lambda n: abs(n["corrected_over_lr_low"] - 1) < 1e-6
                    and abs(n["corrected_over_lr_high"] - 1) < 1e-6 and n["uncorrected_ratio"] > 2.5,
                    "The corrected first step is {corrected_over_lr_low:.6f}–{corrected_over_lr_high:.6f} α per "
                    "coordinate; the uncorrected one is {uncorrected_ratio:.2f} times larger (over 2.5).",
                    {"corrected": "Adam (bias-corrected)", "uncorrected": "Adam, no bias correction"})),
    Lesson(
        "epsilon", "β₂ too small and ε = 0; ε between sign-like and SGD-like steps",
        "With β₂ = 0.9 and ε = 0 Adam keeps taking large, erratic steps near the minimum. With a large ε (= 100, "
        "and α raised to 1) its steps are α/ε·m̂: momentum-SGD with a learning rate of α/ε. The default sits "
        "between: sign-like far from the minimum, gentler close to it.",
        "With a short memory (β₂ = 0.9) v̂ tracks the latest gradients, so m̂/√v̂ is close to ±1: sign-like steps "
        "of full size even near the minimum. ε ≫ √v̂ makes the update α·m̂/ε: SGD with momentum and a "
        "learning rate of α/ε.",
        {"surface": "beale", "start": "1,1.4", "steps": "600",
         "opt": ["adam;lr=1;eps=100;label=Adam ε=100, α=1", "adam;lr=0.05;label=Adam (defaults)",
                 "adam;lr=0.05;beta2=0.9;eps=0;label=Adam β₂=0.9 ε=0"]}, focus="Adam β₂=0.9 ε=0",
        knob="beta2",
        claim=Claim(_epsilon_numbers, lambda n: n["jumpy"] > 5 * max(n["default"], n["sgd_like"])
                    and 0.95 * n["rate"] < n["rate_low"] <= n["rate_high"] <= n["rate"] * (1 + 1e-9),
                    "Over the last {window} steps the mean step is {jumpy:.2g} with β₂ = 0.9 and ε = 0, {default:.2g} "
                    "with the defaults and {sgd_like:.2g} with ε = 100; there the last one steps "
                    "{rate_low:.4f}–{rate_high:.4f} × m̂, α/ε = {rate:.4f}.",
                    {"jumpy": "Adam β₂=0.9 ε=0", "default": "Adam (defaults)", "sgd_like": "Adam ε=100, α=1"})),
    Lesson(
        "conditioning", "Ill-conditioning: SGD zig-zags, Adam goes straight",
        "SGD bounces across the narrow valley while creeping along it and {SGD}; Adam's path is nearly straight "
        "and {Adam}.",
        "The bowl is 100 times steeper across than along. A step size that is stable across is tiny along. Adam "
        "rescales every coordinate by its own √v̂, equalising the two directions (exactly so when the valley is "
        "aligned with the axes; rotate it with φ to see the limits).",
        {"surface": "quadratic", "sp": "condition:100,angle:0", "start": "-2.5,2", "steps": "300",
         "opt": ["sgd;lr=1.9", "adam;lr=0.05"]}, focus="Adam",
        claim=Claim(claims.zigzags, lambda n: n["sgd"] > 100 and n["adam"] < 20,
                    "Across the valley SGD's step reverses {sgd} times (over 100), Adam's {adam} times (under 20).",
                    {"sgd": "SGD", "adam": "Adam"})),
    Lesson(
        "rotation", "A rotated valley: diagonal methods slow down, Newton does not",
        "The bowl is the conditioning lesson's, turned by φ = 45°: its steep and flat directions are no longer the "
        "axes. Adam, RMSProp and AdaGrad now wobble and take the long way; Newton's method lands in one step, as "
        "it does at φ = 0°. Drag φ (Surface parameters) back to 0° to watch the diagonal methods straighten out.",
        "Adam, RMSProp and AdaGrad divide each coordinate's step by that coordinate's own gradient scale: a "
        "diagonal preconditioner. It undoes the bowl's stretch only when the stretch is along the axes; rotated, "
        "each coordinate mixes the steep and the flat direction, and one scale per coordinate cannot fit both. "
        "Newton's step −H⁻¹g uses the whole Hessian, rotation included, so the angle changes nothing.",
        {"surface": "quadratic", "sp": "condition:100,angle:45", "start": "-2.5,2", "steps": "500",
         "opt": ["adagrad;lr=0.8", "rmsprop;lr=0.03", "newton", "adam;lr=0.1"]}, focus="Adam",
        claim=Claim(claims.steps_by_angle, partial(claims.rotation_holds, diagonal=("adam", "rmsprop", "adagrad"),
                                                   indifferent="newton"),
                    "Steps to a loss below {tol:g} at φ = {first:g}° → {last:g}°: Adam {adam_0:.0f} → {adam_45:.0f}, "
                    "RMSProp {rmsprop_0:.0f} → {rmsprop_45:.0f}, AdaGrad {adagrad_0:.0f} → {adagrad_45:.0f} (each "
                    "at least 1.5 times as many rotated); Newton {newton_0:.0f} → {newton_45:.0f}.",
                    {"surface": "quadratic", "surface_params": {"condition": 100.0}, "angles": (0.0, 45.0),
                     "runs": {"adam": ("adam", {"lr": 0.1}), "rmsprop": ("rmsprop", {"lr": 0.03}),
                              "adagrad": ("adagrad", {"lr": 0.8}), "newton": ("newton", {})},
                     "start": (-2.5, 2.0), "steps": 3000, "tol": 1e-6}, on_race=False)),
    Lesson(
        "noise", "Noisy gradients: Adam vs SGD with and without momentum",
        "Every optimizer sees exactly the same noise, and none of them settles. SGD at α = 0.1 wanders widely; "
        "at α = 0.02 it arrives later but stays closer. Momentum (α = 0.01, μ = 0.9) wanders as far as SGD at "
        "α = 0.1 but with smaller steps; Adam's steps stay a sizeable fraction of α.",
        "Near the minimum the gradient is mostly noise, and each optimizer turns noise into motion: SGD in "
        "proportion to α, momentum by averaging about 1/(1−μ) noisy gradients into smooth steps that add up like "
        "SGD with α/(1−μ), and Adam by dividing by √v̂, which tracks the noise itself, so its steps do not shrink.",
        {"surface": "noisy_quadratic", "sp": "condition:4,angle:30,noise:0.5,seed:0", "start": "-2.5,2",
         "steps": "1500", "opt": ["sgd;lr=0.02;label=SGD α=0.02", "adam;lr=0.05", "momentum;lr=0.01;momentum=0.9",
                                  "sgd;lr=0.1"]}, focus="SGD",
        claim=Claim(claims.noise_wander, lambda n: n["spread_small"] < 0.7 * n["spread_large"]
                    and abs(n["spread_heavy"] - n["spread_large"]) < 0.2 * n["spread_large"]
                    and n["step_heavy"] < n["step_large"] / 3 and n["step_scaled"] > 0.1 * n["scaled_lr"],
                    "Over the last {window} steps the mean distance to ★ is {spread_large:.2g} for SGD at α = 0.1, "
                    "{spread_small:.2g} at α = 0.02 and {spread_heavy:.2g} for momentum, whose mean step, "
                    "{step_heavy:.2g}, is a third or less of SGD's {step_large:.2g}; Adam's is {step_scaled:.2g}, "
                    "over a tenth of its α = {scaled_lr:g}.",
                    {"small": "SGD α=0.02", "large": "SGD", "momentum": "SGD with momentum", "scaled": "Adam"})),
    Lesson(
        "amsgrad", "Adam's non-convergence counterexample, and how AMSGrad fixes it",
        "The chart: on this online problem the best point is x = −1, yet Adam drifts to x = +1 and stays there; "
        "AMSGrad, which never lets v decrease, heads to −1. The race: on a plain bowl, with the same short memory "
        "β₂ = 0.9, Adam never settles (its loss stops falling) while AMSGrad's loss keeps falling.",
        "Reddi, Kale & Kumar (ICLR 2018): the gradient is C once every three steps and −1 otherwise. Adam's short "
        "memory forgets the rare large gradient quickly, so the two small ones in the other direction dominate. "
        "AMSGrad keeps the largest v seen, so the large gradient keeps its weight. In the race the same forgetting "
        "shows near the minimum: as the gradient shrinks, Adam's v shrinks with it, so m̂/√v̂ stays large and Adam "
        "keeps circling; AMSGrad divides by the largest v so far, so its steps shrink with the gradient.",
        {"surface": "quadratic", "sp": "condition:10,angle:30", "start": "-2.5,2", "steps": "300",
         "opt": ["adam;lr=0.2;beta2=0.9", "amsgrad;lr=0.2;beta2=0.9"]}, chart="counterexample", focus="AMSGrad",
        knob="beta2",
        claim=Claim(claims.settling, lambda n: n["first_low"] > 0.9 and n["second_high"] < -0.9
                    and n["adam"] > 1e-6 > 1e-9 > n["amsgrad"],
                    "Online, over the last 500 steps Adam stays at x ≥ {first_low:.3f} and AMSGrad at x ≤ "
                    "{second_high:.3f}; in the race the mean loss over the last {window} steps is {adam:.2g} for Adam "
                    "and {amsgrad:.2g} for AMSGrad.",
                    {"online": COUNTEREXAMPLE, "adam": "Adam", "amsgrad": "AMSGrad"})),
    Lesson(
        "himmelblau", "Multiple minima: where each optimizer ends up",
        "From the same start the optimizers end in different minima of Himmelblau's function. The sweeps tab's "
        "basins of attraction show this for every start at once.",
        "Four minima of equal depth: which one a run reaches depends on its path, so on its update rule and its "
        "step sizes, not on the depth of the minima.",
        {"surface": "himmelblau", "start": "-0.3,-0.9", "steps": "500",
         "opt": ["sgd;lr=0.01", "momentum;lr=0.002;momentum=0.9", "adam;lr=0.2", "rmsprop;lr=0.05"]},
        claim=Claim(claims.minima_reached, lambda n: n["count"] >= 2,
                    "The {runs} runs end near {count} different minima: {where}.")),
    Lesson(
        "eps_placement", "Where ε sits: three Adams on tiny gradients",
        "Three Adams, the same α = 0.05 and a large ε = 10⁻³, differ only in where ε enters. Across the steep x "
        "direction they move alike. Along the flat y direction (curvature 10⁻³, gradients about as small as ε) "
        "they part: torch's placement {ε outside the root (torch)}, Keras's {ε̂ before bias correction (Keras)}, "
        "and with ε inside the root Adam crawls: it {ε inside the root}. Compare the effective-step rows.",
        "With g ≈ 10⁻³·y, outside the root α·m̂/(√v̂ + ε) ≈ α·g/(|g| + ε) is still a good part of α. Inside, "
        "α·m̂/√(v̂ + ε) ≈ α·g/√ε, and √ε ≈ 0.03 is 30 times |g|: plain SGD with rate α/√ε on a curvature of "
        "10⁻³. Keras adds ε̂ to √v before the bias correction, which is torch's rule with ε/√(1 − β₂ᵗ): 30 times "
        "larger at the first step, fading only over about 1/(1 − β₂) = 1000 steps. Where |g| ≫ ε (along x) the "
        "three agree.",
        {"surface": "quadratic", "sp": "condition:1000,angle:0", "start": "-2.5,2", "steps": "600",
         "opt": ["adam;lr=0.05;eps=0.001;label=ε outside the root (torch)",
                 "adam;lr=0.05;eps=0.001;eps_placement=keras;label=ε̂ before bias correction (Keras)",
                 "adam;lr=0.05;eps=0.001;eps_placement=inside;label=ε inside the root"]}, knob="eps",
        claim=Claim(claims.arrivals, lambda n: n["outside"] < n["keras"] < math.inf == n["inside"],
                    "ε outside the root reaches ★ at step {outside_text}, Keras's placement at step {keras_text}, ε "
                    "inside the root {inside_text} in {steps:,} steps.",
                    {"outside": "ε outside the root (torch)", "keras": "ε̂ before bias correction (Keras)",
                     "inside": "ε inside the root"})),
    Lesson(
        "batch", "GD vs SGD vs mini-batch: one optimizer, three batch sizes",
        "The same SGD (α = 0.05) fits a line to 150 irises. With the full batch it glides straight to the "
        "least-squares fit and stops; on single examples it jitters around the fit and never settles; mini-batches "
        "of 8 sit in between. Counted in steps the full batch wins, but switch the loss chart to epochs: single "
        "examples cut the loss gap far sooner than the full batch.",
        "A batch's mean gradient is an unbiased sample of the full gradient, with a variance that shrinks like "
        "1/B. Near the minimum the full gradient vanishes but a small batch's does not, so SGD keeps moving in "
        "proportion to α. A full-batch step costs all N gradients: a mini-batch buys most of its accuracy for B/N "
        "of the cost, and computes its B gradients in parallel on real hardware — why networks train on them.",
        {"surface": "linear_regression", "sp": "standardize:1,batch_size:150,seed:0", "start": "-0.5,2.5",
         # the smooth full-batch path is drawn last: under the jittery ones it would disappear
         "steps": "200", "opt": ["sgd;lr=0.05;sp.batch_size=1;label=Single example (1)",
                                 "sgd;lr=0.05;sp.batch_size=8;label=Mini-batch (8)",
                                 "sgd;lr=0.05;sp.batch_size=150;label=Full batch (150)"]}, focus="Full batch (150)",
        claim=Claim(claims.batch_sizes, lambda n: n["epochs_single"] < n["epochs_mini"] < n["epochs_full"]
                    and n["wander_full"] < 1e-4 < n["wander_mini"] < n["wander_single"],
                    "To cut the loss gap to {percent:g} % single examples take {epochs_single:.2g} epochs, batches of "
                    "8 {epochs_mini:.2g}, the full batch {epochs_full:.3g}; near the end they stay "
                    "{wander_single:.2g}, {wander_mini:.2g} and {wander_full:.1g} from the fit.",
                    {"full": "Full batch (150)", "mini": "Mini-batch (8)", "single": "Single example (1)"})),
    Lesson(
        "generalization", "Adaptive methods can generalise worse (Wilson et al. 2017)",
        "The chart: on Wilson et al.'s linearly separable problem every optimizer fits the training set, but only "
        "gradient descent and SGD classify new points well; AdaGrad, RMSProp and Adam label every new point with "
        "the majority class. The race shows why: from the same start Adam heads along sign(g), the diagonal, "
        "while SGD follows the gradient.",
        "The problem has more features than examples, so many weights fit the training set. Gradient methods stay "
        "in the span of the examples and find the minimum-norm fit, which leans on the feature x₁ = y that every "
        "example shares. Adaptive methods, which divide each coordinate by its own gradient scale, move every "
        "coordinate at about the same rate (w ∝ sign(Xᵀy), §3): the shared features x₂ = x₃ = 1 then weigh as "
        "much as x₁, and on a new point, whose own features were never seen, they outvote it.",
        {"surface": "quadratic", "sp": "condition:10,angle:20", "start": "-2.5,2", "steps": "200",
         "opt": ["adam;lr=0.1", "sgd;lr=0.5"]}, chart="generalization",
        focus="SGD",
        claim=Claim(claims.wilson_generalization, claims.wilson_holds,
                    "With p = {p:g} ({n} training and {n_test:,} new examples, {steps:,} steps), the test error is "
                    "{others_text} for the gradient methods and {majority_text} for the adaptive ones, whose share "
                    "of the minority class is {minority:.3f}; the largest training loss is {worst_loss:.1g}.",
                    {"runs": {"GD": Trainer("sgd", {"lr": 0.4}), "SGD": Trainer("sgd", {"lr": 0.05}, batch_size=1),
                              "AdaGrad": Trainer("adagrad", {"lr": 0.1}),
                              "RMSProp": Trainer("rmsprop", {"lr": 0.003}), "Adam": Trainer("adam", {"lr": 0.01})},
                     "majority": ("AdaGrad", "RMSProp", "Adam"), "p": 0.6, "n": 50, "n_test": 1000, "steps": 3000,
                     "seed": 0}, on_race=False)),
    Lesson(
        "adam_bound", "Adam's step is bounded by about α (Kingma & Ba 2015, §2.1)",
        "The chart: each step's length over α on two coordinates, one with noisy gradients and one whose gradient "
        "is 0 but once. The dense one steps at most about α; the sparse one's single step goes beyond α, up to "
        "the bound α·(1−β₁)/√(1−β₂) — at the defaults, where 1−β₁ > √(1−β₂), that looser bound is the one that "
        "holds. The race: the effective-step rows of Adam with the defaults and with β₂ = 0.9.",
        "|Δθ| = α·|m̂|/√v̂. When the gradients are alike, |𝔼[g]| ≤ √𝔼[g²] keeps |m̂|/√v̂ at most about 1. A gradient "
        "that was 0 at every step but this one gives m̂ ≈ (1−β₁)g and √v̂ ≈ √(1−β₂)|g|: their ratio is "
        "(1−β₁)/√(1−β₂), above 1 when 1−β₁ > √(1−β₂).",
        {"surface": "quadratic", "sp": "condition:10,angle:0", "start": "-2.5,2", "steps": "200",
         "opt": ["adam;lr=0.1;beta2=0.9;label=Adam β₂=0.9", "adam;lr=0.1;label=Adam (defaults)"]},
        chart="adam_bound", focus="Adam (defaults)", knob="beta2",
        claim=Claim(claims.adam_step_trace, claims.adam_bound_holds,
                    "With β₁ = {beta_1:g}, β₂ = {beta_2:g} the bound is {bound_over_lr:.3g} α; over {steps:,} steps "
                    "the largest step is {max_over_bound:.3f} of it: {dense_max_over_lr:.3g} α on the dense "
                    "coordinate, {sparse_max_over_lr:.3g} α on the sparse one (beyond α).",
                    {"optimizer": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "steps": 4000, "sparse_at": 3000,
                     "seed": 0}, on_race=False)),
    Lesson(
        "damping", "Critical damping: the momentum that converges fastest (Goh 2017)",
        "The chart: heavy ball at a fixed α with every β on a grid, and the steps each needs to reach the "
        "minimum; the fastest sits at β* = (1 − √(αλ))², for the bowl's smallest curvature λ. In the race, the "
        "smaller β crawls along the flat direction, the larger spirals in, and the one near β* arrives first.",
        "Along a direction of curvature λ, heavy ball is a damped spring. Below β* it is overdamped: one of its two "
        "modes decays slowly. Above β* it oscillates, and every mode decays like √β. At β* the two modes merge "
        "(critical damping) and the slowest decay, √β* = 1 − √(αλ), is the fastest possible; with αλ_max ≤ 1 the "
        "stiffer directions decay as fast.",
        {"surface": "quadratic", "sp": "condition:10,angle:30", "start": "-2.5,2", "steps": "150",
         "opt": ["momentum;lr=0.5;momentum=0.3;label=β = 0.3", "momentum;lr=0.5;momentum=0.9;label=β = 0.9",
                 "momentum;lr=0.5;momentum=0.6;label=β = 0.6"]}, chart="critical_damping", focus="β = 0.6",
        knob="momentum",
        claim=Claim(claims.damping_sweep, claims.damping_holds,
                    "With α = {rate:g} and λ = {curvature:.3g}, β* = {beta_star:.3f}; of the grid (steps of "
                    "{grid_step:.2g}) β = {best_beta:.2f} reaches the minimum first, in {best_steps:.0f} steps, "
                    "{gap:.3f} from β*.",
                    {"surface": "quadratic", "surface_params": {"condition": 10.0, "angle": 30.0},
                     "optimizer": "momentum", "knob": "momentum", "lr": 0.5,
                     "betas": tuple(round(0.05 * k, 2) for k in range(20)), "start": (-2.5, 2.0), "steps": 2000,
                     "tol": 1e-6},
                    on_race=False)),
    Lesson(
        "edge_of_stability", "The edge of stability: gradient descent on MNIST (Cohen et al. 2021)",
        "The chart (press Run: three full-batch trainings on MNIST digits): for each learning rate α the sharpness "
        "— the largest curvature of the training loss — rises until it reaches 2/α, and then stays near it while "
        "the loss keeps falling, though not at every step. The race shows the rule on a bowl: below 2/α gradient "
        "descent settles, near it it bounces from wall to wall.",
        "On a quadratic, gradient descent is stable only while α·λ_max < 2. A network's curvature is not fixed: "
        "training first sharpens it (progressive sharpening) until λ_max reaches 2/α. There the step overshoots "
        "along the sharpest direction, the loss rises for a few steps, and that motion flattens the weights again: "
        "the sharpness hovers at 2/α, and the loss still falls over time.",
        {"surface": "quadratic", "sp": "condition:10,angle:30", "start": "-2.5,2", "steps": "100",
         "opt": ["sgd;lr=1.9;label=GD α=1.9", "sgd;lr=0.5;label=GD α=0.5"]}, chart="edge_of_stability",
        focus="GD α=0.5",
        claim=Claim(claims.edge_of_stability_runs, claims.edge_of_stability_holds,
                    "Full-batch GD, {hidden} {activation}, {loss}, {init}, {n} digits: {text}.",
                    # PyTorch's uniform initialisation starts the network flat (sharpness about 2, below 2/0.4),
                    # so that at every α the sharpness rises to 2/α; the steps let each stay there a third of its run
                    {"runs": ((0.1, 3000), (0.2, 2000), (0.4, 1500)), "optimizer": "sgd", "n": 250,
                     "hidden": (100, 100), "activation": "tanh", "loss": "mse", "init": "uniform", "every": 40,
                     "tol": 1e-3, "seed": 0, "band": 0.15}, on_race=False,
                    slow=True)),
]}


