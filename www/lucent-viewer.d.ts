// Types of Lucent's embedding API v1: the <lucent-viewer> element (lucent-viewer.js), the iframe protocol of
// embed.html (embed.js) and its client (lucent-embed.js). Within v1, members are only ever added; anything that
// would break an embedder comes as v2 (LucentViewer.apiVersion, and `lucent: 2` in iframe messages).

/** Stable error codes (`detail.code` of lucent:error, `error.code` of rejected calls and iframe replies). */
export type LucentErrorCode =
  // engine
  | 'worker-failed' | 'wasm-unavailable' | 'wasm-trap' | 'engine-stopped' | 'internal' | 'destroyed'
  // reading files (the core's codes, viewer-core/src/error.rs)
  | 'read-failed' | 'not-dicom' | 'truncated' | 'malformed' | 'limit-exceeded' | 'no-pixel-data'
  // decoding / showing / calls
  | 'unsupported-transfer-syntax' | 'unsupported-pixel-format' | 'corrupt-pixel-data' | 'not-found'
  | 'invalid-argument' | 'no-image' | 'unknown-method'
  // ZIP archives (zip.js)
  | 'zip-truncated' | 'zip-corrupt' | 'zip-unsupported' | 'zip-too-large' | 'zip-crc' | 'zip-encrypted' | 'zip-unreadable'
  // DICOMweb (dicomweb.js)
  | 'dicomweb-url' | 'dicomweb-unauthorized' | 'dicomweb-not-found' | 'dicomweb-http' | 'dicomweb-network'
  | 'dicomweb-multipart' | 'dicomweb-too-large'
  // share links (share-bundle.js codes, prefixed)
  | 'share-no-link' | 'share-not-a-bundle' | 'share-unsupported' | 'share-bad-header' | 'share-wrong-key'
  | 'share-pin-required' | 'share-wrong-pin' | 'share-expired' | 'share-damaged' | 'share-too-large'
  | 'share-not-found' | 'share-network'
  | (string & {});

export interface LucentError {
  code: LucentErrorCode;
  message: string;
  /** The file the error is about, when there is one. */
  file?: string | null;
}

/** One file of a study handed over as bytes (ArrayBuffers may be transferred into an iframe). */
export interface StudyBytes {
  path?: string;
  name?: string;
  bytes: ArrayBuffer | ArrayBufferView;
}

/**
 * What load() accepts: files (File, FileList, Blob, {path, file}), bytes (ArrayBuffer, typed arrays, {path, bytes}),
 * URLs (a DICOM file, a ZIP, a JSON listing {"files": [...]}, a DICOMweb study/series URL, a share link), or one
 * {dicomweb, token} / {share, pin}. ZIPs (also inside a folder) are opened member by member.
 */
export type StudySource =
  | FileList
  | File | Blob | ArrayBuffer | ArrayBufferView | string | URL | StudyBytes | { path: string; file: File }
  | { dicomweb: string | URL; token?: string | null }
  | { share: string; pin?: string }
  | Array<File | Blob | ArrayBuffer | ArrayBufferView | string | URL | StudyBytes | { path: string; file: File }>;

export interface LoadOptions {
  /** Bearer token for DICOMweb URLs (sent as Authorization: Bearer; never put in a URL). */
  token?: string | null;
  /** PIN for a share link that has one. */
  pin?: string;
}

export interface SeriesSummary {
  index: number;
  uid: string;
  number: number | null;
  description: string | null;
  modality: string | null;
  rows: number;
  columns: number;
  slices: number;
  patient_name: string | null;
  patient_id: string | null;
  study_uid: string | null;
  study_date: string | null;
  study_description: string | null;
  /** Slices that decode (after loading). */
  decoded?: number;
}

export interface FileProblem {
  file: string;
  code: LucentErrorCode;
  reason: string;
}

export interface LoadedDetail {
  files: number;
  images: number;
  slices: number;
  errors: FileProblem[];
  notes: Array<{ file: string; status: string; reason: string }>;
  series: SeriesSummary[];
}

export interface ProgressDetail {
  read: number;
  total: number;
  decoded: number;
  decodeTotal: number;
  /** While a share link decrypts: bytes done / total. */
  bytes?: number;
  bytesTotal?: number;
}

export interface RenderedDetail {
  series: number;
  slice: number;
  center: number;
  width: number;
  width_px: number;
  height_px: number;
  /** Index of the VOI LUT shown (into the slice info's voi_luts), or null for a linear window. */
  voi_lut: number | null;
  /** The VOI LUT's name (LUT Explanation, else "VOI LUT"), or null for a linear window. */
  voi_label: string | null;
}

export type LoadResult = LoadedDetail | { error: LucentError } | { superseded: true };

export type Layout = 'stack' | 'mpr' | 'pano';
export type PresetId = 'default' | 'soft' | 'lung' | 'bone' | 'brain';
export type ToolName = 'window' | 'pan' | 'zoom' | 'crosshair' | 'distance' | 'angle' | 'rectangle' | 'ellipse' | 'probe'
  // dental layout: edit the arch on the axial pane, trace the nerve canal
  | 'arch' | 'canal';

export interface ScreenshotOptions {
  /** 'image' (default): the slice at its own resolution, as `lucent render` writes it; 'viewport': the canvas. */
  view?: 'image' | 'viewport';
  /**
   * In the MPR layout: that pane's canvas. In the dental layout: 'axial', or 'pano' / 'sections' (the panoramic or
   * the strip of cross-sections exactly as `lucent pano` / `lucent sections` write them, without overlays).
   */
  pane?: 'axial' | 'coronal' | 'sagittal' | 'pano' | 'sections';
  type?: string;
  quality?: number;
}

/** A patient point, mm (DICOM LPS: +x left, +y posterior, +z head). */
export type Vec3 = [number, number, number];

/** The exact panoramic a dental pane shows (`lucent pano --center-s --center-h --size --pixel-mm --shift --slab --mode`). */
export interface PanoView {
  /** Arc length (mm, along the focal curve from the patient's right end) at the image centre. */
  center_s: number;
  /** Height (mm along up from the arch plane) at the image centre. */
  center_h: number;
  width: number;
  height: number;
  pixel_mm: number;
  /** Buccal (+) / lingual (-) shift of the focal curve from the arch. */
  shift_mm: number;
  /** Slab across the focal surface, 0-40 mm. */
  slab_mm: number;
  mode: 'avg' | 'mip' | 'minip';
}

/** The exact cross-section strip (`lucent sections --at --spacing --count --tile --pixel-mm --center-h --shift --slab`). */
export interface SectionParams {
  at_mm: number;
  spacing_mm: number;
  count: number;
  tile_width: number;
  tile_height: number;
  pixel_mm: number;
  center_h: number;
  shift_mm: number;
  slab_mm: number;
  mode: 'avg' | 'mip' | 'minip';
}

export interface DentalMeasurement {
  id: number;
  pane: 'pano' | 'sections';
  kind: 'distance' | 'canal-distance';
  /** Patient points (a canal distance: the probed point and the nearest canal point). */
  points: Vec3[];
  /** On the panoramic: the (s, h) of the points. */
  sh: Array<[number, number]> | null;
  result: { distance_mm: number; along_mm?: number; closest?: Vec3 };
  text: string;
}

/** A saved dental session (the Save button's JSON; the CLI's --arch accepts it). */
export interface DentalSession {
  lucent: 'dental';
  version: 1;
  series_uid: string | null;
  arch: { points: Vec3[]; up: Vec3 };
  shift_mm: number;
  slab_mm: number;
  mode: 'avg' | 'mip' | 'minip';
  sections: { at_mm: number; spacing_mm: number; count: number; width_mm: number; slab_mm: number };
  canals: Array<{ points: Vec3[]; diameter_mm: number }>;
  measurements: object[];
}

/** viewer.pano: the dental layout (pano.js). */
export interface PanoLayout {
  /** The focal curve from the core: {length_mm, up, samples: [[s, px, py, pz, nx, ny, nz, tx, ty, tz], ...]}. */
  readonly curve: { length_mm: number; up: Vec3; samples: number[][] } | null;
  readonly measurements: DentalMeasurement[];
  readonly canalList: Array<{ points: Vec3[]; diameter_mm: number; length_mm: number; pano: Vec3[] }>;
  readonly sectionPlanes: Array<{ center: Vec3; right: Vec3; down: Vec3 } | null>;
  state(): DentalSession;
  setState(session: DentalSession | string): Promise<{ warning: string | null }>;
  /** Control points clicked on an axial plane (>= 2 for a curve). */
  setArch(points: Vec3[], up?: Vec3): Promise<unknown>;
  /** An arch from the bone of an axial slab (default: 10 mm at the crosshair's height). */
  proposeArch(options?: { z?: number; slabMm?: number }): Promise<{ points: Vec3[]; up: Vec3 } | null>;
  setSections(options: Partial<{ at_mm: number; spacing_mm: number; count: number; width_mm: number; slab_mm: number; center_h: number }>): Promise<unknown>;
  setSlab(mm: number, mode?: 'avg' | 'mip' | 'minip'): Promise<unknown>;
  setShift(mm: number): Promise<unknown>;
  addCanalPoint(world: Vec3, canal?: number): Promise<object | null>;
  newCanal(): void;
  deleteCanal(index: number): void;
  /** points: [[s, h], [s, h]] on 'pano'; two patient points and the section plane's normal on 'sections'. */
  addMeasurement(pane: 'pano' | 'sections', kind: 'distance', points: number[][], normal?: Vec3): Promise<DentalMeasurement | null>;
  deleteMeasurement(id: number): void;
  view(): PanoView;
  sectionParams(): SectionParams;
  sectionPositions(): number[];
  panoToCanvas(s: number, h: number): [number, number];
  sectionToCanvas(tile: number, world: Vec3): [number, number] | null;
  /** Resolves once both panes show the current state: [{pane: 'pano', view, window}, {pane: 'sections', params, window}]. */
  renderAll(): Promise<unknown[]>;
  /** The pane with its overlays (scale, labels, ticks, canal, measurements), as exported by the PNG buttons. */
  composite(pane: 'pano' | 'sections', type?: string): Promise<Blob>;
  save(): void;
  /** One pane fills the layout (the same name again, or null, restores the grid); double-click does it too. */
  maximize(pane: 'axial' | 'pano' | 'sections' | null): void;
  readonly maximized: 'axial' | 'pano' | 'sections' | null;
}

export interface LucentViewerEventMap {
  'lucent:ready': CustomEvent<{ version: string }>;
  'lucent:progress': CustomEvent<ProgressDetail>;
  'lucent:loaded': CustomEvent<LoadedDetail>;
  'lucent:rendered': CustomEvent<RenderedDetail>;
  'lucent:error': CustomEvent<LucentError>;
  'lucent:layout': CustomEvent<{ layout: Layout; volume?: object; panes?: string[] }>;
  'lucent:measurement': CustomEvent<{ measurements: object[] }>;
  'lucent:pano-rendered': CustomEvent<{ pane: 'pano'; view: PanoView; window: { center: number; width: number } }
    | { pane: 'sections'; params: SectionParams; window: { center: number; width: number } }>;
  'lucent:destroyed': CustomEvent<Record<string, never>>;
}

/**
 * <lucent-viewer src="..." layout="stack|mpr|pano" preset="bone" theme="dark|light" tools="window pan zoom mpr presets"
 *   no-series max-volume-mb="1024">
 * Events are namespaced (lucent:*) so they never collide with the DOM's own error/progress/load events; they
 * bubble and cross the shadow boundary (composed).
 */
export declare class LucentViewer extends HTMLElement {
  static readonly apiVersion: 1;
  /** Version of the wasm core (null until lucent:ready). */
  readonly version: string | null;
  /** Bearer token used for DICOMweb URLs given without one (e.g. in the src attribute). */
  authToken: string | null;

  load(source: StudySource, options?: LoadOptions): Promise<LoadResult>;
  readonly loading: boolean;

  readonly seriesList: SeriesSummary[];
  readonly series: number;
  selectSeries(index: number): Promise<RenderedDetail | null>;

  readonly slice: number;
  readonly sliceCount: number;
  goTo(slice: number): Promise<RenderedDetail | { error: LucentError } | null>;
  setSlice(slice: number): Promise<RenderedDetail | { error: LucentError } | null>;

  /** With lut/label when a VOI LUT is shown (center/width: the linear window over the inputs it maps). */
  readonly window: { center: number; width: number; lut?: number; label?: string } | null;
  setWindow(center: number, width: number): Promise<RenderedDetail | { error: LucentError } | null>;
  /** Shows the file's VOI LUT `index` (into the slice info's voi_luts); kept while scrolling. */
  setVoiLut(index: number): Promise<RenderedDetail | { error: LucentError } | null>;
  resetWindow(): Promise<RenderedDetail | { error: LucentError } | null>;
  setPreset(id: PresetId | number): Promise<RenderedDetail | { error: LucentError } | null>;

  readonly layout: Layout;
  /** The dental layout once it was opened (null before). */
  readonly pano: PanoLayout | null;
  setLayout(name: Layout, options?: { downsample?: number }): Promise<{ layout?: Layout; volume?: object; error?: LucentError }>;

  readonly zoom: number;
  setZoom(zoom: number, x?: number, y?: number): void;
  pan(dx: number, dy: number): void;
  fit(): void;
  reset(): Promise<unknown>;
  overlays: boolean;
  tool: ToolName;

  screenshot(options?: ScreenshotOptions): Promise<Blob>;
  /** The engine's memory: its WebAssembly memory in bytes (0 once destroyed). */
  memory(): Promise<{ wasmBytes: number }>;
  /** Terminates the engine (its memory is released), empties the element; it cannot be used again. */
  destroy(): void;
  readonly destroyed: boolean;

  addEventListener<K extends keyof LucentViewerEventMap>(type: K, listener: (ev: LucentViewerEventMap[K]) => void,
    options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    'lucent-viewer': LucentViewer;
  }
}

// ---- iframe (embed.html) -----------------------------------------------------------------------------------

export type EmbedMethod = 'hello' | 'load' | 'setWindow' | 'setPreset' | 'setLayout' | 'goTo' | 'screenshot' | 'state' | 'destroy';

/** Portal -> viewer. */
export interface EmbedRequest {
  lucent: 1;
  id: number;
  method: EmbedMethod;
  args?: unknown[];
}

/** Viewer -> portal. */
export type EmbedMessage =
  | { lucent: 1; type: 'reply'; id: number; ok: true; result: unknown }
  | { lucent: 1; type: 'reply'; id: number; ok: false; error: LucentError }
  | { lucent: 1; type: 'event'; name: 'ready'; detail: { apiVersion: 1; version: string | null } }
  | { lucent: 1; type: 'event'; name: 'progress'; detail: ProgressDetail }
  | { lucent: 1; type: 'event'; name: 'loaded'; detail: LoadedDetail }
  | { lucent: 1; type: 'event'; name: 'rendered'; detail: RenderedDetail }
  | { lucent: 1; type: 'event'; name: 'error'; detail: LucentError }
  | { lucent: 1; type: 'event'; name: 'layout' | 'destroyed'; detail: object };

/** lucent-embed.js */
export declare class LucentFrame {
  constructor(iframe: HTMLIFrameElement, options?: { origin?: string });
  readonly ready: Promise<{ apiVersion: 1; version: string | null }>;
  call(method: EmbedMethod, args?: unknown[], transfer?: Transferable[]): Promise<unknown>;
  load(source: StudySource, options?: LoadOptions, how?: { transfer?: boolean }): Promise<LoadedDetail>;
  setWindow(center: number, width: number): Promise<RenderedDetail>;
  setPreset(id: PresetId): Promise<RenderedDetail>;
  setLayout(name: Layout): Promise<{ layout: Layout }>;
  goTo(slice: number): Promise<RenderedDetail>;
  screenshot(options?: ScreenshotOptions): Promise<Blob>;
  state(): Promise<{ layout: Layout; series: number; slice: number; sliceCount: number; window: { center: number; width: number } | null; seriesList: SeriesSummary[] }>;
  destroy(): Promise<{ destroyed: true }>;
  on(name: EmbedMessage extends infer M ? M extends { type: 'event'; name: infer N } ? N : never : never,
    listener: (detail: any) => void): () => void;
  close(): void;
}
