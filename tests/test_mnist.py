"""MNIST: the verified loader, the NumPy MLP trained by optviz's optimizers, and the loss landscape.

* The loader reads the four IDX files (gz or raw) and refuses, with a message naming the file, anything
  that is not MNIST: wrong magic number, wrong shape, truncated, or content whose SHA-256 differs.
* It looks in data_dir, then $OPTVIZ_MNIST_DIR, then the cache; downloads (verified, cached atomically,
  progress reported, mirrors in turn) what is missing; replaces a bad cached file; and offline falls back to
  the 12,000-digit subset shipped in the package (verified by SHA-256 too), saying so in `.source`.
* Backpropagation matches finite differences; a training step allocates nothing of batch size.
* Training streams events, is reproducible from its seed, treats every optimizer alike, learns real digits.
* The landscape's plane holds the trajectories and its fast loss equals the network's loss at those weights.

Tests use the real MNIST (../shared/data/mnist or $OPTVIZ_MNIST_DIR) where present, else tiny generated files
or the shipped subset, so the suite runs anywhere, offline, in a few seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import subprocess
import sys
import tracemalloc
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import optviz
from optviz.engine import derived_traces
from optviz.mnist import (
    MLP,
    MNIST_SHA256,
    PRESETS,
    MnistData,
    MnistFileError,
    MnistUnavailableError,
    default_cache_dir,
    fetch_url,
    load_mnist,
    load_mnist_subset,
    loss_landscape,
    read_idx,
    train,
)
from optviz.mnist.data import FILES, MIRRORS
from optviz.mnist.hidden_matrices import trained
from optviz.mnist.landscape import _PlaneLoss, principal_directions
from optviz.mnist.model import mean_cross_entropy
from optviz.mnist.train import _flush_subnormals
from optviz.optimizers import in_batches

pytestmark = pytest.mark.filterwarnings("error")

REPO = Path(__file__).resolve().parents[1]
REAL_DIR = Path(os.environ.get("OPTVIZ_MNIST_DIR") or REPO.parent / "shared" / "data" / "mnist")
HAVE_REAL = all((REAL_DIR / f"{stem}.gz").is_file() or (REAL_DIR / stem).is_file() for stem in FILES)


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path, monkeypatch):
    """No test sees the developer's $OPTVIZ_MNIST_DIR or writes to their real cache."""
    monkeypatch.delenv("OPTVIZ_MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


# ---------------------------------------------------------------------------------------------------------------
# Tiny IDX files

def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: big-endian magic (2051 images, 2049 labels), count, [rows, cols], then the uint8 values."""
    magic = 2051 if array.ndim == 3 else 2049
    return np.array([magic, *array.shape], dtype=">i4").tobytes() + array.astype(np.uint8).tobytes()


def tiny_mnist(n_train=30, n_test=12, seed=0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    return {stem: idx_bytes(a) for stem, a in arrays.items()}


def hashes_of(contents: dict[str, bytes]) -> dict[str, str]:
    return {stem: hashlib.sha256(content).hexdigest() for stem, content in contents.items()}


def write_files(folder: Path, contents: dict[str, bytes], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, content in contents.items():
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / stem).write_bytes(content)
    return folder


@pytest.fixture
def tiny():
    contents = tiny_mnist()
    return contents, hashes_of(contents)


class FakeMirrors:
    """A downloader serving `contents` (gzipped) from every mirror except those listed as failing or corrupt."""

    def __init__(self, contents, failing=(), corrupt=()):
        self.files = {stem: gzip.compress(content) for stem, content in contents.items()}
        self.failing, self.corrupt = tuple(failing), tuple(corrupt)
        self.calls: list[str] = []

    def __call__(self, url, progress):
        self.calls.append(url)
        if url.startswith(self.failing):
            raise urllib.error.URLError("no network")
        data = self.files[url.rsplit("/", 1)[1].removesuffix(".gz")]
        if url.startswith(self.corrupt):
            data = gzip.compress(b"\x00\x00\x08\x03" + b"garbage" * 10)
        for done in range(0, len(data), 100):   # report in chunks, as fetch_url does
            progress(done, len(data))
        progress(len(data), len(data))
        return data


# ---------------------------------------------------------------------------------------------------------------
# Reading and verifying files

@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_reads_idx_files_gz_or_raw_as_scaled_float32_rows_and_int_labels(tmp_path, tiny, gz):
    contents, hashes = tiny
    data = load_mnist(write_files(tmp_path / "mnist", contents, gz=gz), hashes=hashes, download=False)
    images = np.frombuffer(contents["train-images-idx3-ubyte"], np.uint8, offset=16).reshape(30, 784)
    assert data.x_train.dtype == np.float32 and data.x_train.shape == (30, 784)
    np.testing.assert_allclose(data.x_train, images / 255, rtol=1e-6)
    assert data.x_test.shape == (12, 784) and 0 <= data.x_test.min() and data.x_test.max() <= 1
    np.testing.assert_array_equal(data.y_train, np.frombuffer(contents["train-labels-idx1-ubyte"], np.uint8, offset=8))
    assert data.y_train.dtype == np.int64
    assert data.is_full and data.source == f"MNIST (30 train / 12 test) from {tmp_path / 'mnist'}"


@pytest.fixture(scope="module")
def real_mnist():
    """The full MNIST where this machine has it (loaded once: it takes most of a second), else None."""
    return load_mnist(REAL_DIR, download=False) if HAVE_REAL else None


def test_real_mnist_loads_with_the_published_hashes(real_mnist):
    """The real files where this machine has them; otherwise the same path on tiny files and their hashes."""
    if real_mnist is not None:
        data = real_mnist
        counts = (60_000, 10_000)
    else:
        contents = tiny_mnist()
        folder = write_files(Path(os.environ["XDG_CACHE_HOME"]) / "real-stand-in", contents)
        data = load_mnist(folder, download=False, hashes=hashes_of(contents))
        counts = (30, 12)
    assert (len(data.y_train), len(data.y_test)) == counts
    assert data.source.startswith(f"MNIST ({counts[0]:,} train / {counts[1]:,} test) from ")
    assert data.x_train.shape == (counts[0], 784) and set(np.unique(data.y_test)) <= set(range(10))


def test_content_with_another_hash_is_refused_naming_the_file(tmp_path, tiny):
    contents, hashes = tiny
    images = bytearray(contents["train-images-idx3-ubyte"])
    images[500] ^= 0xFF   # one flipped pixel: same structure, different content
    write_files(tmp_path, {**contents, "train-images-idx3-ubyte": bytes(images)})
    with pytest.raises(MnistFileError, match=r"train-images-idx3-ubyte\.gz: content does not match.*SHA-256"):
        read_idx(tmp_path / "train-images-idx3-ubyte.gz", hashes["train-images-idx3-ubyte"])


def test_the_real_hashes_refuse_files_that_are_not_the_real_mnist(tmp_path, tiny):
    write_files(tmp_path, tiny[0])
    with pytest.raises(MnistFileError, match="corrupted or not the original"):
        read_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", MNIST_SHA256["t10k-labels-idx1-ubyte"])


def test_truncated_raw_file_is_named_truncated(tmp_path, tiny):
    contents, hashes = tiny
    write_files(tmp_path, {"t10k-images-idx3-ubyte": contents["t10k-images-idx3-ubyte"][:-100]}, gz=False)
    with pytest.raises(MnistFileError, match=r"needs 9,424: the file is truncated"):
        read_idx(tmp_path / "t10k-images-idx3-ubyte", hashes["t10k-images-idx3-ubyte"])


def test_truncated_gz_file_is_named_truncated(tmp_path, tiny):
    contents, hashes = tiny
    cut = gzip.compress(contents["train-labels-idx1-ubyte"])[:-20]
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(cut)
    with pytest.raises(MnistFileError, match="gzip stream ends early: the file is truncated"):
        read_idx(tmp_path / "train-labels-idx1-ubyte.gz", hashes["train-labels-idx1-ubyte"])


def test_file_shorter_than_its_header_is_truncated(tmp_path):
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08")
    with pytest.raises(MnistFileError, match="shorter than the 8-byte IDX header: truncated"):
        read_idx(tmp_path / "t10k-labels-idx1-ubyte", None)


def test_labels_in_place_of_images_is_a_wrong_magic_number(tmp_path, tiny):
    contents, _ = tiny
    write_files(tmp_path, {"t10k-images-idx3-ubyte": contents["t10k-labels-idx1-ubyte"]})
    with pytest.raises(MnistFileError, match="magic number 2049, expected 2051 .*this is an IDX label file"):
        read_idx(tmp_path / "t10k-images-idx3-ubyte.gz", None)


def test_a_file_that_is_not_idx_at_all_is_a_wrong_magic_number(tmp_path):
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"<html>Not Found</html>")
    with pytest.raises(MnistFileError, match="expected 2049 .* not an MNIST IDX file"):
        read_idx(tmp_path / "train-labels-idx1-ubyte", None)


def test_images_that_are_not_28_by_28_are_refused(tmp_path):
    write_files(tmp_path, {"train-images-idx3-ubyte": idx_bytes(np.zeros((3, 27, 27)))})
    with pytest.raises(MnistFileError, match="27×27 pixels, expected 28×28"):
        read_idx(tmp_path / "train-images-idx3-ubyte.gz", None)


def test_images_and_labels_must_pair_up(tmp_path, tiny):
    contents, hashes = tiny
    labels = "train-labels-idx1-ubyte"
    write_files(tmp_path, {**contents, labels: contents["t10k-labels-idx1-ubyte"]})   # valid, but 12 labels
    with pytest.raises(MnistFileError, match="train: 30 images but 12 labels"):
        load_mnist(tmp_path, download=False, hashes={**hashes, labels: hashes["t10k-labels-idx1-ubyte"]})


def test_label_outside_0_to_9_is_refused(tmp_path):
    write_files(tmp_path, {"train-labels-idx1-ubyte": idx_bytes(np.array([1, 12, 3]))})
    with pytest.raises(MnistFileError, match="label 12 outside 0–9"):
        read_idx(tmp_path / "train-labels-idx1-ubyte.gz", None)


# ---------------------------------------------------------------------------------------------------------------
# Where the loader looks

def test_data_dir_comes_before_the_environment_variable_before_the_cache(tmp_path, tiny, monkeypatch):
    contents, hashes = tiny
    first, second, cache = tmp_path / "first", tmp_path / "second", tmp_path / "cache"
    for folder in (first, second, cache):
        write_files(folder, contents)
    monkeypatch.setenv("OPTVIZ_MNIST_DIR", str(second))
    assert load_mnist(first, hashes=hashes, cache_dir=cache, download=False).source.endswith(f"from {first}")
    assert load_mnist(hashes=hashes, cache_dir=cache, download=False).source.endswith(f"from {second}")
    monkeypatch.delenv("OPTVIZ_MNIST_DIR")
    assert load_mnist(hashes=hashes, cache_dir=cache, download=False).source.endswith(f"from the cache {cache}")


def test_an_incomplete_folder_is_passed_over_with_a_note(tmp_path, tiny):
    contents, hashes = tiny
    partial = write_files(tmp_path / "partial", {"train-images-idx3-ubyte": contents["train-images-idx3-ubyte"]})
    cache = write_files(tmp_path / "cache", contents)
    data = load_mnist(partial, hashes=hashes, cache_dir=cache, download=False)
    assert "from the cache" in data.source
    assert any("lacks train-labels-idx1-ubyte" in note for note in data.notes)


def test_cache_dir_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "optviz" / "mnist"
    assert default_cache_dir().parts[-2:] == ("optviz", "mnist")


# ---------------------------------------------------------------------------------------------------------------
# Downloading

def test_download_verifies_caches_and_reports_progress(tmp_path, tiny):
    contents, hashes = tiny
    mirrors, cache, seen = FakeMirrors(contents), tmp_path / "cache", []
    data = load_mnist(cache_dir=cache, downloader=mirrors, hashes=hashes, progress=lambda d, t: seen.append((d, t)))
    assert data.source == f"MNIST (30 train / 12 test) downloaded to {cache}"
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{stem}.gz" for stem in FILES)   # no .part left
    assert mirrors.calls == [MIRRORS[0] + f"{stem}.gz" for stem in FILES]
    done = [d for d, _ in seen]
    assert done == sorted(done) and seen[-1][0] == seen[-1][1] == sum(map(len, mirrors.files.values()))

    again = load_mnist(cache_dir=cache, downloader=mirrors, hashes=hashes)
    assert again.source == f"MNIST (30 train / 12 test) from the cache {cache}" and len(mirrors.calls) == 4
    np.testing.assert_array_equal(again.x_train, data.x_train)


def test_a_corrupted_cached_file_is_downloaded_again(tmp_path, tiny):
    contents, hashes = tiny
    cache = write_files(tmp_path / "cache", contents)
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01 broken"))
    mirrors = FakeMirrors(contents)
    data = load_mnist(cache_dir=cache, downloader=mirrors, hashes=hashes)
    assert mirrors.calls == [MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"]
    assert data.source.endswith(f"downloaded to {cache}") and "removed a bad cached file" in data.notes[0]
    assert read_idx(cache / "t10k-labels-idx1-ubyte.gz", hashes["t10k-labels-idx1-ubyte"]).shape == (12,)


def test_the_next_mirror_is_tried_when_one_fails_or_serves_bad_content(tmp_path, tiny):
    contents, hashes = tiny
    mirrors = FakeMirrors(contents, failing=["https://a/"], corrupt=["https://b/"])
    data = load_mnist(cache_dir=tmp_path, downloader=mirrors, hashes=hashes, mirrors=["https://a/", "https://b/",
                                                                                       "https://c/"])
    assert data.is_full and [url.split("/")[2] for url in mirrors.calls[:3]] == ["a", "b", "c"]


def test_a_damaged_file_in_data_dir_is_replaced_by_a_download_not_used(tmp_path, tiny):
    contents, hashes = tiny
    folder = write_files(tmp_path / "mine", {**contents, "train-labels-idx1-ubyte": contents["t10k-labels-idx1-ubyte"]})
    damaged = (folder / "train-labels-idx1-ubyte.gz").read_bytes()
    data = load_mnist(folder, cache_dir=tmp_path / "cache", downloader=FakeMirrors(contents), hashes=hashes)
    assert "downloaded to" in data.source and any("skipped data_dir" in note for note in data.notes)
    assert len(data.y_train) == 30
    assert (folder / "train-labels-idx1-ubyte.gz").read_bytes() == damaged   # the caller's files are left alone


def test_a_damaged_file_in_data_dir_raises_when_nothing_can_replace_it(tmp_path, tiny):
    contents, hashes = tiny
    cut = contents["t10k-images-idx3-ubyte"][:-1]
    folder = write_files(tmp_path / "mine", {**contents, "t10k-images-idx3-ubyte": cut}, gz=False)
    with pytest.raises(MnistFileError, match="damaged .*t10k-images-idx3-ubyte: .*truncated"):
        load_mnist(folder, cache_dir=tmp_path / "cache", download=False, hashes=hashes)


def test_fetch_url_streams_with_progress(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(os.urandom(200_000))
    seen = []
    assert fetch_url(path.as_uri(), lambda d, t: seen.append((d, t))) == path.read_bytes()
    assert seen[-1] == (200_000, 200_000) and len(seen) == 4   # 64 KiB chunks


# ---------------------------------------------------------------------------------------------------------------
# Offline: the subset shipped in the package

@pytest.fixture(scope="module")
def subset():
    return load_mnist_subset()


def test_offline_with_nothing_cached_falls_back_to_the_subset_and_says_so(tmp_path, tiny):
    data = load_mnist(cache_dir=tmp_path, downloader=FakeMirrors(tiny[0], failing=MIRRORS))
    assert data.kind == "mnist-subset" and not data.is_full
    assert data.source.startswith("the MNIST subset shipped with optviz (10,000 train / 2,000 test digits of the "
                                  "original files): offline")
    assert any("download failed" in note for note in data.notes)


def test_with_downloading_off_the_subset_is_used_and_said_so(tmp_path):
    data = load_mnist(cache_dir=tmp_path, download=False)
    assert "subset" in data.source and "downloading is off" in data.source


def test_without_fallback_a_missing_mnist_raises(tmp_path):
    with pytest.raises(MnistUnavailableError, match="MNIST not found .*downloading is off"):
        load_mnist(cache_dir=tmp_path, download=False, fallback=False)


def test_subset_is_10000_train_and_2000_test_digits_of_every_class(subset):
    assert subset.x_train.shape == (10_000, 784) and subset.x_test.shape == (2_000, 784)
    assert subset.x_train.dtype == np.float32 and 0 <= subset.x_train.min() and subset.x_train.max() <= 1
    assert np.bincount(subset.y_train, minlength=10).min() >= 800
    assert np.bincount(subset.y_test, minlength=10).min() >= 150


def _make_subset_tool():
    spec = importlib.util.spec_from_file_location("make_mnist_subset", REPO / "tools" / "make_mnist_subset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_the_subset_tool_cuts_the_first_digits_reproducibly(tmp_path, real_mnist, capsys):
    """On the real files it rewrites the shipped subset byte for byte (and the shipped subset is the originals'
    first digits, pixel for pixel); elsewhere the same on tiny stand-in files: first digits, same bytes twice."""
    import optviz.mnist.data as data_module
    make_subset = _make_subset_tool()
    if real_mnist is not None:
        make_subset(["--source", str(REAL_DIR), "--out", str(tmp_path)])
        printed = capsys.readouterr().out
        for stem in FILES:
            assert (tmp_path / f"{stem}.gz").read_bytes() == (data_module.SUBSET_DIR / f"{stem}.gz").read_bytes()
            assert data_module.SUBSET_SHA256[stem] in printed
        shipped = load_mnist_subset()
        np.testing.assert_array_equal(shipped.x_train, real_mnist.x_train[:10_000])
        np.testing.assert_array_equal(shipped.y_test, real_mnist.y_test[:2_000])
        return
    contents = tiny_mnist(n_train=30, n_test=12)
    source = write_files(tmp_path / "source", contents)
    for out in ("a", "b"):
        make_subset(["--source", str(source), "--out", str(tmp_path / out), "--train", "20", "--test", "5"],
                    hashes=hashes_of(contents))
    for stem in FILES:
        first = (tmp_path / "a" / f"{stem}.gz").read_bytes()
        assert first == (tmp_path / "b" / f"{stem}.gz").read_bytes()
        cut = read_idx(tmp_path / "a" / f"{stem}.gz", None)
        whole = read_idx(source / f"{stem}.gz", None)
        np.testing.assert_array_equal(cut, whole[: 20 if stem.startswith("train") else 5])


def test_loading_imports_no_heavy_or_ui_module():
    """The package never imports Streamlit, Plotly or torch, nor the old mlxtend stack (numba alone looks for
    scipy, if it happens to be installed)."""
    code = ("import sys; from optviz.mnist import load_mnist_subset; load_mnist_subset(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'matplotlib', 'mlxtend', "
            "'streamlit', 'plotly', 'torch')]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------------------
# The network

def test_backprop_matches_central_differences_in_float64():
    model = MLP((7, 6, 5, 4), seed=1, dtype=np.float64)   # two hidden layers: every kind of δ is exercised
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 7)), rng.integers(0, 4, 5)
    model.loss_and_grad(x, y)
    analytic = model.flat_grad.copy()
    numeric = np.empty_like(analytic)
    h = 1e-6
    for i in range(model.n_params):
        saved = model.flat[i]
        model.flat[i] = saved + h
        plus, _ = model.loss_and_grad(x, y)
        model.flat[i] = saved - h
        minus, _ = model.loss_and_grad(x, y)
        model.flat[i] = saved
        numeric[i] = (plus - minus) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_loss_is_the_cross_entropy_and_stays_finite_for_huge_logits():
    model = MLP((3, 2), dtype=np.float64)
    model.weights[0][...] = [[1000.0, -1000.0], [0.0, 0.0], [0.0, 0.0]]
    x, y = np.array([[1.0, 0, 0], [2.0, 0, 0]]), np.array([1, 0])
    loss, correct = model.loss_and_grad(x, y)
    # −log softmax(z)_y is 2000 for the first digit (z = (1000, −1000), y = 1) and 0 for the second
    assert loss == pytest.approx((2000 + 0) / 2) and correct == 1
    assert mean_cross_entropy(model.logits(x), y) == pytest.approx(loss)


def test_the_compiled_passes_match_numpy_and_keep_nan():
    from optviz.mnist.model import add_bias_relu_, relu_backward_
    rng = np.random.default_rng(5)
    z, b = rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    z[0, 0] = np.nan   # a diverging run must still read as one
    expected = np.maximum(z + b, 0)
    add_bias_relu_(z, b)
    np.testing.assert_array_equal(z, expected)
    delta, bias_grad = rng.standard_normal((6, 5)).astype(np.float32), np.full(5, 7.0, dtype=np.float32)
    expected = delta * (z > 0)
    relu_backward_(delta, z, bias_grad)
    np.testing.assert_array_equal(delta, expected)
    np.testing.assert_array_equal(bias_grad, expected.sum(axis=0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_softmax_gradient_is_numpys_to_the_last_bit(dtype):
    from optviz.mnist.model import LossScratch
    rng = np.random.default_rng(6)
    z, y = (rng.standard_normal((64, 10)) * 4).astype(dtype), rng.integers(0, 10, 64)
    expected = z - z.max(axis=1, keepdims=True)
    picked = expected[np.arange(64), y]
    np.exp(expected, out=expected)
    sums = expected.sum(axis=1, keepdims=True)
    expected_loss = (np.log(sums).sum(dtype=np.float64) - picked.sum(dtype=np.float64)) / 64
    expected /= sums
    expected[np.arange(64), y] -= 1
    expected *= 1 / 64
    expected_correct = np.count_nonzero(z.argmax(axis=1) == y)
    loss, correct = LossScratch(128, np.dtype(dtype)).softmax_cross_entropy_(z, y)
    np.testing.assert_array_equal(z, expected)
    assert correct == expected_correct and loss == pytest.approx(expected_loss, rel=1e-6)


def test_he_initialization_and_dtypes():
    model32, model64 = MLP((784, 256, 10), seed=3), MLP((784, 256, 10), seed=3, dtype=np.float64)
    assert model32.flat.dtype == np.float32 and model32.n_params == 784 * 256 + 256 + 256 * 10 + 10
    np.testing.assert_allclose(model32.flat, model64.flat, rtol=1e-6)
    assert np.std(model32.weights[0]) == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    assert not model32.biases[0].any()


def test_a_training_step_allocates_nothing_the_size_of_its_arrays():
    """The smallest full-size array of a step here is 1 MB (1024 × 256 activations); NumPy's own ufunc
    buffers (8,192 elements per operand when it must cast) stay well below."""
    data = _random_data(2048)
    run = train(data, "adam", batch_size=1024, epochs=50, eval_every=10_000, snapshots=1)   # no snapshot due
    next(run)   # warm-up: an epoch allocates the workspaces and the optimizer's scratch buffers
    tracemalloc.start()
    try:
        for _ in range(3):
            run._train_batch(np.arange(1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 256 * 4 / 3, f"{peak:,} bytes allocated at once in 3 steps"


# ---------------------------------------------------------------------------------------------------------------
# Training

def _random_data(n, seed=0):
    rng = np.random.default_rng(seed)
    return MnistData(rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n),
                     rng.random((n // 4, 784), dtype=np.float32), rng.integers(0, 10, n // 4), "random")


@pytest.fixture(scope="module")
def real_small(real_mnist, subset):
    """2,000 training and 1,000 test digits of the real MNIST if present, else of the shipped subset."""
    return (real_mnist or subset).subset(2000, 1000)


@pytest.fixture(scope="module")
def adam_run(real_small):
    return train(real_small, "adam", epochs=1, batch_size=64, eval_every=8, seed=0).run_to_end()


def test_one_epoch_on_2000_real_digits_clearly_beats_chance(adam_run):
    final = adam_run.history[-1]
    assert final["epoch_end"] and final["test_accuracy"] >= 0.80, final


def test_events_stream_every_few_batches_with_test_accuracy_at_epoch_end(adam_run):
    steps = [event["step"] for event in adam_run.history]
    assert steps == [8, 16, 24, 32] and adam_run.steps_per_epoch == 32
    for event in adam_run.history:
        assert {"epoch", "step", "loss", "batch_accuracy", "samples_per_second", "epoch_end"} <= set(event)
        assert ("test_accuracy" in event) == event["epoch_end"] and event["samples_per_second"] > 0
    assert adam_run.history[-1]["samples"] == 2000 and adam_run.finished


def test_stopping_early_is_just_not_iterating(real_small):
    run = train(real_small, "sgd", epochs=3, batch_size=100, eval_every=5, lr=0.1)
    for event in run:
        if event["step"] >= 10:
            break
    assert run.step == 10 and not run.finished
    steps, weights = run.snapshots()
    assert steps[-1] == 10 and np.array_equal(weights[-1], run.model.flat)
    run.close()
    assert next(iter(run), None) is None


def test_same_seed_same_run_and_every_optimizer_starts_alike(real_small):
    def first_events(name, **hparams):
        run = train(real_small.subset(640), name, epochs=2, batch_size=64, eval_every=1, seed=7, **hparams)
        return [{k: v for k, v in e.items() if "second" not in k} for e in run], run

    events_a, run_a = first_events("adam")
    events_b, run_b = first_events("adam")
    assert events_a == events_b and np.array_equal(run_a.model.flat, run_b.model.flat)
    events_sgd, run_sgd = first_events("sgd", lr=0.1)
    # same initial weights, same first batch: the first loss (taken before any update) is identical
    assert np.array_equal(run_a.snapshots()[1][0], run_sgd.snapshots()[1][0])
    assert events_sgd[0]["loss"] == events_a[0]["loss"]
    assert not np.array_equal(train(real_small, seed=8).model.flat, run_a.snapshots()[1][0])


@pytest.mark.parametrize("name", [n for n in optviz.OPTIMIZERS if n not in trained()])
def test_an_optimizer_raced_one_run_at_a_time_is_refused_by_the_trainer_in_words(name, real_small):
    with pytest.raises(ValueError, match="is raced one run at a time"):
        train(real_small.subset(64, 16), name, hidden=(16,), epochs=1, batch_size=64)


@pytest.mark.parametrize("name", list(in_batches()))
def test_every_optimizer_trains_a_step(name, real_small):
    run = train(real_small.subset(64, 16), name, hidden=(16,), epochs=1, batch_size=64, eval_every=1)
    start = run.model.flat.copy()
    event = next(run)
    assert np.all(np.isfinite(run.model.flat)) and not np.array_equal(run.model.flat, start)
    assert np.isfinite(event["loss"]) and run.state.step == 1
    assert len(run.states) == len(run.model.params) == 4   # per-array views of the one state
    for view, param in zip(run.states, run.model.params):
        assert view.step is run.state.step and all(np.shares_memory(a, run.state[i]) for i, a in enumerate(view)
                                                   if np.shape(a) == param.shape)


@pytest.mark.parametrize("name", ["adam", "nadam", "lion", "adagrad"])
def test_one_flat_state_steps_exactly_like_one_state_per_array(name, real_small):
    data = real_small.subset(256, 16)
    run = train(data, name, hidden=(16,), epochs=1, batch_size=64, eval_every=1)
    model = MLP(run.model.sizes, seed=np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0]))
    np.testing.assert_array_equal(model.flat, run.model.flat)   # same start, built by hand
    states = [run.optimizer.init(p) for p in model.params]
    order = np.random.default_rng(np.random.SeedSequence(0).spawn(2)[1]).permutation(256)
    x, y = data.x_train, data.y_train.astype(np.intp)
    for start in range(0, 256, 64):
        next(run)
        batch = order[start:start + 64]
        model.loss_and_grad(x[batch], y[batch])
        for p, g, state in zip(model.params, model.grads, states):
            run.optimizer.step_(p, g, state)
        np.testing.assert_array_equal(model.flat, run.model.flat)


def test_flushing_zeroes_subnormal_moments_and_nothing_else():
    tiny = np.finfo(np.float32).tiny
    state = optviz.optimizer("adam").init(np.zeros(6, dtype=np.float32))
    state.m[:] = [tiny / 4, -tiny / 2, tiny, -2 * tiny, 0.5, 0.0]
    state.v[:] = [tiny / 8, 3.0, 0.0, tiny / 1e3, 1e-30, 1e-38]
    _flush_subnormals(state)
    np.testing.assert_array_equal(state.m, np.array([0, 0, tiny, -2 * tiny, 0.5, 0], dtype=np.float32))
    np.testing.assert_array_equal(state.v, np.array([0, 3.0, 0, 0, 1e-30, 0], dtype=np.float32))


def test_a_diverging_run_says_so_and_stops(real_small):
    run = train(real_small, "sgd", epochs=2, batch_size=100, eval_every=50, lr=1e6)
    events = list(run)
    assert events[-1]["diverged"] and run.diverged_at == events[-1]["step"] < 40


def test_confusion_matrix_and_misclassified_agree_with_test_accuracy(adam_run, real_small):
    confusion = adam_run.confusion_matrix()
    assert confusion.shape == (10, 10) and confusion.sum() == len(real_small.y_test)
    assert np.trace(confusion) / confusion.sum() == pytest.approx(adam_run.history[-1]["test_accuracy"])
    wrong = adam_run.misclassified()
    predicted = adam_run.predict()
    assert len(wrong) == confusion.sum() - np.trace(confusion) and np.all(predicted[wrong] != real_small.y_test[wrong])
    confidence = adam_run.probabilities()[wrong, predicted[wrong]]
    assert np.all(np.diff(confidence) <= 0)


def test_first_layer_weights_are_one_picture_per_hidden_unit(adam_run):
    pictures = adam_run.first_layer_weights()
    assert pictures.shape == (256, 28, 28)
    np.testing.assert_array_equal(pictures[5].ravel(), adam_run.model.weights[0][:, 5])


def test_adam_layer_stats_come_from_its_state(real_small):
    run = train(real_small.subset(256), "adam", epochs=1, batch_size=64, eval_every=1, stats_every=1, snapshots=4,
                lr=0.01)
    next(run)
    stats = run.layer_stats()
    assert list(stats) == ["W1", "b1", "W2", "b2"] and list(stats["W1"]["step"]) == [0, 1]
    assert set(stats["W1"]) == {"step", "weight_norm", "grad_norm", "update_ratio", "m_norm", "v_norm",
                                "mean_effective_step", "sign_share"}
    # with no weight decay, Adam's first step is exactly the effective step: compare with the weights' change
    _, weights = run.snapshots()
    for name, before, after in zip(run.model.names, run.model.split(weights[0]), run.model.split(weights[-1])):
        actual = np.mean(np.abs(after.astype(np.float64) - before))
        assert stats[name]["mean_effective_step"][1] == pytest.approx(actual, rel=1e-3), name
    state = run.states[0]
    assert stats["W1"]["m_norm"][1] == pytest.approx(np.linalg.norm(state.m))
    assert stats["W1"]["v_norm"][1] == pytest.approx(np.linalg.norm(state.v))


def _adam_family_stat_cases():
    """(optimizer, eps_placement or None) for every optimizer whose MNIST statistics include the effective step."""
    cases = []
    for name, spec in optviz.OPTIMIZERS.items():
        if spec.family == "adam" and "m" in spec.state and any(s in spec.state for s in ("v", "v_max", "s")):
            placements = next((p.choices for p in spec.params if p.name == "eps_placement"), (None,))
            cases += [(name, placement) for placement in placements]
    return cases


@pytest.mark.parametrize("name, placement", _adam_family_stat_cases())
def test_mean_effective_step_is_the_mean_size_of_the_races_effective_step(real_small, name, placement):
    """The same m, v (or its stand-in) and t give the same effective step in a race trace and in the MNIST
    statistics, wherever ε sits (ε large enough here for its placement to matter)."""
    placed = {} if placement is None else {"eps_placement": placement}
    run = train(real_small.subset(256), name, epochs=1, batch_size=64, eval_every=3, stats_every=1, snapshots=4,
                lr=0.01, eps=1e-3, **placed)
    t = next(run)["step"]
    opt, stats = run.optimizer, run.layer_stats()
    second = next(s for s in ("v_max", "v", "s") if s in run.states[0]._fields)
    lr = opt.lr_at(np.arange(1, t + 1))[:, None]
    for layer, state in zip(run.model.names, run.states):
        # a race's trace of t steps, (steps, runs, coordinates), whose last step holds this layer's state
        trace = {}
        for field in ("m", second):
            trace[field] = np.zeros((t, 1, getattr(state, field).size))
            trace[field][-1, 0] = getattr(state, field).reshape(-1)
        race_step = derived_traces(opt, trace, lr)["effective_step"][-1, 0]
        assert stats[layer]["step"][-1] == t
        assert stats[layer]["mean_effective_step"][-1] == pytest.approx(np.mean(np.abs(race_step)), rel=1e-6), layer


def test_other_optimizers_record_norms_and_update_ratios_only(real_small):
    run = train(real_small.subset(128), "momentum", epochs=1, batch_size=64, stats_every=1, lr=0.1).run_to_end()
    stats = run.layer_stats()["W2"]
    assert set(stats) == {"step", "weight_norm", "grad_norm", "update_ratio"} and list(stats["step"]) == [0, 1, 2]
    assert stats["weight_norm"][-1] == pytest.approx(np.linalg.norm(run.model.weights[1]))


def test_snapshots_are_evenly_spaced_from_the_initial_to_the_final_weights(adam_run):
    steps, weights = adam_run.snapshots()
    assert steps[0] == 0 and steps[-1] == 32 and len(set(np.diff(steps[:-1]))) == 1
    assert weights.shape == (len(steps), adam_run.model.n_params) and len(steps) <= 42
    np.testing.assert_array_equal(weights[-1], adam_run.model.flat)


def test_a_schedule_by_name_spans_the_whole_run(real_small):
    run = train(real_small, "adam", epochs=2, batch_size=100, schedule="cosine", lr=0.01)
    assert run.optimizer.schedule.params["t_max"] == 2 * 20
    assert run.optimizer.lr_at(1) == pytest.approx(0.01) and run.optimizer.lr_at(40) < 1e-4


def test_presets_are_keyword_arguments_of_train(real_small):
    for preset in PRESETS.values():
        run = train(real_small.subset(64), epochs=1, **preset)
        assert run.model.sizes == (784, *preset["hidden"], 10)


def test_bad_training_settings_raise_value_errors(real_small):
    with pytest.raises(ValueError, match="batch_size must be an integer ≥ 1"):
        train(real_small, batch_size=0)
    with pytest.raises(ValueError, match="lr"):
        train(real_small, "adam", lr=-1)
    with pytest.raises(ValueError, match="hidden"):
        train(real_small, hidden=(0,))


# ---------------------------------------------------------------------------------------------------------------
# Loss landscape

@pytest.fixture(scope="module")
def sgd_run(real_small):
    return train(real_small, "sgd", epochs=1, batch_size=64, eval_every=8, seed=0, lr=0.1).run_to_end()


def test_landscape_spans_every_path_and_centres_on_the_final_weights(adam_run, sgd_run):
    calls = []
    scape = loss_landscape([adam_run, sgd_run], resolution=9, n_samples=300,
                           progress=lambda done, total: calls.append((done, total)))
    assert scape.loss.shape == (9, 9) and np.all(np.isfinite(scape.loss)) and scape.n_samples == 300
    assert scape.origin == "adam" and np.allclose(scape.paths["adam"][-1], 0, atol=1e-6)
    for path in scape.paths.values():
        assert scape.alpha[0] <= path[:, 0].min() and path[:, 0].max() <= scape.alpha[-1]
        assert scape.beta[0] <= path[:, 1].min() and path[:, 1].max() <= scape.beta[-1]
    assert 0 < scape.explained_variance[1] <= scape.explained_variance[0] <= 1
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert scape.path_loss["sgd"][0] == pytest.approx(scape.path_loss["adam"][0])   # the same start
    assert scape.path_loss["adam"][-1] < scape.path_loss["adam"][0]


@pytest.mark.parametrize("hidden", [(32,), (24, 16)])
def test_plane_loss_equals_the_networks_loss_at_those_weights(hidden):
    rng = np.random.default_rng(0)
    model = MLP((784, *hidden, 10), seed=1)
    origin = model.flat.copy()
    directions = rng.standard_normal((model.n_params, 2)).astype(np.float32) * 0.05
    x, y = rng.random((50, 784), dtype=np.float32), rng.integers(0, 10, 50)
    plane = _PlaneLoss(model, origin, directions, x, y)
    for a, b in [(0.0, 0.0), (0.7, -1.3), (-2.0, 0.4)]:
        check = MLP(model.sizes)
        check.flat[...] = origin + a * directions[:, 0] + b * directions[:, 1]
        expected = mean_cross_entropy(check.logits(x).astype(np.float64), y)
        assert plane.row(np.array([a]), b)[0] == pytest.approx(expected, rel=1e-4)


def test_principal_directions_are_orthonormal_and_find_the_spread():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((1000, 2)))[0]
    spread = rng.standard_normal((40, 2))
    spread = np.linalg.qr(spread - spread.mean(axis=0))[0] * [10.0, 3.0]   # centred, uncorrelated, σ₁ > σ₂
    offsets = spread @ basis.T + 5.0 + rng.standard_normal((40, 1000)) * 0.001
    directions, explained = principal_directions([offsets[:20].astype(np.float32), offsets[20:].astype(np.float32)])
    np.testing.assert_allclose(directions.T @ directions, np.eye(2), atol=1e-5)
    np.testing.assert_allclose(np.abs(directions.T @ basis), np.eye(2), atol=1e-2)
    assert explained[0] > 0.85 and explained.sum() > 0.99


def test_a_trajectory_on_a_line_has_no_plane():
    line = np.outer(np.arange(5.0), np.ones(100)).astype(np.float32)
    with pytest.raises(ValueError, match="single direction"):
        principal_directions([line])
    with pytest.raises(ValueError, match="at least 3"):
        principal_directions([line[:2]])


def test_landscape_refuses_runs_of_different_architectures(real_small):
    small = train(real_small.subset(64), hidden=(8,), epochs=1)
    other = train(real_small.subset(64), hidden=(9,), epochs=1)
    with pytest.raises(ValueError, match="different architectures"):
        loss_landscape([small, other])


def test_a_big_network_keeps_fewer_snapshots_within_the_memory_budget(real_small, monkeypatch):
    train_module = sys.modules["optviz.mnist.train"]
    data = real_small.subset(640, 16)
    small = train(data, "sgd", hidden=(16,), epochs=1, batch_size=16, snapshots=40).run_to_end()
    assert len(small.snapshots()[0]) == 41   # 40 planned plus the initial weights
    monkeypatch.setattr(train_module, "SNAPSHOT_BYTES", 10 * small.model.flat.nbytes)
    capped = train(data, "sgd", hidden=(16,), epochs=1, batch_size=16, snapshots=40).run_to_end()
    assert len(capped.snapshots()[0]) == 11
    monkeypatch.setattr(train_module, "SNAPSHOT_BYTES", 1)
    floor = train(data, "sgd", hidden=(16,), epochs=1, batch_size=16, snapshots=40).run_to_end()
    assert len(floor.snapshots()[0]) == 4   # never fewer than 3 (and the initial weights)


def test_compile_passes_readies_the_float32_training_passes():
    from optviz.mnist.model import _normalize_rows_, _shift_rows_, add_bias_relu_, relu_backward_
    from optviz.mnist.train import _flush_below_, compile_passes
    compile_passes()
    for kernel in (add_bias_relu_, relu_backward_, _shift_rows_, _normalize_rows_, _flush_below_):
        assert any("float32" in str(signature[0]) for signature in kernel.signatures), kernel
