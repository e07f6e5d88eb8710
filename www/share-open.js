// Opening a share link without the patient page's UI: used by share.js (the patient view) for the download and by
// <lucent-viewer> for src / load() with a share link. Decryption happens here, on the calling page, with
// WebCrypto (share-bundle.js); only the verified files leave. The key is never sent, logged or stored.
import { BundleReader, ShareError, parseLinkFragment } from './share-bundle.js';

/** Largest study accepted before allocating: it is held once in memory, then given to the engine. */
export const MAX_PLAIN_BYTES = 4 * 2 ** 30;

/**
 * The bundle's URL and secret from a share link (`<viewer>/share.html#<location>.<secret>`): the location is
 * resolved against the link's own page. Throws ShareError('no-link') for anything else.
 */
export function resolveShareLink(link, base = globalThis.location?.href) {
  let page;
  try {
    page = new URL(link, base);
  } catch {
    throw new ShareError('no-link', 'This is not a share link.');
  }
  const parsed = parseLinkFragment(page.hash);
  if (!parsed || !parsed.location) throw new ShareError('no-link', 'The share link is incomplete: the part after # is missing or cut.');
  page.hash = '';
  let url;
  try {
    url = new URL(parsed.location, page);
  } catch {
    throw new ShareError('no-link', 'The share link is incomplete: it does not say where the study is.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ShareError('no-link', 'The share link does not point to a web address.');
  url.hash = '';
  return { url, secret: parsed.secret };
}

/** True when text looks like a share link (a share.html page with a location.secret fragment). */
export const looksLikeShareLink = (text) => /share\.html#.+\.[A-Za-z0-9_-]{20,}$/.test(String(text));

/**
 * Fetches a bundle: resolves with {body: ReadableStream, size: bytes|null}; a network failure or an HTTP error
 * is a ShareError ('network' / 'not-found') with a sentence for a patient.
 */
export async function fetchBundle(url) {
  let response;
  try {
    response = await fetch(url, { credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store', redirect: 'error' });
  } catch {
    throw new ShareError('network', 'The shared study could not be downloaded (no connection, or the site does not allow it). Try again later.');
  }
  if (!response.ok) {
    throw new ShareError('not-found', response.status === 404 || response.status === 410
      ? 'The shared study is no longer available: the link may have been withdrawn, or mistyped.'
      : `The shared study could not be downloaded (HTTP ${response.status}). Try again later.`);
  }
  const length = Number(response.headers.get('Content-Length'));
  const size = response.headers.get('Content-Encoding') || !Number.isSafeInteger(length) || length <= 0 ? null : length;
  return { body: response.body, size };
}

/**
 * Fetches, unlocks (with `pin` when the bundle has one) and decrypts a share link: resolves with [{path, bytes}]
 * once every chunk and file hash verified. Errors are ShareErrors with the spec's codes, plus 'pin-required'
 * when the bundle needs a PIN and none was given.
 */
export async function openShareLink(link, { pin = null, baseUrl, onProgress = () => {} } = {}) {
  const { url, secret } = resolveShareLink(link, baseUrl);
  const { body, size } = await fetchBundle(url);
  const reader = await BundleReader.open(body, secret, { maxPlainBytes: MAX_PLAIN_BYTES, size });
  if (reader.needsPin) {
    if (pin == null || pin === '') throw new ShareError('pin-required', 'This shared study is protected by a PIN.');
    await reader.unlock(String(pin));
  }
  return reader.readAll({ onProgress });
}
