// DICOMweb client: a study or series URL on a PACS becomes a stream of Part 10 DICOM files, which the worker
// hands to the wasm core one by one. QIDO-RS lists what is there (progress totals), WADO-RS retrieves it, one
// request per series, as multipart/related parsed while it streams in: a study can be hundreds of MB, so no
// response is ever buffered whole and each file is copied exactly once. Plain ES module without dependencies:
// runs in a Web Worker and in Node 20 (global fetch, ReadableStream). Nothing here touches the wasm or the DOM.
//
//   parseDicomwebUrl(url) -> {root, study, series|null}            .../studies/{uid}[/series/{uid}], else throws
//   await listInstances(target, {token, fetch, signal}) -> [{study, series, instance, frames|null}]
//   for await (const {path, bytes} of retrieve(target, {token, fetch, signal, onProgress, instances, maxPartBytes}))
//   DicomwebError: .code (stable, below), .status (HTTP status or null), .url (the request, never a token)
//
// Error codes: 'dicomweb-url' (not a study/series URL), 'dicomweb-unauthorized' (401/403), 'dicomweb-not-found'
// (404, or a study/series with nothing in it), 'dicomweb-http' (any other status, or an answer that is not what
// DICOMweb specifies), 'dicomweb-network' (no answer or a connection lost mid-body; in a browser this is also how
// a missing CORS permission looks), 'dicomweb-multipart' (a malformed body), 'dicomweb-too-large' (a part over
// maxPartBytes). An aborted signal rejects with the signal's own AbortError, not a DicomwebError.
//
// A bearer token goes in the Authorization header of every request and nowhere else: never in a URL, a message
// or a log line.

const te = new TextEncoder();
const latin1 = new TextDecoder('latin1');

/** Largest part (one DICOM file) accepted by default; checked before anything that size is allocated. */
export const MAX_PART_BYTES = 2 ** 31;
const MAX_PART_HEADERS = 16 * 1024;    // one part's header block
const MAX_PREAMBLE = 1 << 20;          // bytes before the first boundary
const QIDO_CONCURRENCY = 4;            // instance listings in flight at once
const UID = /^[0-9]+(\.[0-9]+)*$/;
// Ask for the stored transfer syntax: without transfer-syntax=* a server transcodes (Orthanc: to explicit VR
// little endian, 8x the bytes of a JPEG lossless study) or refuses compressed instances.
const WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*';
const QIDO_ACCEPT = 'application/dicom+json';

/** A DICOMweb failure with a stable machine-readable code (see the top of this file). */
export class DicomwebError extends Error {
  constructor(code, message, { status = null, url = null } = {}) {
    super(message);
    this.name = 'DicomwebError';
    this.code = code;
    this.status = status;
    this.url = url;
  }
}

const validUid = (uid) => typeof uid === 'string' && uid.length <= 64 && UID.test(uid);

/**
 * Splits a DICOMweb study or series URL into the service root and the UIDs.
 * `https://pacs/dicom-web/studies/1.2.3` -> {root: 'https://pacs/dicom-web', study: '1.2.3', series: null};
 * `.../studies/1.2.3/series/4.5.6` also sets series. A trailing slash and a fragment are ignored.
 * @param {string|URL} url  absolute http(s) URL
 * @returns {{root: string, study: string, series: string|null}}
 * @throws {DicomwebError} 'dicomweb-url' for anything else (a query string included: credentials belong in
 *   the token, and a silently dropped parameter would load something other than what was asked for)
 */
export function parseDicomwebUrl(url) {
  const bad = (why) =>
    new DicomwebError('dicomweb-url', `not a DICOMweb study or series URL (${why}): ${String(url).split(/[?#]/)[0]}`);
  let u;
  try {
    u = new URL(String(url));
  } catch {
    throw bad('not an absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad(`${u.protocol} is not http or https`);
  if (u.username || u.password) throw bad('credentials in the URL; pass a token instead');
  if (u.search) throw bad('it has a query string');
  const m = /^(.*?)\/studies\/([^/]+)(?:\/series\/([^/]+))?\/?$/.exec(u.pathname);
  if (!m) throw bad('expected .../studies/{StudyInstanceUID}[/series/{SeriesInstanceUID}]');
  const decode = (s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const study = decode(m[2]);
  const series = m[3] === undefined ? null : decode(m[3]);
  if (!validUid(study)) throw bad(`"${study}" is not a UID`);
  if (series !== null && !validUid(series)) throw bad(`"${series}" is not a UID`);
  return { root: u.origin + m[1], study, series };
}

// ---- HTTP ------------------------------------------------------------------------------------------------------

const isAbort = (e, signal) => signal?.aborted || e?.name === 'AbortError';

/** GET with the token; statuses become DicomwebErrors. Resolves with an ok Response whose body is unread. */
async function get(url, accept, { token, fetch: fetchFn = globalThis.fetch, signal } = {}) {
  const headers = { Accept: accept };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetchFn(url, { headers, signal });
  } catch (e) {
    if (isAbort(e, signal)) throw e;
    throw new DicomwebError('dicomweb-network',
      `no answer from ${url} (${e?.message ?? e}; the server is down, unreachable, or does not allow this page's origin)`,
      { url });
  }
  if (response.ok) return response;
  response.body?.cancel().catch(() => {});
  const { status } = response;
  const fail = (code, what) => new DicomwebError(code, `${what}: HTTP ${status} from ${url}`, { status, url });
  if (status === 401 || status === 403) {
    throw fail('dicomweb-unauthorized', token ? 'the PACS refused the token' : 'the PACS needs a login token');
  }
  if (status === 404) throw fail('dicomweb-not-found', 'not on the PACS');
  throw fail('dicomweb-http', 'the PACS answered with an error');
}

const path = (root, study, series) =>
  `${root}/studies/${encodeURIComponent(study)}${series ? `/series/${encodeURIComponent(series)}` : ''}`;

/** A QIDO-RS query: the DICOM JSON array (204 No Content is an empty result). */
async function qido(url, options) {
  const response = await get(url, QIDO_ACCEPT, options);
  if (response.status === 204) return [];
  let json;
  try {
    json = await response.json();
  } catch (e) {
    if (isAbort(e, options.signal)) throw e;
    throw new DicomwebError('dicomweb-http', `the answer from ${url} is not DICOM JSON`, { status: response.status, url });
  }
  if (!Array.isArray(json)) {
    throw new DicomwebError('dicomweb-http', `the answer from ${url} is not a DICOM JSON array`, { status: response.status, url });
  }
  return json;
}

const firstValue = (dataset, tag) => dataset?.[tag]?.Value?.[0];

function uidOf(dataset, tag, url) {
  const uid = firstValue(dataset, tag);
  if (!validUid(uid)) {
    throw new DicomwebError('dicomweb-http', `a result from ${url} has no valid (${tag.slice(0, 4)},${tag.slice(4)}) UID`, { url });
  }
  return uid;
}

/** Series UIDs of a study, in the server's order; a study without series is not found. */
async function listSeries(root, study, options) {
  const url = `${path(root, study)}/series`;
  const series = (await qido(url, options)).map((d) => uidOf(d, '0020000E', url));
  if (!series.length) throw new DicomwebError('dicomweb-not-found', `study ${study} has no series on ${root}`, { url });
  return [...new Set(series)];
}

/**
 * QIDO-RS: every instance of the study (or of the one series), for progress totals before retrieving.
 * One /series query, then one /instances query per series (a few at once).
 * @param {{root: string, study: string, series?: string|null}} target  from parseDicomwebUrl
 * @param {{token?: string, fetch?: typeof fetch, signal?: AbortSignal}} [options]
 * @returns {Promise<Array<{study: string, series: string, instance: string, frames: number|null}>>}
 *   grouped by series; frames is Number of Frames when the server reports it
 * @throws {DicomwebError} 'dicomweb-not-found' also when the study or series has no instances
 */
export async function listInstances({ root, study, series = null }, options = {}) {
  const seriesUids = series ? [series] : await listSeries(root, study, options);
  const lists = new Array(seriesUids.length);
  let next = 0;
  const lister = async () => {
    while (next < seriesUids.length) {
      const i = next++;
      const url = `${path(root, study, seriesUids[i])}/instances`;
      lists[i] = (await qido(url, options)).map((d) => {
        const frames = Number(firstValue(d, '00280008'));
        return {
          study,
          series: seriesUids[i],
          instance: uidOf(d, '00080018', url),
          frames: Number.isInteger(frames) && frames > 0 ? frames : null,
        };
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(QIDO_CONCURRENCY, seriesUids.length) }, lister));
  const instances = lists.flat();
  if (!instances.length) {
    throw new DicomwebError('dicomweb-not-found', `${series ? `series ${series}` : `study ${study}`} has no instances on ${root}`,
      { url: path(root, study, series) });
  }
  return instances;
}

/**
 * WADO-RS: the study (one request per series) or the series, as Part 10 files in their stored transfer syntax.
 * Each file is yielded as soon as its part's closing boundary arrives; its bytes are a Uint8Array that owns its
 * whole ArrayBuffer (offset 0), so it can be transferred.
 * @param {{root: string, study: string, series?: string|null}} target  from parseDicomwebUrl
 * @param {object} [options]
 * @param {string} [options.token]  bearer token
 * @param {typeof fetch} [options.fetch]
 * @param {AbortSignal} [options.signal]
 * @param {(p: {series: string, seriesIndex: number, seriesCount: number, parts: number, bytes: number}) => void} [options.onProgress]
 *   after each file; parts and bytes count the whole retrieve so far
 * @param {Array<{series: string}>} [options.instances]  listInstances' result: its series are retrieved without
 *   asking QIDO again
 * @param {number} [options.maxPartBytes]  largest file accepted (default MAX_PART_BYTES)
 * @returns {AsyncGenerator<{path: string, bytes: Uint8Array}>}  path: `${SeriesInstanceUID}/${SOPInstanceUID}.dcm`
 */
export async function* retrieve({ root, study, series = null }, options = {}) {
  const { onProgress, instances } = options;
  let seriesUids;
  if (series) seriesUids = [series];
  else if (instances?.length) seriesUids = [...new Set(instances.map((i) => i.series))];
  else seriesUids = await listSeries(root, study, options);
  let parts = 0;
  let bytes = 0;
  for (let s = 0; s < seriesUids.length; s++) {
    const uid = seriesUids[s];
    const url = path(root, study, uid);
    const response = await get(url, WADO_ACCEPT, options);
    let index = 0;
    for await (const part of responseParts(response, url, options)) {
      const sop = sopInstanceUid(part);
      parts++;
      bytes += part.bytes.length;
      onProgress?.({ series: uid, seriesIndex: s, seriesCount: seriesUids.length, parts, bytes });
      yield { path: `${uid}/${sop ?? `instance-${index + 1}`}.dcm`, bytes: part.bytes };
      index++;
    }
  }
}

// The SOP Instance UID of a retrieved file when the server names it in the part's Content-Location
// (.../instances/{uid}), else null (the path is then a counter). Only a display name: the file itself is read by
// the core, never here (JS does not parse DICOM).
function sopInstanceUid({ headers }) {
  const m = /\/instances\/([0-9.]+)\/?$/.exec(headers.get('content-location') ?? '');
  return m && validUid(m[1]) ? m[1] : null;
}

// ---- multipart/related -----------------------------------------------------------------------------------------

/** Parses a Content-Type value: {type: 'multipart/related', params: {boundary, ...}} (names lower-cased). */
function parseContentType(text) {
  const params = {};
  const semi = text.indexOf(';');
  const type = (semi < 0 ? text : text.slice(0, semi)).trim().toLowerCase();
  // name=token or name="quoted \" string"; parameters this client does not know are kept and ignored
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  const rest = text.slice(Math.max(semi, 0));
  let m;
  while ((m = re.exec(rest))) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return { type, params };
}

/**
 * The DICOM files in a WADO-RS response: the parts of a multipart/related body, or the body itself when the
 * server answered a single application/dicom. Yields {headers: Headers-like .get(name), bytes}.
 */
async function* responseParts(response, url, options) {
  const maxPartBytes = options.maxPartBytes ?? MAX_PART_BYTES;
  const { type, params } = parseContentType(response.headers.get('content-type') ?? '');
  const reader = response.body?.getReader();
  if (!reader) throw new DicomwebError('dicomweb-multipart', `the answer from ${url} has no body`, { url });
  try {
    const chunks = readChunks(reader, url, options.signal);
    if (type === 'application/dicom') {
      yield await wholeBody(chunks, response, url, maxPartBytes);
    } else if (type === 'multipart/related') {
      const boundary = params.boundary;
      if (!boundary || boundary.length > 200) {
        throw new DicomwebError('dicomweb-multipart',
          `the multipart answer from ${url} has ${boundary ? 'an overlong' : 'no'} boundary`, { url });
      }
      yield* multipartParts(chunks, boundary, url, maxPartBytes);
    } else {
      throw new DicomwebError('dicomweb-multipart',
        `${url} answered ${type || 'no Content-Type'}, not multipart/related DICOM (is this a DICOMweb WADO-RS URL?)`, { url });
    }
  } finally {
    // A consumer that stopped early, or an error: let the connection go instead of reading the rest.
    reader.cancel().catch(() => {});
  }
}

/** The body's chunks as Uint8Arrays; a broken connection is 'dicomweb-network', an abort stays an abort. */
async function* readChunks(reader, url, signal) {
  for (;;) {
    let result;
    try {
      result = await reader.read();
    } catch (e) {
      if (isAbort(e, signal)) throw e;
      throw new DicomwebError('dicomweb-network', `the connection to ${url} broke mid-answer (${e?.message ?? e})`, { url });
    }
    if (result.done) return;
    const v = result.value;
    if (v?.length) yield v instanceof Uint8Array ? v : new Uint8Array(v);
  }
}

const noHeaders = { get: () => null };
const tooLarge = (url, size, max) =>
  new DicomwebError('dicomweb-too-large',
    `a file in the answer from ${url} is ${size} bytes, more than the ${max} this viewer accepts`, { url });

async function wholeBody(chunks, response, url, maxPartBytes) {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxPartBytes) throw tooLarge(url, declared, maxPartBytes);
  const queue = new ByteQueue();
  for await (const chunk of chunks) {
    queue.push(chunk);
    if (queue.length > maxPartBytes) throw tooLarge(url, `over ${maxPartBytes}`, maxPartBytes);
  }
  return { headers: noHeaders, bytes: queue.take(queue.length) };
}

const CRLF = te.encode('\r\n');
const CRLFCRLF = te.encode('\r\n\r\n');

/**
 * RFC 2046 multipart body parsing over a chunk stream. A part ends at CRLF "--" boundary; everything before the
 * first delimiter is preamble, after the close delimiter ("--" boundary "--") epilogue. Pretending the body
 * starts with CRLF makes a first boundary on the first line an ordinary delimiter. A part with a usable
 * Content-Length is copied straight into its own buffer as it arrives (one copy, nothing held twice) and the
 * delimiter must follow it; without one (or when it proves wrong) the delimiter is searched for.
 */
async function* multipartParts(chunks, boundary, url, maxPartBytes) {
  const delimiter = te.encode(`\r\n--${boundary}`);
  const fail = (why) => new DicomwebError('dicomweb-multipart', `malformed multipart answer from ${url}: ${why}`, { url });
  const queue = new ByteQueue();
  queue.push(CRLF.slice());
  let state = 'preamble';
  let headers = null;
  let fill = null;          // {bytes, at}: a part being copied in by its Content-Length
  let ended = false;

  // Advances as far as the buffered bytes allow: a part, 'more' (needs bytes) or 'done' (close delimiter).
  const step = () => {
    for (;;) {
      if (state === 'preamble') {
        const at = queue.find(delimiter);
        if (at < 0) {
          if (queue.length > MAX_PREAMBLE) throw fail(`no boundary "${boundary}" in the first ${MAX_PREAMBLE} bytes`);
          return 'more';
        }
        queue.skip(at + delimiter.length);
        state = 'delimited';
      } else if (state === 'delimited') {
        // After a boundary: "--" closes the body; else optional whitespace, CRLF, then the part's headers.
        if (queue.length < 2) return 'more';
        if (queue.byteAt(0) === 0x2d && queue.byteAt(1) === 0x2d) return 'done';
        const eol = queue.find(CRLF);
        if (eol < 0) {
          if (queue.length > 1024) throw fail('a boundary line does not end');
          return 'more';
        }
        for (let i = 0; i < eol; i++) {
          const b = queue.byteAt(i);
          if (b !== 0x20 && b !== 0x09) throw fail('text after a boundary on its line');
        }
        queue.skip(eol + 2);
        state = 'headers';
      } else if (state === 'headers') {
        if (queue.length < 2) return 'more';
        let text = '';
        if (queue.byteAt(0) === 0x0d && queue.byteAt(1) === 0x0a) {
          queue.skip(2);    // a part without headers
        } else {
          const end = queue.find(CRLFCRLF);
          if (end < 0) {
            if (queue.length > MAX_PART_HEADERS) throw fail(`a part's headers are longer than ${MAX_PART_HEADERS} bytes`);
            return 'more';
          }
          text = latin1.decode(queue.take(end));
          queue.skip(4);
        }
        headers = parsePartHeaders(text);
        const type = headers.get('content-type');
        if (type && !/^application\/dicom\s*(;|$)/i.test(type.trim())) throw fail(`a part is ${type}, not application/dicom`);
        const length = headers.get('content-length');
        const declared = length !== null && /^\s*\d+\s*$/.test(length) ? Number(length) : null;
        if (declared !== null && declared > maxPartBytes) throw tooLarge(url, declared, maxPartBytes);
        fill = declared !== null ? { bytes: new Uint8Array(declared), at: 0 } : null;
        state = 'body';
      } else if (fill) {
        fill.at += queue.takeInto(fill.bytes, fill.at);
        if (fill.at < fill.bytes.length) {
          if (ended) {
            // Shorter than declared: hand the bytes back and look for the delimiter instead.
            queue.unshift(fill.bytes.subarray(0, fill.at));
            fill = null;
            continue;
          }
          return 'more';
        }
        const follows = queue.startsWith(delimiter);
        if (follows === null && !ended) return 'more';
        if (follows) {
          queue.skip(delimiter.length);
          state = 'delimited';
          const part = { headers, bytes: fill.bytes };
          fill = null;
          return part;
        }
        // The Content-Length was wrong: scan for the delimiter over everything, copied bytes included.
        queue.unshift(fill.bytes);
        fill = null;
      } else {
        const at = queue.find(delimiter);
        if (at < 0) {
          if (queue.length > maxPartBytes + delimiter.length) throw tooLarge(url, `over ${maxPartBytes}`, maxPartBytes);
          return 'more';
        }
        if (at > maxPartBytes) throw tooLarge(url, at, maxPartBytes);
        const part = { headers, bytes: queue.take(at) };
        queue.skip(delimiter.length);
        state = 'delimited';
        return part;
      }
    }
  };

  for (;;) {
    const result = step();
    if (result === 'done') return;    // the epilogue is not read: the stream is cancelled
    if (result !== 'more') {
      yield result;
      continue;
    }
    if (ended) {
      throw fail(state === 'preamble' ? `no boundary "${boundary}" at all`
        : `the body ends inside a part, without the closing boundary (${state === 'body' ? 'a file is cut short' : 'after a boundary'})`);
    }
    const next = await chunks.next();
    if (next.done) ended = true;
    else queue.push(next.value);
  }
}

/** Part headers (latin1 text, CRLF lines) as a tiny Headers-like object; folded lines are joined. */
function parsePartHeaders(text) {
  const map = new Map();
  let last = null;
  for (const line of text.split('\r\n')) {
    if (/^[ \t]/.test(line) && last) {
      map.set(last, `${map.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = line.slice(0, colon).trim().toLowerCase();
    map.set(last, line.slice(colon + 1).trim());
  }
  return { get: (name) => map.get(name.toLowerCase()) ?? null };
}

/**
 * Bytes received and not yet consumed, kept as the network's chunks (never concatenated). find() resumes where
 * its last unsuccessful search stopped, so a part arriving in thousands of chunks is scanned once, by a native
 * indexOf on the delimiter's first byte (memchr-like) with a full compare only at candidates.
 */
class ByteQueue {
  constructor() {
    this.chunks = [];
    this.head = 0;          // consumed bytes of chunks[0]
    this.length = 0;
    this.resetScan();
  }

  resetScan() {
    this.scanChunk = 0;     // where the next find() starts: chunk index, offset in it, and its logical position
    this.scanOffset = this.head;
    this.scanBase = 0;
    this.scanPattern = null;
  }

  push(chunk) {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Puts bytes back in front (they were taken by mistake). */
  unshift(bytes) {
    if (this.head) {
      this.chunks[0] = this.chunks[0].subarray(this.head);
      this.head = 0;
    }
    this.chunks.unshift(bytes);
    this.length += bytes.length;
    this.resetScan();
  }

  byteAt(i) {
    let at = i + this.head;
    for (const c of this.chunks) {
      if (at < c.length) return c[at];
      at -= c.length;
    }
    return undefined;
  }

  /** Whether the pattern is at chunk ci offset off: true, false, or null when the bytes have not arrived. */
  matchAt(ci, off, pattern) {
    let c = this.chunks[ci];
    for (let k = 0; k < pattern.length; k++, off++) {
      while (off >= c.length) {
        if (++ci >= this.chunks.length) return null;
        off = 0;
        c = this.chunks[ci];
      }
      if (c[off] !== pattern[k]) return false;
    }
    return true;
  }

  /** Whether the queue starts with the pattern: true, false, or null (not enough bytes yet). */
  startsWith(pattern) {
    if (!this.chunks.length) return null;
    return this.matchAt(0, this.head, pattern);
  }

  /** Logical index of the first occurrence of pattern, or -1 (search again after more bytes arrive). */
  find(pattern) {
    if (this.scanPattern !== pattern) {
      this.resetScan();
      this.scanPattern = pattern;
    }
    const first = pattern[0];
    while (this.scanChunk < this.chunks.length) {
      const chunk = this.chunks[this.scanChunk];
      const start = this.scanChunk === 0 ? this.head : 0;
      let at = chunk.indexOf(first, this.scanOffset);
      while (at !== -1) {
        const m = this.matchAt(this.scanChunk, at, pattern);
        if (m !== false) {
          this.scanOffset = at;   // found, or a candidate cut off by the end of the data: look here again
          return m ? this.scanBase + at - start : -1;
        }
        at = chunk.indexOf(first, at + 1);
      }
      this.scanBase += chunk.length - start;
      this.scanChunk++;
      this.scanOffset = 0;
    }
    return -1;
  }

  /** Copies up to target.length - at bytes into target at `at`, consuming them; returns how many. */
  takeInto(target, at) {
    const want = Math.min(target.length - at, this.length);
    let done = 0;
    let used = 0;
    while (done < want) {
      const c = this.chunks[used];
      const start = used === 0 ? this.head : 0;
      const n = Math.min(c.length - start, want - done);
      target.set(n === c.length - start && start === 0 ? c : c.subarray(start, start + n), at + done);
      done += n;
      if (start + n === c.length) {
        used++;
        this.head = 0;
      } else {
        this.head = start + n;
      }
    }
    if (used) this.chunks.splice(0, used);
    this.length -= want;
    this.resetScan();
    return want;
  }

  /** The next n bytes as a new Uint8Array of exactly n bytes, consumed. */
  take(n) {
    const out = new Uint8Array(n);
    this.takeInto(out, 0);
    return out;
  }

  skip(n) {
    let left = Math.min(n, this.length);
    this.length -= left;
    let used = 0;
    while (left > 0) {
      const avail = this.chunks[used].length - this.head;
      if (left >= avail) {
        left -= avail;
        used++;
        this.head = 0;
      } else {
        this.head += left;
        left = 0;
      }
    }
    if (used) this.chunks.splice(0, used);
    this.resetScan();
  }
}
