"""The MNIST tab: train a NumPy network live with the same optimizers, then look inside the result."""

from __future__ import annotations

import os

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ..figures.mnist import confusion_figure, digit_grid, landscape_figure, layer_stats_figure, training_figure
from ..mnist import load_mnist, loss_landscape
from ..optimizers import SPECS as OPTIMIZERS
from .controls import ensure_value, param_control, plain, table
from .jobs import SLOTS, JobConfig, TrainingJob

CLASSIC = ["adadelta", "adagrad", "adam", "rmsprop", "sgd"]  # the classic comparison, each at its defaults
MAX_EPOCHS, MAX_LAYERS, MAX_WIDTH = 20, 4, 2048
MAX_PARAMETERS = 2_000_000   # per network: with its gradients, optimizer state and snapshots, ≈ 0.1 GB a network
BATCH_SIZES = (32, 64, 128, 256, 512)
STATE = "mnist.job"


@st.cache_resource(show_spinner=False)
def _data(data_dir: str):
    """MNIST, loaded (and verified) once per server process for every session."""
    return load_mnist(data_dir or None)


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


def _use_classic() -> None:
    st.session_state["mnist.opts"] = list(CLASSIC)
    for name in CLASSIC:
        for param in OPTIMIZERS[name].params:
            st.session_state[f"mnist.h.{name}.{param.name}"] = param.default


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


def _controls(data) -> JobConfig | None:
    cols = st.columns([3, 1, 1, 1.2, 1])
    chosen = cols[0].multiselect("Optimizers", list(OPTIMIZERS), default=["adam", "sgd"], key="mnist.opts",
                                 format_func=lambda n: OPTIMIZERS[n].title, max_selections=6)
    epochs = cols[1].number_input("Epochs", 1, MAX_EPOCHS, 3, key="mnist.epochs")
    batch = cols[2].select_slider("Batch size", BATCH_SIZES, value=128, key="mnist.batch")
    hidden_text = cols[3].text_input("Hidden layers", "256", key="mnist.hidden", help="e.g. 256, or 512, 256")
    seed = cols[4].number_input("Seed", 0, 2**31 - 1, 0, key="mnist.seed")
    st.button("Classic comparison: Adadelta, AdaGrad, Adam, RMSProp, SGD at their defaults", on_click=_use_classic,
              key="mnist.classic")
    with st.expander("Hyperparameters"):
        columns = st.columns(max(1, len(chosen)))
        for column, name in zip(columns, chosen):
            with column:
                st.markdown(f"**{OPTIMIZERS[name].title}**")
                for param in OPTIMIZERS[name].params:
                    ensure_value(f"mnist.h.{name}.{param.name}", param.default)
                    param_control(param, f"mnist.h.{name}.{param.name}")
    try:
        hidden = parse_hidden(hidden_text)
    except ValueError as error:
        st.error(plain(error))
        return None
    if not chosen:
        st.info("Choose at least one optimizer.")
        return None
    hparams = [{p.name: st.session_state[f"mnist.h.{n}.{p.name}"] for p in OPTIMIZERS[n].params} for n in chosen]
    return JobConfig([OPTIMIZERS[n].title for n in chosen], list(chosen), hparams, hidden, int(epochs), int(batch),
                     int(seed))


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
    text = f"{100 * fraction:.0f}% · " + (f"about {eta:.0f} s left" if eta is not None else "starting…")
    st.progress(fraction, text=text)
    st.button("Stop", key="mnist.stop", on_click=job.stop, type="primary")
    st.plotly_chart(training_figure(job.snapshot(), names=_names(job)), key="mnist.live", theme=None)
    if not job.running:
        st.rerun(scope="app")


def _names(job: TrainingJob) -> dict[str, str]:
    return dict(zip(job.config.labels, job.config.optimizers))


def _results(job: TrainingJob) -> None:
    events = job.snapshot()
    if job.error:
        st.error(f"Training failed: {plain(job.error)}")
    elif job.stopped and not any(events.values()):
        st.info("Training was cancelled before it started.")
        return
    elif job.stopped:
        st.warning("Training stopped: the results below are from the steps taken so far.")
    st.plotly_chart(training_figure(events, names=_names(job)), key="mnist.final", theme=None)
    rows = []
    for label, run_events in events.items():
        if not run_events:
            continue
        last = run_events[-1]
        tested = [e for e in run_events if "test_accuracy" in e]
        rows.append({"optimizer": label, "test accuracy": 100 * tested[-1]["test_accuracy"] if tested else None,
                     "epochs": last["epoch"], "seconds": last["seconds"],
                     "digits / s": last["samples_per_second"], "diverged": bool(last.get("diverged"))})
    table(rows, {
        "test accuracy": st.column_config.NumberColumn(format="%.2f%%"),
        "seconds": st.column_config.NumberColumn(format="%.1f"),
        "digits / s": st.column_config.NumberColumn(format="%,.0f")})
    trained = {label: run for label, run in job.runs.items() if events[label]}
    if not trained:
        return
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
    st.markdown(f"**First-layer weights** · {plain(label)}: what each hidden unit looks for")
    st.image(digit_grid(run.first_layer_weights()[:48], columns=12), clamp=True, width="stretch")
    stats = run.layer_stats()
    if any("m_norm" in values for values in stats.values()):
        st.plotly_chart(layer_stats_figure(stats, title=f"Optimizer state per layer · {label}"), key="mnist.stats",
                        theme=None)
    _landscape(job, trained)


def _landscape(job: TrainingJob, trained: dict) -> None:
    st.subheader("The loss landscape of the trained network")
    st.caption("A 2-D slice of the training loss through the two directions in which the weights moved most "
               "(PCA of the weight snapshots, Li et al. 2018), with each optimizer's path projected onto it.")
    key = ("mnist.landscape", id(job))
    if st.button("Compute the landscape", key="mnist.landscape.go"):
        bar = st.progress(0.0, text="Evaluating the loss on a 25×25 grid…")
        st.session_state[key] = loss_landscape(trained, job.data,
                                               progress=lambda done, total: bar.progress(done / total))
        bar.empty()
    if key in st.session_state:
        st.plotly_chart(landscape_figure(st.session_state[key], names=_names(job)), key="mnist.landscape.chart",
                        theme=None)


def render() -> None:
    data_dir = st.text_input("MNIST folder (optional)", os.environ.get("OPTVIZ_MNIST_DIR", ""), key="mnist.dir",
                             help="A folder with the four original IDX files (gz or raw). Empty: the user cache, "
                                  "a download, or the offline subset")
    if data_dir and not os.path.isdir(data_dir):
        st.error(f"{plain(repr(data_dir))} is not a folder: using the default places instead.")
        data_dir = ""
    try:
        with st.spinner("Loading MNIST…"):
            data = _data(data_dir)
    except (OSError, ValueError) as error:
        st.error(f"MNIST could not be loaded: {plain(error)}")
        return
    st.caption(f"Dataset: {plain(data.source)}")
    running, waiting = SLOTS.counts()
    st.caption(f"Bounds: up to 6 optimizers, {MAX_EPOCHS} epochs, {MAX_LAYERS} hidden layers of at most {MAX_WIDTH} "
               f"units and {MAX_PARAMETERS:,} parameters in all. This server runs at most {SLOTS.limit} trainings "
               f"at once, others wait in a queue: now {running} running, {waiting} waiting (each replica, if several).")
    config = _controls(data)
    job = st.session_state.get(STATE)
    busy = job is not None and job.running
    if st.button("Train", key="mnist.train", type="primary", disabled=config is None or busy):
        _start(data, config)
        job = st.session_state[STATE]
    if job is None:
        st.info("Press Train: every optimizer starts from the same initial weights and sees the digits in the same "
                "order, so the comparison is fair.")
    elif job.running:
        _live(job)
    else:
        _results(job)

