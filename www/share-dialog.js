// The "Share" dialog of the main page: encrypts the loaded study in share-worker.js, then offers the bundle for
// download with its link and a QR code of the link. The key exists only in this page's memory, the link text
// and the QR code: nothing is uploaded or stored.
import { makeLink } from './share-bundle.js';
import { encodeQr, qrToSvg } from './qr.js';
import { el } from './dom.js';

const WORKER_URL = new URL('./share-worker.js', import.meta.url);
const DAY_MS = 86_400_000;

const randomName = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');

function field(label, input, hint) {
  const row = el('label', 'share-field');
  row.append(el('span', 'share-label', label), input);
  if (hint) row.append(el('span', 'share-hint', hint));
  return row;
}

/** Opens the dialog for the viewer's loaded study. */
export function openShareDialog(viewer) {
  const sources = viewer.sourceFiles;
  const dialog = el('dialog', 'share-dialog');
  dialog.setAttribute('aria-label', 'Share this study');
  const close = el('button', 'share-close', '×');
  close.type = 'button';
  close.title = 'Close';
  close.addEventListener('click', () => dialog.close());
  dialog.append(el('h2', null, 'Share this study'), close);
  dialog.addEventListener('close', () => {
    worker?.terminate();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    dialog.remove();
  });
  let worker = null;
  let blobUrl = null;
  document.body.append(dialog);

  if (!sources) {
    dialog.append(el('p', 'share-text', viewer.series < 0
      ? 'Open a study first.'
      : 'This study was itself opened from a share link; share the original link instead.'));
    dialog.showModal();
    return dialog;
  }

  const pin = el('input');
  Object.assign(pin, { type: 'text', name: 'pin', autocomplete: 'off', maxLength: 64, placeholder: 'none' });
  const expiry = el('select');
  expiry.name = 'expires';
  for (const [value, text] of [['1', '1 day'], ['7', '7 days'], ['30', '30 days'], ['0', 'never']]) {
    const option = el('option', null, text);
    option.value = value;
    expiry.append(option);
  }
  expiry.value = '7';
  const where = el('input');
  Object.assign(where, { type: 'text', name: 'location', value: `shares/${randomName()}.lucent`, spellcheck: false });
  const create = el('button', 'share-create', 'Encrypt and create link');
  create.type = 'button';
  const status = el('p', 'share-status');
  const form = el('div', 'share-form');
  form.append(
    el('p', 'share-text', `${sources.length} file${sources.length === 1 ? '' : 's'} will be encrypted in this browser. `
      + 'Put the bundle file where the link points (relative to this viewer\u2019s share.html), then send the link. '
      + 'The key is in the link only: the site storing the bundle cannot read it.'),
    field('PIN (optional)', pin, '4-64 characters; send it separately from the link'),
    field('Expires', expiry),
    field('Bundle location', where, 'where you will upload the bundle'),
    create, status,
  );
  dialog.append(form);
  dialog.showModal();

  create.addEventListener('click', () => {
    const pinValue = pin.value.trim();
    if (pinValue && !/^[\x21-\x7e]{4,64}$/.test(pinValue)) {
      status.textContent = 'A PIN is 4 to 64 characters: letters, digits or punctuation, no spaces.';
      status.dataset.kind = 'error';
      return;
    }
    const location = where.value.trim();
    if (!location) {
      status.textContent = 'Say where the bundle will be.';
      status.dataset.kind = 'error';
      return;
    }
    for (const c of [pin, expiry, where, create]) c.disabled = true;
    status.dataset.kind = 'info';
    status.textContent = 'Encrypting…';
    worker = new Worker(WORKER_URL, { type: 'module' });
    const days = Number(expiry.value);
    worker.onmessage = ({ data }) => {
      if (data.type === 'progress') {
        status.textContent = `Encrypting: ${(data.done / 2 ** 20).toFixed(0)} of ${(data.total / 2 ** 20).toFixed(0)} MB`;
      } else if (data.type === 'error') {
        status.textContent = `Could not create the bundle: ${data.message}`;
        status.dataset.kind = 'error';
        for (const c of [pin, expiry, where, create]) c.disabled = false;
      } else if (data.type === 'done') {
        worker.terminate();
        worker = null;
        showResult(data, location);
      }
    };
    worker.onerror = (e) => {
      status.textContent = `Could not create the bundle (${e.message ?? 'the worker failed'}).`;
      status.dataset.kind = 'error';
    };
    worker.postMessage({ sources, pin: pinValue || null, expires: days ? Date.now() + days * DAY_MS : null });
  });

  function showResult({ blob, secret, header }, location) {
    const link = makeLink(new URL('share.html', document.baseURI).href, location, secret);
    blobUrl = URL.createObjectURL(blob);
    const name = location.split('/').pop() || 'study.lucent';
    const download = el('a', 'share-download', `Download bundle (${(blob.size / 2 ** 20).toFixed(1)} MB)`);
    download.href = blobUrl;
    download.download = name;
    const linkBox = el('input', 'share-link');
    Object.assign(linkBox, { type: 'text', readOnly: true, value: link, name: 'link' });
    linkBox.addEventListener('focus', () => linkBox.select());
    const copy = el('button', null, 'Copy link');
    copy.type = 'button';
    copy.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(link);
        copy.textContent = 'Copied';
      } catch {
        linkBox.select();
        copy.textContent = 'Press Ctrl+C';
      }
    });
    const qr = el('img', 'share-qr');
    qr.alt = 'QR code of the share link';
    qr.src = `data:image/svg+xml,${encodeURIComponent(qrToSvg(encodeQr(link, { ecl: 'M' }), { scale: 4 }))}`;
    const result = el('div', 'share-result');
    const expires = header.expires ? `Expires ${header.expires.replace('T', ' ').replace('Z', ' UTC')}.` : 'No expiry.';
    result.append(
      el('p', 'share-text', `${header.summary.files} files encrypted. ${expires}${header.pin ? ' Protected by the PIN.' : ''}`),
      download,
      field('Link', linkBox),
      copy,
      qr,
    );
    form.replaceWith(result);
  }
  return dialog;
}
