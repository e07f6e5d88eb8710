// www/dicomweb.js against a real PACS: Debian's Orthanc with its DICOMweb plugin, started by
// tests/support/orthanc.mjs behind a token-checking CORS proxy, holding real corpus files (a 28-slice CT series,
// a 64-frame enhanced MR, and multi-frame JPEG lossless, JPEG baseline and RLE files). What comes back is checked
// against the files themselves, read by a small independent reader below: every SOP Instance UID once, the
// stored transfer syntax (no transcoding), the Pixel Data value byte for byte.
// The multipart parser also meets bodies no real server sends (split at every byte, lying lengths, cut short,
// oversized): only there is the server a fake fetch returning crafted Responses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { CORPUS, missing } from '../support/env.mjs';
import { readHeader } from '../e2e/dicom-mini.mjs';
import { orthancAvailable, startOrthanc } from '../support/orthanc.mjs';
import { DicomwebError, listInstances, parseDicomwebUrl, retrieve } from '../../www/dicomweb.js';

const te = new TextEncoder();

async function codeOf(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof DicomwebError, `not a DicomwebError: ${e?.stack ?? e}`);
    return e.code;
  }
  return 'ok';
}

async function errorOf(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

async function collect(generator) {
  const out = [];
  for await (const f of generator) out.push(f);
  return out;
}

// ---- an independent Part 10 reader: meta group, top-level UIDs, the Pixel Data value --------------------------

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;

/** {ts, sop, pixelData} of a little-endian Part 10 file; pixelData is the element's whole value (items included). */
function part10(bytes) {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(b.toString('latin1', 128, 132), 'DICM', 'a Part 10 file starts with a preamble and DICM');
  const out = { ts: null, sop: null, pixelData: null };
  let pos = 132;
  while (pos + 8 <= b.length && b.readUInt16LE(pos) === 0x0002) {
    const e = elementAt(b, pos, true);
    const text = b.toString('latin1', e.value, e.value + e.length).replace(/[\0 ]+$/, '');
    if (e.element === 0x0010) out.ts = text;
    pos = e.value + e.length;
  }
  walk(b, pos, out.ts !== '1.2.840.10008.1.2', out);
  return out;
}

function elementAt(b, pos, explicit) {
  const group = b.readUInt16LE(pos);
  const element = b.readUInt16LE(pos + 2);
  if (group === 0xfffe || !explicit) return { group, element, vr: null, length: b.readUInt32LE(pos + 4), value: pos + 8 };
  const vr = b.toString('latin1', pos + 4, pos + 6);
  if (LONG_VRS.has(vr)) return { group, element, vr, length: b.readUInt32LE(pos + 8), value: pos + 12 };
  return { group, element, vr, length: b.readUInt16LE(pos + 6), value: pos + 8 };
}

// A dataset up to its end or an item delimiter; `out` only at the top level.
function walk(b, pos, explicit, out = null) {
  while (pos + 8 <= b.length) {
    const e = elementAt(b, pos, explicit);
    if (e.group === 0xfffe && e.element === 0xe00d) return e.value;
    pos = e.value;
    const undefinedLength = e.length === UNDEFINED;
    const end = undefinedLength ? items(b, pos, e.vr === 'UN' ? false : explicit) : pos + e.length;
    if (out && e.group === 0x7fe0 && e.element === 0x0010) out.pixelData = b.subarray(pos, end);
    if (out && e.group === 0x0008 && e.element === 0x0018) out.sop = b.toString('latin1', pos, end).replace(/[\0 ]+$/, '');
    pos = end;
  }
  return pos;
}

// Items of an undefined-length sequence or encapsulated pixel data, through the sequence delimiter.
function items(b, pos, explicit) {
  for (;;) {
    const e = elementAt(b, pos, explicit);
    assert.equal(e.group, 0xfffe, `an item tag at ${pos}`);
    pos = e.value;
    if (e.element === 0xe0dd) return pos;
    pos = e.length === UNDEFINED ? walk(b, pos, explicit) : pos + e.length;
  }
}

// ---- unit level: the parser against crafted bodies --------------------------------------------------------------

const ROOT = 'https://pacs.example/dicom-web';
const STUDY = '1.2.3';
const SERIES = '1.2.3.4';
const TARGET = { root: ROOT, study: STUDY, series: SERIES };

/** A fake fetch: answer(url, init) -> Response; records each request's URL and headers. */
function fakeFetch(answer) {
  const calls = [];
  const f = async (url, init = {}) => {
    calls.push({ url: String(url), headers: new Headers(init.headers) });
    if (init.signal?.aborted) throw init.signal.reason;
    return answer(String(url), init);
  };
  f.calls = calls;
  return f;
}

/** A ReadableStream of the given chunks. */
const streamOf = (chunks) => new ReadableStream({
  start(controller) {
    for (const c of chunks) controller.enqueue(c);
    controller.close();
  },
});

const multipart = (boundary, quoted = false) => `multipart/related; type="application/dicom"; boundary=${quoted ? `"${boundary}"` : boundary}`;

function concat(...parts) {
  const arrays = parts.map((p) => (typeof p === 'string' ? te.encode(p) : p));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** A minimal Part 10 file: preamble, DICM, (0002,0003) MediaStorageSOPInstanceUID, then payload bytes. */
function tinyDicom(sop, payload) {
  const uid = sop.length % 2 ? `${sop}\0` : sop;
  const el = new Uint8Array(8 + uid.length);
  el.set([0x02, 0x00, 0x03, 0x00, 0x55, 0x49, uid.length, 0]);
  el.set(te.encode(uid), 8);
  return concat(new Uint8Array(128), 'DICM', el, payload);
}

// Parts whose bytes tempt the parser: CRLF, "--", the boundary without its CRLF, a boundary prefix.
const B = 'frontier-42';
const PART_BYTES = [
  tinyDicom('1.2.3.4.100', concat('\r\n--frontier-4\r\n--frontier\r\n-', new Uint8Array([0, 13, 10, 45, 45, 13]))),
  concat(`--${B}\r\n`, 'not a DICOM file, just bytes'),
  new Uint8Array(0),
  Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 255),
];

/**
 * A multipart body; lengths: 'exact' | 'none' | 'wrong' (Content-Length off by some bytes, both ways) | 'huge'
 * (longer than the rest of the body).
 */
function body({ parts = PART_BYTES, boundary = B, preamble = '', epilogue = '', lengths = 'exact', location = false, close = true } = {}) {
  const pieces = [preamble];
  parts.forEach((p, i) => {
    pieces.push(i === 0 && !preamble ? `--${boundary}\r\n` : `\r\n--${boundary}\r\n`);
    pieces.push('Content-Type: application/dicom\r\n');
    if (lengths === 'exact') pieces.push(`Content-Length: ${p.length}\r\n`);
    if (lengths === 'wrong') pieces.push(`Content-Length: ${i % 2 ? p.length + 7 : Math.max(0, p.length - 5)}\r\n`);
    if (lengths === 'huge') pieces.push(`Content-Length: ${p.length + 100000}\r\n`);
    if (location) pieces.push(`Content-Location: ${ROOT}/studies/${STUDY}/series/${SERIES}/instances/9.9.${i}\r\n`);
    pieces.push('\r\n', p);
  });
  if (close) pieces.push(`\r\n--${boundary}--`, epilogue);
  return concat(...pieces);
}

const retrieveChunks = (chunks, contentType = multipart(B), options = {}) => {
  const fetch = fakeFetch(() => new Response(streamOf(chunks), { headers: { 'Content-Type': contentType } }));
  return collect(retrieve(TARGET, { fetch, ...options }));
};

const assertParts = (files, expected = PART_BYTES, what = '') => {
  assert.equal(files.length, expected.length, `${what}: number of parts`);
  files.forEach((f, i) => assert.deepEqual(f.bytes, expected[i], `${what}: part ${i}`));
};

describe('DICOMweb URLs', () => {
  test('study and series URLs split into root and UIDs; anything else is dicomweb-url', () => {
    assert.deepEqual(parseDicomwebUrl('http://pacs:8042/dicom-web/studies/1.2.840.1'), { root: 'http://pacs:8042/dicom-web', study: '1.2.840.1', series: null });
    assert.deepEqual(parseDicomwebUrl('https://h/a/b/studies/1.2/series/1.2.3/'), { root: 'https://h/a/b', study: '1.2', series: '1.2.3' });
    assert.deepEqual(parseDicomwebUrl('https://h/studies/1.2#x'), { root: 'https://h', study: '1.2', series: null });
    for (const bad of ['ftp://h/studies/1.2', 'https://h/dicom-web', 'https://h/studies/1.2/series', 'https://h/studies/abc',
      'https://h/studies/1.2/instances/3', 'https://h/studies/1.2?token=x', 'https://u:p@h/studies/1.2', '/studies/1.2',
      'https://h/studies/1..2', `https://h/studies/${'1.'.repeat(40)}1`]) {
      assert.throws(() => parseDicomwebUrl(bad), (e) => e instanceof DicomwebError && e.code === 'dicomweb-url', bad);
    }
    // The error repeats the URL without its query (where a secret might have been put).
    const e = (() => { try { parseDicomwebUrl('https://h/studies/1.2?token=s3cret'); } catch (x) { return x; } })();
    assert.ok(!e.message.includes('s3cret'), e.message);
  });
});

describe('multipart/related parsing (crafted bodies)', () => {
  test('parts come out whole and in order, with and without Content-Length, even when it lies', async () => {
    for (const lengths of ['exact', 'none', 'wrong', 'huge']) {
      assertParts(await retrieveChunks([body({ lengths })]), PART_BYTES, lengths);
    }
  });

  test('a body split at every possible byte, and one byte per chunk, parses the same', async () => {
    for (const lengths of ['exact', 'none', 'wrong', 'huge']) {
      const whole = body({ lengths, preamble: 'preamble\r\n', epilogue: '\r\nepilogue' });
      for (let k = 1; k < whole.length; k++) {
        assertParts(await retrieveChunks([whole.subarray(0, k), whole.subarray(k)]), PART_BYTES, `${lengths}, split at ${k}`);
      }
      const bytewise = Array.from(whole, (b) => Uint8Array.of(b));
      assertParts(await retrieveChunks(bytewise), PART_BYTES, `${lengths}, bytewise`);
    }
  });

  test('quoted boundary, preamble, epilogue, transport padding, headers in any case', async () => {
    const boundary = "a'()+_,-./:=? b";
    const parts = [te.encode('one'), te.encode('two')];
    const text = concat('This is the preamble.\r\n', `--${boundary}  \t\r\n`, 'content-type: Application/DICOM\r\n\r\n', parts[0],
      `\r\n--${boundary}\r\n`, '\r\n', parts[1], `\r\n--${boundary}--  \r\nand an epilogue\r\n`);
    assertParts(await retrieveChunks([text], multipart(boundary, true)), parts);
  });

  test('paths: Content-Location, else a counter (the bytes are never parsed here)', async () => {
    const files = await retrieveChunks([body()]);
    assert.deepEqual(files.map((f) => f.path), [`${SERIES}/instance-1.dcm`, `${SERIES}/instance-2.dcm`, `${SERIES}/instance-3.dcm`, `${SERIES}/instance-4.dcm`]);
    const located = await retrieveChunks([body({ location: true })]);
    assert.deepEqual(located.map((f) => f.path), PART_BYTES.map((_, i) => `${SERIES}/9.9.${i}.dcm`));
  });

  test('each file owns its ArrayBuffer (transferable), even when several arrived in one chunk', async () => {
    for (const f of await retrieveChunks([body()])) {
      assert.equal(f.bytes.byteOffset, 0);
      assert.equal(f.bytes.buffer.byteLength, f.bytes.length);
    }
  });

  test('a body without its closing boundary is dicomweb-multipart, naming the URL', async () => {
    for (const whole of [body({ close: false }), body().subarray(0, body().length - 2), body().subarray(0, 200),
      concat(body({ close: false }), `\r\n--${B}`)]) {
      const e = await errorOf(retrieveChunks([whole]));
      assert.equal(e.code, 'dicomweb-multipart', e.message);
      assert.ok(e.message.includes(`${ROOT}/studies/${STUDY}/series/${SERIES}`), e.message);
    }
  });

  test('other malformed bodies are dicomweb-multipart', async () => {
    const cases = [
      [[te.encode('no boundary anywhere')], multipart(B)],
      [[body()], 'multipart/related; type="application/dicom"'],                 // no boundary parameter
      [[body()], multipart('another-boundary')],
      [[body()], 'text/html'],                                                    // a login page with 200
      [[concat(`--${B}\r\nContent-Type: text/plain\r\n\r\nhi\r\n--${B}--`)], multipart(B)],
      [[concat(`--${B} trailing words\r\n\r\nhi\r\n--${B}--`)], multipart(B)],
      [[concat(`--${B}\r\n`, 'X-Long: ', 'y'.repeat(20000))], multipart(B)],     // headers that never end
    ];
    for (const [chunks, type] of cases) assert.equal(await codeOf(retrieveChunks(chunks, type)), 'dicomweb-multipart', type);
  });

  test('a part over the limit is dicomweb-too-large, before it is read (declared) or held (undeclared)', async () => {
    const max = 1000;
    const big = new Uint8Array(max + 1);
    assert.equal(await codeOf(retrieveChunks([body({ parts: [big] })], multipart(B), { maxPartBytes: max })), 'dicomweb-too-large');
    assert.equal(await codeOf(retrieveChunks([body({ parts: [big], lengths: 'none' })], multipart(B), { maxPartBytes: max })), 'dicomweb-too-large');
    const fits = new Uint8Array(max);
    assertParts(await retrieveChunks([body({ parts: [fits] })], multipart(B), { maxPartBytes: max }), [fits]);
    assertParts(await retrieveChunks([body({ parts: [fits], lengths: 'none' })], multipart(B), { maxPartBytes: max }), [fits]);

    // An endless part: a declared 2^40 bytes fails at the headers; an undeclared one after about the limit.
    let pulled = 0;
    const endless = (head) => new ReadableStream({
      start(c) { c.enqueue(te.encode(head)); },
      pull(c) {
        pulled += 1024;
        if (pulled > 100 * max) throw new Error('read far past the limit');
        c.enqueue(new Uint8Array(1024));
      },
    });
    const run = (head) => collect(retrieve(TARGET, { maxPartBytes: max,
      fetch: fakeFetch(() => new Response(endless(head), { headers: { 'Content-Type': multipart(B) } })) }));
    assert.equal(await codeOf(run(`--${B}\r\nContent-Length: ${2 ** 40}\r\n\r\n`)), 'dicomweb-too-large');
    assert.ok(pulled <= 2048, `read ${pulled} bytes of a part declared too large`);
    pulled = 0;
    assert.equal(await codeOf(run(`--${B}\r\n\r\n`)), 'dicomweb-too-large');
    assert.ok(pulled <= 3 * max, `held ${pulled} bytes of an undeclared part with a ${max}-byte limit`);
    // A single application/dicom body has the same limit.
    const single = { 'Content-Type': 'application/dicom', 'Content-Length': String(max + 1) };
    assert.equal(await codeOf(collect(retrieve(TARGET, { maxPartBytes: max,
      fetch: fakeFetch(() => new Response(big, { headers: single })) }))), 'dicomweb-too-large');
  });

  test('a single application/dicom answer is one file', async () => {
    const file = tinyDicom('1.2.3.4.5', te.encode('pixels'));
    const files = await retrieveChunks([file.subarray(0, 100), file.subarray(100)], 'application/dicom');
    assert.equal(files.length, 1);
    assert.deepEqual(files[0].bytes, file);
    assert.equal(files[0].path, `${SERIES}/instance-1.dcm`);
  });

  test('the first part is yielded while the rest of the answer is still on its way', async () => {
    for (const lengths of ['exact', 'none']) {
      let controller;
      const stream = new ReadableStream({ start(c) { controller = c; } });
      const fetch = fakeFetch(() => new Response(stream, { headers: { 'Content-Type': multipart(B) } }));
      const whole = body({ lengths });
      // Up to the delimiter after the first part and not a byte more: that delimiter is what ends it.
      const cut = Buffer.from(whole).indexOf(`\r\n--${B}\r\n`) + `\r\n--${B}`.length;
      controller.enqueue(whole.slice(0, cut));
      const files = retrieve(TARGET, { fetch });
      const first = await Promise.race([files.next(), new Promise((r) => setTimeout(() => r('timeout'), 2000))]);
      assert.notEqual(first, 'timeout', `${lengths}: the first part did not come before the answer ended`);
      assert.deepEqual(first.value.bytes, PART_BYTES[0]);
      controller.enqueue(whole.slice(cut));
      controller.close();
      const rest = [];
      for await (const f of files) rest.push(f.bytes);
      assert.deepEqual(rest, PART_BYTES.slice(1), lengths);
    }
  });

  test('stopping early cancels the answer; a broken connection mid-body is dicomweb-network', async () => {
    let cancelled = false;
    const stream = new ReadableStream({
      start(c) { c.enqueue(body({ close: false })); },
      cancel() { cancelled = true; },
    });
    const fetch = fakeFetch(() => new Response(stream, { headers: { 'Content-Type': multipart(B) } }));
    for await (const f of retrieve(TARGET, { fetch })) {
      assert.ok(f.bytes);
      break;
    }
    assert.ok(cancelled, 'the response body was cancelled');
    const broken = new ReadableStream({
      start(c) {
        c.enqueue(body({ close: false }).subarray(0, 100));
        c.error(new TypeError('socket hang up'));
      },
    });
    const e = await errorOf(collect(retrieve(TARGET, { fetch: fakeFetch(() => new Response(broken, { headers: { 'Content-Type': multipart(B) } })) })));
    assert.equal(e.code, 'dicomweb-network', e.message);
  });

  test('statuses map to codes; an abort stays an abort; the token is a header, never in a URL or message', async () => {
    const token = 'tok-Zx81';
    const answers = { 401: 'dicomweb-unauthorized', 403: 'dicomweb-unauthorized', 404: 'dicomweb-not-found', 500: 'dicomweb-http', 503: 'dicomweb-http' };
    for (const [status, code] of Object.entries(answers)) {
      const fetch = fakeFetch(() => new Response('no', { status: Number(status) }));
      const e = await errorOf(collect(retrieve({ root: ROOT, study: STUDY, series: null }, { fetch, token })));
      assert.equal(e.code, code, status);
      assert.equal(e.status, Number(status));
      assert.ok(!e.message.includes(token), e.message);
      const l = await errorOf(listInstances(TARGET, { fetch, token }));
      assert.equal(l.code, code, status);
    }
    // QIDO then WADO-RS: every request carries the token in Authorization, none in its URL.
    const fetch = fakeFetch((url) => (url.endsWith('/series')
      ? Response.json([{ '0020000E': { vr: 'UI', Value: [SERIES] } }], { headers: { 'Content-Type': 'application/dicom+json' } })
      : new Response(body(), { headers: { 'Content-Type': multipart(B) } })));
    assert.equal((await collect(retrieve({ root: ROOT, study: STUDY }, { fetch, token }))).length, PART_BYTES.length);
    assert.deepEqual(fetch.calls.map((c) => c.url), [`${ROOT}/studies/${STUDY}/series`, `${ROOT}/studies/${STUDY}/series/${SERIES}`]);
    for (const c of fetch.calls) {
      assert.equal(c.headers.get('authorization'), `Bearer ${token}`);
      assert.ok(!c.url.includes(token));
    }
    assert.match(fetch.calls[1].headers.get('accept'), /^multipart\/related; type="application\/dicom"; transfer-syntax=\*$/);
    // No token: no Authorization header at all.
    const anonymous = fakeFetch(() => new Response(body(), { headers: { 'Content-Type': multipart(B) } }));
    await collect(retrieve(TARGET, { fetch: anonymous }));
    assert.equal(anonymous.calls[0].headers.get('authorization'), null);

    const abort = new AbortController();
    abort.abort();
    const e = await errorOf(collect(retrieve(TARGET, { fetch: anonymous, signal: abort.signal })));
    assert.equal(e.name, 'AbortError');
  });

  test('a server nobody answers on is dicomweb-network', async () => {
    const port = await new Promise((resolveP) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address();
        s.close(() => resolveP(p));
      });
    });
    const target = parseDicomwebUrl(`http://127.0.0.1:${port}/dicom-web/studies/1.2.3`);
    assert.equal(await codeOf(listInstances(target)), 'dicomweb-network');
    assert.equal(await codeOf(collect(retrieve(target))), 'dicomweb-network');
  });
});

// ---- against a real Orthanc -----------------------------------------------------------------------------------

const CT_SERIES = 'dcm_qa_ct/In/GE';
const SINGLES = [
  'dcm_qa_enh/In/Philips/IM_0027_fMAP.dcm',                                                         // enhanced MR, 64 frames
  'dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.57.dcm',  // JPEG lossless, 2 frames
  'dicomParser/testImages/encapsulated/multi-frame/IM00001.fragmented_no_bot_jpeg_baseline.50.dcm', // JPEG baseline, 8 frames
  'pydicom/src/pydicom/data/test_files/SC_rgb_rle_2frame.dcm',                                      // RLE, 2 frames
];
const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);
const haveCorpus = existsSync(join(CORPUS, CT_SERIES)) && SINGLES.every((f) => existsSync(join(CORPUS, f)));

describe('a real PACS (Orthanc + DICOMweb plugin, behind a token-checking CORS proxy)', () => {
  const token = `t-${crypto.randomUUID()}`;
  let pacs = null;
  let skip = null;
  // What the files say about themselves, by SOP Instance UID.
  const expected = new Map();
  const studies = new Map();      // study UID -> Set of SOP Instance UIDs

  before(async () => {
    if (!orthancAvailable()) {
      skip = 'Orthanc with its DICOMweb plugin (apt-get install -y orthanc orthanc-dicomweb)';
      return;
    }
    if (!haveCorpus) {
      skip = `the corpus (${CORPUS}: ${CT_SERIES} and ${SINGLES.length} multi-frame files)`;
      return;
    }
    const files = [...readdirSync(join(CORPUS, CT_SERIES)).filter((f) => f.endsWith('.dcm')).sort().map((f) => join(CORPUS, CT_SERIES, f)),
      ...SINGLES.map((f) => join(CORPUS, f))];
    for (const file of files) {
      const h = readHeader(file);
      const sop = h['00080018'];
      const facts = part10(readFileSync(file));
      assert.equal(facts.sop, sop, `${file}: both readers agree on the SOP Instance UID`);
      assert.ok(facts.pixelData?.length > 0, `${file} has pixel data`);
      expected.set(sop, { file, study: h['0020000d'], series: h['0020000e'], ts: h['00020010'], frames: Number(h['00280008'] ?? 1), pixelData: facts.pixelData });
      if (!studies.has(h['0020000d'])) studies.set(h['0020000d'], new Set());
      studies.get(h['0020000d']).add(sop);
    }
    assert.equal(expected.size, files.length, 'every file is a distinct instance');
    pacs = await startOrthanc({ token });
    console.log(`Orthanc answered after ${pacs.startMs.toFixed(0)} ms; proxy at ${pacs.proxyUrl}`);
    const stored = await pacs.upload(files);
    assert.equal(stored.length, files.length);
  });

  after(async () => {
    await pacs?.stop();
  });

  const studyUrl = (study) => `${pacs.proxyUrl}/dicom-web/studies/${study}`;

  test('QIDO-RS lists exactly the uploaded instances, with their series and frame counts', async (t) => {
    if (missing(t, skip, !skip)) return;
    assert.ok(studies.size >= 3, 'several studies');
    for (const [study, sops] of studies) {
      const list = await listInstances(parseDicomwebUrl(studyUrl(study)), { token });
      assert.deepEqual(new Set(list.map((i) => i.instance)), sops, study);
      assert.equal(list.length, sops.size, `${study}: no instance listed twice`);
      for (const i of list) {
        const want = expected.get(i.instance);
        assert.equal(i.study, study);
        assert.equal(i.series, want.series);
        if (want.frames > 1) assert.equal(i.frames, want.frames, `${want.file}: Number of Frames`);
      }
    }
  });

  test('WADO-RS returns every instance once, as stored: same transfer syntax, same Pixel Data bytes', async (t) => {
    if (missing(t, skip, !skip)) return;
    let compressed = 0;
    for (const [study, sops] of studies) {
      const target = parseDicomwebUrl(studyUrl(study));
      const progress = [];
      const files = await collect(retrieve(target, { token, onProgress: (p) => progress.push(p) }));
      // Orthanc sends no Content-Location: the SOP UIDs come from the files, read by this test's own reader.
      assert.deepEqual(files.map((f) => part10(f.bytes).sop).sort(), [...sops].sort(), `${study}: each instance once`);
      for (const f of files) {
        const got = part10(f.bytes);
        const want = expected.get(got.sop);
        assert.ok(want, `${f.path}: an uploaded instance`);
        assert.match(f.path, new RegExp(`^${want.series.replace(/\./g, '\\.')}/instance-\\d+\\.dcm$`));
        assert.equal(got.ts, want.ts, `${want.file}: transfer syntax kept (transfer-syntax=*)`);
        assert.ok(got.pixelData && Buffer.compare(Buffer.from(got.pixelData), Buffer.from(want.pixelData)) === 0,
          `${want.file}: Pixel Data identical (${got.pixelData?.length} vs ${want.pixelData.length} bytes)`);
        if (!UNCOMPRESSED.has(want.ts)) compressed++;
      }
      assert.equal(progress.length, files.length);
      assert.deepEqual(progress.map((p) => p.parts), files.map((_, i) => i + 1));
      assert.equal(progress.at(-1).bytes, files.reduce((n, f) => n + f.bytes.length, 0));
    }
    assert.equal(compressed, 3, 'the JPEG lossless, JPEG baseline and RLE files came back compressed');
  });

  test('a series URL retrieves that series; listInstances can spare retrieve its QIDO query', async (t) => {
    if (missing(t, skip, !skip)) return;
    const ct = [...expected.values()].find((e) => e.file.includes(CT_SERIES));
    const target = parseDicomwebUrl(`${studyUrl(ct.study)}/series/${ct.series}`);
    assert.equal(target.series, ct.series);
    const list = await listInstances(target, { token });
    assert.equal(list.length, 28);
    const files = await collect(retrieve(target, { token }));
    assert.equal(files.length, 28);
    assert.ok(files.every((f) => f.path.startsWith(`${ct.series}/`)));
    const again = await collect(retrieve(parseDicomwebUrl(studyUrl(ct.study)), { token, instances: list }));
    assert.equal(again.length, 28);
  });

  test('no token or a wrong one is dicomweb-unauthorized; unknown UIDs are dicomweb-not-found', async (t) => {
    if (missing(t, skip, !skip)) return;
    const [study] = studies.keys();
    const target = parseDicomwebUrl(studyUrl(study));
    for (const options of [{}, { token: 'wrong' }]) {
      assert.equal(await codeOf(listInstances(target, options)), 'dicomweb-unauthorized');
      const e = await errorOf(collect(retrieve(target, options)));
      assert.equal(e.code, 'dicomweb-unauthorized');
      assert.equal(e.status, 401);
      // straight to WADO-RS (a series URL skips QIDO)
      const ct = [...expected.values()].find((x) => x.file.includes(CT_SERIES));
      assert.equal(await codeOf(collect(retrieve(parseDicomwebUrl(`${studyUrl(ct.study)}/series/${ct.series}`), options))), 'dicomweb-unauthorized');
    }
    const unknown = parseDicomwebUrl(studyUrl('1.2.3.999'));
    assert.equal(await codeOf(listInstances(unknown, { token })), 'dicomweb-not-found');
    assert.equal(await codeOf(collect(retrieve(unknown, { token }))), 'dicomweb-not-found');
    const unknownSeries = parseDicomwebUrl(`${studyUrl(study)}/series/1.2.3.999`);
    assert.equal(await codeOf(listInstances(unknownSeries, { token })), 'dicomweb-not-found');
    const e = await errorOf(collect(retrieve(unknownSeries, { token })));
    assert.equal(e.code, 'dicomweb-not-found');
    assert.equal(e.status, 404);
    assert.ok(e.message.includes('1.2.3.999'), e.message);
  });

  test('the proxy answers CORS preflights and marks answers readable by the page\'s origin', async (t) => {
    if (missing(t, skip, !skip)) return;
    const origin = 'http://127.0.0.1:9999';
    const pre = await fetch(`${pacs.proxyUrl}/dicom-web/studies`, { method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), origin);
    assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/i);
    for (const auth of [`Bearer ${token}`, 'Bearer nope']) {
      const r = await fetch(`${pacs.proxyUrl}/dicom-web/studies`, { headers: { Origin: origin, Authorization: auth } });
      await r.arrayBuffer();
      assert.equal(r.status, auth.endsWith(token) ? 200 : 401);
      assert.equal(r.headers.get('access-control-allow-origin'), origin);
    }
  });
});
