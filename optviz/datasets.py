"""Two-parameter models fitted to a data set: the loss is a mean over examples, so a mini-batch's gradient is a
real sample of the full gradient.

    model = linear_model(standardize=True)     # ŷ = w·x + b on Iris petals, mean squared error
    model.value(w, b)                           # the full-data loss, vectorized over any shape of (w, b)
    model.grad(w, b, rows)                      # the mean gradient over the examples `rows` (all when None)
    batch_rows(150, batch_size=16, seed=0, t=1) # the examples of step t: epochs of seeded permutations

Any table works too, a bundled one or a user's CSV file, read without touching the disk:

    table = read_table(data, "grades.csv")      # bytes -> Table; ValueError naming the row and column at fault
    linear_model_from(table, "hours", "score")  # ŷ = w·x + b on two numeric columns
    logistic_model_from(table, "hours", "passed")  # p = σ(w·x + b), the label 0 or 1

The data: Fisher's Iris petals (optviz/data/iris_petals.csv, CC BY 4.0) and the bundled tables of BUNDLED; the
source and licence of each in optviz/data/README.md.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).parent / "data"
DATA_FILE = DATA_DIR / "iris_petals.csv"
SOURCE = "Fisher's Iris data (1936), UCI Machine Learning Repository, CC BY 4.0"

MAX_BYTES = 5 * 1024 * 1024  # a table's file: 5 MB (the app's server.maxUploadSize is the same 5)
MAX_ROWS = 100_000  # rows of data, the header not counted
# Per call, the logistic model's work is bounded: a gradient of more than STEP_WORK example-gradients is refused
# (today's largest, a 200 × 200 sweep over Iris's 100 flowers, is 4,000,000), and the loss over more than
# EXACT_WORK example-losses of a model with a bias (a map picture of a large file) is summarised (see value()).
STEP_WORK = 4_000_000
EXACT_WORK = 30_000_000
CHUNK = 1 << 22  # elements of one temporary (32 MB): larger products are taken in slices of points


@lru_cache(maxsize=1)
def iris_petals() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Petal length (cm), petal width (cm) and species name of Iris's 150 flowers, read once."""
    with open(DATA_FILE, newline="") as f:
        rows = list(csv.DictReader(f))
    length = np.array([float(r["petal_length_cm"]) for r in rows])
    width = np.array([float(r["petal_width_cm"]) for r in rows])
    species = np.array([r["species"] for r in rows])
    for array in (length, width, species):
        array.setflags(write=False)
    return length, width, species


def batch_rows(n: int, batch_size: int, seed: int, t: int) -> np.ndarray:
    """The examples of step t (1-based): each epoch is a permutation of the n examples, seeded by (seed, epoch),
    cut into batches of `batch_size`; the last batch of an epoch is smaller when batch_size does not divide n, as
    with PyTorch's DataLoader(shuffle=True, drop_last=False)."""
    per_epoch = -(-n // batch_size)
    epoch, index = divmod(t - 1, per_epoch)
    return _epoch_order(n, seed, epoch)[index * batch_size:(index + 1) * batch_size]


@lru_cache(maxsize=1024)  # ≤ 1024 permutations of the data surfaces' 150 examples: 1.2 MB
def _epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    order = np.random.default_rng([seed, epoch]).permutation(n)
    order.setflags(write=False)
    return order


@dataclass(frozen=True, eq=False)
class DataModel:
    """A two-parameter model and its data: `inputs` (n, k) as the model sees them, `targets` (n,).

    kind "linear": ŷ = w·x + b (k = 1), loss mean (ŷ − y)².
    kind "logistic": p = σ(w₁x₁ + w₂x₂) (k = 2, features centred), y ∈ {0, 1}, loss mean cross-entropy
    + ½λ(w₁² + w₂²); with `bias`, x₂ is the constant 1: p = σ(w·x + b), penalty ½λw² (the bias is not penalised).
    `data_name` names the data in titles.
    """

    kind: str
    inputs: np.ndarray
    targets: np.ndarray
    input_names: tuple[str, ...]
    target_name: str
    class_names: tuple[str, ...] = ()
    l2: float = 0.0
    bias: bool = False
    data_name: str = "Iris petals"

    @property
    def n(self) -> int:
        return len(self.targets)

    def value(self, p, q):
        """Full-data loss at parameters (p, q) = (w, b) or (w₁, w₂), any shape."""
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if self.kind == "linear":
            # the mean of (p·x + q − y)² expanded in the data's moments: no (points × examples) temporary
            x, y = self.inputs[:, 0], self.targets
            xx, x1, xy, y1, yy = (x * x).mean(), x.mean(), (x * y).mean(), y.mean(), (y * y).mean()
            return p * p * xx + q * q + yy + 2 * p * q * x1 - 2 * p * xy - 2 * q * y1
        points = math.prod(np.broadcast_shapes(p.shape, q.shape))
        if self.bias and points * self.n > EXACT_WORK:
            loss = self._summary_loss(p, q, points)
        else:
            signs = 2 * self.targets - 1
            loss = _by_slices(lambda a, b: np.logaddexp(0.0, -signs * self._scores(a, b, self.inputs)).mean(axis=-1),
                              p, q, self.n)
        return loss + 0.5 * self.l2 * (p * p + (0.0 if self.bias else q * q))

    def _summary_loss(self, p, q, points: int):
        """The mean cross-entropy of a model with a bias at many points (a map picture of a large file), from a
        summary of the data: each class's examples sorted by x and cut into about k groups, at k/2 quantiles and
        k/2 even steps of x (neither a crowd nor a sparse tail in one group), each group stood for by its mean x̄
        and variance v, to second order: mean over a group of softplus(m(x)) ≈
        softplus(m(x̄)) + ½σ(m)(1 − σ(m))·w²·v, m = −s(w·x + b) (the error is of fourth order in the spread).
        k = EXACT_WORK / (2 · points), at least 64 a class: about EXACT_WORK example-losses in all."""
        k = max(64, EXACT_WORK // (2 * points))
        centres, spreads, counts, signs = self._groups(k)

        def loss(w, b):
            w = w[..., None]
            margin = -signs * (w * centres + b[..., None])
            curvature = _sigmoid_(margin.copy())
            curvature *= 1.0 - curvature
            return ((np.logaddexp(0.0, margin) + 0.5 * curvature * w * w * spreads) * counts).sum(axis=-1) / self.n

        return _by_slices(loss, p, q, len(centres))

    def _groups(self, k: int):
        """Means, variances, sizes and signs (±1) of about k groups of each class, sorted by x (see _summary_loss)."""
        out = [], [], [], []
        for label, x in self._sorted_classes:
            steps = np.searchsorted(x, np.linspace(x[0], x[-1], k // 2 + 1)[1:-1])
            edges = np.unique(np.concatenate([np.linspace(0, len(x), k // 2 + 1).astype(int), steps]))
            counts = np.diff(edges)
            means = np.add.reduceat(x, edges[:-1]) / counts
            spreads = np.add.reduceat(x * x, edges[:-1]) / counts - means * means
            signs = np.full(len(counts), 2 * label - 1)
            for part, values in zip(out, (means, np.maximum(spreads, 0.0), counts, signs)):
                part.append(values)
        return tuple(np.concatenate(part).astype(float) for part in out)

    @cached_property
    def _sorted_classes(self) -> list[tuple[int, np.ndarray]]:
        x = self.inputs[:, 0]
        return [(label, np.sort(x[self.targets == label])) for label in (0, 1)]

    def grad(self, p, q, rows: np.ndarray | None = None):
        """Mean gradient over the examples `rows` (every example when None), for (p, q) of any shape."""
        inputs = self.inputs if rows is None else self.inputs[rows]
        targets = self.targets if rows is None else self.targets[rows]
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if self.kind == "linear":
            # linear in (w, b): four batch means make the gradient of every run at once
            x = inputs[:, 0]
            xx, x1, xy, y1 = (x * x).mean(), x.mean(), (x * targets).mean(), targets.mean()
            return 2 * (p * xx + q * x1 - xy), 2 * (p * x1 + q - y1)
        runs = math.prod(np.broadcast_shapes(p.shape, q.shape))
        if runs * len(targets) > STEP_WORK:
            raise ValueError(f"{runs:,} runs × {len(targets):,} examples a step is more than the {STEP_WORK:,} "
                             "example-gradients a step may take on this model: use mini-batches, or fewer runs")
        # d/dz log(1 + e^(−s·z)) = −s·σ(−s·z) = σ(z) − y, with s = 2y − 1 and z = w·x
        error = _sigmoid_(self._scores(p, q, inputs))
        error -= targets
        grad = error @ inputs / len(targets)  # (..., 2): one matrix product for every run at once
        return grad[..., 0] + self.l2 * p, grad[..., 1] + (0.0 if self.bias else self.l2 * q)

    @staticmethod
    def _scores(p, q, inputs):
        """z = w₁x₁ + w₂x₂ for every example at every point (p, q): shape (*p.shape, examples)."""
        p, q = np.broadcast_arrays(p, q)
        weights = np.stack([p.ravel(), q.ravel()], axis=1)
        return (weights @ inputs.T).reshape(p.shape + (len(inputs),))

    def hessian(self) -> np.ndarray | None:
        """The constant Hessian of the full-data loss (linear model), None where it depends on the point."""
        if self.kind != "linear":
            return None
        design = np.column_stack([self.inputs[:, 0], np.ones(self.n)])
        return 2 * design.T @ design / self.n

    def line(self, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's line at parameters p, q (arrays of the same shape) as a·X + b·Y = c over the data panel's
        coordinates (see points()): the fit ŷ = w·x + b, the decision boundary w₁x₁ + w₂x₂ = 0, or with a bias
        the threshold w·x + b = 0 (a vertical line over x and the label)."""
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if self.kind == "linear":
            return p, -np.ones_like(p), -q  # w·X − Y = −b
        if self.bias:
            return p, np.zeros_like(p), -q  # w·X = −b
        return p, q, np.zeros_like(p)

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The examples as the data panel shows them, (X, Y, class or None): x and y (linear), x₁ and x₂ and the
        class (logistic), or x and the label, which is also the class (logistic with a bias)."""
        if self.kind == "linear":
            return self.inputs[:, 0], self.targets, None
        if self.bias:
            return self.inputs[:, 0], self.targets, self.targets.astype(int)
        return self.inputs[:, 0], self.inputs[:, 1], self.targets.astype(int)


def _sigmoid_(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e^(−z)) in place; |z| clipped at 500 (σ is 0 or 1 to double precision long before), so exp
    never overflows. exp is several times cheaper than tanh here."""
    np.clip(z, -500.0, 500.0, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.reciprocal(z, out=z)


def _by_slices(function, p: np.ndarray, q: np.ndarray, per_point: int) -> np.ndarray:
    """function(p, q) over the broadcast points, in slices of points whose (points × per_point) temporaries hold at
    most CHUNK elements; a single call when they fit."""
    p, q = np.broadcast_arrays(p, q)
    size = max(1, CHUNK // max(1, per_point))
    if p.size <= size:
        return function(p, q)
    flat_p, flat_q = p.reshape(-1), q.reshape(-1)
    out = np.concatenate([function(flat_p[i:i + size], flat_q[i:i + size]) for i in range(0, p.size, size)])
    return out.reshape(p.shape)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@lru_cache(maxsize=4)  # a model of 150 examples: a few kB each
def linear_model(standardize: bool) -> DataModel:
    """Petal width (cm) from petal length of all 150 flowers; length in cm, or standardised (mean 0, sd 1)."""
    length, width, _ = iris_petals()
    x = (length - length.mean()) / length.std() if standardize else length
    name = "petal length (standardised)" if standardize else "petal length (cm)"
    return DataModel("linear", _read_only(x[:, None].copy()), width, (name,), "petal width (cm)")


@lru_cache(maxsize=16)  # a model of 150 examples: a few kB each
def logistic_model(standardize: bool, l2: float) -> DataModel:
    """Versicolor (0) vs virginica (1) from petal length and width of those 100 flowers, both centred, and
    scaled to sd 1 when standardised: without a bias the boundary passes through the data's mean."""
    length, width, species = iris_petals()
    keep = species != "setosa"
    features = np.column_stack([length[keep], width[keep]])
    features = features - features.mean(axis=0)
    if standardize:
        features = features / features.std(axis=0)
    unit = "standardised" if standardize else "cm, centred"
    labels = (species[keep] == "virginica").astype(float)
    return DataModel("logistic", _read_only(features), _read_only(labels),
                     (f"petal length ({unit})", f"petal width ({unit})"), "species",
                     ("versicolor", "virginica"), l2)


# ---------------------------------------------------------------------------------------------------------------
# Tables: a CSV file's columns, and models on two of them

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "?"})  # cells that say "no value", any case
DELIMITERS = ",;\t"


@dataclass(frozen=True, eq=False)
class Table:
    """The columns of a CSV file as numbers, with what a message about them needs: each column's name and letter
    (A, B, … as a spreadsheet names it), each data row's number as a spreadsheet shows it (the header is row 1),
    and the first cell of each column that is not a number. `digest`: the SHA-256 of the file's bytes."""

    name: str
    names: tuple[str, ...]
    values: np.ndarray  # (rows, columns), NaN where a cell is not a finite number
    rows: np.ndarray  # the spreadsheet row number of each data row
    problems: tuple[tuple[int, str] | None, ...]  # per column: (row number, cell text) of its first non-number
    digest: str

    @property
    def n(self) -> int:
        return len(self.rows)

    def numeric_columns(self) -> list[str]:
        """The columns whose every cell is a number."""
        return [name for name, problem in zip(self.names, self.problems) if problem is None]

    def column(self, name: str, capital: bool = False) -> str:
        """A column as a message names it: "column B ('hours')", or "column B" when the file has no header."""
        letter = _letter(self._index(name))
        word = "Column" if capital else "column"
        return f"{word} {letter}" if name == letter else f"{word} {letter} ({_quote(name)})"

    def numbers(self, name: str) -> np.ndarray:
        """The column's values; ValueError naming the row and column of the first cell that is not a number."""
        index = self._index(name)
        problem = self.problems[index]
        if problem is not None:
            row, text = problem
            where = f"Row {row:,}, {self.column(name)}"
            if text.strip().lower() in MISSING:
                shown = f" ({_quote(text.strip())})" if text.strip() else ""
                raise ValueError(f"{where} is empty{shown}: every row needs a number in the columns of the model.")
            hint = " Write decimals with a point (3.5, not 3,5)." if re.fullmatch(r"\s*[-+]?\d+,\d+\s*", text) else ""
            raise ValueError(f"{where}: {_quote(text.strip())} is not a number.{hint}")
        return self.values[:, index]

    def _index(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"The file has no column {_quote(name)}; its columns: {', '.join(self.names)}.")
        return self.names.index(name)

    def select(self, *names: str) -> Table:
        """The same table with these columns only (the file's identity, its digest, kept)."""
        index = [self._index(name) for name in names]
        values = self.values[:, index]
        values.setflags(write=False)
        return Table(self.name, names, values, self.rows, tuple(self.problems[i] for i in index), self.digest)

    def take(self, rows: np.ndarray) -> Table:
        """The same columns on some of the rows (indices), as a table of its own (its digest: of the file and rows)."""
        rows = np.asarray(rows)
        values = self.values[rows]
        values.setflags(write=False)
        digest = hashlib.sha256(self.digest.encode() + rows.astype(np.int64).tobytes()).hexdigest()
        return Table(self.name, self.names, values, _read_only(self.rows[rows]), self.problems, digest)

    def span(self) -> str:
        """The data rows as a range: "rows 2 to 151"."""
        return f"rows {self.rows[0]:,} to {self.rows[-1]:,}"


def read_table(data: bytes, name: str = "the file") -> Table:
    """The table in a CSV file's bytes, read in memory (nothing is written anywhere).

    Comma-, semicolon- or tab-separated (whichever the first row uses most), UTF-8 (with or without a byte-order
    mark), UTF-16 with its mark, or else Windows-1252 text. The first row names the columns, unless every cell
    of it is a number: then the columns are named by their letters and the data begin at row 1. Blank rows are
    skipped (the rows keep their numbers, as a spreadsheet shows them); a short row's missing cells are empty.

    ValueError, in words, naming the row and column where there is one: more than MAX_BYTES or MAX_ROWS, not
    text, not a table of at least two columns and two rows, a cell beyond the named columns, two columns of one
    name. A cell that is not a number is reported only when its column is used (Table.numbers).
    """
    limits = f"the limits are {MAX_BYTES // 2**20} MB and {MAX_ROWS:,} rows"
    if len(data) > MAX_BYTES:
        raise ValueError(f"The file is {math.ceil(10 * len(data) / 2**20) / 10:g} MB: too large ({limits}).")
    if not data.strip():
        raise ValueError("The file is empty: a CSV needs a row of column names and rows of numbers.")
    digest = hashlib.sha256(data).hexdigest()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    if b"\0" in data:
        raise ValueError("This is not a CSV file: it holds binary data (a spreadsheet workbook or a picture?). "
                         "Save it from your spreadsheet as CSV (comma-separated values).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if not text.strip():
        raise ValueError("The file is empty: a CSV needs a row of column names and rows of numbers.")
    first_row, first = next((i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip())
    delimiter = max(DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        raise ValueError(f"Row {first_row:,} has a single column ({_quote(first.strip())}): a CSV needs at least two "
                         "columns, separated by commas.")
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True)
    names: list[str] | None = None
    capacity = min(MAX_ROWS, max(text.count("\n"), text.count("\r")) + 1)
    values, rows, problems = None, [], []
    row = header = 0
    try:
        for row, cells in enumerate(records, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if names is None:
                names, header = _header(cells), row
                values = np.full((capacity, len(names)), np.nan)
                problems = [None] * len(names)
                if not _all_numbers(cells):
                    continue  # a header; else there is none, and this row is data
            if len(rows) == MAX_ROWS:
                raise ValueError(f"The file has more than {MAX_ROWS:,} rows of data (row {row:,} is beyond them): "
                                 f"too large ({limits}).")
            extra = [i for i, cell in enumerate(cells[len(names):], start=len(names)) if cell.strip()]
            if extra:
                raise ValueError(f"Row {row:,}, column {_letter(extra[0])}: {_quote(cells[extra[0]].strip())} is "
                                 f"beyond the {len(names)} columns of row {header:,}, the first.")
            _parse_row(cells[:len(names)], len(rows), row, values, problems)
            rows.append(row)
    except csv.Error as error:
        raise ValueError(f"Row {row + 1:,} is not valid CSV ({error}): save the file from a spreadsheet as CSV.") \
            from None
    if names is None or not rows:
        raise ValueError(f"The file has no rows of data below its header (row {header:,}).")
    if len(rows) < 2:
        raise ValueError(f"The file has a single row of data (row {rows[0]:,}): a model needs at least two.")
    values = values[:len(rows)]
    values.setflags(write=False)
    return Table(name, tuple(names), values, _read_only(np.array(rows)), tuple(problems), digest)


def _header(cells: list[str]) -> list[str]:
    """Column names from the first row (letters if it holds numbers only: then it is data); a blank name is the
    column's letter; trailing empty cells (a spreadsheet's stray commas) name no column; two of one name are
    refused."""
    cells = list(cells)
    while not cells[-1].strip():
        cells.pop()
    if _all_numbers(cells):
        return [_letter(i) for i in range(len(cells))]
    names = [cell.strip() or _letter(i) for i, cell in enumerate(cells)]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"Row 1: columns {_letter(seen[name])} and {_letter(i)} are both named {_quote(name)}: "
                             "every column needs its own name.")
        seen[name] = i
    return names


def _all_numbers(cells: list[str]) -> bool:
    return all(math.isfinite(_number(cell)) for cell in cells if cell.strip()) and any(c.strip() for c in cells)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _parse_row(cells: list[str], index: int, row: int, values: np.ndarray, problems: list) -> None:
    for column, text in enumerate(cells):
        value = _number(text)
        if math.isfinite(value):
            values[index, column] = value
        elif problems[column] is None:
            problems[column] = (row, text)
    for column in range(len(cells), values.shape[1]):  # a short row: its missing cells are empty
        if problems[column] is None:
            problems[column] = (row, "")


def _letter(index: int) -> str:
    """A column's letter as a spreadsheet names it: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _quote(text: str, limit: int = 40) -> str:
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return repr(clean if len(clean) <= limit else clean[:limit] + "…")


def _two_columns(table: Table, x: str, y: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The numbers of the input column x and the column y (its `what`), validated for a model."""
    if x == y:
        raise ValueError(f"x and {what} must be two different columns, not {table.column(x)} twice.")
    xs, ys = table.numbers(x), table.numbers(y)
    if np.ptp(xs) == 0:
        raise ValueError(f"{table.column(x, capital=True)} is constant ({xs[0]:g} in every row, "
                         f"{table.span()}): a model learns nothing from x that does not vary.")
    return xs, ys


def _standardized(x: np.ndarray, name: str, standardize: bool) -> tuple[np.ndarray, str]:
    if standardize:
        return (x - x.mean()) / x.std(), f"{name} (standardised)"
    return x, name


def linear_model_from(table: Table, x: str, y: str, standardize: bool = True) -> DataModel:
    """ŷ = w·x + b, mean squared error, on two numeric columns of a table; x standardised (mean 0, sd 1) or as it
    is. ValueError naming the row and column of a cell that is not a number, or a column that is constant."""
    xs, ys = _two_columns(table, x, y, "y")
    if np.ptp(ys) == 0:
        raise ValueError(f"{table.column(y, capital=True)} is constant ({ys[0]:g} in every row, "
                         f"{table.span()}): there is nothing to fit.")
    xs, name = _standardized(xs, x, standardize)
    return DataModel("linear", _read_only(xs[:, None].copy()), ys, (name,), y, data_name=table.name)


def logistic_model_from(table: Table, x: str, label: str, standardize: bool = True, l2: float = 0.0) -> DataModel:
    """p = σ(w·x + b), mean cross-entropy + ½λw², on a numeric column x and a column of labels 0 and 1; x
    standardised (mean 0, sd 1) or as it is. ValueError naming the row and column of a cell that is not a number
    or a label that is not 0 or 1, a constant x, or labels of one class only."""
    xs, _ = _two_columns(table, x, label, "the label")
    labels = _labels(table, label)
    xs, name = _standardized(xs, x, standardize)
    inputs = np.column_stack([xs, np.ones_like(xs)])
    return DataModel("logistic", _read_only(inputs), _read_only(labels.copy()), (name, "1"), label,
                     (f"{label} = 0", f"{label} = 1"), l2, bias=True, data_name=table.name)


def suggest_columns(table: Table, kind: str) -> tuple[str, str]:
    """The first columns a model of this kind ("linear" or "logistic") fits: for linear regression the first two
    numeric columns that vary, for logistic regression the first column of labels 0 and 1 (both present) and the
    first other numeric column that varies. ValueError saying why there are none, naming a column at fault."""
    numeric = [name for name in table.numeric_columns() if np.ptp(table.numbers(name)) > 0]
    if kind == "logistic":
        labels = [name for name in numeric if set(np.unique(table.numbers(name))) == {0.0, 1.0}]
        if not labels:
            raise ValueError(_no_labels(table))
        inputs = [name for name in numeric if name != labels[0]]
        if not inputs:
            raise ValueError(f"The file has no numeric column to predict {table.column(labels[0])} from.")
        return inputs[0], labels[0]
    if len(numeric) < 2:
        for name in table.names:  # the reason, in the words of the first column at fault
            linear_model_from(table, name, next(other for other in table.names if other != name))
        raise ValueError("The file needs two numeric columns that vary.")
    return numeric[0], numeric[1]


def _no_labels(table: Table) -> str:
    """Why no column can be the label: what is wrong with the last one (where a label usually is)."""
    try:
        _labels(table, table.names[-1])
    except ValueError as error:
        return f"No column holds labels 0 and 1 only. {error}"
    return "No column holds labels 0 and 1 only."


def _labels(table: Table, label: str) -> np.ndarray:
    """A column of labels 0 and 1, both present; ValueError naming the row and column of the first that is not."""
    labels = table.numbers(label)
    wrong = np.flatnonzero((labels != 0) & (labels != 1))
    if wrong.size:
        raise ValueError(f"Row {table.rows[wrong[0]]:,}, {table.column(label)}: {labels[wrong[0]]:g} is not a label; "
                         "labels must be 0 or 1.")
    if np.ptp(labels) == 0:
        raise ValueError(f"{table.column(label, capital=True)} has only the label {labels[0]:g} ({table.span()}): "
                         "logistic regression needs examples of both 0 and 1.")
    return labels


@dataclass(frozen=True)
class Bundled:
    """A table shipped in optviz/data/, and the columns a model on it starts from (None: not offered for it)."""

    key: str  # short: it goes into links
    file: str
    title: str
    linear: tuple[str, str] | None = None  # (x, y)
    logistic: tuple[str, str] | None = None  # (x, label)


BUNDLED: dict[str, Bundled] = {b.key: b for b in [
    Bundled("anscombe", "anscombe.csv", "Anscombe's quartet", linear=("x1", "y1")),
    Bundled("study", "study_hours.csv", "Study hours (synthetic)", linear=("hours", "score"),
            logistic=("hours", "passed")),
]}


@lru_cache(maxsize=4)  # one small table per bundled file (two of them): a few kB each
def bundled_table(key: str) -> Table:
    """A bundled table by its key (BUNDLED)."""
    bundled = BUNDLED[key]
    return read_table((DATA_DIR / bundled.file).read_bytes(), bundled.title)
