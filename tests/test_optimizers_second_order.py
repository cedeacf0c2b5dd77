"""The optimizers that are not element-wise (optviz.second_order): Newton's method on quadratics and saddles, SAM,
Lookahead and L-BFGS against their reference classes (tests/fixtures/second_order_references.npz, written by
tools/make_second_order_references.py), and how races count and align their gradient evaluations."""

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import optviz
from optviz.figures import race_payload
from optviz.figures.export import trajectories_csv
from optviz.objective import Objective
from optviz.optimizers import COLORS, ROLES, in_batches
from optviz.second_order import SPECS as STEPPED_OPTIMIZERS
from optviz.second_order import VECTOR_ROLES, hessian_inverse_step
from optviz.sweeps import sweep
from optviz.torch_arithmetic import axpy, dot, lerp
from optviz.whole_vector import newton_schulz

FIXTURE = Path(__file__).parent / "fixtures" / "second_order_references.npz"
REFERENCES = np.load(FIXTURE)
META = json.loads(str(REFERENCES["meta"]))


def _quadratic(h: np.ndarray, minimum: np.ndarray) -> Objective:
    """f(p) = ½(p − p*)ᵀH(p − p*)."""
    return Objective(lambda p: 0.5 * (p - minimum) @ h @ (p - minimum), lambda p: h @ (p - minimum), lambda p: h)


@pytest.mark.parametrize("index", range(len(META["cases"])),
                         ids=[c["optim_db"] or f"{c['optimizer']}-{c['surface']}-{i}"
                              for i, c in enumerate(META["cases"])])
def test_matches_the_reference_class_over_300_steps(index):
    case = META["cases"][index]
    surf = optviz.surface(case["surface"], **case["surface_params"])
    traj = optviz.run(surf, optviz.optimizer(case["optimizer"], **case["hparams"]), case["start"],
                      steps=META["steps"])
    reference = REFERENCES["trajectories"][index]
    assert traj.diverged_at is None
    np.testing.assert_allclose(traj.path, reference, rtol=1e-10, atol=1e-10 * np.abs(reference).max())
    np.testing.assert_array_equal(traj.evaluations, REFERENCES["evaluations"][index])


def test_torchs_own_configurations_of_lbfgs_adafactor_and_muon_are_all_among_the_references():
    described = [c["optim_db"] for c in META["cases"] if c["optim_db"]]
    assert {d.split(":")[0] for d in described} == {"LBFGS", "Adafactor", "Muon"} and len(described) == 17


@pytest.mark.parametrize("start", [(-2.5, 2.0), (3.0, -0.7), (1e-3, 40.0)])
def test_one_newton_step_lands_on_the_minimum_of_a_quadratic_surface(start):
    surf = optviz.surface("quadratic", condition=50.0, angle=30.0)
    traj = optviz.run(surf, "newton", start, steps=1)
    np.testing.assert_allclose(traj.path[1], (0.0, 0.0), atol=1e-12)


def test_one_newton_step_lands_on_the_minimum_of_any_positive_definite_quadratic():
    h, minimum = np.array([[3.0, 1.2], [1.2, 0.8]]), np.array([0.7, -2.0])
    opt = optviz.optimizer("newton")
    params, _, report = opt.step([5.0, 4.0], opt.init([5.0, 4.0]), _quadratic(h, minimum))
    np.testing.assert_allclose(params, minimum, atol=1e-12)
    assert (report.evaluations, report.hessians) == (1, 1)


def test_damping_and_the_learning_rate_shorten_the_newton_step_as_the_formula_says():
    h, minimum, start = np.array([[2.0, 0.5], [0.5, 1.0]]), np.zeros(2), np.array([1.0, -3.0])
    opt = optviz.optimizer("newton", lr=0.5, damping=0.3)
    params, _, _ = opt.step(start, opt.init(start), _quadratic(h, minimum))
    np.testing.assert_allclose(params, start - 0.5 * np.linalg.solve(h + 0.3 * np.eye(2), h @ start), rtol=1e-14)


def test_plain_newton_jumps_onto_a_saddle_and_saddle_free_newton_escapes_it():
    saddle, start = _quadratic(np.diag([2.0, -2.0]), np.zeros(2)), np.array([0.5, 0.3])  # f = x² − y²
    plain, free = optviz.optimizer("newton"), optviz.optimizer("newton", saddle_free=True)
    np.testing.assert_allclose(plain.step(start, plain.init(start), saddle)[0], (0.0, 0.0), atol=1e-12)
    # |H| = 2I: the step (x, −y) goes downhill along y, away from the saddle
    np.testing.assert_allclose(free.step(start, free.init(start), saddle)[0], (0.0, 0.6), atol=1e-12)


def test_on_the_saddle_surface_saddle_free_newton_goes_downhill_and_plain_newton_to_the_saddle():
    surf = optviz.surface("saddle_unbounded")  # its Hessian by differences of the gradient: to about 1e-11
    plain = optviz.run(surf, "newton", (0.5, 0.3), steps=3)
    free = optviz.run(surf, optviz.optimizer("newton", saddle_free=True), (0.5, 0.3), steps=3)
    np.testing.assert_allclose(plain.path[-1], (0.0, 0.0), atol=1e-9)
    assert np.all(np.diff(free.loss) < 0) and free.loss[-1] < plain.loss[-1] < free.loss[0]


def test_a_singular_hessian_takes_no_step_along_its_flat_direction():
    direction = hessian_inverse_step(np.diag([2.0, 0.0]), np.array([4.0, 1.0]), 0.0, False)
    np.testing.assert_array_equal(direction, (2.0, 0.0))


def test_a_surface_without_a_constant_hessian_gives_it_by_differences_of_its_gradient():
    b, x, y = 100.0, -0.8, 1.3  # Rosenbrock's defaults: a = 1, b = 100
    exact = np.array([[2 - 4 * b * (y - x * x) + 8 * b * x * x, -4 * b * x], [-4 * b * x, 2 * b]])
    np.testing.assert_allclose(optviz.surface("rosenbrock").hessian_at(x, y), exact, rtol=1e-7)


def test_a_typed_surface_gives_newton_its_hessian_too():
    surf = optviz.custom_surface("x**2 + 3*y**2 + x*y - x")
    traj = optviz.run(surf, "newton", (2.0, -1.0), steps=2)
    np.testing.assert_allclose(traj.path[2], np.linalg.solve([[2.0, 1.0], [1.0, 6.0]], [1.0, 0.0]), atol=1e-9)


def test_sam_costs_two_gradient_evaluations_per_step():
    traj = optviz.run("rosenbrock", optviz.optimizer("sam", inner="adam", lr=1e-2), steps=10)
    np.testing.assert_array_equal(traj.evaluations, 2 * np.arange(11))


def test_a_race_aligned_by_evaluations_gives_every_contestant_the_same_budget_indexed_by_evaluations():
    sam_opt = optviz.optimizer("sam", inner="adam", lr=1e-3)
    races = optviz.race("rosenbrock", ["adam", sam_opt], steps=40, align="evaluations")
    adam, sam = races["adam"], races["sam"]
    by_steps = optviz.run("rosenbrock", sam_opt, steps=20)
    assert adam.evaluations[-1] == sam.evaluations[-1] == 40 and len(sam.path) == len(adam.path) == 41
    np.testing.assert_array_equal(adam.path, optviz.run("rosenbrock", "adam", steps=40).path)  # one per step
    # SAM's k-th step ends at its 2k-th evaluation; at the odd ones it is still on its way there
    np.testing.assert_array_equal(sam.path[0::2], by_steps.path)
    np.testing.assert_array_equal(sam.path[1::2], by_steps.path[:-1])
    np.testing.assert_array_equal(sam.grad[1::2], by_steps.grad)  # each point's gradient: the step it ended
    assert np.isnan(sam.grad[0]).all() and np.isnan(sam.trace["perturbation"][0]).all()  # no step ended yet
    assert sam.final_loss == by_steps.final_loss


def test_a_run_indexed_by_evaluations_counts_its_convergence_and_divergence_in_evaluations():
    lbfgs = optviz.run("quadratic", "lbfgs", steps=6)
    frames = optviz.per_evaluation(lbfgs, int(lbfgs.evaluations[-1]))
    assert frames.converged_at == lbfgs.evaluations[lbfgs.converged_at]
    np.testing.assert_array_equal(frames.path[lbfgs.evaluations], lbfgs.path)
    wild = optviz.run("rosenbrock", optviz.optimizer("sam", inner="sgd", lr=1.0), steps=30)
    frames = optviz.per_evaluation(wild, 60)
    assert wild.diverged_at is not None and frames.diverged_at == 2 * wild.diverged_at
    with pytest.raises(ValueError, match="one recorded run"):
        optviz.per_evaluation(optviz.run("rosenbrock", "sgd", steps=5, lr=np.array([0.1, 0.2])), 5)


def test_a_race_aligned_by_steps_records_each_contestants_evaluations():
    races = optviz.race("himmelblau", ["sgd", "lbfgs"], steps=5)
    np.testing.assert_array_equal(races["sgd"].evaluations, np.arange(6))
    assert np.all(np.diff(races["lbfgs"].evaluations) >= 1) and races["lbfgs"].evaluations[-1] > 5


def test_lbfgs_records_every_inner_iteration_of_a_step():
    traj = optviz.run("rosenbrock", optviz.optimizer("lbfgs", lr=0.05, max_iter=4), steps=3)
    iterates, used = traj.inner["iterates"], traj.inner["evaluations"]
    assert iterates.shape == (3, 4, 2)
    np.testing.assert_array_equal(iterates[:, -1], traj.path[1:])  # the last inner iterate is the step's end
    np.testing.assert_array_equal(used[:, -1], np.diff(traj.evaluations))


def test_lookahead_pulls_the_fast_weights_back_every_k_steps():
    traj = optviz.run("rosenbrock", optviz.optimizer("lookahead", inner="sgd", lr=1e-3, k=3, alpha=0.5),
                      steps=6)
    slow = traj.trace["slow"]
    np.testing.assert_array_equal(slow[0], slow[1])  # unchanged until the k-th step
    np.testing.assert_array_equal(slow[2], traj.path[3])  # then the fast weights are reset onto it


def test_a_wrapper_takes_its_inner_optimizers_hyperparameters_flat():
    opt = optviz.optimizer("lookahead", inner="adam", k=5, alpha=0.5, lr=1e-3, beta1=0.8)
    assert opt.inner.hparams["beta1"] == 0.8 and opt.hparams["k"] == 5 and opt.lr_at(1) == 1e-3


def test_an_inner_hyperparameter_named_like_the_wrappers_own_is_prefixed():
    opt = optviz.optimizer("lookahead", inner="rmsprop", alpha=0.3, inner_alpha=0.9)
    assert opt.hparams["alpha"] == 0.3 and opt.inner.hparams["alpha"] == 0.9 and opt.hparams["inner_alpha"] == 0.9


@pytest.mark.parametrize("name, hparams, words", [
    ("lookahead", {"inner": "lbfgs"}, "inner must be one of"),
    ("lookahead", {"k": 0}, "k must be an integer in [1"),
    ("sam", {"inner": "adam", "beta9": 0.1}, "sam (inner adam): adam has no hyperparameter 'beta9'"),
    ("newton", {"damping": -1.0}, "damping must be a number in [0"),
    ("lbfgs", {"line_search_fn": "backtracking"}, "line_search_fn must be one of 'none', 'strong_wolfe'"),
    ("newton", {"lr": np.array([0.5, 1.0])}, "steps one configuration at a time"),
    ("nowhere", {}, "unknown optimizer 'nowhere'; choose one of: sgd"),
])
def test_a_bad_setting_is_refused_in_words(name, hparams, words):
    with pytest.raises(ValueError, match=None) as error:
        optviz.optimizer(name, **hparams)
    assert words in str(error.value)


def test_each_has_a_colour_of_its_own():
    colours = [spec.color for spec in STEPPED_OPTIMIZERS.values()]
    assert len(set(colours)) == len(colours) and not set(colours) & set(COLORS)


def test_every_recorded_quantity_has_a_role():
    for spec in STEPPED_OPTIMIZERS.values():
        roles = {**spec.traces, **spec.per_iteration}.values()
        assert all(role in VECTOR_ROLES + ROLES for role in roles), spec.name
    with pytest.raises(ValueError, match="trace where has no role"):
        replace(STEPPED_OPTIMIZERS["newton"], traces={"where": "somewhere"})


def test_the_compiled_engines_refuse_what_they_cannot_step_in_words():
    assert "lbfgs" not in in_batches() and "adam" in in_batches()
    with pytest.raises(ValueError, match="Newton's method is raced one run at a time"):
        sweep("quadratic", "newton", "lr", [0.1, 1.0], "damping", [0.0, 1.0], steps=5)


def test_an_overflowing_run_is_marked_diverged_not_raised():
    traj = optviz.run("rosenbrock", optviz.optimizer("lbfgs", lr=50.0, max_iter=1), steps=30)
    assert traj.diverged_at is not None and np.isnan(traj.path[-1]).all()


def test_muon_steps_a_2_vector_along_its_normalised_momentum_scaled_by_the_iteration():
    g = np.array([3.0, -4.0])
    a, b, c = 3.4445, -4.7750, 2.0315
    s = 1.0  # the 1×2 matrix's one singular value, after normalisation
    for _ in range(5):
        s = a * s + b * s ** 3 + c * s ** 5
    np.testing.assert_allclose(newton_schulz(g, a, b, c, 5, 1e-7), s * g / 5.0, rtol=1e-14)


def test_prodigy_records_its_distance_estimate_which_never_shrinks():
    traj = optviz.run("rosenbrock", "prodigy", steps=100)
    d = traj.trace["d"]
    assert d.shape == (100,) and d[0] == 1e-6 and np.all(np.diff(d) >= 0) and d[-1] > 1e3 * d[0]


def test_prodigys_beta3_follows_beta2_unless_given():
    assert optviz.optimizer("prodigy", beta2=0.99).hparams["beta3"] == np.sqrt(0.99)
    assert optviz.optimizer("prodigy", beta2=0.99, beta3=0.5).hparams["beta3"] == 0.5


@pytest.mark.parametrize("name, keyword, value", [("lbfgs", "line_search_fn", "none"),
                                                  ("muon", "adjust_lr_fn", "original"),
                                                  ("adafactor", "eps1", np.finfo(float).eps)])
def test_torchs_none_means_its_default(name, keyword, value):
    assert optviz.optimizer(name, **{keyword: None}).hparams[keyword] == value


def test_axpy_rounds_once_and_dot_does_not_fuse():
    x, y = np.array([1.0 + 2.0 ** -30, 1.0]), np.array([-(1.0 + 2.0 ** -29), 0.0])
    assert axpy(1.0 + 2.0 ** -30, x, y)[0] == 2.0 ** -60  # (1 + 2⁻³⁰)² − (1 + 2⁻²⁹), exactly
    assert dot(x, x) == float(x[0] * x[0] + x[1] * x[1])


def test_lerp_is_fused_from_the_nearer_end_as_torchs():
    start, end = np.array([0.1, 1.0]), np.array([0.7, -3.0])
    np.testing.assert_array_equal(lerp(start, end, 0.2), axpy(0.2, end - start, start))
    np.testing.assert_array_equal(lerp(start, end, 0.9), axpy(-0.09999999999999998, end - start, end))
    assert lerp(start, end, 1.0)[1] == -3.0 and lerp(start, end, 0.0)[0] == 0.1


def test_the_api_docs_example_runs_and_says_what_it_prints():
    docs = (Path(__file__).parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    section = docs.split("## Optimizers that are not element-wise")[1]
    namespace = {}
    exec(re.search(r"```python\n(.*?)```", section, re.S).group(1), namespace)  # noqa: S102 (our own docs)
    races = namespace["races"]
    assert {int(t.evaluations[-1]) for t in races.values()} == {300}
    sam = races["sam"].path  # its 300 evaluations spent in 150 steps, each point held for the second evaluation
    assert not np.isnan(sam).any() and np.array_equal(sam[299], sam[298]) and not np.array_equal(sam[299], sam[300])
    assert len(namespace["frames"].path) == 41
    np.testing.assert_allclose(namespace["params"], (0.0, 0.6), atol=1e-12)


def test_their_races_draw_and_export_like_any_other():
    races = optviz.race("himmelblau", ["adam", *STEPPED_OPTIMIZERS], steps=20)
    payload, csv = race_payload(races), trajectories_csv(races)
    assert len(csv.splitlines()) == 1 + 21 * len(races)
    assert "curvature_x" in csv.splitlines()[0] and payload
