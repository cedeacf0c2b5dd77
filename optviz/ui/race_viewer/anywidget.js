// The race viewer in a notebook: anywidget's entry for optviz.widget (optviz/widget.py). The drawing is viewer.js's.
//
// The kernel sends what Python computed as JSON bytes in two traits: `_map` (the surface's picture and hover grid,
// sent again only when the surface changes) and `_race` ({payload without its map, options}, on every change).
// Everything drawn is in them, so a view keeps playing with the kernel gone; a drag is raced in the browser, and its
// released value sent back as a message.
import { mount } from "./viewer.js";

const json = (bytes) => JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));

export default {
  render({ model, el }) {
    el.classList.add("rv-notebook");
    let mapBytes = null, map = null, remove = () => {}, pending = false;
    const draw = () => {
      pending = false;
      if (model.get("_map") !== mapBytes) {  // the same surface: the map is parsed once
        mapBytes = model.get("_map");
        map = json(mapBytes);
      }
      const race = json(model.get("_race"));
      // what the reader released (a slider, the start dragged or clicked) goes to the kernel, which keeps it as the
      // widget's settings and races again: {settle: {hparams: [{run, name, value}], start: {x, y} or null}}
      remove = mount(el, { ...race.payload, map }, race.options, { onSettle: (value) => model.send({ settle: value }) });
    };
    // A change of surface changes both traits in one message: one drawing for both.
    const redraw = () => {
      if (!pending) queueMicrotask(draw);
      pending = true;
    };
    model.on("change:_map", redraw);
    model.on("change:_race", redraw);
    draw();
    return () => {
      model.off("change:_map", redraw);
      model.off("change:_race", redraw);
      remove();
    };
  },
};
