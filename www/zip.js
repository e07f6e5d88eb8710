// ZIP reader for dropped study exports (PKWARE APPNOTE 6.3.x), a self-contained ES module with no
// dependencies: it runs in the worker and in Node (tests). Nothing is ever read whole: the end record and the
// central directory are read with Blob.slice, then each member on demand, streamed into a buffer of its declared
// size (through DecompressionStream('deflate-raw') when deflated), so opening a 500 MB ZIP costs the members the
// caller keeps plus the one being read. Stored (0) and Deflate (8) only; ZIP64 throughout.
//
//   looksLikeZip(firstBytes) -> boolean
//   const { entries, problems, notes } = await openZip(blob, { name, limits })   throws ZipError (whole archive)
//   entry: { path, size, compressedSize, method, crc32, read() -> Promise<Uint8Array> }   read() throws ZipError
//   problems: [{ path, code, reason }]   members that will not be read (encrypted, method, limits, damage)
//   notes:    [{ path, code, reason }]   for the record: zip-name-changed (sanitised), zip-duplicate-name (made
//                                        unique), zip-junk (one note counting skipped macOS metadata)
//   crc32(bytes, crc?) -> number
//
// Everything read from the archive is hostile: each size, offset and count is checked against the archive's
// size and the limits before anything is allocated, and the inflater is stopped as soon as it produces more
// than the declared size. Paths are relative and '/'-separated, never absolute or with '..' (display names and
// keys, unique within the archive). Every failure is a ZipError whose message names the archive (and member):
//   zip-truncated    the archive ends early (an interrupted download or copy)
//   zip-corrupt      not a ZIP, or its structures are inconsistent, or a member's data is damaged
//   zip-unsupported  split archives; members compressed with a method other than stored/deflate; symlinks
//   zip-encrypted    password-protected members (ZipCrypto or AES)
//   zip-too-large    more members, or a bigger member, than the limits allow; a likely zip bomb
//   zip-crc          a member's CRC-32 does not match its data
//   zip-unreadable   the browser could not read the file (moved or changed since it was dropped)

/** Limits applied to every archive; openZip's `limits` option overrides any of them. */
export const DEFAULT_LIMITS = Object.freeze({
  maxEntries: 200_000,                 // central directory records, directories and junk included
  maxEntrySize: 2 ** 31,               // declared uncompressed size of one member (2 GiB)
  maxCentralDirectory: 128 * 2 ** 20,  // bytes; read into memory at once (200 000 records of long names fit)
  // A deflate stream cannot expand more than 1032:1 (a 258-byte match costs at least 2 bits); zlib reaches
  // 1029:1 on zeros, which a blank frame is, so anything declaring more is a lie: a zip bomb or a damaged
  // directory. Below ratioFloor the buffer is harmless and the inflater's own size check decides.
  maxRatio: 1032,
  ratioFloor: 64 * 1024,
});

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_DIGITAL_SIGNATURE = 0x05054b50;
const END_LEN = 22;
const END64_LEN = 56;
const LOCATOR64_LEN = 20;
const CENTRAL_LEN = 46;
const LOCAL_LEN = 30;
const MAX_END_SEARCH = END_LEN + 0xffff;   // the end record plus the longest comment
const SMALL_MEMBER = 256 * 1024;           // read local header and data in one slice below this
const WINDOW = 2 * 2 ** 20;                // small members are read through one shared read-ahead window
const LOCAL_SLACK = 256;                   // local extra fields are often a little longer than the central ones

const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;

const STORED = 0;
const DEFLATE = 8;
const AES = 99;
const METHOD_NAMES = {
  1: 'Shrink', 2: 'Reduce', 3: 'Reduce', 4: 'Reduce', 5: 'Reduce', 6: 'Implode', 9: 'Deflate64', 10: 'PKWARE DCL Implode',
  12: 'bzip2', 14: 'LZMA', 16: 'IBM z/OS CMPSC', 18: 'IBM TERSE', 19: 'IBM LZ77', 20: 'Zstandard', 93: 'Zstandard',
  94: 'MP3', 95: 'XZ', 96: 'JPEG', 97: 'WavPack', 98: 'PPMd',
};

/** A failure with a stable `code` (see the header); `archive` and `path` say where. */
export class ZipError extends Error {
  constructor(code, message, { archive = null, path = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ZipError';
    this.code = code;
    this.archive = archive;
    this.path = path;
  }
}

/**
 * Whether a file's first bytes are those of a ZIP: a local header (PK\3\4), an empty archive's end record
 * (PK\5\6), or the spanning marker some writers put before the first local header (PK\7\8).
 * @param {Uint8Array} firstBytes  at least 4 bytes
 */
export function looksLikeZip(firstBytes) {
  if (!firstBytes || firstBytes.length < 4 || firstBytes[0] !== 0x50 || firstBytes[1] !== 0x4b) return false;
  const c = firstBytes[2];
  return c === firstBytes[3] - 1 && (c === 3 || c === 5 || c === 7);
}

// ---- CRC-32 (ISO 3309, reflected 0xEDB88320), slicing by 8: ~900 MB/s in V8 against ~400 for one table --------

const CRC = new Int32Array(256 * 8);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = CRC[n];
  for (let k = 1; k < 8; k++) {
    c = CRC[c & 0xff] ^ (c >>> 8);
    CRC[k * 256 + n] = c;
  }
}

/**
 * CRC-32 of `bytes`, continuing from `crc` (the value returned for the bytes before).
 * @param {Uint8Array} bytes
 * @param {number} [crc]
 * @returns {number} unsigned 32-bit
 */
export function crc32(bytes, crc = 0) {
  const t = CRC;
  const n = bytes.length;
  let c = ~crc;
  let i = 0;
  for (const end = n - 7; i < end; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)]
      ^ t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < n; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- little-endian fields -----------------------------------------------------------------------------------

const u16 = (b, p) => b[p] | (b[p + 1] << 8);
const u32 = (b, p) => (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
// Above 2^53 the sum is inexact, which is harmless: every 64-bit value is only compared with the archive's size
// or a limit, both far below that.
const u64 = (b, p) => u32(b, p) + u32(b, p + 4) * 2 ** 32;

const mb = (n) => (n >= 10 * 2 ** 20 ? `${Math.round(n / 2 ** 20)} MB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MB`
  : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} bytes`);

// ---- names --------------------------------------------------------------------------------------------------

// IBM PC code page 437, bytes 0x80..0xFF: what the ZIP spec says a name is when flag bit 11 is clear.
const CP437_HIGH = 'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌'
  + '█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';
const utf8 = new TextDecoder('utf-8');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function decodeName(bytes, flags, unicodeExtra) {
  if (flags & FLAG_UTF8) return utf8.decode(bytes);
  // Info-ZIP's Unicode Path extra field (0x7075) holds the UTF-8 name when the header's is in a code page; it
  // carries the CRC of the header name it stands for, so a stale one (the archive renamed later) is ignored.
  if (unicodeExtra && unicodeExtra.crc === crc32(bytes)) return utf8.decode(unicodeExtra.name);
  let ascii = true;
  for (const b of bytes) if (b >= 0x80) { ascii = false; break; }
  if (ascii) return String.fromCharCode.apply(null, bytes);
  // macOS Archive Utility and many Linux tools write UTF-8 names without setting bit 11. CP437 text that is
  // also valid multi-byte UTF-8 needs a box-drawing or Greek letter followed by an accented one, which no real
  // file name has, so valid UTF-8 is taken as UTF-8.
  try {
    return utf8Strict.decode(bytes);
  } catch {
    let s = '';
    for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
    return s;
  }
}

// Control characters and the bidirectional overrides (which can make 'gpj.exe' display as 'exe.jpg').
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'g');

/**
 * The name as a relative '/'-separated path that cannot look like one outside the archive: backslashes are
 * separators (some Windows writers), empty and '.' segments go, and so do '..' segments and any absolute or
 * drive prefix (`changed` says so, for a note). Returns null for a directory entry.
 */
function sanitise(name) {
  const raw = name.replace(/\\/g, '/');
  if (raw.endsWith('/')) return null;
  let changed = raw.startsWith('/') || /^[A-Za-z]:/.test(raw);
  const parts = [];
  for (const seg of raw.split('/')) {
    if (parts.length === 0 && /^[A-Za-z]:$/.test(seg)) continue;
    if (seg === '..') { changed = true; continue; }
    if (seg === '' || seg === '.') continue;
    parts.push(seg.replace(UNPRINTABLE_ALL, '_'));
  }
  if (UNPRINTABLE.test(raw)) changed = true;
  return { path: parts.join('/'), changed };
}

/** macOS metadata that rides along in ZIPs made by the Finder: resource forks and folder view settings. */
function isJunk(path) {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return path === '__MACOSX' || path.startsWith('__MACOSX/') || base.startsWith('._') || base === '.DS_Store';
}

// ---- reading the archive ------------------------------------------------------------------------------------

// A Blob or File; bytes; or anything Blob-like (size, slice(start, end) giving arrayBuffer() and stream()), which
// is how the tests reach offsets past 4 GiB in Node 20 (whose fs.openAsBlob truncates sizes to 32 bits).
function toBlob(source) {
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return new Blob([source]);
  if (source && Number.isSafeInteger(source.size) && typeof source.slice === 'function') return source;
  throw new TypeError('openZip: expected a Blob, a File, an ArrayBuffer or a typed array');
}

/** Bytes [start, end) of the archive, which must exist. */
async function readBytes(ctx, start, end) {
  let buf;
  try {
    buf = await ctx.blob.slice(start, end).arrayBuffer();
  } catch (e) {
    throw ctx.unreadable(e);
  }
  if (buf.byteLength !== end - start) {
    throw ctx.fail('zip-truncated', `ends at byte ${ctx.size} but ${end - start} bytes were expected at ${start}`);
  }
  return new Uint8Array(buf);
}

/**
 * Lists a ZIP archive's members. Reads only the end record and the central directory; members are read by
 * their `read()`. Members that cannot be read are `problems` (the others still open); an archive whose
 * structure is unusable throws.
 * @param {Blob|ArrayBuffer|ArrayBufferView} source  a File from a drop, bytes (e.g. a ZIP inside a ZIP), or
 *   anything Blob-like (size; slice(start, end) with arrayBuffer() and stream())
 * @param {{name?: string, limits?: Partial<typeof DEFAULT_LIMITS>}} [options]  name: for messages only
 * @returns {Promise<{entries: ZipEntry[], problems: ZipNote[], notes: ZipNote[]}>}
 * @typedef {{path: string, size: number, compressedSize: number, method: number, crc32: number,
 *   read: () => Promise<Uint8Array>}} ZipEntry
 * @typedef {{path: string, code: string, reason: string}} ZipNote
 */
export async function openZip(source, { name = 'archive.zip', limits = {} } = {}) {
  const blob = toBlob(source);
  const ctx = {
    blob,
    name,
    size: blob.size,
    limits: { ...DEFAULT_LIMITS, ...limits },
    shared: { window: null },    // the read-ahead window of small members (readAhead)
    fail: (code, message, cause) => new ZipError(code, `${name}: ${message}`, { archive: name, cause }),
    unreadable: (e) => new ZipError('zip-unreadable',
      `${name}: the file could not be read (${e?.message ?? e}); was it moved or changed after it was opened?`,
      { archive: name, cause: e }),
  };
  try {
    return await list(ctx);
  } catch (e) {
    throw unexpected(e, (code, message) => ctx.fail(code, message, e));
  }
}

// A bug of ours on hostile input must still be a ZipError for the caller, not a TypeError/RangeError.
function unexpected(e, fail) {
  if (e instanceof ZipError) return e;
  if (e instanceof RangeError && /alloc|memory|length/i.test(e.message)) {
    return fail('zip-too-large', `not enough memory (${e.message})`);
  }
  return fail('zip-corrupt', `could not be read (${e?.message ?? e})`);
}

/**
 * Finds the end record: the last PK\5\6 whose comment length reaches exactly the end of the file. Failing that
 * (a writer that got the comment length wrong, or a comment cut off), the candidates from the end backwards,
 * which readBounds then validates: a stray PK\5\6 in the data or in a comment must not be taken for the end.
 */
async function findEnd(ctx) {
  const { size } = ctx;
  const missing = async () => {
    const head = await readBytes(ctx, 0, Math.min(4, size));
    return looksLikeZip(head)
      ? ctx.fail('zip-truncated', 'the end of the archive (its central directory) is missing: the file is incomplete, '
        + 'perhaps an interrupted download or copy')
      : ctx.fail('zip-corrupt', 'is not a ZIP archive (no end of central directory record)');
  };
  if (size < END_LEN) throw await missing();
  const tailStart = Math.max(0, size - MAX_END_SEARCH);
  const tail = await readBytes(ctx, tailStart, size);
  const loose = [];
  for (let i = tail.length - END_LEN; i >= 0; i--) {
    if (tail[i] !== 0x50 || u32(tail, i) !== SIG_END) continue;
    if (i + END_LEN + u16(tail, i + 20) === tail.length) return { tail, tailStart, candidates: [tailStart + i], exact: true, missing };
    if (loose.length < 8) loose.push(tailStart + i);
  }
  if (!loose.length) throw await missing();
  return { tail, tailStart, candidates: loose, exact: false, missing };
}

/** Bytes [start, end) from the tail already read when they are in it, else from the archive. */
const fromTail = (ctx, end, start, stop) => (start >= end.tailStart
  ? Promise.resolve(end.tail.subarray(start - end.tailStart, stop - end.tailStart))
  : readBytes(ctx, start, stop));

/** The central directory's place and size, from the end record at `pos` (and the ZIP64 one when present). */
async function readBounds(ctx, end, pos) {
  const rec = await fromTail(ctx, end, pos, pos + END_LEN);
  let disk = u16(rec, 4);
  let cdDisk = u16(rec, 6);
  let onDisk = u16(rec, 8);
  let count = u16(rec, 10);
  let cdSize = u32(rec, 12);
  let cdOffset = u32(rec, 16);
  let cdEnd = pos;           // where the central directory should end: the (ZIP64) end record
  let zip64 = false;
  const saturated = count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;

  if (pos >= LOCATOR64_LEN) {
    const loc = await fromTail(ctx, end, pos - LOCATOR64_LEN, pos);
    if (u32(loc, 0) === SIG_LOCATOR64) {
      // The locator's offset, or (data prepended to the archive shifts every offset) right before the locator.
      const candidates = [u64(loc, 8), pos - LOCATOR64_LEN - END64_LEN];
      let rec64 = null;
      for (const at of candidates) {
        if (at < 0 || at + END64_LEN > pos - LOCATOR64_LEN) continue;
        const r = await fromTail(ctx, end, at, at + END64_LEN);
        if (u32(r, 0) === SIG_END64) { rec64 = r; cdEnd = at; break; }
      }
      if (rec64) {
        zip64 = true;
        disk = u32(rec64, 16);
        cdDisk = u32(rec64, 20);
        onDisk = u64(rec64, 24);
        count = u64(rec64, 32);
        cdSize = u64(rec64, 40);
        cdOffset = u64(rec64, 48);
      } else if (saturated) {
        throw ctx.fail('zip-corrupt', 'its ZIP64 end of central directory record is missing or damaged');
      }
    }
  }
  if (disk !== 0 || cdDisk !== 0 || (zip64 && onDisk !== count)) {
    throw ctx.fail('zip-unsupported', 'is one part of a split (multi-volume) archive; join the parts into one ZIP first');
  }
  if (count > ctx.limits.maxEntries) {
    throw ctx.fail('zip-too-large', `declares ${count} members, more than the ${ctx.limits.maxEntries} this viewer opens`);
  }
  if (cdSize > cdEnd) {
    throw ctx.fail('zip-corrupt', `its central directory (${mb(cdSize)}) is larger than the archive before it`);
  }
  if (cdSize > ctx.limits.maxCentralDirectory) {
    throw ctx.fail('zip-too-large', `its central directory (${mb(cdSize)}) is over the ${mb(ctx.limits.maxCentralDirectory)} limit`);
  }
  if (count * CENTRAL_LEN > cdSize) {
    throw ctx.fail('zip-corrupt', `declares ${count} members in a central directory of only ${cdSize} bytes`);
  }
  if (cdSize === 0) {
    if (count !== 0) throw ctx.fail('zip-corrupt', `declares ${count} members but has no central directory`);
    return { cdStart: cdEnd, cdSize, count, zip64, base: 0 };
  }

  // Where the directory starts. Normally at cdOffset, right before the end record. Data prepended to a ZIP
  // (a self-extractor stub, or a ZIP glued to other bytes) shifts the whole archive: then the directory is
  // found right before the end record and every offset in it is off by the same amount (as unzip does).
  const sigAt = async (at) => at >= 0 && at + 4 <= cdEnd && u32(await readBytes(ctx, at, at + 4), 0) === SIG_CENTRAL;
  const expected = cdEnd - cdSize;
  let base = 0;
  if (cdOffset + cdSize > cdEnd || (cdOffset !== expected && !(await sigAt(cdOffset)))) {
    if (expected > cdOffset && (await sigAt(expected)) && (await shiftedBy(ctx, expected, expected - cdOffset))) {
      base = expected - cdOffset;
    } else if (cdOffset >= ctx.size) {
      throw ctx.fail('zip-corrupt', `its central directory offset (${cdOffset}) points past the end of the file (${ctx.size} bytes)`);
    } else {
      throw ctx.fail('zip-corrupt', `its central directory is not where the end record says (offset ${cdOffset})`);
    }
  }
  return { cdStart: cdOffset + base, cdSize, count, zip64, base };
}

/** Whether the first central record, its offset shifted by `base`, points at a local header (prepended data). */
async function shiftedBy(ctx, cdStart, base) {
  const rec = await readBytes(ctx, cdStart, Math.min(ctx.size, cdStart + CENTRAL_LEN));
  if (rec.length < CENTRAL_LEN) return false;
  const at = u32(rec, 42);
  if (at === 0xffffffff) return true;        // in a ZIP64 extra field: the members' own checks will tell
  return at + base + 4 <= ctx.size && u32(await readBytes(ctx, at + base, at + base + 4), 0) === SIG_LOCAL;
}

async function list(ctx) {
  const { limits } = ctx;
  const end = await findEnd(ctx);
  let bounds = null;
  let firstError = null;
  for (const pos of end.candidates) {
    try {
      bounds = await readBounds(ctx, end, pos);
      break;
    } catch (e) {
      if (!(e instanceof ZipError) || e.code === 'zip-unreadable') throw e;
      firstError ??= e;
    }
  }
  // A damaged exact end record says what is wrong with it; candidates that are all nonsense mean the real end
  // record is gone.
  if (!bounds) throw end.exact ? firstError : await end.missing();
  const { cdStart, cdSize, count, zip64, base } = bounds;
  const entries = [];
  const problems = [];
  const notes = [];
  if (cdSize === 0) return { entries, problems, notes };
  const cd = await readBytes(ctx, cdStart, cdStart + cdSize);

  const spans = [];          // [start, minimal end, entry or null] of every member's local data, for overlaps
  const used = new Set();
  const suffix = new Map();
  let junk = 0;
  let records = 0;
  let p = 0;
  while (p < cd.length) {
    if (p + 4 <= cd.length && u32(cd, p) === SIG_DIGITAL_SIGNATURE) break;
    if (p + CENTRAL_LEN > cd.length || u32(cd, p) !== SIG_CENTRAL) {
      throw ctx.fail('zip-corrupt', `central directory record ${records + 1} is damaged (at byte ${cdStart + p})`);
    }
    if (++records > limits.maxEntries) {
      throw ctx.fail('zip-too-large', `holds more than the ${limits.maxEntries} members this viewer opens`);
    }
    const madeBy = u16(cd, p + 4);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc = u32(cd, p + 16);
    let compressedSize = u32(cd, p + 20);
    let size = u32(cd, p + 24);
    const nameLen = u16(cd, p + 28);
    const extraLen = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const external = u32(cd, p + 38);
    let offset = u32(cd, p + 42);
    const next = p + CENTRAL_LEN + nameLen + extraLen + commentLen;
    if (next > cd.length) throw ctx.fail('zip-corrupt', `central directory record ${records} runs past the directory`);
    const nameBytes = cd.subarray(p + CENTRAL_LEN, p + CENTRAL_LEN + nameLen);

    // Extra fields: ZIP64 sizes/offset (each present only when its 32-bit field is saturated, in this order),
    // Info-ZIP's Unicode path. A malformed extra area is ignored past the last well-formed field.
    let missing64 = false;
    let unicodeExtra = null;
    for (let q = p + CENTRAL_LEN + nameLen, qEnd = q + extraLen; q + 4 <= qEnd;) {
      const id = u16(cd, q);
      const len = u16(cd, q + 2);
      const d = q + 4;
      if (d + len > qEnd) break;
      if (id === 0x0001) {
        let f = d;
        const take = () => {
          if (f + 8 > d + len) { missing64 = true; return 0; }
          f += 8;
          return u64(cd, f - 8);
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (offset === 0xffffffff) offset = take();
      } else if (id === 0x7075 && len >= 5 && cd[d] === 1) {
        unicodeExtra = { crc: u32(cd, d + 1), name: cd.subarray(d + 5, d + len) };
      }
      q = d + len;
    }
    p = next;

    const decoded = decodeName(nameBytes, flags, unicodeExtra);
    const clean = sanitise(decoded);
    const start = offset + base;
    const entry = { index: records, start, flags, method, crc, compressedSize, size, nameLen, extraLen };
    if (clean === null) {           // a directory
      spans.push([start, start + LOCAL_LEN + compressedSize, null]);
      continue;
    }
    if (isJunk(clean.path)) {
      junk++;
      spans.push([start, start + LOCAL_LEN + compressedSize, null]);
      continue;
    }
    let path = clean.path || `unnamed-${records}`;
    if (used.has(path)) {
      let k = suffix.get(path) ?? 2;     // remembered, so that thousands of copies of one name stay linear
      while (used.has(`${path} (${k})`)) k++;
      suffix.set(path, k + 1);
      notes.push({ path: `${path} (${k})`, code: 'zip-duplicate-name',
        reason: `${ctx.name} holds more than one member named ${JSON.stringify(path)}; this one is shown as "${path} (${k})".` });
      path = `${path} (${k})`;
    } else if (clean.changed) {
      notes.push({ path, code: 'zip-name-changed',
        reason: `${ctx.name}: the member named ${JSON.stringify(decoded)} is shown as ${JSON.stringify(path)} `
          + '(absolute paths, ".." and control characters are not kept).' });
    }
    used.add(path);
    entry.path = path;

    const problem = (code, why) => {
      problems.push({ path, code, reason: `${ctx.name}: ${path}: ${why}` });
      return null;
    };
    const host = madeBy >>> 8;
    const ok = (() => {
      if (missing64) return problem('zip-corrupt', 'its ZIP64 sizes are missing from the central directory.');
      if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION) || method === AES) {
        return problem('zip-encrypted', 'is password-protected (encrypted); this viewer cannot open encrypted ZIP members. '
          + 'Extract the archive with its password, or export it again without one.');
      }
      if ((host === 3 || host === 19) && ((external >>> 16) & 0xf000) === 0xa000) {
        return problem('zip-unsupported', 'is a symbolic link, not a file.');
      }
      if (method !== STORED && method !== DEFLATE) {
        const what = METHOD_NAMES[method] ? `${METHOD_NAMES[method]} (method ${method})` : `method ${method}`;
        return problem('zip-unsupported', `is compressed with ${what}, which this viewer cannot read; `
          + 'create the ZIP again with standard (Deflate) compression.');
      }
      if (size > limits.maxEntrySize) {
        return problem('zip-too-large', `is ${mb(size)} uncompressed, over the ${mb(limits.maxEntrySize)} limit for one file.`);
      }
      if (start + LOCAL_LEN + compressedSize > cdStart) {
        return problem('zip-corrupt', 'its data lies outside the archive (a damaged or truncated ZIP).');
      }
      if (method === STORED && compressedSize !== size) {
        return problem('zip-corrupt', `is stored uncompressed but declares ${size} bytes in ${compressedSize}.`);
      }
      if (method === DEFLATE && size > limits.ratioFloor && size > compressedSize * limits.maxRatio) {
        return problem('zip-too-large', `declares ${mb(size)} from ${mb(compressedSize)} of compressed data, more than `
          + 'Deflate can produce: refused as a likely zip bomb or a damaged archive.');
      }
      return entry;
    })();
    spans.push([start, start + LOCAL_LEN + compressedSize, ok]);
  }
  if (zip64 ? records !== count : (records & 0xffff) !== count && count !== 0xffff) {
    // Without ZIP64 the 16-bit count wraps for more than 65535 members (some writers do that), hence & 0xffff.
    throw ctx.fail('zip-corrupt', `declares ${count} members but its central directory holds ${records}`);
  }

  // Members whose local data overlap are the trick of the "overlapping files" zip bombs (one compressed kernel
  // inflated by every member) or a damaged directory: each span must end before the next one starts. The ends
  // are lower bounds (the local name and extra lengths are read later), which is enough to catch overlaps.
  const bad = new Set();
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 0; i + 1 < spans.length; i++) {
    const [, stop, entry] = spans[i];
    if (entry && stop > spans[i + 1][0]) {
      bad.add(entry);
      problems.push({ path: entry.path, code: 'zip-corrupt',
        reason: `${ctx.name}: ${entry.path}: its data overlaps another member's (a zip bomb trick, or a damaged archive).` });
    }
  }
  for (const [, , entry] of spans) if (entry && !bad.has(entry)) entries.push(entry);
  entries.sort((a, b) => a.index - b.index);     // back in central directory order
  if (junk) {
    notes.push({ path: ctx.name, code: 'zip-junk',
      reason: `${ctx.name}: ${junk} macOS metadata file${junk === 1 ? '' : 's'} (__MACOSX/, ._*, .DS_Store) skipped.` });
  }
  return {
    entries: entries.map((e) => makeEntry(ctx, e, cdStart)),
    problems,
    notes,
  };
}

// ---- reading a member ---------------------------------------------------------------------------------------

function makeEntry(ctx, e, dataEnd) {
  const path = e.path;
  const fail = (code, why, cause) => new ZipError(code, `${ctx.name}: ${path}: ${why}`, { archive: ctx.name, path, cause });
  const m = {
    ...ctx,
    fail: (code, why, cause) => fail(code, why, cause),
    unreadable: (err) => fail('zip-unreadable',
      `could not be read (${err?.message ?? err}); was the archive moved or changed after it was opened?`, err),
  };
  return {
    path,
    size: e.size,
    compressedSize: e.compressedSize,
    method: e.method,
    crc32: e.crc,
    /** The member's bytes: a new Uint8Array of exactly `size` bytes, CRC-32 verified. Throws ZipError. */
    read: async () => {
      try {
        return await readMember(m, e, dataEnd);
      } catch (err) {
        throw unexpected(err, (code, why) => fail(code, why, err));
      }
    },
  };
}

async function readMember(m, e, dataEnd) {
  // The local header is read again: its name and extra lengths may differ from the central directory's (local
  // ZIP64 fields, longer timestamps). Small members come in the same slice, saving a read per file.
  const small = e.compressedSize <= SMALL_MEMBER;
  const headEnd = Math.min(dataEnd, e.start + LOCAL_LEN + e.nameLen + e.extraLen + LOCAL_SLACK + (small ? e.compressedSize : 0));
  const head = small ? await readAhead(m, e.start, headEnd, dataEnd) : await readBytes(m, e.start, headEnd);
  if (u32(head, 0) !== SIG_LOCAL) {
    throw m.fail('zip-corrupt', 'its local header is missing: the central directory points at the wrong place');
  }
  const flags = u16(head, 6);
  const method = u16(head, 8);
  const dataStart = e.start + LOCAL_LEN + u16(head, 26) + u16(head, 28);
  if (dataStart + e.compressedSize > dataEnd) {
    throw m.fail('zip-corrupt', 'its data runs past the end of the archive (a damaged or truncated ZIP)');
  }
  if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) throw m.fail('zip-encrypted', 'is password-protected (encrypted)');
  if (method !== e.method) {
    throw m.fail('zip-corrupt', `its local header says method ${method}, the central directory ${e.method}`);
  }
  const from = dataStart - e.start;
  const inHead = from + e.compressedSize <= head.length;
  let out;
  let crc;
  if (e.method === STORED && inHead) {
    out = head.slice(from, from + e.size);
    crc = crc32(out);
  } else if (e.method !== DEFLATE) {   // stored
    // One Blob read straight into the member's own buffer. (A BYOB reader over Blob.stream() into a scratch
    // buffer was tried: in Chromium's workers, with several members read at once, some of its reads never
    // resolved, and a 960-member ZIP hung with 3 members outstanding.)
    out = await readBytes(m, dataStart, dataStart + e.compressedSize);
    crc = crc32(out);
  } else {
    try {
      out = new Uint8Array(e.size);
    } catch (err) {
      throw m.fail('zip-too-large', `needs ${mb(e.size)} of memory, which the browser refused`, err);
    }
    const source = inHead
      ? new ReadableStream({ start(c) { c.enqueue(head.subarray(from, from + e.compressedSize)); c.close(); } })
      : m.blob.slice(dataStart, dataStart + e.compressedSize).stream();
    // Deflate (the only other method listed as readable): streamed through the browser's inflater.
    let inflater;
    try {
      inflater = new DecompressionStream('deflate-raw');
    } catch (err) {
      throw m.fail('zip-unsupported', 'is Deflate-compressed and this browser cannot inflate raw Deflate data '
        + '(DecompressionStream \'deflate-raw\'); use a current browser', err);
    }
    crc = await fill(m, e, source.pipeThrough(inflater), out);
  }
  if (crc !== e.crc) {
    throw m.fail('zip-crc', `its data does not match its CRC-32 (the archive says ${hex8(e.crc)}, the data gives `
      + `${hex8(crc)}): the member is damaged`);
  }
  return out;
}

/**
 * Bytes [start, end) for a small member, through a read-ahead window shared by the archive's members: each
 * Blob read costs far more than its bytes (a file open in Node, an IPC round trip in browsers), and a study of
 * thousands of small files is read in directory order, so one 2 MB read serves the next dozens of them. The
 * window only moves forward (a backward read fetches just its range), which bounds the re-reading when members
 * are read out of order; the caller gets a view, valid until it copies what it keeps.
 */
async function readAhead(m, start, end, dataEnd) {
  const shared = m.shared;
  let w = shared.window;
  if (!w || start < w.start || end > w.end) {
    if (end - start > WINDOW / 4 || (w && start < w.start)) return readBytes(m, start, end);
    w = { start, end: Math.max(end, Math.min(dataEnd, start + WINDOW)), bytes: null };
    w.bytes = readBytes(m, w.start, w.end);
    shared.window = w;
    w.bytes.catch(() => { if (shared.window === w) shared.window = null; });
  }
  let bytes;
  try {
    bytes = await w.bytes;
  } catch (err) {
    // The window was read for another member: say which one this is.
    throw err instanceof ZipError && err.code === 'zip-unreadable' ? m.unreadable(err.cause) : err;
  }
  return bytes.subarray(start - w.start, end - w.start);
}

const hex8 = (n) => n.toString(16).padStart(8, '0');

/**
 * Copies what `readable` produces (the member's bytes, inflated or not) into `out`, which has the declared
 * size, and returns their CRC-32, computed chunk by chunk while each is still in cache. Stops the stream (and
 * the inflater) as soon as it produces more than `out` holds.
 */
async function fill(m, e, readable, out) {
  const reader = readable.getReader();
  let at = 0;
  let crc = 0;
  let failure = null;
  for (;;) {
    let step;
    try {
      step = await reader.read();
    } catch (err) {
      failure = err;
      break;
    }
    if (step.done) break;
    const chunk = step.value;
    if (chunk.length > out.length - at) {
      reader.cancel().catch(() => {});
      throw m.fail('zip-corrupt', `${e.method === DEFLATE ? 'inflates to' : 'holds'} more than the ${e.size} bytes the archive `
        + 'declares (damaged, or a zip bomb); stopped');
    }
    out.set(chunk, at);
    crc = crc32(chunk, crc);
    at += chunk.length;
  }
  if (at < out.length) {
    if (failure && (failure.name === 'NotReadableError' || failure.name === 'NotFoundError')) throw m.unreadable(failure);
    throw m.fail('zip-corrupt', `its ${e.method === DEFLATE ? 'compressed ' : ''}data ends after ${at} of the ${e.size} bytes declared`
      + `${failure ? ` (${failure.message})` : ''}`, failure ?? undefined);
  }
  // A failure after every declared byte came out (junk after the end of the deflate stream, or its end marker
  // missing) is forgiven: the CRC-32 the caller checks next decides whether the data is right.
  return crc;
}
