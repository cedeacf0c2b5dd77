"""docs/licenses.md: every runtime dependency's licence as its installed metadata declares it, and each one usable by
an MIT project. The table is checked against the packages installed here, so it cannot drift from them."""

import importlib.metadata as md
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "licenses.md"

# Permissive licences, and MPL-2.0: its copyleft covers only the files of the package itself, which optviz uses
# unmodified. CC0-1.0 and 0BSD are public-domain-like; MIT-CMU is the MIT licence with the CMU wording (Pillow).
ALLOWED = {"MIT", "MIT-CMU", "BSD-2-Clause", "BSD-3-Clause", "0BSD", "Apache-2.0", "PSF-2.0", "ISC", "Zlib",
           "CC0-1.0", "MPL-2.0"}
ALLOWED_EXCEPTIONS = {"LLVM-exception"}  # llvmlite: Apache-2.0 WITH LLVM-exception (it only adds permissions)
FAMILIES = {"BSD": "BSD-", "Apache": "Apache-", "MIT": "MIT", "Mozilla": "MPL-", "MPL": "MPL-", "PSF": "PSF-",
            "ISC": "ISC"}


def requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [canonicalize_name(Requirement(line.split("#")[0]).name) for line in lines if line.split("#")[0].strip()]


def _requires(name: str) -> tuple[list[str], list[str]]:
    """What an installed package needs at run time here, and what it needs only on another platform or Python."""
    here, elsewhere = [], []
    for text in md.distribution(name).requires or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            here.append(canonicalize_name(req.name))
        elif "extra" not in str(req.marker):
            elsewhere.append(canonicalize_name(req.name))
    return here, elsewhere


def runtime_closure() -> tuple[dict[str, set[str]], set[str]]:
    """Every package requirements.txt pulls in here → the packages that require it ("requirements.txt" for its
    own); and the packages some of them require only on another platform or Python."""
    needed_by: dict[str, set[str]] = {}
    elsewhere: set[str] = set()
    todo = [(name, "requirements.txt") for name in requirements()]
    while todo:
        name, parent = todo.pop()
        first = name not in needed_by
        needed_by.setdefault(name, set()).add(parent)
        if first:
            here, other = _requires(name)
            todo += [(child, name) for child in here]
            elsewhere |= set(other)
    return needed_by, elsewhere - set(needed_by)


def declared(name: str) -> tuple[str, str]:
    """(field, value): License-Expression if given; else a one-line License field; else the licence classifiers."""
    meta = md.metadata(name)
    if meta.get("License-Expression"):
        return "License-Expression", meta["License-Expression"].strip()
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 40 and text.upper() != "UNKNOWN":
        return "License", text
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return "Classifier", "; ".join(classifiers)


def table() -> dict[str, dict[str, str]]:
    """The rows of the runtime table: package → its columns, by header."""
    lines = TABLE.read_text().split("## Runtime dependencies", 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [[cell.strip().strip("`").strip() for cell in line.strip().strip("|").split("|")]
            for line in lines if line.startswith("|")]
    header, body = rows[0], [row for row in rows[2:]]
    return {row[0]: dict(zip(header, row)) for row in body}


def spdx_ids(expression: str) -> list[str]:
    return [token for token in re.findall(r"[A-Za-z0-9.+-]+", expression) if token not in {"AND", "OR", "WITH"}]


def test_every_requirement_is_in_the_table_with_the_licence_its_metadata_declares():
    rows = table()
    for name in requirements():
        assert name in rows, f"{name} (requirements.txt) has no row in docs/licenses.md"
        field, value = declared(name)
        assert (rows[name]["Field"], rows[name]["Declared"]) == (field, value), \
            f"docs/licenses.md's {name} row: the metadata says {field}: {value}"


def test_every_package_the_requirements_pull_in_is_in_the_table_with_the_licence_its_metadata_declares():
    rows = table()
    needed_by, elsewhere = runtime_closure()
    missing = sorted(set(needed_by) - set(rows))
    assert not missing, f"installed at run time but not in docs/licenses.md: {missing}"
    stale = sorted(set(rows) - set(needed_by) - elsewhere)
    assert not stale, f"in docs/licenses.md but required by nothing in requirements.txt: {stale}"
    for name, parents in needed_by.items():
        field, value = declared(name)
        assert (rows[name]["Field"], rows[name]["Declared"]) == (field, value), \
            f"docs/licenses.md's {name} row: the metadata says {field}: {value}"
        listed = {parent.strip() for parent in rows[name]["Needed by"].split(",")}
        assert parents <= listed, f"docs/licenses.md's {name} row: needed by {sorted(parents)}"


def test_every_licence_in_the_table_is_permissive_and_compatible_with_mit():
    for name, row in table().items():
        ids = spdx_ids(row["SPDX"])
        assert ids, f"{name}: no SPDX licence in docs/licenses.md"
        refused = [i for i in ids if i not in ALLOWED | ALLOWED_EXCEPTIONS]
        assert not refused, f"{name}: {refused} is not on the allow-list for an MIT project"
        if row["Field"] == "License-Expression":  # already SPDX: the reading must be the expression itself
            assert row["SPDX"] == row["Declared"], name
        for word, prefix in FAMILIES.items():  # a free-text "BSD" or "Apache License 2.0" is read as its family
            if word in row["Declared"]:
                assert prefix in row["SPDX"], f"{name}: declared {row['Declared']!r}, read as {row['SPDX']!r}"
