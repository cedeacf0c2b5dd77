"""The race viewer's drawing code is one file, viewer.js, shared by every host: the app's Streamlit component, the
exported page and the notebook widget each get it with their own thin adapter inlined after it, as one module."""

import re

import pytest

import optviz
from optviz.figures import viewer_source
from optviz.figures.export import race_html
from optviz.figures.viewer_source import ADAPTERS, VIEWER, viewer_module

DRAWING = re.compile(r"getContext\(|class RaceViewer|function polyline|drawImage\(")


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_hosts_module_is_viewer_js_then_its_adapter_without_the_import(adapter):
    module = viewer_module(adapter)
    core = (VIEWER / "viewer.js").read_text(encoding="utf-8")
    source = (VIEWER / adapter).read_text(encoding="utf-8")
    assert module.startswith(core) and 'from "./viewer.js"' not in module
    assert module.endswith(re.sub(r'^import \{[^}]*\} from "\./viewer\.js";\n', "", source, flags=re.M))
    assert module.count("export default") == 1


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_an_adapter_draws_nothing_itself(adapter):
    assert not DRAWING.search((VIEWER / adapter).read_text(encoding="utf-8"))
    assert DRAWING.search((VIEWER / "viewer.js").read_text(encoding="utf-8"))


def test_the_app_the_export_and_the_notebook_get_the_same_drawing_code():
    from optviz.ui.race_viewer import JS
    from optviz.widget import RaceWidget

    core = (VIEWER / "viewer.js").read_text(encoding="utf-8")
    assert JS == viewer_module("streamlit.js") and RaceWidget._esm.startswith(core)
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
