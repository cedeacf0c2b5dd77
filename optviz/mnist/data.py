"""MNIST: the four original IDX files, verified, from a folder, the cache or a public mirror; offline, a 12k subset.

    data = load_mnist()               # data_dir → $OPTVIZ_MNIST_DIR → user cache → download → shipped subset
    data.x_train, data.y_train        # (N, 784) float32 in [0, 1], (N,) int64
    data.source                       # says in one sentence which data set this is and where it came from

Every file is checked before use: its IDX magic number (2051 for images, 2049 for labels), its counts and
28×28 shape, its length against its header (a truncated file is named as such), and the SHA-256 of its
uncompressed content against the published MNIST content. A bad file raises `MnistFileError` naming the
file and what is wrong; a bad file in our own cache is deleted and downloaded again. Nothing is ever used
unverified, so a wrong file can never silently become a wrong result.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import sys
import tempfile
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Progress = Callable[[int, "int | None"], None]   # (bytes done, total bytes or None when unknown)
Downloader = Callable[[str, Progress], bytes]   # (url, progress) -> the file's bytes; raises OSError on failure

ENV_VAR = "OPTVIZ_MNIST_DIR"
SIDE = 28
PIXELS = SIDE * SIDE
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049

# file stem -> (split, kind). The stems are the original distribution's names; ".gz" or raw are both accepted.
FILES = {
    "train-images-idx3-ubyte": ("train", "images"),
    "train-labels-idx1-ubyte": ("train", "labels"),
    "t10k-images-idx3-ubyte": ("test", "images"),
    "t10k-labels-idx1-ubyte": ("test", "labels"),
}
# SHA-256 of the uncompressed IDX content: the same whichever way a file was (re)compressed.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# Sizes of the distributed .gz files: the progress total before a server has told us its Content-Length.
DOWNLOAD_BYTES = {
    "train-images-idx3-ubyte": 9_912_422,
    "train-labels-idx1-ubyte": 28_881,
    "t10k-images-idx3-ubyte": 1_648_877,
    "t10k-labels-idx1-ubyte": 4_542,
}
# Public mirrors of the original .gz files, tried in order (yann.lecun.com itself no longer serves them reliably).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
SUBSET_DIR = Path(__file__).resolve().parent / "subset"
# SHA-256 of the uncompressed content of the shipped subset's files (printed by tools/make_mnist_subset.py)
SUBSET_SHA256 = {
    "train-images-idx3-ubyte": "2889698e6bc3614913e76901316712919d1998fc2b44512451bfe65bc1e668b1",
    "train-labels-idx1-ubyte": "651e38e2ac0632f5113ec18f1df4977117f953197819034009971a6675a0df78",
    "t10k-images-idx3-ubyte": "3f6bd66dee48df299584c67669bceee490faa25f931496bd7473b42106d7daed",
    "t10k-labels-idx1-ubyte": "7b098e5f6a3065807cebeabf36fb1724a8aff19f2673ac08b4923e0e8c715bce",
}


class MnistFileError(ValueError):
    """A file that is not the MNIST file it should be: wrong magic number, shape, length or content."""


class MnistDownloadError(OSError):
    """No mirror delivered a verified copy of a file."""


class MnistUnavailableError(FileNotFoundError):
    """Neither MNIST nor the offline fallback subset could be found."""


@dataclass(frozen=True, eq=False)
class MnistData:
    """Digits as rows of 784 pixels (row-major 28×28) scaled to [0, 1], with their labels 0–9."""

    x_train: np.ndarray   # (N, 784) float32
    y_train: np.ndarray   # (N,) int64
    x_test: np.ndarray    # (M, 784) float32
    y_test: np.ndarray    # (M,) int64
    source: str           # one human sentence: which data, how many digits, from where (and why, for a fallback)
    kind: str = "mnist"   # "mnist" (the full original) or "mnist-subset" (the subset shipped with optviz)
    notes: tuple[str, ...] = field(default_factory=tuple)  # what went wrong on the way, if anything

    @property
    def is_full(self) -> bool:
        return self.kind == "mnist"

    def subset(self, n_train: int | None = None, n_test: int | None = None) -> MnistData:
        """The first `n_train` training and `n_test` test digits (both splits are already in mixed order)."""
        x_train, y_train = self.x_train[:n_train], self.y_train[:n_train]
        x_test, y_test = self.x_test[:n_test], self.y_test[:n_test]
        source = f"{len(y_train):,} train / {len(y_test):,} test digits of: {self.source}"
        return MnistData(x_train, y_train, x_test, y_test, source, self.kind, self.notes)


# ---------------------------------------------------------------------------------------------------------------
# The public entry point

def load_mnist(data_dir: str | os.PathLike | None = None, *, download: bool = True, progress: Progress | None = None,
               cache_dir: str | os.PathLike | None = None, downloader: Downloader | None = None,
               mirrors: Sequence[str] = MIRRORS, hashes: Mapping[str, str] | None = None,
               fallback: bool = True) -> MnistData:
    """Load MNIST, looking in order at `data_dir`, $OPTVIZ_MNIST_DIR, the cache, then the mirrors.

    A folder counts when it holds all four files (each as `.gz` or raw). The cache (`cache_dir`, by default
    `default_cache_dir()`) is filled by downloads, written atomically. Without network or with
    `download=False`, and with no copy anywhere, the result is the 12,000-digit subset shipped with optviz (unless
    `fallback=False`, which raises `MnistUnavailableError`) and `.source` says so.

    Bad files (see `read_idx`) are never used. In `data_dir` or $OPTVIZ_MNIST_DIR they are left alone and a
    verified copy is taken from the cache or the mirrors; if there is none, `MnistFileError` is raised rather
    than silently switching to the subset. In the cache they are deleted and downloaded again.

    `downloader(url, progress) -> bytes` and `mirrors` can be replaced (tests do); `progress(done, total)`
    counts bytes over all files being downloaded. `hashes` maps each file stem to the SHA-256 of its
    uncompressed content; the default is the real MNIST's.
    """
    hashes = MNIST_SHA256 if hashes is None else hashes
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    notes: list[str] = []
    problems: list[str] = []   # bad files in the caller's folders: reported if nothing can replace them

    for label, folder in _user_folders(data_dir):
        paths = _find_files(folder)
        if len(paths) < len(FILES):
            notes.append(_incomplete_note(label, folder, paths))
            continue
        try:
            return _mnist({stem: read_idx(path, hashes[stem]) for stem, path in paths.items()}, f"from {folder}",
                          notes)
        except MnistFileError as error:
            problems.append(str(error))
            notes.append(f"skipped {label} {folder}: {error}")

    arrays = _read_cache(cache, hashes, notes)
    missing = [stem for stem in FILES if stem not in arrays]
    if not missing:
        return _mnist(arrays, f"from the cache {cache}", notes)

    why = "downloading is off"
    if download:
        try:
            arrays.update(_download(missing, cache, downloader or fetch_url, mirrors, hashes, progress, notes))
            return _mnist(arrays, f"downloaded to {cache}", notes)
        except MnistDownloadError as error:
            why = "offline (the download failed)"
            notes.append(f"download failed: {error}")

    if problems:
        raise MnistFileError("the MNIST files found are damaged and no verified copy could be had "
                             f"({why}): " + "; ".join(problems))
    if not fallback:
        raise MnistUnavailableError(f"MNIST not found ({_looked_in(data_dir, cache)}) and {why}")
    return load_mnist_subset(f"{why}, and no copy of MNIST found ({_looked_in(data_dir, cache)})", notes)


def default_cache_dir() -> Path:
    """Where downloads are kept: the platform's user cache folder, then optviz/mnist.

    Linux and others: $XDG_CACHE_HOME or ~/.cache; macOS: ~/Library/Caches; Windows: %LOCALAPPDATA%.
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"   # the XDG spec ignores relative paths
    return base / "optviz" / "mnist"


def _user_folders(data_dir) -> list[tuple[str, Path]]:
    folders = []
    if data_dir is not None:
        folders.append(("data_dir", Path(data_dir)))
    if os.environ.get(ENV_VAR):
        folders.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR])))
    return folders


def _find_files(folder: Path) -> dict[str, Path]:
    """The files present in `folder`, by stem; a compressed copy is preferred (it is what is distributed)."""
    found = {}
    for stem in FILES:
        for name in (stem + ".gz", stem):
            if (folder / name).is_file():
                found[stem] = folder / name
                break
    return found


def _incomplete_note(label: str, folder: Path, paths: dict) -> str:
    if not folder.is_dir():
        return f"{label} {folder} is not a folder"
    if not paths:
        return f"{label} {folder} holds no MNIST files"
    absent = ", ".join(stem for stem in FILES if stem not in paths)
    return f"{label} {folder} lacks {absent}"


def _looked_in(data_dir, cache: Path) -> str:
    places = [f"{label} {folder}" for label, folder in _user_folders(data_dir)] + [f"cache {cache}"]
    return "looked in " + ", ".join(places)


def _mnist(arrays: dict[str, np.ndarray], where: str, notes: list[str]) -> MnistData:
    x_train, y_train = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
    x_test, y_test = arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]
    for split, images, labels in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        if len(images) != len(labels):
            raise MnistFileError(f"{split}: {len(images):,} images but {len(labels):,} labels")
    source = f"MNIST ({len(y_train):,} train / {len(y_test):,} test) {where}"
    return MnistData(_scale(x_train), y_train.astype(np.int64), _scale(x_test), y_test.astype(np.int64),
                     source, "mnist", tuple(notes))


def _scale(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 784) in [0, 1], in one pass."""
    return np.multiply(images.reshape(len(images), PIXELS), np.float32(1 / 255), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------------------
# IDX files

def read_idx(path: str | os.PathLike, sha256: str | None) -> np.ndarray:
    """Read and verify one IDX file (`.gz` by its magic bytes, else raw): images (N, 28, 28) or labels (N,).

    `sha256` is the expected hash of the uncompressed content (None skips only that check). The stem of
    the file name says whether images or labels are expected.
    """
    path = Path(path)
    stem = path.name.removesuffix(".gz")
    if stem not in FILES:
        raise ValueError(f"{path.name}: not an MNIST file name; expected one of {', '.join(FILES)} (.gz or raw)")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise MnistFileError(f"{path}: cannot be read ({error})") from error
    return parse_idx(_decompress(raw, str(path)), stem, sha256, str(path))


def _decompress(raw: bytes, name: str) -> bytes:
    if raw[:2] != b"\x1f\x8b":   # gzip's magic bytes; anything else is taken as a raw IDX file
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as error:
        raise MnistFileError(f"{name}: the gzip stream ends early: the file is truncated "
                             "(an interrupted download?); delete it and fetch it again") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise MnistFileError(f"{name}: corrupted gzip data ({error}); delete it and fetch it again") from error


def parse_idx(content: bytes, stem: str, sha256: str | None, name: str | None = None) -> np.ndarray:
    """Check uncompressed IDX `content` for file `stem` and return it as uint8 images (N, 28, 28) or labels (N,).

    Header (big-endian int32): magic, count, and for images rows, cols. Structure is checked before the hash,
    so a truncated or mislabelled file gets the more useful message.
    """
    name = name or stem
    kind = FILES[stem][1]
    magic, header = (IMAGE_MAGIC, 16) if kind == "images" else (LABEL_MAGIC, 8)
    if len(content) < header:
        raise MnistFileError(f"{name}: {len(content)} bytes, shorter than the {header}-byte IDX header: truncated")
    fields = np.frombuffer(content, dtype=">i4", count=header // 4)
    if fields[0] != magic:
        raise MnistFileError(f"{name}: magic number {fields[0]}, expected {magic} ({_describe_magic(magic)}); "
                             f"this is {_describe_magic(int(fields[0]))}")
    count = int(fields[1])
    shape = (count,) if kind == "labels" else (count, int(fields[2]), int(fields[3]))
    if shape[1:] not in ((), (SIDE, SIDE)):
        raise MnistFileError(f"{name}: images of {shape[1]}×{shape[2]} pixels, expected {SIDE}×{SIDE}")
    expected = header + int(np.prod(shape))
    if len(content) != expected:
        what = "truncated" if len(content) < expected else "longer than its header says"
        raise MnistFileError(f"{name}: {len(content):,} bytes but its header ({count:,} {kind}) needs "
                             f"{expected:,}: the file is {what}")
    if sha256 is not None:
        digest = hashlib.sha256(content).hexdigest()
        if digest != sha256:
            raise MnistFileError(f"{name}: content does not match MNIST's {stem} (SHA-256 {digest[:16]}…, "
                                 f"expected {sha256[:16]}…): the file is corrupted or not the original")
    data = np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)
    if kind == "labels" and count and data.max() > 9:
        raise MnistFileError(f"{name}: label {data.max()} outside 0–9")
    return data


def _describe_magic(magic: int) -> str:
    return {IMAGE_MAGIC: "an IDX image file", LABEL_MAGIC: "an IDX label file"}.get(magic, "not an MNIST IDX file")


# ---------------------------------------------------------------------------------------------------------------
# The cache and downloads

def _read_cache(cache: Path, hashes: Mapping[str, str], notes: list[str]) -> dict[str, np.ndarray]:
    """The verified files in the cache; a bad one is ours, so it is deleted (and will be downloaded again)."""
    arrays = {}
    for stem, path in _find_files(cache).items():
        try:
            arrays[stem] = read_idx(path, hashes[stem])
        except MnistFileError as error:
            notes.append(f"removed a bad cached file: {error}")
            path.unlink(missing_ok=True)
    return arrays


def _download(stems: list[str], cache: Path, downloader: Downloader, mirrors: Sequence[str],
              hashes: Mapping[str, str], progress: Progress | None, notes: list[str]) -> dict[str, np.ndarray]:
    """Fetch, verify and cache each file, trying the mirrors in order; raise MnistDownloadError if one fails."""
    tally = _ProgressTally(stems, progress)
    arrays = {}
    for stem in stems:
        errors = []
        for mirror in mirrors:
            url = mirror + stem + ".gz"
            try:
                raw = downloader(url, tally.reporter(stem))
                arrays[stem] = parse_idx(_decompress(raw, url), stem, hashes[stem], url)
            # network errors are OSErrors (URLError, timeouts); a connection cut mid-body is an HTTPException
            except (OSError, http.client.HTTPException, MnistFileError) as error:
                errors.append(f"{url}: {error}")
                continue
            tally.finish(stem, len(raw))
            _cache_file(cache, stem + (".gz" if raw[:2] == b"\x1f\x8b" else ""), raw, notes)
            break
        else:
            raise MnistDownloadError("; ".join(errors) or "no mirror given")
    return arrays


class _ProgressTally:
    """Adds up per-file progress into one (done, total) over every file being downloaded.

    The total starts from the known sizes of the distributed files and is corrected by each server's
    Content-Length (or by the finished size) as files go.
    """

    def __init__(self, stems: list[str], progress: Progress | None):
        self.progress = progress
        self.sizes = {stem: DOWNLOAD_BYTES.get(stem, 0) for stem in stems}
        self.done = dict.fromkeys(stems, 0)

    def reporter(self, stem: str) -> Progress:
        if self.progress is None:
            return lambda done, total: None

        def report(done: int, total: int | None) -> None:
            self.done[stem] = done
            if total:
                self.sizes[stem] = total
            self._emit()
        return report

    def finish(self, stem: str, size: int) -> None:
        self.done[stem] = self.sizes[stem] = size
        if self.progress is not None:
            self._emit()

    def _emit(self) -> None:
        total = sum(max(size, self.done[stem]) for stem, size in self.sizes.items())
        self.progress(sum(self.done.values()), total)


def _cache_file(cache: Path, name: str, raw: bytes, notes: list[str]) -> None:
    """Write to a temporary file in the cache, then rename: a reader never sees half a file."""
    tmp = None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
        with os.fdopen(fd, "wb") as file:
            file.write(raw)
        os.replace(tmp, cache / name)
    except OSError as error:   # a read-only home still gets its data, just not cached
        notes.append(f"could not cache {name} in {cache}: {error}")
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def fetch_url(url: str, progress: Progress | None = None, *, timeout: float = 30.0) -> bytes:
    """Download `url` in 64 KiB chunks, calling `progress(done, total)` after each (total None if unknown)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        buffer = io.BytesIO()
        while chunk := response.read(1 << 16):
            buffer.write(chunk)
            if progress is not None:
                progress(buffer.tell(), total)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# The offline fallback: a subset of MNIST shipped in the package (made by tools/make_mnist_subset.py)

def load_mnist_subset(reason: str = "", notes: Sequence[str] = ()) -> MnistData:
    """The MNIST subset shipped with optviz: the first 10,000 training and 2,000 test digits of the original files.

    Stored as gzip IDX files in optviz/mnist/subset/ (about 2 MB; source, licence and attribution in the README
    there) and verified like every MNIST file: structure, then the SHA-256 of the content against SUBSET_SHA256.
    """
    paths = {stem: SUBSET_DIR / f"{stem}.gz" for stem in FILES}
    absent = [path.name for path in paths.values() if not path.is_file()]
    if absent:
        raise MnistUnavailableError(f"MNIST is not available: no copy was found or downloaded, and the offline "
                                    f"subset shipped with optviz is incomplete ({', '.join(absent)} missing from "
                                    f"{SUBSET_DIR}); reinstall optviz")
    arrays = {stem: read_idx(path, SUBSET_SHA256[stem]) for stem, path in paths.items()}
    data = _mnist(arrays, "", list(notes))
    n_train, n_test = len(data.y_train), len(data.y_test)
    source = f"the MNIST subset shipped with optviz ({n_train:,} train / {n_test:,} test digits of the original files)"
    if reason:
        source += f": {reason}"
    return MnistData(data.x_train, data.y_train, data.x_test, data.y_test, source, "mnist-subset", data.notes)


def idx_bytes(array: np.ndarray) -> bytes:
    """uint8 images (N, 28, 28) or labels (N,) as IDX content: big-endian magic, count, [rows, cols], values."""
    magic = IMAGE_MAGIC if array.ndim == 3 else LABEL_MAGIC
    return np.array([magic, *array.shape], dtype=">i4").tobytes() + np.asarray(array, dtype=np.uint8).tobytes()
