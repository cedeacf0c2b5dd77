"""The race viewer's JavaScript as one ES module per host, with no build step: the drawing code, viewer.js, with a
host's adapter after it (streamlit.js: the app's component and the exported page; anywidget.js: the notebook widget).

An adapter is a plain ES module that imports from "./viewer.js" (so a browser can load the files as they are); here
that import is dropped and viewer.js's source put before the adapter's, so each host gets one self-contained module
(Streamlit and anywidget take a module's source as a string, and an exported page inlines it). Read as data from
optviz/ui/race_viewer: this layer imports nothing from the UI.

    viewer_module("anywidget.js")   # viewer.js + anywidget.js: the widget's _esm
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

VIEWER = Path(__file__).resolve().parents[1] / "ui" / "race_viewer"
CORE = "viewer.js"
ADAPTERS = ("streamlit.js", "anywidget.js")
_IMPORT = re.compile(r'^import \{([^}]*)\} from "\./viewer\.js";\n', re.M)
_EXPORTED = re.compile(r"^export (?:async )?(?:function\*?|const|let|class) (\w+)", re.M)


@lru_cache(maxsize=2)  # one module per adapter (ADAPTERS), ~100 kB each
def viewer_module(adapter: str) -> str:
    """viewer.js followed by `adapter` (one of ADAPTERS) without its import of viewer.js: one ES module that
    exports viewer.js's names and the adapter's."""
    if adapter not in ADAPTERS:
        raise ValueError(f"adapter must be one of {', '.join(ADAPTERS)}, got {adapter!r}")
    core, source = _read(CORE), _read(adapter)
    imports = _IMPORT.findall(source)
    if len(imports) != 1:
        raise ValueError(f"{adapter} must import from ./viewer.js once, as `import {{ … }} from \"./viewer.js\";`")
    missing = sorted({name.strip() for name in imports[0].split(",")} - set(_EXPORTED.findall(core)))
    if missing:
        raise ValueError(f"{adapter} imports {', '.join(missing)}, which viewer.js does not export")
    return f"{core}\n// {'-' * 111}\n// {adapter}, its import of viewer.js inlined above\n\n{_IMPORT.sub('', source)}"


@lru_cache(maxsize=1)  # the one stylesheet
def viewer_css() -> str:
    return _read("viewer.css")


def _read(name: str) -> str:
    return (VIEWER / name).read_text(encoding="utf-8")
