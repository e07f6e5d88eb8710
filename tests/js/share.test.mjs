// The JS share-bundle implementation (www/share-bundle.js, WebCrypto = OpenSSL under Node) against the spec's
// vectors (docs/share-bundle-vectors.json, written by the Rust implementation on RustCrypto) and against every
// attack the spec lists. The same module runs in the page (BoringSSL): tests/e2e/share.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BundleReader, ShareError, b64urlDecode, b64urlEncode, makeLink, parseLinkFragment, sealBundle, validPath,
} from '../../www/share-bundle.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const VECTORS = JSON.parse(readFileSync(join(REPO, 'docs/share-bundle-vectors.json'), 'utf8'));

const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());

/** Opens a whole bundle; resolves with the files or rejects with the ShareError. */
async function openAll(bundle, secret, pin = null, now = new Date()) {
  const reader = await BundleReader.open(bundle, secret, { now });
  if (reader.needsPin) await reader.unlock(pin);
  return reader.readAll();
}

async function codeOf(promise) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof ShareError, `not a ShareError: ${e?.stack ?? e}`);
    return e.code;
  }
  return 'ok';
}

test('the spec\'s test vectors open (and reseal byte for byte) as the vectors say', async () => {
  assert.ok(VECTORS.length >= 10, 'the vector file has its cases');
  const okCount = VECTORS.filter((v) => v.expect === 'ok').length;
  assert.ok(okCount >= 3);
  for (const v of VECTORS) {
    const bundle = b64urlDecode(v.bundle);
    const open = openAll(bundle, v.open.secret, v.open.pin, new Date(v.open.now));
    if (v.expect !== 'ok') {
      assert.equal(await codeOf(open), v.expect, v.name);
      continue;
    }
    const files = await open;
    assert.deepEqual(files.map((f) => f.path), v.files.map((f) => f.path), v.name);
    for (let i = 0; i < files.length; i++) assert.deepEqual(files[i].bytes, b64urlDecode(v.files[i].data), `${v.name}: ${v.files[i].path}`);
    const resealed = await sealBundle(v.files.map((f) => ({ path: f.path, read: async () => b64urlDecode(f.data) })), {
      secret: b64urlDecode(v.secret),
      pin: v.pin,
      contentKey: v.content_key ? b64urlDecode(v.content_key) : undefined,
      salt: v.salt ? b64urlDecode(v.salt) : undefined,
      iterations: v.iterations ?? undefined,
      chunkSize: v.chunk_size,
      now: new Date(v.created),
      expires: v.expires ? new Date(v.expires) : null,
    });
    assert.equal(b64urlEncode(await bytesOf(resealed.blob)), v.bundle, `${v.name}: the JS writer makes the same bytes`);
  }
});

// A three-file study over four 4 KiB chunks, with and without a PIN.
const STUDY = [
  { path: 'CT/IM0001', data: Uint8Array.from({ length: 7000 }, (_, i) => (i * 31 + 7) & 255) },
  { path: 'CT/IM0002', data: Uint8Array.from({ length: 5000 }, (_, i) => (i * 17) & 255) },
  { path: 'DICOMDIR', data: new Uint8Array(300).fill(9) },
];
const sources = STUDY.map((f) => ({ path: f.path, read: async () => f.data }));
const CHUNK = 4096;

async function sealed(options = {}) {
  const { blob, secret, header } = await sealBundle(sources, { chunkSize: CHUNK, ...options });
  return { bundle: await bytesOf(blob), secret, header };
}

/** Offsets of each chunk (ciphertext + tag) in a bundle. */
function chunkSpans(bundle, header) {
  const h = new DataView(bundle.buffer, bundle.byteOffset).getUint32(8, true);
  let at = 12 + h + (header.pin ? 48 : 0) + 16;
  const spans = [];
  for (let left = header.plain_size; left > 0; left -= CHUNK) {
    const len = Math.min(CHUNK, left) + 16;
    spans.push([at, at + len]);
    at += len;
  }
  assert.equal(at, bundle.length, 'the bundle is exactly header + chunks');
  return spans;
}

test('a study round-trips, with and without a PIN, and the header says only counts and sizes', async () => {
  for (const pin of [null, '4711-x']) {
    const { bundle, secret, header } = await sealed({ pin, expires: new Date(Date.now() + 86_400_000) });
    assert.equal(secret.length, 43);
    assert.deepEqual(header.summary, { files: 3, bytes: 12300 });
    assert.equal(chunkSpans(bundle, header).length, 4);
    const text = new TextDecoder().decode(bundle.subarray(0, 600));
    for (const path of ['IM0001', 'DICOMDIR', 'CT/']) assert.ok(!text.includes(path), `file names are not in the clear: ${path}`);
    const files = await openAll(bundle, secret, pin);
    assert.deepEqual(files.map((f) => f.path), STUDY.map((f) => f.path));
    files.forEach((f, i) => assert.deepEqual(f.bytes, STUDY[i].data));
  }
});

test('every attack gives its error and no files', async () => {
  const plain = await sealed();
  const withPin = await sealed({ pin: '2468' });
  const flip = (b, at) => {
    const c = b.slice();
    c[at] ^= 0x01;
    return c;
  };
  const spans = chunkSpans(plain.bundle, plain.header);
  const h = new DataView(plain.bundle.buffer).getUint32(8, true);
  const cases = [
    ['wrong key', plain.bundle, b64urlEncode(new Uint8Array(32).fill(7)), null, 'wrong-key'],
    ['truncated key', plain.bundle, plain.secret.slice(0, 40), null, 'wrong-key'],
    ['wrong PIN', withPin.bundle, withPin.secret, '1357', 'wrong-pin'],
    ['no PIN', withPin.bundle, withPin.secret, null, 'pin-required'],
    ['flipped magic', flip(plain.bundle, 0), plain.secret, null, 'not-a-bundle'],
    ['flipped header length', flip(plain.bundle, 8), plain.secret, null, 'bad-header'],
    // '"created":"2026-..."': a digit of the year, so the JSON stays valid and only the tag can tell
    ['edited header', (() => {
      const c = plain.bundle.slice();
      const at = new TextDecoder().decode(c.subarray(12, 12 + h)).indexOf('"created":"') + 12 + 11 + 3;
      c[at] = c[at] === 0x39 ? 0x38 : c[at] + 1;
      return c;
    })(), plain.secret, null, 'wrong-key'],
    ['flipped wrapped key', flip(withPin.bundle, 12 + new DataView(withPin.bundle.buffer).getUint32(8, true) + 5), withPin.secret, '2468', 'wrong-key'],
    ['flipped header tag', flip(plain.bundle, 12 + h + 3), plain.secret, null, 'wrong-key'],
    ...spans.flatMap(([a, b], i) => [
      [`flipped ciphertext of chunk ${i}`, flip(plain.bundle, a + 1), plain.secret, null, 'damaged'],
      [`flipped tag of chunk ${i}`, flip(plain.bundle, b - 1), plain.secret, null, 'damaged'],
    ]),
    ['chunks 0 and 1 swapped', (() => {
      const c = plain.bundle.slice();
      const [[a0, b0], [a1, b1]] = spans;
      c.set(plain.bundle.subarray(a1, b1), a0);
      c.set(plain.bundle.subarray(a0, b0), a0 + (b1 - a1));
      return c;
    })(), plain.secret, null, 'damaged'],
    ['truncated at a chunk boundary', plain.bundle.slice(0, spans[2][1]), plain.secret, null, 'damaged'],
    ['truncated mid-chunk', plain.bundle.slice(0, spans[1][0] + 100), plain.secret, null, 'damaged'],
    ['one byte appended', Uint8Array.from([...plain.bundle, 0]), plain.secret, null, 'damaged'],
    ['a whole chunk appended', Uint8Array.from([...plain.bundle, ...plain.bundle.subarray(...spans[3])]), plain.secret, null, 'damaged'],
    ['not a bundle at all', new TextEncoder().encode('<!doctype html><title>404</title>'), plain.secret, null, 'not-a-bundle'],
    ['binary, not UTF-8', Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x80, 0x81, 0x82, 0x83, 0, 0, 0, 0, 1, 2]), plain.secret, null, 'not-a-bundle'],
    ['empty file', new Uint8Array(0), plain.secret, null, 'not-a-bundle'],
  ];
  for (const [name, bundle, secret, pin, expected] of cases) {
    assert.equal(await codeOf(openAll(bundle, secret, pin)), expected, name);
  }
});

test('expiry is checked against the clock, after the header is authenticated', async () => {
  const expires = new Date('2027-01-01T00:00:00Z');
  const { bundle, secret } = await sealed({ expires, now: new Date('2026-12-01T00:00:00Z') });
  assert.equal((await openAll(bundle, secret, null, new Date('2026-12-31T23:59:59Z'))).length, 3);
  assert.equal(await codeOf(openAll(bundle, secret, null, expires)), 'expired');
  assert.equal(await codeOf(openAll(bundle, secret, null, new Date('2027-06-01T00:00:00Z'))), 'expired');
  // With a wrong key an expired bundle says wrong-key: nothing unauthenticated is believed.
  assert.equal(await codeOf(openAll(bundle, b64urlEncode(new Uint8Array(32)), null, new Date('2027-06-01T00:00:00Z'))), 'wrong-key');
});

test('a size over the reader\'s limit is refused before any allocation; a known length is checked first', async () => {
  const { bundle, secret } = await sealed();
  await assert.rejects(BundleReader.open(bundle, secret, { maxPlainBytes: 1000 }), { code: 'too-large' });
  await assert.rejects(BundleReader.open(bundle, secret, { size: bundle.length - 1 }), { code: 'damaged' });
  // Streamed in small pieces, as fetch delivers it.
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < bundle.length; i += 1000) c.enqueue(bundle.slice(i, i + 1000));
      c.close();
    },
  });
  const reader = await BundleReader.open(stream, secret, { size: bundle.length });
  assert.equal((await reader.readAll()).length, 3);
});

/** A byte stream (what fetch and Blob.stream() give), delivering `bundle` in pieces of `piece` bytes. */
function byteStream(bundle, piece) {
  let at = 0;
  return new ReadableStream({
    type: 'bytes',
    pull(c) {
      if (at >= bundle.length) {
        c.close();
        c.byobRequest?.respond(0);
        return;
      }
      const n = Math.min(piece, bundle.length - at);
      const req = c.byobRequest;
      if (req) {
        const k = Math.min(n, req.view.byteLength);
        req.view.set(bundle.subarray(at, at + k));
        at += k;
        req.respond(k);
      } else {
        c.enqueue(bundle.slice(at, at + n));
        at += n;
      }
    },
  });
}

test('byte streams and Blobs are read into one reused buffer and open the same; their attacks fail the same', async () => {
  for (const pin of [null, '7531']) {
    const { bundle, secret } = await sealed({ pin });
    const sources = [['byte stream, 1000-byte pieces', () => byteStream(bundle, 1000)], ['byte stream, 64 KiB pieces', () => byteStream(bundle, 65536)],
      ['Blob', () => new Blob([bundle])], ['Blob stream', () => new Blob([bundle]).stream()]];
    for (const [name, source] of sources) {
      for (const inFlight of [1, 3]) {
        const reader = await BundleReader.open(source(), secret, { size: bundle.length });
        if (reader.needsPin) await reader.unlock(pin);
        const files = await reader.readAll({ inFlight });
        assert.deepEqual(files.map((f) => f.path), STUDY.map((f) => f.path), name);
        files.forEach((f, i) => assert.deepEqual(f.bytes, STUDY[i].data, `${name}: ${f.path}`));
      }
    }
  }
  const { bundle, secret, header } = await sealed();
  const spans = chunkSpans(bundle, header);
  const flipped = bundle.slice();
  flipped[spans[2][0] + 7] ^= 0x80;
  for (const [name, bytes] of [['truncated mid-chunk', bundle.slice(0, spans[1][0] + 100)], ['truncated at a chunk boundary', bundle.slice(0, spans[2][1])],
    ['one byte appended', Uint8Array.from([...bundle, 0])], ['flipped ciphertext', flipped]]) {
    for (const source of [byteStream(bytes, 1000), new Blob([bytes])]) {
      assert.equal(await codeOf(openAll(source, secret)), 'damaged', name);
    }
  }
});

test('a chunk that is exactly one file becomes that file (no copy), files around it still check', async () => {
  // A first file that pads the plaintext to a chunk boundary, a file that is exactly chunk 1, one spanning
  // chunks 2-3 and an empty one.
  const paths = ['pad', 'one-chunk', 'two-chunks', 'empty'];
  const data = [0, CHUNK, CHUNK + 10, 0].map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * (k + 3)) & 255));
  const seal = () => sealBundle(paths.map((path, i) => ({ path, read: async () => data[i] })), { chunkSize: CHUNK });
  for (let round = 0; round < 3; round++) {   // the pad's size changes the manifest's length: settle it
    const { header } = await seal();
    const manifest = header.plain_size - 4 - data.reduce((n, d) => n + d.length, 0);
    data[0] = new Uint8Array(CHUNK - 4 - manifest).fill(5);
  }
  const { blob, secret, header } = await seal();
  assert.equal(header.plain_size - data.reduce((n, d) => n + d.length, 0) + data[0].length, CHUNK, 'chunk 1 starts with one-chunk');
  for (const source of [await bytesOf(blob), blob]) {
    const opened = await openAll(source, secret);
    opened.forEach((f, i) => assert.deepEqual(f.bytes, data[i], f.path));
  }
});

test('manifest paths and the writer\'s inputs are checked', async () => {
  for (const bad of ['../x', '/abs', 'a//b', 'a\\b', 'a/./b', '', 'x\u0000y']) assert.equal(validPath(bad), false, bad);
  for (const good of ['IM1', 'CT/IM0001.dcm', 'a b/c-d_e']) assert.equal(validPath(good), true, good);
  await assert.rejects(sealBundle([{ path: '../etc', read: async () => new Uint8Array(1) }]), { code: 'bad-header' });
  await assert.rejects(sealBundle(sources, { pin: '12 3' }), { code: 'bad-pin' });
  await assert.rejects(sealBundle(sources, { pin: '123' }), { code: 'bad-pin' });
  await assert.rejects(sealBundle([]), { code: 'bad-header' });
});

test('links carry the location and the key only in the fragment', () => {
  const secret = b64urlEncode(new Uint8Array(32).fill(0xfb));
  const link = makeLink('https://viewer.example/lucent/', 'shares/a b#1.lucent', secret);
  assert.equal(link, `https://viewer.example/lucent/share.html#shares/a%20b%231.lucent.${secret}`);
  const url = new URL(link);
  assert.ok(!url.pathname.includes(secret) && !url.search.includes(secret));
  assert.deepEqual(parseLinkFragment(url.hash), { location: 'shares/a b#1.lucent', secret });
  assert.deepEqual(parseLinkFragment('#https://files.example/x.lucent.abc'), { location: 'https://files.example/x.lucent', secret: 'abc' });
  assert.equal(parseLinkFragment('#nokey'), null);
});
