"""The MNIST tab's curvature views: the sharpness while training, changes of hyperparameters mid-training, Adam's
gauges, the edge of stability in full-batch training, and the learning-rate range test."""

from __future__ import annotations

import math

import streamlit as st

from ..figures.curvature import adam_gauges_figure, edge_of_stability_figure, lr_range_figure, sharpness_figure
from ..mnist.curvature import DEFAULT_DIGITS, DEFAULT_EVERY, SharpnessSettings
from ..mnist.fullbatch import DEFAULT_EVERY as FULL_BATCH_EVERY
from ..mnist.fullbatch import MAX_DIGITS, edge_of_stability
from ..mnist.lr_range import RULES, lr_range_test
from ..optimizers import GRADIENT_DESCENT, in_batches, one_at_a_time_note
from ..optimizers import SPECS as OPTIMIZERS
from ..params import LEARNING_RATE, LR, MOMENTUM
from ..scenarios import EDGE_OF_STABILITY, RANGE_TEST_OPTIMIZER
from .controls import bounded_number, ensure_value, plain, symbol_text
from .jobs import JobConfig, TrainingJob

MODES = {"train": "Train and compare", "eos": "Edge of stability (full batch)", "range": "Learning-rate range test"}
EOS_OPTIMIZERS = EDGE_OF_STABILITY   # gradient descent, its momentum forms, and Adam
CHANGEABLE = (LEARNING_RATE, MOMENTUM)   # the roles of what the live panel changes: α, and μ or β₁
BATCH_CHOICES = (16, 32, 64, 128, 256, 512, 1024)


# ---------------------------------------------------------------------------------------------------------------
# Sharpness while training (mini-batch)

def sharpness_controls() -> SharpnessSettings | None:
    """A switch, K and the evaluation batch; the settings, or None when off."""
    ensure_value("mnist.sharp", False)
    ensure_value("mnist.sharp.every", DEFAULT_EVERY)
    ensure_value("mnist.sharp.digits", DEFAULT_DIGITS)
    cols = st.columns([1.4, 1.2, 1.2], vertical_alignment="bottom")
    on = cols[0].toggle("Track the sharpness", key="mnist.sharp",
                        help="The top eigenvalue of the training loss's Hessian on a fixed batch of training digits "
                             "(Lanczos on exact Hessian-vector products, warm-started), against the optimizer's "
                             "stability threshold: 2/α for SGD, 2(1+μ)/α for momentum; for Adam the preconditioned "
                             "sharpness λmax(P⁻¹H) against 38/α (β₁ = 0.9).")
    if not on:
        return None
    with cols[1]:
        bounded_number("Every K steps", "mnist.sharp.every", 1, 10_000, kind="int", step=10,
                       help=f"Measure every K optimizer steps. At the default K = {DEFAULT_EVERY} the measurements "
                            "cost at most about a quarter of the training time; smaller K, a finer curve, slower.")
    with cols[2]:
        bounded_number("Digits measured", "mnist.sharp.digits", 16, 4096, kind="int", step=64,
                       help="The fixed batch of training digits whose loss's Hessian is measured.")
    return SharpnessSettings(every=int(st.session_state["mnist.sharp.every"]),
                             digits=int(st.session_state["mnist.sharp.digits"]))


def curvature_of(events: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """label -> every sharpness measurement the events carried."""
    return {label: [r for e in run for r in e.get("curvature", ())] for label, run in events.items()}


def changes_of(events: dict[str, list[dict]], names: dict[str, str]) -> dict[str, list[dict]]:
    """label -> the changes of hyperparameters the events carried, each with its "text" in symbols."""
    return {label: [{**c, "text": change_text(names[label], c)} for e in run for c in e.get("change", ())]
            for label, run in events.items()}


def change_text(name: str, record: dict) -> str:
    """'α → 0.3, β₁ → 0.5, batch → 128': a change of optimizer `name`'s hyperparameters, by their symbols."""
    spec = OPTIMIZERS[name]
    parts = [f"{symbol_text(spec.param(key).symbol)} → {value:.3g}" for key, value in record.get("hparams", {}).items()]
    if record.get("batch_size"):
        parts.append(f"batch → {record['batch_size']}")
    return ", ".join(parts)


def sharpness_chart(events: dict[str, list[dict]], names: dict[str, str], key: str) -> None:
    curvature = curvature_of(events)
    if not any(curvature.values()):
        return
    st.plotly_chart(sharpness_figure(curvature, changes=changes_of(events, names), names=names, height=330),
                    key=key, theme=None)
    preconditioned = any(r.get("preconditioned") for records in curvature.values() for r in records)
    st.caption("Sharpness (solid) against each optimizer's stability threshold (dashed): on a quadratic, the step "
               "diverges along any direction whose curvature exceeds it; a cross marks a measurement above it. "
               + ("For the Adam family the curvature is the preconditioned sharpness λmax(P⁻¹H), P = "
                  "(1−β₁ᵗ)(diag √v̂ + ε) from its own state, against (2+2β₁)/((1−β₁)α). " if preconditioned else "")
               + "Dotted lines: changes made during training.")


def adam_gauges(events: dict[str, list[dict]], key: str) -> None:
    """Per layer: gradient norm, update/weight ratio, sign-like share, for an optimizer chosen among those trained."""
    latest = {label: run[-1].get("layers") for label, run in events.items() if run and run[-1].get("layers")}
    if not latest:
        return
    labels = list(latest)
    adam_first = sorted(labels, key=lambda label: "sign_share" not in next(iter(latest[label].values())))
    label = st.selectbox("Gauges for", adam_first, key=f"{key}.who") if len(labels) > 1 else labels[0]
    layers = latest[label]
    step = next(iter(layers.values()))["step"]
    st.plotly_chart(adam_gauges_figure(layers, title=f"Per layer · {label} · step {step:,}"), key=key, theme=None)
    st.caption("Gradient norm of the last batch; the update-to-weight ratio ‖Δθ‖/‖θ‖ of one step (about 10⁻³, "
               "shaded, is the usual rule of thumb: far below, the layer barely learns; far above, it thrashes); and, "
               "for Adam, the share of coordinates whose step is sign-like, |m̂|/√v̂ ≥ 0.9: there the step is about α "
               "whatever the gradient's size.")


def change_panel(job: TrainingJob) -> None:
    """Change α, μ or β₁ (and the batch size, mini-batch) of a running optimizer from its next step on."""
    c = job.config
    with st.expander("Change hyperparameters now", expanded=False):
        cols = st.columns([1.3, 1, 1, 1, 0.9], vertical_alignment="bottom")
        label = cols[0].selectbox("Optimizer", c.labels, key="mnist.change.who")
        name = dict(zip(c.labels, c.optimizers))[label]
        current = dict(zip(c.labels, c.hparams))[label]
        run = job.runs.get(label)
        if run is not None:
            current = {**current, **run.optimizer.hparams}
        values, now = {}, []
        for column, param in zip(cols[1:3], [p for p in OPTIMIZERS[name].params if p.role in CHANGEABLE]):
            symbol = symbol_text(param.symbol)
            values[param.name] = column.number_input(symbol, value=float(current[param.name]), format="%g",
                                                     key=f"mnist.change.{label}.{param.name}", help=param.help)
            now.append(f"{symbol} = {current[param.name]:g}")
        batch = None
        if c.full_batch is None:
            size = run.batch_size if run is not None else c.batch_size
            batch = cols[3].selectbox("batch size", BATCH_CHOICES,
                                      index=BATCH_CHOICES.index(size) if size in BATCH_CHOICES else 3,
                                      key=f"mnist.change.{label}.batch")
            now.append(f"batch {size}")
        if cols[4].button("Apply", key="mnist.change.apply", width="stretch"):
            changed = {k: v for k, v in values.items() if not math.isclose(v, float(current[k]), rel_tol=1e-12)}
            size = batch if batch is not None and run is not None and batch != run.batch_size else None
            try:
                job.change(label, batch_size=size, **changed)
                st.session_state["mnist.change.note"] = (
                    f"{label}: {change_text(name, {'hparams': changed, 'batch_size': size}) or 'nothing changed'}"
                    " from the next step on.")
            except ValueError as error:
                st.session_state["mnist.change.note"] = f"Not changed: {error}"
        st.caption(f"Now: {', '.join(now)}.")
        note = st.session_state.get("mnist.change.note")
        if note:
            (st.error if note.startswith("Not changed") else st.caption)(plain(note))
        st.caption("Each change is marked on every chart. Raise α past 2/λ (the sharpness chart's dashed line falls "
                   "below the solid one) and watch the run become unstable along the sharpest direction: the loss "
                   "jumps, and the sharpness is pushed down to the new threshold.")


# ---------------------------------------------------------------------------------------------------------------
# The edge of stability: full-batch training

def eos_controls() -> JobConfig | None:
    for key, value in (("opt", EDGE_OF_STABILITY[0]), (LR, 0.2), ("steps", 1500), ("n", 1000), ("hidden", "100"),
                       ("activation", "tanh"), ("loss", "mse"), ("every", FULL_BATCH_EVERY), ("seed", 0)):
        ensure_value(f"mnist.eos.{key}", value)
    st.caption("Gradient descent on a fixed set of digits: every step sees all of them. The sharpness rises until it "
               "reaches 2/α, then hovers there while the loss keeps falling, unevenly: the edge of stability (Cohen "
               "et al., 2021). Pixels are centred on their mean over the digits used; the network is float64.")
    cols = st.columns([1.4, 1, 1, 1, 1])
    name = cols[0].selectbox("Optimizer", EOS_OPTIMIZERS, key="mnist.eos.opt", format_func=_eos_title)
    with cols[1]:
        bounded_number("α", "mnist.eos.lr", 1e-4, 10.0, format="%g", step=0.05,
                       help="The learning rate: the threshold is 2/α for gradient descent")
    extra = next((p for p in OPTIMIZERS[name].params if p.role == MOMENTUM), None)   # μ or β₁
    if extra:
        ensure_value(f"mnist.eos.{extra.name}", extra.default)
        with cols[2]:
            bounded_number(symbol_text(extra.symbol), f"mnist.eos.{extra.name}", 0.0, 0.999, format="%g", step=0.05,
                           help=extra.help)
    with cols[3]:
        bounded_number("Steps", "mnist.eos.steps", 10, 5000, kind="int", step=100)
    with cols[4]:
        bounded_number("Sharpness every K steps", "mnist.eos.every", 1, 1000, kind="int", step=5)
    cols = st.columns([1, 1, 1, 1, 1])
    with cols[0]:
        bounded_number("Digits", "mnist.eos.n", 10, MAX_DIGITS, kind="int", step=100)
    cols[1].text_input("Hidden layers", key="mnist.eos.hidden", help="e.g. 100, or 200, 200")
    cols[2].segmented_control("Activation", ["tanh", "relu"], key="mnist.eos.activation", required=True)
    cols[3].segmented_control("Loss", ["mse", "cross_entropy"], key="mnist.eos.loss", required=True,
                              format_func={"mse": "squared", "cross_entropy": "cross-entropy"}.get)
    with cols[4]:
        bounded_number("Seed", "mnist.eos.seed", 0, 2**31 - 1, kind="int", step=1)
    from .mnist import parse_hidden  # (the tab's own parser and bounds)
    try:
        hidden = parse_hidden(st.session_state["mnist.eos.hidden"])
        if not hidden:
            raise ValueError("give at least one hidden layer, e.g. 100")
    except ValueError as error:
        st.error(plain(error))
        return None
    hparams = {LR: float(st.session_state[f"mnist.eos.{LR}"])}
    if extra:
        hparams[extra.name] = float(st.session_state[f"mnist.eos.{extra.name}"])
    s = st.session_state
    full = {"n": int(s["mnist.eos.n"]), "hidden": hidden, "activation": s["mnist.eos.activation"],
            "loss": s["mnist.eos.loss"], "steps": int(s["mnist.eos.steps"]),
            "sharpness_every": int(s["mnist.eos.every"]), "seed": int(s["mnist.eos.seed"])}
    return JobConfig([_eos_title(name)], [name], [hparams], hidden, 1, full["n"], full["seed"], full_batch=full)


def _eos_title(name: str) -> str:
    return "Gradient descent" if OPTIMIZERS[name].stability is GRADIENT_DESCENT else OPTIMIZERS[name].title


def eos_chart(job: TrainingJob, key: str, height: int = 420) -> None:
    (label, events), = job.snapshot().items()
    curvature = [r for e in events for r in e.get("curvature", ())] or [
        {"step": e["step"], "sharpness": e["sharpness"], "threshold": e.get("threshold"),
         "preconditioned": e.get("preconditioned"), "formula": e.get("formula", "")}
        for e in events if "sharpness" in e]
    changes = changes_of({label: events}, {label: job.config.optimizers[0]})[label]
    rates = [job.config.hparams[0][LR]] + [c["hparams"][LR] for c in changes if LR in c["hparams"]]
    title = f"{label} · α = {' → '.join(f'{lr:g}' for lr in rates)} · {job.config.full_batch['n']:,} digits"
    st.plotly_chart(edge_of_stability_figure(events, curvature, changes=changes, height=height, title=title),
                    key=key, theme=None)


def eos_summary(job: TrainingJob) -> None:
    """What the sharpness did, in words: from the start, or, after a change of hyperparameters, from the last one."""
    run = next(iter(job.runs.values()), None)
    if run is None or not run.curvature():
        return
    records = run.curvature()
    words = []
    if run.changes:
        change = run.changes[-1]
        records = [r for r in records if r["step"] >= change["step"]] or records[-1:]
        first = records[0]["sharpness"]
        words.append(f"After {change_text(job.config.optimizers[0], change)} at step {change['step']:,}"
                     + (f": sharpness {first:.3g}" if first is not None else ""))
    s = edge_of_stability(records)
    formula = next((r["formula"] for r in records if r.get("formula")), "its threshold")
    if not run.changes and s["initial"] is not None:
        words.append(f"Sharpness {s['initial']:.3g} at the start")
    if s["catapult_step"] is not None:
        words.append(f"above {formula} = {records[0]['threshold']:.3g}, so the weights were thrown to a flatter "
                     f"region: back within 15 % of it by step {s['catapult_step']:,}")
    if s["reached_step"] is None:
        if s["peak"] is not None:
            words.append(f"still below {formula} (peak {s['peak']:.3g} at step {s['peak_step']:,}): more steps, or "
                         "a larger α, reach it")
    elif s["settled_step"] is None:
        words.append(f"within 15 % of {formula} from step {s['reached_step']:,}, not settled within ±15 % yet")
    else:
        if not s["within_band"]:
            words.append(f"it reached 85 % of {formula} at step {s['reached_step']:,} and overshot to "
                         f"{100 * s['arrival_peak']:.0f}% before the instability pushed it back")
        words.append(f"from step {s['settled_step']:,} on it stays between {100 * s['band_min']:.0f}% and "
                     f"{100 * s['band_max']:.0f}% of {formula}: the edge of stability")
    last = run.history[-1] if run.history else {}
    if last:
        words.append(f"training {last['seconds']:.0f} s, sharpness measurements {last['curvature_seconds']:.0f} s")
    st.caption("; ".join(words) + ".")


# ---------------------------------------------------------------------------------------------------------------
# The learning-rate range test

def lr_range_view(data) -> None:
    for key, value in (("opt", RANGE_TEST_OPTIMIZER), ("min", 1e-5), ("max", 10.0), ("steps", 200), ("batch", 64),
                       ("grid", 7), ("grid_steps", 200), ("rule", "minimum/10")):
        ensure_value(f"mnist.lr.{key}", value)
    st.caption("One pass of training with the learning rate rising exponentially, a batch per step (Smith, 2017): "
               "the loss barely moves, then falls faster and faster, then blows up. A short grid of learning rates, "
               "each trained from the same start, answers the same question the slow way.")
    model = st.session_state.get("mnist.model", "mlp")
    cols = st.columns([1.4, 1, 1, 1, 1])
    name = cols[0].selectbox("Optimizer", list(in_batches()), key="mnist.lr.opt",
                             format_func=lambda n: OPTIMIZERS[n].title, help=one_at_a_time_note() or None)
    with cols[1]:
        bounded_number("From α", "mnist.lr.min", 1e-8, 1.0, format="%g")
    with cols[2]:
        bounded_number("To α", "mnist.lr.max", 1e-4, 100.0, format="%g")
    with cols[3]:
        bounded_number("Steps", "mnist.lr.steps", 20, 2000, kind="int", step=50)
    cols[4].select_slider("Batch size", BATCH_CHOICES[1:6], key="mnist.lr.batch")
    cols = st.columns([1.4, 1, 1, 2])
    cols[0].selectbox("Suggest by", list(RULES), key="mnist.lr.rule", format_func=RULES.get)
    with cols[1]:
        bounded_number("Grid rates", "mnist.lr.grid", 0, 15, kind="int", step=1,
                       help="0: no grid. Otherwise this many learning rates, log-spaced over the same range.")
    with cols[2]:
        bounded_number("Grid steps", "mnist.lr.grid_steps", 10, 2000, kind="int", step=50)
    hidden_text = st.session_state.get("mnist.hidden", "256")
    network = "the CNN" if model == "cnn" else f"the MLP 784-{'-'.join(hidden_text.replace(' ', '').split(','))}-10"
    cols[3].caption(f"Network: {plain(network)} (the Train settings' network).")
    s = st.session_state
    if s["mnist.lr.min"] >= s["mnist.lr.max"]:
        st.error("“From α” must be smaller than “To α”.")
        return
    if st.button("Run the range test", key="mnist.lr_go", type="primary"):
        from .mnist import parse_hidden
        try:
            hidden = parse_hidden(hidden_text) if model == "mlp" else None
            bar = st.progress(0.0, text="Training with a rising learning rate…")
            s["mnist.lr_result"] = lr_range_test(
                data, name, model=model, hidden=hidden, lr_min=float(s["mnist.lr.min"]),
                lr_max=float(s["mnist.lr.max"]), steps=int(s["mnist.lr.steps"]), batch_size=int(s["mnist.lr.batch"]),
                grid=int(s["mnist.lr.grid"]), grid_steps=int(s["mnist.lr.grid_steps"]), rule=s["mnist.lr.rule"],
                seed=int(s.get("mnist.seed", 0)), progress=lambda f: bar.progress(min(f, 1.0)))
            s["mnist.lr_for"] = (name, model, hidden_text)
            bar.empty()
        except ValueError as error:
            st.error(plain(error))
    result = s.get("mnist.lr_result")
    if result is None:
        return
    st.plotly_chart(lr_range_figure(result, title=f"Range test · {OPTIMIZERS[result.optimizer].title}"),
                    key="mnist.lr_chart", theme=None)
    text = f"Suggested α = {result.suggestion:.3g}: {result.rule}."
    if result.best_grid_lr is not None:
        text += (f" The grid's best after {result.grid_steps} steps: α = {result.best_grid_lr:.3g} (a short grid "
                 "favours large rates: they win early).")
    if result.stopped_early:
        text += " The pass stopped early: the loss shot up past 4× its best."
    st.caption(text)
    st.button(f"Train {OPTIMIZERS[result.optimizer].title} with α = {result.suggestion:.3g}", key="mnist.lr_train",
              type="primary", on_click=_train_with, args=(result.optimizer, result.suggestion))


def _train_with(name: str, lr: float) -> None:
    """One click: the Train mode with this optimizer at this α, started."""
    st.session_state.update({"mnist.mode": "train", "mnist.opts": [name], f"mnist.h.{name}.lr": float(lr),
                             "mnist.go": True})
