"""L-BFGS as torch.optim.LBFGS 2.13 steps it, in NumPy on a 2-vector: one `lbfgs_step` is one LBFGS.step(closure).

A step evaluates the loss and gradient (torch's closure) at the start, then makes up to `max_iter` inner iterations:
the two-loop recursion over the last `history_size` pairs (s, y) gives the direction d; the step length is lr (on
the very first iteration min(1, 1/‖g‖₁)·lr), or what the strong-Wolfe line search (torch's `_strong_wolfe`, cubic
interpolation) finds; the step stops early on torch's tolerances or after `max_eval` evaluations. Every inner
iterate and the evaluations it had used are reported, so that a race draws each of them. The arithmetic follows
torch's source line by line, and rounds as torch's CPU kernels round (optviz.torch_arithmetic), so float64 runs
match it to the last bit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from .objective import StepReport
from .params import Param
from .torch_arithmetic import axpy, dot

LINE_SEARCHES = ("none", "strong_wolfe")  # torch's line_search_fn: None, "strong_wolfe"
_INT = dict(kind="int", high=1e9)
LBFGS_PARAMS = (
    Param("max_iter", r"\text{max iter}", 20, "inner iterations per step at most", low=1, **_INT),
    Param("max_eval", r"\text{max eval}", 0, "loss evaluations per step at most; 0 for torch's default "
          "⌊1.25·max_iter⌋", low=0, **_INT),
    Param("tolerance_grad", r"\tau_g", 1e-7, "stop when every |g| is at most this", low=0.0, log=True),
    Param("tolerance_change", r"\tau_\Delta", 1e-9, "stop when the step or the loss changes by less than this",
          low=0.0, log=True),
    Param("history_size", "m", 100, "how many (s, y) pairs the inverse Hessian is built from", low=1, **_INT),
    Param("line_search_fn", r"\text{line search}", "none", "the step length: lr itself (none), or what a "
          "strong-Wolfe line search finds", kind="choice", choices=LINE_SEARCHES,
          choice_titles=("none: the step is lr·d", "strong Wolfe: cubic interpolation")),
)
WOLFE_C1, WOLFE_C2, WOLFE_TOLERANCE = 1e-4, 0.9, 1e-9  # _strong_wolfe's own defaults, which LBFGS leaves alone
CURVATURE_FLOOR = 1e-10  # a pair (s, y) is kept only where yᵀs exceeds this


class LbfgsState(NamedTuple):
    """torch's LBFGS state (its global state, kept on the first parameter), step the number of step() calls."""

    step: int
    n_iter: int = 0
    func_evals: int = 0
    d: np.ndarray | None = None
    t: float | None = None
    old_dirs: tuple = ()
    old_stps: tuple = ()
    ro: tuple = ()
    h_diag: Any = 1
    prev_flat_grad: np.ndarray | None = None
    prev_loss: float | None = None


def lbfgs_init(params: np.ndarray) -> LbfgsState:
    return LbfgsState(0)


def lbfgs_step(params: np.ndarray, state: LbfgsState, objective, hparams: dict[str, Any], lr: float):
    """One torch LBFGS.step: returns (params, state, StepReport) with the iterates in the report's trace."""
    max_iter = hparams["max_iter"]
    max_eval = hparams["max_eval"] or max_iter * 5 // 4
    tol_grad, tol_change = hparams["tolerance_grad"], hparams["tolerance_change"]
    p = params.copy()
    loss, flat_grad = _evaluate(objective, p)
    first_grad, current_evals = flat_grad, 1
    n_total, func_evals = state.n_iter, state.func_evals + 1
    iterates, used = np.full((max_iter, 2), np.nan), np.full(max_iter, np.nan)
    d, t, old_dirs, old_stps, ro = state.d, state.t, list(state.old_dirs), list(state.old_stps), list(state.ro)
    h_diag, prev_flat_grad, prev_loss = state.h_diag, state.prev_flat_grad, state.prev_loss
    n_iter = 0
    if not np.abs(flat_grad).max() <= tol_grad:
        while n_iter < max_iter:
            n_iter += 1
            n_total += 1
            if n_total == 1:
                d, old_dirs, old_stps, ro, h_diag = -flat_grad, [], [], [], 1
            else:
                y, s = flat_grad - prev_flat_grad, d * t
                ys = dot(y, s)
                if ys > CURVATURE_FLOOR:
                    if len(old_dirs) == hparams["history_size"]:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / dot(y, y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag)
            prev_flat_grad, prev_loss = flat_grad.copy(), loss
            t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr if n_total == 1 else lr
            gtd = dot(flat_grad, d)
            if gtd > -tol_change:
                n_iter -= 1  # torch breaks before moving: this iteration leaves no iterate
                break
            if hparams["line_search_fn"] == "strong_wolfe":
                loss, flat_grad, t, ls_evals = strong_wolfe(objective, p, t, d, loss, flat_grad, gtd,
                                                            max_ls=max_eval - current_evals)
                p = axpy(float(t), d, p)
                optimal = np.abs(flat_grad).max() <= tol_grad
            else:
                p = axpy(float(t), d, p)
                ls_evals, optimal = 0, False
                if n_iter != max_iter:  # torch re-evaluates except after the last iteration
                    loss, flat_grad = _evaluate(objective, p)
                    optimal, ls_evals = np.abs(flat_grad).max() <= tol_grad, 1
            current_evals += ls_evals
            func_evals += ls_evals
            iterates[n_iter - 1], used[n_iter - 1] = p, current_evals
            if (n_iter == max_iter or current_evals >= max_eval or optimal
                    or np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break
    new_state = LbfgsState(state.step, n_total, func_evals, d, t, tuple(old_dirs), tuple(old_stps), tuple(ro),
                           h_diag, prev_flat_grad, prev_loss)
    return p, new_state, StepReport(current_evals, 0, first_grad, {},
                                              {"iterates": iterates, "evaluations": used})


def _evaluate(objective, p: np.ndarray) -> tuple[float, np.ndarray]:
    """torch's closure: the loss (as a Python float) and the flat gradient at p."""
    return float(objective.value(p)), np.asarray(objective.grad(p), dtype=float)


def _two_loop(flat_grad, old_dirs, old_stps, ro, h_diag) -> np.ndarray:
    """d = −H·g by the two-loop recursion over the (y, s) pairs, as torch collapses it into one buffer."""
    if not old_dirs:
        return -flat_grad * h_diag
    return _two_loop_compiled(flat_grad, np.array(old_dirs), np.array(old_stps), np.array(ro, dtype=float),
                              float(h_diag))


@njit(cache=True)
def _two_loop_compiled(flat_grad, old_dirs, old_stps, ro, h_diag):
    q = -flat_grad
    al = np.zeros(len(ro))
    for i in range(len(ro) - 1, -1, -1):
        al[i] = (old_stps[i, 0] * q[0] + old_stps[i, 1] * q[1]) * ro[i]  # dot: unfused, as torch's
        q = axpy(-al[i], old_dirs[i], q)
    r = q * h_diag
    for i in range(len(ro)):
        be_i = (old_dirs[i, 0] * r[0] + old_dirs[i, 1] * r[1]) * ro[i]
        r = axpy(al[i] - be_i, old_stps[i], r)
    return r


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to `bounds` (torch's)."""
    xmin_bound, xmax_bound = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(objective, x, t, d, f, g, gtd, c1=WOLFE_C1, c2=WOLFE_C2, tolerance_change=WOLFE_TOLERANCE,
                 max_ls=25):
    """torch's _strong_wolfe: (f, g, t, evaluations) at the step length t along d from x that satisfies the strong
    Wolfe conditions f(x + td) ≤ f + c1·t·gᵀd and |∇f(x + td)ᵀd| ≤ −c2·gᵀd (bracketing, then zoom)."""
    def at(step):
        return _evaluate(objective, axpy(float(step), d, x))

    d_norm = np.abs(d).max()
    f_new, g_new = at(t)
    ls_func_evals, gtd_new = 1, dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done, ls_iter = False, 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                         gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, done = [t], [f_new], [g_new], True
            break
        if gtd_new >= 0:
            bracket, bracket_f, bracket_g, bracket_gtd = [t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev,
                                                                                                         gtd_new]
            break
        min_step, max_step, tmp = t + 0.01 * (t - t_prev), t * 10, t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = at(t)
        ls_func_evals += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0, t], [f, f_new], [g, g_new]
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = at(t)
        ls_func_evals += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos], bracket_g[high_pos], bracket_gtd[high_pos] = t, f_new, g_new, \
                gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos], bracket_g[low_pos], bracket_gtd[low_pos] = t, f_new, g_new, gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals
