"""The viewer's notebook entry (optviz/ui/race_viewer/anywidget.js, as optviz.widget's _esm) in chromium, against a
model that behaves as anywidget's does: it draws the race in the model's traits, redraws once when a new surface
changes both, parses a map once, and leaves nothing behind when its view goes."""

import pytest
from playwright.sync_api import sync_playwright
from test_e2e_browser import ARGS, CHROMIUM

import optviz
from optviz.figures.viewer_source import viewer_css, viewer_module

MODEL = """([map, race]) => {
    const bytes = (list) => new DataView(new Uint8Array(list).buffer);  // a Bytes trait arrives as a DataView
    const state = {_map: bytes(map), _race: bytes(race)}, listeners = {};
    window.model = {
        get: (name) => state[name],
        on: (event, f) => { (listeners[event] ||= []).push(f); },
        off: (event, f) => { listeners[event] = (listeners[event] || []).filter((g) => g !== f); },
        set(changes) {  // as a message from the kernel: every trait set, then each one's change event
            for (const [name, list] of Object.entries(changes)) state[name] = bytes(list);
            for (const name of Object.keys(changes)) (listeners['change:' + name] || []).forEach((f) => f());
        },
        listening: () => Object.values(listeners).reduce((n, fs) => n + fs.length, 0),
    };
}"""


def traits(w) -> list[list[int]]:
    return [list(w._map), list(w._race)]


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.set_content(f"<html><head><style>{viewer_css()}</style></head><body><div id='cell'></div></body></html>")
        page.evaluate("""async (source) => {
            const url = URL.createObjectURL(new Blob([source], {type: 'text/javascript'}));
            window.widget = (await import(url)).default;
        }""", viewer_module("anywidget.js"))
        page.errors = errors
        yield page
        browser.close()


def test_the_notebook_entry_draws_the_race_in_the_models_traits(page):
    page.evaluate(MODEL, traits(optviz.widget("rosenbrock", ["sgd", "adam"], steps=50)))
    drawn = page.evaluate("""() => {
        const el = document.getElementById('cell');
        window.remove = widget.render({model, el});
        const v = window.__raceViewers.at(-1);
        return {runs: v.runs.map((r) => r.label), steps: v.n, drawn: !!v.drawnAt, height: v.h,
                notebook: el.classList.contains('rv-notebook')};
    }""")
    assert drawn == {"runs": ["sgd", "adam"], "steps": 50, "drawn": True, "height": 460, "notebook": True}
    assert page.errors == []


def test_a_new_surface_changing_both_traits_is_drawn_once(page):
    w = optviz.widget("saddle", ["momentum", "adam", "sgd"], steps=80)
    drawn = page.evaluate("""async (changed) => {
        const v = window.__raceViewers.at(-1), setData = v.setData.bind(v);
        let draws = 0;
        v.setData = (...args) => { draws += 1; return setData(...args); };
        model.set({_map: changed[0], _race: changed[1]});
        await new Promise((resolve) => setTimeout(resolve, 50));
        return {draws, runs: v.runs.map((r) => r.label), title: v.titleEl.textContent, window: v.p.map.window};
    }""", traits(w))
    assert drawn["draws"] == 1 and drawn["runs"] == ["momentum", "adam", "sgd"]
    assert drawn["title"].startswith("Saddle") and drawn["window"] == [-2, 2, -2, 2]


def test_removing_the_view_leaves_no_viewer_and_no_listener(page):
    left = page.evaluate("""() => {
        const before = window.__raceViewers.length;
        window.remove();
        return {viewers: before - window.__raceViewers.length, listening: model.listening(),
                children: document.getElementById('cell').children.length};
    }""")
    assert left == {"viewers": 1, "listening": 0, "children": 0}
    assert page.errors == []
