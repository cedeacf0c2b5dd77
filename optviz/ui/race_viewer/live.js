// The race recomputed in the browser while the reader drags a slider or the start point: the payload's "live" field
// (optviz/figures/live_race.py) says what to race and how each slider maps to values; the generated engine
// (engine.generated.js, translated from optviz's own rules) steps it; this file turns its recording into what
// viewer.js draws (paths, losses, arrows' tips, state rows) by the rules Python draws them by (optviz/figures/arrows.py,
// rows.py, ticks.py). What the engine cannot reproduce comes back as a reason in words, and stays the server's.
import * as engine from "./engine.generated.js";

/** A Float64Array from a payload field {f64: base64 of little-endian float64}: exact numbers for the engine. */
export function decodeF64(field) {
  const text = atob(field.f64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Float64Array(bytes.buffer);
}

/** `value` rounded to `digits` significant digits (what the URL and the sidebar will show). */
export function rounded(value, digits) {
  return value === 0 || !Number.isFinite(value) ? value : Number(value.toPrecision(digits));
}

/** The value at `position` (0 … s.positions) of a slider that Python described (live_race.slider): linear, log
 *  (its first position 0 when s.zero) or decay (1 − value on a log scale), rounded to `digits` (a decay rate's
 *  1 − value), inside [low, high]. */
export function sliderValue(s, position, digits) {
  const f = Math.min(1, Math.max(0, position / s.positions));
  let value;
  if (s.scale === "linear") value = s.low + (s.high - s.low) * f;
  else if (s.scale === "decay") {  // rounded in 1 − value: 0.99 and 0.999 are as far apart as 0.9 and 0.99
    value = 1 - rounded(10 ** lerp(Math.log10(1 - s.low), Math.log10(1 - s.high), f), digits);
    return Math.min(s.high, Math.max(s.low, Number(value.toPrecision(15))));
  }
  else if (s.zero) value = position <= 0 ? 0 : 10 ** lerp(Math.log10(s.low), Math.log10(s.high), (position - 1) / (s.positions - 1));
  else value = 10 ** lerp(Math.log10(s.low), Math.log10(s.high), f);
  return Math.min(s.high, Math.max(s.zero ? 0 : s.low, rounded(value, digits)));
}

/** The slider position nearest `value` (the inverse of sliderValue, before rounding). */
export function sliderPosition(s, value) {
  let f;
  if (s.scale === "linear") f = (value - s.low) / (s.high - s.low);
  else if (s.scale === "decay") f = unlerp(Math.log10(1 - s.low), Math.log10(1 - s.high), Math.log10(Math.max(1 - value, 1e-300)));
  else if (s.zero) {
    if (value <= 0) return 0;
    return Math.round(1 + Math.min(1, Math.max(0, unlerp(Math.log10(s.low), Math.log10(s.high), Math.log10(value)))) * (s.positions - 1));
  } else f = unlerp(Math.log10(s.low), Math.log10(s.high), Math.log10(value));
  return Math.round(Math.min(1, Math.max(0, f)) * s.positions);
}

const lerp = (a, b, f) => a + (b - a) * f;
const unlerp = (a, b, v) => (v - a) / (b - a);

/** The payload's race, ready to be raced again with other settings: `compute(overrides)` returns per run its new
 *  recording, or null where the browser cannot (see `reason`). */
export class LiveRace {
  constructor(payload) {
    const live = payload.live;
    this.live = live;
    this.steps = payload.steps;
    this.start = payload.start;
    this.surfaceReason = live.server;
    this.surface = null;
    if (!this.surfaceReason) {
      if (!engine.SURFACES[live.surface.name]) this.surfaceReason = `the browser's engine lacks ${live.surface.name}`;
      else {
        const s = engine.surface(live.surface.name, live.surface.params);
        this.surface = { ...s, bound: live.surface.bound, tol: live.surface.tol, minima: live.surface.minima };
      }
    }
    this.noise = live.noise ? decodeF64(live.noise) : null;
    this.cache = [];
    this.runs = live.runs.map((r) => ({ ...r, rates: r.lr ? decodeF64(r.lr) : null,
      server: r.server || (engine.OPTIMIZERS[r.optimizer] ? "" : `the browser's engine lacks ${r.optimizer}`) }));
  }

  /** Why run i cannot be raced here with hyperparameter `name` changed (null: any) — words, or "" if it can. */
  reason(i, name = null) {
    const run = this.runs[i];
    if (this.surfaceReason) return this.surfaceReason;
    if (run.server) return run.server;
    return (name && run.server_params[name]) || "";
  }

  /** overrides: {start: [x, y] or null, hparams: {run index: {name: value}}}. Per run: null (the server's stays)
   *  or {path, loss, grad, state, divergedAt} as engine.race records them, with `diagnostics` (m̂, v̂, the bias
   *  corrections, the effective step: engine.diagnose's, null for an optimizer without them). */
  compute(overrides) {
    if (this.surfaceReason) return this.runs.map(() => null);
    const start = overrides.start || this.start;
    return this.runs.map((run, i) => {
      const changed = overrides.hparams[i] || {};
      if (Object.keys(changed).some((name) => this.reason(i, name)) || this.reason(i)) return null;
      const key = JSON.stringify([start, changed]);  // a run whose settings did not move is not raced again
      if (this.cache[i]?.key === key) return this.cache[i].result;
      const opt = engine.optimizer(run.optimizer, { ...run.hparams, ...changed });
      const options = { noise: this.noise };
      if (run.rates) options.lr = run.rates;
      const result = engine.race([opt], this.surface, start, this.steps, options)[0];
      result.diagnostics = engine.diagnose(opt, result.state, this.steps, options.lr ?? opt.lr);
      this.cache[i] = { key, result };
      return result;
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arrows (optviz/figures/arrows.py): at step t, −∇f at θ_t, minus the first moment after the update, and the update
// θ_{t+1} − θ_t, their lengths growing with the log of their size relative to the race's median of that kind.

/** Per run the raw vectors {gradient, moment?, update} at every step, (steps+1)×2, NaN where there is none, and
 *  their lengths (norms: {kind: steps+1}). */
export function arrowVectors(result, surface, momentName, steps) {
  const n = steps, path = result.path, grad = new Float64Array(2 * (n + 1)), update = new Float64Array(2 * (n + 1));
  update.fill(NaN);
  for (let k = 0; k <= n; k++) {
    let gx = k < n ? result.grad[2 * k] : NaN, gy = k < n ? result.grad[2 * k + 1] : NaN;
    if (!(Number.isFinite(gx) && Number.isFinite(gy))) [gx, gy] = surface.grad(path[2 * k], path[2 * k + 1], k + 1);
    grad[2 * k] = -gx;
    grad[2 * k + 1] = -gy;
    if (k < n) {
      update[2 * k] = path[2 * k + 2] - path[2 * k];
      update[2 * k + 1] = path[2 * k + 3] - path[2 * k + 1];
    }
  }
  const vectors = { gradient: grad, update };
  const m = momentName && result.state[momentName];
  if (m) {
    const moment = new Float64Array(2 * (n + 1)).fill(NaN);
    for (let i = 0; i < 2 * n; i++) moment[i] = -m[i];
    vectors.moment = moment;
  }
  vectors.norms = {};
  for (const [kind, v] of Object.entries(vectors)) {
    if (kind === "norms") continue;
    const norm = new Float64Array(n + 1);
    for (let k = 0; k <= n; k++) norm[k] = Math.sqrt(v[2 * k] * v[2 * k] + v[2 * k + 1] * v[2 * k + 1]);  // hypot's 4× the time
    vectors.norms[kind] = norm;
  }
  return vectors;
}

/** Tips of the arrows of each kind for runs' `vectors` starting at their `paths`, scaled as arrow_segments does:
 *  per kind, relative to the median length over all these runs. */
export function arrowTips(vectors, paths, window, scaling) {
  const [x0, x1, y0, y1] = window, base = scaling.length * Math.min(x1 - x0, y1 - y0);
  const tips = vectors.map(() => ({}));
  for (const kind of ["gradient", "moment", "update"]) {
    const found = vectors.map((v) => v && v[kind]);
    const norms = vectors.map((v) => v && v.norms[kind]);
    const reference = median(norms.filter(Boolean));
    found.forEach((v, i) => {
      if (!v) return;
      const tip = new Float64Array(v.length), p = paths[i], norm = norms[i];
      for (let k = 0; k < norm.length; k++) {
        const scale = Math.min(scaling.max_scale, Math.max(scaling.min_scale, 1 + scaling.per_decade * Math.log10(norm[k] / reference)));
        const ok = norm[k] > 0;
        tip[2 * k] = ok ? p[2 * k] + (v[2 * k] / norm[k]) * base * scale : NaN;
        tip[2 * k + 1] = ok ? p[2 * k + 1] + (v[2 * k + 1] / norm[k]) * base * scale : NaN;
      }
      tips[i][kind] = tip;
    });
  }
  return tips;
}

function median(arrays) {
  let count = 0;
  for (const a of arrays) for (const v of a) if (v > 0 && Number.isFinite(v)) count++;
  if (!count) return 1;
  const pooled = new Float64Array(count);
  let j = 0;
  for (const a of arrays) for (const v of a) if (v > 0 && Number.isFinite(v)) pooled[j++] = v;
  const upper = select(pooled, count >> 1);  // a selection, not a sort: this runs on every frame of a drag
  return count % 2 ? upper : (select(pooled, count / 2 - 1) + upper) / 2;
}

/** The k-th smallest of `a` (0-based), moving a's values about (Hoare's quickselect, a middle pivot): O(n). */
function select(a, k) {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const swap = a[i];
        a[i++] = a[j];
        a[j--] = swap;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

// ---------------------------------------------------------------------------------------------------------------
// State rows (optviz/figures/rows.py, ticks.py): a row's range padded over its steady lines, its round ticks

/** What a run recorded under `name`: its state, or a diagnostic worked out from it (m̂, bc1, …); undefined if
 *  neither. */
export function recorded(result, name) {
  return result.state[name] ?? result.diagnostics?.[name];
}

/** A line's values at `steps` steps from a recording: steps×2 (coordinate `part` "x" or "y") or one a step (a pair
 *  row's series), log10 on a log row (NaN where not positive). Worked out once per recording: during a drag the runs
 *  that were not raced again keep theirs. */
export function stateLine(trace, part, log, steps = trace.length / 2) {
  const key = `${part} ${log} ${steps}`, known = lines.get(trace) || lines.set(trace, new Map()).get(trace);
  if (known.has(key)) return known.get(key);
  const stride = trace.length / steps, axis = part === "y" ? 1 : 0, out = new Float32Array(steps);
  for (let s = 0; s < steps; s++) {
    const v = trace[stride * s + axis];
    out[s] = log ? (v > 0 ? Math.log10(v) : NaN) : v;
  }
  known.set(key, out);
  return out;
}

const lines = new WeakMap();  // recording -> "part log steps" -> its line

/** The loss chart, a row like the state rows but from step 0: each run's loss (`lossValues`), log10 when every
 *  finite loss is positive, its range over the runs that did not diverge and its ticks worked out as a state row's;
 *  titles: {log, linear}, Python's words. */
export function lossRow(runs, titles) {
  const positive = runs.every((r) => r.lossValues.every((v) => !(v <= 0)));
  const lines = runs.map((r, run) => ({ run, part: "x", name: "loss", dash: "solid",
    v: positive ? stateLine(r.lossValues, "x", true, r.lossValues.length) : r.lossValues }));
  const steady = lines.filter((l) => runs[l.run].diverged_at == null);
  const range = rowRange((steady.length ? steady : lines).map((l) => l.v), positive);
  return { key: "loss", title: positive ? titles.log : titles.linear, log: positive, first: 0, lines, range,
    ticks: roundTicks(range[0], range[1], positive, 4) };
}

/** A padded [low, high] over the finite values of `lines` (already log10 on a log row), as row_range pads it. */
export function rowRange(lines, log) {
  let lo = Infinity, hi = -Infinity;
  for (const line of lines) for (const v of line) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (lo > hi) return [-0.06, 1.06];
  if (log) {
    const pad = 0.05 * (hi - lo) || 0.5;
    return [lo - pad, hi + pad];
  }
  const pad = 0.06 * (hi - lo) || Math.max(Math.abs(hi) * 0.1, 1e-12);
  return [lo - pad, hi + pad];
}

/** [value, label] ticks for [lo, hi] as race_payload._ticks makes them: round values (1, 2, 5 × 10ᵏ; on a log10 row
 *  the decades and their halves), at most `most`. */
export function roundTicks(lo, hi, log, most) {
  if (log) {
    for (const mantissas of [[1], [1, 5], [1, 2, 5]]) {
      const values = [];
      for (let e = Math.floor(lo) - 1; e <= Math.ceil(hi) + 1; e++) {
        for (const m of mantissas) {
          const v = Math.log10(m) + e;
          if (v >= lo - 1e-9 && v <= hi + 1e-9) values.push(v);
        }
      }
      values.sort((a, b) => a - b);
      if (values.length >= 3) {
        const every = Math.ceil(values.length / most);
        return values.filter((_, i) => i % every === 0).map((v) => [v, plainLabel(10 ** v)]);
      }
    }
  }
  // linear, or a log row too narrow for its ladder: multiples of 1, 2 or 5 × 10ᵏ of the values themselves
  const [a, b] = log ? [10 ** lo, 10 ** hi] : [lo, hi];
  const linear = (count) => {
    const raw = (b - a) / (count - 1), magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
    const out = [];
    for (let k = Math.ceil(a / step - 1e-9); k <= Math.floor(b / step + 1e-9); k++) out.push(Number((k * step).toPrecision(12)));
    return out;
  };
  let values = linear(most);
  if (values.length < 2) values = linear(2 * most);
  if (log) values = values.filter((v) => v > 0);
  return values.map((v) => [log ? Math.log10(v) : v, plainLabel(v)]);
}

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/** A tick label in plain text, as race_payload.plain_label writes it: 0.5, 250, 10⁻⁵, 2×10⁻⁴. */
export function plainLabel(value) {
  if (value === 0 || (Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5)) return String(Number(value.toPrecision(6)));
  const exponent = Math.floor(Math.log10(Math.abs(value)) + 1e-9);
  const mantissa = String(Number((value / 10 ** exponent).toPrecision(3)));
  const power = "10" + String(exponent).replace(/./g, (c) => SUPERSCRIPT[c]);
  return mantissa === "1" ? power : `${mantissa}×${power}`;
}
