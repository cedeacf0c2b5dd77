"""Command line: serve the app to a class, or export a race without the app.

Installed (`pip install .`) it is the `optviz` command; from a checkout, `python -m optviz`:

    python -m optviz serve --replicas 2 --port 8501
    python -m optviz export --surface rosenbrock --optimizers adam sgd --out race.html
    python -m optviz export --surface saddle --optimizers adam momentum --set adam.lr=0.05 --steps 300 --out race.csv
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from .engine import Entry, race
from .optimizers import SPECS as OPTIMIZERS
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
    entries = [Entry(name, {"lr": default_lr(args.surface, name), **given.get(name, {})}) for name in args.optimizers]
    surf = surface(args.surface)
    races = race(surf, entries, start=tuple(args.start) if args.start else None, steps=args.steps)
    out = Path(args.out)
    text = trajectories_csv(races) if out.suffix.lower() == ".csv" else race_html(races, surf)
    out.write_text(text, encoding="utf-8")
    return f"wrote {out} ({len(text.encode()) / 1e6:.2f} MB): {len(races)} optimizers × {args.steps} steps"


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
    exp.add_argument("--optimizers", nargs="+", default=["adam", "sgd"], choices=list(OPTIMIZERS), metavar="NAME")
    exp.add_argument("--steps", type=int, default=500)
    exp.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"))
    exp.add_argument("--set", action="append", metavar="OPT.PARAM=VALUE", help="a hyperparameter, repeatable")
    exp.add_argument("--out", required=True, help="race.html (plays offline) or race.csv")
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
        print(export(args))
    except (ValueError, OSError, ServeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
