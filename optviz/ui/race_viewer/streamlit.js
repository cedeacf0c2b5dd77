// The race viewer as the app's Streamlit component (custom components v2), and on an exported page
// (optviz/figures/export.py calls mountRaceViewer with the same shape of argument). The drawing is viewer.js's.
import { mount } from "./viewer.js";

const MAPS_KEPT = 8;

/** The payload with its map: the app sends a map once per page (by id) and then the races on it alone. Null when
 *  this page lacks the map (it keeps MAPS_KEPT, the newest): the app is asked for it again. */
export function withMap(data) {
  if (data.payload.map) return data.payload;
  const maps = (window.__raceMaps ||= new Map());
  if (data.map) {
    maps.delete(data.map_id);
    maps.set(data.map_id, data.map);
    while (maps.size > MAPS_KEPT) maps.delete(maps.keys().next().value);
  }
  const map = maps.get(data.map_id);
  return map ? { ...data.payload, map } : null;
}

/** Streamlit calls it on mount and again with each new payload, with the same parentElement. */
export default function mountRaceViewer(component) {
  const { parentElement, setTriggerValue } = component;
  // The app sends the JSON as bytes (serialised once per race on the server); the export inlines it as an object.
  const data = ArrayBuffer.isView(component.data) ? JSON.parse(new TextDecoder().decode(component.data)) : component.data;
  const payload = withMap(data);
  if (!payload) {
    setTriggerValue("missing_map", data.map_id);
    return undefined;
  }
  // what the reader dragged, once released: {hparams: [{run, name, value}], start: {x, y} or null}, in one message
  return mount(parentElement, payload, data.options, { onSettle: (value) => setTriggerValue("settle", value) });
}
