"""The MNIST tab: train a NumPy network (an MLP or the classic comparison's CNN) live with the same optimizers, at
PyTorch's or Keras's defaults, then look inside the result."""

from __future__ import annotations

import logging
import math

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..figures.mnist import confusion_figure, digit_grid, landscape_figure, layer_stats_figure, training_figure
from ..mnist import load_mnist, loss_landscape
from ..mnist.defaults import FRAMEWORKS, framework_hparams, offered
from ..mnist.hidden_matrices import trained_note
from ..mnist.train import estimated_seconds, measured_speed
from ..optimizers import SPECS as OPTIMIZERS
from ..scenarios import CLASSIC_COMPARISON, DEFAULT_OPTIMIZERS
from .controls import ensure_value, param_control, plain, table
from .jobs import SLOTS, JobConfig, TrainingJob
from .mnist_curvature import (
    MODES,
    adam_gauges,
    change_panel,
    changes_of,
    eos_chart,
    eos_controls,
    eos_summary,
    lr_range_view,
    sharpness_chart,
    sharpness_controls,
)

CLASSIC = list(CLASSIC_COMPARISON)  # the classic comparison: CNN, Keras defaults, batch 64
CLASSIC_EPOCHS, LESSON_EPOCHS, CLASSIC_BATCH = 10, 2, 64
MAX_EPOCHS, MAX_LAYERS, MAX_WIDTH = 20, 4, 2048
MAX_PARAMETERS = 2_000_000   # per network: with its gradients, optimizer state and snapshots, ≈ 0.1 GB a network
BATCH_SIZES = (32, 64, 128, 256, 512)
MODELS = {"mlp": "MLP", "cnn": "CNN"}
CNN_TEXT = "Conv 32×3×3 ReLU → max-pool 2×2 → dropout .25 → dense 256 ReLU → dropout .5 → dense 10"
LANDSCAPE_SAMPLES = {"mlp": 1000, "cnn": 200}   # training digits the landscape's loss averages (the CNN is slower)
LOG = logging.getLogger(__name__)
STATE = "mnist.job"
SETTINGS = ("mnist.model", "mnist.defaults", "mnist.opts", "mnist.epochs", "mnist.batch", "mnist.hidden", "mnist.seed",
            "mnist.h.", "mnist.mode", "mnist.sharp", "mnist.eos.", "mnist.lr.")


# One entry: one data set per server process, shared by every session. Where it lives is the server's setting
# ($OPTVIZ_MNIST_DIR, else the user cache, a download, or the subset shipped with optviz), never a student's text:
# a folder box once loaded a copy for every folder name typed and kept each, ~40 MB apiece.
@st.cache_resource(max_entries=1, show_spinner=False)
def _data():
    """MNIST, loaded (and verified) once per server process for every session."""
    return load_mnist()


@st.cache_data(max_entries=64, ttl=180, show_spinner=False)  # two floats an entry
def _speed(model: str, hidden: tuple[int, ...], batch_size: int) -> tuple[float, float]:
    """Digits per second, training and evaluating, measured on this server (again every 3 minutes: the load
    of a shared server changes)."""
    return measured_speed(model, hidden if model == "mlp" else None, batch_size)


def parse_hidden(text: str) -> tuple[int, ...]:
    """"256" or "512, 256" → (512, 256); ValueError with a readable message otherwise."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        return ()
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"hidden layers must be whole numbers separated by commas, e.g. 512, 256 (got {text!r})"
                         ) from None
    if len(sizes) > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} hidden layers")
    if any(not 1 <= s <= MAX_WIDTH for s in sizes):
        raise ValueError(f"each hidden layer has 1 to {MAX_WIDTH} units")
    widths = (784, *sizes, 10)
    n_params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    if n_params > MAX_PARAMETERS:
        raise ValueError(f"this network has {n_params:,} parameters; the limit on this server is {MAX_PARAMETERS:,} "
                         "(e.g. 2048, or 1024, 1024)")
    return sizes


def duration(seconds: float) -> str:
    """A rough human duration: 40 s, 3 min, 1 h 5 min."""
    if seconds < 90:
        return f"{max(5, 5 * round(seconds / 5)):.0f} s"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


# ---------------------------------------------------------------------------------------------------------------
# Settings

def _keep_settings() -> None:
    """Streamlit forgets a widget's value when the widget is not drawn (the settings are hidden while a training
    runs): writing each value back makes it plain session state, kept until the widget returns."""
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(SETTINGS):
            st.session_state[key] = st.session_state[key]


def _apply_defaults() -> None:
    """The defaults choice changed: every optimizer's hyperparameters become that framework's, and optimizers the
    framework lacks leave the selection."""
    framework = st.session_state["mnist.defaults"]
    for name in OPTIMIZERS:
        values, _ = framework_hparams(framework, name)
        for param in OPTIMIZERS[name].params:
            st.session_state[f"mnist.h.{name}.{param.name}"] = values[param.name]
    available = offered(framework)
    st.session_state["mnist.opts"] = [n for n in st.session_state.get("mnist.opts", []) if n in available]


def _classic(epochs: int) -> None:
    """One click: the CNN, Keras's defaults, the five optimizers, batch 64, `epochs` epochs, and go."""
    st.session_state.update({"mnist.model": "cnn", "mnist.defaults": "keras", "mnist.batch": CLASSIC_BATCH,
                             "mnist.epochs": epochs})
    _apply_defaults()
    st.session_state["mnist.opts"] = list(CLASSIC)
    st.session_state["mnist.go"] = True


def _init_settings() -> None:
    ensure_value("mnist.model", "mlp")   # the light network by default; the CNN is one click (or a classic) away
    ensure_value("mnist.defaults", "pytorch")
    ensure_value("mnist.opts", list(DEFAULT_OPTIMIZERS))
    ensure_value("mnist.epochs", 3)
    ensure_value("mnist.batch", 64)
    ensure_value("mnist.hidden", "256")
    ensure_value("mnist.seed", 0)
    framework = st.session_state["mnist.defaults"]
    for name in OPTIMIZERS:
        values, _ = framework_hparams(framework, name)
        for param in OPTIMIZERS[name].params:
            ensure_value(f"mnist.h.{name}.{param.name}", values[param.name])


def _controls(data) -> JobConfig | None:
    _init_settings()
    cols = st.columns([1.1, 1.4, 0.9, 1.5, 1.2, 0.9])
    model = cols[0].segmented_control("Network", list(MODELS), format_func=MODELS.get, key="mnist.model",
                                      required=True, help=f"MLP: 784 → hidden layers → 10. CNN: {CNN_TEXT}")
    framework = cols[1].segmented_control("Defaults", list(FRAMEWORKS), format_func=lambda f: FRAMEWORKS[f].title,
                                          key="mnist.defaults", required=True, on_change=_apply_defaults,
                                          help="Whose default hyperparameters the optimizers start from")
    epochs = cols[2].number_input("Epochs", 1, MAX_EPOCHS, key="mnist.epochs")
    batch = cols[3].select_slider("Batch size", BATCH_SIZES, key="mnist.batch")
    if model == "mlp":
        hidden_text = cols[4].text_input("Hidden layers", key="mnist.hidden", help="e.g. 256, or 512, 256")
    else:
        hidden_text = ""
        cols[4].text_input("Hidden layers", "fixed: 256", disabled=True, key="mnist.fixed_layers",
                           help=f"The CNN's layers are fixed: {CNN_TEXT}")
    seed = cols[5].number_input("Seed", 0, 2**31 - 1, key="mnist.seed")
    available = offered(framework)
    chosen = st.multiselect("Optimizers", available, key="mnist.opts", format_func=lambda n: OPTIMIZERS[n].title,
                            max_selections=6, help=trained_note() or None)
    with st.expander(f"Hyperparameters · {FRAMEWORKS[framework].title} defaults"):
        columns = st.columns(max(1, len(chosen)))
        for column, name in zip(columns, chosen):
            with column:
                st.markdown(f"**{OPTIMIZERS[name].title}**")
                for param in OPTIMIZERS[name].params:
                    param_control(param, f"mnist.h.{name}.{param.name}")
    _say_whose_defaults(framework, chosen)
    sharpness = sharpness_controls()
    try:
        hidden = parse_hidden(hidden_text) if model == "mlp" else ()
    except ValueError as error:
        st.error(plain(error))
        return None
    if not chosen:
        st.info("Choose at least one optimizer.")
        return None
    hparams = [{p.name: st.session_state[f"mnist.h.{n}.{p.name}"] for p in OPTIMIZERS[n].params} for n in chosen]
    return JobConfig([OPTIMIZERS[n].title for n in chosen], list(chosen), hparams, hidden, int(epochs), int(batch),
                     int(seed), model=model, sharpness=sharpness)


def _say_whose_defaults(framework: str, chosen: list[str]) -> None:
    spec = FRAMEWORKS[framework]
    what = ("torch.optim's documented defaults" if framework == "pytorch" else
            "keras.optimizers' documented defaults (Keras 3): ε 1e-7, and ε where Keras puts it")
    notes = [f"{OPTIMIZERS[n].title}: {spec.notes[n]}" for n in chosen if n in spec.notes]
    missing = {n: framework_hparams(framework, n)[1] for n in chosen}
    lacking = [f"{OPTIMIZERS[n].title} ({', '.join(m)})" for n, m in missing.items() if m]
    st.caption(f"Defaults in use: **{spec.title}**, {what}. " + " ".join(f"{plain(n)}." for n in notes))
    if lacking:
        st.warning("This build of the optimizers lacks Keras's option " + "; ".join(lacking) +
                   ": those run with torch's ε placement.")


# ---------------------------------------------------------------------------------------------------------------
# Starting, estimating, watching

def _start(data, config: JobConfig) -> None:
    old = st.session_state.get(STATE)
    if old is not None:
        old.stop()
    st.session_state[STATE] = TrainingJob(data, config, connected=_page_connected()).start()


def _page_connected():
    """A check whether this student's page is still connected, so that closing the tab frees the training slot
    within seconds (None where there is no server runtime, as in tests: the job's heartbeat covers that)."""
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)


def _buttons(data, config: JobConfig | None) -> bool:
    """Train, and the classic comparison in two lengths, with how long each takes on this server."""
    speed = _speed("cnn", (), CLASSIC_BATCH)
    n_train, n_test = len(data.y_train), len(data.y_test)
    classic, lesson = (duration(estimated_seconds(speed, len(CLASSIC), e, n_train, n_test))
                       for e in (CLASSIC_EPOCHS, LESSON_EPOCHS))
    cols = st.columns([1, 2.2, 1.6])
    pressed = cols[0].button("Train", key="mnist.train", type="primary", disabled=config is None, width="stretch")
    cols[1].button("Classic comparison (CNN, Keras defaults)", key="mnist.classic", on_click=_classic,
                   args=(CLASSIC_EPOCHS,), width="stretch",
                   help="Adadelta, Adagrad, Adam, RMSprop and SGD at Keras's defaults, batch 64, 10 epochs: the "
                        "widely read comparison. Starts at once.")
    cols[2].button(f"Lesson version ({LESSON_EPOCHS} epochs)", key="mnist.lesson", on_click=_classic,
                   args=(LESSON_EPOCHS,), width="stretch",
                   help="The same comparison, shorter, to fit in a lesson. Starts at once.")
    times = (f"On this server now ({speed[0]:,.0f} CNN digits/s measured): the classic comparison takes ≈ {classic} "
             f"({len(CLASSIC)} optimizers × {CLASSIC_EPOCHS} epochs of {n_train:,} digits), the lesson version "
             f"≈ {lesson}")
    if config is not None:
        mine = estimated_seconds(_speed(config.model, config.hidden, config.batch_size), len(config.optimizers),
                                 config.epochs, n_train, n_test)
        times += f", Train with these settings ≈ {duration(mine)}"
    st.caption(times + ". Every optimizer starts from the same weights and sees the same digits (and dropout "
                       "masks) in the same order.")
    return pressed or st.session_state.pop("mnist.go", False)


@st.fragment(run_every=0.5)
def _live(job: TrainingJob) -> None:
    """Redrawn twice a second while the job trains; when it ends the whole tab redraws with the results."""
    job.seen()
    if job.waiting:
        ahead = job.ahead()
        running, _ = job.slots.counts()
        st.info(f"Waiting for a free slot: {running} of {job.slots.limit} trainings are running on this server"
                + (f", {ahead} ahead of you" if ahead else ", yours is next") + ". It starts by itself.")
        st.button("Cancel", key="mnist.cancel", on_click=job.stop)
        return
    fraction, eta = job.progress()
    text = f"{100 * fraction:.0f}% · " + (f"about {duration(eta)} left" if eta is not None else "starting…")
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.progress(fraction, text=text)
    right.button("Stop", key="mnist.stop", on_click=job.stop, type="primary", width="stretch")
    if job.config.full_batch is not None:
        eos_chart(job, key="mnist.eos_live")
        change_panel(job)
    else:
        events = job.snapshot()
        st.plotly_chart(training_figure(events, names=_names(job), height=340, epochs=job.config.epochs,
                                        changes=changes_of(events, _names(job))), key="mnist.live", theme=None)
        change_panel(job)
        sharpness_chart(events, _names(job), key="mnist.curvature.live")
        adam_gauges(events, key="mnist.gauges.live")
    if not job.running:
        st.rerun(scope="app")


def _summary(config: JobConfig) -> str:
    if config.full_batch is not None:
        full = config.full_batch
        network = "-".join(map(str, (784, *full["hidden"], 10)))
        return (f"Training {config.labels[0]} on {full['n']:,} digits, full batch · MLP {network} {full['activation']}"
                f" · {full['steps']:,} steps")
    network = "CNN" if config.model == "cnn" else "MLP " + "-".join(map(str, (784, *config.hidden, 10)))
    return (f"Training {network} · {', '.join(config.labels)} · batch {config.batch_size} · {config.epochs} "
            f"epoch{'s' * (config.epochs > 1)}")


def _names(job: TrainingJob) -> dict[str, str]:
    return dict(zip(job.config.labels, job.config.optimizers))


# ---------------------------------------------------------------------------------------------------------------
# Results

def _results(job: TrainingJob) -> None:
    events = job.snapshot()
    if job.error:
        st.error(f"Training failed: {plain(job.error)}")
    elif job.stopped and not any(events.values()):
        st.info("Training was cancelled before it started.")
        return
    elif job.stopped:
        st.warning("Training stopped: the results below are from the steps taken so far (accuracy and loss of "
                   "the completed epochs).")
    st.markdown(f"**{plain(_summary(job.config).replace('Training', 'Trained', 1))}**")
    if job.config.full_batch is not None:
        eos_chart(job, key="mnist.eos_final")
        eos_summary(job)
        return
    st.plotly_chart(training_figure(events, names=_names(job), epochs=job.config.epochs,
                                    changes=changes_of(events, _names(job))), key="mnist.final", theme=None)
    sharpness_chart(events, _names(job), key="mnist.curvature.final")
    adam_gauges(events, key="mnist.gauges.final")
    _summary_table(events)
    _epoch_tables(events)
    trained = {label: run for label, run in job.runs.items() if events[label]}
    if trained:
        _inside(job, trained)


def _summary_table(events: dict[str, list[dict]]) -> None:
    rows = []
    for label, run_events in events.items():
        if not run_events:
            continue
        last = run_events[-1]
        tested = [e for e in run_events if "test_accuracy" in e]
        rows.append({"optimizer": label,
                     "test accuracy": 100 * tested[-1]["test_accuracy"] if tested else None,
                     "test loss": tested[-1]["test_loss"] if tested else None,
                     "epochs completed": len(tested), "steps": last["step"], "training seconds": last["seconds"],
                     "digits / s": last["samples_per_second"], "diverged": bool(last.get("diverged"))})
    table(rows, {"test accuracy": "{:.2f}%", "test loss": "{:.4f}", "training seconds": "{:.1f}",
                 "digits / s": "{:,.0f}"})


def _epoch_tables(events: dict[str, list[dict]]) -> None:
    """Validation (test-digit) accuracy and loss after each epoch, and each optimizer's total training time: the
    classic comparison's table. Only completed epochs are listed, so it always agrees with the chart."""
    ends = {label: {e["epoch"]: e for e in run_events if "test_accuracy" in e} for label, run_events in events.items()}
    epochs = max((max(done, default=0) for done in ends.values()), default=0)
    if not epochs:
        st.caption("No epoch was completed: the per-epoch validation tables start after the first one.")
        return
    columns = [str(k) for k in range(1, epochs + 1)]
    tables = {"accuracy": [], "loss": []}
    for label, run_events in events.items():
        seconds = {"training time (s)": run_events[-1]["seconds"] if run_events else None}
        done = ends[label]
        tables["accuracy"].append({"optimizer": label, **{c: 100 * done[int(c)]["test_accuracy"] if int(c) in done
                                                          else None for c in columns}, **seconds})
        tables["loss"].append({"optimizer": label, **{c: done[int(c)]["test_loss"] if int(c) in done else None
                                                      for c in columns}, **seconds})
    seconds_format = {"training time (s)": "{:.1f}"}
    st.markdown("**Validation accuracy (%) after each epoch** (the test digits)")
    table(tables["accuracy"], dict.fromkeys(columns, "{:.2f}") | seconds_format)
    st.markdown("**Validation loss after each epoch**")
    table(tables["loss"], dict.fromkeys(columns, "{:.4f}") | seconds_format)


def _inside(job: TrainingJob, trained: dict) -> None:
    label = st.selectbox("Look inside", list(trained), key="mnist.inspect")
    run = trained[label]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(confusion_figure(run.confusion_matrix(), title=f"Confusion matrix · {label}"),
                        key="mnist.confusion", theme=None)
    with right:
        wrong = run.misclassified()[:32]
        predicted = run.predict()
        st.markdown(f"**Misclassified test digits** (most confident first) · {plain(label)}")
        st.image(digit_grid(job.data.x_test[wrong].reshape(-1, 28, 28)), clamp=True, width="stretch")
        st.caption("  ".join(f"{int(job.data.y_test[i])}→{int(predicted[i])}" for i in wrong) +
                   "  (true→predicted, row by row)")
    if job.config.model == "cnn":
        st.markdown(f"**The 32 convolution filters (3×3)** · {plain(label)}: the strokes each feature map looks for")
        st.image(digit_grid(run.first_layer_weights(), columns=16, scale=12), clamp=True, width=640)
    else:
        st.markdown(f"**First-layer weights** · {plain(label)}: what each hidden unit looks for")
        st.image(digit_grid(run.first_layer_weights()[:48], columns=12), clamp=True, width="stretch")
    stats = run.layer_stats()
    if any("m_norm" in values for values in stats.values()):
        st.plotly_chart(layer_stats_figure(stats, title=f"Optimizer state per layer · {label}"), key="mnist.stats",
                        theme=None)
    _landscape(job, trained)


def _landscape(job: TrainingJob, trained: dict) -> None:
    st.subheader("The loss landscape of the trained network")
    samples = LANDSCAPE_SAMPLES[job.config.model]
    st.caption("A 2-D slice of the training loss through the two directions in which the weights moved most "
               "(PCA of the weight snapshots, Li et al. 2018), with each optimizer's path projected onto it; the "
               f"loss is averaged over {samples:,} training digits.")
    key = ("mnist.landscape", id(job))
    if st.button("Compute the landscape", key="mnist.landscape.go"):
        bar = st.progress(0.0, text="Evaluating the loss on a 25×25 grid…")
        try:
            st.session_state[key] = loss_landscape(trained, job.data, n_samples=samples,
                                                   progress=lambda done, total: bar.progress(done / total))
        except ValueError as error:
            st.warning(f"No landscape: {plain(error)}")
        bar.empty()
    if key in st.session_state:
        st.plotly_chart(landscape_figure(st.session_state[key], names=_names(job)), key="mnist.landscape.chart",
                        theme=None)


# ---------------------------------------------------------------------------------------------------------------
# The tab

def _data_settings() -> None:
    with st.expander("Data and limits"):
        st.caption("Where MNIST is read from is the server's setting: the folder in $OPTVIZ_MNIST_DIR (the four "
                   "original IDX files), else the user cache, a download, or the subset shipped with optviz.")
        running, waiting = SLOTS.counts()
        st.caption(f"Bounds: up to 6 optimizers, {MAX_EPOCHS} epochs, {MAX_LAYERS} hidden layers of at most "
                   f"{MAX_WIDTH} units and {MAX_PARAMETERS:,} parameters in all. This server runs at most "
                   f"{SLOTS.limit} trainings at once, others wait in a queue: now {running} running, {waiting} "
                   "waiting (each replica, if several).")


def render() -> None:
    _keep_settings()
    job = st.session_state.get(STATE)
    if job is not None and job.running:
        # While it trains, the curves take the place of the settings: they appear where the eye already is.
        st.markdown(f"**{plain(_summary(job.config))}**")
        _live(job)
        return
    try:
        with st.spinner("Loading MNIST…"):
            data = _data()
    except (OSError, ValueError):
        # the details name the server's folders: they go to the server's log, not to a student's screen
        LOG.exception("MNIST could not be loaded")
        st.error("MNIST could not be loaded on this server: its files are missing or damaged. The server's log "
                 "says which; whoever runs the server can set $OPTVIZ_MNIST_DIR or reinstall optviz.")
        _data_settings()
        return
    st.caption(f"Dataset: {plain(data.source)}")
    ensure_value("mnist.mode", "train")
    mode = st.segmented_control("Mode", list(MODES), format_func=MODES.get, key="mnist.mode", required=True,
                                label_visibility="collapsed")
    if mode == "range":
        lr_range_view(data)
        _data_settings()
        return
    if mode == "eos":
        config = eos_controls()
        if st.button("Run full-batch training", key="mnist.eos_go", type="primary", disabled=config is None):
            _start(data, config)
            st.rerun()
        if job is not None and job.config.full_batch is not None:
            _results(job)
        _data_settings()
        return
    config = _controls(data)
    if _buttons(data, config) and config is not None:
        _start(data, config)
        st.rerun()
    if job is None or job.config.full_batch is not None:
        st.info("Press Train, or one of the classic comparisons: every optimizer starts from the same initial "
                "weights and sees the digits in the same order, so the comparison is fair.")
    else:
        _results(job)
    _data_settings()
