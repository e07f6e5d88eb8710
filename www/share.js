// The patient view: share.html#<bundle location>.<key>. Fetches the bundle, decrypts it here chunk by chunk with
// WebCrypto (share-bundle.js), asks for the PIN when the bundle has one, and only when every chunk verified hands
// the files to <lucent-viewer>. The key is read from the fragment once and removed from the address bar; it is
// never sent, logged or stored, and the wasm never sees it.
import './lucent-viewer.js';
import { BundleReader, ShareError } from './share-bundle.js';
import { MAX_PLAIN_BYTES, fetchBundle, resolveShareLink } from './share-open.js';

const $ = (id) => document.getElementById(id);
const viewer = $('viewer');
const panel = $('share-panel');
const statusLine = $('share-status');
const meter = $('share-meter');
const meterBar = $('share-meter-bar');

const MB = 2 ** 20;

const FRIENDLY = {
  'not-a-bundle': 'The link points to a file that is not a Lucent shared study.',
  unsupported: null,          // the reader's own sentence names what is unsupported
  'bad-header': 'The shared study is damaged (its header cannot be read).',
  'wrong-key': 'This link does not open the shared study. Check that you copied the whole link; the part after # matters.',
  expired: null,
  damaged: null,
  'too-large': null,
  'not-found': null,
  network: null,
  'no-link': 'This page opens shared studies from a link. The link looks incomplete: open it again from the message you received.',
};

function showError(code, message) {
  $('share-opening').hidden = true;
  $('share-pin').hidden = true;
  viewer.hidden = true;
  $('share-error').hidden = false;
  $('share-error-title').textContent = code === 'expired' ? 'This link has expired' : 'This link cannot be opened';
  $('share-error-text').textContent = FRIENDLY[code] ?? message;
  document.body.dataset.state = `error:${code}`;
}

function progress(fraction, text) {
  statusLine.textContent = text;
  const pct = Math.max(0, Math.min(100, fraction * 100));
  meterBar.style.width = `${pct.toFixed(1)}%`;
  meter.setAttribute('aria-valuenow', String(Math.round(pct)));
}

/** Resolves with a PIN that unlocks the reader; the form stays up (with a message) after a wrong one. */
function askPin(reader) {
  const form = $('share-pin');
  const input = $('share-pin-input');
  const error = $('share-pin-error');
  const submit = $('share-pin-submit');
  $('share-opening').hidden = true;
  form.hidden = false;
  document.body.dataset.state = 'pin';
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      submit.disabled = true;
      error.hidden = true;
      submit.textContent = 'Checking…';
      try {
        await reader.unlock(input.value);
        form.hidden = true;
        $('share-opening').hidden = false;
        resolve();
      } catch (err) {
        error.textContent = err.code === 'wrong-pin' ? 'That PIN is not right. Try again.' : err.message;
        error.hidden = false;
        input.select();
        document.body.dataset.state = 'pin-wrong';
      } finally {
        submit.disabled = false;
        submit.textContent = 'Open';
      }
    });
  });
}

async function open() {
  const hash = location.hash;
  // The key must not stay in the address bar or this history entry (it would be in screenshots, shared tabs).
  if (location.hash) history.replaceState(null, '', location.pathname);
  let url;
  let secret;
  try {
    ({ url, secret } = resolveShareLink(`${location.pathname}${hash}`, location.href));
  } catch {
    return showError('no-link');
  }

  document.body.dataset.state = 'fetching';
  let body;
  let size;
  try {
    ({ body, size } = await fetchBundle(url));
  } catch (e) {
    return showError(e.code, e.message);
  }

  try {
    const reader = await BundleReader.open(body, secret, { maxPlainBytes: MAX_PLAIN_BYTES, size });
    const { expires, plain_size: plainSize, summary } = reader.header;
    if (expires) {
      const until = $('share-expiry');
      until.textContent = `Available until ${expires.slice(0, 10)}`;
      until.hidden = false;
    }
    if (reader.needsPin) await askPin(reader);
    document.body.dataset.state = 'decrypting';
    const files = await reader.readAll({
      onProgress: (done, total) => progress(done / total,
        `Opening ${summary.files} file${summary.files === 1 ? '' : 's'}: ${(done / MB).toFixed(0)} of ${(plainSize / MB).toFixed(0)} MB`),
    });
    progress(1, 'Showing the study…');
    panel.hidden = true;
    viewer.hidden = false;
    $('share-tools').hidden = false;
    document.body.dataset.state = 'loading';
    const loaded = await viewer.load(files);
    document.body.dataset.state = loaded?.error ? 'error:viewer' : 'open';
    updateSeriesButtons();
  } catch (e) {
    if (e instanceof ShareError) return showError(e.code, e.message);
    return showError('network', `The shared study could not be read (${e?.message ?? e}).`);
  }
}

// ---- tools ---------------------------------------------------------------------------------------------------

function updateSeriesButtons() {
  const many = viewer.seriesList.length > 1;
  for (const b of document.querySelectorAll('[data-action$="-series"]')) b.hidden = !many;
}

function stepSeries(delta) {
  const rows = viewer.seriesList;
  const at = rows.findIndex((r) => r.index === viewer.series);
  const next = rows[(at + delta + rows.length) % rows.length];
  if (next) viewer.selectSeries(next.index);
}

const actions = {
  fit: () => viewer.fit(),
  reset: () => viewer.reset(),
  overlays: (button) => {
    viewer.overlays = !viewer.overlays;
    button.setAttribute('aria-pressed', String(viewer.overlays));
  },
  'prev-series': () => stepSeries(-1),
  'next-series': () => stepSeries(1),
};
$('share-tools').addEventListener('click', (e) => {
  const button = e.target.closest('button[data-action]');
  if (button) actions[button.dataset.action]?.(button);
});

// Pinch zooms the image, never the page (the viewport meta alone does not stop it everywhere).
document.addEventListener('gesturestart', (e) => e.preventDefault());

open();
