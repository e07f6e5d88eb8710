// <lucent-viewer>: the embeddable viewer (series browser, viewport with overlays, slice slider, progress).
// Page chrome lives in app.js. Decoding and rendering happen in worker.js (see engine.js); this element
// keeps the view state and draws the ImageBitmaps it gets back with the current zoom/pan.
//
// Public API v1 (types: lucent-viewer.d.ts; LucentViewer.apiVersion). Within v1 members are only added.
//   load(source[, {token, pin}])   files, FileList, Blobs, ArrayBuffers, [{path, bytes}], URLs (DICOM, ZIP, JSON
//                                  listing, DICOMweb study/series), {dicomweb, token}, a share link / {share, pin};
//                                  replaces the study; resolves with the lucent:loaded detail (or {error} /
//                                  {superseded: true}). loadUrls(urls) = load(urls). loading  sourceFiles  authToken
//   series  seriesList  selectSeries(i)                        series (library index)
//   slice  sliceCount  goTo(i) = setSlice(i)  sliceInfo(i)     slices (resolve once drawn)
//   window  setWindow(c, w)  resetWindow()  setPreset(id)     window/level in modality units
//           setVoiLut(i)                                     one of the file's VOI LUTs (sliceInfo().voi_luts)
//   zoom  setZoom(z[, x, y])  pan(dx, dy)  fit()  reset()     zoom: device pixels per image pixel
//   screenshot({view, pane, type}) -> Blob   memory() -> {wasmBytes}   destroy()   destroyed   version
//   imageRect()  canvas  overlays  tool  showMessage(text)  handleKey(event)
//   layout  setLayout('stack' | 'mpr' | 'pano'[, {downsample}])  mpr (MprLayout: point, setPoint, view(pane), rotate,
//   setSlab, measurements, addMeasurement, deleteMeasurement, maximize; see mpr.js)
//   pano (PanoLayout, the dental layout: state, setState, setArch, proposeArch, setSections, setSlab, setShift,
//   addCanalPoint, newCanal, canalList, addMeasurement, measurements, view, sectionParams, renderAll; see pano.js)
// Events (bubbling, composed; namespaced so they never collide with the DOM's own error/progress/load):
//   lucent:ready, lucent:progress, lucent:rendered, lucent:loaded, lucent:error ({code, message, file}),
//   lucent:layout, lucent:mpr-rendered ({pane, view, window, labels}), lucent:measurement ({measurements}),
//   lucent:pano-rendered ({pane: 'pano', view, window} | {pane: 'sections', params, window}), lucent:destroyed.
// Attributes: src (whitespace-separated URLs, loaded when set), layout (stack | mpr | pano), preset (default, soft,
// lung, bone, brain), theme (dark | light), tools (built-in toolbar: window pan zoom distance angle rectangle ellipse
// probe mpr pano arch canal presets fit reset overlays, or all), no-series (hide the series browser), max-volume-mb (caps the MPR
// volume; default 1.5 GiB, a larger series is refused with an offer to open it downsampled).
// Shadow DOM: styles (lucent-viewer.css, next to this file) live inside; embedders style the host box, the
// --lv-* custom properties and ::part(root | viewport | slider | overlay | series | toolbar).
import { MSG } from './protocol.js';
import { PRESETS } from './presets.js';
import { Engine } from './engine.js';
import { SeriesList } from './series-list.js';
import { bindInput, handleKey } from './viewer-input.js';
import { MprLayout, MEASURE_TOOLS, PANES } from './mpr.js';
import { PanoLayout } from './pano.js';
import { el, watchDeviceSize } from './dom.js';
import { LatestRun } from './latest.js';
import { looksLikeShareLink, openShareLink } from './share-open.js';

export { PRESETS };

const THUMB_CSS_PX = 88;
/** The element's API version: what this file documents and lucent-viewer.d.ts types. Bumped on breaking changes. */
export const API_VERSION = 1;
// The built-in toolbar's buttons (attribute tools), in screen order; toggle = shows a pressed state.
const TOOLBAR = [
  { name: 'window', label: 'W/L', title: 'Drag to change window/level', toggle: true },
  { name: 'pan', label: 'Pan', title: 'Drag to pan', toggle: true },
  { name: 'zoom', label: 'Zoom', title: 'Drag to zoom', toggle: true },
  { name: 'distance', label: 'Distance', title: 'Measure a distance in mm (MPR)', toggle: true },
  { name: 'angle', label: 'Angle', title: 'Measure an angle (MPR)', toggle: true },
  { name: 'rectangle', label: 'Rect', title: 'Rectangle ROI statistics (MPR)', toggle: true },
  { name: 'ellipse', label: 'Ellipse', title: 'Ellipse ROI statistics (MPR)', toggle: true },
  { name: 'probe', label: 'Probe', title: 'Voxel value and position (MPR)', toggle: true },
  { name: 'mpr', label: 'MPR', title: 'Axial, coronal and sagittal planes', toggle: true },
  { name: 'pano', label: 'Dental', title: 'Panoramic and cross-sections along the dental arch', toggle: true },
  { name: 'arch', label: 'Arch', title: 'Draw the dental arch on the axial pane (Dental)', toggle: true },
  { name: 'canal', label: 'Canal', title: 'Trace the nerve canal on the panoramic and cross-sections (Dental)', toggle: true },
  { name: 'presets', label: '', title: '' },
  { name: 'fit', label: 'Fit', title: 'Fit the image' },
  { name: 'reset', label: 'Reset', title: 'Fit and the image\'s own window' },
  { name: 'overlays', label: 'Text', title: 'Show or hide the text overlays', toggle: true },
];
const DENTAL_TOOLS = ['arch', 'canal'];
const ZOOM_MIN = 1 / 32;
const ZOOM_MAX = 64;

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const fmtNum = (v) => {
  if (!Number.isFinite(v)) return '–';
  if (Number.isInteger(v) || Math.abs(v) >= 100) return String(Math.round(v));
  return String(Number(v.toFixed(Math.abs(v) >= 10 ? 1 : 2)));
};
// A DICOMweb study or series URL (QIDO/WADO-RS root + /studies/{uid}[/series/{uid}]).
const dicomwebTarget = (url) => /\/studies\/[0-9.]+(\/series\/[0-9.]+)?\/?$/.test(url.pathname);
const canvasBlob = (canvas, type, quality) => new Promise((resolve, reject) =>
  canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The picture could not be encoded.'))), type, quality));
const fmtDate = (d) => (/^\d{8}$/.test(d ?? '') ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d ?? '');

export class LucentViewer extends HTMLElement {
  static apiVersion = API_VERSION;

  constructor() {
    super();
    this._gen = 0;                  // study generation: replies from a replaced study are dropped
    this.authToken = null;          // bearer token for DICOMweb URLs given without one (src attribute)
    this._rows = [];                // series summaries (protocol.flattenTree)
    this._loading = null;           // {gen, resolve} while a load runs
    this._zoom = 1;
    this._overlays = true;
    this._tool = 'window';
    this._rs = new LatestRun((isCurrent) => this._renderOnce(isCurrent));
    this._resetStudyState();
    this._engine = new Engine({
      onMessage: (msg) => this._onMessage(msg),
      onFailure: (f) => this._onEngineFailure(f),
    });
  }

  _resetStudyState() {
    this._seriesIndex = -1;
    this._slice = 0;
    this._sliceCount = 0;
    this._window = null;            // requested {center, width}; null = the slice's default window
    this._drawn = null;             // what the canvas shows: {series, slice, center, width}
    this._info = null;              // sliceInfo of the drawn slice
    this._bitmap?.close();
    this._bitmap = null;
    this._imgW = 0;
    this._imgH = 0;
    this._aspect = 1;               // displayed height / width of a pixel (row spacing / column spacing)
    this._fitMode = true;           // refit on resize until the user zooms or pans
    this._panX = 0;
    this._panY = 0;
    this._navigated = false;        // the user picked a slice while the study was loading
    this._lastDetail = null;
    // Pending render promises of the old study resolve with null; a render under way is dropped.
    this._rs?.cancel();
  }

  static get observedAttributes() {
    return ['src', 'layout', 'preset', 'tools'];
  }

  connectedCallback() {
    if (this._destroyed) return;
    if (!this._built) this._build();
    this._engine.start();
    this._applyTools();
    if (this.hasAttribute('src') && this._srcLoaded !== this.getAttribute('src')) this._loadSrc();
  }

  attributeChangedCallback(name, old, value) {
    if (old === value || !this._built || this._destroyed) return;
    if (name === 'src') this._loadSrc();
    else if (name === 'tools') this._applyTools();
    else if (name === 'layout' && !this._loading && this._seriesIndex >= 0) this.setLayout(value || 'stack');
    else if (name === 'preset' && !this._loading && this._seriesIndex >= 0 && value) this.setPreset(value);
  }

  /**
   * Ends the viewer: terminates the worker (its wasm memory, with the study, goes with it), closes the image,
   * stops observing resizes and empties the shadow root. A load still pending resolves with
   * {error: {code: 'destroyed'}}, pending renders with null. The element cannot be used again (create a new one).
   */
  destroy() {
    if (this._destroyed) return;
    this._destroyed = true;
    this._gen++;
    this._engine.stop();
    this._engine.dead = true;
    this._resizeObserver?.disconnect();
    this._mpr?.destroy();
    this._mpr = null;
    this._pano?.destroy();
    this._pano = null;
    const loading = this._loading;
    this._loading = null;
    loading?.resolve({ error: { code: 'destroyed', message: 'The viewer was destroyed.' } });
    this._resetStudyState();
    this._sources = null;
    this.shadowRoot?.replaceChildren();
    this._emit('lucent:destroyed', {});
  }

  /** What the engine holds: {wasmBytes} (its WebAssembly memory, which only grows until destroy()). */
  async memory() {
    const reply = await this._engine.ask({ type: MSG.STATS });
    return reply.ok ? { wasmBytes: reply.wasmBytes } : { wasmBytes: 0 };
  }

  /** True once destroy() ran. */
  get destroyed() {
    return Boolean(this._destroyed);
  }

  /** Version of the wasm core (null until lucent:ready). */
  get version() {
    return this._engine.version;
  }

  // ---- DOM -------------------------------------------------------------------------------------------------

  _build() {
    this._built = true;
    // Shadow DOM: the host page's CSS cannot reach in and ours cannot leak out. The stylesheet is the file next
    // to this module (a <link>, so it works under a strict CSP: style-src 'self' or the viewer's origin).
    const shadow = this.shadowRoot ?? this.attachShadow({ mode: 'open' });
    const style = el('link');
    style.rel = 'stylesheet';
    style.href = new URL('./lucent-viewer.css', import.meta.url).href;
    this._root = el('div', 'lv-root');
    this._root.setAttribute('part', 'root');
    shadow.replaceChildren(style, this._root);
    this._root.classList.toggle('lv-no-overlays', !this._overlays);
    this._seriesList = new SeriesList((index) => this.selectSeries(index));

    this._viewport = el('div', 'lv-viewport');
    this._viewport.tabIndex = 0;
    this._viewport.dataset.tool = this._tool;
    this._viewport.setAttribute('aria-label', 'Image viewport');
    this._viewport.setAttribute('part', 'viewport');
    this.canvas = el('canvas', 'lv-canvas');
    this._ctx = this.canvas.getContext('2d', { alpha: false });
    this._ov = {};
    for (const corner of ['tl', 'tr', 'bl', 'br']) {
      this._ov[corner] = el('div', `lv-ov lv-${corner}`);
      this._ov[corner].setAttribute('part', `overlay overlay-${corner}`);
    }
    this._message = el('div', 'lv-message');
    this._message.hidden = true;
    this._progress = el('div', 'lv-progress');
    this._progress.hidden = true;
    this._progressBar = el('div', 'lv-progress-bar');
    this._progressText = el('div', 'lv-progress-text');
    this._progress.append(this._progressBar, this._progressText);
    this._viewport.append(this.canvas, ...Object.values(this._ov), this._message, this._progress);

    this._slider = el('input', 'lv-slider');
    Object.assign(this._slider, { type: 'range', min: '0', max: '0', step: '1', value: '0', disabled: true, tabIndex: -1 });
    this._slider.setAttribute('aria-label', 'Slice');
    this._slider.setAttribute('part', 'slider');
    this._slider.addEventListener('input', () => this.setSlice(Number(this._slider.value)));

    const stage = el('div', 'lv-stage');
    stage.append(this._viewport, this._slider);
    this._stage = stage;
    this._root.replaceChildren(this._seriesList.element, stage);

    bindInput(this, this._viewport);
    this._resizeObserver = watchDeviceSize(this.canvas, (w, h) => this._onResize(w, h));
    this._showMessage('No study loaded. Drop a folder or DICOM files here.');
  }

  _onResize(w, h) {
    if (w === this.canvas.width && h === this.canvas.height) return;
    this.canvas.width = w;
    this.canvas.height = h;
    if (this._fitMode) this._applyFit();
    this._draw();
    this._updateOverlays();
  }

  /** Shows a line of text over the viewport (empty string hides it); kind 'info' | 'error'. */
  showMessage(text, kind = 'info') {
    this._showMessage(text, kind);
  }

  /** A message over the viewport; `action` ({label, run}) adds a button that clears the message and runs. */
  _showMessage(text, kind = 'info', action = null) {
    this._message.replaceChildren(text);
    if (action) {
      const button = el('button', 'lv-message-action', action.label);
      button.type = 'button';
      // the viewport's own pointer handling (drag to window/pan) must not take this press
      button.addEventListener('pointerdown', (e) => e.stopPropagation());
      button.addEventListener('click', () => {
        this._showMessage('');
        action.run();
      });
      this._message.append(' ', button);
    }
    this._message.dataset.kind = kind;
    this._message.hidden = !text;
  }

  _emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  // ---- engine messages -------------------------------------------------------------------------------------

  _ask(payload) {
    return this._engine.ask({ ...payload, gen: this._gen });
  }

  _onEngineFailure({ code, message, file }) {
    this._gen++;
    const loading = this._loading;
    this._loading = null;
    this._resetStudyState();
    this._setRows([]);
    this._progress.hidden = true;
    this._draw();
    this._updateOverlays();
    this._showMessage(message, 'error');
    this._emit('lucent:error', { code, message, file });
    loading?.resolve({ error: { code, message } });
  }

  _onMessage(msg) {
    if (msg.type === MSG.READY) {
      this._emit('lucent:ready', { version: msg.version });
      return;
    }
    if (msg.type === 'worker-error') {
      this._emit('lucent:error', { code: 'internal', message: `Viewer engine error: ${msg.message}`, file: null });
      return;
    }
    if (msg.gen !== this._gen) return;   // from a study that was replaced
    switch (msg.type) {
      case MSG.PROGRESS:
        this._onProgress(msg);
        break;
      case MSG.TREE: {
        const before = this._sliceCount;
        this._setRows(msg.series);
        // Slices arrived: index k may now be another file, so redraw to keep image and "Im: k / n" in step.
        if (this._seriesIndex >= 0 && this._sliceCount !== before) this._requestRender();
        break;
      }
      case MSG.FIRST_IMAGE:
        if (this._seriesIndex < 0) {
          this._seriesIndex = msg.series;
          this._slice = 0;
          this._syncSeriesUi();
          this._requestRender();
        }
        break;
      case MSG.LOADED:
        this._finishLoad(msg);
        break;
      default:
        break;
    }
  }

  // ---- loading ---------------------------------------------------------------------------------------------

  /**
   * Replaces the current study with these files.
   * @param {FileList|Array<File|{file: File, path: string}>} files
   * @returns {Promise<object>} the lucent:loaded detail (or {error} / {superseded: true})
   */
  load(source, options = {}) {
    if (this._destroyed) return Promise.resolve({ error: { code: 'destroyed', message: 'The viewer was destroyed.' } });
    // One source or a list of them (a FileList, an array); bytes and strings are single sources.
    const single = typeof source === 'string' || source instanceof URL || source instanceof Blob
      || source instanceof ArrayBuffer || ArrayBuffer.isView(source) || typeof source?.[Symbol.iterator] !== 'function';
    const list = source == null ? [] : single ? [source] : [...source];
    const share = list.find((s) => s?.share || (typeof s === 'string' && looksLikeShareLink(s)));
    if (share) return this._loadShare(share.share ?? share, { pin: share.pin ?? options.pin, token: options.token });
    const items = [];
    let unnamed = 0;
    const name = () => `file-${++unnamed}`;
    for (const f of list) {
      if (typeof f === 'string' || f instanceof URL) {
        const url = new URL(String(f), document.baseURI);
        const dicomweb = dicomwebTarget(url);
        if (dicomweb) items.push({ dicomweb: url.href, token: options.token ?? this.authToken ?? null, path: url.href });
        else items.push({ url: url.href, probe: true, path: String(f) });
      } else if (f?.dicomweb) {
        items.push({ dicomweb: new URL(String(f.dicomweb), document.baseURI).href, token: f.token ?? options.token ?? this.authToken ?? null,
          path: String(f.dicomweb) });
      } else if (f instanceof File) items.push({ file: f, path: f.webkitRelativePath || f.name });
      else if (f instanceof Blob) items.push({ file: f, path: name() });
      else if (f instanceof ArrayBuffer) items.push({ bytes: new Uint8Array(f), path: name() });
      else if (ArrayBuffer.isView(f)) items.push({ bytes: new Uint8Array(f.buffer, f.byteOffset, f.byteLength), path: name() });
      else if (f?.bytes instanceof ArrayBuffer || ArrayBuffer.isView(f?.bytes)) {
        const b = f.bytes instanceof ArrayBuffer ? new Uint8Array(f.bytes) : new Uint8Array(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
        items.push({ bytes: b, path: f.path ?? f.name ?? name() });
      } else if (f && typeof f === 'object') items.push({ file: f.file ?? null, path: f.path ?? f.file?.name ?? name() });
    }
    return this._startLoad(items);
  }

  /** Same as load(); kept for the demo and older callers. */
  loadUrls(urls) {
    return this.load([...urls].map((u) => String(u)));
  }

  // A src attribute: one or more URLs separated by whitespace (DICOM files, a JSON listing, a ZIP, a DICOMweb
  // study or series, or one share link).
  _loadSrc() {
    const src = this.getAttribute('src') ?? '';
    this._srcLoaded = src;
    const urls = src.split(/\s+/).filter(Boolean);
    if (!urls.length) return null;
    return this.load(urls).then((detail) => {
      if (detail?.error || detail?.superseded) return detail;
      const preset = this.getAttribute('preset');
      if (preset) this.setPreset(preset);
      const layout = this.getAttribute('layout');
      if (layout && layout !== 'stack') this.setLayout(layout);
      return detail;
    });
  }

  // A share link (share.html#<location>.<key>): fetched and decrypted here on the page's thread with WebCrypto
  // (share-bundle.js), then handed to the engine as bytes. The key never reaches the worker or the wasm.
  async _loadShare(link, { pin } = {}) {
    const gen = ++this._gen;
    this._showMessage('Opening the shared study…');
    const fail = (code, message) => {
      if (gen !== this._gen) return { superseded: true };
      this._showMessage(message, 'error');
      const error = { code, message, file: null };
      this._emit('lucent:error', error);
      return { error };
    };
    let files;
    try {
      files = await openShareLink(String(link), {
        pin,
        baseUrl: document.baseURI,
        onProgress: (done, total) => gen === this._gen && this._emit('lucent:progress', { read: 0, total: 0, decoded: 0, decodeTotal: 0, bytes: done, bytesTotal: total }),
      });
    } catch (e) {
      return fail(e?.code ? `share-${e.code}` : 'share-failed', e?.message ?? String(e));
    }
    if (gen !== this._gen) return { superseded: true };
    return this._startLoad(files.map((f) => ({ bytes: f.bytes, path: f.path })));
  }

  /**
   * The loaded study's sources, for sharing: [{path, file?: File, url?: string}] (structured-cloneable, so a
   * worker can read them), or null before a load. Files handed over as bytes went to the engine and are not
   * kept: such a study (e.g. one opened from a share link) cannot be shared again from here.
   */
  get sourceFiles() {
    if (!this._sources?.length || this._sources.some((s) => !s.file && !s.url)) return null;
    return this._sources.map((s) => ({ ...s }));
  }

  /** True while a study is being read or decoded. */
  get loading() {
    return this._loading != null;
  }

  _startLoad(items) {
    if (this._destroyed) return Promise.resolve({ error: { code: 'destroyed', message: 'The viewer was destroyed.' } });
    if (!this._built) this._build();
    if (this._layout === 'mpr' || this._layout === 'pano') this.setLayout('stack');
    this._engine.start();
    const gen = ++this._gen;
    this._loading?.resolve({ superseded: true });
    this._resetStudyState();
    this._setRows([]);
    this._draw();
    this._updateOverlays();
    this._showMessage('');
    const done = new Promise((resolve) => {
      this._loading = { gen, resolve };
    });
    this._loadDone = done;
    if (!this._engine.running) {
      const error = { code: 'engine-stopped', message: 'The viewer engine is not available; the study cannot be shown.' };
      this._showMessage(error.message, 'error');
      this._loading.resolve({ error });
      this._loading = null;
      return done;
    }
    this._onProgress({ read: 0, total: items.length, decoded: 0, decodeTotal: 0 });
    this._sources = items.filter((i) => i.file || i.url)
      .map(({ file, url, path }) => (file ? { file, path } : { url, path }));
    if (items.some((i) => i.bytes)) this._sources.push({ path: null });   // bytes are not kept
    // Bytes are transferred, not copied: the page lets go of them.
    const transfer = [...new Set(items.filter((i) => i.bytes).map((i) => i.bytes.buffer))];
    this._engine.post({ type: MSG.LOAD, gen, items }, transfer);
    return done;
  }

  _onProgress({ read, total, decoded, decodeTotal }) {
    this._progress.hidden = false;
    const denominator = total + (decodeTotal || total);
    const fraction = denominator ? (read + decoded) / denominator : 1;
    this._progressBar.style.width = `${(fraction * 100).toFixed(1)}%`;
    this._progressText.textContent = read < total || !decodeTotal
      ? `Reading ${read} / ${total} files`
      : `Decoding ${decoded} / ${decodeTotal} images`;
    this._emit('lucent:progress', { read, total, decoded, decodeTotal });
  }

  async _finishLoad(msg) {
    const { gen } = msg;
    this._setRows(msg.series);
    // Open on the series of the first image, unless none of its slices decodes (e.g. an unsupported
    // compression) and another series can be shown; a series the user picked stays.
    const current = this._rows.find((r) => r.index === this._seriesIndex);
    if (!this._navigated && !(current?.decoded > 0)) {
      const showable = this._rows.find((r) => r.decoded > 0) ?? current ?? this._rows[0];
      if (showable && showable.index !== this._seriesIndex) {
        this._seriesIndex = showable.index;
        this._window = null;
        this._fitMode = true;
      }
    }
    if (this._seriesIndex >= 0) {
      // The slice order is final only now: land on the middle slice unless the user already moved.
      if (!this._navigated) this._slice = Math.floor(this._sliceCount / 2);
      this._syncSeriesUi();
      await this._requestRender();
      if (gen !== this._gen) return;
    }
    this._progress.hidden = true;
    const slices = msg.series.reduce((n, s) => n + s.slices, 0);
    if (!slices) {
      this._showMessage(msg.files
        ? `No displayable images in ${msg.files} file${msg.files === 1 ? '' : 's'}.`
        : 'No files to load.', 'error');
    }
    const detail = { files: msg.files, images: msg.images, slices, errors: msg.errors, notes: msg.notes, series: msg.series };
    const loading = this._loading;
    this._loading = null;
    this._emit('lucent:loaded', detail);
    loading?.resolve(detail);
    this._loadThumbnails(gen);
  }

  // ---- series ----------------------------------------------------------------------------------------------

  /**
   * Series summaries: {index, uid, number, description, modality, rows, columns, slices, patient_name, patient_id,
   * study_uid, study_date, study_description, and once loaded, decoded (slices that decode)}.
   */
  get seriesList() {
    return this._rows.map((r) => ({ ...r }));
  }

  /** Current series (library index), or -1. */
  get series() {
    return this._seriesIndex;
  }

  _setRows(rows) {
    this._rows = rows;
    this._seriesList.setRows(rows);
    this._syncSeriesUi();
  }

  _syncSeriesUi() {
    const row = this._rows.find((r) => r.index === this._seriesIndex);
    if (row) this._sliceCount = row.slices;
    this._seriesList.setActive(this._seriesIndex);
    this._slice = clamp(this._slice, 0, Math.max(0, this._sliceCount - 1));
    this._slider.max = String(Math.max(0, this._sliceCount - 1));
    this._slider.value = String(this._slice);
    this._slider.disabled = this._sliceCount <= 1;
  }

  async _loadThumbnails(gen) {
    const size = Math.round(THUMB_CSS_PX * devicePixelRatio);
    for (const row of this._rows) {
      // One at a time, so a window drag never queues behind a batch of thumbnails in the worker.
      const reply = await this._ask({ type: MSG.THUMB, series: row.index, size });
      if (gen !== this._gen) {
        reply.bitmap?.close();
        return;
      }
      if (reply.ok) this._seriesList.setThumbnail(row.index, reply.bitmap);
    }
  }

  /** Shows another series (library index) at its middle slice with its default window. */
  selectSeries(index) {
    const row = this._rows.find((r) => r.index === index);
    if (!row) return Promise.resolve(null);
    if (index === this._seriesIndex) return this._lastDetail ? Promise.resolve(this._lastDetail) : this._requestRender();
    this._seriesIndex = index;
    this._sliceCount = row.slices;
    this._slice = Math.floor(row.slices / 2);
    this._window = null;
    this._fitMode = true;
    this._navigated = true;
    this._syncSeriesUi();
    const rendered = this._requestRender();
    const layout = this._layout;
    if (layout === 'mpr' || layout === 'pano') return rendered.then(() => this.setLayout(layout)).then(() => this._lastDetail);
    return rendered;
  }

  // ---- rendering -------------------------------------------------------------------------------------------

  // Coalescing (LatestRun): at most one render in flight; meanwhile only the newest requested state is kept.
  // Every caller's promise resolves with the first render showing its state or a newer one.
  _requestRender() {
    if (this._seriesIndex < 0) return Promise.resolve(null);
    return this._rs.request();
  }

  async _renderOnce(isCurrent) {
    const reply = await this._ask({
      type: MSG.RENDER,
      series: this._seriesIndex,
      slice: this._slice,
      center: this._window?.center ?? null,
      width: this._window?.width ?? null,
      lut: this._window?.lut ?? null,
    });
    if (!isCurrent()) {                  // the study was replaced meanwhile
      reply.bitmap?.close();
      return null;
    }
    if (reply.ok) return this._showFrame(reply);
    if (!reply.stale && reply.code !== 'engine-stopped') return this._showRenderError(reply);
    return null;
  }

  _showFrame(r) {
    this._bitmap?.close();
    this._bitmap = r.bitmap;
    this._imgW = r.w;
    this._imgH = r.h;
    const [rowSpacing, colSpacing] = r.info?.pixel_spacing ?? [1, 1];
    this._aspect = rowSpacing > 0 && colSpacing > 0 ? rowSpacing / colSpacing : 1;
    this._info = r.info;
    this._sliceCount = r.sliceCount;
    // The worker clamps the slice if the series shrank; a newer request (rs.want) keeps its own slice.
    if (!this._rs.want) this._slice = r.slice;
    const voi = r.lut != null ? { lut: r.lut, label: r.label } : {};
    // A VOI LUT stays selected across slices (by index), with the linear window it stands for.
    if (this._window == null || (this._window.lut != null && this._window.lut === r.lut)) {
      this._window = { center: r.center, width: r.width, ...voi };
    }
    this._drawn = { series: r.series, slice: r.slice, center: r.center, width: r.width, ...voi };
    this._syncSeriesUi();
    if (this._fitMode) this._applyFit();
    this._showMessage('');
    this._draw();
    this._updateOverlays();
    const detail = { series: r.series, slice: r.slice, center: r.center, width: r.width, width_px: r.w, height_px: r.h,
      voi_lut: r.lut ?? null, voi_label: r.label ?? null };
    this._lastDetail = detail;
    this._emit('lucent:rendered', detail);
    return detail;
  }

  _showRenderError(r) {
    // Never leave the previous slice on screen under this slice's overlays.
    this._bitmap?.close();
    this._bitmap = null;
    this._info = null;
    this._drawn = null;
    this._draw();
    this._updateOverlays();
    const error = { code: r.code, message: r.message, file: r.file ?? null };
    this._showMessage(`Image ${this._slice + 1} cannot be shown: ${r.message}`, 'error');
    this._emit('lucent:error', error);
    return { error };
  }

  _draw() {
    const { canvas, _ctx: ctx } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!this._bitmap) return;
    const r = this.imageRect();
    // Magnified pixels stay crisp squares; minified images are filtered (no aliasing).
    ctx.imageSmoothingEnabled = r.width < this._imgW - 1e-9;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(this._bitmap, r.x, r.y, r.width, r.height);
  }

  /** Where the image is drawn, in canvas (device) pixels; x and y are whole pixels. */
  imageRect() {
    if (!this._imgW) return { x: 0, y: 0, width: 0, height: 0 };
    const width = this._imgW * this._zoom;
    const height = this._imgH * this._aspect * this._zoom;
    return {
      x: Math.round((this.canvas.width - width) / 2 + this._panX),
      y: Math.round((this.canvas.height - height) / 2 + this._panY),
      width,
      height,
    };
  }

  _updateOverlays() {
    const info = this._info;
    const row = this._rows.find((r) => r.index === this._seriesIndex);
    const lines = (corner, texts) =>
      this._ov[corner].replaceChildren(...texts.filter((t) => t != null && t !== '').map((t) => el('div', null, t)));
    if (this._seriesIndex < 0) {
      for (const corner of Object.keys(this._ov)) lines(corner, []);
      return;
    }
    const patientId = info?.patient_id ?? row?.patient_id ?? '';
    lines('tl', [info?.patient_name ?? row?.patient_name, patientId && `ID: ${patientId}`]);
    lines('tr', [fmtDate(info?.study_date ?? row?.study_date), info?.study_description ?? row?.study_description,
      info?.modality ?? row?.modality]);
    const position = info?.slice_location ?? null;   // mm along the slice normal, computed by the core
    lines('bl', [
      `Se: ${info?.series_number ?? row?.number ?? '–'} ${info?.series_description ?? row?.description ?? ''}`.trim(),
      `Im: ${(this._drawn?.slice ?? this._slice) + 1} / ${this._sliceCount}`,   // the image shown, not the one requested
      position != null ? `Loc: ${position.toFixed(2)} mm` : null,
    ]);
    const w = this._drawn;
    lines('br', [
      // a VOI LUT has no width/level: it is shown by its LUT Explanation (or "VOI LUT")
      w ? (w.lut != null ? w.label ?? 'VOI LUT' : `W: ${fmtNum(w.width)} L: ${fmtNum(w.center)}`) : null,
      this._imgW ? `Zoom: ${(this._zoom * 100).toFixed(0)}%` : null,
    ]);
  }

  // ---- slices & window -------------------------------------------------------------------------------------

  get slice() {
    return this._slice;
  }

  get sliceCount() {
    return this._sliceCount;
  }

  /** Shows slice i (clamped). Resolves with the lucent:rendered detail once it is on screen. */
  setSlice(i) {
    if (this._seriesIndex < 0 || !Number.isFinite(i)) return Promise.resolve(null);
    const slice = clamp(Math.round(i), 0, Math.max(0, this._sliceCount - 1));
    this._navigated = true;
    if (slice === this._slice && this._drawn?.slice === slice && !this._rs.pending) {
      return Promise.resolve(this._lastDetail);
    }
    this._slice = slice;
    this._slider.value = String(slice);
    return this._requestRender();
  }

  /** API v1 name of setSlice: shows slice i (0-based, clamped); resolves with the lucent:rendered detail. */
  goTo(slice) {
    return this.setSlice(slice);
  }

  /**
   * A picture of what is shown, as a Blob (PNG unless `type` says otherwise). view 'image' (default): the current
   * slice at its own resolution with the current window, pixel for pixel what `lucent render` writes; 'viewport':
   * the canvas as displayed (zoom, pan; the text overlays are DOM, not in it). In the MPR layout, {pane: 'axial' |
   * 'coronal' | 'sagittal'} takes that pane's canvas; in the dental layout {pane: 'axial' | 'pano' | 'sections'}
   * (the panoramic, or the strip of cross-sections, exactly as `lucent pano` / `lucent sections` write them; the
   * overlays are not in it: viewer.pano.composite(pane) has them). Rejects with code 'no-image' when nothing is shown.
   */
  async screenshot({ view = 'image', pane = null, type = 'image/png', quality } = {}) {
    const noImage = (message) => Object.assign(new Error(message), { code: 'no-image' });
    if (this._destroyed) throw noImage('The viewer was destroyed.');
    if (pane && this._layout === 'pano' && (pane === 'pano' || pane === 'sections')) return this._pano.screenshot(pane, type, quality);
    if (pane) {
      const shown = this._layout === 'mpr' || (this._layout === 'pano' && pane === 'axial');
      const canvas = shown ? this._mpr?.panes[pane]?.canvas : null;
      if (!canvas) throw noImage(`No ${pane} pane is shown.`);
      await this._mpr.renderAll();
      return canvasBlob(canvas, type, quality);
    }
    if (this._rs.pending) await this._requestRender();
    if (!this._bitmap) throw noImage('No image is shown.');
    if (view === 'viewport') return canvasBlob(this.canvas, type, quality);
    const c = new OffscreenCanvas(this._imgW, this._imgH);
    c.getContext('2d').drawImage(this._bitmap, 0, 0);
    return c.convertToBlob({ type, quality });
  }

  /** The core's description of a slice (file, position, spacing, ...). */
  async sliceInfo(slice = this._slice, series = this._seriesIndex) {
    const reply = await this._ask({ type: MSG.INFO, series, slice });
    if (!reply.ok) throw Object.assign(new Error(reply.message ?? 'no such slice'), { code: reply.code ?? 'not-found' });
    return reply.info;
  }

  /**
   * The requested window {center, width} in modality units (null before the first image); with `lut` and
   * `label` when a VOI LUT is shown (center/width are then the linear window over the inputs it maps).
   */
  get window() {
    return this._window ? { ...this._window } : null;
  }

  setWindow(center, width) {
    if (!Number.isFinite(center) || !Number.isFinite(width) || width <= 0) {
      throw new RangeError('setWindow needs a finite center and a width > 0');
    }
    this._window = { center, width };
    if ((this._layout === 'mpr' || this._layout === 'pano') && this._mpr?.volume) this._mpr.setWindow(center, width);
    return this._requestRender();
  }

  /**
   * Shows the slice through the file's VOI LUT `index` (an index into sliceInfo().voi_luts); it stays selected
   * while scrolling until setWindow/resetWindow/a preset. A drag then starts from the linear window over the
   * inputs the LUT maps.
   */
  setVoiLut(index) {
    if (!Number.isInteger(index) || index < 0) throw new RangeError('setVoiLut needs a VOI LUT index >= 0');
    this._window = { center: this._window?.center ?? null, width: this._window?.width ?? null, lut: index };
    return this._requestRender();
  }

  /** Back to the slice's own VOI (file window, else its first VOI LUT, else the data range). */
  resetWindow() {
    this._window = null;
    return this._requestRender();
  }

  /** Applies a preset by id ('default', 'soft', 'lung', 'bone', 'brain') or index into PRESETS. */
  setPreset(idOrIndex) {
    const preset = typeof idOrIndex === 'number' ? PRESETS[idOrIndex] : PRESETS.find((p) => p.id === idOrIndex);
    if (!preset) return Promise.resolve(null);
    return preset.center == null ? this.resetWindow() : this.setWindow(preset.center, preset.width);
  }

  // ---- zoom & pan ------------------------------------------------------------------------------------------

  /** Device pixels per image pixel (1 = actual pixels). */
  get zoom() {
    return this._zoom;
  }

  /** Sets the zoom, keeping the canvas point (ax, ay) where it is (default: the canvas centre). */
  setZoom(z, ax = this.canvas.width / 2, ay = this.canvas.height / 2) {
    if (!Number.isFinite(z) || z <= 0) return;
    const zoom = clamp(z, ZOOM_MIN, ZOOM_MAX);
    const k = zoom / this._zoom;
    const cx = this.canvas.width / 2;
    const cy = this.canvas.height / 2;
    this._panX = ax - cx - (ax - cx - this._panX) * k;
    this._panY = ay - cy - (ay - cy - this._panY) * k;
    this._zoom = zoom;
    this._fitMode = false;
    this._draw();
    this._updateOverlays();
  }

  /** Moves the image by (dx, dy) canvas pixels. */
  pan(dx, dy) {
    this._panX += dx;
    this._panY += dy;
    this._fitMode = false;
    this._draw();
  }

  /** Largest zoom showing the whole image, centred; stays fitted across resizes. */
  fit() {
    this._fitMode = true;
    this._applyFit();
    this._draw();
    this._updateOverlays();
  }

  _applyFit() {
    this._panX = 0;
    this._panY = 0;
    if (!this._imgW || !this._imgH) return;
    this._zoom = Math.min(this.canvas.width / this._imgW, this.canvas.height / (this._imgH * this._aspect));
  }

  /** Fit, centred, default window. */
  reset() {
    this.fit();
    return this.resetWindow();
  }

  // ---- display options -------------------------------------------------------------------------------------

  get overlays() {
    return this._overlays;
  }

  set overlays(on) {
    this._overlays = Boolean(on);
    this._root?.classList.toggle('lv-no-overlays', !this._overlays);
  }

  /**
   * What a plain left drag does: 'window' | 'pan' | 'zoom'; in MPR panes also 'crosshair' (the default there for
   * 'window') and the measurement tools 'distance' | 'angle' | 'rectangle' | 'ellipse' | 'probe'; in the dental
   * layout also 'arch' (edit the arch on the axial pane) and 'canal' (trace the nerve canal).
   */
  get tool() {
    return this._tool;
  }

  set tool(name) {
    if (!['window', 'pan', 'zoom', 'crosshair', ...MEASURE_TOOLS, ...DENTAL_TOOLS].includes(name)) return;
    this._tool = name;
    if (this._viewport) this._viewport.dataset.tool = name;
    this._syncToolbar();
    this._pano?.syncTools();
  }

  // ---- layout ----------------------------------------------------------------------------------------------

  /** 'stack' (one viewport), 'mpr' (axial, coronal, sagittal and the stack) or 'pano' (dental: axial, panoramic,
   * cross-sections). */
  get layout() {
    return this._layout ?? 'stack';
  }

  /** Largest volume MPR may build, in bytes: attribute max-volume-mb, else 1.5 GiB (wasm32 memory ends at 4 GiB). */
  get maxVolumeBytes() {
    const mb = Number(this.getAttribute('max-volume-mb'));
    return mb > 0 ? mb * 2 ** 20 : 1.5 * 2 ** 30;
  }

  /** The MPR layout object once MPR was opened (null before). */
  get mpr() {
    return this._mpr ?? null;
  }

  /** The dental layout object once it was opened (null before). */
  get pano() {
    return this._pano ?? null;
  }

  /**
   * Switches layout. 'mpr' builds the current series' volume in the worker (once) and shows the three planes
   * linked by a crosshair; 'pano' (dental) builds the same volume and shows its axial pane with the panoramic and
   * the cross-sections along an arch drawn on it. Resolves with {volume} or {error} (e.g. limit-exceeded: retry
   * with {downsample: 2}).
   */
  async setLayout(name, { downsample = 1 } = {}) {
    if (name !== 'mpr' && name !== 'pano') {
      if (this._layout === 'mpr' || this._layout === 'pano') {
        this._leaveLayout();
        this._layout = 'stack';
        this._showMain(this._stage);
        this._emit('lucent:layout', { layout: 'stack' });
      }
      return { layout: 'stack' };
    }
    if (this._seriesIndex < 0) return { error: { code: 'not-found', message: 'No series is open.' } };
    if (this._loading) {
      // A volume built now would miss the files still arriving: build it from the whole series.
      this._showMessage('Waiting for the study to finish loading…');
      const loaded = await this._loadDone;
      if (loaded?.superseded || loaded?.error) return { superseded: true };
    }
    this._mpr ??= new MprLayout(this);
    const gen = this._gen;
    const series = this._seriesIndex;
    const from = this._layout;
    if (from !== name) {
      this._leaveLayout();
      this._layout = name;
      if (name === 'mpr') {
        this._root.classList.add('lv-layout-mpr');
        this._mpr.stackCell.replaceChildren(this._stage);
        this._showMain(this._mpr.element);
      } else {
        this._pano ??= new PanoLayout(this, this._mpr);
        this._root.classList.add('lv-layout-pano');
        this._pano.attach();
        this._showMain(this._pano.element);
      }
    }
    if (this._mpr.series === series && this._mpr.volume && this._mprGen === gen) {
      if (name === 'mpr') {
        if (from === 'pano') this._mpr.renderAll();
        return { volume: this._mpr.volume };
      }
      if (from !== 'pano') {
        this._pano.open();
        this._emit('lucent:layout', { layout: 'pano', volume: this._mpr.volume, panes: ['axial', 'pano', 'sections'] });
      }
      return { volume: this._mpr.volume };
    }
    this._showMessage('Building the volume…');
    const result = await this._mpr.open(series, { downsample });
    if (gen !== this._gen) return { superseded: true };
    this._showMessage('');
    if (result.error) {
      await this.setLayout('stack');
      // Too big for this device: offer the same series at half the resolution in each direction.
      const what = name === 'pano' ? 'The dental view' : 'MPR';
      const retry = result.error.code === 'limit-exceeded' && downsample < 8
        ? { label: `Open ${what} at 1/${downsample * 2} resolution`, run: () => this.setLayout(name, { downsample: downsample * 2 }) }
        : null;
      this._showMessage(`${what} is not available for this series: ${result.error.message}`, 'error', retry);
      this._emit('lucent:error', { ...result.error, file: null });
      return result;
    }
    this._mprGen = gen;
    // The series' slices are now the volume's slices (their number changes if the volume was resampled).
    if (result.series) this._setRows(result.series.map((r) => ({ ...r, decoded: r.slices })));
    this._requestRender();
    if (name === 'pano') {
      this._pano.open();
      this._emit('lucent:layout', { layout: 'pano', volume: result.volume, panes: ['axial', 'pano', 'sections'] });
    } else {
      this._emit('lucent:layout', { layout: 'mpr', volume: result.volume, panes: PANES });
    }
    return { volume: result.volume };
  }

  // The layout's main element beside the series browser (and under the built-in toolbar, if there is one).
  _showMain(main) {
    this._root.replaceChildren(...(this._toolbar ? [this._toolbar] : []), this._seriesList.element, main);
  }

  // Undoes what showing the current layout did (the dental layout gives the axial pane back to the MPR grid).
  _leaveLayout() {
    if (this._layout === 'pano') {
      this._pano?.detach();
      if (DENTAL_TOOLS.includes(this._tool)) this.tool = 'window';
    }
    this._root.classList.remove('lv-layout-mpr', 'lv-layout-pano');
  }

  // ---- built-in toolbar (attribute tools) ------------------------------------------------------------------

  // tools="window pan zoom distance angle rectangle ellipse probe mpr pano arch canal presets fit reset overlays" (any subset, in
  // that order on screen); "all" = every one; no attribute = no toolbar (the host page may build its own).
  _applyTools() {
    if (!this._built) return;
    const asked = (this.getAttribute('tools') ?? '').split(/[\s,]+/).filter(Boolean);
    const names = asked.includes('all') ? TOOLBAR.map((t) => t.name) : asked;
    const wanted = TOOLBAR.filter((t) => names.includes(t.name));
    if (!wanted.length) {
      this._toolbar?.remove();
      this._toolbar = null;
      return;
    }
    this._toolbar ??= el('div', 'lv-toolbar');
    this._toolbar.setAttribute('part', 'toolbar');
    this._toolbar.setAttribute('role', 'toolbar');
    const buttons = [];
    for (const t of wanted) {
      if (t.name === 'presets') {
        for (const p of PRESETS) buttons.push(this._toolButton(p.label, `Window: ${p.label}`, () => this.setPreset(p.id), { preset: p.id }));
      } else {
        buttons.push(this._toolButton(t.label, t.title, () => this._runTool(t.name), { tool: t.name }));
      }
    }
    this._toolbar.replaceChildren(...buttons);
    if (!this._toolbar.isConnected) this._root.prepend(this._toolbar);
    this._syncToolbar();
  }

  _toolButton(label, title, run, data) {
    const b = el('button', 'lv-tool', label);
    b.type = 'button';
    b.title = title;
    Object.assign(b.dataset, data);
    b.addEventListener('click', run);
    return b;
  }

  _runTool(name) {
    if (name === 'mpr' || name === 'pano') return this.setLayout(this.layout === name ? 'stack' : name).then(() => this._syncToolbar());
    if (name === 'fit') return this.fit();
    if (name === 'reset') return this.reset();
    if (name === 'overlays') {
      this.overlays = !this.overlays;
      return this._syncToolbar();
    }
    // measurement tools need the MPR panes (the core measures in patient mm on a plane)
    if (MEASURE_TOOLS.includes(name) && this.layout === 'stack') return this.setLayout('mpr').then(() => this._setToolFromBar(name));
    if (DENTAL_TOOLS.includes(name) && this.layout !== 'pano') return this.setLayout('pano').then(() => this._setToolFromBar(name));
    return this._setToolFromBar(name);
  }

  _setToolFromBar(name) {
    this.tool = name;
    this._syncToolbar();
  }

  _syncToolbar() {
    for (const b of this._toolbar?.querySelectorAll('[data-tool]') ?? []) {
      const t = b.dataset.tool;
      const pressed = t === 'mpr' || t === 'pano' ? this.layout === t : t === 'overlays' ? this.overlays : t === this._tool;
      if (TOOLBAR.find((x) => x.name === t)?.toggle) b.setAttribute('aria-pressed', String(pressed));
    }
  }

  /** Keyboard shortcuts (the page forwards keys typed outside the element); true if the key was used. */
  handleKey(event) {
    return handleKey(this, event);
  }
}

if (!customElements.get('lucent-viewer')) customElements.define('lucent-viewer', LucentViewer);
