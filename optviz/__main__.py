"""Command line: serve the app to a class, or export a race without the app.

Installed (`pip install .`) it is the `optviz` command; from a checkout, `python -m optviz`:

    python -m optviz serve --replicas 2 --port 8501
    python -m optviz export --surface rosenbrock --optimizers adam sgd --out race.html
    python -m optviz export --surface saddle --optimizers adam momentum --set adam.lr=0.05 --steps 300 --out race.csv
    python -m optviz eos --lr 0.2 --steps 1500 --json      # full-batch GD on MNIST: sharpness against 2/α
    python -m optviz lr-find --json                        # a learning-rate range test and its suggestion
    python -m optviz lessons --check [--json]              # every lesson's claim recomputed; exit 1 if one fails
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import numpy as np

from .engine import Entry, race
from .optimizers import SPECS as OPTIMIZERS
from .optimizers import in_batches
from .params import LR
from .scenarios import DEFAULT_OPTIMIZERS, EDGE_OF_STABILITY, RANGE_TEST_OPTIMIZER
from .serve import APP, ServeError, cores, parse_backends, serve, streamlit_options
from .surfaces import SPECS as SURFACES
from .surfaces import surface
from .tuning import default_lr


def _settings(pairs: list[str]) -> dict[str, dict[str, object]]:
    """--set adam.lr=0.05 --set adam.bias_correction=false → {"adam": {"lr": 0.05, "bias_correction": False}}."""
    out: dict[str, dict[str, object]] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        name, dot, param = key.partition(".")
        if not (sep and dot and name and param):
            raise ValueError(f"--set takes OPTIMIZER.PARAM=VALUE, got {pair!r}")
        lowered = text.strip().lower()
        value: object = {"true": True, "false": False}.get(lowered)
        if value is None:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"--set {key}: {text!r} is not a number (or true/false)") from None
        out.setdefault(name, {})[param] = value
    return out


def export(args: argparse.Namespace) -> str:
    """Run the race the arguments describe and write it; returns what was written, for the message."""
    from .figures.export import race_html, trajectories_csv  # Plotly: not loaded by serve's supervisor

    given = _settings(args.set or [])
    unknown = sorted(set(given) - set(args.optimizers))
    if unknown:
        raise ValueError(f"--set names {unknown[0]!r}, which is not among --optimizers")
    entries = [Entry(name, {LR: default_lr(args.surface, name), **given.get(name, {})}) for name in args.optimizers]
    surf = surface(args.surface)
    races = race(surf, entries, start=tuple(args.start) if args.start else None, steps=args.steps)
    out = Path(args.out)
    text = trajectories_csv(races) if out.suffix.lower() == ".csv" else race_html(races, surf)
    out.write_text(text, encoding="utf-8")
    return f"wrote {out} ({len(text.encode()) / 1e6:.2f} MB): {len(races)} optimizers × {args.steps} steps"


def _hparams(args: argparse.Namespace) -> dict[str, object]:
    """--set momentum=0.9 --set beta1=0.5 → {"momentum": 0.9, "beta1": 0.5}, for --optimizer."""
    for pair in args.set or []:
        if "=" not in pair or "." in pair.partition("=")[0]:
            raise ValueError(f"--set takes PARAM=VALUE, e.g. momentum=0.9, got {pair!r}")
    return _settings([f"{args.optimizer}.{pair}" for pair in args.set or []]).get(args.optimizer, {})


def _mnist(args: argparse.Namespace):
    """MNIST as the app finds it ($OPTVIZ_MNIST_DIR, the cache, a download, the shipped subset); --offline: no
    download."""
    from .mnist import load_mnist

    return load_mnist(download=not args.offline)


def _hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError:
        raise ValueError(f"--hidden takes layer widths separated by commas, e.g. 100 or 256,128 (got {text!r})"
                         ) from None
    if not sizes:
        raise ValueError("--hidden needs at least one layer width")
    return sizes


def eos(args: argparse.Namespace) -> str:
    """Full-batch training with the sharpness measured every --every steps; the trace as text or JSON."""
    from .mnist.fullbatch import edge_of_stability, full_batch

    hparams = _hparams(args)
    run = full_batch(_mnist(args), args.optimizer, lr=args.lr, n=args.n, hidden=_hidden(args.hidden),
                     activation=args.activation, loss=args.loss, steps=args.steps, sharpness_every=args.every,
                     seed=args.seed, **hparams)
    run.run_to_end()
    losses = [event["loss"] for event in run.history]
    measured = [{"step": r["step"], "sharpness": r["sharpness"], "threshold": r["threshold"],
                 "loss": losses[r["step"]] if r["step"] < len(losses) else None} for r in run.curvature()]
    summary = edge_of_stability(run.curvature())
    last = run.history[-1]
    report = {"settings": {"optimizer": args.optimizer, LR: args.lr, **hparams, "n": args.n, "hidden": args.hidden,
                           "activation": args.activation, "loss": args.loss, "steps": args.steps, "every": args.every,
                           "seed": args.seed},
              "threshold_formula": run.curvature()[0]["formula"] if run.curvature() else "",
              "preconditioned": bool(run.curvature() and run.curvature()[0]["preconditioned"]),
              "measurements": measured, "loss": losses, "summary": summary, "diverged": bool(last.get("diverged")),
              "training_seconds": last["seconds"], "sharpness_seconds": last["curvature_seconds"]}
    if args.json:
        return json.dumps(report)
    what = "λ_max(P⁻¹H)" if report["preconditioned"] else "λ_max(H)"
    lines = [f"{'step':>6} {what:>12} {'threshold':>10} {'loss':>10}"]
    lines += [f"{m['step']:>6} {_number(m['sharpness']):>12} {_number(m['threshold']):>10} {_number(m['loss']):>10}"
              for m in measured]
    lines.append(f"summary: {json.dumps(summary)}")
    lines.append(f"training {report['training_seconds']:.1f} s, sharpness {report['sharpness_seconds']:.1f} s")
    return "\n".join(lines)


def lr_find(args: argparse.Namespace) -> str:
    """A learning-rate range test (and, with --grid, a short grid to compare it with)."""
    from .mnist.lr_range import lr_range_test

    hparams = _hparams(args)
    result = lr_range_test(_mnist(args), args.optimizer, model=args.model,
                           hidden=_hidden(args.hidden) if args.model == "mlp" else None, lr_min=args.lr_min,
                           lr_max=args.lr_max, steps=args.steps, batch_size=args.batch_size, seed=args.seed,
                           grid=args.grid, grid_steps=args.grid_steps, **hparams)
    if args.json:
        return json.dumps(result.as_dict())
    lines = [f"{LR:>10} {'loss':>10} {'smoothed':>10}"]
    lines += [f"{lr:>10.3g} {loss:>10.4g} {smooth:>10.4g}" for lr, loss, smooth in
              zip(result.lrs, result.losses, result.smoothed)]
    lines.append(f"suggested lr {result.suggestion:.3g}: {result.rule}")
    if result.grid_lrs is not None:
        lines.append(f"best lr of the grid {result.best_grid_lr:.3g} (loss after {result.grid_steps} steps: "
                     + ", ".join(f"{lr:.3g} → {loss:.4g}" for lr, loss in zip(result.grid_lrs, result.grid_losses))
                     + ")")
    return "\n".join(lines)


def lessons(args: argparse.Namespace) -> tuple[str, int]:
    """The lessons (key and title), or with --check each one's claim recomputed: (text, exit status 1 if a claim
    does not hold)."""
    from .lesson_check import ALL, check_lessons

    if not args.check:
        return "\n".join(f"{key:<18} {lesson.title}" for key, lesson in ALL.items()), 0
    verdicts = check_lessons(args.only or None)
    failed = [key for key, verdict in verdicts.items() if not verdict.holds]
    if args.json:
        text = json.dumps({key: {"holds": v.holds, "sentence": v.sentence, "seconds": round(v.seconds, 2),
                                 "numbers": _plain_numbers(v.numbers)} for key, v in verdicts.items()})
    else:
        text = "\n".join(f"{key:<18} {'holds' if v.holds else 'FAILS'}  {v.sentence} ({v.seconds:.1f} s)"
                         for key, v in verdicts.items())
        text += f"\n{len(verdicts) - len(failed)} of {len(verdicts)} claims hold" + (
            f"; failing: {', '.join(failed)}" if failed else "")
    return text, 1 if failed else 0


def _plain_numbers(numbers: dict) -> dict:
    """A claim's scalar numbers for JSON (its traces and runs, drawn in the app, are left out); ∞ as null."""
    out = {}
    for name, value in numbers.items():
        if isinstance(value, (bool, str)) or value is None:
            out[name] = value
        elif isinstance(value, (int, np.integer)):
            out[name] = int(value)
        elif isinstance(value, (float, np.floating)):
            out[name] = float(value) if math.isfinite(value) else None
        elif isinstance(value, dict) and all(isinstance(v, (int, float)) for v in value.values()):
            out[name] = {k: float(v) for k, v in value.items()}
    return out


def _number(value) -> str:
    return "—" if value is None else f"{value:.4g}"


def default_app() -> Path:
    """The Streamlit script `serve` runs: the checkout's app.py, else the copy an installed package carries in
    share/optviz/ (with its .streamlit/config.toml beside it), wherever pip put that."""
    if APP.is_file():
        return APP
    candidates = [Path(__file__).resolve().parents[1] / "share" / "optviz" / "app.py"]  # pip install --target
    try:
        dist = metadata.distribution("optviz")
        candidates += [Path(dist.locate_file(file)) for file in dist.files or ()
                       if file.as_posix().endswith("share/optviz/app.py")]
    except metadata.PackageNotFoundError:
        pass
    candidates.append(Path(sysconfig.get_path("data")) / "share" / "optviz" / "app.py")
    return next((path.resolve() for path in candidates if path.is_file()), APP)


def _prog() -> str:
    """The name the help shows: the one the user typed, `python -m optviz` or the installed `optviz`."""
    return "python -m optviz" if Path(sys.argv[0]).name == "__main__.py" else "optviz"


def main(argv: list[str] | None = None) -> int:
    """The `optviz` console script and `python -m optviz`; returns the exit status (0, or 2 on an error)."""
    parser = argparse.ArgumentParser(prog=_prog(), description="serve the app, or optviz without it")
    commands = parser.add_subparsers(dest="command", required=True)
    srv = commands.add_parser("serve", help="the app for a class: N Streamlit replicas behind HAProxy, sticky by "
                              "cookie; other --section.option arguments go to Streamlit")
    srv.add_argument("--replicas", type=int, default=cores(), help="Streamlit processes (default: one per core); "
                     "1 runs plain Streamlit")
    srv.add_argument("--port", type=int, default=8501)
    srv.add_argument("--address", default="0.0.0.0", help="where the class reaches it (default: every interface)")
    srv.add_argument("--app", type=Path, default=default_app(), help="the Streamlit script (default: optviz's app.py)")
    srv.add_argument("--no-balancer", action="store_true", help="replicas only, on ports PORT, PORT+1, …, for a "
                     "balancer on another machine (optviz serve --backends there)")
    srv.add_argument("--backends", metavar="HOST:PORT,…", help="HAProxy only, in front of replicas on other machines "
                     "(started there with --no-balancer)")
    exp = commands.add_parser("export", help="write a race as a standalone HTML animation or a CSV of trajectories")
    exp.add_argument("--surface", default="rosenbrock", choices=list(SURFACES))
    exp.add_argument("--optimizers", nargs="+", default=list(DEFAULT_OPTIMIZERS), choices=list(OPTIMIZERS),
                     metavar="NAME")
    exp.add_argument("--steps", type=int, default=500)
    exp.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"))
    exp.add_argument("--set", action="append", metavar="OPT.PARAM=VALUE", help="a hyperparameter, repeatable")
    exp.add_argument("--out", required=True, help="race.html (plays offline) or race.csv")
    edge = commands.add_parser("eos", help="the edge of stability: full-batch training on MNIST digits with the "
                               "sharpness (top Hessian eigenvalue) measured against the optimizer's threshold")
    edge.add_argument("--optimizer", default=EDGE_OF_STABILITY[0], choices=list(in_batches()), metavar="NAME",
                      help="sgd (gradient descent: the batch is every digit), momentum, adam, …")
    edge.add_argument("--lr", type=float, default=0.2, help="the learning rate α (threshold 2/α for sgd)")
    edge.add_argument("--steps", type=int, default=1500)
    edge.add_argument("--every", type=int, default=50, help="measure the sharpness every K steps (10 draws the "
                      "oscillations at the edge, and costs more than the training)")
    edge.add_argument("--n", type=int, default=1000, help="the first N training digits, the whole batch")
    edge.add_argument("--hidden", default="100", help="hidden layer widths, e.g. 100 or 256,128")
    edge.add_argument("--activation", default="tanh", choices=["tanh", "relu"])
    edge.add_argument("--loss", default="mse", choices=["mse", "cross_entropy"])
    edge.add_argument("--seed", type=int, default=0)
    edge.add_argument("--set", action="append", metavar="PARAM=VALUE", help="another hyperparameter, e.g. "
                      "momentum=0.9; repeatable")
    edge.add_argument("--offline", action="store_true", help="never download MNIST (the subset if it is not here)")
    edge.add_argument("--json", action="store_true", help="print JSON: settings, measurements, loss, summary")
    find = commands.add_parser("lr-find", help="a learning-rate range test on MNIST (Smith 2017): one pass with the "
                               "rate rising exponentially, and the rate it suggests")
    find.add_argument("--optimizer", default=RANGE_TEST_OPTIMIZER, choices=list(in_batches()), metavar="NAME")
    find.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    find.add_argument("--hidden", default="256", help="the MLP's hidden layer widths")
    find.add_argument("--lr-min", type=float, default=1e-5)
    find.add_argument("--lr-max", type=float, default=10.0)
    find.add_argument("--steps", type=int, default=200, help="steps of the range test, one batch each")
    find.add_argument("--batch-size", type=int, default=64)
    find.add_argument("--grid", type=int, default=0, help="also train this many learning rates (log-spaced over "
                      "the range) for --grid-steps steps each, to compare")
    find.add_argument("--grid-steps", type=int, default=200)
    find.add_argument("--seed", type=int, default=0)
    find.add_argument("--set", action="append", metavar="PARAM=VALUE", help="another hyperparameter; repeatable")
    find.add_argument("--offline", action="store_true", help="never download MNIST (the subset if it is not here)")
    find.add_argument("--json", action="store_true", help="print JSON: the curve, the suggestion and its rule")
    teach = commands.add_parser("lessons", help="the lessons; with --check every lesson's claim recomputed (its "
                                "numbers, and whether it holds): exit status 1 if one does not")
    teach.add_argument("--check", action="store_true", help="recompute every claim (a minute or two: the edge of "
                       "stability trains on MNIST digits three times)")
    teach.add_argument("--only", nargs="+", metavar="KEY", help="check these lessons only")
    teach.add_argument("--json", action="store_true", help="print JSON: per lesson holds, sentence, numbers")
    args, rest = parser.parse_known_args(argv)
    if args.command != "serve" and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command == "serve":
            if not (1 <= args.replicas <= 64 and 1 <= args.port <= 65535):
                raise ValueError("--replicas takes 1 to 64 and --port 1 to 65535")
            if args.backends and (args.no_balancer or rest):
                raise ValueError("--backends runs HAProxy alone: it takes no --no-balancer and no Streamlit options")
            backends = parse_backends(args.backends) if args.backends else None
            return serve(args.app.resolve(), args.replicas, args.address, args.port, streamlit_options(rest),
                         balancer=not args.no_balancer, backends=backends)
        if args.command == "lessons":
            text, status = lessons(args)
            print(text)
            return status
        print({"export": export, "eos": eos, "lr-find": lr_find}[args.command](args))
    except (ValueError, OSError, ServeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
