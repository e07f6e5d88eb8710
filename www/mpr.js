// MPR layout for <lucent-viewer>: axial, coronal and sagittal panes over one volume in the worker, plus the
// element's stack viewport as the fourth pane. A pane is only a camera (plane + zoom + pan) over the shared volume;
// every pixel is resliced by the core in wasm at the canvas's device resolution, so what a pane shows is exactly
// `lucent mpr` with the pane's view (see view()).
//
// Geometry (patient LPS, mm). The crosshair point P is shared. The three planes come from one orthonormal frame
// B = {x, y, z} (initially the patient axes; rotating the crosshair in a pane rotates B about that pane's normal):
//   axial: right = B.x, down = B.y      coronal: right = B.x, down = -B.z      sagittal: right = B.y, down = -B.z
// Each pane keeps its own image centre C (in its plane; pan moves it) and zoom (mm per device pixel). The plane
// shown passes through P; its centre is C moved along the normal onto P's plane, so moving P within a pane moves
// the crosshair, not the image. Continuous canvas coordinate u maps to centre + (u - width/2) * mm * right.
//
// Mouse in a pane: left drag = the tool (crosshair: move P; measurement tools: draw), Shift+left drag = rotate the
// crosshair axes (oblique planes), right drag = window/level, middle drag = pan, wheel = move P along the normal,
// Ctrl+wheel = zoom at the cursor, double-click = maximise / restore.
//
// Another layout (the dental one, pano.js) may attach a plugin: `this.plugin = {panes, pointerdown, pointermove,
// pointerup, keydown, dblclick, drawOverlay, windowChanged}` (all optional; dblclick(name) returns true when handled). pointer*(name, world, e) get a plain left
// button's events on a pane first and return true when they take the gesture; drawOverlay(g, pane, view) draws
// after the pane's own overlay; `panes` lists the panes still shown (the others are not rendered meanwhile).
import { MSG } from './protocol.js';
import { el, watchDeviceSize } from './dom.js';
import { LatestRun } from './latest.js';

export const PANES = ['axial', 'coronal', 'sagittal'];
const COLORS = { axial: '#4da3ff', coronal: '#3fd07a', sagittal: '#f0a35e' };
const TITLES = { axial: 'Axial', coronal: 'Coronal', sagittal: 'Sagittal' };
export const MEASURE_TOOLS = ['distance', 'angle', 'rectangle', 'ellipse', 'probe'];

const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const add = (a, b, k = 1) => [a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2]];
const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scale = (a, k) => [a[0] * k, a[1] * k, a[2] * k];
const neg = (a) => scale(a, -1);
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a) => {
  const l = Math.hypot(a[0], a[1], a[2]);
  return l > 0 ? scale(a, 1 / l) : a;
};
// Rodrigues: v rotated by angle about unit axis k.
const rotate = (v, k, angle) => {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return add(add(scale(v, c), scale(cross(k, v), s)), scale(k, dot(k, v) * (1 - c)));
};
const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');

export class MprLayout {
  /** @param viewer the <lucent-viewer> element (for _ask, _emit, tool, window) */
  constructor(viewer) {
    this.viewer = viewer;
    this.series = -1;
    this.volume = null;            // core summary: dims, spacing, origin, axes, center, bounds, ...
    this.point = [0, 0, 0];
    this.frame = { x: [1, 0, 0], y: [0, 1, 0], z: [0, 0, 1] };
    this.window = null;            // shared window {center, width}
    this.linkWindows = true;
    this.maximized = null;
    this.plugin = null;            // another layout's hooks (see the top of this file)
    this.measurements = [];
    this._nextId = 1;
    this.element = el('div', 'lv-mpr');
    this.panes = {};
    for (const name of PANES) this.panes[name] = this._makePane(name);
    this.stackCell = el('div', 'lv-mpr-cell lv-mpr-stack');
    this.list = el('ul', 'lv-measure-list');
    this.list.setAttribute('aria-label', 'Measurements');
    this.element.append(...PANES.map((n) => this.panes[n].cell), this.stackCell, this.list);
  }

  // ---- DOM -------------------------------------------------------------------------------------------------

  _makePane(name) {
    const cell = el('div', `lv-mpr-cell lv-pane lv-pane-${name}`);
    cell.tabIndex = 0;
    cell.dataset.pane = name;
    cell.style.setProperty('--pane-color', COLORS[name]);
    const canvas = el('canvas', 'lv-canvas');
    const overlay = el('canvas', 'lv-canvas lv-pane-overlay');
    const labels = {};
    for (const edge of ['left', 'right', 'top', 'bottom']) labels[edge] = el('div', `lv-edge lv-edge-${edge}`);
    const title = el('div', 'lv-ov lv-tl');
    const info = el('div', 'lv-ov lv-br');
    cell.append(canvas, overlay, ...Object.values(labels), title, info);
    const pane = {
      name, cell, canvas, overlay, labels, title, info,
      ctx: canvas.getContext('2d', { alpha: false }),
      octx: overlay.getContext('2d'),
      bitmap: null, drawnView: null,
      centerImage: null, mmPerPx: 1,
      slab: 0, mode: 'avg', window: null,
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
    const fitted = pane.fitted;
    pane.canvas.width = pane.overlay.width = w;
    pane.canvas.height = pane.overlay.height = h;
    if (this.volume && (fitted || !pane.centerImage)) this._fit(pane);
    this._requestRender(pane);
  }

  destroy() {
    for (const pane of Object.values(this.panes)) {
      pane.ro.disconnect();
      pane.bitmap?.close();
    }
  }

  // ---- volume ----------------------------------------------------------------------------------------------

  /** Builds (in the worker) the volume of a series and shows it; resolves with the summary or {error}. */
  async open(series, { downsample = 1 } = {}) {
    const reply = await this.viewer._ask({ type: MSG.VOLUME, series, maxBytes: this.viewer.maxVolumeBytes, downsample });
    if (!reply.ok) return { error: { code: reply.code, message: reply.message } };
    this.series = series;
    this.volume = reply.volume;
    this.point = [...reply.volume.center];
    this.frame = { x: [1, 0, 0], y: [0, 1, 0], z: [0, 0, 1] };
    this.window = { center: reply.volume.default_window.center, width: reply.volume.default_window.width };
    this.measurements = [];
    this._renderList();
    for (const pane of Object.values(this.panes)) {
      pane.window = null;
      pane.slab = 0;
      this._fit(pane);
    }
    await this.renderAll();
    return { volume: this.volume, tree: reply.tree, series: reply.series };
  }

  // ---- geometry --------------------------------------------------------------------------------------------

  /** The pane's plane directions {right, down, normal} from the current frame. */
  axes(name) {
    const { x, y, z } = this.frame;
    const [right, down] = name === 'axial' ? [x, y] : name === 'coronal' ? [x, neg(z)] : [y, neg(z)];
    return { right, down, normal: cross(right, down) };
  }

  /** The exact view a pane renders: plane through P, centred on the pane's image centre. */
  view(name) {
    const pane = this.panes[name];
    const { right, down, normal } = this.axes(name);
    const c0 = pane.centerImage ?? this.point;
    const center = add(c0, normal, dot(sub(this.point, c0), normal));
    return {
      center, right, down, normal,
      width: pane.canvas.width, height: pane.canvas.height,
      pixel_mm: pane.mmPerPx, slab_mm: pane.slab, mode: pane.mode,
    };
  }

  /** Patient point under continuous canvas coordinates (u, v) of a pane. */
  canvasToWorld(name, u, v) {
    const view = this.view(name);
    return add(add(view.center, view.right, (u - view.width / 2) * view.pixel_mm),
      view.down, (v - view.height / 2) * view.pixel_mm);
  }

  /** Continuous canvas coordinates of a patient point projected onto a pane's plane. */
  worldToCanvas(name, p, view = this.view(name)) {
    const d = sub(p, view.center);
    return [view.width / 2 + dot(d, view.right) / view.pixel_mm, view.height / 2 + dot(d, view.down) / view.pixel_mm];
  }

  _fit(pane) {
    const v = this.volume;
    if (!v) return;
    const { right, down } = this.axes(pane.name);
    let hx = 0;
    let hy = 0;
    for (let c = 0; c < 8; c++) {
      const corner = [0, 1, 2].map((a) => ((c >> a) & 1 ? v.dims[a] - 1 : 0));
      let p = [...v.origin];
      for (let a = 0; a < 3; a++) p = add(p, v.axes[a], corner[a] * v.spacing[a]);
      const d = sub(p, v.center);
      hx = Math.max(hx, Math.abs(dot(d, right)));
      hy = Math.max(hy, Math.abs(dot(d, down)));
    }
    const w = pane.canvas.width;
    const h = pane.canvas.height;
    pane.mmPerPx = Math.max((2 * hx) / w, (2 * hy) / h, 1e-3);
    pane.centerImage = [...v.center];
    pane.fitted = true;
  }

  _minSpacing() {
    return Math.min(...(this.volume?.spacing ?? [1]));
  }

  // ---- state changes ---------------------------------------------------------------------------------------

  /** Moves the crosshair to a patient point; every pane follows. */
  setPoint(p) {
    if (!p.every(Number.isFinite)) return Promise.resolve(null);
    this.point = [...p];
    this._syncStack();
    return this.renderAll();
  }

  /** Rotates the crosshair axes in a pane by `radians` (the other two planes turn about this pane's normal). */
  rotate(name, radians) {
    const { normal } = this.axes(name);
    const k = norm(normal);
    this.frame = {
      x: norm(rotate(this.frame.x, k, radians)),
      y: norm(rotate(this.frame.y, k, radians)),
      z: norm(rotate(this.frame.z, k, radians)),
    };
    return this.renderAll();
  }

  /** Back to the patient axes. */
  resetRotation() {
    this.frame = { x: [1, 0, 0], y: [0, 1, 0], z: [0, 0, 1] };
    return this.renderAll();
  }

  /** Slab thickness (mm, 0 = thin) and mode ('mip' | 'minip' | 'avg') of a pane (or all panes). */
  setSlab(name, mm, mode) {
    const names = name ? [name] : PANES;
    for (const n of names) {
      this.panes[n].slab = Math.max(0, Number(mm) || 0);
      if (mode) this.panes[n].mode = mode;
    }
    return Promise.all(names.map((n) => this._requestRender(this.panes[n])));
  }

  /** Window for all panes (linked) or one pane. */
  setWindow(center, width, name = null) {
    if (name && !this.linkWindows) {
      this.panes[name].window = { center, width };
      return this._requestRender(this.panes[name]);
    }
    this.window = { center, width };
    for (const p of Object.values(this.panes)) p.window = null;
    this.plugin?.windowChanged?.();
    return this.renderAll();
  }

  /** Linked (one window for every pane) or per pane; linking again gives every pane the shared window. */
  setLinkWindows(on) {
    this.linkWindows = Boolean(on);
    if (this.linkWindows) {
      for (const p of Object.values(this.panes)) p.window = null;
      return this.renderAll();
    }
    return Promise.resolve(null);
  }

  windowOf(name) {
    return this.panes[name].window ?? this.window;
  }

  zoom(name, factor, u, v) {
    const pane = this.panes[name];
    const anchor = this.canvasToWorld(name, u ?? pane.canvas.width / 2, v ?? pane.canvas.height / 2);
    const mm = Math.min(50, Math.max(0.005, pane.mmPerPx / factor));
    const k = mm / pane.mmPerPx;
    // keep the anchor where it is: new centre = anchor + (centre - anchor) * k
    const c = this.view(name).center;
    pane.centerImage = add(anchor, sub(c, anchor), k);
    pane.mmPerPx = mm;
    pane.fitted = false;
    return this._requestRender(pane);
  }

  pan(name, du, dv) {
    const pane = this.panes[name];
    const { right, down } = this.axes(name);
    const c = this.view(name).center;
    pane.centerImage = add(add(c, right, -du * pane.mmPerPx), down, -dv * pane.mmPerPx);
    pane.fitted = false;
    return this._requestRender(pane);
  }

  fit(name) {
    const names = name ? [name] : PANES;
    for (const n of names) this._fit(this.panes[n]);
    return Promise.all(names.map((n) => this._requestRender(this.panes[n])));
  }

  maximize(name) {
    this.maximized = this.maximized === name ? null : name;
    this.element.dataset.maximized = this.maximized ?? '';
    for (const n of [...PANES, 'stack']) {
      const cell = n === 'stack' ? this.stackCell : this.panes[n].cell;
      cell.hidden = Boolean(this.maximized) && this.maximized !== n;
    }
  }

  /** Keeps the stack pane on the slice through P (its slices are the volume's slices once it is built). */
  _syncStack() {
    const v = this.volume;
    if (!v || this.viewer.series !== this.series) return;
    const n = v.slice_normal;
    const step = scale(v.axes[2], v.spacing[2]);
    const k = Math.round(dot(sub(this.point, v.origin), n) / dot(step, n));
    if (Number.isFinite(k) && k >= 0 && k < v.dims[2] && k !== this.viewer.slice) this.viewer.setSlice(k);
  }

  // ---- rendering -------------------------------------------------------------------------------------------

  renderAll() {
    return Promise.all(PANES.map((n) => this._requestRender(this.panes[n])));
  }

  _requestRender(pane) {
    if (!this.volume || (this.plugin?.panes && !this.plugin.panes.includes(pane.name))) return Promise.resolve(null);
    return pane.rs.request();
  }

  /** One render of a pane (see LatestRun): resolves with {pane, view, window, labels} or null. */
  async _renderPane(pane) {
    const view = this.view(pane.name);
    const window = this.windowOf(pane.name);
    const reply = await this.viewer._ask({
      type: MSG.MPR, series: this.series, pane: pane.name,
      view: [...view.center, ...view.right, ...view.down, view.width, view.height, view.pixel_mm, view.slab_mm],
      mode: view.mode, center: window.center, width: window.width,
    });
    let result = null;
    if (reply.ok) {
      pane.bitmap?.close();
      pane.bitmap = reply.bitmap;
      pane.drawnView = view;
      pane.drawnWindow = window;
      pane.labelText = reply.labels;
      this._draw(pane);
      result = { pane: pane.name, view, window, labels: reply.labels };
      this.viewer._emit('lucent:mpr-rendered', result);
    } else if (!reply.stale) {
      this.viewer._emit('lucent:error', { code: reply.code, message: reply.message, file: null });
    }
    return result;
  }

  _draw(pane) {
    const { ctx, canvas } = pane;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (pane.bitmap) ctx.drawImage(pane.bitmap, 0, 0);
    const l = pane.labelText ?? {};
    for (const edge of ['left', 'right', 'top', 'bottom']) pane.labels[edge].textContent = l[edge] ?? '';
    const view = pane.drawnView;
    const w = pane.drawnWindow;
    pane.title.replaceChildren(el('div', 'lv-pane-name', TITLES[pane.name]),
      ...(view?.slab_mm > 0 ? [el('div', null, `Slab ${fmt(view.slab_mm)} mm ${view.mode.toUpperCase()}`)] : []));
    pane.info.replaceChildren(
      ...(w ? [el('div', null, `W: ${Math.round(w.width)} L: ${Math.round(w.center)}`)] : []),
      ...(view ? [el('div', null, `${fmt(view.pixel_mm, 3)} mm/px`)] : []),
    );
    this._drawOverlay(pane);
  }

  /** Crosshair lines (the other panes' planes), measurements on this plane, and a 10 mm scale bar. */
  _drawOverlay(pane) {
    const { octx: g, overlay } = pane;
    g.clearRect(0, 0, overlay.width, overlay.height);
    const view = pane.drawnView;
    if (!view) return;
    const dpr = devicePixelRatio;
    const [cx, cy] = this.worldToCanvas(pane.name, this.point, view);
    g.lineWidth = Math.max(1, dpr);
    for (const other of PANES) {
      if (other === pane.name) continue;
      const d = cross(view.normal, this.axes(other).normal);
      const dx = dot(d, view.right);
      const dy = dot(d, view.down);
      const len = Math.hypot(dx, dy);
      if (len < 1e-9) continue;
      const L = overlay.width + overlay.height;
      const gap = 12 * dpr;
      g.strokeStyle = COLORS[other];
      g.beginPath();
      for (const sgn of [1, -1]) {
        g.moveTo(cx + (sgn * dx * gap) / len, cy + (sgn * dy * gap) / len);
        g.lineTo(cx + (sgn * dx * L) / len, cy + (sgn * dy * L) / len);
      }
      g.stroke();
    }
    // scale bar: 10 mm
    const bar = 10 / view.pixel_mm;
    if (bar > 8 && bar < overlay.width / 2) {
      const x0 = 10 * dpr;
      const y0 = overlay.height - 10 * dpr;
      g.strokeStyle = '#ddd';
      g.beginPath();
      g.moveTo(x0, y0 - 4 * dpr);
      g.lineTo(x0, y0);
      g.lineTo(x0 + bar, y0);
      g.lineTo(x0 + bar, y0 - 4 * dpr);
      g.stroke();
      g.fillStyle = '#ddd';
      g.font = `${11 * dpr}px system-ui, sans-serif`;
      g.fillText('10 mm', x0 + 4 * dpr, y0 - 5 * dpr);
    }
    for (const m of this.measurements) if (this._onPlane(m, view)) this._drawMeasurement(g, pane, view, m);
    if (pane.draft) this._drawMeasurement(g, pane, view, pane.draft);
    this.plugin?.drawOverlay?.(g, pane, view);
  }

  /** A measurement belongs to the plane it was drawn on: same normal, within half a voxel along it. */
  _onPlane(m, view) {
    if (Math.abs(dot(m.normal, view.normal)) < 0.9999) return false;
    return Math.abs(dot(sub(m.points[0], view.center), view.normal)) <= this._minSpacing() / 2;
  }

  _drawMeasurement(g, pane, view, m) {
    const dpr = devicePixelRatio;
    const pts = m.points.map((p) => this.worldToCanvas(pane.name, p, view));
    g.strokeStyle = m.id ? '#ffd84d' : '#fff3a8';
    g.fillStyle = '#ffd84d';
    g.lineWidth = Math.max(1, 1.5 * dpr);
    g.beginPath();
    if (m.kind === 'distance' || m.kind === 'angle') {
      pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
    } else if (m.kind === 'rectangle' && pts.length === 2) {
      g.rect(Math.min(pts[0][0], pts[1][0]), Math.min(pts[0][1], pts[1][1]),
        Math.abs(pts[1][0] - pts[0][0]), Math.abs(pts[1][1] - pts[0][1]));
    } else if (m.kind === 'ellipse' && pts.length === 2) {
      g.ellipse((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2,
        Math.abs(pts[1][0] - pts[0][0]) / 2, Math.abs(pts[1][1] - pts[0][1]) / 2, 0, 0, 2 * Math.PI);
    }
    g.stroke();
    for (const [x, y] of pts) g.fillRect(x - 2 * dpr, y - 2 * dpr, 4 * dpr, 4 * dpr);
    if (m.text) {
      const [x, y] = pts[pts.length - 1];
      g.font = `${12 * dpr}px system-ui, sans-serif`;
      g.lineWidth = 3 * dpr;
      g.strokeStyle = '#000';
      g.strokeText(m.text, x + 6 * dpr, y - 6 * dpr);
      g.fillText(m.text, x + 6 * dpr, y - 6 * dpr);
    }
  }

  // ---- measurements ----------------------------------------------------------------------------------------

  /**
   * Adds a measurement drawn on a pane's current plane from patient points; the core computes its value.
   * kind: distance (2 points), angle (3), rectangle / ellipse (2 opposite corners), probe (1).
   */
  async addMeasurement(name, kind, points) {
    const view = this.view(name);
    const m = { id: this._nextId++, pane: name, kind, points: points.map((p) => [...p]), normal: view.normal,
      plane: [...view.center, ...view.right, ...view.down] };
    const reply = await this.viewer._ask({ type: MSG.MEASURE, series: this.series, kind, points: m.points, plane: m.plane });
    if (!reply.ok) {
      this.viewer._emit('lucent:error', { code: reply.code, message: reply.message, file: null });
      return null;
    }
    m.result = reply.result;
    m.text = describe(kind, reply.result, this.volume?.modality);
    this.measurements.push(m);
    this._renderList();
    this._redrawOverlays();
    this.viewer._emit('lucent:measurement', { measurements: this.measurements.map(summary) });
    return summary(m);
  }

  deleteMeasurement(id) {
    this.measurements = this.measurements.filter((m) => m.id !== id);
    this._renderList();
    this._redrawOverlays();
    this.viewer._emit('lucent:measurement', { measurements: this.measurements.map(summary) });
  }

  _redrawOverlays() {
    for (const pane of Object.values(this.panes)) this._drawOverlay(pane);
  }

  _renderList() {
    this.list.replaceChildren(...this.measurements.map((m) => {
      const li = el('li', 'lv-measure');
      const text = el('span', null, `${TITLES[m.pane]} · ${m.text}`);
      text.title = 'Show this measurement (moves the crosshair to it)';
      text.addEventListener('click', () => this.setPoint(m.points[0]));
      const del = el('button', 'lv-measure-delete', '×');
      del.type = 'button';
      del.title = 'Delete this measurement';
      del.setAttribute('aria-label', `Delete ${m.kind} measurement`);
      del.addEventListener('click', () => this.deleteMeasurement(m.id));
      li.append(text, del);
      return li;
    }));
    this.list.hidden = this.measurements.length === 0;
  }

  // ---- input -----------------------------------------------------------------------------------------------

  _bindPane(pane) {
    const { cell, canvas, name } = pane;
    const px = () => (canvas.clientWidth ? canvas.width / canvas.clientWidth : devicePixelRatio);
    const at = (e) => {
      const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * px(), (e.clientY - r.top) * px()];
    };
    let drag = null;
    cell.addEventListener('pointerdown', (e) => {
      if (!this.volume || drag) return;
      if (e.button === 0 && !e.ctrlKey && !e.shiftKey && this.plugin?.pointerdown?.(name, this.canvasToWorld(name, ...at(e)), e)) {
        e.preventDefault();
        cell.focus({ preventScroll: true });
        cell.setPointerCapture(e.pointerId);
        drag = { action: 'plugin', id: e.pointerId };
        return;
      }
      const tool = this.viewer.tool;
      let action;
      if (e.button === 2 || (e.button === 0 && e.ctrlKey)) action = 'window';
      else if (e.button === 1) action = 'pan';
      else if (e.button === 0 && e.shiftKey) action = 'rotate';
      else if (e.button === 0) action = MEASURE_TOOLS.includes(tool) || tool === 'pan' || tool === 'zoom' ? tool : 'crosshair';
      else return;
      e.preventDefault();
      cell.focus({ preventScroll: true });
      cell.setPointerCapture(e.pointerId);
      const [u, v] = at(e);
      drag = { action, id: e.pointerId, u0: u, v0: v, u, v, x0: e.clientX, y0: e.clientY, window: this.windowOf(name),
        mm: pane.mmPerPx };
      if (action === 'crosshair') this.setPoint(this.canvasToWorld(name, u, v));
      if (action === 'rotate') {
        const [cx, cy] = this.worldToCanvas(name, this.point);
        drag.angle = Math.atan2(v - cy, u - cx);
      }
      if (action === 'probe') this.addMeasurement(name, 'probe', [this.canvasToWorld(name, u, v)]);
      if (action === 'angle') {
        const p = this.canvasToWorld(name, u, v);
        if (pane.draft?.kind === 'angle') pane.draft.points.push(p);
        else pane.draft = { kind: 'angle', points: [p, p], normal: this.axes(name).normal };
        drag.angleDraft = true;
      } else if (['distance', 'rectangle', 'ellipse'].includes(action)) {
        const p = this.canvasToWorld(name, u, v);
        pane.draft = { kind: action, points: [p, p], normal: this.axes(name).normal };
      }
    });
    cell.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const [u, v] = at(e);
      const a = drag.action;
      if (a === 'plugin') this.plugin?.pointermove?.(name, this.canvasToWorld(name, u, v), e);
      else if (a === 'crosshair') this.setPoint(this.canvasToWorld(name, u, v));
      else if (a === 'window') {
        const w0 = drag.window;
        const k = w0.width / 200;
        this.setWindow(Math.round(w0.center + (e.clientY - drag.y0) * k),
          Math.max(1, Math.round(w0.width + (e.clientX - drag.x0) * k)), name);
      } else if (a === 'pan') this.pan(name, u - drag.u, v - drag.v);
      else if (a === 'zoom') this.zoom(name, Math.exp(-(e.clientY - drag.y0) / 150) * (drag.mm / pane.mmPerPx), drag.u0, drag.v0);
      else if (a === 'rotate') {
        const [cx, cy] = this.worldToCanvas(name, this.point);
        const angle = Math.atan2(v - cy, u - cx);
        // screen y is down: a clockwise drag on screen is a positive angle about the viewing normal
        this.rotate(name, angle - drag.angle);
        drag.angle = angle;
      } else if (pane.draft) {
        pane.draft.points[pane.draft.points.length - 1] = this.canvasToWorld(name, u, v);
        this._drawOverlay(pane);
      }
      drag.u = u;
      drag.v = v;
    });
    const end = (e) => {
      if (!drag || drag.id !== e.pointerId) return;
      const a = drag.action;
      drag = null;
      if (a === 'plugin') {
        this.plugin?.pointerup?.(name, this.canvasToWorld(name, ...at(e)), e);
        return;
      }
      const d = pane.draft;
      if (!d) return;
      if (a === 'angle') {
        if (d.points.length < 3) {
          d.points.push(d.points[d.points.length - 1]);
          return;                                     // waiting for the third click
        }
      }
      pane.draft = null;
      const [p, q] = d.points;
      const tiny = Math.hypot(...sub(p, q)) < pane.mmPerPx * 2;
      if (tiny && a !== 'angle') {
        this._drawOverlay(pane);
        return;
      }
      this.addMeasurement(name, d.kind, d.points);
    };
    cell.addEventListener('pointerup', end);
    cell.addEventListener('pointercancel', (e) => {
      if (drag?.id === e.pointerId) drag = null;
    });
    cell.addEventListener('contextmenu', (e) => e.preventDefault());
    cell.addEventListener('auxclick', (e) => e.preventDefault());
    cell.addEventListener('dblclick', () => {
      if (!this.plugin?.dblclick?.(name)) this.maximize(name);
    });
    cell.addEventListener('wheel', (e) => {
      if (!this.volume) return;
      e.preventDefault();
      let dy = e.deltaY;
      if (e.deltaMode === WheelEvent.DOM_DELTA_LINE) dy *= 33;
      if (e.ctrlKey) {
        const [u, v] = at(e);
        this.zoom(name, Math.exp(-dy / 300), u, v);
        return;
      }
      const steps = Math.abs(dy) >= 50 ? Math.sign(dy) : Math.sign(dy) * (Math.abs(dy) > 4 ? 1 : 0);
      if (steps) this.setPoint(add(this.point, this.axes(name).normal, steps * this._minSpacing()));
    }, { passive: false });
    cell.addEventListener('keydown', (e) => {
      const step = { ArrowUp: -1, ArrowDown: 1, PageUp: -10, PageDown: 10 }[e.key];
      if (step) {
        e.preventDefault();
        e.stopPropagation();
        this.setPoint(add(this.point, this.axes(name).normal, step * this._minSpacing()));
      } else if (e.key === 'Escape' && pane.draft) {
        pane.draft = null;
        this._drawOverlay(pane);
      } else if (this.plugin?.keydown?.(name, e)) {
        e.preventDefault();
        e.stopPropagation();
      }
    });
  }
}

function summary(m) {
  return { id: m.id, pane: m.pane, kind: m.kind, points: m.points, result: m.result, text: m.text };
}

/** What a measurement reads, in words. */
export function describe(kind, r, modality) {
  const unit = modality === 'CT' ? ' HU' : '';
  switch (kind) {
    case 'distance': return `${fmt(r.distance_mm, 2)} mm`;
    case 'angle': return `${fmt(r.angle_deg, 1)}°`;
    case 'rectangle':
    case 'ellipse':
      return `mean ${fmt(r.mean)}${unit} ± ${fmt(r.std_dev)}, min ${fmt(r.min)}, max ${fmt(r.max)}, ${fmt(r.area_mm2)} mm²`;
    case 'probe':
      return `${r.value == null ? 'outside' : `${fmt(r.value)}${unit}`} at (${r.world.map((x) => fmt(x)).join(', ')}) mm`;
    default: return '';
  }
}
