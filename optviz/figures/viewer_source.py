"""The race viewer's JavaScript as one ES module per host, with no build step: the drawing code, viewer.js (with what
it imports: live.js, the race recomputed while the reader drags, and the generated engine it steps), and a host's
adapter after it (streamlit.js: the app's component and the exported page; anywidget.js: the notebook widget).

Each file is a plain ES module importing its neighbours by relative path (so a browser or node can load the files as
they are). Here the imports are resolved into one self-contained module, each file once, before the files that
import it: `import { a, b } from "./x.js"` puts x.js's source in as it is (its exports checked against the names
asked for), and `import * as ns from "./x.js"` puts x.js in a function of its own whose exports become the object
`ns` (the generated engine's many names stay out of the viewer's). Streamlit and anywidget take a module's source as
a string, and an exported page inlines it. Read as data from optviz/ui/race_viewer: this layer imports nothing from
the UI.

    viewer_module("anywidget.js")   # engine, live.js, viewer.js, anywidget.js: the widget's _esm
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

VIEWER = Path(__file__).resolve().parents[1] / "ui" / "race_viewer"
CORE = "viewer.js"
ADAPTERS = ("streamlit.js", "anywidget.js")
_NAMED = re.compile(r'^import \{([^}]*)\} from "\./([\w.]+\.js)";\n', re.M)
_NAMESPACE = re.compile(r'^import \* as (\w+) from "\./([\w.]+\.js)";\n', re.M)
_EXPORTED = re.compile(r"^export (?:async )?(?:function\*?|const|let|class) (\w+)", re.M)
_EXPORT_WORD = re.compile(r"^export (?=(?:async )?(?:function|const|let|class)\b)", re.M)
_RULE = "// " + "-" * 111


@lru_cache(maxsize=2)  # one module per adapter (ADAPTERS), ~150 kB each
def viewer_module(adapter: str) -> str:
    """`adapter` (one of ADAPTERS) with everything it imports inlined before it: one ES module that exports viewer.js's
    names and the adapter's."""
    if adapter not in ADAPTERS:
        raise ValueError(f"{adapter} is not an adapter: adapter must be one of {', '.join(ADAPTERS)}, got {adapter!r}")
    imports = _NAMED.findall(_read(adapter))
    if [file for _, file in imports] != [CORE]:
        raise ValueError(f"{adapter} must import from ./viewer.js once, as `import {{ … }} from \"./viewer.js\";`")
    parts: list[str] = []
    _inline(adapter, parts, set())
    return f"\n{_RULE}\n".join(parts)


def _inline(name: str, parts: list[str], done: set[str]) -> None:
    """Append to `parts` the sources `name` imports (each once, in import order), then its own without its imports."""
    source = _read(name)
    for names, file in _NAMED.findall(source):
        _check_exports(name, file, names)
        if file not in done:
            done.add(file)
            _inline(file, parts, done)
    for namespace, file in _NAMESPACE.findall(source):
        parts.append(_namespaced(namespace, file))
    own = _NAMESPACE.sub("", _NAMED.sub("", source))
    parts.append(own if name == CORE else f"// {name}, its imports inlined above\n\n{own}")


def _check_exports(importer: str, file: str, names: str) -> None:
    missing = sorted({n.strip() for n in names.split(",") if n.strip()} - set(_EXPORTED.findall(_read(file))))
    if missing:
        raise ValueError(f"{importer} imports {', '.join(missing)}, which {file} does not export")


def _namespaced(namespace: str, file: str) -> str:
    """`file` (which imports nothing) as `const namespace = {its exports}`, its other names kept inside."""
    source = _read(file)
    if _NAMED.search(source) or _NAMESPACE.search(source):
        raise ValueError(f"{file} is imported as a namespace and must import nothing itself")
    exported = _EXPORTED.findall(source)
    return (f"// {file}, inlined as `{namespace}`\nconst {namespace} = (() => {{\n{_EXPORT_WORD.sub('', source)}\n"
            f"return {{ {', '.join(exported)} }};\n}})();\n")


@lru_cache(maxsize=1)  # the one stylesheet
def viewer_css() -> str:
    return _read("viewer.css")


def _read(name: str) -> str:
    return (VIEWER / name).read_text(encoding="utf-8")
