"""The package as a user gets it: a wheel built from the checkout, installed in a folder of its own, and its `optviz`
command run from outside the checkout, with the virtual environment providing only the dependencies."""

import configparser
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "LICENSE", "README.md", "optviz", "app.py", ".streamlit"]  # what the build reads
VIEWER_MARK = "export default function mountRaceViewer"  # the viewer's script, inlined in an exported page


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built offline (no index, no isolation: the venv's setuptools) from a copy, so the checkout gets no build/."""
    tmp = tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp / "src" / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))
        else:
            (tmp / "src").mkdir(exist_ok=True)
            shutil.copy2(source, tmp / "src" / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    "--wheel-dir", str(tmp / "dist"), str(tmp / "src")], check=True, cwd=tmp)
    (built,) = (tmp / "dist").glob("optviz-*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel) -> Path:
    target = wheel.parents[1] / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True)
    return target


@pytest.fixture(scope="module")
def outside(site) -> Path:
    """A working folder outside the checkout."""
    folder = site.parent / "elsewhere"
    folder.mkdir()
    assert ROOT not in folder.parents
    return folder


def run(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with the installed wheel first on its path and the checkout nowhere on it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_the_wheel_carries_the_viewer_the_mnist_subset_and_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    viewer = ROOT / "optviz" / "ui" / "race_viewer"
    expected = [f"optviz/ui/race_viewer/{path.name}" for path in [*viewer.glob("*.js"), *viewer.glob("*.css")]]
    expected += [f"optviz/mnist/subset/{path.name}" for path in (ROOT / "optviz" / "mnist" / "subset").iterdir()]
    expected += [f"optviz/data/{path.name}" for path in (ROOT / "optviz" / "data").glob("*.csv")]
    assert "optviz/ui/race_viewer/viewer.js" in expected and "optviz/data/iris_petals.csv" in expected
    assert "optviz/mnist/subset/train-images-idx3-ubyte.gz" in expected
    assert sorted(set(expected) - names) == []
    assert "optviz-0.1.0.dist-info/licenses/LICENSE" in names
    # serve's Streamlit script and its server settings, installed under <prefix>/share/optviz/
    assert {"optviz-0.1.0.data/data/share/optviz/app.py",
            "optviz-0.1.0.data/data/share/optviz/.streamlit/config.toml"} <= names
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "tools/", "app.py"))]


def test_the_wheel_declares_the_optviz_command_and_pip_installs_it(wheel, site):
    (info,) = [name for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".dist-info/entry_points.txt")]
    entry_points = configparser.ConfigParser()
    entry_points.read_string(zipfile.ZipFile(wheel).read(info).decode())
    assert dict(entry_points["console_scripts"]) == {"optviz": "optviz.__main__:main"}
    assert (site / "bin" / "optviz").is_file()


def test_the_optviz_command_resolves_to_the_installed_wheel_not_the_checkout(site, outside):
    found = run(site, outside, "-c", "import importlib, importlib.metadata as md\n"
                "(ep,) = md.entry_points(group='console_scripts', name='optviz')\n"
                "main = ep.load()\n"
                "print(ep.value, importlib.import_module(main.__module__).__file__, sep='\\n')")
    assert found.returncode == 0, found.stderr
    value, module = found.stdout.split()
    assert value == "optviz.__main__:main"
    assert Path(module) == site / "optviz" / "__main__.py"


def test_the_installed_command_shows_its_help_under_its_own_name(site, outside):
    shown = run(site, outside, str(site / "bin" / "optviz"), "--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: optviz ") and "serve" in shown.stdout and "export" in shown.stdout


def test_the_installed_command_exports_a_race_page_from_outside_the_checkout(site, outside):
    done = run(site, outside, str(site / "bin" / "optviz"), "export", "--surface", "rosenbrock",
               "--optimizers", "adam", "sgd", "--steps", "50", "--out", "x.html")
    assert done.returncode == 0, done.stderr
    assert "wrote x.html" in done.stdout and "2 optimizers × 50 steps" in done.stdout
    html = (outside / "x.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and VIEWER_MARK in html and '"runs"' in html
    assert not (ROOT / "x.html").exists()


def test_the_installed_command_serves_the_app_it_carries(site, outside):
    found = run(site, outside, "-c", "from optviz.__main__ import default_app; print(default_app())")
    assert Path(found.stdout.strip()) == site / "share" / "optviz" / "app.py", found.stderr
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(PYTHONPATH=str(site), OPTVIZ_WARMUP="0")
    server = subprocess.Popen([sys.executable, str(site / "bin" / "optviz"), "serve", "--replicas", "1", "--address",
                               "127.0.0.1", "--port", str(port)], cwd=outside, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline, healthy = time.monotonic() + 60, False
        while not healthy and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                    healthy = answer.status == 200
            except OSError:
                time.sleep(0.3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            output = server.communicate(timeout=20)[0]
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            output = server.communicate()[0]
    assert healthy, output


def test_the_declared_dependencies_are_the_requirements_files():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def lines(name: str) -> list[str]:
        text = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
        return [str(Requirement(line)) for line in text if line and not line.startswith("-r")]

    assert [str(Requirement(r)) for r in project["dependencies"]] == lines("requirements.txt")
    assert [str(Requirement(r)) for r in project["optional-dependencies"]["dev"]] == lines("requirements-dev.txt")
