// Dental layout for <lucent-viewer>: the MPR layout's axial pane (crosshair, W/L, zoom, wheel through slices, all
// MprLayout's own), a panoramic along the dental arch, a strip of cross-sections perpendicular to it, and a panel.
// The volume, the window and the axial pane are the MprLayout's; this layout borrows the axial pane's cell while it
// is shown and draws on it through the MPR plugin hooks (mpr.js). Every pixel comes from the core (worker.js,
// viewer-core/src/pano.rs), so a pane shows exactly `lucent pano` / `lucent sections` with view() / sectionParams().
//
// Geometry (patient LPS, mm; the core's conventions, viewer-core/src/pano.rs). The *arch* is control points clicked
// on the axial pane plus `up` (superior); the core joins them by a centripetal Catmull-Rom spline in the plane
// through their mean, ordered from the patient's right end to the left end (it reverses them when the last point
// lies right of the first; we keep our list in that order too). The *focal curve* c(s) is the arch moved by
// `shift` along the buccal normal n(s); s is arc length along it (0..L, patient right -> left), h is mm along up.
//   panoramic:  canvas u = width/2 + (s - center_s)/mm,  v = height/2 - (h - center_h)/mm   (up is up on screen)
//   section i:  at s_i = at + (i - (count-1)/2) * spacing, the plane through c(s_i) + center_h*up with right = n
//               (buccal on the right), down = -up; tile pixels like an MPR view (planes from the core)
// The panoramic is sampled at equal arc length, so a distance on it is hypot(ds, dh): true mm on the focal surface.
// Canal points are kept as patient points; their (s, h) for drawing on the panoramic come from the core.
//
// Mouse: axial pane with the Arch tool: click adds a point (at the nearer end, or into the curve when clicked on it),
// drag moves one, Alt+click or Delete removes one. Panoramic / sections: left click = the tool (default: move the
// cross-sections there; Canal: add a canal point; Distance: drag a distance, Shift+click: distance to the canal),
// right drag = window/level, middle drag = pan, Ctrl+wheel = zoom, wheel / arrow keys = move the cross-sections.
// Double-click (any pane, the axial one too) = maximise / restore, unless Arch, Canal or Distance is on.
import { MSG } from './protocol.js';
import { el, watchDeviceSize } from './dom.js';
import { LatestRun } from './latest.js';

const COLORS = { pano: '#c79bff', sections: '#5ed0d0' };
const ARCH = '#ff7ad9';
const CANAL = '#ff5a4d';
const MEASURE = '#ffd84d';
const TICK = '#5ed0d0';
const CURVE_STEP_MM = 0.25;     // focal-curve samples fetched for drawing and mapping (linear in between)
const HIT_PX = 8;               // CSS px: grabbing an arch point
const CURVE_HIT_PX = 6;         // CSS px: a click this close to the arch inserts a point into it
const MAX_SHIFT_MM = 20;
const MAX_SLAB_MM = 40;
const PANO_FIT_HEIGHT_MM = 60;  // a fitted panoramic shows at least this much height

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const add = (a, b, k = 1) => [a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2]];
const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const len = (a) => Math.hypot(a[0], a[1], a[2]);
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const canvasBlob = (canvas, type, quality) => (canvas.convertToBlob ? canvas.convertToBlob({ type, quality })
  : new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The picture could not be encoded.'))), type, quality)));

/** The focal curve at arc length s, linear between the core's samples (extrapolated past the ends). */
function curveAt(curve, s) {
  const S = curve.samples;
  let i = 0;
  let j = S.length - 1;
  while (j - i > 1) {
    const m = (i + j) >> 1;
    if (S[m][0] <= s) i = m;
    else j = m;
  }
  const a = S[i];
  const b = S[Math.min(i + 1, S.length - 1)];
  const f = b[0] > a[0] ? (s - a[0]) / (b[0] - a[0]) : 0;
  const mix = (k) => a[k] + f * (b[k] - a[k]);
  return { p: [mix(1), mix(2), mix(3)], n: [mix(4), mix(5), mix(6)] };
}

/** Arc length of the curve point nearest to p, and the distance, measured across `up` (in the arch plane). */
function nearestOnCurve(curve, p) {
  const up = curve.up;
  const flat = (q) => add(q, up, -dot(q, up));
  const pf = flat(p);
  let best = { s: 0, dist: Infinity };
  const S = curve.samples;
  for (let k = 0; k + 1 < S.length; k++) {
    const a = flat(S[k].slice(1, 4));
    const ab = sub(flat(S[k + 1].slice(1, 4)), a);
    const l2 = dot(ab, ab);
    const f = l2 > 0 ? clamp(dot(sub(pf, a), ab) / l2, 0, 1) : 0;
    const dist = len(sub(pf, add(a, ab, f)));
    if (dist < best.dist) best = { s: S[k][0] + f * (S[k + 1][0] - S[k][0]), dist };
  }
  return best;
}

function button(label, title, run, cls = 'lv-tool') {
  const b = el('button', cls, label);
  b.type = 'button';
  b.title = title;
  b.addEventListener('click', run);
  return b;
}

function numberInput(name, { min, max, step, title }) {
  const input = el('input', 'lv-pano-number');
  Object.assign(input, { type: 'number', min: String(min), max: String(max), step: String(step), title });
  input.name = name;
  return input;
}

function field(label, input, unit = '') {
  const l = el('label', 'lv-pano-field');
  l.append(label, input);
  if (unit) l.append(el('span', 'lv-pano-unit', unit));
  return l;
}

function download(blob, name) {
  const a = el('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

export class PanoLayout {
  /** @param viewer the <lucent-viewer> element; @param mpr its MprLayout (volume, window, axial pane) */
  constructor(viewer, mpr) {
    this.viewer = viewer;
    this.mpr = mpr;
    this.active = false;
    this.maximized = null;          // 'axial' | 'pano' | 'sections' filling the layout, or null
    this._volume = null;
    this._reset();
    this._geo = new LatestRun(() => this._computeGeometry());
    this.element = el('div', 'lv-pano');
    this.axialSlot = el('div', 'lv-pano-axial');
    this.panes = { pano: this._makePane('pano', 'Panoramic'), sections: this._makePane('sections', 'Cross-sections') };
    this.panel = this._makePanel();
    this.element.append(this.axialSlot, this.panes.pano.cell, this.panes.sections.cell, this.panel);
    // What MprLayout calls while this layout is shown (see mpr.js).
    this._plugin = {
      panes: ['axial'],
      pointerdown: (name, world, e) => this._archDown(name, world, e),
      pointermove: (name, world) => this._archMove(world),
      pointerup: () => { this._dragging = -1; },
      keydown: (name, e) => this._archKey(e),
      drawOverlay: (g, pane, view) => pane.name === 'axial' && this._drawAxial(g, view),
      dblclick: (name) => this._dblclick(name),
      windowChanged: () => this._renderPanes(),
    };
    this._onMeasurement = () => this._renderList();
  }

  _reset() {
    this.arch = { points: [], up: [0, 0, 1] };
    this.shift = 0;
    this.slab = 10;
    this.mode = 'avg';
    this.sections = { at_mm: null, spacing_mm: 1, count: 5, width_mm: 40, slab_mm: 0, center_h: 0 };
    this.panoView = { center_s: 0, center_h: 0, pixel_mm: 0.2, fitted: true };
    this.canals = [{ points: [], diameter_mm: 3 }];
    this.activeCanal = 0;
    this.measurements = [];
    this._nextId = 1;
    this.curve = null;            // the focal curve (archCurveJson with the shift)
    this.archCurve = null;        // the arch itself (shift 0): what the handles sit on
    this.selected = -1;
    this._dragging = -1;
    this._status = '';
  }

  // ---- showing -----------------------------------------------------------------------------------------------

  /** Takes the MPR axial pane into this layout's grid. */
  attach() {
    this.active = true;
    const cell = this.mpr.panes.axial.cell;
    this._axialHidden = cell.hidden;         // another MPR pane may be maximised
    cell.hidden = false;
    this.axialSlot.replaceChildren(cell);
    this.mpr.plugin = this._plugin;
    this.viewer.addEventListener('lucent:measurement', this._onMeasurement);
  }

  /** Shows one pane ('axial' | 'pano' | 'sections') over the whole layout, or all again (null or the same one). */
  maximize(name) {
    this.maximized = name && this.maximized !== name ? name : null;
    this.element.dataset.maximized = this.maximized ?? '';
  }

  /** A double-click maximises or restores a pane, unless a tool that places points is on (two clicks = two points). */
  _dblclick(name) {
    if (['arch', 'canal', 'distance'].includes(this.viewer.tool)) return false;
    this.maximize(name);
    return true;
  }

  /** Gives the axial pane back to the MPR grid. */
  detach() {
    this.maximize(null);
    this.active = false;
    this.mpr.plugin = null;
    const cell = this.mpr.panes.axial.cell;
    cell.hidden = Boolean(this._axialHidden);
    this.mpr.element.prepend(cell);
    this.viewer.removeEventListener('lucent:measurement', this._onMeasurement);
  }

  /** Called once the MPR volume is there: a new volume starts a new dental session. */
  open() {
    if (this._volume !== this.mpr.volume) {
      this._volume = this.mpr.volume;
      this._reset();
      this._syncPanel();
      this._renderList();
    }
    this._redrawAxial();
    return this._invalidate();
  }

  destroy() {
    for (const pane of Object.values(this.panes)) {
      pane.ro.disconnect();
      pane.bitmap?.close();
    }
  }

  // ---- DOM ---------------------------------------------------------------------------------------------------

  _makePane(name, title) {
    const cell = el('div', `lv-mpr-cell lv-pane lv-pane-${name}`);
    cell.tabIndex = 0;
    cell.dataset.pane = name;
    cell.style.setProperty('--pane-color', COLORS[name]);
    const canvas = el('canvas', 'lv-canvas');
    const overlay = el('canvas', 'lv-canvas lv-pane-overlay');
    const head = el('div', 'lv-ov lv-tl');
    const info = el('div', 'lv-ov lv-br');
    const hint = el('div', 'lv-pano-hint');
    cell.append(canvas, overlay, head, info, hint);
    const pane = {
      name, title, cell, canvas, overlay, head, info, hint,
      ctx: canvas.getContext('2d', { alpha: false }),
      octx: overlay.getContext('2d'),
      bitmap: null, drawn: null, planes: null, x0: 0,
      draft: null,
    };
    pane.rs = new LatestRun(() => this._renderPane(pane));
    const ro = watchDeviceSize(canvas, (w, h) => this._onResize(pane, w, h));
    pane.ro = ro;
    this._bindPane(pane);
    return pane;
  }

  _onResize(pane, w, h) {
    if (w === pane.canvas.width && h === pane.canvas.height) return;
    pane.canvas.width = pane.overlay.width = w;
    pane.canvas.height = pane.overlay.height = h;
    if (pane.name === 'pano' && this.panoView.fitted) this._fitPano();
    this._requestRender(pane);
  }

  _makePanel() {
    const panel = el('div', 'lv-pano-panel');
    const group = (title, ...children) => {
      const g = el('div', 'lv-pano-group');
      g.append(el('div', 'lv-pano-heading', title), ...children);
      return g;
    };
    const row = (...children) => {
      const r = el('div', 'lv-pano-row');
      r.append(...children);
      return r;
    };
    const i = {};
    this._inputs = i;
    this._toolButtons = [
      ['window', 'Navigate', 'Left click: crosshair on the axial pane, cross-section position on the panoramic'],
      ['arch', 'Arch', 'Axial pane: click to add arch points (from one end of the jaw to the other), drag to move, '
        + 'Alt+click or Delete to remove'],
      ['canal', 'Canal', 'Click on the panoramic or a cross-section to add a nerve canal point'],
      ['distance', 'Distance', 'Drag a distance in mm on the panoramic or a cross-section; Shift+click: distance to the canal'],
    ].map(([tool, label, title]) => {
      const b = button(label, title, () => { this.viewer.tool = tool; });
      b.dataset.panoTool = tool;
      return b;
    });
    i.archInfo = el('span', 'lv-pano-note');
    i.slab = numberInput('slab', { min: 0, max: MAX_SLAB_MM, step: 1, title: 'Panoramic slab thickness across the focal trough (0 = thin)' });
    i.mode = el('select', 'lv-pano-select');
    i.mode.title = 'How the slab is combined';
    for (const [v, label] of [['avg', 'Average'], ['mip', 'MIP']]) {
      const o = el('option', null, label);
      o.value = v;
      i.mode.append(o);
    }
    i.shift = numberInput('shift', { min: -MAX_SHIFT_MM, max: MAX_SHIFT_MM, step: 0.5, title: 'Move the focal trough buccally (+) or lingually (-)' });
    i.at = numberInput('at', { min: 0, max: 1000, step: 0.5, title: 'Arc position of the middle cross-section (mm from the patient\'s right end)' });
    i.spacing = numberInput('spacing', { min: 0.1, max: 20, step: 0.5, title: 'Distance between cross-sections' });
    i.count = numberInput('count', { min: 1, max: 15, step: 1, title: 'Number of cross-sections' });
    i.width = numberInput('width', { min: 5, max: 200, step: 5, title: 'Width of a cross-section' });
    i.sectionSlab = numberInput('section-slab', { min: 0, max: MAX_SLAB_MM, step: 0.5, title: 'Cross-section slab thickness along the arch' });
    i.diameter = numberInput('diameter', { min: 0.5, max: 10, step: 0.5, title: 'Nerve canal diameter' });
    i.canals = el('ul', 'lv-pano-list');
    i.measurements = el('ul', 'lv-pano-list');
    i.file = el('input', 'lv-pano-file');
    Object.assign(i.file, { type: 'file', accept: '.json,application/json', tabIndex: -1 });
    i.file.addEventListener('change', () => this._loadFile());
    i.status = el('div', 'lv-pano-status');
    i.status.setAttribute('aria-live', 'polite');

    i.slab.addEventListener('change', () => this.setSlab(Number(i.slab.value), i.mode.value));
    i.mode.addEventListener('change', () => this.setSlab(Number(i.slab.value), i.mode.value));
    i.shift.addEventListener('change', () => this.setShift(Number(i.shift.value)));
    const sections = () => this.setSections({ at_mm: Number(i.at.value), spacing_mm: Number(i.spacing.value),
      count: Number(i.count.value), width_mm: Number(i.width.value), slab_mm: Number(i.sectionSlab.value) });
    for (const k of ['at', 'spacing', 'count', 'width', 'sectionSlab']) i[k].addEventListener('change', sections);
    i.diameter.addEventListener('change', () => {
      const c = this.canals[this.activeCanal];
      if (c) c.diameter_mm = clamp(Number(i.diameter.value) || 3, 0.5, 10);
      this._redrawOverlays();
      this._renderList();
    });

    panel.append(
      group('Tools', row(...this._toolButtons)),
      group('Arch', row(
        button('Propose', 'Propose an arch from the bone in a 10 mm slab at the axial pane\'s height', () => this.proposeArch()),
        button('Clear', 'Remove the arch', () => this.setArch([])),
        i.archInfo)),
      group('Panoramic', row(field('Slab', i.slab, 'mm'), i.mode, field('Shift', i.shift, 'mm'),
        button('PNG', 'Download the panoramic with its scale and labels', () => this.exportPng('pano')))),
      group('Cross-sections', row(field('At', i.at, 'mm'), field('Spacing', i.spacing, 'mm'), field('Count', i.count),
        field('Width', i.width, 'mm'), field('Slab', i.sectionSlab, 'mm'),
        button('PNG', 'Download the cross-sections with their labels', () => this.exportPng('sections')))),
      group('Nerve canal', row(field('Ø', i.diameter, 'mm'),
        button('New canal', 'Start another canal (e.g. the other side)', () => this.newCanal())), i.canals),
      group('Measurements', i.measurements),
      group('Session', row(
        button('Save', 'Download the arch, canals and measurements as JSON', () => this.save()),
        button('Load', 'Restore a saved dental session on this study', () => i.file.click()), i.file), i.status),
    );
    this._syncPanel();
    this._renderList();
    return panel;
  }

  _syncPanel() {
    const i = this._inputs;
    if (!i) return;
    const set = (input, v) => {
      if (this.viewer.shadowRoot?.activeElement !== input) input.value = String(v);   // not while being typed in
    };
    set(i.slab, this.slab);
    i.mode.value = this.mode;
    set(i.shift, this.shift);
    set(i.at, Number(fmt(this.sections.at_mm ?? 0, 1)));
    set(i.spacing, this.sections.spacing_mm);
    set(i.count, this.sections.count);
    set(i.width, this.sections.width_mm);
    set(i.sectionSlab, this.sections.slab_mm);
    set(i.diameter, this.canals[this.activeCanal]?.diameter_mm ?? 3);
    const n = this.arch.points.length;
    i.archInfo.textContent = n ? `${n} point${n === 1 ? '' : 's'}${this.curve ? ` · ${fmt(this.curve.length_mm)} mm` : ''}` : 'none';
    i.status.textContent = this._status;
    this.syncTools();
  }

  /** Pressed state of the panel's tool buttons (the viewer calls this when its tool changes). */
  syncTools() {
    const tool = ['arch', 'canal', 'distance'].includes(this.viewer.tool) ? this.viewer.tool : 'window';
    for (const b of this._toolButtons ?? []) b.setAttribute('aria-pressed', String(b.dataset.panoTool === tool));
    this.element.dataset.tool = tool;
  }

  _renderList() {
    const i = this._inputs;
    if (!i) return;
    const item = (text, onDelete, label, onClick = null) => {
      const li = el('li', 'lv-measure');
      const span = el('span', null, text);
      if (onClick) span.addEventListener('click', onClick);
      const del = button('×', 'Delete', onDelete, 'lv-measure-delete');
      del.setAttribute('aria-label', label);
      li.append(span, del);
      return li;
    };
    i.canals.replaceChildren(...this.canals.map((c, k) => {
      const li = item(`${k === this.activeCanal ? '▸ ' : ''}Canal ${k + 1} · ${c.points.length} pt · ${fmt(polyLength(c.points))} mm · Ø ${fmt(c.diameter_mm)}`,
        () => this.deleteCanal(k), `Delete canal ${k + 1}`, () => {
          this.activeCanal = k;
          this._syncPanel();
          this._renderList();
        });
      li.title = 'Click to continue this canal';
      return li;
    }));
    const title = { pano: 'Pano', sections: 'Section' };
    const dental = this.measurements.map((m) => item(`${title[m.pane]} · ${m.text}`, () => this.deleteMeasurement(m.id),
      `Delete ${m.kind} measurement`));
    const axial = this.mpr.measurements.filter((m) => m.pane === 'axial').map((m) => item(`Axial · ${m.text}`,
      () => this.mpr.deleteMeasurement(m.id), `Delete ${m.kind} measurement`));
    i.measurements.replaceChildren(...dental, ...axial);
    if (!dental.length && !axial.length) i.measurements.append(el('li', 'lv-pano-note', 'Distance tool: drag on the panoramic or a cross-section'));
  }

  _setStatus(text) {
    this._status = text;
    if (this._inputs) this._inputs.status.textContent = text;
  }

  // ---- state ---------------------------------------------------------------------------------------------------

  _archJson() {
    return JSON.stringify({ points: this.arch.points, up: this.arch.up });
  }

  /** Identifies the focal surface a panoramic measurement was drawn on. */
  _surfaceKey(shift = this.shift) {
    return JSON.stringify([this.arch.points, this.arch.up, shift]);
  }

  /** The exact panoramic view: `lucent pano --center-s --center-h --size WxH --pixel-mm --shift --slab --mode`. */
  view() {
    const c = this.panes.pano.canvas;
    const v = this.panoView;
    return { center_s: v.center_s, center_h: v.center_h, width: c.width, height: c.height, pixel_mm: v.pixel_mm,
      shift_mm: this.shift, slab_mm: this.slab, mode: this.mode };
  }

  /** The exact cross-section strip: `lucent sections --at --spacing --count --tile --pixel-mm --center-h --shift --slab`. */
  sectionParams() {
    const c = this.panes.sections.canvas;
    const s = this.sections;
    const tile_width = Math.max(1, Math.floor(c.width / s.count));
    return { at_mm: s.at_mm ?? 0, spacing_mm: s.spacing_mm, count: s.count, tile_width, tile_height: c.height,
      pixel_mm: s.width_mm / tile_width, center_h: s.center_h, shift_mm: this.shift, slab_mm: s.slab_mm, mode: this.mode };
  }

  /** Continuous canvas coordinates of (s, h) on the panoramic pane (current view). */
  panoToCanvas(s, h) {
    return this._panoCanvas(this.view(), s, h);
  }

  /** Continuous canvas coordinates, in the sections pane, of a patient point on tile i's plane (as drawn). */
  sectionToCanvas(i, p) {
    return this._tileCanvas(this.panes.sections, i, p);
  }

  /** The drawn cross-sections' planes: [{center, right, down} | null], one per tile. */
  get sectionPlanes() {
    return this.panes.sections.planes?.map((q) => q && { ...q }) ?? [];
  }

  /** Arc positions of the cross-sections. */
  sectionPositions(p = this.sectionParams()) {
    return Array.from({ length: p.count }, (_, i) => p.at_mm + (i - (p.count - 1) / 2) * p.spacing_mm);
  }

  /** The arch points (patient mm, clicked on an axial pane; >= 2 for a curve) and optionally its up direction. */
  setArch(points, up = this.arch.up) {
    this.arch = { points: points.map((p) => [...p]), up: [...up] };
    this.selected = -1;
    this._orientArch();
    return this._invalidate();
  }

  /** Proposes an arch from the bone of a 10 mm axial slab at the crosshair's height (or `z`). */
  async proposeArch({ z = this.mpr.point[2], slabMm = 10 } = {}) {
    const [arch] = await this._askArch([{ op: 'propose', series: this.mpr.series, z, slab: slabMm }]) ?? [];
    if (!arch) return null;
    this._setStatus(`Proposed arch at z ${fmt(z)} mm: check it and drag points where needed.`);
    await this.setArch(arch.points, arch.up ?? [0, 0, 1]);
    return { points: this.arch.points, up: this.arch.up };
  }

  /** Slab thickness (0-40 mm) and mode ('avg' | 'mip') of the panoramic; the sections share the mode. */
  setSlab(mm, mode = this.mode) {
    this.slab = clamp(Number(mm) || 0, 0, MAX_SLAB_MM);
    if (['avg', 'mip', 'minip'].includes(mode)) this.mode = mode;
    this._syncPanel();
    this._redrawAxial();
    return this._renderPanes();
  }

  /** Buccal (+) / lingual (-) shift of the focal trough, mm. */
  setShift(mm) {
    this.shift = clamp(Number(mm) || 0, -MAX_SHIFT_MM, MAX_SHIFT_MM);
    this._syncPanel();
    return this._invalidate();
  }

  /** Cross-sections: {at_mm, spacing_mm, count, width_mm, slab_mm, center_h}, any subset. */
  setSections(options = {}) {
    const s = this.sections;
    const num = (v, lo, hi, fallback) => (Number.isFinite(Number(v)) && v !== null && v !== '' ? clamp(Number(v), lo, hi) : fallback);
    const L = this.curve?.length_mm;
    s.at_mm = options.at_mm == null ? s.at_mm : num(options.at_mm, 0, L ?? Infinity, s.at_mm);
    s.spacing_mm = num(options.spacing_mm, 0.1, 100, s.spacing_mm);
    s.count = Math.round(num(options.count, 1, 64, s.count));
    s.width_mm = num(options.width_mm, 2, 400, s.width_mm);
    s.slab_mm = num(options.slab_mm, 0, MAX_SLAB_MM, s.slab_mm);
    s.center_h = num(options.center_h, -1000, 1000, s.center_h);
    this._syncPanel();
    this._redrawOverlays();
    return this._requestRender(this.panes.sections);
  }

  /** Adds a patient point to a canal (default: the active one), kept in order of arc position. */
  async addCanalPoint(world, canal = this.activeCanal) {
    if (!world?.every?.(Number.isFinite)) return null;
    while (this.canals.length <= canal) this.canals.push({ points: [], diameter_mm: 3 });
    const point = { world: [...world], s: NaN, h: NaN, d: NaN };
    if (this.curve) {
      const [[shd]] = await this._askArch([{ op: 'toPano', arch: this._archJson(), shift: this.shift, points: [point.world] }]) ?? [[null]];
      if (shd) [point.s, point.h, point.d] = shd;
    }
    const list = this.canals[canal].points;
    const at = Number.isFinite(point.s) ? list.findIndex((q) => q.s > point.s) : -1;
    list.splice(at < 0 ? list.length : at, 0, point);
    this._redrawOverlays();
    this._renderList();
    return this.canals.map(canalSummary)[canal];
  }

  /** Starts another canal (e.g. the other side); later canal points go to it. */
  newCanal() {
    if (this.canals.at(-1)?.points.length === 0) this.activeCanal = this.canals.length - 1;
    else {
      this.canals.push({ points: [], diameter_mm: this.canals[this.activeCanal]?.diameter_mm ?? 3 });
      this.activeCanal = this.canals.length - 1;
    }
    this._syncPanel();
    this._renderList();
  }

  deleteCanal(k) {
    this.canals.splice(k, 1);
    if (!this.canals.length) this.canals.push({ points: [], diameter_mm: 3 });
    this.activeCanal = Math.min(this.activeCanal, this.canals.length - 1);
    this._syncPanel();
    this._renderList();
    this._redrawOverlays();
  }

  /** The canals: [{points: [[x,y,z], ...], diameter_mm, length_mm}]. */
  get canalList() {
    return this.canals.map(canalSummary);
  }

  deleteMeasurement(id) {
    this.measurements = this.measurements.filter((m) => m.id !== id);
    this._measured();
  }

  _measured() {
    this._redrawOverlays();
    this._renderList();
    this.viewer._emit('lucent:measurement', { measurements: this.measurements.map(summary) });
  }

  /** The session as saved: arch, trough, sections, canals and measurements (see save()). */
  state() {
    const row = this.viewer.seriesList.find((r) => r.index === this.mpr.series);
    const s = this.sections;
    return {
      lucent: 'dental', version: 1, series_uid: row?.uid ?? null,
      arch: { points: this.arch.points.map((p) => [...p]), up: [...this.arch.up] },
      shift_mm: this.shift, slab_mm: this.slab, mode: this.mode,
      sections: { at_mm: s.at_mm, spacing_mm: s.spacing_mm, count: s.count, width_mm: s.width_mm, slab_mm: s.slab_mm },
      canals: this.canals.map((c) => ({ points: c.points.map((p) => [...p.world]), diameter_mm: c.diameter_mm })),
      measurements: this.measurements.map((m) => ({ kind: m.kind, pane: m.pane, points: m.points, sh: m.sh ?? null,
        shift_mm: m.shift_mm ?? null, normal: m.normal ?? null, result: m.result, text: m.text })),
    };
  }

  /** Restores a saved session (object or JSON text); resolves with {warning} when it was saved on another series. */
  async setState(saved) {
    const s = typeof saved === 'string' ? JSON.parse(saved) : saved;
    if (s?.lucent !== 'dental' || !Array.isArray(s.arch?.points)) {
      throw Object.assign(new Error('This is not a Lucent dental session file.'), { code: 'invalid-argument' });
    }
    const uid = this.state().series_uid;
    const warning = s.series_uid && uid && s.series_uid !== uid
      ? 'This session was saved on another series: the arch and canal may not fit these images.' : null;
    this.arch = { points: s.arch.points.map((p) => [...p]), up: [...(s.arch.up ?? [0, 0, 1])] };
    this._orientArch();
    this.selected = -1;
    this.shift = clamp(Number(s.shift_mm) || 0, -MAX_SHIFT_MM, MAX_SHIFT_MM);
    this.slab = clamp(Number(s.slab_mm) || 0, 0, MAX_SLAB_MM);
    this.mode = ['avg', 'mip', 'minip'].includes(s.mode) ? s.mode : 'avg';
    Object.assign(this.sections, Object.fromEntries(Object.entries(s.sections ?? {}).filter(([k]) => k in this.sections)));
    this.canals = (s.canals ?? []).map((c) => ({ points: (c.points ?? []).map((w) => ({ world: [...w], s: NaN, h: NaN, d: NaN })),
      diameter_mm: Number(c.diameter_mm) || 3 }));
    if (!this.canals.length) this.canals.push({ points: [], diameter_mm: 3 });
    this.activeCanal = this.canals.length - 1;
    this.measurements = (s.measurements ?? []).map((m) => ({ ...m, id: this._nextId++,
      key: m.pane === 'pano' ? this._surfaceKey(m.shift_mm ?? this.shift) : null }));
    this.panoView.fitted = true;
    this._setStatus(warning ?? 'Session loaded.');
    this._syncPanel();
    await this._invalidate();
    this._measured();
    return { warning };
  }

  /** Downloads the session as JSON. */
  save() {
    const blob = new Blob([`${JSON.stringify(this.state(), null, 1)}\n`], { type: 'application/json' });
    download(blob, 'dental-session.json');
  }

  async _loadFile() {
    const file = this._inputs.file.files?.[0];
    this._inputs.file.value = '';
    if (!file) return;
    try {
      await this.setState(await file.text());
    } catch (e) {
      this._setStatus(`Not loaded: ${e.message}`);
    }
  }

  // ---- geometry from the core ---------------------------------------------------------------------------------

  // quiet: said in the panel only (an arch being edited may be briefly unusable, e.g. two points on one spot).
  async _askArch(ops, { quiet = false } = {}) {
    const reply = await this.viewer._ask({ type: MSG.ARCH, ops });
    if (reply.ok) return reply.results;
    if (!reply.stale) {
      this._setStatus(reply.message);
      if (!quiet) this.viewer._emit('lucent:error', { code: reply.code, message: reply.message, file: null });
    }
    return null;
  }

  // The core draws the spline from the patient's right end: keep our list in that order (indices follow).
  _orientArch() {
    const p = this.arch.points;
    if (p.length < 2 || !(p.at(-1)[0] < p[0][0])) return;
    p.reverse();
    const flip = (i) => (i >= 0 ? p.length - 1 - i : i);
    this.selected = flip(this.selected);
    this._dragging = flip(this._dragging);
  }

  /** The arch or trough changed: new curves from the core, then every pane. */
  _invalidate() {
    this._geo.request();
    return this.renderAll();
  }

  _geometry() {
    return this._geo.settled();
  }

  /** The focal curves and the canal points' (s, h) from the core (one run of this._geo). */
  async _computeGeometry() {
    if (this.arch.points.length >= 2 && this.mpr.volume) {
      const arch = this._archJson();
      const shift = this.shift;
      const canalPoints = this.canals.flatMap((c) => c.points);
      const ops = [{ op: 'curve', arch, shift: 0, step: CURVE_STEP_MM }];
      if (shift) ops.push({ op: 'curve', arch, shift, step: CURVE_STEP_MM });
      if (canalPoints.length) ops.push({ op: 'toPano', arch, shift, points: canalPoints.map((p) => p.world) });
      const results = await this._askArch(ops, { quiet: true });
      if (results) {
        if (this._geoError) this._setStatus('');
        this._geoError = false;
        this.archCurve = results[0];
        this.curve = shift ? results[1] : results[0];
        if (canalPoints.length) results.at(-1).forEach(([s, h, d], k) => Object.assign(canalPoints[k], { s, h, d }));
        for (const c of this.canals) c.points.sort((a, b) => a.s - b.s);
      } else if (!this._geo.want) {
        this._geoError = true;
        this.curve = this.archCurve = null;
      }
    } else {
      this.curve = this.archCurve = null;
    }
    if (this.curve) {
      const L = this.curve.length_mm;
      this.sections.at_mm = Number.isFinite(this.sections.at_mm) ? clamp(this.sections.at_mm, 0, L) : L / 2;
      if (this.panoView.fitted) this._fitPano();
    }
    this._syncPanel();
    this._renderList();
    this._redrawOverlays();
    return null;
  }

  _fitPano() {
    const c = this.panes.pano.canvas;
    if (!this.curve || c.width < 2) return;
    const L = this.curve.length_mm;
    Object.assign(this.panoView, { center_s: L / 2, center_h: 0, fitted: true,
      pixel_mm: Math.max((L * 1.08) / c.width, PANO_FIT_HEIGHT_MM / c.height) });
  }

  // ---- rendering -----------------------------------------------------------------------------------------------

  _ready() {
    return this.active && Boolean(this.mpr.volume) && Boolean(this.curve) && this.arch.points.length >= 2;
  }

  /** Renders the panoramic and the cross-sections once the geometry is in; resolves with their details. */
  async renderAll() {
    await this._geometry();
    return Promise.all([this._requestRender(this.panes.pano), this._requestRender(this.panes.sections)]);
  }

  _renderPanes() {
    return Promise.all([this._requestRender(this.panes.pano), this._requestRender(this.panes.sections)]);
  }

  _requestRender(pane) {
    if (!this._ready()) {
      this._drawEmpty(pane);
      return Promise.resolve(null);
    }
    return pane.rs.request();
  }

  /** One render of the panoramic or the strip (see LatestRun): resolves with its details or null. */
  async _renderPane(pane) {
    const window = { ...this.mpr.window };
    let reply = null;
    let drawn = null;
    if (this._ready()) {
      const base = { series: this.mpr.series, arch: this._archJson(), center: window.center, width: window.width, mode: this.mode };
      if (pane.name === 'pano') {
        drawn = this.view();
        const v = drawn;
        reply = await this.viewer._ask({ ...base, type: MSG.PANO,
          view: [v.center_s, v.center_h, v.width, v.height, v.pixel_mm, v.shift_mm, v.slab_mm] });
      } else {
        drawn = this.sectionParams();
        const p = drawn;
        reply = await this.viewer._ask({ ...base, type: MSG.SECTIONS,
          params: [p.at_mm, p.spacing_mm, p.count, p.tile_width, p.tile_height, p.pixel_mm, p.center_h, p.shift_mm, p.slab_mm] });
      }
    }
    let result = null;
    if (reply?.ok) {
      pane.bitmap?.close();
      pane.bitmap = reply.bitmap;
      pane.drawn = drawn;
      pane.drawnWindow = window;
      if (reply.planes) {
        pane.planes = Array.from({ length: drawn.count }, (_, i) => {
          const q = reply.planes.slice(9 * i, 9 * i + 9);
          return q.every(Number.isFinite) ? { center: q.slice(0, 3), right: q.slice(3, 6), down: q.slice(6, 9) } : null;
        });
      }
      this._draw(pane);
      result = pane.name === 'pano' ? { pane: 'pano', view: drawn, window } : { pane: 'sections', params: drawn, window };
      this.viewer._emit('lucent:pano-rendered', result);
    } else if (reply && !reply.stale) {
      this._setStatus(reply.message);
      this.viewer._emit('lucent:error', { code: reply.code, message: reply.message, file: null });
    }
    return result;
  }

  _drawEmpty(pane) {
    pane.bitmap?.close();
    pane.bitmap = null;
    pane.drawn = null;
    pane.planes = null;
    pane.ctx.fillStyle = '#000';
    pane.ctx.fillRect(0, 0, pane.canvas.width, pane.canvas.height);
    pane.octx.clearRect(0, 0, pane.overlay.width, pane.overlay.height);
    pane.head.replaceChildren(el('div', 'lv-pane-name', pane.title));
    pane.info.replaceChildren();
    pane.hint.hidden = false;
    pane.hint.textContent = this.arch.points.length >= 2
      ? (this.curve ? '' : 'Computing the arch…')
      : pane.name === 'pano'
        ? 'Draw the dental arch on the axial pane: choose Arch and click along the jaw from one end to the other, or press Propose.'
        : 'Cross-sections appear here once the arch is drawn.';
    pane.hint.hidden = !pane.hint.textContent;
  }

  _draw(pane) {
    const { ctx, canvas } = pane;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    pane.hint.hidden = true;
    const d = pane.drawn;
    const w = pane.drawnWindow;
    if (pane.name === 'sections') {
      pane.x0 = Math.max(0, Math.floor((canvas.width - d.count * d.tile_width) / 2));
      if (pane.bitmap) ctx.drawImage(pane.bitmap, pane.x0, 0);
      // one line: the tiles' own labels sit just below it
      const line = el('div');
      const n = (v) => String(Number(v.toFixed(1)));
      line.append(el('span', 'lv-pane-name', pane.title), ` · ${d.count} × ${n(d.spacing_mm)} mm · ${n(this.sections.width_mm)} mm`
        + `${d.slab_mm > 0 ? ` · slab ${n(d.slab_mm)} mm ${d.mode.toUpperCase()}` : ''}`);
      pane.head.replaceChildren(line);
    } else {
      if (pane.bitmap) ctx.drawImage(pane.bitmap, 0, 0);
      pane.head.replaceChildren(el('div', 'lv-pane-name', pane.title),
        el('div', null, `${d.slab_mm > 0 ? `Slab ${fmt(d.slab_mm)} mm ${d.mode.toUpperCase()}` : 'Thin'}`
          + ` · shift ${d.shift_mm > 0 ? '+' : ''}${fmt(d.shift_mm)} mm · length ${fmt(this.curve?.length_mm)} mm`));
    }
    pane.info.replaceChildren(
      ...(w ? [el('div', null, `W: ${Math.round(w.width)} L: ${Math.round(w.center)}`)] : []),
      el('div', null, `${fmt(d.pixel_mm, 3)} mm/px`),
    );
    this._drawOverlay(pane);
  }

  _redrawOverlays() {
    for (const pane of Object.values(this.panes)) if (pane.drawn) this._drawOverlay(pane);
    this._redrawAxial();
  }

  _redrawAxial() {
    const axial = this.mpr.panes.axial;
    if (this.active && axial.drawnView) this.mpr._drawOverlay(axial);
  }

  _drawOverlay(pane) {
    const g = pane.octx;
    g.clearRect(0, 0, pane.overlay.width, pane.overlay.height);
    if (!pane.drawn || !this.curve) return;
    if (pane.name === 'pano') this._drawPanoOverlay(g, pane.drawn, pane);
    else this._drawSectionsOverlay(g, pane.drawn, pane);
  }

  /** Canvas point of (s, h) on the panoramic view v. */
  _panoCanvas(v, s, h) {
    return [v.width / 2 + (s - v.center_s) / v.pixel_mm, v.height / 2 - (h - v.center_h) / v.pixel_mm];
  }

  _drawPanoOverlay(g, v, pane) {
    const dpr = devicePixelRatio;
    const W = pane.overlay.width;
    const H = pane.overlay.height;
    const L = this.curve.length_mm;
    const X = (s) => this._panoCanvas(v, s, 0)[0];
    g.lineWidth = Math.max(1, dpr);
    // the curve's ends
    g.strokeStyle = 'rgba(255,255,255,0.35)';
    g.setLineDash([4 * dpr, 4 * dpr]);
    g.beginPath();
    for (const s of [0, L]) {
      g.moveTo(X(s), 0);
      g.lineTo(X(s), H);
    }
    g.stroke();
    // cross-section positions: lines with ticks at both edges, the middle one brighter
    const params = this.sectionParams();
    const mid = (params.count - 1) / 2;
    this.sectionPositions(params).forEach((s, i) => {
      const x = Math.round(X(s)) + 0.5;
      const central = Math.abs(i - mid) < 0.6;
      g.strokeStyle = central ? TICK : 'rgba(94,208,208,0.55)';
      g.setLineDash(central ? [] : [3 * dpr, 3 * dpr]);
      g.beginPath();
      g.moveTo(x, 0);
      g.lineTo(x, H);
      g.stroke();
      g.setLineDash([]);
      g.lineWidth = 2 * dpr;
      g.beginPath();
      g.moveTo(x, 0);
      g.lineTo(x, 8 * dpr);
      g.moveTo(x, H - 8 * dpr);
      g.lineTo(x, H);
      g.stroke();
      g.lineWidth = Math.max(1, dpr);
    });
    g.setLineDash([]);
    // canals: centre line and the tube's outline at h ± diameter/2
    for (const canal of this.canals) {
      const pts = canal.points.filter((p) => Number.isFinite(p.s));
      if (!pts.length) continue;
      const r = canal.diameter_mm / 2 / v.pixel_mm;
      const c = pts.map((p) => this._panoCanvas(v, p.s, p.h));
      g.strokeStyle = CANAL;
      g.fillStyle = CANAL;
      if (c.length === 1) {
        g.beginPath();
        g.arc(c[0][0], c[0][1], r, 0, 2 * Math.PI);
        g.stroke();
      }
      g.lineWidth = 1.5 * dpr;
      for (const off of [-r, r]) {
        g.beginPath();
        c.forEach(([x, y], k) => (k ? g.lineTo(x, y + off) : g.moveTo(x, y + off)));
        g.stroke();
      }
      g.lineWidth = Math.max(1, dpr);
      g.setLineDash([2 * dpr, 3 * dpr]);
      g.beginPath();
      c.forEach(([x, y], k) => (k ? g.lineTo(x, y) : g.moveTo(x, y)));
      g.stroke();
      g.setLineDash([]);
      for (const [x, y] of c) g.fillRect(x - 2 * dpr, y - 2 * dpr, 4 * dpr, 4 * dpr);
    }
    // measurements on this focal surface
    const key = this._surfaceKey(v.shift_mm);
    for (const m of this.measurements) {
      if (m.pane === 'pano' && m.key === key && m.sh) drawMeasurement(g, m.sh.map(([s, h]) => this._panoCanvas(v, s, h)), m);
    }
    if (pane.draft) drawMeasurement(g, pane.draft.sh.map(([s, h]) => this._panoCanvas(v, s, h)), pane.draft);
    scaleBar(g, v.pixel_mm, 10 * dpr, H - 10 * dpr, W);
    label(g, 'R', 8 * dpr, H / 2, 'left');
    label(g, 'L', W - 8 * dpr, H / 2, 'right');
  }

  /** Tile i, local canvas coordinates of a patient point on the drawn strip. */
  _tileCanvas(pane, i, p) {
    const d = pane.drawn;
    const plane = pane.planes?.[i];
    if (!plane) return null;
    const rel = sub(p, plane.center);
    return [pane.x0 + i * d.tile_width + d.tile_width / 2 + dot(rel, plane.right) / d.pixel_mm,
      d.tile_height / 2 + dot(rel, plane.down) / d.pixel_mm];
  }

  _onTilePlane(pane, i, m) {
    const plane = pane.planes?.[i];
    if (!plane || !m.normal) return false;
    const normal = cross(plane.right, plane.down);
    if (Math.abs(dot(normal, m.normal)) < 0.9999) return false;
    return Math.abs(dot(sub(m.points[0], plane.center), normal)) <= this.mpr._minSpacing() / 2;
  }

  _drawSectionsOverlay(g, d, pane) {
    const dpr = devicePixelRatio;
    const tw = d.tile_width;
    const th = d.tile_height;
    const mid = (d.count - 1) / 2;
    const positions = this.sectionPositions(d);
    g.lineWidth = Math.max(1, dpr);
    for (let i = 0; i < d.count; i++) {
      const x = pane.x0 + i * tw;
      const plane = pane.planes?.[i];
      // tile frame (the middle one in the section colour) and the focal curve's place at the top and bottom
      g.strokeStyle = Math.abs(i - mid) < 0.6 ? TICK : '#3a3f47';
      g.strokeRect(x + 0.5, 0.5, tw - 1, th - 1);
      g.strokeStyle = 'rgba(94,208,208,0.7)';
      g.beginPath();
      g.moveTo(x + tw / 2, 0);
      g.lineTo(x + tw / 2, 6 * dpr);
      g.moveTo(x + tw / 2, th - 6 * dpr);
      g.lineTo(x + tw / 2, th);
      g.stroke();
      label(g, plane ? `${fmt(positions[i])} mm` : 'off the arch', x + tw / 2, 34 * dpr, 'center', 11);
      label(g, 'L', x + 5 * dpr, th / 2, 'left', 12);
      label(g, 'B', x + tw - 5 * dpr, th / 2, 'right', 12);
      if (!plane) continue;
      // where each canal crosses this plane: a circle of the canal's diameter
      const normal = cross(plane.right, plane.down);
      g.save();
      g.beginPath();
      g.rect(x, 0, tw, th);
      g.clip();
      for (const canal of this.canals) {
        const r = canal.diameter_mm / 2 / d.pixel_mm;
        for (const q of planeCrossings(canal.points.map((p) => p.world), plane.center, normal, canal.diameter_mm / 2)) {
          const c = this._tileCanvas(pane, i, q);
          if (!c || c[0] < x || c[0] > x + tw || c[1] < 0 || c[1] > th) continue;
          g.strokeStyle = CANAL;
          g.lineWidth = 1.5 * dpr;
          g.beginPath();
          g.arc(c[0], c[1], r, 0, 2 * Math.PI);
          g.stroke();
          g.fillStyle = CANAL;
          g.fillRect(c[0] - 1.5 * dpr, c[1] - 1.5 * dpr, 3 * dpr, 3 * dpr);
        }
      }
      for (const m of this.measurements) {
        if (m.pane === 'sections' && this._onTilePlane(pane, i, m)) drawMeasurement(g, m.points.map((p) => this._tileCanvas(pane, i, p)), m);
      }
      if (pane.draft?.tile === i) drawMeasurement(g, pane.draft.points.map((p) => this._tileCanvas(pane, i, p)), pane.draft);
      g.restore();
    }
    if (d.count) scaleBar(g, d.pixel_mm, pane.x0 + 8 * dpr, th - 10 * dpr, tw);
  }

  /** Arch, focal trough, cross-section lines and canals on the axial pane (MPR plugin hook). */
  _drawAxial(g, view) {
    const dpr = devicePixelRatio;
    const C = (p) => this.mpr.worldToCanvas('axial', p, view);
    const poly = (pts) => {
      g.beginPath();
      pts.forEach((p, k) => {
        const [x, y] = C(p);
        if (k) g.lineTo(x, y);
        else g.moveTo(x, y);
      });
      g.stroke();
    };
    const line = (samples, off = 0) => samples.map((q) => add(q.slice(1, 4), q.slice(4, 7), off));
    g.save();
    g.lineWidth = Math.max(1, 1.5 * dpr);
    if (this.archCurve) {
      g.strokeStyle = ARCH;
      poly(line(this.archCurve.samples));
    }
    if (this.curve) {
      g.lineWidth = Math.max(1, dpr);
      if (this.shift) {
        g.strokeStyle = ARCH;
        g.setLineDash([5 * dpr, 4 * dpr]);
        poly(line(this.curve.samples));
      }
      if (this.slab > 0) {
        g.strokeStyle = 'rgba(255,122,217,0.45)';
        g.setLineDash([2 * dpr, 4 * dpr]);
        poly(line(this.curve.samples, -this.slab / 2));
        poly(line(this.curve.samples, this.slab / 2));
      }
      g.setLineDash([]);
      const params = this.sectionParams();
      const mid = (params.count - 1) / 2;
      const half = this.sections.width_mm / 2;
      this.sectionPositions(params).forEach((s, i) => {
        if (s < 0 || s > this.curve.length_mm) return;
        const { p, n } = curveAt(this.curve, s);
        g.strokeStyle = Math.abs(i - mid) < 0.6 ? TICK : 'rgba(94,208,208,0.55)';
        poly([add(p, n, -half), add(p, n, half)]);
      });
    }
    g.lineWidth = Math.max(1, 1.5 * dpr);
    g.strokeStyle = CANAL;
    for (const canal of this.canals) if (canal.points.length > 1) poly(canal.points.map((p) => p.world));
    // handles
    this.arch.points.forEach((p, k) => {
      const [x, y] = C(p);
      g.fillStyle = k === this.selected ? '#fff' : ARCH;
      g.strokeStyle = '#000';
      g.lineWidth = Math.max(1, dpr);
      g.beginPath();
      g.arc(x, y, 4 * dpr, 0, 2 * Math.PI);
      g.fill();
      g.stroke();
    });
    g.restore();
  }

  // ---- the arch on the axial pane (MPR plugin hooks) --------------------------------------------------------

  _archDown(name, world, e) {
    if (name !== 'axial' || this.viewer.tool !== 'arch') return false;
    const view = this.mpr.view('axial');
    const hit = (HIT_PX * devicePixelRatio) * view.pixel_mm;     // mm on the pane
    const pts = this.arch.points;
    const flatDist = (p, q) => {
      const d = sub(p, q);
      return len(add(d, view.normal, -dot(d, view.normal)));
    };
    let k = -1;
    let best = hit;
    pts.forEach((p, i) => {
      const d = flatDist(p, world);
      if (d <= best) {
        best = d;
        k = i;
      }
    });
    if (k >= 0) {
      if (e.altKey) this._deletePoint(k);
      else {
        this.selected = k;
        this._dragging = k;
        this._redrawAxial();
      }
      return true;
    }
    if (e.altKey) return true;
    let index = pts.length;
    if (pts.length >= 2) {
      const near = this.archCurve ? nearestOnCurve(this.archCurve, world) : null;
      const L = this.archCurve?.length_mm ?? 0;
      if (near && near.dist <= CURVE_HIT_PX * devicePixelRatio * view.pixel_mm && near.s > 0 && near.s < L) {
        index = pts.filter((p) => nearestOnCurve(this.archCurve, p).s < near.s).length;
      } else if (flatDist(pts[0], world) < flatDist(pts.at(-1), world)) {
        index = 0;
      }
    }
    pts.splice(index, 0, [...world]);
    this.selected = index;
    this._dragging = index;
    this._archEdited();
    return true;
  }

  _archMove(world) {
    if (this._dragging < 0) return;
    this.arch.points[this._dragging] = [...world];
    this._archEdited();
  }

  _archKey(e) {
    if (this.viewer.tool !== 'arch' || this.selected < 0 || !['Delete', 'Backspace'].includes(e.key)) return false;
    this._deletePoint(this.selected);
    return true;
  }

  _deletePoint(k) {
    this.arch.points.splice(k, 1);
    this.selected = -1;
    this._dragging = -1;
    this._archEdited();
  }

  _archEdited() {
    this._orientArch();
    this._redrawAxial();
    this._syncPanel();
    this._invalidate();
  }

  // ---- input on the panoramic and the sections ----------------------------------------------------------------

  /** (s, h) under continuous canvas coordinates of the panoramic (current view). */
  _panoAt(u, vv) {
    const v = this.view();
    return [v.center_s + (u - v.width / 2) * v.pixel_mm, v.center_h - (vv - v.height / 2) * v.pixel_mm];
  }

  /** The tile under canvas coordinates of the strip as drawn: {i, s, world, normal} or null. */
  _sectionAt(u, v) {
    const pane = this.panes.sections;
    const d = pane.drawn;
    if (!d || !pane.planes) return null;
    const i = Math.floor((u - pane.x0) / d.tile_width);
    const plane = pane.planes[i];
    if (i < 0 || i >= d.count || !plane) return null;
    const uu = u - pane.x0 - i * d.tile_width;
    const world = add(add(plane.center, plane.right, (uu - d.tile_width / 2) * d.pixel_mm), plane.down, (v - d.tile_height / 2) * d.pixel_mm);
    return { i, s: this.sectionPositions(d)[i], world, normal: cross(plane.right, plane.down) };
  }

  async _pointAt(name, u, v) {
    if (name === 'sections') return this._sectionAt(u, v)?.world ?? null;
    const [s, h] = this._panoAt(u, v);
    if (!(s >= 0 && s <= (this.curve?.length_mm ?? -1))) {
      this._setStatus('That is beyond the end of the arch.');
      return null;
    }
    const [world] = await this._askArch([{ op: 'toWorld', arch: this._archJson(), shift: this.shift, s, h }]) ?? [];
    return world ?? null;
  }

  _moveSectionsTo(name, u, v) {
    const s = name === 'pano' ? this._panoAt(u, v)[0] : this._sectionAt(u, v)?.s;
    if (Number.isFinite(s)) this.setSections({ at_mm: s });
  }

  _stepSections(steps) {
    if (this.curve) this.setSections({ at_mm: (this.sections.at_mm ?? 0) + steps * this.sections.spacing_mm });
  }

  /** Distance from a patient point to the nearest canal, as a measurement on the pane it was probed on. */
  async _probeCanal(name, u, v) {
    const point = await this._pointAt(name, u, v);
    const canals = this.canals.filter((c) => c.points.length);
    if (!point || !canals.length) {
      if (!canals.length) this._setStatus('Trace the canal first (Canal tool).');
      return null;
    }
    const results = await this._askArch(canals.map((c) => ({ op: 'distance', points: c.points.map((p) => p.world), point })));
    if (!results) return null;
    const best = results.reduce((a, b) => (b.distance_mm < a.distance_mm ? b : a));
    const m = { id: this._nextId++, kind: 'canal-distance', pane: name, points: [point, best.closest],
      result: best, text: `${fmt(best.distance_mm, 2)} mm to canal` };
    if (name === 'pano') {
      const [sh] = await this._askArch([{ op: 'toPano', arch: this._archJson(), shift: this.shift, points: m.points }]) ?? [];
      if (sh) {
        Object.assign(m, { sh: sh.map(([s, h]) => [s, h]), shift_mm: this.shift, key: this._surfaceKey() });
        m.sh[0] = this._panoAt(u, v);
      }
    } else {
      m.normal = this._sectionAt(u, v)?.normal;
    }
    this.measurements.push(m);
    this._measured();
    return summary(m);
  }

  async _finishDistance(pane) {
    const d = pane.draft;
    pane.draft = null;
    if (!d) return null;
    const tiny = pane.name === 'pano'
      ? Math.hypot(d.sh[1][0] - d.sh[0][0], d.sh[1][1] - d.sh[0][1]) < this.panoView.pixel_mm * 2
      : len(sub(d.points[1], d.points[0])) < (pane.drawn?.pixel_mm ?? 1) * 2;
    if (tiny) {
      this._drawOverlay(pane);
      return null;
    }
    return this.addMeasurement(pane.name, d.kind, pane.name === 'pano' ? d.sh : d.points, d.normal);
  }

  /**
   * A distance on the panoramic (points = [[s, h], [s, h]]: true mm along the focal surface) or on a cross-section
   * (points = two patient points on a section plane, `normal` = that plane's normal).
   */
  async addMeasurement(pane, kind, points, normal = null) {
    if (kind !== 'distance') return null;
    let m;
    if (pane === 'pano') {
      const sh = points.map(([s, h]) => [s, h]);
      const distance_mm = Math.hypot(sh[1][0] - sh[0][0], sh[1][1] - sh[0][1]);
      const worlds = await this._askArch(sh.map(([s, h]) => ({ op: 'toWorld', arch: this._archJson(), shift: this.shift,
        s: clamp(s, 0, this.curve?.length_mm ?? 0), h })));
      m = { id: this._nextId++, kind, pane, sh, points: worlds ?? [], shift_mm: this.shift, key: this._surfaceKey(),
        result: { distance_mm, along_mm: Math.abs(sh[1][0] - sh[0][0]) }, text: `${fmt(distance_mm, 2)} mm` };
    } else {
      const reply = await this.viewer._ask({ type: MSG.MEASURE, series: this.mpr.series, kind, points, plane: [] });
      if (!reply.ok) {
        this.viewer._emit('lucent:error', { code: reply.code, message: reply.message, file: null });
        return null;
      }
      m = { id: this._nextId++, kind, pane, points: points.map((p) => [...p]), normal, result: reply.result,
        text: `${fmt(reply.result.distance_mm, 2)} mm` };
    }
    this.measurements.push(m);
    this._measured();
    return summary(m);
  }

  _pan(pane, du, dv) {
    if (pane.name === 'pano') {
      this.panoView.center_s -= du * this.panoView.pixel_mm;
      this.panoView.center_h += dv * this.panoView.pixel_mm;
      this.panoView.fitted = false;
      this._requestRender(pane);
    } else {
      this.sections.center_h += dv * (pane.drawn?.pixel_mm ?? 0.2);
      this._requestRender(pane);
    }
  }

  /** Zoom by `factor` (> 1 = closer) keeping canvas point (u, v) in place (the sections zoom about their centre). */
  _zoom(pane, factor, u, v) {
    if (pane.name === 'pano') {
      const [s, h] = this._panoAt(u, v);
      const view = this.view();
      const mm = clamp(view.pixel_mm / factor, 0.005, 5);
      Object.assign(this.panoView, { pixel_mm: mm, fitted: false,
        center_s: s - (u - view.width / 2) * mm, center_h: h + (v - view.height / 2) * mm });
      this._requestRender(pane);
    } else {
      this.setSections({ width_mm: this.sections.width_mm / factor });
    }
  }

  _bindPane(pane) {
    const { cell, canvas, name } = pane;
    const px = () => (canvas.clientWidth ? canvas.width / canvas.clientWidth : devicePixelRatio);
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * px(), (e.clientY - r.top) * px()];
    };
    let drag = null;
    cell.addEventListener('pointerdown', (e) => {
      if (!this._ready() || drag) return;
      const tool = this.viewer.tool;
      let action;
      if (e.button === 2 || (e.button === 0 && e.ctrlKey)) action = 'window';
      else if (e.button === 1) action = 'pan';
      else if (e.button !== 0) return;
      else if (e.shiftKey) action = tool === 'distance' || tool === 'canal' ? 'canal-distance' : 'window';
      else action = ['distance', 'canal', 'pan', 'zoom'].includes(tool) ? tool : 'sections';
      e.preventDefault();
      cell.focus({ preventScroll: true });
      cell.setPointerCapture(e.pointerId);
      const [u, v] = at(e);
      drag = { action, id: e.pointerId, u0: u, v0: v, u, v, x0: e.clientX, y0: e.clientY, window: { ...this.mpr.window },
        mm: name === 'pano' ? this.panoView.pixel_mm : this.sections.width_mm };
      if (action === 'sections') this._moveSectionsTo(name, u, v);
      else if (action === 'canal') this._pointAt(name, u, v).then((p) => p && this.addCanalPoint(p));
      else if (action === 'canal-distance') this._probeCanal(name, u, v);
      else if (action === 'distance') {
        if (name === 'pano') {
          const sh = this._panoAt(u, v);
          pane.draft = { kind: 'distance', sh: [sh, sh] };
        } else {
          const hit = this._sectionAt(u, v);
          if (hit) pane.draft = { kind: 'distance', tile: hit.i, points: [hit.world, hit.world], normal: hit.normal };
        }
      }
    });
    cell.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const [u, v] = at(e);
      const a = drag.action;
      if (a === 'window') {
        const w0 = drag.window;
        const k = w0.width / 200;
        this.mpr.setWindow(Math.round(w0.center + (e.clientY - drag.y0) * k), Math.max(1, Math.round(w0.width + (e.clientX - drag.x0) * k)));
      } else if (a === 'pan') this._pan(pane, u - drag.u, v - drag.v);
      else if (a === 'zoom') {
        const target = Math.exp(-(e.clientY - drag.y0) / 150);
        const now = name === 'pano' ? drag.mm / this.panoView.pixel_mm : this.sections.width_mm ? drag.mm / this.sections.width_mm : 1;
        this._zoom(pane, target / now, drag.u0, drag.v0);
      } else if (a === 'sections') this._moveSectionsTo(name, u, v);
      else if (a === 'distance' && pane.draft) {
        if (name === 'pano') pane.draft.sh[1] = this._panoAt(u, v);
        else {
          const plane = pane.planes?.[pane.draft.tile];
          const d = pane.drawn;
          const uu = u - pane.x0 - pane.draft.tile * d.tile_width;
          pane.draft.points[1] = add(add(plane.center, plane.right, (uu - d.tile_width / 2) * d.pixel_mm), plane.down, (v - d.tile_height / 2) * d.pixel_mm);
        }
        this._drawOverlay(pane);
      }
      drag.u = u;
      drag.v = v;
    });
    const end = (e) => {
      if (!drag || drag.id !== e.pointerId) return;
      const a = drag.action;
      drag = null;
      if (a === 'distance') this._finishDistance(pane);
    };
    cell.addEventListener('pointerup', end);
    cell.addEventListener('pointercancel', (e) => {
      if (drag?.id !== e.pointerId) return;
      drag = null;
      pane.draft = null;
      this._drawOverlay(pane);
    });
    cell.addEventListener('contextmenu', (e) => e.preventDefault());
    cell.addEventListener('auxclick', (e) => e.preventDefault());
    cell.addEventListener('dblclick', () => this._dblclick(pane.name));
    cell.addEventListener('wheel', (e) => {
      if (!this._ready()) return;
      e.preventDefault();
      let dy = e.deltaY;
      if (e.deltaMode === WheelEvent.DOM_DELTA_LINE) dy *= 33;
      if (e.ctrlKey) {
        const [u, v] = at(e);
        this._zoom(pane, Math.exp(-dy / 300), u, v);
        return;
      }
      const steps = Math.abs(dy) >= 50 ? Math.sign(dy) : Math.sign(dy) * (Math.abs(dy) > 4 ? 1 : 0);
      if (steps) this._stepSections(steps);
    }, { passive: false });
    cell.addEventListener('keydown', (e) => {
      const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -1, ArrowDown: 1 }[e.key];
      if (step) {
        e.preventDefault();
        e.stopPropagation();
        this._stepSections(step);
      } else if (e.key === 'Escape' && pane.draft) {
        pane.draft = null;
        this._drawOverlay(pane);
      }
    });
  }

  // ---- pictures --------------------------------------------------------------------------------------------------

  /** The pane's pixels exactly as the core rendered them (the strip without margins), as a Blob. */
  async screenshot(name, type = 'image/png', quality) {
    await this.renderAll();
    const pane = this.panes[name];
    if (!pane?.drawn) throw Object.assign(new Error(`No ${name} image is shown (draw the arch first).`), { code: 'no-image' });
    if (name === 'pano') return canvasBlob(pane.canvas, type, quality);
    const d = pane.drawn;
    const c = new OffscreenCanvas(d.count * d.tile_width, d.tile_height);
    c.getContext('2d').drawImage(pane.canvas, pane.x0, 0, c.width, c.height, 0, 0, c.width, c.height);
    return canvasBlob(c, type, quality);
  }

  /** The pane as displayed, with its overlays (scale, labels, ticks, canal, measurements) and a caption. */
  async composite(name, type = 'image/png') {
    await this.renderAll();
    const pane = this.panes[name];
    if (!pane?.drawn) throw Object.assign(new Error(`No ${name} image is shown (draw the arch first).`), { code: 'no-image' });
    const d = pane.drawn;
    const [x0, w] = name === 'pano' ? [0, pane.canvas.width] : [pane.x0, d.count * d.tile_width];
    const h = pane.canvas.height;
    const c = new OffscreenCanvas(w, h);
    const g = c.getContext('2d');
    g.drawImage(pane.canvas, x0, 0, w, h, 0, 0, w, h);
    g.drawImage(pane.overlay, x0, 0, w, h, 0, 0, w, h);
    const win = pane.drawnWindow;
    const caption = [pane.title, pane.head.textContent.replace(pane.title, '').replace(/^\s*·\s*/, '').trim(),
      win ? `W ${Math.round(win.width)} L ${Math.round(win.center)}` : ''].filter(Boolean).join(' · ');
    label(g, caption, w - 8 * devicePixelRatio, h - (name === 'pano' ? 12 : 28) * devicePixelRatio, 'right', 11);
    return c.convertToBlob({ type });
  }

  /** Downloads the panoramic or the sections with overlays as PNG. */
  async exportPng(name) {
    try {
      download(await this.composite(name), name === 'pano' ? 'panoramic.png' : 'cross-sections.png');
    } catch (e) {
      this._setStatus(e.message);
    }
  }
}

function polyLength(points) {
  let l = 0;
  for (let k = 1; k < points.length; k++) l += len(sub(points[k].world, points[k - 1].world));
  return l;
}

function canalSummary(c) {
  return { points: c.points.map((p) => [...p.world]), diameter_mm: c.diameter_mm, length_mm: polyLength(c.points),
    pano: c.points.map((p) => [p.s, p.h, p.d]) };
}

function summary(m) {
  return { id: m.id, pane: m.pane, kind: m.kind, points: m.points, sh: m.sh ?? null, result: m.result, text: m.text };
}

/**
 * Where a polyline crosses a plane (point `center`, unit `normal`): the crossing points of its segments; a single
 * point counts when it lies within `tolerance` of the plane.
 */
function planeCrossings(points, center, normal, tolerance) {
  if (points.length === 1) return Math.abs(dot(sub(points[0], center), normal)) <= tolerance ? [points[0]] : [];
  const out = [];
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1];
    const b = points[k];
    const da = dot(sub(a, center), normal);
    const db = dot(sub(b, center), normal);
    if ((da > 0 && db > 0) || (da < 0 && db < 0) || da === db) continue;
    out.push(add(a, sub(b, a), da / (da - db)));
  }
  return out;
}

function label(g, text, x, y, align = 'left', size = 13) {
  const dpr = devicePixelRatio;
  g.save();
  g.font = `600 ${size * dpr}px system-ui, sans-serif`;
  g.textAlign = align;
  g.textBaseline = 'middle';
  g.lineWidth = 3 * dpr;
  g.strokeStyle = '#000';
  g.fillStyle = '#ffe9a8';
  g.strokeText(text, x, y);
  g.fillText(text, x, y);
  g.restore();
}

/** A 10 mm scale bar (1 mm ticks when there is room) starting at (x0, y0). */
function scaleBar(g, pixelMm, x0, y0, room) {
  const dpr = devicePixelRatio;
  const bar = 10 / pixelMm;
  if (!(bar > 8 && bar < room * 0.8)) return;
  g.save();
  g.strokeStyle = '#ddd';
  g.lineWidth = Math.max(1, dpr);
  g.beginPath();
  g.moveTo(x0, y0 - 5 * dpr);
  g.lineTo(x0, y0);
  g.lineTo(x0 + bar, y0);
  g.lineTo(x0 + bar, y0 - 5 * dpr);
  if (bar / 10 >= 4 * dpr) for (let k = 1; k < 10; k++) {
    g.moveTo(x0 + (k * bar) / 10, y0);
    g.lineTo(x0 + (k * bar) / 10, y0 - (k === 5 ? 4 : 2) * dpr);
  }
  g.stroke();
  g.fillStyle = '#ddd';
  g.font = `${11 * dpr}px system-ui, sans-serif`;
  g.fillText('10 mm', x0 + 4 * dpr, y0 - 7 * dpr);
  g.restore();
}

function drawMeasurement(g, pts, m) {
  if (pts.some((p) => !p)) return;
  const dpr = devicePixelRatio;
  g.save();
  g.strokeStyle = m.id ? MEASURE : '#fff3a8';
  g.fillStyle = MEASURE;
  g.lineWidth = Math.max(1, 1.5 * dpr);
  if (m.kind === 'canal-distance') g.setLineDash([4 * dpr, 3 * dpr]);
  g.beginPath();
  pts.forEach(([x, y], k) => (k ? g.lineTo(x, y) : g.moveTo(x, y)));
  g.stroke();
  g.setLineDash([]);
  for (const [x, y] of pts) g.fillRect(x - 2 * dpr, y - 2 * dpr, 4 * dpr, 4 * dpr);
  if (m.text) {
    const [x, y] = pts[m.kind === 'canal-distance' ? 0 : pts.length - 1];
    g.font = `${12 * dpr}px system-ui, sans-serif`;
    g.lineWidth = 3 * dpr;
    g.strokeStyle = '#000';
    g.strokeText(m.text, x + 6 * dpr, y - 6 * dpr);
    g.fillText(m.text, x + 6 * dpr, y - 6 * dpr);
  }
  g.restore();
}
