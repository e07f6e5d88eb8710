// embed.html: <lucent-viewer> in an iframe, driven by the embedding page with postMessage.
//
// Protocol v1 (README.md, Embedding; types in lucent-viewer.d.ts, EmbedRequest / EmbedMessage):
//   portal -> viewer  {lucent: 1, id, method, args: [...]}       method: hello, load, setWindow, setPreset,
//                                                                 setLayout, goTo, screenshot, state, destroy
//   viewer -> portal  {lucent: 1, type: 'reply', id, ok, result | error: {code, message}}
//                     {lucent: 1, type: 'event', name, detail}    name: ready, progress, loaded, rendered, error,
//                                                                 layout, destroyed
// Study bytes may be transferred in: load([{path, bytes: ArrayBuffer}], ...) with the buffers in the transfer
// list, so a portal hands over files it already has without a server round trip.
//
// Who may drive it: the page that framed it, if its origin is this page's own or is listed in embed-config.json
// ({"allowedOrigins": ["https://portal.example"]}); the host's CSP frame-ancestors should list the same origins
// (xtask serve --embed-origin does both). Messages from any other window or origin are ignored, and events are
// posted only to that one origin, never to '*': they carry patient names.
import './lucent-viewer.js';

const PROTOCOL = 1;
const viewer = document.getElementById('viewer');

// Display options may come in the URL (embed.html?tools=all&theme=light&layout=mpr); data never does.
const params = new URLSearchParams(location.search);
for (const name of ['tools', 'theme', 'layout', 'preset', 'no-series', 'max-volume-mb']) {
  if (params.has(name)) viewer.setAttribute(name, params.get(name));
}

let parentOrigin = null;          // set once: the allowed origin of the page that framed us
let ready = false;

const allowed = fetch('embed-config.json', { cache: 'no-store' })
  .then((r) => (r.ok ? r.json() : { allowedOrigins: [] }))
  .then((config) => new Set([location.origin, ...(Array.isArray(config.allowedOrigins) ? config.allowedOrigins : [])]))
  .catch(() => new Set([location.origin]));

function post(message, transfer = []) {
  if (parentOrigin && window.parent !== window) window.parent.postMessage({ lucent: PROTOCOL, ...message }, parentOrigin, transfer);
}

const emit = (name, detail) => post({ type: 'event', name, detail });

function announce() {
  if (ready && parentOrigin) emit('ready', { apiVersion: viewer.constructor.apiVersion, version: viewer.version });
}

// Chromium and Safari tell a frame who framed it; elsewhere the first allowed message from the parent does.
allowed.then((origins) => {
  const ancestor = location.ancestorOrigins?.[0];
  if (ancestor && origins.has(ancestor)) parentOrigin = ancestor;
  announce();
});

for (const name of ['progress', 'loaded', 'rendered', 'error', 'layout', 'destroyed']) {
  viewer.addEventListener(`lucent:${name}`, (e) => emit(name, e.detail));
}
viewer.addEventListener('lucent:ready', () => {
  ready = true;
  announce();
});

// What each method does, with the element's own API; results must be structured-cloneable.
const METHODS = {
  hello: () => ({ apiVersion: viewer.constructor.apiVersion, version: viewer.version }),
  load: (source, options) => viewer.load(source, options),
  setWindow: (center, width) => viewer.setWindow(center, width),
  setPreset: (id) => viewer.setPreset(id),
  setLayout: async (name) => {
    const result = await viewer.setLayout(name);
    return result?.error ? Promise.reject(Object.assign(new Error(result.error.message), result.error)) : { layout: viewer.layout };
  },
  goTo: (slice) => viewer.goTo(slice),
  screenshot: (options) => viewer.screenshot(options),
  state: () => ({
    layout: viewer.layout,
    series: viewer.series,
    slice: viewer.slice,
    sliceCount: viewer.sliceCount,
    window: viewer.window,
    seriesList: viewer.seriesList,
  }),
  destroy: () => {
    viewer.destroy();
    return { destroyed: true };
  },
};

window.addEventListener('message', async (event) => {
  const msg = event.data;
  if (event.source !== window.parent || window.parent === window) return;
  if (!msg || typeof msg !== 'object' || msg.lucent !== PROTOCOL || typeof msg.method !== 'string') return;
  const origins = await allowed;
  if (!origins.has(event.origin)) return;
  if (parentOrigin && event.origin !== parentOrigin) return;
  if (!parentOrigin) {
    parentOrigin = event.origin;
    announce();
  }
  const run = Object.hasOwn(METHODS, msg.method) ? METHODS[msg.method] : null;
  if (!run) {
    post({ type: 'reply', id: msg.id, ok: false, error: { code: 'unknown-method', message: `No method "${msg.method}".` } });
    return;
  }
  try {
    const result = await run(...(Array.isArray(msg.args) ? msg.args : []));
    if (result?.error) post({ type: 'reply', id: msg.id, ok: false, error: result.error });
    else post({ type: 'reply', id: msg.id, ok: true, result: result ?? null });
  } catch (e) {
    post({ type: 'reply', id: msg.id, ok: false, error: { code: e?.code ?? 'failed', message: e?.message ?? String(e) } });
  }
});
