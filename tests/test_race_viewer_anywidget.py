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
        sent: [],
        send(message) { this.sent.push(message); },  // a custom message to the kernel
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


def test_a_released_slider_and_a_click_on_the_map_are_sent_to_the_kernel_once_each(page):
    w = optviz.widget("rosenbrock", ["sgd", "adam"], steps=60)
    page.evaluate("(changed) => model.set({_map: changed[0], _race: changed[1]})", traits(w))
    page.wait_for_function("window.__raceViewers.at(-1).p.runs.length === 2")
    slider = page.locator('#cell .rv-tune input[aria-label="α (lr)"]').first
    slider.focus()
    for _ in range(3):
        slider.press("ArrowLeft")  # a burst of keys: one message once it is released
    page.wait_for_function("model.sent.length === 1", timeout=10_000)
    sent = page.evaluate("model.sent[0]")
    assert list(sent) == ["settle"] and sent["settle"]["start"] is None
    (change,) = sent["settle"]["hparams"]
    assert change["run"] == 1 and change["name"] == "lr" and change["value"] < w.races["adam"].optimizer.hparams["lr"]
    box = page.evaluate("(() => { const v = window.__raceViewers.at(-1), r = v.dynamicCanvas.getBoundingClientRect();"
                        " return {x: r.left + v.box.map.x + v.box.map.w / 2, y: r.top + v.box.map.y + 20}; })()")
    page.mouse.click(box["x"], box["y"])  # the widget's view places the start where it is clicked
    page.wait_for_function("model.sent.length === 2", timeout=10_000)
    start = page.evaluate("model.sent[1]")["settle"]["start"]
    assert abs(start["x"]) < 0.2 and start["y"] > 2  # the map's top middle: x ≈ 0, y near the window's top
    w._from_view(w, page.evaluate("model.sent[1]"), [])
    assert w.refused == "" and w.start == (start["x"], start["y"]) and w.hparams["adam"]["lr"] == change["value"]
    assert page.errors == []


def test_removing_the_view_leaves_no_viewer_and_no_listener(page):
    left = page.evaluate("""() => {
        const before = window.__raceViewers.length;
        window.remove();
        return {viewers: before - window.__raceViewers.length, listening: model.listening(),
                children: document.getElementById('cell').children.length};
    }""")
    assert left == {"viewers": 1, "listening": 0, "children": 0}
    assert page.errors == []
