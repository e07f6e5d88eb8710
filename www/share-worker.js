// Encrypts the loaded study into a share bundle off the main thread (the page stays responsive for a 700 MB
// CBCT). Messages: page -> {sources:[{path, file?|url?}], pin, expires (ms since epoch | null), chunkSize?}
// worker -> {type:'progress', done, total} ... then {type:'done', blob, secret, header} or {type:'error', code, message}.
import { sealBundle } from './share-bundle.js';

async function read(source) {
  if (source.file) return new Uint8Array(await source.file.arrayBuffer());
  const response = await fetch(source.url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${source.path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

onmessage = async ({ data }) => {
  try {
    // Paths as the folder had them, minus a leading '/' (a manifest path is relative).
    const files = data.sources.map((s) => ({ path: s.path.replace(/^\/+/, ''), read: () => read(s) }));
    let last = 0;
    const { blob, secret, header } = await sealBundle(files, {
      pin: data.pin || null,
      expires: data.expires ? new Date(data.expires) : null,
      chunkSize: data.chunkSize,
    }, (done, total) => {
      const now = Date.now();
      if (now - last > 100 || done === total) {
        last = now;
        postMessage({ type: 'progress', done, total });
      }
    });
    postMessage({ type: 'done', blob, secret, header });
  } catch (e) {
    postMessage({ type: 'error', code: e?.code ?? 'error', message: e?.message ?? String(e) });
  }
};
