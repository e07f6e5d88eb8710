// The wasm lives here, never on the main thread: reading, parsing and decoding a study can take seconds and
// the page must keep scrolling and windowing meanwhile. One Library per loaded study ("generation").
import init, {
  Library, Pane, version, planeLabelsJson, distanceMm, angleDeg,
  archCurveJson, panoToWorld, worldToPano, sectionPlanes, polylineDistanceJson,
} from './pkg/viewer_wasm.js';
import { MSG, flattenTree } from './protocol.js';
import { looksLikeZip, openZip } from './zip.js';
import { listInstances, parseDicomwebUrl, retrieve } from './dicomweb.js';

const READ_CONCURRENCY = 6;      // parallel file reads / fetches; addFile itself is serialised
const DECODE_CHUNK = 16;         // slices per decodeSlices call: progress granularity vs call overhead
const TREE_INTERVAL_MS = 250;    // how often the study structure is re-sent while files arrive

// Files that are fine but hold no image: said in words for the problems list.
const NOTE_REASONS = {
  dicomdir: 'A DICOMDIR (an index of the other files); it holds no image itself.',
  'no-pixel-data': 'A DICOM object without pixel data (e.g. a report, presentation state or RT plan).',
};

let wasm = null;
let lib = null;
let gen = -1;
let dead = false;                // after a trap nothing in wasm memory can be trusted

const ready = init({ module_or_path: new URL('./pkg/viewer_wasm_bg.wasm', import.meta.url) }).then(
  (exports) => {
    wasm = exports;
    postMessage({ type: MSG.READY, version: version() });
  },
  (e) => {
    dead = true;
    postMessage({ type: MSG.FATAL, code: 'wasm-unavailable', restart: false,
      message: `The viewer engine (wasm) could not be started: ${e?.message ?? e}` });
    throw e;
  },
);

// Every wasm call goes through here: a WebAssembly.RuntimeError is a trap (a bug in the core), after which the
// module state is undefined, so we report it once and stop; the page replaces this worker.
function call(fn, file = null) {
  if (dead) throw Object.assign(new Error('The viewer engine stopped after an internal error.'), { code: 'engine-stopped' });
  try {
    return fn();
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) {
      dead = true;
      postMessage({ type: MSG.FATAL, code: 'wasm-trap', restart: true, file,
        message: `Internal error in the viewer engine${file ? ` while reading ${file}` : ''} (${e.message}). `
          + 'The engine was restarted; please load the study again.' });
    }
    throw e;
  }
}

// wasm state is used by one task at a time: addFile, render and the ImageBitmap copy of the shared RGBA
// buffer must not interleave (a render, or memory growth, would change the pixels under our view).
let chain = Promise.resolve();
function exclusive(fn) {
  const run = chain.then(fn);
  chain = run.catch(() => {});
  return run;
}

const errorFields = (e) => ({
  code: e?.code ?? (e instanceof WebAssembly.RuntimeError ? 'wasm-trap' : 'internal'),
  message: e?.message ?? String(e),
  file: e?.file ?? null,
});

// Yield to the event loop so queued render requests run between long steps.
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

// What one load item stands for, as the files in it: a file or bytes is one file (unless it is a ZIP); a ZIP is
// its members, pushed back as items of their own (read by every reader, progress counts them); a URL is a DICOM
// file, a ZIP or a JSON listing ({"files": [...]}, relative to it) of more URLs; a DICOMweb study or series is
// its instances, streamed as they arrive. `more(items)` adds items; yields {path, bytes}.
async function* filesOf(item, more) {
  if (item.bytes) {
    // Handed over (transferred) by the page, e.g. a decrypted share bundle: used once, then let go.
    const bytes = item.bytes;
    item.bytes = null;
    if (looksLikeZip(bytes)) {
      yield* zipMembers(new Blob([bytes]), item, more);
      return;
    }
    yield { path: item.path, bytes };
    return;
  }
  if (item.zipEntry) {
    yield { path: item.path, bytes: await item.zipEntry.read() };
    return;
  }
  if (item.dicomweb) {
    yield* dicomwebFiles(item, more);
    return;
  }
  let blob = item.file;
  if (!blob && item.url) {
    const response = await fetch(item.url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const type = response.headers.get('Content-Type') ?? '';
    if (item.probe && (/json/i.test(type) || /\.json$/i.test(new URL(response.url).pathname))) {
      const listing = await response.json();
      const names = Array.isArray(listing) ? listing : listing?.files;
      if (!Array.isArray(names)) throw new Error('a JSON listing must be {"files": [names or URLs]}');
      more(names.map((n) => {
        const url = new URL(String(n), response.url);
        return { url: url.href, probe: false, path: String(n) };
      }));
      return;
    }
    blob = await response.blob();
  }
  if (!blob) throw new Error('the browser did not give access to it');
  if (looksLikeZip(new Uint8Array(await blob.slice(0, 4).arrayBuffer()))) {
    yield* zipMembers(blob, item, more);
    return;
  }
  yield { path: item.path, bytes: new Uint8Array(await blob.arrayBuffer()) };
}

// A ZIP's members become items (read lazily, one member in memory per reader); its problems (encrypted or
// unsupported members) are listed like unreadable files.
async function* zipMembers(blob, item, more) {
  const { entries, problems, notes } = await openZip(blob, { name: item.path });
  const failed = problems.map((p) => ({ failure: { file: `${item.path}/${p.path}`, code: p.code, reason: p.reason } }));
  const members = entries.map((entry) => ({ zipEntry: entry, path: `${item.path}/${entry.path}` }));
  // Notes (renamed or skipped members) are not files: they do not count in the progress total.
  const noted = notes.map((n) => ({ note: { file: `${item.path}/${n.path}`, status: n.code, reason: n.reason } }));
  more([...noted, ...failed, ...members], failed.length + members.length);
}

async function* dicomwebFiles(item, more) {
  const target = parseDicomwebUrl(item.dicomweb);
  const options = { token: item.token ?? undefined };
  // QIDO first: the number of instances, so progress has a total.
  const instances = await listInstances(target, options);
  more([], instances.length);
  yield* retrieve(target, { ...options, instances });
}

function snapshotTree() {
  const tree = JSON.parse(call(() => lib.treeJson()));
  return { tree, series: flattenTree(tree) };
}

async function load({ gen: myGen, items }) {
  await ready;
  gen = myGen;
  await exclusive(() => {
    if (lib) lib.free();
    lib = call(() => new Library());
  });
  const current = () => gen === myGen && !dead;
  const readFailures = [];
  const archiveNotes = [];         // what a ZIP reader renamed or skipped, for the problems panel
  const queue = [...items];
  let total = items.length;
  let read = 0;
  let next = 0;
  // Readers share the queue; one that finds it empty waits while others may still add to it (a ZIP's members).
  let active = 0;
  let wake = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  // An item that stands for several files (ZIP, listing, DICOMweb) adds them (or says how many will stream in);
  // it is not a file itself.
  const more = (added, files = added.length) => {
    queue.push(...added);
    total += files - 1;
    signal();
  };
  let shownFirst = false;
  let treeTimer = 0;
  const progress = (decoded = 0, decodeTotal = 0) =>
    postMessage({ type: MSG.PROGRESS, gen: myGen, read, total, decoded, decodeTotal });

  const add = async (path, bytes) => {
    await exclusive(() => {
      if (!current()) return;
      const report = JSON.parse(call(() => lib.addFile(path, bytes), path));
      if (report.status === 'image' && !shownFirst) {
        // Show something now; the rest of the study keeps arriving behind it.
        shownFirst = true;
        postMessage({ type: MSG.TREE, gen: myGen, final: false, ...snapshotTree() });
        postMessage({ type: MSG.FIRST_IMAGE, gen: myGen, series: report.series });
      } else if (shownFirst && !treeTimer) {
        // Later additions: at most one structure update per interval (slice counts, new series).
        treeTimer = setTimeout(() => exclusive(() => {
          treeTimer = 0;
          if (current()) postMessage({ type: MSG.TREE, gen: myGen, final: false, ...snapshotTree() });
        }), TREE_INTERVAL_MS);
      }
    });
  };
  const readOne = async (item) => {
    if (item.note) {
      archiveNotes.push(item.note);
      return;
    }
    if (item.failure) {
      readFailures.push({ status: 'error', ...item.failure });
      read++;
      progress();
      return;
    }
    let files = 0;
    try {
      for await (const file of filesOf(item, more)) {
        if (!current()) return;
        await add(file.path, file.bytes);
        files++;
        read++;
        total = Math.max(total, read);
        progress();
      }
    } catch (e) {
      const what = item.dicomweb ? 'The DICOMweb study' : item.zipEntry ? 'ZIP member' : 'File';
      readFailures.push({ file: item.path, status: 'error', code: e?.code ?? 'read-failed',
        reason: `${what} "${item.path}" could not be read (${e?.message ?? e}).` });
      if (!files) {
        read++;
        progress();
      }
    }
  };
  const reader = async () => {
    while (current()) {
      if (next >= queue.length) {
        if (active === 0) {
          signal();
          return;
        }
        await new Promise((resolve) => {
          const previous = wake;
          wake = () => {
            previous?.();
            resolve();
          };
        });
        continue;
      }
      const item = queue[next++];
      active++;
      try {
        await readOne(item);
      } finally {
        active--;
        signal();
      }
    }
  };
  await Promise.all(Array.from({ length: READ_CONCURRENCY }, reader));
  clearTimeout(treeTimer);
  treeTimer = 0;
  if (!current()) return;

  // All files are in: the slice order is final now. Decode everything once so scrolling never waits.
  let { tree, series } = await exclusive(snapshotTree);
  postMessage({ type: MSG.TREE, gen: myGen, final: true, tree, series });
  const decodeTotal = series.reduce((n, s) => n + s.slices, 0);
  let decoded = 0;
  const seriesErrors = [];
  progress(0, decodeTotal);
  const decodedBySeries = new Map();
  for (const s of series) {
    // In chunks, so progress moves and a render the user asks for waits for one chunk at most.
    let ok = 0;
    for (let start = 0; start < s.slices; start += DECODE_CHUNK) {
      await tick();
      if (!current()) return;
      try {
        await exclusive(() => { if (current()) ok += call(() => lib.decodeSlices(s.index, start, DECODE_CHUNK)); });
      } catch (e) {
        if (dead) return;
        seriesErrors.push({ file: e?.file ?? `series ${s.number ?? s.index}`, code: errorFields(e).code, reason: errorFields(e).message });
        break;
      }
      decoded += Math.min(DECODE_CHUNK, s.slices - start);
      progress(decoded, decodeTotal);
    }
    decodedBySeries.set(s.index, ok);
  }
  if (!current()) return;

  const reports = await exclusive(() => JSON.parse(call(() => lib.reportJson())));
  ({ tree, series } = await exclusive(snapshotTree));
  // A file may be reported twice (ingest, then a decode failure): keep one entry per file and code.
  const seen = new Set();
  const errors = [];
  for (const r of [...readFailures, ...reports.filter((r) => r.status === 'error'), ...seriesErrors]) {
    const key = `${r.file}\u0000${r.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ file: r.file, code: r.code ?? 'error', reason: r.reason ?? r.code ?? 'unreadable' });
  }
  const notes = reports
    .filter((r) => r.status !== 'image' && r.status !== 'error')
    .map((r) => ({ file: r.file, status: r.status, reason: r.reason ?? NOTE_REASONS[r.status] ?? r.status }))
    .concat(archiveNotes);
  const images = reports.filter((r) => r.status === 'image').length;
  // How many slices of each series decode: the page avoids opening on a series that cannot be shown.
  for (const s of series) s.decoded = decodedBySeries.get(s.index) ?? 0;
  postMessage({ type: MSG.LOADED, gen: myGen, files: total, images, errors, notes, series, tree });
}

// Renders one slice and hands the page an ImageBitmap made straight from wasm memory (no JS-side copy).
async function renderSlice(msg, thumbSize = 0) {
  const { series } = msg;
  const count = call(() => lib.sliceCount(series));
  if (count === 0) throw Object.assign(new Error('The series has no slices.'), { code: 'not-found' });
  const slice = thumbSize ? Math.floor(count / 2) : Math.max(0, Math.min(count - 1, msg.slice | 0));
  const info = JSON.parse(call(() => lib.sliceInfoJson(series, slice)));
  let { center, width } = msg;
  // A VOI LUT (msg.lut: an index into info.voi_luts) or a linear window; without either, the slice's default
  // VOI (its window, else its first VOI LUT, else the data range). A VOI LUT comes back with its name and the
  // linear window over the inputs it maps, where a drag starts from.
  let lut = thumbSize ? null : msg.lut ?? null;
  let label = null;
  if (lut != null || center == null || width == null || thumbSize) {
    ({ center, width, lut, label } = JSON.parse(call(() => lib.voiJson(series, slice, lut ?? undefined))));
  }
  try {
    if (lut != null) call(() => lib.renderVoiLut(series, slice, lut));
    else call(() => lib.render(series, slice, center, width));
  } catch (e) {
    if (!e.file) e.file = info.file;
    throw e;
  }
  const w = lib.renderWidth();
  const h = lib.renderHeight();
  const view = new Uint8ClampedArray(wasm.memory.buffer, lib.rgbaPtr(), lib.rgbaLen());
  const options = { premultiplyAlpha: 'none', colorSpaceConversion: 'none' };
  if (thumbSize) {
    // Honour non-square pixels in the thumbnail as the viewport does.
    const [rowSpacing, colSpacing] = info.pixel_spacing ?? [1, 1];
    const aspect = rowSpacing > 0 && colSpacing > 0 ? rowSpacing / colSpacing : 1;
    const scale = thumbSize / Math.max(w, h * aspect);
    Object.assign(options, { resizeWidth: Math.max(1, Math.round(w * scale)),
      resizeHeight: Math.max(1, Math.round(h * aspect * scale)), resizeQuality: 'high' });
  }
  const bitmap = await createImageBitmap(new ImageData(view, w, h), options);
  return { bitmap, series, slice, sliceCount: count, center, width, lut, label, w, h, info };
}

// ---- MPR ------------------------------------------------------------------------------------------------------

const panes = new Map();        // pane name -> Pane: one reused RGBA buffer in wasm memory per pane

async function buildVolume(msg) {
  const volume = JSON.parse(call(() => lib.buildVolume(msg.series, msg.maxBytes, msg.downsample ?? 1)));
  // The series' slices are the volume's slices from now on (resampling may change their number).
  return { volume, ...snapshotTree() };
}

async function renderMpr(msg) {
  const key = String(msg.pane ?? '');
  if (!panes.has(key)) panes.set(key, call(() => new Pane()));
  const pane = panes.get(key);
  const view = new Float64Array(msg.view);
  call(() => pane.render(lib, msg.series, view, msg.mode, msg.center, msg.width));
  const w = pane.width();
  const h = pane.height();
  const pixels = new Uint8ClampedArray(wasm.memory.buffer, pane.rgbaPtr(), pane.rgbaLen());
  const bitmap = await createImageBitmap(new ImageData(pixels, w, h), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  const labels = JSON.parse(call(() => planeLabelsJson(view.subarray(0, 9))));
  return { bitmap, w, h, labels };
}

function measure(msg) {
  const p = msg.points.map((q) => new Float64Array(q));
  switch (msg.kind) {
    case 'distance':
      return { result: { distance_mm: call(() => distanceMm(p[0], p[1])) } };
    case 'angle':
      return { result: { angle_deg: call(() => angleDeg(p[0], p[1], p[2])) } };
    case 'rectangle':
    case 'ellipse':
      return { result: JSON.parse(call(() => lib.roiStatsJson(msg.series, new Float64Array(msg.plane), msg.kind, p[0], p[1]))) };
    case 'probe':
      return { result: JSON.parse(call(() => lib.probeJson(msg.series, p[0]))) };
    default:
      throw Object.assign(new Error(`unknown measurement '${msg.kind}'`), { code: 'invalid-argument' });
  }
}

// ---- dental (panoramic and cross-sections along the arch) ---------------------------------------------------

const panoPanes = new Map();    // 'pano' | 'sections' -> Pane

async function renderPano(msg) {
  const key = msg.type === MSG.PANO ? 'pano' : 'sections';
  if (!panoPanes.has(key)) panoPanes.set(key, call(() => new Pane()));
  const pane = panoPanes.get(key);
  let planes = null;
  if (key === 'pano') {
    call(() => pane.renderPano(lib, msg.series, msg.arch, new Float64Array(msg.view), msg.mode, msg.center, msg.width));
  } else {
    const params = new Float64Array(msg.params);
    call(() => pane.renderSections(lib, msg.series, msg.arch, params, msg.mode, msg.center, msg.width));
    planes = Array.from(call(() => sectionPlanes(msg.arch, params)));
  }
  const w = pane.width();
  const h = pane.height();
  const pixels = new Uint8ClampedArray(wasm.memory.buffer, pane.rgbaPtr(), pane.rgbaLen());
  const bitmap = await createImageBitmap(new ImageData(pixels, w, h), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  return { bitmap, w, h, planes };
}

// Geometry of the arch, in one batch of small calls: {op: 'propose' | 'curve' | 'toWorld' | 'toPano' | 'distance',
// ...}; replies {results: [one per op]}.
function archOp(o) {
  const flat = (points) => new Float64Array(points.flat());
  switch (o.op) {
    case 'propose': return JSON.parse(call(() => lib.proposeArchJson(o.series, o.z, o.slab)));
    case 'curve': return JSON.parse(call(() => archCurveJson(o.arch, o.shift, o.step)));
    case 'toWorld': return Array.from(call(() => panoToWorld(o.arch, o.shift, o.s, o.h)));
    case 'toPano': return o.points.map((p) => Array.from(call(() => worldToPano(o.arch, o.shift, new Float64Array(p)))));
    case 'distance': return JSON.parse(call(() => polylineDistanceJson(flat(o.points), new Float64Array(o.point))));
    default: throw Object.assign(new Error(`unknown arch operation '${o.op}'`), { code: 'invalid-argument' });
  }
}

async function reply(msg, work) {
  await ready.catch(() => {});
  let result;
  try {
    result = await exclusive(() => {
      if (msg.gen !== gen || !lib) return { ok: false, stale: true };
      return work().then((r) => ({ ok: true, ...r }));
    });
  } catch (e) {
    result = { ok: false, ...errorFields(e) };
  }
  const transfer = result.bitmap ? [result.bitmap] : [];
  postMessage({ type: MSG.REPLY, id: msg.id, gen: msg.gen, ...result }, transfer);
}

self.onmessage = ({ data: msg }) => {
  switch (msg.type) {
    case MSG.LOAD:
      load(msg).catch((e) => {
        if (!dead) postMessage({ type: MSG.LOADED, gen: msg.gen, files: msg.items.length, images: 0,
          errors: [{ file: '', code: errorFields(e).code, reason: errorFields(e).message }], notes: [], series: [], tree: null });
      });
      break;
    case MSG.RENDER:
      reply(msg, () => renderSlice(msg));
      break;
    case MSG.THUMB:
      reply(msg, () => renderSlice(msg, msg.size));
      break;
    case MSG.INFO:
      reply(msg, async () => ({ info: JSON.parse(call(() => lib.sliceInfoJson(msg.series, msg.slice))) }));
      break;
    case MSG.VOLUME:
      reply(msg, () => buildVolume(msg));
      break;
    case MSG.MPR:
      reply(msg, () => renderMpr(msg));
      break;
    case MSG.MEASURE:
      reply(msg, async () => measure(msg));
      break;
    case MSG.PANO:
    case MSG.SECTIONS:
      reply(msg, () => renderPano(msg));
      break;
    case MSG.ARCH:
      reply(msg, async () => ({ results: msg.ops.map(archOp) }));
      break;
    case MSG.STATS:
      // Answered whatever the study generation: how much memory the engine holds (wasm memory never shrinks).
      ready.then(() => postMessage({ type: MSG.REPLY, id: msg.id, gen: msg.gen, ok: true, wasmBytes: wasm.memory.buffer.byteLength }),
        () => postMessage({ type: MSG.REPLY, id: msg.id, gen: msg.gen, ok: false, code: 'wasm-unavailable', message: 'no engine' }));
      break;
    default:
      break;
  }
};
