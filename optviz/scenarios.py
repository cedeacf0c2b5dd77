"""Guided lessons: each one is a race (written as the explorer's link parameters) and what to watch in it.

A lesson's `query` uses the same format as a shared link, so loading a lesson and opening a link are one
mechanism, and every lesson is checked by the same validation as any URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_OPTIMIZERS = ("adam", "sgd")  # a new race's racers (each with a learning rate suited to its surface)
NOTEBOOK_RACE = ("sgd", "momentum", "adam")  # optviz.widget's racers unless given: plain, heavy ball, adaptive
TRAINING_OPTIMIZER = "adam"  # optviz.mnist.train's unless given
CLASSIC_COMPARISON = ("adadelta", "adagrad", "adam", "rmsprop", "sgd")  # the MNIST tab's classic: CNN, Keras defaults
# the edge of stability: gradient descent (the default, for `optviz eos` too), its momentum forms, and Adam
EDGE_OF_STABILITY = ("sgd", "momentum", "nesterov", "adam")
RANGE_TEST_OPTIMIZER = "sgd"  # the learning-rate range test's unless given (`optviz lr-find`, the MNIST tab)


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


# The first screen: a race whose lesson shows at a glance, with a line saying what to look at. SGD (drawn last,
# on top) stops on the valley's flank, far from the minimum; Adam follows the valley to the ★.
WELCOME = Lesson(
    "welcome", "Adam vs SGD in Rosenbrock's curved valley",
    "Adam (red) follows the curved valley towards the minimum ★ and {Adam}; SGD (blue) reaches the flat valley "
    "floor, then crawls: it {SGD}. The sidebar's lessons show more.",
    "The valley floor is almost flat, so SGD's steps, proportional to the gradient, become tiny there; Adam divides "
    "each coordinate by its own gradient scale, so its steps keep their size.",
    {"surface": "rosenbrock", "start": "-1.5,2", "steps": "500", "opt": ["adam;lr=0.1", "sgd;lr=0.001"]},
    focus="SGD")

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
        knob="momentum"),
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
        knob="momentum"),
    Lesson(
        "nesterov", "Momentum overshoot and Nesterov's correction",
        "With heavy momentum (μ = 0.95) the ball overshoots the minimum and spirals in; Nesterov's look-ahead "
        "damps the oscillation. Plain SGD at the same learning rate creeps in without overshooting.",
        "Momentum adds the previous velocity to every step, so the ball keeps going after the gradient reverses. "
        "Nesterov evaluates the correction g + μb with the freshly updated velocity, a look-ahead that brakes "
        "earlier.",
        {"surface": "quadratic", "sp": "condition:10,angle:20", "start": "-2.5,2", "steps": "200",
         "opt": ["momentum;lr=0.05;momentum=0.95", "sgd;lr=0.05", "nesterov;lr=0.05;momentum=0.95"]},
        focus="Nesterov momentum", knob="momentum"),
    Lesson(
        "adagrad", "AdaGrad's ever-shrinking steps vs RMSProp's moving average",
        "Both start fast; AdaGrad's steps keep shrinking (watch its accumulator grow in the state rows) and it "
        "{AdaGrad}, while RMSProp keeps a steady pace and {RMSProp}.",
        "AdaGrad divides by the square root of the sum of all past squared gradients, which never decreases. "
        "RMSProp uses an exponential moving average instead, which forgets old gradients.",
        {"surface": "rosenbrock", "start": "-1.5,2", "steps": "1500",
         "opt": ["rmsprop;lr=0.005", "adagrad;lr=0.5"]}, focus="AdaGrad"),
    Lesson(
        "bias", "Bias correction on vs off: Adam's first steps",
        "With bias correction Adam's very first step has length α in each coordinate. Without it the first steps "
        "are about 3× larger (here), then the two runs slowly become alike; compare the bias-correction row.",
        "The moments start at m₀ = v₀ = 0, so early on m_t and v_t are biased towards 0 by factors 1−β₁ᵗ and "
        "1−β₂ᵗ. Uncorrected, m is shrunk by 1−β₁ᵗ ≈ 0.1 but √v by √(1−β₂ᵗ) ≈ 0.03: the ratio is too big.",
        {"surface": "rosenbrock", "start": "-1.5,2", "steps": "150",
         "opt": ["adam;lr=0.02;bias_correction=0;label=Adam, no bias correction",
                 "adam;lr=0.02;label=Adam (bias-corrected)"]}, focus="Adam (bias-corrected)",
        knob="bias_correction"),
    Lesson(
        "epsilon", "β₂ too small and ε = 0; ε between sign-like and SGD-like steps",
        "With β₂ = 0.9 and ε = 0 Adam keeps taking large, erratic steps near the minimum. With a large ε (= 100, "
        "and α raised to 1) its steps are α/ε·m̂: momentum-SGD with a learning rate of 0.01. The default sits "
        "between: sign-like far from the minimum, gentler close to it.",
        "With a short memory (β₂ = 0.9) v̂ tracks the latest gradients, so m̂/√v̂ is close to ±1: sign-like steps "
        "of full size even near the minimum. ε ≫ √v̂ makes the update α·m̂/ε: SGD with momentum and a "
        "learning rate of α/ε.",
        {"surface": "beale", "start": "1,1.4", "steps": "600",
         "opt": ["adam;lr=1;eps=100;label=Adam ε=100, α=1", "adam;lr=0.05;label=Adam (defaults)",
                 "adam;lr=0.05;beta2=0.9;eps=0;label=Adam β₂=0.9 ε=0"]}, focus="Adam β₂=0.9 ε=0",
        knob="beta2"),
    Lesson(
        "conditioning", "Ill-conditioning: SGD zig-zags, Adam goes straight",
        "SGD bounces across the narrow valley while creeping along it and {SGD}; Adam's path is nearly straight "
        "and {Adam}.",
        "The bowl is 100 times steeper across than along. A step size that is stable across is tiny along. Adam "
        "rescales every coordinate by its own √v̂, equalising the two directions (exactly so when the valley is "
        "aligned with the axes; rotate it with φ to see the limits).",
        {"surface": "quadratic", "sp": "condition:100,angle:0", "start": "-2.5,2", "steps": "300",
         "opt": ["sgd;lr=1.9", "adam;lr=0.05"]}, focus="Adam"),
    Lesson(
        "noise", "Noisy gradients: Adam vs SGD with and without momentum",
        "Every optimizer sees exactly the same noise, and none of them settles. SGD at α = 0.1 wanders widely; "
        "at α = 0.02 it arrives later but stays closer. Momentum (α = 0.01, μ = 0.9) wanders as far as SGD at "
        "α = 0.1 but with steps five times smaller; Adam's steps stay a sizeable fraction of α.",
        "Near the minimum the gradient is mostly noise, and each optimizer turns noise into motion: SGD in "
        "proportion to α, momentum by averaging about 1/(1−μ) noisy gradients into smooth steps that add up like "
        "SGD with α/(1−μ), and Adam by dividing by √v̂, which tracks the noise itself, so its steps do not shrink.",
        {"surface": "noisy_quadratic", "sp": "condition:4,angle:30,noise:0.5,seed:0", "start": "-2.5,2",
         "steps": "1500", "opt": ["sgd;lr=0.02;label=SGD α=0.02", "adam;lr=0.05", "momentum;lr=0.01;momentum=0.9",
                                  "sgd;lr=0.1"]}, focus="SGD"),
    Lesson(
        "amsgrad", "Adam's non-convergence counterexample, and how AMSGrad fixes it",
        "The chart: on this online problem the best point is x = −1, yet Adam drifts to x = +1 and stays there; "
        "AMSGrad, which never lets v decrease, heads to −1. The race: on a plain bowl, with the same short memory "
        "β₂ = 0.9, Adam never settles (its loss stops falling near 10⁻⁵) while AMSGrad's loss keeps falling.",
        "Reddi, Kale & Kumar (ICLR 2018): the gradient is C once every three steps and −1 otherwise. Adam's short "
        "memory forgets the rare large gradient quickly, so the two small ones in the other direction dominate. "
        "AMSGrad keeps the largest v seen, so the large gradient keeps its weight. In the race the same forgetting "
        "shows near the minimum: as the gradient shrinks, Adam's v shrinks with it, so m̂/√v̂ stays large and Adam "
        "keeps circling; AMSGrad divides by the largest v so far, so its steps shrink with the gradient.",
        {"surface": "quadratic", "sp": "condition:10,angle:30", "start": "-2.5,2", "steps": "300",
         "opt": ["adam;lr=0.2;beta2=0.9", "amsgrad;lr=0.2;beta2=0.9"]}, chart="counterexample", focus="AMSGrad",
        knob="beta2"),
    Lesson(
        "himmelblau", "Multiple minima: where each optimizer ends up",
        "From the same start the optimizers end in different minima of Himmelblau's function. The sweeps tab's "
        "basins of attraction show this for every start at once.",
        "Four minima of equal depth: which one a run reaches depends on its path, so on its update rule and its "
        "step sizes, not on the depth of the minima.",
        {"surface": "himmelblau", "start": "-0.3,-0.9", "steps": "500",
         "opt": ["sgd;lr=0.01", "momentum;lr=0.002;momentum=0.9", "adam;lr=0.2", "rmsprop;lr=0.05"]}),
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
                 "adam;lr=0.05;eps=0.001;eps_placement=inside;label=ε inside the root"]}, knob="eps"),
    Lesson(
        "batch", "GD vs SGD vs mini-batch: one optimizer, three batch sizes",
        "The same SGD (α = 0.05) fits a line to 150 irises. With the full batch it glides straight to the "
        "least-squares fit and stops; on single examples it jitters around the fit and never settles; mini-batches "
        "of 8 sit in between. Counted in steps the full batch wins, but switch the loss chart to epochs: single "
        "examples cut the loss gap to 1% within a quarter of an epoch, the full batch needs 22 epochs.",
        "A batch's mean gradient is an unbiased sample of the full gradient, with a variance that shrinks like "
        "1/B. Near the minimum the full gradient vanishes but a small batch's does not, so SGD keeps moving in "
        "proportion to α. A full-batch step costs all N gradients: a mini-batch buys most of its accuracy for B/N "
        "of the cost, and computes its B gradients in parallel on real hardware — why networks train on them.",
        {"surface": "linear_regression", "sp": "standardize:1,batch_size:150,seed:0", "start": "-0.5,2.5",
         # the smooth full-batch path is drawn last: under the jittery ones it would disappear
         "steps": "200", "opt": ["sgd;lr=0.05;sp.batch_size=1;label=Single example (1)",
                                 "sgd;lr=0.05;sp.batch_size=8;label=Mini-batch (8)",
                                 "sgd;lr=0.05;sp.batch_size=150;label=Full batch (150)"]}, focus="Full batch (150)"),
]}

# The chart of the lesson with chart="counterexample": these optimizers on Reddi et al.'s online problem
COUNTEREXAMPLE = ("adam", "amsgrad")
