"""The race viewer's drawing code is one file, viewer.js, shared by every host: the app's Streamlit component, the
exported page and the notebook widget each get it (with what it imports: live.js and the generated engine) and their
own thin adapter inlined after it, as one module."""

import re

import pytest

import optviz
from optviz.figures import viewer_source
from optviz.figures.export import race_html
from optviz.figures.viewer_source import ADAPTERS, VIEWER, viewer_module

DRAWING = re.compile(r"getContext\(|class RaceViewer|function polyline|drawImage\(")


IMPORT = re.compile(r'^import (\{[^}]*\}|\* as \w+) from "\./[\w.]+";\n', re.M)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_hosts_module_is_the_engine_live_js_viewer_js_then_its_adapter_without_imports(adapter):
    module = viewer_module(adapter)
    own = {name: IMPORT.sub("", (VIEWER / name).read_text(encoding="utf-8"))
           for name in ("live.js", "viewer.js", adapter)}
    engine = module.index("const engine = (() => {")
    assert engine < module.index(own["live.js"]) < module.index(own["viewer.js"]) < module.index(own[adapter])
    assert module.endswith(own[adapter]) and not IMPORT.search(module)
    assert module.count("export default") == 1


def test_the_engine_is_inlined_as_one_object_whose_names_stay_inside():
    module = viewer_module("streamlit.js")
    engine = module[module.index("const engine = (() => {"):module.index("\n})();") + 5]
    assert not re.search(r"^export ", engine, re.M)
    exported = engine.rsplit("return {", 1)[1].split("}")[0]
    assert {"OPTIMIZERS", "SURFACES", "race", "optimizer", "surface"} <= {n.strip() for n in exported.split(",")}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_adapter_draws_nothing_itself(adapter):
    assert not DRAWING.search((VIEWER / adapter).read_text(encoding="utf-8"))
    assert DRAWING.search((VIEWER / "viewer.js").read_text(encoding="utf-8"))


def test_the_app_the_export_and_the_notebook_get_the_same_drawing_code():
    from optviz.ui.race_viewer import JS
    from optviz.widget import RaceWidget

    core = IMPORT.sub("", (VIEWER / "viewer.js").read_text(encoding="utf-8"))
    assert JS == viewer_module("streamlit.js") and core in RaceWidget._esm
    page = race_html(optviz.race("quadratic", ["adam"], steps=5))
    assert page.count(viewer_module("streamlit.js")) == 1


def test_an_unknown_adapter_is_refused():
    with pytest.raises(ValueError, match="adapter must be one of streamlit.js, anywidget.js"):
        viewer_module("viewer.js")


def test_an_adapter_importing_what_viewer_js_does_not_export_is_refused(tmp_path, monkeypatch):
    (tmp_path / "viewer.js").write_text("export function mount() {}\nfunction hidden() {}\n")
    (tmp_path / "streamlit.js").write_text('import { mount, hidden } from "./viewer.js";\nexport default mount;\n')
    monkeypatch.setattr(viewer_source, "VIEWER", tmp_path)
    viewer_module.cache_clear()
    try:
        with pytest.raises(ValueError, match="streamlit.js imports hidden, which viewer.js does not export"):
            viewer_module("streamlit.js")
    finally:
        viewer_module.cache_clear()
