// optviz race viewer: draws a race payload (optviz/figures/race_payload.py) on two canvases and plays it.
//
// The static canvas holds what does not move (map picture, paths, landmarks, state rows); the dynamic canvas
// is cleared and redrawn each animation frame (markers, arrows, step cursors, the data panel's fit lines).
// Everything drawn was computed in Python; this file only maps data to pixels, keeps time and reads the mouse —
// but while the reader drags a hyperparameter's slider or the start point, the race is raced again in the browser
// (live.js, with the engine generated from the same rules) on every animation frame, and the settled value goes
// back to the host on release (onSettle), whose next payload replaces the browser's race (they are equal).
// It is the one drawing code of every host: streamlit.js (the app, and the exported page) and anywidget.js (a
// notebook) import mount() from it, and optviz/figures/viewer_source.py inlines it into each as one module.

import {
  LiveRace, arrowTips, arrowVectors, lossRow, recorded, rowRange, roundTicks, sliderPosition, sliderValue, stateLine,
} from "./live.js";

const FONT = "Inter, 'Helvetica Neue', Arial, sans-serif";
const DASHES = { dot: [2, 3], dash: [6, 4], solid: [] };
const DASH_WORDS = { dot: "dotted", dash: "dashed", solid: "solid" };
// a release is sent this long after the last one (ms): a burst of arrow keys, 30–150 ms apart on a busy machine, is
// one gesture and one message
const SETTLE_QUIET = 400;
const PATH_WIDTH = 2.6, STATE_WIDTH = 1.6, MARKER_RADIUS = 6.5, HOVER_PIXELS = 12;
const CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"];

// ---------------------------------------------------------------------------------------------------------------
// Pure functions (tested on their own in tests/test_race_viewer_js.py)

/** A Float32Array from a payload field {f32: base64 of little-endian float32}. */
export function decodeF32(field) {
  const text = atob(field.f32), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);  // 3× faster than Uint8Array.from(text, fn)
  return new Float32Array(bytes.buffer);
}

/** The (fractional) step a playing clock shows at time `now` (ms): it started at `step0` at `t0` and runs at
 *  `rate` steps per ms; it stops at `last`. Time, not frame counts: a slow frame skips steps, never slows the race. */
export function stepAt(clock, now) {
  return Math.min(clock.last, clock.step0 + Math.max(0, now - clock.t0) * clock.rate);
}

/** Steps per millisecond at `speed`: the whole race (`steps`) takes `seconds` at 1×. */
export function playRate(steps, seconds, speed) {
  return (steps / (seconds * 1000)) * speed;
}

/** The index of the point nearest (mx, my) among screen points xy = [x0, y0, x1, y1, ...] within `radius`
 *  pixels, and its squared distance; index -1 if none. NaN points are skipped. */
export function nearestPoint(xy, mx, my, radius) {
  let best = -1, bestD = radius * radius;
  for (let i = 0, n = xy.length / 2; i < n; i++) {
    const dx = xy[2 * i] - mx, dy = xy[2 * i + 1] - my, d = dx * dx + dy * dy;
    if (d <= bestD) { best = i; bestD = d; }  // "<=": the later point wins a tie, as it is drawn on top
  }
  return { index: best, d2: best < 0 ? Infinity : bestD };
}

/** f at (x, y) interpolated bilinearly on a grid of nx × ny values over window [x0, x1, y0, y1], row j at
 *  y0 + j·(y1 − y0)/(ny − 1); NaN outside the window. */
export function gridValue(values, nx, ny, window, x, y) {
  const [x0, x1, y0, y1] = window;
  const fx = ((x - x0) / (x1 - x0)) * (nx - 1), fy = ((y - y0) / (y1 - y0)) * (ny - 1);
  if (!(fx >= 0 && fx <= nx - 1 && fy >= 0 && fy <= ny - 1)) return NaN;
  const i = Math.min(Math.floor(fx), nx - 2), j = Math.min(Math.floor(fy), ny - 2), tx = fx - i, ty = fy - j;
  const v = (a, b) => values[b * nx + a];
  return (v(i, j) * (1 - tx) + v(i + 1, j) * tx) * (1 - ty) + (v(i, j + 1) * (1 - tx) + v(i + 1, j + 1) * tx) * ty;
}

const READABLE_ROW = 30;  // px (at scale 1): a state row flatter than this shows no more than a line's trend
const NARROWEST_COLUMN = 100;  // px (at scale 1): the narrowest column of rows worth a second one
const NARROW_ROW = 240;  // px (at scale 1): a row narrower than this titles itself in symbols where words do not fit

/** Boxes {x, y, w, h} in CSS pixels for the map, the state rows and the data panel in a stage of w × h.
 *  The map keeps the window's aspect ratio; rows and panel share the column to its right. With `mapFirst` (a
 *  projector) the map may take more of the width and no chart is wider than the map: the map is the largest
 *  chart on the stage. Rows that one column would leave flatter than READABLE_ROW go into two columns side by
 *  side where the width allows (a projector's short stage); a row's box says whether it ends its column
 *  (`bottom`: the step axis is drawn under it). */
export function stageLayout(w, h, aspect, rowCount, hasPanel, scale = 1, mapFirst = false) {
  const m = { left: 48 * scale, bottom: 38 * scale, top: 8, right: 18 * scale };
  const column = rowCount > 0 || hasPanel;
  const gap = column ? 66 * scale : 0;
  const plotH = Math.max(80, h - m.top - m.bottom);
  const maxW = column ? Math.max(120, (w - m.left - gap - m.right) * (mapFirst ? 0.7 : 0.6)) : w - m.left - m.right;
  let mapW = Math.min(maxW, plotH * aspect), mapH = mapW / aspect;
  const map = { x: m.left, y: m.top, w: mapW, h: mapH };
  const out = { map, rows: [], panel: null, key: null };
  if (!column) return out;
  const cx = map.x + mapW + gap, cw = Math.max(80, Math.min(w - cx - m.right, mapFirst ? mapW : Infinity));
  const title = 20 * scale;
  let y = m.top;
  if (hasPanel) {  // above the rows, which keep 29 % of the height each, 58 % at most (a loss chart alone: 29 %)
    const ph = Math.min(cw * 0.7, (h - m.top - m.bottom) * (1 - Math.min(0.58, 0.29 * rowCount)) - title);
    out.panel = { x: cx, y: y + title, w: cw, h: ph };
    y += title + ph + m.bottom;
  }
  if (rowCount) {
    y += title;
    const rowGap = title + 6 * scale;
    const height = (perColumn) => (h - m.bottom - y - rowGap * (perColumn - 1) - title) / perColumn;
    const room = w - cx - m.right;
    const paired = Math.min((room - gap) / 2, mapFirst ? mapW : Infinity);
    const columns = rowCount > 2 && height(rowCount) < READABLE_ROW * scale && paired >= NARROWEST_COLUMN * scale ? 2 : 1;
    const perColumn = Math.ceil(rowCount / columns), rw = columns === 1 ? cw : paired, rh = height(perColumn);
    out.key = { x: cx, y: y - title, w: columns === 1 ? cw : 2 * rw + gap, h: title };
    for (let r = 0; r < rowCount; r++) {
      const column = Math.floor(r / perColumn), place = r % perColumn;
      out.rows.push({ x: cx + column * (rw + gap), y: y + title + place * (rh + rowGap), w: rw, h: Math.max(12, rh),
        bottom: place === perColumn - 1 || r === rowCount - 1 });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The viewer

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const fmt = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toPrecision(4)) : "—");


/** On a data surface a step costs batch size / examples epochs (Python sends that per run): step k is epoch
 * k·e, one number when every run's batch is alike, a range otherwise. */
export function epochsText(k, perStep) {
  const say = (v) => v.toLocaleString("en", { maximumSignificantDigits: 3 });
  const low = Math.min(...perStep) * k, high = Math.max(...perStep) * k;
  return low === high ? `epoch ${say(low)}` : `epochs ${say(low)}–${say(high)}`;
}

class RaceViewer {
  constructor(host) {
    this.onSettle = () => {};
    this.overrides = { start: null, hparams: {} };  // what the reader dragged, until a payload agrees with it
    this.liveFrames = 0;  // frames drawn from a race computed here (the browser tests and benchmark read it)
    this.hidden = new Set();
    this.signatures = {};  // what the controls and legend were last built from (see changed())
    this.speed = 1;
    this.arrowChoice = "all";
    this.step = 0;
    this.clock = null;
    this.root = el("div", "rv");
    this.root.tabIndex = 0;
    const head = el("div", "rv-head");
    this.titleEl = head.appendChild(el("div", "rv-title"));
    this.legendEl = head.appendChild(el("div", "rv-legend"));
    const bar = el("div", "rv-bar");
    this.playBtn = bar.appendChild(el("button", "rv-play", "▶ Play"));
    this.speedsEl = bar.appendChild(el("div", "rv-speeds"));
    this.scrub = bar.appendChild(el("input", "rv-scrub"));
    this.scrub.type = "range";
    this.scrub.min = 0;
    this.scrub.setAttribute("aria-label", "step");
    this.stepEl = bar.appendChild(el("span", "rv-step"));
    const arrows = bar.appendChild(el("div", "rv-arrow-controls"));
    this.arrowsEl = arrows.appendChild(el("select", "rv-arrows"));
    this.arrowsEl.setAttribute("aria-label", "arrows");
    this.keyEl = arrows.appendChild(el("span", "rv-key"));
    this.tuneEl = el("div", "rv-tune");
    this.stage = el("div", "rv-stage");
    this.staticCanvas = this.stage.appendChild(el("canvas", "rv-static"));
    this.dynamicCanvas = this.stage.appendChild(el("canvas", "rv-dynamic"));
    this.tip = this.stage.appendChild(el("div", "rv-tip"));
    this.root.append(head, bar, this.tuneEl, this.stage);
    host.appendChild(this.root);
    this.wire();
  }

  wire() {
    const refocus = () => this.root.focus({ preventScroll: true });  // space on a focused button would click it again
    this.playBtn.onclick = () => { this.toggle(); refocus(); };
    this.scrub.oninput = () => this.seek(Number(this.scrub.value));
    this.arrowsEl.onchange = () => { this.arrowChoice = this.arrowsEl.value; this.drawFrame(); refocus(); };
    // Keys pressed in the viewer are taken on its root, before the page's own handlers (a notebook's) see them;
    // keys pressed elsewhere on the page, on the document.
    this.onKey = (e) => this.key(e);
    this.root.addEventListener("keydown", this.onKey);
    document.addEventListener("keydown", this.onKey);
    this.dynamicCanvas.onmousemove = (e) => this.hover(e);
    this.dynamicCanvas.onmouseleave = () => { this.tip.style.display = "none"; };
    this.dynamicCanvas.onclick = (e) => this.click(e);
    this.dynamicCanvas.onpointerdown = (e) => this.grabStart(e);
    this.dynamicCanvas.onpointermove = (e) => this.moveStart(e);
    this.dynamicCanvas.onpointerup = (e) => this.dropStart(e);
    this.dynamicCanvas.onpointercancel = (e) => this.dropStart(e);
    this.onResize = () => this.resize();
    window.addEventListener("resize", this.onResize);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(this.root);
    // what is drawn above the viewer may grow after it (a lesson's text, a wrapped row): the page's block moves the
    // stage down without resizing the viewer, and the stage must still end within the window
    const page = this.root.parentElement?.closest('[data-testid="stMainBlockContainer"], .block-container');
    if (page) this.observer.observe(page);
    // content above that shrinks as much as content below grows moves the stage and resizes nothing: its top is
    // watched (a quarter of a second late at worst, one layout read each time)
    this.topWatch = setInterval(() => {
      if (this.stageTop !== undefined && Math.abs(this.stage.getBoundingClientRect().top + this.scrollOffset()
        - this.stageTop) > 0.5) this.resize();
    }, 250);
  }

  destroy() {
    this.pause();
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("resize", this.onResize);
    this.observer.disconnect();
    clearInterval(this.topWatch);
    this.root.remove();
  }

  // --- data ---------------------------------------------------------------------------------------------------

  setData(payload, options) {
    const p = payload;
    this.options = options || {};
    this.scale = this.options.font_scale || 1;
    this.root.style.setProperty("--rv-scale", this.scale);
    this.root.classList.toggle("rv-present", !!this.options.map_first);  // on a projector: the map comes first
    this.p = p;
    this.n = p.steps;
    if (this.gridText !== p.map.value_grid.values.f32) {  // same surface, same grid: decode it once
      this.gridText = p.map.value_grid.values.f32;
      this.grid = decodeF32(p.map.value_grid.values);
    }
    this.serverRuns = p.runs.map((r) => ({ ...r, xy: decodeF32(r.path), lossValues: decodeF32(r.loss),
      tips: Object.fromEntries(Object.entries(r.arrows).map(([k, v]) => [k, decodeF32(v)])) }));
    this.serverRows = (this.options.rows === false ? [] : p.rows).map((row) => ({ ...row,
      lines: row.lines.map((l) => ({ ...l, v: decodeF32(l.values) })) }));
    this.runs = this.serverRuns;
    this.rows = this.withLoss(this.serverRows);
    const dp = p.data_panel;
    this.panel = dp ? { ...dp, xs: decodeF32(dp.x), ys: decodeF32(dp.y), segs: dp.lines.map(decodeF32) } : null;
    for (const label of [...this.hidden]) if (!p.runs.some((r) => r.label === label)) this.hidden.delete(label);
    this.pathWidth = this.options.path_width || PATH_WIDTH;
    const newScene = (this.options.scene ?? "") !== this.scene;  // a new lesson or surface starts from its first step
    this.scene = this.options.scene ?? "";
    if (newScene && this.loaded) this.pause();
    this.live = p.live ? new LiveRace(p) : null;
    this.reconcile(newScene);
    if (this.dragging()) this.recompute();
    if (this.step > this.n || !this.loaded || newScene) this.step = Math.min(p.step, this.n);
    this.loaded = true;
    if (this.clock) this.startClock(this.step);
    if (this.titleEl.textContent !== p.title) this.titleEl.textContent = this.titleEl.title = p.title;
    this.buildControls();
    this.buildTune();
    this.buildLegend();
    this.loadPicture(p.map.picture);
    this.resize(true);
  }

  loadPicture(src) {
    if (this.pictureSrc === src) return;
    this.pictureSrc = src;
    this.picture = new Image();
    this.picture.onload = () => { this.drawStatic(); this.drawFrame(); };
    this.picture.src = src;
  }

  /** Whether the DOM built from `parts` changed since it was last built under `name`: a new race with the same
   *  controls and legend (a learning-rate change) rebuilds nothing, so the browser lays out nothing again. */
  changed(name, parts) {
    const signature = JSON.stringify(parts);
    if (this.signatures[name] === signature) return false;
    this.signatures[name] = signature;
    return true;
  }

  buildControls() {
    this.scrub.max = this.n;
    this.scrub.value = Math.floor(this.step);
    if (!this.changed("controls", [this.p.speeds, this.p.arrow_kinds, this.speed, this.arrowChoice])) return;
    this.speedsEl.replaceChildren(...this.p.speeds.map((s) => {
      const b = el("button", "rv-speed" + (s === this.speed ? " rv-on" : ""), `${s}×`);
      b.onclick = () => { this.setSpeed(s); this.root.focus({ preventScroll: true }); };
      return b;
    }));
    const kinds = this.p.arrow_kinds;
    const choices = [["all", "arrows: all"], ...kinds.map((k) => [k.key, `only ${k.short}`]), ["none", "arrows: none"]];
    if (!choices.some(([v]) => v === this.arrowChoice)) this.arrowChoice = "all";
    this.arrowsEl.replaceChildren(...choices.map(([v, t]) => { const o = el("option", "", t); o.value = v; return o; }));
    this.arrowsEl.value = this.arrowChoice;
    this.arrowsEl.title = kinds.map((k) => `${DASH_WORDS[k.dash]}: ${k.title}`).join("; ");  // the key, where it gives way
    this.keyEl.replaceChildren(...kinds.map((k) => {
      const item = el("span", "rv-key-item");
      item.innerHTML = `<svg width="18" height="8"><line x1="1" y1="4" x2="17" y2="4" stroke="#555" stroke-width="2"
        stroke-dasharray="${DASHES[k.dash].join(",")}"/></svg>`;
      item.append(k.short);
      item.title = k.title + " (length ∝ log of its size)";
      return item;
    }));
  }

  buildLegend() {
    const shown = this.runs.map((r) => [r.label, r.color, r.legend, r.diverged_at != null]);
    if (!this.changed("legend", [shown, [...this.hidden], this.p.map.minima.length, this.p.map.saddles.length])) {
      this.runs.forEach((r, i) => { this.legendEl.children[i].title = chipTitle(r); });
      return;  // the same chips; only their tooltips name the new settings
    }
    const items = this.runs.map((r) => {
      const item = el("button", "rv-chip" + (this.hidden.has(r.label) ? " rv-off" : "") + (r.diverged_at != null ? " rv-diverged" : ""));
      item.innerHTML = `<svg width="22" height="10"><line x1="1" y1="5" x2="21" y2="5" stroke="${r.color}" stroke-width="3"/></svg>`;
      item.append(r.legend);
      item.title = chipTitle(r);
      item.onclick = () => {
        this.hidden.has(r.label) ? this.hidden.delete(r.label) : this.hidden.add(r.label);
        item.classList.toggle("rv-off");
        this.drawStatic();
        this.drawFrame();
        this.root.focus({ preventScroll: true });
      };
      return item;
    });
    const marks = [];
    if (this.p.map.minima.length) marks.push(el("span", "rv-mark", "★ minimum"));
    if (this.p.map.saddles.length) marks.push(el("span", "rv-mark", "✕ saddle"));
    this.legendEl.replaceChildren(...items, ...marks);
  }

  // --- size ---------------------------------------------------------------------------------------------------

  /** The stage fills the window below its top (the whole race on one screen), within sensible bounds; a viewer
   *  further down the page (the sweeps tab's) fills a window's height once scrolled to. */
  resize(redraw = false) {
    if (!this.p) return;
    const top = this.stageTop = this.stage.getBoundingClientRect().top + this.scrollOffset();
    // on a projector the race is the page: its stage ends within the window wherever the content above put it
    const above = top < window.innerHeight * 0.6 || this.options.map_first ? top : 90;
    const fit = window.innerHeight - above - (this.options.bottom_margin ?? 12);
    const h = Math.round(Math.max(this.options.min_height || 300, Math.min(fit, this.options.max_height || 1400)));
    const w = Math.round(this.stage.clientWidth);
    if (!w) {  // hidden (a tab not shown, a notebook's cell scrolled away): keep the drawing, draw it when shown
      this.stale = true;
      return;
    }
    if (this.stale) [redraw, this.stale] = [true, false];
    if (w !== this.w || h !== this.h) {
      this.w = w;
      this.h = h;
      this.stage.style.height = h + "px";
      const dpr = window.devicePixelRatio || 1;
      for (const c of [this.staticCanvas, this.dynamicCanvas]) {
        c.width = Math.round(w * dpr);
        c.height = Math.round(h * dpr);
        c.style.width = w + "px";
        c.style.height = h + "px";
        c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
      }
    } else if (!redraw) return;  // new data at the same size is drawn again; a same-size resize is not
    const [x0, x1, y0, y1] = this.p.map.window;
    this.box = stageLayout(w, h, (x1 - x0) / (y1 - y0), this.rows.length, !!this.panel, this.scale,
      !!this.options.map_first);
    this.drawStatic();
    this.drawFrame();
  }

  /** How far the page's scrolling container has scrolled: the stage's top is measured from the page's top. */
  scrollOffset() {
    let node = this.root.parentNode;
    while (node) {
      if (node instanceof ShadowRoot) node = node.host;
      if (node instanceof Element && node.scrollTop) return node.scrollTop;
      node = node.parentNode;
    }
    return 0;
  }

  // --- coordinates --------------------------------------------------------------------------------------------

  toScreen(x, y) {
    const [x0, x1, y0, y1] = this.p.map.window, b = this.box.map;
    return [b.x + ((x - x0) / (x1 - x0)) * b.w, b.y + ((y1 - y) / (y1 - y0)) * b.h];
  }

  toWorld(sx, sy) {
    const [x0, x1, y0, y1] = this.p.map.window, b = this.box.map;
    return [x0 + ((sx - b.x) / b.w) * (x1 - x0), y1 - ((sy - b.y) / b.h) * (y1 - y0)];
  }

  screenPaths() {
    return this.runs.map((r) => {
      const out = new Float32Array(r.xy.length);
      for (let i = 0; i < r.xy.length; i += 2) [out[i], out[i + 1]] = this.toScreen(r.xy[i], r.xy[i + 1]);
      return out;
    });
  }

  // --- static layer -------------------------------------------------------------------------------------------

  drawStatic() {
    if (!this.box) return;
    const ctx = this.staticCanvas.getContext("2d"), b = this.box.map;
    ctx.clearRect(0, 0, this.w, this.h);
    if (this.picture && this.picture.complete) ctx.drawImage(this.scaledPicture(b), b.x, b.y, b.w, b.h);
    this.screen = this.screenPaths();
    ctx.save();
    clipTo(ctx, b);
    this.runs.forEach((r, i) => {
      if (!this.hidden.has(r.label)) polyline(ctx, this.screen[i], 0, this.screen[i].length / 2, r.color, this.pathWidth);
    });
    this.drawLandmarks(ctx);
    ctx.restore();
    const [x0, x1, y0, y1] = this.p.map.window;
    this.axes(ctx, b, this.p.map.x_ticks, this.p.map.y_ticks, (v) => b.x + ((v - x0) / (x1 - x0)) * b.w,
      (v) => b.y + ((y1 - v) / (y1 - y0)) * b.h, ...(this.p.map.axis_names || ["x", "y"]));
    this.rows.forEach((row, i) => this.drawRow(ctx, row, this.box.rows[i]));
    if (this.box.key) this.text(ctx, "coordinates:  x ───   y ╌╌╌", this.box.key.x + this.box.key.w, this.box.key.y + 12 * this.scale, "right", "#666", 12);
    if (this.panel) this.drawPanel(ctx);
    this.drawnAt = performance.now();  // when this payload reached the screen (the benchmark reads it)
  }

  /** The map's picture at the size it is drawn, scaled once per size and picture: a drag redraws the static layer
   *  every frame, and copying pixels is cheaper than resampling the picture. */
  scaledPicture(b) {
    const dpr = window.devicePixelRatio || 1, w = Math.round(b.w * dpr), h = Math.round(b.h * dpr);
    const cached = this.pictureCache;
    if (cached && cached.picture === this.picture && cached.canvas.width === w && cached.canvas.height === h) {
      return cached.canvas;
    }
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height] = [w, h];
    canvas.getContext("2d").drawImage(this.picture, 0, 0, w, h);
    this.pictureCache = { picture: this.picture, canvas };
    return canvas;
  }

  drawLandmarks(ctx) {
    const m = this.p.map;
    for (const [x, y] of m.minima) star(ctx, ...this.toScreen(x, y), 9 * this.scale);
    for (const [x, y] of m.saddles) cross(ctx, ...this.toScreen(x, y), 6 * this.scale);
    const start = this.startPoint();
    if (!start || start.some((v) => v === null)) return;  // a start the map cannot place
    const [sx, sy] = this.toScreen(...start);
    ctx.beginPath();
    ctx.arc(sx, sy, 7 * this.scale, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#333";
    ctx.setLineDash([]);
    ctx.stroke();
  }

  /** A row's pixels: sx(step), sy(value) in box b. */
  rowScale(row, b) {
    const [lo, hi] = row.range, n = this.n;
    return [(s) => b.x + (s / Math.max(n, 1)) * b.w, (v) => b.y + ((hi - v) / (hi - lo)) * b.h];
  }

  drawRow(ctx, row, b) {
    const [lo, hi] = row.range, [sx, sy] = this.rowScale(row, b);
    const first = row.first ?? 1;  // the step of a line's first value: 1 for the state, 0 for the loss
    // a narrow row too short for its title keeps its symbols (m̂ = m / (1 − β₁ᵗ)), not a few of its words
    ctx.font = `${13 * this.scale}px ${FONT}`;
    const narrow = b.w < NARROW_ROW * this.scale && ctx.measureText(row.title).width > b.w - 4;
    const named = row.short && narrow ? row.short : row.title;
    const title = row.stale ? `${named} — ${this.p.live.stale}` : named;
    this.text(ctx, title, b.x, b.y - 6 * this.scale, "left", row.stale ? "#999" : "#333", 13, b.w - 4);
    ctx.save();
    clipTo(ctx, b);
    if (lo < 0 && hi > 0) hline(ctx, b, sy(0), "#bbb");
    for (const line of row.lines) {
      const run = this.runs[line.run];
      if (this.hidden.has(run.label)) continue;
      const pts = new Float32Array(2 * line.v.length);
      for (let s = 0; s < line.v.length; s++) { pts[2 * s] = sx(s + first); pts[2 * s + 1] = sy(line.v[s]); }
      polyline(ctx, pts, 0, line.v.length, run.color, STATE_WIDTH, DASHES[line.dash]);
    }
    ctx.restore();
    this.axes(ctx, b, b.bottom ? this.p.step_ticks : [], row.ticks, sx, sy, b.bottom ? this.unit() : "", "");
  }

  drawPanel(ctx) {
    const P = this.panel, b = this.box.panel;
    const [xl, xh] = P.x_range, [yl, yh] = P.y_range;
    P.sx = (v) => b.x + ((v - xl) / (xh - xl)) * b.w;
    P.sy = (v) => b.y + ((yh - v) / (yh - yl)) * b.h;
    this.text(ctx, P.title, b.x, b.y - 6 * this.scale, "left", "#333", 13, b.w);
    ctx.save();
    clipTo(ctx, b);
    for (let i = 0; i < P.xs.length; i++) {
      ctx.beginPath();
      ctx.arc(P.sx(P.xs[i]), P.sy(P.ys[i]), 2.6 * this.scale, 0, 2 * Math.PI);
      ctx.fillStyle = P.cls ? CLASS_COLORS[P.cls[i] % CLASS_COLORS.length] : "#667";
      ctx.globalAlpha = 0.7;
      ctx.fill();
    }
    ctx.restore();
    this.axes(ctx, b, P.x_ticks, P.y_ticks, P.sx, P.sy, P.x_label, P.y_label);
  }

  /** A frame around box b, ticks [value, label] along its bottom and left, and axis titles. */
  axes(ctx, b, xTicks, yTicks, sx, sy, xTitle, yTitle) {
    ctx.save();
    ctx.setLineDash([]);
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(b.x + 0.5, b.y + 0.5, b.w - 1, b.h - 1);
    ctx.beginPath();
    for (const [v] of xTicks) { const x = Math.round(sx(v)) + 0.5; ctx.moveTo(x, b.y + b.h); ctx.lineTo(x, b.y + b.h + 5); }
    for (const [v] of yTicks) { const y = Math.round(sy(v)) + 0.5; ctx.moveTo(b.x - 5, y); ctx.lineTo(b.x, y); }
    ctx.stroke();
    ctx.restore();
    const f = 12;
    yTicks = spaced(yTicks, sy, 14 * this.scale);
    for (const [v, t] of xTicks) this.text(ctx, t, sx(v), b.y + b.h + 17 * this.scale, "center", "#444", f);
    for (const [v, t] of yTicks) this.text(ctx, t, b.x - 7, sy(v) + 4 * this.scale, "right", "#444", f);
    if (xTitle) this.text(ctx, xTitle, b.x + b.w / 2, b.y + b.h + 33 * this.scale, "center", "#333", 13);
    if (yTitle) {
      ctx.save();
      ctx.translate(b.x - 36 * this.scale, b.y + b.h / 2);
      ctx.rotate(-Math.PI / 2);
      this.text(ctx, yTitle, 0, 0, "center", "#333", 13);
      ctx.restore();
    }
  }

  text(ctx, s, x, y, align, color, size, maxWidth) {
    ctx.font = `${size * this.scale}px ${FONT}`;
    ctx.textAlign = align;
    ctx.fillStyle = color;
    if (maxWidth && ctx.measureText(s).width > maxWidth) {  // cut with an ellipsis rather than run into a neighbour
      while (s.length > 1 && ctx.measureText(s + "…").width > maxWidth) s = s.slice(0, -1);
      s += "…";
    }
    ctx.fillText(s, x, y);
  }

  // --- dynamic layer ------------------------------------------------------------------------------------------

  drawFrame() {
    if (!this.box) return;
    const ctx = this.dynamicCanvas.getContext("2d"), k = Math.floor(this.step), b = this.box.map;
    ctx.clearRect(0, 0, this.w, this.h);
    this.scrub.value = k;
    this.stepEl.textContent = `${this.unit()} ${k.toLocaleString("en")} / ${this.n.toLocaleString("en")}`;
    const perStep = this.p.data_panel?.epochs_per_step;
    if (perStep?.length) this.stepEl.textContent += ` · ${epochsText(k, perStep)}`;
    ctx.save();
    clipTo(ctx, b);
    const kinds = this.p.arrow_kinds.filter((a) => this.arrowChoice === "all" || this.arrowChoice === a.key);
    this.runs.forEach((r, i) => this.drawCompanions(ctx, r, i, k));
    this.runs.forEach((r, i) => {
      if (this.hidden.has(r.label)) return;
      const [px, py] = [this.screen[i][2 * k], this.screen[i][2 * k + 1]];
      if (!Number.isFinite(px) || !Number.isFinite(py)) return;
      for (const kind of kinds) {
        const tip = r.tips[kind.key];
        if (tip && Number.isFinite(tip[2 * k])) arrow(ctx, px, py, ...this.toScreen(tip[2 * k], tip[2 * k + 1]), r.color, DASHES[kind.dash]);
      }
      ctx.beginPath();
      ctx.arc(px, py, MARKER_RADIUS * this.scale, 0, 2 * Math.PI);
      ctx.fillStyle = r.color;
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = "white";
      ctx.setLineDash([]);
      ctx.stroke();
    });
    ctx.restore();
    for (const rb of this.box.rows) {
      const x = Math.round(rb.x + (k / Math.max(this.n, 1)) * rb.w) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, rb.y);
      ctx.lineTo(x, rb.y + rb.h);
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = "#555";
      ctx.setLineDash([]);
      ctx.stroke();
    }
    if (this.rows[0]?.key === "loss") this.drawLossMarks(ctx, this.rows[0], this.box.rows[0], k);
    if (this.panel) this.drawFitLines(ctx, k);
  }

  /** Each racer's loss at the playhead, a dot in its colour on the loss chart. */
  drawLossMarks(ctx, row, b, k) {
    const [sx, sy] = this.rowScale(row, b);
    ctx.save();
    clipTo(ctx, b);
    for (const line of row.lines) {
      const run = this.runs[line.run], v = line.v[k];
      if (this.hidden.has(run.label) || !Number.isFinite(v)) continue;
      ctx.beginPath();
      ctx.arc(sx(k), sy(v), 3.2 * this.scale, 0, 2 * Math.PI);
      ctx.fillStyle = run.color;
      ctx.fill();
    }
    ctx.restore();
  }

  /** A run's companion paths (an average, another iterate, inner iterations: race_payload's "companions") up to
   *  step k, thin in its colour, a ring at the latest point. A run raced again here while a slider is dragged
   *  draws the companions the engine recorded by the same name, and leaves out the others (they would be stale). */
  drawCompanions(ctx, r, i, k) {
    if (this.hidden.has(r.label) || !r.companions?.length) return;
    const raced = r !== this.serverRuns[i] && this.live?.cache[i]?.result;
    for (const c of r.companions) {
      const xy = raced ? raced.state[c.trace] : decodedF32(c.points);
      if (!xy) continue;
      const count = Math.min(decodedF32(c.reached)[k], xy.length / 2), pts = new Float32Array(2 * count);
      for (let j = 0; j < count; j++) [pts[2 * j], pts[2 * j + 1]] = this.toScreen(xy[2 * j], xy[2 * j + 1]);
      const width = this.pathWidth * c.style.width;
      polyline(ctx, pts, 0, count, r.color, width, DASHES[c.style.dash].map((d) => d * Math.max(1, width)));
      ctx.beginPath();
      for (let j = c.style.dots ? 0 : Math.max(0, count - 1); j < count; j++) {
        const radius = (c.style.dots ? 0.8 : 1.3) * this.pathWidth * this.scale;
        ctx.moveTo(pts[2 * j] + radius, pts[2 * j + 1]);
        ctx.arc(pts[2 * j], pts[2 * j + 1], radius, 0, 2 * Math.PI);
      }
      ctx.strokeStyle = ctx.fillStyle = r.color;
      ctx.setLineDash([]);
      c.style.dots ? ctx.fill() : ctx.stroke();
    }
  }

  drawFitLines(ctx, k) {
    const P = this.panel;
    ctx.save();
    clipTo(ctx, this.box.panel);
    P.segs.forEach((seg, i) => {
      const r = this.runs[i];
      if (!r || this.hidden.has(r.label)) return;
      const [a, b, c, d] = seg.subarray(4 * k, 4 * k + 4);
      if (![a, b, c, d].every(Number.isFinite)) return;
      ctx.beginPath();
      ctx.moveTo(P.sx(a), P.sy(b));
      ctx.lineTo(P.sx(c), P.sy(d));
      ctx.lineWidth = 2.4;
      ctx.strokeStyle = r.color;
      ctx.setLineDash([]);
      ctx.stroke();
    });
    ctx.restore();
  }

  // --- playback -----------------------------------------------------------------------------------------------

  startClock(from) {
    this.clock = { t0: performance.now(), step0: from, rate: playRate(this.n, this.p.play_seconds, this.speed), last: this.n };
  }

  play() {
    if (this.step >= this.n) this.step = 0;  // Play at the end replays the race
    this.startClock(this.step);
    this.playBtn.textContent = "❚❚ Pause";
    this.root.dataset.playing = "1";
    const tick = (now) => {
      if (!this.clock) return;
      this.step = stepAt(this.clock, now);
      this.drawFrame();
      this.frames = (this.frames || 0) + 1;
      if (this.step >= this.n) { this.endedAt = now; this.pause(); }
      else this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  pause() {
    this.clock = null;
    cancelAnimationFrame(this.raf);
    if (this.playBtn) this.playBtn.textContent = "▶ Play";
    if (this.root) delete this.root.dataset.playing;
  }

  toggle() { this.clock ? this.pause() : this.play(); }

  seek(step) {
    this.pause();
    this.step = Math.max(0, Math.min(this.n, Math.round(step)));
    this.drawFrame();
  }

  setSpeed(speed) {
    this.speed = speed;
    for (const b of this.speedsEl.children) b.classList.toggle("rv-on", b.textContent === `${speed}×`);
    if (this.clock) this.startClock(this.step);
  }

  /** What one point of the race counts: "step", or "evaluation" in a race aligned by gradient evaluations. */
  unit() {
    return this.p.unit || "step";
  }

  key(e) {
    if (!this.p || !this.root.isConnected || this.root.offsetParent === null) return;
    const target = e.composedPath()[0];
    const ours = this.root.contains(target) || target === this.root;
    if (ours && e.currentTarget !== this.root) return;  // taken already, on the root
    if (ours && this.tuneEl.contains(target)) return;  // a hyperparameter's slider steps itself
    if (!ours && (typing(target) || this.options.page_keys === false)) return;  // the page's inputs keep theirs
    const jump = e.shiftKey ? 10 : 1;
    if (e.key === " ") this.toggle();
    else if (e.key === "ArrowRight") this.seek(Math.floor(this.step) + jump);
    else if (e.key === "ArrowLeft") this.seek(Math.ceil(this.step) - jump);
    else if (e.key === "Home") this.seek(0);
    else if (e.key === "End") this.seek(this.n);
    else return;
    e.preventDefault();
  }

  // --- under the finger: the race raced again here while a slider or the start point is dragged ----------------

  /** Whether anything dragged still differs from the payload. */
  dragging() {
    return this.overrides.start !== null || Object.keys(this.overrides.hparams).length > 0;
  }

  startPoint() {
    return this.overrides.start || this.p.start;
  }

  /** Forget what the new payload agrees with (the server's race of the settled values replaces the browser's, which
   *  equals it); a new scene forgets everything. */
  reconcile(newScene) {
    const o = this.overrides, live = this.p.live;
    if (newScene || !live) {
      this.overrides = { start: null, hparams: {} };
      return;
    }
    const same = (a, b) => a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
    if (o.start && same(o.start[0], this.p.start[0]) && same(o.start[1], this.p.start[1])) o.start = null;
    for (const [i, changed] of Object.entries(o.hparams)) {
      const given = live.runs[i]?.hparams;
      for (const [name, value] of Object.entries(changed)) if (!given || same(given[name], value)) delete changed[name];
      if (!Object.keys(changed).length) delete o.hparams[i];
    }
  }

  /** The race with what was dragged, from the engine; runs the browser cannot race keep the server's drawing, and
   *  the note says so. */
  recompute() {
    if (!this.live) return;
    const results = this.live.compute(this.overrides), live = this.p.live;
    const vectors = results.map((r, i) => r && (r.vectors ||= arrowVectors(r, this.live.surface, live.runs[i].moment, this.n)));
    const tips = arrowTips(vectors, results.map((r) => r && r.path), this.p.map.window, live.arrows);
    this.runs = this.serverRuns.map((r, i) => {
      const res = results[i];
      if (!res) return r;
      const diverged = res.divergedAt;
      return { ...r, xy: res.path, lossValues: res.loss || r.lossValues, tips: tips[i], diverged_at: diverged,
        legend: diverged == null ? r.label : live.diverged.replace("{label}", r.label).replace("{step}", diverged),
        hover: this.overrides.hparams[i] ? "" : r.hover };  // its rate as the server wrote it, until the release
    });
    this.rows = this.withLoss(this.serverRows.map((row) => this.liveRow(row, results)));
    const stuck = this.serverRuns.map((_, i) => i).filter((i) => !results[i] && this.changedRun(i));
    this.showNote(stuck.length ? `${live.note}: ${this.live.reason(stuck[0], this.lastName)}` : "");
    this.buildLegend();
    this.drawStatic();
    this.drawFrame();
    this.liveFrames++;
  }

  /** The loss chart above the state rows, from the runs drawn now (the payload's, or the browser's while dragging),
   *  where rows are shown and the race has a loss. */
  withLoss(rows) {
    const titles = this.p.live?.loss_titles;
    if (this.options.rows === false || !titles || !this.runs.some((r) => r.lossValues.some(Number.isFinite))) return rows;
    return [lossRow(this.runs, titles), ...rows];
  }

  changedRun(i) {
    return this.overrides.start !== null || !!this.overrides.hparams[i];
  }

  /** A state row with the lines the engine recorded or worked out (m̂, the effective step: engine.diagnose), its
   *  range and ticks worked out again; lines of runs it cannot race keep the server's, and the row says it is
   *  updated on release. */
  liveRow(row, results) {
    let changed = false, stale = false;
    const lines = row.lines.map((line) => {
      const trace = results[line.run] && recorded(results[line.run], line.name);
      if (trace) {
        changed = true;
        return { ...line, v: stateLine(trace, line.part, row.log, this.n) };
      }
      if (this.changedRun(line.run)) stale = true;
      return line;
    });
    if (!changed) return { ...row, stale };
    const steady = lines.filter((l) => this.runs[l.run].diverged_at == null);
    const range = rowRange((steady.length ? steady : lines).map((l) => l.v), row.log);
    return { ...row, lines, stale, range, ticks: roundTicks(range[0], range[1], row.log, 4) };
  }

  /** At most one recomputation per animation frame, however many input events it had: the first event of a frame
   *  is drawn at once (in time for that frame's paint), later ones by the next frame. inputToPaint keeps each
   *  drawing's time from its first input event to the end of the drawing (the benchmark reads it). */
  requestRecompute(inputAt = performance.now()) {
    this.inputAt ??= inputAt;
    if (this.frameBusy) {
      this.pendingRecompute = true;
      return;
    }
    this.recompute();
    (this.inputToPaint ||= []).push(performance.now() - this.inputAt);
    if (this.inputToPaint.length > 1000) this.inputToPaint.splice(0, 500);
    this.inputAt = null;
    this.frameBusy = true;
    requestAnimationFrame(() => {
      this.frameBusy = false;
      if (this.pendingRecompute) {
        this.pendingRecompute = false;
        this.requestRecompute(this.inputAt ?? performance.now());
      }
    });
  }

  showNote(text) {
    if (this.noteEl && this.noteEl.textContent !== text) this.noteEl.textContent = text;
  }

  /** The settled values back to the host (one rerun), a moment after the last release: a burst of arrow keys is one
   *  message, and the message always carries the latest of everything dragged. */
  settle() {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      const hparams = Object.entries(this.overrides.hparams).flatMap(([run, changed]) =>
        Object.entries(changed).map(([name, value]) => ({ run: Number(run), name, value })));
      const start = this.overrides.start;
      if (!hparams.length && !start) return;
      this.onSettle({ hparams, start: start && { x: start[0], y: start[1] } });
    }, SETTLE_QUIET);
  }

  buildTune() {
    const live = this.p.live;
    const racers = live ? live.runs.map((r, i) => [i, r.sliders]).filter(([, s]) => s.length) : [];
    if (!racers.some(([i]) => i === this.focus)) this.focus = racers.length ? racers[racers.length - 1][0] : null;
    const focus = this.focus == null ? null : live.runs[this.focus];
    if (this.changed("tune", [racers.map(([i]) => this.p.runs[i].label), focus && focus.sliders, this.focus])) {
      this.tuneEl.replaceChildren();
      this.sliders = [];
      if (focus) this.tuneEl.append(...this.tuneControls(racers, focus));
    }
    for (const { input, out, s } of this.sliders || []) {  // the values of the payload, or of what is dragged
      const value = this.overrides.hparams[this.focus]?.[s.name] ?? focus.hparams[s.name];
      if (document.activeElement !== input || !this.dragging()) input.value = sliderPosition(s, value);
      out.textContent = fmt(value);
    }
  }

  tuneControls(racers, focus) {
    const parts = [];
    const pick = el("select", "rv-focus");
    pick.setAttribute("aria-label", this.p.live.focus_label);
    pick.replaceChildren(...racers.map(([i]) => { const o = el("option", "", this.p.runs[i].label); o.value = i; return o; }));
    pick.value = this.focus;
    pick.onchange = () => { this.focus = Number(pick.value); this.buildTune(); };
    parts.push(pick);
    for (const s of focus.sliders) {
      const box = el("label", "rv-slider"), input = el("input"), out = el("output");
      box.append(el("span", "rv-slider-name", s.label.split(" (")[0]), input, out);
      input.type = "range";
      input.min = 0;
      input.max = s.positions;
      input.step = 1;
      input.setAttribute("aria-label", s.label);
      input.title = s.label;
      input.oninput = (e) => {
        const value = sliderValue(s, Number(input.value), this.p.live.digits), run = this.focus;
        (this.overrides.hparams[run] ||= {})[s.name] = value;
        this.lastName = s.name;
        out.textContent = fmt(value);
        this.requestRecompute(e.timeStamp);
      };
      input.onchange = () => this.settle();
      // the slider's keys are its own: a host page that takes them on their way up (JupyterLab's notebook moves
      // between cells) would stop the slider from stepping
      input.onkeydown = (e) => { if (e.key.startsWith("Arrow") || e.key.startsWith("Page")) e.stopPropagation(); };
      this.sliders.push({ input, out, s });
      parts.push(box);
    }
    this.noteEl = el("span", "rv-note");
    parts.push(this.noteEl);
    return parts;
  }

  /** The start point follows the pointer on the map while it is held; a click places it. */
  grabStart(e) {
    const [mx, my] = this.where(e);
    if (!this.inside(this.box?.map, mx, my) || !(this.options.clickable || this.live)) return;
    try {
      this.dynamicCanvas.setPointerCapture(e.pointerId);  // the drag goes on outside the canvas
    } catch {
      // a pointer the browser does not know (a synthetic event): the drag goes on while over the canvas
    }
    this.held = true;
    this.moveStart(e);
  }

  moveStart(e) {
    if (!this.held) return;
    const [mx, my] = this.where(e), b = this.box.map, decimals = this.p.live?.start_decimals ?? 3;
    const [x, y] = this.toWorld(Math.min(b.x + b.w, Math.max(b.x, mx)), Math.min(b.y + b.h, Math.max(b.y, my)));
    this.overrides.start = [Number(x.toFixed(decimals)), Number(y.toFixed(decimals))];
    this.lastName = null;
    this.tip.style.display = "none";
    this.requestRecompute(e.timeStamp);
  }

  dropStart(e) {
    if (!this.held) return;
    this.moveStart(e);
    this.held = false;
    if (this.options.clickable) this.settle();
  }

  // --- mouse --------------------------------------------------------------------------------------------------

  where(e) {
    const r = this.dynamicCanvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  }

  inside(b, x, y) { return b && x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h; }

  hover(e) {
    const [mx, my] = this.where(e);
    const lines = this.inside(this.box.map, mx, my) ? this.mapHover(mx, my)
      : this.box.rows.some((b) => this.inside(b, mx, my)) ? [`${this.unit()} ${this.rowStep(mx)} — click to show it`] : null;
    if (!lines) { this.tip.style.display = "none"; return; }
    this.tip.innerHTML = lines.join("<br>");
    this.tip.style.display = "block";
    const flip = mx > this.w * 0.6;
    this.tip.style.left = flip ? "" : mx + 14 + "px";
    this.tip.style.right = flip ? this.w - mx + 14 + "px" : "";
    this.tip.style.top = Math.min(my + 14, this.h - 70) + "px";
  }

  /** f(x, y) under the cursor, and the nearest optimizer's point (step, position, loss) within HOVER_PIXELS. */
  mapHover(mx, my) {
    const [x, y] = this.toWorld(mx, my), g = this.p.map.value_grid;
    const lines = [`f(${fmt(x)}, ${fmt(y)}) = <b>${fmt(gridValue(this.grid, g.nx, g.ny, this.p.map.window, x, y))}</b>`];
    let best = null;
    this.runs.forEach((r, i) => {
      if (this.hidden.has(r.label)) return;
      const near = nearestPoint(this.screen[i], mx, my, HOVER_PIXELS);
      if (near.index >= 0 && (!best || near.d2 <= best.d2)) best = { ...near, r };
    });
    if (best) {
      const { r, index: s } = best;
      const detail = r.hover ? ` · ${escape(r.hover)}` : "";
      lines.push(`<span style="color:${r.color}">●</span> <b>${escape(r.label)}</b>${detail}`,
        `${this.unit()} ${s}: (${fmt(r.xy[2 * s])}, ${fmt(r.xy[2 * s + 1])}), loss ${fmt(r.lossValues[s])}`);
    } else if (this.options.clickable || this.live) lines.push("click or drag to start the race here");
    return lines;
  }

  rowStep(mx) {
    const b = this.box.rows.find((r) => mx >= r.x && mx <= r.x + r.w) || this.box.rows[0];  // its column's
    return Math.max(0, Math.min(this.n, Math.round(((mx - b.x) / b.w) * this.n)));
  }

  click(e) {
    const [mx, my] = this.where(e);
    const onMap = this.inside(this.box.map, mx, my);  // there a click is the start point's (grabStart … dropStart)
    if (!onMap && this.box.rows.some((b) => this.inside(b, mx, my))) this.seek(this.rowStep(mx));
    this.root.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Drawing helpers

/** Whether keys pressed on `target` edit something: text fields, selects, sliders. A checkbox, toggle or button
 *  (say, Presentation mode just switched on) is not typing: space there plays the race. */
export function typing(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || ["TEXTAREA", "SELECT"].includes(target.tagName)) return true;
  if (target.tagName === "INPUT") return !["checkbox", "radio", "button", "submit"].includes(target.type);
  return ["slider", "combobox", "textbox", "spinbutton", "listbox"].includes(target.getAttribute("role"));
}

/** A legend chip's tooltip: the run's settings, what its companion paths are, and what a click does. */
function chipTitle(r) {
  return [`${r.name} — click to hide or show`, ...(r.companions || []).map((c) => c.label)].join("\n");
}

const decoded = new WeakMap();

/** decodeF32 of a payload field, once. */
function decodedF32(field) {
  if (!decoded.has(field)) decoded.set(field, decodeF32(field));
  return decoded.get(field);
}

function escape(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** Every other tick (every third, ...) when neighbours would be closer than `pixels` on screen. */
export function spaced(ticks, toPixel, pixels) {
  for (let every = 1; every < ticks.length; every++) {
    const kept = ticks.filter((_, i) => i % every === 0);
    if (kept.every((t, i) => i === 0 || Math.abs(toPixel(t[0]) - toPixel(kept[i - 1][0])) >= pixels)) return kept;
  }
  return ticks.slice(0, 1);
}

function clipTo(ctx, b) {
  ctx.beginPath();
  ctx.rect(b.x, b.y, b.w, b.h);
  ctx.clip();
}

function hline(ctx, b, y, color) {
  ctx.beginPath();
  ctx.moveTo(b.x, y);
  ctx.lineTo(b.x + b.w, y);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1;
  ctx.setLineDash([]);
  ctx.stroke();
}

/** Points i0..i1-1 of xy joined by a line, broken wherever a point is not finite (a diverged run). */
function polyline(ctx, xy, i0, i1, color, width, dash = []) {
  ctx.beginPath();
  let pen = false;
  for (let i = i0; i < i1; i++) {
    const x = xy[2 * i], y = xy[2 * i + 1];
    if (!Number.isFinite(x) || !Number.isFinite(y)) { pen = false; continue; }
    pen ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    pen = true;
  }
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.lineJoin = "round";
  ctx.setLineDash(dash);
  ctx.stroke();
}

function arrow(ctx, ax, ay, bx, by, color, dash) {
  const len = Math.hypot(bx - ax, by - ay);
  if (!(len > 1)) return;
  const ux = (bx - ax) / len, uy = (by - ay) / len, head = Math.min(10, len * 0.5);
  ctx.beginPath();
  ctx.moveTo(ax, ay);
  ctx.lineTo(bx - ux * head * 0.6, by - uy * head * 0.6);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2.2;
  ctx.setLineDash(dash);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(bx, by);
  ctx.lineTo(bx - ux * head - uy * head * 0.45, by - uy * head + ux * head * 0.45);
  ctx.lineTo(bx - ux * head + uy * head * 0.45, by - uy * head - ux * head * 0.45);
  ctx.closePath();
  ctx.fillStyle = color;
  ctx.fill();
}

function star(ctx, x, y, r) {
  ctx.beginPath();
  for (let i = 0; i < 10; i++) {
    const a = -Math.PI / 2 + (i * Math.PI) / 5, rr = i % 2 ? r * 0.45 : r;
    ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
  }
  ctx.closePath();
  ctx.fillStyle = "#ffd400";
  ctx.fill();
  ctx.strokeStyle = "#333";
  ctx.lineWidth = 1.2;
  ctx.setLineDash([]);
  ctx.stroke();
}

function cross(ctx, x, y, r) {
  ctx.beginPath();
  ctx.moveTo(x - r, y - r);
  ctx.lineTo(x + r, y + r);
  ctx.moveTo(x + r, y - r);
  ctx.lineTo(x - r, y + r);
  ctx.strokeStyle = "#333";
  ctx.lineWidth = 2.5;
  ctx.setLineDash([]);
  ctx.stroke();
}

// ---------------------------------------------------------------------------------------------------------------
// Mounting: the one entry every host uses (streamlit.js, the app's component and the exported page; anywidget.js,
// the notebook widget). A host turns what it receives into a payload and options and calls mount() again with each
// new race: the viewer in `parent` is kept, and with it the step shown, the speed and the optimizers hidden.

const viewers = new WeakMap();

/** Draw `payload` (optviz/figures/race_payload.py, its map included) in `parent` with `options` (font_scale, rows,
 *  min_height, max_height, bottom_margin, clickable, scene, path_width, map_first, page_keys; see
 *  optviz/ui/race_viewer/__init__.py). The map's start point and the focused racer's sliders drag with the race
 *  raced again here; `onSettle({hparams: [{run, name, value}], start: {x, y} or null})` is called once a gesture
 *  is released (a start dragged or clicked: only when options.clickable). page_keys: false leaves the page's keys
 *  alone unless the viewer has the focus (a notebook, whose keys are JupyterLab's). Returns a function that removes
 *  the viewer. */
export function mount(parent, payload, options = {}, { onSettle = () => {} } = {}) {
  let viewer = viewers.get(parent);
  if (!viewer) {
    viewer = new RaceViewer(parent);
    viewers.set(parent, viewer);
    window.__raceViewers = (window.__raceViewers || []).concat(viewer);  // for the browser tests and benchmark
  }
  viewer.onSettle = onSettle;
  viewer.setData(payload, options);
  return () => {
    viewer.destroy();
    if (viewers.get(parent) === viewer) viewers.delete(parent);
    window.__raceViewers = (window.__raceViewers || []).filter((v) => v !== viewer);
  };
}
