// Share bundles (docs/share-bundle.md), the JS implementation: WebCrypto only, so it runs in the page, in a
// worker and in Node (tests). The Rust one (viewer-core/src/share, `lucent share`) reads and writes the same
// bytes; docs/share-bundle-vectors.json checks both. Keys never leave this module's callers: nothing here
// touches the wasm, storage or the network.
//
//   sealBundle(files, options) -> {blob, secret, header}          files: [{path, size?, read: () => bytes}]
//   const reader = await BundleReader.open(source, secret, {now, maxPlainBytes})   header tag + expiry checked
//   reader.needsPin; await reader.unlock(pin)                       throws ShareError('wrong-pin'), retryable
//   await reader.readAll({onProgress}) -> [{path, bytes}]           every chunk verified before anything returns;
//     reads the stream into one reused buffer (BYOB) and frees each decrypted chunk once copied
//   makeLink(viewerUrl, location, secret), parseLinkFragment(hash) -> {location, secret}

const subtle = globalThis.crypto.subtle;
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

export const MAGIC = 'LUCENTSB';
export const DEFAULT_CHUNK = 1 << 20;
export const PIN_ITERATIONS = 600_000;
const MAGIC_BYTES = Array.from(MAGIC, (c) => c.charCodeAt(0));
const FIXED = 12;               // magic + header length
const TAG = 16;
const WRAPPED = 48;
const MAX_HEADER = 65536;
const MAX_MANIFEST = 1 << 24;
const MIN_CHUNK = 4096;
const MAX_CHUNK = 1 << 24;
const IN_FLIGHT = 3;              // chunks decrypting at once while reading
const HEADER_KEYS = ['format', 'version', 'cipher', 'chunk_size', 'plain_size', 'created', 'expires', 'summary', 'pin', 'key_share'];

/** A failure with one of the spec's codes (docs/share-bundle.md, Errors). */
export class ShareError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'ShareError';
    this.code = code;
  }
}

// ---- encodings -----------------------------------------------------------------------------------------------

export function b64urlEncode(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function b64urlDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new ShareError('bad-header', 'not base64url text');
  }
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Date -> 'YYYY-MM-DDTHH:MM:SSZ' (whole seconds, UTC). */
export const formatTime = (date) => new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** 'YYYY-MM-DDTHH:MM:SSZ' -> Date, strictly (no other form is valid in a header). */
export function parseTime(text) {
  if (typeof text !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text)) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) || formatTime(d) !== text ? null : d;
}

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function nonce(index, last) {
  const iv = new Uint8Array(12);
  new DataView(iv.buffer).setBigUint64(0, BigInt(index), false);
  iv[11] = last ? 1 : 0;
  return iv;
}

const HEADER_NONCE = new Uint8Array(12).fill(0xff);
const ZERO_NONCE = new Uint8Array(12);

/** PIN rule: 4-64 printable ASCII characters. */
export function checkPin(pin) {
  if (typeof pin !== 'string' || pin.length < 4 || pin.length > 64 || !/^[\x21-\x7e]+$/.test(pin)) {
    throw new ShareError('bad-pin', 'A PIN is 4 to 64 characters: letters, digits or punctuation, no spaces.');
  }
}

/** Path rule of the manifest: relative, '/'-separated, no empty/./.. segment, no backslash or control char. */
export function validPath(path) {
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.includes('\\')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

// ---- keys ------------------------------------------------------------------------------------------------------

async function hkdfAesKey(secret, info, usages) {
  const ikm = await subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  return subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: te.encode(info) },
    ikm, { name: 'AES-GCM', length: 256 }, false, usages);
}

async function pinKek(secret, pin, salt, iterations) {
  const base = await subtle.importKey('raw', concat(secret, te.encode(pin)), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base,
    { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

const aesKey = (raw, usages) => subtle.importKey('raw', raw, 'AES-GCM', false, usages);
const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

// ---- writing ---------------------------------------------------------------------------------------------------

/**
 * Encrypts files into a bundle. Files are read twice (hash, then encrypt), one at a time, so the page holds the
 * bundle being built plus one file, never the study twice.
 * @param {Array<{path: string, read: () => Promise<Uint8Array>}>} files
 * @param {object} options  pin, expires (Date|null), now (Date), chunkSize; for test vectors only: secret,
 *   contentKey, salt, iterations (bytes / number)
 * @param {(done: number, total: number) => void} [onProgress]  plaintext bytes encrypted
 * @returns {Promise<{blob: Blob, secret: string, header: object}>}
 */
export async function sealBundle(files, options = {}, onProgress = () => {}) {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK || chunkSize > MAX_CHUNK) {
    throw new ShareError('bad-header', `chunk size ${chunkSize} is outside ${MIN_CHUNK}..${MAX_CHUNK}`);
  }
  if (!files.length) throw new ShareError('bad-header', 'there are no files to share');
  const seen = new Set();
  const entries = [];
  for (const f of files) {
    if (!validPath(f.path)) throw new ShareError('bad-header', `unusable file name in a bundle: ${JSON.stringify(f.path)}`);
    if (seen.has(f.path)) throw new ShareError('bad-header', `two files named ${f.path}`);
    seen.add(f.path);
    const bytes = await f.read();
    entries.push({ path: f.path, size: bytes.length, sha256: hex(await subtle.digest('SHA-256', bytes)) });
  }
  const manifest = te.encode(JSON.stringify({ files: entries }));
  const fileBytes = entries.reduce((n, e) => n + e.size, 0);
  const plainSize = 4 + manifest.length + fileBytes;
  const secret = options.secret ?? random(32);
  const now = options.now ?? new Date();
  let pinField = null;
  let contentKeyRaw = null;
  if (options.pin != null) {
    checkPin(options.pin);
    const iterations = options.iterations ?? PIN_ITERATIONS;
    if (iterations < PIN_ITERATIONS) throw new ShareError('bad-header', `PBKDF2 needs at least ${PIN_ITERATIONS} iterations`);
    pinField = { kdf: 'PBKDF2-SHA256', iterations, salt: b64urlEncode(options.salt ?? random(16)) };
    contentKeyRaw = options.contentKey ?? random(32);
  }
  const header = {
    format: 'lucent-share-bundle',
    version: 1,
    cipher: 'AES-256-GCM',
    chunk_size: chunkSize,
    plain_size: plainSize,
    created: formatTime(now),
    expires: options.expires ? formatTime(options.expires) : null,
    summary: { files: entries.length, bytes: fileBytes },
    pin: pinField,
    key_share: null,
  };
  const headerBytes = te.encode(JSON.stringify(header));
  const prefix = new Uint8Array(FIXED + headerBytes.length);
  prefix.set(te.encode(MAGIC), 0);
  new DataView(prefix.buffer).setUint32(8, headerBytes.length, true);
  prefix.set(headerBytes, FIXED);

  let aad = prefix;
  let contentKey;
  if (pinField) {
    const kek = await pinKek(secret, options.pin, b64urlDecode(pinField.salt), pinField.iterations);
    const wrapped = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: ZERO_NONCE, additionalData: prefix }, kek, contentKeyRaw));
    aad = concat(prefix, wrapped);
    contentKey = await aesKey(contentKeyRaw, ['encrypt']);
  } else {
    contentKey = await hkdfAesKey(secret, 'lucent share v1 content', ['encrypt']);
  }
  const headerKey = await hkdfAesKey(secret, 'lucent share v1 header', ['encrypt']);
  const headerTag = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: HEADER_NONCE, additionalData: aad }, headerKey, new Uint8Array(0)));

  // The plaintext stream: manifest block, then each file (read again), cut into chunks.
  const parts = [aad, headerTag];
  const blobs = [];
  const chunks = Math.ceil(plainSize / chunkSize);
  let index = 0;
  let pending = new Uint8Array(chunkSize);
  let fill = 0;
  let done = 0;
  const flush = async () => {
    const last = index === chunks - 1;
    const ct = await subtle.encrypt({ name: 'AES-GCM', iv: nonce(index, last), additionalData: aad }, contentKey, pending.subarray(0, fill));
    parts.push(new Uint8Array(ct));
    if (parts.length >= 64) blobs.push(new Blob(parts.splice(0)));   // keep the bundle in blob storage
    done += fill;
    index++;
    fill = 0;
    onProgress(done, plainSize);
  };
  const feed = async (bytes) => {
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(chunkSize - fill, bytes.length - at);
      pending.set(bytes.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === chunkSize && index < chunks - 1) await flush();
    }
  };
  const lengthField = new Uint8Array(4);
  new DataView(lengthField.buffer).setUint32(0, manifest.length, true);
  await feed(lengthField);
  await feed(manifest);
  for (let i = 0; i < files.length; i++) {
    const bytes = await files[i].read();
    if (bytes.length !== entries[i].size) throw new ShareError('damaged', `${files[i].path} changed while it was being shared`);
    await feed(bytes);
  }
  await flush();
  pending = null;
  return { blob: new Blob([...blobs, ...parts], { type: 'application/octet-stream' }), secret: b64urlEncode(secret), header };
}

// ---- reading ---------------------------------------------------------------------------------------------------

/**
 * Frees an ArrayBuffer the browser made for us (a WebCrypto result) as soon as it has been copied, instead of
 * whenever the garbage collector next runs: in Chromium such buffers are owned by objects only a full GC
 * reclaims, so 300 MB of 1 MiB results piled up as garbage while a bundle opened. Transferring the buffer into
 * a message for a port whose other end is closed detaches it, and the message, now its only owner, is dropped
 * at once (the spec's "serialize with transfer, then discard": correct everywhere, immediate in Chromium).
 * The caller must not touch the buffer afterwards.
 */
const release = (() => {
  if (typeof MessageChannel !== 'function') return () => {};
  let port = null;
  return (buffer) => {
    if (!port) {
      const channel = new MessageChannel();
      channel.port2.close();
      port = channel.port1;
      port.unref?.();   // Node: this port never keeps the process alive
    }
    try {
      port.postMessage(null, [buffer]);
      if (buffer.byteLength) port = null;   // not detached (the port was disentangled): a new one next time
    } catch {
      port = null;       // not transferable here: the garbage collector frees it, as it would have anyway
    }
  };
})();

/**
 * Exact-length reads over a ReadableStream, a Blob or bytes. A byte stream (a fetch body, a Blob's stream) is
 * read with a BYOB reader straight into one buffer that every read reuses, so reading a bundle allocates
 * nothing per chunk; other streams are read piece by piece and copied into that buffer.
 */
class ByteSource {
  constructor(source) {
    if (source instanceof Uint8Array) {
      this._bytes = source;
    } else {
      const stream = typeof Blob !== 'undefined' && source instanceof Blob ? source.stream() : source;
      if (!stream?.getReader) throw new TypeError('a bundle source is a ReadableStream, a Blob or a Uint8Array');
      try {
        this._byob = stream.getReader({ mode: 'byob' });
      } catch {
        this._reader = stream.getReader();   // not a byte stream
      }
    }
    this._at = 0;
    this._pieces = [];
    this._buffered = 0;
    this._buffer = null;
  }

  /** A copy of the next n bytes (fewer only at the end of the stream). */
  async read(n) {
    return (await this.view(n)).slice();
  }

  /**
   * The next n bytes (fewer only at the end of the stream) as a view that is valid until the next call: it is
   * the reused buffer, or the caller's own bytes. WebCrypto copies its input when called, so a chunk's view can
   * go to decrypt() and the buffer be refilled at once.
   */
  async view(n) {
    if (this._bytes) {
      const out = this._bytes.subarray(this._at, this._at + n);
      this._at += out.length;
      return out;
    }
    if (!this._buffer || this._buffer.byteLength < n) this._buffer = new ArrayBuffer(n);
    if (this._byob) {
      let buffer = this._buffer;
      let filled = 0;
      while (filled < n) {
        // The reader moves the memory into a new ArrayBuffer object each time (no copy, no allocation).
        const { done, value } = await this._byob.read(new Uint8Array(buffer, filled, n - filled), { min: n - filled });
        if (!value) {                 // cancelled: the buffer went with it
          this._buffer = null;
          return new Uint8Array(0);
        }
        buffer = value.buffer;
        filled += value.byteLength;
        if (done) break;
      }
      this._buffer = buffer;
      return new Uint8Array(buffer, 0, filled);
    }
    while (this._buffered < n) {
      const { done, value } = await this._reader.read();
      if (done) break;
      if (value.length) {
        this._pieces.push(value);
        this._buffered += value.length;
      }
    }
    const take = Math.min(n, this._buffered);
    const out = new Uint8Array(this._buffer, 0, take);
    for (let at = 0; at < take;) {
      const p = this._pieces[0];
      const k = Math.min(p.length, take - at);
      out.set(p.subarray(0, k), at);
      at += k;
      if (k === p.length) this._pieces.shift();
      else this._pieces[0] = p.subarray(k);
    }
    this._buffered -= take;
    return out;
  }

  cancel() {
    (this._byob ?? this._reader)?.cancel().catch(() => {});
  }
}

function parseHeader(bytes) {
  let h;
  try {
    h = JSON.parse(td.decode(bytes));
  } catch {
    throw new ShareError('bad-header', 'the bundle header is not valid JSON');
  }
  if (!h || typeof h !== 'object' || Array.isArray(h)) throw new ShareError('bad-header', 'the bundle header is not a JSON object');
  if (h.format !== 'lucent-share-bundle') throw new ShareError('bad-header', 'the header does not describe a Lucent share bundle');
  if (h.version !== 1) throw new ShareError('unsupported', `bundle format version ${h.version} is newer than this viewer (it reads version 1)`);
  const keys = Object.keys(h);
  const unknown = keys.filter((k) => !HEADER_KEYS.includes(k));
  if (unknown.length) throw new ShareError('unsupported', `the header has fields this viewer does not know (${unknown.join(', ')})`);
  const absent = HEADER_KEYS.filter((k) => !keys.includes(k));
  if (absent.length) throw new ShareError('bad-header', `the header lacks ${absent.join(', ')}`);
  if (h.cipher !== 'AES-256-GCM') throw new ShareError('unsupported', `cipher ${h.cipher} is not supported`);
  if (h.key_share !== null) throw new ShareError('unsupported', 'this bundle needs a key share from a share server, which this viewer does not support yet');
  const int = (v, lo, hi) => Number.isSafeInteger(v) && v >= lo && v <= hi;
  if (!int(h.chunk_size, MIN_CHUNK, MAX_CHUNK)) throw new ShareError('bad-header', `chunk size ${h.chunk_size} is out of range`);
  if (!int(h.plain_size, 4, Number.MAX_SAFE_INTEGER)) throw new ShareError('bad-header', `content size ${h.plain_size} is out of range`);
  if (!parseTime(h.created)) throw new ShareError('bad-header', 'the creation time is malformed');
  if (h.expires !== null && !parseTime(h.expires)) throw new ShareError('bad-header', 'the expiry time is malformed');
  const s = h.summary;
  if (!s || typeof s !== 'object' || Object.keys(s).length !== 2 || !int(s.files, 1, 2 ** 32) || !int(s.bytes, 0, Number.MAX_SAFE_INTEGER)) {
    throw new ShareError('bad-header', 'the content summary is malformed');
  }
  if (h.pin !== null) {
    const p = h.pin;
    if (!p || typeof p !== 'object' || Object.keys(p).length !== 3) throw new ShareError('bad-header', 'the PIN parameters are malformed');
    if (p.kdf !== 'PBKDF2-SHA256') throw new ShareError('unsupported', `key derivation ${p.kdf} is not supported`);
    if (!int(p.iterations, PIN_ITERATIONS, 2 ** 32 - 1)) throw new ShareError('bad-header', `PBKDF2 iterations ${p.iterations} are out of range`);
    if (b64urlDecode(p.salt).length !== 16) throw new ShareError('bad-header', 'the PIN salt is not 16 bytes');
  }
  return h;
}

export class BundleReader {
  /**
   * Reads and authenticates everything before the chunks: magic, header, wrapped key, header tag; then expiry.
   * @param {ReadableStream|Blob|Uint8Array} source
   * @param {string|Uint8Array} secret   the link secret (base64url or 32 bytes)
   * @param {{now?: Date, maxPlainBytes?: number, size?: number|null}} options  size: the bundle's length when
   *   known (Content-Length), checked against the header before any content is read
   */
  static async open(source, secret, { now = new Date(), maxPlainBytes = 4 * 2 ** 30, size = null } = {}) {
    const src = new ByteSource(source);
    try {
      return await BundleReader._open(src, secret, now, maxPlainBytes, size);
    } catch (e) {
      src.cancel();
      throw e;
    }
  }

  static async _open(src, secret, now, maxPlainBytes, size) {
    const secretBytes = typeof secret === 'string' ? (() => {
      try {
        return b64urlDecode(secret);
      } catch {
        return new Uint8Array(0);
      }
    })() : secret;
    if (secretBytes.length !== 32) throw new ShareError('wrong-key', 'The link is incomplete: its key part is not 43 characters.');
    const fixed = await src.read(FIXED);
    if (fixed.length < FIXED || !MAGIC_BYTES.every((b, i) => fixed[i] === b)) {
      throw new ShareError('not-a-bundle', 'This file is not a Lucent share bundle.');
    }
    const h = new DataView(fixed.buffer, fixed.byteOffset, 12).getUint32(8, true);
    if (h < 2 || h > MAX_HEADER) throw new ShareError('bad-header', `header length ${h} is out of range`);
    const headerBytes = await src.read(h);
    if (headerBytes.length < h) throw new ShareError('bad-header', 'the bundle ends inside its header');
    const header = parseHeader(headerBytes);
    const prefix = concat(fixed, headerBytes);
    let wrapped = null;
    if (header.pin) {
      wrapped = await src.read(WRAPPED);
      if (wrapped.length < WRAPPED) throw new ShareError('bad-header', 'the bundle ends inside its wrapped key');
      wrapped = wrapped.slice();
    }
    const aad = wrapped ? concat(prefix, wrapped) : prefix;
    const tag = await src.read(TAG);
    if (tag.length < TAG) throw new ShareError('bad-header', 'the bundle ends inside its header tag');
    const headerKey = await hkdfAesKey(secretBytes, 'lucent share v1 header', ['decrypt']);
    try {
      await subtle.decrypt({ name: 'AES-GCM', iv: HEADER_NONCE, additionalData: aad }, headerKey, tag);
    } catch {
      throw new ShareError('wrong-key', 'The link does not open this bundle: its key is wrong, or the bundle header was changed.');
    }
    if (header.expires !== null && now.getTime() >= parseTime(header.expires).getTime()) {
      throw new ShareError('expired', `This share link expired on ${header.expires.replace('T', ' ').replace('Z', ' UTC')}.`);
    }
    const chunks = Math.ceil(header.plain_size / header.chunk_size);
    if (header.plain_size > maxPlainBytes) {
      throw new ShareError('too-large', `The shared study is ${(header.plain_size / 2 ** 20).toFixed(0)} MB, more than this device can open here (${(maxPlainBytes / 2 ** 20).toFixed(0)} MB).`);
    }
    const expectedSize = aad.length + TAG + header.plain_size + TAG * chunks;
    if (size != null && size !== expectedSize) {
      throw new ShareError('damaged', `The bundle is ${size} bytes; its header says ${expectedSize}: it was ${size < expectedSize ? 'truncated' : 'extended'}.`);
    }
    const reader = new BundleReader();
    Object.assign(reader, { _src: src, _secret: secretBytes, _aad: aad, _wrapped: wrapped, _key: null, _chunks: chunks, header });
    if (!header.pin) reader._key = await hkdfAesKey(secretBytes, 'lucent share v1 content', ['decrypt']);
    return reader;
  }

  /** True until unlock() succeeded on a PIN bundle. */
  get needsPin() {
    return this._key == null;
  }

  /** Derives the PIN key and unwraps the content key; throws ShareError('wrong-pin') (the reader stays usable). */
  async unlock(pin) {
    if (!this.header.pin) return;
    if (typeof pin !== 'string' || pin === '') throw new ShareError('pin-required', 'This study is protected by a PIN.');
    const { salt, iterations } = this.header.pin;
    const kek = await pinKek(this._secret, pin, b64urlDecode(salt), iterations);
    let raw;
    try {
      raw = await subtle.decrypt({ name: 'AES-GCM', iv: ZERO_NONCE, additionalData: this._aad.subarray(0, this._aad.length - WRAPPED) }, kek, this._wrapped);
    } catch {
      throw new ShareError('wrong-pin', 'The PIN is not right.');
    }
    this._key = await aesKey(new Uint8Array(raw), ['decrypt']);
  }

  /** Stops reading (e.g. the user left). */
  cancel() {
    this._src.cancel();
  }

  /**
   * Decrypts every chunk into the files' own buffers and checks the manifest and each file's SHA-256.
   * Holds the plaintext once plus a few chunks (in Chromium: README, "Sharing a study").
   * @param {{onProgress?: (plainDone: number, plainTotal: number) => void, inFlight?: number}} [options]
   *   inFlight: chunks decrypting at once (default IN_FLIGHT; for benchmarks)
   * @returns {Promise<Array<{path: string, bytes: Uint8Array}>>}
   */
  async readAll({ onProgress = () => {}, inFlight = IN_FLIGHT } = {}) {
    if (this.needsPin) throw new ShareError('pin-required', 'This study is protected by a PIN.');
    try {
      return await this._readAll(onProgress, Math.max(1, Math.floor(inFlight)));
    } catch (e) {
      this._src.cancel();
      throw e;
    }
  }

  async _readAll(onProgress, depth) {
    const { chunk_size: chunkSize, plain_size: plainSize, summary } = this.header;
    const damaged = (why) => new ShareError('damaged', `The bundle is damaged or was tampered with (${why}); nothing from it is shown.`);
    const sink = new PlainSink(plainSize, summary, damaged);
    // Up to `depth` chunks decrypt at once (Chromium has one WebCrypto thread: the gain is keeping it busy while
    // this thread copies). Each result is written to the sink strictly in order, then freed at once.
    const inFlight = [];
    let done = 0;
    const settle = async () => {
      const { index, result } = await inFlight.shift();
      if (!result) throw damaged(`chunk ${index + 1} of ${this._chunks} does not verify`);
      done += result.byteLength;
      sink.write(result);
      onProgress(done, plainSize);
    };
    for (let i = 0; i < this._chunks; i++) {
      const last = i === this._chunks - 1;
      const len = Math.min(chunkSize, plainSize - i * chunkSize);
      const ct = await this._src.view(len + TAG);   // refilled by the next view(): decrypt() copies it first
      if (ct.length < len + TAG) throw damaged(`it ends inside chunk ${i + 1} of ${this._chunks}`);
      // Never rejects (a failed tag is result null), so a chunk still in flight when another fails is no
      // unhandled rejection.
      inFlight.push(subtle.decrypt({ name: 'AES-GCM', iv: nonce(i, last), additionalData: this._aad }, this._key, ct)
        .then((result) => ({ index: i, result }), () => ({ index: i, result: null })));
      if (inFlight.length >= depth) await settle();
    }
    while (inFlight.length) await settle();
    if ((await this._src.view(1)).length) throw damaged('there are bytes after its last chunk');
    return sink.finish();
  }
}

/**
 * Splits the plaintext stream into the manifest and the files' buffers as decrypted chunks arrive. A file's
 * buffer is allocated when its first byte arrives; a chunk that is exactly one whole file becomes that file's
 * buffer (no copy). Every other chunk is copied and released at once.
 */
class PlainSink {
  constructor(plainSize, summary, damaged) {
    Object.assign(this, { plainSize, summary, damaged });
    this.head = new Uint8Array(4);
    this.headFill = 0;
    this.manifestBytes = null;
    this.manifestFill = 0;
    this.files = null;
    this.file = 0;
    this.fileFill = 0;
  }

  /** Takes a decrypted chunk (an ArrayBuffer this sink now owns). */
  write(buffer) {
    const bytes = new Uint8Array(buffer);
    if (this.files) {
      this._skipDone();
      const f = this.files[this.file];
      if (f && this.fileFill === 0 && f.size === bytes.length) {
        f.bytes = bytes;
        this.fileFill = f.size;
        f.digest = subtle.digest('SHA-256', f.bytes);
        return;
      }
    }
    this._copy(bytes);
    release(buffer);
  }

  _copy(bytes) {
    let at = 0;
    while (at < bytes.length) {
      if (this.headFill < 4) {
        const n = Math.min(4 - this.headFill, bytes.length - at);
        this.head.set(bytes.subarray(at, at + n), this.headFill);
        this.headFill += n;
        at += n;
        if (this.headFill === 4) {
          const m = new DataView(this.head.buffer).getUint32(0, true);
          if (m < 2 || m > MAX_MANIFEST || 4 + m > this.plainSize) throw this.damaged(`manifest length ${m} is out of range`);
          this.manifestBytes = new Uint8Array(m);
        }
      } else if (this.files == null) {
        const n = Math.min(this.manifestBytes.length - this.manifestFill, bytes.length - at);
        this.manifestBytes.set(bytes.subarray(at, at + n), this.manifestFill);
        this.manifestFill += n;
        at += n;
        if (this.manifestFill === this.manifestBytes.length) this._startFiles();
      } else {
        this._skipDone();
        if (this.file >= this.files.length) throw this.damaged('the content is longer than its manifest');
        const f = this.files[this.file];
        const n = Math.min(f.size - this.fileFill, bytes.length - at);
        f.bytes ??= new Uint8Array(f.size);
        f.bytes.set(bytes.subarray(at, at + n), this.fileFill);
        this.fileFill += n;
        at += n;
        // Complete: hash it now, alongside the next chunks' decryption (checked in finish()).
        if (this.fileFill === f.size) f.digest = subtle.digest('SHA-256', f.bytes);
      }
    }
  }

  /** Moves past files that are complete (and empty ones). */
  _skipDone() {
    while (this.file < this.files.length && this.files[this.file].size === this.fileFill) {
      this.file++;
      this.fileFill = 0;
    }
  }

  _startFiles() {
    let manifest;
    try {
      manifest = JSON.parse(td.decode(this.manifestBytes));
    } catch {
      throw this.damaged('its manifest is not valid JSON');
    }
    const list = manifest?.files;
    if (!Array.isArray(list) || list.length !== this.summary.files) throw this.damaged('its manifest does not match the header');
    const paths = new Set();
    let total = 0;
    for (const f of list) {
      if (!f || !validPath(f.path) || paths.has(f.path) || !Number.isSafeInteger(f.size) || f.size < 0
        || typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) {
        throw this.damaged('its manifest has an invalid entry');
      }
      paths.add(f.path);
      total += f.size;
    }
    if (total !== this.summary.bytes || 4 + this.manifestBytes.length + total !== this.plainSize) {
      throw this.damaged('its manifest sizes do not add up to the header');
    }
    // Sizes are consistent with plain_size, which open() checked against the limit: allocating them (as their
    // bytes arrive) is safe.
    this.files = list.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, bytes: null, digest: null }));
  }

  async finish() {
    if (!this.files) throw this.damaged('it ends before its manifest does');
    this._skipDone();
    if (this.file < this.files.length) throw this.damaged('it ends before its last file does');
    for (const f of this.files) {
      f.bytes ??= new Uint8Array(0);                              // empty files never got a write
      f.digest ??= subtle.digest('SHA-256', f.bytes);
    }
    const digests = await Promise.all(this.files.map((f) => f.digest));
    this.files.forEach((f, i) => {
      if (hex(digests[i]) !== f.sha256) throw this.damaged(`${f.path} does not match its checksum`);
    });
    return this.files.map((f) => ({ path: f.path, bytes: f.bytes }));
  }
}

// ---- links -----------------------------------------------------------------------------------------------------

/** `<viewer>/share.html#<location>.<secret>`; viewerUrl is the share page's URL or its folder. */
export function makeLink(viewerUrl, location, secret) {
  const page = /share\.html$/.test(viewerUrl) ? viewerUrl : `${viewerUrl.replace(/\/?$/, '/')}share.html`;
  const loc = encodeURIComponent(location).replace(/%2F/gi, '/').replace(/%3A/gi, ':');
  return `${page}#${loc}.${secret}`;
}

/** The fragment (with or without '#') -> {location, secret}; null when it is not a share fragment. */
export function parseLinkFragment(hash) {
  const text = hash.replace(/^#/, '');
  const dot = text.lastIndexOf('.');
  if (dot <= 0) return null;
  const secret = text.slice(dot + 1);
  let location;
  try {
    location = decodeURIComponent(text.slice(0, dot));
  } catch {
    return null;
  }
  return { location, secret };
}
